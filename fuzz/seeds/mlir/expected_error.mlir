func.func @conv_channel_mismatch(%x: tensor<1x3x8x8xi8>, %w: tensor<4x5x3x3xi8>) -> tensor<1x4x6x6xi32> {
  // expected-error @+1 {{weight has 5 input channels (OIHW) but the input has 3 (NCHW)}}
  %0 = "qnn.conv2d"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<1x3x8x8xi8>, tensor<4x5x3x3xi8>) -> tensor<1x4x6x6xi32>
  return %0 : tensor<1x4x6x6xi32>
}

