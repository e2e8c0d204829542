// convert-qnn-to-tcconv{streams=narrow16} stores the residual streams narrow16: an internal i32
// buffer that only convs touch, as their first output or their residual operand, channel-innermost
// with an even channel count (tcconv's `storage = "narrow16"`: i16 values, exact escapes to a
// 32-bit plane). Everything else keeps 32-bit words, and streams=i32 keeps them all. The default
// (streams=auto) stores them narrow16 on sm_90a from batch 16 (@stream_at_batch_16) and, below
// it, where a stream holds 4 M elements or more (@stream_of_4m_elements): the small batch-2 cases
// keep i32 there, and sm_90 keeps i32 at every batch.
// RUN: nibble-opt %s --split-input-file --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 streams=narrow16},tcconv-verify)' | FileCheck %s
// RUN: nibble-opt %s --split-input-file --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90})' | FileCheck %s --check-prefix=WIDE
// RUN: nibble-opt %s --split-input-file --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 streams=i32})' | FileCheck %s --check-prefix=WIDE
// RUN: nibble-opt %s --split-input-file --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90a})' | FileCheck %s --check-prefixes=WIDE,AUTO
// RUN: nibble-opt %s --split-input-file --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90})' | FileCheck %s --check-prefix=AUTO90
// RUN: nibble-opt %s --split-input-file --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 streams=narrow16})' | mlir-opt-22 --irdl-file=%tcconv_irdl > /dev/null
// RUN: nibble-opt %s --split-input-file --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 streams=narrow16})' | nibble-opt | FileCheck %s
// RUN: not nibble-opt %s --split-input-file --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_90 streams=i16})' 2>&1 | FileCheck %s --check-prefix=OPTION
// OPTION: error: convert-qnn-to-tcconv: streams 'i16' is not auto, i32 or narrow16

