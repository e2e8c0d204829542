// convert-qnn-to-tcconv{chains=cluster}: a conv and the 1x1 convs (stride 1, no padding) after
// it, each reading what the conv before it writes, run in one kernel (the ops `chain = N`, block
// tiles of one height) at batch <= 8 on sm_90 / sm_90a, where the staged family runs them all
// (dialects/tcconv/src/lower.rs, chain_convs; select.rs, chain_plan); chains=pairs stops at two.
// chains=wide gives each conv its widest tile (no wider than its channels need) where
// chains=cluster gives the narrowest. A 3x3 or strided later conv, a batch over 8, a target
// without thread-block clusters, or the default keeps them apart.
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a chains=cluster},tcconv-verify)' | FileCheck %s
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 chains=cluster},tcconv-verify)' | FileCheck %s
// chains=cluster16 takes clusters of more than 8 blocks only where 8 make no chain: the same here
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a chains=cluster16},tcconv-verify)' | FileCheck %s
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a chains=cluster})' | nibble-opt --pass-pipeline='builtin.module(tcconv-verify)' | FileCheck %s
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a chains=cluster})' | mlir-opt-22 --irdl-file=%tcconv_irdl > /dev/null
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a chains=pairs},tcconv-verify)' | FileCheck %s --check-prefix=PAIRS
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a chains=wide},tcconv-verify)' | FileCheck %s --check-prefix=WIDE
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_80 chains=cluster},tcconv-verify)' | FileCheck %s --check-prefix=APART
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a},tcconv-verify)' | FileCheck %s --check-prefix=APART
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a chains=none},tcconv-verify)' | FileCheck %s --check-prefix=APART
// RUN: not nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a chains=grid})' 2>&1 | FileCheck %s --check-prefix=OPTION
// OPTION: error: convert-qnn-to-tcconv: chains 'grid' is not none, pairs, cluster, wide or cluster16
// The qnn-to-ptx pipeline forwards the option to convert-qnn-to-tcconv, its value checked first.
// RUN: nibble-opt %s --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_90a chains=cluster})' | FileCheck %s --check-prefix=PIPELINE
// RUN: not nibble-opt %s --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_90a chains=grid})' 2>&1 | FileCheck %s --check-prefix=PIPEOPTION
// PIPEOPTION: error: pipeline 'qnn-to-ptx': chains 'grid' is not none, pairs, cluster, wide or cluster16
// PIPELINE: gpu.launch_func @kernels::@residual_then_reducing_1x1_0_chain
// PIPELINE: gpu.launch_func @kernels::@bottleneck_3x3_residual_reducing_0_chain

