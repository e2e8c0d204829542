// The warpgroup MMA conv kernel (wgmma.rs, sm_90a): a cp.async ring in wgmma's core-matrix
// layout, 4-bit operands widened once per stage, wgmma.mma_async on matrix descriptors.
// RUN: nibble-opt %S/Inputs/wgmma.sm_90a-wgmma.mlir --split-input-file --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90a})' | FileCheck %s
// The PTX, through the upstream pipeline with convert-nvvm-to-llvm (wgmma is a PTX-builder op):
// RUN: nibble-opt %S/Inputs/wgmma.sm_90a-wgmma.mlir --split-input-file --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90a},nvvm-attach-target{chip=sm_90a features=+ptx84},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1},convert-nvvm-to-llvm),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' | FileCheck %s --check-prefix=PTX
// `auto` takes wgmma only for 4-bit convs with four 128-row tiles an SM; `kernel=wgmma` (the inputs
// above) wherever it applies:
// RUN: nibble-opt %S/Inputs/wgmma.qnn.mlir --split-input-file --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a})' | FileCheck %s --check-prefix=AUTO
// Tiles that cover M and O exactly test no row or channel against the bounds (the loaders'
// zeroing selects and the stores' guards fold away); M or O not a multiple of the tile keeps
// the tests:
// RUN: nibble-opt %S/Inputs/wgmma.sm_90a-wgmma.mlir --split-input-file --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90a})' | FileCheck %s --check-prefix=BOUNDS
// The family is only realized where the target has wgmma:
// RUN: not nibble-opt %S/Inputs/wgmma.sm_90a-wgmma.mlir --split-input-file --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90})' 2>&1 | FileCheck %s --check-prefix=SM90

// SM90: error: {{.*}}target

// 4096 pixels in 64-row tiles, 256 channels in 128-channel tiles:
// BOUNDS-LABEL: gpu.func @conv_u4_staged_0_conv2d
// BOUNDS-NOT: arith.cmpi ult, %{{.*}}, %c4096 : index
// BOUNDS-NOT: arith.cmpi ult, %{{.*}}, %c256 : index
// BOUNDS: gpu.return
// 196 pixels in 64-row tiles:
// BOUNDS-LABEL: gpu.func @sliced_k_0_conv2d
// BOUNDS: arith.cmpi ult, %{{.*}}, %c196 : index
// 3 x 5 x 5 = 75 pixels, 40 channels:
// BOUNDS-LABEL: gpu.func @odd_channels_u8_0_conv2d
// BOUNDS-DAG: arith.cmpi ult, %{{.*}}, %c75 : index
// BOUNDS-DAG: arith.cmpi ult, %{{.*}}, %c40 : index

// AUTO-LABEL: func.func @conv_u4_staged
// AUTO: family = "staged"
// AUTO-LABEL: func.func @odd_channels_u8
// AUTO: family = "staged"
// AUTO-LABEL: func.func @big_grid_u4
// AUTO: family = "wgmma"

// u4 x s4, 16 images, 3x3, C = 64 (32 stored bytes a pixel), O = 256: 4096 pixels make 64
// tiles of 128 rows, under one an SM, so one warpgroup a block (64 x 128 tiles, 64 x 2 blocks);
// K = 9 taps x 32 bytes in 5 stages of 64 stored bytes (128 widened: 4 wgmma k-steps); three
// widened slots of (64 + 128) x 128 bytes: 72 KiB of dynamic shared memory. 64 accumulators a
// thread, 128 registers (four blocks), three in the shared memory, but 128 blocks give each SM
// at most one.
// CHECK-LABEL: func.func @conv_u4_staged
// CHECK: gpu.launch_func @kernels::@conv_u4_staged_0_conv2d blocks in (%c128, %c1, %c1) threads in (%c128, %c1, %c1) dynamic_shared_memory_size %c73728_i32
// CHECK: gpu.func @conv_u4_staged_0_conv2d({{.*}}) kernel attributes {known_block_size = array<i32: 128, 1, 1>, nvvm.minctasm = 1 : i32}
// CHECK: %[[DYN:.*]] = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// CHECK-NEXT: %[[SM:.*]] = memref.view %[[DYN]][%c0][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<18432xi32, #gpu.address_space<workgroup>>
// CHECK: memref.extract_aligned_pointer_as_index %[[SM]]
// prologue: stages 0, 1 and 2 loaded (16 bytes a chunk: two A and four B chunks a thread),
// all in flight before stage 0 is widened (u4 activations by mask, s4 weights into the high
// nibble) and stored
// CHECK-COUNT-18: vector.load %{{.*}}[%{{.*}}] {alignment = 16 : i64} : memref<{{[0-9]+}}xi32>, vector<4xi32>
// CHECK-NOT: vector.load
// CHECK: arith.andi %{{.*}}, %c252645135_i32 : i32
// CHECK: vector.store %{{.*}}, %[[SM]]
// CHECK: arith.andi %{{.*}}, %c-252645136_i32 : i32
// the 5 stages unrolled (main loops of up to 6 stages are: each stage's slot, tap and guards
// are constants); the accumulator struct threads through the stages' wgmma groups
// CHECK-NOT: scf.for
// CHECK: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-NEXT: gpu.barrier
// descriptors: 128-byte leading offset, 1024-byte stride (8 widened chunks of 16 bytes a row)
// CHECK: arith.ori %{{.*}}, %c274878431232_i64 : i64
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-NEXT: %[[ACC:.*]] = nvvm.wgmma.mma_async %{{.*}}, %{{.*}}, %{{.*}}, <m = 64, n = 128, k = 32>, D[<s32>, <one>], A[<u8>, <one>, <row>], B[<s8>, <one>, <col>]
// CHECK-COUNT-3: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 128, k = 32>
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// while the tensor cores run: stage it + 1 widened into its slot, stage it + 3 loaded
// CHECK: vector.store %{{.*}}, %[[SM]]
// CHECK: vector.load
// the group of this stage stays in flight; the next stage's group continues its accumulators
// CHECK: nvvm.wgmma.wait.group.sync.aligned 1
// CHECK-NEXT: nvvm.fence.proxy
// CHECK-NEXT: gpu.barrier
// CHECK: nvvm.wgmma.mma_async %{{.*}}, %{{.*}}, %{{.*}}, <m = 64, n = 128, k = 32>
// CHECK-COUNT-3: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 128, k = 32>
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// both signed-nibble scalings undone: >> 4
// CHECK: arith.shrsi %{{.*}}, %c4_i32
// PTX-LABEL: .entry conv_u4_staged_0_conv2d
// PTX: fence.proxy.async.shared::cta;
// PTX: wgmma.fence.sync.aligned;
// PTX: wgmma.mma_async.sync.aligned.m64n128k32.s32.u8.s8
// PTX: wgmma.commit_group.sync.aligned;
// PTX: wgmma.wait_group.sync.aligned {{.*}}0;

