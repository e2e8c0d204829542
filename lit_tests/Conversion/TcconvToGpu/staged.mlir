// The shared-memory staged tensor-core conv kernel (staged.rs): cp.async multi-stage pipeline,
// ldmatrix fragments, the tcconv op's block tile and stages, sliced K for small grids.
// RUN: nibble-opt %S/Inputs/staged.sm_90.mlir --split-input-file --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90})' | FileCheck %s --check-prefixes=CHECK,SM90
// RUN: nibble-opt %S/Inputs/staged.sm_80.mlir --split-input-file --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_80})' | FileCheck %s --check-prefixes=CHECK,SM80
// sm_75 has no cp.async, and convert-qnn-to-tcconv{kernel=mma} chooses the register-only kernel:
// inputs lowered that way keep it.
// RUN: nibble-opt %S/Inputs/staged.sm_75.mlir --split-input-file --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_75})' | FileCheck %s --check-prefix=NONE
// RUN: nibble-opt %S/Inputs/staged.sm_90-mma.mlir --split-input-file --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90})' | FileCheck %s --check-prefix=NONE
// The PTX, through the upstream pipeline with convert-nvgpu-to-nvvm:
// RUN: nibble-opt %S/Inputs/staged.sm_90.mlir --split-input-file --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90},nvvm-attach-target{chip=sm_90 features=+ptx78},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1}),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' | FileCheck %s --check-prefix=PTX

// NONE-NOT: nvgpu.ldmatrix
// NONE-NOT: nvgpu.device_async_copy

