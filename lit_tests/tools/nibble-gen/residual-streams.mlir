// `--residual-streams N` reports every i32 activation stream of a model: its static bound from
// the weights, whether that bound proves i16, and the range the reference produced on N random
// inputs (the bound holds every observed value: nibble_models::streams tests it).
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %hawq_fixtures/write_hawq_checkpoint.py --arch resnet18 --seed 3 -o %t/r18.pth --batch 1 --image-size 32 > /dev/null
// RUN: nibble-gen import %t/r18.pth --arch resnet18 --bits uniform4 --image-size 32 --residual-streams 2 -o %t/r18 | FileCheck %s
// RUN: nibble-gen example --arch resnet18 --no-calibrate --image-size 32 --residual-streams 1 -o %t/gen | FileCheck %s

// CHECK: stream (value, op, loc) | static bound | i16 by bound | observed | beyond i16
// CHECK: %{{[0-9]+}} {{[a-z_0-9]+}}{{.*}} | [{{-?[0-9]+}}, {{-?[0-9]+}}] | {{yes|no}} | [{{-?[0-9]+}}, {{-?[0-9]+}}] | {{[0-9]+}} of {{[0-9]+}}
// CHECK: {{[0-9]+}} streams: {{[0-9]+}} proved to fit i16 by their static bound; observed: {{[0-9]+}} of {{[0-9]+}} values beyond i16
