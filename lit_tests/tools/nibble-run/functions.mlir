// nibble-run --cpu runs one network: the module's one function, or its one function of qnn ops;
// a module of several networks is an error naming them (as --emit=artifact refuses it).
// RUN: not nibble-run --cpu %s 2>&1 | FileCheck %s --check-prefix=TWO
// TWO: nibble-run: error: {{.*}}functions.mlir: the module has 2 functions (@a, @b); nibble-run --cpu runs one network
// RUN: sed -e '/^func.func @b/,/^}/d' %s > %t.one.mlir
// RUN: nibble-run --cpu %t.one.mlir --seed 1 | FileCheck %s --check-prefix=ONE
// ONE: a on the CPU reference: {{.*}} output tensor<1x8xi8>
module {
func.func @a(%x: tensor<1x8xi8>) -> tensor<1x8xi8> {
  %r = "qnn.relu"(%x) {layout = "NC"} : (tensor<1x8xi8>) -> tensor<1x8xi8>
  return %r : tensor<1x8xi8>
}
func.func @b(%x: tensor<1x4xi8>) -> tensor<1x4xi8> {
  %r = "qnn.relu"(%x) {layout = "NC"} : (tensor<1x4xi8>) -> tensor<1x4xi8>
  return %r : tensor<1x4xi8>
}
}
