// convert-tcconv-to-gpu on a residual stream in narrow16 storage (an internal i32 buffer that
// only convs write and read as their residual): every conv family stores a lane's two channels
// as one i32 word of two i16, saturated (values outside [-32767, 32766] saturate to a marker,
// -32768 or 32767, with the exact i32 in the wide plane), and reads the residual as one word,
// touching the wide plane only under an escape. The shared-memory families (staged, wgmma) move
// the narrow words through a stream tile in shared memory, the register-only family (mma) loads
// and stores them in global memory. On sm_90a (PTX 8.4) the escape test of a group
// of words is one max.s16x2 and one min.s16x2 a word; elsewhere one compare a value. Inputs/narrow16.qnn.mlir is the source (Inputs/regen.sh).
// RUN: nibble-opt %S/Inputs/narrow16.sm_90.mlir --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90})' | FileCheck %s --check-prefixes=CHECK,PAIR,SCALAR,TILE,STAGED
// RUN: nibble-opt %S/Inputs/narrow16.sm_90a-wgmma.mlir --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90a})' | FileCheck %s --check-prefixes=CHECK,PAIR,SIMD,TILE,WGMMA
// RUN: nibble-opt %S/Inputs/narrow16.sm_90-mma.mlir --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90})' | FileCheck %s --check-prefixes=CHECK,PAIR,SCALAR,GLOBAL
// RUN: nibble-opt %S/Inputs/narrow16.sm_80-simple.mlir --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_80})' | FileCheck %s --check-prefixes=CHECK,SIMPLE
// RUN: nibble-opt %S/Inputs/narrow16-long-k.sm_90.mlir --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90})' | FileCheck %s --check-prefix=LONGK
// The kernels go through the upstream pipeline to PTX. With a residual multiplier that is not a
// power of two, each residual half's product is one `mul.wide.s32` (both halves i32 values in
// LLVM's eyes); an i16 sign-extended to i64 made it a 64-bit multiply (cvt.s64.s16, mad.lo.s64).
// RUN: nibble-opt %S/Inputs/narrow16-scaled.sm_90a-wgmma.mlir --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90a},nvvm-attach-target{chip=sm_90a features=+ptx84},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1},convert-nvvm-to-llvm),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' | FileCheck %s --check-prefix=SCALED
// RUN: nibble-opt %S/Inputs/narrow16.sm_90.mlir --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90},nvvm-attach-target{chip=sm_90 features=+ptx78},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1}),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' | FileCheck %s --check-prefix=PTX

// The stream %0: 2 x 16 x 16 x 256 slots, 2 bytes each and then 4 (3 x 262144 bytes).
// CHECK-LABEL: func.func @residual_stream
// CHECK: %[[S:.*]] = "tcconv.alloc"() {{.*}}storage = "narrow16"{{.*}} -> memref<3x262144xi8>
// CHECK: gpu.launch_func @kernels::@residual_stream_0_conv2d {{.*}}%[[S]] : memref<3x262144xi8>
// CHECK: gpu.launch_func @kernels::@residual_stream_1_conv2d {{.*}}%[[S]] : memref<3x262144xi8>

