// A 1x1 conv whose only reader is a residual conv2d_fused that adds it runs in that conv's
// kernel as its shortcut: one tcconv.conv2d with the shortcut's input, weight and bias as its
// last operands and `shortcut_strides`, where the conv's kernel family (staged, wgmma) takes
// both GEMMs; the shortcut's i32 map is never stored (dialects/tcconv/src/lower.rs,
// shortcut_reader). A shortcut that is returned, that is not 1x1, on sm_75 (the register-only
// family), of a conv whose kernel splits K, or with shortcuts=separate, is a conv of its own.
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_80 shortcut-sums=wide},tcconv-verify)' | FileCheck %s
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a kernel=wgmma},tcconv-verify)' | FileCheck %s --check-prefix=WGMMA
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_75},tcconv-verify)' | FileCheck %s --check-prefix=SEPARATE
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a},tcconv-verify)' | FileCheck %s --check-prefix=AUTO90A
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_80 shortcuts=separate},tcconv-verify)' | FileCheck %s --check-prefix=SEPARATE
// With shortcut-sums=bounded, the conv with a shortcut GEMM records that its kernel adds the
// residual sum in 32 bits where a bound holds (bounded_sum; with shortcut-sums=wide the op has
// none).
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a shortcut-sums=bounded},tcconv-verify)' | FileCheck %s --check-prefix=BOUNDED
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_80 shortcut-sums=bounded},tcconv-verify)' | FileCheck %s --check-prefix=BOUNDED
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_80 shortcut-sums=bounded shortcuts=separate},tcconv-verify)' | FileCheck %s --check-prefix=SEPARATE
// shortcut-sums=auto (the default) takes the bounded sum where the kernel keeps its register
// budget with the bias branch: the wgmma kernel and the staged kernel over 4-bit operands
// without sliced K.
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a shortcut-sums=auto},tcconv-verify)' | FileCheck %s --check-prefix=SUMSAUTO
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a},tcconv-verify)' | FileCheck %s --check-prefix=SUMSAUTO
// The warp-specialized wgmma kernel runs no shortcut: with kernel=wgmma_ws both convs take it apart.
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a kernel=wgmma_ws},tcconv-verify)' | FileCheck %s --check-prefix=WS

