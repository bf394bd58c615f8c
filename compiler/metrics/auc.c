/* AUC and the four "at" metrics (SensitivityAtSpecificity,
 * SpecificityAtSensitivity, PrecisionAtRecall, RecallAtPrecision) of
 * keras/src/metrics/confusion_metrics.py. Their thresholds are evenly spaced
 * (num_thresholds, default 200), so Keras counts predictions per bucket
 * (metrics_utils._update_confusion_matrix_variables_optimized): y_pred is
 * clipped to [0, 1], its bucket is ceil(y_pred * (T - 1)) - 1 (AUC's
 * thresholds have -eps and 1 + eps at the ends, so bucket -1 becomes 0;
 * the others drop bucket -1: a prediction of exactly 0 is above no
 * threshold), and tp/fp at threshold t are the positive/negative counts of
 * the buckets >= t. nnc sums the bucket counts over the epoch (two vector
 * statistics of T each, per label for multi_label) and the runtime forms
 * tp, fp, tn, fn and the result from the totals (runtime/metric_results.c). */
#include "compiler/metrics/metrics.h"

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

static int parse_auc(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                     nnc_spec_metric *out) {
  static const char *const curves[] = {"ROC", "PR"};
  static const char *const sums[] = {"interpolation", "minoring", "majoring"};
  int rc;
  if ((rc = int_key(ctx, cfg, cfg_path, "num_thresholds", 200, 2, &out->num_thresholds)) ||
      (rc = choice(ctx, cfg, cfg_path, "curve", curves, 2, "\"ROC\" or \"PR\"", &out->curve)) ||
      (rc = choice(ctx, cfg, cfg_path, "summation_method", sums, 3,
                   "\"interpolation\", \"minoring\" or \"majoring\"", &out->summation)) ||
      (rc = spec_get_bool(ctx, cfg, cfg_path, "multi_label", 0, &out->multi_label)) ||
      (rc = spec_get_bool(ctx, cfg, cfg_path, "from_logits", 0, &out->from_logits)) ||
      (rc = spec_require_null(ctx, cfg, cfg_path, "thresholds",
                              "thresholds (a list; num_thresholds gives evenly spaced ones)")) ||
      (rc = spec_require_null(ctx, cfg, cfg_path, "label_weights", "label_weights")))
    return rc;
  const cJSON *labels = spec_child(cfg, "num_labels");
  if (spec_is_absent(labels)) return NNC_OK;
  char path[NNC_PATH_MAX];
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
  int rc = int_key(ctx, cfg, cfg_path, "num_thresholds", 200, 2, &out->num_thresholds);
  if (rc) return rc;
  const cJSON *id = spec_child(cfg, "class_id");
  if (spec_is_absent(id)) return NNC_OK;
  return int_key(ctx, cfg, cfg_path, "class_id", 0, 0, &out->class_id);
}

/* Per-bucket counts: [B, L, T] one-hot buckets times positives and
 * negatives, summed to [L * T] (L = 1: every element is one point). */
