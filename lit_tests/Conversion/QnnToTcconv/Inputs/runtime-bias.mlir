func.func @bias_argument(%x: tensor<2x16x9x9xui4>, %w: tensor<32x16x3x3xi4>) -> tensor<2x32x9x9xi32> {
  %0 = "qnn.conv2d"(%x, %w) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<2x16x9x9xui4>, tensor<32x16x3x3xi4>) -> tensor<2x32x9x9xi32>
  return %0 : tensor<2x32x9x9xi32>
}
