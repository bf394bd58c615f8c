/* F1Score and FBetaScore (keras/src/metrics/f_score_metrics.py) on outputs
 * (batch, classes): a prediction is positive when y_pred > threshold, or,
 * without a threshold, when it is its row's maximum (ties all count) and
 * |y_pred| > 1e-9. Statistics per class (one total for "micro"): TP, FP, FN
 * and the support (sum of y_true), each element times its sample weight
 * when the metric is weighted (FBetaScore.update_state: weights of rank
 * below y_true's gain trailing axes), summed over the epoch; the result is
 * taken once from the totals (runtime/metric_results.c). average=None
 * gives one value per class: log keys "<name>[i]". */
#include <stdio.h>
#include <string.h>

#include "compiler/metrics/metrics.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                 nnc_spec_metric *out) {
  static const char *const averages[] = {"micro", "macro", "weighted"};
  char path[NNC_PATH_MAX];
  const cJSON *item = spec_child(cfg, "average");
  spec_path_key(path, cfg_path, "average");
  if (!spec_is_absent(item)) {
    int i = 0;
    while (i < 3 && !(cJSON_IsString(item) && strcmp(item->valuestring, averages[i]) == 0)) i++;
    if (i == 3)
      return spec_fail_expected(ctx, path, item, "null, \"micro\", \"macro\" or \"weighted\"");
    out->average = i;
  }
  item = spec_child(cfg, "beta");
  spec_path_key(path, cfg_path, "beta");
  if (!spec_is_absent(item)) {
    if (!cJSON_IsNumber(item) || !(item->valuedouble > 0))
      return spec_fail_expected(ctx, path, item, "a beta > 0");
    out->beta = item->valuedouble;
  }
  item = spec_child(cfg, "threshold");
  spec_path_key(path, cfg_path, "threshold");
  if (spec_is_absent(item)) return NNC_OK;
  if (!cJSON_IsNumber(item) || !(item->valuedouble > 0 && item->valuedouble <= 1))
    return spec_fail_expected(ctx, path, item, "a threshold in (0, 1] or null");
  out->has_threshold = 1;
  out->threshold = item->valuedouble;
  return NNC_OK;
}

/* 1 where y_pred is its row's maximum and not 0 (no threshold). */
static int row_max(nnc_graph *g, int yp, int64_t classes, nnc_status *st) {
  int64_t col_dims[3] = {-1, classes, 1}, flat_dims[2] = {-1, classes};
  int others = graph_repeat_axis(g, yp, 1, classes, st); /* [b, i, j] = yp[b, j] */
  int self = graph_reshape(g, yp, shape_make(1, 3, col_dims), st);
  int higher = graph_reduce(g, NNC_RED_LAST, graph_binary(g, NNC_BIN_GT, others, self, st), st);
  int is_max =
      graph_binary(g, NNC_BIN_EQ, graph_reshape(g, higher, shape_make(1, 2, flat_dims), st),
                   graph_const(g, 0.0, st), st);
  int nonzero =
      graph_binary(g, NNC_BIN_GT, graph_unary(g, NNC_FN_ABS, yp, st), graph_const(g, 1e-9, st), st);
  return graph_binary(g, NNC_BIN_MUL, is_max, nonzero, st);
}

static int lower(metric_ctx *c) {
  nnc_graph *g = c->g;
  nnc_status *st = c->st;
  const nnc_spec_metric *m = c->m;
  const nnc_shape *s = &g->nodes[c->yp].shape;
  if (s->rank != 2 || g->nodes[c->y].shape.rank != 2 ||
      shape_last(&g->nodes[c->y].shape) != shape_last(s))
    return nnc_fail(st, NNC_ERR_SPEC,
                    "%s: %s: %s expects outputs and targets shaped (batch, classes) alike "
                    "(Keras: \"FBetaScore expects 2D inputs\"), the output has rank %d",
                    c->source, m->path, metric_class_of(c->kind)->class_name, s->rank);
  int64_t classes = shape_last(s);
  int pred = m->has_threshold
                 ? graph_binary(g, NNC_BIN_GT, c->yp, graph_const(g, m->threshold, st), st)
                 : row_max(g, c->yp, classes, st);
  int one = graph_const(g, 1.0, st);
  int y = c->y, not_pred = graph_binary(g, NNC_BIN_SUB, one, pred, st);
  int counts[4] = {graph_binary(g, NNC_BIN_MUL, pred, y, st),
                   graph_binary(g, NNC_BIN_MUL, pred, graph_binary(g, NNC_BIN_SUB, one, y, st), st),
                   graph_binary(g, NNC_BIN_MUL, not_pred, y, st), y};
  int micro = m->average == 0, first = -1;
  for (int i = 0; i < 4; i++) {
    if (c->sw >= 0) { /* weighted sums: (batch,) weights expand to (batch, 1) */
      int64_t d[2] = {-1, classes};
      int weighted = metric_weigh(c, counts[i]);
      if (weighted < 0) return st->code;
      counts[i] = graph_reshape(g, weighted, shape_make(1, 2, d), st);
    }
    int sum = graph_reduce(g, micro ? NNC_RED_ALL : NNC_RED_LEADING, counts[i], st);
    int idx = metric_stat(c, sum, NNC_STAT_COUNT_SUM);
    if (idx < 0) return st->code;
    if (i == 0) first = idx;
  }
  int C = micro ? 1 : (int)classes, n_keys = m->average == 3 ? C : 1;
  for (int i = 0; i < n_keys; i++) {
    char name[NNC_NAME_MAX + 16];
    if (m->average == 3)
      snprintf(name, sizeof name, "%s[%d]", c->key, i);
    else
      snprintf(name, sizeof name, "%s", c->key);
    if (strlen(name) >= NNC_NAME_MAX)
      return nnc_fail(st, NNC_ERR_SPEC, "%s: %s: the log key \"%s\" is longer than %d bytes",
                      c->source, m->path, name, NNC_NAME_MAX - 1);
    nnc_metric_info *k = metric_key(c, name, NNC_RESULT_FBETA);
    if (!k || !metric_key_args(c, k, 4)) return st->code;
    k->first_stat = k->stat[0] = first;
    k->n_stats = 4 * C;
    k->args[0] = C;
    k->args[1] = (float)m->beta;
    k->args[2] = m->average;
    k->args[3] = i;
    metric_key_done(c);
  }
  return NNC_OK;
}

const metric_family metric_family_f_score = {parse, lower, 1};
