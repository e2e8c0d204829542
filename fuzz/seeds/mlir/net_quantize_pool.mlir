func.func @net(%x: tensor<1x8x8x8xf32>) -> tensor<1x8x4x4xf32> {
  %q = "qnn.quantize"(%x) {scale = 0x3E000000 : f32, layout = "NCHW"} : (tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xui4>
  %w1 = "qnn.weight"() {name = "w1"} : () -> tensor<8x8x3x3xi4>
  %b1 = "qnn.weight"() {name = "b1"} : () -> tensor<8xi32>
  %c1 = "qnn.conv2d"(%q, %w1, %b1) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<1x8x8x8xui4>, tensor<8x8x3x3xi4>, tensor<8xi32>) -> tensor<1x8x8x8xi32>
  %r1 = "qnn.requantize"(%c1) {multiplier = array<i32: 1073741824>, shift = array<i32: 36>, clamp = array<i64: 0, 15>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<1x8x8x8xi32>) -> tensor<1x8x8x8xui4>
  %m = "qnn.max_pool2d"(%r1) {kernel = array<i64: 2, 2>, layout = "NCHW", padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x8x8x8xui4>) -> tensor<1x8x4x4xui4>
  %o = "qnn.dequantize"(%m) {layout = "NCHW", scale = array<f32: 1.250000e-01>} : (tensor<1x8x4x4xui4>) -> tensor<1x8x4x4xf32>
  return %o : tensor<1x8x4x4xf32>
}