// CHECK-LABEL: func.func @strided_shortcut
// CHECK-COUNT-1: "tcconv.conv2d"
// CHECK-SAME: family = "staged"
// CHECK-SAME: operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 1, 1, 1>
// CHECK-SAME: shortcut_strides = array<i64: 2, 2>
// CHECK-SAME: (memref<2x5x5x8xi32>, memref<16x1x1x8xi32>, memref<16xi32>, memref<2x5x5x2xi32>, memref<2x10x10x4xi32>, memref<16x1x1x4xi32>, memref<16xi32>) -> ()
// CHECK-NOT: "tcconv.conv2d"
// CHECK-NOT: bounded_sum
// BOUNDED-LABEL: func.func @strided_shortcut
// SUMSAUTO-LABEL: func.func @strided_shortcut
// SUMSAUTO: "tcconv.conv2d"{{.*}}bounded_sum = true,{{.*}}family = "wgmma"
// BOUNDED: "tcconv.conv2d"{{.*}}block_tile = array<i64: {{[0-9, ]+}}>, {{(blocks_per_sm = [0-9]+ : i64, )?}}bounded_sum = true,{{.*}}shortcut_strides = array<i64: 2, 2>
// WGMMA-LABEL: func.func @strided_shortcut
// WGMMA: "tcconv.conv2d"{{.*}}family = "wgmma"{{.*}}shortcut_strides = array<i64: 2, 2>
// WGMMA-NOT: "tcconv.conv2d"
// WS-LABEL: func.func @strided_shortcut
// WS: "tcconv.conv2d"(%arg1, {{.*}}epilogue = "none", family = "wgmma_ws"{{.*}}operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 0, 0, 0>
// WS-NEXT: "tcconv.conv2d"(%arg0, {{.*}}epilogue = "residual", family = "wgmma_ws"{{.*}}operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0, 0>
// WS-NOT: shortcut_strides
// SEPARATE-LABEL: func.func @strided_shortcut
// SEPARATE: "tcconv.conv2d"{{.*}}operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 0, 0, 0>{{.*}}strides = array<i64: 2, 2>
// SEPARATE-NEXT: "tcconv.conv2d"{{.*}}operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0, 0>
// SEPARATE-NOT: shortcut_strides
// SEPARATE-NOT: bounded_sum
func.func @strided_shortcut(%x: tensor<2x64x5x5xui4>, %y: tensor<2x32x10x10xui4>) -> tensor<2x16x5x5xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<16x64x1x1xi4>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<16xi32>
  %sw = "qnn.weight"() {name = "sw"} : () -> tensor<16x32x1x1xi4>
  %sb = "qnn.weight"() {name = "sb"} : () -> tensor<16xi32>
  %s = "qnn.conv2d"(%y, %sw, %sb) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<2x32x10x10xui4>, tensor<16x32x1x1xi4>, tensor<16xi32>) -> tensor<2x16x5x5xi32>
  %r = "qnn.conv2d_fused"(%x, %w, %b, %s) {clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", kernel_layout = "OIHW", layout = "NCHW", multiplier = array<i32: 1207959552>, operandSegmentSizes = array<i32: 1, 1, 1, 1>, padding = array<i64: 0, 0, 0, 0>, relu = true, residual_multiplier = array<i32: 1610612736>, residual_shift = array<i32: 31>, rounding = "half_to_even", shift = array<i32: 31>, strides = array<i64: 1, 1>, then_clamp = array<i64: 0, 15>, then_multiplier = array<i32: 1315059792>, then_rounding = "half_to_even", then_shift = array<i32: 36>, then_zero_point = 0 : i64, zero_point = 0 : i64} : (tensor<2x64x5x5xui4>, tensor<16x64x1x1xi4>, tensor<16xi32>, tensor<2x16x5x5xi32>) -> tensor<2x16x5x5xui4>
  return %r : tensor<2x16x5x5xui4>
}

// CHECK-LABEL: func.func @shortcut_also_returned
// WGMMA-LABEL: func.func @shortcut_also_returned
// SEPARATE-LABEL: func.func @shortcut_also_returned
// CHECK: "tcconv.conv2d"{{.*}}strides = array<i64: 2, 2>
// CHECK-NEXT: "tcconv.conv2d"{{.*}}epilogue = "residual"
// CHECK-NOT: shortcut_strides
func.func @shortcut_also_returned(%x: tensor<2x64x5x5xui4>, %y: tensor<2x32x10x10xui4>) -> (tensor<2x16x5x5xui4>, tensor<2x16x5x5xi32>) {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<16x64x1x1xi4>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<16xi32>
  %sw = "qnn.weight"() {name = "sw"} : () -> tensor<16x32x1x1xi4>
  %sb = "qnn.weight"() {name = "sb"} : () -> tensor<16xi32>
  %s = "qnn.conv2d"(%y, %sw, %sb) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<2x32x10x10xui4>, tensor<16x32x1x1xi4>, tensor<16xi32>) -> tensor<2x16x5x5xi32>
  %r = "qnn.conv2d_fused"(%x, %w, %b, %s) {clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", kernel_layout = "OIHW", layout = "NCHW", multiplier = array<i32: 1207959552>, operandSegmentSizes = array<i32: 1, 1, 1, 1>, padding = array<i64: 0, 0, 0, 0>, relu = true, residual_multiplier = array<i32: 1610612736>, residual_shift = array<i32: 31>, rounding = "half_to_even", shift = array<i32: 31>, strides = array<i64: 1, 1>, then_clamp = array<i64: 0, 15>, then_multiplier = array<i32: 1315059792>, then_rounding = "half_to_even", then_shift = array<i32: 36>, then_zero_point = 0 : i64, zero_point = 0 : i64} : (tensor<2x64x5x5xui4>, tensor<16x64x1x1xi4>, tensor<16xi32>, tensor<2x16x5x5xi32>) -> tensor<2x16x5x5xui4>
  return %r, %s : tensor<2x16x5x5xui4>, tensor<2x16x5x5xi32>
}

