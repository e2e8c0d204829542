// A quantize with float steps (`pre`: a model's float preprocessing) applies them in order,
// one IEEE f32 operation each (arith.subf / divf, no fma), before the division by the scale and
// the rounding: per-channel constants as tables the launch passes (`pre0`, `pre1`), one-value
// ones as constants; here into the space-to-depth map of the zero-point-padded image.
// RUN: nibble-opt %s --pass-pipeline='builtin.module(convert-tcconv-to-gpu{target=sm_90})' | FileCheck %s
// RUN: nibble-opt %s --pass-pipeline='builtin.module(tcconv-verify)' | mlir-opt-22 --irdl-file=%tcconv_irdl | FileCheck %s --check-prefix=IR

// IR-LABEL: func.func @normalized
// IR: pre = [{k = array<f32: 4.850000e-01, 4.560000e-01, 4.060000e-01>, op = "sub"}, {k = array<f32: 2.290000e-01, 2.240000e-01, 2.250000e-01>, op = "div"}, {k = array<f32: 1.500000e+00>, op = "rsub"}]
// CHECK-LABEL: func.func @normalized
// CHECK: gpu.launch_func @kernels::@normalized_0_quantize {{.*}} args(%arg0 : memref<2x3x16x16xf32>, %arg1 : memref<2x9x9x16xi8>, %{{.*}} : memref<3xi32>, %{{.*}} : memref<3xi32>)
// CHECK: memref.global "private" constant @normalized_0_quantize_pre0 : memref<3xi32>
// CHECK: gpu.func @normalized_0_quantize(
// CHECK: memref.load %arg2
// CHECK: %[[S:.*]] = arith.subf %{{.*}}, %{{.*}} : f32
// CHECK: memref.load %arg3
// CHECK: %[[D:.*]] = arith.divf %[[S]], %{{.*}} : f32
// CHECK-NEXT: %[[R:.*]] = arith.subf %{{.*}}, %[[D]] : f32
// CHECK-NEXT: %[[Q:.*]] = arith.divf %[[R]], %{{.*}} : f32
// CHECK-NEXT: llvm.inline_asm asm_dialect = att "cvt.rni.f32.f32 $0, $1;", "=f,f" %[[Q]]
// CHECK-NOT: llvm.intr.fma
func.func @normalized(%arg0: memref<2x3x16x16xf32> {tcconv.dims = array<i64: 2, 3, 16, 16>, tcconv.elem = "f32", tcconv.layout = "NCHW"}, %arg1: memref<2x9x9x16xi8> {tcconv.dims = array<i64: 2, 16, 9, 9>, tcconv.elem = "ui8", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  "tcconv.quantize"(%arg0, %arg1) {mode = "divide", padding = array<i64: 1, 1, 1, 1>, padding_value = 7 : i64, pre = [{k = array<f32: 0.485, 0.456, 0.406>, op = "sub"}, {k = array<f32: 0.229, 0.224, 0.225>, op = "div"}, {k = array<f32: 1.5>, op = "rsub"}], scale = 5.000000e-01 : f32, space_to_depth = 2 : i64, zero_point = 7 : i64} : (memref<2x3x16x16xf32>, memref<2x9x9x16xi8>) -> ()
  return
}
