/* LeakyReLU: x for x > 0, negative_slope * x otherwise. Keras 3 calls the
 * slope negative_slope; Keras 2 and tfjs call it alpha; the default is 0.3
 * in all three (the "leaky_relu" activation string's is 0.2). Keras 3's
 * __init__ (leaky_relu.py) takes an `alpha` key over negative_slope whenever
 * the key is there, even as null, and refuses a slope that is None or
 * negative: so does nnc. */
#include <stdlib.h>

#include "compiler/layers/layer.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  const char *key = spec_child(cfg, "alpha") ? "alpha" : "negative_slope";
  const cJSON *item = spec_child(cfg, key);
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, key);
  double slope = 0.3;
  if (item && cJSON_IsNull(item))
    return spec_fail_expected(ctx, path, item,
                              "a number >= 0 (Keras 3's LeakyReLU refuses a slope of None%s)",
                              key[0] == 'a' ? "; it takes alpha over negative_slope" : "");
  int rc = spec_get_float32(ctx, cfg, cfg_path, key, 0.3, &slope);
  if (rc) return rc;
  if (slope < 0) return spec_fail_expected(ctx, path, item, "a number >= 0 (Keras's LeakyReLU)");
  out->params = malloc(sizeof slope);
  if (!out->params) return nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory");
  *(double *)out->params = slope;
  return NNC_OK;
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  nnc_graph *g = &c->l->forward;
  int y = graph_leaky_relu(g, in[0], *(const double *)c->layer->params, st);
  layer_label(g, y, c->layer->name, "leaky_relu");
  return y;
}

const nnc_layer_class layer_leaky_relu = {"LeakyReLU", "leaky_re_lu", 1, 1, parse, lower, NULL};
