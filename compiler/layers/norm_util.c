/* Helpers shared by the normalization and noise layers. */
#include "compiler/layers/norm_util.h"

#include <stdio.h>

#include "base/rng.h"
#include "compiler/layers/layer_axis.h"

int norm_parse_axes(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, const char *key,
                    int64_t dflt, norm_axes *out) {
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, key);
  const cJSON *item = spec_child(cfg, key);
  out->n = 0;
  if (spec_is_absent(item)) {
    out->n = 1;
    out->axis[0] = dflt;
    return NNC_OK;
  }
  if (cJSON_IsNumber(item)) {
    out->n = 1;
    return layer_parse_axis(ctx, item, path, &out->axis[0]);
  }
  int n = cJSON_IsArray(item) ? cJSON_GetArraySize(item) : 0;
  if (n < 1 || n > NNC_MAX_RANK)
    return spec_fail_expected(ctx, path, item, "an integer axis or a non-empty list of axes");
  for (int i = 0; i < n; i++) {
    char at[NNC_PATH_MAX];
    spec_path_index(at, path, i);
    int rc = layer_parse_axis(ctx, cJSON_GetArrayItem(item, i), at, &out->axis[i]);
    if (rc) return rc;
  }
  out->n = n;
  return NNC_OK;
}

int norm_resolve_axes(const layer_call *c, const norm_axes *a, const nnc_shape *x, int *axes,
                      int *n_axes, nnc_status *st) {
  int is_axis[NNC_MAX_RANK] = {0};
  for (int i = 0; i < a->n; i++) {
    int k = layer_resolve_axis(c, c->path, a->axis[i], x, st);
    if (k < 0) return -1;
    if (is_axis[k])
      return layer_fail(c, st, "axis %lld of %s \"%s\" is listed twice", (long long)a->axis[i],
                        layer_class(c->layer->kind)->class_name, c->layer->name);
    is_axis[k] = 1;
  }
  *n_axes = 0;
  for (int k = 1; k < x->rank; k++)
    if (is_axis[k]) axes[(*n_axes)++] = k;
  return NNC_OK;
}

int norm_to_last(nnc_graph *g, int x, const int *axes, int n_axes, norm_layout *lay,
                 nnc_status *st) {
  if (x < 0) return -1;
  const nnc_shape s = g->nodes[x].shape;
  lay->shape = s;
  int is_axis[NNC_MAX_RANK] = {0};
  for (int i = 0; i < n_axes; i++) is_axis[axes[i]] = 1;
  int k = 0;
  lay->features = 1;
  lay->rest = 1;
  for (int a = 0; a < s.rank; a++)
    if (!is_axis[a]) {
      lay->perm[k++] = a;
      if (a > 0 || !s.batched) lay->rest *= s.dims[a];
    }
  int64_t flat[NNC_MAX_RANK];
  int n_flat = k;
  for (int a = 0; a < k; a++) flat[a] = s.dims[lay->perm[a]];
  for (int i = 0; i < n_axes; i++) {
    lay->perm[k++] = axes[i];
    lay->features *= s.dims[axes[i]];
  }
  flat[n_flat++] = lay->features;
  lay->permuted_needed = 0;
  for (int a = 0; a < s.rank; a++) lay->permuted_needed |= lay->perm[a] != a;
  int64_t pd[NNC_MAX_RANK] = {0};
  for (int a = 0; a < s.rank; a++) pd[a] = s.dims[lay->perm[a]];
  lay->permuted = shape_make(s.batched, s.rank, pd);
  int y = lay->permuted_needed ? graph_permute(g, x, lay->perm, st) : x;
  if (y < 0 || n_axes == 1) return y;
  return graph_reshape(g, y, shape_make(s.batched, n_flat, flat), st);
}

int norm_from_last(nnc_graph *g, int y, const norm_layout *lay, nnc_status *st) {
  if (y < 0) return -1;
  if (!shape_equal(&g->nodes[y].shape, &lay->permuted)) y = graph_reshape(g, y, lay->permuted, st);
  if (y < 0 || !lay->permuted_needed) return y;
  int inv[NNC_MAX_RANK];
  for (int a = 0; a < lay->shape.rank; a++) inv[lay->perm[a]] = a;
  return graph_permute(g, y, inv, st);
}

