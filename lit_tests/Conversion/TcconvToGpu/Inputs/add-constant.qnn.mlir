// The add of a per-channel constant (qnn.requantize {rounding = "f32_fma", offset}) on its own.
func.func @add_constant(%x: tensor<2x6x5x5xui8>) -> tensor<2x6x5x5xui8> {
  %y = "qnn.requantize"(%x) {clamp = array<i64: 0, 255>, layout = "NCHW", multiplier = array<i32: 12582912>, offset = array<f32: 0.25, -1.5, 3.0, 0.0, 7.5, -0.125>, rounding = "f32_fma", shift = array<i32: 24>, zero_point = 0 : i64} : (tensor<2x6x5x5xui8>) -> tensor<2x6x5x5xui8>
  return %y : tensor<2x6x5x5xui8>
}

// -----

// One offset for every channel: a constant in the kernel.
func.func @add_scalar(%x: tensor<3x8xi8>) -> tensor<3x8xi8> {
  %y = "qnn.requantize"(%x) {clamp = array<i64: -128, 127>, layout = "NC", multiplier = array<i32: 1>, offset = array<f32: 0.0548>, rounding = "f32_fma", shift = array<i32: 0>, zero_point = 0 : i64} : (tensor<3x8xi8>) -> tensor<3x8xi8>
  return %y : tensor<3x8xi8>
}
