// --emit=artifact: PTX, launch plan, pre-packed weights and the CPU reference of a small network.
// RUN: rm -rf %t && mkdir -p %t
// RUN: python3 %S/Inputs/make_weights.py %t/weights.safetensors w1:I8:8x8x3x3:-8:7 b1:I32:8:-50:50
// (the unfused pipeline, so the plan below shows one launch per qnn op)
// RUN: nibble-opt %s --pass-pipeline='builtin.module(qnn-verify,convert-qnn-to-tcconv{target=sm_90},convert-tcconv-to-gpu{target=sm_90})' --emit=artifact -o %t/art --weights %t/weights.safetensors | FileCheck %s --check-prefix=SUMMARY
// The named pipeline fuses the conv's epilogue first (e-graph): one launch fewer.
// RUN: nibble-opt %s --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_90})' --emit=artifact -o %t/fused --weights %t/weights.safetensors | FileCheck %s --check-prefix=FUSED
// FUSED: nibble-opt: wrote artifact {{.*}}fused for sm_90: 4 launches of 4 kernels
// --mlir-timing: wall time of each step on stderr, as mlir-opt reports it.
// RUN: env NIBBLE_CACHE_DIR= nibble-opt %s --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_90})' --emit=artifact -o %t/timed --weights %t/weights.safetensors --mlir-timing 2>&1 >/dev/null | FileCheck %s --check-prefix=TIMING
// TIMING: ... Execution time report ...
// TIMING: Total Execution Time: {{[0-9.]+}} seconds
// TIMING: ----Wall Time----  ----Name----
// TIMING-NEXT: {{[0-9.]+}} ({{ *[0-9.]+}}%)  parse
// TIMING-NEXT: {{[0-9.]+}} ({{ *[0-9.]+}}%)  qnn-verify
// TIMING-NEXT: {{[0-9.]+}} ({{ *[0-9.]+}}%)  qnn-egraph-optimize{target=sm_90}
// TIMING-NEXT: {{[0-9.]+}} ({{ *[0-9.]+}}%)  convert-qnn-to-tcconv{target=sm_90}
// TIMING-NEXT: {{[0-9.]+}} ({{ *[0-9.]+}}%)  convert-tcconv-to-gpu{target=sm_90}
// TIMING-NEXT: {{[0-9.]+}} ({{ *[0-9.]+}}%)  artifact: launch plan
// TIMING-NEXT: {{[0-9.]+}} ({{ *[0-9.]+}}%)  gpu.module to PTX, LLVM on 4 of 4 kernels (0 from the cache)
// TIMING-NEXT: {{[0-9.]+}} ({{ *[0-9.]+}}%)  artifact: pack and write weights (beside LLVM)
// TIMING-NEXT: {{[0-9.]+}} ({{ *[0-9.]+}}%)  artifact: check and write
// TIMING-NEXT: {{[0-9.]+}} (100.0%)  Total
// The kernel cache: compiled again, every kernel comes from it (looked up by its op's signature,
// nothing built or lowered) and the artifact is the same; printing the gpu stage keeps whole
// kernels (no stubs).
// RUN: env NIBBLE_CACHE_DIR=%t/kc nibble-opt %s --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_90})' --emit=artifact -o %t/cold --weights %t/weights.safetensors --mlir-timing 2>&1 >/dev/null | FileCheck %s --check-prefix=COLD
// RUN: env NIBBLE_CACHE_DIR=%t/kc nibble-opt %s --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_90})' --emit=artifact -o %t/warm --weights %t/weights.safetensors --mlir-timing 2>&1 >/dev/null | FileCheck %s --check-prefix=WARM
// RUN: cmp %t/cold/kernels.ptx %t/warm/kernels.ptx && cmp %t/cold/plan.json %t/warm/plan.json && cmp %t/fused/kernels.ptx %t/warm/kernels.ptx
// RUN: cmp %t/cold/weights.safetensors %t/warm/weights.safetensors && cmp %t/weights.safetensors %t/warm/reference/weights.safetensors
// RUN: env NIBBLE_CACHE_DIR=%t/kc nibble-opt %s --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_90})' --emit=artifact -o %t/printed --weights %t/weights.safetensors --mlir-print-ir-after=convert-tcconv-to-gpu 2>&1 >/dev/null | FileCheck %s --check-prefix=PRINTED
// Asked for explicitly, kernel-cache=true shows what the cache holds as stubs (the PTX's key and a
// body of gpu.return), which parse again.
// RUN: env NIBBLE_CACHE_DIR=%t/kc nibble-opt %s --pass-pipeline='builtin.module(qnn-verify,qnn-egraph-optimize{target=sm_90},convert-qnn-to-tcconv{target=sm_90},convert-tcconv-to-gpu{target=sm_90 kernel-cache=true})' > %t/stubs.mlir
// RUN: FileCheck %s --check-prefix=STUBS --input-file=%t/stubs.mlir && nibble-opt %t/stubs.mlir > /dev/null
// RUN: mlir-opt-22 --irdl-file=%tcconv_irdl %t/stubs.mlir > /dev/null
// STUBS: gpu.func @net_1_conv2d({{.*}}) kernel attributes {{.*}}nibble.cached_kernel = "{{[0-9a-f]+}}"
// STUBS-NEXT: gpu.return
// COLD: LLVM on 4 of 4 kernels (0 from the cache)
// WARM: LLVM on 0 of 4 kernels (4 from the cache)
// PRINTED-NOT: nibble.cached_kernel
// PRINTED: gpu.func @net_1_conv2d
// PRINTED-NOT: nibble.cached_kernel
// RUN: FileCheck %s --input-file=%t/art/plan.json
// RUN: FileCheck %s --check-prefix=PTX --input-file=%t/art/kernels.ptx
// RUN: test -f %t/art/weights.safetensors && test -f %t/art/reference/weights.safetensors
// RUN: FileCheck %s --check-prefix=MODEL --input-file=%t/art/reference/model.json
// The artifact's CPU reference runs without MLIR or a GPU.
// RUN: nibble-run --cpu %t/art --seed 1 | FileCheck %s --check-prefix=CPU
// Default weights: weights.safetensors next to the input.
// RUN: cp %s %t/net.mlir && nibble-opt %t/net.mlir --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_80})' --emit=artifact -o %t/art80 > /dev/null
// RUN: FileCheck %s --check-prefix=SM80 --input-file=%t/art80/plan.json
// Errors: a pipeline that stops before the gpu stage, an unknown target, no -o, no weights.
// RUN: not nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90})' --emit=artifact -o %t/bad --weights %t/weights.safetensors 2>&1 | FileCheck %s --check-prefix=STAGE
// RUN: not nibble-opt %s --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_61})' --emit=artifact -o %t/bad 2>&1 | FileCheck %s --check-prefix=TARGET
// RUN: not nibble-opt %s --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_90})' --emit=artifact 2>&1 | FileCheck %s --check-prefix=NODIR
// RUN: not nibble-opt %s --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_90})' --emit=artifact -o %t/bad --weights %t/none.safetensors 2>&1 | FileCheck %s --check-prefix=NOWEIGHTS
// RUN: test ! -e %t/bad/plan.json

