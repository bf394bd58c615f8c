/* RepeatVector(n): [B, d] -> [B, n, d], n copies of each sample's vector
 * (a REPEAT_AXIS node on axis 1). Keras takes rank-2 inputs only. */
#include <stdlib.h>

#include "compiler/layers/layer.h"

typedef struct repeat_params {
  int64_t n;
} repeat_params;

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, "n");
  repeat_params p;
  int rc = spec_positive_int(ctx, spec_child(cfg, "n"), path, &p.n);
  if (rc) return rc;
  out->params = malloc(sizeof p);
  if (!out->params) return nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory");
  *(repeat_params *)out->params = p;
  return NNC_OK;
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  const repeat_params *p = c->layer->params;
  nnc_graph *g = &c->l->forward;
  const nnc_shape *s = &g->nodes[in[0]].shape;
  if (!s->batched || s->rank != 2) {
    char have[64];
    shape_format(s, have, sizeof have);
    return layer_fail(c, st, "expected a rank-2 input [B,d] for RepeatVector \"%s\", got %s",
                      c->layer->name, have);
  }
  int y = graph_repeat_axis(g, in[0], 1, p->n, st);
  layer_label(g, y, c->layer->name, "repeat");
  return y;
}

const nnc_layer_class layer_repeat_vector = {"RepeatVector", "repeat_vector", 1,   1,
                                             parse,          lower,           NULL};
