// A conv with its input quantize fused (`input_*` attributes, convert-qnn-to-tcconv's
// input-quantize.mlir) is one kernel that reads the f32 input: the register-MMA kernel's
// taps-along-K loader quantizes each of a pixel's channels (one cvt.rni a value) into the
// byte of the word the MMA reads.
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90})' | FileCheck %s

// CHECK-LABEL: func.func @stem
// CHECK-COUNT-1: gpu.launch_func @kernels::@stem_0_conv2d
// CHECK-NOT: gpu.launch_func
// CHECK-LABEL: gpu.module @kernels
// CHECK: gpu.func @stem_0_conv2d(%arg0: memref<1x3x39x39xf32> {llvm.noalias}, %arg1: memref<16x7x7x4xi8>
// CHECK: memref.load {{.*}} : memref<4563xf32>
// CHECK: llvm.inline_asm asm_dialect = att "cvt.rni.f32.f32 $0, $1;", "=f,f"
// Saturated to [lo - zp, hi - zp] = [-133, 122] before the zero point (5) is added; NaN to
// lo - zp, so it quantizes to the type's lowest value (as ONNX Runtime's x86 kernels do).
// CHECK: %[[NAN:.*]] = arith.cmpf uno, %[[R:.*]], %[[R]] : f32
// CHECK-NEXT: arith.select %{{.*}}, %{{.*}}, %c122_i32 : i32
// CHECK-NEXT: arith.select %{{.*}}, %{{.*}}, %c-133_i32 : i32
// CHECK-NEXT: arith.select %[[NAN]], %c-133_i32, %{{.*}} : i32
// CHECK: nvvm.mma.sync
// CHECK-NOT: gpu.func
func.func @stem(%arg0: memref<1x3x39x39xf32> {tcconv.dims = array<i64: 1, 3, 39, 39>, tcconv.elem = "f32", tcconv.layout = "NCHW"}, %arg1: memref<1x20x20x2xi32> {tcconv.dims = array<i64: 1, 16, 20, 20>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  %0 = "tcconv.weight"() {dims = array<i64: 16, 3, 7, 7>, elem = "i8", name = "w.ohwi", packing = "ohwi", source = "w", source_layout = "OIHW"} : () -> memref<16x7x7x4xi8>
  %1 = "tcconv.weight"() {dims = array<i64: 16, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<16xi32>
  "tcconv.conv2d"(%arg0, %0, %1, %arg1) {a_type = "s8", b_type = "s8", block_tile = array<i64: 32, 32, 64>, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "mma", input_elem = "i8", input_layout = "NHWC", input_mode = "divide", input_scale = 2.100000e-02 : f32, input_zero_point = 5 : i64, kernel = array<i64: 7, 7>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1518500250>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 0, 0, 0>, padding = array<i64: 3, 3, 3, 3>, relu = true, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 40>, stages = 4 : i64, strategy = "im2col", strides = array<i64: 2, 2>, warp_tile = array<i64: 32, 32, 64>, widen = false, zero_point = 0 : i64} : (memref<1x3x39x39xf32>, memref<16x7x7x4xi8>, memref<16xi32>, memref<1x20x20x2xi32>) -> ()
  return
}
