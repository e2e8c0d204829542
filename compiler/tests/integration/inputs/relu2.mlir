func.func @relu2(%x: tensor<2x16xi8>) -> tensor<2x16xi8> {
  %r = "qnn.relu"(%x) {layout = "NC"} : (tensor<2x16xi8>) -> tensor<2x16xi8>
  %c = "qnn.clamp"(%r) {min = 0 : i64, max = 100 : i64, layout = "NC"} : (tensor<2x16xi8>) -> tensor<2x16xi8>
  return %c : tensor<2x16xi8>
}
