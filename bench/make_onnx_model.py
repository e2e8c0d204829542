"""torchvision's ResNet-18, ResNet-50 and MobileNetV2 architectures (224x224, batch norm folded
into conv biases, random He-initialised weights) as float ONNX graphs built with onnx.helper,
quantized by onnxruntime.quantization.quantize_static (QDQ, per-channel int8 weights, int8 or
uint8 activations, calibrated on random images; or per-tensor uint8, or per-channel int4 / uint4
weights). Speed does not depend on the weight values, and ONNX Runtime's integer semantics do not
either: these are the benchmark models against PyTorch and the large models checked against ONNX
Runtime.

Usage: python3 bench/make_onnx_model.py OUT.onnx [--arch mobilenet_v2|resnet18|resnet50]
           [--batch 8] [--activations int8|uint8] [--weights int8|uint8-per-tensor|int4|uint4]
           [--format qdq|qoperator]
"""
import argparse
import os
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

# (expansion t, channels c, repeats n, stride s): torchvision's inverted_residual_setting
SETTING = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


class Builder:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits, self.k = [], [], 0

    def name(self, p):
        self.k += 1
        return f"{p}{self.k}"

    def const(self, p, a):
        n = self.name(p)
        self.inits.append(numpy_helper.from_array(a.astype(np.float32), n))
        return n

    def conv(self, x, cin, cout, k, s, groups=1, act=True, relu6=True, pad=None):
        fan_in = cin // groups * k * k
        w = self.rng.normal(0, np.sqrt(2.0 / fan_in), (cout, cin // groups, k, k))
        b = self.rng.normal(0, 0.05, cout)
        y = self.name("conv")
        self.nodes.append(helper.make_node(
            "Conv", [x, self.const("w", w), self.const("b", b)], [y], name=y,
            kernel_shape=[k, k], strides=[s, s], pads=[k // 2 if pad is None else pad] * 4, group=groups))
        if not act:
            return y
        if not relu6:
            return self.relu(y)
        z = self.name("relu6")
        self.nodes.append(helper.make_node(
            "Clip", [y, self.const("lo", np.array(0.0)), self.const("hi", np.array(6.0))], [z], name=z))
        return z

    def relu(self, x):
        z = self.name("relu")
        self.nodes.append(helper.make_node("Relu", [x], [z], name=z))
        return z

    def add(self, a, b):
        z = self.name("add")
        self.nodes.append(helper.make_node("Add", [a, b], [z], name=z))
        return z

    def head(self, x, cin, batch, name):
        self.nodes.append(helper.make_node("GlobalAveragePool", [x], ["pool"], name="pool"))
        self.nodes.append(helper.make_node("Flatten", ["pool"], ["flat"], name="flatten", axis=1))
        w = self.rng.normal(0, np.sqrt(1.0 / cin), (1000, cin))
        self.nodes.append(helper.make_node(
            "Gemm", ["flat", self.const("fcw", w), self.const("fcb", self.rng.normal(0, 0.01, 1000))], ["output"],
            name="fc", transB=1))
        g = helper.make_graph(
            self.nodes, name,
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 3, 224, 224])],
            [helper.make_tensor_value_info("output", TensorProto.FLOAT, [batch, 1000])], self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 21)])
        m.ir_version = 10
        onnx.checker.check_model(m)
        return m


