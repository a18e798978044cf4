#!/usr/bin/env python3
"""PyTorch side of `jconv bench --peer torch`.

Runs the benchmark problems of docs/bench-problems.md (P1-P8 and the deformable D1) in PyTorch and
prints one CSV row per timed case on stdout:

    peer,device,mode,problem,pass,median_ms,gflops

`jconv bench` starts this script once per problem (or once per round), reads the rows and sets them
beside its own. It can also be run by hand:

    python3 tools/peers/torch_peer.py --device cpu --threads 2 --problems P1,P4
    python3 tools/peers/torch_peer.py --list        # the problem table; needs no PyTorch

Needs PyTorch (Debian: apt-get install python3-torch; 1.13 works) and, for D1, torchvision
(python3-torchvision), whose ops.deform_conv2d is the deformable convolution.

Timing, as jconv bench's: warm-up until the time per call is steady (at least --warmup calls, then
batches until the median of the last three batch means is within 5 % of the three before, at most
60 batches or 10 s), then at least --reps calls and at least --min-window-ms of them; on the CPU the
median of single calls, on a GPU the median of three batches of calls between two CUDA events.
--dtype and --math set the precision (bench passes its own, so both sides run the same). Forward+backward computes the gradients of the input and
the weight (and of the offsets and the mask for D1) and uses a third as many calls (at least 3).
FLOPs count a multiply-add as two; forward+backward counts three times the forward FLOPs.
"""
import argparse
import math
import statistics
import sys
import time

# name -> (kind, batch, in channels, depth or None, height, width, out channels,
#          kernel, stride, padding, dilation, groups); square kernels, one value for every axis
PROBLEMS = {
    "P1": ("conv", 8, 64, None, 56, 56, 64, 3, 1, 1, 1, 1),
    "P2": ("conv", 8, 128, None, 28, 28, 128, 3, 1, 1, 1, 1),
    "P3": ("conv", 8, 256, None, 14, 14, 256, 1, 1, 0, 1, 1),
    "P4": ("conv", 8, 256, None, 28, 28, 256, 3, 1, 1, 1, 256),
    "P5": ("conv", 8, 64, None, 56, 56, 64, 3, 1, 2, 2, 1),
    "P6": ("transposed", 8, 64, None, 28, 28, 32, 4, 2, 1, 1, 1),
    "P7": ("conv3d", 2, 32, 16, 56, 56, 32, 3, 1, 1, 1, 1),
    "P8": ("conv", 8, 128, None, 28, 28, 128, 3, 1, 1, 1, 8),
    "D1": ("deformable", 8, 128, None, 28, 28, 128, 3, 1, 1, 1, 1),
}


def out_size(n, kernel, stride, pad, dil):
    """Output length of a convolution along one axis."""
    return (n + 2 * pad - dil * (kernel - 1) - 1) // stride + 1


