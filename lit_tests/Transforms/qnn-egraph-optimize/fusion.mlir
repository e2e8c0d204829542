// Epilogue fusion into qnn.conv2d_fused, and the chains that must not fuse
// (rules and proofs: compiler/src/egraph/rules/fusion.rs, pooling.rs).
// RUN: nibble-opt %s --split-input-file --pass-pipeline='builtin.module(qnn-egraph-optimize,qnn-verify)' | FileCheck %s

// conv -> requantize: the requantize (zero point included) becomes the epilogue.
// CHECK-LABEL: func.func @conv_requantize
// CHECK-NOT: "qnn.requantize"
// CHECK: "qnn.conv2d_fused"({{.*}}) {clamp = array<i64: 0, 15>, epilogue = "requantize", {{.*}}relu = false, {{.*}}zero_point = 3 : i64}
// CHECK-NOT: "qnn.requantize"
func.func @conv_requantize(%x: tensor<1x32x8x8xui4>) -> tensor<1x32x8x8xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<32x32x3x3xi4>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<32xi32>
  %c = "qnn.conv2d"(%x, %w, %b) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<1x32x8x8xui4>, tensor<32x32x3x3xi4>, tensor<32xi32>) -> tensor<1x32x8x8xi32>
  %q = "qnn.requantize"(%c) {multiplier = array<i32: 1342218220>, shift = array<i32: 36>, clamp = array<i64: 0, 15>, zero_point = 3 : i64, rounding = "half_up", layout = "NCHW"} : (tensor<1x32x8x8xi32>) -> tensor<1x32x8x8xui4>
  return %q : tensor<1x32x8x8xui4>
}

// -----

// conv -> relu -> requantize with zero point 0: requantize then relu in the epilogue.
// CHECK-LABEL: func.func @conv_relu_requantize
// CHECK: "qnn.conv2d_fused"({{.*}}) {clamp = array<i64: -128, 127>, epilogue = "requantize", {{.*}}relu = true, {{.*}}rounding = "truncate"
// CHECK-NOT: "qnn.relu"
// CHECK-NOT: "qnn.requantize"
func.func @conv_relu_requantize(%x: tensor<1x32x8x8xui4>) -> tensor<1x32x8x8xi8> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<32x32x3x3xi4>
  %c = "qnn.conv2d"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<1x32x8x8xui4>, tensor<32x32x3x3xi4>) -> tensor<1x32x8x8xi32>
  %r = "qnn.relu"(%c) {layout = "NCHW"} : (tensor<1x32x8x8xi32>) -> tensor<1x32x8x8xi32>
  %q = "qnn.requantize"(%r) {multiplier = array<i32: 1342218220>, shift = array<i32: 36>, clamp = array<i64: -128, 127>, zero_point = 0 : i64, rounding = "truncate", layout = "NCHW"} : (tensor<1x32x8x8xi32>) -> tensor<1x32x8x8xi8>
  return %q : tensor<1x32x8x8xi8>
}

// -----

// With a zero point, relu-then-requantize is not requantize-then-relu (x < 0 gives 3, not 0):
// the relu joins the conv (epilogue none), the requantize stays after it, as the epilogue's then
// step (the requantize of the relu'd i32 value, which is never stored).
// CHECK-LABEL: func.func @conv_relu_requantize_zero_point
// CHECK: %[[C:.*]] = "qnn.conv2d_fused"({{.*}}) {{{.*}}epilogue = "none", {{.*}}relu = true, {{.*}}then_zero_point = 3 : i64{{.*}} -> tensor<1x32x8x8xui4>
// CHECK-NOT: "qnn.requantize"
// CHECK: return %[[C]] :
func.func @conv_relu_requantize_zero_point(%x: tensor<1x32x8x8xui4>) -> tensor<1x32x8x8xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<32x32x3x3xi4>
  %c = "qnn.conv2d"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<1x32x8x8xui4>, tensor<32x32x3x3xi4>) -> tensor<1x32x8x8xi32>
  %r = "qnn.relu"(%c) {layout = "NCHW"} : (tensor<1x32x8x8xi32>) -> tensor<1x32x8x8xi32>
  %q = "qnn.requantize"(%r) {multiplier = array<i32: 1342218220>, shift = array<i32: 36>, clamp = array<i64: 0, 15>, zero_point = 3 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<1x32x8x8xi32>) -> tensor<1x32x8x8xui4>
  return %q : tensor<1x32x8x8xui4>
}

// -----

// The conv's value has a second user: fusing would compute the conv twice. Nothing fuses.
// CHECK-LABEL: func.func @shared_conv
// CHECK-NOT: "qnn.conv2d_fused"
// CHECK: %[[C:.*]] = "qnn.conv2d"
// CHECK: %[[Q:.*]] = "qnn.requantize"(%[[C]])
// CHECK: return %[[Q]], %[[C]]
func.func @shared_conv(%x: tensor<1x32x8x8xui4>) -> (tensor<1x32x8x8xui4>, tensor<1x32x8x8xi32>) {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<32x32x3x3xi4>
  %c = "qnn.conv2d"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<1x32x8x8xui4>, tensor<32x32x3x3xi4>) -> tensor<1x32x8x8xi32>
  %q = "qnn.requantize"(%c) {multiplier = array<i32: 1342218220>, shift = array<i32: 36>, clamp = array<i64: 0, 15>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<1x32x8x8xi32>) -> tensor<1x32x8x8xui4>
  return %q, %c : tensor<1x32x8x8xui4>, tensor<1x32x8x8xi32>
}

