// jconv: bias gradient for the 2-byte storage types, which cudnnConvolutionBackwardBias refuses for
// BF16 (CUDNN_STATUS_NOT_SUPPORTED):
//   db[c] = sum over n < N and s < S of dy[(n * C + c) * S + s]
// accumulated in float and rounded once, to nearest even, into the storage type. One block of
// BIAS_WG threads per channel; thread t sums s = t, t + BIAS_WG, ... of every batch item in order,
// then the block adds the partial sums in a fixed tree, so the result does not depend on scheduling.

#ifndef BIAS_WG
#define BIAS_WG 256
#endif

__device__ __forceinline__ float fp16_to_float(unsigned short h) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}

__device__ __forceinline__ unsigned short float_to_fp16(float f) {
    unsigned short h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
    return h;
}

__device__ __forceinline__ float bf16_to_float(unsigned short b) {
    return __uint_as_float(((unsigned int)b) << 16);
}

__device__ __forceinline__ unsigned short float_to_bf16(float f) {
    unsigned int u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((u >> 16) | 0x0040u); // NaN stays a (quiet) NaN
    u += 0x7fffu + ((u >> 16) & 1u);                                                        // round to nearest even
    return (unsigned short)(u >> 16);
}

#define BIAS_KERNEL(NAME, LOAD, STORE)                                                                  \
extern "C" __global__ void NAME(const unsigned short* __restrict__ dy, unsigned short* __restrict__ db,    \
                                const int n, const int c, const long long spatial) {                      \
    __shared__ float part[BIAS_WG];                                                                       \
    const int ch = blockIdx.x;                                                                            \
    const int t = threadIdx.x;                                                                            \
    float acc = 0.0f;                                                                                     \
    for (int b = 0; b < n; b++) {                                                                         \
        const unsigned short* plane = dy + ((long long)b * c + ch) * spatial;                             \
        for (long long s = t; s < spatial; s += BIAS_WG) acc += LOAD(plane[s]);                           \
    }                                                                                                     \
    part[t] = acc;                                                                                        \
    __syncthreads();                                                                                      \
    for (int half = BIAS_WG / 2; half > 0; half >>= 1) {                                                  \
        if (t < half) part[t] += part[t + half];                                                          \
        __syncthreads();                                                                                  \
    }                                                                                                     \
    if (t == 0) db[ch] = STORE(part[0]);                                                                  \
}

BIAS_KERNEL(bias_grad_f16, fp16_to_float, float_to_fp16)
BIAS_KERNEL(bias_grad_bf16, bf16_to_float, float_to_bf16)
