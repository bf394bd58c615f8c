/* Precision, Recall and the four confusion counts
 * (keras/src/metrics/confusion_metrics.py, metrics_utils.py
 * update_confusion_matrix_variables): at each threshold t a prediction is
 * positive when y_pred > t and a label is positive when y_true != 0; every
 * element counts (a (batch, 60, 1) output gives 60 per sample). The counts
 * are summed over the epoch's batches and the result is taken once from the
 * totals. A list of thresholds gives one log key per threshold,
 * "<name>[i]" (Keras returns a list; one threshold in a list gives a single
 * value, as Keras's result() does). */
#include "compiler/metrics/metrics.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

static int add_threshold(const spec_ctx *ctx, const cJSON *elem, const char *path,
                         nnc_spec_metric *out) {
  if (!cJSON_IsNumber(elem) || !(elem->valuedouble >= 0 && elem->valuedouble <= 1))
    return spec_fail_expected(ctx, path, elem, "a threshold in [0, 1]");
  out->thresholds[out->n_thresholds++] = elem->valuedouble;
  out->threshold = out->thresholds[0];
  return NNC_OK;
}

/* null (0.5), a number or a non-empty list of numbers in [0, 1] */
static int parse_thresholds(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                            nnc_spec_metric *out) {
  char path[NNC_PATH_MAX], elem_path[NNC_PATH_MAX];
  const cJSON *item = spec_child(cfg, "thresholds"), *elem;
  spec_path_key(path, cfg_path, "thresholds");
  if (spec_is_absent(item)) return NNC_OK;
  int n = cJSON_IsArray(item) ? cJSON_GetArraySize(item) : 1, rc, i = 0;
  if (n == 0)
    return spec_fail_expected(ctx, path, item, "a threshold or a non-empty list of thresholds");
  out->thresholds = nnc_calloc((size_t)n, sizeof *out->thresholds, ctx->st);
  if (!out->thresholds) return ctx->st->code;
  if (!cJSON_IsArray(item)) return add_threshold(ctx, item, path, out);
  cJSON_ArrayForEach(elem, item) {
    spec_path_index(elem_path, path, i++);
    if ((rc = add_threshold(ctx, elem, elem_path, out))) return rc;
  }
  return NNC_OK;
}

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                 nnc_spec_metric *out) {
  int rc = parse_thresholds(ctx, cfg, cfg_path, out);
  if (rc || (out->kind != NNC_METRIC_PRECISION && out->kind != NNC_METRIC_RECALL)) return rc;
  const cJSON *top_k = spec_child(cfg, "top_k");
  out->top_k = 0;
  if (!spec_is_absent(top_k)) {
    char path[NNC_PATH_MAX];
    spec_path_key(path, cfg_path, "top_k");
    if (!cJSON_IsNumber(top_k) || !(top_k->valuedouble >= 1 && top_k->valuedouble <= INT32_MAX) ||
        top_k->valuedouble != floor(top_k->valuedouble))
      return spec_fail_expected(ctx, path, top_k, "an integer >= 1 or null");
    out->top_k = (int)top_k->valuedouble;
  }
  const cJSON *id = spec_child(cfg, "class_id");
  if (spec_is_absent(id)) return NNC_OK;
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, "class_id");
  if (!cJSON_IsNumber(id) || !(id->valuedouble >= 0 && id->valuedouble <= INT32_MAX) ||
      id->valuedouble != floor(id->valuedouble))
    return spec_fail_expected(ctx, path, id, "a class index (an integer >= 0) or null");
  out->class_id = (int)id->valuedouble;
  return NNC_OK;
}

/* top_k (metrics_utils._filter_top_k): only the k largest predictions of
 * each row stay, the others become -1e10 (below every threshold). TF's
 * top_k keeps exactly k, a tie going to the lower index: column j stays
 * when fewer than k columns score higher or tie at a lower index. 1/0 of
 * shape [..., 1]. */
static int kept_in_top_k(nnc_graph *g, int yp, int64_t j, int k, nnc_status *st) {
  int rank = g->nodes[yp].shape.rank;
  int col = graph_slice(g, yp, rank - 1, j, 1, st);
  int before = graph_reduce(g, NNC_RED_LAST, graph_binary(g, NNC_BIN_GT, yp, col, st), st);
  if (j > 0) {
    int left = graph_slice(g, yp, rank - 1, 0, j, st);
    int ties = graph_reduce(g, NNC_RED_LAST, graph_binary(g, NNC_BIN_EQ, left, col, st), st);
    before = graph_binary(g, NNC_BIN_ADD, before, ties, st);
  }
  int out = graph_binary(g, NNC_BIN_GT, before, graph_const(g, k - 0.5, st), st);
  return graph_binary(g, NNC_BIN_SUB, graph_const(g, 1.0, st), out, st);
}

/* The counts of one threshold over yp, y (the same shape), keep (-1 or a
 * 0/1 mask broadcasting against them): a the count the class reports (or
 * TP), b FP (Precision), FN (Recall) or -1; scalars, weighted when the
 * metric is. */