int norm_rows(nnc_graph *g, int x, double epsilon, const char *label, nnc_status *st) {
  if (x < 0) return -1;
  double f = (double)shape_last(&g->nodes[x].shape);
  int mean =
      graph_binary(g, NNC_BIN_DIV, graph_reduce(g, NNC_RED_LAST, x, st), graph_const(g, f, st), st);
  int d = graph_binary(g, NNC_BIN_SUB, x, mean, st);
  int var = graph_binary(g, NNC_BIN_DIV,
                         graph_reduce(g, NNC_RED_LAST, graph_binary(g, NNC_BIN_MUL, d, d, st), st),
                         graph_const(g, f, st), st);
  int inv = graph_unary(
      g, NNC_FN_RECIP,
      graph_unary(g, NNC_FN_SQRT,
                  graph_binary(g, NNC_BIN_ADD, var, graph_const(g, epsilon, st), st), st),
      st);
  int y = graph_binary(g, NNC_BIN_MUL, d, inv, st);
  layer_label(g, mean, label, "mean");
  layer_label(g, var, label, "variance");
  layer_label(g, y, label, "normalized");
  return y;
}

uint64_t norm_stream_key(const layer_call *c, const char *kind, const nnc_spec_layer *layer) {
  char stream[NNC_NAME_MAX + 64];
  if (c->node == 0)
    snprintf(stream, sizeof stream, "%s/%s", kind, layer->name);
  else
    snprintf(stream, sizeof stream, "%s/%s/call%d", kind, layer->name, c->node);
  return nnc_stream_key(0, stream);
}

int norm_parse_affine(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                      norm_affine *out) {
  char path[NNC_PATH_MAX];
  int rc;
  if ((rc = spec_get_bool(ctx, cfg, cfg_path, "center", 1, &out->center))) return rc;
  if ((rc = spec_get_bool(ctx, cfg, cfg_path, "scale", 1, &out->scale))) return rc;
  spec_path_key(path, cfg_path, "beta_initializer");
  if ((rc = spec_parse_init(ctx, spec_child(cfg, "beta_initializer"), path, "zeros",
                            &out->beta_init)))
    return rc;
  spec_path_key(path, cfg_path, "gamma_initializer");
  if ((rc = spec_parse_init(ctx, spec_child(cfg, "gamma_initializer"), path, "ones",
                            &out->gamma_init)))
    return rc;
  spec_path_key(path, cfg_path, "beta_regularizer");
  if ((rc = spec_parse_regularizer(ctx, spec_child(cfg, "beta_regularizer"), path, &out->beta_reg)))
    return rc;
  spec_path_key(path, cfg_path, "gamma_regularizer");
  if ((rc = spec_parse_regularizer(ctx, spec_child(cfg, "gamma_regularizer"), path,
                                   &out->gamma_reg)))
    return rc;
  spec_path_key(path, cfg_path, "beta_constraint");
  if ((rc = spec_parse_constraint(ctx, spec_child(cfg, "beta_constraint"), path,
                                  &out->beta_constraint)))
    return rc;
  spec_path_key(path, cfg_path, "gamma_constraint");
  return spec_parse_constraint(ctx, spec_child(cfg, "gamma_constraint"), path,
                               &out->gamma_constraint);
}

/* a weight of shape `shape` as a vector [F] for the `last` broadcast */
static int as_vector(nnc_graph *g, int w, nnc_status *st) {
  if (w < 0 || g->nodes[w].shape.rank == 1) return w;
  int64_t f = shape_inner(&g->nodes[w].shape);
  return graph_reshape(g, w, shape_make(0, 1, &f), st);
}

int norm_apply_affine(layer_call *c, int y, const norm_affine *a, nnc_shape shape, nnc_status *st) {
  nnc_graph *g = &c->l->forward;
  if (a->scale) {
    int gamma = layer_param(c, "gamma", shape, &a->gamma_init, st);
    if (layer_param_extras(c, gamma, &a->gamma_reg, &a->gamma_constraint, st) < 0) return -1;
    y = graph_binary(g, NNC_BIN_MUL, y, as_vector(g, gamma, st), st);
    layer_label(g, y, c->layer->name, "gamma");
  }
  if (a->center) {
    int beta = layer_param(c, "beta", shape, &a->beta_init, st);
    if (layer_param_extras(c, beta, &a->beta_reg, &a->beta_constraint, st) < 0) return -1;
    y = graph_binary(g, NNC_BIN_ADD, y, as_vector(g, beta, st), st);
    layer_label(g, y, c->layer->name, "beta");
  }
  return y;
}
