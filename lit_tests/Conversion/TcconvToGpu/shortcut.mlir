// A conv whose residual is a shortcut GEMM in its own kernel (HAWQ's downsampling 1x1 conv),
// with per-channel residual scales (a table, as in ResNet-50's first units): each product of a
// shortcut accumulator by its channel's multiplier is one `mul.wide.s32` (inline PTX). Left to
// LLVM it became a 64-bit multiply wherever the table's value was extended in another block
// (ResNet-50 W4A4 batch 256, sm_90a: 3-4% more SASS in each first unit's kernel).
// RUN: nibble-opt %S/Inputs/shortcut-tables.sm_90a.mlir --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90a})' | FileCheck %s
// With `bounded_sum` (convert-qnn-to-tcconv{shortcut-sums=bounded}), where the biases lie within
// the bound of the residual sum, that sum is the 32-bit sum of its terms.
// RUN: nibble-opt %S/Inputs/shortcut-tables-bounded.sm_90a.mlir --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90a})' | FileCheck %s --check-prefix=BOUNDED

// CHECK-LABEL: gpu.func @strided_shortcut_0_conv2d
// CHECK: nvvm.wgmma.mma_async
// CHECK-NOT: scf.if %{{.*}} -> (i32, i32, i32, i32, i32, i32, i32, i32)
// CHECK-COUNT-8: llvm.inline_asm asm_dialect = att "mul.wide.s32 $0, $1, $2;", "=l,r,r" %{{.*}}, %{{.*}} : (i32, i32) -> i64
// CHECK-NOT: "mul.wide.s32
// CHECK: gpu.return

// BOUNDED-LABEL: gpu.func @strided_shortcut_0_conv2d
// BOUNDED: nvvm.wgmma.mma_async
// The residual sum's bound (`ResidualSumBound::of_shortcut`: both GEMMs of 64 / 32 u4 x i4
// products, these scales) admits biases up to 2^29. For each of a warp's two n-tiles, the
// bias and shortcut bias of its lane's two channels are compared with it, and the n-tile's
// values computed in one branch: with a bias beyond the limit the 64-bit sum saturated to
// i32 (the xor giving i32::MAX or i32::MIN), else the two terms' low words added in 32 bits,
// no saturation.
// BOUNDED-COUNT-4: arith.cmpi ugt, %{{.*}}, %c1073741824_i32 : i32
// BOUNDED: %{{.*}}:4 = scf.if %{{.*}} -> (i32, i32, i32, i32) {
// BOUNDED-COUNT-4: llvm.inline_asm asm_dialect = att "mul.wide.s32 $0, $1, $2;", "=l,r,r" %{{.*}}, %{{.*}} : (i32, i32) -> i64
// BOUNDED: arith.xori %{{.*}}, %c2147483647_i32 : i32
// BOUNDED: } else {
// BOUNDED-NOT: arith.xori %{{.*}}, %c2147483647_i32
// BOUNDED-COUNT-4: llvm.inline_asm asm_dialect = att "mul.wide.s32 $0, $1, $2;", "=l,r,r" %{{.*}}, %{{.*}} : (i32, i32) -> i64
// BOUNDED-NOT: arith.xori %{{.*}}, %c2147483647_i32
// BOUNDED-COUNT-4: arith.cmpi ugt, %{{.*}}, %c1073741824_i32 : i32
// BOUNDED: %{{.*}}:4 = scf.if %{{.*}} -> (i32, i32, i32, i32) {
// BOUNDED-COUNT-4: llvm.inline_asm asm_dialect = att "mul.wide.s32 $0, $1, $2;", "=l,r,r" %{{.*}}, %{{.*}} : (i32, i32) -> i64
// BOUNDED: arith.xori %{{.*}}, %c2147483647_i32 : i32
// BOUNDED: } else {
// BOUNDED-NOT: arith.xori %{{.*}}, %c2147483647_i32
// BOUNDED-COUNT-4: llvm.inline_asm asm_dialect = att "mul.wide.s32 $0, $1, $2;", "=l,r,r" %{{.*}}, %{{.*}} : (i32, i32) -> i64
// BOUNDED-NOT: arith.xori %{{.*}}, %c2147483647_i32
// BOUNDED-NOT: "mul.wide.s32
// BOUNDED: gpu.return
