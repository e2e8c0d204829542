// The pool kernel that writes a second output (`pool-requantize=second`), run on the CPU: random
// max and average pools whose map is returned and requantized (i16 / i32 maps, the map in
// narrow16 with its escapes, ui4 / i4 / ui8 / i8 copies, per-tensor and per-channel scales,
// three roundings, zero points, clamps, odd windows, strides and paddings) are lowered to PTX,
// every launch is interpreted instruction by instruction (fuzz/ptx_emu.py: nibble's CUDA-core
// kernels, without a GPU), and both results must equal, byte for byte in their stored form,
// the pool and the requantize fuzz/pool_emu.py computes itself. The interpreter refuses any
// instruction it does not define, so a kernel it cannot run fails rather than passes.
// RUN: %python %S/../../../fuzz/pool_emu.py --seed 3 --count 8 --target sm_90 | FileCheck %s
// RUN: %python %S/../../../fuzz/pool_emu.py --seed 4 --count 6 --target sm_90a | FileCheck %s --check-prefix=SM90A
// RUN: %python %S/../../../fuzz/pool_emu.py --seed 5 --count 4 --target sm_75 | FileCheck %s --check-prefix=SM75

// CHECK-NOT: FAIL
// CHECK: pool_emu: 8 pools on sm_90, 0 failures
// SM90A-NOT: FAIL
// SM90A: pool_emu: 6 pools on sm_90a, 0 failures
// SM75-NOT: FAIL
// SM75: pool_emu: 4 pools on sm_75, 0 failures
