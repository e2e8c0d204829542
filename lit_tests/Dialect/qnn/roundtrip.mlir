// Every qnn op parses, verifies, prints, and parses again; upstream mlir-opt-22 accepts the output.
// RUN: nibble-opt %s --pass-pipeline='builtin.module(qnn-verify)' | nibble-opt | FileCheck %s
// RUN: nibble-opt %s | mlir-opt-22 --irdl-file=%qnn_irdl | FileCheck %s

// CHECK-LABEL: func.func @stem
func.func @stem(%x: tensor<1x3x16x16xf32>) -> tensor<1x8x4x4xui4> {
  // CHECK: "qnn.weight"() {name = "stem.weight"} : () -> tensor<8x3x7x7xi8>
  %w = "qnn.weight"() {name = "stem.weight"} : () -> tensor<8x3x7x7xi8>
  // CHECK: "qnn.weight"() {name = "stem.bias"} : () -> tensor<8xi32>
  %b = "qnn.weight"() {name = "stem.bias"} : () -> tensor<8xi32>
  // CHECK: "qnn.quantize"(%{{.*}}) {layout = "NCHW", scale = 7.812500e-03 : f32}
  %q = "qnn.quantize"(%x) {scale = 0x3C000000 : f32, layout = "NCHW"} : (tensor<1x3x16x16xf32>) -> tensor<1x3x16x16xi8>
  // CHECK: "qnn.conv2d"(%{{.*}}, %{{.*}}, %{{.*}}) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 3, 3, 3, 3>, strides = array<i64: 2, 2>}
  %c = "qnn.conv2d"(%q, %w, %b) {strides = array<i64: 2, 2>, padding = array<i64: 3, 3, 3, 3>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<1x3x16x16xi8>, tensor<8x3x7x7xi8>, tensor<8xi32>) -> tensor<1x8x8x8xi32>
  // CHECK: "qnn.requantize"(%{{.*}}) {clamp = array<i64: -32768, 32767>, layout = "NCHW", multiplier = array<i32: 1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1073741824>, rounding = "half_to_even", shift = array<i32: 31, 31, 31, 31, 31, 31, 31, 31>, zero_point = 0 : i64}
  %r = "qnn.requantize"(%c) {multiplier = array<i32: 1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1073741824>, shift = array<i32: 31, 31, 31, 31, 31, 31, 31, 31>, clamp = array<i64: -32768, 32767>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<1x8x8x8xi32>) -> tensor<1x8x8x8xi16>
  // CHECK: "qnn.relu"(%{{.*}}) {layout = "NCHW"} : (tensor<1x8x8x8xi16>) -> tensor<1x8x8x8xi16>
  %a = "qnn.relu"(%r) {layout = "NCHW"} : (tensor<1x8x8x8xi16>) -> tensor<1x8x8x8xi16>
  // CHECK: "qnn.max_pool2d"(%{{.*}}) {kernel = array<i64: 3, 3>, layout = "NCHW", padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>}
  %p = "qnn.max_pool2d"(%a) {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW"} : (tensor<1x8x8x8xi16>) -> tensor<1x8x4x4xi16>
  // CHECK: "qnn.requantize"(%{{.*}}) {clamp = array<i64: 0, 15>, layout = "NCHW", multiplier = array<i32: 1518500250>, rounding = "half_up", shift = array<i32: 36>, zero_point = 0 : i64}
  %u = "qnn.requantize"(%p) {multiplier = array<i32: 1518500250>, shift = array<i32: 36>, clamp = array<i64: 0, 15>, zero_point = 0 : i64, rounding = "half_up", layout = "NCHW"} : (tensor<1x8x4x4xi16>) -> tensor<1x8x4x4xui4>
  return %u : tensor<1x8x4x4xui4>
}

// CHECK-LABEL: func.func @residual_hwnc
func.func @residual_hwnc(%x: tensor<4x4x8x64xui4>, %id: tensor<4x4x8x64xi32>) -> tensor<4x4x8x64xi32> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<3x3x64x64xi4>
  // CHECK: "qnn.conv2d"(%{{.*}}, %{{.*}}) {kernel_layout = "HWOI", layout = "HWNC", padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>}
  %c = "qnn.conv2d"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "HWNC", kernel_layout = "HWOI"} : (tensor<4x4x8x64xui4>, tensor<3x3x64x64xi4>) -> tensor<4x4x8x64xi32>
  // CHECK: "qnn.add"(%{{.*}}, %{{.*}}) {clamp = array<i64: -2147483648, 2147483647>, layout = "HWNC", lhs_multiplier = array<i32: 1073741824>, lhs_shift = array<i32: 20>, rhs_multiplier = array<i32: 1073741824>, rhs_shift = array<i32: 30>, rounding = "half_to_even"}
  %s = "qnn.add"(%c, %id) {lhs_multiplier = array<i32: 1073741824>, lhs_shift = array<i32: 20>, rhs_multiplier = array<i32: 1073741824>, rhs_shift = array<i32: 30>, clamp = array<i64: -2147483648, 2147483647>, rounding = "half_to_even", layout = "HWNC"} : (tensor<4x4x8x64xi32>, tensor<4x4x8x64xi32>) -> tensor<4x4x8x64xi32>
  // CHECK: "qnn.clamp"(%{{.*}}) {layout = "HWNC", max = 1000 : i64, min = 0 : i64}
  %k = "qnn.clamp"(%s) {min = 0 : i64, max = 1000 : i64, layout = "HWNC"} : (tensor<4x4x8x64xi32>) -> tensor<4x4x8x64xi32>
  return %k : tensor<4x4x8x64xi32>
}

