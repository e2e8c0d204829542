// Widened 4-bit weights (`convert-qnn-to-tcconv{weights=widened}`, tcconv.weight {widened}):
// the wgmma kernel over 4-bit inputs copies the weight's stage tiles with cp.async straight
// into its widened slots (stage it + 1 issued after stage it's barrier, waited for before the
// next), and widens only the input.
// RUN: nibble-opt %S/Inputs/widened.sm_90a-wgmma.mlir --split-input-file --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90a})' | FileCheck %s
// RUN: nibble-opt %S/Inputs/widened.sm_90a-wgmma.mlir --split-input-file --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90a},nvvm-attach-target{chip=sm_90a features=+ptx84},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1},convert-nvvm-to-llvm),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' | FileCheck %s --check-prefix=PTX
// Which weights the lowering widens: a wgmma conv's over 4-bit inputs, not its shortcut's, not
// an 8-bit conv's, and none by default:
// RUN: nibble-opt %S/Inputs/widened.qnn.mlir --split-input-file --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a kernel=wgmma weights=widened},tcconv-verify)' | FileCheck %s --check-prefix=LOWER
// RUN: nibble-opt %S/Inputs/widened.qnn.mlir --split-input-file --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a kernel=wgmma})' | FileCheck %s --check-prefix=PACKED
// RUN: not nibble-opt %S/Inputs/widened.qnn.mlir --split-input-file --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a weights=wide})' 2>&1 | FileCheck %s --check-prefix=BADOPT

// BADOPT: weights 'wide' is not packed or widened
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

// K = 9 taps x 128 stored bytes in 18 stages: a loop whose stage it + 1 copies are guarded
// (none past the last stage); O = 40 in a 48-channel tile: the copies past channel 40 are
// zero-filled.
// CHECK-LABEL: func.func @long_k_odd_channels
// CHECK: gpu.func @long_k_odd_channels_0_conv2d
// CHECK: scf.for %{{.*}} = %c0 to %c18 step %c1
// CHECK-NEXT: nvvm.cp.async.wait.group 0
// CHECK: gpu.barrier
// CHECK: %[[MORE:.*]] = arith.cmpi ult, %{{.*}}, %c18 : index
// CHECK-NEXT: scf.if %[[MORE]] {
// CHECK-COUNT-3: nvgpu.device_async_copy
// CHECK: nvvm.cp.async.commit.group
// CHECK: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 48, k = 32>
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
