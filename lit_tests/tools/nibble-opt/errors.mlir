// Bad input gets a located diagnostic and exit code 1, never a crash.
// RUN: not nibble-opt %s 2>&1 | FileCheck %s --check-prefix=PARSE
// RUN: not nibble-opt %S/Inputs/block.mlir --pass-pipeline='builtin.module(no-such-pass)' 2>&1 | FileCheck %s --check-prefix=PASS
// RUN: not nibble-opt %S/Inputs/block.mlir --pass-pipeline='qnn-verify' 2>&1 | FileCheck %s --check-prefix=ANCHOR
// RUN: not nibble-opt %S/Inputs/block.mlir --pass-pipeline='builtin.module(qnn-verify{target=sm_90})' 2>&1 | FileCheck %s --check-prefix=OPTION
// RUN: not nibble-opt %S/does-not-exist.mlir 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not nibble-opt %S/Inputs/block.mlir --no-such-flag 2>&1 | FileCheck %s --check-prefix=FLAG
// The inliner parses its default pipeline only when it runs, and MLIR does not fail the run on
// a bad one: nibble-opt checks it with the rest of the pipeline.
// RUN: not nibble-opt %S/Inputs/block.mlir --pass-pipeline='builtin.module(inline{default-pipeline=no-such-pass})' 2>&1 | FileCheck %s --check-prefix=NESTED
// RUN: nibble-opt %S/Inputs/block.mlir --pass-pipeline='builtin.module(inline{default-pipeline=cse})' | FileCheck %s --check-prefix=NESTED-OK

// PARSE: errors.mlir:[[@LINE+2]]:{{[0-9]+}}: error:
func.func @f(%x: i32) {
  %y = "qnn.relu"(%x : i32
}
// PASS: nibble-opt: error: unknown pass or invalid pipeline element 'no-such-pass'
// ANCHOR: nibble-opt: error: pass pipeline must be anchored on builtin.module
// OPTION: nibble-opt: error: pass 'qnn-verify' has no option 'target'
// MISSING: nibble-opt: error: cannot read '{{.*}}does-not-exist.mlir'
// FLAG: error: unexpected argument '--no-such-flag'
// NESTED: nibble-opt: error: option 'default-pipeline' of 'inline': 'no-such-pass' is not a pass pipeline
// NESTED-OK: func.func