// u4 x s4, 16 images, 3x3, C = 64 (32 bytes a pixel), O = 256, K = 9 taps x 32 bytes = 5
// stages of 64. The tile model takes the largest tile whose grid still covers the SMs:
// 64x64x128 (256 blocks of 4 warps; 4 stages of (64 + 64) x 64 bytes = 32 KiB; per stage and
// thread 2 A and 2 B chunks of 16 bytes).
// CHECK-LABEL: func.func @conv_u4_staged
// CHECK: gpu.launch_func @kernels::@conv_u4_staged_0_conv2d blocks in (%c256, %c1, %c1) threads in (%c128, %c1, %c1)
// A direct 3x3 conv of 4-bit operands: 96 registers a thread on sm_90 (`Kernel::registers`)
// would allow five blocks an SM, its grid of 256 blocks gives an SM two; on sm_80 ptxas decides
// (one block asked).
// CHECK: gpu.func @conv_u4_staged_0_conv2d({{.*}}) workgroup(%[[SM:.*]] : memref<8192xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel attributes {known_block_size = array<i32: 128, 1, 1>,
// SM90-SAME: nvvm.minctasm = 2 : i32}
// SM80-SAME: nvvm.minctasm = 1 : i32}
// prologue: stages 0..2, zero-filled 16-byte copies when out of range, a commit group each;
// stage 0's weight chunks first (2, from the 18432-word weight), then, on sm_90 after the wait
// for the producer grid (programmatic dependent launch), its input chunks (from the 32768-word
// image); stages 1 and 2 after it, input and weight chunks
// CHECK-COUNT-2: nvgpu.device_async_copy %{{.*}}[%{{.*}}], %[[SM]][%{{.*}}], 4, %{{.*}} {bypassL1} : memref<18432xi32> to
// SM90-NEXT: nvvm.griddepcontrol wait
// SM80-NOT: nvvm.griddepcontrol
// CHECK-COUNT-2: nvgpu.device_async_copy %{{.*}}[%{{.*}}], %[[SM]][%{{.*}}], 4, %{{.*}} {bypassL1} : memref<32768xi32> to
// CHECK-NEXT: nvvm.cp.async.commit.group
// CHECK-COUNT-2: nvgpu.device_async_copy %{{.*}} : memref<32768xi32> to
// CHECK-COUNT-2: nvgpu.device_async_copy %{{.*}} : memref<18432xi32> to
// CHECK-NEXT: nvvm.cp.async.commit.group
// CHECK: nvvm.cp.async.commit.group
// the 5 stages unrolled (main loops of up to 6 stages are): each stage waits for its copies,
// and stages 0 and 1 issue those of stages 3 and 4 unguarded (known to be in range)
// CHECK-NOT: scf.for
// CHECK: nvvm.cp.async.wait.group 2
// CHECK-NEXT: gpu.barrier
// CHECK-NOT: scf.if
// CHECK-COUNT-4: nvgpu.device_async_copy
// CHECK: nvvm.cp.async.commit.group
// two 32-byte K steps a stage, each 2 A + 2 B ldmatrix.x4 a warp
// CHECK-COUNT-4: nvgpu.ldmatrix %[[SM]][%{{.*}}] {numTiles = 4 : i32, transpose = false} : memref<{{[0-9]+}}xi32, #gpu.address_space<workgroup>> -> vector<4x1xi32>
// sm_90: nibbles widened by masks (u4: 0x0f0f0f0f; s4 weights into the high nibble: 0xf0f0f0f0)
// SM90: arith.andi %{{.*}}, %c252645135_i32 : i32
// SM90: arith.andi %{{.*}}, %c-252645136_i32 : i32
// SM90-COUNT-16: nvvm.mma.sync {{.*}} multiplicandAPtxType = #nvvm.mma_type<u8>, multiplicandBPtxType = #nvvm.mma_type<s8>, shape = #nvvm.shape<m = 16, n = 8, k = 32>}
// SM80-COUNT-8: nvvm.mma.sync {{.*}} multiplicandAPtxType = #nvvm.mma_type<u4>, multiplicandBPtxType = #nvvm.mma_type<s4>, shape = #nvvm.shape<m = 16, n = 8, k = 64>}
// CHECK: nvvm.cp.async.wait.group 0
// sm_90: the x16 weights are shifted back out of the accumulators (exact: |acc| * 16 < 2^31)
// SM90-COUNT-32: arith.shrsi %{{.*}}, %c4_i32 : i32
// SM80-NOT: arith.shrsi %{{.*}}, %c4_i32 : i32
// the u4 output is staged: lane t of each group puts byte t (its two channels) of the word of 8
// channels into the block's [64][8]-word tile in shared memory, no shuffle between the lanes;
// then every thread writes 16 bytes of a row (the tile's address taken once, before)
// CHECK: memref.extract_aligned_pointer_as_index %[[SM]] : memref<8192xi32, #gpu.address_space<workgroup>>
// CHECK-NEXT: arith.index_cast
// CHECK-NEXT: gpu.barrier
// CHECK-NOT: gpu.shuffle
// CHECK: llvm.store %{{.*}}, %{{.*}} : i8, !llvm.ptr<3>
// CHECK-NOT: gpu.shuffle
// CHECK: gpu.barrier
// CHECK: vector.load %[[SM]][%{{.*}}] {alignment = 16 : i64} : memref<8192xi32, #gpu.address_space<workgroup>>, vector<4xi32>
// CHECK: vector.store %{{.*}}, %{{.*}}[%{{.*}}] {alignment = 16 : i64} : memref<{{[0-9]+}}xi32>, vector<4xi32>
// PTX-LABEL: .entry conv_u4_staged_0_conv2d
// PTX: .shared .align 16 .b8 __wg_conv_u4_staged_0_conv2d_0[32768];
// PTX-DAG: cp.async.cg.shared.global [%rd{{[0-9]+}}], [%rd{{[0-9]+}}], 16, %r{{[0-9]+}};
// PTX-DAG: cp.async.commit_group;
// PTX-DAG: cp.async.wait_group {{\\09}}2;
// PTX-DAG: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// PTX-DAG: st.global.v4.b32
// PTX-DAG: st.shared.b8
// PTX-DAG: mma.sync.aligned.m16n8k32.row.col.s32.u8.s8.s32

