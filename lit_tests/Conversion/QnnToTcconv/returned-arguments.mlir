// A result that is a function argument (or a layout transform of one, which aliases its buffer)
// is copied into its own output buffer: every output of a tcconv function is a memref its
// kernels write (before, the output was left unwritten and a GPU run returned whatever the
// memory held).
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_80},tcconv-verify)' | FileCheck %s

// CHECK-LABEL: func.func @returns_its_argument
// CHECK-SAME: (%arg0: memref<1x4x4x8xi8> {{.*}}, %arg1: memref<1x4x4x8xi8> {{.*}}, %arg2: memref<1x4x4x8xi8>
// CHECK: "tcconv.elementwise"(%arg0, %arg1) {{.*}}kind = "relu"
// CHECK: "tcconv.relayout"(%arg0, %arg2)
func.func @returns_its_argument(%x: tensor<1x8x4x4xi8>) -> (tensor<1x8x4x4xi8>, tensor<1x8x4x4xi8>) {
  %r = "qnn.relu"(%x) {layout = "NCHW"} : (tensor<1x8x4x4xi8>) -> tensor<1x8x4x4xi8>
  return %r, %x : tensor<1x8x4x4xi8>, tensor<1x8x4x4xi8>
}

// CHECK-LABEL: func.func @returns_one_value_twice
// CHECK: "tcconv.elementwise"(%arg0, %arg1) {{.*}}kind = "relu"
// CHECK: "tcconv.relayout"(%arg1, %arg2)
func.func @returns_one_value_twice(%x: tensor<1x8x4x4xi8>) -> (tensor<1x8x4x4xi8>, tensor<1x8x4x4xi8>) {
  %r = "qnn.relu"(%x) {layout = "NCHW"} : (tensor<1x8x4x4xi8>) -> tensor<1x8x4x4xi8>
  return %r, %r : tensor<1x8x4x4xi8>, tensor<1x8x4x4xi8>
}
