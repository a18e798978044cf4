// jconv: FP16 / BF16 storage <-> FP32 working copies, for the paths that compute in FP32 on 16-bit buffers
// (deformable convolution: DeformableRunner widens every input, runs the FP32 kernels and GEMMs, and narrows
// every output once, rounding to nearest even). Grid-stride over n elements, any 1D launch shape.
//   widen_f16(src, dst, n)   narrow_f16(src, dst, n)   widen_bf16(src, dst, n)   narrow_bf16(src, dst, n)
// Same conversions as bias_grad.cu: exact widening; narrowing rounds to nearest even, NaN stays NaN,
// FP16 overflows to infinity.

__device__ __forceinline__ float cv_fp16_to_float(unsigned short h) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}

__device__ __forceinline__ unsigned short cv_float_to_fp16(float f) {
    unsigned short h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
    return h;
}

__device__ __forceinline__ float cv_bf16_to_float(unsigned short b) {
    return __uint_as_float(((unsigned int)b) << 16);
}

__device__ __forceinline__ unsigned short cv_float_to_bf16(float f) {
    unsigned int u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((u >> 16) | 0x0040u); // NaN stays a (quiet) NaN
    u += 0x7fffu + ((u >> 16) & 1u);                                                        // round to nearest even
    return (unsigned short)(u >> 16);
}

#define WIDEN(NAME, LOAD)                                                                              \
extern "C" __global__ void NAME(const unsigned short* __restrict__ src, float* __restrict__ dst,        \
                                const long long n) {                                                   \
    const long long step = (long long)gridDim.x * blockDim.x;                                          \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += step) dst[i] = LOAD(src[i]); \
}

#define NARROW(NAME, STORE)                                                                            \
extern "C" __global__ void NAME(const float* __restrict__ src, unsigned short* __restrict__ dst,        \
                                const long long n) {                                                   \
    const long long step = (long long)gridDim.x * blockDim.x;                                          \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += step) dst[i] = STORE(src[i]); \
}

WIDEN(widen_f16, cv_fp16_to_float)
NARROW(narrow_f16, cv_float_to_fp16)
WIDEN(widen_bf16, cv_bf16_to_float)
NARROW(narrow_bf16, cv_float_to_bf16)
