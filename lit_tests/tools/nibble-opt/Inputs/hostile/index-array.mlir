func.func @f(%x: tensor<1x8x4x4xi8>) attributes {a = array<index: 1>} {
  return
}
