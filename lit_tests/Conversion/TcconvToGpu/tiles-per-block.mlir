// tiles-per-block=N: each block of the wgmma kernel over 4-bit operands computes N output
// tiles (block b: tiles b, b + G, ... of a grid of G), loading its next tile's first stage
// before the epilogue of the one before. The op records it as tiles_per_block; 8-bit convs and
// the other families keep one tile a block. The attribute reads back through tcconv-verify.
// RUN: nibble-opt %S/Inputs/wgmma.qnn.mlir --split-input-file --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a kernel=wgmma tiles-per-block=3})' | nibble-opt --split-input-file --pass-pipeline='builtin.module(tcconv-verify)' | FileCheck %s --check-prefix=TCCONV
// RUN: nibble-opt %S/Inputs/wgmma.qnn.mlir --split-input-file --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a kernel=wgmma tiles-per-block=3},convert-tcconv-to-gpu{target=sm_90a})' | FileCheck %s
// The default is one tile a block:
// RUN: nibble-opt %S/Inputs/wgmma.qnn.mlir --split-input-file --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a kernel=wgmma})' | FileCheck %s --check-prefix=ONE
// RUN: not nibble-opt %S/Inputs/wgmma.qnn.mlir --split-input-file --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a tiles-per-block=0})' 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not nibble-opt %S/Inputs/wgmma.qnn.mlir --split-input-file --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_90a tiles-per-block=two})' 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: tiles-per-block '{{0|two}}' is not a number in [1, 8]
// ONE-NOT: tiles_per_block

// TCCONV-LABEL: func.func @conv_u4_staged
// TCCONV: family = "wgmma"
// TCCONV-SAME: tiles_per_block = 3 : i64
// TCCONV-LABEL: func.func @stem_not_staged
// TCCONV: family = "mma"
// TCCONV-NOT: tiles_per_block
// TCCONV-LABEL: func.func @residual_second_output
// TCCONV: family = "wgmma"
// TCCONV-SAME: tiles_per_block = 3 : i64
// TCCONV-LABEL: func.func @conv_u8_pairs
// TCCONV: family = "wgmma"
// TCCONV-NOT: tiles_per_block
// TCCONV-LABEL: func.func @odd_channels_u8
// TCCONV: family = "wgmma"
// TCCONV-NOT: tiles_per_block
// TCCONV-LABEL: func.func @big_grid_u4
// TCCONV: family = "wgmma"
// TCCONV-SAME: tiles_per_block = 3 : i64

// 4096 pixels in 64-row tiles, 256 channels in 128-channel tiles: 128 tiles, 43 blocks of 3
// (the last takes two). Block b's tiles: (128 - b + 42) / 43 of them, in a loop that carries
// its next tile's first stage: 6 chunks a thread, four words and a valid flag each.
// CHECK-LABEL: func.func @conv_u4_staged
// CHECK: gpu.launch_func @kernels::@conv_u4_staged_0_conv2d blocks in (%c43, %c1, %c1)
// CHECK-LABEL: gpu.func @conv_u4_staged_0_conv2d
// CHECK: %[[BID:.*]] = gpu.block_id x
// CHECK: %[[LEFT:.*]] = arith.subi %c128, %[[BID]] : index
// CHECK: %[[LEFT42:.*]] = arith.addi %[[LEFT]], %c42 : index
// CHECK: %[[MINE:.*]] = arith.divui %[[LEFT42]], %c43 : index
// CHECK: scf.for %[[J:.*]] = %c0 to %[[MINE]] step %c1 iter_args({{.*}}) -> (i32, i32, i32, i32, i1, i32, i32, i32, i32, i1, i32, i32, i32, i32, i1, i32, i32, i32, i32, i1, i32, i32, i32, i32, i1, i32, i32, i32, i32, i1) {
// CHECK: %[[JG:.*]] = arith.muli %[[J]], %c43 : index
// CHECK: arith.addi %[[BID]], %[[JG]] : index
// The next tile's loads, behind the test that there is one, before the epilogue:
// CHECK: %[[J1:.*]] = arith.addi %[[J]], %c1 : index
// CHECK: %[[MORE:.*]] = arith.cmpi ult, %[[J1]], %[[MINE]] : index
// CHECK: %[[NEXT:.*]]:30 = scf.if %[[MORE]] -> (i32, i32, i32, i32, i1,
// CHECK: vector.load {{.*}} : memref<32768xi32>, vector<4xi32>
// CHECK: } else {
// The slots are free for the next tile only once every thread is past the epilogue:
// CHECK: gpu.barrier{{[[:space:]]+}}scf.yield %[[NEXT]]#0, %[[NEXT]]#1,
// CHECK: gpu.return

// 8-bit operands: one tile a block.
// CHECK-LABEL: func.func @conv_u8_pairs
// CHECK: gpu.launch_func @kernels::@conv_u8_pairs_0_conv2d blocks in (%c25, %c1, %c1)
