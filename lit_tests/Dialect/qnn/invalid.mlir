// RUN: nibble-opt %s --split-input-file --verify-diagnostics --pass-pipeline='builtin.module(qnn-verify)'

func.func @conv_channel_mismatch(%x: tensor<1x3x8x8xi8>, %w: tensor<4x5x3x3xi8>) -> tensor<1x4x6x6xi32> {
  // expected-error @+1 {{weight has 5 input channels (OIHW) but the input has 3 (NCHW)}}
  %0 = "qnn.conv2d"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<1x3x8x8xi8>, tensor<4x5x3x3xi8>) -> tensor<1x4x6x6xi32>
  return %0 : tensor<1x4x6x6xi32>
}

// -----

func.func @conv_wrong_result_shape(%x: tensor<1x3x8x8xi8>, %w: tensor<4x3x3x3xi8>) -> tensor<1x4x8x8xi32> {
  // expected-error @+1 {{result shape [1, 4, 8, 8] does not match the computed [1, 4, 6, 6]}}
  %0 = "qnn.conv2d"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<1x3x8x8xi8>, tensor<4x3x3x3xi8>) -> tensor<1x4x8x8xi32>
  return %0 : tensor<1x4x8x8xi32>
}

// -----

func.func @conv_zero_stride(%x: tensor<1x3x8x8xi8>, %w: tensor<4x3x3x3xi8>) -> tensor<1x4x6x6xi32> {
  // expected-error @+1 {{strides must be in [1, 1073741824], found [0, 1]}}
  %0 = "qnn.conv2d"(%x, %w) {strides = array<i64: 0, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<1x3x8x8xi8>, tensor<4x3x3x3xi8>) -> tensor<1x4x6x6xi32>
  return %0 : tensor<1x4x6x6xi32>
}

// -----

func.func @conv_three_strides(%x: tensor<1x3x8x8xi8>, %w: tensor<4x3x3x3xi8>) -> tensor<1x4x6x6xi32> {
  // expected-error @+1 {{attribute 'strides' must have 2 elements, found 3}}
  %0 = "qnn.conv2d"(%x, %w) {strides = array<i64: 1, 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<1x3x8x8xi8>, tensor<4x3x3x3xi8>) -> tensor<1x4x6x6xi32>
  return %0 : tensor<1x4x6x6xi32>
}

// -----

func.func @conv_f32_input(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xi8>) -> tensor<1x4x6x6xi32> {
  // expected-error @+1 {{input must be i4, ui4, i8 or ui8, found f32}}
  %0 = "qnn.conv2d"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xi8>) -> tensor<1x4x6x6xi32>
  return %0 : tensor<1x4x6x6xi32>
}

// -----

func.func @conv_bad_bias(%x: tensor<1x3x8x8xi8>, %w: tensor<4x3x3x3xi8>, %b: tensor<5xi32>) -> tensor<1x4x6x6xi32> {
  // expected-error @+1 {{bias must be tensor<4xi32>, found tensor<5xi32>}}
  %0 = "qnn.conv2d"(%x, %w, %b) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<1x3x8x8xi8>, tensor<4x3x3x3xi8>, tensor<5xi32>) -> tensor<1x4x6x6xi32>
  return %0 : tensor<1x4x6x6xi32>
}

// -----

func.func @conv_unknown_layout(%x: tensor<1x3x8x8xi8>, %w: tensor<4x3x3x3xi8>) -> tensor<1x4x6x6xi32> {
  // expected-error @+1 {{'"CHWN"' does not satisfy the constraint}}
  %0 = "qnn.conv2d"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "CHWN", kernel_layout = "OIHW"} : (tensor<1x3x8x8xi8>, tensor<4x3x3x3xi8>) -> tensor<1x4x6x6xi32>
  return %0 : tensor<1x4x6x6xi32>
}

// -----

func.func @requantize_channel_count(%x: tensor<1x4x2x2xi32>) -> tensor<1x4x2x2xui4> {
  // expected-error @+1 {{requantize has 3 per-channel entries, expected 1 or 4 (channels)}}
  %0 = "qnn.requantize"(%x) {multiplier = array<i32: 1, 2, 3>, shift = array<i32: 1, 2, 3>, clamp = array<i64: 0, 15>, zero_point = 0 : i64, rounding = "half_up", layout = "NCHW"} : (tensor<1x4x2x2xi32>) -> tensor<1x4x2x2xui4>
  return %0 : tensor<1x4x2x2xui4>
}

// -----

func.func @requantize_clamp_outside_type(%x: tensor<1x4x2x2xi32>) -> tensor<1x4x2x2xui4> {
  // expected-error @+1 {{clamp [0, 16] exceeds the ui4 range [0, 15]}}
  %0 = "qnn.requantize"(%x) {multiplier = array<i32: 1>, shift = array<i32: 1>, clamp = array<i64: 0, 16>, zero_point = 0 : i64, rounding = "half_up", layout = "NCHW"} : (tensor<1x4x2x2xi32>) -> tensor<1x4x2x2xui4>
  return %0 : tensor<1x4x2x2xui4>
}

// -----

func.func @requantize_shift_too_large(%x: tensor<1x4x2x2xi32>) -> tensor<1x4x2x2xui4> {
  // expected-error @+1 {{requantize shift 63 is outside [0, 62]}}
  %0 = "qnn.requantize"(%x) {multiplier = array<i32: 1>, shift = array<i32: 63>, clamp = array<i64: 0, 15>, zero_point = 0 : i64, rounding = "half_up", layout = "NCHW"} : (tensor<1x4x2x2xi32>) -> tensor<1x4x2x2xui4>
  return %0 : tensor<1x4x2x2xui4>
}

// -----

func.func @requantize_unknown_rounding(%x: tensor<1x4x2x2xi32>) -> tensor<1x4x2x2xui4> {
  // expected-error @+1 {{'"nearest"' does not satisfy the constraint}}
  %0 = "qnn.requantize"(%x) {multiplier = array<i32: 1>, shift = array<i32: 1>, clamp = array<i64: 0, 15>, zero_point = 0 : i64, rounding = "nearest", layout = "NCHW"} : (tensor<1x4x2x2xi32>) -> tensor<1x4x2x2xui4>
  return %0 : tensor<1x4x2x2xui4>
}

// -----

func.func @add_shape_mismatch(%a: tensor<1x4x2x2xi32>, %b: tensor<1x4x2x3xi32>) -> tensor<1x4x2x2xi32> {
  // expected-error @+1 {{rhs: shape [1, 4, 2, 3] does not match [1, 4, 2, 2]}}
  %0 = "qnn.add"(%a, %b) {lhs_multiplier = array<i32: 1>, lhs_shift = array<i32: 0>, rhs_multiplier = array<i32: 1>, rhs_shift = array<i32: 0>, clamp = array<i64: -100, 100>, rounding = "half_to_even", layout = "NCHW"} : (tensor<1x4x2x2xi32>, tensor<1x4x2x3xi32>) -> tensor<1x4x2x2xi32>
  return %0 : tensor<1x4x2x2xi32>
}

// -----

func.func @relu_changes_type(%a: tensor<1x4x2x2xi32>) -> tensor<1x4x2x2xi8> {
  // expected-error @+1 {{result type tensor<1x4x2x2xi8> must equal the input type tensor<1x4x2x2xi32>}}
  %0 = "qnn.relu"(%a) {layout = "NCHW"} : (tensor<1x4x2x2xi32>) -> tensor<1x4x2x2xi8>
  return %0 : tensor<1x4x2x2xi8>
}

// -----

func.func @pool_padding_too_large(%a: tensor<1x4x8x8xi8>) -> tensor<1x4x5x5xi8> {
  // expected-error @+1 {{padding [2, 2, 2, 2] must be smaller than the kernel [2, 2]}}
  %0 = "qnn.max_pool2d"(%a) {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, padding = array<i64: 2, 2, 2, 2>, layout = "NCHW"} : (tensor<1x4x8x8xi8>) -> tensor<1x4x5x5xi8>
  return %0 : tensor<1x4x5x5xi8>
}

// -----

