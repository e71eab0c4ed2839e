/* Host kernels of the toy bundle written by make_toy_bundle.py, following
   the host ABI of docs/bundle-format.md: y = 2 * x + bias[c] - 1 on x of
   shape [1, 2, 4, 4]; init broadcasts bias into a prepared buffer. */
#include <stdint.h>

void init_expand_bias(void *const *args, int64_t b0, int64_t b1) {
  const float *bias = args[0];
  float *prep = args[1];
  for (int64_t b = b0; b < b1; ++b)
    for (int c = 0; c < 2; ++c)
      for (int k = 0; k < 16; ++k)
        prep[c * 16 + k] = bias[c];
}

void scale_add(void *const *args, int64_t b0, int64_t b1) {
  const float *x = args[0], *p = args[1];
  float *t = args[2];
  for (int64_t b = b0; b < b1; ++b)
    for (int64_t i = b * 4; i < b * 4 + 4; ++i)
      t[i] = 2.0f * x[i] + p[i];
}

void minus_one(void *const *args, int64_t b0, int64_t b1) {
  const float *t = args[0];
  float *y = args[1];
  for (int64_t b = b0; b < b1; ++b)
    y[b] = t[b] - 1.0f;
}
