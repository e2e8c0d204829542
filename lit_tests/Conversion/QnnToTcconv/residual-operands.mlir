// A fused conv's operands are (input, weight, bias?, residual?): with a residual and no bias its
// third operand is the residual, an activation (not a weight to pack).
// RUN: nibble-opt %s --split-input-file --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_80})' | FileCheck %s

// CHECK-LABEL: func.func @residual_no_bias
// CHECK-SAME: %arg0: memref<1x4x4x1xi32>{{.*}}, %arg1: memref<1x4x4x8xi32>{{.*}}, %arg2: memref<1x4x4x8xi32>
// CHECK: %[[W:.*]] = "tcconv.weight"() {{.*}}source = "w"
// CHECK: "tcconv.conv2d"(%arg0, %[[W]], %arg1, %arg2) {{.*}}epilogue = "residual"{{.*}}operandSegmentSizes = array<i32: 1, 1, 0, 1, 1, 0, 0, 0, 0>
func.func @residual_no_bias(%x: tensor<1x8x4x4xui4>, %id: tensor<1x8x4x4xi32>) -> tensor<1x8x4x4xi32> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<8x8x3x3xi4>
  %c = "qnn.conv2d_fused"(%x, %w, %id) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 36>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = true, operandSegmentSizes = array<i32: 1, 1, 0, 1>} : (tensor<1x8x4x4xui4>, tensor<8x8x3x3xi4>, tensor<1x8x4x4xi32>) -> tensor<1x8x4x4xi32>
  return %c : tensor<1x8x4x4xi32>
}