func.func @avg_pool_narrow_result(%a: tensor<1x4x7x7xi32>) -> tensor<1x4x1x1xi8> {
  // expected-error @+1 {{avg_pool2d result i8 cannot hold every average of i32}}
  %0 = "qnn.avg_pool2d"(%a) {kernel = array<i64: 7, 7>, strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW"} : (tensor<1x4x7x7xi32>) -> tensor<1x4x1x1xi8>
  return %0 : tensor<1x4x1x1xi8>
}

// -----

func.func @flatten_spatial(%a: tensor<1x4x2x2xi8>) -> tensor<1x16xi8> {
  // expected-error @+1 {{flatten needs a 1x1 spatial input, found 2x2}}
  %0 = "qnn.flatten"(%a) {layout = "NCHW"} : (tensor<1x4x2x2xi8>) -> tensor<1x16xi8>
  return %0 : tensor<1x16xi8>
}

// -----

func.func @dense_feature_mismatch(%a: tensor<2x16xi8>, %w: tensor<10x15xi8>) -> tensor<2x10xi32> {
  // expected-error @+1 {{input has 16 features but the weight expects 15}}
  %0 = "qnn.dense"(%a, %w) : (tensor<2x16xi8>, tensor<10x15xi8>) -> tensor<2x10xi32>
  return %0 : tensor<2x10xi32>
}

// -----

func.func @layout_transform_wrong_shape(%a: tensor<1x4x2x3xi8>) -> tensor<1x2x3x4xi8> {
  // expected-error @+1 {{result must be tensor<2x3x1x4xi8> (NCHW -> HWNC), found tensor<1x2x3x4xi8>}}
  %0 = "qnn.layout_transform"(%a) {src_layout = "NCHW", dst_layout = "HWNC"} : (tensor<1x4x2x3xi8>) -> tensor<1x2x3x4xi8>
  return %0 : tensor<1x2x3x4xi8>
}

// -----

func.func @quantize_int_input(%a: tensor<1x4xi8>) -> tensor<1x4xi8> {
  // expected-error @+1 {{input must be f32, found i8}}
  %0 = "qnn.quantize"(%a) {scale = 1.0 : f32, layout = "NC"} : (tensor<1x4xi8>) -> tensor<1x4xi8>
  return %0 : tensor<1x4xi8>
}

// -----

func.func @conv_missing_weight_operand(%x: tensor<1x3x8x8xi8>) -> tensor<1x4x6x6xi32> {
  // expected-error @+1 {{expects at least 2 operands, but got 1}}
  %0 = "qnn.conv2d"(%x) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<1x3x8x8xi8>) -> tensor<1x4x6x6xi32>
  return %0 : tensor<1x4x6x6xi32>
}

// -----

func.func @unknown_op(%x: tensor<1x3x8x8xi8>) -> tensor<1x3x8x8xi8> {
  // expected-error @+1 {{custom op 'qnn.layer_norm' is unknown}}
  %0 = qnn.layer_norm %x : tensor<1x3x8x8xi8>
  return %0 : tensor<1x3x8x8xi8>
}

// -----

func.func @unknown_generic_op(%x: tensor<1x3x8x8xi8>) -> tensor<1x3x8x8xi8> {
  // expected-error @+1 {{unregistered operation 'qnn.layer_norm'}}
  %0 = "qnn.layer_norm"(%x) : (tensor<1x3x8x8xi8>) -> tensor<1x3x8x8xi8>
  return %0 : tensor<1x3x8x8xi8>
}

// -----

func.func @fused_clamp_outside_result(%x: tensor<1x8x4x4xui4>) -> tensor<1x8x4x4xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<8x8x3x3xi4>
  // expected-error @+1 {{clamp [0, 255] exceeds the ui4 range [0, 15]}}
  %c = "qnn.conv2d_fused"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW", epilogue = "requantize", multiplier = array<i32: 1073741824>, shift = array<i32: 34>, residual_multiplier = array<i32>, residual_shift = array<i32>, zero_point = 0 : i64, rounding = "half_up", clamp = array<i64: 0, 255>, relu = false, operandSegmentSizes = array<i32: 1, 1, 0, 0>} : (tensor<1x8x4x4xui4>, tensor<8x8x3x3xi4>) -> tensor<1x8x4x4xui4>
  return %c : tensor<1x8x4x4xui4>
}

// -----

func.func @fused_residual_without_operand(%x: tensor<1x8x4x4xui4>) -> tensor<1x8x4x4xi32> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<8x8x3x3xi4>
  // expected-error @+1 {{a residual epilogue needs a residual operand}}
  %c = "qnn.conv2d_fused"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1>, shift = array<i32: 1>, residual_multiplier = array<i32: 1>, residual_shift = array<i32: 1>, zero_point = 0 : i64, rounding = "half_up", clamp = array<i64: 0, 15>, relu = false, operandSegmentSizes = array<i32: 1, 1, 0, 0>} : (tensor<1x8x4x4xui4>, tensor<8x8x3x3xi4>) -> tensor<1x8x4x4xi32>
  return %c : tensor<1x8x4x4xi32>
}

// -----

func.func @dequantize_scale_count(%a: tensor<2x10xi32>) -> tensor<2x10xf32> {
  // expected-error @+1 {{dequantize has 3 scales, expected 1 or 10 (channels)}}
  %0 = "qnn.dequantize"(%a) {scale = array<f32: 1.0, 2.0, 3.0>, layout = "NC"} : (tensor<2x10xi32>) -> tensor<2x10xf32>
  return %0 : tensor<2x10xf32>
}

// -----

func.func @second_result_without_attributes(%x: tensor<1x8x4x4xui4>) -> tensor<1x8x4x4xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<8x8x3x3xi4>
  // expected-error @+1 {{has a second result but no second_* epilogue attributes}}
  %c:2 = "qnn.conv2d_fused"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW", epilogue = "none", multiplier = array<i32>, shift = array<i32>, residual_multiplier = array<i32>, residual_shift = array<i32>, zero_point = 0 : i64, rounding = "half_up", clamp = array<i64: -2147483648, 2147483647>, relu = false, operandSegmentSizes = array<i32: 1, 1, 0, 0>} : (tensor<1x8x4x4xui4>, tensor<8x8x3x3xi4>) -> (tensor<1x8x4x4xi32>, tensor<1x8x4x4xui4>)
  return %c#1 : tensor<1x8x4x4xui4>
}

// -----

func.func @second_attributes_without_result(%x: tensor<1x8x4x4xui4>) -> tensor<1x8x4x4xi32> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<8x8x3x3xi4>
  // expected-error @+1 {{has second_* attributes but no second result}}
  %c = "qnn.conv2d_fused"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW", epilogue = "none", multiplier = array<i32>, shift = array<i32>, residual_multiplier = array<i32>, residual_shift = array<i32>, zero_point = 0 : i64, rounding = "half_up", clamp = array<i64: -2147483648, 2147483647>, relu = false, second_multiplier = array<i32: 1342218220>, second_shift = array<i32: 39>, second_rounding = "half_up", second_zero_point = 0 : i64, second_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 0, 0>} : (tensor<1x8x4x4xui4>, tensor<8x8x3x3xi4>) -> tensor<1x8x4x4xi32>
  return %c : tensor<1x8x4x4xi32>
}

// -----

func.func @second_clamp_outside_result(%x: tensor<1x8x4x4xui4>) -> tensor<1x8x4x4xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<8x8x3x3xi4>
  // expected-error @+1 {{second_clamp [0, 255] exceeds the ui4 range [0, 15]}}
  %c:2 = "qnn.conv2d_fused"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW", epilogue = "none", multiplier = array<i32>, shift = array<i32>, residual_multiplier = array<i32>, residual_shift = array<i32>, zero_point = 0 : i64, rounding = "half_up", clamp = array<i64: -2147483648, 2147483647>, relu = false, second_multiplier = array<i32: 1342218220>, second_shift = array<i32: 39>, second_rounding = "half_up", second_zero_point = 0 : i64, second_clamp = array<i64: 0, 255>, operandSegmentSizes = array<i32: 1, 1, 0, 0>} : (tensor<1x8x4x4xui4>, tensor<8x8x3x3xi4>) -> (tensor<1x8x4x4xi32>, tensor<1x8x4x4xui4>)
  return %c#1 : tensor<1x8x4x4xui4>
}

