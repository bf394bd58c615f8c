/* Normalization (Keras 3 keras/src/layers/preprocessing/normalization.py):
 * every phase, y = (x - mean) / max(sqrt(variance), 1e-7), or with invert
 * y = mean + x * max(sqrt(variance), 1e-7). mean and variance are kept per
 * position of the `axis` axes (default -1; null: one value for all).
 *
 * With mean/variance in the config (as `nnc adapt` writes them) they are
 * constants of the program; Keras aligns a mean of lower rank to the last
 * kept axes and broadcasts it. Without them the layer has Keras's adapt
 * weights `mean` (zeros) and `variance` (ones), non-trainable, which a
 * weights file can fill (Keras's int `count` weight is not kept).
 * Kept axes other than the last ones (axis=1 of [B, T, F]) are permuted
 * last and back. A negative variance in the config is refused (Keras would
 * take its square root: NaN). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/layers/layer.h"

#define NORM_MAX_AXES 8

typedef struct normalization_params {
  int n_axis; /* -1: axis null (no axis kept) */
  int64_t axis[NORM_MAX_AXES];
  int invert;
  int has_values; /* mean and variance given */
  int rank;       /* of mean (and variance) */
  int64_t dims[NNC_MAX_RANK];
  int64_t count; /* entries of each */
  double *mean, *variance;
} normalization_params;

static void free_params(void *params) {
  normalization_params *p = params;
  if (!p) return;
  free(p->mean);
  free(p->variance);
  free(p);
}

/* A number or a rectangular nested list of numbers: its shape, then values. */
static int list_shape(const spec_ctx *ctx, const cJSON *v, const char *path, int *rank,
                      int64_t *dims) {
  *rank = 0;
  const cJSON *e = v;
  while (cJSON_IsArray(e)) {
    if (*rank >= NNC_MAX_RANK)
      return spec_fail(ctx, path, "expected a list nested at most %d deep", NNC_MAX_RANK);
    int n = cJSON_GetArraySize(e);
    if (n < 1) return spec_fail(ctx, path, "expected a non-empty list of numbers");
    dims[(*rank)++] = n;
    e = cJSON_GetArrayItem(e, 0);
  }
  return NNC_OK;
}

static int list_values(const spec_ctx *ctx, const cJSON *v, const char *path, int depth, int rank,
                       const int64_t *dims, double *out, int64_t *at) {
  if (depth == rank) {
    if (spec_float32_value(ctx, v, path, &out[*at])) return ctx->st->code;
    (*at)++;
    return NNC_OK;
  }
  if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != dims[depth])
    return spec_fail_expected(ctx, path, v, "a list of %lld entries (a rectangular nested list)",
                              (long long)dims[depth]);
  for (int k = 0; k < dims[depth]; k++) {
    char at_path[NNC_PATH_MAX];
    spec_path_index(at_path, path, k);
    if (list_values(ctx, cJSON_GetArrayItem(v, k), at_path, depth + 1, rank, dims, out, at))
      return ctx->st->code;
  }
  return NNC_OK;
}

static int parse_values(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                        const char *key, normalization_params *p, double **out) {
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, key);
  const cJSON *v = spec_child(cfg, key);
  int rank;
  int64_t dims[NNC_MAX_RANK], count = 1;
  if (list_shape(ctx, v, path, &rank, dims)) return ctx->st->code;
  for (int k = 0; k < rank; k++) count *= dims[k];
  if (*out == NULL && p->mean) { /* variance: the mean's shape */
    int same = rank == p->rank;
    for (int k = 0; same && k < rank; k++) same = dims[k] == p->dims[k];
    if (!same) return spec_fail(ctx, path, "expected the shape of mean");
  } else {
    p->rank = rank;
    memcpy(p->dims, dims, sizeof dims);
    p->count = count;
  }
  *out = malloc((size_t)count * sizeof **out);
  if (!*out) return nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory");
  int64_t at = 0;
  return list_values(ctx, v, path, 0, rank, dims, *out, &at);
}

