func.func @f(%x: tensor<1x8x4x4xui4>) -> tensor<1x8x4x4xi32> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<8x8x3x3xi4>
  %c = "qnn.conv2d"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 4611686018427387904, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<1x8x4x4xui4>, tensor<8x8x3x3xi4>) -> tensor<1x8x4x4xi32>
  return %c : tensor<1x8x4x4xi32>
}
