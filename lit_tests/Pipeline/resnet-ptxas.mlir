// The generated W4A4 ResNet-18 and ResNet-50 compile to PTX that NVIDIA's ptxas accepts, with
// warnings as errors, for every target. Per-kernel registers / smem / spills land in
// %t/<model>-<target>.ptxas.tsv (bench/PTXAS.md is the recorded table). sm_90 (H100/H200)
// conv kernels spill nothing; the other targets' spill counts are printed.
// REQUIRES: ptxas
// RUN: rm -rf %t && mkdir -p %t
// RUN: nibble-gen example --arch resnet18 --bits w4a4 --batch 16 --no-calibrate -o %t/r18 > /dev/null
// RUN: nibble-gen example --arch resnet50 --bits w4a4 --batch 8 --no-calibrate -o %t/r50 > /dev/null
// RUN: %python %S/Inputs/ptxas_all.py %ptxas %t r18 r50 sm_75 sm_80 sm_86 sm_89 sm_90 | FileCheck %s
// With quantize=fused at batch 1 the stem conv quantizes the f32 image in its loader (no
// quantize kernel).
// RUN: nibble-gen example --arch resnet18 --bits w4a4 --batch 1 --no-calibrate -o %t/r18b1 > /dev/null
// RUN: nibble-opt %t/r18b1/model.mlir --pass-pipeline='builtin.module(qnn-verify,qnn-egraph-optimize{target=sm_90},convert-qnn-to-tcconv{target=sm_90 quantize=fused},convert-tcconv-to-gpu{target=sm_90})' --emit=artifact --weights %t/r18b1/weights.safetensors -o %t/r18b1-fused
// RUN: not grep -q '_quantize(' %t/r18b1-fused/kernels.ptx
// RUN: %ptxas -arch=sm_90 --warning-as-error %t/r18b1-fused/kernels.ptx -o %t/r18b1-fused.cubin
// The wgmma kernels' tile loop (tiles-per-block, every conv the wgmma kernel takes) assembles
// for sm_90a too:
// RUN: nibble-opt %t/r18/model.mlir --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_90a kernel=wgmma tiles-per-block=2})' --emit=artifact --weights %t/r18/weights.safetensors -o %t/r18-tiles > /dev/null
// RUN: %ptxas -arch=sm_90a --warning-as-error %t/r18-tiles/kernels.ptx -o %t/r18-tiles.cubin
// Every staged and wgmma conv built for the most resident blocks its shared memory, threads and
// fewest registers allow (blocks-per-sm=16) still assembles: ptxas builds each wgmma kernel
// within the verifier's register floor (its accumulators and 48 more).
// RUN: nibble-opt %t/r50/model.mlir --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_90a kernel=wgmma blocks-per-sm=16})' --emit=artifact --weights %t/r50/weights.safetensors -o %t/r50-occupancy > /dev/null
// RUN: %ptxas -arch=sm_90a --warning-as-error %t/r50-occupancy/kernels.ptx -o %t/r50-occupancy.cubin
// RUN: grep -c 'minnctapersm [4-9]' %t/r50-occupancy/kernels.ptx
// RUN: nibble-opt %t/r18/model.mlir --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_86 blocks-per-sm=16})' --emit=artifact --weights %t/r18/weights.safetensors -o %t/r18-occupancy > /dev/null
// RUN: %ptxas -arch=sm_86 --warning-as-error %t/r18-occupancy/kernels.ptx -o %t/r18-occupancy.cubin

// With pool-requantize=second the max pool writes the pooled stem map and its 4-bit requantize
// (no elementwise kernel left), i16 maps narrow16 on sm_90a at batch 16:
// RUN: nibble-opt %t/r18/model.mlir --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_90a pool-requantize=second})' --emit=artifact --weights %t/r18/weights.safetensors -o %t/r18-second > /dev/null
// RUN: not grep -q '_elementwise(' %t/r18-second/kernels.ptx
// RUN: %ptxas -arch=sm_90a --warning-as-error %t/r18-second/kernels.ptx -o %t/r18-second.cubin
// RUN: nibble-opt %t/r18b1/model.mlir --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_75 pool-requantize=second})' --emit=artifact --weights %t/r18b1/weights.safetensors -o %t/r18b1-second > /dev/null
// RUN: not grep -q '_elementwise(' %t/r18b1-second/kernels.ptx
// RUN: %ptxas -arch=sm_75 --warning-as-error %t/r18b1-second/kernels.ptx -o %t/r18b1-second.cubin

// CHECK: r18 sm_75: ptxas ok, {{[0-9]+}} kernels, {{[0-9]+}} conv kernels spill
// CHECK: r18 sm_80: ptxas ok
// CHECK: r18 sm_86: ptxas ok
// CHECK: r18 sm_89: ptxas ok
// CHECK: r18 sm_90: ptxas ok, {{[0-9]+}} kernels, 0 conv kernels spill
// CHECK: r50 sm_75: ptxas ok
// CHECK: r50 sm_80: ptxas ok
// CHECK: r50 sm_86: ptxas ok
// CHECK: r50 sm_89: ptxas ok
// CHECK: r50 sm_90: ptxas ok, {{[0-9]+}} kernels, 0 conv kernels spill
