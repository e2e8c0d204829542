// With quantize=fused, a quantize whose only reader (directly or through layout transforms) is
// a conv of at most 4 8-bit input channels runs in that conv's loader where its kernel is the
// register-MMA one with taps along K on a grid of at most 8 warps an SM (tcconv's
// fuses_input_quantize): one tcconv.conv2d reading the f32 input, with the quantize as its
// input_* attributes; the quantized tensor is never stored. A larger grid (batch 256 here), 16
// input channels, a second reader or the default (quantize=separate) keep the quantize apart.
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 quantize=fused},tcconv-verify)' | FileCheck %s
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90},tcconv-verify)' | FileCheck %s --check-prefix=SEPARATE
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 quantize=fused},tcconv-verify)' | mlir-opt-22 --allow-unregistered-dialect | FileCheck %s
// RUN: not nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 quantize=inline})' 2>&1 | FileCheck %s --check-prefix=BAD

// CHECK-LABEL: func.func @stem
// CHECK-NOT: "tcconv.quantize"
// CHECK: "tcconv.conv2d"(%arg0,
// CHECK-SAME: family = "mma"
// CHECK-SAME: input_elem = "i8", input_layout = "NHWC", input_mode = "divide", input_scale = 2.100000e-02 : f32, input_zero_point = 5 : i64
// CHECK-SAME: (memref<1x3x39x39xf32>, memref<16x7x7x4xi8>, memref<16xi32>, memref<1x20x20x2xi32>) -> ()
// CHECK-NOT: "tcconv.quantize"
// SEPARATE-LABEL: func.func @stem
// SEPARATE: "tcconv.quantize"(%arg0
// SEPARATE: "tcconv.conv2d"
// SEPARATE-NOT: input_scale
func.func @stem(%x: tensor<1x3x39x39xf32>) -> tensor<1x16x20x20xui4> {
  %q = "qnn.quantize"(%x) {layout = "NCHW", mode = "divide", scale = 0.021 : f32, zero_point = 5 : i64} : (tensor<1x3x39x39xf32>) -> tensor<1x3x39x39xi8>
  %t = "qnn.layout_transform"(%q) {dst_layout = "NHWC", src_layout = "NCHW"} : (tensor<1x3x39x39xi8>) -> tensor<1x39x39x3xi8>
  %w = "qnn.weight"() {name = "w"} : () -> tensor<16x3x7x7xi8>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<16xi32>
  %y = "qnn.conv2d_fused"(%t, %w, %b) {clamp = array<i64: 0, 15>, epilogue = "requantize", kernel_layout = "OIHW", layout = "NHWC", multiplier = array<i32: 1518500250>, operandSegmentSizes = array<i32: 1, 1, 1, 0>, padding = array<i64: 3, 3, 3, 3>, relu = true, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 40>, strides = array<i64: 2, 2>, zero_point = 0 : i64} : (tensor<1x39x39x3xi8>, tensor<16x3x7x7xi8>, tensor<16xi32>) -> tensor<1x20x20x16xui4>
  %r = "qnn.layout_transform"(%y) {dst_layout = "NCHW", src_layout = "NHWC"} : (tensor<1x20x20x16xui4>) -> tensor<1x16x20x20xui4>
  return %r : tensor<1x16x20x20xui4>
}

// CHECK-LABEL: func.func @big_grid
// CHECK: "tcconv.quantize"
// CHECK: "tcconv.conv2d"
// CHECK-NOT: input_scale
func.func @big_grid(%x: tensor<256x3x39x39xf32>) -> tensor<256x16x20x20xui4> {
  %q = "qnn.quantize"(%x) {layout = "NCHW", scale = 0.021 : f32} : (tensor<256x3x39x39xf32>) -> tensor<256x3x39x39xi8>
  %w = "qnn.weight"() {name = "w"} : () -> tensor<16x3x7x7xi8>
  %y = "qnn.conv2d_fused"(%q, %w) {clamp = array<i64: 0, 15>, epilogue = "requantize", kernel_layout = "OIHW", layout = "NCHW", multiplier = array<i32: 1518500250>, operandSegmentSizes = array<i32: 1, 1, 0, 0>, padding = array<i64: 3, 3, 3, 3>, relu = true, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 40>, strides = array<i64: 2, 2>, zero_point = 0 : i64} : (tensor<256x3x39x39xi8>, tensor<16x3x7x7xi8>) -> tensor<256x16x20x20xui4>
  return %y : tensor<256x16x20x20xui4>
}

// CHECK-LABEL: func.func @sixteen_channels
// CHECK: "tcconv.quantize"
// CHECK: "tcconv.conv2d"
// CHECK-NOT: input_scale
func.func @sixteen_channels(%x: tensor<1x16x39x39xf32>) -> tensor<1x16x20x20xui4> {
  %q = "qnn.quantize"(%x) {layout = "NCHW", scale = 0.021 : f32} : (tensor<1x16x39x39xf32>) -> tensor<1x16x39x39xi8>
  %w = "qnn.weight"() {name = "w16"} : () -> tensor<16x16x7x7xi8>
  %y = "qnn.conv2d_fused"(%q, %w) {clamp = array<i64: 0, 15>, epilogue = "requantize", kernel_layout = "OIHW", layout = "NCHW", multiplier = array<i32: 1518500250>, operandSegmentSizes = array<i32: 1, 1, 0, 0>, padding = array<i64: 3, 3, 3, 3>, relu = true, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 40>, strides = array<i64: 2, 2>, zero_point = 0 : i64} : (tensor<1x16x39x39xi8>, tensor<16x16x7x7xi8>) -> tensor<1x16x20x20xui4>
  return %y : tensor<1x16x20x20xui4>
}

// CHECK-LABEL: func.func @two_readers
// CHECK: "tcconv.quantize"
// CHECK-NOT: input_scale
func.func @two_readers(%x: tensor<1x3x39x39xf32>) -> (tensor<1x16x20x20xui4>, tensor<1x3x39x39xi8>) {
  %q = "qnn.quantize"(%x) {layout = "NCHW", scale = 0.021 : f32} : (tensor<1x3x39x39xf32>) -> tensor<1x3x39x39xi8>
  %w = "qnn.weight"() {name = "w"} : () -> tensor<16x3x7x7xi8>
  %y = "qnn.conv2d_fused"(%q, %w) {clamp = array<i64: 0, 15>, epilogue = "requantize", kernel_layout = "OIHW", layout = "NCHW", multiplier = array<i32: 1518500250>, operandSegmentSizes = array<i32: 1, 1, 0, 0>, padding = array<i64: 3, 3, 3, 3>, relu = true, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 40>, strides = array<i64: 2, 2>, zero_point = 0 : i64} : (tensor<1x3x39x39xi8>, tensor<16x3x7x7xi8>) -> tensor<1x16x20x20xui4>
  return %y, %q : tensor<1x16x20x20xui4>, tensor<1x3x39x39xi8>
}

// BAD: quantize 'inline' is not separate or fused
