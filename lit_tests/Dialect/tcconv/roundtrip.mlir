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
  // CHECK: "tcconv.conv2d"(%arg0, %{{.*}}, %{{.*}}, %{{.*}}, %arg2) {a_type = "u4", b_type = "s4", block_tile = array<i64: 32, 32, 128>, blocks_per_sm = 2 : i64{{.*}}epilogue = "residual", family = "staged"{{.*}}mma = array<i64: 16, 8, 64>{{.*}}operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0, 0>{{.*}}relu = true{{.*}}strategy = "direct"
  "tcconv.conv2d"(%arg0, %1, %2, %0, %arg2) {a_type = "u4", b_type = "s4", block_tile = array<i64: 32, 32, 128>, blocks_per_sm = 2 : i64, clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", family = "staged", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 64>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = true, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, rounding = "half_to_even", shift = array<i32: 20>, stages = 4 : i64, strategy = "direct", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = false, zero_point = 0 : i64} : (memref<4x4x16x8xi32>, memref<3x3x64x8xi32>, memref<64xi32>, memref<16x4x4x64xi32>, memref<16x4x4x64xi32>) -> ()
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

// A dense layer with its global pool fused: it reads the 3 x 3 map, pools (average, requantized
// to i8) and splits the 20 channels across 3 blocks.
// CHECK-LABEL: func.func @dense_pool
// CHECK: "tcconv.dense"(%arg0, %{{.*}}, %{{.*}}, %arg1) {{{.*}}pool = "avg", pool_clamp = array<i64: -128, 127>, pool_elem = "i8", pool_multiplier = array<i32: 1073741824>, pool_rounding = "half_to_even", pool_shift = array<i32: 36>, pool_split = 3 : i64, pool_zero_point = 0 : i64{{.*}} : (memref<2x3x3x20xi32>, memref<5x20xi8>, memref<5xi32>, memref<2x5xf32>) -> ()
func.func @dense_pool(%arg0: memref<2x3x3x20xi32> {tcconv.dims = array<i64: 2, 20, 3, 3>, tcconv.elem = "i32", tcconv.layout = "NHWC"}, %arg1: memref<2x5xf32> {tcconv.dims = array<i64: 2, 5, 1, 1>, tcconv.elem = "f32", tcconv.layout = "NC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_80"} {
  %0 = "tcconv.weight"() {dims = array<i64: 5, 20, 1, 1>, elem = "i8", name = "w.ok", packing = "ok", source = "w", source_layout = "OIHW"} : () -> memref<5x20xi8>
  %1 = "tcconv.weight"() {dims = array<i64: 5, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<5xi32>
  "tcconv.dense"(%arg0, %0, %1, %arg1) {a_type = "s8", b_type = "s8", block_tile = array<i64: 32, 32, 64>, clamp = array<i64: -2147483648, 2147483647>, dequantize = array<f32: 1.250000e-01>, epilogue = "none", mma = array<i64: 16, 8, 32>, multiplier = array<i32>, pool = "avg", pool_clamp = array<i64: -128, 127>, pool_elem = "i8", pool_multiplier = array<i32: 1073741824>, pool_rounding = "half_to_even", pool_shift = array<i32: 36>, pool_split = 3 : i64, pool_zero_point = 0 : i64, relu = false, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32>, stages = 1 : i64, warp_tile = array<i64: 32, 32, 64>, widen = false, zero_point = 0 : i64} : (memref<2x3x3x20xi32>, memref<5x20xi8>, memref<5xi32>, memref<2x5xf32>) -> ()
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

// A max pool with a second output: the pooled i16 map, and its requantize to 4 bits (the
// elementwise requantize's attributes, named second_*) written by the same kernel.
// CHECK-LABEL: func.func @pool_second_output
// CHECK: "tcconv.pool2d"(%arg0, %arg1, %arg2) {kernel = array<i64: 3, 3>, kind = "max", padding = array<i64: 1, 1, 1, 1>, second_clamp = array<i64: 0, 15>, second_multiplier = array<i32: 1344146273>, second_rounding = "half_to_even", second_shift = array<i32: 41>, second_zero_point = 0 : i64, strides = array<i64: 2, 2>} : (memref<2x9x9x16xi32>, memref<2x5x5x16xi32>, memref<2x5x5x2xi32>) -> ()
func.func @pool_second_output(%arg0: memref<2x9x9x16xi32> {tcconv.dims = array<i64: 2, 16, 9, 9>, tcconv.elem = "i16", tcconv.layout = "NHWC"}, %arg1: memref<2x5x5x16xi32> {tcconv.dims = array<i64: 2, 16, 5, 5>, tcconv.elem = "i16", tcconv.layout = "NHWC"}, %arg2: memref<2x5x5x2xi32> {tcconv.dims = array<i64: 2, 16, 5, 5>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  "tcconv.pool2d"(%arg0, %arg1, %arg2) {kernel = array<i64: 3, 3>, kind = "max", padding = array<i64: 1, 1, 1, 1>, second_clamp = array<i64: 0, 15>, second_multiplier = array<i32: 1344146273>, second_rounding = "half_to_even", second_shift = array<i32: 41>, second_zero_point = 0 : i64, strides = array<i64: 2, 2>} : (memref<2x9x9x16xi32>, memref<2x5x5x16xi32>, memref<2x5x5x2xi32>) -> ()
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

// The same conv whose kernel adds the residual sum in 32 bits where its bound holds.
// CHECK-LABEL: func.func @shortcut_bounded_sum
// CHECK: "tcconv.conv2d"{{.*}}bounded_sum = true{{.*}}shortcut_strides = array<i64: 2, 2>
func.func @shortcut_bounded_sum(%arg0: memref<2x5x5x8xi32> {tcconv.dims = array<i64: 2, 64, 5, 5>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg1: memref<2x10x10x4xi32> {tcconv.dims = array<i64: 2, 32, 10, 10>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg2: memref<2x5x5x2xi32> {tcconv.dims = array<i64: 2, 16, 5, 5>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 2 : i64, tcconv.target = "sm_80"} {
  %0 = "tcconv.weight"() {dims = array<i64: 16, 64, 1, 1>, elem = "i4", name = "w.ohwi", packing = "ohwi", source = "w", source_layout = "OIHW"} : () -> memref<16x1x1x8xi32>
  %1 = "tcconv.weight"() {dims = array<i64: 16, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<16xi32>
  %2 = "tcconv.weight"() {dims = array<i64: 16, 32, 1, 1>, elem = "i4", name = "sw.ohwi", packing = "ohwi", source = "sw", source_layout = "OIHW"} : () -> memref<16x1x1x4xi32>
  %3 = "tcconv.weight"() {dims = array<i64: 16, 1, 1, 1>, elem = "i32", name = "sb.bias", packing = "bias", source = "sb", source_layout = "OIHW"} : () -> memref<16xi32>
  "tcconv.conv2d"(%arg0, %0, %1, %arg2, %arg1, %2, %3) {a_type = "u4", b_type = "s4", block_tile = array<i64: 32, 32, 128>, bounded_sum = true, clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", family = "staged", kernel = array<i64: 1, 1>, mma = array<i64: 16, 8, 64>, multiplier = array<i32: 1207959552>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 1, 1, 1>, padding = array<i64: 0, 0, 0, 0>, relu = true, residual_multiplier = array<i32: 1610612736>, residual_shift = array<i32: 31>, rounding = "half_to_even", shift = array<i32: 31>, shortcut_strides = array<i64: 2, 2>, stages = 1 : i64, strategy = "im2col", strides = array<i64: 1, 1>, then_clamp = array<i64: 0, 15>, then_multiplier = array<i32: 1315059792>, then_rounding = "half_to_even", then_shift = array<i32: 36>, then_zero_point = 0 : i64, warp_tile = array<i64: 32, 32, 128>, widen = false, zero_point = 0 : i64} : (memref<2x5x5x8xi32>, memref<16x1x1x8xi32>, memref<16xi32>, memref<2x5x5x2xi32>, memref<2x10x10x4xi32>, memref<16x1x1x4xi32>, memref<16xi32>) -> ()
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

// An f32 average pool (qnn.avg_pool2d_f32, ONNX Runtime's QLinearAveragePool).
// CHECK-LABEL: func.func @pool_f32_average
// CHECK: "tcconv.pool2d"(%arg0, %arg1) {count_include_pad = true, input_scale = 2.500000e-02 : f32, input_zero_point = 128 : i64, kernel = array<i64: 3, 3>, kind = "avg_f32", output_scale = 1.250000e-02 : f32, output_zero_point = -3 : i64, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (memref<2x9x9x4xi8>, memref<2x5x5x4xi8>) -> ()
func.func @pool_f32_average(%arg0: memref<2x9x9x4xi8> {tcconv.dims = array<i64: 2, 4, 9, 9>, tcconv.elem = "ui8", tcconv.layout = "NHWC"}, %arg1: memref<2x5x5x4xi8> {tcconv.dims = array<i64: 2, 4, 5, 5>, tcconv.elem = "i8", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  "tcconv.pool2d"(%arg0, %arg1) {count_include_pad = true, input_scale = 2.500000e-02 : f32, input_zero_point = 128 : i64, kernel = array<i64: 3, 3>, kind = "avg_f32", output_scale = 1.250000e-02 : f32, output_zero_point = -3 : i64, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (memref<2x9x9x4xi8>, memref<2x5x5x4xi8>) -> ()
  return
}

// qnn.softmax (ONNX Runtime's QLinearSoftmax) over the rows of an N x C buffer.
// CHECK-LABEL: func.func @softmax
// CHECK: "tcconv.softmax"(%arg0, %arg1) {scale = 2.560000e+02 : f32, table = array<f32: 2.902320e-06, {{.*}}>, zero_point = 0 : i64} : (memref<3x12xi8>, memref<3x12xi8>) -> ()
func.func @softmax(%arg0: memref<3x12xi8> {tcconv.dims = array<i64: 3, 10, 1, 1>, tcconv.elem = "i8", tcconv.layout = "NC"}, %arg1: memref<3x12xi8> {tcconv.dims = array<i64: 3, 10, 1, 1>, tcconv.elem = "ui8", tcconv.layout = "NC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  "tcconv.softmax"(%arg0, %arg1) {scale = 2.560000e+02 : f32, table = array<f32: 2.902320e-06, 3.05112599E-6, 3.207560e-06, 3.37201504E-6, 3.54490203E-6, 3.72665295E-6, 3.91772301E-6, 4.118589E-6, 4.32975321E-6, 4.55174404E-6, 4.7851172E-6, 5.03045612E-6, 5.2883729E-6, 5.55951283E-6, 5.8445562E-6, 6.14421197E-6, 6.45923319E-6, 6.79040522E-6, 7.13855615E-6, 7.5045582E-6, 7.88932539E-6, 8.29381861E-6, 8.71905194E-6, 9.16608769E-6, 9.6360427E-6, 1.01300902E-5, 1.06494699E-5, 1.11954796E-5, 1.17694899E-5, 1.23729196E-5, 1.300730e-05, 1.367420e-05, 1.43752904E-5, 1.51123204E-5, 1.58871499E-5, 1.670170e-05, 1.75580208E-5, 1.84582295E-5, 1.94046097E-5, 2.039950e-05, 2.14454103E-5, 2.25449403E-5, 2.37008408E-5, 2.49160094E-5, 2.61934802E-5, 2.75364491E-5, 2.89482705E-5, 3.04324803E-5, 3.19927894E-5, 3.363310e-05, 3.535750e-05, 3.71703209E-5, 3.90760797E-5, 4.10795583E-5, 4.31857516E-5, 4.5399931E-5, 4.77276299E-5, 5.01746799E-5, 5.27471893E-5, 5.545160e-05, 5.82946595E-5, 6.128350e-05, 6.44255706E-5, 6.77287389E-5, 7.12012624E-5, 7.48518286E-5, 7.86895689E-5, 8.27240728E-5, 8.69654177E-5, 9.14242264E-5, 9.61116529E-5, 1.01039397E-4, 1.06219799E-4, 1.11665802E-4, 1.173910e-04, 1.23409802E-4, 1.29737193E-4, 1.36388902E-4, 1.43381694E-4, 1.50733104E-4, 1.58461306E-4, 1.665858E-4, 1.75126799E-4, 1.84105797E-4, 1.935451E-4, 2.034684E-4, 2.13900406E-4, 2.24867297E-4, 2.36396503E-4, 2.48516793E-4, 2.61258596E-4, 2.74653605E-4, 2.88735406E-4, 3.03539098E-4, 3.19101906E-4, 3.35462595E-4, 3.52662202E-4, 3.7074351E-4, 3.897520e-04, 4.097350e-04, 4.30742512E-4, 4.52827197E-4, 4.76044108E-4, 5.00451424E-4, 5.26110118E-4, 5.53084421E-4, 5.81441622E-4, 6.11252792E-4, 6.42592378E-4, 6.75538788E-4, 7.10174383E-4, 7.46585777E-4, 7.84864125E-4, 8.25104885E-4, 8.674090e-04, 9.118820e-04, 9.58635181E-4, 0.00100778497, 0.00105945603, 0.00111377495, 1.170880e-03, 0.00123091205, 0.00129402196, 0.00136036798, 0.00143011601, 0.00150343904, 0.00158052205, 0.00166155701, 0.00174674694, 0.00183630502, 0.00193045405, 0.00202943105, 0.0021334819, 0.00224286807, 0.00235786196, 0.00247875205, 0.00260584103, 0.00273944507, 0.002879899, 0.00302755507, 0.00318278093, 0.00334596494, 0.00351751689, 0.00369786401, 0.00388745707, 0.00408677105, 0.00429630512, 0.00451658107, 0.00474815117, 0.00499159377, 0.00524751795, 0.00551656401, 0.00579940481, 0.00609674677, 0.00640933309, 0.006737947, 0.007083409, 0.00744658289, 0.00782837812, 0.00822974741, 0.00865169521, 0.00909527671, 0.00956160202, 0.01005184, 1.056720e-02, 1.110900e-02, 0.01167857, 0.0122773396, 0.0129068103, 0.0135685597, 0.0142642297, 0.0149955796, 0.0157644209, 0.0165726803, 0.0174223706, 0.0183156393, 1.925470e-02, 0.0202419106, 0.0212797392, 0.0223707706, 0.0235177502, 0.0247235298, 0.0259911306, 0.0273237191, 0.0287246406, 0.0301973801, 0.0317456387, 0.0333732702, 0.0350843482, 0.0368831716, 0.038774211, 4.076220e-02, 0.0428521298, 4.504920e-02, 0.0473589189, 0.0497870706, 0.0523397103, 0.0550232194, 0.0578443184, 0.0608100593, 0.063927859, 0.067205511, 0.0706512108, 0.0742735788, 0.0780816674, 8.208500e-02, 0.086293593, 0.0907179489, 0.0953691601, 0.100258797, 0.105399199, 0.110803202, 0.116484202, 0.122456402, 0.128734902, 0.135335296, 0.142274097, 0.149568602, 0.157237202, 0.165298894, 0.1737739, 0.182683498, 0.192049906, 0.201896504, 2.122480e-01, 0.223130196, 0.234570295, 2.465970e-01, 0.259240299, 0.272531807, 0.286504805, 0.301194191, 0.316636801, 0.332871109, 0.349937707, 0.367879391, 3.867410e-01, 0.40656969, 0.427414894, 4.493290e-01, 0.472366601, 0.49658531, 0.522045791, 0.548811615, 0.576949775, 0.606530725, 0.637628198, 0.670319974, 0.704688072, 0.740818202, 0.778800785, 0.818730771, 8.607080e-01, 0.904837429, 0.951229393, 1.000000e+00>, zero_point = 0 : i64} : (memref<3x12xi8>, memref<3x12xi8>) -> ()
  return
}

// qnn.gather_channels on packed 4-bit NHWC buffers: a shuffle, then a slice of it.
// CHECK-LABEL: func.func @gathered
// CHECK: "tcconv.gather_channels"(%arg0, %0) {indices = array<i32: 0, 3, 1, 4, 2, 5>} : (memref<2x3x3x1xi32>, memref<2x3x3x1xi32>) -> ()
// CHECK: "tcconv.gather_channels"(%0, %arg1) {indices = array<i32: 4, 5>} : (memref<2x3x3x1xi32>, memref<2x3x3x1xi32>) -> ()
func.func @gathered(%arg0: memref<2x3x3x1xi32> {tcconv.dims = array<i64: 2, 6, 3, 3>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg1: memref<2x3x3x1xi32> {tcconv.dims = array<i64: 2, 2, 3, 3>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  %0 = "tcconv.alloc"() {dims = array<i64: 2, 6, 3, 3>, elem = "ui4", layout = "NHWC"} : () -> memref<2x3x3x1xi32>
  "tcconv.gather_channels"(%arg0, %0) {indices = array<i32: 0, 3, 1, 4, 2, 5>} : (memref<2x3x3x1xi32>, memref<2x3x3x1xi32>) -> ()
  "tcconv.gather_channels"(%0, %arg1) {indices = array<i32: 4, 5>} : (memref<2x3x3x1xi32>, memref<2x3x3x1xi32>) -> ()
  return
}

// a stem conv with its max pool: the output is the pooled map
// CHECK-LABEL: func.func @stem_pool
// CHECK: "tcconv.conv2d"(%arg0, %{{.*}}, %{{.*}}, %arg1) {{{.*}}family = "mma", {{.*}}pool_kernel = array<i64: 3, 3>, pool_padding = array<i64: 1, 1, 1, 1>, pool_strides = array<i64: 2, 2>{{.*}} : (memref<1x39x39x4xi8>, memref<16x7x7x4xi8>, memref<16xi32>, memref<1x10x10x2xi32>) -> ()
func.func @stem_pool(%arg0: memref<1x39x39x4xi8> {tcconv.dims = array<i64: 1, 3, 39, 39>, tcconv.elem = "i8", tcconv.layout = "NHWC"}, %arg1: memref<1x10x10x2xi32> {tcconv.dims = array<i64: 1, 16, 10, 10>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  %1 = "tcconv.weight"() {dims = array<i64: 16, 3, 7, 7>, elem = "i8", name = "w.ohwi", packing = "ohwi", source = "w", source_layout = "OIHW"} : () -> memref<16x7x7x4xi8>
  %2 = "tcconv.weight"() {dims = array<i64: 16, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<16xi32>
  "tcconv.conv2d"(%arg0, %1, %2, %arg1) {a_type = "s8", b_type = "s8", block_tile = array<i64: 32, 32, 64>, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "mma", kernel = array<i64: 7, 7>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1518500250>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 0, 0, 0>, padding = array<i64: 3, 3, 3, 3>, pool_kernel = array<i64: 3, 3>, pool_padding = array<i64: 1, 1, 1, 1>, pool_strides = array<i64: 2, 2>, relu = true, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 40>, stages = 4 : i64, strategy = "im2col", strides = array<i64: 2, 2>, warp_tile = array<i64: 32, 32, 64>, widen = false, zero_point = 0 : i64} : (memref<1x39x39x4xi8>, memref<16x7x7x4xi8>, memref<16xi32>, memref<1x10x10x2xi32>) -> ()
  return
}

// Two consecutive convs of one chain: one kernel over thread-block clusters (sm_90a).
// CHECK-LABEL: func.func @chain_of_residual_and_1x1
// CHECK: "tcconv.conv2d"{{.*}}chain = 0 : i64{{.*}}epilogue = "residual"
// CHECK-NEXT: "tcconv.conv2d"{{.*}}chain = 0 : i64{{.*}}epilogue = "requantize"
func.func @chain_of_residual_and_1x1(%arg0: memref<2x8x8x8xi32> {tcconv.dims = array<i64: 2, 64, 8, 8>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg1: memref<2x8x8x256xi32> {tcconv.dims = array<i64: 2, 256, 8, 8>, tcconv.elem = "i32", tcconv.layout = "NHWC"}, %arg2: memref<2x8x8x256xi32> {tcconv.dims = array<i64: 2, 256, 8, 8>, tcconv.elem = "i32", tcconv.layout = "NHWC"}, %arg3: memref<2x8x8x8xi32> {tcconv.dims = array<i64: 2, 64, 8, 8>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 2 : i64, tcconv.target = "sm_90a"} {
  %0 = "tcconv.alloc"() {dims = array<i64: 2, 256, 8, 8>, elem = "ui4", layout = "NHWC"} : () -> memref<2x8x8x32xi32>
  %1 = "tcconv.weight"() {dims = array<i64: 256, 64, 1, 1>, elem = "i4", name = "w.ohwi", packing = "ohwi", source = "w", source_layout = "OIHW"} : () -> memref<256x1x1x8xi32>
  %2 = "tcconv.weight"() {dims = array<i64: 256, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<256xi32>
  %3 = "tcconv.weight"() {dims = array<i64: 64, 256, 1, 1>, elem = "i4", name = "w2.ohwi", packing = "ohwi", source = "w2", source_layout = "OIHW"} : () -> memref<64x1x1x32xi32>
  %4 = "tcconv.weight"() {dims = array<i64: 64, 1, 1, 1>, elem = "i32", name = "b2.bias", packing = "bias", source = "b2", source_layout = "OIHW"} : () -> memref<64xi32>
  "tcconv.conv2d"(%arg0, %1, %2, %arg1, %arg2, %0) {a_type = "u8", b_type = "s8", block_tile = array<i64: 32, 32, 128>, chain = 0 : i64, clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", family = "staged", kernel = array<i64: 1, 1>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 0, 0, 0>, padding = array<i64: 0, 0, 0, 0>, relu = true, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, rounding = "half_to_even", second_clamp = array<i64: 0, 15>, second_multiplier = array<i32: 1342218220>, second_rounding = "half_to_even", second_shift = array<i32: 39>, second_zero_point = 0 : i64, shift = array<i32: 20>, stages = 1 : i64, strategy = "im2col", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = true, zero_point = 0 : i64} : (memref<2x8x8x8xi32>, memref<256x1x1x8xi32>, memref<256xi32>, memref<2x8x8x256xi32>, memref<2x8x8x256xi32>, memref<2x8x8x32xi32>) -> ()
  "tcconv.conv2d"(%0, %3, %4, %arg3) {a_type = "u8", b_type = "s8", block_tile = array<i64: 32, 32, 128>, chain = 0 : i64, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "staged", kernel = array<i64: 1, 1>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1342218220>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 0, 0, 0>, padding = array<i64: 0, 0, 0, 0>, relu = true, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 36>, stages = 2 : i64, strategy = "im2col", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = true, zero_point = 0 : i64} : (memref<2x8x8x32xi32>, memref<64x1x1x32xi32>, memref<64xi32>, memref<2x8x8x8xi32>) -> ()
  return
}

// A 4-bit weight stored widened (one byte a value) for the wgmma kernel.
// CHECK-LABEL: func.func @widened_weight
// CHECK: "tcconv.weight"() {dims = array<i64: 256, 64, 3, 3>, elem = "i4", name = "w.hwoi_w8", packing = "hwoi", source = "w", source_layout = "OIHW", widened = true} : () -> memref<3x3x256x64xi8>
// CHECK: family = "wgmma"
func.func @widened_weight(%arg0: memref<16x16x16x8xi32> {tcconv.dims = array<i64: 16, 64, 16, 16>, tcconv.elem = "ui4", tcconv.layout = "HWNC"}, %arg1: memref<16x16x16x32xi32> {tcconv.dims = array<i64: 16, 256, 16, 16>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90a"} {
  %0 = "tcconv.weight"() {dims = array<i64: 256, 64, 3, 3>, elem = "i4", name = "w.hwoi_w8", packing = "hwoi", source = "w", source_layout = "OIHW", widened = true} : () -> memref<3x3x256x64xi8>
  "tcconv.conv2d"(%arg0, %0, %arg1) {a_type = "u8", b_type = "s8", block_tile = array<i64: 64, 128, 128>, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "wgmma", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 0, 0, 1, 0, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = false, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 34>, stages = 4 : i64, strategy = "direct", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = true, zero_point = 0 : i64} : (memref<16x16x16x8xi32>, memref<3x3x256x64xi8>, memref<16x16x16x32xi32>) -> ()
  return
}

// ... and laid out in the kernel's stage tiles.
// CHECK-LABEL: func.func @tiled_weight
// CHECK: "tcconv.weight"() {dims = array<i64: 256, 64, 3, 3>, elem = "i4", name = "w.hwoi_w8t", packing = "hwoi", source = "w", source_layout = "OIHW", tiles = array<i64: 128, 128>, widened = true} : () -> memref<2x5x128x128xi8>
func.func @tiled_weight(%arg0: memref<16x16x16x8xi32> {tcconv.dims = array<i64: 16, 64, 16, 16>, tcconv.elem = "ui4", tcconv.layout = "HWNC"}, %arg1: memref<16x16x16x32xi32> {tcconv.dims = array<i64: 16, 256, 16, 16>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90a"} {
  %0 = "tcconv.weight"() {dims = array<i64: 256, 64, 3, 3>, elem = "i4", name = "w.hwoi_w8t", packing = "hwoi", source = "w", source_layout = "OIHW", tiles = array<i64: 128, 128>, widened = true} : () -> memref<2x5x128x128xi8>
  "tcconv.conv2d"(%arg0, %0, %arg1) {a_type = "u8", b_type = "s8", block_tile = array<i64: 64, 128, 128>, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "wgmma", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 0, 0, 1, 0, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = false, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 34>, stages = 4 : i64, strategy = "direct", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = true, zero_point = 0 : i64} : (memref<16x16x16x8xi32>, memref<2x5x128x128xi8>, memref<16x16x16x32xi32>) -> ()
  return
}