// -----

func.func @then_clamp_outside_result(%x: tensor<1x8x4x4xui4>) -> tensor<1x8x4x4xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<8x8x3x3xi4>
  // expected-error @+1 {{then_clamp [0, 255] exceeds the ui4 range [0, 15]}}
  %c = "qnn.conv2d_fused"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW", epilogue = "none", multiplier = array<i32>, shift = array<i32>, residual_multiplier = array<i32>, residual_shift = array<i32>, zero_point = 0 : i64, rounding = "half_up", clamp = array<i64: -2147483648, 2147483647>, relu = false, then_multiplier = array<i32: 1342218220>, then_shift = array<i32: 39>, then_rounding = "half_up", then_zero_point = 0 : i64, then_clamp = array<i64: 0, 255>, operandSegmentSizes = array<i32: 1, 1, 0, 0>} : (tensor<1x8x4x4xui4>, tensor<8x8x3x3xi4>) -> tensor<1x8x4x4xui4>
  return %c : tensor<1x8x4x4xui4>
}

// -----

func.func @then_step_of_a_value_beyond_i32(%x: tensor<1x8x4x4xui4>) -> tensor<1x8x4x4xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<8x8x3x3xi4>
  // expected-error @+1 {{clamp [-4294967296, 4294967296] exceeds the i32 range}}
  %c = "qnn.conv2d_fused"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW", epilogue = "none", multiplier = array<i32>, shift = array<i32>, residual_multiplier = array<i32>, residual_shift = array<i32>, zero_point = 0 : i64, rounding = "half_up", clamp = array<i64: -4294967296, 4294967296>, relu = false, then_multiplier = array<i32: 1342218220>, then_shift = array<i32: 39>, then_rounding = "half_up", then_zero_point = 0 : i64, then_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 0, 0>} : (tensor<1x8x4x4xui4>, tensor<8x8x3x3xi4>) -> tensor<1x8x4x4xui4>
  return %c : tensor<1x8x4x4xui4>
}

// -----

func.func @then_step_and_second_output(%x: tensor<1x8x4x4xui4>) -> tensor<1x8x4x4xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<8x8x3x3xi4>
  // expected-error @+1 {{has both then_* and second_* epilogue attributes}}
  %c:2 = "qnn.conv2d_fused"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW", epilogue = "none", multiplier = array<i32>, shift = array<i32>, residual_multiplier = array<i32>, residual_shift = array<i32>, zero_point = 0 : i64, rounding = "half_up", clamp = array<i64: -2147483648, 2147483647>, relu = false, then_multiplier = array<i32: 1342218220>, then_shift = array<i32: 39>, then_rounding = "half_up", then_zero_point = 0 : i64, then_clamp = array<i64: 0, 15>, second_multiplier = array<i32: 1342218220>, second_shift = array<i32: 39>, second_rounding = "half_up", second_zero_point = 0 : i64, second_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 0, 0>} : (tensor<1x8x4x4xui4>, tensor<8x8x3x3xi4>) -> (tensor<1x8x4x4xui4>, tensor<1x8x4x4xui4>)
  return %c#1 : tensor<1x8x4x4xui4>
}

// -----

func.func @then_shift_outside_range(%x: tensor<1x8x4x4xui4>) -> tensor<1x8x4x4xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<8x8x3x3xi4>
  // expected-error @+1 {{then shift 99 is outside [0, 62]}}
  %c = "qnn.conv2d_fused"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW", epilogue = "none", multiplier = array<i32>, shift = array<i32>, residual_multiplier = array<i32>, residual_shift = array<i32>, zero_point = 0 : i64, rounding = "half_up", clamp = array<i64: -2147483648, 2147483647>, relu = false, then_multiplier = array<i32: 1>, then_shift = array<i32: 99>, then_rounding = "half_up", then_zero_point = 0 : i64, then_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 0, 0>} : (tensor<1x8x4x4xui4>, tensor<8x8x3x3xi4>) -> tensor<1x8x4x4xui4>
  return %c : tensor<1x8x4x4xui4>
}

// -----

func.func @then_step_without_rounding(%x: tensor<1x8x4x4xui4>) -> tensor<1x8x4x4xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<8x8x3x3xi4>
  // expected-error @+1 {{missing attribute 'then_rounding'}}
  %c = "qnn.conv2d_fused"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW", epilogue = "none", multiplier = array<i32>, shift = array<i32>, residual_multiplier = array<i32>, residual_shift = array<i32>, zero_point = 0 : i64, rounding = "half_up", clamp = array<i64: -2147483648, 2147483647>, relu = false, then_multiplier = array<i32: 1>, then_shift = array<i32: 9>, then_zero_point = 0 : i64, then_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 0, 0>} : (tensor<1x8x4x4xui4>, tensor<8x8x3x3xi4>) -> tensor<1x8x4x4xui4>
  return %c : tensor<1x8x4x4xui4>
}

// -----

func.func @quantize_zero_point_outside_type(%x: tensor<1x3x8x8xf32>) -> tensor<1x3x8x8xui8> {
  // expected-error @+1 {{zero_point -1 is outside the result type ui8 [0, 255]}}
  %0 = "qnn.quantize"(%x) {layout = "NCHW", mode = "divide", scale = 0.5 : f32, zero_point = -1 : i64} : (tensor<1x3x8x8xf32>) -> tensor<1x3x8x8xui8>
  return %0 : tensor<1x3x8x8xui8>
}

// -----

func.func @quantize_unknown_mode(%x: tensor<1x3x8x8xf32>) -> tensor<1x3x8x8xui8> {
  // expected-error @+1 {{attribute 'mode' = "truncate" is not one of multiply_reciprocal, divide}}
  %0 = "qnn.quantize"(%x) {layout = "NCHW", mode = "truncate", scale = 0.5 : f32} : (tensor<1x3x8x8xf32>) -> tensor<1x3x8x8xui8>
  return %0 : tensor<1x3x8x8xui8>
}

// -----

func.func @padding_value_outside_input(%x: tensor<1x3x8x8xui8>, %w: tensor<4x3x3x3xi8>) -> tensor<1x4x8x8xi32> {
  // expected-error @+1 {{padding_value 300 is outside the input type ui8 [0, 255]}}
  %0 = "qnn.conv2d"(%x, %w) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 1, 1, 1, 1>, padding_value = 300 : i64, strides = array<i64: 1, 1>} : (tensor<1x3x8x8xui8>, tensor<4x3x3x3xi8>) -> tensor<1x4x8x8xi32>
  return %0 : tensor<1x4x8x8xi32>
}

// -----

func.func @f32_rounding_needs_an_f32_scale(%x: tensor<1x4xi32>) -> tensor<1x4xi8> {
  // expected-error @+1 {{requantize multiplier 1073741824 is not an f32 significand (at most 16777215), which rounding "f32_half_to_even" needs}}
  %0 = "qnn.requantize"(%x) {clamp = array<i64: -128, 127>, layout = "NC", multiplier = array<i32: 1073741824>, rounding = "f32_half_to_even", shift = array<i32: 40>, zero_point = 0 : i64} : (tensor<1x4xi32>) -> tensor<1x4xi8>
  return %0 : tensor<1x4xi8>
}

// -----

func.func @sum_pool_result_too_narrow(%x: tensor<1x4x8x8xui8>) -> tensor<1x4x1x1xi8> {
  // expected-error @+1 {{avg_pool2d result i8 cannot hold every average of ui8 (range [0, 16320])}}
  %0 = "qnn.avg_pool2d"(%x) {divisor = 1 : i64, kernel = array<i64: 8, 8>, layout = "NCHW", padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x4x8x8xui8>) -> tensor<1x4x1x1xi8>
  return %0 : tensor<1x4x1x1xi8>
}

// -----

func.func @fma_requantize_needs_an_offset(%x: tensor<1x4xi32>) -> tensor<1x4xi8> {
  // expected-error @+1 {{offset has 0 entries, expected 1 or 4 (channels) under rounding "f32_fma"}}
  %0 = "qnn.requantize"(%x) {clamp = array<i64: -128, 127>, layout = "NC", multiplier = array<i32: 3>, rounding = "f32_fma", shift = array<i32: 4>, zero_point = 0 : i64} : (tensor<1x4xi32>) -> tensor<1x4xi8>
  return %0 : tensor<1x4xi8>
}

