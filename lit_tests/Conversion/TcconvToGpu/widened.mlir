// Widened 4-bit weights (`convert-qnn-to-tcconv{weights=widened}`, tcconv.weight {widened}):
// the wgmma kernel over 4-bit inputs copies the weight's stage tiles with cp.async straight
// into its widened slots (stage it + 1 issued after stage it's barrier, waited for before the
// next), and widens only the input.
// RUN: nibble-opt %S/Inputs/widened.sm_90a-wgmma.mlir --split-input-file --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90a})' | FileCheck %s
// RUN: nibble-opt %S/Inputs/widened.sm_90a-wgmma.mlir --split-input-file --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90a},nvvm-attach-target{chip=sm_90a features=+ptx84},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1},convert-nvvm-to-llvm),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' | FileCheck %s --check-prefix=PTX
// Which weights the lowering widens: a wgmma conv's over 4-bit inputs, not its shortcut's, not
// an 8-bit conv's, and none with weights=packed:
// RUN: nibble-opt %S/Inputs/widened.qnn.mlir --split-input-file --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a kernel=wgmma weights=widened},tcconv-verify)' | FileCheck %s --check-prefix=LOWER
// RUN: nibble-opt %S/Inputs/widened.qnn.mlir --split-input-file --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a kernel=wgmma weights=packed})' | FileCheck %s --check-prefix=PACKED
// RUN: not nibble-opt %S/Inputs/widened.qnn.mlir --split-input-file --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a weights=wide})' 2>&1 | FileCheck %s --check-prefix=BADOPT
// weights=tiles (the default): the widened weight laid out in the kernel's stage tiles; one thread copies a
// stage's tile with one bulk copy that completes on the slot's mbarrier, every thread waits on
// that mbarrier's phase:
// RUN: nibble-opt %S/Inputs/widened.qnn.mlir --split-input-file --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a kernel=wgmma weights=tiles},tcconv-verify)' | FileCheck %s --check-prefix=LOWERT
// RUN: nibble-opt %S/Inputs/widened.sm_90a-wgmma-tiles.mlir --split-input-file --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90a})' | FileCheck %s --check-prefix=TILES
// RUN: nibble-opt %S/Inputs/widened.sm_90a-wgmma-tiles.mlir --split-input-file --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90a},nvvm-attach-target{chip=sm_90a features=+ptx84},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1},convert-nvvm-to-llvm),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' | FileCheck %s --check-prefix=TPTX

// 256 x 64 x 3 x 3: 2 N tiles of 128 rows, 5 stages of 128 widened bytes (K = 9 x 64 = 576)
// LOWERT-LABEL: func.func @conv_u4_widened
// LOWERT: name = "w.hwoi_w8t"{{.*}}tiles = array<i64: 128, 128>, widened = true} : () -> memref<2x5x128x128xi8>
// 40 x 256 x 3 x 3: one N tile of 48 rows (8 of them zeros), 18 stages
// LOWERT-LABEL: func.func @long_k_odd_channels
// LOWERT: tiles = array<i64: 48, 128>, widened = true} : () -> memref<1x18x48x128xi8>
// LOWERT-LABEL: func.func @shortcut_weight_packed
// LOWERT: name = "w.ohwi_w8t"{{.*}}tiles = array<i64: 16, 64>
// LOWERT: name = "sw.ohwi"
// LOWERT-NOT: tiles
// LOWERT: return

