// HAWQ checkpoints in torch.save's format (write_hawq_checkpoint.py, no torch) import and run on
// the CPU reference bit for bit against an independent integer-only HAWQ forward that reads the
// same file (hawq_forward.py), for every kind of checkpoint the importer takes.
// RUN: rm -rf %t && mkdir -p %t

// uniform 4-bit ResNet-18
// RUN: %python %hawq_fixtures/write_hawq_checkpoint.py --arch resnet18 --seed 20 -o %t/r18.pth --input-out %t/r18.x.npy --batch 2 --image-size 32 > /dev/null
// RUN: nibble-gen import %t/r18.pth --arch resnet18 --bits uniform4 --batch 2 --image-size 32 -o %t/r18 > /dev/null
// RUN: %python %hawq_fixtures/hawq_forward.py %t/r18.pth --arch resnet18 --bits uniform4 --input %t/r18.x.npy -o %t/r18.want.npy
// RUN: nibble-run --cpu %t/r18/model.mlir --input %t/r18.x.npy --check %t/r18.want.npy | FileCheck %s

// mixed 4/8-bit ResNet-18
// RUN: %python %hawq_fixtures/write_hawq_checkpoint.py --arch resnet18 --bits mixed --seed 21 -o %t/r18mixed.pth --bit-config-out %t/r18mixed.json --input-out %t/r18mixed.x.npy --batch 2 --image-size 32 > /dev/null
// RUN: nibble-gen import %t/r18mixed.pth --arch resnet18 --bits %t/r18mixed.json --batch 2 --image-size 32 -o %t/r18mixed > /dev/null
// RUN: %python %hawq_fixtures/hawq_forward.py %t/r18mixed.pth --arch resnet18 --bits %t/r18mixed.json --input %t/r18mixed.x.npy -o %t/r18mixed.want.npy
// RUN: nibble-run --cpu %t/r18mixed/model.mlir --input %t/r18mixed.x.npy --check %t/r18mixed.want.npy | FileCheck %s

// mixed narrow ResNet-50, stride on the bottleneck's 1x1
// RUN: %python %hawq_fixtures/write_hawq_checkpoint.py --arch resnet50 --bits mixed --seed 22 -o %t/r50mixed.pth --bit-config-out %t/r50mixed.json --input-out %t/r50mixed.x.npy --batch 2 --image-size 32 > /dev/null
// RUN: nibble-gen import %t/r50mixed.pth --arch resnet50 --bits %t/r50mixed.json --batch 2 --image-size 32 -o %t/r50mixed > /dev/null
// RUN: %python %hawq_fixtures/hawq_forward.py %t/r50mixed.pth --arch resnet50 --bits %t/r50mixed.json --input %t/r50mixed.x.npy -o %t/r50mixed.want.npy
// RUN: nibble-run --cpu %t/r50mixed/model.mlir --input %t/r50mixed.x.npy --check %t/r50mixed.want.npy | FileCheck %s

// narrow ResNet-50b, stride on the 3x3
// RUN: %python %hawq_fixtures/write_hawq_checkpoint.py --arch resnet50b --seed 23 -o %t/r50b.pth --input-out %t/r50b.x.npy --batch 2 --image-size 32 > /dev/null
// RUN: nibble-gen import %t/r50b.pth --arch resnet50b --bits uniform4 --batch 2 --image-size 32 -o %t/r50b > /dev/null
// RUN: %python %hawq_fixtures/hawq_forward.py %t/r50b.pth --arch resnet50b --bits uniform4 --input %t/r50b.x.npy -o %t/r50b.want.npy
// RUN: nibble-run --cpu %t/r50b/model.mlir --input %t/r50b.x.npy --check %t/r50b.want.npy | FileCheck %s

// power-of-two scales: frequent rounding ties
// RUN: %python %hawq_fixtures/write_hawq_checkpoint.py --arch resnet18 --pow2-scales --seed 24 -o %t/pow2.pth --input-out %t/pow2.x.npy --batch 2 --image-size 32 > /dev/null
// RUN: nibble-gen import %t/pow2.pth --arch resnet18 --bits uniform4 --batch 2 --image-size 32 -o %t/pow2 > /dev/null
// RUN: %python %hawq_fixtures/hawq_forward.py %t/pow2.pth --arch resnet18 --bits uniform4 --input %t/pow2.x.npy -o %t/pow2.want.npy
// RUN: nibble-run --cpu %t/pow2/model.mlir --input %t/pow2.x.npy --check %t/pow2.want.npy | FileCheck %s

