// A network whose CPU reference would hold more tensors than the process may allocate is one
// error before anything runs (not an abort on a failed allocation halfway): eight values of
// 2^32 elements here.
// RUN: not nibble-run --cpu %s 2>&1 | FileCheck %s
// CHECK: nibble-run: error: @huge: the CPU reference holds 128.0 GiB of tensors for this network, more than the {{[0-9.]+}} GiB of memory this process may use
func.func @huge(%x: tensor<1x1x65536x65536xi8>) -> tensor<1x1x65536x65536xi8> {
  %a = "qnn.relu"(%x) {layout = "NCHW"} : (tensor<1x1x65536x65536xi8>) -> tensor<1x1x65536x65536xi8>
  %b = "qnn.relu"(%a) {layout = "NCHW"} : (tensor<1x1x65536x65536xi8>) -> tensor<1x1x65536x65536xi8>
  %c = "qnn.relu"(%b) {layout = "NCHW"} : (tensor<1x1x65536x65536xi8>) -> tensor<1x1x65536x65536xi8>
  %d = "qnn.relu"(%c) {layout = "NCHW"} : (tensor<1x1x65536x65536xi8>) -> tensor<1x1x65536x65536xi8>
  %e = "qnn.relu"(%d) {layout = "NCHW"} : (tensor<1x1x65536x65536xi8>) -> tensor<1x1x65536x65536xi8>
  %f = "qnn.relu"(%e) {layout = "NCHW"} : (tensor<1x1x65536x65536xi8>) -> tensor<1x1x65536x65536xi8>
  %g = "qnn.relu"(%f) {layout = "NCHW"} : (tensor<1x1x65536x65536xi8>) -> tensor<1x1x65536x65536xi8>
  return %g : tensor<1x1x65536x65536xi8>
}