// three slots, three mbarriers (after the slots) set up by thread 0 before anything is copied
// TILES-LABEL: func.func @conv_u4_widened
// TILES: gpu.func @conv_u4_widened_0_conv2d
// TILES: %[[FIRST:.*]] = arith.cmpi eq, %{{.*}}, %c0 : index
// TILES: scf.if %[[FIRST]] {
// TILES-COUNT-3: nvvm.mbarrier.init %{{.*}}, %c1_i32
// TILES: fence.mbarrier_init.release.cluster
// TILES: gpu.barrier
// TILES-NOT: nvgpu.device_async_copy
// stage 0's tile: 128 rows x 128 bytes, one bulk copy
// TILES: scf.if %[[FIRST]] {
// TILES: cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes{{.*}}%c16384_i32
// TILES: mbarrier.try_wait.parity{{.*}}%c0_i32
// TILES-NEXT: nvvm.fence.proxy
// TILES-NEXT: gpu.barrier
// TILES-NEXT: scf.if %[[FIRST]] {
// TILES: cp.async.bulk
// TILES: nvvm.wgmma.mma_async
// the fourth stage reuses slot 0: its mbarrier's second phase
// TILES: mbarrier.try_wait.parity{{.*}}%c0_i32
// TILES: mbarrier.try_wait.parity{{.*}}%c0_i32
// TILES: mbarrier.try_wait.parity{{.*}}%c1_i32
// TILES-NOT: nvgpu.device_async_copy
// TILES: gpu.return
// TPTX-LABEL: .entry conv_u4_widened_0_conv2d
// TPTX: mbarrier.init.shared.b64
// TPTX: fence.mbarrier_init.release.cluster;
// TPTX: mbarrier.arrive.expect_tx.shared::cta.b64 _, [%r{{[0-9]+}}], %r{{[0-9]+}};
// TPTX: cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%r{{[0-9]+}}], [%rd{{[0-9]+}}], %r{{[0-9]+}}, [%r{{[0-9]+}}];
// TPTX: mbarrier.try_wait.parity.shared::cta.b64

// TILES-LABEL: func.func @long_k_odd_channels
// 18 stages of a 48-row tile: unrolled (a tiled weight's main loop is, up to 24 stages), each
// stage one bulk copy of 48 x 128 bytes, none after the last; the last stage's wait is slot 2's
// sixth phase (parity 1)
// TILES: gpu.func @long_k_odd_channels_0_conv2d
// TILES-NOT: scf.for
// TILES-COUNT-18: cp.async.bulk{{.*}}%c6144_i32
// TILES-NOT: cp.async.bulk
// TILES: mbarrier.try_wait.parity{{.*}}%c1_i32
// TILES-NEXT: nvvm.fence.proxy
// TILES-NOT: cp.async.bulk
// TILES: gpu.return

// TILES-LABEL: func.func @shortcut_weight_packed
// The shortcut GEMM runs first and loads its 4-bit weight itself (its chunk among the 16-byte
// loads: the conv's input, the shortcut's input and weight); only the conv's weight tile comes
// by a bulk copy, after the shortcut's wgmma
// TILES: gpu.func @shortcut_weight_packed_0_conv2d
// TILES-COUNT-3: vector.load {{.*}} vector<4xi32>
// TILES-NOT: vector.load
// TILES: nvvm.wgmma.mma_async
// TILES: cp.async.bulk
// TILES: gpu.return

// BADOPT: weights 'wide' is not packed, widened or tiles
// PACKED-NOT: widened = true

// LOWER-LABEL: func.func @conv_u4_widened
// LOWER: "tcconv.weight"() {dims = array<i64: 256, 64, 3, 3>, elem = "i4", name = "w.hwoi_w8", packing = "hwoi", source = "w", source_layout = "OIHW", widened = true} : () -> memref<3x3x256x64xi8>
// LOWER: "tcconv.conv2d"{{.*}}b_type = "s8"{{.*}}family = "wgmma"{{.*}}widen = true
// LOWER-LABEL: func.func @shortcut_weight_packed
// LOWER: name = "w.ohwi_w8"{{.*}}widened = true} : () -> memref<16x1x1x64xi8>
// LOWER: name = "sw.ohwi"
// LOWER-NOT: widened = true
// LOWER-SAME: memref<16x1x1x4xi32>
// LOWER-LABEL: func.func @conv_u8_keeps_its_weight
// LOWER-NOT: widened = true
// LOWER: return