// The first conv writes the stream: the bytes viewed as i32 words (the wide plane from word
// 131072 / 2 = 65536) ...
// CHECK: gpu.func @residual_stream_0_conv2d({{.*}}memref<3x262144xi8>
// CHECK: %[[WORDS:.*]] = memref.view %{{.*}}[%c0][] : memref<786432xi8> to memref<196608xi32>
// The wgmma kernel's stream tile: 64 rows of 128 channels, 272 bytes a row (68 words: the 8
// rows a warp reads at once fall in different banks), after the slots (24576 bytes); the staged
// kernel's is in its shared memory after the pipeline's words.
// WGMMA: %[[SMEM:.*]] = memref.view %{{.*}}[%c24576][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<4352xi32, #gpu.address_space<workgroup>>
// PAIR: %[[W:.*]] = llvm.inline_asm asm_dialect = att "cvt.pack.sat.s16.s32 $0, $1, $2;", "=r,r,r" %[[V1:.*]], %[[V0:.*]] : (i32, i32) -> i32
// The register-only kernel stores it behind its lane's guard (whether its row is one of M).
// GLOBAL-NEXT: scf.if %{{.*}} {
// GLOBAL-NEXT: %[[WI:.*]] = arith.divui %[[SL:.*]], %c2 : index
// GLOBAL-NEXT: memref.store %[[W]], %[[WORDS]][%[[WI]]] : memref<196608xi32>
// WGMMA: memref.store %[[W]], %[[SMEM]][%{{.*}}] : memref<4352xi32, #gpu.address_space<workgroup>>
// STAGED: memref.store %[[W]], %[[SMEM:arg[0-9]+]][%{{.*}}] : memref<{{[0-9]+}}xi32, #gpu.address_space<workgroup>>
// ... and after the group's stores, one branch on any escape: on sm_90a their words folded by
// halfword max / min from the largest / least non-marker halves (32766: 0x7ffe7ffe, -32767:
// 0x80018001), the branch taken where a fold moved; on sm_90 a test of each value. In the
// branch (marked unlikely: llvm.intr.expect, so LLVM lays it out of the straight path), each
// pair's wide store behind its own test.
// SIMD: %[[MX:.*]] = llvm.inline_asm asm_dialect = att "max.s16x2 $0, $1, $2;", "=r,r,r" %c2147385342_i32, %[[W]]
// SIMD-NEXT: %[[MN:.*]] = llvm.inline_asm asm_dialect = att "min.s16x2 $0, $1, $2;", "=r,r,r" %c-2147385343_i32, %[[W]]
// SIMD: arith.cmpi ne, %{{.*}}, %c2147385342_i32 : i32
// SIMD-NEXT: arith.cmpi ne, %{{.*}}, %c-2147385343_i32 : i32
// SIMD-NEXT: %[[ANY:.*]] = arith.ori
// SIMD-NEXT: %[[RARE:.*]] = llvm.intr.expect %[[ANY]], %false : i1
// SIMD-NEXT: scf.if %[[RARE]] {
// SCALAR: arith.addi %[[V0]], %c32767_i32 : i32
// SCALAR-NEXT: arith.cmpi ugt, %{{.*}}, %c65533_i32 : i32
// SCALAR: scf.if %{{.*}} {
// SIMD-NEXT: %[[B0:.*]] = arith.addi %[[V0]], %c32767_i32 : i32
// SIMD-NEXT: %[[E0:.*]] = arith.cmpi ugt, %[[B0]], %c65533_i32 : i32
// SIMD-NEXT: %[[B1:.*]] = arith.addi %[[V1]], %c32767_i32 : i32
// SIMD-NEXT: %[[E1:.*]] = arith.cmpi ugt, %[[B1]], %c65533_i32 : i32
// SIMD-NEXT: %[[E:.*]] = arith.ori %[[E0]], %[[E1]] : i1
// GLOBAL-NEXT: arith.andi %{{.*}}, %{{.*}} : i1
// PAIR-NEXT: scf.if %{{.*}} {
// GLOBAL-NEXT: %[[X0:.*]] = arith.addi %c65536, %[[SL]] : index
// TILE-NEXT: %[[X0:.*]] = arith.addi %c65536, %{{.*}} : index
// PAIR-NEXT: %[[X1:.*]] = arith.addi %[[X0]], %c1 : index
// PAIR-NEXT: memref.store %[[V0]], %[[WORDS]][%[[X0]]] : memref<196608xi32>
// PAIR-NEXT: memref.store %[[V1]], %[[WORDS]][%[[X1]]] : memref<196608xi32>
// The simple family stores a thread's 8 channels as 4 words, then (sm_80: no halfword SIMD)
// tests each value and branches once on any escape.
// SIMPLE: %[[W:.*]] = llvm.inline_asm asm_dialect = att "cvt.pack.sat.s16.s32 $0, $1, $2;", "=r,r,r" %[[V1:.*]], %[[V0:.*]] : (i32, i32) -> i32
// SIMPLE-NEXT: %[[WI:.*]] = arith.divui %[[SL:.*]], %c2 : index
// SIMPLE-NEXT: memref.store %[[W]], %[[WORDS]][%[[WI]]] : memref<196608xi32>
// SIMPLE: %[[B0:.*]] = arith.addi %[[V0]], %c32767_i32 : i32
// SIMPLE-NEXT: %[[E0:.*]] = arith.cmpi ugt, %[[B0]], %c65533_i32 : i32
// SIMPLE-NEXT: %[[B1:.*]] = arith.addi %[[V1]], %c32767_i32 : i32
// SIMPLE-NEXT: %[[E1:.*]] = arith.cmpi ugt, %[[B1]], %c65533_i32 : i32
// SIMPLE-NEXT: %[[E:.*]] = arith.ori %[[E0]], %[[E1]] : i1
// SIMPLE: scf.if %{{.*}} {
// SIMPLE-NEXT: scf.if %[[E]] {
// SIMPLE-NEXT: %[[X:.*]] = arith.addi %c65536, %[[SL]] : index
// After a barrier the block writes the stream tile out, 16 bytes (8 channels) a thread.
// TILE: gpu.barrier
// TILE: vector.load %[[SMEM]][%{{.*}}] {alignment = 16 : i64} : memref<{{[0-9]+}}xi32, #gpu.address_space<workgroup>>, vector<4xi32>
// TILE: vector.store %{{.*}}, %[[WORDS]][%{{.*}}] {alignment = 16 : i64} : memref<196608xi32>, vector<4xi32>
// CHECK: gpu.return

