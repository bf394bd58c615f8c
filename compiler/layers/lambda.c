/* Lambda: a Python function, which nnc cannot run. Known by name so the
 * message says why rather than listing the supported layers. */
#include "compiler/layers/layer.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  (void)out;
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, "function");
  return spec_fail(ctx, path,
                   "a Lambda layer is not supported: it holds Python code, which nnc cannot run "
                   "(rewrite it with built-in layers)");
  (void)cfg;
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)in;
  (void)n_in;
  return layer_fail(c, st, "a Lambda layer cannot be lowered");
}

const nnc_layer_class layer_lambda = {"Lambda", "lambda", 1, -1, parse, lower, NULL};