// 64 x 128 tiles, one warpgroup: a stage's B is 128 rows of 8 widened 16-byte chunks, eight
// copies a thread; stage 0's go before stage 0 of A is widened.
// CHECK-LABEL: func.func @conv_u4_widened
// CHECK: gpu.func @conv_u4_widened_0_conv2d
// CHECK-COUNT-6: vector.load %{{.*}} : memref<32768xi32>, vector<4xi32>
// CHECK-NOT: vector.load
// CHECK-COUNT-8: nvgpu.device_async_copy %{{.*}} : memref<36864xi32> to memref<18432xi32, #gpu.address_space<workgroup>>
// CHECK-NEXT: nvvm.cp.async.commit.group
// only the u4 input is widened (by mask; an s4 weight would go into the high nibbles)
// CHECK-NOT: %c-252645136_i32
// CHECK: arith.andi %{{.*}}, %c252645135_i32 : i32
// CHECK: vector.store
// CHECK: nvvm.cp.async.wait.group 0
// CHECK-NEXT: nvvm.fence.proxy
// CHECK-NEXT: gpu.barrier
// CHECK-COUNT-8: nvgpu.device_async_copy
// CHECK-NEXT: nvvm.cp.async.commit.group
// CHECK: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 128, k = 32>, D[<s32>, <one>], A[<u8>, <one>, <row>], B[<s8>, <one>, <col>]
// CHECK: nvvm.wgmma.wait.group.sync.aligned 1
// CHECK-NEXT: nvvm.cp.async.wait.group 0
// CHECK-NEXT: nvvm.fence.proxy
// CHECK-NEXT: gpu.barrier
// no s4 scaling to undo
// CHECK-NOT: %c-252645136_i32
// CHECK-NOT: arith.shrsi %{{.*}}, %c4_i32
// CHECK: gpu.return
// PTX-LABEL: .entry conv_u4_widened_0_conv2d
// PTX: cp.async.cg.shared.global [%rd{{[0-9]+}}+{{[0-9]+}}], [%rd{{[0-9]+}}], 16, 16;
// PTX: cp.async.commit_group;
// PTX: cp.async.wait_group {{.}}090;
// PTX: fence.proxy.async.shared::cta;
// PTX: wgmma.mma_async.sync.aligned.m64n128k32.s32.u8.s8

// -----

// K = 9 taps x 128 stored bytes in 18 stages, unrolled: three copies a stage, none past the
// last stage; O = 40 in a 48-channel tile: the copies past channel 40 are zero-filled.
// CHECK-LABEL: func.func @long_k_odd_channels
// CHECK: gpu.func @long_k_odd_channels_0_conv2d
// CHECK-NOT: scf.for
// CHECK-COUNT-54: nvgpu.device_async_copy
// CHECK-NOT: nvgpu.device_async_copy
// CHECK: nvvm.cp.async.wait.group 0
// CHECK-NOT: nvgpu.device_async_copy
// CHECK: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 48, k = 32>
// CHECK-NOT: nvgpu.device_async_copy
// CHECK: gpu.return
// PTX-LABEL: .entry long_k_odd_channels_0_conv2d
// PTX: cp.async.cg.shared.global

// -----

// The shortcut GEMM keeps its 4-bit weight (loaded and widened); the conv's is copied.
// CHECK-LABEL: func.func @shortcut_weight_packed
// CHECK: gpu.func @shortcut_weight_packed_0_conv2d
// CHECK-COUNT-1: nvgpu.device_async_copy
// CHECK-NOT: nvgpu.device_async_copy
// CHECK: gpu.return

// -----

// CHECK-LABEL: func.func @conv_u8_keeps_its_weight
// CHECK: nvvm.wgmma.mma_async {{.*}} A[<u8>, <one>, <row>], B[<s8>, <one>, <col>]
