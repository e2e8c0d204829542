// A ResNet-50 downsampling bottleneck block (stage2.unit1: 256 -> 512 channels, stride 2) as
// HAWQ builds it, at batch 16 on sm_90: the 1x1 / 3x3 / 1x1 convs and the 1x1 identity conv
// satisfy tcconv's direct-kernel constraints (batch % 16, channels % 32 / % 8), so the block
// runs in HWNC with one transform in (on the 4-bit requantized input, the smallest tensor) and one
// out (the function's result is NCHW). conv -> relu -> requantize fuses twice; the last conv
// absorbs add(conv3 accumulator, identity conv) and the relu, and writes the next block's 4-bit
// input as its second result (the requantize of the wide sum, which is returned too); the
// identity conv's i32 result is the residual operand and keeps no epilogue of its own: its
// rescale (rhs scale) runs in the residual conv's 64-bit epilogue, since an i32 rescaled
// identity may not fit (rules/fusion.rs).
// RUN: nibble-opt %s --pass-pipeline='builtin.module(qnn-egraph-optimize,qnn-verify)' | FileCheck %s
// RUN: nibble-opt %s --pass-pipeline='builtin.module(qnn-egraph-optimize{target=sm_80},qnn-verify)' | FileCheck %s
// RUN: nibble-opt %s --pass-pipeline='builtin.module(qnn-egraph-optimize)' | mlir-opt-22 --irdl-file=%qnn_irdl > /dev/null

// CHECK-LABEL: func.func @bottleneck_block
// CHECK: %[[A:.*]] = "qnn.requantize"(%arg0) {{.*}} -> tensor<16x256x8x8xui4>
// CHECK: %[[T:.*]] = "qnn.layout_transform"(%[[A]]) {dst_layout = "HWNC", src_layout = "NCHW"} : (tensor<16x256x8x8xui4>) -> tensor<8x8x16x256xui4>
// CHECK: %[[A1:.*]] = "qnn.conv2d_fused"(%[[T]], {{.*}}epilogue = "requantize", {{.*}}layout = "HWNC", {{.*}}relu = true
// CHECK: %[[A2:.*]] = "qnn.conv2d_fused"(%[[A1]], {{.*}}epilogue = "requantize", {{.*}}layout = "HWNC", {{.*}}relu = true
// CHECK: %[[ID:.*]] = "qnn.conv2d"(%[[T]], {{.*}}layout = "HWNC", {{.*}} -> tensor<4x4x16x512xi32>
// CHECK: %[[Y:.*]]:2 = "qnn.conv2d_fused"(%[[A2]], %{{.*}}, %{{.*}}, %[[ID]]) {{.*}}epilogue = "residual", {{.*}}layout = "HWNC", {{.*}}relu = true, {{.*}}second_clamp = array<i64: 0, 15>, second_multiplier = array<i32: 1342218220>, second_rounding = "half_to_even", second_shift = array<i32: 39>, second_zero_point = 0 : i64
// CHECK-SAME: -> (tensor<4x4x16x512xi32>, tensor<4x4x16x512xui4>)
// CHECK: %[[YT:.*]] = "qnn.layout_transform"(%[[Y]]#0) {dst_layout = "NCHW", src_layout = "HWNC"}
// CHECK: %[[N:.*]] = "qnn.layout_transform"(%[[Y]]#1) {dst_layout = "NCHW", src_layout = "HWNC"}
// CHECK: return %[[YT]], %[[N]]
// CHECK-NOT: "qnn.relu"
// CHECK-NOT: "qnn.add"
// CHECK-NOT: "qnn.requantize"
func.func @bottleneck_block(%r: tensor<16x256x8x8xi32>) -> (tensor<16x512x4x4xi32>, tensor<16x512x4x4xui4>) {
  %a = "qnn.requantize"(%r) {multiplier = array<i32: 1342218220>, shift = array<i32: 39>, clamp = array<i64: 0, 15>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<16x256x8x8xi32>) -> tensor<16x256x8x8xui4>
  %identity_w = "qnn.weight"() {name = "identity.weight_integer"} : () -> tensor<512x256x1x1xi4>
  %identity_b = "qnn.weight"() {name = "identity.bias_integer"} : () -> tensor<512xi32>
  %identity = "qnn.conv2d"(%a, %identity_w, %identity_b) {strides = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<16x256x8x8xui4>, tensor<512x256x1x1xi4>, tensor<512xi32>) -> tensor<16x512x4x4xi32>
  %conv1_w = "qnn.weight"() {name = "conv1.weight_integer"} : () -> tensor<128x256x1x1xi4>
  %conv1_b = "qnn.weight"() {name = "conv1.bias_integer"} : () -> tensor<128xi32>
  %conv1 = "qnn.conv2d"(%a, %conv1_w, %conv1_b) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<16x256x8x8xui4>, tensor<128x256x1x1xi4>, tensor<128xi32>) -> tensor<16x128x8x8xi32>
  %z1 = "qnn.relu"(%conv1) {layout = "NCHW"} : (tensor<16x128x8x8xi32>) -> tensor<16x128x8x8xi32>
  %a1 = "qnn.requantize"(%z1) {multiplier = array<i32: 2071395169>, shift = array<i32: 36>, clamp = array<i64: 0, 15>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<16x128x8x8xi32>) -> tensor<16x128x8x8xui4>
  %conv2_w = "qnn.weight"() {name = "conv2.weight_integer"} : () -> tensor<128x128x3x3xi4>
  %conv2_b = "qnn.weight"() {name = "conv2.bias_integer"} : () -> tensor<128xi32>
  %conv2 = "qnn.conv2d"(%a1, %conv2_w, %conv2_b) {strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<16x128x8x8xui4>, tensor<128x128x3x3xi4>, tensor<128xi32>) -> tensor<16x128x4x4xi32>
  %z2 = "qnn.relu"(%conv2) {layout = "NCHW"} : (tensor<16x128x4x4xi32>) -> tensor<16x128x4x4xi32>
  %a2 = "qnn.requantize"(%z2) {multiplier = array<i32: 2071395169>, shift = array<i32: 36>, clamp = array<i64: 0, 15>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<16x128x4x4xi32>) -> tensor<16x128x4x4xui4>
  %conv3_w = "qnn.weight"() {name = "conv3.weight_integer"} : () -> tensor<512x128x1x1xi4>
  %conv3_b = "qnn.weight"() {name = "conv3.bias_integer"} : () -> tensor<512xi32>
  %conv3 = "qnn.conv2d"(%a2, %conv3_w, %conv3_b) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<16x128x4x4xui4>, tensor<512x128x1x1xi4>, tensor<512xi32>) -> tensor<16x512x4x4xi32>
  %sum = "qnn.add"(%conv3, %identity) {lhs_multiplier = array<i32: 1390354370>, lhs_shift = array<i32: 41>, rhs_multiplier = array<i32: 1073741824>, rhs_shift = array<i32: 30>, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, layout = "NCHW"} : (tensor<16x512x4x4xi32>, tensor<16x512x4x4xi32>) -> tensor<16x512x4x4xi32>
  %y = "qnn.relu"(%sum) {layout = "NCHW"} : (tensor<16x512x4x4xi32>) -> tensor<16x512x4x4xi32>
  %next = "qnn.requantize"(%y) {multiplier = array<i32: 1342218220>, shift = array<i32: 39>, clamp = array<i64: 0, 15>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<16x512x4x4xi32>) -> tensor<16x512x4x4xui4>
  return %y, %next : tensor<16x512x4x4xi32>, tensor<16x512x4x4xui4>
}
