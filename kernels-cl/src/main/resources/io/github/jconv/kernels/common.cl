// jconv kernel prelude: what every kernel family shares, read once before the family's own file.
// OpenCL: KernelSources.source(family) is this file followed by <family>.cl, so every program is built
// from the prelude and one family with the same options. CUDA: build-ptx.sh compiles with
// -include opencl_to_cuda.h -include common.cl -include <family>.cl, the same text behind the shim.
// This file holds no kernels, only types, macros and inline helpers.
//
// Build options (defines; the host sets them per dtype, see ClPrograms.realOptions in opencl-backend):
//   REAL        arithmetic type of the kernels, float or double (default float); typedef real
//   JCONV_FP64  1 when REAL (or ACC) is double: enables cl_khr_fp64 in OpenCL (CUDA needs nothing)
//   ACC         accumulation type of sums and reductions (default REAL); typedef acc_t
//   IDX         index type of element offsets into the launch's buffers (default long); typedef idx_t. The
//               OpenCL host passes -DIDX=int when every buffer of the launch has fewer than 2^31 elements
//               (IndexWidth in opencl-backend), else -DIDX=long; CUDA builds keep the default. Kernels form
//               with idx_t only values that stay below the largest buffer (an element index, a plane or row
//               offset, a spatial size); grid-stride and reduction counters stay long (counter + step may
//               pass 2^31 - 1), and so do deformable.cl's sample cells (coord_cell: any offset's floor).
//   STORE_HALF  1 (OpenCL only; REAL float): tensors are stored as IEEE half, read with vload_half and written
//               with vstore_half (round to nearest even), both core OpenCL, no cl_khr_fp16 needed
//   STORE_BF16  1: tensors are stored as bfloat16 (the upper 16 bits of a float), converted by bit shifts
//               with round to nearest even on the way out; no host sets it yet
//   RED_WG      work-group size of the reduction kernels, a power of two <= the kernel's
//               CL_KERNEL_WORK_GROUP_SIZE (default 64; the host checks and rebuilds smaller if needed)
//   DEVICE_FN   qualifier of helper functions (default static inline; the CUDA shim makes it
//               __device__ __forceinline__)
// Storage: store_t is the element type of every tensor argument; LOAD(p, i) reads p[i] as real and
// STORE(p, i, v) writes v to p[i], converting where the storage is 16-bit; STORE_IS_REAL is 1 when
// store_t is real (plain loads, vector loads allowed).

#ifndef REAL
#define REAL float
#endif
#if defined(JCONV_FP64) && JCONV_FP64 && defined(__OPENCL_VERSION__)
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif
#ifndef ACC
#define ACC REAL
#endif
#ifndef IDX
#define IDX long
#endif
#ifndef RED_WG
#define RED_WG 64
#endif
#ifndef DEVICE_FN
#define DEVICE_FN static inline
#endif

typedef REAL real;
typedef ACC acc_t;
typedef IDX idx_t;

// Token pasting through one level of expansion (JCONV_CAT(REAL, 4) is float4 or double4).
#define JCONV_CAT_(a, b) a##b
#define JCONV_CAT(a, b) JCONV_CAT_(a, b)

// A pointer into local memory: an address space in OpenCL, a plain pointer through the CUDA shim.
#ifdef __OPENCL_VERSION__
#define LOCAL_PTR __local
#else
#define LOCAL_PTR
#endif

// bfloat16 <-> float by bit shifts: a bfloat16 is the upper half of a float's bits. Widening is exact;
// narrowing rounds to nearest even, and a NaN stays a quiet NaN (the quiet bit is set, so dropping the
// low payload bits cannot make it an infinity). The same conversions as core's HalfFloats and
// cuda-backend's convert.cu.
DEVICE_FN float bf16_to_float(const ushort b) {
    return as_float(((uint)b) << 16);
}

DEVICE_FN ushort float_to_bf16(const float f) {
    uint u = as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (ushort)((u >> 16) | 0x0040u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (ushort)(u >> 16);
}

#if defined(STORE_HALF) && STORE_HALF && defined(STORE_BF16) && STORE_BF16
#error "STORE_HALF and STORE_BF16 exclude each other: a build has one storage type"
#endif
#if defined(STORE_HALF) && STORE_HALF && defined(__OPENCL_VERSION__)
typedef half store_t;
#define STORE_IS_REAL 0
#define LOAD(p, i) ((real) vload_half((i), (p)))
#define STORE(p, i, v) vstore_half((v), (i), (p))
#elif defined(STORE_BF16) && STORE_BF16
typedef ushort store_t;
#define STORE_IS_REAL 0
#define LOAD(p, i) ((real) bf16_to_float((p)[i]))
#define STORE(p, i, v) ((p)[i] = float_to_bf16((float) (v)))
#else
typedef real store_t;
#define STORE_IS_REAL 1
#define LOAD(p, i) ((p)[i])
#define STORE(p, i, v) ((p)[i] = (v))
#endif

// The geometry parameters of the dense convolution kernels (conv.cl, im2col.cl), all int: N batch,
// C input channels, K output channels, G groups, D/H/W input and OD/OH/OW output sizes, KD/KH/KW kernel
// taps, SD/SH/SW strides, PD/PH/PW paddings, DD/DH/DW dilations (a 1D or 2D problem has size 1 in the
// missing leading axes).
#define GEOM_PARAMS const int N, const int C, const int K, const int G, \
    const int D, const int H, const int W, const int OD, const int OH, const int OW, \
    const int KD, const int KH, const int KW, const int SD, const int SH, const int SW, \
    const int PD, const int PH, const int PW, const int DD, const int DH, const int DW

// The output position o that tap t of input position i comes from along one axis, or -1:
// i + p - t*d must be a non-negative multiple of s below O.
DEVICE_FN int source_pos(const int i, const int p, const int t, const int d, const int s, const int O) {
    const int q = i + p - t * d;
    if (q < 0 || q % s != 0) return -1;
    const int o = q / s;
    return o < O ? o : -1;
}

// Tree sum of RED_WG partial values in local memory, as a macro so that no __local pointer crosses a
// function boundary (a CUDA shim cannot express one); every item of the group must reach it, and
// part[0] holds the sum after it.
#define GROUP_SUM(part, lid, v) \
    part[lid] = (v); \
    barrier(CLK_LOCAL_MEM_FENCE); \
    for (int span = RED_WG / 2; span > 0; span >>= 1) { \
        if ((lid) < span) part[lid] += part[(lid) + span]; \
        barrier(CLK_LOCAL_MEM_FENCE); \
    }
