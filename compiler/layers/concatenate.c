/* Concatenate(axis=-1): one or more inputs joined along `axis` (counting the
 * batch axis as 0, negative from the end; the batch axis is refused). The
 * inputs must agree on every other dimension. A chain of binary CONCAT nodes,
 * left to right, as Keras's single concatenate gives the same values. */
#include <stdlib.h>

#include "compiler/layers/layer_axis.h"

typedef struct concat_params {
  int64_t axis;
  char path[NNC_PATH_MAX]; /* of "axis", for messages at lowering */
} concat_params;

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  concat_params p = {.axis = -1};
  spec_path_key(p.path, cfg_path, "axis");
  const cJSON *axis = spec_child(cfg, "axis");
  if (!spec_is_absent(axis)) {
    int rc = layer_parse_axis(ctx, axis, p.path, &p.axis);
    if (rc) return rc;
  }
  out->params = malloc(sizeof p);
  if (!out->params) return nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory");
  *(concat_params *)out->params = p;
  return NNC_OK;
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  const concat_params *p = c->layer->params;
  nnc_graph *g = &c->l->forward;
  const nnc_shape first = g->nodes[in[0]].shape;
  int axis = layer_resolve_axis(c, p->path, p->axis, &first, st);
  if (axis < 0) return -1;
  for (int i = 1; i < n_in; i++) {
    const nnc_shape *s = &g->nodes[in[i]].shape;
    int agree = s->rank == first.rank && s->batched == first.batched;
    for (int k = 0; agree && k < first.rank; k++) agree = k == axis || s->dims[k] == first.dims[k];
    if (!agree) {
      char a[64], b[64];
      shape_format(&first, a, sizeof a);
      shape_format(s, b, sizeof b);
      return layer_fail(c, st,
                        "expected inputs of one shape except on axis %d for Concatenate \"%s\", "
                        "got %s and %s (input %d)",
                        axis, c->layer->name, a, b, i);
    }
  }
  int y = in[0];
  for (int i = 1; i < n_in && y >= 0; i++) {
    y = graph_concat(g, y, in[i], axis, st);
    layer_label(g, y, c->layer->name, "concat");
  }
  return y;
}

const nnc_layer_class layer_concatenate = {"Concatenate", "concatenate", 1, -1, parse, lower, NULL};
