// The staged and wgmma conv kernels are built for the blocks an SM that the registers their
// kind needs allow (`Kernel::registers`: `.minnctapersm`, ptxas keeping a thread within its
// share, and never for more than its grid gives an SM), and ptxas assembles every one of them
// without a spill: ResNet-50 W4A4 and W8A8 at batch 256, ResNet-50 W4A4 at batch 16 and 8
// (its stage-1 residual convs on one warpgroup over NHWC rows, 96 registers) and ResNet-18
// W4A4 at batch 64, on sm_90a (wgmma and staged kernels) and sm_90 (staged only).
// REQUIRES: ptxas
// RUN: rm -rf %t && mkdir -p %t
// RUN: nibble-gen example --arch resnet50 --bits w4a4 --batch 256 --no-calibrate -o %t/r50w4 > /dev/null
// RUN: nibble-gen example --arch resnet50 --bits w8a8 --batch 256 --no-calibrate -o %t/r50w8 > /dev/null
// RUN: nibble-gen example --arch resnet18 --bits w4a4 --batch 64 --no-calibrate -o %t/r18w4 > /dev/null
// RUN: nibble-gen example --arch resnet50 --bits w4a4 --batch 16 --no-calibrate -o %t/r50w4b16 > /dev/null
// RUN: nibble-gen example --arch resnet50 --bits w4a4 --batch 8 --no-calibrate -o %t/r50w4b8 > /dev/null
// RUN: %python %S/Inputs/ptxas_all.py %ptxas %t r50w4 sm_90a sm_90 | FileCheck %s --check-prefix=R50W4
// RUN: %python %S/Inputs/ptxas_all.py %ptxas %t r50w8 r18w4 r50w4b16 r50w4b8 sm_90a | FileCheck %s --check-prefix=OTHER
// So do the wgmma kernels of every conv forced onto two warpgroups of 128 x 64 tiles with
// 128-byte stages (the residual and reducing 1x1 convs need 128 registers there, not the 64 of
// the stem's 1x1 conv on its own tile):
// RUN: nibble-opt %t/r50w4/model.mlir --pass-pipeline='builtin.module(qnn-verify,qnn-egraph-optimize{target=sm_90a},convert-qnn-to-tcconv{target=sm_90a kernel=wgmma tile=128x64x128},convert-tcconv-to-gpu{target=sm_90a})' --emit=artifact --weights %t/r50w4/weights.safetensors -o %t/forced > /dev/null
// RUN: %ptxas -arch=sm_90a -v %t/forced/kernels.ptx -o %t/forced.cubin 2>&1 | FileCheck %s --check-prefix=FORCED
// The stem (a space-to-depth 4x4 im2col conv on 128-row tiles, 80 registers) is built for 3
// blocks of 256 threads, stage 1's 3x3 wgmma convs (one warpgroup, 80 registers) for 6, stage
// 3's residual convs (a 16-bit stream tile, 128 registers) for 4:
// RUN: FileCheck %s --check-prefix=BLOCKS < %t/r50w4-sm_90a/kernels.ptx

// R50W4: r50w4 sm_90a: ptxas ok, {{[0-9]+}} kernels, 0 conv kernels spill
// R50W4: r50w4 sm_90: ptxas ok, {{[0-9]+}} kernels, 0 conv kernels spill
// OTHER: r50w8 sm_90a: ptxas ok, {{[0-9]+}} kernels, 0 conv kernels spill
// OTHER: r18w4 sm_90a: ptxas ok, {{[0-9]+}} kernels, 0 conv kernels spill
// OTHER: r50w4b16 sm_90a: ptxas ok, {{[0-9]+}} kernels, 0 conv kernels spill
// OTHER: r50w4b8 sm_90a: ptxas ok, {{[0-9]+}} kernels, 0 conv kernels spill

// FORCED: 0 bytes gmem
// FORCED-NOT: {{[1-9][0-9]*}} bytes spill stores
// FORCED: Compiling entry function 'resnet50_hawq_1_conv2d'
// FORCED-NOT: {{[1-9][0-9]*}} bytes spill stores

// BLOCKS-LABEL: .entry resnet50_hawq_1_conv2d(
// BLOCKS: .maxntid 256, 1, 1
// BLOCKS-NEXT: .minnctapersm 3
// BLOCKS-LABEL: .entry resnet50_hawq_4_conv2d(
// BLOCKS: .maxntid 128, 1, 1
// BLOCKS-NEXT: .minnctapersm 6
// BLOCKS-LABEL: .entry resnet50_hawq_29_conv2d(
// BLOCKS: .maxntid 128, 1, 1
// BLOCKS-NEXT: .minnctapersm 4
