// qnn source of the narrow16.mlir input of a long main loop (Inputs/regen.sh): a residual 1x1
// conv writes the stream (internal, narrow16) that a 3 x 3 residual conv of 64 channels (K of
// 9 x 32 bytes: many K blocks) reads.
func.func @long_k(%x: tensor<2x8x8x64xui4>, %id: tensor<2x8x8x64xi32>) -> tensor<2x8x8x64xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<64x64x1x1xi4>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<64xi32>
  %c:2 = "qnn.conv2d_fused"(%x, %w, %b, %id) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NHWC", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 20>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = true, second_multiplier = array<i32: 1342218220>, second_shift = array<i32: 39>, second_rounding = "half_to_even", second_zero_point = 0 : i64, second_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 1, 1>} : (tensor<2x8x8x64xui4>, tensor<64x64x1x1xi4>, tensor<64xi32>, tensor<2x8x8x64xi32>) -> (tensor<2x8x8x64xi32>, tensor<2x8x8x64xui4>)
  %w2 = "qnn.weight"() {name = "w2"} : () -> tensor<64x64x3x3xi4>
  %b2 = "qnn.weight"() {name = "b2"} : () -> tensor<64xi32>
  %d:2 = "qnn.conv2d_fused"(%c#1, %w2, %b2, %c#0) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NHWC", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 20>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = true, second_multiplier = array<i32: 1342218220>, second_shift = array<i32: 39>, second_rounding = "half_to_even", second_zero_point = 0 : i64, second_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 1, 1>} : (tensor<2x8x8x64xui4>, tensor<64x64x3x3xi4>, tensor<64xi32>, tensor<2x8x8x64xi32>) -> (tensor<2x8x8x64xi32>, tensor<2x8x8x64xui4>)
  return %d#1 : tensor<2x8x8x64xui4>
}