static int parse_axis(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                      normalization_params *p) {
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, "axis");
  const cJSON *v = spec_child(cfg, "axis");
  if (!v) { /* absent: -1 */
    p->n_axis = 1;
    p->axis[0] = -1;
    return NNC_OK;
  }
  if (cJSON_IsNull(v)) return NNC_OK; /* n_axis 0: one value for everything */
  /* range first: converting 1e30 to int64 would be undefined */
  if (cJSON_IsNumber(v) && fabs(v->valuedouble) < 2 * NNC_MAX_RANK &&
      v->valuedouble == floor(v->valuedouble)) {
    p->n_axis = 1;
    p->axis[0] = (int64_t)v->valuedouble;
    return NNC_OK;
  }
  if (cJSON_IsArray(v) && cJSON_GetArraySize(v) <= NORM_MAX_AXES) {
    for (int k = 0; k < cJSON_GetArraySize(v); k++) {
      const cJSON *e = cJSON_GetArrayItem(v, k);
      if (!cJSON_IsNumber(e) || !(fabs(e->valuedouble) < 2 * NNC_MAX_RANK) ||
          e->valuedouble != floor(e->valuedouble))
        return spec_fail_expected(ctx, path, v, "an integer, a list of integers or null");
      p->axis[p->n_axis++] = (int64_t)e->valuedouble;
    }
    return NNC_OK;
  }
  return spec_fail_expected(ctx, path, v, "an integer, a list of at most %d integers or null",
                            NORM_MAX_AXES);
}

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  normalization_params *p = calloc(1, sizeof *p);
  if (!p) return nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory");
  out->params = p;
  if (parse_axis(ctx, cfg, cfg_path, p) ||
      spec_get_bool(ctx, cfg, cfg_path, "invert", 0, &p->invert))
    return ctx->st->code;
  int has_mean = !spec_is_absent(spec_child(cfg, "mean"));
  int has_var = !spec_is_absent(spec_child(cfg, "variance"));
  if (has_mean != has_var) {
    char path[NNC_PATH_MAX];
    spec_path_key(path, cfg_path, has_mean ? "variance" : "mean");
    return spec_fail(ctx, path,
                     "expected both mean and variance, or neither (Keras requires both)");
  }
  if (!has_mean) return NNC_OK;
  p->has_values = 1;
  if (parse_values(ctx, cfg, cfg_path, "mean", p, &p->mean) ||
      parse_values(ctx, cfg, cfg_path, "variance", p, &p->variance))
    return ctx->st->code;
  for (int64_t i = 0; i < p->count; i++)
    if (p->variance[i] < 0 || isnan(p->variance[i])) {
      /* the entry's path: variance[i0][i1]... */
      char path[NNC_PATH_MAX], at[NNC_PATH_MAX];
      spec_path_key(path, cfg_path, "variance");
      int64_t rest = i, idx[NNC_MAX_RANK];
      for (int k = p->rank - 1; k >= 0; k--) idx[k] = rest % p->dims[k], rest /= p->dims[k];
      for (int k = 0; k < p->rank; k++) {
        spec_path_index(at, path, (int)idx[k]);
        memcpy(path, at, sizeof path);
      }
      return spec_fail(ctx, path, "expected a variance >= 0, got %g", p->variance[i]);
    }
  if (p->rank > p->n_axis) {
    char path[NNC_PATH_MAX];
    spec_path_key(path, cfg_path, "mean");
    return spec_fail(ctx, path, "expected a mean of rank at most %d (the number of axes)",
                     p->n_axis);
  }
  return NNC_OK;
}

/* A constant node holding vals[0..n): a scalar for n = 1, else an
 * unbatched [n] built by a balanced tree of concatenations of [1, 1] constants. */
static int const_leaf(nnc_graph *g, double v, nnc_status *st) {
  int64_t d[2] = {1, 1};
  return graph_reshape(g, graph_const(g, v, st), shape_make(0, 2, d), st);
}
static int const_tree(nnc_graph *g, const double *vals, int64_t n, nnc_status *st) {
  if (n == 1) return const_leaf(g, vals[0], st);
  int a = const_tree(g, vals, n / 2, st);
  int b = a < 0 ? -1 : const_tree(g, vals + n / 2, n - n / 2, st);
  return b < 0 ? -1 : graph_concat(g, a, b, 1, st);
}
static int const_vector(nnc_graph *g, const double *vals, int64_t n, nnc_status *st) {
  if (n == 1) return graph_const(g, vals[0], st);
  int64_t d[1] = {n};
  return graph_reshape(g, const_tree(g, vals, n, st), shape_make(0, 1, d), st);
}

/* Keras's sorted kept axes of an input of ndim axes (batch included) into
 * keep[] and their dims into dims[] (-1 on error). */
static int kept_axes(layer_call *c, const nnc_shape *xs, int *n_keep, int *keep, int64_t *dims,
                     nnc_status *st) {
  const normalization_params *p = c->layer->params;
  int ndim = xs->rank, seen[NNC_MAX_RANK + 1] = {0};
  *n_keep = 0;
  for (int k = 0; k < p->n_axis; k++) {
    int64_t a = p->axis[k] < 0 ? p->axis[k] + ndim : p->axis[k];
    if (a < 0 || a >= ndim)
      return layer_fail(c, st,
                        "axis %lld of Normalization \"%s\" is out of range for an input of "
                        "%d axes (batch included)",
                        (long long)p->axis[k], c->layer->name, ndim);
    if (a == 0)
      return layer_fail(c, st, "Normalization \"%s\" keeping the batch axis is not supported",
                        c->layer->name);
    seen[a] = 1;
  }
  for (int a = 1; a < ndim; a++)
    if (seen[a]) {
      keep[*n_keep] = a;
      dims[(*n_keep)++] = xs->dims[a];
    }
  return NNC_OK;
}

