// A 3-channel stem (7 x 7 / 2, requantized to 4 bits) and its 3 x 3 / 2 max pool: with
// maxpool=stem one tcconv.conv2d writes the pooled map (stem-pool.mlir).
func.func @stem_pool(%x: tensor<1x39x39x3xi8>) -> tensor<1x10x10x16xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<16x3x7x7xi8>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<16xi32>
  %y = "qnn.conv2d_fused"(%x, %w, %b) {clamp = array<i64: 0, 15>, epilogue = "requantize", kernel_layout = "OIHW", layout = "NHWC", multiplier = array<i32: 1518500250>, operandSegmentSizes = array<i32: 1, 1, 1, 0>, padding = array<i64: 3, 3, 3, 3>, relu = true, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 40>, strides = array<i64: 2, 2>, zero_point = 0 : i64} : (tensor<1x39x39x3xi8>, tensor<16x3x7x7xi8>, tensor<16xi32>) -> tensor<1x20x20x16xui4>
  %p = "qnn.max_pool2d"(%y) {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, layout = "NHWC"} : (tensor<1x20x20x16xui4>) -> tensor<1x10x10x16xui4>
  return %p : tensor<1x10x10x16xui4>
}
