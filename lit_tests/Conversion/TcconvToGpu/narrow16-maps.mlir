// convert-tcconv-to-gpu on i16 maps in narrow16 storage (`convert-qnn-to-tcconv{maps=narrow16}`:
// ResNet-18's stem map and pooled map): the max pool reads the narrow plane's i16 values and
// the wide plane only under an escape (an i16 value escapes at -32768 and 32767), writes the
// pooled values as i16 with the escapes' exact values in the wide plane, and the requantize
// reads the narrow plane's words the same way.
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90a})' | FileCheck %s
// RUN: nibble-opt %s --pass-pipeline='builtin.module(tcconv-verify)' | nibble-opt | FileCheck %s --check-prefix=ROUNDTRIP

// ROUNDTRIP-LABEL: func.func @stem_map_pool_requantize
// ROUNDTRIP: "tcconv.alloc"() {dims = array<i64: 2, 64, 8, 8>, elem = "i16", layout = "NHWC", storage = "narrow16"} : () -> memref<3x16384xi8>
// ROUNDTRIP: "tcconv.alloc"() {dims = array<i64: 2, 64, 4, 4>, elem = "i16", layout = "NHWC", storage = "narrow16"} : () -> memref<3x4096xi8>
// CHECK: gpu.func @stem_map_pool_requantize_0_pool2d(%arg0: memref<3x16384xi8> {llvm.noalias}, %arg1: memref<3x4096xi8> {llvm.noalias})
// the input: its i16 plane, and its i32 plane (after the 2 x 8192 bytes of the first)
// CHECK-DAG: %[[WIDE:.*]] = memref.view %{{.*}}[%{{.*}}][] : memref<49152xi8> to memref<12288xi32>
// CHECK-DAG: %[[HALVES:.*]] = memref.view %{{.*}}[%{{.*}}][] : memref<49152xi8> to memref<8192xi16>
// CHECK: memref.load %[[HALVES]][%{{.*}}] : memref<8192xi16>
// CHECK: scf.if %{{.*}} -> (i32) {
// CHECK: memref.load %[[WIDE]][%{{.*}}] : memref<12288xi32>
// CHECK: arith.maxsi
// the pooled value: its i16 (saturated), and under an escape its i32
// CHECK: memref.store %{{.*}}, %{{.*}}[%{{.*}}] : memref<2048xi16>
// CHECK: scf.if
// CHECK: memref.store %{{.*}}, %{{.*}}[%{{.*}}] : memref<3072xi32>
// CHECK: gpu.func @stem_map_pool_requantize_1_elementwise(%arg0: memref<3x4096xi8> {llvm.noalias}, %arg1: memref<2x4x4x8xi32> {llvm.noalias})
// CHECK: memref.load %{{.*}}[%{{.*}}] : memref<3072xi32>
func.func @stem_map_pool_requantize(%arg0: memref<2x4x4x8xi32> {tcconv.dims = array<i64: 2, 64, 4, 4>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 0 : i64, tcconv.target = "sm_90a"} {
  %map = "tcconv.alloc"() {dims = array<i64: 2, 64, 8, 8>, elem = "i16", layout = "NHWC", storage = "narrow16"} : () -> memref<3x16384xi8>
  %pooled = "tcconv.alloc"() {dims = array<i64: 2, 64, 4, 4>, elem = "i16", layout = "NHWC", storage = "narrow16"} : () -> memref<3x4096xi8>
  "tcconv.pool2d"(%map, %pooled) {kernel = array<i64: 3, 3>, kind = "max", padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (memref<3x16384xi8>, memref<3x4096xi8>) -> ()
  "tcconv.elementwise"(%pooled, %arg0) {clamp = array<i64: 0, 15>, kind = "requantize", multiplier = array<i32: 1344146273>, rhs_multiplier = array<i32>, rhs_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 41>, zero_point = 0 : i64} : (memref<3x4096xi8>, memref<2x4x4x8xi32>) -> ()
  return
}