// CHECK-LABEL: func.func @head
func.func @head(%x: tensor<2x7x7x16xi32>) -> tensor<2x10xf32> {
  // CHECK: "qnn.layout_transform"(%{{.*}}) {dst_layout = "NCHW", src_layout = "NHWC"} : (tensor<2x7x7x16xi32>) -> tensor<2x16x7x7xi32>
  %t = "qnn.layout_transform"(%x) {src_layout = "NHWC", dst_layout = "NCHW"} : (tensor<2x7x7x16xi32>) -> tensor<2x16x7x7xi32>
  // CHECK: "qnn.avg_pool2d"(%{{.*}}) {kernel = array<i64: 7, 7>, layout = "NCHW", padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>}
  %p = "qnn.avg_pool2d"(%t) {kernel = array<i64: 7, 7>, strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW"} : (tensor<2x16x7x7xi32>) -> tensor<2x16x1x1xi32>
  %q = "qnn.requantize"(%p) {multiplier = array<i32: 1073741824>, shift = array<i32: 32>, clamp = array<i64: -128, 127>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<2x16x1x1xi32>) -> tensor<2x16x1x1xi8>
  // CHECK: "qnn.flatten"(%{{.*}}) {layout = "NCHW"} : (tensor<2x16x1x1xi8>) -> tensor<2x16xi8>
  %f = "qnn.flatten"(%q) {layout = "NCHW"} : (tensor<2x16x1x1xi8>) -> tensor<2x16xi8>
  %w = "qnn.weight"() {name = "fc.weight"} : () -> tensor<10x16xi8>
  %b = "qnn.weight"() {name = "fc.bias"} : () -> tensor<10xi32>
  // CHECK: "qnn.dense"(%{{.*}}, %{{.*}}, %{{.*}}) : (tensor<2x16xi8>, tensor<10x16xi8>, tensor<10xi32>) -> tensor<2x10xi32>
  %d = "qnn.dense"(%f, %w, %b) : (tensor<2x16xi8>, tensor<10x16xi8>, tensor<10xi32>) -> tensor<2x10xi32>
  // CHECK: "qnn.dequantize"(%{{.*}}) {layout = "NC", scale = array<f32: 1.250000e-01>} : (tensor<2x10xi32>) -> tensor<2x10xf32>
  %y = "qnn.dequantize"(%d) {scale = array<f32: 0.125>, layout = "NC"} : (tensor<2x10xi32>) -> tensor<2x10xf32>
  return %y : tensor<2x10xf32>
}

// CHECK-LABEL: func.func @fused_residual
func.func @fused_residual(%x: tensor<1x8x4x4xui4>, %id: tensor<1x8x4x4xi32>) -> tensor<1x8x4x4xi32> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<8x8x3x3xi4>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<8xi32>
  // CHECK: "qnn.conv2d_fused"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) {clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", kernel_layout = "OIHW", layout = "NCHW", multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 1, 1>, padding = array<i64: 1, 1, 1, 1>, relu = true, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, rounding = "half_to_even", shift = array<i32: 20>, strides = array<i64: 1, 1>, zero_point = 0 : i64}
  %c = "qnn.conv2d_fused"(%x, %w, %b, %id) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 20>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = true, operandSegmentSizes = array<i32: 1, 1, 1, 1>} : (tensor<1x8x4x4xui4>, tensor<8x8x3x3xi4>, tensor<8xi32>, tensor<1x8x4x4xi32>) -> tensor<1x8x4x4xi32>
  return %c : tensor<1x8x4x4xi32>
}

