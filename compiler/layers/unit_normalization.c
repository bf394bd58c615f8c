/* UnitNormalization (Keras 3): x * rsqrt(max(sum(x^2), 1e-12)) over the
 * axes `axis` of each sample. No weights. */
#include <stdlib.h>

#include "compiler/layers/norm_util.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  norm_axes a;
  int rc = norm_parse_axes(ctx, cfg, cfg_path, "axis", -1, &a);
  if (rc) return rc;
  out->params = malloc(sizeof a);
  if (!out->params) return nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory");
  *(norm_axes *)out->params = a;
  return NNC_OK;
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  nnc_graph *g = &c->l->forward;
  nnc_shape xs = g->nodes[in[0]].shape;
  int axes[NNC_MAX_RANK], n_axes;
  if (norm_resolve_axes(c, c->layer->params, &xs, axes, &n_axes, st)) return -1;
  norm_layout lay;
  int x = norm_to_last(g, in[0], axes, n_axes, &lay, st);
  int sum = graph_reduce(g, NNC_RED_LAST, graph_binary(g, NNC_BIN_MUL, x, x, st), st);
  int inv =
      graph_unary(g, NNC_FN_RECIP,
                  graph_unary(g, NNC_FN_SQRT,
                              graph_binary(g, NNC_BIN_MAX, sum, graph_const(g, 1e-12, st), st), st),
                  st);
  int y = graph_binary(g, NNC_BIN_MUL, x, inv, st);
  layer_label(g, y, c->layer->name, "unit_norm");
  return norm_from_last(g, y, &lay, st);
}

const nnc_layer_class layer_unit_normalization = {
    "UnitNormalization", "unit_normalization", 1, 1, parse, lower, NULL};
