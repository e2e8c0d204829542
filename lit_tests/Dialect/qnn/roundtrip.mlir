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

// ONNX Runtime's QLinearAveragePool: an f32 average of the dequantized taps, quantized.
// CHECK-LABEL: func.func @f32_average
func.func @f32_average(%x: tensor<2x4x9x9xui8>) -> tensor<2x4x5x5xi8> {
  // CHECK: "qnn.avg_pool2d_f32"(%{{.*}}) {count_include_pad = true, input_scale = 2.500000e-02 : f32, input_zero_point = 128 : i64, kernel = array<i64: 3, 3>, layout = "NCHW", output_scale = 1.250000e-02 : f32, output_zero_point = -3 : i64, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<2x4x9x9xui8>) -> tensor<2x4x5x5xi8>
  %y = "qnn.avg_pool2d_f32"(%x) {count_include_pad = true, input_scale = 0.025 : f32, input_zero_point = 128 : i64, kernel = array<i64: 3, 3>, layout = "NCHW", output_scale = 0.0125 : f32, output_zero_point = -3 : i64, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<2x4x9x9xui8>) -> tensor<2x4x5x5xi8>
  return %y : tensor<2x4x5x5xi8>
}

// ONNX Runtime's QLinearSoftmax over each row: an exponential table, f32 row sums.
// CHECK-LABEL: func.func @softmax
func.func @softmax(%x: tensor<3x10xi8>) -> tensor<3x10xui8> {
  // CHECK: "qnn.softmax"(%{{.*}}) {layout = "NC", scale = 2.560000e+02 : f32, table = array<f32: {{.*}}>, zero_point = 0 : i64} : (tensor<3x10xi8>) -> tensor<3x10xui8>
  %y = "qnn.softmax"(%x) {layout = "NC", scale = 256.0 : f32, table = array<f32: 2.902320e-06, 3.051126e-06, 3.207560e-06, 3.372015e-06, 3.544902e-06, 3.726653e-06, 3.917723e-06, 4.118589e-06, 4.329753e-06, 4.551744e-06, 4.785117e-06, 5.030456e-06, 5.288373e-06, 5.559513e-06, 5.844556e-06, 6.144212e-06, 6.459233e-06, 6.790405e-06, 7.138556e-06, 7.504558e-06, 7.889325e-06, 8.293819e-06, 8.719052e-06, 9.166088e-06, 9.636043e-06, 1.013009e-05, 1.064947e-05, 1.119548e-05, 1.176949e-05, 1.237292e-05, 1.300730e-05, 1.367420e-05, 1.437529e-05, 1.511232e-05, 1.588715e-05, 1.670170e-05, 1.755802e-05, 1.845823e-05, 1.940461e-05, 2.039950e-05, 2.144541e-05, 2.254494e-05, 2.370084e-05, 2.491601e-05, 2.619348e-05, 2.753645e-05, 2.894827e-05, 3.043248e-05, 3.199279e-05, 3.363310e-05, 3.535750e-05, 3.717032e-05, 3.907608e-05, 4.107956e-05, 4.318575e-05, 4.539993e-05, 4.772763e-05, 5.017468e-05, 5.274719e-05, 5.545160e-05, 5.829466e-05, 6.128350e-05, 6.442557e-05, 6.772874e-05, 7.120126e-05, 7.485183e-05, 7.868957e-05, 8.272407e-05, 8.696542e-05, 9.142423e-05, 9.611165e-05, 1.010394e-04, 1.062198e-04, 1.116658e-04, 1.173910e-04, 1.234098e-04, 1.297372e-04, 1.363889e-04, 1.433817e-04, 1.507331e-04, 1.584613e-04, 1.665858e-04, 1.751268e-04, 1.841058e-04, 1.935451e-04, 2.034684e-04, 2.139004e-04, 2.248673e-04, 2.363965e-04, 2.485168e-04, 2.612586e-04, 2.746536e-04, 2.887354e-04, 3.035391e-04, 3.191019e-04, 3.354626e-04, 3.526622e-04, 3.707435e-04, 3.897520e-04, 4.097350e-04, 4.307425e-04, 4.528272e-04, 4.760441e-04, 5.004514e-04, 5.261101e-04, 5.530844e-04, 5.814416e-04, 6.112528e-04, 6.425924e-04, 6.755388e-04, 7.101744e-04, 7.465858e-04, 7.848641e-04, 8.251049e-04, 8.674090e-04, 9.118820e-04, 9.586352e-04, 1.007785e-03, 1.059456e-03, 1.113775e-03, 1.170880e-03, 1.230912e-03, 1.294022e-03, 1.360368e-03, 1.430116e-03, 1.503439e-03, 1.580522e-03, 1.661557e-03, 1.746747e-03, 1.836305e-03, 1.930454e-03, 2.029431e-03, 2.133482e-03, 2.242868e-03, 2.357862e-03, 2.478752e-03, 2.605841e-03, 2.739445e-03, 2.879899e-03, 3.027555e-03, 3.182781e-03, 3.345965e-03, 3.517517e-03, 3.697864e-03, 3.887457e-03, 4.086771e-03, 4.296305e-03, 4.516581e-03, 4.748151e-03, 4.991594e-03, 5.247518e-03, 5.516564e-03, 5.799405e-03, 6.096747e-03, 6.409333e-03, 6.737947e-03, 7.083409e-03, 7.446583e-03, 7.828378e-03, 8.229747e-03, 8.651695e-03, 9.095277e-03, 9.561602e-03, 1.005184e-02, 1.056720e-02, 1.110900e-02, 1.167857e-02, 1.227734e-02, 1.290681e-02, 1.356856e-02, 1.426423e-02, 1.499558e-02, 1.576442e-02, 1.657268e-02, 1.742237e-02, 1.831564e-02, 1.925470e-02, 2.024191e-02, 2.127974e-02, 2.237077e-02, 2.351775e-02, 2.472353e-02, 2.599113e-02, 2.732372e-02, 2.872464e-02, 3.019738e-02, 3.174564e-02, 3.337327e-02, 3.508435e-02, 3.688317e-02, 3.877421e-02, 4.076220e-02, 4.285213e-02, 4.504920e-02, 4.735892e-02, 4.978707e-02, 5.233971e-02, 5.502322e-02, 5.784432e-02, 6.081006e-02, 6.392786e-02, 6.720551e-02, 7.065121e-02, 7.427358e-02, 7.808167e-02, 8.208500e-02, 8.629359e-02, 9.071795e-02, 9.536916e-02, 1.002588e-01, 1.053992e-01, 1.108032e-01, 1.164842e-01, 1.224564e-01, 1.287349e-01, 1.353353e-01, 1.422741e-01, 1.495686e-01, 1.572372e-01, 1.652989e-01, 1.737739e-01, 1.826835e-01, 1.920499e-01, 2.018965e-01, 2.122480e-01, 2.231302e-01, 2.345703e-01, 2.465970e-01, 2.592403e-01, 2.725318e-01, 2.865048e-01, 3.011942e-01, 3.166368e-01, 3.328711e-01, 3.499377e-01, 3.678794e-01, 3.867410e-01, 4.065697e-01, 4.274149e-01, 4.493290e-01, 4.723666e-01, 4.965853e-01, 5.220458e-01, 5.488116e-01, 5.769498e-01, 6.065307e-01, 6.376282e-01, 6.703200e-01, 7.046881e-01, 7.408182e-01, 7.788008e-01, 8.187308e-01, 8.607080e-01, 9.048374e-01, 9.512294e-01, 1.000000e+00>, zero_point = 0 : i64} : (tensor<3x10xi8>) -> tensor<3x10xui8>
  return %y : tensor<3x10xui8>
}

