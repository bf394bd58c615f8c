/* ReLU(max_value, negative_slope, threshold): Keras 3's ReLU.static_call
 * (keras/src/activations/activations.py), the same ops in the same order:
 *   slope != 0, no max_value, threshold 0: leaky_relu(x, slope)
 *   else  y = threshold != 0 ? x * (x > threshold)
 *           : max_value == 6 ? relu6(x) : relu(x)
 *         y = clip(y, 0, max_value)           (when a max_value other than relu6's)
 *         y = y - slope * relu(threshold - x)  (when slope != 0) */
#include <stdlib.h>

#include "compiler/layers/layer.h"

typedef struct relu_params {
  int has_max;
  double max_value, negative_slope, threshold;
} relu_params;

/* Keras 3's ReLU.__init__ (keras/src/layers/activations/relu.py) refuses a
 * negative max_value, negative_slope or threshold, and None for the last two
 * (None max_value means no maximum). */
static int non_negative(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                        const char *key, double dflt, double *out) {
  const cJSON *item = spec_child(cfg, key);
  if (item && cJSON_IsNull(item)) {
    char path[NNC_PATH_MAX];
    spec_path_key(path, cfg_path, key);
    return spec_fail_expected(ctx, path, item, "a number >= 0 (Keras's ReLU refuses None)");
  }
  int rc = spec_get_float32(ctx, cfg, cfg_path, key, dflt, out);
  if (rc || *out >= 0) return rc;
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, key);
  return spec_fail_expected(ctx, path, spec_child(cfg, key),
                            "a number >= 0 (Keras's ReLU refuses a negative %s)", key);
}

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  relu_params p = {0};
  int rc;
  if ((rc = non_negative(ctx, cfg, cfg_path, "negative_slope", 0.0, &p.negative_slope)) ||
      (rc = non_negative(ctx, cfg, cfg_path, "threshold", 0.0, &p.threshold)))
    return rc;
  p.has_max = !spec_is_absent(spec_child(cfg, "max_value"));
  if (p.has_max && (rc = non_negative(ctx, cfg, cfg_path, "max_value", 0.0, &p.max_value)))
    return rc;
  out->params = malloc(sizeof p);
  if (!out->params) return nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory");
  *(relu_params *)out->params = p;
  return NNC_OK;
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  const relu_params *p = c->layer->params;
  nnc_graph *g = &c->l->forward;
  const char *name = c->layer->name;
  int x = in[0], y;
  if (p->negative_slope != 0 && !p->has_max && p->threshold == 0) {
    y = graph_leaky_relu(g, x, p->negative_slope, st);
    layer_label(g, y, name, "leaky_relu");
    return y;
  }
  int negative = -1;
  if (p->negative_slope != 0) {
    int shifted = p->threshold != 0
                      ? graph_binary(g, NNC_BIN_SUB, graph_const(g, p->threshold, st), x, st)
                      : graph_unary(g, NNC_FN_NEG, x, st);
    negative = graph_unary(g, NNC_FN_RELU, shifted, st);
  }
  int clip_max = p->has_max;
  if (p->threshold != 0) {
    y = graph_binary(g, NNC_BIN_MUL, x,
                     graph_binary(g, NNC_BIN_GT, x, graph_const(g, p->threshold, st), st), st);
  } else if (p->has_max && p->max_value == 6) {
    y = graph_unary(g, NNC_FN_RELU6, x, st);
    clip_max = 0;
  } else {
    y = graph_unary(g, NNC_FN_RELU, x, st);
  }
  if (clip_max) y = graph_clip(g, y, 0.0, p->max_value, st);
  if (p->negative_slope != 0)
    y = graph_binary(
        g, NNC_BIN_SUB, y,
        graph_binary(g, NNC_BIN_MUL, graph_const(g, p->negative_slope, st), negative, st), st);
  layer_label(g, y, name, "relu");
  return y;
}

const nnc_layer_class layer_relu = {"ReLU", "re_lu", 1, 1, parse, lower, NULL};