static int counts(metric_ctx *c, int yp, int y, int keep, double threshold, int *a, int *b) {
  nnc_graph *g = c->g;
  nnc_status *st = c->st;
  int one = graph_const(g, 1.0, st);
  int pos = graph_binary(g, NNC_BIN_NE, y, graph_const(g, 0.0, st), st);
  int neg = graph_binary(g, NNC_BIN_SUB, one, pos, st);
  int pred = graph_binary(g, NNC_BIN_GT, yp, graph_const(g, threshold, st), st);
  if (keep >= 0) pred = graph_binary(g, NNC_BIN_MUL, pred, keep, st);
  int not_pred = graph_binary(g, NNC_BIN_SUB, one, pred, st);
  *b = -1;
  switch (c->kind) {
  case NNC_METRIC_PRECISION:
  case NNC_METRIC_RECALL:
    *a = graph_binary(g, NNC_BIN_MUL, pred, pos, st);
    *b = c->kind == NNC_METRIC_PRECISION ? graph_binary(g, NNC_BIN_MUL, pred, neg, st)
                                         : graph_binary(g, NNC_BIN_MUL, not_pred, pos, st);
    break;
  case NNC_METRIC_TRUE_POSITIVES:
    *a = graph_binary(g, NNC_BIN_MUL, pred, pos, st);
    break;
  case NNC_METRIC_FALSE_POSITIVES:
    *a = graph_binary(g, NNC_BIN_MUL, pred, neg, st);
    break;
  case NNC_METRIC_TRUE_NEGATIVES:
    *a = graph_binary(g, NNC_BIN_MUL, not_pred, neg, st);
    break;
  default: /* FALSE_NEGATIVES */
    *a = graph_binary(g, NNC_BIN_MUL, not_pred, pos, st);
    break;
  }
  if (c->sw >= 0) { /* weighted counts: each element's weight (metrics_utils.py) */
    *a = metric_weigh(c, *a);
    if (*b >= 0 && (*b = metric_weigh(c, *b)) < 0) return st->code;
  }
  *a = graph_reduce(g, NNC_RED_ALL, *a, st);
  if (*b >= 0) *b = graph_reduce(g, NNC_RED_ALL, *b, st);
  return *a < 0 || (*b < 0 && st->code) ? (int)st->code : NNC_OK;
}

/* The counts at one threshold: with top_k, column by column (each with its
 * top-k mask; class_id: that column only), summed. */
static int threshold_counts(metric_ctx *c, double threshold, int *a, int *b) {
  nnc_graph *g = c->g;
  nnc_status *st = c->st;
  int yp = c->yp, y = c->y;
  if (c->m->top_k <= 0) {
    if (c->m->class_id >= 0 && ((yp = metric_column(c, yp, c->m->class_id)) < 0 ||
                                (y = metric_column(c, y, c->m->class_id)) < 0))
      return st->code;
    return counts(c, yp, y, -1, threshold, a, b);
  }
  int64_t classes = shape_last(&g->nodes[yp].shape);
  int64_t first = c->m->class_id >= 0 ? c->m->class_id : 0;
  int64_t last = c->m->class_id >= 0 ? c->m->class_id + 1 : classes;
  if (c->m->class_id >= 0 && metric_column(c, yp, c->m->class_id) < 0) return st->code;
  *a = *b = -1;
  for (int64_t j = first; j < last; j++) {
    int rank = g->nodes[yp].shape.rank, ja, jb;
    int keep = kept_in_top_k(g, yp, j, c->m->top_k, st);
    int ypj = graph_slice(g, yp, rank - 1, j, 1, st);
    int yj = graph_slice(g, y, g->nodes[y].shape.rank - 1, j, 1, st);
    if (keep < 0 || ypj < 0 || yj < 0 || counts(c, ypj, yj, keep, threshold, &ja, &jb))
      return st->code;
    *a = *a < 0 ? ja : graph_binary(g, NNC_BIN_ADD, *a, ja, st);
    if (jb >= 0) *b = *b < 0 ? jb : graph_binary(g, NNC_BIN_ADD, *b, jb, st);
  }
  return *a < 0 ? (int)st->code : NNC_OK;
}

static int lower(metric_ctx *c) {
  nnc_status *st = c->st;
  /* Keras's default: 0.5, NEG_INF (-1e10) with top_k (confusion_metrics.py) */
  double one_threshold = c->m->top_k > 0 ? -1e10 : 0.5;
  int n = c->m->n_thresholds ? c->m->n_thresholds : 1;
  const double *thr = c->m->n_thresholds ? c->m->thresholds : &one_threshold;
  nnc_metric_result rule = c->kind == NNC_METRIC_PRECISION ? NNC_RESULT_PRECISION
                           : c->kind == NNC_METRIC_RECALL  ? NNC_RESULT_RECALL
                                                           : NNC_RESULT_VALUE;
  for (int t = 0; t < n; t++) {
    int a, b;
    if (threshold_counts(c, thr[t], &a, &b)) return st->code;
    int s0 = metric_stat(c, a, NNC_STAT_COUNT_SUM);
    int s1 = b < 0 ? 0 : metric_stat(c, b, NNC_STAT_COUNT_SUM);
    if (s0 < 0 || s1 < 0) return st->code;
    char name[NNC_NAME_MAX + 16];
    if (c->m->n_thresholds > 1)
      snprintf(name, sizeof name, "%s[%d]", c->key, t);
    else
      snprintf(name, sizeof name, "%s", c->key);
    if (strlen(name) >= NNC_NAME_MAX)
      return nnc_fail(st, NNC_ERR_SPEC, "%s: %s: the log key \"%s\" is longer than %d bytes",
                      c->source, c->m->path, name, NNC_NAME_MAX - 1);
    nnc_metric_info *k = metric_key(c, name, rule);
    if (!k) return st->code;
    k->stat[0] = k->first_stat = s0;
    k->stat[1] = s1;
    k->n_stats = b < 0 ? 1 : 2;
    metric_key_done(c);
  }
  return NNC_OK;
}

const metric_family metric_family_confusion = {parse, lower, 1};
