/* UpSampling1D: the spatial axes enlarged by repetition (up_sampling.c). */
#include "compiler/layers/spatial.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  /* Keras 3's UpSampling1D.__init__ takes only an int size (a list fails
   * its isinstance check; tf.keras 2 calls int(size)), unlike 2D/3D */
  const cJSON *size = spec_child(cfg, "size");
  if (cJSON_IsArray(size)) {
    char path[NNC_PATH_MAX];
    spec_path_key(path, cfg_path, "size");
    return spec_fail_expected(ctx, path, size,
                              "an integer >= 1 (Keras's UpSampling1D takes no list)");
  }
  return up_sampling_parse(ctx, cfg, cfg_path, 1, out);
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  return up_sampling_lower(c, in, st);
}

const nnc_layer_class layer_up_sampling1d = {"UpSampling1D", "up_sampling1d", 1,   1,
                                             parse,          lower,           NULL};