// Channels gathered: a shuffle of 6 channels in 2 groups, then a slice of it.
// CHECK-LABEL: func.func @gathered
func.func @gathered(%x: tensor<2x6x3x3xui4>) -> tensor<2x2x3x3xui4> {
  // CHECK: "qnn.gather_channels"(%{{.*}}) {indices = array<i32: 0, 3, 1, 4, 2, 5>, layout = "NCHW"} : (tensor<2x6x3x3xui4>) -> tensor<2x6x3x3xui4>
  %s = "qnn.gather_channels"(%x) {indices = array<i32: 0, 3, 1, 4, 2, 5>, layout = "NCHW"} : (tensor<2x6x3x3xui4>) -> tensor<2x6x3x3xui4>
  // CHECK: "qnn.gather_channels"(%{{.*}}) {indices = array<i32: 4, 5>, layout = "NCHW"} : (tensor<2x6x3x3xui4>) -> tensor<2x2x3x3xui4>
  %h = "qnn.gather_channels"(%s) {indices = array<i32: 4, 5>, layout = "NCHW"} : (tensor<2x6x3x3xui4>) -> tensor<2x2x3x3xui4>
  return %h : tensor<2x2x3x3xui4>
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

// A quantize with float preprocessing: per-channel and one-value steps, constants on either
// side, printed in order and read back bit for bit.
// CHECK-LABEL: func.func @quantize_preprocessing
// CHECK: "qnn.quantize"(%{{.*}}) {layout = "NCHW", mode = "divide", pre = [{k = array<f32: 4.850000e-01, 4.560000e-01, 4.060000e-01>, op = "sub"}, {k = array<f32: 2.290000e-01, 2.240000e-01, 2.250000e-01>, op = "div"}, {k = array<f32: 1.000000e+00>, op = "rsub"}, {k = array<f32: 2.000000e+00>, op = "mul"}], scale = 1.860000e-02 : f32, zero_point = 114 : i64}
func.func @quantize_preprocessing(%x: tensor<1x3x8x8xf32>) -> tensor<1x3x8x8xui8> {
  %q = "qnn.quantize"(%x) {layout = "NCHW", mode = "divide", pre = [{op = "sub", k = array<f32: 0.485, 0.456, 0.406>}, {op = "div", k = array<f32: 0.229, 0.224, 0.225>}, {op = "rsub", k = array<f32: 1.0>}, {op = "mul", k = array<f32: 2.0>}], scale = 0.0186 : f32, zero_point = 114 : i64} : (tensor<1x3x8x8xf32>) -> tensor<1x3x8x8xui8>
  return %q : tensor<1x3x8x8xui8>
}
