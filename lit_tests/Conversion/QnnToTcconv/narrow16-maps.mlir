// convert-qnn-to-tcconv: which buffers are narrow16. An i16 map between two convs (the first
// one's output clamped to i16, the second's residual) stays in 32-bit words under
// `streams=narrow16`, which takes the i32 residual streams alone; with `maps=narrow16` it is
// narrow16 too.
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a streams=narrow16},tcconv-verify)' | FileCheck %s --check-prefix=STREAMS
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a streams=narrow16 maps=narrow16},tcconv-verify)' | FileCheck %s --check-prefix=MAPS
// By default (`maps=auto`) ResNet-18's two i16 maps (the stem's output and the pooled map) are
// narrow16 on sm_90a from batch 16, in 32-bit words below it, on sm_90 (no halfword min / max
// for the escape tests) and with `maps=i32`.
// RUN: rm -rf %t && mkdir -p %t
// RUN: nibble-gen example --arch resnet18 --bits w4a4 --batch 16 --no-calibrate -o %t/b16 > /dev/null
// RUN: nibble-gen example --arch resnet18 --bits w4a4 --batch 8 --no-calibrate -o %t/b8 > /dev/null
// RUN: nibble-opt %t/b16/model.mlir --pass-pipeline='builtin.module(qnn-verify,qnn-egraph-optimize{target=sm_90a},convert-qnn-to-tcconv{target=sm_90a})' | FileCheck %s --check-prefix=AUTO16
// RUN: nibble-opt %t/b8/model.mlir --pass-pipeline='builtin.module(qnn-verify,qnn-egraph-optimize{target=sm_90a},convert-qnn-to-tcconv{target=sm_90a})' | FileCheck %s --check-prefix=WORDS
// RUN: nibble-opt %t/b16/model.mlir --pass-pipeline='builtin.module(qnn-verify,qnn-egraph-optimize{target=sm_90},convert-qnn-to-tcconv{target=sm_90})' | FileCheck %s --check-prefix=WORDS
// RUN: nibble-opt %t/b16/model.mlir --pass-pipeline='builtin.module(qnn-verify,qnn-egraph-optimize{target=sm_90a},convert-qnn-to-tcconv{target=sm_90a maps=i32})' | FileCheck %s --check-prefix=WORDS

// AUTO16-COUNT-2: "tcconv.alloc"() {dims = array<i64: 16, 64, {{112, 112|56, 56}}>, elem = "i16", layout = "HWNC", storage = "narrow16"}
// AUTO16-NOT: elem = "i16"
// WORDS-COUNT-2: "tcconv.alloc"() {dims = array<i64: {{8|16}}, 64, {{112, 112|56, 56}}>, elem = "i16", layout = "{{NHWC|HWNC}}"} : () -> memref<{{.*}}xi32>
// WORDS-NOT: elem = "i16"

// STREAMS-LABEL: func.func @i16_map_between_convs
// STREAMS: "tcconv.alloc"() {dims = array<i64: 2, 256, 16, 16>, elem = "i16", layout = "NHWC"} : () -> memref<2x16x16x256xi32>
// STREAMS: "tcconv.alloc"() {dims = array<i64: 2, 256, 16, 16>, elem = "i32", layout = "NHWC", storage = "narrow16"} : () -> memref<3x262144xi8>
// MAPS-LABEL: func.func @i16_map_between_convs
// MAPS: "tcconv.alloc"() {dims = array<i64: 2, 256, 16, 16>, elem = "i16", layout = "NHWC", storage = "narrow16"} : () -> memref<3x262144xi8>
// MAPS: "tcconv.alloc"() {dims = array<i64: 2, 256, 16, 16>, elem = "i32", layout = "NHWC", storage = "narrow16"} : () -> memref<3x262144xi8>
func.func @i16_map_between_convs(%x: tensor<2x16x16x64xui4>, %id: tensor<2x16x16x256xi32>) -> tensor<2x16x16x256xui4> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<256x64x1x1xi4>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<256xi32>
  %c:2 = "qnn.conv2d_fused"(%x, %w, %b, %id) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NHWC", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 20>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -32768, 32767>, relu = true, second_multiplier = array<i32: 1342218220>, second_shift = array<i32: 39>, second_rounding = "half_to_even", second_zero_point = 0 : i64, second_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 1, 1>} : (tensor<2x16x16x64xui4>, tensor<256x64x1x1xi4>, tensor<256xi32>, tensor<2x16x16x256xi32>) -> (tensor<2x16x16x256xi16>, tensor<2x16x16x256xui4>)
  %w2 = "qnn.weight"() {name = "w2"} : () -> tensor<256x256x1x1xi4>
  %b2 = "qnn.weight"() {name = "b2"} : () -> tensor<256xi32>
  %d:2 = "qnn.conv2d_fused"(%c#1, %w2, %b2, %c#0) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NHWC", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 20>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = true, second_multiplier = array<i32: 1342218220>, second_shift = array<i32: 39>, second_rounding = "half_to_even", second_zero_point = 0 : i64, second_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 1, 1>} : (tensor<2x16x16x256xui4>, tensor<256x256x1x1xi4>, tensor<256xi32>, tensor<2x16x16x256xi16>) -> (tensor<2x16x16x256xi32>, tensor<2x16x16x256xui4>)
  return %d#1 : tensor<2x16x16x256xui4>
}