// CHECK-LABEL: func.func @shortcut_with_a_3x3_kernel
// WGMMA-LABEL: func.func @shortcut_with_a_3x3_kernel
// SEPARATE-LABEL: func.func @shortcut_with_a_3x3_kernel
// CHECK: "tcconv.conv2d"{{.*}}kernel = array<i64: 3, 3>
// CHECK-NEXT: "tcconv.conv2d"{{.*}}epilogue = "residual"
// CHECK-NOT: shortcut_strides
func.func @shortcut_with_a_3x3_kernel(%x: tensor<2x64x5x5xui4>, %y: tensor<2x32x10x10xui4>) -> tensor<2x16x5x5xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<16x64x1x1xi4>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<16xi32>
  %sw = "qnn.weight"() {name = "sw"} : () -> tensor<16x32x3x3xi4>
  %sb = "qnn.weight"() {name = "sb"} : () -> tensor<16xi32>
  %s = "qnn.conv2d"(%y, %sw, %sb) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<2x32x10x10xui4>, tensor<16x32x3x3xi4>, tensor<16xi32>) -> tensor<2x16x5x5xi32>
  %r = "qnn.conv2d_fused"(%x, %w, %b, %s) {clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", kernel_layout = "OIHW", layout = "NCHW", multiplier = array<i32: 1207959552>, operandSegmentSizes = array<i32: 1, 1, 1, 1>, padding = array<i64: 0, 0, 0, 0>, relu = true, residual_multiplier = array<i32: 1610612736>, residual_shift = array<i32: 31>, rounding = "half_to_even", shift = array<i32: 31>, strides = array<i64: 1, 1>, then_clamp = array<i64: 0, 15>, then_multiplier = array<i32: 1315059792>, then_rounding = "half_to_even", then_shift = array<i32: 36>, then_zero_point = 0 : i64, zero_point = 0 : i64} : (tensor<2x64x5x5xui4>, tensor<16x64x1x1xi4>, tensor<16xi32>, tensor<2x16x5x5xi32>) -> tensor<2x16x5x5xui4>
  return %r : tensor<2x16x5x5xui4>
}