// -----

// HAWQ's stem: conv -> max pool on i32 -> 16-bit requantize -> relu. Requantize (non-negative
// multipliers) and relu are monotone, so they move before the pool into the conv's epilogue and
// the pool reads i16.
// CHECK-LABEL: func.func @stem
// CHECK: %[[C:.*]] = "qnn.conv2d_fused"({{.*}}) {clamp = array<i64: -32768, 32767>, epilogue = "requantize", {{.*}}relu = true{{.*}} -> tensor<{{.*}}xi16>
// CHECK: %[[P:.*]] = "qnn.max_pool2d"(%[[C]]) {{.*}} -> tensor<{{.*}}xi16>
// CHECK: return %[[P]]
func.func @stem(%x: tensor<1x3x16x16xi8>) -> tensor<1x64x4x4xi16> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<64x3x7x7xi8>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<64xi32>
  %c = "qnn.conv2d"(%x, %w, %b) {strides = array<i64: 2, 2>, padding = array<i64: 3, 3, 3, 3>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<1x3x16x16xi8>, tensor<64x3x7x7xi8>, tensor<64xi32>) -> tensor<1x64x8x8xi32>
  %p = "qnn.max_pool2d"(%c) {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW"} : (tensor<1x64x8x8xi32>) -> tensor<1x64x4x4xi32>
  %q = "qnn.requantize"(%p) {multiplier = array<i32: 1362937990>, shift = array<i32: 34>, clamp = array<i64: -32768, 32767>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<1x64x4x4xi32>) -> tensor<1x64x4x4xi16>
  %r = "qnn.relu"(%q) {layout = "NCHW"} : (tensor<1x64x4x4xi16>) -> tensor<1x64x4x4xi16>
  return %r : tensor<1x64x4x4xi16>
}

// -----

// The stem followed by the requantize to the next conv's 4 bits (ResNet-50, whose first unit
// reads only that): both requantizes and the relu move before the pool, the 4-bit one as the
// epilogue's then step; the conv writes 4 bits and the pool reads them.
// CHECK-LABEL: func.func @stem_to_4_bits
// CHECK: %[[C:.*]] = "qnn.conv2d_fused"({{.*}}) {clamp = array<i64: -32768, 32767>, epilogue = "requantize", {{.*}}relu = true, {{.*}}then_clamp = array<i64: 0, 15>, then_multiplier = array<i32: 1297154756>, {{.*}} -> tensor<1x64x8x8xui4>
// CHECK-NEXT: %[[P:.*]] = "qnn.max_pool2d"(%[[C]]) {{.*}} -> tensor<1x64x4x4xui4>
// CHECK-NEXT: return %[[P]]
func.func @stem_to_4_bits(%x: tensor<1x3x16x16xi8>) -> tensor<1x64x4x4xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<64x3x7x7xi8>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<64xi32>
  %c = "qnn.conv2d"(%x, %w, %b) {strides = array<i64: 2, 2>, padding = array<i64: 3, 3, 3, 3>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<1x3x16x16xi8>, tensor<64x3x7x7xi8>, tensor<64xi32>) -> tensor<1x64x8x8xi32>
  %p = "qnn.max_pool2d"(%c) {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW"} : (tensor<1x64x8x8xi32>) -> tensor<1x64x4x4xi32>
  %q = "qnn.requantize"(%p) {multiplier = array<i32: 1362937990>, shift = array<i32: 34>, clamp = array<i64: -32768, 32767>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<1x64x4x4xi32>) -> tensor<1x64x4x4xi16>
  %r = "qnn.relu"(%q) {layout = "NCHW"} : (tensor<1x64x4x4xi16>) -> tensor<1x64x4x4xi16>
  %a = "qnn.requantize"(%r) {multiplier = array<i32: 1297154756>, shift = array<i32: 41>, clamp = array<i64: 0, 15>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<1x64x4x4xi16>) -> tensor<1x64x4x4xui4>
  return %a : tensor<1x64x4x4xui4>
}

// -----

// The residual add folds only when its lhs is the conv accumulator (each branch is rounded with
// its own scale: Residual{scales: lhs, residual: rhs}); with the conv on the rhs it stays an add.
// CHECK-LABEL: func.func @residual_conv_on_rhs
// CHECK: "qnn.add"
func.func @residual_conv_on_rhs(%x: tensor<1x32x8x8xui4>, %r: tensor<1x32x8x8xi32>) -> tensor<1x32x8x8xi32> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<32x32x3x3xi4>
  %c = "qnn.conv2d"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<1x32x8x8xui4>, tensor<32x32x3x3xi4>) -> tensor<1x32x8x8xi32>
  %s = "qnn.add"(%r, %c) {lhs_multiplier = array<i32: 1073741824>, lhs_shift = array<i32: 30>, rhs_multiplier = array<i32: 1390354370>, rhs_shift = array<i32: 31>, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, layout = "NCHW"} : (tensor<1x32x8x8xi32>, tensor<1x32x8x8xi32>) -> tensor<1x32x8x8xi32>
  return %s : tensor<1x32x8x8xi32>
}
