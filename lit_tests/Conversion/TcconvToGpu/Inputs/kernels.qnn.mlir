// qnn source of the kernels.mlir inputs (Inputs/regen.sh lowers it to tcconv per target).
func.func @requant_u4(%x: tensor<2x16x4x4xi32>) -> tensor<2x16x4x4xui4> {
  %u = "qnn.requantize"(%x) {multiplier = array<i32: 1073741824, 1073741825, 1073741826, 1073741827, 1073741828, 1073741829, 1073741830, 1073741831, 1073741832, 1073741833, 1073741834, 1073741835, 1073741836, 1073741837, 1073741838, 1073741839>, shift = array<i32: 33, 33, 33, 33, 33, 33, 33, 33, 34, 34, 34, 34, 34, 34, 34, 34>, clamp = array<i64: 0, 15>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<2x16x4x4xi32>) -> tensor<2x16x4x4xui4>
  return %u : tensor<2x16x4x4xui4>
}

// -----

func.func @conv_u4_direct(%x: tensor<16x64x8x8xui4>) -> tensor<16x64x8x8xi32> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<64x64x3x3xi4>
  %c = "qnn.conv2d"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<16x64x8x8xui4>, tensor<64x64x3x3xi4>) -> tensor<16x64x8x8xi32>
  return %c : tensor<16x64x8x8xi32>
}

// -----

func.func @max_pool_u4(%x: tensor<1x16x8x8xui4>) -> tensor<1x16x4x4xui4> {
  %p = "qnn.max_pool2d"(%x) {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW"} : (tensor<1x16x8x8xui4>) -> tensor<1x16x4x4xui4>
  return %p : tensor<1x16x4x4xui4>
}

// -----

func.func @avg_pool_i32(%x: tensor<2x12x7x7xi32>) -> tensor<2x12x1x1xi32> {
  %p = "qnn.avg_pool2d"(%x) {kernel = array<i64: 7, 7>, strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW"} : (tensor<2x12x7x7xi32>) -> tensor<2x12x1x1xi32>
  return %p : tensor<2x12x1x1xi32>
}

// -----

func.func @quantize_dense_dequantize(%x: tensor<4x20xf32>) -> tensor<4x10xf32> {
  %q = "qnn.quantize"(%x) {scale = 0x3C000000 : f32, layout = "NC"} : (tensor<4x20xf32>) -> tensor<4x20xi8>
  %w = "qnn.weight"() {name = "fc.w"} : () -> tensor<10x20xi8>
  %b = "qnn.weight"() {name = "fc.b"} : () -> tensor<10xi32>
  %d = "qnn.dense"(%q, %w, %b) : (tensor<4x20xi8>, tensor<10x20xi8>, tensor<10xi32>) -> tensor<4x10xi32>
  %y = "qnn.dequantize"(%d) {scale = array<f32: 1.250000e-01>, layout = "NC"} : (tensor<4x10xi32>) -> tensor<4x10xf32>
  return %y : tensor<4x10xf32>
}

// -----

func.func @dense_dequantize_per_channel(%x: tensor<4x20xi8>) -> tensor<4x3xf32> {
  %w = "qnn.weight"() {name = "fc.w"} : () -> tensor<3x20xi8>
  %d = "qnn.dense"(%x, %w) : (tensor<4x20xi8>, tensor<3x20xi8>) -> tensor<4x3xi32>
  %y = "qnn.dequantize"(%d) {scale = array<f32: 1.0e-5, 0.25, 0.125>, layout = "NC"} : (tensor<4x3xi32>) -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}

// -----

func.func @dequantize_kernels(%x: tensor<4x20xi8>, %m: tensor<2x3x4x4xi8>) -> (tensor<4x3xi32>, tensor<4x3xf32>, tensor<2x3x4x4xf32>) {
  %w = "qnn.weight"() {name = "fc.w"} : () -> tensor<3x20xi8>
  %d = "qnn.dense"(%x, %w) : (tensor<4x20xi8>, tensor<3x20xi8>) -> tensor<4x3xi32>
  %y = "qnn.dequantize"(%d) {scale = array<f32: 0.5, 0.25, 0.125>, layout = "NC"} : (tensor<4x3xi32>) -> tensor<4x3xf32>
  %z = "qnn.dequantize"(%m) {scale = array<f32: 0.5, 0.25, 0.125>, layout = "NCHW"} : (tensor<2x3x4x4xi8>) -> tensor<2x3x4x4xf32>
  return %d, %y, %z : tensor<4x3xi32>, tensor<4x3xf32>, tensor<2x3x4x4xf32>
}

// -----

func.func @fused_requantize_u4(%x: tensor<1x16x6x6xui4>) -> tensor<1x16x3x3xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<16x16x3x3xi4>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<16xi32>
  %c = "qnn.conv2d_fused"(%x, %w, %b) {strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW", epilogue = "requantize", multiplier = array<i32: 1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1200000000>, shift = array<i32: 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 35>, residual_multiplier = array<i32>, residual_shift = array<i32>, zero_point = 0 : i64, rounding = "half_up", clamp = array<i64: 0, 15>, relu = false, operandSegmentSizes = array<i32: 1, 1, 1, 0>} : (tensor<1x16x6x6xui4>, tensor<16x16x3x3xi4>, tensor<16xi32>) -> tensor<1x16x3x3xui4>
  return %c : tensor<1x16x3x3xui4>
}

// -----

func.func @fused_residual_i32(%x: tensor<1x8x4x4xui4>, %id: tensor<1x8x4x4xi32>) -> tensor<1x8x4x4xi32> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<8x8x3x3xi4>
  %c = "qnn.conv2d_fused"(%x, %w, %id) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 20>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = true, operandSegmentSizes = array<i32: 1, 1, 0, 1>} : (tensor<1x8x4x4xui4>, tensor<8x8x3x3xi4>, tensor<1x8x4x4xi32>) -> tensor<1x8x4x4xi32>
  return %c : tensor<1x8x4x4xi32>
}

