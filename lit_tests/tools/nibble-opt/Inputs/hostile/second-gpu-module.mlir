module attributes {gpu.container_module} {
  func.func @block(%x: tensor<1x8x4x4xui4>) -> tensor<1x8x4x4xui4> {
    %w = "qnn.weight"() {name = "w"} : () -> tensor<8x8x3x3xi4>
    %c = "qnn.conv2d"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<1x8x4x4xui4>, tensor<8x8x3x3xi4>) -> tensor<1x8x4x4xi32>
    %r = "qnn.requantize"(%c) {multiplier = array<i32: 1073741824>, shift = array<i32: 34>, clamp = array<i64: 0, 15>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<1x8x4x4xi32>) -> tensor<1x8x4x4xui4>
    return %r : tensor<1x8x4x4xui4>
  }
  gpu.module @other {
    gpu.func @evil() kernel {
      nvvm.cp.async.commit.group
      gpu.return
    }
  }
}
