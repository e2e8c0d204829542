// A global average pool (20 channels, requantized to i8) read only by a dense layer with a
// bias and a fused dequantize: convert-qnn-to-tcconv{pools=dense} runs the pool in the dense kernel.
func.func @pool_dense(%x: tensor<2x20x3x3xi32>) -> tensor<2x5xf32> {
  %g = "qnn.avg_pool2d"(%x) {kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW"} : (tensor<2x20x3x3xi32>) -> tensor<2x20x1x1xi32>
  %q = "qnn.requantize"(%g) {multiplier = array<i32: 1073741824>, shift = array<i32: 36>, clamp = array<i64: -128, 127>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<2x20x1x1xi32>) -> tensor<2x20x1x1xi8>
  %f = "qnn.flatten"(%q) {layout = "NCHW"} : (tensor<2x20x1x1xi8>) -> tensor<2x20xi8>
  %w = "qnn.weight"() {name = "w"} : () -> tensor<5x20xi8>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<5xi32>
  %d = "qnn.dense"(%f, %w, %b) : (tensor<2x20xi8>, tensor<5x20xi8>, tensor<5xi32>) -> tensor<2x5xi32>
  %y = "qnn.dequantize"(%d) {scale = array<f32: 0.125>, layout = "NC"} : (tensor<2x5xi32>) -> tensor<2x5xf32>
  return %y : tensor<2x5xf32>
}