// -----

func.func @requantize_offset_needs_fma(%x: tensor<1x4xi32>) -> tensor<1x4xi8> {
  // expected-error @+1 {{offset is only defined under rounding "f32_fma"}}
  %0 = "qnn.requantize"(%x) {clamp = array<i64: -128, 127>, layout = "NC", multiplier = array<i32: 3>, offset = array<f32: 0.5>, rounding = "half_to_even", shift = array<i32: 4>, zero_point = 0 : i64} : (tensor<1x4xi32>) -> tensor<1x4xi8>
  return %0 : tensor<1x4xi8>
}

// -----

func.func @requantize_offset_per_channel(%x: tensor<1x4xi32>) -> tensor<1x4xi8> {
  // expected-error @+1 {{offset has 3 entries, expected 1 or 4 (channels) under rounding "f32_fma"}}
  %0 = "qnn.requantize"(%x) {clamp = array<i64: -128, 127>, layout = "NC", multiplier = array<i32: 3>, offset = array<f32: 0.5, 1.0, 2.0>, rounding = "f32_fma", shift = array<i32: 4>, zero_point = 0 : i64} : (tensor<1x4xi32>) -> tensor<1x4xi8>
  return %0 : tensor<1x4xi8>
}

// -----

func.func @fma_requantize_multiplier_is_an_f32(%x: tensor<1x4xi32>) -> tensor<1x4xi8> {
  // expected-error @+1 {{not an f32 significand}}
  %0 = "qnn.requantize"(%x) {clamp = array<i64: -128, 127>, layout = "NC", multiplier = array<i32: 1073741825>, offset = array<f32: 0.5>, rounding = "f32_fma", shift = array<i32: 40>, zero_point = 0 : i64} : (tensor<1x4xi32>) -> tensor<1x4xi8>
  return %0 : tensor<1x4xi8>
}

// -----

func.func @add_bias_needs_fma(%a: tensor<1x4xi8>, %b: tensor<1x4xi8>) -> tensor<1x4xi8> {
  // expected-error @+1 {{bias is only defined under rounding "f32_fma"}}
  %0 = "qnn.add"(%a, %b) {bias = 1.5 : f32, clamp = array<i64: -128, 127>, layout = "NC", lhs_multiplier = array<i32: 1>, lhs_shift = array<i32: 1>, rhs_multiplier = array<i32: 1>, rhs_shift = array<i32: 1>, rounding = "half_to_even"} : (tensor<1x4xi8>, tensor<1x4xi8>) -> tensor<1x4xi8>
  return %0 : tensor<1x4xi8>
}

// -----

func.func @groups_must_divide_channels(%x: tensor<1x6x8x8xi8>, %w: tensor<4x2x3x3xi8>) -> tensor<1x4x6x6xi32> {
  // expected-error @+1 {{groups 3 must be positive and divide the input channels 6 and the output channels 4}}
  %0 = "qnn.conv2d"(%x, %w) {groups = 3 : i64, kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x6x8x8xi8>, tensor<4x2x3x3xi8>) -> tensor<1x4x6x6xi32>
  return %0 : tensor<1x4x6x6xi32>
}

// -----

func.func @grouped_weight_channels(%x: tensor<1x6x8x8xi8>, %w: tensor<6x6x3x3xi8>) -> tensor<1x6x6x6xi32> {
  // expected-error @+1 {{weight has 6 input channels (OIHW) but the input has 1 per group (6 groups) (NCHW)}}
  %0 = "qnn.conv2d"(%x, %w) {groups = 6 : i64, kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x6x8x8xi8>, tensor<6x6x3x3xi8>) -> tensor<1x6x6x6xi32>
  return %0 : tensor<1x6x6x6xi32>
}

// -----

func.func @concat_channels_summed(%a: tensor<1x2x4x4xi8>, %b: tensor<1x3x4x4xi8>) -> tensor<1x6x4x4xi8> {
  // expected-error @+1 {{result must be tensor<1x5x4x4xi8> (the operands' channels summed), found tensor<1x6x4x4xi8>}}
  %0 = "qnn.concat"(%a, %b) {layout = "NCHW"} : (tensor<1x2x4x4xi8>, tensor<1x3x4x4xi8>) -> tensor<1x6x4x4xi8>
  return %0 : tensor<1x6x4x4xi8>
}

// -----

func.func @concat_same_spatial_dims(%a: tensor<1x2x4x4xi8>, %b: tensor<1x3x4x2xi8>) -> tensor<1x5x4x4xi8> {
  // expected-error @+1 {{operand 1 must have the element type and N, H, W of operand 0 (i8, 1, 4, 4), found tensor<1x3x4x2xi8>}}
  %0 = "qnn.concat"(%a, %b) {layout = "NCHW"} : (tensor<1x2x4x4xi8>, tensor<1x3x4x2xi8>) -> tensor<1x5x4x4xi8>
  return %0 : tensor<1x5x4x4xi8>
}

// -----

func.func @concat_same_element_type(%a: tensor<1x2x4x4xi8>, %b: tensor<1x3x4x4xui8>) -> tensor<1x5x4x4xi8> {
  // expected-error @+1 {{operand 1 must have the element type and N, H, W of operand 0}}
  %0 = "qnn.concat"(%a, %b) {layout = "NCHW"} : (tensor<1x2x4x4xi8>, tensor<1x3x4x4xui8>) -> tensor<1x5x4x4xi8>
  return %0 : tensor<1x5x4x4xi8>
}

// -----

func.func @concat_is_binary(%a: tensor<1x2x4x4xi8>) -> tensor<1x2x4x4xi8> {
  // expected-error @+1 {{expects exactly 2 operands, but got 1}}
  %0 = "qnn.concat"(%a) {layout = "NCHW"} : (tensor<1x2x4x4xi8>) -> tensor<1x2x4x4xi8>
  return %0 : tensor<1x2x4x4xi8>
}

// -----

func.func @mul_rhs_broadcast_shape(%a: tensor<1x4x3x3xi8>, %b: tensor<1x4x3x1xi8>) -> tensor<1x4x3x3xi32> {
  // expected-error @+1 {{rhs must have lhs's shape [1, 4, 3, 3] or N x C x 1 x 1 [1, 4, 1, 1], found [1, 4, 3, 1]}}
  %0 = "qnn.mul"(%a, %b) {layout = "NCHW"} : (tensor<1x4x3x3xi8>, tensor<1x4x3x1xi8>) -> tensor<1x4x3x3xi32>
  return %0 : tensor<1x4x3x3xi32>
}

// -----

func.func @mul_operands_of_16_bits(%a: tensor<1x4xi32>, %b: tensor<1x4xi8>) -> tensor<1x4xi32> {
  // expected-error @+1 {{operand 0 must have at most 16 bits (its products fit i32), found i32}}
  %0 = "qnn.mul"(%a, %b) {layout = "NC"} : (tensor<1x4xi32>, tensor<1x4xi8>) -> tensor<1x4xi32>
  return %0 : tensor<1x4xi32>
}

// -----

func.func @lookup_table_size(%a: tensor<1x4xui4>) -> tensor<1x4xi8> {
  // expected-error @+1 {{table must have 16 entries (one per ui4 value) or 64 (one table per channel), found 3}}
  %0 = "qnn.lookup"(%a) {layout = "NC", table = array<i32: 1, 2, 3>} : (tensor<1x4xui4>) -> tensor<1x4xi8>
  return %0 : tensor<1x4xi8>
}

// -----

func.func @lookup_entries_fit_the_result(%a: tensor<1x4xui4>) -> tensor<1x4xi4> {
  // expected-error @+1 {{table entry 9 is outside the result type i4 [-8, 7]}}
  %0 = "qnn.lookup"(%a) {layout = "NC", table = array<i32: 0, 1, 2, 3, 4, 5, 6, 7, 9, 0, 0, 0, 0, 0, 0, 0>} : (tensor<1x4xui4>) -> tensor<1x4xi4>
  return %0 : tensor<1x4xi4>
}

