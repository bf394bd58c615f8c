/* AUC and the four "at" metrics (SensitivityAtSpecificity,
 * SpecificityAtSensitivity, PrecisionAtRecall, RecallAtPrecision) of
 * keras/src/metrics/confusion_metrics.py. With evenly spaced thresholds
 * (num_thresholds, default 200) Keras counts predictions per bucket
 * (metrics_utils._update_confusion_matrix_variables_optimized): y_pred is
 * clipped to [0, 1], its bucket is ceil(y_pred * (T - 1)) - 1 (AUC's
 * thresholds have -eps and 1 + eps at the ends, so bucket -1 becomes 0;
 * the others drop bucket -1: a prediction of exactly 0 is above no
 * threshold), and tp/fp at threshold t are the positive/negative counts of
 * the buckets >= t. Other thresholds (an AUC `thresholds` list that is not
 * evenly spaced, the at-metrics' num_thresholds=1) are compared one by one,
 * y_pred > t, unclipped; since they are sorted, the number of thresholds
 * below y_pred, minus one, is again a bucket with the same meaning. Each
 * element adds its weight (sample weight, times AUC's label weight) to its
 * bucket. Where a prediction can be above no threshold (all but AUC's
 * bucket path) a bucket "below all" comes first, so that fn and tn still
 * count it (Keras: the total of the labels minus tp, fp). nnc sums the
 * bucket counts over the epoch (two vector statistics of T (+ 1) each, per
 * label for multi_label or label_weights) and the runtime forms tp, fp, tn,
 * fn and the result from the totals (runtime/metric_results.c). */
#include "compiler/metrics/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int int_key(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, const char *key,
                   int dflt, int min, int *out) {
  double v = dflt;
  int rc = spec_get_number(ctx, cfg, cfg_path, key, dflt, &v);
  if (rc) return rc;
  if (v < min || v != (int)v || v > 1e6) {
    char path[NNC_PATH_MAX], what[64];
    spec_path_key(path, cfg_path, key);
    snprintf(what, sizeof what, "an integer >= %d (at most 1000000)", min);
    return spec_fail_expected(ctx, path, spec_child(cfg, key), "%s", what);
  }
  *out = (int)v;
  return NNC_OK;
}

/* "ROC"/"PR", "interpolation"/"minoring"/"majoring" (Keras's from_str is
 * case-insensitive). */
static int choice(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, const char *key,
                  const char *const *names, int n, const char *expected, int *out) {
  const cJSON *item = spec_child(cfg, key);
  if (spec_is_absent(item)) return NNC_OK;
  char norm[32], want[32];
  if (cJSON_IsString(item) && spec_normalize(item->valuestring, norm, sizeof norm))
    for (int i = 0; i < n; i++)
      if (spec_normalize(names[i], want, sizeof want) && strcmp(norm, want) == 0) {
        *out = i;
        return NNC_OK;
      }
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, key);
  return spec_fail_expected(ctx, path, item, "%s", expected);
}

/* A list of numbers in [lo, hi] (finite: hi may be HUGE_VAL) into a heap
 * array of at least one element (so an empty list is not NULL). */
static int number_list(const spec_ctx *ctx, const cJSON *item, const char *path, double lo,
                       double hi, const char *what, double **out, int *n) {
  char elem_path[NNC_PATH_MAX];
  if (!cJSON_IsArray(item))
    return spec_fail_expected(ctx, path, item, "null or a list of %s", what);
  int count = cJSON_GetArraySize(item), i = 0;
  *out = nnc_calloc((size_t)count + 1, sizeof **out, ctx->st);
  if (!*out) return ctx->st->code;
  const cJSON *elem;
  cJSON_ArrayForEach(elem, item) {
    spec_path_index(elem_path, path, i);
    if (!cJSON_IsNumber(elem) || !isfinite(elem->valuedouble) || elem->valuedouble < lo ||
        elem->valuedouble > hi)
      return spec_fail_expected(ctx, elem_path, elem, "%s", what);
    (*out)[i++] = elem->valuedouble;
  }
  *n = count;
  return NNC_OK;
}

