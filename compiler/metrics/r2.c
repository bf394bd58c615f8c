/* R2Score (keras/src/metrics/regression_metrics.py) on outputs (batch,
 * outputs): per output column the weighted sums of y_true, y_true^2, the
 * squared residuals and the weights (the count), plus num_samples (the
 * samples with a non-zero weight in some column: every sample when
 * unweighted), summed over the epoch; the result
 * (runtime/metric_results.c) is 1 - residual / total per column,
 * aggregated, adjusted for num_regressors. class_aggregation=None gives one
 * value per column: log keys "<name>[i]". */
#include <stdio.h>
#include <string.h>

#include "compiler/metrics/metrics.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                 nnc_spec_metric *out) {
  char path[NNC_PATH_MAX];
  const cJSON *item = spec_child(cfg, "class_aggregation");
  spec_path_key(path, cfg_path, "class_aggregation");
  if (cJSON_IsNull(item))
    out->aggregation = 2;
  else if (cJSON_IsString(item) && strcmp(item->valuestring, "uniform_average") == 0)
    out->aggregation = 0;
  else if (cJSON_IsString(item) && strcmp(item->valuestring, "variance_weighted_average") == 0)
    out->aggregation = 1;
  else if (item)
    return spec_fail_expected(ctx, path, item,
                              "null, \"uniform_average\" or \"variance_weighted_average\"");
  item = spec_child(cfg, "num_regressors");
  spec_path_key(path, cfg_path, "num_regressors");
  if (spec_is_absent(item)) return NNC_OK;
  if (!cJSON_IsNumber(item) || item->valuedouble < 0 || item->valuedouble > 1e9 ||
      item->valuedouble != (int)item->valuedouble)
    return spec_fail_expected(ctx, path, item, "an integer >= 0");
  out->num_regressors = (int)item->valuedouble;
  return NNC_OK;
}

static int lower(metric_ctx *c) {
  nnc_graph *g = c->g;
  nnc_status *st = c->st;
  const nnc_spec_metric *m = c->m;
  const nnc_shape *s = &g->nodes[c->yp].shape;
  if (s->rank != 2 || !shape_equal(s, &g->nodes[c->y].shape))
    return nnc_fail(st, NNC_ERR_SPEC,
                    "%s: %s: R2Score expects outputs and targets shaped (batch, outputs) alike "
                    "(Keras: \"R2Score expects 2D inputs\"), the output has rank %d",
                    c->source, m->path, s->rank);
  int64_t C = shape_last(s), d2[2] = {-1, C};
  int y = c->y, res = graph_binary(g, NNC_BIN_SUB, y, c->yp, st);
  /* each element's weight: 1, or the sample weights broadcast to y_true
   * ((batch,) gains the features axis) */
  int ones_in[2] = {graph_const(g, 1.0, st), y};
  int w = graph_add(g, NNC_OP_BROADCAST, 0, ones_in, 2, st);
  if (c->sw >= 0) {
    int weighted = metric_weigh(c, w);
    if (weighted < 0) return st->code;
    w = graph_reshape(g, weighted, shape_make(1, 2, d2), st);
  }
  int wy = graph_binary(g, NNC_BIN_MUL, y, w, st);
  int per_class[4] = {
      wy, graph_binary(g, NNC_BIN_MUL, y, wy, st),
      graph_binary(g, NNC_BIN_MUL, graph_binary(g, NNC_BIN_MUL, res, res, st), w, st), w};
  int first = -1;
  for (int i = 0; i < 4; i++) {
    int idx =
        metric_stat(c, graph_reduce(g, NNC_RED_LEADING, per_class[i], st), NNC_STAT_COUNT_SUM);
    if (idx < 0) return st->code;
    if (i == 0) first = idx;
  }
  /* num_samples (Keras 3.16): the samples with a non-zero weight in at
   * least one column */
  int nonzero = graph_binary(g, NNC_BIN_NE, w, graph_const(g, 0.0, st), st);
  int any = graph_binary(g, NNC_BIN_GT, graph_reduce(g, NNC_RED_LAST, nonzero, st),
                         graph_const(g, 0.5, st), st);
  if (metric_stat(c, graph_reduce(g, NNC_RED_ALL, any, st), NNC_STAT_COUNT_SUM) < 0)
    return st->code;
  int n_keys = m->aggregation == 2 ? (int)C : 1;
  for (int i = 0; i < n_keys; i++) {
    char name[NNC_NAME_MAX + 16];
    if (m->aggregation == 2)
      snprintf(name, sizeof name, "%s[%d]", c->key, i);
    else
      snprintf(name, sizeof name, "%s", c->key);
    if (strlen(name) >= NNC_NAME_MAX)
      return nnc_fail(st, NNC_ERR_SPEC, "%s: %s: the log key \"%s\" is longer than %d bytes",
                      c->source, m->path, name, NNC_NAME_MAX - 1);
    nnc_metric_info *k = metric_key(c, name, NNC_RESULT_R2);
    if (!k || !metric_key_args(c, k, 4)) return st->code;
    k->first_stat = k->stat[0] = first;
    k->n_stats = 4 * (int)C + 1;
    k->args[0] = (double)C;
    k->args[1] = m->aggregation;
    k->args[2] = m->num_regressors;
    k->args[3] = i;
    metric_key_done(c);
  }
  return NNC_OK;
}

const metric_family metric_family_r2 = {parse, lower, 1};
