// The staged kernel over a widened 4-bit weight (`convert-qnn-to-tcconv{staged-weights=widened}`,
// tcconv.weight {widened = true}: one byte a value, each 32-channel group in the order the
// kernel widens the input's K into). A stage's B rows are twice the A rows' bytes, copied as
// they are; a 32-byte K step of the input is one 64-byte step of the weight, one ldmatrix.x4 an
// 8-row n-tile, whose four registers are the two MMAs' B fragments as loaded: only the input is
// widened in the main loop.
// RUN: nibble-opt %S/Inputs/staged.sm_90-widened.mlir --split-input-file --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90})' | FileCheck %s
// RUN: nibble-opt %S/Inputs/staged.sm_90-widened.mlir --split-input-file --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90},nvvm-attach-target{chip=sm_90 features=+ptx78},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1}),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' | FileCheck %s --check-prefix=PTX

// u4 x s4, 16 images, 3x3, C = 64, O = 256 on 64x64x128 tiles: 4 stages of 64 A rows x 64
// bytes and 64 B rows x 128 bytes (12 KiB, 3072 words a stage), the weight 3 x 3 x 256 x 64
// bytes (36864 words); per stage and thread 2 A chunks and 4 B chunks of 16 bytes
// CHECK-LABEL: func.func @conv_u4_staged
// CHECK: gpu.func @conv_u4_staged_0_conv2d(%{{.*}}: memref<16x16x16x8xi32> {llvm.noalias}, %{{.*}}: memref<3x3x256x64xi8> {llvm.noalias}, %{{.*}}) workgroup(%[[SM:.*]] : memref<12288xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// stage 0's weight chunks before the wait for the producer grid, its input chunks after it
// CHECK-COUNT-4: nvgpu.device_async_copy %{{.*}}[%{{.*}}], %[[SM]][%{{.*}}], 4, %{{.*}} {bypassL1} : memref<36864xi32> to
// CHECK-NEXT: nvvm.griddepcontrol wait
// CHECK-COUNT-2: nvgpu.device_async_copy %{{.*}} : memref<32768xi32> to
// CHECK-NEXT: nvvm.cp.async.commit.group
// CHECK-COUNT-2: nvgpu.device_async_copy %{{.*}} : memref<32768xi32> to
// CHECK-COUNT-4: nvgpu.device_async_copy %{{.*}} : memref<36864xi32> to
// CHECK-NEXT: nvvm.cp.async.commit.group
// a 32-byte K step: two ldmatrix.x4 of the input, four of the weight (one an n-tile); the
// input's nibbles widened (u4: 0x0f0f0f0f), the weight's registers straight into the MMA
// CHECK: nvvm.cp.async.wait.group 2
// CHECK-COUNT-2: nvgpu.ldmatrix %[[SM]][%{{.*}}] {numTiles = 4 : i32, transpose = false}
// CHECK: %[[B:.*]] = nvgpu.ldmatrix %[[SM]][%{{.*}}] {numTiles = 4 : i32, transpose = false}
// CHECK-NEXT: %[[B0:.*]] = vector.extract %[[B]][0, 0] : i32 from vector<4x1xi32>
// CHECK-NEXT: %[[B1:.*]] = vector.extract %[[B]][1, 0] : i32 from vector<4x1xi32>
// CHECK-COUNT-3: nvgpu.ldmatrix %[[SM]][%{{.*}}] {numTiles = 4 : i32, transpose = false}
// CHECK-NOT: nvgpu.ldmatrix
// CHECK: arith.andi %{{.*}}, %c252645135_i32 : i32
// CHECK-NOT: nvgpu.ldmatrix
// CHECK: nvvm.mma.sync A[%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}]  B[%[[B0]], %[[B1]]]  C[{{.*}}multiplicandAPtxType = #nvvm.mma_type<u8>, multiplicandBPtxType = #nvvm.mma_type<s8>, shape = #nvvm.shape<m = 16, n = 8, k = 32>}
// no weight nibble is widened (no 0xf0f0f0f0 mask), so no accumulator is shifted back
// CHECK-NOT: %c-252645136_i32
// CHECK-NOT: arith.shrsi %{{.*}}, %c4_i32
// CHECK: gpu.return
// PTX-LABEL: .entry conv_u4_staged_0_conv2d(
// PTX-COUNT-60: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// PTX-NOT: ldmatrix
// PTX: ret;

// -----

// Sliced K (1 image: 56 blocks of 4 warps, each a quarter of every 256-byte stage row): the
// weight's stage rows are 512 bytes, and warp w reads chunks [8w, 8w + 8) of them; 2 stages of
// (32 + 64) x 256 bytes fill the 48 KiB.
// CHECK-LABEL: func.func @sliced_k
// CHECK: gpu.func @sliced_k_0_conv2d(%{{.*}}: memref<1x14x14x32xi32> {llvm.noalias}, %{{.*}}: memref<256x3x3x256xi8> {llvm.noalias}, %{{.*}}) workgroup(%{{.*}} : memref<12288xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK-NOT: %c-252645136_i32
// CHECK: gpu.return
// PTX-LABEL: .entry sliced_k_0_conv2d(
// PTX: mma.sync.aligned.m16n8k32.row.col.s32.u8.s8.s32
