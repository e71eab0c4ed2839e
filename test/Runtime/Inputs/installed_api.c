/* A program of a user of an installed libdlart (test/Runtime/install.test):
   built against <prefix>/include/dlart/dlart.h alone and linked with
   <prefix>/lib/libdlart.so. Runs the toy bundle of make_toy_bundle.py
   (y = 2 * x + bias[c] - 1, x of shape [1, 2, 4, 4]) once with x = 1 and
   prints what it got. usage: installed_api BUNDLE WEIGHTS */
#include <dlart/dlart.h>

#include <stdio.h>

int main(int argc, char **argv) {
  dlart_model *m = NULL;
  dlart_tensor_info in, out;
  float *x, *y;
  int64_t i;
  if (argc != 3) {
    fprintf(stderr, "usage: installed_api BUNDLE WEIGHTS\n");
    return 2;
  }
  if (dlart_open(argv[1], &m) != DLART_OK || dlart_set_threads(m, 2) != DLART_OK ||
      dlart_set_device(m, DLART_DEVICE_HOST) != DLART_OK ||
      dlart_load_weights(m, argv[2]) != DLART_OK ||
      dlart_input_info(m, 0, &in) != DLART_OK || dlart_output_info(m, 0, &out) != DLART_OK ||
      (x = dlart_input_buffer(m, 0)) == NULL || (y = dlart_output_buffer(m, 0)) == NULL) {
    fprintf(stderr, "installed_api: %s\n", dlart_last_error());
    dlart_close(m);
    return 1;
  }
  for (i = 0; i < in.num_elements; ++i)
    x[i] = 1.0f;
  if (dlart_forward(m, NULL, NULL) != DLART_OK) {
    fprintf(stderr, "installed_api: %s\n", dlart_last_error());
    dlart_close(m);
    return 1;
  }
  printf("%s: %zu input, %zu output, %.4s\n", dlart_model_name(m), dlart_num_inputs(m),
         dlart_num_outputs(m), dlart_device_info(m));
  printf("%s[0] = %g, %s[%lld] = %g\n", out.name, y[0], out.name,
         (long long)(out.num_elements - 1), y[out.num_elements - 1]);
  dlart_close(m);
  return 0;
}
