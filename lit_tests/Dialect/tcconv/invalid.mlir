// RUN: nibble-opt %s --split-input-file --verify-diagnostics --pass-pipeline='builtin.module(tcconv-verify)'

func.func @direct_reads_nhwc(%arg0: memref<16x4x4x8xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg1: memref<4x4x16x64xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "i32", tcconv.layout = "HWNC"}, %arg2: memref<16x4x4x64xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "i32", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 2 : i64, tcconv.target = "sm_80"} {
  %0 = "tcconv.alloc"() {dims = array<i64: 16, 64, 4, 4>, elem = "i32", layout = "NHWC"} : () -> memref<16x4x4x64xi32>
  %1 = "tcconv.weight"() {dims = array<i64: 64, 64, 3, 3>, elem = "i4", name = "w.hwoi", packing = "hwoi", source = "w", source_layout = "OIHW"} : () -> memref<3x3x64x8xi32>
  %2 = "tcconv.weight"() {dims = array<i64: 64, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<64xi32>
  "tcconv.relayout"(%arg1, %0) : (memref<4x4x16x64xi32>, memref<16x4x4x64xi32>) -> ()
  // expected-error @+1 {{strategy direct reads HWNC input, the input buffer is NHWC}}
  "tcconv.conv2d"(%arg0, %1, %2, %0, %arg2) {a_type = "u4", b_type = "s4", block_tile = array<i64: 32, 32, 128>, clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", family = "simple", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 64>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = true, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, rounding = "half_to_even", shift = array<i32: 20>, stages = 4 : i64, strategy = "direct", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = false, zero_point = 0 : i64} : (memref<16x4x4x8xi32>, memref<3x3x64x8xi32>, memref<64xi32>, memref<16x4x4x64xi32>, memref<16x4x4x64xi32>) -> ()
  return
}

// -----

func.func @wrong_mma_for_target(%arg0: memref<4x4x16x8xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "ui4", tcconv.layout = "HWNC"}, %arg1: memref<4x4x16x64xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "i32", tcconv.layout = "HWNC"}, %arg2: memref<16x4x4x64xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "i32", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 2 : i64, tcconv.target = "sm_80"} {
  %0 = "tcconv.alloc"() {dims = array<i64: 16, 64, 4, 4>, elem = "i32", layout = "NHWC"} : () -> memref<16x4x4x64xi32>
  %1 = "tcconv.weight"() {dims = array<i64: 64, 64, 3, 3>, elem = "i4", name = "w.hwoi", packing = "hwoi", source = "w", source_layout = "OIHW"} : () -> memref<3x3x64x8xi32>
  %2 = "tcconv.weight"() {dims = array<i64: 64, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<64xi32>
  "tcconv.relayout"(%arg1, %0) : (memref<4x4x16x64xi32>, memref<16x4x4x64xi32>) -> ()
  // expected-error @+1 {{sm_80 runs 16x8x64 ui4/i4 MMA (widen false) for ui4 x i4, found 16x8x32}}
  "tcconv.conv2d"(%arg0, %1, %2, %0, %arg2) {a_type = "u4", b_type = "s4", block_tile = array<i64: 32, 32, 128>, clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", family = "simple", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = true, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, rounding = "half_to_even", shift = array<i32: 20>, stages = 4 : i64, strategy = "direct", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = false, zero_point = 0 : i64} : (memref<4x4x16x8xi32>, memref<3x3x64x8xi32>, memref<64xi32>, memref<16x4x4x64xi32>, memref<16x4x4x64xi32>) -> ()
  return
}

// -----

func.func @clamp_exceeds_output(%arg0: memref<4x4x16x8xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "ui4", tcconv.layout = "HWNC"}, %arg1: memref<4x4x16x64xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "i32", tcconv.layout = "HWNC"}, %arg2: memref<16x4x4x64xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "i32", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 2 : i64, tcconv.target = "sm_80"} {
  %0 = "tcconv.alloc"() {dims = array<i64: 16, 64, 4, 4>, elem = "i32", layout = "NHWC"} : () -> memref<16x4x4x64xi32>
  %1 = "tcconv.weight"() {dims = array<i64: 64, 64, 3, 3>, elem = "i4", name = "w.hwoi", packing = "hwoi", source = "w", source_layout = "OIHW"} : () -> memref<3x3x64x8xi32>
  %2 = "tcconv.weight"() {dims = array<i64: 64, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<64xi32>
  "tcconv.relayout"(%arg1, %0) : (memref<4x4x16x64xi32>, memref<16x4x4x64xi32>) -> ()
  // expected-error @+1 {{clamp [-2147483648, 4294967296] is empty or exceeds the output's i32 range}}
  "tcconv.conv2d"(%arg0, %1, %2, %0, %arg2) {a_type = "u4", b_type = "s4", block_tile = array<i64: 32, 32, 128>, clamp = array<i64: -2147483648, 4294967296>, epilogue = "residual", family = "simple", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 64>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = true, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, rounding = "half_to_even", shift = array<i32: 20>, stages = 4 : i64, strategy = "direct", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = false, zero_point = 0 : i64} : (memref<4x4x16x8xi32>, memref<3x3x64x8xi32>, memref<64xi32>, memref<16x4x4x64xi32>, memref<16x4x4x64xi32>) -> ()
  return
}

// -----

func.func @unknown_strategy(%arg0: memref<4x4x16x8xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "ui4", tcconv.layout = "HWNC"}, %arg1: memref<4x4x16x64xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "i32", tcconv.layout = "HWNC"}, %arg2: memref<16x4x4x64xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "i32", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 2 : i64, tcconv.target = "sm_80"} {
  %0 = "tcconv.alloc"() {dims = array<i64: 16, 64, 4, 4>, elem = "i32", layout = "NHWC"} : () -> memref<16x4x4x64xi32>
  %1 = "tcconv.weight"() {dims = array<i64: 64, 64, 3, 3>, elem = "i4", name = "w.hwoi", packing = "hwoi", source = "w", source_layout = "OIHW"} : () -> memref<3x3x64x8xi32>
  %2 = "tcconv.weight"() {dims = array<i64: 64, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<64xi32>
  "tcconv.relayout"(%arg1, %0) : (memref<4x4x16x64xi32>, memref<16x4x4x64xi32>) -> ()
  // expected-error @+1 {{'"winograd"' does not satisfy the constraint}}
  "tcconv.conv2d"(%arg0, %1, %2, %0, %arg2) {a_type = "u4", b_type = "s4", block_tile = array<i64: 32, 32, 128>, clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", family = "simple", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 64>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = true, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, rounding = "half_to_even", shift = array<i32: 20>, stages = 4 : i64, strategy = "winograd", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = false, zero_point = 0 : i64} : (memref<4x4x16x8xi32>, memref<3x3x64x8xi32>, memref<64xi32>, memref<16x4x4x64xi32>, memref<16x4x4x64xi32>) -> ()
  return
}

// -----

func.func @second_output_without_attributes(%arg0: memref<4x4x16x8xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "ui4", tcconv.layout = "HWNC"}, %arg1: memref<16x4x4x64xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "i32", tcconv.layout = "NHWC"}, %arg2: memref<16x4x4x64xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "i32", tcconv.layout = "NHWC"}, %arg3: memref<16x4x4x8xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 2 : i64, tcconv.target = "sm_80"} {
  %1 = "tcconv.weight"() {dims = array<i64: 64, 64, 3, 3>, elem = "i4", name = "w.hwoi", packing = "hwoi", source = "w", source_layout = "OIHW"} : () -> memref<3x3x64x8xi32>
  %2 = "tcconv.weight"() {dims = array<i64: 64, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<64xi32>
  // expected-error @+1 {{a second output buffer needs second_* epilogue attributes}}
  "tcconv.conv2d"(%arg0, %1, %2, %arg1, %arg2, %arg3) {a_type = "u4", b_type = "s4", block_tile = array<i64: 32, 32, 128>, clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", family = "simple", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 64>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = true, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, rounding = "half_to_even", shift = array<i32: 20>, stages = 4 : i64, strategy = "direct", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = false, zero_point = 0 : i64} : (memref<4x4x16x8xi32>, memref<3x3x64x8xi32>, memref<64xi32>, memref<16x4x4x64xi32>, memref<16x4x4x64xi32>, memref<16x4x4x8xi32>) -> ()
  return
}

// -----

func.func @second_output_of_other_dims(%arg0: memref<4x4x16x8xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "ui4", tcconv.layout = "HWNC"}, %arg1: memref<16x4x4x64xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "i32", tcconv.layout = "NHWC"}, %arg2: memref<16x4x4x64xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "i32", tcconv.layout = "NHWC"}, %arg3: memref<16x4x4x4xi32> {tcconv.dims = array<i64: 16, 32, 4, 4>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 2 : i64, tcconv.target = "sm_80"} {
  %1 = "tcconv.weight"() {dims = array<i64: 64, 64, 3, 3>, elem = "i4", name = "w.hwoi", packing = "hwoi", source = "w", source_layout = "OIHW"} : () -> memref<3x3x64x8xi32>
  %2 = "tcconv.weight"() {dims = array<i64: 64, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<64xi32>
  // expected-error @+1 {{the second output must be an integer buffer of the output's dims [16, 64, 4, 4] and layout NHWC}}
  "tcconv.conv2d"(%arg0, %1, %2, %arg1, %arg2, %arg3) {a_type = "u4", b_type = "s4", block_tile = array<i64: 32, 32, 128>, clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", family = "simple", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 64>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = true, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, rounding = "half_to_even", second_clamp = array<i64: 0, 15>, second_multiplier = array<i32: 1342218220>, second_rounding = "half_up", second_shift = array<i32: 39>, second_zero_point = 0 : i64, shift = array<i32: 20>, stages = 4 : i64, strategy = "direct", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = false, zero_point = 0 : i64} : (memref<4x4x16x8xi32>, memref<3x3x64x8xi32>, memref<64xi32>, memref<16x4x4x64xi32>, memref<16x4x4x64xi32>, memref<16x4x4x4xi32>) -> ()
  return
}

// -----

func.func @dequantize_scale_count(%arg0: memref<4x3xi32> {tcconv.dims = array<i64: 4, 3, 1, 1>, tcconv.elem = "i32", tcconv.layout = "NC"}, %arg1: memref<4x3xf32> {tcconv.dims = array<i64: 4, 3, 1, 1>, tcconv.elem = "f32", tcconv.layout = "NC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_80"} {
  // expected-error @+1 {{'tcconv.dequantize' dequantize has 2 scales, expected 1 or 3 (channels)}}
  "tcconv.dequantize"(%arg0, %arg1) {scale = array<f32: 0.5, 0.25>} : (memref<4x3xi32>, memref<4x3xf32>) -> ()
  return
}

// -----

func.func @dense_dequantize_writes_f32(%arg0: memref<4x20xi8> {tcconv.dims = array<i64: 4, 20, 1, 1>, tcconv.elem = "i8", tcconv.layout = "NC"}, %arg1: memref<4x3xi32> {tcconv.dims = array<i64: 4, 3, 1, 1>, tcconv.elem = "i32", tcconv.layout = "NC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_80"} {
  %0 = "tcconv.weight"() {dims = array<i64: 3, 20, 1, 1>, elem = "i8", name = "fc.w.ok", packing = "ok", source = "fc.w", source_layout = "OIHW"} : () -> memref<3x20xi8>
  // expected-error @+1 {{a dense with a fused dequantize writes f32, the output is i32}}
  "tcconv.dense"(%arg0, %0, %arg1) {a_type = "s8", b_type = "s8", block_tile = array<i64: 32, 32, 64>, clamp = array<i64: -2147483648, 2147483647>, dequantize = array<f32: 0.5>, epilogue = "none", mma = array<i64: 16, 8, 32>, multiplier = array<i32>, relu = false, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32>, stages = 1 : i64, warp_tile = array<i64: 32, 32, 64>, widen = false, zero_point = 0 : i64} : (memref<4x20xi8>, memref<3x20xi8>, memref<4x3xi32>) -> ()
  return
}

// -----

func.func @dense_dequantize_not_an_array(%arg0: memref<4x20xi8> {tcconv.dims = array<i64: 4, 20, 1, 1>, tcconv.elem = "i8", tcconv.layout = "NC"}, %arg1: memref<4x3xf32> {tcconv.dims = array<i64: 4, 3, 1, 1>, tcconv.elem = "f32", tcconv.layout = "NC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_80"} {
  %0 = "tcconv.weight"() {dims = array<i64: 3, 20, 1, 1>, elem = "i8", name = "fc.w.ok", packing = "ok", source = "fc.w", source_layout = "OIHW"} : () -> memref<3x20xi8>
  // expected-error @+1 {{attribute 'dequantize' must be array<f32: ...>}}
  "tcconv.dense"(%arg0, %0, %arg1) {a_type = "s8", b_type = "s8", block_tile = array<i64: 32, 32, 64>, clamp = array<i64: -2147483648, 2147483647>, dequantize = 5.0e-1 : f32, epilogue = "none", mma = array<i64: 16, 8, 32>, multiplier = array<i32>, relu = false, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32>, stages = 1 : i64, warp_tile = array<i64: 32, 32, 64>, widen = false, zero_point = 0 : i64} : (memref<4x20xi8>, memref<3x20xi8>, memref<4x3xf32>) -> ()
  return
}

// -----

// A dense layer's fused pool: more blocks than channels, an i32 map max-pooled into i8 without
// a requantize, and a dense over a map without a pool.
func.func @dense_pool_split_beyond_the_channels(%arg0: memref<2x3x3x20xi32> {tcconv.dims = array<i64: 2, 20, 3, 3>, tcconv.elem = "i32", tcconv.layout = "NHWC"}, %arg1: memref<2x5xi32> {tcconv.dims = array<i64: 2, 5, 1, 1>, tcconv.elem = "i32", tcconv.layout = "NC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_80"} {
  %0 = "tcconv.weight"() {dims = array<i64: 5, 20, 1, 1>, elem = "i8", name = "w.ok", packing = "ok", source = "w", source_layout = "OIHW"} : () -> memref<5x20xi8>
  // expected-error @+1 {{pool_split 21 must be in [1, 20]}}
  "tcconv.dense"(%arg0, %0, %arg1) {a_type = "s8", b_type = "s8", block_tile = array<i64: 32, 32, 64>, clamp = array<i64: -2147483648, 2147483647>, epilogue = "none", mma = array<i64: 16, 8, 32>, multiplier = array<i32>, pool = "avg", pool_elem = "i8", pool_split = 21 : i64, pool_clamp = array<i64: -128, 127>, pool_multiplier = array<i32: 1073741824>, pool_rounding = "half_to_even", pool_shift = array<i32: 36>, pool_zero_point = 0 : i64, relu = false, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32>, stages = 1 : i64, warp_tile = array<i64: 32, 32, 64>, widen = false, zero_point = 0 : i64} : (memref<2x3x3x20xi32>, memref<5x20xi8>, memref<2x5xi32>) -> ()
  return
}

// -----

func.func @dense_max_pool_narrows(%arg0: memref<2x3x3x20xi32> {tcconv.dims = array<i64: 2, 20, 3, 3>, tcconv.elem = "i32", tcconv.layout = "NHWC"}, %arg1: memref<2x5xi32> {tcconv.dims = array<i64: 2, 5, 1, 1>, tcconv.elem = "i32", tcconv.layout = "NC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_80"} {
  %0 = "tcconv.weight"() {dims = array<i64: 5, 20, 1, 1>, elem = "i8", name = "w.ok", packing = "ok", source = "w", source_layout = "OIHW"} : () -> memref<5x20xi8>
  // expected-error @+1 {{a max pool's values must hold every input value: i32 in, i8 pooled}}
  "tcconv.dense"(%arg0, %0, %arg1) {a_type = "s8", b_type = "s8", block_tile = array<i64: 32, 32, 64>, clamp = array<i64: -2147483648, 2147483647>, epilogue = "none", mma = array<i64: 16, 8, 32>, multiplier = array<i32>, pool = "max", pool_elem = "i8", pool_split = 3 : i64, relu = false, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32>, stages = 1 : i64, warp_tile = array<i64: 32, 32, 64>, widen = false, zero_point = 0 : i64} : (memref<2x3x3x20xi32>, memref<5x20xi8>, memref<2x5xi32>) -> ()
  return
}

// -----

func.func @dense_pool_kind(%arg0: memref<2x3x3x20xi32> {tcconv.dims = array<i64: 2, 20, 3, 3>, tcconv.elem = "i32", tcconv.layout = "NHWC"}, %arg1: memref<2x5xi32> {tcconv.dims = array<i64: 2, 5, 1, 1>, tcconv.elem = "i32", tcconv.layout = "NC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_80"} {
  %0 = "tcconv.weight"() {dims = array<i64: 5, 20, 1, 1>, elem = "i8", name = "w.ok", packing = "ok", source = "w", source_layout = "OIHW"} : () -> memref<5x20xi8>
  // expected-error @+1 {{a dense layer's pool is "max" or "avg", not "min"}}
  "tcconv.dense"(%arg0, %0, %arg1) {a_type = "s8", b_type = "s8", block_tile = array<i64: 32, 32, 64>, clamp = array<i64: -2147483648, 2147483647>, epilogue = "none", mma = array<i64: 16, 8, 32>, multiplier = array<i32>, pool = "min", pool_elem = "i8", pool_split = 3 : i64, relu = false, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32>, stages = 1 : i64, warp_tile = array<i64: 32, 32, 64>, widen = false, zero_point = 0 : i64} : (memref<2x3x3x20xi32>, memref<5x20xi8>, memref<2x5xi32>) -> ()
  return
}

// -----

// The recorded kernel family must take the conv (what convert-tcconv-to-gpu builds).
func.func @staged_needs_32_multiples(%arg0: memref<4x4x16x8xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "ui4", tcconv.layout = "HWNC"}, %arg1: memref<4x4x16x64xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "i32", tcconv.layout = "HWNC"}, %arg2: memref<16x4x4x64xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "i32", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 2 : i64, tcconv.target = "sm_80"} {
  %0 = "tcconv.alloc"() {dims = array<i64: 16, 64, 4, 4>, elem = "i32", layout = "NHWC"} : () -> memref<16x4x4x64xi32>
  %1 = "tcconv.weight"() {dims = array<i64: 64, 64, 3, 3>, elem = "i4", name = "w.hwoi", packing = "hwoi", source = "w", source_layout = "OIHW"} : () -> memref<3x3x64x8xi32>
  %2 = "tcconv.weight"() {dims = array<i64: 64, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<64xi32>
  "tcconv.relayout"(%arg1, %0) : (memref<4x4x16x64xi32>, memref<16x4x4x64xi32>) -> ()
  // expected-error @+1 {{kernel 'staged' does not take this conv on sm_80 (its shapes, layouts or tiling)}}
  "tcconv.conv2d"(%arg0, %1, %2, %0, %arg2) {a_type = "u4", b_type = "s4", block_tile = array<i64: 16, 32, 128>, clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", family = "staged", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 64>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = true, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, rounding = "half_to_even", shift = array<i32: 20>, stages = 4 : i64, strategy = "direct", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = false, zero_point = 0 : i64} : (memref<4x4x16x8xi32>, memref<3x3x64x8xi32>, memref<64xi32>, memref<16x4x4x64xi32>, memref<16x4x4x64xi32>) -> ()
  return
}

// -----

func.func @unknown_family(%arg0: memref<4x4x16x8xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "ui4", tcconv.layout = "HWNC"}, %arg1: memref<4x4x16x64xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "i32", tcconv.layout = "HWNC"}, %arg2: memref<16x4x4x64xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "i32", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 2 : i64, tcconv.target = "sm_80"} {
  %0 = "tcconv.alloc"() {dims = array<i64: 16, 64, 4, 4>, elem = "i32", layout = "NHWC"} : () -> memref<16x4x4x64xi32>
  %1 = "tcconv.weight"() {dims = array<i64: 64, 64, 3, 3>, elem = "i4", name = "w.hwoi", packing = "hwoi", source = "w", source_layout = "OIHW"} : () -> memref<3x3x64x8xi32>
  %2 = "tcconv.weight"() {dims = array<i64: 64, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<64xi32>
  "tcconv.relayout"(%arg1, %0) : (memref<4x4x16x64xi32>, memref<16x4x4x64xi32>) -> ()
  // expected-error @+1 {{'"winograd"' does not satisfy the constraint}}
  "tcconv.conv2d"(%arg0, %1, %2, %0, %arg2) {a_type = "u4", b_type = "s4", block_tile = array<i64: 32, 32, 128>, clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", family = "winograd", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 64>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = true, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, rounding = "half_to_even", shift = array<i32: 20>, stages = 4 : i64, strategy = "direct", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = false, zero_point = 0 : i64} : (memref<4x4x16x8xi32>, memref<3x3x64x8xi32>, memref<64xi32>, memref<16x4x4x64xi32>, memref<16x4x4x64xi32>) -> ()
  return
}

// -----

// A narrow16 buffer is an i32 or i16 one; the storage is named; the memref is its stored form;
// only convs touch it (and an i16 map's max pools and requantizes).
func.func @narrow_u4(%arg0: memref<2x8x8x8xi32> {tcconv.dims = array<i64: 2, 64, 8, 8>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_80"} {
  // expected-error @+1 {{storage "narrow16" needs an i32 or i16 NHWC or HWNC buffer with an even channel count, not ui4 NHWC [2, 64, 8, 8]}}
  %0 = "tcconv.alloc"() {dims = array<i64: 2, 64, 8, 8>, elem = "ui4", layout = "NHWC", storage = "narrow16"} : () -> memref<3x16384xi8>
  return
}

// -----

func.func @unknown_storage(%arg0: memref<2x8x8x8xi32> {tcconv.dims = array<i64: 2, 64, 8, 8>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_80"} {
  // expected-error @+1 {{unknown storage 'i24' (known: narrow16)}}
  %0 = "tcconv.alloc"() {dims = array<i64: 2, 64, 8, 8>, elem = "i32", layout = "NHWC", storage = "i24"} : () -> memref<3x16384xi8>
  return
}

// -----

func.func @alloc_smaller_than_buffer(%arg0: memref<2x8x8x8xi32> {tcconv.dims = array<i64: 2, 64, 8, 8>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_80"} {
  // expected-error @+1 {{result type memref<2x8x8x64xi32> is not the buffer's stored form memref<3x16384xi8>}}
  %0 = "tcconv.alloc"() {dims = array<i64: 2, 64, 8, 8>, elem = "i32", layout = "NHWC", storage = "narrow16"} : () -> memref<2x8x8x64xi32>
  return
}

// -----

func.func @relayout_of_narrow(%arg0: memref<2x8x8x8xi32> {tcconv.dims = array<i64: 2, 64, 8, 8>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg1: memref<8x8x2x64xi32> {tcconv.dims = array<i64: 2, 64, 8, 8>, tcconv.elem = "i32", tcconv.layout = "HWNC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_80"} {
  %0 = "tcconv.alloc"() {dims = array<i64: 2, 64, 8, 8>, elem = "i32", layout = "NHWC", storage = "narrow16"} : () -> memref<3x16384xi8>
  // expected-error @+1 {{'tcconv.relayout' has an operand in narrow16 storage: only a conv's residual and first output, and an i16 map a max pool or a requantize reads, may be narrow16}}
  "tcconv.relayout"(%0, %arg1) : (memref<3x16384xi8>, memref<8x8x2x64xi32>) -> ()
  return
}

// -----

// A max pool may read a narrow16 i16 map, not an i32 stream
func.func @max_pool_of_narrow_i32(%arg0: memref<2x4x4x64xi32> {tcconv.dims = array<i64: 2, 64, 4, 4>, tcconv.elem = "i32", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 0 : i64, tcconv.target = "sm_90a"} {
  %0 = "tcconv.alloc"() {dims = array<i64: 2, 64, 8, 8>, elem = "i32", layout = "NHWC", storage = "narrow16"} : () -> memref<3x16384xi8>
  // expected-error @+1 {{'tcconv.pool2d' has an operand in narrow16 storage}}
  "tcconv.pool2d"(%0, %arg0) {kernel = array<i64: 3, 3>, kind = "max", padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (memref<3x16384xi8>, memref<2x4x4x64xi32>) -> ()
  return
}

// -----

// nor an average pool an i16 one
func.func @avg_pool_of_narrow_i16(%arg0: memref<2x4x4x64xi32> {tcconv.dims = array<i64: 2, 64, 4, 4>, tcconv.elem = "i16", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 0 : i64, tcconv.target = "sm_90a"} {
  %0 = "tcconv.alloc"() {dims = array<i64: 2, 64, 8, 8>, elem = "i16", layout = "NHWC", storage = "narrow16"} : () -> memref<3x16384xi8>
  // expected-error @+1 {{'tcconv.pool2d' has an operand in narrow16 storage}}
  "tcconv.pool2d"(%0, %arg0) {kernel = array<i64: 2, 2>, kind = "avg", padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (memref<3x16384xi8>, memref<2x4x4x64xi32>) -> ()
  return
}

// -----

// The wgmma family realizes the block tile the op records: BM must be 64 or 128.
func.func @wgmma_tile_bm_32(%arg0: memref<1x14x14x32xi32> {tcconv.dims = array<i64: 1, 256, 14, 14>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg1: memref<1x14x14x32xi32> {tcconv.dims = array<i64: 1, 256, 14, 14>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90a"} {
  %0 = "tcconv.weight"() {dims = array<i64: 256, 256, 3, 3>, elem = "i4", name = "w.ohwi", packing = "ohwi", source = "w", source_layout = "OIHW"} : () -> memref<256x3x3x32xi32>
  // expected-error @+1 {{kernel 'wgmma' does not take this conv on sm_90a (its shapes, layouts or tiling)}}
  "tcconv.conv2d"(%arg0, %0, %arg1) {a_type = "u8", b_type = "s8", block_tile = array<i64: 32, 32, 128>, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "wgmma", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 0, 0, 1, 0, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = false, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 34>, stages = 4 : i64, strategy = "im2col", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = true, zero_point = 0 : i64} : (memref<1x14x14x32xi32>, memref<256x3x3x32xi32>, memref<1x14x14x32xi32>) -> ()
  return
}

// -----

func.func @pool_requantize_scales_per_channel(%arg0: memref<5x7x7x3xi32> {tcconv.dims = array<i64: 5, 3, 7, 7>, tcconv.elem = "i32", tcconv.layout = "NHWC"}, %arg1: memref<5x1x1x4xi8> {tcconv.dims = array<i64: 5, 3, 1, 1>, tcconv.elem = "i8", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  // expected-error @+1 {{requantize has 2 multipliers and 2 shifts, expected 1 or 3}}
  "tcconv.pool2d"(%arg0, %arg1) {clamp = array<i64: -128, 127>, kernel = array<i64: 7, 7>, kind = "avg", multiplier = array<i32: 1073741824, 1073741825>, padding = array<i64: 0, 0, 0, 0>, rounding = "half_to_even", shift = array<i32: 36, 36>, strides = array<i64: 1, 1>, zero_point = 3 : i64} : (memref<5x7x7x3xi32>, memref<5x1x1x4xi8>) -> ()
  return
}

// -----

func.func @pool_requantize_clamp_outside_output(%arg0: memref<5x7x7x3xi32> {tcconv.dims = array<i64: 5, 3, 7, 7>, tcconv.elem = "i32", tcconv.layout = "NHWC"}, %arg1: memref<5x1x1x4xi8> {tcconv.dims = array<i64: 5, 3, 1, 1>, tcconv.elem = "i8", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  // expected-error @+1 {{clamp [-300, 127] is empty or exceeds the output's i8 range [-128, 127]}}
  "tcconv.pool2d"(%arg0, %arg1) {clamp = array<i64: -300, 127>, kernel = array<i64: 7, 7>, kind = "avg", multiplier = array<i32: 1073741824>, padding = array<i64: 0, 0, 0, 0>, rounding = "half_to_even", shift = array<i32: 36>, strides = array<i64: 1, 1>, zero_point = 3 : i64} : (memref<5x7x7x3xi32>, memref<5x1x1x4xi8>) -> ()
  return
}

// -----

func.func @shortcut_on_the_simple_kernel(%arg0: memref<2x5x5x8xi32> {tcconv.dims = array<i64: 2, 64, 5, 5>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg1: memref<2x10x10x4xi32> {tcconv.dims = array<i64: 2, 32, 10, 10>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg2: memref<2x5x5x2xi32> {tcconv.dims = array<i64: 2, 16, 5, 5>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 2 : i64, tcconv.target = "sm_80"} {
  %0 = "tcconv.weight"() {dims = array<i64: 16, 64, 1, 1>, elem = "i4", name = "w.ohwi", packing = "ohwi", source = "w", source_layout = "OIHW"} : () -> memref<16x1x1x8xi32>
  %1 = "tcconv.weight"() {dims = array<i64: 16, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<16xi32>
  %2 = "tcconv.weight"() {dims = array<i64: 16, 32, 1, 1>, elem = "i4", name = "sw.ohwi", packing = "ohwi", source = "sw", source_layout = "OIHW"} : () -> memref<16x1x1x4xi32>
  %3 = "tcconv.weight"() {dims = array<i64: 16, 1, 1, 1>, elem = "i32", name = "sb.bias", packing = "bias", source = "sb", source_layout = "OIHW"} : () -> memref<16xi32>
  // expected-error @+1 {{the simple kernel does not run a shortcut; only 'staged' and 'wgmma' do}}
  "tcconv.conv2d"(%arg0, %0, %1, %arg2, %arg1, %2, %3) {a_type = "u4", b_type = "s4", block_tile = array<i64: 32, 32, 128>, clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", family = "simple", kernel = array<i64: 1, 1>, mma = array<i64: 16, 8, 64>, multiplier = array<i32: 1207959552>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 1, 1, 1>, padding = array<i64: 0, 0, 0, 0>, relu = true, residual_multiplier = array<i32: 1610612736>, residual_shift = array<i32: 31>, rounding = "half_to_even", shift = array<i32: 31>, shortcut_strides = array<i64: 2, 2>, stages = 1 : i64, strategy = "im2col", strides = array<i64: 1, 1>, then_clamp = array<i64: 0, 15>, then_multiplier = array<i32: 1315059792>, then_rounding = "half_to_even", then_shift = array<i32: 36>, then_zero_point = 0 : i64, warp_tile = array<i64: 32, 32, 128>, widen = false, zero_point = 0 : i64} : (memref<2x5x5x8xi32>, memref<16x1x1x8xi32>, memref<16xi32>, memref<2x5x5x2xi32>, memref<2x10x10x4xi32>, memref<16x1x1x4xi32>, memref<16xi32>) -> ()
  return
}

// -----

func.func @shortcut_strides_miss_the_output(%arg0: memref<2x5x5x8xi32> {tcconv.dims = array<i64: 2, 64, 5, 5>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg1: memref<2x10x10x4xi32> {tcconv.dims = array<i64: 2, 32, 10, 10>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg2: memref<2x5x5x2xi32> {tcconv.dims = array<i64: 2, 16, 5, 5>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 2 : i64, tcconv.target = "sm_80"} {
  %0 = "tcconv.weight"() {dims = array<i64: 16, 64, 1, 1>, elem = "i4", name = "w.ohwi", packing = "ohwi", source = "w", source_layout = "OIHW"} : () -> memref<16x1x1x8xi32>
  %1 = "tcconv.weight"() {dims = array<i64: 16, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<16xi32>
  %2 = "tcconv.weight"() {dims = array<i64: 16, 32, 1, 1>, elem = "i4", name = "sw.ohwi", packing = "ohwi", source = "sw", source_layout = "OIHW"} : () -> memref<16x1x1x4xi32>
  %3 = "tcconv.weight"() {dims = array<i64: 16, 1, 1, 1>, elem = "i32", name = "sb.bias", packing = "bias", source = "sb", source_layout = "OIHW"} : () -> memref<16xi32>
  // expected-error @+1 {{the shortcut maps a [2, 32, 10, 10] input with strides [3, 3] onto [2, 16, 4, 4], not the output's [2, 16, 5, 5]}}
  "tcconv.conv2d"(%arg0, %0, %1, %arg2, %arg1, %2, %3) {a_type = "u4", b_type = "s4", block_tile = array<i64: 32, 32, 128>, clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", family = "staged", kernel = array<i64: 1, 1>, mma = array<i64: 16, 8, 64>, multiplier = array<i32: 1207959552>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 1, 1, 1>, padding = array<i64: 0, 0, 0, 0>, relu = true, residual_multiplier = array<i32: 1610612736>, residual_shift = array<i32: 31>, rounding = "half_to_even", shift = array<i32: 31>, shortcut_strides = array<i64: 3, 3>, stages = 1 : i64, strategy = "im2col", strides = array<i64: 1, 1>, then_clamp = array<i64: 0, 15>, then_multiplier = array<i32: 1315059792>, then_rounding = "half_to_even", then_shift = array<i32: 36>, then_zero_point = 0 : i64, warp_tile = array<i64: 32, 32, 128>, widen = false, zero_point = 0 : i64} : (memref<2x5x5x8xi32>, memref<16x1x1x8xi32>, memref<16xi32>, memref<2x5x5x2xi32>, memref<2x10x10x4xi32>, memref<16x1x1x4xi32>, memref<16xi32>) -> ()
  return
}

// -----

// The warp-specialized wgmma kernel runs no shortcut GEMM (the plain wgmma kernel takes this op).
func.func @shortcut_on_the_warp_specialized_kernel(%arg0: memref<2x5x5x8xi32> {tcconv.dims = array<i64: 2, 64, 5, 5>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg1: memref<2x10x10x4xi32> {tcconv.dims = array<i64: 2, 32, 10, 10>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg2: memref<2x5x5x2xi32> {tcconv.dims = array<i64: 2, 16, 5, 5>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 2 : i64, tcconv.target = "sm_90a"} {
  %0 = "tcconv.weight"() {dims = array<i64: 16, 64, 1, 1>, elem = "i4", name = "w.ohwi", packing = "ohwi", source = "w", source_layout = "OIHW"} : () -> memref<16x1x1x8xi32>
  %1 = "tcconv.weight"() {dims = array<i64: 16, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<16xi32>
  %2 = "tcconv.weight"() {dims = array<i64: 16, 32, 1, 1>, elem = "i4", name = "sw.ohwi", packing = "ohwi", source = "sw", source_layout = "OIHW"} : () -> memref<16x1x1x4xi32>
  %3 = "tcconv.weight"() {dims = array<i64: 16, 1, 1, 1>, elem = "i32", name = "sb.bias", packing = "bias", source = "sb", source_layout = "OIHW"} : () -> memref<16xi32>
  // expected-error @+1 {{kernel 'wgmma_ws' does not take this conv on sm_90a (its shapes, layouts or tiling)}}
  "tcconv.conv2d"(%arg0, %0, %1, %arg2, %arg1, %2, %3) {a_type = "u8", b_type = "s8", block_tile = array<i64: 64, 16, 64>, clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", family = "wgmma_ws", kernel = array<i64: 1, 1>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1207959552>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 1, 1, 1>, padding = array<i64: 0, 0, 0, 0>, relu = true, residual_multiplier = array<i32: 1610612736>, residual_shift = array<i32: 31>, rounding = "half_to_even", shift = array<i32: 31>, shortcut_strides = array<i64: 2, 2>, stages = 1 : i64, strategy = "im2col", strides = array<i64: 1, 1>, then_clamp = array<i64: 0, 15>, then_multiplier = array<i32: 1315059792>, then_rounding = "half_to_even", then_shift = array<i32: 36>, then_zero_point = 0 : i64, warp_tile = array<i64: 32, 32, 128>, widen = true, zero_point = 0 : i64} : (memref<2x5x5x8xi32>, memref<16x1x1x8xi32>, memref<16xi32>, memref<2x5x5x2xi32>, memref<2x10x10x4xi32>, memref<16x1x1x4xi32>, memref<16xi32>) -> ()
  return
}

// -----

func.func @fused_quantize_to_4_bits(%arg0: memref<1x3x39x39xf32> {tcconv.dims = array<i64: 1, 3, 39, 39>, tcconv.elem = "f32", tcconv.layout = "NCHW"}, %arg1: memref<1x20x20x2xi32> {tcconv.dims = array<i64: 1, 16, 20, 20>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  %0 = "tcconv.weight"() {dims = array<i64: 16, 3, 7, 7>, elem = "i8", name = "w.ohwi", packing = "ohwi", source = "w", source_layout = "OIHW"} : () -> memref<16x7x7x4xi8>
  %1 = "tcconv.weight"() {dims = array<i64: 16, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<16xi32>
  // expected-error @+1 {{a fused input quantize writes an 8-bit integer tensor, not ui4}}
  "tcconv.conv2d"(%arg0, %0, %1, %arg1) {a_type = "s8", b_type = "s8", block_tile = array<i64: 32, 32, 64>, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "mma", input_elem = "ui4", input_layout = "NHWC", input_mode = "divide", input_scale = 2.100000e-02 : f32, input_zero_point = 5 : i64, kernel = array<i64: 7, 7>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1518500250>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 0, 0, 0>, padding = array<i64: 3, 3, 3, 3>, relu = true, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 40>, stages = 4 : i64, strategy = "im2col", strides = array<i64: 2, 2>, warp_tile = array<i64: 32, 32, 64>, widen = false, zero_point = 0 : i64} : (memref<1x3x39x39xf32>, memref<16x7x7x4xi8>, memref<16xi32>, memref<1x20x20x2xi32>) -> ()
  return
}

// -----

func.func @fused_quantize_of_integers(%arg0: memref<1x39x39x4xi8> {tcconv.dims = array<i64: 1, 3, 39, 39>, tcconv.elem = "i8", tcconv.layout = "NHWC"}, %arg1: memref<1x20x20x2xi32> {tcconv.dims = array<i64: 1, 16, 20, 20>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  %0 = "tcconv.weight"() {dims = array<i64: 16, 3, 7, 7>, elem = "i8", name = "w.ohwi", packing = "ohwi", source = "w", source_layout = "OIHW"} : () -> memref<16x7x7x4xi8>
  %1 = "tcconv.weight"() {dims = array<i64: 16, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<16xi32>
  // expected-error @+1 {{a fused input quantize reads an f32 input of the quantized tensor's dims [1, 3, 39, 39], found i8 [1, 3, 39, 39]}}
  "tcconv.conv2d"(%arg0, %0, %1, %arg1) {a_type = "s8", b_type = "s8", block_tile = array<i64: 32, 32, 64>, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "mma", input_elem = "i8", input_layout = "NHWC", input_mode = "divide", input_scale = 2.100000e-02 : f32, input_zero_point = 5 : i64, kernel = array<i64: 7, 7>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1518500250>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 0, 0, 0>, padding = array<i64: 3, 3, 3, 3>, relu = true, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 40>, stages = 4 : i64, strategy = "im2col", strides = array<i64: 2, 2>, warp_tile = array<i64: 32, 32, 64>, widen = false, zero_point = 0 : i64} : (memref<1x39x39x4xi8>, memref<16x7x7x4xi8>, memref<16xi32>, memref<1x20x20x2xi32>) -> ()
  return
}

// -----

func.func @elementwise_offset_needs_fma(%arg0: memref<3x8xi8> {tcconv.dims = array<i64: 3, 8, 1, 1>, tcconv.elem = "i8", tcconv.layout = "NC"}, %arg1: memref<3x8xi8> {tcconv.dims = array<i64: 3, 8, 1, 1>, tcconv.elem = "i8", tcconv.layout = "NC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_80"} {
  // expected-error @+1 {{offset is only defined under rounding "f32_fma"}}
  "tcconv.elementwise"(%arg0, %arg1) {clamp = array<i64: -128, 127>, kind = "requantize", multiplier = array<i32: 1>, offset = array<f32: 5.480000e-02>, rhs_multiplier = array<i32>, rhs_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 0>, zero_point = 0 : i64} : (memref<3x8xi8>, memref<3x8xi8>) -> ()
  return
}

// -----

func.func @elementwise_offset_per_channel(%arg0: memref<3x8xi8> {tcconv.dims = array<i64: 3, 8, 1, 1>, tcconv.elem = "i8", tcconv.layout = "NC"}, %arg1: memref<3x8xi8> {tcconv.dims = array<i64: 3, 8, 1, 1>, tcconv.elem = "i8", tcconv.layout = "NC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_80"} {
  // expected-error @+1 {{offset has 2 entries, expected 1 or 8 (channels) under rounding "f32_fma"}}
  "tcconv.elementwise"(%arg0, %arg1) {clamp = array<i64: -128, 127>, kind = "requantize", multiplier = array<i32: 1>, offset = array<f32: 0.5, 1.5>, rhs_multiplier = array<i32>, rhs_shift = array<i32>, rounding = "f32_fma", shift = array<i32: 0>, zero_point = 0 : i64} : (memref<3x8xi8>, memref<3x8xi8>) -> ()
  return
}

// -----

func.func @quantize_padding_dims(%arg0: memref<1x3x8x8xf32> {tcconv.dims = array<i64: 1, 3, 8, 8>, tcconv.elem = "f32", tcconv.layout = "NCHW"}, %arg1: memref<1x9x10x4xi8> {tcconv.dims = array<i64: 1, 3, 9, 10>, tcconv.elem = "i8", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_80"} {
  // expected-error @+1 {{output dims [1, 3, 9, 10] are not the input dims [1, 3, 8, 8] padded by [1, 1, 1, 1]}}
  "tcconv.quantize"(%arg0, %arg1) {mode = "divide", padding = array<i64: 1, 1, 1, 1>, padding_value = -2 : i64, scale = 5.000000e-01 : f32, zero_point = -2 : i64} : (memref<1x3x8x8xf32>, memref<1x9x10x4xi8>) -> ()
  return
}

// -----

func.func @quantize_padding_value_in_type(%arg0: memref<1x3x8x8xf32> {tcconv.dims = array<i64: 1, 3, 8, 8>, tcconv.elem = "f32", tcconv.layout = "NCHW"}, %arg1: memref<1x10x10x4xi8> {tcconv.dims = array<i64: 1, 3, 10, 10>, tcconv.elem = "ui8", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_80"} {
  // expected-error @+1 {{padding value 300 is not a ui8 value}}
  "tcconv.quantize"(%arg0, %arg1) {mode = "divide", padding = array<i64: 1, 1, 1, 1>, padding_value = 300 : i64, scale = 5.000000e-01 : f32, zero_point = 2 : i64} : (memref<1x3x8x8xf32>, memref<1x10x10x4xi8>) -> ()
  return
}

// -----


func.func @negative_block_tile(%arg0: memref<4x4x16x8xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "ui4", tcconv.layout = "HWNC"}, %arg1: memref<4x4x16x64xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "i32", tcconv.layout = "HWNC"}, %arg2: memref<16x4x4x64xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "i32", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 2 : i64, tcconv.target = "sm_80"} {
  %0 = "tcconv.alloc"() {dims = array<i64: 16, 64, 4, 4>, elem = "i32", layout = "NHWC"} : () -> memref<16x4x4x64xi32>
  %1 = "tcconv.weight"() {dims = array<i64: 64, 64, 3, 3>, elem = "i4", name = "w.hwoi", packing = "hwoi", source = "w", source_layout = "OIHW"} : () -> memref<3x3x64x8xi32>
  %2 = "tcconv.weight"() {dims = array<i64: 64, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<64xi32>
  "tcconv.relayout"(%arg1, %0) : (memref<4x4x16x64xi32>, memref<16x4x4x64xi32>) -> ()
  // expected-error @+1 {{block_tile [-32, 32, 128] must hold values in [1, 4096]}}
  "tcconv.conv2d"(%arg0, %1, %2, %0, %arg2) {a_type = "u4", b_type = "s4", block_tile = array<i64: -32, 32, 128>, clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", family = "simple", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 64>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = true, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, rounding = "half_to_even", shift = array<i32: 20>, stages = 4 : i64, strategy = "direct", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = false, zero_point = 0 : i64} : (memref<4x4x16x8xi32>, memref<3x3x64x8xi32>, memref<64xi32>, memref<16x4x4x64xi32>, memref<16x4x4x64xi32>) -> ()
  return
}

// -----


func.func @zero_mma(%arg0: memref<4x4x16x8xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "ui4", tcconv.layout = "HWNC"}, %arg1: memref<4x4x16x64xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "i32", tcconv.layout = "HWNC"}, %arg2: memref<16x4x4x64xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "i32", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 2 : i64, tcconv.target = "sm_80"} {
  %0 = "tcconv.alloc"() {dims = array<i64: 16, 64, 4, 4>, elem = "i32", layout = "NHWC"} : () -> memref<16x4x4x64xi32>
  %1 = "tcconv.weight"() {dims = array<i64: 64, 64, 3, 3>, elem = "i4", name = "w.hwoi", packing = "hwoi", source = "w", source_layout = "OIHW"} : () -> memref<3x3x64x8xi32>
  %2 = "tcconv.weight"() {dims = array<i64: 64, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<64xi32>
  "tcconv.relayout"(%arg1, %0) : (memref<4x4x16x64xi32>, memref<16x4x4x64xi32>) -> ()
  // expected-error @+1 {{mma [16, 0, 64] must hold values in [1, 256]}}
  "tcconv.conv2d"(%arg0, %1, %2, %0, %arg2) {a_type = "u4", b_type = "s4", block_tile = array<i64: 32, 32, 128>, clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", family = "simple", kernel = array<i64: 3, 3>, mma = array<i64: 16, 0, 64>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = true, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, rounding = "half_to_even", shift = array<i32: 20>, stages = 4 : i64, strategy = "direct", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = false, zero_point = 0 : i64} : (memref<4x4x16x8xi32>, memref<3x3x64x8xi32>, memref<64xi32>, memref<16x4x4x64xi32>, memref<16x4x4x64xi32>) -> ()
  return
}

// -----


// expected-error @+1 {{argument 0: tcconv.dims [-16, 64, 4, 4] must be positive with at most 2^32 elements}}
func.func @negative_argument_dims(%arg0: memref<4x4x16x8xi32> {tcconv.dims = array<i64: -16, 64, 4, 4>, tcconv.elem = "ui4", tcconv.layout = "HWNC"}, %arg1: memref<4x4x16x64xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "i32", tcconv.layout = "HWNC"}, %arg2: memref<16x4x4x64xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "i32", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 2 : i64, tcconv.target = "sm_80"} {
  %0 = "tcconv.alloc"() {dims = array<i64: 16, 64, 4, 4>, elem = "i32", layout = "NHWC"} : () -> memref<16x4x4x64xi32>
  %1 = "tcconv.weight"() {dims = array<i64: 64, 64, 3, 3>, elem = "i4", name = "w.hwoi", packing = "hwoi", source = "w", source_layout = "OIHW"} : () -> memref<3x3x64x8xi32>
  %2 = "tcconv.weight"() {dims = array<i64: 64, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<64xi32>
  "tcconv.relayout"(%arg1, %0) : (memref<4x4x16x64xi32>, memref<16x4x4x64xi32>) -> ()
  "tcconv.conv2d"(%arg0, %1, %2, %0, %arg2) {a_type = "u4", b_type = "s4", block_tile = array<i64: 32, 32, 128>, clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", family = "simple", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 64>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = true, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, rounding = "half_to_even", shift = array<i32: 20>, stages = 4 : i64, strategy = "direct", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = false, zero_point = 0 : i64} : (memref<4x4x16x8xi32>, memref<3x3x64x8xi32>, memref<64xi32>, memref<16x4x4x64xi32>, memref<16x4x4x64xi32>) -> ()
  return
}

// -----

// A buffer argument's memref is its tcconv.dims / elem / layout in stored form (the kernels
// index it by those): 2 x 6 x 5 x 5 ui8 NHWC is memref<2x5x5x8xi8>.
// expected-error @+1 {{argument 0 of type memref<1xi8> is not its buffer's stored form memref<2x5x5x8xi8> (tcconv.dims [2, 6, 5, 5], ui8, NHWC)}}
func.func @argument_memref_disagrees_with_dims(%arg0: memref<1xi8> {tcconv.dims = array<i64: 2, 6, 5, 5>, tcconv.elem = "ui8", tcconv.layout = "NHWC"}, %arg1: memref<2x5x5x8xi8> {tcconv.dims = array<i64: 2, 6, 5, 5>, tcconv.elem = "ui8", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_80"} {
  "tcconv.relayout"(%arg0, %arg1) : (memref<1xi8>, memref<2x5x5x8xi8>) -> ()
  return
}

// -----

func.func @weight_memref_disagrees_with_dims(%arg0: memref<16x4x4x8xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg1: memref<16x4x4x64xi32> {tcconv.dims = array<i64: 16, 64, 4, 4>, tcconv.elem = "i32", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_80"} {
  // expected-error @+1 {{result type memref<64xi32> is not the packed weight's form memref<3x3x64x8xi32>}}
  %1 = "tcconv.weight"() {dims = array<i64: 64, 64, 3, 3>, elem = "i4", name = "w.hwoi", packing = "hwoi", source = "w", source_layout = "OIHW"} : () -> memref<64xi32>
  return
}

// -----

func.func @zero_point_beyond_i32(%arg0: memref<1x8x8x2xi32> {tcconv.dims = array<i64: 1, 16, 8, 8>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg1: memref<1x8x8x2xi32> {tcconv.dims = array<i64: 1, 16, 8, 8>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_80"} {
  %0 = "tcconv.weight"() {dims = array<i64: 16, 16, 3, 3>, elem = "i4", name = "conv.weight.ohwi", packing = "ohwi", source = "conv.weight", source_layout = "OIHW"} : () -> memref<16x3x3x2xi32>
  %1 = "tcconv.weight"() {dims = array<i64: 16, 1, 1, 1>, elem = "i32", name = "conv.bias.bias", packing = "bias", source = "conv.bias", source_layout = "OIHW"} : () -> memref<16xi32>
  // expected-error @+1 {{zero_point 9223372036854775807 does not fit i32}}
  "tcconv.conv2d"(%arg0, %0, %1, %arg1) {a_type = "u4", b_type = "s4", block_tile = array<i64: 32, 32, 128>, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "mma", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 64>, multiplier = array<i32: 2147483647>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = false, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 37>, stages = 2 : i64, strategy = "im2col", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = false, zero_point = 9223372036854775807 : i64} : (memref<1x8x8x2xi32>, memref<16x3x3x2xi32>, memref<16xi32>, memref<1x8x8x2xi32>) -> ()
  return
}

// -----

func.func @negative_multiplier(%arg0: memref<1x8x8x2xi32> {tcconv.dims = array<i64: 1, 16, 8, 8>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg1: memref<1x8x8x2xi32> {tcconv.dims = array<i64: 1, 16, 8, 8>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_80"} {
  %0 = "tcconv.weight"() {dims = array<i64: 16, 16, 3, 3>, elem = "i4", name = "conv.weight.ohwi", packing = "ohwi", source = "conv.weight", source_layout = "OIHW"} : () -> memref<16x3x3x2xi32>
  %1 = "tcconv.weight"() {dims = array<i64: 16, 1, 1, 1>, elem = "i32", name = "conv.bias.bias", packing = "bias", source = "conv.bias", source_layout = "OIHW"} : () -> memref<16xi32>
  // expected-error @+1 {{epilogue multiplier -2147483648 is negative}}
  "tcconv.conv2d"(%arg0, %0, %1, %arg1) {a_type = "u4", b_type = "s4", block_tile = array<i64: 32, 32, 128>, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "mma", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 64>, multiplier = array<i32: -2147483648>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = false, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 37>, stages = 2 : i64, strategy = "im2col", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = false, zero_point = 0 : i64} : (memref<1x8x8x2xi32>, memref<16x3x3x2xi32>, memref<16xi32>, memref<1x8x8x2xi32>) -> ()
  return
}

// -----

func.func @bias_of_wrong_dims(%arg0: memref<1x8x8x2xi32> {tcconv.dims = array<i64: 1, 16, 8, 8>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg1: memref<1x8x8x2xi32> {tcconv.dims = array<i64: 1, 16, 8, 8>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_80"} {
  %0 = "tcconv.weight"() {dims = array<i64: 16, 16, 3, 3>, elem = "i4", name = "conv.weight.ohwi", packing = "ohwi", source = "conv.weight", source_layout = "OIHW"} : () -> memref<16x3x3x2xi32>
  %1 = "tcconv.weight"() {dims = array<i64: 16, 1, 1, 65536>, elem = "i32", name = "conv.bias.bias", packing = "bias", source = "conv.bias", source_layout = "OIHW"} : () -> memref<16xi32>
  // expected-error @+1 {{bias must be an i32 bias of 16 channels, found Bias [16, 1, 1, 65536]}}
  "tcconv.conv2d"(%arg0, %0, %1, %arg1) {a_type = "u4", b_type = "s4", block_tile = array<i64: 32, 32, 128>, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "mma", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 64>, multiplier = array<i32: 2147483647>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = false, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 37>, stages = 2 : i64, strategy = "im2col", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = false, zero_point = 0 : i64} : (memref<1x8x8x2xi32>, memref<16x3x3x2xi32>, memref<16xi32>, memref<1x8x8x2xi32>) -> ()
  return
}

// -----

func.func @concat_channels_summed(%arg0: memref<2x3x3x1xi32> {tcconv.dims = array<i64: 2, 5, 3, 3>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg1: memref<2x3x3x2xi32> {tcconv.dims = array<i64: 2, 10, 3, 3>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg2: memref<2x3x3x2xi32> {tcconv.dims = array<i64: 2, 16, 3, 3>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 2 : i64, tcconv.target = "sm_80"} {
  // expected-error @+1 {{'tcconv.concat' inputs of 15 channels in all, output of 16}}
  "tcconv.concat"(%arg0, %arg1, %arg2) : (memref<2x3x3x1xi32>, memref<2x3x3x2xi32>, memref<2x3x3x2xi32>) -> ()
  return
}

// -----

func.func @concat_element_types(%arg0: memref<2x3x3x8xi8> {tcconv.dims = array<i64: 2, 5, 3, 3>, tcconv.elem = "i8", tcconv.layout = "NHWC"}, %arg1: memref<2x3x3x2xi32> {tcconv.dims = array<i64: 2, 11, 3, 3>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg2: memref<2x3x3x2xi32> {tcconv.dims = array<i64: 2, 16, 3, 3>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 2 : i64, tcconv.target = "sm_80"} {
  // expected-error @+1 {{'tcconv.concat' input [2, 5, 3, 3] i8 does not match the output's element type ui4}}
  "tcconv.concat"(%arg0, %arg1, %arg2) : (memref<2x3x3x8xi8>, memref<2x3x3x2xi32>, memref<2x3x3x2xi32>) -> ()
  return
}

// -----

func.func @lookup_entries_fit_the_output(%arg0: memref<2x5x5x1xi32> {tcconv.dims = array<i64: 2, 6, 5, 5>, tcconv.elem = "i4", tcconv.layout = "NHWC"}, %arg1: memref<2x5x5x8xi8> {tcconv.dims = array<i64: 2, 6, 5, 5>, tcconv.elem = "ui8", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_80"} {
  // expected-error @+1 {{'tcconv.elementwise' lookup table entry 300 is outside the output type ui8 [0, 255]}}
  "tcconv.elementwise"(%arg0, %arg1) {clamp = array<i64: -2147483648, 2147483647>, kind = "lookup", multiplier = array<i32>, rhs_multiplier = array<i32>, rhs_shift = array<i32>, rounding = "half_to_even", shift = array<i32>, table = array<i32: 300, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15>, zero_point = 0 : i64} : (memref<2x5x5x1xi32>, memref<2x5x5x8xi8>) -> ()
  return
}

// -----

func.func @pool_f32_average_requantized(%arg0: memref<2x9x9x4xi8> {tcconv.dims = array<i64: 2, 4, 9, 9>, tcconv.elem = "ui8", tcconv.layout = "NHWC"}, %arg1: memref<2x5x5x4xi8> {tcconv.dims = array<i64: 2, 4, 5, 5>, tcconv.elem = "i8", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  // expected-error @+1 {{an avg_f32 pool takes no divisor, no requantize and no second output}}
  "tcconv.pool2d"(%arg0, %arg1) {clamp = array<i64: -128, 127>, input_scale = 2.500000e-02 : f32, input_zero_point = 128 : i64, kernel = array<i64: 3, 3>, kind = "avg_f32", multiplier = array<i32: 1073741824>, output_scale = 1.250000e-02 : f32, output_zero_point = -3 : i64, padding = array<i64: 1, 1, 1, 1>, rounding = "half_to_even", shift = array<i32: 31>, strides = array<i64: 2, 2>, zero_point = 0 : i64} : (memref<2x9x9x4xi8>, memref<2x5x5x4xi8>) -> ()
  return
}

// -----

func.func @pool_f32_average_zero_point(%arg0: memref<2x9x9x4xi8> {tcconv.dims = array<i64: 2, 4, 9, 9>, tcconv.elem = "ui8", tcconv.layout = "NHWC"}, %arg1: memref<2x5x5x4xi8> {tcconv.dims = array<i64: 2, 4, 5, 5>, tcconv.elem = "i8", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  // expected-error @+1 {{output_zero_point 128 is not a value of i8 [-128, 127]}}
  "tcconv.pool2d"(%arg0, %arg1) {input_scale = 2.500000e-02 : f32, input_zero_point = 128 : i64, kernel = array<i64: 3, 3>, kind = "avg_f32", output_scale = 1.250000e-02 : f32, output_zero_point = 128 : i64, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (memref<2x9x9x4xi8>, memref<2x5x5x4xi8>) -> ()
  return
}

// -----

func.func @pool_window_larger_than_the_input(%arg0: memref<2x9x9x4xi8> {tcconv.dims = array<i64: 2, 4, 9, 9>, tcconv.elem = "ui8", tcconv.layout = "NHWC"}, %arg1: memref<2x5x5x4xi8> {tcconv.dims = array<i64: 2, 4, 5, 5>, tcconv.elem = "i8", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  // expected-error @+1 {{window [20, 20] does not fit the padded input [9, 9]}}
  "tcconv.pool2d"(%arg0, %arg1) {input_scale = 2.500000e-02 : f32, input_zero_point = 128 : i64, kernel = array<i64: 20, 20>, kind = "avg_f32", output_scale = 1.250000e-02 : f32, output_zero_point = -3 : i64, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (memref<2x9x9x4xi8>, memref<2x5x5x4xi8>) -> ()
  return
}

// -----

func.func @pool_padding_as_large_as_the_kernel(%arg0: memref<2x9x9x4xi8> {tcconv.dims = array<i64: 2, 4, 9, 9>, tcconv.elem = "ui8", tcconv.layout = "NHWC"}, %arg1: memref<2x5x5x4xi8> {tcconv.dims = array<i64: 2, 4, 5, 5>, tcconv.elem = "i8", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  // expected-error @+1 {{padding [3, 3, 3, 3] must be smaller than the kernel [3, 3]}}
  "tcconv.pool2d"(%arg0, %arg1) {input_scale = 2.500000e-02 : f32, input_zero_point = 128 : i64, kernel = array<i64: 3, 3>, kind = "avg_f32", output_scale = 1.250000e-02 : f32, output_zero_point = -3 : i64, padding = array<i64: 3, 3, 3, 3>, strides = array<i64: 2, 2>} : (memref<2x9x9x4xi8>, memref<2x5x5x4xi8>) -> ()
  return
}

// -----

func.func @pool_output_of_another_window(%arg0: memref<2x9x9x4xi8> {tcconv.dims = array<i64: 2, 4, 9, 9>, tcconv.elem = "ui8", tcconv.layout = "NHWC"}, %arg1: memref<2x5x5x4xi8> {tcconv.dims = array<i64: 2, 4, 5, 5>, tcconv.elem = "i8", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  // expected-error @+1 {{output H x W [5, 5], the window over [9, 9] gives [4, 4]}}
  "tcconv.pool2d"(%arg0, %arg1) {input_scale = 2.500000e-02 : f32, input_zero_point = 128 : i64, kernel = array<i64: 3, 3>, kind = "avg_f32", output_scale = 1.250000e-02 : f32, output_zero_point = -3 : i64, padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (memref<2x9x9x4xi8>, memref<2x5x5x4xi8>) -> ()
  return
}

// -----

func.func @gather_in_place(%arg0: memref<2x3x3x1xi32> {tcconv.dims = array<i64: 2, 6, 3, 3>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  // expected-error @+1 {{writes buffer 0, which it also reads (no op works in place)}}
  "tcconv.gather_channels"(%arg0, %arg0) {indices = array<i32: 5, 4, 3, 2, 1, 0>} : (memref<2x3x3x1xi32>, memref<2x3x3x1xi32>) -> ()
  return
}


// -----

// a conv's max pool: its output must be the pool of the conv's 20 x 20 map
func.func @stem_pool_wrong_dims(%arg0: memref<1x39x39x4xi8> {tcconv.dims = array<i64: 1, 3, 39, 39>, tcconv.elem = "i8", tcconv.layout = "NHWC"}, %arg1: memref<1x9x9x2xi32> {tcconv.dims = array<i64: 1, 16, 9, 9>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  %1 = "tcconv.weight"() {dims = array<i64: 16, 3, 7, 7>, elem = "i8", name = "w.ohwi", packing = "ohwi", source = "w", source_layout = "OIHW"} : () -> memref<16x7x7x4xi8>
  %2 = "tcconv.weight"() {dims = array<i64: 16, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<16xi32>
  // expected-error @+1 {{the output [1, 16, 9, 9] is not the max pool (kernel [3, 3], strides [2, 2], padding [1, 1, 1, 1]) of the conv's [1, 16, 20, 20] map, [1, 16, 10, 10]}}
  "tcconv.conv2d"(%arg0, %1, %2, %arg1) {a_type = "s8", b_type = "s8", block_tile = array<i64: 32, 32, 64>, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "mma", kernel = array<i64: 7, 7>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1518500250>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 0, 0, 0>, padding = array<i64: 3, 3, 3, 3>, pool_kernel = array<i64: 3, 3>, pool_padding = array<i64: 1, 1, 1, 1>, pool_strides = array<i64: 2, 2>, relu = true, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 40>, stages = 4 : i64, strategy = "im2col", strides = array<i64: 2, 2>, warp_tile = array<i64: 32, 32, 64>, widen = false, zero_point = 0 : i64} : (memref<1x39x39x4xi8>, memref<16x7x7x4xi8>, memref<16xi32>, memref<1x9x9x2xi32>) -> ()
  return
}

// -----

func.func @stem_pool_simple_family(%arg0: memref<1x39x39x4xi8> {tcconv.dims = array<i64: 1, 3, 39, 39>, tcconv.elem = "i8", tcconv.layout = "NHWC"}, %arg1: memref<1x10x10x2xi32> {tcconv.dims = array<i64: 1, 16, 10, 10>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  %1 = "tcconv.weight"() {dims = array<i64: 16, 3, 7, 7>, elem = "i8", name = "w.ohwi", packing = "ohwi", source = "w", source_layout = "OIHW"} : () -> memref<16x7x7x4xi8>
  %2 = "tcconv.weight"() {dims = array<i64: 16, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<16xi32>
  // expected-error @+1 {{a conv's max pool runs in the register-MMA kernel with taps along K}}
  "tcconv.conv2d"(%arg0, %1, %2, %arg1) {a_type = "s8", b_type = "s8", block_tile = array<i64: 32, 32, 64>, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "simple", kernel = array<i64: 7, 7>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1518500250>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 0, 0, 0>, padding = array<i64: 3, 3, 3, 3>, pool_kernel = array<i64: 3, 3>, pool_padding = array<i64: 1, 1, 1, 1>, pool_strides = array<i64: 2, 2>, relu = true, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 40>, stages = 4 : i64, strategy = "im2col", strides = array<i64: 2, 2>, warp_tile = array<i64: 32, 32, 64>, widen = false, zero_point = 0 : i64} : (memref<1x39x39x4xi8>, memref<16x7x7x4xi8>, memref<16xi32>, memref<1x10x10x2xi32>) -> ()
  return
}

// -----

func.func @stem_pool_empty_window(%arg0: memref<1x39x39x4xi8> {tcconv.dims = array<i64: 1, 3, 39, 39>, tcconv.elem = "i8", tcconv.layout = "NHWC"}, %arg1: memref<1x10x10x2xi32> {tcconv.dims = array<i64: 1, 16, 10, 10>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  %1 = "tcconv.weight"() {dims = array<i64: 16, 3, 7, 7>, elem = "i8", name = "w.ohwi", packing = "ohwi", source = "w", source_layout = "OIHW"} : () -> memref<16x7x7x4xi8>
  %2 = "tcconv.weight"() {dims = array<i64: 16, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<16xi32>
  // expected-error @+1 {{the max pool's kernel must be in [1, 1073741824], found [0, 3]}}
  "tcconv.conv2d"(%arg0, %1, %2, %arg1) {a_type = "s8", b_type = "s8", block_tile = array<i64: 32, 32, 64>, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "mma", kernel = array<i64: 7, 7>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1518500250>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 0, 0, 0>, padding = array<i64: 3, 3, 3, 3>, pool_kernel = array<i64: 0, 3>, pool_padding = array<i64: 1, 1, 1, 1>, pool_strides = array<i64: 2, 2>, relu = true, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 40>, stages = 4 : i64, strategy = "im2col", strides = array<i64: 2, 2>, warp_tile = array<i64: 32, 32, 64>, widen = false, zero_point = 0 : i64} : (memref<1x39x39x4xi8>, memref<16x7x7x4xi8>, memref<16xi32>, memref<1x10x10x2xi32>) -> ()
  return
}

// -----

// a chain is two or more convs: the second conv left it
func.func @chain_of_one(%arg0: memref<2x8x8x8xi32> {tcconv.dims = array<i64: 2, 64, 8, 8>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg1: memref<2x8x8x256xi32> {tcconv.dims = array<i64: 2, 256, 8, 8>, tcconv.elem = "i32", tcconv.layout = "NHWC"}, %arg2: memref<2x8x8x256xi32> {tcconv.dims = array<i64: 2, 256, 8, 8>, tcconv.elem = "i32", tcconv.layout = "NHWC"}, %arg3: memref<2x8x8x8xi32> {tcconv.dims = array<i64: 2, 64, 8, 8>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 2 : i64, tcconv.target = "sm_90a"} {
  %0 = "tcconv.alloc"() {dims = array<i64: 2, 256, 8, 8>, elem = "ui4", layout = "NHWC"} : () -> memref<2x8x8x32xi32>
  %1 = "tcconv.weight"() {dims = array<i64: 256, 64, 1, 1>, elem = "i4", name = "w.ohwi", packing = "ohwi", source = "w", source_layout = "OIHW"} : () -> memref<256x1x1x8xi32>
  %2 = "tcconv.weight"() {dims = array<i64: 256, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<256xi32>
  %3 = "tcconv.weight"() {dims = array<i64: 64, 256, 1, 1>, elem = "i4", name = "w2.ohwi", packing = "ohwi", source = "w2", source_layout = "OIHW"} : () -> memref<64x1x1x32xi32>
  %4 = "tcconv.weight"() {dims = array<i64: 64, 1, 1, 1>, elem = "i32", name = "b2.bias", packing = "bias", source = "b2", source_layout = "OIHW"} : () -> memref<64xi32>
  // expected-error @+1 {{'tcconv.conv2d' chain 0: a chain is two or more convs, not 1}}
  "tcconv.conv2d"(%arg0, %1, %2, %arg1, %arg2, %0) {a_type = "u8", b_type = "s8", block_tile = array<i64: 32, 32, 128>, chain = 0 : i64, clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", family = "staged", kernel = array<i64: 1, 1>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 0, 0, 0>, padding = array<i64: 0, 0, 0, 0>, relu = true, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, rounding = "half_to_even", second_clamp = array<i64: 0, 15>, second_multiplier = array<i32: 1342218220>, second_rounding = "half_to_even", second_shift = array<i32: 39>, second_zero_point = 0 : i64, shift = array<i32: 20>, stages = 1 : i64, strategy = "im2col", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = true, zero_point = 0 : i64} : (memref<2x8x8x8xi32>, memref<256x1x1x8xi32>, memref<256xi32>, memref<2x8x8x256xi32>, memref<2x8x8x256xi32>, memref<2x8x8x32xi32>) -> ()
  "tcconv.conv2d"(%0, %3, %4, %arg3) {a_type = "u8", b_type = "s8", block_tile = array<i64: 32, 32, 128>, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "staged", kernel = array<i64: 1, 1>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1342218220>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 0, 0, 0>, padding = array<i64: 0, 0, 0, 0>, relu = true, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 36>, stages = 2 : i64, strategy = "im2col", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = true, zero_point = 0 : i64} : (memref<2x8x8x32xi32>, memref<64x1x1x32xi32>, memref<64xi32>, memref<2x8x8x8xi32>) -> ()
  return
}

// -----

// sm_80 has no thread-block clusters
func.func @chain_without_clusters(%arg0: memref<2x8x8x8xi32> {tcconv.dims = array<i64: 2, 64, 8, 8>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg1: memref<2x8x8x256xi32> {tcconv.dims = array<i64: 2, 256, 8, 8>, tcconv.elem = "i32", tcconv.layout = "NHWC"}, %arg2: memref<2x8x8x256xi32> {tcconv.dims = array<i64: 2, 256, 8, 8>, tcconv.elem = "i32", tcconv.layout = "NHWC"}, %arg3: memref<2x8x8x8xi32> {tcconv.dims = array<i64: 2, 64, 8, 8>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 2 : i64, tcconv.target = "sm_80"} {
  %0 = "tcconv.alloc"() {dims = array<i64: 2, 256, 8, 8>, elem = "ui4", layout = "NHWC"} : () -> memref<2x8x8x32xi32>
  %1 = "tcconv.weight"() {dims = array<i64: 256, 64, 1, 1>, elem = "i4", name = "w.ohwi", packing = "ohwi", source = "w", source_layout = "OIHW"} : () -> memref<256x1x1x8xi32>
  %2 = "tcconv.weight"() {dims = array<i64: 256, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<256xi32>
  %3 = "tcconv.weight"() {dims = array<i64: 64, 256, 1, 1>, elem = "i4", name = "w2.ohwi", packing = "ohwi", source = "w2", source_layout = "OIHW"} : () -> memref<64x1x1x32xi32>
  %4 = "tcconv.weight"() {dims = array<i64: 64, 1, 1, 1>, elem = "i32", name = "b2.bias", packing = "bias", source = "b2", source_layout = "OIHW"} : () -> memref<64xi32>
  // expected-error @+1 {{'tcconv.conv2d' chain 0: a chain runs on thread-block clusters (sm_90 and newer), not sm_80}}
  "tcconv.conv2d"(%arg0, %1, %2, %arg1, %arg2, %0) {a_type = "u4", b_type = "s4", block_tile = array<i64: 32, 32, 128>, chain = 0 : i64, clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", family = "staged", kernel = array<i64: 1, 1>, mma = array<i64: 16, 8, 64>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 0, 0, 0>, padding = array<i64: 0, 0, 0, 0>, relu = true, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, rounding = "half_to_even", second_clamp = array<i64: 0, 15>, second_multiplier = array<i32: 1342218220>, second_rounding = "half_to_even", second_shift = array<i32: 39>, second_zero_point = 0 : i64, shift = array<i32: 20>, stages = 1 : i64, strategy = "im2col", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = false, zero_point = 0 : i64} : (memref<2x8x8x8xi32>, memref<256x1x1x8xi32>, memref<256xi32>, memref<2x8x8x256xi32>, memref<2x8x8x256xi32>, memref<2x8x8x32xi32>) -> ()
  "tcconv.conv2d"(%0, %3, %4, %arg3) {a_type = "u4", b_type = "s4", block_tile = array<i64: 32, 32, 128>, chain = 0 : i64, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "staged", kernel = array<i64: 1, 1>, mma = array<i64: 16, 8, 64>, multiplier = array<i32: 1342218220>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 0, 0, 0>, padding = array<i64: 0, 0, 0, 0>, relu = true, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 36>, stages = 2 : i64, strategy = "im2col", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = false, zero_point = 0 : i64} : (memref<2x8x8x32xi32>, memref<64x1x1x32xi32>, memref<64xi32>, memref<2x8x8x8xi32>) -> ()
  return
}

// -----

// a cluster owns one M tile of both convs
func.func @chain_of_two_heights(%arg0: memref<2x8x8x8xi32> {tcconv.dims = array<i64: 2, 64, 8, 8>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg1: memref<2x8x8x256xi32> {tcconv.dims = array<i64: 2, 256, 8, 8>, tcconv.elem = "i32", tcconv.layout = "NHWC"}, %arg2: memref<2x8x8x256xi32> {tcconv.dims = array<i64: 2, 256, 8, 8>, tcconv.elem = "i32", tcconv.layout = "NHWC"}, %arg3: memref<2x8x8x8xi32> {tcconv.dims = array<i64: 2, 64, 8, 8>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 2 : i64, tcconv.target = "sm_90a"} {
  %0 = "tcconv.alloc"() {dims = array<i64: 2, 256, 8, 8>, elem = "ui4", layout = "NHWC"} : () -> memref<2x8x8x32xi32>
  %1 = "tcconv.weight"() {dims = array<i64: 256, 64, 1, 1>, elem = "i4", name = "w.ohwi", packing = "ohwi", source = "w", source_layout = "OIHW"} : () -> memref<256x1x1x8xi32>
  %2 = "tcconv.weight"() {dims = array<i64: 256, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<256xi32>
  %3 = "tcconv.weight"() {dims = array<i64: 64, 256, 1, 1>, elem = "i4", name = "w2.ohwi", packing = "ohwi", source = "w2", source_layout = "OIHW"} : () -> memref<64x1x1x32xi32>
  %4 = "tcconv.weight"() {dims = array<i64: 64, 1, 1, 1>, elem = "i32", name = "b2.bias", packing = "bias", source = "b2", source_layout = "OIHW"} : () -> memref<64xi32>
  // expected-error @+1 {{'tcconv.conv2d' chain 0: the convs of a chain have block tiles of 32 and 64 rows}}
  "tcconv.conv2d"(%arg0, %1, %2, %arg1, %arg2, %0) {a_type = "u8", b_type = "s8", block_tile = array<i64: 32, 32, 128>, chain = 0 : i64, clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", family = "staged", kernel = array<i64: 1, 1>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 0, 0, 0>, padding = array<i64: 0, 0, 0, 0>, relu = true, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, rounding = "half_to_even", second_clamp = array<i64: 0, 15>, second_multiplier = array<i32: 1342218220>, second_rounding = "half_to_even", second_shift = array<i32: 39>, second_zero_point = 0 : i64, shift = array<i32: 20>, stages = 1 : i64, strategy = "im2col", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = true, zero_point = 0 : i64} : (memref<2x8x8x8xi32>, memref<256x1x1x8xi32>, memref<256xi32>, memref<2x8x8x256xi32>, memref<2x8x8x256xi32>, memref<2x8x8x32xi32>) -> ()
  "tcconv.conv2d"(%0, %3, %4, %arg3) {a_type = "u8", b_type = "s8", block_tile = array<i64: 64, 32, 128>, chain = 0 : i64, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "staged", kernel = array<i64: 1, 1>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1342218220>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 0, 0, 0>, padding = array<i64: 0, 0, 0, 0>, relu = true, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 36>, stages = 2 : i64, strategy = "im2col", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = true, zero_point = 0 : i64} : (memref<2x8x8x32xi32>, memref<64x1x1x32xi32>, memref<64xi32>, memref<2x8x8x8xi32>) -> ()
  return
}

// -----

// the chain kernel runs the staged family
func.func @chain_of_a_simple_conv(%arg0: memref<2x8x8x8xi32> {tcconv.dims = array<i64: 2, 64, 8, 8>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg1: memref<2x8x8x256xi32> {tcconv.dims = array<i64: 2, 256, 8, 8>, tcconv.elem = "i32", tcconv.layout = "NHWC"}, %arg2: memref<2x8x8x256xi32> {tcconv.dims = array<i64: 2, 256, 8, 8>, tcconv.elem = "i32", tcconv.layout = "NHWC"}, %arg3: memref<2x8x8x8xi32> {tcconv.dims = array<i64: 2, 64, 8, 8>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 2 : i64, tcconv.target = "sm_90a"} {
  %0 = "tcconv.alloc"() {dims = array<i64: 2, 256, 8, 8>, elem = "ui4", layout = "NHWC"} : () -> memref<2x8x8x32xi32>
  %1 = "tcconv.weight"() {dims = array<i64: 256, 64, 1, 1>, elem = "i4", name = "w.ohwi", packing = "ohwi", source = "w", source_layout = "OIHW"} : () -> memref<256x1x1x8xi32>
  %2 = "tcconv.weight"() {dims = array<i64: 256, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<256xi32>
  %3 = "tcconv.weight"() {dims = array<i64: 64, 256, 1, 1>, elem = "i4", name = "w2.ohwi", packing = "ohwi", source = "w2", source_layout = "OIHW"} : () -> memref<64x1x1x32xi32>
  %4 = "tcconv.weight"() {dims = array<i64: 64, 1, 1, 1>, elem = "i32", name = "b2.bias", packing = "bias", source = "b2", source_layout = "OIHW"} : () -> memref<64xi32>
  // expected-error @+1 {{'tcconv.conv2d' chain 0: conv 1 of the chain runs on family 'simple'; a chain runs the staged family}}
  "tcconv.conv2d"(%arg0, %1, %2, %arg1, %arg2, %0) {a_type = "u8", b_type = "s8", block_tile = array<i64: 32, 32, 128>, chain = 0 : i64, clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", family = "staged", kernel = array<i64: 1, 1>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 0, 0, 0>, padding = array<i64: 0, 0, 0, 0>, relu = true, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, rounding = "half_to_even", second_clamp = array<i64: 0, 15>, second_multiplier = array<i32: 1342218220>, second_rounding = "half_to_even", second_shift = array<i32: 39>, second_zero_point = 0 : i64, shift = array<i32: 20>, stages = 1 : i64, strategy = "im2col", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = true, zero_point = 0 : i64} : (memref<2x8x8x8xi32>, memref<256x1x1x8xi32>, memref<256xi32>, memref<2x8x8x256xi32>, memref<2x8x8x256xi32>, memref<2x8x8x32xi32>) -> ()
  // expected-error @+1 {{family 'simple' does not run in a chain; 'staged' does}}
  "tcconv.conv2d"(%0, %3, %4, %arg3) {a_type = "u8", b_type = "s8", block_tile = array<i64: 32, 32, 128>, chain = 0 : i64, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "simple", kernel = array<i64: 1, 1>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1342218220>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 0, 0, 0>, padding = array<i64: 0, 0, 0, 0>, relu = true, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 36>, stages = 2 : i64, strategy = "im2col", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = true, zero_point = 0 : i64} : (memref<2x8x8x32xi32>, memref<64x1x1x32xi32>, memref<64xi32>, memref<2x8x8x8xi32>) -> ()
  return
}

// -----

// each conv of a chain after the first reads what the conv before it writes
func.func @chain_reading_elsewhere(%arg0: memref<2x8x8x8xi32> {tcconv.dims = array<i64: 2, 64, 8, 8>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg1: memref<2x8x8x8xi32> {tcconv.dims = array<i64: 2, 64, 8, 8>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg2: memref<2x8x8x8xi32> {tcconv.dims = array<i64: 2, 64, 8, 8>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90a"} {
  %0 = "tcconv.weight"() {dims = array<i64: 64, 64, 1, 1>, elem = "i4", name = "w.ohwi", packing = "ohwi", source = "w", source_layout = "OIHW"} : () -> memref<64x1x1x8xi32>
  %1 = "tcconv.weight"() {dims = array<i64: 64, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<64xi32>
  %2 = "tcconv.weight"() {dims = array<i64: 64, 64, 1, 1>, elem = "i4", name = "w2.ohwi", packing = "ohwi", source = "w2", source_layout = "OIHW"} : () -> memref<64x1x1x8xi32>
  %3 = "tcconv.weight"() {dims = array<i64: 64, 1, 1, 1>, elem = "i32", name = "b2.bias", packing = "bias", source = "b2", source_layout = "OIHW"} : () -> memref<64xi32>
  "tcconv.conv2d"(%arg0, %0, %1, %arg1) {a_type = "u8", b_type = "s8", block_tile = array<i64: 32, 32, 128>, chain = 0 : i64, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "staged", kernel = array<i64: 1, 1>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1342218220>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 0, 0, 0>, padding = array<i64: 0, 0, 0, 0>, relu = true, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 36>, stages = 1 : i64, strategy = "im2col", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = true, zero_point = 0 : i64} : (memref<2x8x8x8xi32>, memref<64x1x1x8xi32>, memref<64xi32>, memref<2x8x8x8xi32>) -> ()
  // expected-error @+1 {{'tcconv.conv2d' chain 0: a chain's conv reads the output or second output of the conv before it}}
  "tcconv.conv2d"(%arg0, %2, %3, %arg2) {a_type = "u8", b_type = "s8", block_tile = array<i64: 32, 32, 128>, chain = 0 : i64, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "staged", kernel = array<i64: 1, 1>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1342218220>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 0, 0, 0>, padding = array<i64: 0, 0, 0, 0>, relu = true, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 36>, stages = 1 : i64, strategy = "im2col", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = true, zero_point = 0 : i64} : (memref<2x8x8x8xi32>, memref<64x1x1x8xi32>, memref<64xi32>, memref<2x8x8x8xi32>) -> ()
  return
}

// -----

// A space-to-depth quantize writes b b cs channels of each b x b block of the padded image.
func.func @space_to_depth_dims(%arg0: memref<1x3x16x16xf32> {tcconv.dims = array<i64: 1, 3, 16, 16>, tcconv.elem = "f32", tcconv.layout = "NCHW"}, %arg1: memref<1x9x9x12xi8> {tcconv.dims = array<i64: 1, 12, 9, 9>, tcconv.elem = "i8", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  // expected-error @+1 {{output dims [1, 12, 9, 9] are not the space-to-depth map (block 2) of the input dims [1, 3, 16, 16] padded by [1, 1, 1, 1]}}
  "tcconv.quantize"(%arg0, %arg1) {padding = array<i64: 1, 1, 1, 1>, padding_value = 0 : i64, scale = 5.000000e-01 : f32, space_to_depth = 2 : i64} : (memref<1x3x16x16xf32>, memref<1x9x9x12xi8>) -> ()
  return
}

// -----

func.func @space_to_depth_block_one(%arg0: memref<1x3x16x16xf32> {tcconv.dims = array<i64: 1, 3, 16, 16>, tcconv.elem = "f32", tcconv.layout = "NCHW"}, %arg1: memref<1x16x16x4xi8> {tcconv.dims = array<i64: 1, 3, 16, 16>, tcconv.elem = "i8", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  // expected-error @+1 {{space_to_depth 1 must lie in [2, 16] (0: none)}}
  "tcconv.quantize"(%arg0, %arg1) {padding = array<i64: 0, 0, 0, 0>, padding_value = 0 : i64, scale = 5.000000e-01 : f32, space_to_depth = 1 : i64} : (memref<1x3x16x16xf32>, memref<1x16x16x4xi8>) -> ()
  return
}

// -----

// A space-to-depth weight's dims are its source's rearranged: 7 x 7 / 2 over 3 channels is
// 4 x 4 over 16, not 4 x 3.
func.func @space_to_depth_weight_dims(%arg0: memref<1x23x23x16xi8> {tcconv.dims = array<i64: 1, 16, 23, 23>, tcconv.elem = "i8", tcconv.layout = "NHWC"}, %arg1: memref<1x20x21x16xi32> {tcconv.dims = array<i64: 1, 16, 20, 21>, tcconv.elem = "i32", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  %0 = "tcconv.weight"() {dims = array<i64: 16, 16, 4, 3>, elem = "i8", name = "w.ohwi_s2d2", packing = "ohwi", source = "w", source_dims = array<i64: 16, 3, 7, 7>, source_layout = "OIHW", space_to_depth = 2 : i64} : () -> memref<16x4x3x16xi8>
  // expected-error @+1 {{weight 'w.ohwi_s2d2': a space-to-depth weight (block 2) of source dims [16, 3, 7, 7] is an ohwi weight of dims [16, 16, 4, 4], not ConvOhwi [16, 16, 4, 3]}}
  "tcconv.conv2d"(%arg0, %0, %arg1) {a_type = "s8", b_type = "s8", block_tile = array<i64: 32, 32, 64>, clamp = array<i64: -2147483648, 2147483647>, epilogue = "none", family = "staged", kernel = array<i64: 4, 3>, mma = array<i64: 16, 8, 32>, multiplier = array<i32>, operandSegmentSizes = array<i32: 1, 1, 0, 0, 1, 0, 0, 0, 0>, padding = array<i64: 0, 0, 0, 0>, relu = false, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32>, stages = 2 : i64, strategy = "im2col", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 64>, widen = false, zero_point = 0 : i64} : (memref<1x23x23x16xi8>, memref<16x4x3x16xi8>, memref<1x20x21x16xi32>) -> ()
  return
}

// -----

func.func @k_cluster_of_three(%arg0: memref<1x7x7x64xi32> {tcconv.dims = array<i64: 1, 512, 7, 7>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg1: memref<1x7x7x64xi32> {tcconv.dims = array<i64: 1, 512, 7, 7>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  %0 = "tcconv.weight"() {dims = array<i64: 512, 512, 3, 3>, elem = "i4", name = "w.ohwi", packing = "ohwi", source = "w", source_layout = "OIHW"} : () -> memref<512x3x3x64xi32>
  // expected-error @+1 {{k_cluster = 3: a cluster of 2, 4 or 8 blocks splits K}}
  "tcconv.conv2d"(%arg0, %0, %arg1) {a_type = "u8", b_type = "s8", block_tile = array<i64: 32, 32, 128>, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "staged", k_cluster = 3 : i64, kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 0, 0, 1, 0, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = false, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 34>, stages = 4 : i64, strategy = "im2col", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = true, zero_point = 0 : i64} : (memref<1x7x7x64xi32>, memref<512x3x3x64xi32>, memref<1x7x7x64xi32>) -> ()
  return
}

// -----

func.func @k_cluster_off_the_staged_kernel(%arg0: memref<1x7x7x64xi32> {tcconv.dims = array<i64: 1, 512, 7, 7>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg1: memref<1x7x7x64xi32> {tcconv.dims = array<i64: 1, 512, 7, 7>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  %0 = "tcconv.weight"() {dims = array<i64: 512, 512, 3, 3>, elem = "i4", name = "w.ohwi", packing = "ohwi", source = "w", source_layout = "OIHW"} : () -> memref<512x3x3x64xi32>
  // expected-error @+1 {{k_cluster = 2: kernel 'mma' splits no K across a cluster}}
  "tcconv.conv2d"(%arg0, %0, %arg1) {a_type = "u8", b_type = "s8", block_tile = array<i64: 32, 32, 128>, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "mma", k_cluster = 2 : i64, kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 0, 0, 1, 0, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = false, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 34>, stages = 4 : i64, strategy = "im2col", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = true, zero_point = 0 : i64} : (memref<1x7x7x64xi32>, memref<512x3x3x64xi32>, memref<1x7x7x64xi32>) -> ()
  return
}

// -----

func.func @quantize_scale_negative(%arg0: memref<1x3x8x8xf32> {tcconv.dims = array<i64: 1, 3, 8, 8>, tcconv.elem = "f32", tcconv.layout = "NCHW"}, %arg1: memref<1x8x8x4xi8> {tcconv.dims = array<i64: 1, 3, 8, 8>, tcconv.elem = "i8", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_80"} {
  // expected-error @+1 {{scale must be positive and finite, found -0.5}}
  "tcconv.quantize"(%arg0, %arg1) {mode = "divide", scale = -5.000000e-01 : f32, zero_point = 0 : i64} : (memref<1x3x8x8xf32>, memref<1x8x8x4xi8>) -> ()
  return
}

// -----

func.func @weight_of_floats(%arg0: memref<1x4x4x64xi32> {tcconv.dims = array<i64: 1, 64, 4, 4>, tcconv.elem = "i32", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_80"} {
  // expected-error @+1 {{a packed weight holds integers, not f32}}
  %0 = "tcconv.weight"() {dims = array<i64: 64, 1, 1, 1>, elem = "f32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<64xi32>
  return
}

// -----

func.func @weight_without_a_name(%arg0: memref<1x4x4x64xi32> {tcconv.dims = array<i64: 1, 64, 4, 4>, tcconv.elem = "i32", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_80"} {
  // expected-error @+1 {{a weight needs a name and a source}}
  %0 = "tcconv.weight"() {dims = array<i64: 64, 1, 1, 1>, elem = "i32", name = "", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<64xi32>
  return
}

// -----

func.func @tiles_per_block_off_the_wgmma_kernel(%arg0: memref<1x7x7x64xi32> {tcconv.dims = array<i64: 1, 512, 7, 7>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg1: memref<1x7x7x64xi32> {tcconv.dims = array<i64: 1, 512, 7, 7>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  %0 = "tcconv.weight"() {dims = array<i64: 512, 512, 3, 3>, elem = "i4", name = "w.ohwi", packing = "ohwi", source = "w", source_layout = "OIHW"} : () -> memref<512x3x3x64xi32>
  // expected-error @+1 {{tiles_per_block = 2: kernel 'staged' computes one tile a block; only 'wgmma' takes more}}
  "tcconv.conv2d"(%arg0, %0, %arg1) {a_type = "u8", b_type = "s8", block_tile = array<i64: 32, 32, 128>, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "staged", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 0, 0, 1, 0, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = false, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 34>, stages = 4 : i64, strategy = "im2col", strides = array<i64: 1, 1>, tiles_per_block = 2 : i64, warp_tile = array<i64: 32, 32, 128>, widen = true, zero_point = 0 : i64} : (memref<1x7x7x64xi32>, memref<512x3x3x64xi32>, memref<1x7x7x64xi32>) -> ()
  return
}

// -----

func.func @bounded_sum_without_a_shortcut(%arg0: memref<1x7x7x64xi32> {tcconv.dims = array<i64: 1, 512, 7, 7>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg1: memref<1x7x7x64xi32> {tcconv.dims = array<i64: 1, 512, 7, 7>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  %0 = "tcconv.weight"() {dims = array<i64: 512, 512, 3, 3>, elem = "i4", name = "w.ohwi", packing = "ohwi", source = "w", source_layout = "OIHW"} : () -> memref<512x3x3x64xi32>
  // expected-error @+1 {{bounded_sum: the conv has no shortcut GEMM whose sum it bounds}}
  "tcconv.conv2d"(%arg0, %0, %arg1) {a_type = "u8", b_type = "s8", block_tile = array<i64: 32, 32, 128>, bounded_sum = true, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "staged", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 0, 0, 1, 0, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = false, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 34>, stages = 4 : i64, strategy = "im2col", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = true, zero_point = 0 : i64} : (memref<1x7x7x64xi32>, memref<512x3x3x64xi32>, memref<1x7x7x64xi32>) -> ()
  return
}

// -----

func.func @bounded_sum_off_the_shared_memory_kernels(%arg0: memref<2x5x5x8xi32> {tcconv.dims = array<i64: 2, 64, 5, 5>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg1: memref<2x10x10x4xi32> {tcconv.dims = array<i64: 2, 32, 10, 10>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg2: memref<2x5x5x2xi32> {tcconv.dims = array<i64: 2, 16, 5, 5>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 2 : i64, tcconv.target = "sm_80"} {
  %0 = "tcconv.weight"() {dims = array<i64: 16, 64, 1, 1>, elem = "i4", name = "w.ohwi", packing = "ohwi", source = "w", source_layout = "OIHW"} : () -> memref<16x1x1x8xi32>
  %1 = "tcconv.weight"() {dims = array<i64: 16, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<16xi32>
  %2 = "tcconv.weight"() {dims = array<i64: 16, 32, 1, 1>, elem = "i4", name = "sw.ohwi", packing = "ohwi", source = "sw", source_layout = "OIHW"} : () -> memref<16x1x1x4xi32>
  %3 = "tcconv.weight"() {dims = array<i64: 16, 1, 1, 1>, elem = "i32", name = "sb.bias", packing = "bias", source = "sb", source_layout = "OIHW"} : () -> memref<16xi32>
  // expected-error @+1 {{bounded_sum: kernel 'mma' adds no bounded residual sum (staged and wgmma do)}}
  "tcconv.conv2d"(%arg0, %0, %1, %arg2, %arg1, %2, %3) {a_type = "u4", b_type = "s4", block_tile = array<i64: 32, 32, 128>, bounded_sum = true, clamp = array<i64: -2147483648, 2147483647>, epilogue = "residual", family = "mma", kernel = array<i64: 1, 1>, mma = array<i64: 16, 8, 64>, multiplier = array<i32: 1207959552>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 1, 1, 1>, padding = array<i64: 0, 0, 0, 0>, relu = true, residual_multiplier = array<i32: 1610612736>, residual_shift = array<i32: 31>, rounding = "half_to_even", shift = array<i32: 31>, shortcut_strides = array<i64: 2, 2>, stages = 1 : i64, strategy = "im2col", strides = array<i64: 1, 1>, then_clamp = array<i64: 0, 15>, then_multiplier = array<i32: 1315059792>, then_rounding = "half_to_even", then_shift = array<i32: 36>, then_zero_point = 0 : i64, warp_tile = array<i64: 32, 32, 128>, widen = false, zero_point = 0 : i64} : (memref<2x5x5x8xi32>, memref<16x1x1x8xi32>, memref<16xi32>, memref<2x5x5x2xi32>, memref<2x10x10x4xi32>, memref<16x1x1x4xi32>, memref<16xi32>) -> ()
  return
}

// -----

func.func @tiles_per_block_of_nine(%arg0: memref<1x7x7x64xi32> {tcconv.dims = array<i64: 1, 512, 7, 7>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg1: memref<1x7x7x64xi32> {tcconv.dims = array<i64: 1, 512, 7, 7>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  %0 = "tcconv.weight"() {dims = array<i64: 512, 512, 3, 3>, elem = "i4", name = "w.ohwi", packing = "ohwi", source = "w", source_layout = "OIHW"} : () -> memref<512x3x3x64xi32>
  // expected-error @+1 {{tiles_per_block [9] must hold values in [1, 8]}}
  "tcconv.conv2d"(%arg0, %0, %arg1) {a_type = "u8", b_type = "s8", block_tile = array<i64: 32, 32, 128>, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "staged", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 0, 0, 1, 0, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = false, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 34>, stages = 4 : i64, strategy = "im2col", strides = array<i64: 1, 1>, tiles_per_block = 9 : i64, warp_tile = array<i64: 32, 32, 128>, widen = true, zero_point = 0 : i64} : (memref<1x7x7x64xi32>, memref<512x3x3x64xi32>, memref<1x7x7x64xi32>) -> ()
  return
}

// -----

func.func @tiles_per_block_over_8_bit_operands(%arg0: memref<8x14x14x64xi8> {tcconv.dims = array<i64: 8, 64, 14, 14>, tcconv.elem = "ui8", tcconv.layout = "NHWC"}, %arg1: memref<8x14x14x128xi8> {tcconv.dims = array<i64: 8, 128, 14, 14>, tcconv.elem = "ui8", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90a"} {
  %0 = "tcconv.weight"() {dims = array<i64: 128, 64, 3, 3>, elem = "i8", name = "w.ohwi", packing = "ohwi", source = "w", source_layout = "OIHW"} : () -> memref<128x3x3x64xi8>
  // expected-error @+1 {{tiles_per_block = 2: the wgmma kernel computes more tiles a block only over 4-bit operands}}
  "tcconv.conv2d"(%arg0, %0, %arg1) {a_type = "u8", b_type = "s8", block_tile = array<i64: 64, 128, 64>, clamp = array<i64: 0, 255>, epilogue = "requantize", family = "wgmma", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 0, 0, 1, 0, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = false, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 38>, tiles_per_block = 2 : i64, stages = 4 : i64, strategy = "im2col", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 64>, widen = false, zero_point = 0 : i64} : (memref<8x14x14x64xi8>, memref<128x3x3x64xi8>, memref<8x14x14x128xi8>) -> ()
  return
}

// -----

func.func @widened_weight_mma(%arg0: memref<16x16x16x8xi32> {tcconv.dims = array<i64: 16, 64, 16, 16>, tcconv.elem = "ui4", tcconv.layout = "HWNC"}, %arg1: memref<16x16x16x32xi32> {tcconv.dims = array<i64: 16, 256, 16, 16>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90a"} {
  %0 = "tcconv.weight"() {dims = array<i64: 256, 64, 3, 3>, elem = "i4", name = "w.hwoi_w8", packing = "hwoi", source = "w", source_layout = "OIHW", widened = true} : () -> memref<3x3x256x64xi8>
  // expected-error @+1 {{kernel 'mma' does not read the widened weight 'w.hwoi_w8'; only 'staged' and 'wgmma' do}}
  "tcconv.conv2d"(%arg0, %0, %arg1) {a_type = "u8", b_type = "s8", block_tile = array<i64: 64, 128, 128>, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "mma", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 0, 0, 1, 0, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = false, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 34>, stages = 4 : i64, strategy = "direct", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = true, zero_point = 0 : i64} : (memref<16x16x16x8xi32>, memref<3x3x256x64xi8>, memref<16x16x16x32xi32>) -> ()
  return
}

// -----

func.func @widened_weight_staged_without_widening(%arg0: memref<16x16x16x8xi32> {tcconv.dims = array<i64: 16, 64, 16, 16>, tcconv.elem = "ui4", tcconv.layout = "HWNC"}, %arg1: memref<16x16x16x32xi32> {tcconv.dims = array<i64: 16, 256, 16, 16>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_80"} {
  %0 = "tcconv.weight"() {dims = array<i64: 256, 64, 3, 3>, elem = "i4", name = "w.hwoi_w8", packing = "hwoi", source = "w", source_layout = "OIHW", widened = true} : () -> memref<3x3x256x64xi8>
  // expected-error @+1 {{kernel 'staged' reads the widened weight 'w.hwoi_w8' only where it widens 4-bit operands to an 8-bit MMA (widen = true)}}
  "tcconv.conv2d"(%arg0, %0, %arg1) {a_type = "u4", b_type = "s4", block_tile = array<i64: 64, 128, 128>, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "staged", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 64>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 0, 0, 1, 0, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = false, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 34>, stages = 4 : i64, strategy = "direct", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = false, zero_point = 0 : i64} : (memref<16x16x16x8xi32>, memref<3x3x256x64xi8>, memref<16x16x16x32xi32>) -> ()
  return
}

// -----

func.func @tiled_weight_staged(%arg0: memref<16x16x16x8xi32> {tcconv.dims = array<i64: 16, 64, 16, 16>, tcconv.elem = "ui4", tcconv.layout = "HWNC"}, %arg1: memref<16x16x16x32xi32> {tcconv.dims = array<i64: 16, 256, 16, 16>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90a"} {
  %0 = "tcconv.weight"() {dims = array<i64: 256, 64, 3, 3>, elem = "i4", name = "w.hwoi_w8t", packing = "hwoi", source = "w", source_layout = "OIHW", tiles = array<i64: 64, 128>, widened = true} : () -> memref<4x5x64x128xi8>
  // expected-error @+1 {{kernel 'staged' reads untiled widened weights, not the tiled weight 'w.hwoi_w8t' (the wgmma kernel's)}}
  "tcconv.conv2d"(%arg0, %0, %arg1) {a_type = "u8", b_type = "s8", block_tile = array<i64: 64, 128, 128>, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "staged", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 0, 0, 1, 0, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = false, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 34>, stages = 4 : i64, strategy = "direct", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = true, zero_point = 0 : i64} : (memref<16x16x16x8xi32>, memref<4x5x64x128xi8>, memref<16x16x16x32xi32>) -> ()
  return
}

// -----

func.func @widened_8bit_weight(%arg0: memref<16x16x16x8xi32> {tcconv.dims = array<i64: 16, 64, 16, 16>, tcconv.elem = "ui4", tcconv.layout = "HWNC"}, %arg1: memref<16x16x16x32xi32> {tcconv.dims = array<i64: 16, 256, 16, 16>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90a"} {
  // expected-error @+1 {{a widened weight is a 4-bit conv weight}}
  %0 = "tcconv.weight"() {dims = array<i64: 256, 64, 3, 3>, elem = "i8", name = "w.hwoi_w8", packing = "hwoi", source = "w", source_layout = "OIHW", widened = true} : () -> memref<3x3x256x64xi8>
  "tcconv.conv2d"(%arg0, %0, %arg1) {a_type = "u8", b_type = "s8", block_tile = array<i64: 64, 128, 128>, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "wgmma", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 0, 0, 1, 0, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = false, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 34>, stages = 4 : i64, strategy = "direct", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = true, zero_point = 0 : i64} : (memref<16x16x16x8xi32>, memref<3x3x256x64xi8>, memref<16x16x16x32xi32>) -> ()
  return
}

// -----

func.func @tiles_not_the_plans(%arg0: memref<16x16x16x8xi32> {tcconv.dims = array<i64: 16, 64, 16, 16>, tcconv.elem = "ui4", tcconv.layout = "HWNC"}, %arg1: memref<16x16x16x32xi32> {tcconv.dims = array<i64: 16, 256, 16, 16>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90a"} {
  %0 = "tcconv.weight"() {dims = array<i64: 256, 64, 3, 3>, elem = "i4", name = "w.hwoi_w8t", packing = "hwoi", source = "w", source_layout = "OIHW", tiles = array<i64: 64, 128>, widened = true} : () -> memref<4x5x64x128xi8>
  // expected-error @+1 {{the tiled weight 'w.hwoi_w8t' holds tiles [64, 128]; the kernel reads [128, 128]}}
  "tcconv.conv2d"(%arg0, %0, %arg1) {a_type = "u8", b_type = "s8", block_tile = array<i64: 64, 128, 128>, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "wgmma", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 0, 0, 1, 0, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = false, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 34>, stages = 4 : i64, strategy = "direct", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = true, zero_point = 0 : i64} : (memref<16x16x16x8xi32>, memref<4x5x64x128xi8>, memref<16x16x16x32xi32>) -> ()
  return
}

// -----

func.func @tiles_not_widened(%arg0: memref<16x16x16x8xi32> {tcconv.dims = array<i64: 16, 64, 16, 16>, tcconv.elem = "ui4", tcconv.layout = "HWNC"}, %arg1: memref<16x16x16x32xi32> {tcconv.dims = array<i64: 16, 256, 16, 16>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90a"} {
  // expected-error @+1 {{a tiled weight is widened}}
  %0 = "tcconv.weight"() {dims = array<i64: 256, 64, 3, 3>, elem = "i4", name = "w.hwoi_w8t", packing = "hwoi", source = "w", source_layout = "OIHW", tiles = array<i64: 128, 128>} : () -> memref<2x5x128x128xi8>
  "tcconv.conv2d"(%arg0, %0, %arg1) {a_type = "u8", b_type = "s8", block_tile = array<i64: 64, 128, 128>, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "wgmma", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 0, 0, 1, 0, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = false, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 34>, stages = 4 : i64, strategy = "direct", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = true, zero_point = 0 : i64} : (memref<16x16x16x8xi32>, memref<2x5x128x128xi8>, memref<16x16x16x32xi32>) -> ()
  return
}

// -----

func.func @blocks_per_sm_past_what_an_sm_holds(%arg0: memref<1x7x7x64xi32> {tcconv.dims = array<i64: 1, 512, 7, 7>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg1: memref<1x7x7x64xi32> {tcconv.dims = array<i64: 1, 512, 7, 7>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  %0 = "tcconv.weight"() {dims = array<i64: 512, 512, 3, 3>, elem = "i4", name = "w.ohwi", packing = "ohwi", source = "w", source_layout = "OIHW"} : () -> memref<512x3x3x64xi32>
  // expected-error @+1 {{blocks_per_sm = 12: an SM of sm_90 holds at most 4 blocks of this kernel (its shared memory, threads and registers)}}
  "tcconv.conv2d"(%arg0, %0, %arg1) {a_type = "u8", b_type = "s8", block_tile = array<i64: 32, 32, 128>, blocks_per_sm = 12 : i64, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "staged", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 0, 0, 1, 0, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = false, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 34>, stages = 4 : i64, strategy = "im2col", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = true, zero_point = 0 : i64} : (memref<1x7x7x64xi32>, memref<512x3x3x64xi32>, memref<1x7x7x64xi32>) -> ()
  return
}

// -----

func.func @blocks_per_sm_of_seventeen(%arg0: memref<1x7x7x64xi32> {tcconv.dims = array<i64: 1, 512, 7, 7>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg1: memref<1x7x7x64xi32> {tcconv.dims = array<i64: 1, 512, 7, 7>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  %0 = "tcconv.weight"() {dims = array<i64: 512, 512, 3, 3>, elem = "i4", name = "w.ohwi", packing = "ohwi", source = "w", source_layout = "OIHW"} : () -> memref<512x3x3x64xi32>
  // expected-error @+1 {{blocks_per_sm [17] must hold values in [1, 16]}}
  "tcconv.conv2d"(%arg0, %0, %arg1) {a_type = "u8", b_type = "s8", block_tile = array<i64: 32, 32, 128>, blocks_per_sm = 17 : i64, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "staged", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 0, 0, 1, 0, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = false, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 34>, stages = 4 : i64, strategy = "im2col", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = true, zero_point = 0 : i64} : (memref<1x7x7x64xi32>, memref<512x3x3x64xi32>, memref<1x7x7x64xi32>) -> ()
  return
}

// -----

func.func @blocks_per_sm_on_the_simple_kernel(%arg0: memref<1x7x7x64xi32> {tcconv.dims = array<i64: 1, 512, 7, 7>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}, %arg1: memref<1x7x7x64xi32> {tcconv.dims = array<i64: 1, 512, 7, 7>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  %0 = "tcconv.weight"() {dims = array<i64: 512, 512, 3, 3>, elem = "i4", name = "w.ohwi", packing = "ohwi", source = "w", source_layout = "OIHW"} : () -> memref<512x3x3x64xi32>
  // expected-error @+1 {{blocks_per_sm = 2: kernel 'simple' sets its own occupancy; only 'staged' (without a K cluster) and 'wgmma' take it}}
  "tcconv.conv2d"(%arg0, %0, %arg1) {a_type = "u8", b_type = "s8", block_tile = array<i64: 32, 32, 128>, blocks_per_sm = 2 : i64, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "simple", kernel = array<i64: 3, 3>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1073741824>, operandSegmentSizes = array<i32: 1, 1, 0, 0, 1, 0, 0, 0, 0>, padding = array<i64: 1, 1, 1, 1>, relu = false, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 34>, stages = 4 : i64, strategy = "im2col", strides = array<i64: 1, 1>, warp_tile = array<i64: 32, 32, 128>, widen = true, zero_point = 0 : i64} : (memref<1x7x7x64xi32>, memref<512x3x3x64xi32>, memref<1x7x7x64xi32>) -> ()
  return
}

// -----

// A pool's second output holds the output's slots: same dims (here its H x W differ)
func.func @pool_second_output_dims(%arg0: memref<2x9x9x16xi32> {tcconv.dims = array<i64: 2, 16, 9, 9>, tcconv.elem = "i16", tcconv.layout = "NHWC"}, %arg1: memref<2x5x5x16xi32> {tcconv.dims = array<i64: 2, 16, 5, 5>, tcconv.elem = "i16", tcconv.layout = "NHWC"}, %arg2: memref<2x4x4x2xi32> {tcconv.dims = array<i64: 2, 16, 4, 4>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  // expected-error @+1 {{the second output must be an integer buffer of the output's dims [2, 16, 5, 5], layout NHWC (channels innermost) and stored channels 16}}
  "tcconv.pool2d"(%arg0, %arg1, %arg2) {kernel = array<i64: 3, 3>, kind = "max", second_clamp = array<i64: 0, 15>, second_multiplier = array<i32: 1344146273>, second_rounding = "half_to_even", second_shift = array<i32: 41>, second_zero_point = 0 : i64, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (memref<2x9x9x16xi32>, memref<2x5x5x16xi32>, memref<2x4x4x2xi32>) -> ()
  return
}

// -----

// and stored channels (20 channels: 4-bit words pad them to 24)
func.func @pool_second_output_stored_channels(%arg0: memref<2x9x9x20xi32> {tcconv.dims = array<i64: 2, 20, 9, 9>, tcconv.elem = "i16", tcconv.layout = "NHWC"}, %arg1: memref<2x5x5x20xi32> {tcconv.dims = array<i64: 2, 20, 5, 5>, tcconv.elem = "i16", tcconv.layout = "NHWC"}, %arg2: memref<2x5x5x3xi32> {tcconv.dims = array<i64: 2, 20, 5, 5>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  // expected-error @+1 {{stored channels 20, found ui4 [2, 20, 5, 5] NHWC of 24 stored channels}}
  "tcconv.pool2d"(%arg0, %arg1, %arg2) {kernel = array<i64: 3, 3>, kind = "max", second_clamp = array<i64: 0, 15>, second_multiplier = array<i32: 1344146273>, second_rounding = "half_to_even", second_shift = array<i32: 41>, second_zero_point = 0 : i64, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (memref<2x9x9x20xi32>, memref<2x5x5x20xi32>, memref<2x5x5x3xi32>) -> ()
  return
}

// -----

// A second output's clamp lies in its type
func.func @pool_second_clamp_outside(%arg0: memref<2x9x9x16xi32> {tcconv.dims = array<i64: 2, 16, 9, 9>, tcconv.elem = "i16", tcconv.layout = "NHWC"}, %arg1: memref<2x5x5x16xi32> {tcconv.dims = array<i64: 2, 16, 5, 5>, tcconv.elem = "i16", tcconv.layout = "NHWC"}, %arg2: memref<2x5x5x2xi32> {tcconv.dims = array<i64: 2, 16, 5, 5>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  // expected-error @+1 {{second_clamp [0, 255] is empty or exceeds the second output's ui4 range [0, 15]}}
  "tcconv.pool2d"(%arg0, %arg1, %arg2) {kernel = array<i64: 3, 3>, kind = "max", second_clamp = array<i64: 0, 255>, second_multiplier = array<i32: 1344146273>, second_rounding = "half_to_even", second_shift = array<i32: 41>, second_zero_point = 0 : i64, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (memref<2x9x9x16xi32>, memref<2x5x5x16xi32>, memref<2x5x5x2xi32>) -> ()
  return
}

// -----

// A third operand needs the second_* attributes
func.func @pool_second_without_attributes(%arg0: memref<2x9x9x16xi32> {tcconv.dims = array<i64: 2, 16, 9, 9>, tcconv.elem = "i16", tcconv.layout = "NHWC"}, %arg1: memref<2x5x5x16xi32> {tcconv.dims = array<i64: 2, 16, 5, 5>, tcconv.elem = "i16", tcconv.layout = "NHWC"}, %arg2: memref<2x5x5x2xi32> {tcconv.dims = array<i64: 2, 16, 5, 5>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  // expected-error @+1 {{a second output operand needs the second_* requantize attributes}}
  "tcconv.pool2d"(%arg0, %arg1, %arg2) {kernel = array<i64: 3, 3>, kind = "max", padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (memref<2x9x9x16xi32>, memref<2x5x5x16xi32>, memref<2x5x5x2xi32>) -> ()
  return
}

// -----

// and the attributes a third operand
func.func @pool_second_attributes_without_operand(%arg0: memref<2x9x9x16xi32> {tcconv.dims = array<i64: 2, 16, 9, 9>, tcconv.elem = "i16", tcconv.layout = "NHWC"}, %arg1: memref<2x5x5x16xi32> {tcconv.dims = array<i64: 2, 16, 5, 5>, tcconv.elem = "i16", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
  // expected-error @+1 {{second_* requantize attributes need a second output operand}}
  "tcconv.pool2d"(%arg0, %arg1) {kernel = array<i64: 3, 3>, kind = "max", second_clamp = array<i64: 0, 15>, second_multiplier = array<i32: 1344146273>, second_rounding = "half_to_even", second_shift = array<i32: 41>, second_zero_point = 0 : i64, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (memref<2x9x9x16xi32>, memref<2x5x5x16xi32>) -> ()
  return
}
