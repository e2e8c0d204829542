// convert-tcconv-to-gpu of a chain (two tcconv.conv2d with `chain = 0`: a residual conv and a
// 1x1 conv of its second output, M = 2 x 8 x 8 = 128 pixels in 32-row tiles): one kernel and one
// launch with both ops' operands, a grid of 4 clusters of 8 blocks (the first conv's 8 N tiles
// of 32 channels; the second's 2 run on ranks 0 and 1). Each phase runs the staged body on the
// block's N tile (where rank < N tiles), or, with more tiles than a cluster has blocks (a second
// conv of 640 channels in 20 tiles of 32, on clusters of 16, a non-portable size), loops over
// tiles rank, rank + 16, ...; between the phases the cluster barrier, after
// it the thread index read afresh. The kernel waits for its predecessor and never triggers its
// successor early; no argument is noalias (the first conv's output is the second's input).
// RUN: nibble-opt %S/Inputs/chain.sm_90a.mlir --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90a})' | FileCheck %s
// RUN: nibble-opt %S/Inputs/chain.sm_90a.mlir --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90a},nvvm-attach-target{chip=sm_90a features=+ptx84},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1},convert-nvvm-to-llvm),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' | FileCheck %s --check-prefix=PTX

// CHECK-LABEL: func.func @residual_then_reducing_1x1
// CHECK: gpu.launch_func @kernels::@residual_then_reducing_1x1_0_chain blocks in (%c32, %c1, %c1) threads in (%c32, %c1, %c1) args(%arg0 : memref<2x8x8x8xi32>, {{.*}}, %[[Q:[0-9]+]] : memref<2x8x8x32xi32>, %[[Q]] : memref<2x8x8x32xi32>, {{.*}}, %arg3 : memref<2x8x8x8xi32>)
// CHECK-NOT: gpu.launch_func
// CHECK: return
// A second conv of 640 channels: 20 N tiles of 32 on clusters of 16.
// CHECK-LABEL: func.func @second_conv_of_twenty_tiles
// CHECK: gpu.launch_func @kernels::@second_conv_of_twenty_tiles_0_chain blocks in (%c64, %c1, %c1)
// CHECK-NOT: gpu.launch_func
// CHECK: return
// CHECK-LABEL: gpu.func @residual_then_reducing_1x1_0_chain(
// CHECK-NOT: llvm.noalias
// CHECK-SAME: nvvm.cluster_dim = array<i32: 8, 1, 1>
// CHECK: nvvm.griddepcontrol wait
// CHECK: %[[RANK:[0-9]+]] = arith.remui %block_id_x, %c8 : index
// CHECK: arith.cmpi ult, %[[RANK]], %c8 : index
// CHECK-NEXT: scf.if
// CHECK: nvvm.mma.sync
// CHECK: nvvm.cluster.arrive
// CHECK-NEXT: nvvm.cluster.wait
// CHECK-NEXT: llvm.inline_asm has_side_effects {{.*}}"mov.u32 $0, %tid.x;"
// CHECK: arith.cmpi ult, %[[RANK]], %c2 : index
// CHECK-NEXT: scf.if
// CHECK: nvvm.mma.sync
// CHECK-NOT: nvvm.griddepcontrol
// CHECK: gpu.return
// The 640-channel conv's phase loops over the block's tiles (rank, rank + 16).
// CHECK-LABEL: gpu.func @second_conv_of_twenty_tiles_0_chain(
// CHECK-SAME: nvvm.cluster_dim = array<i32: 16, 1, 1>
// CHECK: %[[RANK2:[0-9]+]] = arith.remui %block_id_x, %c16 : index
// CHECK: nvvm.cluster.arrive
// CHECK-NEXT: nvvm.cluster.wait
// CHECK: scf.for %{{.*}} = %[[RANK2]] to %c20 step %c16
// CHECK: nvvm.mma.sync
// CHECK: gpu.return

// PTX: .entry residual_then_reducing_1x1_0_chain
// PTX: .reqnctapercluster 8, 1, 1
// PTX: griddepcontrol.wait
// PTX: mma.sync.aligned.m16n8k32.row.col.s32.u8.s8.s32
// PTX: barrier.cluster.arrive;\0A\09barrier.cluster.wait;
// PTX: mma.sync.aligned.m16n8k32.row.col.s32.u8.s8.s32
// PTX-NOT: griddepcontrol.launch_dependents
// PTX: ret;
// PTX: .entry second_conv_of_twenty_tiles_0_chain
// PTX: .reqnctapercluster 16, 1, 1
