// Half-to-even rounding of x * b / 2^c differs from half-up only on a tie, and x * b is a tie
// only when its trailing zeros number c - 1: an i32 x has at most 31, so a constant scale with
// c - 1 - tz(b) outside [0, 31] never ties and its kernel tests for no tie (HAWQ's u4
// requantize after a residual add: b = 1297154756 = 4 * odd, c = 41). A multiplier with more
// trailing zeros (2^30 + 2^12, c = 41: x = 2^28 ties) keeps the tie test.
// RUN: nibble-opt %s --split-input-file --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_80},convert-tcconv-to-gpu{target=sm_80})' | FileCheck %s

// CHECK-LABEL: func.func @no_tie
// CHECK: gpu.func @no_tie_0_elementwise
// th = hi + 2^8, q = th >> 9: half-up's sequence, then the clamp
// CHECK: %[[P:.*]] = arith.muli %{{.*}}, %c1297154756_i64 : i64
// CHECK: %[[HI:.*]] = arith.trunci %{{.*}} : i64 to i32
// CHECK-NEXT: %[[TH:.*]] = arith.addi %[[HI]], %c256_i32 : i32
// CHECK-NEXT: %[[Q:.*]] = arith.shrsi %[[TH]], %c9_i32 : i32
// CHECK-NOT: arith.andi %{{.*}}, %c-2_i32
// CHECK: gpu.return
func.func @no_tie(%x: tensor<1x8x4x4xi32>) -> tensor<1x8x4x4xui4> {
  %y = "qnn.requantize"(%x) {multiplier = array<i32: 1297154756>, shift = array<i32: 41>, clamp = array<i64: 0, 15>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<1x8x4x4xi32>) -> tensor<1x8x4x4xui4>
  return %y : tensor<1x8x4x4xui4>
}

// -----

// CHECK-LABEL: func.func @tie_possible
// CHECK: gpu.func @tie_possible_0_elementwise
// CHECK: arith.muli %{{.*}}, %c1073745920_i64 : i64
// CHECK: %[[TH:.*]] = arith.addi %{{.*}}, %c256_i32 : i32
// CHECK-NEXT: %[[Q:.*]] = arith.shrsi %[[TH]], %c9_i32 : i32
// CHECK: %[[EVEN:.*]] = arith.andi %[[Q]], %c-2_i32 : i32
// CHECK: arith.select %{{.*}}, %[[EVEN]], %[[Q]] : i32
func.func @tie_possible(%x: tensor<1x8x4x4xi32>) -> tensor<1x8x4x4xui4> {
  %y = "qnn.requantize"(%x) {multiplier = array<i32: 1073745920>, shift = array<i32: 41>, clamp = array<i64: 0, 15>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<1x8x4x4xi32>) -> tensor<1x8x4x4xui4>
  return %y : tensor<1x8x4x4xui4>
}
