// A requantize that is a pool's only reader runs in the pool kernel: one tcconv.pool2d with the
// requantize's attributes writes the requantized map, and the pooled i32 map is never stored
// (dialects/tcconv/src/lower.rs, fused_requantize). A pooled value the function returns, or
// that two ops read, keeps its own buffer.
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90},tcconv-verify)' | FileCheck %s

// CHECK-LABEL: func.func @avg_pool_then_requantize
// CHECK: "tcconv.pool2d"(%arg0, %arg1) {clamp = array<i64: -128, 127>, kernel = array<i64: 7, 7>, kind = "avg", multiplier = array<i32: 1073741824, 1073741825, 1073741826>, padding = array<i64: 0, 0, 0, 0>, rounding = "half_to_even", shift = array<i32: 36, 36, 37>, strides = array<i64: 1, 1>, zero_point = 3 : i64} : (memref<5x7x7x3xi32>, memref<5x1x1x4xi8>)
// CHECK-NOT: tcconv.elementwise
// CHECK: return
func.func @avg_pool_then_requantize(%x: tensor<5x3x7x7xi32>) -> tensor<5x3x1x1xi8> {
  %g = "qnn.avg_pool2d"(%x) {kernel = array<i64: 7, 7>, strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW"} : (tensor<5x3x7x7xi32>) -> tensor<5x3x1x1xi32>
  %q = "qnn.requantize"(%g) {multiplier = array<i32: 1073741824, 1073741825, 1073741826>, shift = array<i32: 36, 36, 37>, clamp = array<i64: -128, 127>, zero_point = 3 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<5x3x1x1xi32>) -> tensor<5x3x1x1xi8>
  return %q : tensor<5x3x1x1xi8>
}

// CHECK-LABEL: func.func @max_pool_then_requantize
// CHECK: "tcconv.pool2d"(%arg0, %arg1) {clamp = array<i64: 0, 15>, kernel = array<i64: 3, 3>, kind = "max", multiplier = array<i32: 1073741824>, padding = array<i64: 1, 1, 1, 1>, rounding = "half_up", shift = array<i32: 40>, strides = array<i64: 2, 2>, zero_point = 0 : i64} : (memref<2x9x9x16xi32>, memref<2x5x5x2xi32>)
// CHECK-NOT: tcconv.elementwise
// CHECK: return
func.func @max_pool_then_requantize(%x: tensor<2x16x9x9xi32>) -> tensor<2x16x5x5xui4> {
  %g = "qnn.max_pool2d"(%x) {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW"} : (tensor<2x16x9x9xi32>) -> tensor<2x16x5x5xi32>
  %q = "qnn.requantize"(%g) {multiplier = array<i32: 1073741824>, shift = array<i32: 40>, clamp = array<i64: 0, 15>, zero_point = 0 : i64, rounding = "half_up", layout = "NCHW"} : (tensor<2x16x5x5xi32>) -> tensor<2x16x5x5xui4>
  return %q : tensor<2x16x5x5xui4>
}

// CHECK-LABEL: func.func @pooled_result_is_returned
// CHECK: "tcconv.pool2d"(%arg0, %arg2) {kernel = array<i64: 7, 7>, kind = "avg", padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>}
// CHECK-NEXT: "tcconv.elementwise"(%arg2, %arg1) {{{.*}}kind = "requantize"
func.func @pooled_result_is_returned(%x: tensor<5x3x7x7xi32>) -> (tensor<5x3x1x1xi8>, tensor<5x3x1x1xi32>) {
  %g = "qnn.avg_pool2d"(%x) {kernel = array<i64: 7, 7>, strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW"} : (tensor<5x3x7x7xi32>) -> tensor<5x3x1x1xi32>
  %q = "qnn.requantize"(%g) {multiplier = array<i32: 1073741824>, shift = array<i32: 36>, clamp = array<i64: -128, 127>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<5x3x1x1xi32>) -> tensor<5x3x1x1xi8>
  return %q, %g : tensor<5x3x1x1xi8>, tensor<5x3x1x1xi32>
}

// CHECK-LABEL: func.func @pooled_value_read_twice
// CHECK: "tcconv.pool2d"{{.*}}kind = "avg", padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (memref<5x7x7x3xi32>, memref<5x1x1x3xi32>)
// CHECK-NEXT: "tcconv.elementwise"{{.*}}kind = "requantize"
// CHECK-NEXT: "tcconv.elementwise"{{.*}}kind = "requantize"
func.func @pooled_value_read_twice(%x: tensor<5x3x7x7xi32>) -> (tensor<5x3x1x1xi8>, tensor<5x3x1x1xui4>) {
  %g = "qnn.avg_pool2d"(%x) {kernel = array<i64: 7, 7>, strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW"} : (tensor<5x3x7x7xi32>) -> tensor<5x3x1x1xi32>
  %q = "qnn.requantize"(%g) {multiplier = array<i32: 1073741824>, shift = array<i32: 36>, clamp = array<i64: -128, 127>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<5x3x1x1xi32>) -> tensor<5x3x1x1xi8>
  %r = "qnn.requantize"(%g) {multiplier = array<i32: 1073741824>, shift = array<i32: 38>, clamp = array<i64: 0, 15>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<5x3x1x1xi32>) -> tensor<5x3x1x1xui4>
  return %q, %r : tensor<5x3x1x1xi8>, tensor<5x3x1x1xui4>
}
