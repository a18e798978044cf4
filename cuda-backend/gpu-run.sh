#!/usr/bin/env bash
# jconv's checks on a machine with an NVIDIA GPU (see cuda-backend/GPU-RUN.md). Run it from anywhere in a
# clone after `mvn -B -q -DskipTests package`; it writes logs, CSVs and summary.txt under $OUT
# (default: target/gpu-run in the repository). Every step is capped in time and goes on after a failure.
#   JCONV_REQUIRE_BACKENDS  backends whose absence fails the tests (default cpu,cuda)
#   TESTS_TIMEOUT, BENCH_TIMEOUT  seconds for the test runs (default 1800) and each bench mode (default 600)
#   PYTHON  the Python with PyTorch for the peer (default python3)
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${OUT:-$root/target/gpu-run}
mkdir -p "$out"
: > "$out/summary.txt"
say() { echo "$*" | tee -a "$out/summary.txt"; }
require=${JCONV_REQUIRE_BACKENDS:-cpu,cuda}
t0=$(date +%s)
{ date -u; nvidia-smi -L; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  ls -l /usr/lib/x86_64-linux-gnu/libcudnn.so.9* /usr/local/cuda/lib*/libcudart.so* 2>&1; } > "$out/device.txt" 2>&1
# 0. what jconv sees: every backend, why not, and the known-answer matrix of each device
timeout 300 ./jconv probe --isolate > "$out/probe.log" 2>&1
say "probe rc=$? after $(( $(date +%s) - t0 )) s"
# 1. the conformance suite and the equivalence tests, with the required backends
JCONV_REQUIRE_BACKENDS=$require timeout "${TESTS_TIMEOUT:-1800}" mvn -B -pl tests -am test -Dsurefire.failIfNoSpecifiedTests=false \
  > "$out/tests.log" 2>&1
say "tests module rc=$? after $(( $(date +%s) - t0 )) s"
# 2. the CUDA module's own GPU tests; the poisoning test alone, as it spoils the context it runs in
JCONV_REQUIRE_BACKENDS=$require timeout "${TESTS_TIMEOUT:-1800}" mvn -B -pl cuda-backend -am test -Dtest='CudaGpuTest,DeformableGpuTest' \
  -Dsurefire.failIfNoSpecifiedTests=false > "$out/cuda-gpu-tests.log" 2>&1
say "cuda GPU tests rc=$? after $(( $(date +%s) - t0 )) s"
JCONV_CUDA_POISON_TEST=1 timeout 600 mvn -B -pl cuda-backend -am test -Dtest=PoisonGpuTest \
  -Dsurefire.failIfNoSpecifiedTests=false > "$out/poison.log" 2>&1
say "poison test rc=$? after $(( $(date +%s) - t0 )) s"
# 3. the benchmark beside PyTorch on the same GPU: FP32, then TF32
for m in fp32 tf32; do
  JCONV_CUDA_MATH=$m timeout "${BENCH_TIMEOUT:-600}" ./jconv bench --backend cuda --peer torch --python "${PYTHON:-python3}" \
    --csv "$out/bench-$m.csv" > "$out/bench-$m.log" 2>&1
  say "bench $m rc=$? after $(( $(date +%s) - t0 )) s"
done
grep -hE 'Tests run:.*Fail|BUILD (SUCCESS|FAILURE)' "$out/tests.log" "$out/cuda-gpu-tests.log" "$out/poison.log" | tail -n 12 \
  | tee -a "$out/summary.txt"
say "logs in $out"
