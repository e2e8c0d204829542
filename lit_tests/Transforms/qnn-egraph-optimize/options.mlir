// Options of qnn-egraph-optimize, checked before anything is rewritten.
// RUN: not nibble-opt %s --pass-pipeline='builtin.module(qnn-egraph-optimize{target=sm_91})' 2>&1 | FileCheck %s --check-prefix=TARGET
// RUN: not nibble-opt %s --pass-pipeline='builtin.module(qnn-egraph-optimize{stats=maybe})' 2>&1 | FileCheck %s --check-prefix=STATS
// RUN: not nibble-opt %s --pass-pipeline='builtin.module(qnn-egraph-optimize{iter-limit=0})' 2>&1 | FileCheck %s --check-prefix=LIMIT
// RUN: not nibble-opt %s --pass-pipeline='builtin.module(qnn-egraph-optimize{tile=1})' 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: nibble-opt --list-passes | FileCheck %s --check-prefix=LIST
// With an iteration limit of 1 the rules stop early; the result is still correct IR.
// RUN: nibble-opt %s --pass-pipeline='builtin.module(qnn-egraph-optimize{iter-limit=1 stats=true},qnn-verify)' -o /dev/null 2>&1 | FileCheck %s --check-prefix=ONE

// TARGET: error: qnn-egraph-optimize: unknown target 'sm_91'
// STATS: error: qnn-egraph-optimize: stats=maybe is not true or false
// LIMIT: error: qnn-egraph-optimize: iter-limit=0 is not a positive integer
// UNKNOWN: pass 'qnn-egraph-optimize' has no option 'tile' (options: target, stats, iter-limit, node-limit, time-limit-ms)
// LIST: qnn-egraph-optimize
// LIST-NEXT: target
// ONE: 1 iterations, stop: iteration limit (1)
func.func @f(%x: tensor<1x32x8x8xui4>) -> tensor<1x32x8x8xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<32x32x3x3xi4>
  %c = "qnn.conv2d"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<1x32x8x8xui4>, tensor<32x32x3x3xi4>) -> tensor<1x32x8x8xi32>
  %r = "qnn.relu"(%c) {layout = "NCHW"} : (tensor<1x32x8x8xi32>) -> tensor<1x32x8x8xi32>
  %q = "qnn.requantize"(%r) {multiplier = array<i32: 1342218220>, shift = array<i32: 36>, clamp = array<i64: 0, 15>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<1x32x8x8xi32>) -> tensor<1x32x8x8xui4>
  return %q : tensor<1x32x8x8xui4>
}