// -----

func.func @lookup_of_wide_values(%a: tensor<1x4xi16>) -> tensor<1x4xi8> {
  // expected-error @+1 {{input must have at most 8 bits, found i16}}
  %0 = "qnn.lookup"(%a) {layout = "NC", table = array<i32: 0>} : (tensor<1x4xi16>) -> tensor<1x4xi8>
  return %0 : tensor<1x4xi8>
}

// -----

func.func @read_in_another_layout(%x: tensor<1x4x4x4xi8>) -> tensor<1x4x4x4xi8> {
  %0 = "qnn.relu"(%x) {layout = "NCHW"} : (tensor<1x4x4x4xi8>) -> tensor<1x4x4x4xi8>
  // expected-error @+1 {{'qnn.max_pool2d' reads operand 0 in layout NHWC, but 'qnn.relu' at}}
  %1 = "qnn.max_pool2d"(%0) {kernel = array<i64: 1, 1>, layout = "NHWC", padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x4x4x4xi8>) -> tensor<1x4x4x4xi8>
  return %1 : tensor<1x4x4x4xi8>
}

// -----

func.func @argument_in_two_layouts(%x: tensor<2x3x2x5xi8>) -> (tensor<2x3x2x5xi8>, tensor<2x3x2x5xi8>) {
  %0 = "qnn.relu"(%x) {layout = "HWNC"} : (tensor<2x3x2x5xi8>) -> tensor<2x3x2x5xi8>
  // expected-error @+1 {{'qnn.relu' reads operand 0 in layout NHWC, but 'qnn.relu' at}}
  %1 = "qnn.relu"(%x) {layout = "NHWC"} : (tensor<2x3x2x5xi8>) -> tensor<2x3x2x5xi8>
  return %0, %1 : tensor<2x3x2x5xi8>, tensor<2x3x2x5xi8>
}

// -----

func.func @f32_average_zero_scale(%x: tensor<1x4x8x8xui8>) -> tensor<1x4x4x4xui8> {
  // expected-error @+1 {{output_scale 0 must be positive and finite}}
  %0 = "qnn.avg_pool2d_f32"(%x) {input_scale = 0.5 : f32, input_zero_point = 0 : i64, kernel = array<i64: 2, 2>, layout = "NCHW", output_scale = 0.0 : f32, output_zero_point = 0 : i64, padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x4x8x8xui8>) -> tensor<1x4x4x4xui8>
  return %0 : tensor<1x4x4x4xui8>
}

// -----

func.func @f32_average_zero_point_outside_result(%x: tensor<1x4x8x8xui8>) -> tensor<1x4x4x4xi8> {
  // expected-error @+1 {{output_zero_point 200 is not a value of i8 [-128, 127]}}
  %0 = "qnn.avg_pool2d_f32"(%x) {input_scale = 0.5 : f32, input_zero_point = 0 : i64, kernel = array<i64: 2, 2>, layout = "NCHW", output_scale = 0.5 : f32, output_zero_point = 200 : i64, padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x4x8x8xui8>) -> tensor<1x4x4x4xi8>
  return %0 : tensor<1x4x4x4xi8>
}

// -----

func.func @f32_average_beyond_i32(%x: tensor<1x4x8x8xui8>) -> tensor<1x4x4x4xui8> {
  // expected-error @+1 {{input_scale / output_scale = 10000000000 reaches 2.553e12 steps, beyond i32}}
  %0 = "qnn.avg_pool2d_f32"(%x) {input_scale = 1.0 : f32, input_zero_point = 0 : i64, kernel = array<i64: 2, 2>, layout = "NCHW", output_scale = 1.0e-10 : f32, output_zero_point = 0 : i64, padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x4x8x8xui8>) -> tensor<1x4x4x4xui8>
  return %0 : tensor<1x4x4x4xui8>
}

// -----

func.func @f32_average_window(%x: tensor<1x4x8x8xui8>) -> tensor<1x4x4x4xui8> {
  // expected-error @+1 {{result shape [1, 4, 4, 4] does not match the computed [1, 4, 3, 3]}}
  %0 = "qnn.avg_pool2d_f32"(%x) {input_scale = 0.5 : f32, input_zero_point = 0 : i64, kernel = array<i64: 3, 3>, layout = "NCHW", output_scale = 0.5 : f32, output_zero_point = 0 : i64, padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x4x8x8xui8>) -> tensor<1x4x4x4xui8>
  return %0 : tensor<1x4x4x4xui8>
}

// -----

func.func @softmax_short_table(%x: tensor<3x10xi8>) -> tensor<3x10xui8> {
  // expected-error @+1 {{softmax table has 255 entries, 256 expected}}
  %y = "qnn.softmax"(%x) {layout = "NC", scale = 256.0 : f32, table = array<f32: 2.902320e-06, 3.051126e-06, 3.207560e-06, 3.372015e-06, 3.544902e-06, 3.726653e-06, 3.917723e-06, 4.118589e-06, 4.329753e-06, 4.551744e-06, 4.785117e-06, 5.030456e-06, 5.288373e-06, 5.559513e-06, 5.844556e-06, 6.144212e-06, 6.459233e-06, 6.790405e-06, 7.138556e-06, 7.504558e-06, 7.889325e-06, 8.293819e-06, 8.719052e-06, 9.166088e-06, 9.636043e-06, 1.013009e-05, 1.064947e-05, 1.119548e-05, 1.176949e-05, 1.237292e-05, 1.300730e-05, 1.367420e-05, 1.437529e-05, 1.511232e-05, 1.588715e-05, 1.670170e-05, 1.755802e-05, 1.845823e-05, 1.940461e-05, 2.039950e-05, 2.144541e-05, 2.254494e-05, 2.370084e-05, 2.491601e-05, 2.619348e-05, 2.753645e-05, 2.894827e-05, 3.043248e-05, 3.199279e-05, 3.363310e-05, 3.535750e-05, 3.717032e-05, 3.907608e-05, 4.107956e-05, 4.318575e-05, 4.539993e-05, 4.772763e-05, 5.017468e-05, 5.274719e-05, 5.545160e-05, 5.829466e-05, 6.128350e-05, 6.442557e-05, 6.772874e-05, 7.120126e-05, 7.485183e-05, 7.868957e-05, 8.272407e-05, 8.696542e-05, 9.142423e-05, 9.611165e-05, 1.010394e-04, 1.062198e-04, 1.116658e-04, 1.173910e-04, 1.234098e-04, 1.297372e-04, 1.363889e-04, 1.433817e-04, 1.507331e-04, 1.584613e-04, 1.665858e-04, 1.751268e-04, 1.841058e-04, 1.935451e-04, 2.034684e-04, 2.139004e-04, 2.248673e-04, 2.363965e-04, 2.485168e-04, 2.612586e-04, 2.746536e-04, 2.887354e-04, 3.035391e-04, 3.191019e-04, 3.354626e-04, 3.526622e-04, 3.707435e-04, 3.897520e-04, 4.097350e-04, 4.307425e-04, 4.528272e-04, 4.760441e-04, 5.004514e-04, 5.261101e-04, 5.530844e-04, 5.814416e-04, 6.112528e-04, 6.425924e-04, 6.755388e-04, 7.101744e-04, 7.465858e-04, 7.848641e-04, 8.251049e-04, 8.674090e-04, 9.118820e-04, 9.586352e-04, 1.007785e-03, 1.059456e-03, 1.113775e-03, 1.170880e-03, 1.230912e-03, 1.294022e-03, 1.360368e-03, 1.430116e-03, 1.503439e-03, 1.580522e-03, 1.661557e-03, 1.746747e-03, 1.836305e-03, 1.930454e-03, 2.029431e-03, 2.133482e-03, 2.242868e-03, 2.357862e-03, 2.478752e-03, 2.605841e-03, 2.739445e-03, 2.879899e-03, 3.027555e-03, 3.182781e-03, 3.345965e-03, 3.517517e-03, 3.697864e-03, 3.887457e-03, 4.086771e-03, 4.296305e-03, 4.516581e-03, 4.748151e-03, 4.991594e-03, 5.247518e-03, 5.516564e-03, 5.799405e-03, 6.096747e-03, 6.409333e-03, 6.737947e-03, 7.083409e-03, 7.446583e-03, 7.828378e-03, 8.229747e-03, 8.651695e-03, 9.095277e-03, 9.561602e-03, 1.005184e-02, 1.056720e-02, 1.110900e-02, 1.167857e-02, 1.227734e-02, 1.290681e-02, 1.356856e-02, 1.426423e-02, 1.499558e-02, 1.576442e-02, 1.657268e-02, 1.742237e-02, 1.831564e-02, 1.925470e-02, 2.024191e-02, 2.127974e-02, 2.237077e-02, 2.351775e-02, 2.472353e-02, 2.599113e-02, 2.732372e-02, 2.872464e-02, 3.019738e-02, 3.174564e-02, 3.337327e-02, 3.508435e-02, 3.688317e-02, 3.877421e-02, 4.076220e-02, 4.285213e-02, 4.504920e-02, 4.735892e-02, 4.978707e-02, 5.233971e-02, 5.502322e-02, 5.784432e-02, 6.081006e-02, 6.392786e-02, 6.720551e-02, 7.065121e-02, 7.427358e-02, 7.808167e-02, 8.208500e-02, 8.629359e-02, 9.071795e-02, 9.536916e-02, 1.002588e-01, 1.053992e-01, 1.108032e-01, 1.164842e-01, 1.224564e-01, 1.287349e-01, 1.353353e-01, 1.422741e-01, 1.495686e-01, 1.572372e-01, 1.652989e-01, 1.737739e-01, 1.826835e-01, 1.920499e-01, 2.018965e-01, 2.122480e-01, 2.231302e-01, 2.345703e-01, 2.465970e-01, 2.592403e-01, 2.725318e-01, 2.865048e-01, 3.011942e-01, 3.166368e-01, 3.328711e-01, 3.499377e-01, 3.678794e-01, 3.867410e-01, 4.065697e-01, 4.274149e-01, 4.493290e-01, 4.723666e-01, 4.965853e-01, 5.220458e-01, 5.488116e-01, 5.769498e-01, 6.065307e-01, 6.376282e-01, 6.703200e-01, 7.046881e-01, 7.408182e-01, 7.788008e-01, 8.187308e-01, 8.607080e-01, 9.048374e-01, 9.512294e-01>, zero_point = 0 : i64} : (tensor<3x10xi8>) -> tensor<3x10xui8>
  return %y : tensor<3x10xui8>
}