// A late layer at batch 1 (M = 49, K = 9 x 256): its staged plan slices K across a block's
// warps, and the shortcut GEMM is sliced the same way (its slices summed before the conv's
// GEMM), so the shortcut stays in the conv.
// CHECK-LABEL: func.func @shortcut_of_a_split_k_conv
// WGMMA-LABEL: func.func @shortcut_of_a_split_k_conv
// SEPARATE-LABEL: func.func @shortcut_of_a_split_k_conv
// AUTO90A-LABEL: func.func @shortcut_of_a_split_k_conv
// CHECK-COUNT-1: "tcconv.conv2d"
// CHECK-SAME: family = "staged"
// CHECK-SAME: kernel = array<i64: 3, 3>
// CHECK-SAME: shortcut_strides = array<i64: 2, 2>
// AUTO90A-COUNT-1: "tcconv.conv2d"
// AUTO90A-SAME: family = "staged"
// AUTO90A-SAME: shortcut_strides = array<i64: 2, 2>
// SUMSAUTO-LABEL: func.func @shortcut_of_a_split_k_conv
// SUMSAUTO-NOT: bounded_sum
// SUMSAUTO: "tcconv.conv2d"{{.*}}family = "staged"{{.*}}shortcut_strides
// SUMSAUTO-NOT: bounded_sum
// SUMSAUTO-LABEL: func.func @shortcut_of_a_cluster_split_conv
func.func @shortcut_of_a_split_k_conv(%x: tensor<1x256x7x7xui4>, %y: tensor<1x128x14x14xui4>) -> tensor<1x256x7x7xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<256x256x3x3xi4>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<256xi32>
  %sw = "qnn.weight"() {name = "sw"} : () -> tensor<256x128x1x1xi4>
  %sb = "qnn.weight"() {name = "sb"} : () -> tensor<256xi32>
  %s = "qnn.conv2d"(%y, %sw, %sb) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x128x14x14xui4>, tensor<256x128x1x1xi4>, tensor<256xi32>) -> tensor<1x256x7x7xi32>
  %r = "qnn.conv2d_fused"(%x, %w, %b, %s) {clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", kernel_layout = "OIHW", layout = "NCHW", multiplier = array<i32: 1207959552>, operandSegmentSizes = array<i32: 1, 1, 1, 1>, padding = array<i64: 1, 1, 1, 1>, relu = true, residual_multiplier = array<i32: 1610612736>, residual_shift = array<i32: 31>, rounding = "half_to_even", shift = array<i32: 31>, strides = array<i64: 1, 1>, then_clamp = array<i64: 0, 15>, then_multiplier = array<i32: 1315059792>, then_rounding = "half_to_even", then_shift = array<i32: 36>, then_zero_point = 0 : i64, zero_point = 0 : i64} : (tensor<1x256x7x7xui4>, tensor<256x256x3x3xi4>, tensor<256xi32>, tensor<1x256x7x7xi32>) -> tensor<1x256x7x7xui4>
  return %r : tensor<1x256x7x7xui4>
}

// Stage 4 at batch 1 (M = 49, K = 9 x 512): on Hopper the conv alone would split K across the
// blocks of a cluster, whose reduction carries no shortcut; with the shortcut in, K is sliced
// across the block's warps only (one launch less is worth more than the cluster).
// CHECK-LABEL: func.func @shortcut_of_a_cluster_split_conv
// WGMMA-LABEL: func.func @shortcut_of_a_cluster_split_conv
// SEPARATE-LABEL: func.func @shortcut_of_a_cluster_split_conv
// AUTO90A-LABEL: func.func @shortcut_of_a_cluster_split_conv
// CHECK-COUNT-1: "tcconv.conv2d"
// CHECK-SAME: shortcut_strides = array<i64: 2, 2>
// AUTO90A-COUNT-1: "tcconv.conv2d"
// AUTO90A-SAME: family = "staged"
// AUTO90A-SAME: shortcut_strides = array<i64: 2, 2>
// SUMSAUTO: "tcconv.conv2d"{{.*}}family = "staged"{{.*}}shortcut_strides
// SUMSAUTO-NOT: bounded_sum
// SUMSAUTO-LABEL: func.func @shortcut_in_one_warpgroup_tiles
func.func @shortcut_of_a_cluster_split_conv(%x: tensor<1x512x7x7xui4>, %y: tensor<1x256x14x14xui4>) -> tensor<1x512x7x7xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<512x512x3x3xi4>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<512xi32>
  %sw = "qnn.weight"() {name = "sw"} : () -> tensor<512x256x1x1xi4>
  %sb = "qnn.weight"() {name = "sb"} : () -> tensor<512xi32>
  %s = "qnn.conv2d"(%y, %sw, %sb) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x256x14x14xui4>, tensor<512x256x1x1xi4>, tensor<512xi32>) -> tensor<1x512x7x7xi32>
  %r = "qnn.conv2d_fused"(%x, %w, %b, %s) {clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", kernel_layout = "OIHW", layout = "NCHW", multiplier = array<i32: 1207959552>, operandSegmentSizes = array<i32: 1, 1, 1, 1>, padding = array<i64: 1, 1, 1, 1>, relu = true, residual_multiplier = array<i32: 1610612736>, residual_shift = array<i32: 31>, rounding = "half_to_even", shift = array<i32: 31>, strides = array<i64: 1, 1>, then_clamp = array<i64: 0, 15>, then_multiplier = array<i32: 1315059792>, then_rounding = "half_to_even", then_shift = array<i32: 36>, then_zero_point = 0 : i64, zero_point = 0 : i64} : (tensor<1x512x7x7xui4>, tensor<512x512x3x3xi4>, tensor<512xi32>, tensor<1x512x7x7xi32>) -> tensor<1x512x7x7xui4>
  return %r : tensor<1x512x7x7xui4>
}

