// A network's tail (conv -> average pool -> requantize -> flatten -> dense) takes the layout the
// conv works in (HWNC for `direct`), so nothing relayouts the last stream; a pooled value that is
// a function result keeps the caller's layout (dialects/tcconv/src/lower.rs, plan_layouts).
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90},tcconv-verify)' | FileCheck %s

// CHECK-LABEL: func.func @tail_takes_the_conv_layout
// CHECK: "tcconv.conv2d"{{.*}}strategy = "direct"{{.*}}-> ()
// CHECK-NEXT: "tcconv.pool2d"{{.*}}kind = "avg"{{.*}}(memref<8x8x16x64xi32>, memref<1x1x16x64xi8>)
// CHECK-NEXT: "tcconv.dense"(%{{[0-9]+}}, {{.*}}(memref<1x1x16x64xi8>,
// CHECK-NOT: tcconv.relayout
// CHECK: return
func.func @tail_takes_the_conv_layout(%x: tensor<16x64x8x8xui4>) -> tensor<16x10xi32> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<64x64x3x3xi4>
  %c = "qnn.conv2d"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<16x64x8x8xui4>, tensor<64x64x3x3xi4>) -> tensor<16x64x8x8xi32>
  %g = "qnn.avg_pool2d"(%c) {kernel = array<i64: 8, 8>, strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW"} : (tensor<16x64x8x8xi32>) -> tensor<16x64x1x1xi32>
  %q = "qnn.requantize"(%g) {multiplier = array<i32: 1073741824>, shift = array<i32: 36>, clamp = array<i64: -128, 127>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<16x64x1x1xi32>) -> tensor<16x64x1x1xi8>
  %f = "qnn.flatten"(%q) {layout = "NCHW"} : (tensor<16x64x1x1xi8>) -> tensor<16x64xi8>
  %wf = "qnn.weight"() {name = "fc.w"} : () -> tensor<10x64xi8>
  %d = "qnn.dense"(%f, %wf) : (tensor<16x64xi8>, tensor<10x64xi8>) -> tensor<16x10xi32>
  return %d : tensor<16x10xi32>
}

// CHECK-LABEL: func.func @pooled_result_keeps_its_layout
// CHECK: "tcconv.conv2d"{{.*}}strategy = "direct"{{.*}}-> ()
// CHECK-NEXT: "tcconv.pool2d"{{.*}}(memref<16x8x8x64xi32>, memref<16x1x1x64xi32>)
// CHECK-NOT: tcconv.relayout
// CHECK: return
func.func @pooled_result_keeps_its_layout(%x: tensor<16x64x8x8xui4>) -> tensor<16x64x1x1xi32> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<64x64x3x3xi4>
  %c = "qnn.conv2d"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<16x64x8x8xui4>, tensor<64x64x3x3xi4>) -> tensor<16x64x8x8xi32>
  %g = "qnn.avg_pool2d"(%c) {kernel = array<i64: 8, 8>, strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW"} : (tensor<16x64x8x8xi32>) -> tensor<16x64x1x1xi32>
  return %g : tensor<16x64x1x1xi32>
}