// Both convs' sums are narrow16: the first one's is the second one's residual, the second one's
// is written and never read.
// CHECK-LABEL: func.func @stream_between_convs
// CHECK: %[[S0:.*]] = "tcconv.alloc"() {dims = array<i64: 2, 256, 8, 8>, elem = "i32", layout = "NHWC", storage = "narrow16"} : () -> memref<3x65536xi8>
// CHECK: %[[S1:.*]] = "tcconv.alloc"() {dims = array<i64: 2, 256, 8, 8>, elem = "i32", layout = "NHWC", storage = "narrow16"} : () -> memref<3x65536xi8>
// CHECK: "tcconv.conv2d"(%arg0, %{{.*}}, %{{.*}}, %arg1, %[[S0]], %{{.*}})
// CHECK: "tcconv.conv2d"(%{{.*}}, %{{.*}}, %{{.*}}, %[[S0]], %[[S1]], %arg2)
// WIDE-LABEL: func.func @stream_between_convs
// WIDE-NOT: narrow16
// WIDE: return
func.func @stream_between_convs(%x: tensor<2x8x8x64xui4>, %id: tensor<2x8x8x256xi32>) -> (tensor<2x8x8x256xui4>) {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<256x64x1x1xi4>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<256xi32>
  %c:2 = "qnn.conv2d_fused"(%x, %w, %b, %id) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NHWC", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 20>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = true, second_multiplier = array<i32: 1342218220>, second_shift = array<i32: 39>, second_rounding = "half_to_even", second_zero_point = 0 : i64, second_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 1, 1>} : (tensor<2x8x8x64xui4>, tensor<256x64x1x1xi4>, tensor<256xi32>, tensor<2x8x8x256xi32>) -> (tensor<2x8x8x256xi32>, tensor<2x8x8x256xui4>)
  %w2 = "qnn.weight"() {name = "w2"} : () -> tensor<256x256x1x1xi4>
  %b2 = "qnn.weight"() {name = "b2"} : () -> tensor<256xi32>
  %d:2 = "qnn.conv2d_fused"(%c#1, %w2, %b2, %c#0) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NHWC", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 20>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = true, second_multiplier = array<i32: 1342218220>, second_shift = array<i32: 39>, second_rounding = "half_to_even", second_zero_point = 0 : i64, second_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 1, 1>} : (tensor<2x8x8x256xui4>, tensor<256x256x1x1xi4>, tensor<256xi32>, tensor<2x8x8x256xi32>) -> (tensor<2x8x8x256xi32>, tensor<2x8x8x256xui4>)
  return %d#1 : tensor<2x8x8x256xui4>
}

// -----

// A stream the function returns stays i32 (the host reads it); the one before it is narrow.
// CHECK-LABEL: func.func @returned_stream
// CHECK-SAME: %arg2: memref<2x8x8x256xi32>
// CHECK: "tcconv.alloc"() {{.*}}storage = "narrow16"
// CHECK-NOT: narrow16
// CHECK: return
func.func @returned_stream(%x: tensor<2x8x8x64xui4>, %id: tensor<2x8x8x256xi32>) -> (tensor<2x8x8x256xi32>) {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<256x64x1x1xi4>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<256xi32>
  %c:2 = "qnn.conv2d_fused"(%x, %w, %b, %id) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NHWC", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 20>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = true, second_multiplier = array<i32: 1342218220>, second_shift = array<i32: 39>, second_rounding = "half_to_even", second_zero_point = 0 : i64, second_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 1, 1>} : (tensor<2x8x8x64xui4>, tensor<256x64x1x1xi4>, tensor<256xi32>, tensor<2x8x8x256xi32>) -> (tensor<2x8x8x256xi32>, tensor<2x8x8x256xui4>)
  %w2 = "qnn.weight"() {name = "w2"} : () -> tensor<256x256x1x1xi4>
  %b2 = "qnn.weight"() {name = "b2"} : () -> tensor<256xi32>
  %d:2 = "qnn.conv2d_fused"(%c#1, %w2, %b2, %c#0) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NHWC", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 20>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = true, second_multiplier = array<i32: 1342218220>, second_shift = array<i32: 39>, second_rounding = "half_to_even", second_zero_point = 0 : i64, second_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 1, 1>} : (tensor<2x8x8x256xui4>, tensor<256x256x1x1xi4>, tensor<256xi32>, tensor<2x8x8x256xi32>) -> (tensor<2x8x8x256xi32>, tensor<2x8x8x256xui4>)
  return %d#0 : tensor<2x8x8x256xi32>
}

// -----

// A stream that a pool reads stays i32.
// CHECK-LABEL: func.func @pooled_stream
// CHECK: %[[S0:.*]] = "tcconv.alloc"() {{.*}}storage = "narrow16"
// CHECK: %[[S1:.*]] = "tcconv.alloc"() {dims = array<i64: 2, 256, 8, 8>, elem = "i32", layout = "NHWC"} : () -> memref<2x8x8x256xi32>
// CHECK-NOT: narrow16
// CHECK: "tcconv.pool2d"(%[[S1]],
func.func @pooled_stream(%x: tensor<2x8x8x64xui4>, %id: tensor<2x8x8x256xi32>) -> (tensor<2x1x1x256xi32>) {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<256x64x1x1xi4>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<256xi32>
  %c:2 = "qnn.conv2d_fused"(%x, %w, %b, %id) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NHWC", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 20>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = true, second_multiplier = array<i32: 1342218220>, second_shift = array<i32: 39>, second_rounding = "half_to_even", second_zero_point = 0 : i64, second_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 1, 1>} : (tensor<2x8x8x64xui4>, tensor<256x64x1x1xi4>, tensor<256xi32>, tensor<2x8x8x256xi32>) -> (tensor<2x8x8x256xi32>, tensor<2x8x8x256xui4>)
  %w2 = "qnn.weight"() {name = "w2"} : () -> tensor<256x256x1x1xi4>
  %b2 = "qnn.weight"() {name = "b2"} : () -> tensor<256xi32>
  %d:2 = "qnn.conv2d_fused"(%c#1, %w2, %b2, %c#0) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NHWC", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 20>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = true, second_multiplier = array<i32: 1342218220>, second_shift = array<i32: 39>, second_rounding = "half_to_even", second_zero_point = 0 : i64, second_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 1, 1>} : (tensor<2x8x8x256xui4>, tensor<256x256x1x1xi4>, tensor<256xi32>, tensor<2x8x8x256xi32>) -> (tensor<2x8x8x256xi32>, tensor<2x8x8x256xui4>)
  %p = "qnn.avg_pool2d"(%d#0) {kernel = array<i64: 8, 8>, strides = array<i64: 8, 8>, padding = array<i64: 0, 0, 0, 0>, layout = "NHWC"} : (tensor<2x8x8x256xi32>) -> tensor<2x1x1x256xi32>
  return %p : tensor<2x1x1x256xi32>
}

// -----

// An odd channel count (a channel pair would straddle two words) keeps i32.
// CHECK-LABEL: func.func @odd_channels
// CHECK-NOT: narrow16
// CHECK: return
func.func @odd_channels(%x: tensor<2x8x8x64xui4>, %id: tensor<2x8x8x255xi32>) -> (tensor<2x8x8x255xui4>) {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<255x64x1x1xi4>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<255xi32>
  %c:2 = "qnn.conv2d_fused"(%x, %w, %b, %id) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NHWC", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 20>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = true, second_multiplier = array<i32: 1342218220>, second_shift = array<i32: 39>, second_rounding = "half_to_even", second_zero_point = 0 : i64, second_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 1, 1>} : (tensor<2x8x8x64xui4>, tensor<255x64x1x1xi4>, tensor<255xi32>, tensor<2x8x8x255xi32>) -> (tensor<2x8x8x255xi32>, tensor<2x8x8x255xui4>)
  %w2 = "qnn.weight"() {name = "w2"} : () -> tensor<255x255x1x1xi4>
  %b2 = "qnn.weight"() {name = "b2"} : () -> tensor<255xi32>
  %d:2 = "qnn.conv2d_fused"(%c#1, %w2, %b2, %c#0) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NHWC", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 20>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = true, second_multiplier = array<i32: 1342218220>, second_shift = array<i32: 39>, second_rounding = "half_to_even", second_zero_point = 0 : i64, second_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 1, 1>} : (tensor<2x8x8x255xui4>, tensor<255x255x1x1xi4>, tensor<255xi32>, tensor<2x8x8x255xi32>) -> (tensor<2x8x8x255xi32>, tensor<2x8x8x255xui4>)
  return %d#1 : tensor<2x8x8x255xui4>
}

// -----

// A stream of batch 16: narrow16 by default on sm_90a (streams=auto), i32 on sm_90.
// CHECK-LABEL: func.func @stream_at_batch_16
// CHECK: storage = "narrow16"
// AUTO-LABEL: func.func @stream_at_batch_16
// AUTO: %[[S0:.*]] = "tcconv.alloc"() {dims = array<i64: 16, 256, 2, 2>, elem = "i32", layout = "NHWC", storage = "narrow16"}
// AUTO90-LABEL: func.func @stream_at_batch_16
// AUTO90-NOT: narrow16
// AUTO90: return
func.func @stream_at_batch_16(%x: tensor<16x2x2x64xui4>, %id: tensor<16x2x2x256xi32>) -> (tensor<16x2x2x256xui4>) {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<256x64x1x1xi4>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<256xi32>
  %c:2 = "qnn.conv2d_fused"(%x, %w, %b, %id) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NHWC", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 20>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = true, second_multiplier = array<i32: 1342218220>, second_shift = array<i32: 39>, second_rounding = "half_to_even", second_zero_point = 0 : i64, second_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 1, 1>} : (tensor<16x2x2x64xui4>, tensor<256x64x1x1xi4>, tensor<256xi32>, tensor<16x2x2x256xi32>) -> (tensor<16x2x2x256xi32>, tensor<16x2x2x256xui4>)
  %w2 = "qnn.weight"() {name = "w2"} : () -> tensor<256x256x1x1xi4>
  %b2 = "qnn.weight"() {name = "b2"} : () -> tensor<256xi32>
  %d:2 = "qnn.conv2d_fused"(%c#1, %w2, %b2, %c#0) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NHWC", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 20>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = true, second_multiplier = array<i32: 1342218220>, second_shift = array<i32: 39>, second_rounding = "half_to_even", second_zero_point = 0 : i64, second_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 1, 1>} : (tensor<16x2x2x256xui4>, tensor<256x256x1x1xi4>, tensor<256xi32>, tensor<16x2x2x256xi32>) -> (tensor<16x2x2x256xi32>, tensor<16x2x2x256xui4>)
  return %d#1 : tensor<16x2x2x256xui4>
}

// -----

// A stream of 4 x 256 x 64 x 64 = 2^22 elements at batch 4: narrow16 by default on sm_90a
// (streams=auto), i32 on sm_90.
// CHECK-LABEL: func.func @stream_of_4m_elements
// CHECK: storage = "narrow16"
// AUTO-LABEL: func.func @stream_of_4m_elements
// AUTO: %[[S0:.*]] = "tcconv.alloc"() {dims = array<i64: 4, 256, 64, 64>, elem = "i32", layout = "NHWC", storage = "narrow16"}
// AUTO90-LABEL: func.func @stream_of_4m_elements
// AUTO90-NOT: narrow16
// AUTO90: return
func.func @stream_of_4m_elements(%x: tensor<4x64x64x64xui4>, %id: tensor<4x64x64x256xi32>) -> (tensor<4x64x64x256xui4>) {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<256x64x1x1xi4>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<256xi32>
  %c:2 = "qnn.conv2d_fused"(%x, %w, %b, %id) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NHWC", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 20>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = true, second_multiplier = array<i32: 1342218220>, second_shift = array<i32: 39>, second_rounding = "half_to_even", second_zero_point = 0 : i64, second_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 1, 1>} : (tensor<4x64x64x64xui4>, tensor<256x64x1x1xi4>, tensor<256xi32>, tensor<4x64x64x256xi32>) -> (tensor<4x64x64x256xi32>, tensor<4x64x64x256xui4>)
  %w2 = "qnn.weight"() {name = "w2"} : () -> tensor<256x256x1x1xi4>
  %b2 = "qnn.weight"() {name = "b2"} : () -> tensor<256xi32>
  %d:2 = "qnn.conv2d_fused"(%c#1, %w2, %b2, %c#0) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NHWC", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 20>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = true, second_multiplier = array<i32: 1342218220>, second_shift = array<i32: 39>, second_rounding = "half_to_even", second_zero_point = 0 : i64, second_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 1, 1>} : (tensor<4x64x64x256xui4>, tensor<256x256x1x1xi4>, tensor<256xi32>, tensor<4x64x64x256xi32>) -> (tensor<4x64x64x256xi32>, tensor<4x64x64x256xui4>)
  return %d#1 : tensor<4x64x64x256xui4>
}

// -----

// A stream of 4 x 256 x 62 x 64 elements, just under 2^22: i32 by default at batch 4.
// CHECK-LABEL: func.func @stream_under_4m_elements
// CHECK: storage = "narrow16"
// WIDE-LABEL: func.func @stream_under_4m_elements
// WIDE-NOT: narrow16
// WIDE: return
func.func @stream_under_4m_elements(%x: tensor<4x62x64x64xui4>, %id: tensor<4x62x64x256xi32>) -> (tensor<4x62x64x256xui4>) {
  %w = "qnn.weight"() {name = "w"} : () -> tensor<256x64x1x1xi4>
  %b = "qnn.weight"() {name = "b"} : () -> tensor<256xi32>
  %c:2 = "qnn.conv2d_fused"(%x, %w, %b, %id) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NHWC", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 20>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = true, second_multiplier = array<i32: 1342218220>, second_shift = array<i32: 39>, second_rounding = "half_to_even", second_zero_point = 0 : i64, second_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 1, 1>} : (tensor<4x62x64x64xui4>, tensor<256x64x1x1xi4>, tensor<256xi32>, tensor<4x62x64x256xi32>) -> (tensor<4x62x64x256xi32>, tensor<4x62x64x256xui4>)
  %w2 = "qnn.weight"() {name = "w2"} : () -> tensor<256x256x1x1xi4>
  %b2 = "qnn.weight"() {name = "b2"} : () -> tensor<256xi32>
  %d:2 = "qnn.conv2d_fused"(%c#1, %w2, %b2, %c#0) {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = "NHWC", kernel_layout = "OIHW", epilogue = "residual", multiplier = array<i32: 1073741824>, shift = array<i32: 20>, residual_multiplier = array<i32: 1073741824>, residual_shift = array<i32: 30>, zero_point = 0 : i64, rounding = "half_to_even", clamp = array<i64: -2147483648, 2147483647>, relu = true, second_multiplier = array<i32: 1342218220>, second_shift = array<i32: 39>, second_rounding = "half_to_even", second_zero_point = 0 : i64, second_clamp = array<i64: 0, 15>, operandSegmentSizes = array<i32: 1, 1, 1, 1>} : (tensor<4x62x64x256xui4>, tensor<256x256x1x1xi4>, tensor<256xi32>, tensor<4x62x64x256xi32>) -> (tensor<4x62x64x256xi32>, tensor<4x62x64x256xui4>)
  return %d#1 : tensor<4x62x64x256xui4>
}
