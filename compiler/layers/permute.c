/* Permute(dims): reorders the axes of each sample; dims lists them 1-based
 * without the batch axis (Keras: Permute((2, 1)) swaps the two axes of a
 * [B,n,m] input). A PERMUTE node with [0, dims...]. */
#include <stdlib.h>

#include "compiler/layers/layer.h"

typedef struct permute_params {
  int rank; /* entries of dims */
  int dims[NNC_MAX_RANK];
  char path[NNC_PATH_MAX];
} permute_params;

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  permute_params p = {.rank = 0};
  spec_path_key(p.path, cfg_path, "dims");
  const cJSON *dims = spec_child(cfg, "dims");
  int n = cJSON_IsArray(dims) ? cJSON_GetArraySize(dims) : 0;
  int seen[NNC_MAX_RANK] = {0};
  int ok = n >= 1 && n < NNC_MAX_RANK;
  for (int i = 0; ok && i < n; i++) {
    const cJSON *d = cJSON_GetArrayItem(dims, i);
    ok = cJSON_IsNumber(d) && d->valuedouble >= 1 && d->valuedouble <= n &&
         d->valuedouble == (int)d->valuedouble && !seen[(int)d->valuedouble - 1]++;
    if (ok) p.dims[i] = (int)d->valuedouble;
  }
  if (!ok)
    return spec_fail_expected(ctx, p.path, dims,
                              "a permutation of 1..n (the axes after the batch axis, n < %d)",
                              NNC_MAX_RANK);
  p.rank = n;
  out->params = malloc(sizeof p);
  if (!out->params) return nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory");
  *(permute_params *)out->params = p;
  return NNC_OK;
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  const permute_params *p = c->layer->params;
  nnc_graph *g = &c->l->forward;
  const nnc_shape *s = &g->nodes[in[0]].shape;
  if (!s->batched || s->rank != p->rank + 1) {
    char have[64];
    shape_format(s, have, sizeof have);
    nnc_fail(st, NNC_ERR_SPEC,
             "%s: %s: expected one entry per axis after the batch axis of the input %s (%d) for "
             "Permute \"%s\", got %d entries",
             c->spec->source, p->path, have, s->rank - 1, c->layer->name, p->rank);
    return -1;
  }
  int perm[NNC_MAX_RANK] = {0};
  for (int k = 0; k < p->rank; k++) perm[k + 1] = p->dims[k];
  int y = graph_permute(g, in[0], perm, st);
  layer_label(g, y, c->layer->name, "permute");
  return y;
}

const nnc_layer_class layer_permute = {"Permute", "permute", 1, 1, parse, lower, NULL};
