// The register-only tensor-core conv kernel (mma.rs, convert-qnn-to-tcconv{kernel=mma}) per target; the
// shared-memory staged kernel is in staged.mlir.
// RUN: nibble-opt %S/Inputs/mma.sm_80-mma.mlir --split-input-file --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_80})' | FileCheck %s --check-prefixes=CHECK,SM80
// RUN: nibble-opt %S/Inputs/mma.sm_90-mma.mlir --split-input-file --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90})' | FileCheck %s --check-prefixes=CHECK,SM90
// RUN: nibble-opt %S/Inputs/mma.sm_75-mma.mlir --split-input-file --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_75})' | FileCheck %s --check-prefixes=CHECK,SM75
// kernel=simple keeps the simple kernel.
// RUN: nibble-opt %S/Inputs/mma.sm_80-simple.mlir --split-input-file --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_80})' | FileCheck %s --check-prefix=SIMPLE
// PTX per target.
// RUN: nibble-opt %S/Inputs/mma.sm_80-mma.mlir --split-input-file --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_80},nvvm-attach-target{chip=sm_80 features=+ptx70},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1}),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' | FileCheck %s --check-prefix=PTX80
// RUN: nibble-opt %S/Inputs/mma.sm_90-mma.mlir --split-input-file --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90},nvvm-attach-target{chip=sm_90 features=+ptx78},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1}),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' | FileCheck %s --check-prefix=PTX90
// RUN: nibble-opt %S/Inputs/mma.sm_75-mma.mlir --split-input-file --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_75},nvvm-attach-target{chip=sm_75 features=+ptx65},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1}),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' | FileCheck %s --check-prefix=PTX75

// u4 x s4, 16 images (direct strategy: HWNC input, HWOI weights), fused requantize to packed
// u4. GEMM M = 16*16*16 = 4096 pixels, N = 256 channels: 32x32 warp tiles (2x4 m16n8 tiles,
// 4x4 m8n8 on sm_75), 128 x 8 = 1024 warps = 256 blocks of 128 threads, no K split.
// CHECK-LABEL: func.func @conv_u4_mma
// CHECK: gpu.launch_func @kernels::@conv_u4_mma_0_conv2d blocks in (%c256, %c1, %c1) threads in (%c128, %c1, %c1) args(%{{.*}} : memref<16x16x16x8xi32>, %{{.*}} : memref<3x3x256x8xi32>, %{{.*}} : memref<256xi32>, %{{.*}} : memref<16x16x16x32xi32>)
// CHECK: gpu.func @conv_u4_mma_0_conv2d({{.*}}) kernel attributes {known_block_size = array<i32: 128, 1, 1>, nvvm.minctasm = 1 : i32}
// CHECK-NOT: workgroup
// warp = block * 4 + thread / 32; lane group g = lane / 4, t = lane % 4
// CHECK: arith.remui %thread_id_x, %c32 : index
// CHECK: arith.cmpi ult, %{{.*}}, %c1024 : index
// taps, then K steps of mma.k channels, 32 i32 accumulators
// CHECK: scf.for %{{.*}} = %c0 to %c3 step %c1 iter_args({{.*}}) -> (i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32)
// (sm_80: one K step of 64 channels per tap, no inner loop)
// SM80-COUNT-8: nvvm.mma.sync A[%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}]  B[%{{.*}}, %{{.*}}]  C[%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}]  {intOverflowBehavior = #nvvm.mma_int_overflow<wrapped>, layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<u4>, multiplicandBPtxType = #nvvm.mma_type<s4>, shape = #nvvm.shape<m = 16, n = 8, k = 64>}
// sm_90: 4-bit storage widened to bytes in registers (nibble j -> byte j; s4 sign-extended)
// SM90: scf.for %{{.*}} = %c0 to %c2 step %c1
// SM90: arith.andi %{{.*}}, %c3840_i32 : i32
// SM90: arith.andi %{{.*}}, %c134744072_i32 : i32
// SM90-NEXT: arith.muli %{{.*}}, %c30_i32 : i32
// SM90-COUNT-8: nvvm.mma.sync {{.*}}multiplicandAPtxType = #nvvm.mma_type<u8>, multiplicandBPtxType = #nvvm.mma_type<s8>, shape = #nvvm.shape<m = 16, n = 8, k = 32>}
// SM75: scf.for %{{.*}} = %c0 to %c2 step %c1
// SM75-COUNT-16: nvvm.mma.sync A[%{{.*}}]  B[%{{.*}}]  C[%{{.*}}, %{{.*}}] {{.*}}shape = #nvvm.shape<m = 8, n = 8, k = 32>}
// epilogue: requantize, the 4 lanes of a group OR their nibble pairs into one word (every lane
// holds it); the 4 n-tiles' words of a row (the warp's 32 channels) are one 16-byte store, row
// half h by lane t = h
// CHECK: arith.muli %{{.*}}, %c1073741824_i64 : i64
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32, %c32_i32 : i32
// CHECK: gpu.shuffle  xor %{{.*}}, %c2_i32, %c32_i32 : i32
// CHECK-NOT: memref.store
// CHECK: %[[ROW:.*]] = vector.from_elements %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : vector<4xi32>
// CHECK-NEXT: scf.if
// CHECK-NEXT: vector.store %[[ROW]], %{{.*}}[%{{.*}}] {alignment = 16 : i64} : memref<131072xi32>, vector<4xi32>

