// A staged conv of few tiles and a long K loop (stage 4's 3x3 conv of ResNet at batch 1: 32
// tiles, 9 K blocks of 512 bytes) slices K across the warps of its blocks; with
// split-k=cluster on sm_90 also across the blocks of a thread-block cluster, which the op
// records as k_cluster (the launches of such kernels cannot be programmatic, so it is not the
// default). sm_80 has no clusters. The attribute reads back through tcconv-verify.
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90})' | FileCheck %s --check-prefix=WARPS
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 split-k=cluster})' | nibble-opt --pass-pipeline='builtin.module(tcconv-verify)' | FileCheck %s --check-prefix=CLUSTER
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_80 split-k=cluster})' | FileCheck %s --check-prefix=WARPS
// RUN: not nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 split-k=grid})' 2>&1 | FileCheck %s --check-prefix=BAD

// WARPS-LABEL: func.func @late_3x3
// WARPS: "tcconv.conv2d"
// WARPS-SAME: family = "staged"
// WARPS-NOT: k_cluster
// CLUSTER-LABEL: func.func @late_3x3
// CLUSTER: "tcconv.conv2d"
// CLUSTER-SAME: family = "staged", k_cluster = 4 : i64
// BAD: split-k 'grid' is not warps or cluster
func.func @late_3x3(%x: tensor<1x512x7x7xui4>) -> tensor<1x512x7x7xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<512x512x3x3xi4>
  %c = "qnn.conv2d_fused"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW", epilogue = "requantize", multiplier = array<i32: 1073741824>, shift = array<i32: 34>, residual_multiplier = array<i32>, residual_shift = array<i32>, clamp = array<i64: 0, 15>, relu = false, zero_point = 0 : i64, rounding = "half_to_even", operandSegmentSizes = array<i32: 1, 1, 0, 0>} : (tensor<1x512x7x7xui4>, tensor<512x512x3x3xi4>) -> tensor<1x512x7x7xui4>
  return %c : tensor<1x512x7x7xui4>
}