// ... and the second reads it as its residual: a group's words first (the loads in flight
// together), then each word's two i16, sign-extended, and one branch to the wide plane where any
// of them is a marker.
// CHECK: gpu.func @residual_stream_1_conv2d({{.*}}%[[RES:arg3]]: memref<3x262144xi8>
// CHECK: memref.reinterpret_cast %[[RES]] {{.*}} to memref<786432xi8>
// CHECK: %[[RWORDS:.*]] = memref.view %{{.*}}[%c0][] : memref<786432xi8> to memref<196608xi32>
// GLOBAL: %[[RW:.*]] = memref.load %[[RWORDS]][%{{.*}}] : memref<196608xi32>
// GLOBAL-NEXT: arith.divui
// GLOBAL-NEXT: memref.load %[[RWORDS]]
// The shared-memory kernels copy the residual's tile into their stream tile (wgmma: after its
// 73728 bytes of slots) before the main loop, 16 bytes a copy, one cp.async group; the epilogue
// waits for it, and after a barrier (here the one before the staged 4-bit output's tile) reads
// the words from shared memory.
// WGMMA: %[[RSMEM:.*]] = memref.view %{{.*}}[%c73728][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<4352xi32, #gpu.address_space<workgroup>>
// WGMMA: nvgpu.device_async_copy %[[RWORDS]][%{{.*}}], %[[RSMEM]][%{{.*}}], 4, %c4 {bypassL1} : memref<196608xi32> to memref<4352xi32, #gpu.address_space<workgroup>>
// STAGED: nvgpu.device_async_copy %[[RWORDS]][%{{.*}}], %[[RSMEM:arg[0-9]+]][%{{.*}}], 4, %{{.*}} {bypassL1} : memref<196608xi32> to memref<{{[0-9]+}}xi32, #gpu.address_space<workgroup>>
// TILE: nvvm.cp.async.commit.group
// WGMMA: nvvm.wgmma.mma_async
// TILE: nvvm.cp.async.wait.group 0
// TILE: gpu.barrier
// TILE: %[[RW:.*]] = memref.load %[[RSMEM]][%{{.*}}] : memref<{{[0-9]+}}xi32, #gpu.address_space<workgroup>>
// (the low half by two shifts in i32, not an i16 sign-extended: see SCALED below)
// PAIR: %[[RLO16:.*]] = arith.shli %[[RW]], %c16_i32 : i32
// PAIR-NEXT: %[[RLO:.*]] = arith.shrsi %[[RLO16]], %c16_i32 : i32
// PAIR-NEXT: %[[RHI:.*]] = arith.shrsi %[[RW]], %c16_i32 : i32
// SIMD: llvm.inline_asm asm_dialect = att "max.s16x2 $0, $1, $2;", "=r,r,r" %c2147385342_i32, %[[RW]]
// Each bias of the group is compared with the limit of the residual sum's bound (2^20 for these
// scales): with an escape or a bias beyond it, the general sum in the first branch.
// PAIR: %[[BB:.*]] = arith.addi %{{.*}}, %c1048576_i32 : i32
// PAIR-NEXT: arith.cmpi ugt, %[[BB]], %c2097152_i32 : i32
// PAIR: %{{.*}}:{{[0-9]+}} = scf.if %{{.*}} -> (i32, i32, i32, i32, {{.*}}) {
// (read from the stream tile, the words' global slots are computed in the escape branch, the
// only place that uses them)
// TILE-NEXT: arith.muli
// TILE: %[[X:.*]] = arith.addi %c65536, %{{.*}} : index
// GLOBAL-NEXT: %[[X:.*]] = arith.addi %c65536, %{{.*}} : index
// (sm_90 tested each value before the branch and reuses the tests)
// SIMD-NEXT: %[[RB0:.*]] = arith.addi %[[RLO]], %c32767_i32 : i32
// SIMD-NEXT: %[[RE0:.*]] = arith.cmpi ugt, %[[RB0]], %c65533_i32 : i32
// PAIR-NEXT: scf.if %{{.*}} -> (i32) {
// PAIR-NEXT: memref.load %[[RWORDS]][%[[X]]] : memref<196608xi32>
// PAIR: } else {
// PAIR-NEXT: scf.yield %[[RLO]] : i32
// This branch saturates the 64-bit sum to i32 (the xor giving i32::MAX or i32::MIN); the other
// (no escape, every bias within the limit) adds the two terms' low words in 32 bits, with no
// saturation before the relu.
// PAIR: arith.xori %{{.*}}, %c2147483647_i32 : i32
// PAIR: scf.yield %{{[0-9]+}}, %{{.*}} : i32, i32
// PAIR-NEXT: } else {
// PAIR-NOT: arith.xori
// PAIR: arith.maxsi %{{[0-9]+}}, %c0_i32 : i32
// SIMPLE: memref.load %[[RWORDS]]
// SIMPLE-NEXT: arith.divui
// SIMPLE-NEXT: memref.load %[[RWORDS]]
// SIMPLE: %{{.*}}:8 = scf.if %{{.*}} -> (i32, i32, i32, i32, i32, i32, i32, i32) {
// CHECK: gpu.return

