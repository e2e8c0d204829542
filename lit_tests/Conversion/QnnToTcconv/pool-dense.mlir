// With pools=dense, a global max / average pool whose only reader is a dense layer runs in the
// dense kernel at batch <= 8: tcconv.dense reads the map and carries the pool as pool_*
// attributes (with the pool's requantize), and no tcconv.pool2d is left (dialects/tcconv/src/
// lower.rs, fold_pools_into_dense). A larger batch, a pooled value that is also returned or a
// window smaller than the map keep the pool its own kernel, as every pool is by default.
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 pools=dense},tcconv-verify)' | FileCheck %s
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90},tcconv-verify)' | FileCheck %s --check-prefix=SEPARATE
// RUN: not nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 pools=min})' 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: pools 'min' is not separate or dense

// CHECK-LABEL: func.func @avg_pool_requantize_dense
// CHECK-NOT: tcconv.pool2d
// CHECK: "tcconv.dense"(%arg0, %{{.*}}, %{{.*}}, %arg1) {{{.*}}dequantize = array<f32: 1.250000e-01>, {{.*}}pool = "avg", pool_clamp = array<i64: -128, 127>, pool_elem = "i8", pool_multiplier = array<i32: 1073741824, 1073741825, 1073741826>, pool_rounding = "half_to_even", pool_shift = array<i32: 36, 36, 37>, pool_split = 1 : i64, pool_zero_point = 0 : i64, {{.*}} : (memref<2x7x7x3xi32>, memref<4x4xi8>, memref<4xi32>, memref<2x4xf32>)
// CHECK-NOT: tcconv.pool2d
// CHECK: return
// SEPARATE-LABEL: func.func @avg_pool_requantize_dense
// SEPARATE: "tcconv.pool2d"
// SEPARATE: "tcconv.dense"
// SEPARATE-NOT: pool =
func.func @avg_pool_requantize_dense(%x: tensor<2x3x7x7xi32>) -> tensor<2x4xf32> {
  %g = "qnn.avg_pool2d"(%x) {kernel = array<i64: 7, 7>, strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW"} : (tensor<2x3x7x7xi32>) -> tensor<2x3x1x1xi32>
  %q = "qnn.requantize"(%g) {multiplier = array<i32: 1073741824, 1073741825, 1073741826>, shift = array<i32: 36, 36, 37>, clamp = array<i64: -128, 127>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<2x3x1x1xi32>) -> tensor<2x3x1x1xi8>
  %f = "qnn.flatten"(%q) {layout = "NCHW"} : (tensor<2x3x1x1xi8>) -> tensor<2x3xi8>
  %w = "qnn.weight"() {name = "w"} : () -> tensor<4x3xi8>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<4xi32>
  %d = "qnn.dense"(%f, %w, %b) : (tensor<2x3xi8>, tensor<4x3xi8>, tensor<4xi32>) -> tensor<2x4xi32>
  %y = "qnn.dequantize"(%d) {scale = array<f32: 0.125>, layout = "NC"} : (tensor<2x4xi32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// 300 channels: 32 blocks of ceil(300 / 32) = 10 channels, rounded up to 16 (whole words of
// weights): 19 blocks.
// CHECK-LABEL: func.func @max_pool_dense
// CHECK-NOT: tcconv.pool2d
// CHECK: "tcconv.dense"{{.*}}pool = "max", pool_elem = "ui4", pool_split = 19 : i64{{.*}} : (memref<8x2x2x38xi32>,
func.func @max_pool_dense(%x: tensor<8x300x2x2xui4>) -> tensor<8x5xi32> {
  %g = "qnn.max_pool2d"(%x) {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW"} : (tensor<8x300x2x2xui4>) -> tensor<8x300x1x1xui4>
  %f = "qnn.flatten"(%g) {layout = "NCHW"} : (tensor<8x300x1x1xui4>) -> tensor<8x300xui4>
  %w = "qnn.weight"() {name = "w"} : () -> tensor<5x300xi8>
  %d = "qnn.dense"(%f, %w) : (tensor<8x300xui4>, tensor<5x300xi8>) -> tensor<8x5xi32>
  return %d : tensor<8x5xi32>
}

// CHECK-LABEL: func.func @batch_above_eight
// CHECK: "tcconv.pool2d"
// CHECK: "tcconv.dense"
// CHECK-NOT: pool =
func.func @batch_above_eight(%x: tensor<9x16x3x3xi8>) -> tensor<9x5xi32> {
  %g = "qnn.avg_pool2d"(%x) {kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW"} : (tensor<9x16x3x3xi8>) -> tensor<9x16x1x1xi8>
  %f = "qnn.flatten"(%g) {layout = "NCHW"} : (tensor<9x16x1x1xi8>) -> tensor<9x16xi8>
  %w = "qnn.weight"() {name = "w"} : () -> tensor<5x16xi8>
  %d = "qnn.dense"(%f, %w) : (tensor<9x16xi8>, tensor<5x16xi8>) -> tensor<9x5xi32>
  return %d : tensor<9x5xi32>
}

// CHECK-LABEL: func.func @pooled_value_returned
// CHECK: "tcconv.pool2d"
// CHECK: "tcconv.dense"
// CHECK-NOT: pool =
func.func @pooled_value_returned(%x: tensor<2x16x3x3xi8>) -> (tensor<2x5xi32>, tensor<2x16x1x1xi8>) {
  %g = "qnn.avg_pool2d"(%x) {kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW"} : (tensor<2x16x3x3xi8>) -> tensor<2x16x1x1xi8>
  %f = "qnn.flatten"(%g) {layout = "NCHW"} : (tensor<2x16x1x1xi8>) -> tensor<2x16xi8>
  %w = "qnn.weight"() {name = "w"} : () -> tensor<5x16xi8>
  %d = "qnn.dense"(%f, %w) : (tensor<2x16xi8>, tensor<5x16xi8>) -> tensor<2x5xi32>
  return %d, %g : tensor<2x5xi32>, tensor<2x16x1x1xi8>
}

// CHECK-LABEL: func.func @window_smaller_than_the_map
// CHECK: "tcconv.pool2d"
// CHECK: "tcconv.dense"
// CHECK-NOT: pool =
func.func @window_smaller_than_the_map(%x: tensor<2x16x4x4xi8>) -> tensor<2x5xi32> {
  %g = "qnn.avg_pool2d"(%x) {kernel = array<i64: 3, 3>, strides = array<i64: 3, 3>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW"} : (tensor<2x16x4x4xi8>) -> tensor<2x16x1x1xi8>
  %f = "qnn.flatten"(%g) {layout = "NCHW"} : (tensor<2x16x1x1xi8>) -> tensor<2x16xi8>
  %w = "qnn.weight"() {name = "w"} : () -> tensor<5x16xi8>
  %d = "qnn.dense"(%f, %w) : (tensor<2x16xi8>, tensor<5x16xi8>) -> tensor<2x5xi32>
  return %d : tensor<2x5xi32>
}
