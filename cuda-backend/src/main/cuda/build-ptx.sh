#!/usr/bin/env bash
# Compiles jconv's CUDA kernels to PTX: from kernels-cl, the shim opencl_to_cuda.h, the prelude common.cl and
# deformable.cl (the text OpenCL builds, behind the shim), with the CUDA-only deformable_scatter.cu after them
# (FP32 and FP64 builds); window.cu, bias_grad.cu, sgd.cu and convert.cu. Writes into OUT_DIR (default: the committed resources) plus a manifest with the nvcc
# version and the SHA-256 of every source and flag, which a test checks.
#   usage: cuda-backend/src/main/cuda/build-ptx.sh [OUT_DIR]     (needs nvcc; NVCC overrides the path)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
module=$(cd "$here/../../.." && pwd)
out=${1:-$module/src/main/resources/io/github/jconv/cuda/ptx}
nvcc=${NVCC:-/usr/local/cuda/bin/nvcc}
# kernels-cl's sources: the shim, the prelude and the family. KERNELS overrides their folder, e.g. a copy of
# the committed versions while kernels-cl has local edits
kernels=${KERNELS:-"$module/../kernels-cl/src/main/resources/io/github/jconv/kernels"}
shim="$kernels/opencl_to_cuda.h"
prelude="$kernels/common.cl"
cl="$kernels/deformable.cl"
# compute_75 is the oldest target nvcc 13 accepts; the driver JIT-compiles PTX for newer GPUs
arch=compute_75
red_wg=128
bias_wg=256
common="-ptx -arch=$arch -std=c++17 -O3"
mkdir -p "$out"
# deformable_scatter.cu is the compiled file; the shim, the prelude and the .cl source come first through -include
"$nvcc" $common -include "$shim" -include "$prelude" -include "$cl" -DREAL=float -DRED_WG=$red_wg \
  "$here/deformable_scatter.cu" -o "$out/deformable_f32.ptx"
"$nvcc" $common -include "$shim" -include "$prelude" -include "$cl" -DREAL=double -DJCONV_FP64=1 -DRED_WG=$red_wg \
  "$here/deformable_scatter.cu" -o "$out/deformable_f64.ptx"
"$nvcc" $common "$here/window.cu" -o "$out/window.ptx"
"$nvcc" $common -DBIAS_WG=$bias_wg "$here/bias_grad.cu" -o "$out/bias_grad.ptx"
"$nvcc" $common "$here/sgd.cu" -o "$out/sgd.ptx"
"$nvcc" $common "$here/convert.cu" -o "$out/convert.ptx"
sha() { sha256sum "$1" | cut -c1-64; }
{
  echo "# written by cuda-backend/src/main/cuda/build-ptx.sh; checked by PtxBuildTest"
  echo "nvcc=$("$nvcc" --version | tail -1)"
  echo "flags=$common"
  echo "red_wg=$red_wg"
  echo "opencl_to_cuda.h=$(sha "$shim")"
  echo "common.cl=$(sha "$prelude")"
  echo "deformable.cl=$(sha "$cl")"
  echo "deformable_scatter.cu=$(sha "$here/deformable_scatter.cu")"
  echo "window.cu=$(sha "$here/window.cu")"
  echo "bias_wg=$bias_wg"
  echo "bias_grad.cu=$(sha "$here/bias_grad.cu")"
  echo "sgd.cu=$(sha "$here/sgd.cu")"
  echo "convert.cu=$(sha "$here/convert.cu")"
} > "$out/manifest.properties"
# silent on success, so that mvn -q stays quiet; BUILD_PTX_VERBOSE=1 says where the PTX went
if [ -n "${BUILD_PTX_VERBOSE:-}" ]; then echo "[build-ptx] wrote $out"; fi
