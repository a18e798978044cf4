// jconv: plain SGD on the device for the layers' parameters, the same arithmetic as the host path
// (AbstractConvLayer.step): p[i] = p[i] - lr * g[i], the product rounded, then the difference rounded,
// to nearest even. The _rn intrinsics keep nvcc from contracting the two into one fused multiply-add,
// so the result is bit for bit the host's. One thread per element.

extern "C" __global__ void sgd_f32(float *p, const float *g, float lr, unsigned long long n) {
    unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) p[i] = __fsub_rn(p[i], __fmul_rn(lr, g[i]));
}

extern "C" __global__ void sgd_f64(double *p, const double *g, double lr, unsigned long long n) {
    unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) p[i] = __dsub_rn(p[i], __dmul_rn(lr, g[i]));
}