// PTX: .visible .entry residual_stream_0_conv2d(
// PTX: cvt.pack.sat.s16.s32
// PTX: st.global.b32
// PTX: setp.gt.{{[su]}}32
// PTX: .visible .entry residual_stream_1_conv2d(
// PTX: shr.s32 {{.*}}, 16;
// SCALED: .entry residual_stream_1_conv2d(
// SCALED-NOT: cvt.s64.s16
// SCALED: mul.wide.s32 {{[^;]*}}, 1887396881;
// SCALED-NOT: cvt.s64.s16
// SCALED: ">]

// A staged conv with a long main loop (3 x 3, K of 9 x 32 bytes: more K blocks than an i32
// residual is prefetched for) copies its residual's stream tile in too: after the wait for the
// producer, as the first commit group, before the main loop.
// LONGK-LABEL: gpu.func @long_k_1_conv2d
// LONGK: %[[LWORDS:.*]] = memref.view %{{.*}}[%c0][] : memref<49152xi8> to memref<12288xi32>
// LONGK: nvvm.griddepcontrol  wait
// LONGK: nvgpu.device_async_copy %[[LWORDS]][%{{.*}}], %{{.*}}[%{{.*}}], 4, %c4 {bypassL1} : memref<12288xi32> to memref<4736xi32, #gpu.address_space<workgroup>>
// LONGK: nvvm.cp.async.commit.group
// LONGK: nvgpu.ldmatrix
// LONGK: nvvm.cp.async.wait.group 0
// LONGK: gpu.return
