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
// The GPU path checks the host tensors of the inputs and outputs the same way, before making
// the inputs (and before it looks for a CUDA driver); nibble-gen conv checks the weights it
// would make. (Under a 4 GB address-space limit, so that the outcome does not depend on the
// machine's memory.)
// RUN: rm -rf %t && mkdir -p %t
// RUN: nibble-gen conv --shape 65536,8,64,8,3,1,1 -o %t/big > /dev/null
// RUN: nibble-opt %t/big/model.mlir --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_90})' --emit=artifact -o %t/art > /dev/null 2>&1
// RUN: not sh -c 'ulimit -v 4000000 && nibble-run %t/art' 2>&1 | FileCheck %s --check-prefix=GPU
// GPU: nibble-run: error: the inputs and outputs of conv take 16.0 GiB on the host, more than the {{[0-9.]+}} GiB of memory this process may use
// RUN: not sh -c 'ulimit -v 4000000 && nibble-gen conv --shape 1,65536,1,65536,1,1,0 -o %t/w' 2>&1 | FileCheck %s --check-prefix=GEN
// GEN: nibble-gen: error: the weights of conv configuration {{.*}} take 16.0 GiB, more than the {{[0-9.]+}} GiB of memory this process may use
