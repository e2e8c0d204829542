// Half-to-even rounding of x * b / 2^c differs from half-up only on a tie, and x * b is a tie
// only when its trailing zeros number c - 1: an i32 x has at most 31, so a constant scale with
// c - 1 - tz(b) outside [0, 31] never ties and its kernel tests for no tie (HAWQ's u4
// requantize after a residual add: b = 1297154756 = 4 * odd, c = 41). A multiplier with more
// trailing zeros (2^30 + 2^12, c = 41: x = 2^28 ties) keeps the tie test.
// A value the kernel knows narrower counts its bits: a narrow16 residual read as i16 (the
// branch where no value of the group escapes) times b = 1887396881 (odd), c = 31 never ties,
// though an i32 could (x = 2^30).
// RUN: nibble-opt %s --split-input-file --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_80},convert-tcconv-to-gpu{target=sm_80})' | FileCheck %s
// RUN: nibble-opt %s --split-input-file --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a kernel=wgmma streams=narrow16},convert-tcconv-to-gpu{target=sm_90a})' | FileCheck %s --check-prefix=STREAM

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

// -----

// The second conv reads the first one's sum as a narrow16 stream. Its residual term in the
// general branch (escapes resolved: an i32) keeps the tie test; in the i16 branch it has none.
// STREAM-LABEL: func.func @residual_stream
// STREAM: gpu.func @residual_stream_1_conv2d
// STREAM: %[[P:.*]] = arith.muli %{{.*}}, %c1887396881_i64 : i64
// STREAM: arith.andi %{{.*}}, %c2147483647_i32 : i32
// STREAM: } else {
// STREAM: %[[T:.*]] = arith.muli %{{.*}}, %c1887396881_i64 : i64
// STREAM-NEXT: %[[T2:.*]] = arith.addi %[[T]], %c1073741824_i64 : i64
// STREAM-NEXT: %[[LO:.*]] = arith.trunci %[[T2]] : i64 to i32
// STREAM-NEXT: %[[HI64:.*]] = arith.shrsi %[[T2]], %c32_i64 : i64
// STREAM-NEXT: %[[HI:.*]] = arith.trunci %[[HI64]] : i64 to i32
// STREAM-NEXT: llvm.intr.fshr(%[[HI]], %[[LO]], %c31_i32) : (i32, i32, i32) -> i32
// STREAM-NEXT: arith.shrsi %[[HI]], %c31_i32 : i32
// STREAM-NEXT: arith.extsi
func.func @residual_stream(%x: tensor<2x16x16x64xui4>, %id: tensor<2x16x16x256xi32>) -> tensor<2x16x16x256xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<256x64x1x1xi4>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<256xi32>
  %c:2 = "qnn.conv2d_fused"(%x, %w, %b, %id) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NHWC", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 36>, residual_multiplier = array<i32: 1887396881>, residual_shift = array<i32: 31>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = true, second_multiplier = array<i32: 1342218220>, second_shift = array<i32: 39>, second_rounding = "half_to_even", second_zero_point = 0 : i64, second_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 1, 1>} : (tensor<2x16x16x64xui4>, tensor<256x64x1x1xi4>, tensor<256xi32>, tensor<2x16x16x256xi32>) -> (tensor<2x16x16x256xi32>, tensor<2x16x16x256xui4>)
  %w2 = "qnn.weight"() {name = "w2"} : () -> tensor<256x256x1x1xi4>
  %b2 = "qnn.weight"() {name = "b2"} : () -> tensor<256xi32>
  %d:2 = "qnn.conv2d_fused"(%c#1, %w2, %b2, %c#0) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NHWC", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 36>, residual_multiplier = array<i32: 1887396881>, residual_shift = array<i32: 31>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = true, second_multiplier = array<i32: 1342218220>, second_shift = array<i32: 39>, second_rounding = "half_to_even", second_zero_point = 0 : i64, second_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 1, 1>} : (tensor<2x16x16x256xui4>, tensor<256x256x1x1xi4>, tensor<256xi32>, tensor<2x16x16x256xi32>) -> (tensor<2x16x16x256xi32>, tensor<2x16x16x256xui4>)
  return %d#1 : tensor<2x16x16x256xui4>
}
