// An artifact edited by hand is refused when it is loaded, before any CUDA call: PTX compiled
// for another chip than the plan names, an output no launch writes, and a reference/ of another
// network (the CPU run would run that network instead).
// RUN: rm -rf %t && mkdir -p %t
// RUN: nibble-gen conv --shape 3,5,7,13,3,2,1 -o %t/m > /dev/null
// RUN: nibble-gen conv --shape 1,8,5,9,3,1,1 -o %t/other > /dev/null
// RUN: nibble-opt %t/m/model.mlir --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_90})' --emit=artifact -o %t/a > /dev/null 2>&1
// RUN: nibble-opt %t/other/model.mlir --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_90})' --emit=artifact -o %t/b > /dev/null 2>&1
// RUN: cp -r %t/a %t/target && %python -c "import json, sys; p = sys.argv[1]; j = json.load(open(p)); j['target'] = 'sm_75'; json.dump(j, open(p, 'w'))" %t/target/plan.json
// RUN: not nibble-run %t/target 2>&1 | FileCheck %s --check-prefix=TARGET
// TARGET: kernels.ptx: PTX for sm_90, but the plan is for sm_75
// RUN: cp -r %t/a %t/nolaunch && %python -c "import json, sys; p = sys.argv[1]; j = json.load(open(p)); j['launches'] = []; json.dump(j, open(p, 'w'))" %t/nolaunch/plan.json
// RUN: not nibble-run %t/nolaunch 2>&1 | FileCheck %s --check-prefix=NOLAUNCH
// NOLAUNCH: nolaunch: output 0 (buffer {{[0-9]+}}) is written by no launch
// RUN: cp -r %t/a %t/ref && rm -r %t/ref/reference && cp -r %t/b/reference %t/ref/reference
// RUN: not nibble-run --cpu %t/ref 2>&1 | FileCheck %s --check-prefix=REF
// REF: reference/model.json: a network of inputs {{\[\[}}1, 8, 5, 5]] and results {{\[\[}}1, 9, 5, 5]], the plan's has inputs {{\[\[}}3, 5, 7, 7]] and outputs {{\[\[}}3, 13, 4, 4]]
// The untouched artifact still loads (and runs on the CPU).
// RUN: nibble-run --cpu %t/a | FileCheck %s --check-prefix=OK
// OK: conv on the CPU reference
// A plan.json that is not JSON: the error is located in it.
// RUN: cp -r %t/a %t/syntax && printf '{\n  "version": 3,\n  oops\n}\n' > %t/syntax/plan.json
// RUN: not nibble-run %t/syntax 2>&1 | FileCheck %s --check-prefix=SYNTAX
// RUN: not nibble-run --cpu %t/syntax 2>&1 | FileCheck %s --check-prefix=SYNTAX
// SYNTAX: nibble-run: error: {{.*}}syntax/plan.json:3:3: key must be a string
