// A conv whose residual is a shortcut GEMM in its own kernel (HAWQ's downsampling 1x1 conv),
// with per-channel residual scales (a table, as in ResNet-50's first units): each product of a
// shortcut accumulator by its channel's multiplier is one `mul.wide.s32` (inline PTX). Left to
// LLVM it became a 64-bit multiply wherever the table's value was extended in another block
// (ResNet-50 W4A4 batch 256, sm_90a: 3-4% more SASS in each first unit's kernel).
// RUN: nibble-opt %S/Inputs/shortcut-tables.sm_90a.mlir --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90a})' | FileCheck %s

// CHECK-LABEL: gpu.func @strided_shortcut_0_conv2d
// CHECK: nvvm.wgmma.mma_async
// CHECK-COUNT-8: llvm.inline_asm asm_dialect = att "mul.wide.s32 $0, $1, $2;", "=l,r,r" %{{.*}}, %{{.*}} : (i32, i32) -> i64
// CHECK-NOT: "mul.wide.s32
// CHECK: gpu.return