// Batch 8, stage 1 of ResNet-50 on sm_90a: a conv over 64 channels with a residual takes the
// wgmma kernel's one-warpgroup tiles on any grid (`select::one_warpgroup_pays`), alone and with
// its shortcut GEMM, which stays in the conv.
// AUTO90A-LABEL: func.func @shortcut_in_one_warpgroup_tiles
// AUTO90A: "tcconv.conv2d"{{.*}}block_tile = array<i64: 64, 64, {{[0-9]+}}>{{.*}}family = "wgmma"{{.*}}operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 1, 1, 1>{{.*}}shortcut_strides = array<i64: 1, 1>
// AUTO90A-NOT: "tcconv.conv2d"
// SUMSAUTO: "tcconv.conv2d"{{.*}}bounded_sum = true,{{.*}}family = "wgmma"
func.func @shortcut_in_one_warpgroup_tiles(%x: tensor<8x64x56x56xui4>, %y: tensor<8x64x56x56xui4>) -> tensor<8x256x56x56xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<256x64x1x1xi4>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<256xi32>
  %sw = "qnn.weight"() {name = "sw"} : () -> tensor<256x64x1x1xi4>
  %sb = "qnn.weight"() {name = "sb"} : () -> tensor<256xi32>
  %s = "qnn.conv2d"(%y, %sw, %sb) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<8x64x56x56xui4>, tensor<256x64x1x1xi4>, tensor<256xi32>) -> tensor<8x256x56x56xi32>
  %r = "qnn.conv2d_fused"(%x, %w, %b, %s) {clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", kernel_layout = "OIHW", layout = "NCHW", multiplier = array<i32: 1207959552>, operandSegmentSizes = array<i32: 1, 1, 1, 1>, padding = array<i64: 0, 0, 0, 0>, relu = true, residual_multiplier = array<i32: 1610612736>, residual_shift = array<i32: 31>, rounding = "half_to_even", shift = array<i32: 31>, strides = array<i64: 1, 1>, then_clamp = array<i64: 0, 15>, then_multiplier = array<i32: 1315059792>, then_rounding = "half_to_even", then_shift = array<i32: 36>, then_zero_point = 0 : i64, zero_point = 0 : i64} : (tensor<8x64x56x56xui4>, tensor<256x64x1x1xi4>, tensor<256xi32>, tensor<8x256x56x56xi32>) -> tensor<8x256x56x56xui4>
  return %r : tensor<8x256x56x56xui4>
}

