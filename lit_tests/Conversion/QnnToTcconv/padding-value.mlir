// A conv whose padded taps read a non-zero value (an ONNX input zero point) reads its input
// padded by the quantize that writes it, where that quantize has no other reader (the default,
// pads=quantize: the quantize writes the padded map); otherwise, and with pads=separate, a
// tcconv.pad (the border holding the value) pads it for the conv without padding. One without
// padding keeps padding_value irrelevant and lowers as usual.
// quantize's mode and zero point and an average pool's divisor are carried to tcconv.
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 pads=separate},tcconv-verify)' | FileCheck %s
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_75 pads=separate},tcconv-verify)' | FileCheck %s
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 pads=separate})' | mlir-opt-22 --irdl-file=%tcconv_irdl > /dev/null
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 pads=separate})' | nibble-opt | FileCheck %s
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90},tcconv-verify)' | FileCheck %s --check-prefix=FOLD
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90})' | nibble-opt | FileCheck %s --check-prefix=FOLD
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90})' | mlir-opt-22 --irdl-file=%tcconv_irdl > /dev/null

// CHECK-LABEL: func.func @stem_pads_with_the_zero_point
// CHECK: "tcconv.quantize"(%{{.*}}, %{{.*}}) {mode = "divide", scale = 5.000000e-01 : f32, zero_point = -2 : i64}
// CHECK: "tcconv.pad"(%{{.*}}, %[[PADDED:[0-9]+]]) {padding = array<i64: 1, 1, 1, 1>, value = -2 : i64} : (memref<1x8x8x4xi8>, memref<1x10x10x4xi8>) -> ()
// CHECK: "tcconv.conv2d"(%[[PADDED]],
// FOLD-LABEL: func.func @stem_pads_with_the_zero_point
// FOLD: "tcconv.quantize"(%{{.*}}, %[[PADDED:[0-9]+]]) {mode = "divide", padding = array<i64: 1, 1, 1, 1>, padding_value = -2 : i64, scale = 5.000000e-01 : f32, zero_point = -2 : i64} : (memref<1x3x8x8xf32>, memref<1x10x10x4xi8>) -> ()
// FOLD-NOT: tcconv.pad
// FOLD: "tcconv.conv2d"(%[[PADDED]],
// FOLD-SAME: padding = array<i64: 0, 0, 0, 0>
// CHECK-SAME: padding = array<i64: 0, 0, 0, 0>
// CHECK: "tcconv.pool2d"(%{{.*}}, %{{.*}}) {divisor = 1 : i64, kernel = array<i64: 8, 8>, kind = "avg"
func.func @stem_pads_with_the_zero_point(%x: tensor<1x3x8x8xf32>) -> tensor<1x4x1x1xi32> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<4x3x3x3xi8>
  %q = "qnn.quantize"(%x) {layout = "NCHW", mode = "divide", scale = 0.5 : f32, zero_point = -2 : i64} : (tensor<1x3x8x8xf32>) -> tensor<1x3x8x8xi8>
  %c = "qnn.conv2d"(%q, %w) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 1, 1, 1, 1>, padding_value = -2 : i64, strides = array<i64: 1, 1>} : (tensor<1x3x8x8xi8>, tensor<4x3x3x3xi8>) -> tensor<1x4x8x8xi32>
  %r = "qnn.requantize"(%c) {clamp = array<i64: 0, 255>, layout = "NCHW", multiplier = array<i32: 13421773>, rounding = "f32_half_to_even", shift = array<i32: 30>, zero_point = 3 : i64} : (tensor<1x4x8x8xi32>) -> tensor<1x4x8x8xui8>
  %s = "qnn.avg_pool2d"(%r) {divisor = 1 : i64, kernel = array<i64: 8, 8>, layout = "NCHW", padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x4x8x8xui8>) -> tensor<1x4x1x1xi32>
  return %s : tensor<1x4x1x1xi32>
}

// CHECK-LABEL: func.func @unpadded_conv_needs_no_pad
// CHECK-NOT: tcconv.pad
// CHECK: "tcconv.conv2d"
func.func @unpadded_conv_needs_no_pad(%x: tensor<1x16x8x8xi8>) -> tensor<1x8x8x8xi32> {
  %w = "qnn.weight"() {name = "w1"} : () -> tensor<8x16x1x1xi8>
  %c = "qnn.conv2d"(%x, %w) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 0, 0, 0, 0>, padding_value = 5 : i64, strides = array<i64: 1, 1>} : (tensor<1x16x8x8xi8>, tensor<8x16x1x1xi8>) -> tensor<1x8x8x8xi32>
  return %c : tensor<1x8x8x8xi32>
}

// A depthwise conv runs on the simple family (the tensor-core families reduce over every
// input channel) with a weight of one input channel per output.
// CHECK-LABEL: func.func @depthwise_runs_simple
// CHECK: "tcconv.weight"() {{.*}} -> memref<8x3x3x{{[0-9]+}}xi8>
// CHECK: "tcconv.conv2d"
// CHECK-SAME: family = "simple", groups = 8 : i64
func.func @depthwise_runs_simple(%x: tensor<2x8x6x6xui8>) -> tensor<2x8x6x6xi32> {
  %w = "qnn.weight"() {name = "dw"} : () -> tensor<8x1x3x3xi8>
  %d = "qnn.conv2d"(%x, %w) {groups = 8 : i64, kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<2x8x6x6xui8>, tensor<8x1x3x3xi8>) -> tensor<2x8x6x6xi32>
  return %d : tensor<2x8x6x6xi32>
}

// The quantized input read by two convs: the pads stay, pads=separate or not.
// CHECK-LABEL: func.func @shared_input_keeps_its_pad
// FOLD-LABEL: func.func @shared_input_keeps_its_pad
// FOLD: "tcconv.pad"
// FOLD: "tcconv.pad"
// CHECK: "tcconv.quantize"(%{{.*}}, %{{.*}}) {mode = "divide", scale = 5.000000e-01 : f32, zero_point = -2 : i64} : (memref<1x3x8x8xf32>, memref<1x8x8x4xi8>) -> ()
// CHECK: "tcconv.pad"({{.*}}) {padding = array<i64: 1, 1, 1, 1>, value = -2 : i64} : (memref<1x8x8x4xi8>, memref<1x10x10x4xi8>) -> ()
// CHECK: "tcconv.conv2d"
// CHECK: "tcconv.conv2d"
func.func @shared_input_keeps_its_pad(%x: tensor<1x3x8x8xf32>) -> (tensor<1x4x8x8xi32>, tensor<1x4x8x8xi32>) {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<4x3x3x3xi8>
  %q = "qnn.quantize"(%x) {layout = "NCHW", mode = "divide", scale = 0.5 : f32, zero_point = -2 : i64} : (tensor<1x3x8x8xf32>) -> tensor<1x3x8x8xi8>
  %c = "qnn.conv2d"(%q, %w) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 1, 1, 1, 1>, padding_value = -2 : i64, strides = array<i64: 1, 1>} : (tensor<1x3x8x8xi8>, tensor<4x3x3x3xi8>) -> tensor<1x4x8x8xi32>
  %d = "qnn.conv2d"(%q, %w) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 0, 0, 2, 2>, padding_value = -2 : i64, strides = array<i64: 1, 1>} : (tensor<1x3x8x8xi8>, tensor<4x3x3x3xi8>) -> tensor<1x4x8x8xi32>
  return %c, %d : tensor<1x4x8x8xi32>, tensor<1x4x8x8xi32>
}