// A late layer at batch 1 (M = 196, C = O = 256, 3x3): 32x32 tiles give 7 x 8 = 56 warps, so K
// is sliced 4 ways inside the block (4 warps a tile, each 64 of every 256-byte stage row);
// 3 stages of 64 x 256 bytes = 48 KiB. After the loop warps 1-3 park their accumulators in
// the drained pipeline memory and warp 0 adds them and runs the epilogue.
// CHECK-LABEL: func.func @sliced_k
// CHECK: gpu.launch_func @kernels::@sliced_k_0_conv2d blocks in (%c56, %c1, %c1) threads in (%c128, %c1, %c1)
// CHECK: gpu.func @sliced_k_0_conv2d({{.*}}) workgroup(%[[SM:.*]] : memref<12288xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// NHWC: a tile's rows are neighbouring pixels, which the window's other taps read again, so
// the input's copies go through L1 (`cp.async.ca`); the weight's bypass it, as do the HWNC
// input's above (a tile's rows there are one pixel of many images)
// CHECK: nvgpu.device_async_copy %{{.*}}[%{{.*}}], %[[SM]][%{{.*}}], 4, %{{[0-9a-z_]+}} {bypassL1} : memref<73728xi32> to
// CHECK: nvgpu.device_async_copy %{{.*}}[%{{.*}}], %[[SM]][%{{.*}}], 4, %{{[0-9a-z_]+}} : memref<6272xi32> to
// the 5 stages unrolled: the last one waits for every copy
// CHECK-NOT: scf.for
// CHECK: nvvm.cp.async.wait.group 1
// CHECK-NEXT: gpu.barrier
// CHECK: nvvm.cp.async.wait.group 0
// CHECK-NEXT: gpu.barrier
// CHECK: scf.if %[[NOTFIRST:.*]] {
// CHECK-COUNT-32: memref.store %{{.*}}, %[[SM]][%{{.*}}] : memref<12288xi32, #gpu.address_space<workgroup>>
// CHECK: gpu.barrier
// CHECK-COUNT-96: memref.load %[[SM]][%{{.*}}] : memref<12288xi32, #gpu.address_space<workgroup>>
// PTX-LABEL: .entry sliced_k_0_conv2d
// PTX: cp.async.ca.shared.global [%rd{{[0-9]+}}], [%rd{{[0-9]+}}], 16, %r{{[0-9]+}};

// The 3-channel stem (4 bytes a pixel, not whole 16-byte chunks) is not staged.
// CHECK-LABEL: func.func @stem_not_staged
// CHECK-NOT: nvgpu.ldmatrix
// CHECK: return

// A residual conv with a second output (HAWQ's residual stream): each lane's two epilogue
// results of a row (channels o, o + 1) are stored as one 8-byte i32 pair to the first output,
// and their requantize to u4 is packed and staged through shared memory, then written 16 bytes
// a thread to the second output. Its main loop is one K block, so the residual's i32 pairs are
// loaded before it (their latency overlaps the GEMM), none in the epilogue.
// CHECK-LABEL: func.func @residual_second_output
// CHECK: gpu.launch_func @kernels::@residual_second_output_1_conv2d {{.*}} args({{.*}}, %arg2 : memref<16x16x16x256xi32>, %arg3 : memref<16x16x16x32xi32>)
// CHECK: gpu.func @residual_second_output_1_conv2d({{.*}}, %[[OUT:.*]]: memref<16x16x16x256xi32> {llvm.noalias}, %[[SEC:.*]]: memref<16x16x16x32xi32> {llvm.noalias}) workgroup(%[[SM:.*]] : memref<4096xi32
// CHECK-DAG: %[[OUTF:.*]] = memref.reinterpret_cast %[[OUT]]
// CHECK-DAG: %[[SECF:.*]] = memref.reinterpret_cast %[[SEC]]
// CHECK-DAG: %[[RESF:.*]] = memref.reinterpret_cast %arg3
// CHECK-COUNT-16: vector.load %[[RESF]][%{{.*}}] {alignment = 8 : i64} : memref<1048576xi32>, vector<2xi32>
// CHECK: nvvm.cp.async.wait.group 0
// CHECK: nvvm.mma.sync
// CHECK-NOT: vector.load %[[RESF]]
// CHECK: memref.extract_aligned_pointer_as_index %[[SM]] : memref<4096xi32, #gpu.address_space<workgroup>>
// CHECK-NOT: vector.load %[[RESF]]
// CHECK: %[[PAIR:.*]] = vector.from_elements %{{.*}}, %{{.*}} : vector<2xi32>
// CHECK-NEXT: vector.store %[[PAIR]], %[[OUTF]][%{{.*}}] {alignment = 8 : i64} : memref<1048576xi32>, vector<2xi32>
// CHECK-NOT: gpu.shuffle
// CHECK: llvm.store %{{.*}}, %{{.*}} : i8, !llvm.ptr<3>
// CHECK: gpu.barrier
// CHECK: vector.store %{{.*}}, %[[SECF]][%{{.*}}] {alignment = 16 : i64} : memref<131072xi32>, vector<4xi32>

