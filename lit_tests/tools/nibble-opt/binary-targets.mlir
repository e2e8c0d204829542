// Upstream passes that run LLVM's NVPTX backend (gpu-module-to-binary, also inside
// gpu-lower-to-nvvm-pipeline) get the chips and PTX versions checked first: LLVM aborts the
// process on an unknown chip, on a PTX ISA too old for it, and on an instruction the chip
// lacks (kernels convert-tcconv-to-gpu built for another target). Each is one error, exit 1.
// RUN: not nibble-opt %S/Inputs/block.mlir --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_90},gpu-lower-to-nvvm-pipeline)' 2>&1 | FileCheck %s --check-prefix=DEFAULT
// DEFAULT: error: 'gpu-lower-to-nvvm-pipeline': chip 'sm_50' of gpu.module @kernels is not a target nibble compiles for (sm_75, sm_80, sm_86, sm_89, sm_90, sm_90a)
// RUN: not nibble-opt %S/Inputs/block.mlir --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_90},gpu-lower-to-nvvm-pipeline{cubin-chip=sm_9999})' 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// UNKNOWN: error: 'gpu-lower-to-nvvm-pipeline': chip 'sm_9999' of gpu.module @kernels is not a target nibble compiles for
// RUN: not nibble-opt %S/Inputs/block.mlir --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_90},nvvm-attach-target{chip=sm_90},gpu-module-to-binary{format=isa})' 2>&1 | FileCheck %s --check-prefix=OLDPTX
// OLDPTX: error: 'gpu-module-to-binary': gpu.module @kernels is compiled for sm_90 with PTX ISA 6.0, which needs 7.8 at least (features = "+ptx78")
// RUN: not nibble-opt %S/Inputs/block.mlir --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_90},nvvm-attach-target{chip=sm_80 features=+ptx80},gpu-module-to-binary{format=isa})' 2>&1 | FileCheck %s --check-prefix=OTHER
// OTHER: error: 'gpu-module-to-binary': the kernels of gpu.module @kernels were built for sm_90 (convert-tcconv-to-gpu{target=sm_90}) but are compiled for chip sm_80: attach sm_90
// The matching chip compiles.
// RUN: nibble-opt %S/Inputs/block.mlir --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_90},nvvm-attach-target{chip=sm_90 features=+ptx80},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1}),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' 2>/dev/null | FileCheck %s --check-prefix=OK
// OK: gpu.binary @kernels
// OK-SAME: .target sm_90
// Hand-written kernel IR LLVM's NVPTX backend would crash on (segfault or LLVM ERROR) instead
// of reporting: inline asm whose constraints or $N do not match its operands, an MMA of 4- by
// 8-bit integers, a Hopper-only op for sm_80. Located errors, exit 1.
// RUN: not nibble-opt %S/Inputs/nvptx/asm-operand-out-of-range.mlir --pass-pipeline='builtin.module(nvvm-attach-target{chip=sm_80 features=+ptx70},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1}),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' 2>&1 | FileCheck %s --check-prefix=ASMREF
// ASMREF: {{.*}}asm-operand-out-of-range.mlir:4:12: error: inline asm 'mov.b32 $0, $7;' refers to $7, but it has 1 operands
// RUN: not nibble-opt %S/Inputs/nvptx/asm-constraint-count.mlir --pass-pipeline='builtin.module(nvvm-attach-target{chip=sm_80 features=+ptx70},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1}),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' 2>&1 | FileCheck %s --check-prefix=ASMCOUNT
// ASMCOUNT: {{.*}}asm-constraint-count.mlir:5:12: error: inline asm constraints '=r,r,r,r,r' name 1 outputs and 4 inputs; the op has 1 and 1
// RUN: not nibble-opt %S/Inputs/nvptx/mma-u4-s8.mlir --pass-pipeline='builtin.module(nvvm-attach-target{chip=sm_80 features=+ptx70},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1}),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' 2>&1 | FileCheck %s --check-prefix=MMA
// MMA: {{.*}}mma-u4-s8.mlir:6:12: error: nvvm.mma.sync multiplies #nvvm.mma_type<u4> by #nvvm.mma_type<s8>: integer multiplicands have one width
// RUN: not nibble-opt %S/Inputs/nvptx/griddepcontrol.mlir --pass-pipeline='builtin.module(nvvm-attach-target{chip=sm_80 features=+ptx70},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1}),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' 2>&1 | FileCheck %s --check-prefix=GRIDDEP
// GRIDDEP: {{.*}}griddepcontrol.mlir:4:7: error: 'nvvm.griddepcontrol' needs sm_90 or sm_90a; the chip is sm_80
// Ops of a newer chip (LLVM aborts: "Cannot select") and inline asm LLVM cannot parse.
// RUN: not nibble-opt %S/Inputs/nvptx/cp-async.mlir --pass-pipeline='builtin.module(nvvm-attach-target{chip=sm_75 features=+ptx70},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1}),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' 2>&1 | FileCheck %s --check-prefix=CPASYNC
// CPASYNC: {{.*}}cp-async.mlir:8:7: error: 'nvvm.cp.async.commit.group' needs sm_80 or later; the chip is sm_75
// RUN: not nibble-opt %S/Inputs/nvptx/mbarrier-init.mlir --pass-pipeline='builtin.module(nvvm-attach-target{chip=sm_75 features=+ptx70},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1}),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' 2>&1 | FileCheck %s --check-prefix=MBAR
// MBAR: {{.*}}mbarrier-init.mlir:8:7: error: 'nvvm.mbarrier.init' needs sm_80 or later; the chip is sm_75
// RUN: not nibble-opt %S/Inputs/nvptx/mma-m16n8k64.mlir --pass-pipeline='builtin.module(nvvm-attach-target{chip=sm_75 features=+ptx70},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1}),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' 2>&1 | FileCheck %s --check-prefix=MMA75
// MMA75: {{.*}}mma-m16n8k64.mlir:7:12: error: nvvm.mma.sync #nvvm.shape<m = 16, n = 8, k = 64> of #nvvm.mma_type<u4> x #nvvm.mma_type<s4> needs sm_80 or later
// RUN: not nibble-opt %S/Inputs/nvptx/fence-mbarrier-init.mlir --pass-pipeline='builtin.module(nvvm-attach-target{chip=sm_80 features=+ptx70},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1}),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' 2>&1 | FileCheck %s --check-prefix=FENCE
// FENCE: {{.*}}fence-mbarrier-init.mlir:8:7: error: 'nvvm.fence.mbarrier.init' needs sm_90 or sm_90a; the chip is sm_80
// RUN: not nibble-opt %S/Inputs/nvptx/asm-unterminated-operand.mlir --pass-pipeline='builtin.module(nvvm-attach-target{chip=sm_80 features=+ptx70},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1}),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' 2>&1 | FileCheck %s --check-prefix=ASMBRACE
// ASMBRACE: {{.*}}asm-unterminated-operand.mlir:5:12: error: inline asm 'mov.b32 $0, ${1': '${' takes an operand number and '}' (no operand modifiers)
// RUN: not nibble-opt %S/Inputs/nvptx/asm-operand-modifier.mlir --pass-pipeline='builtin.module(nvvm-attach-target{chip=sm_75 features=+ptx70},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1}),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' 2>&1 | FileCheck %s --check-prefix=ASMMOD
// ASMMOD: {{.*}}asm-operand-modifier.mlir:7:12: error: inline asm 'mov.b32 ${0:q}, $1;': '${' takes an operand number and '}' (no operand modifiers)
// RUN: not nibble-opt %S/Inputs/nvptx/asm-immediate-not-constant.mlir --pass-pipeline='builtin.module(nvvm-attach-target{chip=sm_80 features=+ptx70},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1}),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' 2>&1 | FileCheck %s --check-prefix=ASMIMM
// ASMIMM: {{.*}}asm-immediate-not-constant.mlir:5:12: error: inline asm operand 0 has constraint 'n' (an immediate) but is not a constant
// Bitcode linked into the kernels is not checked (LLVM aborts on it): refused.
// RUN: not nibble-opt %S/Inputs/nvptx/cp-async.mlir --pass-pipeline='builtin.module(nvvm-attach-target{chip=sm_80 features=+ptx70 l=%S/Inputs/nvptx/linked-cp-async.ll},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1}),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' 2>&1 | FileCheck %s --check-prefix=LINK
// LINK: error: 'gpu-module-to-binary': gpu.module @kernels links bitcode files into its kernels (nvvm-attach-target{l=...}); nibble-opt does not link files it cannot check
// An LLVM math intrinsic PTX has no instruction for (LLVM aborts looking for a library call).
// RUN: not nibble-opt %S/Inputs/nvptx/powi.mlir --pass-pipeline='builtin.module(nvvm-attach-target{chip=sm_80 features=+ptx70},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1}),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' 2>&1 | FileCheck %s --check-prefix=POWI
// POWI: {{.*}}powi.mlir:4:12: error: 'llvm.intr.powi' has no NVPTX instruction