def resnet(batch, depth, seed=0):
    """torchvision resnet18 (BasicBlock [2, 2, 2, 2]) / resnet50 (Bottleneck [3, 4, 6, 3],
    stride on the 3x3)."""
    b = Builder(seed)
    x = b.conv("input", 3, 64, 7, 2, relu6=False, pad=3)
    b.nodes.append(helper.make_node("MaxPool", [x], ["pool1"], name="maxpool",
                                    kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]))
    x, cin = "pool1", 64
    blocks = [2, 2, 2, 2] if depth == 18 else [3, 4, 6, 3]
    expansion = 1 if depth == 18 else 4
    for stage, n in enumerate(blocks):
        width = 64 * 2 ** stage
        for i in range(n):
            s = 2 if stage > 0 and i == 0 else 1
            cout = width * expansion
            if depth == 18:
                y = b.conv(x, cin, width, 3, s, relu6=False)
                y = b.conv(y, width, width, 3, 1, act=False)
            else:
                y = b.conv(x, cin, width, 1, 1, relu6=False)
                y = b.conv(y, width, width, 3, s, relu6=False)
                y = b.conv(y, width, cout, 1, 1, act=False)
            idt = x if (s == 1 and cin == cout) else b.conv(x, cin, cout, 1, s, act=False)
            x, cin = b.relu(b.add(y, idt)), cout
    return b.head(x, cin, batch, f"resnet{depth}")


def mobilenet_v2(batch, seed=0):
    b = Builder(seed)
    x = b.conv("input", 3, 32, 3, 2)
    cin = 32
    for t, c, n, s in SETTING:
        for i in range(n):
            stride = s if i == 0 else 1
            hidden = cin * t
            y = x if t == 1 else b.conv(x, cin, hidden, 1, 1)
            y = b.conv(y, hidden, hidden, 3, stride, groups=hidden)
            y = b.conv(y, hidden, c, 1, 1, act=False)
            if stride == 1 and cin == c:
                z = b.name("add")
                b.nodes.append(helper.make_node("Add", [x, y], [z], name=z))
                y = z
            x, cin = y, c
    x = b.conv(x, cin, 1280, 1, 1)
    return b.head(x, 1280, batch, "mobilenet_v2")


class Images(CalibrationDataReader):
    def __init__(self, batch, count=4, seed=1234):
        rng = np.random.default_rng(seed)
        self.data = iter([{"input": rng.normal(0, 1, (batch, 3, 224, 224)).astype(np.float32)}
                          for _ in range(count)])

    def get_next(self):
        return next(self.data, None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--arch", choices=["mobilenet_v2", "resnet18", "resnet50"], default="mobilenet_v2")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--activations", choices=["int8", "uint8"], default="int8")
    ap.add_argument("--weights", choices=["int8", "uint8-per-tensor", "int4", "uint4"], default="int8",
                    help="per-channel int8 (default), per-tensor asymmetric uint8, or per-channel "
                         "int4 / uint4 weights")
    ap.add_argument("--format", choices=["qdq", "qoperator"], default="qdq",
                    help="QuantizeLinear / DequantizeLinear pairs (default) or ONNX Runtime's "
                         "quantized operators (QLinearConv, QLinearAdd, QGemm, ...)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        # calibrate at batch 8, then give the quantized graph the benchmark batch
        cal = os.path.join(d, "cal.onnx")
        build = {"mobilenet_v2": mobilenet_v2, "resnet18": lambda n: resnet(n, 18),
                 "resnet50": lambda n: resnet(n, 50)}[a.arch]
        onnx.save(build(8), cal)
        tmp = os.path.join(d, "q8.onnx")
        quantize_static(cal, tmp, Images(8), quant_format=QuantFormat.QDQ if a.format == "qdq" else QuantFormat.QOperator,
                        activation_type=QuantType.QInt8 if a.activations == "int8" else QuantType.QUInt8,
                        weight_type={"int8": QuantType.QInt8, "uint8-per-tensor": QuantType.QUInt8,
                                     "int4": QuantType.QInt4, "uint4": QuantType.QUInt4}[a.weights],
                        per_channel=a.weights != "uint8-per-tensor")
        # the calibrated model at the benchmark batch: same initializers, new input/output dims
        q = onnx.load(tmp)
        q.graph.ClearField("value_info")
        for v in list(q.graph.input) + list(q.graph.output):
            v.type.tensor_type.shape.dim[0].dim_value = a.batch
        onnx.save(q, a.out)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
