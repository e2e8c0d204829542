// IR printing after passes goes to stderr, in mlir-opt's format; -o writes the result file.
// RUN: nibble-opt %S/Inputs/block.mlir --pass-pipeline='builtin.module(qnn-verify,canonicalize,cse)' --mlir-print-ir-after-all -o %t.mlir 2>&1 | FileCheck %s --check-prefix=ALL
// RUN: FileCheck %s --check-prefix=OUT < %t.mlir
// RUN: nibble-opt %S/Inputs/block.mlir --pass-pipeline='builtin.module(qnn-verify,canonicalize,cse)' --mlir-print-ir-after=cse -o %t2.mlir 2>&1 | FileCheck %s --check-prefix=ONE
// RUN: not nibble-opt %S/Inputs/block.mlir --pass-pipeline='builtin.module(qnn-verify,cse)' --mlir-print-ir-after=canonicalize 2>&1 | FileCheck %s --check-prefix=NONE
// RUN: cat %S/Inputs/block.mlir | nibble-opt - | nibble-opt | FileCheck %s --check-prefix=OUT
// RUN: nibble-opt %S/Inputs/block.mlir --mlir-print-debuginfo | FileCheck %s --check-prefix=LOC
// RUN: nibble-opt --list-passes | FileCheck %s --check-prefix=LIST
// RUN: nibble-opt --version | FileCheck %s --check-prefix=VERSION

// ALL: // -----// IR Dump After qnn-verify //----- //
// ALL: "qnn.conv2d"
// ALL: // -----// IR Dump After canonicalize //----- //
// ALL: // -----// IR Dump After cse //----- //

// ONE-NOT: IR Dump After qnn-verify
// ONE: // -----// IR Dump After cse //----- //
// ONE-NOT: IR Dump After

// NONE: nibble-opt: error: --mlir-print-ir-after=canonicalize names no step of the pass pipeline (its steps: qnn-verify, cse)

// OUT-LABEL: func.func @block
// OUT: "qnn.requantize"

// LOC: loc("{{.*}}block.mlir":3:8)

// LIST: qnn-verify
// VERSION: nibble-opt {{[0-9]+\.[0-9]+\.[0-9]+}}
