// qnn source of the widened.mlir inputs (regen.sh lowers it to tcconv for sm_90a with
// kernel=wgmma weights=widened).
func.func @conv_u4_widened(%x: tensor<16x64x16x16xui4>) -> tensor<16x256x16x16xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<256x64x3x3xi4>
  %c = "qnn.conv2d_fused"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW", epilogue = "requantize", multiplier = array<i32: 1073741824>, shift = array<i32: 34>, residual_multiplier = array<i32>, residual_shift = array<i32>, clamp = array<i64: 0, 15>, relu = false, zero_point = 0 : i64, rounding = "half_to_even", operandSegmentSizes = array<i32: 1, 1, 0, 0>} : (tensor<16x64x16x16xui4>, tensor<256x64x3x3xi4>) -> tensor<16x256x16x16xui4>
  return %c : tensor<16x256x16x16xui4>
}

// -----

func.func @long_k_odd_channels(%x: tensor<2x256x7x7xui4>) -> tensor<2x40x7x7xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<40x256x3x3xi4>
  %c = "qnn.conv2d_fused"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW", epilogue = "requantize", multiplier = array<i32: 1073741824>, shift = array<i32: 34>, residual_multiplier = array<i32>, residual_shift = array<i32>, clamp = array<i64: 0, 15>, relu = false, zero_point = 0 : i64, rounding = "half_to_even", operandSegmentSizes = array<i32: 1, 1, 0, 0>} : (tensor<2x256x7x7xui4>, tensor<40x256x3x3xi4>) -> tensor<2x40x7x7xui4>
  return %c : tensor<2x40x7x7xui4>
}

// -----

func.func @shortcut_weight_packed(%x: tensor<2x64x5x5xui4>, %y: tensor<2x32x10x10xui4>) -> tensor<2x16x5x5xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<16x64x1x1xi4>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<16xi32>
  %sw = "qnn.weight"() {name = "sw"} : () -> tensor<16x32x1x1xi4>
  %sb = "qnn.weight"() {name = "sb"} : () -> tensor<16xi32>
  %s = "qnn.conv2d"(%y, %sw, %sb) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<2x32x10x10xui4>, tensor<16x32x1x1xi4>, tensor<16xi32>) -> tensor<2x16x5x5xi32>
  %r = "qnn.conv2d_fused"(%x, %w, %b, %s) {clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", kernel_layout = "OIHW", layout = "NCHW", multiplier = array<i32: 1207959552>, operandSegmentSizes = array<i32: 1, 1, 1, 1>, padding = array<i64: 0, 0, 0, 0>, relu = true, residual_multiplier = array<i32: 1610612736>, residual_shift = array<i32: 31>, rounding = "half_to_even", shift = array<i32: 31>, strides = array<i64: 1, 1>, then_clamp = array<i64: 0, 15>, then_multiplier = array<i32: 1315059792>, then_rounding = "half_to_even", then_shift = array<i32: 36>, then_zero_point = 0 : i64, zero_point = 0 : i64} : (tensor<2x64x5x5xui4>, tensor<16x64x1x1xi4>, tensor<16xi32>, tensor<2x16x5x5xi32>) -> tensor<2x16x5x5xui4>
  return %r : tensor<2x16x5x5xui4>
}

// -----

func.func @conv_u8_keeps_its_weight(%x: tensor<8x64x14x14xui8>) -> tensor<8x128x14x14xui8> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<128x64x3x3xi8>
  %c = "qnn.conv2d_fused"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW", epilogue = "requantize", multiplier = array<i32: 1073741824>, shift = array<i32: 34>, residual_multiplier = array<i32>, residual_shift = array<i32>, clamp = array<i64: 0, 255>, relu = false, zero_point = 0 : i64, rounding = "half_to_even", operandSegmentSizes = array<i32: 1, 1, 0, 0>} : (tensor<8x64x14x14xui8>, tensor<128x64x3x3xi8>) -> tensor<8x128x14x14xui8>
  return %c : tensor<8x128x14x14xui8>
}
