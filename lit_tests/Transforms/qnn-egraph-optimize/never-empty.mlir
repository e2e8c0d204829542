// The optimizer never leaves a function without a qnn op: a relu of an unsigned argument is the
// argument (relu-of-non-negative), but a function returning its argument is no qnn network any
// more (nothing lowers it, --emit=artifact has no kernels to write), so the input is kept.
// RUN: nibble-opt %s --pass-pipeline='builtin.module(qnn-egraph-optimize{target=sm_80})' | FileCheck %s
// RUN: nibble-opt %s --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_80})' --emit=artifact -o %t.art | FileCheck %s --check-prefix=ART

// CHECK-LABEL: func.func @relu_of_unsigned
// CHECK: "qnn.relu"(%arg0)
// ART: wrote artifact {{.*}}: 1 launches of 1 kernels
func.func @relu_of_unsigned(%a: tensor<4x7x3x1xui4>) -> tensor<4x7x3x1xui4> {
  %r = "qnn.relu"(%a) {layout = "NHWC"} : (tensor<4x7x3x1xui4>) -> tensor<4x7x3x1xui4>
  return %r : tensor<4x7x3x1xui4>
}
