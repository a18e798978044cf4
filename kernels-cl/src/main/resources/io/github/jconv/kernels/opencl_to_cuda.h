// jconv: compiles the OpenCL C subset of kernels-cl as CUDA, so one algorithm lives in one file. Included
// first, before common.cl (the prelude) and the family's .cl source (cuda-backend's build-ptx.sh:
// nvcc -include opencl_to_cuda.h -include common.cl -include deformable.cl); covers what that subset uses.
#pragma once

// OpenCL address spaces: CUDA pointers are generic, and fixed-size local arrays become shared memory.
#define __kernel extern "C" __global__
#define __global
#define __constant const
#define __local __shared__

// Work-item functions for 1D launches (dimension argument kept for source compatibility).
__device__ __forceinline__ long get_global_id(int d) { return (long)blockIdx.x * blockDim.x + threadIdx.x; }
__device__ __forceinline__ long get_local_id(int d) { return (long)threadIdx.x; }
__device__ __forceinline__ long get_group_id(int d) { return (long)blockIdx.x; }
__device__ __forceinline__ long get_local_size(int d) { return (long)blockDim.x; }
__device__ __forceinline__ long get_num_groups(int d) { return (long)gridDim.x; }
__device__ __forceinline__ long get_global_size(int d) { return (long)gridDim.x * blockDim.x; }

// Work-group barrier: one CUDA block is one OpenCL work-group.
#define CLK_LOCAL_MEM_FENCE 1
#define CLK_GLOBAL_MEM_FENCE 2
#define barrier(flags) __syncthreads()

// Helpers are inlined device functions rather than OpenCL's static inline.
#define DEVICE_FN __device__ __forceinline__

// OpenCL's unsigned scalar names and bit reinterpretations (common.cl's bfloat16 helpers).
typedef unsigned int uint;
typedef unsigned short ushort;
__device__ __forceinline__ float as_float(uint u) { return __uint_as_float(u); }
__device__ __forceinline__ uint as_uint(float f) { return __float_as_uint(f); }
