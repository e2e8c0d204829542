func.func @f(%x: tensor<4611686018427387904x8x4x4xi8>) -> tensor<4611686018427387904x8x4x4xi8> {
  %r = "qnn.relu"(%x) {layout = "NCHW"} : (tensor<4611686018427387904x8x4x4xi8>) -> tensor<4611686018427387904x8x4x4xi8>
  return %r : tensor<4611686018427387904x8x4x4xi8>
}
