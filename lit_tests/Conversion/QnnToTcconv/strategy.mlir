// Strategy, MMA shape and operand types per target (rules: dialects/tcconv/src/lower.rs).
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_80})' | FileCheck %s --check-prefix=SM80
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90})' | FileCheck %s --check-prefix=SM90
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_75})' | FileCheck %s --check-prefix=SM75
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 strategy=im2col tile=64x64x128})' | FileCheck %s --check-prefix=FORCED
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90})' | mlir-opt-22 --irdl-file=%tcconv_irdl > /dev/null

// SM80-LABEL: func.func @conv_direct_hwnc_s4_sm80
// SM80: "tcconv.weight"() {{.*}}packing = "hwoi"
// SM80: "tcconv.conv2d"{{.*}}a_type = "u4", b_type = "s4"{{.*}}mma = array<i64: 16, 8, 64>{{.*}}strategy = "direct"{{.*}}widen = false
// SM90-LABEL: func.func @conv_direct_hwnc_s4_sm80
// SM90: "tcconv.conv2d"{{.*}}a_type = "u8", b_type = "s8"{{.*}}mma = array<i64: 16, 8, 32>{{.*}}strategy = "direct"{{.*}}widen = true
// SM75-LABEL: func.func @conv_direct_hwnc_s4_sm80
// SM75: "tcconv.conv2d"{{.*}}mma = array<i64: 8, 8, 32>{{.*}}strategy = "direct"
// FORCED-LABEL: func.func @conv_direct_hwnc_s4_sm80
// FORCED: "tcconv.conv2d"{{.*}}block_tile = array<i64: 64, 64, 128>{{.*}}strategy = "im2col"
func.func @conv_direct_hwnc_s4_sm80(%x: tensor<16x64x8x8xui4>) -> tensor<16x64x8x8xi32> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<64x64x3x3xi4>
  %c = "qnn.conv2d"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<16x64x8x8xui4>, tensor<64x64x3x3xi4>) -> tensor<16x64x8x8xi32>
  return %c : tensor<16x64x8x8xi32>
}

// SM80-LABEL: func.func @conv_im2col_first_layer
// SM80-DAG: "tcconv.weight"() {{.*}}packing = "ohwi"
// SM80-DAG: "tcconv.quantize"
// SM80: "tcconv.conv2d"{{.*}}a_type = "s8", b_type = "s8"{{.*}}strategy = "im2col"
// SM90-LABEL: func.func @conv_im2col_first_layer
// SM90: "tcconv.conv2d"{{.*}}strategy = "im2col"
func.func @conv_im2col_first_layer(%x: tensor<16x3x32x32xf32>) -> tensor<16x64x16x16xi32> {
  %q = "qnn.quantize"(%x) {scale = 0x3C000000 : f32, layout = "NCHW"} : (tensor<16x3x32x32xf32>) -> tensor<16x3x32x32xi8>
  %w = "qnn.weight"() {name = "stem"} : () -> tensor<64x3x7x7xi8>
  %c = "qnn.conv2d"(%q, %w) {strides = array<i64: 2, 2>, padding = array<i64: 3, 3, 3, 3>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<16x3x32x32xi8>, tensor<64x3x7x7xi8>) -> tensor<16x64x16x16xi32>
  return %c : tensor<16x64x16x16xi32>
}

// SM80-LABEL: func.func @conv_odd_batch_falls_back
// SM80: "tcconv.conv2d"{{.*}}strategy = "im2col"
// SM90-LABEL: func.func @conv_odd_batch_falls_back
// SM90: "tcconv.conv2d"{{.*}}strategy = "im2col"
func.func @conv_odd_batch_falls_back(%x: tensor<3x64x8x8xui4>) -> tensor<3x64x8x8xi32> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<64x64x3x3xi4>
  %c = "qnn.conv2d"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<3x64x8x8xui4>, tensor<64x64x3x3xi4>) -> tensor<3x64x8x8xi32>
  return %c : tensor<3x64x8x8xi32>
}

// SM80-LABEL: func.func @conv_channels_not_multiple_fall_back
// SM80: "tcconv.conv2d"{{.*}}strategy = "im2col"
func.func @conv_channels_not_multiple_fall_back(%x: tensor<16x40x8x8xui4>) -> tensor<16x64x8x8xi32> {
  %w = "qnn.weight"() {name = "w40"} : () -> tensor<64x40x3x3xi4>
  %c = "qnn.conv2d"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<16x40x8x8xui4>, tensor<64x40x3x3xi4>) -> tensor<16x64x8x8xi32>
  return %c : tensor<16x64x8x8xi32>
}

// SM80-LABEL: func.func @conv_channels_60_fall_back
// SM80: "tcconv.conv2d"{{.*}}strategy = "im2col"
// SM90-LABEL: func.func @conv_channels_60_fall_back
// SM90: "tcconv.conv2d"{{.*}}strategy = "im2col"
func.func @conv_channels_60_fall_back(%x: tensor<16x60x8x8xui4>) -> tensor<16x64x8x8xi32> {
  %w = "qnn.weight"() {name = "w60"} : () -> tensor<64x60x3x3xi4>
  %c = "qnn.conv2d"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<16x60x8x8xui4>, tensor<64x60x3x3xi4>) -> tensor<16x64x8x8xi32>
  return %c : tensor<16x64x8x8xi32>
}

// Channel counts that are neither whole 16-byte chunks (staged) nor a multiple of mma.k: the
// register-MMA kernel with a partial last K step (MobileNetV2's 24-channel 1x1 expansions),
// where the CUDA-core kernel ran them before. 8-bit C = 24 on sm_80 / sm_90 (k = 32), on
// sm_75 (m8n8k16: one whole and one partial step).
// SM80-LABEL: func.func @conv_partial_k_u8
// SM80: "tcconv.conv2d"{{.*}}a_type = "u8", b_type = "s8"{{.*}}family = "mma"{{.*}}mma = array<i64: 16, 8, 32>
// SM90-LABEL: func.func @conv_partial_k_u8
// SM90: "tcconv.conv2d"{{.*}}family = "mma"{{.*}}mma = array<i64: 16, 8, 32>
// SM75-LABEL: func.func @conv_partial_k_u8
// SM75: "tcconv.conv2d"{{.*}}family = "mma"{{.*}}mma = array<i64: 8, 8, 16>
func.func @conv_partial_k_u8(%x: tensor<8x14x14x24xui8>) -> tensor<8x14x14x144xi32> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<144x24x1x1xi8>
  %c = "qnn.conv2d"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NHWC", kernel_layout = "OIHW"} : (tensor<8x14x14x24xui8>, tensor<144x24x1x1xi8>) -> tensor<8x14x14x144xi32>
  return %c : tensor<8x14x14x144xi32>
}