static int bucket_stats(metric_ctx *c, int yp, int y, int T, int multi, int eps_ends) {
  nnc_graph *g = c->g;
  nnc_status *st = c->st;
  const nnc_shape *s = &g->nodes[yp].shape;
  int64_t inner = shape_inner(s), L = multi ? shape_last(s) : 1;
  int64_t d3[3] = {-1, inner, 1};
  nnc_shape col = shape_make(1, 3, d3);
  int p = graph_clip(g, graph_reshape(g, yp, col, st), 0.0, 1.0, st);
  int pos = graph_binary(g, NNC_BIN_NE, graph_reshape(g, y, col, st), graph_const(g, 0.0, st), st);
  int neg = graph_binary(g, NNC_BIN_SUB, graph_const(g, 1.0, st), pos, st);
  int bucket = graph_binary(
      g, NNC_BIN_SUB,
      graph_unary(g, NNC_FN_CEIL, graph_binary(g, NNC_BIN_MUL, p, graph_const(g, T - 1.0, st), st),
                  st),
      graph_const(g, 1.0, st), st);
  if (eps_ends) bucket = graph_unary(g, NNC_FN_RELU, bucket, st);
  int hot = graph_one_hot(g, bucket, T, st); /* bucket -1: all zero */
  int first = -1;
  for (int which = 0; which < 2; which++) {
    int counts = graph_binary(g, NNC_BIN_MUL, hot, which ? neg : pos, st); /* [B, inner, T] */
    int summed;
    if (multi) {
      int64_t d2[2] = {-1, inner * T};
      summed =
          graph_reduce(g, NNC_RED_LEADING, graph_reshape(g, counts, shape_make(1, 2, d2), st), st);
    } else {
      summed = graph_reduce(g, NNC_RED_LEADING, graph_reduce_axis(g, counts, 1, st), st);
    }
    int idx = metric_stat(c, summed, NNC_STAT_COUNT_SUM);
    if (idx < 0) return -1;
    if (which == 0) first = idx;
    (void)L;
  }
  return first;
}

static int lower(metric_ctx *c) {
  nnc_graph *g = c->g;
  nnc_status *st = c->st;
  const nnc_spec_metric *m = c->m;
  int yp = c->yp, y = c->y, T = m->num_thresholds, L = 1;
  if (c->kind == NNC_METRIC_AUC) {
    if (m->from_logits) yp = graph_unary(g, NNC_FN_SIGMOID, yp, st);
    if (m->multi_label) {
      const nnc_shape *s = &g->nodes[c->yp].shape;
      if (s->rank != 2)
        return nnc_fail(st, NNC_ERR_SPEC,
                        "%s: %s: multi_label=true needs an output of rank 2 (batch, labels), "
                        "the output has rank %d",
                        c->source, m->path, s->rank);
      L = (int)shape_last(s);
      if (m->num_labels && m->num_labels != L)
        return nnc_fail(st, NNC_ERR_SPEC, "%s: %s: num_labels is %d but the output has %d labels",
                        c->source, m->path, m->num_labels, L);
    }
  } else if (m->class_id >= 0 && ((yp = metric_column(c, yp, m->class_id)) < 0 ||
                                  (y = metric_column(c, y, m->class_id)) < 0)) {
    return st->code;
  }
  if ((int64_t)2 * T * L > (1 << 24))
    return nnc_fail(st, NNC_ERR_SPEC,
                    "%s: %s: num_thresholds %d x %d labels needs %lld statistics; at most %d "
                    "are supported",
                    c->source, m->path, T, L, (long long)2 * T * L, 1 << 24);
  int first = bucket_stats(c, yp, y, T, c->kind == NNC_METRIC_AUC && m->multi_label,
                           c->kind == NNC_METRIC_AUC);
  if (first < 0) return st->code;
  nnc_metric_info *k =
      metric_key(c, c->key, c->kind == NNC_METRIC_AUC ? NNC_RESULT_AUC : NNC_RESULT_AT);
  if (!k || !metric_key_args(c, k, c->kind == NNC_METRIC_AUC ? 4 : 3)) return st->code;
  k->first_stat = k->stat[0] = first;
  k->n_stats = 2 * T * L;
  k->args[0] = T;
  if (c->kind == NNC_METRIC_AUC) {
    k->args[1] = L;
    k->args[2] = m->curve;
    k->args[3] = m->summation;
  } else {
    k->args[1] = c->kind == NNC_METRIC_SENSITIVITY_AT_SPECIFICITY   ? 0
                 : c->kind == NNC_METRIC_SPECIFICITY_AT_SENSITIVITY ? 1
                 : c->kind == NNC_METRIC_PRECISION_AT_RECALL        ? 2
                                                                    : 3;
    k->args[2] = (float)m->value;
  }
  metric_key_done(c);
  return NNC_OK;
}

const metric_family metric_family_auc = {parse, lower, 0};
