// ResNet-18 (HAWQ W4A4) from `nibble-gen example --arch resnet18 --bits w4a4 --no-calibrate
// --image-size 32 --batch 16`, hand-trimmed: per-channel requantize / add scales cut to their first
// channel (per-tensor), so the file stays readable. The op sequence is HAWQ's (hawq.rs).
module {
  func.func @resnet18_hawq(%arg0: tensor<16x3x32x32xf32>) -> tensor<16x1000xf32> {
    %0 = "qnn.quantize"(%arg0) {layout = "NCHW", scale = 0x3CC18306 : f32} : (tensor<16x3x32x32xf32>) -> tensor<16x3x32x32xi8>
    %1 = "qnn.weight"() {name = "quant_init_block_convbn.weight_integer"} : () -> tensor<64x3x7x7xi8>
    %2 = "qnn.weight"() {name = "quant_init_block_convbn.bias_integer"} : () -> tensor<64xi32>
    %3 = "qnn.conv2d"(%0, %1, %2) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 3, 3, 3, 3>, strides = array<i64: 2, 2>} : (tensor<16x3x32x32xi8>, tensor<64x3x7x7xi8>, tensor<64xi32>) -> tensor<16x64x16x16xi32>
    %4 = "qnn.max_pool2d"(%3) {kernel = array<i64: 3, 3>, layout = "NCHW", padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<16x64x16x16xi32>) -> tensor<16x64x8x8xi32>
    %5 = "qnn.requantize"(%4) {clamp = array<i64: -32768, 32767>, layout = "NCHW", multiplier = array<i32: 1362937990>, rounding = "half_to_even", shift = array<i32: 34>, zero_point = 0 : i64} : (tensor<16x64x8x8xi32>) -> tensor<16x64x8x8xi16>
    %6 = "qnn.relu"(%5) {layout = "NCHW"} : (tensor<16x64x8x8xi16>) -> tensor<16x64x8x8xi16>
    %7 = "qnn.requantize"(%6) {clamp = array<i64: 0, 15>, layout = "NCHW", multiplier = array<i32: 1342218220>, rounding = "half_to_even", shift = array<i32: 39>, zero_point = 0 : i64} : (tensor<16x64x8x8xi16>) -> tensor<16x64x8x8xui4>
    %8 = "qnn.weight"() {name = "stage1.unit1.quant_convbn1.weight_integer"} : () -> tensor<64x64x3x3xi4>
    %9 = "qnn.weight"() {name = "stage1.unit1.quant_convbn1.bias_integer"} : () -> tensor<64xi32>
    %10 = "qnn.conv2d"(%7, %8, %9) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<16x64x8x8xui4>, tensor<64x64x3x3xi4>, tensor<64xi32>) -> tensor<16x64x8x8xi32>
    %11 = "qnn.relu"(%10) {layout = "NCHW"} : (tensor<16x64x8x8xi32>) -> tensor<16x64x8x8xi32>
    %12 = "qnn.requantize"(%11) {clamp = array<i64: 0, 15>, layout = "NCHW", multiplier = array<i32: 2071395169>, rounding = "half_to_even", shift = array<i32: 37>, zero_point = 0 : i64} : (tensor<16x64x8x8xi32>) -> tensor<16x64x8x8xui4>
    %13 = "qnn.weight"() {name = "stage1.unit1.quant_convbn2.weight_integer"} : () -> tensor<64x64x3x3xi4>
    %14 = "qnn.weight"() {name = "stage1.unit1.quant_convbn2.bias_integer"} : () -> tensor<64xi32>
    %15 = "qnn.conv2d"(%12, %13, %14) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<16x64x8x8xui4>, tensor<64x64x3x3xi4>, tensor<64xi32>) -> tensor<16x64x8x8xi32>
    %16 = "qnn.add"(%15, %6) {clamp = array<i64: -2147483648, 2147483647>, layout = "NCHW", lhs_multiplier = array<i32: 1390354370>, lhs_shift = array<i32: 28>, rhs_multiplier = array<i32: 1073741824>, rhs_shift = array<i32: 30>, rounding = "half_to_even"} : (tensor<16x64x8x8xi32>, tensor<16x64x8x8xi16>) -> tensor<16x64x8x8xi32>
    %17 = "qnn.relu"(%16) {layout = "NCHW"} : (tensor<16x64x8x8xi32>) -> tensor<16x64x8x8xi32>
    %18 = "qnn.requantize"(%17) {clamp = array<i64: 0, 15>, layout = "NCHW", multiplier = array<i32: 1342218220>, rounding = "half_to_even", shift = array<i32: 39>, zero_point = 0 : i64} : (tensor<16x64x8x8xi32>) -> tensor<16x64x8x8xui4>
    %19 = "qnn.weight"() {name = "stage1.unit2.quant_convbn1.weight_integer"} : () -> tensor<64x64x3x3xi4>
    %20 = "qnn.weight"() {name = "stage1.unit2.quant_convbn1.bias_integer"} : () -> tensor<64xi32>
    %21 = "qnn.conv2d"(%18, %19, %20) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<16x64x8x8xui4>, tensor<64x64x3x3xi4>, tensor<64xi32>) -> tensor<16x64x8x8xi32>
    %22 = "qnn.relu"(%21) {layout = "NCHW"} : (tensor<16x64x8x8xi32>) -> tensor<16x64x8x8xi32>
    %23 = "qnn.requantize"(%22) {clamp = array<i64: 0, 15>, layout = "NCHW", multiplier = array<i32: 2124455328>, rounding = "half_to_even", shift = array<i32: 37>, zero_point = 0 : i64} : (tensor<16x64x8x8xi32>) -> tensor<16x64x8x8xui4>
    %24 = "qnn.weight"() {name = "stage1.unit2.quant_convbn2.weight_integer"} : () -> tensor<64x64x3x3xi4>
    %25 = "qnn.weight"() {name = "stage1.unit2.quant_convbn2.bias_integer"} : () -> tensor<64xi32>
    %26 = "qnn.conv2d"(%23, %24, %25) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<16x64x8x8xui4>, tensor<64x64x3x3xi4>, tensor<64xi32>) -> tensor<16x64x8x8xi32>
    %27 = "qnn.add"(%26, %17) {clamp = array<i64: -2147483648, 2147483647>, layout = "NCHW", lhs_multiplier = array<i32: 1765829887>, lhs_shift = array<i32: 28>, rhs_multiplier = array<i32: 1073741824>, rhs_shift = array<i32: 30>, rounding = "half_to_even"} : (tensor<16x64x8x8xi32>, tensor<16x64x8x8xi32>) -> tensor<16x64x8x8xi32>
    %28 = "qnn.relu"(%27) {layout = "NCHW"} : (tensor<16x64x8x8xi32>) -> tensor<16x64x8x8xi32>
    %29 = "qnn.requantize"(%28) {clamp = array<i64: 0, 15>, layout = "NCHW", multiplier = array<i32: 1342218220>, rounding = "half_to_even", shift = array<i32: 39>, zero_point = 0 : i64} : (tensor<16x64x8x8xi32>) -> tensor<16x64x8x8xui4>
    %30 = "qnn.weight"() {name = "stage2.unit1.quant_identity_convbn.weight_integer"} : () -> tensor<128x64x1x1xi4>
    %31 = "qnn.weight"() {name = "stage2.unit1.quant_identity_convbn.bias_integer"} : () -> tensor<128xi32>
    %32 = "qnn.conv2d"(%29, %30, %31) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<16x64x8x8xui4>, tensor<128x64x1x1xi4>, tensor<128xi32>) -> tensor<16x128x4x4xi32>
    %33 = "qnn.weight"() {name = "stage2.unit1.quant_convbn1.weight_integer"} : () -> tensor<128x64x3x3xi4>
    %34 = "qnn.weight"() {name = "stage2.unit1.quant_convbn1.bias_integer"} : () -> tensor<128xi32>
    %35 = "qnn.conv2d"(%29, %33, %34) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<16x64x8x8xui4>, tensor<128x64x3x3xi4>, tensor<128xi32>) -> tensor<16x128x4x4xi32>
    %36 = "qnn.relu"(%35) {layout = "NCHW"} : (tensor<16x128x4x4xi32>) -> tensor<16x128x4x4xi32>
    %37 = "qnn.requantize"(%36) {clamp = array<i64: 0, 15>, layout = "NCHW", multiplier = array<i32: 1869359972>, rounding = "half_to_even", shift = array<i32: 37>, zero_point = 0 : i64} : (tensor<16x128x4x4xi32>) -> tensor<16x128x4x4xui4>
    %38 = "qnn.weight"() {name = "stage2.unit1.quant_convbn2.weight_integer"} : () -> tensor<128x128x3x3xi4>
    %39 = "qnn.weight"() {name = "stage2.unit1.quant_convbn2.bias_integer"} : () -> tensor<128xi32>
    %40 = "qnn.conv2d"(%37, %38, %39) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<16x128x4x4xui4>, tensor<128x128x3x3xi4>, tensor<128xi32>) -> tensor<16x128x4x4xi32>
    %41 = "qnn.add"(%40, %32) {clamp = array<i64: -2147483648, 2147483647>, layout = "NCHW", lhs_multiplier = array<i32: 2047844193>, lhs_shift = array<i32: 29>, rhs_multiplier = array<i32: 1202905498>, rhs_shift = array<i32: 26>, rounding = "half_to_even"} : (tensor<16x128x4x4xi32>, tensor<16x128x4x4xi32>) -> tensor<16x128x4x4xi32>
    %42 = "qnn.relu"(%41) {layout = "NCHW"} : (tensor<16x128x4x4xi32>) -> tensor<16x128x4x4xi32>
    %43 = "qnn.requantize"(%42) {clamp = array<i64: 0, 15>, layout = "NCHW", multiplier = array<i32: 1342218220>, rounding = "half_to_even", shift = array<i32: 39>, zero_point = 0 : i64} : (tensor<16x128x4x4xi32>) -> tensor<16x128x4x4xui4>
    %44 = "qnn.weight"() {name = "stage2.unit2.quant_convbn1.weight_integer"} : () -> tensor<128x128x3x3xi4>
    %45 = "qnn.weight"() {name = "stage2.unit2.quant_convbn1.bias_integer"} : () -> tensor<128xi32>
    %46 = "qnn.conv2d"(%43, %44, %45) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<16x128x4x4xui4>, tensor<128x128x3x3xi4>, tensor<128xi32>) -> tensor<16x128x4x4xi32>
    %47 = "qnn.relu"(%46) {layout = "NCHW"} : (tensor<16x128x4x4xi32>) -> tensor<16x128x4x4xi32>
    %48 = "qnn.requantize"(%47) {clamp = array<i64: 0, 15>, layout = "NCHW", multiplier = array<i32: 1101252064>, rounding = "half_to_even", shift = array<i32: 37>, zero_point = 0 : i64} : (tensor<16x128x4x4xi32>) -> tensor<16x128x4x4xui4>
    %49 = "qnn.weight"() {name = "stage2.unit2.quant_convbn2.weight_integer"} : () -> tensor<128x128x3x3xi4>
    %50 = "qnn.weight"() {name = "stage2.unit2.quant_convbn2.bias_integer"} : () -> tensor<128xi32>
    %51 = "qnn.conv2d"(%48, %49, %50) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<16x128x4x4xui4>, tensor<128x128x3x3xi4>, tensor<128xi32>) -> tensor<16x128x4x4xi32>
    %52 = "qnn.add"(%51, %42) {clamp = array<i64: -2147483648, 2147483647>, layout = "NCHW", lhs_multiplier = array<i32: 1138607428>, lhs_shift = array<i32: 28>, rhs_multiplier = array<i32: 1073741824>, rhs_shift = array<i32: 30>, rounding = "half_to_even"} : (tensor<16x128x4x4xi32>, tensor<16x128x4x4xi32>) -> tensor<16x128x4x4xi32>
    %53 = "qnn.relu"(%52) {layout = "NCHW"} : (tensor<16x128x4x4xi32>) -> tensor<16x128x4x4xi32>
    %54 = "qnn.requantize"(%53) {clamp = array<i64: 0, 15>, layout = "NCHW", multiplier = array<i32: 1342218220>, rounding = "half_to_even", shift = array<i32: 39>, zero_point = 0 : i64} : (tensor<16x128x4x4xi32>) -> tensor<16x128x4x4xui4>
    %55 = "qnn.weight"() {name = "stage3.unit1.quant_identity_convbn.weight_integer"} : () -> tensor<256x128x1x1xi4>
    %56 = "qnn.weight"() {name = "stage3.unit1.quant_identity_convbn.bias_integer"} : () -> tensor<256xi32>
    %57 = "qnn.conv2d"(%54, %55, %56) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<16x128x4x4xui4>, tensor<256x128x1x1xi4>, tensor<256xi32>) -> tensor<16x256x2x2xi32>
    %58 = "qnn.weight"() {name = "stage3.unit1.quant_convbn1.weight_integer"} : () -> tensor<256x128x3x3xi4>
    %59 = "qnn.weight"() {name = "stage3.unit1.quant_convbn1.bias_integer"} : () -> tensor<256xi32>
    %60 = "qnn.conv2d"(%54, %58, %59) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<16x128x4x4xui4>, tensor<256x128x3x3xi4>, tensor<256xi32>) -> tensor<16x256x2x2xi32>
    %61 = "qnn.relu"(%60) {layout = "NCHW"} : (tensor<16x256x2x2xi32>) -> tensor<16x256x2x2xi32>
    %62 = "qnn.requantize"(%61) {clamp = array<i64: 0, 15>, layout = "NCHW", multiplier = array<i32: 1703652935>, rounding = "half_to_even", shift = array<i32: 37>, zero_point = 0 : i64} : (tensor<16x256x2x2xi32>) -> tensor<16x256x2x2xui4>
    %63 = "qnn.weight"() {name = "stage3.unit1.quant_convbn2.weight_integer"} : () -> tensor<256x256x3x3xi4>
    %64 = "qnn.weight"() {name = "stage3.unit1.quant_convbn2.bias_integer"} : () -> tensor<256xi32>
    %65 = "qnn.conv2d"(%62, %63, %64) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<16x256x2x2xui4>, tensor<256x256x3x3xi4>, tensor<256xi32>) -> tensor<16x256x2x2xi32>
    %66 = "qnn.add"(%65, %57) {clamp = array<i64: -2147483648, 2147483647>, layout = "NCHW", lhs_multiplier = array<i32: 1995776790>, lhs_shift = array<i32: 29>, rhs_multiplier = array<i32: 1292596585>, rhs_shift = array<i32: 27>, rounding = "half_to_even"} : (tensor<16x256x2x2xi32>, tensor<16x256x2x2xi32>) -> tensor<16x256x2x2xi32>
    %67 = "qnn.relu"(%66) {layout = "NCHW"} : (tensor<16x256x2x2xi32>) -> tensor<16x256x2x2xi32>
    %68 = "qnn.requantize"(%67) {clamp = array<i64: 0, 15>, layout = "NCHW", multiplier = array<i32: 1342218220>, rounding = "half_to_even", shift = array<i32: 39>, zero_point = 0 : i64} : (tensor<16x256x2x2xi32>) -> tensor<16x256x2x2xui4>
    %69 = "qnn.weight"() {name = "stage3.unit2.quant_convbn1.weight_integer"} : () -> tensor<256x256x3x3xi4>
    %70 = "qnn.weight"() {name = "stage3.unit2.quant_convbn1.bias_integer"} : () -> tensor<256xi32>
    %71 = "qnn.conv2d"(%68, %69, %70) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<16x256x2x2xui4>, tensor<256x256x3x3xi4>, tensor<256xi32>) -> tensor<16x256x2x2xi32>
    %72 = "qnn.relu"(%71) {layout = "NCHW"} : (tensor<16x256x2x2xi32>) -> tensor<16x256x2x2xi32>
    %73 = "qnn.requantize"(%72) {clamp = array<i64: 0, 15>, layout = "NCHW", multiplier = array<i32: 1224907102>, rounding = "half_to_even", shift = array<i32: 37>, zero_point = 0 : i64} : (tensor<16x256x2x2xi32>) -> tensor<16x256x2x2xui4>
    %74 = "qnn.weight"() {name = "stage3.unit2.quant_convbn2.weight_integer"} : () -> tensor<256x256x3x3xi4>
    %75 = "qnn.weight"() {name = "stage3.unit2.quant_convbn2.bias_integer"} : () -> tensor<256xi32>
    %76 = "qnn.conv2d"(%73, %74, %75) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<16x256x2x2xui4>, tensor<256x256x3x3xi4>, tensor<256xi32>) -> tensor<16x256x2x2xi32>
    %77 = "qnn.add"(%76, %67) {clamp = array<i64: -2147483648, 2147483647>, layout = "NCHW", lhs_multiplier = array<i32: 1682717544>, lhs_shift = array<i32: 29>, rhs_multiplier = array<i32: 1073741824>, rhs_shift = array<i32: 30>, rounding = "half_to_even"} : (tensor<16x256x2x2xi32>, tensor<16x256x2x2xi32>) -> tensor<16x256x2x2xi32>
    %78 = "qnn.relu"(%77) {layout = "NCHW"} : (tensor<16x256x2x2xi32>) -> tensor<16x256x2x2xi32>
    %79 = "qnn.requantize"(%78) {clamp = array<i64: 0, 15>, layout = "NCHW", multiplier = array<i32: 1342218220>, rounding = "half_to_even", shift = array<i32: 39>, zero_point = 0 : i64} : (tensor<16x256x2x2xi32>) -> tensor<16x256x2x2xui4>
    %80 = "qnn.weight"() {name = "stage4.unit1.quant_identity_convbn.weight_integer"} : () -> tensor<512x256x1x1xi4>
    %81 = "qnn.weight"() {name = "stage4.unit1.quant_identity_convbn.bias_integer"} : () -> tensor<512xi32>
    %82 = "qnn.conv2d"(%79, %80, %81) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<16x256x2x2xui4>, tensor<512x256x1x1xi4>, tensor<512xi32>) -> tensor<16x512x1x1xi32>
    %83 = "qnn.weight"() {name = "stage4.unit1.quant_convbn1.weight_integer"} : () -> tensor<512x256x3x3xi4>
    %84 = "qnn.weight"() {name = "stage4.unit1.quant_convbn1.bias_integer"} : () -> tensor<512xi32>
    %85 = "qnn.conv2d"(%79, %83, %84) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<16x256x2x2xui4>, tensor<512x256x3x3xi4>, tensor<512xi32>) -> tensor<16x512x1x1xi32>
    %86 = "qnn.relu"(%85) {layout = "NCHW"} : (tensor<16x512x1x1xi32>) -> tensor<16x512x1x1xi32>
    %87 = "qnn.requantize"(%86) {clamp = array<i64: 0, 15>, layout = "NCHW", multiplier = array<i32: 1098211424>, rounding = "half_to_even", shift = array<i32: 37>, zero_point = 0 : i64} : (tensor<16x512x1x1xi32>) -> tensor<16x512x1x1xui4>
    %88 = "qnn.weight"() {name = "stage4.unit1.quant_convbn2.weight_integer"} : () -> tensor<512x512x3x3xi4>
    %89 = "qnn.weight"() {name = "stage4.unit1.quant_convbn2.bias_integer"} : () -> tensor<512xi32>
    %90 = "qnn.conv2d"(%87, %88, %89) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<16x512x1x1xui4>, tensor<512x512x3x3xi4>, tensor<512xi32>) -> tensor<16x512x1x1xi32>
    %91 = "qnn.add"(%90, %82) {clamp = array<i64: -2147483648, 2147483647>, layout = "NCHW", lhs_multiplier = array<i32: 1351289962>, lhs_shift = array<i32: 29>, rhs_multiplier = array<i32: 1439367018>, rhs_shift = array<i32: 27>, rounding = "half_to_even"} : (tensor<16x512x1x1xi32>, tensor<16x512x1x1xi32>) -> tensor<16x512x1x1xi32>
    %92 = "qnn.relu"(%91) {layout = "NCHW"} : (tensor<16x512x1x1xi32>) -> tensor<16x512x1x1xi32>
    %93 = "qnn.requantize"(%92) {clamp = array<i64: 0, 15>, layout = "NCHW", multiplier = array<i32: 1342218220>, rounding = "half_to_even", shift = array<i32: 39>, zero_point = 0 : i64} : (tensor<16x512x1x1xi32>) -> tensor<16x512x1x1xui4>
    %94 = "qnn.weight"() {name = "stage4.unit2.quant_convbn1.weight_integer"} : () -> tensor<512x512x3x3xi4>
    %95 = "qnn.weight"() {name = "stage4.unit2.quant_convbn1.bias_integer"} : () -> tensor<512xi32>
    %96 = "qnn.conv2d"(%93, %94, %95) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<16x512x1x1xui4>, tensor<512x512x3x3xi4>, tensor<512xi32>) -> tensor<16x512x1x1xi32>
    %97 = "qnn.relu"(%96) {layout = "NCHW"} : (tensor<16x512x1x1xi32>) -> tensor<16x512x1x1xi32>
    %98 = "qnn.requantize"(%97) {clamp = array<i64: 0, 15>, layout = "NCHW", multiplier = array<i32: 1661340455>, rounding = "half_to_even", shift = array<i32: 38>, zero_point = 0 : i64} : (tensor<16x512x1x1xi32>) -> tensor<16x512x1x1xui4>
    %99 = "qnn.weight"() {name = "stage4.unit2.quant_convbn2.weight_integer"} : () -> tensor<512x512x3x3xi4>
    %100 = "qnn.weight"() {name = "stage4.unit2.quant_convbn2.bias_integer"} : () -> tensor<512xi32>
    %101 = "qnn.conv2d"(%98, %99, %100) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<16x512x1x1xui4>, tensor<512x512x3x3xi4>, tensor<512xi32>) -> tensor<16x512x1x1xi32>
    %102 = "qnn.add"(%101, %92) {clamp = array<i64: -2147483648, 2147483647>, layout = "NCHW", lhs_multiplier = array<i32: 2068722916>, lhs_shift = array<i32: 30>, rhs_multiplier = array<i32: 1073741824>, rhs_shift = array<i32: 30>, rounding = "half_to_even"} : (tensor<16x512x1x1xi32>, tensor<16x512x1x1xi32>) -> tensor<16x512x1x1xi32>
    %103 = "qnn.relu"(%102) {layout = "NCHW"} : (tensor<16x512x1x1xi32>) -> tensor<16x512x1x1xi32>
    %104 = "qnn.avg_pool2d"(%103) {kernel = array<i64: 1, 1>, layout = "NCHW", padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<16x512x1x1xi32>) -> tensor<16x512x1x1xi32>
    %105 = "qnn.requantize"(%104) {clamp = array<i64: -128, 127>, layout = "NCHW", multiplier = array<i32: 1420514309>, rounding = "half_to_even", shift = array<i32: 36>, zero_point = 0 : i64} : (tensor<16x512x1x1xi32>) -> tensor<16x512x1x1xi8>
    %106 = "qnn.flatten"(%105) {layout = "NCHW"} : (tensor<16x512x1x1xi8>) -> tensor<16x512xi8>
    %107 = "qnn.weight"() {name = "quant_output.weight_integer"} : () -> tensor<1000x512xi8>
    %108 = "qnn.weight"() {name = "quant_output.bias_integer"} : () -> tensor<1000xi32>
    %109 = "qnn.dense"(%106, %107, %108) {} : (tensor<16x512xi8>, tensor<1000x512xi8>, tensor<1000xi32>) -> tensor<16x1000xi32>
    %110 = "qnn.dequantize"(%109) {layout = "NC", scale = array<f32: 2.013513e-5>} : (tensor<16x1000xi32>) -> tensor<16x1000xf32>
    return %110 : tensor<16x1000xf32>
  }
}
