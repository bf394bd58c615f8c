/* InputLayer: declares a model input. Its shape keys are read by
 * spec_layer.c with every other layer's; lowering makes the INPUT node. */
#include "compiler/layers/layer.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  (void)out;
  int sparse, ragged, rc;
  if ((rc = spec_get_bool(ctx, cfg, cfg_path, "sparse", 0, &sparse)) ||
      (rc = spec_get_bool(ctx, cfg, cfg_path, "ragged", 0, &ragged)))
    return rc;
  char path[NNC_PATH_MAX];
  if (sparse) {
    spec_path_key(path, cfg_path, "sparse");
    return spec_fail_unsupported(ctx, path, spec_child(cfg, "sparse"), "a sparse input");
  }
  if (ragged) {
    spec_path_key(path, cfg_path, "ragged");
    return spec_fail_unsupported(ctx, path, spec_child(cfg, "ragged"), "a ragged input");
  }
  return NNC_OK;
}

/* Never called on a tensor: the model's inputs are lowered by lower.c. */
static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  (void)c;
  (void)st;
  return in[0];
}

const nnc_layer_class layer_input_layer = {"InputLayer", "input_layer", 1, 1, parse, lower, NULL};
