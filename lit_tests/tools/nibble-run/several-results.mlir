// A network of several results: `-o OUT.npy` writes result 0 there and result k beside it as
// OUT.k.npy (a stem tail returns the 4-bit requantize of its pooled map, then the i16 map).
// RUN: rm -rf %t && mkdir -p %t
// RUN: nibble-gen conv --shape 1,8,6,16,3,1,1 --pool 3,2,1 -o %t/net > /dev/null
// RUN: nibble-run --cpu %t/net/model.mlir --seed 2 -o %t/out.npy | FileCheck %s
// RUN: %python -c "import sys; b = open(sys.argv[1], 'rb').read(); print(b[:80])" %t/out.1.npy | FileCheck %s --check-prefix=SECOND
// RUN: %python -c "import sys; b = open(sys.argv[1], 'rb').read(); print(b[:80])" %t/out.npy | FileCheck %s --check-prefix=FIRST
// RUN: not test -e %t/out.2.npy

// CHECK: output tensor<1x16x3x3xui4>
// FIRST: 'shape': (1, 16, 3, 3, )
// SECOND: 'shape': (1, 16, 3, 3, )
