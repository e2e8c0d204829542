// ONNX models made by onnxruntime's quantize_static (models/fixtures/onnx/) import and
// compile for every target to PTX that ptxas accepts: int8 and uint8 ResNets, a bottleneck net,
// INT4 weights, a MobileNetV2-like net with depthwise convs, and a bottleneck net with
// per-tensor uint8 weights whose centred values need 9 bits (two int8 convs a layer); and a
// ResNet in ONNX Runtime's QOperator format (QLinearConv, QLinearAdd, QGemm, ...); a net adding
// constants (a per-channel shift, one value, a MatMul's bias: QLinearAdd with a constant); a
// VGG-style net whose classifier reads a flattened 4x4 map (a conv over the whole map); a
// QCDQ net (Brevitas-style 4-bit activations and weights) on the 4-bit kernels; a SqueezeNet-like
// net of channel concats (QDQ Concat and QOperator QLinearConcat); MobileNetV3- and
// EfficientNet-like nets (HardSwish, Sigmoid, LeakyRelu tables; squeeze-and-excitation Muls); a
// DenseNet-like net (BatchNormalization after a Concat: a table per channel); Tanh tables; an
// Inception-like net of average pools smaller than their map (f32 averages, int8 QOperator too);
// a classifier ending in Softmax (QLinearSoftmax); a ShuffleNetV2-like net (channel Split and
// shuffle: gathers of channels); convs off the square path (1x3 / 3x1 kernels, per-axis strides
// and pads, auto_pad, 4 groups, a 7x7 depthwise conv, stride 3); Sub and Div of float constants
// (tables).
// REQUIRES: ptxas
// RUN: rm -rf %t && mkdir -p %t
// RUN: nibble-gen import %hawq_fixtures/onnx/resnet_u8.onnx -o %t/u8 > /dev/null
// RUN: nibble-gen import %hawq_fixtures/onnx/resnet_s8.onnx --batch 3 -o %t/s8 > /dev/null
// RUN: nibble-gen import %hawq_fixtures/onnx/bottleneck_s8.onnx --batch 1 -o %t/bn > /dev/null
// RUN: nibble-gen import %hawq_fixtures/onnx/resnet_w4.onnx -o %t/w4 > /dev/null
// RUN: nibble-gen import %hawq_fixtures/onnx/mobilenet_s8.onnx --batch 16 -o %t/mb > /dev/null
// RUN: nibble-gen import %hawq_fixtures/onnx/bottleneck_u8w.onnx --batch 2 -o %t/uw > /dev/null
// RUN: nibble-gen import %hawq_fixtures/onnx/resnet_qop_u8.onnx --batch 4 -o %t/qop > /dev/null
// RUN: nibble-gen import %hawq_fixtures/onnx/biased_qop_u8.onnx --batch 5 -o %t/bias > /dev/null
// RUN: nibble-gen import %hawq_fixtures/onnx/vgg_u8.onnx --batch 3 -o %t/vgg > /dev/null
// RUN: nibble-gen import %hawq_fixtures/onnx/qcdq_u4.onnx --batch 2 -o %t/qcdq > /dev/null
// RUN: nibble-gen import %hawq_fixtures/onnx/squeeze_u8.onnx --batch 3 -o %t/sq > /dev/null
// RUN: nibble-gen import %hawq_fixtures/onnx/squeeze_qop_u8.onnx --batch 2 -o %t/sqq > /dev/null
// RUN: nibble-gen import %hawq_fixtures/onnx/mobilenetv3_u8.onnx --batch 3 -o %t/v3 > /dev/null
// RUN: nibble-gen import %hawq_fixtures/onnx/efficientnet_u8.onnx --batch 2 -o %t/eff > /dev/null
// RUN: nibble-gen import %hawq_fixtures/onnx/densenet_u8.onnx --batch 5 -o %t/dn > /dev/null
// RUN: nibble-gen import %hawq_fixtures/onnx/tanh_u8.onnx --batch 1 -o %t/th > /dev/null
// RUN: nibble-gen import %hawq_fixtures/onnx/inception_u8.onnx --batch 3 -o %t/inc > /dev/null
// RUN: nibble-gen import %hawq_fixtures/onnx/inception_qop_s8.onnx --batch 2 -o %t/incq > /dev/null
// RUN: nibble-gen import %hawq_fixtures/onnx/softmax_s8.onnx --batch 4 -o %t/smx > /dev/null
// RUN: nibble-gen import %hawq_fixtures/onnx/shufflenet_qop_u8.onnx --batch 3 -o %t/shf > /dev/null
// RUN: nibble-gen import %hawq_fixtures/onnx/exported_u8.onnx --batch 3 -o %t/exp > /dev/null
// RUN: nibble-gen import %hawq_fixtures/onnx/oddconv_u8.onnx --batch 3 -o %t/odd > /dev/null
// RUN: nibble-gen import %hawq_fixtures/onnx/floatarith_u8.onnx --batch 3 -o %t/far > /dev/null
// The input's float preprocessing in the input quantize, at batch 16: the space-to-depth stem's
// quantize applies it (sm_80 on)
// RUN: nibble-gen import %hawq_fixtures/onnx/normalized_u8.onnx --batch 16 -o %t/nrm > /dev/null
// RUN: %python %S/Inputs/ptxas_all.py %ptxas %t u8 s8 bn w4 mb uw qop bias vgg qcdq sq sqq v3 eff dn th inc incq smx shf exp odd far nrm sm_75 sm_80 sm_86 sm_89 sm_90 sm_90a | FileCheck %s

// CHECK-COUNT-144: ptxas ok
// CHECK-NOT: FAILED