// The residual stream's two results: the wide sum and its requantize (second_*) to ui4.
// CHECK-LABEL: func.func @fused_residual_second_result
// CHECK: %[[C:.*]]:2 = "qnn.conv2d_fused"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) {{.*}}second_clamp = array<i64: 0, 15>, second_multiplier = array<i32: 1342218220>, second_rounding = "half_up", second_shift = array<i32: 39>, second_zero_point = 2 : i64, {{.*}} -> (tensor<1x8x4x4xi32>, tensor<1x8x4x4xui4>)
// CHECK: return %[[C]]#0, %[[C]]#1
func.func @fused_residual_second_result(%x: tensor<1x8x4x4xui4>, %id: tensor<1x8x4x4xi32>) -> (tensor<1x8x4x4xi32>, tensor<1x8x4x4xui4>) {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<8x8x3x3xi4>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<8xi32>
  %c:2 = "qnn.conv2d_fused"(%x, %w, %b, %id) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 20>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = true, second_multiplier = array<i32: 1342218220>, second_shift = array<i32: 39>, second_rounding = "half_up", second_zero_point = 2 : i64, second_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 1, 1>} : (tensor<1x8x4x4xui4>, tensor<8x8x3x3xi4>, tensor<8xi32>, tensor<1x8x4x4xi32>) -> (tensor<1x8x4x4xi32>, tensor<1x8x4x4xui4>)
  return %c#0, %c#1 : tensor<1x8x4x4xi32>, tensor<1x8x4x4xui4>
}

// HAWQ's stem epilogue: the 16-bit requantize and relu, then (then_*) the 4-bit requantize of
// that value; only the 4-bit result is stored.
// CHECK-LABEL: func.func @fused_then_requantize
// CHECK: "qnn.conv2d_fused"(%{{.*}}, %{{.*}}, %{{.*}}) {clamp = array<i64: -32768, 32767>, epilogue = "requantize", {{.*}}relu = true, {{.*}}then_clamp = array<i64: 0, 15>, then_multiplier = array<i32: 1297154756>, then_rounding = "half_to_even", then_shift = array<i32: 41>, then_zero_point = 0 : i64, zero_point = 0 : i64} : {{.*}} -> tensor<1x8x4x4xui4>
func.func @fused_then_requantize(%x: tensor<1x8x4x4xi8>) -> tensor<1x8x4x4xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<8x8x3x3xi8>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<8xi32>
  %c = "qnn.conv2d_fused"(%x, %w, %b) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW", epilogue = "requantize", multiplier = array<i32: 1707411548>, shift = array<i32: 33>, residual_multiplier = array<i32>, residual_shift = array<i32>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -32768, 32767>, relu = true, then_multiplier = array<i32: 1297154756>, then_shift = array<i32: 41>, then_rounding = "half_to_even", then_zero_point = 0 : i64, then_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 1, 0>} : (tensor<1x8x4x4xi8>, tensor<8x8x3x3xi8>, tensor<8xi32>) -> tensor<1x8x4x4xui4>
  return %c : tensor<1x8x4x4xui4>
}

// CHECK-LABEL: func.func @fused_requantize_no_bias
func.func @fused_requantize_no_bias(%x: tensor<1x8x4x4xui4>) -> tensor<1x8x4x4xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<8x8x3x3xi4>
  // CHECK: "qnn.conv2d_fused"(%{{.*}}, %{{.*}}) {clamp = array<i64: 0, 15>, epilogue = "requantize"
  %c = "qnn.conv2d_fused"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW", epilogue = "requantize", multiplier = array<i32: 1073741824>, shift = array<i32: 34>, residual_multiplier = array<i32>, residual_shift = array<i32>, zero_point = 0 : i64, rounding = "half_up", clamp = array<i64: 0, 15>, relu = false, operandSegmentSizes = array<i32: 1, 1, 0, 0>} : (tensor<1x8x4x4xui4>, tensor<8x8x3x3xi4>) -> tensor<1x8x4x4xui4>
  return %c : tensor<1x8x4x4xui4>
}

