// CUDA kernels of the toy bundle (make_toy_bundle.py), following the cuda
// ABI of docs/bundle-format.md: one device pointer per buffer, launched with
// the step's grid and block. Blocks are linearised as x + gx * (y + gy * z),
// as on the host, so each block covers the same elements as a host block.
// Built by scripts/make-test-cubin-bundle.sh.

__device__ static long long linearBlock() {
  return blockIdx.x + (long long)gridDim.x * (blockIdx.y + (long long)gridDim.y * blockIdx.z);
}

// init, grid [1,1,1]: prep[c * 16 + k] = bias[c].
extern "C" __global__ void init_expand_bias(const float *bias, float *prep) {
  for (int i = threadIdx.x; i < 32; i += blockDim.x)
    prep[i] = bias[i / 16];
}

// forward[0], grid [2,2,2]: block b computes elements [4b, 4b + 4).
extern "C" __global__ void scale_add(const float *x, const float *p, float *t) {
  long long i = linearBlock() * 4 + threadIdx.x;
  if (threadIdx.x < 4)
    t[i] = 2.0f * x[i] + p[i];
}

// forward[1], grid [32,1,1]: block b computes element b.
extern "C" __global__ void minus_one(const float *t, float *y) {
  if (threadIdx.x == 0)
    y[linearBlock()] = t[linearBlock()] - 1.0f;
}
