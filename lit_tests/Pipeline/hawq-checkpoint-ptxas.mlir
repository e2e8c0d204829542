// HAWQ checkpoints in torch.save's format (written without torch by write_hawq_checkpoint.py:
// per-channel convbn and per-class fc scales, 'module.' keys, [1]-shaped act scales) import and
// compile for every target to PTX that ptxas accepts: ResNet-18 uniform 4-bit and mixed 4/8-bit,
// a narrow pytorchcv resnet50 (bottleneck stride on the 1x1 conv) with a mixed configuration, a
// resnet50b (stride on the 3x3) uniform 4-bit and a narrow resnet101b (q_resnet101) mixed.
// The logits' per-class dequantize runs in the dense kernel: the network ends with it.
// REQUIRES: ptxas
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %hawq_fixtures/write_hawq_checkpoint.py --arch resnet18 --seed 3 -o %t/r18.pth > /dev/null
// RUN: nibble-gen import %t/r18.pth --arch resnet18 --bits uniform4 --batch 2 --image-size 32 -o %t/r18 | FileCheck %s --check-prefix=IMPORT18
// RUN: %python %hawq_fixtures/write_hawq_checkpoint.py --arch resnet50 --bits mixed --seed 4 -o %t/r50.pth --bit-config-out %t/r50.bits.json > /dev/null
// RUN: nibble-gen import %t/r50.pth --arch resnet50 --bits %t/r50.bits.json --batch 8 --image-size 32 -o %t/r50 | FileCheck %s --check-prefix=IMPORT50
// RUN: %python %hawq_fixtures/write_hawq_checkpoint.py --arch resnet18 --bits mixed --seed 5 -o %t/r18m.pth --bit-config-out %t/r18m.bits.json > /dev/null
// RUN: nibble-gen import %t/r18m.pth --arch resnet18 --bits %t/r18m.bits.json --batch 1 --image-size 32 -o %t/r18m > /dev/null
// RUN: %python %hawq_fixtures/write_hawq_checkpoint.py --arch resnet50b --seed 6 -o %t/r50b.pth > /dev/null
// RUN: nibble-gen import %t/r50b.pth --arch resnet50b --bits uniform4 --batch 3 --image-size 32 -o %t/r50b > /dev/null
// RUN: %python %hawq_fixtures/write_hawq_checkpoint.py --arch resnet101b --bits mixed --seed 7 -o %t/r101b.pth --bit-config-out %t/r101b.bits.json > /dev/null
// RUN: nibble-gen import %t/r101b.pth --arch resnet101b --bits %t/r101b.bits.json --batch 2 --image-size 32 -o %t/r101b > /dev/null
// RUN: FileCheck %s --check-prefix=QNN < %t/r50/model.mlir
// RUN: %python %S/Inputs/ptxas_all.py %ptxas %t r18 r50 r18m r50b r101b sm_75 sm_80 sm_86 sm_89 sm_90 | FileCheck %s
// RUN: FileCheck %s --check-prefix=PLAN < %t/r50-sm_90/plan.json

// IMPORT18: imported resnet18 (20 convs, {{.*}} 10 classes)
// IMPORT50: imported resnet50 (53 convs, {{.*}} 10 classes)
// QNN: "qnn.dense"
// QNN-NEXT: "qnn.dequantize"({{.*}}) {layout = "NC", scale = array<f32: [[S0:[^,]+]], [[S1:[^,]+]],
// QNN-NOT: "qnn.dequantize"

// CHECK: r18 sm_75: ptxas ok
// CHECK: r18 sm_80: ptxas ok
// CHECK: r18 sm_86: ptxas ok
// CHECK: r18 sm_89: ptxas ok
// CHECK: r18 sm_90: ptxas ok, {{[0-9]+}} kernels, 0 conv kernels spill
// CHECK: r50 sm_75: ptxas ok
// CHECK: r50 sm_80: ptxas ok
// CHECK: r50 sm_86: ptxas ok
// CHECK: r50 sm_89: ptxas ok
// CHECK: r50 sm_90: ptxas ok, {{[0-9]+}} kernels, 0 conv kernels spill
// CHECK: r18m sm_75: ptxas ok
// CHECK: r18m sm_80: ptxas ok
// CHECK: r18m sm_86: ptxas ok
// CHECK: r18m sm_89: ptxas ok
// CHECK: r18m sm_90: ptxas ok
// CHECK: r50b sm_75: ptxas ok
// CHECK: r50b sm_80: ptxas ok
// CHECK: r50b sm_86: ptxas ok
// CHECK: r50b sm_89: ptxas ok
// CHECK: r50b sm_90: ptxas ok
// CHECK: r101b sm_75: ptxas ok
// CHECK: r101b sm_80: ptxas ok
// CHECK: r101b sm_86: ptxas ok
// CHECK: r101b sm_89: ptxas ok
// CHECK: r101b sm_90: ptxas ok, {{[0-9]+}} kernels, 0 conv kernels spill

// PLAN: "kernel": "resnet50_hawq_{{[0-9]+}}_dense"
// PLAN-NOT: dequantize