// SIMPLE-LABEL: func.func @conv_u4_mma
// SIMPLE: gpu.launch_func @kernels::@conv_u4_mma_0_conv2d blocks in (%c512, %c1, %c1) threads in (%c256, %c1, %c1)
// SIMPLE-NOT: nvvm.mma.sync

// PTX80: mma.sync.aligned.m16n8k64.row.col.s32.u4.s4.s32
// PTX90: mma.sync.aligned.m16n8k32.row.col.s32.u8.s8.s32
// PTX90-NOT: .s4
// PTX75: mma.sync.aligned.m8n8k32.row.col.s32.u4.s4.s32

// A late ResNet layer at batch 1 (M = 49 pixels, C = O = 512, im2col): too few tiles, so the
// tile shrinks to 16x8 and K is split 4 ways inside each block (sm_90: 16 K steps of 32 per
// tap, 4 per warp); the partial accumulators meet in shared memory after a barrier.
// SM90-LABEL: func.func @late_layer_split_k
// SM90: gpu.launch_func @kernels::@late_layer_split_k_0_conv2d blocks in (%c256, %c1, %c1) threads in (%c128, %c1, %c1)
// SM90: gpu.func @late_layer_split_k_0_conv2d({{.*}}) workgroup(%[[SMEM:.*]] : memref<512xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel
// SM90: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c1 iter_args({{.*}}) -> (i32, i32, i32, i32)
// SM90: nvvm.mma.sync
// SM90: memref.store %{{.*}}, %[[SMEM]][%{{.*}}] : memref<512xi32, #gpu.address_space<workgroup>>
// SM90: gpu.barrier
// SM90-COUNT-12: memref.load %[[SMEM]]

// The 3-channel 8-bit stem (7x7/2): one stored input pixel (4 bytes, Cs = 4) is one fragment
// register, so K runs over the taps, 8 a m16n8k32 step: one kernel row a step (7 steps, ky =
// the step, lane t's registers kx = t and t + 4, kx = 7 zero), no tap divided by KW. The 7
// steps are unrolled (ky a constant in each), so every step's loads can issue before the
// first MMA. 16x16 output pixels x 64 channels.
// SM90-LABEL: func.func @stem_taps_along_k
// SM90: gpu.func @stem_taps_along_k_0_conv2d
// SM90-NOT: scf.for
// SM90: arith.cmpi ult, %[[T:.*]], %c7 : index
// SM90: %[[KX:.*]] = arith.addi %c4, %[[T]] : index
// SM90-NEXT: arith.cmpi ult, %[[KX]], %c7 : index
// SM90-NOT: arith.divui %{{.*}}, %c7 : index
// SM90: memref.load %{{.*}} : memref<1024xi32>
// SM90-COUNT-7: nvvm.mma.sync {{.*}}multiplicandAPtxType = #nvvm.mma_type<s8>, multiplicandBPtxType = #nvvm.mma_type<s8>, shape = #nvvm.shape<m = 16, n = 8, k = 32>}
// SM90-NOT: nvvm.mma.sync
// SM90: gpu.return
// SM75-LABEL: func.func @stem_taps_along_k
// SM75: scf.for %{{.*}} = %c0 to %c13 step %c1
// SM75: nvvm.mma.sync {{.*}}shape = #nvvm.shape<m = 8, n = 8, k = 16>}

// HAWQ's stem with a then step: the 16-bit requantize and relu, then the 4-bit requantize of
// that i32 value (then_*); only the packed 4-bit result is stored. Both constant shifts (33,
// 41) round on the product's high word; the 16-bit step clamps in i32.
// SM90-LABEL: func.func @stem_then_requantize
// SM90: gpu.func @stem_then_requantize_0_conv2d
// SM90: arith.muli %{{.*}}, %c1707411548_i64 : i64
// SM90: arith.shrsi %{{.*}}, %c32_i64 : i64
// SM90-NEXT: %[[HI:.*]] = arith.trunci %{{.*}} : i64 to i32
// SM90-NEXT: %[[TH:.*]] = arith.addi %[[HI]], %c1_i32 : i32
// SM90-NEXT: arith.shrsi %[[TH]], %c1_i32 : i32
// SM90: arith.maxsi %{{.*}}, %c0_i32 : i32
// SM90-NEXT: arith.minsi %{{.*}}, %c32767_i32 : i32
// SM90: arith.muli %{{.*}}, %c1297154756_i64 : i64
// SM90: arith.shrsi %{{.*}}, %c32_i64 : i64
// SM90-NEXT: %[[HI2:.*]] = arith.trunci %{{.*}} : i64 to i32
// SM90-NEXT: %[[TH2:.*]] = arith.addi %[[HI2]], %c256_i32 : i32
// SM90-NEXT: arith.shrsi %[[TH2]], %c9_i32 : i32
// The 4-bit result's clamp to [0, 15] is the packing's saturation.
// SM90: llvm.inline_asm asm_dialect = att "cvt.pack.sat.u4.s32.b32 $0, $1, $2, $3;", "=r,r,r,r"
// SM90-COUNT-2: memref.store %{{.*}} : memref<2048xi32>
// SM90-NEXT: }
// SM90-NEXT: gpu.return
