// A conv with a fused input quantize whose input is not f32 (tcconv-verify not run first): convert-tcconv-to-gpu refuses it.
module {
  func.func @stem(%arg0: memref<1x39x39x4xi8> {tcconv.dims = array<i64: 1, 3, 39, 39>, tcconv.elem = "i8", tcconv.layout = "NHWC"}, %arg1: memref<1x20x20x2xi32> {tcconv.dims = array<i64: 1, 16, 20, 20>, tcconv.elem = "ui4", tcconv.layout = "NHWC"}) attributes {tcconv.num_inputs = 1 : i64, tcconv.target = "sm_90"} {
    %0 = "tcconv.weight"() {dims = array<i64: 16, 3, 7, 7>, elem = "i8", name = "w.ohwi", packing = "ohwi", source = "w", source_layout = "OIHW"} : () -> memref<16x7x7x4xi8>
    %1 = "tcconv.weight"() {dims = array<i64: 16, 1, 1, 1>, elem = "i32", name = "b.bias", packing = "bias", source = "b", source_layout = "OIHW"} : () -> memref<16xi32>
    "tcconv.conv2d"(%arg0, %0, %1, %arg1) {a_type = "s8", b_type = "s8", block_tile = array<i64: 32, 32, 64>, clamp = array<i64: 0, 15>, epilogue = "requantize", family = "mma", input_elem = "i8", input_layout = "NHWC", input_mode = "divide", input_scale = 2.100000e-02 : f32, input_zero_point = 5 : i64, kernel = array<i64: 7, 7>, mma = array<i64: 16, 8, 32>, multiplier = array<i32: 1518500250>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 0, 0, 0>, padding = array<i64: 3, 3, 3, 3>, relu = true, residual_multiplier = array<i32>, residual_shift = array<i32>, rounding = "half_to_even", shift = array<i32: 40>, stages = 4 : i64, strategy = "im2col", strides = array<i64: 2, 2>, warp_tile = array<i64: 32, 32, 64>, widen = false, zero_point = 0 : i64} : (memref<1x39x39x4xi8>, memref<16x7x7x4xi8>, memref<16xi32>, memref<1x20x20x2xi32>) -> ()
    return
  }
}
