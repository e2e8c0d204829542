// qnn source of the staged.mlir inputs (Inputs/regen.sh lowers it to tcconv per target).
func.func @conv_u4_staged(%x: tensor<16x64x16x16xui4>) -> tensor<16x256x16x16xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<256x64x3x3xi4>
  %c = "qnn.conv2d_fused"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW", epilogue = "requantize", multiplier = array<i32: 1073741824>, shift = array<i32: 34>, residual_multiplier = array<i32>, residual_shift = array<i32>, clamp = array<i64: 0, 15>, relu = false, zero_point = 0 : i64, rounding = "half_to_even", operandSegmentSizes = array<i32: 1, 1, 0, 0>} : (tensor<16x64x16x16xui4>, tensor<256x64x3x3xi4>) -> tensor<16x256x16x16xui4>
  return %c : tensor<16x256x16x16xui4>
}

// -----

func.func @sliced_k(%x: tensor<1x256x14x14xui4>) -> tensor<1x256x14x14xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<256x256x3x3xi4>
  %c = "qnn.conv2d_fused"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW", epilogue = "requantize", multiplier = array<i32: 1073741824>, shift = array<i32: 34>, residual_multiplier = array<i32>, residual_shift = array<i32>, clamp = array<i64: 0, 15>, relu = false, zero_point = 0 : i64, rounding = "half_to_even", operandSegmentSizes = array<i32: 1, 1, 0, 0>} : (tensor<1x256x14x14xui4>, tensor<256x256x3x3xi4>) -> tensor<1x256x14x14xui4>
  return %c : tensor<1x256x14x14xui4>
}

// -----

func.func @stem_not_staged(%x: tensor<16x3x32x32xi8>) -> tensor<16x64x16x16xi32> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<64x3x7x7xi8>
  %c = "qnn.conv2d"(%x, %w) {strides = array<i64: 2, 2>, padding = array<i64: 3, 3, 3, 3>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<16x3x32x32xi8>, tensor<64x3x7x7xi8>) -> tensor<16x64x16x16xi32>
  return %c : tensor<16x64x16x16xi32>
}

// -----

func.func @residual_second_output(%x: tensor<16x16x16x64xui4>, %id: tensor<16x16x16x256xi32>) -> (tensor<16x16x16x256xi32>, tensor<16x16x16x256xui4>) {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<256x64x1x1xi4>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<256xi32>
  %c:2 = "qnn.conv2d_fused"(%x, %w, %b, %id) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NHWC", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 20>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = true, second_multiplier = array<i32: 1342218220>, second_shift = array<i32: 39>, second_rounding = "half_up", second_zero_point = 0 : i64, second_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 1, 1>} : (tensor<16x16x16x64xui4>, tensor<256x64x1x1xi4>, tensor<256xi32>, tensor<16x16x16x256xi32>) -> (tensor<16x16x16x256xi32>, tensor<16x16x16x256xui4>)
  return %c#0, %c#1 : tensor<16x16x16x256xi32>, tensor<16x16x16x256xui4>
}

// -----

func.func @conv_u8_pairs(%x: tensor<8x64x14x14xui8>) -> tensor<8x128x14x14xui8> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<128x64x3x3xi8>
  %c = "qnn.conv2d_fused"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW", epilogue = "requantize", multiplier = array<i32: 1073741824>, shift = array<i32: 38>, residual_multiplier = array<i32>, residual_shift = array<i32>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: 0, 255>, relu = false, operandSegmentSizes = array<i32: 1, 1, 0, 0>} : (tensor<8x64x14x14xui8>, tensor<128x64x3x3xi8>) -> tensor<8x128x14x14xui8>
  return %c : tensor<8x128x14x14xui8>
}

// -----

func.func @cluster_k(%x: tensor<1x512x7x7xui4>) -> tensor<1x512x7x7xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<512x512x3x3xi4>
  %c = "qnn.conv2d_fused"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW", epilogue = "requantize", multiplier = array<i32: 1073741824>, shift = array<i32: 34>, residual_multiplier = array<i32>, residual_shift = array<i32>, clamp = array<i64: 0, 15>, relu = false, zero_point = 0 : i64, rounding = "half_to_even", operandSegmentSizes = array<i32: 1, 1, 0, 0>} : (tensor<1x512x7x7xui4>, tensor<512x512x3x3xi4>) -> tensor<1x512x7x7xui4>
  return %c : tensor<1x512x7x7xui4>
}

// -----

func.func @residual_long_k(%x: tensor<16x16x16x512xui4>, %id: tensor<16x16x16x256xi32>) -> (tensor<16x16x16x256xi32>, tensor<16x16x16x256xui4>) {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<256x512x3x3xi4>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<256xi32>
  %c:2 = "qnn.conv2d_fused"(%x, %w, %b, %id) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NHWC", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 20>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = true, second_multiplier = array<i32: 1342218220>, second_shift = array<i32: 39>, second_rounding = "half_up", second_zero_point = 0 : i64, second_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 1, 1>} : (tensor<16x16x16x512xui4>, tensor<256x512x3x3xi4>, tensor<256xi32>, tensor<16x16x16x256xi32>) -> (tensor<16x16x16x256xi32>, tensor<16x16x16x256xui4>)
  return %c#0, %c#1 : tensor<16x16x16x256xi32>, tensor<16x16x16x256xui4>
}