static int ascending(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int parse_auc(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                     nnc_spec_metric *out) {
  static const char *const curves[] = {"ROC", "PR"};
  static const char *const sums[] = {"interpolation", "minoring", "majoring"};
  char path[NNC_PATH_MAX];
  const cJSON *thresholds = spec_child(cfg, "thresholds"), *lw = spec_child(cfg, "label_weights");
  int rc;
  if (!spec_is_absent(thresholds)) { /* Keras ignores num_thresholds then: len + 2 */
    spec_path_key(path, cfg_path, "thresholds");
    if ((rc = number_list(ctx, thresholds, path, 0.0, 1.0, "a threshold in [0, 1]",
                          &out->thresholds, &out->n_thresholds)))
      return rc;
    qsort(out->thresholds, (size_t)out->n_thresholds, sizeof *out->thresholds, ascending);
    out->num_thresholds = out->n_thresholds + 2;
  } else if ((rc = int_key(ctx, cfg, cfg_path, "num_thresholds", 200, 2, &out->num_thresholds))) {
    return rc;
  }
  if (!spec_is_absent(lw)) {
    spec_path_key(path, cfg_path, "label_weights");
    if ((rc = number_list(ctx, lw, path, -HUGE_VAL, HUGE_VAL, "a label weight (a number)",
                          &out->label_weights, &out->n_label_weights)))
      return rc;
    if (out->n_label_weights == 0)
      return spec_fail_expected(ctx, path, lw, "null or a non-empty list of label weights");
  }
  if ((rc = choice(ctx, cfg, cfg_path, "curve", curves, 2, "\"ROC\" or \"PR\"", &out->curve)) ||
      (rc = choice(ctx, cfg, cfg_path, "summation_method", sums, 3,
                   "\"interpolation\", \"minoring\" or \"majoring\"", &out->summation)) ||
      (rc = spec_get_bool(ctx, cfg, cfg_path, "multi_label", 0, &out->multi_label)) ||
      (rc = spec_get_bool(ctx, cfg, cfg_path, "from_logits", 0, &out->from_logits)))
    return rc;
  const cJSON *labels = spec_child(cfg, "num_labels");
  if (spec_is_absent(labels)) return NNC_OK;
  spec_path_key(path, cfg_path, "num_labels");
  if (!out->multi_label) /* Keras: "`num_labels` is needed only when `multi_label` is True." */
    return spec_fail_expected(ctx, path, labels, "null (num_labels needs multi_label=true)");
  return int_key(ctx, cfg, cfg_path, "num_labels", 1, 1, &out->num_labels);
}

static const char *at_value_key(nnc_metric_kind kind) {
  switch (kind) {
  case NNC_METRIC_SENSITIVITY_AT_SPECIFICITY:
    return "specificity";
  case NNC_METRIC_SPECIFICITY_AT_SENSITIVITY:
    return "sensitivity";
  case NNC_METRIC_PRECISION_AT_RECALL:
    return "recall";
  default:
    return "precision";
  }
}

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                 nnc_spec_metric *out) {
  if (out->kind == NNC_METRIC_AUC) return parse_auc(ctx, cfg, cfg_path, out);
  const char *key = at_value_key(out->kind);
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, key);
  const cJSON *v = spec_child(cfg, key);
  if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 1)) {
    char what[64];
    snprintf(what, sizeof what, "a %s in [0, 1] (required)", key);
    return spec_fail_expected(ctx, path, v, "%s", what);
  }
  out->value = v->valuedouble;
  /* Keras takes num_thresholds > 0; 1 is the single threshold 0.5 */
  int rc = int_key(ctx, cfg, cfg_path, "num_thresholds", 200, 1, &out->num_thresholds);
  if (rc) return rc;
  const cJSON *id = spec_child(cfg, "class_id");
  if (spec_is_absent(id)) return NNC_OK;
  return int_key(ctx, cfg, cfg_path, "class_id", 0, 0, &out->class_id);
}

/* Keras's np.allclose(thresholds, arange(n) / (n - 1), atol=epsilon) on
 * [0, list..., 1] (metrics_utils.is_evenly_distributed_thresholds; rtol
 * 1e-5 is numpy's default). */
static int evenly_spaced(const double *t, int n_list) {
  int n = n_list + 2;
  if (n < 3) return 0;
  for (int i = 0; i < n; i++) {
    double have = i == 0 ? 0.0 : i == n - 1 ? 1.0 : t[i - 1];
    double want = (float)i / (float)(n - 1); /* np.arange(n, dtype=float32) / (n - 1) */
    if (!(fabs(have - want) <= 1e-7 + 1e-5 * fabs(want))) return 0;
  }
  return 1;
}

/* How a metric's thresholds are counted: T of them; evenly spaced (the
 * bucket formula, eps_ends for AUC's -eps and 1 + eps ends) or the sorted
 * list cmp[0..T) compared one by one. below: the buckets start with one
 * for the predictions above no threshold (not eps_ends). */
