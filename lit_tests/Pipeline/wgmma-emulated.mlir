// The sm_90a wgmma kernels run on the CPU (fuzz/ptx_emu.py: bulk weight copies completing on
// mbarriers, wgmma.mma_async reading both operands from shared memory through their matrix
// descriptors, the accumulators in the warpgroup's fragment layout), each result equal to the
// CPU reference file for file: random small networks on `kernel=wgmma` and the default
// selection, residual-unit tails with the shortcut GEMM in the wgmma kernel (and the bounded
// residual sum), and a tail whose last B stage has fewer chunks than the block has threads:
// its loader once read a row past the shortcut weight's end (an out-of-bounds load the result
// never used); a chunk past its stage now reads nothing.
// RUN: %python %S/../../fuzz/emu_sweep.py --seed 5 --count 6 --target sm_90a --kernels wgmma,auto | FileCheck %s
// RUN: %python %S/../../fuzz/emu_sweep.py --tails --seed 6 --count 2 --target sm_90a --kernels wgmma --options shortcut-sums=bounded | FileCheck %s --check-prefix=TAILS
// RUN: %python %S/../../fuzz/emu_sweep.py --target sm_90a --kernels wgmma --net '1,32,3,24,3,1,1 4 --shortcut 64,2' | FileCheck %s --check-prefix=ROW
// The warp-specialized persistent kernel (`kernel=wgmma_ws`: a producer warpgroup's cp.async
// copies arriving on the slots' mbarriers, setmaxnreg):
// RUN: %python %S/../../fuzz/emu_sweep.py --target sm_90a --kernels wgmma_ws --net '3,64,3,8,3,2,0 8' --net '2,32,6,8,3,2,0 8 --shortcut 4,1' | FileCheck %s --check-prefix=WS

// CHECK-NOT: FAIL
// CHECK: emu_sweep: 6 networks, {{[0-9]+}} runs on sm_90a (0 not interpreted), 0 failures
// TAILS-NOT: FAIL
// TAILS: emu_sweep: 2 networks, 2 runs on sm_90a (0 not interpreted), 0 failures
// ROW-NOT: FAIL
// ROW: emu_sweep: 1 networks, 1 runs on sm_90a (0 not interpreted), 0 failures
// WS-NOT: FAIL
// WS: emu_sweep: 2 networks, 2 runs on sm_90a (0 not interpreted), 0 failures
