// With maxpool=stem, a max pool whose input only it reads runs in the kernel of the stem conv
// that writes that input, where the register-MMA kernel with taps along K takes the pair (a
// packed 4-bit output of at most 64 channels) at batch <= 8: one tcconv.conv2d writing the
// pooled map, with the pool as its pool_* attributes; the conv's own map is never stored
// (dialects/tcconv/src/lower.rs, fold_max_pools_into_stems). A larger batch, a second reader
// of the conv's map, 8-bit outputs and the default (maxpool=separate) keep the pool apart.
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 maxpool=stem},tcconv-verify)' | FileCheck %s
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90},tcconv-verify)' | FileCheck %s --check-prefix=SEPARATE
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 maxpool=stem},tcconv-verify)' | mlir-opt-22 --allow-unregistered-dialect | FileCheck %s
// RUN: not nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 maxpool=conv})' 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: maxpool 'conv' is not separate or stem

// CHECK-LABEL: func.func @stem_pool
// CHECK-NOT: "tcconv.pool2d"
// CHECK: "tcconv.conv2d"
// CHECK-SAME: family = "mma"
// CHECK-SAME: pool_kernel = array<i64: 3, 3>, pool_padding = array<i64: 1, 1, 1, 1>, pool_strides = array<i64: 2, 2>
// CHECK-SAME: (memref<1x39x39x4xi8>, memref<16x7x7x4xi8>, memref<16xi32>, memref<1x10x10x2xi32>) -> ()
// CHECK-NOT: "tcconv.pool2d"
// SEPARATE-LABEL: func.func @stem_pool
// SEPARATE: "tcconv.conv2d"
// SEPARATE-NOT: pool_kernel
// SEPARATE: "tcconv.pool2d"
func.func @stem_pool(%x: tensor<1x39x39x3xi8>) -> tensor<1x10x10x16xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<16x3x7x7xi8>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<16xi32>
  %y = "qnn.conv2d_fused"(%x, %w, %b) {clamp = array<i64: 0, 15>, epilogue = "requantize", kernel_layout = "OIHW", layout = "NHWC", multiplier = array<i32: 1518500250>, operandSegmentSizes = array<i32: 1, 1, 1, 0>, padding = array<i64: 3, 3, 3, 3>, relu = true, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 40>, strides = array<i64: 2, 2>, zero_point = 0 : i64} : (tensor<1x39x39x3xi8>, tensor<16x3x7x7xi8>, tensor<16xi32>) -> tensor<1x20x20x16xui4>
  %p = "qnn.max_pool2d"(%y) {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, layout = "NHWC"} : (tensor<1x20x20x16xui4>) -> tensor<1x10x10x16xui4>
  return %p : tensor<1x10x10x16xui4>
}

// CHECK-LABEL: func.func @batch_above_eight
// CHECK: "tcconv.conv2d"
// CHECK-NOT: pool_kernel
// CHECK: "tcconv.pool2d"
func.func @batch_above_eight(%x: tensor<9x39x39x3xi8>) -> tensor<9x10x10x16xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<16x3x7x7xi8>
  %y = "qnn.conv2d_fused"(%x, %w) {clamp = array<i64: 0, 15>, epilogue = "requantize", kernel_layout = "OIHW", layout = "NHWC", multiplier = array<i32: 1518500250>, operandSegmentSizes = array<i32: 1, 1, 0, 0>, padding = array<i64: 3, 3, 3, 3>, relu = true, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 40>, strides = array<i64: 2, 2>, zero_point = 0 : i64} : (tensor<9x39x39x3xi8>, tensor<16x3x7x7xi8>) -> tensor<9x20x20x16xui4>
  %p = "qnn.max_pool2d"(%y) {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, layout = "NHWC"} : (tensor<9x20x20x16xui4>) -> tensor<9x10x10x16xui4>
  return %p : tensor<9x10x10x16xui4>
}

// CHECK-LABEL: func.func @map_also_returned
// CHECK: "tcconv.conv2d"
// CHECK-NOT: pool_kernel
// CHECK: "tcconv.pool2d"
func.func @map_also_returned(%x: tensor<1x39x39x3xi8>) -> (tensor<1x10x10x16xui4>, tensor<1x20x20x16xui4>) {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<16x3x7x7xi8>
  %y = "qnn.conv2d_fused"(%x, %w) {clamp = array<i64: 0, 15>, epilogue = "requantize", kernel_layout = "OIHW", layout = "NHWC", multiplier = array<i32: 1518500250>, operandSegmentSizes = array<i32: 1, 1, 0, 0>, padding = array<i64: 3, 3, 3, 3>, relu = true, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 40>, strides = array<i64: 2, 2>, zero_point = 0 : i64} : (tensor<1x39x39x3xi8>, tensor<16x3x7x7xi8>) -> tensor<1x20x20x16xui4>
  %p = "qnn.max_pool2d"(%y) {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, layout = "NHWC"} : (tensor<1x20x20x16xui4>) -> tensor<1x10x10x16xui4>
  return %p, %y : tensor<1x10x10x16xui4>, tensor<1x20x20x16xui4>
}

// 8-bit outputs: the kernel stages packed 4-bit words only
// CHECK-LABEL: func.func @eight_bit_map
// CHECK: "tcconv.conv2d"
// CHECK-NOT: pool_kernel
// CHECK: "tcconv.pool2d"
func.func @eight_bit_map(%x: tensor<1x39x39x3xi8>) -> tensor<1x10x10x16xui8> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<16x3x7x7xi8>
  %y = "qnn.conv2d_fused"(%x, %w) {clamp = array<i64: 0, 255>, epilogue = "requantize", kernel_layout = "OIHW", layout = "NHWC", multiplier = array<i32: 1518500250>, operandSegmentSizes = array<i32: 1, 1, 0, 0>, padding = array<i64: 3, 3, 3, 3>, relu = true, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 40>, strides = array<i64: 2, 2>, zero_point = 0 : i64} : (tensor<1x39x39x3xi8>, tensor<16x3x7x7xi8>) -> tensor<1x20x20x16xui8>
  %p = "qnn.max_pool2d"(%y) {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, layout = "NHWC"} : (tensor<1x20x20x16xui8>) -> tensor<1x10x10x16xui8>
  return %p : tensor<1x10x10x16xui8>
}