typedef struct thresholds {
  int T, even, eps_ends, below;
  const double *cmp;
  double one; /* the at-metrics' single threshold 0.5 */
} thresholds;

/* [B, inner, 1] bucket index of each prediction p (already [B, inner, 1]):
 * 0 to T - 1, or with th->below 0 (above no threshold) to T. */
static int bucket_of(nnc_graph *g, int p, const thresholds *th, nnc_status *st) {
  if (th->even) {
    int clipped = graph_clip(g, p, 0.0, 1.0, st);
    int scaled = graph_binary(g, NNC_BIN_MUL, clipped, graph_const(g, th->T - 1.0, st), st);
    int ceil = graph_unary(g, NNC_FN_CEIL, scaled, st); /* Keras's bucket + 1 */
    if (th->below) return ceil;
    int bucket = graph_binary(g, NNC_BIN_SUB, ceil, graph_const(g, 1.0, st), st);
    return graph_unary(g, NNC_FN_RELU, bucket, st); /* the -eps threshold: -1 becomes 0 */
  }
  /* the number of thresholds below p (float32 comparisons, as Keras's
   * thresholds tensor) */
  int above = -1;
  for (int t = 0; t < th->T; t++) {
    int gt = graph_binary(g, NNC_BIN_GT, p, graph_const(g, (float)th->cmp[t], st), st);
    above = above < 0 ? gt : graph_binary(g, NNC_BIN_ADD, above, gt, st);
  }
  return above;
}

/* x [B, inner, 1] times each element's sample weight (metric_weigh), in
 * the same layout. */
static int weigh_elements(metric_ctx *c, int x) {
  if (c->sw < 0) return x;
  int64_t d3[3] = {-1, shape_inner(&c->g->nodes[x].shape), 1};
  int weighted = metric_weigh(c, x);
  return weighted < 0 ? -1 : graph_reshape(c->g, weighted, shape_make(1, 3, d3), c->st);
}

/* Per-bucket counts: [B, inner, K] one-hot buckets (K = T + below) times
 * the weighted positives and negatives, summed to [L * K] (layout [L][K]; the label of
 * an element is its index along the last axis; L = 1: every element is one
 * point). Returns the first statistic. */
static int bucket_stats(metric_ctx *c, int yp, int y, const thresholds *th, int L, double scale) {
  nnc_graph *g = c->g;
  nnc_status *st = c->st;
  const nnc_shape *s = &g->nodes[yp].shape;
  int64_t inner = shape_inner(s), K = th->T + th->below;
  int64_t d3[3] = {-1, inner, 1};
  nnc_shape col = shape_make(1, 3, d3);
  int p = graph_reshape(g, yp, col, st);
  int pos = graph_binary(g, NNC_BIN_NE, graph_reshape(g, y, col, st), graph_const(g, 0.0, st), st);
  int neg = graph_binary(g, NNC_BIN_SUB, graph_const(g, 1.0, st), pos, st);
  if (c->sw >= 0 && ((pos = weigh_elements(c, pos)) < 0 || (neg = weigh_elements(c, neg)) < 0))
    return -1;
  if (scale != 1.0) { /* one label weight for every element */
    int k = graph_const(g, (float)scale, st);
    pos = graph_binary(g, NNC_BIN_MUL, pos, k, st);
    neg = graph_binary(g, NNC_BIN_MUL, neg, k, st);
  }
  int hot = graph_one_hot(g, bucket_of(g, p, th, st), K, st);
  int first = -1;
  for (int which = 0; which < 2; which++) {
    int counts = graph_binary(g, NNC_BIN_MUL, hot, which ? neg : pos, st); /* [B, inner, K] */
    int64_t d[3] = {-1, inner / L, L * K};
    int per_label = graph_reshape(g, counts, shape_make(1, 3, d), st);
    int summed = graph_reduce(g, NNC_RED_LEADING, graph_reduce_axis(g, per_label, 1, st), st);
    int idx = metric_stat(c, summed, NNC_STAT_COUNT_SUM);
    if (idx < 0) return -1;
    if (which == 0) first = idx;
  }
  return first;
}

/* AUC's labels: L statistics groups (the last axis with multi_label, or
 * without it when label_weights has one weight per label), pooled into one
 * curve at the end (label_weights without multi_label) or not; a single
 * label weight for every element is `scale`. */
