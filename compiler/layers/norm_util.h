/* Helpers shared by the normalization and noise layers (norm_util.c):
 * Keras axis lists, moving the normalized axes last, per-row moments, and
 * the random stream of a noise layer's call. */
#ifndef NNC_LAYERS_NORM_UTIL_H
#define NNC_LAYERS_NORM_UTIL_H

#include "compiler/layers/layer.h"

/* An integer or a non-empty list of integers (Keras `axis`), at most
 * NNC_MAX_RANK entries; unresolved (negative: from the last axis). */
typedef struct norm_axes {
  int n;
  int64_t axis[NNC_MAX_RANK];
} norm_axes;

int norm_parse_axes(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, const char *key,
                    int64_t dflt, norm_axes *out);

/* The axes resolved against x's shape (1..rank-1), sorted and unique, in
 * axes[0..*n_axes); -1 with st set on error (an axis listed twice too). */
int norm_resolve_axes(const layer_call *c, const norm_axes *a, const nnc_shape *x, int *axes,
                      int *n_axes, nnc_status *st);

/* x with the axes `axes` (sorted) moved last and merged into one:
 * [B, other axes in order..., F]; `rest` is the product of the other
 * non-batch axes, F the product of the moved ones. norm_from_last undoes it. */
typedef struct norm_layout {
  nnc_shape shape;    /* x's shape */
  nnc_shape permuted; /* after the permutation, before merging */
  int perm[NNC_MAX_RANK];
  int permuted_needed;
  int64_t features, rest;
} norm_layout;

int norm_to_last(nnc_graph *g, int x, const int *axes, int n_axes, norm_layout *lay,
                 nnc_status *st);
int norm_from_last(nnc_graph *g, int y, const norm_layout *lay, nnc_status *st);

/* (x - mean) / sqrt(var + epsilon) over the last axis of x (biased
 * variance, per row), as Keras's ops.moments and rsqrt. */
int norm_rows(nnc_graph *g, int x, double epsilon, const char *label, nnc_status *st);

/* gamma and beta of LayerNormalization and GroupNormalization: `scale`,
 * `center` and their initializers, regularizers and constraints. */
typedef struct norm_affine {
  int center, scale;
  nnc_spec_init beta_init, gamma_init;
  nnc_spec_regularizer beta_reg, gamma_reg;
  nnc_spec_constraint beta_constraint, gamma_constraint;
} norm_affine;

int norm_parse_affine(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                      norm_affine *out);
/* y * gamma + beta with the weights of shape `shape` (gamma first, as Keras
 * builds them), broadcast on y's last axis of shape_inner(shape) entries. */
int norm_apply_affine(layer_call *c, int y, const norm_affine *a, nnc_shape shape, nnc_status *st);

/* The stream key of a random layer's call: "<kind>/<layer>" on the first
 * call, "<kind>/<layer>/call<k>" on later calls (as Dropout). */
uint64_t norm_stream_key(const layer_call *c, const char *kind, const nnc_spec_layer *layer);

#endif
