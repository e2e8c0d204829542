// An unknown or missing target is an error before any lowering.
// RUN: not nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_91})' 2>&1 | FileCheck %s --check-prefix=TARGET
// RUN: not nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv)' 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_80 tile=7x8x32})' 2>&1 | FileCheck %s --check-prefix=TILE
// RUN: not nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_80})' 2>&1 | FileCheck %s --check-prefix=VERIFY
// RUN: not nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 kernel=maybe})' 2>&1 | FileCheck %s --check-prefix=KERNEL
// RUN: not nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 kernel=wgmma})' 2>&1 | FileCheck %s --check-prefix=WGMMA
// RUN: not nibble-opt %s --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_80 kernel=wgmma_ws})' 2>&1 | FileCheck %s --check-prefix=WGMMA-WS
// RUN: not nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a maps=i8})' 2>&1 | FileCheck %s --check-prefix=MAPS
// RUN: not nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 staged-weights=tiles})' 2>&1 | FileCheck %s --check-prefix=STAGED-WEIGHTS
// RUN: not nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a shortcut-sums=narrow})' 2>&1 | FileCheck %s --check-prefix=SHORTCUT-SUMS

// TARGET: error: convert-qnn-to-tcconv: unknown target 'sm_91' (known: sm_75, sm_80, sm_86, sm_89, sm_90, sm_90a)
// MISSING: error: convert-qnn-to-tcconv: missing option target=sm_XX
// TILE: error: convert-qnn-to-tcconv: tile '7x8x32' must be BMxBNxBK
// KERNEL: error: convert-qnn-to-tcconv: kernel=maybe is not auto, wgmma, wgmma_ws, mma or simple
// WGMMA: error: convert-qnn-to-tcconv: kernel=wgmma needs target=sm_90a (wgmma is an sm_90a instruction), not sm_90
// WGMMA-WS: error: {{.*}}kernel=wgmma_ws needs target=sm_90a (wgmma is an sm_90a instruction), not sm_80
// MAPS: error: convert-qnn-to-tcconv: maps 'i8' is not auto, i32 or narrow16
// STAGED-WEIGHTS: error: convert-qnn-to-tcconv: staged-weights 'tiles' is not packed or widened
// SHORTCUT-SUMS: error: convert-qnn-to-tcconv: shortcut-sums 'narrow' is not wide, bounded or auto
// VERIFY: invalid.mlir:[[@LINE+3]]:{{[0-9]+}}: error: 'qnn.conv2d' weight has 5 input channels
func.func @bad(%x: tensor<1x3x8x8xi8>) -> tensor<1x4x6x6xi32> {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<4x5x3x3xi8>
  %0 = "qnn.conv2d"(%x, %w) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<1x3x8x8xi8>, tensor<4x5x3x3xi8>) -> tensor<1x4x6x6xi32>
  return %0 : tensor<1x4x6x6xi32>
}
// Valid qnn the lowering cannot take is refused before it plans anything: a weight that is an
// argument (not a qnn.weight constant packed at compile time).
// RUN: not nibble-opt %S/Inputs/runtime-bias.mlir --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90})' 2>&1 | FileCheck %s --check-prefix=RUNTIME
// RUNTIME: runtime-bias.mlir:2:{{[0-9]+}}: error: 'qnn.conv2d' operand 1 (weight) is not a qnn.weight: nibble packs conv and dense weights and biases at compile time
