// With pool-requantize=second, a requantize of a max or average pool's map that other ops read
// too runs in the pool kernel as its second output: one tcconv.pool2d with a third operand and
// the requantize as its second_* attributes writes the map and its requantize (ResNet-18's pooled
// stem map: the first unit's residual reads the map, its first conv the 4-bit copy). Only one
// requantize a map folds; one whose buffer's stored channels differ from the map's (a 4-bit
// copy of 20 channels pads to 24), a requantize of a function argument and
// pool-requantize=separate keep the elementwise kernel (dialects/tcconv/src/lower.rs,
// fold_requantizes_into_pools). The default (auto) folds maps of 16 images or more only.
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 pool-requantize=second},tcconv-verify)' | FileCheck %s
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 pool-requantize=separate},tcconv-verify)' | FileCheck %s --check-prefix=SEPARATE
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90},tcconv-verify)' | FileCheck %s --check-prefix=AUTO
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 pool-requantize=auto},tcconv-verify)' | FileCheck %s --check-prefix=AUTO
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 pool-requantize=second})' | mlir-opt-22 --allow-unregistered-dialect | FileCheck %s
// The printed second output parses back into the same op:
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 pool-requantize=second})' | nibble-opt --pass-pipeline='builtin.module(tcconv-verify)' | FileCheck %s
// Per-channel second scales reach the pool kernel as tables (sec_mul, sec_shift) after its buffers:
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 pool-requantize=second},convert-tcconv-to-gpu{target=sm_90})' | FileCheck %s --check-prefix=GPU
// GPU: gpu.launch_func  @kernels::@map_read_by_an_add_and_a_requantize_0_pool2d {{.*}} args(%arg0 : memref<3x6x6x4xi32>, %{{[0-9]+}} : memref<3x3x3x4xi32>, %arg2 : memref<3x3x3x4xi8>, %{{[0-9]+}} : memref<4xi32>, %{{[0-9]+}} : memref<4xi32>)
// GPU: memref.global "private" constant @map_read_by_an_add_and_a_requantize_0_pool2d_sec_mul : memref<4xi32> = dense<[1073741824, 1200000000, 1300000000, 1400000000]>
// GPU: memref.global "private" constant @map_read_by_an_add_and_a_requantize_0_pool2d_sec_shift : memref<4xi32> = dense<[31, 32, 33, 34]>
// RUN: not nibble-opt %s --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 pool-requantize=fused})' 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: pool-requantize 'fused' is not auto, separate or second

