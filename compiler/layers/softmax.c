/* Softmax(axis): softmax over one axis (default -1). Another axis than the
 * last is moved last by a permute, and back after. A list of several axes
 * (Keras 3 accepts a tuple) is refused. */
#include <stdlib.h>
#include <string.h>

#include "compiler/layers/layer_axis.h"

typedef struct softmax_params {
  int64_t axis;
  char path[NNC_PATH_MAX]; /* of "axis", for errors found at lowering */
} softmax_params;

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  softmax_params p = {.axis = -1};
  spec_path_key(p.path, cfg_path, "axis");
  const cJSON *axis = spec_child(cfg, "axis");
  if (cJSON_IsArray(axis)) {
    if (cJSON_GetArraySize(axis) != 1)
      return spec_fail_unsupported(ctx, p.path, axis, "Softmax over several axes");
    axis = cJSON_GetArrayItem(axis, 0);
    char list_path[NNC_PATH_MAX];
    memcpy(list_path, p.path, sizeof list_path);
    spec_path_index(p.path, list_path, 0);
  }
  int rc = spec_is_absent(axis) ? NNC_OK : layer_parse_axis(ctx, axis, p.path, &p.axis);
  if (rc) return rc;
  out->params = malloc(sizeof p);
  if (!out->params) return nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory");
  *(softmax_params *)out->params = p;
  return NNC_OK;
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  const softmax_params *p = c->layer->params;
  nnc_graph *g = &c->l->forward;
  const nnc_shape *s = &g->nodes[in[0]].shape;
  int rank = s->rank;
  int axis = layer_resolve_axis(c, p->path, p->axis, s, st);
  if (axis < 0) return -1;
  if (axis == rank - 1) {
    int y = graph_softmax(g, in[0], st);
    layer_label(g, y, c->layer->name, "softmax");
    return y;
  }
  int to_last[NNC_MAX_RANK], back[NNC_MAX_RANK], k = 0;
  for (int a = 0; a < rank; a++)
    if (a != axis) to_last[k++] = a;
  to_last[rank - 1] = axis;
  for (int a = 0; a < rank; a++) back[to_last[a]] = a;
  int t = graph_permute(g, in[0], to_last, st);
  layer_label(g, t, c->layer->name, "to_last");
  int y = graph_softmax(g, t, st);
  layer_label(g, y, c->layer->name, "softmax");
  y = graph_permute(g, y, back, st);
  layer_label(g, y, c->layer->name, "from_last");
  return y;
}

const nnc_layer_class layer_softmax = {"Softmax", "softmax", 1, 1, parse, lower, NULL};