// -----

func.func @softmax_negative_entry(%x: tensor<3x10xi8>) -> tensor<3x10xui8> {
  // expected-error @+1 {{softmax table entry -1 is not a finite non-negative number}}
  %y = "qnn.softmax"(%x) {layout = "NC", scale = 256.0 : f32, table = array<f32: -1.0, 3.051126e-06, 3.207560e-06, 3.372015e-06, 3.544902e-06, 3.726653e-06, 3.917723e-06, 4.118589e-06, 4.329753e-06, 4.551744e-06, 4.785117e-06, 5.030456e-06, 5.288373e-06, 5.559513e-06, 5.844556e-06, 6.144212e-06, 6.459233e-06, 6.790405e-06, 7.138556e-06, 7.504558e-06, 7.889325e-06, 8.293819e-06, 8.719052e-06, 9.166088e-06, 9.636043e-06, 1.013009e-05, 1.064947e-05, 1.119548e-05, 1.176949e-05, 1.237292e-05, 1.300730e-05, 1.367420e-05, 1.437529e-05, 1.511232e-05, 1.588715e-05, 1.670170e-05, 1.755802e-05, 1.845823e-05, 1.940461e-05, 2.039950e-05, 2.144541e-05, 2.254494e-05, 2.370084e-05, 2.491601e-05, 2.619348e-05, 2.753645e-05, 2.894827e-05, 3.043248e-05, 3.199279e-05, 3.363310e-05, 3.535750e-05, 3.717032e-05, 3.907608e-05, 4.107956e-05, 4.318575e-05, 4.539993e-05, 4.772763e-05, 5.017468e-05, 5.274719e-05, 5.545160e-05, 5.829466e-05, 6.128350e-05, 6.442557e-05, 6.772874e-05, 7.120126e-05, 7.485183e-05, 7.868957e-05, 8.272407e-05, 8.696542e-05, 9.142423e-05, 9.611165e-05, 1.010394e-04, 1.062198e-04, 1.116658e-04, 1.173910e-04, 1.234098e-04, 1.297372e-04, 1.363889e-04, 1.433817e-04, 1.507331e-04, 1.584613e-04, 1.665858e-04, 1.751268e-04, 1.841058e-04, 1.935451e-04, 2.034684e-04, 2.139004e-04, 2.248673e-04, 2.363965e-04, 2.485168e-04, 2.612586e-04, 2.746536e-04, 2.887354e-04, 3.035391e-04, 3.191019e-04, 3.354626e-04, 3.526622e-04, 3.707435e-04, 3.897520e-04, 4.097350e-04, 4.307425e-04, 4.528272e-04, 4.760441e-04, 5.004514e-04, 5.261101e-04, 5.530844e-04, 5.814416e-04, 6.112528e-04, 6.425924e-04, 6.755388e-04, 7.101744e-04, 7.465858e-04, 7.848641e-04, 8.251049e-04, 8.674090e-04, 9.118820e-04, 9.586352e-04, 1.007785e-03, 1.059456e-03, 1.113775e-03, 1.170880e-03, 1.230912e-03, 1.294022e-03, 1.360368e-03, 1.430116e-03, 1.503439e-03, 1.580522e-03, 1.661557e-03, 1.746747e-03, 1.836305e-03, 1.930454e-03, 2.029431e-03, 2.133482e-03, 2.242868e-03, 2.357862e-03, 2.478752e-03, 2.605841e-03, 2.739445e-03, 2.879899e-03, 3.027555e-03, 3.182781e-03, 3.345965e-03, 3.517517e-03, 3.697864e-03, 3.887457e-03, 4.086771e-03, 4.296305e-03, 4.516581e-03, 4.748151e-03, 4.991594e-03, 5.247518e-03, 5.516564e-03, 5.799405e-03, 6.096747e-03, 6.409333e-03, 6.737947e-03, 7.083409e-03, 7.446583e-03, 7.828378e-03, 8.229747e-03, 8.651695e-03, 9.095277e-03, 9.561602e-03, 1.005184e-02, 1.056720e-02, 1.110900e-02, 1.167857e-02, 1.227734e-02, 1.290681e-02, 1.356856e-02, 1.426423e-02, 1.499558e-02, 1.576442e-02, 1.657268e-02, 1.742237e-02, 1.831564e-02, 1.925470e-02, 2.024191e-02, 2.127974e-02, 2.237077e-02, 2.351775e-02, 2.472353e-02, 2.599113e-02, 2.732372e-02, 2.872464e-02, 3.019738e-02, 3.174564e-02, 3.337327e-02, 3.508435e-02, 3.688317e-02, 3.877421e-02, 4.076220e-02, 4.285213e-02, 4.504920e-02, 4.735892e-02, 4.978707e-02, 5.233971e-02, 5.502322e-02, 5.784432e-02, 6.081006e-02, 6.392786e-02, 6.720551e-02, 7.065121e-02, 7.427358e-02, 7.808167e-02, 8.208500e-02, 8.629359e-02, 9.071795e-02, 9.536916e-02, 1.002588e-01, 1.053992e-01, 1.108032e-01, 1.164842e-01, 1.224564e-01, 1.287349e-01, 1.353353e-01, 1.422741e-01, 1.495686e-01, 1.572372e-01, 1.652989e-01, 1.737739e-01, 1.826835e-01, 1.920499e-01, 2.018965e-01, 2.122480e-01, 2.231302e-01, 2.345703e-01, 2.465970e-01, 2.592403e-01, 2.725318e-01, 2.865048e-01, 3.011942e-01, 3.166368e-01, 3.328711e-01, 3.499377e-01, 3.678794e-01, 3.867410e-01, 4.065697e-01, 4.274149e-01, 4.493290e-01, 4.723666e-01, 4.965853e-01, 5.220458e-01, 5.488116e-01, 5.769498e-01, 6.065307e-01, 6.376282e-01, 6.703200e-01, 7.046881e-01, 7.408182e-01, 7.788008e-01, 8.187308e-01, 8.607080e-01, 9.048374e-01, 9.512294e-01, 1.000000e+00>, zero_point = 0 : i64} : (tensor<3x10xi8>) -> tensor<3x10xui8>
  return %y : tensor<3x10xui8>
}