// The ONNX Runtime forms: quantize dividing with a zero point, a conv padding with the input's
// zero point, f32 requantize rounding, an average pool's window sum.
// CHECK-LABEL: func.func @onnx_forms
func.func @onnx_forms(%x: tensor<1x3x8x8xf32>) -> tensor<1x4x1x1xi32> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<4x3x3x3xi8>
  // CHECK: "qnn.quantize"(%{{.*}}) {layout = "NCHW", mode = "divide", scale = 5.000000e-01 : f32, zero_point = -2 : i64}
  %q = "qnn.quantize"(%x) {layout = "NCHW", mode = "divide", scale = 0.5 : f32, zero_point = -2 : i64} : (tensor<1x3x8x8xf32>) -> tensor<1x3x8x8xi8>
  // CHECK: "qnn.conv2d"(%{{.*}}, %{{.*}}) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 1, 1, 1, 1>, padding_value = -2 : i64, strides = array<i64: 1, 1>}
  %c = "qnn.conv2d"(%q, %w) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 1, 1, 1, 1>, padding_value = -2 : i64, strides = array<i64: 1, 1>} : (tensor<1x3x8x8xi8>, tensor<4x3x3x3xi8>) -> tensor<1x4x8x8xi32>
  // CHECK: "qnn.requantize"(%{{.*}}) {clamp = array<i64: 0, 255>, layout = "NCHW", multiplier = array<i32: 13421773>, rounding = "f32_half_to_even", shift = array<i32: 30>, zero_point = 3 : i64}
  %r = "qnn.requantize"(%c) {clamp = array<i64: 0, 255>, layout = "NCHW", multiplier = array<i32: 13421773>, rounding = "f32_half_to_even", shift = array<i32: 30>, zero_point = 3 : i64} : (tensor<1x4x8x8xi32>) -> tensor<1x4x8x8xui8>
  // CHECK: "qnn.add"(%{{.*}}, %{{.*}}) {bias = -3.500000e+00 : f32, clamp = array<i64: 0, 255>, layout = "NCHW", lhs_multiplier = array<i32: 3>, lhs_shift = array<i32: 2>, rhs_multiplier = array<i32: 1>, rhs_shift = array<i32: 1>, rounding = "f32_fma"}
  %r2 = "qnn.add"(%r, %r) {bias = -3.5 : f32, clamp = array<i64: 0, 255>, layout = "NCHW", lhs_multiplier = array<i32: 3>, lhs_shift = array<i32: 2>, rhs_multiplier = array<i32: 1>, rhs_shift = array<i32: 1>, rounding = "f32_fma"} : (tensor<1x4x8x8xui8>, tensor<1x4x8x8xui8>) -> tensor<1x4x8x8xui8>
  // ONNX Runtime's add of a per-channel constant: round_half_even(fma(f32(x), s, offset[c]))
  // CHECK: "qnn.requantize"(%{{.*}}) {clamp = array<i64: 0, 255>, layout = "NCHW", multiplier = array<i32: 12582912>, offset = array<f32: 2.500000e-01, -1.500000e+00, 3.000000e+00, 0.000000e+00>, rounding = "f32_fma", shift = array<i32: 24>, zero_point = 0 : i64}
  %r3 = "qnn.requantize"(%r2) {clamp = array<i64: 0, 255>, layout = "NCHW", multiplier = array<i32: 12582912>, offset = array<f32: 0.25, -1.5, 3.0, 0.0>, rounding = "f32_fma", shift = array<i32: 24>, zero_point = 0 : i64} : (tensor<1x4x8x8xui8>) -> tensor<1x4x8x8xui8>
  // CHECK: "qnn.avg_pool2d"(%{{.*}}) {divisor = 1 : i64, kernel = array<i64: 8, 8>, layout = "NCHW", padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>}
  %s = "qnn.avg_pool2d"(%r3) {divisor = 1 : i64, kernel = array<i64: 8, 8>, layout = "NCHW", padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x4x8x8xui8>) -> tensor<1x4x1x1xi32>
  return %s : tensor<1x4x1x1xi32>
}

