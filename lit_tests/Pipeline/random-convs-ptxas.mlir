// Random odd-shaped convs (fuzz/shape_sweep.py: batch 1-33, 1-256 channels, 1-31 pixels a side,
// kernels 1-7, strides 1-3, depthwise, residual-unit tails with a shortcut, conv pairs; 4- and
// 8-bit, stem tails) compile with qnn-to-ptx for every target, and on sm_90a also with
// kernel=wgmma, shortcut-sums=wide and chains=cluster; ptxas accepts every PTX and the CPU
// reference runs each artifact. The script names each failure's shape and options. Stem tails
// alone (--pools: batch 1-33, so the default folds some requantizes into the pool, and each
// also with pool-requantize=second and =separate):
// REQUIRES: ptxas
// RUN: %python %S/../../fuzz/shape_sweep.py --seed 7 --count 12 | FileCheck %s
// RUN: %python %S/../../fuzz/shape_sweep.py --pools --seed 85 --count 3 | FileCheck %s --check-prefix=POOLS
// CHECK-NOT: FAIL
// CHECK: shape_sweep: 12 convs, 0 failures
// POOLS-NOT: FAIL
// POOLS: shape_sweep: 3 convs, 0 failures
