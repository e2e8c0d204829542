// convert-tcconv-to-gpu of a stem conv with its max pool (tcconv.conv2d with pool_*
// attributes, the register-MMA kernel with taps along K): the 10 x 10 pooled map of a 20 x 20
// map in 5 x 5 pooled tiles, each block computing the 11 x 11 map pixels its windows read (121
// of its 128 rows), 4 blocks of 128 threads. The epilogue stages the packed 4-bit map in
// shared memory (128 rows of 2 words), and after a barrier each thread joins the 3 x 3 taps
// of one pooled pixel's word byte by byte and stores it; the map itself is never an operand.
// RUN: nibble-opt %S/Inputs/stem-pool.sm_90.mlir --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90})' | FileCheck %s
// RUN: nibble-opt %S/Inputs/stem-pool.sm_90.mlir --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90},nvvm-attach-target{chip=sm_90 features=+ptx78},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1}),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' | FileCheck %s --check-prefix=PTX
// RUN: nibble-opt %S/Inputs/stem-pool.sm_75.mlir --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_75},nvvm-attach-target{chip=sm_75 features=+ptx65},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1}),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' | FileCheck %s --check-prefix=PTX75

// CHECK-LABEL: func.func @stem_pool
// CHECK: gpu.launch_func @kernels::@stem_pool_0_conv2d blocks in (%c4, %c1, %c1) threads in (%c128, %c1, %c1) args(%arg0 : memref<1x39x39x4xi8>, %{{.*}} : memref<16x7x7x4xi8>, %{{.*}} : memref<16xi32>, %arg1 : memref<1x10x10x2xi32>)
// CHECK: gpu.func @stem_pool_0_conv2d({{.*}}%[[OUT:arg3]]: memref<1x10x10x2xi32> {llvm.noalias}) workgroup(%[[MAP:arg4]] : memref<256xi32, #gpu.address_space<workgroup>>
// CHECK: nvvm.mma.sync
// the map's packed bytes into shared memory, a barrier, the windows' words out of it
// CHECK: llvm.store %{{.*}}, %{{.*}} : i8, !llvm.ptr<3>
// CHECK: gpu.barrier
// CHECK: memref.load %[[MAP]][%{{.*}}] : memref<256xi32, #gpu.address_space<workgroup>>
// CHECK: arith.andi %{{.*}}, %c252645135_i32 : i32
// CHECK: memref.store %{{.*}}, %{{.*}}[%{{.*}}] : memref<200xi32>
// CHECK-NOT: gpu.barrier
// CHECK: gpu.return

// PTX: .shared .align 16 .b8 __wg_stem_pool_0_conv2d_0[1024]
// PTX: mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32
// PTX: st.shared.b8
// PTX: bar.sync
// PTX: ld.shared.b32
// PTX: st.global.b32

// sm_75: m8n8k16 8-bit MMAs, four m-tiles a warp's 32 rows
// PTX75: mma.sync.aligned.m8n8k16.row.col.s32.s8.s8.s32
// PTX75: bar.sync
// PTX75: st.global.b32
