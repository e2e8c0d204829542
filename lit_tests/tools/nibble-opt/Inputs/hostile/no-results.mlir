func.func @f(%x: tensor<1x8x4x4xi8>) {
  return
}
