/* Flatten: [batch, d1, d2, ...] -> [batch, d1*d2*...], any rank. With
 * data_format channels_first (rank > 2) Keras 3 first moves the channels
 * (axis 1) last, so the order of the flat entries is channels-last's. */
#include <stdlib.h>
#include <string.h>

#include "compiler/layers/layer.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  const cJSON *fmt = spec_child(cfg, "data_format");
  if (spec_is_absent(fmt)) return NNC_OK;
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, "data_format");
  if (cJSON_IsString(fmt) && strcmp(fmt->valuestring, "channels_last") == 0) return NNC_OK;
  if (cJSON_IsString(fmt) && strcmp(fmt->valuestring, "channels_first") == 0) {
    out->params = malloc(sizeof(int)); /* the flag: channels first */
    if (!out->params) return nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory");
    *(int *)out->params = 1;
    return NNC_OK;
  }
  return spec_fail_expected(ctx, path, fmt, "\"channels_last\", \"channels_first\" or null");
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  nnc_graph *g = &c->l->forward;
  const nnc_shape *s = &g->nodes[in[0]].shape;
  if (s->rank < 2) {
    nnc_fail(st, NNC_ERR_SPEC, "%s: %s: Flatten needs an input with a batch axis", c->spec->source,
             c->layer->path);
    return -1;
  }
  int64_t d[2] = {-1, shape_inner(s)};
  int x = in[0];
  if (c->layer->params && s->rank > 2) { /* channels_first: [B, C, S..] -> [B, S.., C] */
    int perm[NNC_MAX_RANK] = {0};
    for (int k = 1; k < s->rank - 1; k++) perm[k] = k + 1;
    perm[s->rank - 1] = 1;
    x = graph_permute(g, x, perm, st);
    if (x < 0) return -1;
  }
  int y = layer_reshape_node(g, x, shape_make(1, 2, d), st);
  layer_label(g, y, c->layer->name, "flatten");
  return y;
}

const nnc_layer_class layer_flatten = {"Flatten", "flatten", 1, 1, parse, lower, NULL};