// Batch 16 at 28 x 28 over 128 channels on sm_90a: the conv alone takes the staged kernel, with
// the shortcut's work added (N = 64 tiles, twice the grid) the wgmma kernel would pay; the
// shortcut stays in the conv on the staged kernel (as on sm_90) rather than running apart.
// CHECK-LABEL: func.func @shortcut_pinned_to_the_staged_kernel
// WGMMA-LABEL: func.func @shortcut_pinned_to_the_staged_kernel
// SEPARATE-LABEL: func.func @shortcut_pinned_to_the_staged_kernel
// AUTO90A-LABEL: func.func @shortcut_pinned_to_the_staged_kernel
// AUTO90A: "tcconv.conv2d"{{.*}}family = "staged"{{.*}}operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 1, 1, 1>{{.*}}shortcut_strides = array<i64: 1, 1>
// AUTO90A-NOT: "tcconv.conv2d"
// WGMMA: "tcconv.conv2d"{{.*}}family = "wgmma"{{.*}}shortcut_strides = array<i64: 1, 1>
// SUMSAUTO-LABEL: func.func @shortcut_pinned_to_the_staged_kernel
// SUMSAUTO: "tcconv.conv2d"{{.*}}bounded_sum = true,{{.*}}family = "staged"
func.func @shortcut_pinned_to_the_staged_kernel(%x: tensor<16x128x28x28xui4>, %y: tensor<16x128x28x28xui4>) -> tensor<16x512x28x28xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<512x128x1x1xi4>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<512xi32>
  %sw = "qnn.weight"() {name = "sw"} : () -> tensor<512x128x1x1xi4>
  %sb = "qnn.weight"() {name = "sb"} : () -> tensor<512xi32>
  %s = "qnn.conv2d"(%y, %sw, %sb) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<16x128x28x28xui4>, tensor<512x128x1x1xi4>, tensor<512xi32>) -> tensor<16x512x28x28xi32>
  %r = "qnn.conv2d_fused"(%x, %w, %b, %s) {clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", kernel_layout = "OIHW", layout = "NCHW", multiplier = array<i32: 1207959552>, operandSegmentSizes = array<i32: 1, 1, 1, 1>, padding = array<i64: 0, 0, 0, 0>, relu = true, residual_multiplier = array<i32: 1610612736>, residual_shift = array<i32: 31>, rounding = "half_to_even", shift = array<i32: 31>, strides = array<i64: 1, 1>, then_clamp = array<i64: 0, 15>, then_multiplier = array<i32: 1315059792>, then_rounding = "half_to_even", then_shift = array<i32: 36>, then_zero_point = 0 : i64, zero_point = 0 : i64} : (tensor<16x128x28x28xui4>, tensor<512x128x1x1xi4>, tensor<512xi32>, tensor<16x512x28x28xi32>) -> tensor<16x512x28x28xui4>
  return %r : tensor<16x512x28x28xui4>
}

// Batch 256, ResNet-50's first residual conv of stage 2 on sm_90a: the conv alone (128
// channels in, 64 bytes a row) takes the wgmma kernel; its strided shortcut reads 256 channels
// (128 bytes a row, a one-tap GEMM that wgmma does not pay for: `select::wgmma_pays`), so the
// pair runs on the staged kernel, the shortcut still inside the conv.
// CHECK-LABEL: func.func @wide_shortcut_pins_the_pair_to_the_staged_kernel
// WGMMA-LABEL: func.func @wide_shortcut_pins_the_pair_to_the_staged_kernel
// SEPARATE-LABEL: func.func @wide_shortcut_pins_the_pair_to_the_staged_kernel
// AUTO90A-LABEL: func.func @wide_shortcut_pins_the_pair_to_the_staged_kernel
// AUTO90A: "tcconv.conv2d"{{.*}}family = "staged"{{.*}}operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 1, 1, 1>{{.*}}shortcut_strides = array<i64: 2, 2>
// AUTO90A-NOT: "tcconv.conv2d"
// WGMMA: "tcconv.conv2d"{{.*}}family = "wgmma"{{.*}}shortcut_strides = array<i64: 2, 2>
// SUMSAUTO-LABEL: func.func @wide_shortcut_pins_the_pair_to_the_staged_kernel
// SUMSAUTO: "tcconv.conv2d"{{.*}}bounded_sum = true,{{.*}}family = "staged"
func.func @wide_shortcut_pins_the_pair_to_the_staged_kernel(%x: tensor<256x128x28x28xui4>, %y: tensor<256x256x56x56xui4>) -> tensor<256x512x28x28xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<512x128x1x1xi4>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<512xi32>
  %sw = "qnn.weight"() {name = "sw"} : () -> tensor<512x256x1x1xi4>
  %sb = "qnn.weight"() {name = "sb"} : () -> tensor<512xi32>
  %s = "qnn.conv2d"(%y, %sw, %sb) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<256x256x56x56xui4>, tensor<512x256x1x1xi4>, tensor<512xi32>) -> tensor<256x512x28x28xi32>
  %r = "qnn.conv2d_fused"(%x, %w, %b, %s) {clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", kernel_layout = "OIHW", layout = "NCHW", multiplier = array<i32: 1207959552>, operandSegmentSizes = array<i32: 1, 1, 1, 1>, padding = array<i64: 0, 0, 0, 0>, relu = true, residual_multiplier = array<i32: 1610612736>, residual_shift = array<i32: 31>, rounding = "half_to_even", shift = array<i32: 31>, strides = array<i64: 1, 1>, then_clamp = array<i64: 0, 15>, then_multiplier = array<i32: 1315059792>, then_rounding = "half_to_even", then_shift = array<i32: 36>, then_zero_point = 0 : i64, zero_point = 0 : i64} : (tensor<256x128x28x28xui4>, tensor<512x128x1x1xi4>, tensor<512xi32>, tensor<256x512x28x28xi32>) -> tensor<256x512x28x28xui4>
  return %r : tensor<256x512x28x28xui4>
}

