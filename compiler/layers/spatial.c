/* Parsing and layout helpers of the pooling and resampling layers (spatial.h). */
#include "compiler/layers/spatial.h"

#include <stdlib.h>
#include <string.h>

int spatial_parse_format(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                         int *channels_first) {
  *channels_first = 0;
  const cJSON *fmt = spec_child(cfg, "data_format");
  if (spec_is_absent(fmt)) return NNC_OK;
  char path[NNC_PATH_MAX], norm[32];
  spec_path_key(path, cfg_path, "data_format");
  /* Keras writes channels_last; tfjs's own spelling is channelsLast */
  if (cJSON_IsString(fmt) && spec_normalize(fmt->valuestring, norm, sizeof norm)) {
    if (!strcmp(norm, "channelslast")) return NNC_OK;
    if (!strcmp(norm, "channelsfirst")) {
      *channels_first = 1;
      return NNC_OK;
    }
  }
  return spec_fail_expected(ctx, path, fmt, "\"channels_last\", \"channels_first\" or null");
}

static int int_value(const cJSON *item, int64_t min_value, int64_t *out) {
  /* range first: converting a double beyond int64 to int64 is undefined */
  if (!cJSON_IsNumber(item) || !(item->valuedouble >= (double)min_value) ||
      item->valuedouble > 2147483647.0 || item->valuedouble != (double)(int64_t)item->valuedouble)
    return 0;
  *out = (int64_t)item->valuedouble;
  return 1;
}

int spatial_parse_ints(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, const char *key,
                       int n, int64_t min_value, int64_t *out) {
  const cJSON *v = spec_child(cfg, key);
  if (spec_is_absent(v)) return NNC_OK;
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, key);
  int64_t got[3];
  int ok = 0;
  if (cJSON_IsNumber(v)) {
    ok = int_value(v, min_value, &got[0]);
    for (int k = 1; k < n; k++) got[k] = got[0];
  } else if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == n) {
    ok = 1;
    for (int k = 0; k < n && ok; k++) ok = int_value(cJSON_GetArrayItem(v, k), min_value, &got[k]);
  }
  if (!ok)
    return spec_fail_expected(ctx, path, v, "an integer >= %lld or a list of %d of them",
                              (long long)min_value, n);
  memcpy(out, got, (size_t)n * sizeof *out);
  return NNC_OK;
}

/* An amount at path: an integer >= 0. */
static int side_amount(const spec_ctx *ctx, const cJSON *item, const char *path, int64_t *out) {
  if (int_value(item, 0, out)) return NNC_OK;
  return spec_fail_expected(ctx, path, item, "an integer >= 0");
}

/* A [before, after] list at path. */
static int side_pair(const spec_ctx *ctx, const cJSON *item, const char *path, int64_t *lo,
                     int64_t *hi) {
  if (!cJSON_IsArray(item) || cJSON_GetArraySize(item) != 2)
    return spec_fail_expected(ctx, path, item, "a list [before, after] of 2 integers >= 0");
  char elem[NNC_PATH_MAX];
  spec_path_index(elem, path, 0);
  if (side_amount(ctx, cJSON_GetArrayItem(item, 0), elem, lo)) return ctx->st->code;
  spec_path_index(elem, path, 1);
  return side_amount(ctx, cJSON_GetArrayItem(item, 1), elem, hi);
}

int spatial_parse_sides(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                        const char *key, int n, int64_t *lo, int64_t *hi) {
  const cJSON *v = spec_child(cfg, key);
  if (spec_is_absent(v)) return NNC_OK;
  char path[NNC_PATH_MAX], elem[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, key);
  int64_t l[3] = {0}, h[3] = {0};
  if (cJSON_IsNumber(v)) {
    if (side_amount(ctx, v, path, &l[0])) return ctx->st->code;
    for (int k = 0; k < n; k++) l[k] = h[k] = l[0];
  } else if (n == 1) { /* standardize_tuple(padding, 2): [[1, 2]] and [3] are refused */
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2)
      return spec_fail_expected(ctx, path, v,
                                "an integer >= 0 or a list [before, after] of 2 integers");
    if (side_pair(ctx, v, path, &l[0], &h[0])) return ctx->st->code;
  } else {
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != n)
      return spec_fail_expected(ctx, path, v,
                                "an integer >= 0 or a list of %d entries, each an integer or a "
                                "list [before, after]",
                                n);
    for (int k = 0; k < n; k++) {
      const cJSON *e = cJSON_GetArrayItem(v, k);
      spec_path_index(elem, path, k);
      if (cJSON_IsNumber(e) ? side_amount(ctx, e, elem, &l[k])
                            : side_pair(ctx, e, elem, &l[k], &h[k]))
        return ctx->st->code;
      if (cJSON_IsNumber(e)) h[k] = l[k];
    }
  }
  memcpy(lo, l, (size_t)n * sizeof *lo);
  memcpy(hi, h, (size_t)n * sizeof *hi);
  return NNC_OK;
}

int spatial_store(const spec_ctx *ctx, const spatial_params *p, nnc_spec_layer *out) {
  out->params = malloc(sizeof *p);
  if (!out->params) return nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory");
  *(spatial_params *)out->params = *p;
  return NNC_OK;
}

int spatial_check_input(layer_call *c, int x, int dims, nnc_status *st) {
  const nnc_shape *s = &c->l->forward.nodes[x].shape;
  if (s->batched && s->rank == dims + 2) return NNC_OK;
  char have[64];
  shape_format(s, have, sizeof have);
  const spatial_params *p = c->layer->params;
  return layer_fail(c, st, "expected a rank-%d input %s for %s \"%s\", got %s", dims + 2,
                    p->channels_first ? "[B, channels, spatial...]" : "[B, spatial..., channels]",
                    layer_class(c->layer->kind)->class_name, c->layer->name, have);
}

int spatial_to_last(nnc_graph *g, int x, nnc_status *st) {
  int rank = g->nodes[x].shape.rank, perm[NNC_MAX_RANK] = {0};
  for (int k = 1; k < rank - 1; k++) perm[k] = k + 1;
  perm[rank - 1] = 1;
  return graph_permute(g, x, perm, st);
}

int spatial_to_first(nnc_graph *g, int x, nnc_status *st) {
  int rank = g->nodes[x].shape.rank, perm[NNC_MAX_RANK] = {0};
  perm[1] = rank - 1;
  for (int k = 2; k < rank; k++) perm[k] = k - 1;
  return graph_permute(g, x, perm, st);
}