// Depthwise (groups = channels) and grouped convs.
// CHECK-LABEL: func.func @grouped
func.func @grouped(%x: tensor<2x8x6x6xui8>, %dw: tensor<8x1x3x3xi8>, %gw: tensor<4x2x1x1xi8>) -> tensor<2x4x6x6xi32> {
  // CHECK: "qnn.conv2d"(%{{.*}}, %{{.*}}) {groups = 8 : i64, kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>}
  %d = "qnn.conv2d"(%x, %dw) {groups = 8 : i64, kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<2x8x6x6xui8>, tensor<8x1x3x3xi8>) -> tensor<2x8x6x6xi32>
  %r = "qnn.requantize"(%d) {clamp = array<i64: 0, 255>, layout = "NCHW", multiplier = array<i32: 1073741824>, rounding = "half_to_even", shift = array<i32: 36>, zero_point = 0 : i64} : (tensor<2x8x6x6xi32>) -> tensor<2x8x6x6xui8>
  // CHECK: "qnn.conv2d"(%{{.*}}, %{{.*}}) {groups = 4 : i64, kernel_layout = "OIHW"
  %g = "qnn.conv2d"(%r, %gw) {groups = 4 : i64, kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<2x8x6x6xui8>, tensor<4x2x1x1xi8>) -> tensor<2x4x6x6xi32>
  return %g : tensor<2x4x6x6xi32>
}

// CHECK-LABEL: func.func @concat
func.func @concat(%a: tensor<2x4x3x5xui4>, %b: tensor<2x4x3x3xui4>) -> tensor<2x4x3x8xui4> {
  // CHECK: "qnn.concat"(%{{.*}}, %{{.*}}) {layout = "NHWC"} : (tensor<2x4x3x5xui4>, tensor<2x4x3x3xui4>) -> tensor<2x4x3x8xui4>
  %y = "qnn.concat"(%a, %b) {layout = "NHWC"} : (tensor<2x4x3x5xui4>, tensor<2x4x3x3xui4>) -> tensor<2x4x3x8xui4>
  return %y : tensor<2x4x3x8xui4>
}

// CHECK-LABEL: func.func @mul_and_lookup
func.func @mul_and_lookup(%x: tensor<2x4x3x3xi8>, %s: tensor<2x4x1x1xui8>, %u: tensor<1x8xui4>) -> (tensor<2x4x3x3xi32>, tensor<1x8xi8>) {
  // CHECK: "qnn.mul"(%{{.*}}, %{{.*}}) {layout = "NCHW"} : (tensor<2x4x3x3xi8>, tensor<2x4x1x1xui8>) -> tensor<2x4x3x3xi32>
  %m = "qnn.mul"(%x, %s) {layout = "NCHW"} : (tensor<2x4x3x3xi8>, tensor<2x4x1x1xui8>) -> tensor<2x4x3x3xi32>
  // CHECK: "qnn.lookup"(%{{.*}}) {layout = "NC", table = array<i32: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, -128>} : (tensor<1x8xui4>) -> tensor<1x8xi8>
  %l = "qnn.lookup"(%u) {layout = "NC", table = array<i32: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, -128>} : (tensor<1x8xui4>) -> tensor<1x8xi8>
  return %m, %l : tensor<2x4x3x3xi32>, tensor<1x8xi8>
}

// CHECK-LABEL: func.func @lookup_per_channel
func.func @lookup_per_channel(%u: tensor<1x2xui4>) -> tensor<1x2xi8> {
  // CHECK: "qnn.lookup"(%{{.*}}) {layout = "NC", table = array<i32: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, -16, -15, -14, -13, -12, -11, -10, -9, -8, -7, -6, -5, -4, -3, -2, -1>} : (tensor<1x2xui4>) -> tensor<1x2xi8>
  %l = "qnn.lookup"(%u) {layout = "NC", table = array<i32: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, -16, -15, -14, -13, -12, -11, -10, -9, -8, -7, -6, -5, -4, -3, -2, -1>} : (tensor<1x2xui4>) -> tensor<1x2xi8>
  return %l : tensor<1x2xi8>
}
