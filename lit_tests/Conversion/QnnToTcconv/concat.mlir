// qnn.concat lowers to one tcconv.concat that reads each operand's buffer as it was produced
// (its own layout and channel padding) and writes the concatenation: the conv results feeding
// it are written in the concat's layout, so no relayout runs between them.
// RUN: nibble-opt %s --pass-pipeline='builtin.module(qnn-egraph-optimize{target=sm_80},convert-qnn-to-tcconv{target=sm_80},tcconv-verify)' | FileCheck %s

// CHECK-LABEL: func.func @concat_4bit_odd_channels
// CHECK-SAME: %arg0: memref<2x3x3x1xi32> {tcconv.dims = array<i64: 2, 5, 3, 3>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}
// CHECK-SAME: %arg1: memref<2x3x3x2xi32> {tcconv.dims = array<i64: 2, 11, 3, 3>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}
// CHECK: "tcconv.concat"(%arg0, %arg1, %arg2) : (memref<2x3x3x1xi32>, memref<2x3x3x2xi32>, memref<2x3x3x2xi32>) -> ()
// CHECK-NEXT: return
func.func @concat_4bit_odd_channels(%a: tensor<2x5x3x3xui4>, %b: tensor<2x11x3x3xui4>) -> tensor<2x16x3x3xui4> {
  %y = "qnn.concat"(%a, %b) {layout = "NCHW"} : (tensor<2x5x3x3xui4>, tensor<2x11x3x3xui4>) -> tensor<2x16x3x3xui4>
  return %y : tensor<2x16x3x3xui4>
}

// CHECK-LABEL: func.func @concat_of_conv_results
// CHECK: %[[A:.*]] = "tcconv.alloc"() {dims = array<i64: 8, 64, 4, 4>, elem = "ui4", layout = "NHWC"}
// CHECK: %[[B:.*]] = "tcconv.alloc"() {dims = array<i64: 8, 32, 4, 4>, elem = "ui4", layout = "NHWC"}
// CHECK-NOT: tcconv.relayout
// CHECK: "tcconv.conv2d"(%arg0, %{{.*}}, %[[A]])
// CHECK: "tcconv.conv2d"(%arg0, %{{.*}}, %[[B]])
// CHECK-NEXT: "tcconv.concat"(%[[A]], %[[B]], %arg1) : (memref<8x4x4x8xi32>, memref<8x4x4x4xi32>, memref<8x4x4x12xi32>) -> ()
func.func @concat_of_conv_results(%x: tensor<8x64x4x4xui4>) -> tensor<8x96x4x4xui4> {
  %w1 = "qnn.weight"() {name = "w1"} : () -> tensor<64x64x1x1xi4>
  %w2 = "qnn.weight"() {name = "w2"} : () -> tensor<32x64x3x3xi4>
  %c1 = "qnn.conv2d"(%x, %w1) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<8x64x4x4xui4>, tensor<64x64x1x1xi4>) -> tensor<8x64x4x4xi32>
  %r1 = "qnn.requantize"(%c1) {multiplier = array<i32: 1073741824>, shift = array<i32: 36>, clamp = array<i64: 0, 15>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<8x64x4x4xi32>) -> tensor<8x64x4x4xui4>
  %c2 = "qnn.conv2d"(%x, %w2) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<8x64x4x4xui4>, tensor<32x64x3x3xi4>) -> tensor<8x32x4x4xi32>
  %r2 = "qnn.requantize"(%c2) {multiplier = array<i32: 1073741824>, shift = array<i32: 36>, clamp = array<i64: 0, 15>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<8x32x4x4xi32>) -> tensor<8x32x4x4xui4>
  %y = "qnn.concat"(%r1, %r2) {layout = "NCHW"} : (tensor<8x64x4x4xui4>, tensor<8x32x4x4xui4>) -> tensor<8x96x4x4xui4>
  return %y : tensor<8x96x4x4xui4>
}