// -----

func.func @second_output_o16(%x: tensor<2x8x4x4xui4>, %id: tensor<2x16x4x4xi32>) -> (tensor<2x16x4x4xi32>, tensor<2x16x4x4xui4>) {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<16x8x3x3xi4>
  %c:2 = "qnn.conv2d_fused"(%x, %w, %id) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 20>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = false, second_multiplier = array<i32: 1342218220>, second_shift = array<i32: 39>, second_rounding = "half_up", second_zero_point = 0 : i64, second_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 0, 1>} : (tensor<2x8x4x4xui4>, tensor<16x8x3x3xi4>, tensor<2x16x4x4xi32>) -> (tensor<2x16x4x4xi32>, tensor<2x16x4x4xui4>)
  return %c#0, %c#1 : tensor<2x16x4x4xi32>, tensor<2x16x4x4xui4>
}

// -----

func.func @second_output_o12(%x: tensor<2x8x4x4xui4>, %id: tensor<2x12x4x4xi32>) -> (tensor<2x12x4x4xi32>, tensor<2x12x4x4xui4>) {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<12x8x3x3xi4>
  %c:2 = "qnn.conv2d_fused"(%x, %w, %id) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 20>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = false, second_multiplier = array<i32: 1342218220>, second_shift = array<i32: 39>, second_rounding = "half_up", second_zero_point = 0 : i64, second_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 0, 1>} : (tensor<2x8x4x4xui4>, tensor<12x8x3x3xi4>, tensor<2x12x4x4xi32>) -> (tensor<2x12x4x4xi32>, tensor<2x12x4x4xui4>)
  return %c#0, %c#1 : tensor<2x12x4x4xi32>, tensor<2x12x4x4xui4>
}

// -----

func.func @same_shape_convs(%x: tensor<1x16x6x6xui4>) -> tensor<1x16x6x6xui4> {
  %w1 = "qnn.weight"() {name = "w1"} : () -> tensor<16x16x3x3xi4>
  %b1 = "qnn.weight"() {name = "b1"} : () -> tensor<16xi32>
  %w2 = "qnn.weight"() {name = "w2"} : () -> tensor<16x16x3x3xi4>
  %b2 = "qnn.weight"() {name = "b2"} : () -> tensor<16xi32>
  %c1 = "qnn.conv2d_fused"(%x, %w1, %b1) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW", epilogue = "requantize", multiplier = array<i32: 1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1200000000>, shift = array<i32: 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 35>, residual_multiplier = array<i32>, residual_shift = array<i32>, zero_point = 0 : i64, rounding = "half_up", clamp = array<i64: 0, 15>, relu = false, operandSegmentSizes = array<i32: 1, 1, 1, 0>} : (tensor<1x16x6x6xui4>, tensor<16x16x3x3xi4>, tensor<16xi32>) -> tensor<1x16x6x6xui4>
  %c2 = "qnn.conv2d_fused"(%c1, %w2, %b2) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW", epilogue = "requantize", multiplier = array<i32: 1100000000, 1100000000, 1100000000, 1100000000, 1100000000, 1100000000, 1100000000, 1100000000, 1100000000, 1100000000, 1100000000, 1100000000, 1100000000, 1100000000, 1100000000, 1300000000>, shift = array<i32: 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 34, 35>, residual_multiplier = array<i32>, residual_shift = array<i32>, zero_point = 0 : i64, rounding = "half_up", clamp = array<i64: 0, 15>, relu = false, operandSegmentSizes = array<i32: 1, 1, 1, 0>} : (tensor<1x16x6x6xui4>, tensor<16x16x3x3xi4>, tensor<16xi32>) -> tensor<1x16x6x6xui4>
  return %c2 : tensor<1x16x6x6xui4>
}