// The residual conv writes the stream and its requantize; the reducing 1x1 conv reads the
// requantize.
// CHECK-LABEL: func.func @residual_then_reducing_1x1
// CHECK: "tcconv.conv2d"(%arg0, {{.*}}block_tile = array<i64: 32, 32, 128>, chain = 0 : i64,{{.*}}epilogue = "residual"
// CHECK-NEXT: "tcconv.conv2d"({{.*}}block_tile = array<i64: 32, 32, 128>, chain = 0 : i64,{{.*}}epilogue = "requantize", family = "staged", kernel = array<i64: 1, 1>
// WIDE-LABEL: func.func @residual_then_reducing_1x1
// WIDE: block_tile = array<i64: 32, 128, 128>, chain = 0 : i64
// WIDE: block_tile = array<i64: 32, 64, 128>, chain = 0 : i64
// PAIRS-LABEL: func.func @residual_then_reducing_1x1
// PAIRS: chain = 0 : i64
// PAIRS: chain = 0 : i64
// APART-LABEL: func.func @residual_then_reducing_1x1
// APART-NOT: chain =
// APART: return
func.func @residual_then_reducing_1x1(%x: tensor<2x8x8x64xui4>, %id: tensor<2x8x8x256xi32>) -> (tensor<2x8x8x256xi32>, tensor<2x8x8x64xui4>) {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<256x64x1x1xi4>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<256xi32>
  %c:2 = "qnn.conv2d_fused"(%x, %w, %b, %id) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NHWC", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 20>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = true, second_multiplier = array<i32: 1342218220>, second_shift = array<i32: 39>, second_rounding = "half_to_even", second_zero_point = 0 : i64, second_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 1, 1>} : (tensor<2x8x8x64xui4>, tensor<256x64x1x1xi4>, tensor<256xi32>, tensor<2x8x8x256xi32>) -> (tensor<2x8x8x256xi32>, tensor<2x8x8x256xui4>)
  %w2 = "qnn.weight"() {name = "w2"} : () -> tensor<64x256x1x1xi4>
  %b2 = "qnn.weight"() {name = "b2"} : () -> tensor<64xi32>
  %d = "qnn.conv2d_fused"(%c#1, %w2, %b2) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NHWC", kernel_layout = "OIHW", epilogue = "requantize", multiplier = array<i32: 1342218220>, shift = array<i32: 36>, residual_multiplier = array<i32>, residual_shift = array<i32>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: 0, 15>, relu = true, operandSegmentSizes = array<i32: 1, 1, 1, 0>} : (tensor<2x8x8x256xui4>, tensor<64x256x1x1xi4>, tensor<64xi32>) -> tensor<2x8x8x64xui4>
  return %c#0, %d : tensor<2x8x8x256xi32>, tensor<2x8x8x64xui4>
}

// CHECK-LABEL: func.func @then_3x3
// CHECK-NOT: chain =
// CHECK: return
// APART-LABEL: func.func @then_3x3
// APART-NOT: chain =
// APART: return
func.func @then_3x3(%x: tensor<2x8x8x64xui4>, %id: tensor<2x8x8x256xi32>) -> (tensor<2x8x8x256xi32>, tensor<2x8x8x64xui4>) {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<256x64x1x1xi4>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<256xi32>
  %c:2 = "qnn.conv2d_fused"(%x, %w, %b, %id) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NHWC", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 20>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = true, second_multiplier = array<i32: 1342218220>, second_shift = array<i32: 39>, second_rounding = "half_to_even", second_zero_point = 0 : i64, second_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 1, 1>} : (tensor<2x8x8x64xui4>, tensor<256x64x1x1xi4>, tensor<256xi32>, tensor<2x8x8x256xi32>) -> (tensor<2x8x8x256xi32>, tensor<2x8x8x256xui4>)
  %w2 = "qnn.weight"() {name = "w2"} : () -> tensor<64x256x3x3xi4>
  %b2 = "qnn.weight"() {name = "b2"} : () -> tensor<64xi32>
  %d = "qnn.conv2d_fused"(%c#1, %w2, %b2) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NHWC", kernel_layout = "OIHW", epilogue = "requantize", multiplier = array<i32: 1342218220>, shift = array<i32: 36>, residual_multiplier = array<i32>, residual_shift = array<i32>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: 0, 15>, relu = true, operandSegmentSizes = array<i32: 1, 1, 1, 0>} : (tensor<2x8x8x256xui4>, tensor<64x256x3x3xi4>, tensor<64xi32>) -> tensor<2x8x8x64xui4>
  return %c#0, %d : tensor<2x8x8x256xi32>, tensor<2x8x8x64xui4>
}

// CHECK-LABEL: func.func @then_strided_1x1
// CHECK-NOT: chain =
// CHECK: return
// APART-LABEL: func.func @then_strided_1x1
// APART-NOT: chain =
// APART: return
func.func @then_strided_1x1(%x: tensor<2x8x8x64xui4>, %id: tensor<2x8x8x256xi32>) -> (tensor<2x8x8x256xi32>, tensor<2x4x4x64xui4>) {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<256x64x1x1xi4>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<256xi32>
  %c:2 = "qnn.conv2d_fused"(%x, %w, %b, %id) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NHWC", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 20>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = true, second_multiplier = array<i32: 1342218220>, second_shift = array<i32: 39>, second_rounding = "half_to_even", second_zero_point = 0 : i64, second_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 1, 1>} : (tensor<2x8x8x64xui4>, tensor<256x64x1x1xi4>, tensor<256xi32>, tensor<2x8x8x256xi32>) -> (tensor<2x8x8x256xi32>, tensor<2x8x8x256xui4>)
  %w2 = "qnn.weight"() {name = "w2"} : () -> tensor<64x256x1x1xi4>
  %b2 = "qnn.weight"() {name = "b2"} : () -> tensor<64xi32>
  %d = "qnn.conv2d_fused"(%c#1, %w2, %b2) {strides = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>, layout = "NHWC", kernel_layout = "OIHW", epilogue = "requantize", multiplier = array<i32: 1342218220>, shift = array<i32: 36>, residual_multiplier = array<i32>, residual_shift = array<i32>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: 0, 15>, relu = true, operandSegmentSizes = array<i32: 1, 1, 1, 0>} : (tensor<2x8x8x256xui4>, tensor<64x256x1x1xi4>, tensor<64xi32>) -> tensor<2x4x4x64xui4>
  return %c#0, %d : tensor<2x8x8x256xi32>, tensor<2x4x4x64xui4>
}

// CHECK-LABEL: func.func @batch_16
// CHECK-NOT: chain =
// CHECK: return
// APART-LABEL: func.func @batch_16
// APART-NOT: chain =
// APART: return
func.func @batch_16(%x: tensor<16x8x8x64xui4>, %id: tensor<16x8x8x256xi32>) -> (tensor<16x8x8x256xi32>, tensor<16x8x8x64xui4>) {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<256x64x1x1xi4>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<256xi32>
  %c:2 = "qnn.conv2d_fused"(%x, %w, %b, %id) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NHWC", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 20>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = true, second_multiplier = array<i32: 1342218220>, second_shift = array<i32: 39>, second_rounding = "half_to_even", second_zero_point = 0 : i64, second_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 1, 1>} : (tensor<16x8x8x64xui4>, tensor<256x64x1x1xi4>, tensor<256xi32>, tensor<16x8x8x256xi32>) -> (tensor<16x8x8x256xi32>, tensor<16x8x8x256xui4>)
  %w2 = "qnn.weight"() {name = "w2"} : () -> tensor<64x256x1x1xi4>
  %b2 = "qnn.weight"() {name = "b2"} : () -> tensor<64xi32>
  %d = "qnn.conv2d_fused"(%c#1, %w2, %b2) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NHWC", kernel_layout = "OIHW", epilogue = "requantize", multiplier = array<i32: 1342218220>, shift = array<i32: 36>, residual_multiplier = array<i32>, residual_shift = array<i32>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: 0, 15>, relu = true, operandSegmentSizes = array<i32: 1, 1, 1, 0>} : (tensor<16x8x8x256xui4>, tensor<64x256x1x1xi4>, tensor<64xi32>) -> tensor<16x8x8x64xui4>
  return %c#0, %d : tensor<16x8x8x256xi32>, tensor<16x8x8x64xui4>
}

// A bottleneck's 3x3 conv, its residual conv and the next unit's reducing conv: one chain of
// three with chains=cluster; with chains=pairs the first two, the third apart.
// CHECK-LABEL: func.func @bottleneck_3x3_residual_reducing
// CHECK: "tcconv.conv2d"({{.*}}block_tile = array<i64: 32, 32, 128>, chain = 0 : i64,{{.*}}kernel = array<i64: 3, 3>
// CHECK-NEXT: "tcconv.conv2d"({{.*}}block_tile = array<i64: 32, 32, 128>, chain = 0 : i64,{{.*}}epilogue = "residual"
// CHECK-NEXT: "tcconv.conv2d"({{.*}}block_tile = array<i64: 32, 32, 128>, chain = 0 : i64,{{.*}}epilogue = "requantize"
// WIDE-LABEL: func.func @bottleneck_3x3_residual_reducing
// WIDE: "tcconv.conv2d"({{.*}}block_tile = array<i64: 32, 64, 128>, chain = 0 : i64,{{.*}}kernel = array<i64: 3, 3>
// WIDE-NEXT: "tcconv.conv2d"({{.*}}block_tile = array<i64: 32, 128, 128>, chain = 0 : i64,{{.*}}epilogue = "residual"
// WIDE-NEXT: "tcconv.conv2d"({{.*}}block_tile = array<i64: 32, 64, 128>, chain = 0 : i64,{{.*}}epilogue = "requantize"
// PAIRS-LABEL: func.func @bottleneck_3x3_residual_reducing
// PAIRS: "tcconv.conv2d"({{.*}}chain = 0 : i64,{{.*}}kernel = array<i64: 3, 3>
// PAIRS-NEXT: "tcconv.conv2d"({{.*}}chain = 0 : i64,{{.*}}epilogue = "residual"
// PAIRS-NEXT: "tcconv.conv2d"(
// PAIRS-NOT: chain =
// PAIRS-SAME: epilogue = "requantize"
// APART-LABEL: func.func @bottleneck_3x3_residual_reducing
// APART-NOT: chain =
// APART: return
func.func @bottleneck_3x3_residual_reducing(%x: tensor<2x8x8x64xui4>, %id: tensor<2x8x8x256xi32>) -> (tensor<2x8x8x256xi32>, tensor<2x8x8x64xui4>) {
  %w0 = "qnn.weight"() {name = "w0"} : () -> tensor<64x64x3x3xi4>
  %b0 = "qnn.weight"() {name = "b0"} : () -> tensor<64xi32>
  %a = "qnn.conv2d_fused"(%x, %w0, %b0) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NHWC", kernel_layout = "OIHW", epilogue = "requantize", multiplier = array<i32: 1342218220>, shift = array<i32: 36>, residual_multiplier = array<i32>, residual_shift = array<i32>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: 0, 15>, relu = true, operandSegmentSizes = array<i32: 1, 1, 1, 0>} : (tensor<2x8x8x64xui4>, tensor<64x64x3x3xi4>, tensor<64xi32>) -> tensor<2x8x8x64xui4>
  %w = "qnn.weight"() {name = "w"} : () -> tensor<256x64x1x1xi4>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<256xi32>
  %c:2 = "qnn.conv2d_fused"(%a, %w, %b, %id) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NHWC", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 20>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = true, second_multiplier = array<i32: 1342218220>, second_shift = array<i32: 39>, second_rounding = "half_to_even", second_zero_point = 0 : i64, second_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 1, 1>} : (tensor<2x8x8x64xui4>, tensor<256x64x1x1xi4>, tensor<256xi32>, tensor<2x8x8x256xi32>) -> (tensor<2x8x8x256xi32>, tensor<2x8x8x256xui4>)
  %w2 = "qnn.weight"() {name = "w2"} : () -> tensor<64x256x1x1xi4>
  %b2 = "qnn.weight"() {name = "b2"} : () -> tensor<64xi32>
  %d = "qnn.conv2d_fused"(%c#1, %w2, %b2) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NHWC", kernel_layout = "OIHW", epilogue = "requantize", multiplier = array<i32: 1342218220>, shift = array<i32: 36>, residual_multiplier = array<i32>, residual_shift = array<i32>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: 0, 15>, relu = true, operandSegmentSizes = array<i32: 1, 1, 1, 0>} : (tensor<2x8x8x256xui4>, tensor<64x256x1x1xi4>, tensor<64xi32>) -> tensor<2x8x8x64xui4>
  return %c#0, %d : tensor<2x8x8x256xi32>, tensor<2x8x8x64xui4>
}
