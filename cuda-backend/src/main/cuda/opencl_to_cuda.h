// jconv: compiles the OpenCL C subset of kernels-cl (deformable.cl) as CUDA, so one algorithm lives
// in one file. Included before the .cl source with nvcc -include; covers exactly what that subset uses.
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
