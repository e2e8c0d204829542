"""PyTorch / cuDNN baseline measured in the same GPU run as nibble (fp16, channels_last,
CUDA-graph replay, median of triton.testing.do_bench). Prints one JSON object on the last line.

Usage: python3 bench/torch_baseline.py [--batches 1,8,16,64,256] [--models resnet50,resnet18]
"""
import argparse
import json
import os

import torch
import torchvision
from triton.testing import do_bench


def graphed(fn):
    """Capture fn() into a CUDA graph after a warm-up on a side stream; return the replay."""
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(3):
            fn()
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        fn()
    return g.replay


def median_ms(fn, rep_ms=200):
    return do_bench(fn, warmup=50, rep=rep_ms, return_mode="median")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", default="1,8,16,64,256")
    ap.add_argument("--models", default="resnet50,resnet18")
    ap.add_argument("--workloads", default=os.path.join(os.path.dirname(__file__), "conv_workloads.json"))
    args = ap.parse_args()
    torch.backends.cudnn.benchmark = True
    dev = "cuda"
    out = {"card": torch.cuda.get_device_name(), "torch": torch.__version__,
           "cudnn": torch.backends.cudnn.version(), "models": {}, "convs": []}
    with torch.inference_mode():
        for arch in args.models.split(","):
            m = getattr(torchvision.models, arch)(weights=None).eval().to(dev).half()
            m = m.to(memory_format=torch.channels_last)
            for b in [int(x) for x in args.batches.split(",")]:
                x = torch.randn(b, 3, 224, 224, device=dev, dtype=torch.half).to(memory_format=torch.channels_last)
                t = median_ms(graphed(lambda: m(x)))
                out["models"][f"{arch} b{b}"] = t
                print(f"torch fp16 {arch:9s} batch {b:4d}: {t:8.3f} ms  {b / t * 1e3:10.0f} img/s", flush=True)
        wl = json.load(open(args.workloads))["workloads"]
        for i, (n, c, h, oc, k, s, p) in enumerate(wl):
            x = torch.randn(n, c, h, h, device=dev, dtype=torch.half).to(memory_format=torch.channels_last)
            w = torch.randn(oc, c, k, k, device=dev, dtype=torch.half).to(memory_format=torch.channels_last)
            t = median_ms(graphed(lambda: torch.nn.functional.conv2d(x, w, stride=s, padding=p)), 100)
            out["convs"].append(t)
            print(f"torch fp16 conv {i} {(n, c, h, oc, k, s, p)}: {t * 1e3:8.2f} us", flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