// u8 outputs (O a multiple of 16) are staged too: each lane stores its two bytes of a row
// (channels o, o + 1) into the block's [BM][BN] byte tile in shared memory, and after a barrier
// every thread writes 16-byte vectors of it through the output's word view, not one 2-byte
// store a lane and row (8 bytes a 32-byte sector per store instruction).
// CHECK-LABEL: func.func @conv_u8_pairs
// CHECK: gpu.func @conv_u8_pairs_0_conv2d
// CHECK-NOT: vector<2xi8>
// CHECK: llvm.store %{{.*}}, %{{.*}} : i8, !llvm.ptr<3>
// CHECK: llvm.store %{{.*}}, %{{.*}} : i8, !llvm.ptr<3>
// CHECK-NOT: vector<2xi8>
// CHECK: gpu.barrier
// CHECK: vector.store %{{.*}}, %{{.*}}[%{{.*}}] {alignment = 16 : i64} : memref<50176xi32>, vector<4xi32>
// PTX-LABEL: .entry conv_u8_pairs_0_conv2d
// PTX-NOT: st.global.v2.b8
// PTX: st.global.v4.b32

// A stage-4 layer at batch 1 (M = 49, C = O = 512, 3x3): 2 x 16 = 32 tiles with K sliced 4
// ways inside the block leave 9 K iterations on 32 SMs. On sm_90 K is also split across the 4
// blocks of a thread-block cluster (128 blocks, 3 iterations each): ranks 1-3 park their sums
// in their shared memory, rank 0 reads them through distributed shared memory (one mapa per
// peer, ld.shared::cluster) between two cluster barriers and alone runs the epilogue; sm_80
// has no clusters.
// CHECK-LABEL: func.func @cluster_k
// SM80: gpu.launch_func @kernels::@cluster_k_0_conv2d blocks in (%c32, %c1, %c1) threads in (%c128, %c1, %c1)
// SM80-NOT: nvvm.cluster_dim
// SM80-NOT: nvvm.mapa
// SM90: gpu.launch_func @kernels::@cluster_k_0_conv2d blocks in (%c128, %c1, %c1) threads in (%c128, %c1, %c1)
// SM90: gpu.func @cluster_k_0_conv2d({{.*}}) workgroup(%[[SM:.*]] : memref<12288xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel attributes {{{.*}}nvvm.cluster_dim = array<i32: 4, 1, 1>
// SM90-NOT: scf.for
// SM90: nvvm.cp.async.wait.group 0
// SM90: scf.if
// SM90-COUNT-32: memref.store %{{.*}}, %[[SM]][%{{.*}}] : memref<12288xi32, #gpu.address_space<workgroup>>
// SM90: nvvm.cluster.arrive
// SM90-NEXT: nvvm.cluster.wait
// SM90: scf.if %{{.*}} -> (i32,
// SM90: nvvm.mapa %{{.*}}, %c1_i32 : !llvm.ptr<3> -> !llvm.ptr<7>
// SM90-COUNT-32: llvm.load %{{.*}} : !llvm.ptr<7> -> i32
// SM90: nvvm.mapa %{{.*}}, %c2_i32 : !llvm.ptr<3> -> !llvm.ptr<7>
// SM90: nvvm.mapa %{{.*}}, %c3_i32 : !llvm.ptr<3> -> !llvm.ptr<7>
// SM90: nvvm.cluster.arrive
// SM90-NEXT: nvvm.cluster.wait
// SM90: scf.if
// SM90: gpu.return
// PTX-LABEL: .entry cluster_k_0_conv2d
// PTX: .explicitcluster
// PTX-SAME: .reqnctapercluster 4, 1, 1
// PTX: barrier.cluster.arrive;
// PTX-SAME: barrier.cluster.wait;
// PTX: mapa.shared::cluster.u64
// PTX: ld.shared::cluster.b32

// The same epilogue behind a long main loop (3x3, 512 channels: 36 K blocks): the residual
// is loaded in the epilogue, after the pipeline has drained, not held across the loop.
// CHECK-LABEL: func.func @residual_long_k
// CHECK: gpu.func @residual_long_k_1_conv2d
// CHECK: %[[RESF:.*]] = memref.reinterpret_cast %arg3
// CHECK-NOT: vector.load %[[RESF]]
// CHECK: scf.for %{{.*}} = %c0 to %c36 step %c1
// CHECK-NOT: vector.load %[[RESF]]
// CHECK: nvvm.cp.async.wait.group 0
// CHECK: vector.load %[[RESF]][%{{.*}}] {alignment = 8 : i64} : memref<1048576xi32>, vector<2xi32>