// -----

func.func @softmax_wide_input(%x: tensor<3x10xi16>) -> tensor<3x10xui8> {
  // expected-error @+1 {{softmax input must have at most 8 bits, found i16}}
  %y = "qnn.softmax"(%x) {layout = "NC", scale = 256.0 : f32, table = array<f32: 2.902320e-06, 3.051126e-06, 3.207560e-06, 3.372015e-06, 3.544902e-06, 3.726653e-06, 3.917723e-06, 4.118589e-06, 4.329753e-06, 4.551744e-06, 4.785117e-06, 5.030456e-06, 5.288373e-06, 5.559513e-06, 5.844556e-06, 6.144212e-06, 6.459233e-06, 6.790405e-06, 7.138556e-06, 7.504558e-06, 7.889325e-06, 8.293819e-06, 8.719052e-06, 9.166088e-06, 9.636043e-06, 1.013009e-05, 1.064947e-05, 1.119548e-05, 1.176949e-05, 1.237292e-05, 1.300730e-05, 1.367420e-05, 1.437529e-05, 1.511232e-05, 1.588715e-05, 1.670170e-05, 1.755802e-05, 1.845823e-05, 1.940461e-05, 2.039950e-05, 2.144541e-05, 2.254494e-05, 2.370084e-05, 2.491601e-05, 2.619348e-05, 2.753645e-05, 2.894827e-05, 3.043248e-05, 3.199279e-05, 3.363310e-05, 3.535750e-05, 3.717032e-05, 3.907608e-05, 4.107956e-05, 4.318575e-05, 4.539993e-05, 4.772763e-05, 5.017468e-05, 5.274719e-05, 5.545160e-05, 5.829466e-05, 6.128350e-05, 6.442557e-05, 6.772874e-05, 7.120126e-05, 7.485183e-05, 7.868957e-05, 8.272407e-05, 8.696542e-05, 9.142423e-05, 9.611165e-05, 1.010394e-04, 1.062198e-04, 1.116658e-04, 1.173910e-04, 1.234098e-04, 1.297372e-04, 1.363889e-04, 1.433817e-04, 1.507331e-04, 1.584613e-04, 1.665858e-04, 1.751268e-04, 1.841058e-04, 1.935451e-04, 2.034684e-04, 2.139004e-04, 2.248673e-04, 2.363965e-04, 2.485168e-04, 2.612586e-04, 2.746536e-04, 2.887354e-04, 3.035391e-04, 3.191019e-04, 3.354626e-04, 3.526622e-04, 3.707435e-04, 3.897520e-04, 4.097350e-04, 4.307425e-04, 4.528272e-04, 4.760441e-04, 5.004514e-04, 5.261101e-04, 5.530844e-04, 5.814416e-04, 6.112528e-04, 6.425924e-04, 6.755388e-04, 7.101744e-04, 7.465858e-04, 7.848641e-04, 8.251049e-04, 8.674090e-04, 9.118820e-04, 9.586352e-04, 1.007785e-03, 1.059456e-03, 1.113775e-03, 1.170880e-03, 1.230912e-03, 1.294022e-03, 1.360368e-03, 1.430116e-03, 1.503439e-03, 1.580522e-03, 1.661557e-03, 1.746747e-03, 1.836305e-03, 1.930454e-03, 2.029431e-03, 2.133482e-03, 2.242868e-03, 2.357862e-03, 2.478752e-03, 2.605841e-03, 2.739445e-03, 2.879899e-03, 3.027555e-03, 3.182781e-03, 3.345965e-03, 3.517517e-03, 3.697864e-03, 3.887457e-03, 4.086771e-03, 4.296305e-03, 4.516581e-03, 4.748151e-03, 4.991594e-03, 5.247518e-03, 5.516564e-03, 5.799405e-03, 6.096747e-03, 6.409333e-03, 6.737947e-03, 7.083409e-03, 7.446583e-03, 7.828378e-03, 8.229747e-03, 8.651695e-03, 9.095277e-03, 9.561602e-03, 1.005184e-02, 1.056720e-02, 1.110900e-02, 1.167857e-02, 1.227734e-02, 1.290681e-02, 1.356856e-02, 1.426423e-02, 1.499558e-02, 1.576442e-02, 1.657268e-02, 1.742237e-02, 1.831564e-02, 1.925470e-02, 2.024191e-02, 2.127974e-02, 2.237077e-02, 2.351775e-02, 2.472353e-02, 2.599113e-02, 2.732372e-02, 2.872464e-02, 3.019738e-02, 3.174564e-02, 3.337327e-02, 3.508435e-02, 3.688317e-02, 3.877421e-02, 4.076220e-02, 4.285213e-02, 4.504920e-02, 4.735892e-02, 4.978707e-02, 5.233971e-02, 5.502322e-02, 5.784432e-02, 6.081006e-02, 6.392786e-02, 6.720551e-02, 7.065121e-02, 7.427358e-02, 7.808167e-02, 8.208500e-02, 8.629359e-02, 9.071795e-02, 9.536916e-02, 1.002588e-01, 1.053992e-01, 1.108032e-01, 1.164842e-01, 1.224564e-01, 1.287349e-01, 1.353353e-01, 1.422741e-01, 1.495686e-01, 1.572372e-01, 1.652989e-01, 1.737739e-01, 1.826835e-01, 1.920499e-01, 2.018965e-01, 2.122480e-01, 2.231302e-01, 2.345703e-01, 2.465970e-01, 2.592403e-01, 2.725318e-01, 2.865048e-01, 3.011942e-01, 3.166368e-01, 3.328711e-01, 3.499377e-01, 3.678794e-01, 3.867410e-01, 4.065697e-01, 4.274149e-01, 4.493290e-01, 4.723666e-01, 4.965853e-01, 5.220458e-01, 5.488116e-01, 5.769498e-01, 6.065307e-01, 6.376282e-01, 6.703200e-01, 7.046881e-01, 7.408182e-01, 7.788008e-01, 8.187308e-01, 8.607080e-01, 9.048374e-01, 9.512294e-01, 1.0>, zero_point = 0 : i64} : (tensor<3x10xi16>) -> tensor<3x10xui8>
  return %y : tensor<3x10xui8>
}

// -----