// -----

// Batch 1, 196 pixels: one warpgroup a block (64-row tiles) keeps 8 blocks instead of 4.
// CHECK-LABEL: func.func @sliced_k
// CHECK: gpu.launch_func @kernels::@sliced_k_0_conv2d blocks in (%c8, %c1, %c1) threads in (%c128, %c1, %c1)
// CHECK: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 128, k = 32>

// -----

// The 3-channel stem has no 16-byte pixel rows: the register-only MMA kernel.
// CHECK-LABEL: func.func @stem_not_staged
// CHECK-NOT: nvvm.wgmma
// CHECK: nvvm.mma.sync

// -----

// 1x1 residual conv with the packed second output: staged through shared memory, written 16
// bytes a thread. K = 32 stored bytes is one stage: two widened slots of (64 + 128) x 64 bytes.
// CHECK-LABEL: func.func @residual_second_output
// CHECK: gpu.launch_func @kernels::@residual_second_output_1_conv2d blocks in (%c128, %c1, %c1) threads in (%c128, %c1, %c1) dynamic_shared_memory_size %c24576_i32
// CHECK: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 128, k = 32>
// CHECK: vector.store %{{.*}}, %{{.*}}[%{{.*}}] {alignment = 16 : i64} : memref<131072xi32>, vector<4xi32>

// -----

// u8 x s8: copied (cp.async) straight into a ring of 6 slots in the wgmma layout, prefetch
// distance 4; the copies are fenced for the async proxy before the barrier, nothing is widened;
// the 9 stages unrolled.
// CHECK-LABEL: func.func @conv_u8_pairs
// CHECK-COUNT-4: nvvm.cp.async.commit.group
// CHECK-NOT: scf.for
// CHECK: nvvm.cp.async.wait.group 3
// CHECK-NEXT: nvvm.fence.proxy
// CHECK-NEXT: gpu.barrier
// CHECK-NOT: arith.andi %{{.*}}, %c252645135_i32
// CHECK: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 128, k = 32>, D[<s32>, <one>], A[<u8>, <one>, <row>], B[<s8>, <one>, <col>]
// CHECK: nvvm.wgmma.wait.group.sync.aligned 1

// -----

// O = 40: wgmma's N is 8, 16, 24, 32 or a multiple of 16, so the tile is 48 channels wide and
// the loads past channel 40 are zero-filled.
// CHECK-LABEL: func.func @odd_channels_u8
// CHECK: gpu.launch_func @kernels::@odd_channels_u8_0_conv2d blocks in (%c2, %c1, %c1) threads in (%c128, %c1, %c1)
// CHECK: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 48, k = 32>
// PTX-LABEL: .entry odd_channels_u8_0_conv2d
// PTX: wgmma.mma_async.sync.aligned.m64n48k32.s32.u8.s8

// -----

// Batch 256, 28 x 28, 3x3, C = O = 64: 1568 tiles of 128 x 64, two warpgroups a block; three
// widened slots of (128 + 64) x 128 bytes (72 KiB). A 3x3 conv of two warpgroups needs more
// than the 80 registers of three blocks (ptxas spills ResNet-50's at 80): 128, two blocks.
// CHECK-LABEL: func.func @big_grid_u4
// CHECK: gpu.launch_func @kernels::@big_grid_u4_0_conv2d blocks in (%c1568, %c1, %c1) threads in (%c256, %c1, %c1) dynamic_shared_memory_size %c73728_i32
// CHECK: gpu.func @big_grid_u4_0_conv2d({{.*}} kernel attributes {{{.*}}nvvm.minctasm = 2 : i32}
// CHECK: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 64, k = 32>
