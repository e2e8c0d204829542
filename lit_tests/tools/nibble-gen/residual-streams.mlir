// `--residual-streams N` reports every i32 activation stream of a model: its static bound from
// the weights, whether that bound proves i16, and the range the reference produced on N random
// inputs (the bound holds every observed value: nibble_models::streams tests it).
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %hawq_fixtures/write_hawq_checkpoint.py --arch resnet18 --seed 3 -o %t/r18.pth --batch 1 --image-size 32 > /dev/null
// RUN: nibble-gen import %t/r18.pth --arch resnet18 --bits uniform4 --image-size 32 --residual-streams 2 -o %t/r18 | FileCheck %s
// RUN: nibble-gen example --arch resnet18 --no-calibrate --image-size 32 --residual-streams 1 -o %t/gen | FileCheck %s
// More than 1000 runs is refused before anything is written.
// RUN: not nibble-gen example --arch resnet18 --no-calibrate --image-size 32 --residual-streams 1001 -o %t/many 2>&1 | FileCheck %s --check-prefix=MANY
// RUN: not test -e %t/many
// MANY: 1001 is not in 0..=1000
// A bit configuration naming a layer the network does not have is an error for a generated
// model (a checkpoint's own configuration gets a warning: it may name layers nibble ignores).
// RUN: echo '{"bogus_layer": 4}' > %t/bogus.json
// RUN: not nibble-gen example --arch resnet18 --no-calibrate --image-size 32 --bit-config %t/bogus.json -o %t/bogus 2>&1 | FileCheck %s --check-prefix=BOGUS
// RUN: nibble-gen import %t/r18.pth --arch resnet18 --bits uniform4 --image-size 32 --bit-config %t/bogus.json -o %t/r18b 2>&1 | FileCheck %s --check-prefix=BOGUSIMPORT
// BOGUS: nibble-gen: error: {{.*}}bogus.json: not layers of the ResNet18 network: bogus_layer
// BOGUSIMPORT: nibble-gen: warning: {{.*}}bogus.json: not layers of the network, ignored: bogus_layer

// CHECK: stream (value, op, loc) | static bound | i16 by bound | observed | beyond i16
// CHECK: %{{[0-9]+}} {{[a-z_0-9]+}}{{.*}} | [{{-?[0-9]+}}, {{-?[0-9]+}}] | {{yes|no}} | [{{-?[0-9]+}}, {{-?[0-9]+}}] | {{[0-9]+}} of {{[0-9]+}}
// CHECK: {{[0-9]+}} streams: {{[0-9]+}} proved to fit i16 by their static bound; observed: {{[0-9]+}} of {{[0-9]+}} values beyond i16
