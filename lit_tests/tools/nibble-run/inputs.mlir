// A network of two inputs (a conv plus a strided 1x1 shortcut conv of a second input, as
// `nibble-gen conv --shortcut` writes it): nibble-run generates both from --seed, one after
// the other from one generator, or reads one --input each; a wrong count is an error.
// RUN: rm -rf %t && mkdir -p %t
// RUN: nibble-gen conv --shape 3,32,5,24,3,1,1 --bits 4 --seed 2 --shortcut 64,2 -o %t/net > /dev/null
// RUN: nibble-run --cpu %t/net/model.mlir --seed 4 -o %t/a.npy | FileCheck %s
// RUN: nibble-run --cpu %t/net/model.mlir --seed 4 -o %t/b.npy > /dev/null
// RUN: nibble-run --cpu %t/net/model.mlir --seed 5 -o %t/c.npy > /dev/null
// RUN: cmp %t/a.npy %t/b.npy
// RUN: not cmp -s %t/a.npy %t/c.npy
// RUN: not nibble-run --cpu %t/net/model.mlir --input %t/a.npy 2>&1 | FileCheck %s --check-prefix=COUNT
// RUN: not nibble-run --cpu %t/net/model.mlir --input %t/a.npy --input %t/a.npy 2>&1 | FileCheck %s --check-prefix=SHAPE

// CHECK: conv on the CPU reference: {{.*}} output tensor<3x24x5x5xui4>

// COUNT: nibble-run: error: 1 --input files given; the network takes 2 inputs

// SHAPE: nibble-run: error: {{.*}}a.npy: input shape [3, 24, 5, 5] does not match the model's [3, 32, 5, 5]
