// tcconv ops parse, pass tcconv-verify, print, and parse again; upstream mlir-opt-22 accepts them.
// RUN: nibble-opt %s --pass-pipeline='builtin.module(tcconv-verify)' | nibble-opt | FileCheck %s
// RUN: nibble-opt %s | mlir-opt-22 --irdl-file=%tcconv_irdl | FileCheck %s

// CHECK-LABEL: func.func @residual_direct
// CHECK-SAME: tcconv.target = "sm_80"
func.func @residual_direct(%arg0: memref<4x4x16x8xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "ui4", tcconv.layout = "HWNC"}, %arg1: memref<4x4x16x64xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "i32", tcconv.layout = "HWNC"}, %arg2: memref<16x4x4x64xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "i32", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 2 : i64, tcconv.target = "sm_80"} {
  // CHECK: "tcconv.alloc"() {dims = array<i64: 16, 64, 4, 4>, elem = "i32", layout = "NHWC"} : () -> memref<16x4x4x64xi32>
  %0 = "tcconv.alloc"() {dims = array<i64: 16, 64, 4, 4>, elem = "i32", layout = "NHWC"} : () -> memref<16x4x4x64xi32>
  // CHECK: "tcconv.weight"() {dims = array<i64: 64, 64, 3, 3>, elem = "i4", name = "w.hwoi", packing = "hwoi", source = "w", source_layout = "OIHW"} : () -> memref<3x3x64x8xi32>
  %1 = "tcconv.weight"() {dims = array<i64: 64, 64, 3, 3>, elem = "i4", name = "w.hwoi", packing = "hwoi", source = "w", source_layout = "OIHW"} : () -> memref<3x3x64x8xi32>
  %2 = "tcconv.weight"() {dims = array<i64: 64, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<64xi32>
  // CHECK: "tcconv.relayout"(%arg1, %{{.*}}) : (memref<4x4x16x64xi32>, memref<16x4x4x64xi32>) -> ()
  "tcconv.relayout"(%arg1, %0) : (memref<4x4x16x64xi32>, memref<16x4x4x64xi32>) -> ()
  // CHECK: "tcconv.conv2d"(%arg0, %{{.*}}, %{{.*}}, %{{.*}}, %arg2) {a_type = "u4", b_type = "s4"{{.*}}epilogue = "residual", family = "staged"{{.*}}mma = array<i64: 16, 8, 64>{{.*}}operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0, 0>{{.*}}relu = true{{.*}}strategy = "direct"
  "tcconv.conv2d"(%arg0, %1, %2, %0, %arg2) {a_type = "u4", b_type = "s4", block_tile = array<i64: 32, 32, 128>, clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", family = "staged", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 64>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = true, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, rounding = "half_to_even", shift = array<i32: 20>, stages = 4 : i64, strategy = "direct", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = false, zero_point = 0 : i64} : (memref<4x4x16x8xi32>, memref<3x3x64x8xi32>, memref<64xi32>, memref<16x4x4x64xi32>, memref<16x4x4x64xi32>) -> ()
  return
}

// A conv whose epilogue also writes the requantize of its result (second_*) to a second output.
// CHECK-LABEL: func.func @residual_second_output
// CHECK: "tcconv.conv2d"(%arg0, %{{.*}}, %{{.*}}, %arg1, %arg2, %arg3) {{.*}}operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 0, 0, 0>{{.*}}second_clamp = array<i64: 0, 15>, second_multiplier = array<i32: 1342218220>, second_rounding = "half_up", second_shift = array<i32: 39>, second_zero_point = 0 : i64
// CHECK-SAME: (memref<4x4x16x8xi32>, memref<3x3x64x8xi32>, memref<64xi32>, memref<16x4x4x64xi32>, memref<16x4x4x64xi32>, memref<16x4x4x8xi32>) -> ()
func.func @residual_second_output(%arg0: memref<4x4x16x8xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "ui4", tcconv.layout = "HWNC"}, %arg1: memref<16x4x4x64xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "i32", tcconv.layout = "NHWC"}, %arg2: memref<16x4x4x64xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "i32", tcconv.layout = "NHWC"}, %arg3: memref<16x4x4x8xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 2 : i64, tcconv.target = "sm_80"} {
  %1 = "tcconv.weight"() {dims = array<i64: 64, 64, 3, 3>, elem = "i4", name = "w.hwoi", packing = "hwoi", source = "w", source_layout = "OIHW"} : () -> memref<3x3x64x8xi32>
  %2 = "tcconv.weight"() {dims = array<i64: 64, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<64xi32>
  "tcconv.conv2d"(%arg0, %1, %2, %arg1, %arg2, %arg3) {a_type = "u4", b_type = "s4", block_tile = array<i64: 32, 32, 128>, clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", family = "simple", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 64>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = true, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, rounding = "half_to_even", second_clamp = array<i64: 0, 15>, second_multiplier = array<i32: 1342218220>, second_rounding = "half_up", second_shift = array<i32: 39>, second_zero_point = 0 : i64, shift = array<i32: 20>, stages = 4 : i64, strategy = "direct", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = false, zero_point = 0 : i64} : (memref<4x4x16x8xi32>, memref<3x3x64x8xi32>, memref<64xi32>, memref<16x4x4x64xi32>, memref<16x4x4x64xi32>, memref<16x4x4x8xi32>) -> ()
  return
}

// The logits: a dense with its dequantize fused (per-class scales, f32 output), and a dequantize
// of its own with one scale per channel.
// CHECK-LABEL: func.func @dense_dequantize
// CHECK: "tcconv.dense"(%arg0, %{{.*}}, %arg1) {{{.*}}dequantize = array<f32: 5.000000e-01, 2.500000e-01, 1.250000e-01>, epilogue = "none"{{.*}} : (memref<4x20xi8>, memref<3x20xi8>, memref<4x3xf32>) -> ()
// CHECK: "tcconv.dequantize"(%arg2, %arg3) {scale = array<f32: 5.000000e-01, 2.500000e-01, 1.250000e-01>} : (memref<4x3xi32>, memref<4x3xf32>) -> ()
func.func @dense_dequantize(%arg0: memref<4x20xi8> {tcconv.dims = array<i64: 4, 20, 1, 1>, tcconv.elem = "i8", tcconv.layout = "NC"}, %arg1: memref<4x3xf32> {tcconv.dims = array<i64: 4, 3, 1, 1>, tcconv.elem = "f32", tcconv.layout = "NC"}, %arg2: memref<4x3xi32> {tcconv.dims = array<i64: 4, 3, 1, 1>, tcconv.elem = "i32", tcconv.layout = "NC"}, %arg3: memref<4x3xf32> {tcconv.dims = array<i64: 4, 3, 1, 1>, tcconv.elem = "f32", tcconv.layout = "NC"}) attributes {tcconv.num_inputs = 2 : i64, tcconv.target = "sm_80"} {
  %0 = "tcconv.weight"() {dims = array<i64: 3, 20, 1, 1>, elem = "i8", name = "fc.w.ok", packing = "ok", source = "fc.w", source_layout = "OIHW"} : () -> memref<3x20xi8>
  "tcconv.dense"(%arg0, %0, %arg1) {a_type = "s8", b_type = "s8", block_tile = array<i64: 32, 32, 64>, clamp = array<i64: -2147483648, 2147483647>, dequantize = array<f32: 0.5, 0.25, 0.125>, epilogue = "none", mma = array<i64: 16, 8, 32>, multiplier = array<i32>, relu = false, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32>, stages = 1 : i64, warp_tile = array<i64: 32, 32, 64>, widen = false, zero_point = 0 : i64} : (memref<4x20xi8>, memref<3x20xi8>, memref<4x3xf32>) -> ()
  "tcconv.dequantize"(%arg2, %arg3) {scale = array<f32: 0.5, 0.25, 0.125>} : (memref<4x3xi32>, memref<4x3xf32>) -> ()
  return
}

// A conv's i32 sum in narrow16 storage (the residual stream between convs): i16 values with
// exact escapes, 2 + 4 bytes a slot.
// CHECK-LABEL: func.func @narrow_stream
// CHECK: %[[S:.*]] = "tcconv.alloc"() {dims = array<i64: 16, 64, 4, 4>, elem = "i32", layout = "NHWC", storage = "narrow16"} : () -> memref<3x32768xi8>
// CHECK: "tcconv.conv2d"(%arg0, %{{.*}}, %{{.*}}, %arg1, %[[S]], %arg2)
func.func @narrow_stream(%arg0: memref<4x4x16x8xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "ui4", tcconv.layout = "HWNC"}, %arg1: memref<16x4x4x64xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "i32", tcconv.layout = "NHWC"}, %arg2: memref<16x4x4x8xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 2 : i64, tcconv.target = "sm_80"} {
  %stream = "tcconv.alloc"() {dims = array<i64: 16, 64, 4, 4>, elem = "i32", layout = "NHWC", storage = "narrow16"} : () -> memref<3x32768xi8>
  %1 = "tcconv.weight"() {dims = array<i64: 64, 64, 3, 3>, elem = "i4", name = "w.hwoi", packing = "hwoi", source = "w", source_layout = "OIHW"} : () -> memref<3x3x64x8xi32>
  %2 = "tcconv.weight"() {dims = array<i64: 64, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<64xi32>
  "tcconv.conv2d"(%arg0, %1, %2, %arg1, %stream, %arg2) {a_type = "u4", b_type = "s4", block_tile = array<i64: 32, 32, 128>, clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", family = "simple", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 64>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = true, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, rounding = "half_to_even", second_clamp = array<i64: 0, 15>, second_multiplier = array<i32: 1342218220>, second_rounding = "half_up", second_shift = array<i32: 39>, second_zero_point = 0 : i64, shift = array<i32: 20>, stages = 4 : i64, strategy = "direct", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = false, zero_point = 0 : i64} : (memref<4x4x16x8xi32>, memref<3x3x64x8xi32>, memref<64xi32>, memref<16x4x4x64xi32>, memref<3x32768xi8>, memref<16x4x4x8xi32>) -> ()
  return
}

// An average pool with its requantize fused: the pooled i32 value of each element is
// requantized (the elementwise requantize's attributes) into the output's type.
// CHECK-LABEL: func.func @pool_requantize
// CHECK: "tcconv.pool2d"(%arg0, %arg1) {clamp = array<i64: -128, 127>, kernel = array<i64: 7, 7>, kind = "avg", multiplier = array<i32: 1073741824, 1073741825, 1073741826>, padding = array<i64: 0, 0, 0, 0>, rounding = "half_to_even", shift = array<i32: 36, 36, 37>, strides = array<i64: 1, 1>, zero_point = 3 : i64} : (memref<5x7x7x3xi32>, memref<5x1x1x4xi8>) -> ()
func.func @pool_requantize(%arg0: memref<5x7x7x3xi32> {tcconv.dims = array<i64: 5, 3, 7, 7>, tcconv.elem = "i32", tcconv.layout = "NHWC"}, %arg1: memref<5x1x1x4xi8> {tcconv.dims = array<i64: 5, 3, 1, 1>, tcconv.elem = "i8", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  "tcconv.pool2d"(%arg0, %arg1) {clamp = array<i64: -128, 127>, kernel = array<i64: 7, 7>, kind = "avg", multiplier = array<i32: 1073741824, 1073741825, 1073741826>, padding = array<i64: 0, 0, 0, 0>, rounding = "half_to_even", shift = array<i32: 36, 36, 37>, strides = array<i64: 1, 1>, zero_point = 3 : i64} : (memref<5x7x7x3xi32>, memref<5x1x1x4xi8>) -> ()
  return
}

// A conv with a shortcut: the 1x1 conv of %arg1 (stride 2) is the residual, computed by the
// same kernel.
// CHECK-LABEL: func.func @shortcut_staged
// CHECK: "tcconv.conv2d"(%arg0, %{{.*}}, %{{.*}}, %arg2, %arg1, %{{.*}}, %{{.*}}) {{.*}}family = "staged"{{.*}}operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 1, 1, 1>{{.*}}shortcut_strides = array<i64: 2, 2>
func.func @shortcut_staged(%arg0: memref<2x5x5x8xi32> {tcconv.dims = array<i64: 2, 64, 5, 5>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg1: memref<2x10x10x4xi32> {tcconv.dims = array<i64: 2, 32, 10, 10>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg2: memref<2x5x5x2xi32> {tcconv.dims = array<i64: 2, 16, 5, 5>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 2 : i64, tcconv.target = "sm_80"} {
  %0 = "tcconv.weight"() {dims = array<i64: 16, 64, 1, 1>, elem = "i4", name = "w.ohwi", packing = "ohwi", source = "w", source_layout = "OIHW"} : () -> memref<16x1x1x8xi32>
  %1 = "tcconv.weight"() {dims = array<i64: 16, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<16xi32>
  %2 = "tcconv.weight"() {dims = array<i64: 16, 32, 1, 1>, elem = "i4", name = "sw.ohwi", packing = "ohwi", source = "sw", source_layout = "OIHW"} : () -> memref<16x1x1x4xi32>
  %3 = "tcconv.weight"() {dims = array<i64: 16, 1, 1, 1>, elem = "i32", name = "sb.bias", packing = "bias", source = "sb", source_layout = "OIHW"} : () -> memref<16xi32>
  "tcconv.conv2d"(%arg0, %0, %1, %arg2, %arg1, %2, %3) {a_type = "u4", b_type = "s4", block_tile = array<i64: 32, 32, 128>, clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", family = "staged", kernel = array<i64: 1, 1>, mma = array<i64: 16, 8, 64>, multiplier = array<i32: 1207959552>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 1, 1, 1>, padding = array<i64: 0, 0, 0, 0>, relu = true, residual_multiplier = array<i32: 1610612736>, residual_shift = array<i32: 31>, rounding = "half_to_even", shift = array<i32: 31>, shortcut_strides = array<i64: 2, 2>, stages = 1 : i64, strategy = "im2col", strides = array<i64: 1, 1>, then_clamp = array<i64: 0, 15>, then_multiplier = array<i32: 1315059792>, then_rounding = "half_to_even", then_shift = array<i32: 36>, then_zero_point = 0 : i64, warp_tile = array<i64: 32, 32, 128>, widen = false, zero_point = 0 : i64} : (memref<2x5x5x8xi32>, memref<16x1x1x8xi32>, memref<16xi32>, memref<2x5x5x2xi32>, memref<2x10x10x4xi32>, memref<16x1x1x4xi32>, memref<16xi32>) -> ()
  return
}

// A conv with its input quantize fused (input_* attributes): it reads the f32 input.
// CHECK-LABEL: func.func @fused_input_quantize
// CHECK: "tcconv.conv2d"(%arg0, {{.*}}family = "mma", input_elem = "i8", input_layout = "NHWC", input_mode = "divide", input_scale = 2.100000e-02 : f32, input_zero_point = 5 : i64
// CHECK-SAME: (memref<1x3x39x39xf32>, memref<16x7x7x4xi8>, memref<16xi32>, memref<1x20x20x2xi32>) -> ()
func.func @fused_input_quantize(%arg0: memref<1x3x39x39xf32> {tcconv.dims = array<i64: 1, 3, 39, 39>, tcconv.elem = "f32", tcconv.layout = "NCHW"}, %arg1: memref<1x20x20x2xi32> {tcconv.dims = array<i64: 1, 16, 20, 20>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  %0 = "tcconv.weight"() {dims = array<i64: 16, 3, 7, 7>, elem = "i8", name = "w.ohwi", packing = "ohwi", source = "w", source_layout = "OIHW"} : () -> memref<16x7x7x4xi8>
  %1 = "tcconv.weight"() {dims = array<i64: 16, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<16xi32>
  "tcconv.conv2d"(%arg0, %0, %1, %arg1) {a_type = "s8", b_type = "s8", block_tile = array<i64: 32, 32, 64>, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "mma", input_elem = "i8", input_layout = "NHWC", input_mode = "divide", input_scale = 2.100000e-02 : f32, input_zero_point = 5 : i64, kernel = array<i64: 7, 7>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1518500250>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 0, 0, 0>, padding = array<i64: 3, 3, 3, 3>, relu = true, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 40>, stages = 4 : i64, strategy = "im2col", strides = array<i64: 2, 2>, warp_tile = array<i64: 32, 32, 64>, widen = false, zero_point = 0 : i64} : (memref<1x3x39x39xf32>, memref<16x7x7x4xi8>, memref<16xi32>, memref<1x20x20x2xi32>) -> ()
  return
}

// CHECK-LABEL: func.func @concat
// CHECK: "tcconv.concat"(%arg0, %arg1, %arg2) : (memref<2x3x3x1xi32>, memref<2x3x3x2xi32>, memref<2x3x3x2xi32>) -> ()
func.func @concat(%arg0: memref<2x3x3x1xi32> {tcconv.dims = array<i64: 2, 5, 3, 3>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg1: memref<2x3x3x2xi32> {tcconv.dims = array<i64: 2, 11, 3, 3>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg2: memref<2x3x3x2xi32> {tcconv.dims = array<i64: 2, 16, 3, 3>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 2 : i64, tcconv.target = "sm_80"} {
  "tcconv.concat"(%arg0, %arg1, %arg2) : (memref<2x3x3x1xi32>, memref<2x3x3x2xi32>, memref<2x3x3x2xi32>) -> ()
  return
}

// CHECK-LABEL: func.func @mul_and_lookup
// CHECK: "tcconv.elementwise"(%arg0, %arg1, %arg2) {{{.*}}kind = "mul"
// CHECK: "tcconv.elementwise"(%arg3, %arg4) {{{.*}}kind = "lookup"{{.*}}table = array<i32: 200, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15>
func.func @mul_and_lookup(%arg0: memref<2x5x5x8xi8> {tcconv.dims = array<i64: 2, 6, 5, 5>, tcconv.elem = "i8", tcconv.layout = "NHWC"}, %arg1: memref<2x1x1x8xi8> {tcconv.dims = array<i64: 2, 6, 1, 1>, tcconv.elem = "ui8", tcconv.layout = "NHWC"}, %arg2: memref<2x5x5x6xi32> {tcconv.dims = array<i64: 2, 6, 5, 5>, tcconv.elem = "i32", tcconv.layout = "NHWC"}, %arg3: memref<2x5x5x1xi32> {tcconv.dims = array<i64: 2, 6, 5, 5>, tcconv.elem = "i4", tcconv.layout = "NHWC"}, %arg4: memref<2x5x5x8xi8> {tcconv.dims = array<i64: 2, 6, 5, 5>, tcconv.elem = "ui8", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 4 : i64, tcconv.target = "sm_80"} {
  "tcconv.elementwise"(%arg0, %arg1, %arg2) {clamp = array<i64: -2147483648, 2147483647>, kind = "mul", multiplier = array<i32>, rhs_multiplier = array<i32>, rhs_shift = array<i32>, rounding = "half_to_even", shift = array<i32>, zero_point = 0 : i64} : (memref<2x5x5x8xi8>, memref<2x1x1x8xi8>, memref<2x5x5x6xi32>) -> ()
  "tcconv.elementwise"(%arg3, %arg4) {clamp = array<i64: -2147483648, 2147483647>, kind = "lookup", multiplier = array<i32>, rhs_multiplier = array<i32>, rhs_shift = array<i32>, rounding = "half_to_even", shift = array<i32>, table = array<i32: 200, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15>, zero_point = 0 : i64} : (memref<2x5x5x1xi32>, memref<2x5x5x8xi8>) -> ()
  return
}
