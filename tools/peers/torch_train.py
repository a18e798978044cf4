#!/usr/bin/env python3
"""PyTorch side of `jconv bench --train`: the T1 training step of docs/bench-problems.md.

Six layers, the same as jconv's T1 (bias on every layer):

    conv 3x3 64->64 (28x28) -> depthwise 3x3 64 -> deformable v2 3x3 64->64 (torchvision
    DeformConv2d; offsets and mask are fixed inputs that require grad) -> 1x1 64->128 ->
    transposed 4x4 stride 2 128->32 (to 56x56) -> viewed as 8 channels of 4x56x56 -> 3D 3x3x3 8->8

Loss <y, g> for a fixed g (so dLoss/dy = g); backward computes every gradient (the input's too);
SGD (lr 0.01) on every weight and bias. Prints one CSV row on stdout:

    peer,device,problem,batch,dtype,median_ms,min_ms,max_ms,peak_bytes,peak_kind

peak_kind: cuda_max_memory_allocated (torch.cuda.max_memory_allocated over the whole run) or
cpu_maxrss_growth (growth of the process's peak resident set from before the model was made; an
approximation: it also counts the allocator's and the interpreter's own growth).

    python3 tools/peers/torch_train.py --device cpu --threads 2 --batch 4 --warmup 2 --reps 3
    python3 tools/peers/torch_train.py --describe     # the layers as jconv problem lines; no PyTorch needed
"""
import argparse
import statistics
import sys
import time

# (kind, in, out, depth or None, height, width, kernel, stride, padding, groups)
LAYERS = [
    ("conv", 64, 64, None, 28, 28, 3, 1, 1, 1),
    ("conv", 64, 64, None, 28, 28, 3, 1, 1, 64),
    ("deformable", 64, 64, None, 28, 28, 3, 1, 1, 1),
    ("conv", 64, 128, None, 28, 28, 1, 1, 0, 1),
    ("transposed", 128, 32, None, 28, 28, 4, 2, 1, 1),
    ("conv3d", 8, 8, 4, 56, 56, 3, 1, 1, 1),
]


def problem_line(layer, batch):
    """The layer as a jconv problem line (what TrainStackTest compares with TrainStack)."""
    kind, c, k, d, h, w, ks, s, p, g = layer
    pre = {"conv": "", "conv3d": "", "transposed": "tr1", "deformable": "dg1msk1"}[kind]
    line = pre + ("g%d" % g if g != 1 else "") + "mb%dic%d" % (batch, c)
    if d is not None:
        line += "id%d" % d
    line += "ih%diw%doc%d" % (h, w, k)
    if d is not None:
        line += "kd%d" % ks
    line += "kh%dkw%d" % (ks, ks)
    if s != 1:
        line += ("sd%d" % s if d is not None else "") + "sh%dsw%d" % (s, s)
    if p != 0:
        line += ("pd%d" % p if d is not None else "") + "ph%dpw%d" % (p, p)
    return line


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"])
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--describe", action="store_true")
    a = ap.parse_args()
    if a.describe:
        for layer in LAYERS:
            print(problem_line(layer, a.batch))
        return 0

    import resource
    import torch
    import torchvision

    if a.threads > 0:
        torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
    dtype = torch.float32 if a.dtype == "fp32" else torch.bfloat16
    torch.manual_seed(a.seed)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    n = a.batch
    c1 = torch.nn.Conv2d(64, 64, 3, padding=1)
    dw = torch.nn.Conv2d(64, 64, 3, padding=1, groups=64)
    de = torchvision.ops.DeformConv2d(64, 64, 3, padding=1)
    pw = torch.nn.Conv2d(64, 128, 1)
    up = torch.nn.ConvTranspose2d(128, 32, 4, stride=2, padding=1)
    c3 = torch.nn.Conv3d(8, 8, 3, padding=1)
    layers = [c1, dw, de, pw, up, c3]
    for m in layers:
        m.to(device=dev, dtype=dtype)
    params = [p for m in layers for p in m.parameters()]
    opt = torch.optim.SGD(params, lr=0.01)
    x = torch.randn(n, 64, 28, 28, device=dev, dtype=dtype, requires_grad=True)
    offset = (2 * torch.randn(n, 18, 28, 28, device=dev, dtype=dtype)).requires_grad_()
    mask = torch.rand(n, 9, 28, 28, device=dev, dtype=dtype).requires_grad_()
    g = torch.randn(n, 8, 4, 56, 56, device=dev, dtype=dtype)

    def step():
        opt.zero_grad(set_to_none=True)
        for t in (x, offset, mask):
            t.grad = None
        y = c1(x)
        y = dw(y)
        y = de(y, offset, mask)
        y = pw(y)
        y = up(y)
        y = c3(y.view(n, 8, 4, 56, 56))
        y.backward(g)
        opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.reps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    if dev.type == "cuda":
        peak, kind = torch.cuda.max_memory_allocated(dev), "cuda_max_memory_allocated"
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss0
        kind = "cpu_maxrss_growth"
    print("peer,device,problem,batch,dtype,median_ms,min_ms,max_ms,peak_bytes,peak_kind")
    print("torch,%s,T1,%d,%s,%.3f,%.3f,%.3f,%d,%s" % (a.device, n, a.dtype, statistics.median(times), min(times),
                                                      max(times), peak, kind))
    return 0


if __name__ == "__main__":
    sys.exit(main())
