/* Reshape: target_shape (without the batch axis), at most one -1 that takes
 * what the other dimensions leave. */
#include <stdlib.h>

#include "compiler/layers/layer.h"

typedef struct reshape_params {
  nnc_spec_shape target; /* a -1 entry: inferred */
  char path[NNC_PATH_MAX];
} reshape_params;

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  char path[NNC_PATH_MAX], item_path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, "target_shape");
  const cJSON *list = spec_child(cfg, "target_shape");
  int n = cJSON_IsArray(list) ? cJSON_GetArraySize(list) : 0;
  if (n == 0 || n >= NNC_MAX_RANK)
    return spec_fail_expected(ctx, path, list,
                              "a list of 1 to %d dimensions (positive integers, at most one -1)",
                              NNC_MAX_RANK - 1);
  reshape_params p = {.target = {.rank = n}};
  int unknown = 0, i = 0;
  for (const cJSON *d = list->child; d; d = d->next, i++) {
    spec_path_index(item_path, path, i);
    if (cJSON_IsNumber(d) && d->valuedouble == -1) {
      if (unknown++) /* Keras: "There must be at most one unknown dimension" */
        return spec_fail(
            ctx, item_path,
            "expected at most one -1 (unknown) dimension in target_shape, got a second");
      p.target.dims[i] = -1;
      continue;
    }
    int rc = spec_positive_int(ctx, d, item_path, &p.target.dims[i]);
    if (rc) return rc;
  }
  nnc_strlcpy(p.path, path, sizeof p.path);
  out->params = malloc(sizeof p);
  if (!out->params) return nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory");
  *(reshape_params *)out->params = p;
  return NNC_OK;
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  const reshape_params *p = c->layer->params;
  nnc_graph *g = &c->l->forward;
  const nnc_shape *s = &g->nodes[in[0]].shape;
  int64_t have = shape_inner(s), known = 1, dims[NNC_MAX_RANK] = {-1};
  int unknown = -1, stopped = 0;
  for (int i = 0; i < p->target.rank; i++) {
    dims[i + 1] = p->target.dims[i];
    if (p->target.dims[i] < 0)
      unknown = i + 1;
    else if (known <= have) /* past have it is wrong anyway; stop before int64 overflows */
      known *= p->target.dims[i];
    else
      stopped = 1;
  }
  if (unknown > 0 && known > 0 && have % known == 0) dims[unknown] = have / known;
  if ((unknown > 0 && (known == 0 || have % known != 0)) || (unknown < 0 && known != have)) {
    char from[64];
    shape_format(s, from, sizeof from);
    nnc_fail(st, NNC_ERR_SPEC,
             "%s: %s: expected a target shape with as many elements as the input %s (%lld per "
             "sample), got %s%lld%s",
             c->spec->source, p->path, from, (long long)have, stopped ? "more than " : "",
             (long long)known, unknown > 0 ? " times the -1 dimension" : "");
    return -1;
  }
  int y = layer_reshape_node(g, in[0], shape_make(1, p->target.rank + 1, dims), st);
  layer_label(g, y, c->layer->name, "reshape");
  return y;
}

const nnc_layer_class layer_reshape = {"Reshape", "reshape", 1, 1, parse, lower, NULL};
