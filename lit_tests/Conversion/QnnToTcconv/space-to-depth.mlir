// A strided conv of a quantized image whose pixels are fewer than 16 bytes reads the
// space-to-depth map its quantize writes (stem=s2d; by default, stem=auto, from batch 16 on, so
// not at the batches below): the quantize pads the image
// (its border holding the conv's padding value) and writes b x b pixels as one of b b cs
// channels, and the conv becomes a stride-1 conv without padding of a ceil(K / b) kernel over
// 16-byte pixels, whose weight the packer rearranges (source_dims: the qnn weight's). Where no
// shared-memory family takes the result (sm_75) and with stem=plain the conv reads the
// quantize's map as it is.
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 stem=s2d},tcconv-verify)' | FileCheck %s
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 stem=s2d})' | nibble-opt --pass-pipeline='builtin.module(tcconv-verify)' | FileCheck %s
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 stem=s2d})' | mlir-opt-22 --irdl-file=%tcconv_irdl | FileCheck %s
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a stem=s2d},tcconv-verify)' | FileCheck %s
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 stem=plain},tcconv-verify)' | FileCheck %s --check-prefix=PLAIN
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_75 stem=s2d},tcconv-verify)' | FileCheck %s --check-prefix=PLAIN
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90},tcconv-verify)' | FileCheck %s --check-prefix=PLAIN
// RUN: not nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 stem=wide})' 2>&1 | FileCheck %s --check-prefix=BAD

// ResNet's stem at batch 16 on 224 x 224 images: 128-row tiles, whose grid (1568 blocks) still
// gives every SM four; the stem's short K makes its weight tile cost as much as its input tile.
// CHECK-LABEL: func.func @batch16_stem
// CHECK: "tcconv.conv2d"
// CHECK-SAME: block_tile = array<i64: 128, 64, 64>
// CHECK-SAME: family = "staged"
// CHECK-SAME: kernel = array<i64: 4, 4>
func.func @batch16_stem(%x: tensor<16x3x224x224xf32>) -> tensor<16x64x112x112xui4> {
  %q = "qnn.quantize"(%x) {layout = "NCHW", scale = 0.021 : f32} : (tensor<16x3x224x224xf32>) -> tensor<16x3x224x224xi8>
  %w = "qnn.weight"() {name = "w"} : () -> tensor<64x3x7x7xi8>
  %y = "qnn.conv2d_fused"(%q, %w) {clamp = array<i64: 0, 15>, epilogue = "requantize", kernel_layout = "OIHW", layout = "NCHW", multiplier = array<i32: 1518500250>, operandSegmentSizes = array<i32: 1, 1, 0, 0>, padding = array<i64: 3, 3, 3, 3>, relu = true, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 36>, strides = array<i64: 2, 2>, zero_point = 0 : i64} : (tensor<16x3x224x224xi8>, tensor<64x3x7x7xi8>) -> tensor<16x64x112x112xui4>
  return %y : tensor<16x64x112x112xui4>
}

