"""MobileNetV2 (torchvision's architecture: width 1.0, 224x224, inverted residuals with ReLU6,
batch norm folded into conv biases, random He-initialised weights) as a float ONNX graph built
with onnx.helper, quantized by onnxruntime.quantization.quantize_static (QDQ, int8 activations
and per-channel int8 weights, calibrated on random images). Speed does not depend on the weight
values, so this is the benchmark model for nibble against PyTorch's mobilenet_v2.

Usage: python3 bench/make_mobilenetv2_onnx.py OUT.onnx [--batch 64] [--activations int8|uint8]
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

    def conv(self, x, cin, cout, k, s, groups=1, act=True):
        fan_in = cin // groups * k * k
        w = self.rng.normal(0, np.sqrt(2.0 / fan_in), (cout, cin // groups, k, k))
        b = self.rng.normal(0, 0.05, cout)
        y = self.name("conv")
        self.nodes.append(helper.make_node(
            "Conv", [x, self.const("w", w), self.const("b", b)], [y], name=y,
            kernel_shape=[k, k], strides=[s, s], pads=[k // 2] * 4, group=groups))
        if not act:
            return y
        z = self.name("relu6")
        self.nodes.append(helper.make_node(
            "Clip", [y, self.const("lo", np.array(0.0)), self.const("hi", np.array(6.0))], [z], name=z))
        return z


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
    b.nodes.append(helper.make_node("GlobalAveragePool", [x], ["pool"], name="pool"))
    b.nodes.append(helper.make_node("Flatten", ["pool"], ["flat"], name="flatten", axis=1))
    w = b.rng.normal(0, np.sqrt(1.0 / 1280), (1000, 1280))
    b.nodes.append(helper.make_node(
        "Gemm", ["flat", b.const("fcw", w), b.const("fcb", b.rng.normal(0, 0.01, 1000))], ["output"],
        name="fc", transB=1))
    g = helper.make_graph(
        b.nodes, "mobilenet_v2",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 3, 224, 224])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [batch, 1000])], b.inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 21)])
    m.ir_version = 10
    onnx.checker.check_model(m)
    return m


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
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--activations", choices=["int8", "uint8"], default="int8")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        # calibrate at batch 8, then give the quantized graph the benchmark batch
        cal = os.path.join(d, "cal.onnx")
        onnx.save(mobilenet_v2(8), cal)
        tmp = os.path.join(d, "q8.onnx")
        quantize_static(cal, tmp, Images(8), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QInt8 if a.activations == "int8" else QuantType.QUInt8,
                        weight_type=QuantType.QInt8, per_channel=True)
        # the calibrated model at the benchmark batch: same initializers, new input/output dims
        q = onnx.load(tmp)
        q.graph.ClearField("value_info")
        for v in list(q.graph.input) + list(q.graph.output):
            v.type.tensor_type.shape.dim[0].dim_value = a.batch
        onnx.save(q, a.out)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