// residual sums beyond int16
// RUN: %python %hawq_fixtures/write_hawq_checkpoint.py --arch resnet18 --wide-residuals --seed 25 -o %t/wide.pth --input-out %t/wide.x.npy --batch 2 --image-size 32 > /dev/null
// RUN: nibble-gen import %t/wide.pth --arch resnet18 --bits uniform4 --batch 2 --image-size 32 -o %t/wide > /dev/null
// RUN: %python %hawq_fixtures/hawq_forward.py %t/wide.pth --arch resnet18 --bits uniform4 --input %t/wide.x.npy -o %t/wide.want.npy
// RUN: nibble-run --cpu %t/wide/model.mlir --input %t/wide.x.npy --check %t/wide.want.npy | FileCheck %s

// mixed narrow ResNet-101 (q_resnet101: 3, 4, 23, 3 units), stride on the bottleneck's 1x1, and
// a uniform ResNet-101b, stride on the 3x3
// RUN: %python %hawq_fixtures/write_hawq_checkpoint.py --arch resnet101 --bits mixed --seed 26 -o %t/r101.pth --bit-config-out %t/r101.json --input-out %t/r101.x.npy --batch 2 --image-size 32 > /dev/null
// RUN: nibble-gen import %t/r101.pth --arch resnet101 --bits %t/r101.json --batch 2 --image-size 32 -o %t/r101 | FileCheck %s --check-prefix=IMPORT101
// RUN: %python %hawq_fixtures/hawq_forward.py %t/r101.pth --arch resnet101 --bits %t/r101.json --input %t/r101.x.npy -o %t/r101.want.npy
// RUN: nibble-run --cpu %t/r101/model.mlir --input %t/r101.x.npy --check %t/r101.want.npy | FileCheck %s
// RUN: %python %hawq_fixtures/write_hawq_checkpoint.py --arch resnet101b --seed 27 -o %t/r101b.pth --input-out %t/r101b.x.npy --batch 2 --image-size 32 > /dev/null
// RUN: nibble-gen import %t/r101b.pth --arch resnet101b --bits uniform4 --batch 2 --image-size 32 -o %t/r101b > /dev/null
// RUN: %python %hawq_fixtures/hawq_forward.py %t/r101b.pth --arch resnet101b --bits uniform4 --input %t/r101b.x.npy -o %t/r101b.want.npy
// RUN: nibble-run --cpu %t/r101b/model.mlir --input %t/r101b.x.npy --check %t/r101b.want.npy | FileCheck %s
// IMPORT101: imported resnet101 (104 convs,
// A ResNet-101 checkpoint imported as a ResNet-50 is refused by its own 'arch' entry.
// RUN: not nibble-gen import %t/r101b.pth --arch resnet50b --bits uniform4 -o %t/bad101 2>&1 | FileCheck %s --check-prefix=ARCH101
// RUN: test ! -e %t/bad101
// ARCH101: nibble-gen: error: {{.*}}r101b.pth: the checkpoint was trained as 'resnet101b' (its 'arch' entry) but --arch says resnet50b

// The torch-written fixture (torch.save of a HAWQ state dict, with its own logits).
// RUN: %python %hawq_fixtures/hawq_forward.py %hawq_fixtures/hawq_resnet18_narrow.pth --arch resnet18 --bits uniform4 --input %hawq_fixtures/input.npy -o %t/torch.want.npy
// RUN: cmp %t/torch.want.npy %hawq_fixtures/logits.npy

// A checkpoint trained as resnet50 imported as resnet50b is refused (same keys, other strides).
// RUN: not nibble-gen import %t/r50mixed.pth --arch resnet50b --bits %t/r50mixed.json -o %t/bad 2>&1 | FileCheck %s --check-prefix=ARCH
// RUN: test ! -e %t/bad

// CHECK: check: 20 elements identical to {{.*}}want.npy
// ARCH: nibble-gen: error: {{.*}}r50mixed.pth: the checkpoint was trained as 'resnet50' (its 'arch' entry) but --arch says resnet50b