static int auc_labels(metric_ctx *c, int yp, int *L, int *pooled, double *scale) {
  const nnc_spec_metric *m = c->m;
  const nnc_shape *s = &c->g->nodes[yp].shape;
  int64_t last = shape_last(s);
  int n = m->n_label_weights;
  *L = 1, *pooled = 0, *scale = 1.0;
  if (m->multi_label) {
    if (s->rank != 2)
      return nnc_fail(c->st, NNC_ERR_SPEC,
                      "%s: %s: multi_label=true needs an output of rank 2 (batch, labels), "
                      "the output has rank %d",
                      c->source, m->path, s->rank);
    *L = (int)last;
    if (m->num_labels && m->num_labels != *L)
      return nnc_fail(c->st, NNC_ERR_SPEC, "%s: %s: num_labels is %d but the output has %d labels",
                      c->source, m->path, m->num_labels, *L);
  } else if (n == 1) {
    *scale = m->label_weights[0];
  } else if (n > 1) {
    *L = (int)last, *pooled = 1;
  }
  if (n > 1 && n != last)
    return nnc_fail(c->st, NNC_ERR_SPEC,
                    "%s: %s.label_weights: %d weights, but the output has %lld labels (its last "
                    "axis); expected one weight per label or a single weight",
                    c->source, m->path, n, (long long)last);
  return NNC_OK;
}

static int lower(metric_ctx *c) {
  nnc_graph *g = c->g;
  nnc_status *st = c->st;
  const nnc_spec_metric *m = c->m;
  int yp = c->yp, y = c->y, L = 1, pooled = 0, auc = c->kind == NNC_METRIC_AUC;
  double scale = 1.0;
  thresholds th = {m->num_thresholds, 1, auc, !auc, NULL, 0.5};
  double *full = NULL;
  if (auc) {
    if (m->from_logits) yp = graph_unary(g, NNC_FN_SIGMOID, yp, st);
    if (auc_labels(c, yp, &L, &pooled, &scale)) return st->code;
    if (m->thresholds && !evenly_spaced(m->thresholds, m->n_thresholds)) {
      /* [-eps, the list, 1 + eps] compared one by one */
      full = nnc_calloc((size_t)m->n_thresholds + 2, sizeof *full, st);
      if (!full) return st->code;
      full[0] = -1e-7;
      memcpy(full + 1, m->thresholds, (size_t)m->n_thresholds * sizeof *full);
      full[m->n_thresholds + 1] = 1.0 + 1e-7;
      th.even = 0, th.below = 1, th.cmp = full;
    }
  } else {
    if (m->class_id >= 0 && ((yp = metric_column(c, yp, m->class_id)) < 0 ||
                             (y = metric_column(c, y, m->class_id)) < 0))
      return st->code;
    if (th.T == 1) th.even = 0, th.cmp = &th.one; /* Keras: thresholds [0.5] */
  }
  int T = th.T, K = T + th.below;
  if ((int64_t)2 * K * L > (1 << 24)) {
    free(full);
    return nnc_fail(st, NNC_ERR_SPEC,
                    "%s: %s: num_thresholds %d x %d labels needs %lld statistics; at most %d "
                    "are supported",
                    c->source, m->path, T, L, (long long)2 * K * L, 1 << 24);
  }
  int first = bucket_stats(c, yp, y, &th, L, scale);
  free(full);
  if (first < 0) return st->code;
  /* label weights the result reads: one per pooled label, or the weights of
   * the label AUCs' average (multi_label) */
  int n_lw = auc && (pooled || m->multi_label) ? m->n_label_weights : 0;
  nnc_metric_info *k = metric_key(c, c->key, auc ? NNC_RESULT_AUC : NNC_RESULT_AT);
  if (!k || !metric_key_args(c, k, auc ? 6 + n_lw : 4)) return st->code;
  k->first_stat = k->stat[0] = first;
  k->n_stats = 2 * K * L;
  k->args[0] = T;
  if (auc) {
    k->args[1] = L;
    k->args[2] = m->curve;
    k->args[3] = m->summation;
    k->args[4] = pooled;
    k->args[5] = th.below;
    for (int i = 0; i < n_lw; i++) k->args[6 + i] = (float)m->label_weights[i];
  } else {
    k->args[1] = c->kind == NNC_METRIC_SENSITIVITY_AT_SPECIFICITY   ? 0
                 : c->kind == NNC_METRIC_SPECIFICITY_AT_SENSITIVITY ? 1
                 : c->kind == NNC_METRIC_PRECISION_AT_RECALL        ? 2
                                                                    : 3;
    k->args[2] = (float)m->value;
    k->args[3] = th.below;
  }
  metric_key_done(c);
  return NNC_OK;
}

const metric_family metric_family_auc = {parse, lower, 1};