/* The config's values broadcast to the kept dims (aligned to the last axes). */
static double *broadcast_values(const normalization_params *p, const double *vals, int n_keep,
                                const int64_t *dims, int64_t total) {
  double *out = malloc((size_t)total * sizeof *out);
  if (!out) return NULL;
  for (int64_t i = 0; i < total; i++) {
    int64_t rest = i, src = 0, stride = 1;
    for (int k = n_keep - 1; k >= 0; k--) {
      int64_t idx = rest % dims[k];
      rest /= dims[k];
      int mk = k - (n_keep - p->rank); /* the mean's axis for kept axis k, or < 0 */
      if (mk >= 0) {
        if (p->dims[mk] != 1) src += idx * stride;
        stride *= p->dims[mk];
      }
    }
    out[i] = vals[src];
  }
  return out;
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  const normalization_params *p = c->layer->params;
  nnc_graph *g = &c->l->forward;
  const nnc_shape xs = g->nodes[in[0]].shape;
  int n_keep, keep[NNC_MAX_RANK];
  int64_t dims[NNC_MAX_RANK], total = 1;
  if (kept_axes(c, &xs, &n_keep, keep, dims, st)) return -1;
  for (int k = 0; k < n_keep; k++) total *= dims[k];
  int mean, std;
  if (p->has_values) {
    for (int k = 0; k < p->rank; k++) {
      int64_t want = dims[n_keep - p->rank + k];
      if (p->dims[k] != want && p->dims[k] != 1)
        return layer_fail(c, st,
                          "Normalization \"%s\": mean has %lld entries on its axis %d, the "
                          "input %lld",
                          c->layer->name, (long long)p->dims[k], k, (long long)want);
    }
    double *m = broadcast_values(p, p->mean, n_keep, dims, total);
    double *s = broadcast_values(p, p->variance, n_keep, dims, total);
    if (!m || !s) {
      free(m);
      free(s);
      return nnc_fail(st, NNC_ERR_NOMEM, "out of memory"), -1;
    }
    for (int64_t i = 0; i < total; i++) {
      float sd = sqrtf((float)s[i]);
      s[i] = sd > 1e-7f ? sd : 1e-7f;
    }
    mean = const_vector(g, m, total, st);
    std = mean < 0 ? -1 : const_vector(g, s, total, st);
    free(m);
    free(s);
  } else {
    nnc_spec_init zeros = {.kind = NNC_INIT_ZEROS}, ones = {.kind = NNC_INIT_ONES};
    nnc_shape ws = shape_make(0, n_keep ? n_keep : 1, n_keep ? dims : (int64_t[]){1});
    int trainable = c->trainable;
    c->trainable = 0; /* Keras's adapt state is never trained */
    mean = layer_param(c, "mean", ws, &zeros, st);
    int var = mean < 0 ? -1 : layer_param(c, "variance", ws, &ones, st);
    /* Keras 3 also makes a scalar "count" (0, never read; "for backwards
     * compatibility"): Keras's weight files hold it and its summary counts it */
    int count = var < 0 ? -1 : layer_param(c, "count", shape_make(0, 0, NULL), &zeros, st);
    c->trainable = trainable;
    if (count < 0) return -1;
    if (n_keep > 1) { /* the PARAMs as [total] for the broadcast along the last axis */
      int64_t d[1] = {total};
      mean = graph_reshape(g, mean, shape_make(0, 1, d), st);
      var = graph_reshape(g, var, shape_make(0, 1, d), st);
    }
    std = graph_binary(g, NNC_BIN_MAX, graph_unary(g, NNC_FN_SQRT, var, st),
                       graph_const(g, 1e-7, st), st);
  }
  if (mean < 0 || std < 0) return -1;
  /* kept axes not last (axis=1 of [B, T, F]): permute them last, in order,
   * and back after; then [B, rest, kept] so a [total] constant broadcasts
   * along the last axis */
  int x = in[0], perm[NNC_MAX_RANK], inverse[NNC_MAX_RANK], moved = 0, at = 0;
  for (int a = 0; a < xs.rank; a++) {
    int kept = 0;
    for (int k = 0; k < n_keep; k++) kept |= keep[k] == a;
    if (!kept) perm[at++] = a;
  }
  for (int k = 0; k < n_keep; k++) perm[at++] = keep[k];
  for (int a = 0; a < xs.rank; a++) {
    moved |= perm[a] != a;
    inverse[perm[a]] = a;
  }
  if (moved) x = graph_permute(g, x, perm, st);
  if (x < 0) return -1;
  const nnc_shape ps = g->nodes[x].shape;
  int flat = n_keep > 1;
  if (flat) {
    int64_t d[3] = {-1, shape_inner(&xs) / total, total};
    x = graph_reshape(g, x, shape_make(1, 3, d), st);
  }
  int y = p->invert
              ? graph_binary(g, NNC_BIN_ADD, graph_binary(g, NNC_BIN_MUL, x, std, st), mean, st)
              : graph_binary(g, NNC_BIN_DIV, graph_binary(g, NNC_BIN_SUB, x, mean, st), std, st);
  if (y >= 0 && flat) y = graph_reshape(g, y, ps, st);
  if (y >= 0 && moved) y = graph_permute(g, y, inverse, st);
  layer_label(g, y, c->layer->name, "normalize");
  return y;
}

const nnc_layer_class layer_normalization = {"Normalization", "normalization", 1,          1,
                                             parse,           lower,           free_params};
