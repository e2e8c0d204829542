// The fused epilogue's arithmetic in the PTX: a residual conv whose branch shifts lie in
// [1, 31] (a per-channel table of 24-27, the residual's one-value 31) rounds on 32-bit words (the
// quotient's low word a funnel shift, the tie tested on the low word) and saturates and clamps
// its i64 sum in 32-bit compares: no 64-bit shift by a table value, tie test, min or max.
// RUN: nibble-opt %s --split-input-file --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_80},nvvm-attach-target{chip=sm_80 features=+ptx70},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1}),reconcile-unrealized-casts,gpu-module-to-binary{format=isa})' | FileCheck %s

// CHECK-LABEL: func.func @residual_low_shifts
// CHECK: .visible .entry residual_low_shifts_0_conv2d(
// CHECK-NOT: {{(max|min)\.s64|setp\.eq\.b64}}
// CHECK: shf.r.wrap.b32
// CHECK-NOT: {{(max|min)\.s64|setp\.eq\.b64}}
// CHECK: max.s32
// CHECK-NOT: {{(max|min)\.s64|setp\.eq\.b64}}
// CHECK-LABEL: func.func @requantize_u4
module {
  func.func @residual_low_shifts(%arg0: memref<1x4x4x1xi32> {tcconv.dims = array<i64: 1, 8, 4, 4>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg1: memref<1x4x4x8xi32> {tcconv.dims = array<i64: 1, 8, 4, 4>, tcconv.elem = "i32", tcconv.layout = "NHWC"}, %arg2: memref<1x4x4x8xi32> {tcconv.dims = array<i64: 1, 8, 4, 4>, tcconv.elem = "i32", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 2 : i64, tcconv.target = "sm_80"} {
    %0 = "tcconv.weight"() {dims = array<i64: 8, 8, 3, 3>, elem = "i4", name = "w.ohwi", packing = "ohwi", source = "w", source_layout = "OIHW"} : () -> memref<8x3x3x1xi32>
    "tcconv.conv2d"(%arg0, %0, %arg1, %arg2) {a_type = "u4", b_type = "s4", block_tile = array<i64: 32, 32, 128>, clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", family = "mma", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 64>, multiplier = array<i32: 1076652916, 2143366875, 1500000001, 1234567891, 1999999999, 1111111111, 1333333333, 1777777777>, operandSegmentSizes = array<i32: 1, 1, 0, 1, 1, 0, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = true, residual_multiplier = array<i32: 1887396881>, residual_shift = array<i32: 31>, rounding = "half_to_even", shift = array<i32: 24, 25, 26, 27, 24, 25, 26, 27>, stages = 1 : i64, strategy = "im2col", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = false, zero_point = 0 : i64} : (memref<1x4x4x1xi32>, memref<8x3x3x1xi32>, memref<1x4x4x8xi32>, memref<1x4x4x8xi32>) -> ()
    return
  }
}

// -----

// A requantize to u4 with a table of shifts in [33, 62] rounds on the product's high word, and
// its clamp to [0, 15] is the packing's saturation (cvt.pack.sat.u4): no min / max at all.
// CHECK: .visible .entry requantize_u4_0_conv2d(
// CHECK-NOT: {{(max|min)\.s(32|64)}}
// CHECK: cvt.pack.sat.u4.s32.b32
// CHECK-NOT: {{(max|min)\.s(32|64)}}
module {
  func.func @requantize_u4(%arg0: memref<1x4x4x1xi32> {tcconv.dims = array<i64: 1, 8, 4, 4>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg1: memref<1x4x4x1xi32> {tcconv.dims = array<i64: 1, 8, 4, 4>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_80"} {
    %0 = "tcconv.weight"() {dims = array<i64: 8, 8, 3, 3>, elem = "i4", name = "w.ohwi", packing = "ohwi", source = "w", source_layout = "OIHW"} : () -> memref<8x3x3x1xi32>
    "tcconv.conv2d"(%arg0, %0, %arg1) {a_type = "u4", b_type = "s4", block_tile = array<i64: 32, 32, 128>, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "mma", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 64>, multiplier = array<i32: 1076652916, 2143366875, 1500000001, 1234567891, 1999999999, 1111111111, 1333333333, 1777777777>, operandSegmentSizes = array<i32: 1, 1, 0, 0, 1, 0, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = true, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 36, 37, 35, 36, 38, 36, 37, 36>, stages = 1 : i64, strategy = "im2col", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = false, zero_point = 0 : i64} : (memref<1x4x4x1xi32>, memref<8x3x3x1xi32>, memref<1x4x4x1xi32>) -> ()
    return
  }
}