// SUMMARY: nibble-opt: wrote artifact {{.*}}art for sm_90: 5 launches of 5 kernels, 6 buffers in a {{[0-9]+}}-byte arena

// Keys are sorted; one buffer / io / launch per line. Inputs and outputs come first and never
// share bytes; the temporaries of the quantize and requantize steps (and of the conv and pool
// outputs) have disjoint lifetimes and share offsets.
// CHECK:      "arena_bytes": 4864,
// CHECK-NEXT: "buffers": [
// CHECK-NEXT:   {"bytes": 2048, "dims": [1, 8, 8, 8], "elem": "f32", "layout": "NCHW", "offset": 0},
// CHECK-NEXT:   {"bytes": 512, "dims": [1, 8, 4, 4], "elem": "f32", "layout": "NCHW", "offset": 2048},
// CHECK-NEXT:   {"bytes": 256, "dims": [1, 8, 8, 8], "elem": "ui4", "layout": "NHWC", "offset": [[Q:[0-9]+]]},
// CHECK-NEXT:   {"bytes": 2048, "dims": [1, 8, 8, 8], "elem": "i32", "layout": "{{[A-Z]+}}", "offset": [[C:[0-9]+]]},
// CHECK-NEXT:   {"bytes": 256, "dims": [1, 8, 8, 8], "elem": "ui4", "layout": "{{[A-Z]+}}", "offset": [[Q]]},
// CHECK-NEXT:   {"bytes": 64, "dims": [1, 8, 4, 4], "elem": "ui4", "layout": "{{[A-Z]+}}", "offset": [[C]]}
// CHECK-NEXT: ],
// CHECK-NEXT: "inputs": [
// CHECK-NEXT:   {"buffer": 0, "elem": "f32", "layout": "NCHW", "shape": [1, 8, 8, 8]}
// CHECK-NEXT: ],
// CHECK-NEXT: "launches": [
// CHECK-NEXT:   {"args": [{"Buffer": 0}, {"Buffer": 2}], "block": [{{[0-9]+}}, 1, 1], "grid": [{{[0-9]+}}, 1, 1], "kernel": "net_0_quantize", "shared_bytes": 0},
// CHECK-NEXT:   {"args": [{"Buffer": 2}, {"Weight": 0}, {"Weight": 1}, {"Buffer": 3}], {{.*}}"kernel": "net_1_conv2d"
// CHECK-NEXT:   {"args": [{"Buffer": 3}, {"Buffer": 4}, {"Weight": 2}], {{.*}}"kernel": "net_2_elementwise"
// CHECK-NEXT:   {"args": [{"Buffer": 4}, {"Buffer": 5}], {{.*}}"kernel": "net_3_pool2d"
// CHECK-NEXT:   {"args": [{"Buffer": 5}, {"Buffer": 1}], {{.*}}"kernel": "net_4_dequantize"
// CHECK-NEXT: ],
// CHECK-NEXT: "network": "net",
// CHECK-NEXT: "outputs": [
// CHECK-NEXT:   {"buffer": 1, "elem": "f32", "layout": "NCHW", "shape": [1, 8, 4, 4]}
// CHECK-NEXT: ],
// CHECK-NEXT: "ptx": "kernels.ptx",
// CHECK-NEXT: "target": "sm_90",
// CHECK-NEXT: "version": 2,
// CHECK-NEXT: "weights": [
// CHECK-NEXT:   {"bytes": 288, "name": "w1.ohwi", "packing": {{.*}}"source": "w1", "source_layout": "OIHW"}},
// CHECK-NEXT:   {"bytes": 32, "name": "b1.bias", "packing": {{.*}}},
// The requantize's per-channel multipliers: a constant table the kernel takes as a parameter.
// CHECK-NEXT:   {"bytes": 32, "constant": [1073741824, 1073741824, 1200000000, 1073741824, 1073741824, 1073741824, 1073741824, 1000000000], "name": "net_2_elementwise_mul"}
// CHECK-NEXT: ]

