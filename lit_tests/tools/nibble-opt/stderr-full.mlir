// A tool whose stderr cannot be written (full disk, closed pipe) still exits 1 on an error
// (its message is lost), never aborts; a run that writes to stderr when it succeeds
// (--mlir-timing) exits 1 as well.
// RUN: %python %S/Inputs/stderr_full.py nibble-opt %S/Inputs/hostile/index-array.mlir | FileCheck %s
// RUN: %python %S/Inputs/stderr_full.py nibble-opt %s --mlir-timing | FileCheck %s
// RUN: %python %S/Inputs/stderr_full.py nibble-run --cpu %S/Inputs/hostile/index-array.mlir | FileCheck %s
// RUN: %python %S/Inputs/stderr_full.py nibble-gen import %s -o %t.out | FileCheck %s
// CHECK: exit 1
func.func @f() {
  return
}
