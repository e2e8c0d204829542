func.func @f(%x: tensor<1x8x4x4xi32>) -> tensor<1x8x4x4xui4> {
  %r = "qnn.requantize"(%x) {multiplier = array<i32: 1073741824>, shift = array<i32: 34>, clamp = array<i64: 0, 15>, zero_point = -9223372036854775808 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<1x8x4x4xi32>) -> tensor<1x8x4x4xui4>
  return %r : tensor<1x8x4x4xui4>
}
