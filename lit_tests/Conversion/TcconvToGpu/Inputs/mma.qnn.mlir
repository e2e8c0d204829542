// qnn source of the mma.mlir inputs (Inputs/regen.sh lowers it to tcconv per target).
func.func @conv_u4_mma(%x: tensor<16x64x16x16xui4>) -> tensor<16x256x16x16xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<256x64x3x3xi4>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<256xi32>
  %c = "qnn.conv2d_fused"(%x, %w, %b) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW", epilogue = "requantize", multiplier = array<i32: 1073741824>, shift = array<i32: 34>, residual_multiplier = array<i32>, residual_shift = array<i32>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: 0, 15>, relu = false, operandSegmentSizes = array<i32: 1, 1, 1, 0>} : (tensor<16x64x16x16xui4>, tensor<256x64x3x3xi4>, tensor<256xi32>) -> tensor<16x256x16x16xui4>
  return %c : tensor<16x256x16x16xui4>
}

// -----

func.func @late_layer_split_k(%x: tensor<1x512x7x7xui4>) -> tensor<1x512x7x7xi32> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<512x512x3x3xi4>
  %c = "qnn.conv2d"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<1x512x7x7xui4>, tensor<512x512x3x3xi4>) -> tensor<1x512x7x7xi32>
  return %c : tensor<1x512x7x7xi32>
}

// -----

func.func @stem_taps_along_k(%x: tensor<1x3x32x32xi8>) -> tensor<1x64x16x16xi32> {
  %w = "qnn.weight"() {name = "stem"} : () -> tensor<64x3x7x7xi8>
  %c = "qnn.conv2d"(%x, %w) {strides = array<i64: 2, 2>, padding = array<i64: 3, 3, 3, 3>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<1x3x32x32xi8>, tensor<64x3x7x7xi8>) -> tensor<1x64x16x16xi32>
  return %c : tensor<1x64x16x16xi32>
}

// -----

func.func @stem_then_requantize(%x: tensor<1x3x32x32xi8>) -> tensor<1x64x16x16xui4> {
  %w = "qnn.weight"() {name = "stem"} : () -> tensor<64x3x7x7xi8>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<64xi32>
  %c = "qnn.conv2d_fused"(%x, %w, %b) {strides = array<i64: 2, 2>, padding = array<i64: 3, 3, 3, 3>, layout = "NCHW", kernel_layout = "OIHW", epilogue = "requantize", multiplier = array<i32: 1707411548>, shift = array<i32: 33>, residual_multiplier = array<i32>, residual_shift = array<i32>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -32768, 32767>, relu = true, then_multiplier = array<i32: 1297154756>, then_shift = array<i32: 41>, then_rounding = "half_to_even", then_zero_point = 0 : i64, then_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 1, 0>} : (tensor<1x3x32x32xi8>, tensor<64x3x7x7xi8>, tensor<64xi32>) -> tensor<1x64x16x16xui4>
  return %c : tensor<1x64x16x16xui4>
}