// Over 8-bit operands the staged kernel with the bias branch leaves ptxas more registers than
// its budget (ResNet-50 W8A8's stage-3 / 4 first units: 166 -> 220): auto keeps the 64-bit sum.
// CHECK-LABEL: func.func @shortcut_over_8_bit_operands
// WGMMA-LABEL: func.func @shortcut_over_8_bit_operands
// SEPARATE-LABEL: func.func @shortcut_over_8_bit_operands
// AUTO90A-LABEL: func.func @shortcut_over_8_bit_operands
// SUMSAUTO-LABEL: func.func @shortcut_over_8_bit_operands
// SUMSAUTO: "tcconv.conv2d"{{.*}}family = "staged"{{.*}}shortcut_strides = array<i64: 1, 1>
// SUMSAUTO-NOT: bounded_sum
// BOUNDED-LABEL: func.func @shortcut_over_8_bit_operands
// BOUNDED: "tcconv.conv2d"{{.*}}bounded_sum = true,
func.func @shortcut_over_8_bit_operands(%x: tensor<16x128x28x28xui8>, %y: tensor<16x128x28x28xui8>) -> tensor<16x512x28x28xui8> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<512x128x1x1xi8>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<512xi32>
  %sw = "qnn.weight"() {name = "sw"} : () -> tensor<512x128x1x1xi8>
  %sb = "qnn.weight"() {name = "sb"} : () -> tensor<512xi32>
  %s = "qnn.conv2d"(%y, %sw, %sb) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<16x128x28x28xui8>, tensor<512x128x1x1xi8>, tensor<512xi32>) -> tensor<16x512x28x28xi32>
  %r = "qnn.conv2d_fused"(%x, %w, %b, %s) {clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", kernel_layout = "OIHW", layout = "NCHW", multiplier = array<i32: 1207959552>, operandSegmentSizes = array<i32: 1, 1, 1, 1>, padding = array<i64: 0, 0, 0, 0>, relu = true, residual_multiplier = array<i32: 1610612736>, residual_shift = array<i32: 31>, rounding = "half_to_even", shift = array<i32: 31>, strides = array<i64: 1, 1>, then_clamp = array<i64: 0, 255>, then_multiplier = array<i32: 1315059792>, then_rounding = "half_to_even", then_shift = array<i32: 36>, then_zero_point = 0 : i64, zero_point = 0 : i64} : (tensor<16x128x28x28xui8>, tensor<512x128x1x1xi8>, tensor<512xi32>, tensor<16x512x28x28xi32>) -> tensor<16x512x28x28xui8>
  return %r : tensor<16x512x28x28xui8>
}
