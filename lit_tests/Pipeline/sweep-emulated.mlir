// Small random conv networks (odd shapes; depthwise, residual-unit tails, conv pairs, stem tails
// with the pool's second output) compiled with every conv on the CUDA-core family
// (`kernel=simple`), on the register-only tensor-core family (`kernel=mma`: mma.sync of 4- and
// 8-bit operands, warp shuffles, K split across warps through shared memory) and as the
// selection chooses (the staged family too: cp.async, ldmatrix), every launch of
// the artifact run on the CPU by fuzz/artifact_emu.py (the PTX interpreted, a warp's collective
// instructions once all its lanes reach them, packed weights and tables as the runtime passes
// them), each result equal, file for file, to `nibble-run --cpu`'s (which writes result k of
// several as OUT.k.npy).
// RUN: %python %S/../../fuzz/emu_sweep.py --seed 3 --count 10 --target sm_90 | FileCheck %s
// RUN: %python %S/../../fuzz/emu_sweep.py --seed 4 --count 6 --target sm_75 | FileCheck %s --check-prefix=SM75

// CHECK-NOT: FAIL
// CHECK: emu_sweep: 10 networks, {{[0-9]+}} runs on sm_90 (0 not interpreted), 0 failures
// SM75-NOT: FAIL
// SM75: emu_sweep: 6 networks, {{[0-9]+}} runs on sm_75 (0 not interpreted), 0 failures