def forward_flops(name):
    kind, n, c, d, h, w, k, ks, s, p, dil, g = PROBLEMS[name]
    if kind == "transposed":
        # every input pixel scatters into (k/g)·ks² outputs
        return 2 * n * c * h * w * (k // g) * ks * ks
    spatial = out_size(h, ks, s, p, dil) * out_size(w, ks, s, p, dil)
    volume = ks * ks
    if kind == "conv3d":
        spatial *= out_size(d, ks, s, p, dil)
        volume *= ks
    return 2 * n * k * spatial * (c // g) * volume


def build(torch, name, device, dtype=None):
    """The forward call of a problem and the tensors whose gradients forward+backward computes."""
    import torch.nn.functional as F
    kind, n, c, d, h, w, k, ks, s, p, dil, g = PROBLEMS[name]
    gen = torch.Generator().manual_seed(1234)

    def randn(*shape, scale=1.0):
        t = torch.randn(*shape, generator=gen) * scale
        return t.to(device=device, dtype=dtype or torch.float32).requires_grad_(True)

    if kind == "conv3d":
        x, wt = randn(n, c, d, h, w), randn(k, c // g, ks, ks, ks)
        return (lambda: F.conv3d(x, wt, None, s, p, dil, g)), [x, wt]
    if kind == "transposed":
        # weight of a transposed convolution: [in channels, out channels / groups, kh, kw]
        x, wt = randn(n, c, h, w), randn(c, k // g, ks, ks)
        return (lambda: F.conv_transpose2d(x, wt, None, s, p, 0, g, dil)), [x, wt]
    x, wt = randn(n, c, h, w), randn(k, c // g, ks, ks)
    if kind == "deformable":
        from torchvision.ops import deform_conv2d
        oh, ow = out_size(h, ks, s, p, dil), out_size(w, ks, s, p, dil)
        offset = randn(n, 2 * ks * ks, oh, ow, scale=2.0)  # N(0, 2²) per element
        mask = torch.rand(n, ks * ks, oh, ow, generator=gen).to(device=device, dtype=dtype or torch.float32).requires_grad_(True)  # U[0, 1)
        return (lambda: deform_conv2d(x, offset, wt, None, stride=(s, s), padding=(p, p), dilation=(dil, dil),
                                      mask=mask)), [x, wt, offset, mask]
    return (lambda: F.conv2d(x, wt, None, s, p, dil, g)), [x, wt]


WINDOW = 3          # warm-up batches compared on each side
TOLERANCE = 0.05    # relative change of the median batch time still counted as steady
BATCH_MS = 5.0      # a warm-up batch lasts at least this long
MAX_WARMUP_BATCHES = 60
MAX_WARMUP_SECONDS = 10.0


def steady(means):
    """True when the median of the last WINDOW batch means is within TOLERANCE of the WINDOW before (as jconv bench)."""
    if len(means) < 2 * WINDOW:
        return False
    last = statistics.median(means[-WINDOW:])
    before = statistics.median(means[-2 * WINDOW:-WINDOW])
    return abs(last - before) <= TOLERANCE * before


def timed_calls(per_call_ms, reps, min_window_ms):
    """At least reps calls, and enough to last min_window_ms at per_call_ms."""
    if not per_call_ms > 0:
        return max(1, reps)
    return max(reps, int(math.ceil(min_window_ms / per_call_ms)), 1)


def time_ms(torch, call, device, warmup, reps, min_window_ms=200.0):
    """Warm-up (at least `warmup` calls, then batches until the time per call is steady), then the timed calls."""
    cuda = device.startswith("cuda")

    def sync():
        if cuda:
            torch.cuda.synchronize()

    means, calls, start = [], 0, time.perf_counter()
    sync()
    while time.perf_counter() - start < MAX_WARMUP_SECONDS:
        if calls >= warmup and (steady(means) or len(means) >= MAX_WARMUP_BATCHES):
            break
        if not means:
            batch = max(1, min(warmup, 1000))
        else:
            batch = max(1, min(1000, int(math.ceil(BATCH_MS / means[-1])) if means[-1] > 0 else 1000))
        t0 = time.perf_counter()
        for _ in range(batch):
            call()
        sync()
        means.append((time.perf_counter() - t0) * 1e3 / batch)
        calls += batch
    per_call = statistics.median(means[-WINDOW:]) if means else float("nan")
    n = timed_calls(per_call, reps, min_window_ms)
    if cuda:
        # R calls back to back between two CUDA events, divided by R; the median of three such batches
        per_batch = max(reps, int(math.ceil(n / 3)))
        samples = []
        for _ in range(3):
            torch.cuda.synchronize()
            begin = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            begin.record()
            for _ in range(per_batch):
                call()
            end.record()
            torch.cuda.synchronize()
            samples.append(begin.elapsed_time(end) / per_batch)
        return statistics.median(samples)
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        call()
        samples.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(samples)


def time_problem(torch, a, name, call, leaves, device, reps, passes, peer, mode, flops):
    """Times the asked passes of one problem and prints their CSV rows."""
    if "fwd" in passes:
        with torch.no_grad():
            ms = time_ms(torch, call, device, a.warmup, reps, a.min_window_ms)
        print("%s,%s,%s,%s,fwd,%.4f,%.1f" % (peer, device, mode, name, ms, flops / ms / 1e6), flush=True)
    if "fwd+bwd" not in passes:
        return
    grad_out = torch.randn_like(call())

    def forward_backward():
        for t in leaves:
            t.grad = None
        call().backward(grad_out)

    ms = time_ms(torch, forward_backward, device, max(0, a.warmup - 1), max(3, reps // 3), a.min_window_ms)
    print("%s,%s,%s,%s,fwd+bwd,%.4f,%.1f" % (peer, device, mode, name, ms, 3 * flops / ms / 1e6), flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Times jconv's benchmark problems in PyTorch and prints CSV.")
    ap.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available, else cpu)")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (default: PyTorch's own choice)")
    ap.add_argument("--reps", type=int, default=0, help="timed calls for forward (default: 10 on the CPU, 50 on a GPU)")
    ap.add_argument("--warmup", type=int, default=3, help="warm-up calls for forward; forward+backward gets one fewer")
    ap.add_argument("--min-window-ms", type=float, default=200.0,
                    help="time at least this many milliseconds of calls (or --reps calls, whichever is more) (default: 200)")
    ap.add_argument("--problems", default=",".join(PROBLEMS), help="comma-separated names (default: all)")
    ap.add_argument("--passes", default="fwd,fwd+bwd", help="fwd, fwd+bwd or both (default: both)")
    ap.add_argument("--dtype", default="fp32", choices=("fp32", "fp64", "fp16", "bf16"),
                    help="tensor dtype, as jconv's buffers (default: fp32)")
    ap.add_argument("--math", default="fp32", choices=("fp32", "tf32"),
                    help="FP32 math: fp32 (allow_tf32 off) or tf32 (allow_tf32 on; CUDA only) (default: fp32)")
    ap.add_argument("--cudnn-benchmark", default="1", choices=("0", "1"),
                    help="torch.backends.cudnn.benchmark on CUDA: 1 times the algorithms once per shape (bench --algo benchmark), "
                         "0 uses cuDNN's heuristics (--algo heuristic) (default: 1)")
    ap.add_argument("--cudnn-deterministic", default=None, choices=("0", "1"),
                    help="torch.backends.cudnn.deterministic on CUDA: 1 only deterministic algorithms (as jconv's default "
                         "session), 0 any (PyTorch's default) (default: PyTorch's default)")
    ap.add_argument("--check", action="store_true",
                    help="check the options (device, dtype, math) and print the mode, without importing PyTorch")
    ap.add_argument("--list", action="store_true", help="print the problem table as CSV and exit (no PyTorch needed)")
    a = ap.parse_args(argv)

    names = [x.strip().upper() for x in a.problems.split(",") if x.strip()]
    unknown = [x for x in names if x not in PROBLEMS]
    if unknown:
        ap.error("unknown problem(s) %s; known: %s" % (",".join(unknown), ",".join(PROBLEMS)))
    passes = [x.strip() for x in a.passes.split(",") if x.strip()]
    if not passes or any(x not in ("fwd", "fwd+bwd") for x in passes):
        ap.error("--passes %s: give fwd, fwd+bwd or both, comma separated" % a.passes)
    if a.reps < 0 or a.threads < 0 or a.warmup < 0 or not a.min_window_ms >= 0:
        ap.error("--reps, --threads, --warmup and --min-window-ms must not be negative")

    if a.math == "tf32" and a.dtype != "fp32":
        ap.error("--math tf32 with --dtype %s: TF32 is a mode of FP32 convolutions; use --dtype fp32 --math tf32" % a.dtype)
    if a.math == "tf32" and a.device is not None and not a.device.startswith("cuda"):
        ap.error("--math tf32 on --device %s: TF32 needs a CUDA device; use --math fp32 on the CPU" % a.device)
    mode = "tf32" if a.math == "tf32" else a.dtype

    if a.check:
        print("device=%s,dtype=%s,math=%s,mode=%s" % (a.device or "auto", a.dtype, a.math, mode))
        return 0

    if a.list:
        print("name,kind,batch,in_channels,depth,height,width,out_channels,kernel,stride,padding,dilation,groups,forward_flops")
        for name in names:
            row = PROBLEMS[name]
            print(",".join([name] + ["" if v is None else str(v) for v in row] + [str(forward_flops(name))]))
        return 0

    try:
        import torch
    except ImportError as e:
        print("torch_peer.py: PyTorch is not installed for %s (%s); e.g. apt-get install python3-torch python3-torchvision"
              % (sys.executable, e), file=sys.stderr)
        return 3
    device = a.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if a.math == "tf32" and not device.startswith("cuda"):
        print("torch_peer.py: --math tf32 needs a CUDA device, and this run is on %s; use --math fp32" % device, file=sys.stderr)
        return 2
    dtype = {"fp32": torch.float32, "fp64": torch.float64, "fp16": torch.float16, "bf16": torch.bfloat16}[a.dtype]
    if a.threads:
        torch.set_num_threads(a.threads)
    if device.startswith("cuda"):
        torch.backends.cudnn.benchmark = a.cudnn_benchmark == "1"
        if a.cudnn_deterministic is not None:
            torch.backends.cudnn.deterministic = a.cudnn_deterministic == "1"
        # FP32 means FP32: no TF32 tensor-core shortcuts unless --math tf32 asks for them, as jconv's cuda math does
        tf32 = a.math == "tf32"
        torch.backends.cudnn.allow_tf32 = tf32
        torch.backends.cuda.matmul.allow_tf32 = tf32
    reps = a.reps or (50 if device.startswith("cuda") else 10)
    peer = "torch-" + torch.__version__.split("+")[0]

    print("peer,device,mode,problem,pass,median_ms,gflops", flush=True)
    failed = 0
    for name in names:
        try:
            call, leaves = build(torch, name, device, dtype)
        except Exception as e:  # e.g. no torchvision for D1: say so, time the others
            print("# %s skipped: %s: %s" % (name, type(e).__name__, e), file=sys.stderr)
            failed += 1
            continue
        flops = forward_flops(name)
        try:
            time_problem(torch, a, name, call, leaves, device, reps, passes, peer, mode, flops)
        except RuntimeError as e:  # e.g. a dtype this device's PyTorch has no kernel for (FP16 on an old CPU build)
            print("# %s %s skipped: %s" % (name, mode, str(e).splitlines()[0] if str(e) else type(e).__name__), file=sys.stderr)
            failed += 1
    return 1 if failed and failed == len(names) else 0


if __name__ == "__main__":
    sys.exit(main())
