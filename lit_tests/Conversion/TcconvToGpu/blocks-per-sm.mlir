// blocks-per-sm=N: each conv on the staged or the wgmma kernel is built for N blocks an SM
// (`nvvm.minctasm`, ptxas' `.minnctapersm`), or for the most its shared memory, threads and
// registers allow where that is fewer; the op records it as blocks_per_sm, which reads back
// through tcconv-verify. The register-MMA kernel keeps its own rule (one block).
// RUN: nibble-opt %S/Inputs/wgmma.qnn.mlir --split-input-file --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a blocks-per-sm=5})' | nibble-opt --split-input-file --pass-pipeline='builtin.module(tcconv-verify)' | FileCheck %s --check-prefix=TCCONV
// RUN: nibble-opt %S/Inputs/wgmma.qnn.mlir --split-input-file --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a blocks-per-sm=5},convert-tcconv-to-gpu{target=sm_90a})' | FileCheck %s
// The default is each family's rule, with no attribute:
// RUN: nibble-opt %S/Inputs/wgmma.qnn.mlir --split-input-file --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a})' | FileCheck %s --check-prefix=RULE
// RUN: nibble-opt %S/Inputs/wgmma.qnn.mlir --split-input-file --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a},convert-tcconv-to-gpu{target=sm_90a})' | FileCheck %s --check-prefix=RULEGPU
// RUN: not nibble-opt %S/Inputs/wgmma.qnn.mlir --split-input-file --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a blocks-per-sm=0})' 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not nibble-opt %S/Inputs/wgmma.qnn.mlir --split-input-file --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_90a blocks-per-sm=many})' 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: blocks-per-sm '{{0|many}}' is not a number in [1, 16]
// RULE-NOT: blocks_per_sm

// TCCONV-LABEL: func.func @conv_u4_staged
// TCCONV: blocks_per_sm = 5 : i64
// TCCONV-SAME: family = "staged"
// A staged tile with its K sliced across four warps: 128 threads and 48 KB of shared memory,
// four blocks in an SM's 228 KB.
// TCCONV-LABEL: func.func @sliced_k
// TCCONV: blocks_per_sm = 4 : i64
// TCCONV-SAME: family = "staged"
// TCCONV-LABEL: func.func @stem_not_staged
// TCCONV: family = "mma"
// TCCONV-NOT: blocks_per_sm
// TCCONV-LABEL: func.func @residual_second_output
// TCCONV: blocks_per_sm = 5 : i64
// TCCONV-LABEL: func.func @conv_u8_pairs
// TCCONV: blocks_per_sm = 5 : i64
// One warpgroup of 64 x 64 tiles (the tile model's for 64 channels), 32 accumulators and 48 more
// registers a thread: 65536 / (128 x 80) = 6 blocks, so the 5 asked.
// TCCONV-LABEL: func.func @big_grid_u4
// TCCONV: block_tile = array<i64: 64, 64, 64>, blocks_per_sm = 5 : i64
// TCCONV-SAME: family = "wgmma"

// CHECK-LABEL: gpu.func @conv_u4_staged_0_conv2d
// CHECK-SAME: nvvm.minctasm = 5
// CHECK-LABEL: gpu.func @sliced_k_0_conv2d
// CHECK-SAME: nvvm.minctasm = 4
// CHECK-LABEL: gpu.func @stem_not_staged_0_conv2d
// CHECK-SAME: nvvm.minctasm = 1
// CHECK-LABEL: gpu.func @big_grid_u4_0_conv2d
// CHECK-SAME: nvvm.minctasm = 5

// The rule: the registers a thread each kind of kernel is known to need (`Kernel::registers`),
// and no more blocks than the grid gives an SM: a direct 3x3 4-bit staged conv 96 (five blocks
// of 128 threads; its 256 blocks give an SM two), a 3x3 wgmma conv of one warpgroup 80 (six);
// a staged tile with sliced K has no count (ptxas decides).
// RULEGPU-LABEL: gpu.func @conv_u4_staged_0_conv2d
// RULEGPU-SAME: nvvm.minctasm = 2
// RULEGPU-LABEL: gpu.func @sliced_k_0_conv2d
// RULEGPU-SAME: nvvm.minctasm = 1
// RULEGPU-LABEL: gpu.func @big_grid_u4_0_conv2d
// RULEGPU-SAME: nvvm.minctasm = 6
