// The add of a constant (ONNX Runtime's QLinearAdd with a constant operand, imported as
// qnn.requantize {rounding = "f32_fma", offset}) becomes a tcconv.elementwise requantize with
// the same offset; it is never a conv or pool epilogue, nor a conv's second output.
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_80})' | FileCheck %s
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a})' | FileCheck %s
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90},tcconv-verify)' | mlir-opt-22 --irdl-file=%tcconv_irdl > /dev/null
// The offsets survive printing and parsing bit for bit.
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90})' | nibble-opt | FileCheck %s
// After the e-graph: the conv takes the plain requantize as its epilogue, the add stays.
// RUN: nibble-opt %s --pass-pipeline='builtin.module(qnn-egraph-optimize{target=sm_90},convert-qnn-to-tcconv{target=sm_90})' | FileCheck %s --check-prefix=EG
// Without the e-graph (first RUN lines) every op is its own kernel.

// The classifier's bias on a MatMul (the ONNX model zoo's int8 ResNets): one offset a class.
// CHECK-LABEL: func.func @dense_bias
// CHECK: "tcconv.dense"
// CHECK: "tcconv.elementwise"({{.*}}) {{{.*}}rounding = "f32_half_to_even"
// CHECK: "tcconv.elementwise"(%{{.*}}, %{{.*}}) {clamp = array<i64: 0, 255>, kind = "requantize", multiplier = array<i32: 8388608>, offset = array<f32: 1.250000e+01, -3.750000e+00, 7.000000e+00>, {{.*}}rounding = "f32_fma", shift = array<i32: 23>, zero_point = 0 : i64} : (memref<4x4xi8>, memref<4x4xi8>) -> ()
func.func @dense_bias(%x: tensor<4x20xi8>) -> tensor<4x3xui8> {
  %w = "qnn.weight"() {name = "fc.w"} : () -> tensor<3x20xi8>
  %d = "qnn.dense"(%x, %w) : (tensor<4x20xi8>, tensor<3x20xi8>) -> tensor<4x3xi32>
  %q = "qnn.requantize"(%d) {clamp = array<i64: 0, 255>, layout = "NC", multiplier = array<i32: 13421773>, rounding = "f32_half_to_even", shift = array<i32: 30>, zero_point = 3 : i64} : (tensor<4x3xi32>) -> tensor<4x3xui8>
  %y = "qnn.requantize"(%q) {clamp = array<i64: 0, 255>, layout = "NC", multiplier = array<i32: 8388608>, offset = array<f32: 12.5, -3.75, 7.0>, rounding = "f32_fma", shift = array<i32: 23>, zero_point = 0 : i64} : (tensor<4x3xui8>) -> tensor<4x3xui8>
  return %y : tensor<4x3xui8>
}

// A conv's per-channel shift (a batch norm exported as an Add), then relu as a clamp.
// CHECK-LABEL: func.func @conv_shift
// CHECK: "tcconv.conv2d"
// CHECK: "tcconv.elementwise"({{.*}}) {{{.*}}rounding = "f32_half_to_even"
// CHECK: "tcconv.elementwise"({{.*}}) {clamp = array<i64: 0, 255>, kind = "requantize", {{.*}}offset = array<f32: 2.500000e-01, -1.500000e+00, 3.000000e+00, 0.000000e+00>, {{.*}}rounding = "f32_fma"
// EG-LABEL: func.func @conv_shift
// EG: "tcconv.conv2d"
// EG-SAME: epilogue = "requantize"
// EG-NOT: second_multiplier
// EG-NOT: then_multiplier
// EG: "tcconv.elementwise"({{.*}}) {clamp = array<i64: 0, 255>, kind = "requantize", {{.*}}offset = array<f32: 2.500000e-01, -1.500000e+00, 3.000000e+00, 0.000000e+00>, {{.*}}rounding = "f32_fma"
func.func @conv_shift(%x: tensor<2x16x8x8xui8>) -> tensor<2x4x8x8xui8> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<4x16x3x3xi8>
  %c = "qnn.conv2d"(%x, %w) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<2x16x8x8xui8>, tensor<4x16x3x3xi8>) -> tensor<2x4x8x8xi32>
  %r = "qnn.requantize"(%c) {clamp = array<i64: 0, 255>, layout = "NCHW", multiplier = array<i32: 13421773>, rounding = "f32_half_to_even", shift = array<i32: 30>, zero_point = 0 : i64} : (tensor<2x4x8x8xi32>) -> tensor<2x4x8x8xui8>
  %y = "qnn.requantize"(%r) {clamp = array<i64: 0, 255>, layout = "NCHW", multiplier = array<i32: 12582912>, offset = array<f32: 0.25, -1.5, 3.0, 0.0>, rounding = "f32_fma", shift = array<i32: 24>, zero_point = 0 : i64} : (tensor<2x4x8x8xui8>) -> tensor<2x4x8x8xui8>
  return %y : tensor<2x4x8x8xui8>
}