func.func @softmax_overflowing_scale(%x: tensor<3x10xi8>) -> tensor<3x10xui8> {
  // expected-error @+1 {{softmax table entry 1e38 times the scale (1000) overflows f32}}
  %y = "qnn.softmax"(%x) {layout = "NC", scale = 1000.0 : f32, table = array<f32: 2.902320e-06, 3.051126e-06, 3.207560e-06, 3.372015e-06, 3.544902e-06, 3.726653e-06, 3.917723e-06, 4.118589e-06, 4.329753e-06, 4.551744e-06, 4.785117e-06, 5.030456e-06, 5.288373e-06, 5.559513e-06, 5.844556e-06, 6.144212e-06, 6.459233e-06, 6.790405e-06, 7.138556e-06, 7.504558e-06, 7.889325e-06, 8.293819e-06, 8.719052e-06, 9.166088e-06, 9.636043e-06, 1.013009e-05, 1.064947e-05, 1.119548e-05, 1.176949e-05, 1.237292e-05, 1.300730e-05, 1.367420e-05, 1.437529e-05, 1.511232e-05, 1.588715e-05, 1.670170e-05, 1.755802e-05, 1.845823e-05, 1.940461e-05, 2.039950e-05, 2.144541e-05, 2.254494e-05, 2.370084e-05, 2.491601e-05, 2.619348e-05, 2.753645e-05, 2.894827e-05, 3.043248e-05, 3.199279e-05, 3.363310e-05, 3.535750e-05, 3.717032e-05, 3.907608e-05, 4.107956e-05, 4.318575e-05, 4.539993e-05, 4.772763e-05, 5.017468e-05, 5.274719e-05, 5.545160e-05, 5.829466e-05, 6.128350e-05, 6.442557e-05, 6.772874e-05, 7.120126e-05, 7.485183e-05, 7.868957e-05, 8.272407e-05, 8.696542e-05, 9.142423e-05, 9.611165e-05, 1.010394e-04, 1.062198e-04, 1.116658e-04, 1.173910e-04, 1.234098e-04, 1.297372e-04, 1.363889e-04, 1.433817e-04, 1.507331e-04, 1.584613e-04, 1.665858e-04, 1.751268e-04, 1.841058e-04, 1.935451e-04, 2.034684e-04, 2.139004e-04, 2.248673e-04, 2.363965e-04, 2.485168e-04, 2.612586e-04, 2.746536e-04, 2.887354e-04, 3.035391e-04, 3.191019e-04, 3.354626e-04, 3.526622e-04, 3.707435e-04, 3.897520e-04, 4.097350e-04, 4.307425e-04, 4.528272e-04, 4.760441e-04, 5.004514e-04, 5.261101e-04, 5.530844e-04, 5.814416e-04, 6.112528e-04, 6.425924e-04, 6.755388e-04, 7.101744e-04, 7.465858e-04, 7.848641e-04, 8.251049e-04, 8.674090e-04, 9.118820e-04, 9.586352e-04, 1.007785e-03, 1.059456e-03, 1.113775e-03, 1.170880e-03, 1.230912e-03, 1.294022e-03, 1.360368e-03, 1.430116e-03, 1.503439e-03, 1.580522e-03, 1.661557e-03, 1.746747e-03, 1.836305e-03, 1.930454e-03, 2.029431e-03, 2.133482e-03, 2.242868e-03, 2.357862e-03, 2.478752e-03, 2.605841e-03, 2.739445e-03, 2.879899e-03, 3.027555e-03, 3.182781e-03, 3.345965e-03, 3.517517e-03, 3.697864e-03, 3.887457e-03, 4.086771e-03, 4.296305e-03, 4.516581e-03, 4.748151e-03, 4.991594e-03, 5.247518e-03, 5.516564e-03, 5.799405e-03, 6.096747e-03, 6.409333e-03, 6.737947e-03, 7.083409e-03, 7.446583e-03, 7.828378e-03, 8.229747e-03, 8.651695e-03, 9.095277e-03, 9.561602e-03, 1.005184e-02, 1.056720e-02, 1.110900e-02, 1.167857e-02, 1.227734e-02, 1.290681e-02, 1.356856e-02, 1.426423e-02, 1.499558e-02, 1.576442e-02, 1.657268e-02, 1.742237e-02, 1.831564e-02, 1.925470e-02, 2.024191e-02, 2.127974e-02, 2.237077e-02, 2.351775e-02, 2.472353e-02, 2.599113e-02, 2.732372e-02, 2.872464e-02, 3.019738e-02, 3.174564e-02, 3.337327e-02, 3.508435e-02, 3.688317e-02, 3.877421e-02, 4.076220e-02, 4.285213e-02, 4.504920e-02, 4.735892e-02, 4.978707e-02, 5.233971e-02, 5.502322e-02, 5.784432e-02, 6.081006e-02, 6.392786e-02, 6.720551e-02, 7.065121e-02, 7.427358e-02, 7.808167e-02, 8.208500e-02, 8.629359e-02, 9.071795e-02, 9.536916e-02, 1.002588e-01, 1.053992e-01, 1.108032e-01, 1.164842e-01, 1.224564e-01, 1.287349e-01, 1.353353e-01, 1.422741e-01, 1.495686e-01, 1.572372e-01, 1.652989e-01, 1.737739e-01, 1.826835e-01, 1.920499e-01, 2.018965e-01, 2.122480e-01, 2.231302e-01, 2.345703e-01, 2.465970e-01, 2.592403e-01, 2.725318e-01, 2.865048e-01, 3.011942e-01, 3.166368e-01, 3.328711e-01, 3.499377e-01, 3.678794e-01, 3.867410e-01, 4.065697e-01, 4.274149e-01, 4.493290e-01, 4.723666e-01, 4.965853e-01, 5.220458e-01, 5.488116e-01, 5.769498e-01, 6.065307e-01, 6.376282e-01, 6.703200e-01, 7.046881e-01, 7.408182e-01, 7.788008e-01, 8.187308e-01, 8.607080e-01, 9.048374e-01, 9.512294e-01, 1.0e38>, zero_point = 0 : i64} : (tensor<3x10xi8>) -> tensor<3x10xui8>
  return %y : tensor<3x10xui8>
}

// -----

func.func @gather_channel_outside(%x: tensor<2x6x3x3xui4>) -> tensor<2x2x3x3xui4> {
  // expected-error @+1 {{channel index 6 is outside the input's 6 channels}}
  %h = "qnn.gather_channels"(%x) {indices = array<i32: 4, 6>, layout = "NCHW"} : (tensor<2x6x3x3xui4>) -> tensor<2x2x3x3xui4>
  return %h : tensor<2x2x3x3xui4>
}

// -----

func.func @gather_result_of_another_count(%x: tensor<2x6x3x3xui4>) -> tensor<2x3x3x3xui4> {
  // expected-error @+1 {{result must be tensor<2x2x3x3xui4> (the input's type with 2 channels), found tensor<2x3x3x3xui4>}}
  %h = "qnn.gather_channels"(%x) {indices = array<i32: 4, 5>, layout = "NCHW"} : (tensor<2x6x3x3xui4>) -> tensor<2x3x3x3xui4>
  return %h : tensor<2x3x3x3xui4>
}

// -----

func.func @quantize_step_per_channel_count(%x: tensor<1x3x8x8xf32>) -> tensor<1x3x8x8xui8> {
  // expected-error @+1 {{a 'sub' step of pre has 2 constants; the input has 3 channels (one constant, or one a channel)}}
  %q = "qnn.quantize"(%x) {layout = "NCHW", pre = [{op = "sub", k = array<f32: 0.5, 0.25>}], scale = 0.5 : f32} : (tensor<1x3x8x8xf32>) -> tensor<1x3x8x8xui8>
  return %q : tensor<1x3x8x8xui8>
}

// -----

func.func @quantize_step_unknown_op(%x: tensor<1x3x8x8xf32>) -> tensor<1x3x8x8xui8> {
  // expected-error @+1 {{attribute 'pre' must be [{op = "add" | "sub" | "mul" | "div" | "rsub" | "rdiv", k = array<f32: ...>}, ...]}}
  %q = "qnn.quantize"(%x) {layout = "NCHW", pre = [{op = "pow", k = array<f32: 2.0>}], scale = 0.5 : f32} : (tensor<1x3x8x8xf32>) -> tensor<1x3x8x8xui8>
  return %q : tensor<1x3x8x8xui8>
}

// -----

// An attribute the op does not declare is not ignored: a conv dilated elsewhere would be
// computed undilated.
func.func @conv_unknown_attribute(%x: tensor<1x3x8x8xi8>, %w: tensor<4x3x3x3xi8>) -> tensor<1x4x6x6xi32> {
  // expected-error @+1 {{does not take an attribute 'dilations' (it takes strides, padding, layout, kernel_layout, padding_value, groups; a discardable attribute needs a dialect prefix)}}
  %0 = "qnn.conv2d"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW", kernel_layout = "OIHW", dilations = array<i64: 2, 2>} : (tensor<1x3x8x8xi8>, tensor<4x3x3x3xi8>) -> tensor<1x4x6x6xi32>
  return %0 : tensor<1x4x6x6xi32>
}

// -----

func.func @relu_misspelled_attribute(%x: tensor<1x4x6x6xi8>) -> tensor<1x4x6x6xi8> {
  // expected-error @+1 {{does not take an attribute 'zero_pt'}}
  %0 = "qnn.relu"(%x) {layout = "NCHW", zero_pt = 3 : i64} : (tensor<1x4x6x6xi8>) -> tensor<1x4x6x6xi8>
  return %0 : tensor<1x4x6x6xi8>
}