// PTX: .target sm_90
// PTX: .visible .entry net_0_quantize(
// PTX: .visible .entry net_1_conv2d(
// PTX-NEXT: .param .u64 .ptr
// PTX-NEXT: .param .u64 .ptr
// PTX-NEXT: .param .u64 .ptr
// PTX-NEXT: .param .u64 .ptr
// PTX-NEXT: )

// MODEL: "name": "net"
// MODEL: "Conv2d"

// CPU: net on the CPU reference: {{.*}} output tensor<1x8x4x4xf32>

// SM80: "target": "sm_80",

// STAGE: error: --emit=artifact needs a pipeline that ends at the gpu stage, e.g. --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_90})'; 'tcconv.quantize' is still in @net
// TARGET: nibble-opt: error: pipeline 'qnn-to-ptx': unknown target 'sm_61'
// NODIR: nibble-opt: error: --emit=artifact writes a directory: give it with -o DIR
// NOWEIGHTS: error: {{.*}}none.safetensors: cannot read weights

func.func @net(%x: tensor<1x8x8x8xf32>) -> tensor<1x8x4x4xf32> {
  %q = "qnn.quantize"(%x) {scale = 0x3E000000 : f32, layout = "NCHW"} : (tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xui4>
  %w1 = "qnn.weight"() {name = "w1"} : () -> tensor<8x8x3x3xi4>
  %b1 = "qnn.weight"() {name = "b1"} : () -> tensor<8xi32>
  %c1 = "qnn.conv2d"(%q, %w1, %b1) {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW", kernel_layout = "OIHW"} : (tensor<1x8x8x8xui4>, tensor<8x8x3x3xi4>, tensor<8xi32>) -> tensor<1x8x8x8xi32>
  %r1 = "qnn.requantize"(%c1) {multiplier = array<i32: 1073741824, 1073741824, 1200000000, 1073741824, 1073741824, 1073741824, 1073741824, 1000000000>, shift = array<i32: 36, 36, 36, 36, 36, 36, 36, 36>, clamp = array<i64: 0, 15>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<1x8x8x8xi32>) -> tensor<1x8x8x8xui4>
  %m = "qnn.max_pool2d"(%r1) {kernel = array<i64: 2, 2>, layout = "NCHW", padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x8x8x8xui4>) -> tensor<1x8x4x4xui4>
  %o = "qnn.dequantize"(%m) {layout = "NCHW", scale = array<f32: 1.250000e-01>} : (tensor<1x8x4x4xui4>) -> tensor<1x8x4x4xf32>
  return %o : tensor<1x8x4x4xf32>
}
