// jconv: zero-padded window copy between two NCDHW tensors with the same N*C planes, for cuDNN
// problems cuDNN cannot pad itself (asymmetric padding, large output_padding):
//   dst[p, z, y, x] = src[p, z - oz, y - oy, x - ox] when that is inside src, else 0.
// A positive offset embeds src into a larger dst; a negative one crops. 1D and 2D use leading sizes 1.
// One kernel per element width, so FP16/BF16 (2 bytes), FP32 (4) and FP64 (8) copy bits unchanged.

#define WINDOW_KERNEL(NAME, T)                                                                         \
extern "C" __global__ void NAME(const T* __restrict__ src, T* __restrict__ dst, const long long planes,  \
                                const int sd, const int sh, const int sw,                                 \
                                const int dd, const int dh, const int dw,                                 \
                                const int oz, const int oy, const int ox) {                               \
    const long long total = planes * dd * dh * dw;                                                        \
    const long long step = (long long)gridDim.x * blockDim.x;                                             \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += step) {          \
        long long r = i;                                                                                  \
        const int x = (int)(r % dw); r /= dw;                                                             \
        const int y = (int)(r % dh); r /= dh;                                                             \
        const int z = (int)(r % dd);                                                                      \
        const long long p = r / dd;                                                                       \
        const int zs = z - oz, ys = y - oy, xs = x - ox;                                                  \
        T v = (T)0;                                                                                       \
        if (zs >= 0 && zs < sd && ys >= 0 && ys < sh && xs >= 0 && xs < sw)                               \
            v = src[((p * sd + zs) * sh + ys) * sw + xs];                                                 \
        dst[i] = v;                                                                                       \
    }                                                                                                     \
}

WINDOW_KERNEL(window_copy_b16, unsigned short)
WINDOW_KERNEL(window_copy_b32, unsigned int)
WINDOW_KERNEL(window_copy_b64, unsigned long long)
