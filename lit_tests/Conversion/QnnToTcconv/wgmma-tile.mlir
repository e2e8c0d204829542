// The wgmma kernel's tile on sm_90a is the op's block tile [BM, BN, K bytes a stage]: the tile
// model's (N = 256 for 4-bit convs of >= 256 channels without a residual, on grids of four
// N = 128 blocks an SM; else N up to 128, with 64-byte K stages for 128 / 256 input channels;
// one warpgroup for 4-bit convs of up to 64 channels and KxK convs of 128),
// or a forced one; grids too small for wgmma (but for the one-warpgroup tiles whose grid fills
// one wave),
// and 1x1 convs of 256 or more 4-bit channels in,
// stay on the staged kernel.
// RUN: nibble-opt %s --split-input-file --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a},tcconv-verify)' | FileCheck %s
// RUN: nibble-opt %s --split-input-file --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a kernel=wgmma tile=64x128x256},tcconv-verify)' | FileCheck %s --check-prefix=FORCED
// RUN: nibble-opt %s --split-input-file --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a})' | mlir-opt-22 --irdl-file=%tcconv_irdl > /dev/null

// CHECK-LABEL: func.func @plain_256_channels
// CHECK: "tcconv.conv2d"{{.*}}block_tile = array<i64: 128, 256, 128>{{.*}}family = "wgmma"
// FORCED-LABEL: func.func @plain_256_channels
// FORCED: "tcconv.conv2d"{{.*}}block_tile = array<i64: 64, 128, 256>{{.*}}family = "wgmma"
func.func @plain_256_channels(%x: tensor<64x256x28x28xui4>) -> tensor<64x256x28x28xi32> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<256x256x3x3xi4>
  %c = "qnn.conv2d"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<64x256x28x28xui4>, tensor<256x256x3x3xi4>) -> tensor<64x256x28x28xi32>
  return %c : tensor<64x256x28x28xi32>
}

// -----

// The same grid of a 1x1 conv: one K tap of 128 stored bytes, one to four K stages a tile,
// takes the staged kernel (`select::wgmma_pays`); `kernel=wgmma` forces wgmma.
// CHECK-LABEL: func.func @one_tap_256_channels
// CHECK: "tcconv.conv2d"{{.*}}family = "staged"
// FORCED-LABEL: func.func @one_tap_256_channels
// FORCED: "tcconv.conv2d"{{.*}}block_tile = array<i64: 64, 128, 256>{{.*}}family = "wgmma"
func.func @one_tap_256_channels(%x: tensor<64x256x28x28xui4>) -> tensor<64x256x28x28xi32> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<256x256x1x1xi4>
  %c = "qnn.conv2d"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<64x256x28x28xui4>, tensor<256x256x1x1xi4>) -> tensor<64x256x28x28xi32>
  return %c : tensor<64x256x28x28xi32>
}

// -----

// A 3x3 conv of 128 channels: one warpgroup of N = 128 (64 x 128 tiles, 128 widened bytes a
// stage), whether wgmma pays decided on the grid of two warpgroups' tiles.
// CHECK-LABEL: func.func @channels_128
// CHECK: "tcconv.conv2d"{{.*}}block_tile = array<i64: 64, 128, 128>{{.*}}family = "wgmma"
func.func @channels_128(%x: tensor<256x128x28x28xui4>) -> tensor<256x128x28x28xi32> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<128x128x3x3xi4>
  %c = "qnn.conv2d"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<256x128x28x28xui4>, tensor<128x128x3x3xi4>) -> tensor<256x128x28x28xi32>
  return %c : tensor<256x128x28x28xi32>
}

// -----

// Two N = 128 blocks an SM would not give every SM four: the staged kernel.
// CHECK-LABEL: func.func @small_grid
// CHECK: "tcconv.conv2d"{{.*}}family = "staged"
// FORCED-LABEL: func.func @small_grid
// FORCED: "tcconv.conv2d"{{.*}}block_tile = array<i64: 64, 128, 256>{{.*}}family = "wgmma"
func.func @small_grid(%x: tensor<8x256x14x14xui4>) -> tensor<8x256x14x14xi32> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<256x256x1x1xi4>
  %c = "qnn.conv2d"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<8x256x14x14xui4>, tensor<256x256x1x1xi4>) -> tensor<8x256x14x14xi32>
  return %c : tensor<8x256x14x14xi32>
}

// -----

// A 1x1 conv over 64 channels that adds a residual: one warpgroup's 64 x 64 tiles pay on any
// grid (`select::one_warpgroup_pays`), here batch 1's 196.
// CHECK-LABEL: func.func @residual_64_channels_batch_1
// CHECK: "tcconv.conv2d"{{.*}}block_tile = array<i64: 64, 64, {{[0-9]+}}>{{.*}}epilogue = "residual"{{.*}}family = "wgmma"
func.func @residual_64_channels_batch_1(%x: tensor<1x64x56x56xui4>, %id: tensor<1x256x56x56xi32>) -> tensor<1x256x56x56xi32> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<256x64x1x1xi4>
  %c = "qnn.conv2d_fused"(%x, %w, %id) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 36>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = true, operandSegmentSizes = array<i32: 1, 1, 0, 1>} : (tensor<1x64x56x56xui4>, tensor<256x64x1x1xi4>, tensor<1x256x56x56xi32>) -> tensor<1x256x56x56xi32>
  return %c : tensor<1x256x56x56xi32>
}