// ResNet's stem on a 39 x 39 image: 20 x 20 outputs read 23 x 23 space-to-depth pixels, so
// the padded map is 46 x 46 (3 rows above, 4 below).
// CHECK-LABEL: func.func @resnet_stem
// CHECK: "tcconv.weight"() {dims = array<i64: 16, 16, 4, 4>, elem = "i8", name = "w.ohwi_s2d2", packing = "ohwi", source = "w", source_dims = array<i64: 16, 3, 7, 7>, source_layout = "OIHW", space_to_depth = 2 : i64} : () -> memref<16x4x4x16xi8>
// CHECK: "tcconv.quantize"(%arg0, %[[MAP:[0-9]+]]) {padding = array<i64: 3, 3, 4, 4>, padding_value = 0 : i64, scale = 2.100000e-02 : f32, space_to_depth = 2 : i64} : (memref<1x3x39x39xf32>, memref<1x23x23x16xi8>) -> ()
// CHECK: "tcconv.conv2d"(%[[MAP]],
// CHECK-SAME: kernel = array<i64: 4, 4>
// CHECK-SAME: padding = array<i64: 0, 0, 0, 0>
// CHECK-SAME: strides = array<i64: 1, 1>
// CHECK-SAME: (memref<1x23x23x16xi8>, memref<16x4x4x16xi8>, memref<16xi32>, memref<1x20x20x2xi32>) -> ()
// PLAIN-LABEL: func.func @resnet_stem
// PLAIN-NOT: space_to_depth
// PLAIN: "tcconv.conv2d"
// PLAIN-SAME: kernel = array<i64: 7, 7>
// PLAIN-SAME: strides = array<i64: 2, 2>
func.func @resnet_stem(%x: tensor<1x3x39x39xf32>) -> tensor<1x16x20x20xui4> {
  %q = "qnn.quantize"(%x) {layout = "NCHW", scale = 0.021 : f32} : (tensor<1x3x39x39xf32>) -> tensor<1x3x39x39xi8>
  %w = "qnn.weight"() {name = "w"} : () -> tensor<16x3x7x7xi8>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<16xi32>
  %y = "qnn.conv2d_fused"(%q, %w, %b) {clamp = array<i64: 0, 15>, epilogue = "requantize", kernel_layout = "OIHW", layout = "NCHW", multiplier = array<i32: 1518500250>, operandSegmentSizes = array<i32: 1, 1, 1, 0>, padding = array<i64: 3, 3, 3, 3>, relu = true, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 40>, strides = array<i64: 2, 2>, zero_point = 0 : i64} : (tensor<1x3x39x39xi8>, tensor<16x3x7x7xi8>, tensor<16xi32>) -> tensor<1x16x20x20xui4>
  return %y : tensor<1x16x20x20xui4>
}

// An ONNX stem: uint8 with a zero point that the conv pads with; the space-to-depth map's
// border holds it.
// CHECK-LABEL: func.func @zero_point_stem
// CHECK: "tcconv.quantize"(%arg0, %[[MAP:[0-9]+]]) {mode = "divide", padding = array<i64: 1, 1, 1, 1>, padding_value = 7 : i64, scale = 5.000000e-01 : f32, space_to_depth = 2 : i64, zero_point = 7 : i64} : (memref<2x3x16x16xf32>, memref<2x9x9x16xi8>) -> ()
// CHECK: "tcconv.conv2d"(%[[MAP]],
// CHECK-SAME: kernel = array<i64: 2, 2>
// PLAIN-LABEL: func.func @zero_point_stem
// PLAIN-NOT: space_to_depth
func.func @zero_point_stem(%x: tensor<2x3x16x16xf32>) -> tensor<2x32x8x8xi32> {
  %w = "qnn.weight"() {name = "w3"} : () -> tensor<32x3x3x3xi8>
  %q = "qnn.quantize"(%x) {layout = "NCHW", mode = "divide", scale = 0.5 : f32, zero_point = 7 : i64} : (tensor<2x3x16x16xf32>) -> tensor<2x3x16x16xui8>
  %c = "qnn.conv2d"(%q, %w) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 1, 1, 1, 1>, padding_value = 7 : i64, strides = array<i64: 2, 2>} : (tensor<2x3x16x16xui8>, tensor<32x3x3x3xi8>) -> tensor<2x32x8x8xi32>
  return %c : tensor<2x32x8x8xi32>
}

// A 1 x 1 conv at stride 2 gathers no window: it keeps the quantize's map.
// CHECK-LABEL: func.func @pointwise_stride_two
// CHECK-NOT: space_to_depth
// CHECK: "tcconv.conv2d"
// CHECK-SAME: strides = array<i64: 2, 2>
func.func @pointwise_stride_two(%x: tensor<1x3x16x16xf32>) -> tensor<1x16x8x8xi32> {
  %w = "qnn.weight"() {name = "w1"} : () -> tensor<16x3x1x1xi8>
  %q = "qnn.quantize"(%x) {layout = "NCHW", scale = 0.5 : f32} : (tensor<1x3x16x16xf32>) -> tensor<1x3x16x16xi8>
  %c = "qnn.conv2d"(%q, %w) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x3x16x16xi8>, tensor<16x3x1x1xi8>) -> tensor<1x16x8x8xi32>
  return %c : tensor<1x16x8x8xi32>
}

// BAD: stem 'wide' is not auto, s2d or plain
