// qnn source of the invalid.mlir inputs (Inputs/regen.sh lowers it to tcconv per target).
func.func @relu(%x: tensor<1x8x4x4xi32>) -> tensor<1x8x4x4xi32> {
  %0 = "qnn.relu"(%x) {layout = "NCHW"} : (tensor<1x8x4x4xi32>) -> tensor<1x8x4x4xi32>
  return %0 : tensor<1x8x4x4xi32>
}
