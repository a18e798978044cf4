// Test-only: the smallest OpenCL-to-CUDA mapping (in the spirit of CLBlast's opencl_to_cuda.h) that
// proves every jconv kernel source compiles with nvcc. The CUDA backend keeps its own, real shim.
#define __kernel extern "C" __global__
#define __global
#define __local __shared__
#define DEVICE_FN __device__ __forceinline__
#define CLK_LOCAL_MEM_FENCE 0
#define barrier(x) __syncthreads()
__device__ __forceinline__ long get_global_id(int d) { return (long)blockIdx.x * blockDim.x + threadIdx.x; }
__device__ __forceinline__ int get_local_id(int d) { return threadIdx.x; }
__device__ __forceinline__ long get_group_id(int d) { return blockIdx.x; }
__device__ __forceinline__ int get_local_size(int d) { return blockDim.x; }
