// qnn.dequantize, per tensor and per channel: fused into the dense it follows when it is the
// dense result's only reader (tcconv.dense {dequantize = ...} writes f32), else its own
// tcconv.dequantize with one scale per channel. Every target lowers the same way.
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_80})' | FileCheck %s
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90})' | FileCheck %s
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_75})' | FileCheck %s
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90},tcconv-verify)' | mlir-opt-22 --irdl-file=%tcconv_irdl > /dev/null
// The scales survive printing and parsing bit for bit (1e-5 and 0x3727C5AC are the same f32).
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90})' | nibble-opt | FileCheck %s

// HAWQ's logits: a per-class fc scale.
// CHECK-LABEL: func.func @dense_dequantize_per_channel
// CHECK-SAME: %[[X:.*]]: memref<4x20xi8>{{.*}}, %[[Y:.*]]: memref<4x3xf32>
// CHECK: %[[W:.*]] = "tcconv.weight"() {{.*}}packing = "ok"
// CHECK: %[[B:.*]] = "tcconv.weight"() {{.*}}packing = "bias"
// CHECK: "tcconv.dense"(%[[X]], %[[W]], %[[B]], %[[Y]]) {{{.*}}dequantize = array<f32: 9.99999974E-6, 2.500000e-01, 9.99999974E-6>, epilogue = "none"
// CHECK-SAME: (memref<4x20xi8>, memref<3x20xi8>, memref<3xi32>, memref<4x3xf32>) -> ()
// CHECK-NOT: tcconv.dequantize
// CHECK: return
func.func @dense_dequantize_per_channel(%x: tensor<4x20xi8>) -> tensor<4x3xf32> {
  %w = "qnn.weight"() {name = "fc.w"} : () -> tensor<3x20xi8>
  %b = "qnn.weight"() {name = "fc.b"} : () -> tensor<3xi32>
  %d = "qnn.dense"(%x, %w, %b) : (tensor<4x20xi8>, tensor<3x20xi8>, tensor<3xi32>) -> tensor<4x3xi32>
  %y = "qnn.dequantize"(%d) {scale = array<f32: 1.0e-5, 0.25, 0x3727C5AC>, layout = "NC"} : (tensor<4x3xi32>) -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}

// CHECK-LABEL: func.func @dense_dequantize_per_tensor
// CHECK: "tcconv.dense"({{.*}}) {{{.*}}dequantize = array<f32: 1.250000e-01>{{.*}} : (memref<2x16xi8>, memref<10x16xi8>, memref<2x10xf32>) -> ()
// CHECK-NOT: tcconv.dequantize
// CHECK: return
func.func @dense_dequantize_per_tensor(%x: tensor<2x16xi8>) -> tensor<2x10xf32> {
  %w = "qnn.weight"() {name = "fc.w"} : () -> tensor<10x16xi8>
  %d = "qnn.dense"(%x, %w) : (tensor<2x16xi8>, tensor<10x16xi8>) -> tensor<2x10xi32>
  %y = "qnn.dequantize"(%d) {scale = array<f32: 0.125>, layout = "NC"} : (tensor<2x10xi32>) -> tensor<2x10xf32>
  return %y : tensor<2x10xf32>
}

// The dense's i32 result is also returned: the dense writes it, the dequantize reads it.
// CHECK-LABEL: func.func @dense_result_also_returned
// CHECK-SAME: %[[X:.*]]: memref<4x20xi8>{{.*}}, %[[D:.*]]: memref<4x3xi32>{{.*}}, %[[Y:.*]]: memref<4x3xf32>
// CHECK: "tcconv.dense"(%[[X]], %{{.*}}, %[[D]])
// CHECK-NOT: dequantize =
// CHECK-SAME: -> ()
// CHECK: "tcconv.dequantize"(%[[D]], %[[Y]]) {scale = array<f32: 5.000000e-01, 2.500000e-01, 1.250000e-01>} : (memref<4x3xi32>, memref<4x3xf32>) -> ()
func.func @dense_result_also_returned(%x: tensor<4x20xi8>) -> (tensor<4x3xi32>, tensor<4x3xf32>) {
  %w = "qnn.weight"() {name = "fc.w"} : () -> tensor<3x20xi8>
  %d = "qnn.dense"(%x, %w) : (tensor<4x20xi8>, tensor<3x20xi8>) -> tensor<4x3xi32>
  %y = "qnn.dequantize"(%d) {scale = array<f32: 0.5, 0.25, 0.125>, layout = "NC"} : (tensor<4x3xi32>) -> tensor<4x3xf32>
  return %d, %y : tensor<4x3xi32>, tensor<4x3xf32>
}

// A 4-D map: one scale per channel, the channel read from the buffer's layout.
// CHECK-LABEL: func.func @dequantize_per_channel_map
// CHECK: "tcconv.dequantize"(%arg0, %arg1) {scale = array<f32: 5.000000e-01, 2.500000e-01, 1.250000e-01>} : (memref<2x4x4x4xi8>, memref<2x3x4x4xf32>) -> ()
func.func @dequantize_per_channel_map(%x: tensor<2x3x4x4xi8>) -> tensor<2x3x4x4xf32> {
  %y = "qnn.dequantize"(%x) {scale = array<f32: 0.5, 0.25, 0.125>, layout = "NCHW"} : (tensor<2x3x4x4xi8>) -> tensor<2x3x4x4xf32>
  return %y : tensor<2x3x4x4xf32>
}
