// convert-tcconv-to-gpu on a residual stream in narrow16 storage (an internal i32 buffer that
// only convs write and read as their residual): every conv family stores a lane's two channels
// as one i32 word of two i16 (values outside [-32767, 32767] as -32768, the escape, with the
// exact i32 in the wide plane), and reads the residual as one word, touching the wide plane
// only under an escape. Inputs/narrow16.qnn.mlir is the source (Inputs/regen.sh).
// RUN: nibble-opt %S/Inputs/narrow16.sm_90.mlir --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90})' | FileCheck %s --check-prefixes=CHECK,PAIR
// RUN: nibble-opt %S/Inputs/narrow16.sm_90a-wgmma.mlir --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90a})' | FileCheck %s --check-prefixes=CHECK,PAIR
// RUN: nibble-opt %S/Inputs/narrow16.sm_80-simple.mlir --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_80})' | FileCheck %s --check-prefixes=CHECK,SIMPLE
// The kernels go through the upstream pipeline to PTX.
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
// PAIR: %[[B0:.*]] = arith.addi %[[V0:.*]], %c32767_i32 : i32
// PAIR-NEXT: %[[E0:.*]] = arith.cmpi ugt, %[[B0]], %c65534_i32 : i32
// PAIR-NEXT: %[[N0:.*]] = arith.select %[[E0]], %c-32768_i32, %[[V0]] : i32
// PAIR-NEXT: %[[B1:.*]] = arith.addi %[[V1:.*]], %c32767_i32 : i32
// PAIR-NEXT: %[[E1:.*]] = arith.cmpi ugt, %[[B1]], %c65534_i32 : i32
// PAIR-NEXT: %[[N1:.*]] = arith.select %[[E1]], %c-32768_i32, %[[V1]] : i32
// PAIR-NEXT: %[[LO:.*]] = arith.andi %[[N0]], %c65535_i32 : i32
// PAIR-NEXT: %[[HI:.*]] = arith.shli %[[N1]], %c16_i32 : i32
// PAIR-NEXT: %[[W:.*]] = arith.ori %[[LO]], %[[HI]] : i32
// PAIR-NEXT: %[[E:.*]] = arith.ori %[[E0]], %[[E1]] : i1
// (2 x 16 x 16 pixels and 256 channels are whole tiles: no store tests its bounds)
// PAIR-NEXT: %[[WI:.*]] = arith.divui %[[SL:.*]], %c2 : index
// PAIR-NEXT: memref.store %[[W]], %[[WORDS]][%[[WI]]] : memref<196608xi32>
// ... and after the m-tile's stores, one branch on any escape of them, each pair's wide store
// behind its own flag.
// PAIR: scf.if %{{.*}} {
// PAIR-NEXT: scf.if %[[E]] {
// PAIR-NEXT: %[[X0:.*]] = arith.addi %c65536, %[[SL]] : index
// PAIR-NEXT: %[[X1:.*]] = arith.addi %[[X0]], %c1 : index
// PAIR-NEXT: memref.store %[[V0]], %[[WORDS]][%[[X0]]] : memref<196608xi32>
// PAIR-NEXT: memref.store %[[V1]], %[[WORDS]][%[[X1]]] : memref<196608xi32>
// The simple family stores a thread's 8 channels as 4 words, then the escapes behind one branch.
// SIMPLE: %[[E:.*]] = arith.ori %{{.*}}, %{{.*}} : i1
// SIMPLE-NEXT: %[[WI:.*]] = arith.divui %[[SL:.*]], %c2 : index
// SIMPLE-NEXT: memref.store %{{.*}}, %[[WORDS]][%[[WI]]] : memref<196608xi32>
// SIMPLE: scf.if %{{.*}} {
// SIMPLE-NEXT: scf.if %[[E]] {
// SIMPLE-NEXT: %[[X:.*]] = arith.addi %c65536, %[[SL]] : index
// CHECK: gpu.return

// ... and the second reads it as its residual: the m-tile's words first (the loads in flight
// together), then each word's two i16, sign-extended, and one branch to the wide plane where any
// of them is the escape.
// CHECK: gpu.func @residual_stream_1_conv2d({{.*}}%[[RES:arg3]]: memref<3x262144xi8>
// CHECK: memref.reinterpret_cast %[[RES]] {{.*}} to memref<786432xi8>
// CHECK: %[[RWORDS:.*]] = memref.view %{{.*}}[%c0][] : memref<786432xi8> to memref<196608xi32>
// PAIR: %[[RW:.*]] = memref.load %[[RWORDS]][%{{.*}}] : memref<196608xi32>
// PAIR-NEXT: arith.divui
// PAIR-NEXT: memref.load %[[RWORDS]]
// PAIR: %[[RLO16:.*]] = arith.trunci %[[RW]] : i32 to i16
// PAIR-NEXT: %[[RLO:.*]] = arith.extsi %[[RLO16]] : i16 to i32
// PAIR-NEXT: %[[RHI:.*]] = arith.shrsi %[[RW]], %c16_i32 : i32
// PAIR-NEXT: %[[RE0:.*]] = arith.cmpi eq, %[[RLO]], %c-32768_i32 : i32
// PAIR-NEXT: %[[RE1:.*]] = arith.cmpi eq, %[[RHI]], %c-32768_i32 : i32
// PAIR: %{{.*}}:{{[0-9]+}} = scf.if %{{.*}} -> (i32, i32, i32, i32, {{.*}}) {
// PAIR-NEXT: %[[X:.*]] = arith.addi %c65536, %{{.*}} : index
// PAIR-NEXT: scf.if %[[RE0]] -> (i32) {
// PAIR-NEXT: memref.load %[[RWORDS]][%[[X]]] : memref<196608xi32>
// PAIR: } else {
// PAIR-NEXT: scf.yield %[[RLO]] : i32
// SIMPLE: memref.load %[[RWORDS]]
// SIMPLE-NEXT: arith.divui
// SIMPLE-NEXT: memref.load %[[RWORDS]]
// SIMPLE: %{{.*}}:8 = scf.if %{{.*}} -> (i32, i32, i32, i32, i32, i32, i32, i32) {
// CHECK: gpu.return

// PTX: .visible .entry residual_stream_0_conv2d(
// PTX: setp.gt.{{[su]}}32
// PTX: st.global.b32
// PTX: .visible .entry residual_stream_1_conv2d(
// PTX: shr.s32 {{.*}}, 16;
