// qnn source of the narrow16.mlir inputs (Inputs/regen.sh lowers it to tcconv per target): two
// residual 1x1 convs in a row; the first one's i32 sum is the residual stream the second reads
// (an internal buffer, stored narrow16), the second's sum is written and never read.
func.func @residual_stream(%x: tensor<2x16x16x64xui4>, %id: tensor<2x16x16x256xi32>) -> tensor<2x16x16x256xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<256x64x1x1xi4>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<256xi32>
  %c:2 = "qnn.conv2d_fused"(%x, %w, %b, %id) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NHWC", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 20>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = true, second_multiplier = array<i32: 1342218220>, second_shift = array<i32: 39>, second_rounding = "half_to_even", second_zero_point = 0 : i64, second_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 1, 1>} : (tensor<2x16x16x64xui4>, tensor<256x64x1x1xi4>, tensor<256xi32>, tensor<2x16x16x256xi32>) -> (tensor<2x16x16x256xi32>, tensor<2x16x16x256xui4>)
  %w2 = "qnn.weight"() {name = "w2"} : () -> tensor<256x256x1x1xi4>
  %b2 = "qnn.weight"() {name = "b2"} : () -> tensor<256xi32>
  %d:2 = "qnn.conv2d_fused"(%c#1, %w2, %b2, %c#0) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NHWC", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 20>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = true, second_multiplier = array<i32: 1342218220>, second_shift = array<i32: 39>, second_rounding = "half_to_even", second_zero_point = 0 : i64, second_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 1, 1>} : (tensor<2x16x16x256xui4>, tensor<256x256x1x1xi4>, tensor<256xi32>, tensor<2x16x16x256xi32>) -> (tensor<2x16x16x256xi32>, tensor<2x16x16x256xui4>)
  return %d#1 : tensor<2x16x16x256xui4>
}
