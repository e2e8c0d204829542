// ONNX QDQ models (made by onnxruntime's quantize_static, models/fixtures/onnx/) import, verify,
// run on the CPU reference, and lower to PTX for every target; an unsupported node is a
// one-line error naming it, exit 1.
// RUN: rm -rf %t && mkdir -p %t
// RUN: nibble-gen import %hawq_fixtures/onnx/resnet_u8.onnx -o %t/r | FileCheck %s --check-prefix=IMPORT
// IMPORT: imported {{.*}}resnet_u8.onnx ({{[0-9]+}} qnn ops, 18 weights)
// RUN: FileCheck %s --check-prefix=IR < %t/r/model.mlir
// IR: "qnn.quantize"(%arg0) {layout = "NCHW", mode = "divide", scale = {{.*}}, zero_point = [[ZP:[0-9]+]] : i64} : (tensor<8x3x32x32xf32>) -> tensor<8x3x32x32xui8>
// IR: "qnn.conv2d"({{.*}}) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 1, 1, 1, 1>, padding_value = [[ZP]] : i64, strides = array<i64: 1, 1>}
// IR: rounding = "f32_half_to_even"
// IR: "qnn.add"({{.*}}) {bias = {{.*}}, clamp = array<i64: 0, 255>, {{.*}} rounding = "f32_fma"}
// IR: "qnn.avg_pool2d"({{.*}}) {divisor = 1 : i64, kernel = array<i64: 8, 8>
// IR: "qnn.dense"
// IR: "qnn.dequantize"
// RUN: nibble-run --cpu %t/r/model.mlir --input %hawq_fixtures/onnx/resnet_u8.input.npy --check %hawq_fixtures/onnx/resnet_u8.ort.npy | FileCheck %s --check-prefix=CPU
// CPU-COUNT-4: top-5 classes
// CPU: check: 80 elements identical to
// NaN, +inf and -inf among the input values: quantized as ONNX Runtime does (NaN to 0).
// RUN: nibble-run --cpu %t/r/model.mlir --input %hawq_fixtures/onnx/resnet_u8.nonfinite.input.npy --check %hawq_fixtures/onnx/resnet_u8.nonfinite.ort.npy | FileCheck %s --check-prefix=NONFINITE
// NONFINITE: check: 80 elements identical to
// RUN: nibble-gen import %hawq_fixtures/onnx/resnet_s8.onnx --batch 3 --image-size 40 -o %t/s8 > /dev/null
// RUN: nibble-opt %t/s8/model.mlir --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_75})' --emit=artifact -o %t/a75 | FileCheck %s --check-prefix=ART
// RUN: nibble-opt %t/s8/model.mlir --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_90a})' --emit=artifact -o %t/a90a | FileCheck %s --check-prefix=ART
// ART: wrote artifact
// MobileNetV2-like: depthwise convs (groups = channels) run on the simple family, bit for bit.
// RUN: nibble-gen import %hawq_fixtures/onnx/mobilenet_s8.onnx -o %t/m > /dev/null
// RUN: FileCheck %s --check-prefix=DW < %t/m/model.mlir
// DW: "qnn.conv2d"({{.*}}) {groups = 64 : i64, kernel_layout = "OIHW"
// RUN: nibble-run --cpu %t/m/model.mlir --input %hawq_fixtures/onnx/mobilenet_s8.input.npy --check %hawq_fixtures/onnx/mobilenet_s8.ort.npy | FileCheck %s --check-prefix=MOBILE
// MOBILE: check: 80 elements identical to
// RUN: nibble-opt %t/m/model.mlir --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_80})' --emit=artifact -o %t/m80 | FileCheck %s --check-prefix=ART
// RUN: not nibble-gen import %hawq_fixtures/onnx/mobilenet_s8.onnx --image-size 0 -o %t/m3 2>&1 | FileCheck %s --check-prefix=SMALL
// SMALL: nibble-gen: error: {{.*}}mobilenet_s8.onnx: input 'input': --image-size 0 is outside [1, 2^20]
// --image-size HxW: a non-square input, with a note that the declared size was replaced
// RUN: nibble-gen import %hawq_fixtures/onnx/resnet_s8.onnx --batch 1 --image-size 40x56 -o %t/hw | FileCheck %s --check-prefix=HW-NOTE
// RUN: FileCheck %s --check-prefix=HW < %t/hw/model.mlir
// HW-NOTE: imported at 40x56 (--image-size)
// HW: func.func @{{.*}}(%arg0: tensor<1x3x40x56xf32>)
// RUN: not nibble-gen import %hawq_fixtures/onnx/resnet_s8.onnx --image-size 40xq -o %t/hw2 2>&1 | FileCheck %s --check-prefix=HW-BAD
// HW-BAD: 'q' is not a size (S or HxW)
// RUN: not nibble-gen import %hawq_fixtures/onnx/resnet_u8.onnx --arch resnet18 -o %t/x 2>&1 | FileCheck %s --check-prefix=FLAGS
// FLAGS: --arch, --bits and --bit-config are for HAWQ checkpoints
// RUN: head -c 300 %hawq_fixtures/onnx/resnet_u8.onnx > %t/cut.onnx && not nibble-gen import %t/cut.onnx -o %t/c 2>&1 | FileCheck %s --check-prefix=CUT
// CUT: nibble-gen: error: {{.*}}cut.onnx: not a valid ONNX model
// A Flatten of a 4x4 map into a Gemm (VGG-style heads): the Gemm is a conv whose kernel covers
// the map (K = C x H x W in NCHW order), its requantized N x O x 1 x 1 result flattened.
// RUN: nibble-gen import %hawq_fixtures/onnx/vgg_u8.onnx -o %t/v > /dev/null
// RUN: FileCheck %s --check-prefix=VGG < %t/v/model.mlir
// VGG: "qnn.conv2d"({{.*}}) {kernel_layout = "OIHW", layout = "NCHW", padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<8x16x4x4xui8>, tensor<32x16x4x4xi8>, tensor<32xi32>) -> tensor<8x32x1x1xi32>
// VGG: "qnn.flatten"({{.*}}) {layout = "NCHW"} : (tensor<8x32x1x1xui8>) -> tensor<8x32xui8>
// VGG: "qnn.dense"
// RUN: nibble-run --cpu %t/v/model.mlir --input %hawq_fixtures/onnx/vgg_u8.input.npy --check %hawq_fixtures/onnx/vgg_u8.ort.npy | FileCheck %s --check-prefix=VGGCPU
// VGGCPU: check: 80 elements identical to
// QCDQ (Brevitas' 4-bit export: QuantizeLinear -> Clip(0, 15) -> DequantizeLinear, int8 weights
// -> Clip(-7, 7)): uint4 activations and int4 weights, bit for bit with ONNX Runtime.
// RUN: nibble-gen import %hawq_fixtures/onnx/qcdq_u4.onnx -o %t/q4 > /dev/null
// RUN: FileCheck %s --check-prefix=QCDQ < %t/q4/model.mlir
// QCDQ: "qnn.requantize"({{.*}}) {clamp = array<i64: 0, 15>, {{.*}} : (tensor<8x16x32x32xui8>) -> tensor<8x16x32x32xui4>
// QCDQ: "qnn.conv2d"({{.*}}) {{.*}} : (tensor<8x16x32x32xui4>, tensor<16x16x3x3xi4>, tensor<16xi32>) -> tensor<8x16x32x32xi32>
// RUN: nibble-run --cpu %t/q4/model.mlir --input %hawq_fixtures/onnx/qcdq_u4.input.npy --check %hawq_fixtures/onnx/qcdq_u4.ort.npy | FileCheck %s --check-prefix=QCDQCPU
// QCDQCPU: check: 80 elements identical to
// Channel concats (SqueezeNet fire modules, a three-way inception concat as a chain of two):
// each part requantized to the Concat's QuantizeLinear, then concatenated; bit for bit with
// ONNX Runtime (QDQ and QOperator QLinearConcat).
// RUN: nibble-gen import %hawq_fixtures/onnx/squeeze_u8.onnx -o %t/sq > /dev/null
// RUN: FileCheck %s --check-prefix=SQUEEZE < %t/sq/model.mlir
// SQUEEZE: "qnn.concat"({{.*}}) {layout = "NCHW"} : (tensor<8x8x8x8xui8>, tensor<8x8x8x8xui8>) -> tensor<8x16x8x8xui8>
// SQUEEZE: "qnn.concat"({{.*}}) {layout = "NCHW"} : (tensor<8x12x8x8xui8>, tensor<8x12x8x8xui8>) -> tensor<8x24x8x8xui8>
// SQUEEZE: "qnn.concat"({{.*}}) {layout = "NCHW"} : (tensor<8x8x8x8xui8>, tensor<8x5x8x8xui8>) -> tensor<8x13x8x8xui8>
// SQUEEZE: "qnn.concat"({{.*}}) {layout = "NCHW"} : (tensor<8x13x8x8xui8>, tensor<8x3x8x8xui8>) -> tensor<8x16x8x8xui8>
// RUN: nibble-run --cpu %t/sq/model.mlir --input %hawq_fixtures/onnx/squeeze_u8.input.npy --check %hawq_fixtures/onnx/squeeze_u8.ort.npy | FileCheck %s --check-prefix=SQCPU
// RUN: nibble-gen import %hawq_fixtures/onnx/squeeze_qop_u8.onnx -o %t/sqq > /dev/null
// RUN: nibble-run --cpu %t/sqq/model.mlir --input %hawq_fixtures/onnx/squeeze_qop_u8.input.npy --check %hawq_fixtures/onnx/squeeze_qop_u8.ort.npy | FileCheck %s --check-prefix=SQCPU
// SQCPU: check: 80 elements identical to
// MobileNetV3 / EfficientNet activations: HardSwish, HardSigmoid, Sigmoid and LeakyRelu between a
// DequantizeLinear and a QuantizeLinear are one table of the input's 256 values (computed in f32
// as ONNX Runtime does); a squeeze-and-excitation's Mul by a channel scale is an exact product
// requantized as QLinearMul; bit for bit with ONNX Runtime.
// RUN: nibble-gen import %hawq_fixtures/onnx/mobilenetv3_u8.onnx -o %t/v3 > /dev/null
// RUN: FileCheck %s --check-prefix=V3 < %t/v3/model.mlir
// V3: "qnn.lookup"({{.*}}) {layout = "NCHW", table = array<i32: {{.*}}>} : (tensor<8x16x16x16xui8>) -> tensor<8x16x16x16xui8>
// V3: "qnn.mul"({{.*}}) {layout = "NCHW"} : (tensor<8x32x16x16x{{i8|i16|ui8}}>, tensor<8x32x1x1x{{i8|i16|ui8}}>) -> tensor<8x32x16x16xi32>
// RUN: nibble-run --cpu %t/v3/model.mlir --input %hawq_fixtures/onnx/mobilenetv3_u8.input.npy --check %hawq_fixtures/onnx/mobilenetv3_u8.ort.npy | FileCheck %s --check-prefix=SQCPU
// RUN: nibble-gen import %hawq_fixtures/onnx/efficientnet_u8.onnx -o %t/eff > /dev/null
// RUN: nibble-run --cpu %t/eff/model.mlir --input %hawq_fixtures/onnx/efficientnet_u8.input.npy --check %hawq_fixtures/onnx/efficientnet_u8.ort.npy | FileCheck %s --check-prefix=SQCPU
// A BatchNormalization after a Concat (DenseNet) is a table per channel of x * s[c] + b[c], the
// factors folded in f32 as ONNX Runtime's kernel folds them.
// RUN: nibble-gen import %hawq_fixtures/onnx/densenet_u8.onnx -o %t/dn > /dev/null
// RUN: FileCheck %s --check-prefix=DENSE < %t/dn/model.mlir
// DENSE: "qnn.lookup"({{.*}}) {layout = "NCHW", table = array<i32: {{.*}}>} : (tensor<8x24x16x16xui8>) -> tensor<8x24x16x16xui8>
// RUN: nibble-run --cpu %t/dn/model.mlir --input %hawq_fixtures/onnx/densenet_u8.input.npy --check %hawq_fixtures/onnx/densenet_u8.ort.npy | FileCheck %s --check-prefix=SQCPU
// Tanh between DequantizeLinear and QuantizeLinear: MLAS's rational approximation, one table.
// RUN: nibble-gen import %hawq_fixtures/onnx/tanh_u8.onnx -o %t/th > /dev/null
// RUN: nibble-run --cpu %t/th/model.mlir --input %hawq_fixtures/onnx/tanh_u8.input.npy --check %hawq_fixtures/onnx/tanh_u8.ort.npy | FileCheck %s --check-prefix=SQCPU
// AveragePools smaller than their map (Inception pool branches, a DenseNet transition, ceil
// mode) are QLinearAveragePool's f32 averages; int8 QDQ pairs run as uint8 as ONNX Runtime runs
// them; the QOperator form keeps int8.
// RUN: nibble-gen import %hawq_fixtures/onnx/inception_u8.onnx -o %t/inc > /dev/null
// RUN: FileCheck %s --check-prefix=AVG < %t/inc/model.mlir
// AVG: "qnn.avg_pool2d_f32"({{.*}}) {input_scale = {{.*}} : f32, input_zero_point = {{-?[0-9]+}} : i64, kernel = array<i64: 3, 3>, layout = "NCHW", output_scale = {{.*}} : f32, output_zero_point = {{-?[0-9]+}} : i64, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<8x16x16x16xui8>) -> tensor<8x16x16x16xui8>
// AVG: "qnn.avg_pool2d_f32"({{.*}}) {count_include_pad = true, {{.*}}kernel = array<i64: 3, 3>, layout = "NCHW", {{.*}}padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>}
// AVG: "qnn.avg_pool2d_f32"({{.*}}) {{{.*}}kernel = array<i64: 2, 2>, {{.*}}strides = array<i64: 2, 2>} : (tensor<8x24x16x16xui8>) -> tensor<8x24x8x8xui8>
// AVG: "qnn.avg_pool2d_f32"({{.*}}) {count_include_pad = true, {{.*}}kernel = array<i64: 3, 3>, {{.*}}padding = array<i64: 1, 1, 2, 2>, strides = array<i64: 2, 2>} : (tensor<8x16x6x6xui8>) -> tensor<8x16x4x4xui8>
// RUN: nibble-run --cpu %t/inc/model.mlir --input %hawq_fixtures/onnx/inception_u8.input.npy --check %hawq_fixtures/onnx/inception_u8.ort.npy | FileCheck %s --check-prefix=SQCPU
// RUN: nibble-gen import %hawq_fixtures/onnx/inception_s8.onnx -o %t/incs > /dev/null
// RUN: nibble-run --cpu %t/incs/model.mlir --input %hawq_fixtures/onnx/inception_s8.input.npy --check %hawq_fixtures/onnx/inception_s8.ort.npy | FileCheck %s --check-prefix=SQCPU
// RUN: nibble-gen import %hawq_fixtures/onnx/inception_qop_s8.onnx -o %t/incq > /dev/null
// RUN: nibble-run --cpu %t/incq/model.mlir --input %hawq_fixtures/onnx/inception_qop_s8.input.npy --check %hawq_fixtures/onnx/inception_qop_s8.ort.npy | FileCheck %s --check-prefix=SQCPU
// A Softmax head is QLinearSoftmax: the exponential table of the logits' scale, f32 row sums.
// RUN: nibble-gen import %hawq_fixtures/onnx/softmax_u8.onnx -o %t/smx > /dev/null
// RUN: FileCheck %s --check-prefix=SOFTMAX < %t/smx/model.mlir
// SOFTMAX: "qnn.softmax"({{.*}}) {layout = "NC", scale = {{.*}} : f32, table = array<f32: {{.*}}>, zero_point = 0 : i64} : (tensor<8x10x{{ui8|i8}}>) -> tensor<8x10xui8>
// RUN: nibble-run --cpu %t/smx/model.mlir --input %hawq_fixtures/onnx/softmax_u8.input.npy --check %hawq_fixtures/onnx/softmax_u8.ort.npy | FileCheck %s --check-prefix=SQCPU
// RUN: nibble-gen import %hawq_fixtures/onnx/softmax_s8.onnx -o %t/smxs > /dev/null
// RUN: nibble-run --cpu %t/smxs/model.mlir --input %hawq_fixtures/onnx/softmax_s8.input.npy --check %hawq_fixtures/onnx/softmax_s8.ort.npy | FileCheck %s --check-prefix=SQCPU
// RUN: nibble-gen import %hawq_fixtures/onnx/softmax_qop_s8.onnx -o %t/smxq > /dev/null
// RUN: nibble-run --cpu %t/smxq/model.mlir --input %hawq_fixtures/onnx/softmax_qop_s8.input.npy --check %hawq_fixtures/onnx/softmax_qop_s8.ort.npy | FileCheck %s --check-prefix=SQCPU
// ShuffleNetV2's channel Split and shuffle (Reshape [N, 2, C / 2, H, W], Transpose, Reshape)
// are gathers of channels.
// RUN: nibble-gen import %hawq_fixtures/onnx/shufflenet_u8.onnx -o %t/shf > /dev/null
// RUN: FileCheck %s --check-prefix=SHUFFLE < %t/shf/model.mlir
// SHUFFLE: "qnn.gather_channels"({{.*}}) {indices = array<i32: 0, 16, 1, 17, 2, 18, {{.*}}, 15, 31>, layout = "NCHW"} : (tensor<8x32x8x8x{{.*}}>) -> tensor<8x32x8x8x{{.*}}>
// SHUFFLE: "qnn.gather_channels"({{.*}}) {indices = array<i32: 0, 1, 2, {{.*}}, 15>, layout = "NCHW"}
// SHUFFLE: "qnn.gather_channels"({{.*}}) {indices = array<i32: 16, 17, {{.*}}, 31>, layout = "NCHW"}
// RUN: nibble-run --cpu %t/shf/model.mlir --input %hawq_fixtures/onnx/shufflenet_u8.input.npy --check %hawq_fixtures/onnx/shufflenet_u8.ort.npy | FileCheck %s --check-prefix=SQCPU
// RUN: nibble-gen import %hawq_fixtures/onnx/shufflenet_qop_u8.onnx -o %t/shfq > /dev/null
// RUN: nibble-run --cpu %t/shfq/model.mlir --input %hawq_fixtures/onnx/shufflenet_qop_u8.input.npy --check %hawq_fixtures/onnx/shufflenet_qop_u8.ort.npy | FileCheck %s --check-prefix=SQCPU
// QOperator form: com.microsoft QLinearSigmoid and QLinearMul expand to their QDQ groups.
// RUN: nibble-gen import %hawq_fixtures/onnx/efficientnet_qop_u8.onnx -o %t/effq > /dev/null
// RUN: nibble-run --cpu %t/effq/model.mlir --input %hawq_fixtures/onnx/efficientnet_qop_u8.input.npy --check %hawq_fixtures/onnx/efficientnet_qop_u8.ort.npy | FileCheck %s --check-prefix=SQCPU
// Files that are not models: a located one-line error each, exit 1.
// RUN: printf '' > %t/empty.onnx && not nibble-gen import %t/empty.onnx -o %t/e 2>&1 | FileCheck %s --check-prefix=EMPTY
// EMPTY: nibble-gen: error: {{.*}}empty.onnx: the file is empty
// RUN: printf 'hello, not a model' > %t/text.bin && not nibble-gen import %t/text.bin -o %t/e 2>&1 | FileCheck %s --check-prefix=NEITHER
// NEITHER: nibble-gen: error: {{.*}}text.bin: neither an ONNX model (a protobuf ModelProto) nor a PyTorch checkpoint
// RUN: printf '\x0a\x02\x08\x01' > %t/graph.onnx && not nibble-gen import %t/graph.onnx -o %t/e 2>&1 | FileCheck %s --check-prefix=NOGRAPH
// NOGRAPH: nibble-gen: error: {{.*}}graph.onnx: not a{{n?}} {{(valid )?}}ONNX model
