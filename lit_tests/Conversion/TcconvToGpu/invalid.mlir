// Options are checked before anything is built; the functions must have been lowered for the
// same target.
// RUN: not nibble-opt %S/Inputs/invalid.sm_80.mlir --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_61})' 2>&1 | FileCheck %s --check-prefix=TARGET
// RUN: not nibble-opt %S/Inputs/invalid.sm_80.mlir --pass-pipeline='builtin.module(convert-tcconv-to-gpu)' 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not nibble-opt %S/Inputs/invalid.sm_80.mlir --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90})' 2>&1 | FileCheck %s --check-prefix=MISMATCH
// RUN: not nibble-opt %S/Inputs/invalid.sm_80.mlir --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_80 kernel-cache=maybe})' 2>&1 | FileCheck %s --check-prefix=CACHEOPT
// A module without tcconv functions is left unchanged (no gpu.module, no container attribute).
// An op tcconv-verify refuses gets no kernel even without tcconv-verify before it (here a fused
// input quantize of a non-f32 input).
// RUN: not nibble-opt %S/Inputs/invalid.fused-quantize-of-i8.mlir --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90})' 2>&1 | FileCheck %s --check-prefix=QUANTIZE
// QUANTIZE: invalid.fused-quantize-of-i8.mlir:6:5: error: 'tcconv.conv2d' a fused input quantize reads an f32 input of the quantized tensor's dims [1, 3, 39, 39], found i8 [1, 3, 39, 39]
// RUN: nibble-opt %S/Inputs/invalid.qnn.mlir --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90})' | FileCheck %s --check-prefix=NOOP

// TARGET: error: convert-tcconv-to-gpu: unknown target 'sm_61' (known: sm_75, sm_80, sm_86, sm_89, sm_90, sm_90a)
// MISSING: error: convert-tcconv-to-gpu: missing option target=sm_XX
// CACHEOPT: error: convert-tcconv-to-gpu: kernel-cache=maybe: expected true or false
// MISMATCH: error: convert-tcconv-to-gpu: function 'relu' was lowered for sm_80 but the target is sm_90
// NOOP-NOT: gpu.container_module
// NOOP: "qnn.relu"
// NOOP-NOT: gpu.module