// CHECK-LABEL: func.func @pooled_map_and_its_requantize
// CHECK: "tcconv.pool2d"(%arg0, %arg1, %arg2) {kernel = array<i64: 3, 3>, kind = "max", padding = array<i64: 1, 1, 1, 1>, second_clamp = array<i64: 0, 15>, second_multiplier = array<i32: 1073741824>, second_rounding = "half_to_even", second_shift = array<i32: 40>, second_zero_point = 0 : i64, strides = array<i64: 2, 2>} : (memref<2x9x9x16xi32>, memref<2x5x5x16xi32>, memref<2x5x5x2xi32>) -> ()
// CHECK-NOT: tcconv.elementwise
// CHECK: return
// SEPARATE-LABEL: func.func @pooled_map_and_its_requantize
// SEPARATE: "tcconv.pool2d"(%arg0, %arg1) {kernel
// SEPARATE-NEXT: "tcconv.elementwise"(%arg1, %arg2) {{{.*}}kind = "requantize"
// AUTO-LABEL: func.func @pooled_map_and_its_requantize
// AUTO: "tcconv.pool2d"(%arg0, %arg1) {kernel
// AUTO-NEXT: "tcconv.elementwise"(%arg1, %arg2) {{{.*}}kind = "requantize"
func.func @pooled_map_and_its_requantize(%x: tensor<2x16x9x9xi16>) -> (tensor<2x16x5x5xi16>, tensor<2x16x5x5xui4>) {
  %p = "qnn.max_pool2d"(%x) {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW"} : (tensor<2x16x9x9xi16>) -> tensor<2x16x5x5xi16>
  %q = "qnn.requantize"(%p) {multiplier = array<i32: 1073741824>, shift = array<i32: 40>, clamp = array<i64: 0, 15>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<2x16x5x5xi16>) -> tensor<2x16x5x5xui4>
  return %p, %q : tensor<2x16x5x5xi16>, tensor<2x16x5x5xui4>
}

// 16 images: the default folds too.
// CHECK-LABEL: func.func @pooled_map_of_16_images
// CHECK: "tcconv.pool2d"(%arg0, %arg1, %arg2) {{{.*}}second_shift = array<i32: 40>
// CHECK-NOT: tcconv.elementwise
// AUTO-LABEL: func.func @pooled_map_of_16_images
// AUTO: "tcconv.pool2d"(%arg0, %arg1, %arg2) {{{.*}}second_shift = array<i32: 40>
// AUTO-NOT: tcconv.elementwise
// AUTO: return
// SEPARATE-LABEL: func.func @pooled_map_of_16_images
// SEPARATE: "tcconv.pool2d"(%arg0, %arg1) {kernel
// SEPARATE-NEXT: "tcconv.elementwise"(%arg1, %arg2) {{{.*}}kind = "requantize"
func.func @pooled_map_of_16_images(%x: tensor<16x16x9x9xi16>) -> (tensor<16x16x5x5xi16>, tensor<16x16x5x5xui4>) {
  %p = "qnn.max_pool2d"(%x) {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, layout = "NCHW"} : (tensor<16x16x9x9xi16>) -> tensor<16x16x5x5xi16>
  %q = "qnn.requantize"(%p) {multiplier = array<i32: 1073741824>, shift = array<i32: 40>, clamp = array<i64: 0, 15>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<16x16x5x5xi16>) -> tensor<16x16x5x5xui4>
  return %p, %q : tensor<16x16x5x5xi16>, tensor<16x16x5x5xui4>
}

// The map read by an add besides its requantize (per-channel scales, a zero point, 8 bits).
// CHECK-LABEL: func.func @map_read_by_an_add_and_a_requantize
// CHECK: "tcconv.pool2d"(%arg0, %[[MAP:[0-9]+]], %arg2) {kernel = array<i64: 2, 2>, kind = "avg", padding = array<i64: 0, 0, 0, 0>, second_clamp = array<i64: -128, 127>, second_multiplier = array<i32: 1073741824, 1200000000, 1300000000, 1400000000>, second_rounding = "half_up", second_shift = array<i32: 31, 32, 33, 34>, second_zero_point = -3 : i64, strides = array<i64: 2, 2>}
// CHECK-NEXT: "tcconv.elementwise"(%[[MAP]], %[[MAP]], %arg1) {{{.*}}kind = "add"
// CHECK-NOT: tcconv.elementwise
func.func @map_read_by_an_add_and_a_requantize(%x: tensor<3x4x6x6xi32>) -> (tensor<3x4x3x3xi32>, tensor<3x4x3x3xi8>) {
  %p = "qnn.avg_pool2d"(%x) {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW"} : (tensor<3x4x6x6xi32>) -> tensor<3x4x3x3xi32>
  %q = "qnn.requantize"(%p) {multiplier = array<i32: 1073741824, 1200000000, 1300000000, 1400000000>, shift = array<i32: 31, 32, 33, 34>, clamp = array<i64: -128, 127>, zero_point = -3 : i64, rounding = "half_up", layout = "NCHW"} : (tensor<3x4x3x3xi32>) -> tensor<3x4x3x3xi8>
  %a = "qnn.add"(%p, %p) {lhs_multiplier = array<i32: 1073741824>, lhs_shift = array<i32: 30>, rhs_multiplier = array<i32: 1073741824>, rhs_shift = array<i32: 30>, clamp = array<i64: -2147483648, 2147483647>, rounding = "half_to_even", layout = "NCHW"} : (tensor<3x4x3x3xi32>, tensor<3x4x3x3xi32>) -> tensor<3x4x3x3xi32>
  return %a, %q : tensor<3x4x3x3xi32>, tensor<3x4x3x3xi8>
}

// Two requantizes of one map: the first becomes the second output, the other stays.
// CHECK-LABEL: func.func @two_requantizes_of_one_map
// CHECK: "tcconv.pool2d"(%arg0, %[[MAP:[0-9]+]], %arg1) {{{.*}}second_shift = array<i32: 36>
// CHECK-NEXT: "tcconv.elementwise"(%[[MAP]], %arg2) {{{.*}}kind = "requantize"{{.*}}shift = array<i32: 38>
func.func @two_requantizes_of_one_map(%x: tensor<5x8x7x7xi32>) -> (tensor<5x8x1x1xi8>, tensor<5x8x1x1xui4>) {
  %g = "qnn.max_pool2d"(%x) {kernel = array<i64: 7, 7>, strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW"} : (tensor<5x8x7x7xi32>) -> tensor<5x8x1x1xi32>
  %q = "qnn.requantize"(%g) {multiplier = array<i32: 1073741824>, shift = array<i32: 36>, clamp = array<i64: -128, 127>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<5x8x1x1xi32>) -> tensor<5x8x1x1xi8>
  %r = "qnn.requantize"(%g) {multiplier = array<i32: 1073741824>, shift = array<i32: 38>, clamp = array<i64: 0, 15>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<5x8x1x1xi32>) -> tensor<5x8x1x1xui4>
  return %q, %r : tensor<5x8x1x1xi8>, tensor<5x8x1x1xui4>
}

// 20 channels: the 4-bit copy stores 24 a pixel, the i16 map 20, so the slots differ.
// CHECK-LABEL: func.func @stored_channels_differ
// CHECK: "tcconv.pool2d"(%arg0, %arg1) {kernel
// CHECK-NEXT: "tcconv.elementwise"(%arg1, %arg2) {{{.*}}kind = "requantize"
func.func @stored_channels_differ(%x: tensor<1x20x8x8xi16>) -> (tensor<1x20x4x4xi16>, tensor<1x20x4x4xui4>) {
  %p = "qnn.max_pool2d"(%x) {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>, layout = "NCHW"} : (tensor<1x20x8x8xi16>) -> tensor<1x20x4x4xi16>
  %q = "qnn.requantize"(%p) {multiplier = array<i32: 1073741824>, shift = array<i32: 40>, clamp = array<i64: 0, 15>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<1x20x4x4xi16>) -> tensor<1x20x4x4xui4>
  return %p, %q : tensor<1x20x4x4xi16>, tensor<1x20x4x4xui4>
}

// A requantize of an argument has no pool to run in.
// CHECK-LABEL: func.func @requantize_of_an_argument
// CHECK: "tcconv.elementwise"(%arg0, %arg1) {{{.*}}kind = "requantize"
func.func @requantize_of_an_argument(%x: tensor<2x16x5x5xi16>) -> tensor<2x16x5x5xui4> {
  %q = "qnn.requantize"(%x) {multiplier = array<i32: 1073741824>, shift = array<i32: 40>, clamp = array<i64: 0, 15>, zero_point = 0 : i64, rounding = "half_to_even", layout = "NCHW"} : (tensor<2x16x5x5xi16>) -> tensor<2x16x5x5xui4>
  return %q : tensor<2x16x5x5xui4>
}