// -----

// Over 128 channels the grid of two warpgroups' tiles still decides: staged at batch 8.
// CHECK-LABEL: func.func @residual_128_channels_batch_8
// CHECK: "tcconv.conv2d"{{.*}}family = "staged"
func.func @residual_128_channels_batch_8(%x: tensor<8x128x28x28xui4>, %id: tensor<8x512x28x28xi32>) -> tensor<8x512x28x28xi32> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<512x128x1x1xi4>
  %c = "qnn.conv2d_fused"(%x, %w, %id) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 36>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = true, operandSegmentSizes = array<i32: 1, 1, 0, 1>} : (tensor<8x128x28x28xui4>, tensor<512x128x1x1xi4>, tensor<8x512x28x28xi32>) -> tensor<8x512x28x28xi32>
  return %c : tensor<8x512x28x28xi32>
}

// -----

// A 3x3 conv of 64 channels: wgmma where its 64 x 64 tiles fill one wave of the six blocks an
// SM they are built for (batch 16: 784 tiles), the staged kernel below (batch 8: 392).
// CHECK-LABEL: func.func @channels_64_batch_16
// CHECK: "tcconv.conv2d"{{.*}}block_tile = array<i64: 64, 64, 64>{{.*}}family = "wgmma"
func.func @channels_64_batch_16(%x: tensor<16x64x56x56xui4>) -> tensor<16x64x56x56xi32> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<64x64x3x3xi4>
  %c = "qnn.conv2d"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<16x64x56x56xui4>, tensor<64x64x3x3xi4>) -> tensor<16x64x56x56xi32>
  return %c : tensor<16x64x56x56xi32>
}

// -----

// CHECK-LABEL: func.func @channels_64_batch_8
// CHECK: "tcconv.conv2d"{{.*}}family = "staged"
func.func @channels_64_batch_8(%x: tensor<8x64x56x56xui4>) -> tensor<8x64x56x56xi32> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<64x64x3x3xi4>
  %c = "qnn.conv2d"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<8x64x56x56xui4>, tensor<64x64x3x3xi4>) -> tensor<8x64x56x56xi32>
  return %c : tensor<8x64x56x56xi32>
}

// -----

// A 3x3 conv of 256 channels at batch 64: 196 two-warpgroup tiles, but its 392 one-warpgroup
// 64 x 128 tiles fill one wave of three blocks an SM (`select::one_warpgroup_pays`).
// CHECK-LABEL: func.func @channels_256_one_wave
// CHECK: "tcconv.conv2d"{{.*}}block_tile = array<i64: 64, 128, 128>{{.*}}family = "wgmma"
func.func @channels_256_one_wave(%x: tensor<64x256x14x14xui4>) -> tensor<64x256x14x14xi32> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<256x256x3x3xi4>
  %c = "qnn.conv2d"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<64x256x14x14xui4>, tensor<256x256x3x3xi4>) -> tensor<64x256x14x14xi32>
  return %c : tensor<64x256x14x14xi32>
}

// -----

// 512 channels on a 7 x 7 map at batch 64: 196 one-warpgroup tiles, half a wave: staged.
// CHECK-LABEL: func.func @channels_512_half_wave
// CHECK: "tcconv.conv2d"{{.*}}family = "staged"
func.func @channels_512_half_wave(%x: tensor<64x512x7x7xui4>) -> tensor<64x512x7x7xi32> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<512x512x3x3xi4>
  %c = "qnn.conv2d"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<64x512x7x7xui4>, tensor<512x512x3x3xi4>) -> tensor<64x512x7x7xi32>
  return %c : tensor<64x512x7x7xi32>
}

// -----

// A 3x3 conv adding a residual over 128 channels at batch 64 (ResNet-18's stage 2): staged,
// although its 784 one-warpgroup tiles fill a wave.
// CHECK-LABEL: func.func @residual_128_channels_one_wave
// CHECK: "tcconv.conv2d"{{.*}}epilogue = "residual"{{.*}}family = "staged"
func.func @residual_128_channels_one_wave(%x: tensor<64x128x28x28xui4>, %id: tensor<64x128x28x28xi32>) -> tensor<64x128x28x28xi32> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<128x128x3x3xi4>
  %c = "qnn.conv2d_fused"(%x, %w, %id) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 36>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = true, operandSegmentSizes = array<i32: 1, 1, 0, 1>} : (tensor<64x128x28x28xui4>, tensor<128x128x3x3xi4>, tensor<64x128x28x28xi32>) -> tensor<64x128x28x28xi32>
  return %c : tensor<64x128x28x28xi32>
}
