func.func @f(%x: tensor<1x8x4x4xui4>) -> tensor<1x8x1x1xi32> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<8x8x3x3xi4>
  %c = "qnn.conv2d"(%x, %w) {strides = array<i64: 2147483648, 2147483648>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<1x8x4x4xui4>, tensor<8x8x3x3xi4>) -> tensor<1x8x1x1xi32>
  return %c : tensor<1x8x1x1xi32>
}
