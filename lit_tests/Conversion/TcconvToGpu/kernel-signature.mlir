// convert-tcconv-to-gpu builds one kernel a signature (what the code depends on) and launches
// it for every op of that signature with the op's own tables. A shift table whose values all
// lie in [1, 31] rounds on the product's 32-bit words, so a table that mixes such shifts with a
// larger one (40 here) must get a kernel of its own; two tables of the same class share one.
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90},convert-tcconv-to-gpu{target=sm_90})' | FileCheck %s

// CHECK-LABEL: func.func @low_then_mixed_shifts
// CHECK: gpu.launch_func @kernels::@[[LOW:low_then_mixed_shifts_0_elementwise]]
// CHECK: gpu.launch_func @kernels::@[[LOW]]
// CHECK-NOT: gpu.launch_func @kernels::@[[LOW]]
// CHECK: gpu.launch_func @kernels::@[[MIXED:low_then_mixed_shifts_2_elementwise]]
// CHECK: gpu.func @[[LOW]]
// CHECK: llvm.intr.fshr
// CHECK: gpu.func @[[MIXED]]
// CHECK-NOT: llvm.intr.fshr
// CHECK: gpu.return
func.func @low_then_mixed_shifts(%x: tensor<1x8x4x4xi32>, %y: tensor<1x8x4x4xi32>) -> tensor<1x8x4x4xi32> {
  %s0 = "qnn.add"(%x, %y) {lhs_multiplier = array<i32: 1073741824>, lhs_shift = array<i32: 33>, rhs_multiplier = array<i32: 1073741824, 1073741831, 1073741838, 1073741845, 1073741852, 1073741859, 1073741866, 1073741873>, rhs_shift = array<i32: 29, 30, 29, 30, 29, 30, 29, 30>, clamp = array<i64: -2147483648, 2147483647>, rounding = "half_to_even", layout = "NCHW"} : (tensor<1x8x4x4xi32>, tensor<1x8x4x4xi32>) -> tensor<1x8x4x4xi32>
  %s1 = "qnn.add"(%s0, %y) {lhs_multiplier = array<i32: 1073741824>, lhs_shift = array<i32: 33>, rhs_multiplier = array<i32: 1073741824, 1073741831, 1073741838, 1073741845, 1073741852, 1073741859, 1073741866, 1073741873>, rhs_shift = array<i32: 31, 30, 29, 31, 30, 29, 31, 30>, clamp = array<i64: -2147483648, 2147483647>, rounding = "half_to_even", layout = "NCHW"} : (tensor<1x8x4x4xi32>, tensor<1x8x4x4xi32>) -> tensor<1x8x4x4xi32>
  %s2 = "qnn.add"(%s1, %y) {lhs_multiplier = array<i32: 1073741824>, lhs_shift = array<i32: 33>, rhs_multiplier = array<i32: 1073741824, 1073741831, 1073741838, 1073741845, 1073741852, 1073741859, 1073741866, 1073741873>, rhs_shift = array<i32: 40, 30, 40, 30, 40, 30, 40, 30>, clamp = array<i64: -2147483648, 2147483647>, rounding = "half_to_even", layout = "NCHW"} : (tensor<1x8x4x4xi32>, tensor<1x8x4x4xi32>) -> tensor<1x8x4x4xi32>
  return %s2 : tensor<1x8x4x4xi32>
}
