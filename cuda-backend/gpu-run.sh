#!/usr/bin/env bash
# The CUDA backend's one prepared device call (see GPU-RUN.md). Runs on the GPU machine from the
# repository root, with .gpu/ carried (bundle made as GPU-RUN.md says). Writes everything under $OUT.
set -u
out=${OUT:-/tmp/jconv-gpu-out}
mkdir -p "$out"
say() { echo "$*" | tee -a "$out/summary.txt"; }
{ date -u; nvidia-smi -L; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  ls -l /usr/lib/x86_64-linux-gnu/libcudnn.so.9* /usr/local/cuda/lib64/libcudart.so.13* 2>&1; du -sh .gpu; } > "$out/device.txt" 2>&1
t0=$(date +%s)
# 0. what jconv sees (every backend's probe, with reasons)
timeout 60 bash .gpu/run.sh main io.github.jconv.tools.Main probe > "$out/probe.log" 2>&1
say "probe rc=$? after $(( $(date +%s) - t0 )) s"
# 1. conformance + equivalence (tests module) and this module's own GPU tests, every backend required
JCONV_REQUIRE_BACKENDS=cpu,opencl,cuda timeout ${JUNIT_TIMEOUT:-300} bash .gpu/run.sh junit --select-package io.github.jconv \
  --exclude-classname '.*PoisonGpuTest' > "$out/gpu-tests.log" 2>&1
say "junit rc=$? after $(( $(date +%s) - t0 )) s"
# 2. sticky-error poisoning, alone in its JVM (it corrupts the primary context)
JCONV_CUDA_POISON_TEST=1 timeout 60 bash .gpu/run.sh junit --select-class io.github.jconv.cuda.PoisonGpuTest > "$out/poison.log" 2>&1
say "poison rc=$? after $(( $(date +%s) - t0 )) s"
# 3. jconv beside PyTorch in the same call: FP32 exact, then TF32
for m in fp32 tf32; do
  JCONV_CUDA_MATH=$m timeout ${BENCH_TIMEOUT:-120} bash .gpu/run.sh main io.github.jconv.tools.Main bench --backend cuda \
    --peer torch --peer-script .gpu/torch_bench.py --csv "$out/bench-$m.csv" > "$out/bench-$m.log" 2>&1
  say "bench $m rc=$? after $(( $(date +%s) - t0 )) s"
done
# 4. the peer alone in every mode the issue names (BF16 has no jconv bench mode yet)
timeout 90 python3 .gpu/torch_bench.py --device cuda --modes fp32,tf32,bf16 > "$out/torch.csv" 2> "$out/torch.err"
say "torch rc=$? after $(( $(date +%s) - t0 )) s"
grep -E 'tests (successful|failed|skipped|aborted)|containers failed' "$out/gpu-tests.log" | tee -a "$out/summary.txt"
tail -n 60 "$out/gpu-tests.log"
