/* The metric table as lookups (metrics.def) and the lowering helpers every
 * family shares. */
#include "compiler/metrics/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

static const metric_class classes[] = {
#define METRIC(ID, family, cls, name, aliases, keys)                                               \
  {NNC_METRIC_##ID, &metric_family_##family, cls, name, aliases, keys},
#include "compiler/metrics/metrics.def"
#undef METRIC
};
_Static_assert(sizeof classes / sizeof classes[0] == NNC_METRIC_COUNT, "metrics.def and the enum");

const metric_class *metric_class_of(nnc_metric_kind kind) {
  return kind >= 0 && kind < NNC_METRIC_COUNT ? &classes[kind] : NULL;
}

const metric_class *metric_class_named(const char *class_name) {
  for (int i = 0; i < NNC_METRIC_COUNT && class_name; i++)
    if (classes[i].class_name && strcmp(classes[i].class_name, class_name) == 0) return &classes[i];
  return NULL;
}

/* "a,b,c" holds word. */
static int in_list(const char *list, const char *word) {
  size_t n = strlen(word);
  for (const char *p = list; p && *p;) {
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len == n && strncmp(p, word, n) == 0) return 1;
    p = end ? end + 1 : NULL;
  }
  return 0;
}

const metric_class *metric_class_for_string(const char *name) {
  char norm[64], cls[64];
  if (!spec_normalize(name, norm, sizeof norm)) return NULL;
  for (int i = 0; i < NNC_METRIC_COUNT; i++) {
    if (in_list(classes[i].aliases, norm)) return &classes[i];
    if (classes[i].class_name && spec_normalize(classes[i].class_name, cls, sizeof cls) &&
        strcmp(cls, norm) == 0)
      return &classes[i];
  }
  return NULL;
}

void metric_class_list(char *buf, size_t size) {
  size_t n = 0;
  buf[0] = '\0';
  for (int i = 0; i < NNC_METRIC_COUNT && n < size; i++)
    if (classes[i].class_name)
      n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? ", " : "", classes[i].class_name);
}

int metric_stat(metric_ctx *c, int value, nnc_stat_kind kind) {
  nnc_program *p = &c->l->prog;
  if (value < 0) return -1;
  int64_t n = shape_inner(&c->g->nodes[value].shape);
  nnc_stat_kind *grown =
      nnc_realloc_array(p->stat_kinds, (size_t)(p->n_stats + n), sizeof *grown, c->st);
  if (!grown) return -1;
  p->stat_kinds = grown;
  if (graph_stat(c->g, value, p->n_stats, c->st) < 0) return -1;
  for (int64_t i = 0; i < n; i++) p->stat_kinds[p->n_stats + i] = kind;
  int first = p->n_stats;
  p->n_stats += (int)n;
  return first;
}

nnc_metric_info *metric_key(metric_ctx *c, const char *name, nnc_metric_result result) {
  nnc_program *p = &c->l->prog;
  nnc_metric_info *grown =
      nnc_realloc_array(p->metrics, (size_t)p->n_metrics + 1, sizeof *grown, c->st);
  if (!grown) return NULL;
  p->metrics = grown;
  nnc_metric_info *info = &grown[p->n_metrics];
  memset(info, 0, sizeof *info);
  nnc_strlcpy(info->name, name, sizeof info->name);
  info->result = result;
  info->first_stat = -1;
  info->direction = metric_direction(c->kind);
  return info;
}

double *metric_key_args(metric_ctx *c, nnc_metric_info *k, int n) {
  k->args = nnc_calloc((size_t)n, sizeof *k->args, c->st);
  if (k->args) k->n_args = n;
  return k->args;
}

void metric_key_done(metric_ctx *c) {
  c->l->prog.n_metrics++;
}

/* Sum over the batch of each sample's mean over its non-batch axes. */
static int per_sample_mean_sum(nnc_graph *g, int values, nnc_status *st) {
  int64_t inner = shape_inner(&g->nodes[values].shape);
  if (inner == 1) return graph_reduce(g, NNC_RED_ALL, values, st);
  int64_t d[2] = {-1, inner};
  int flat = graph_reshape(g, values, shape_make(1, 2, d), st);
  int row_sum = graph_reduce(g, NNC_RED_LAST, flat, st);
  int mean = graph_binary(g, NNC_BIN_DIV, row_sum, graph_const(g, (double)inner, st), st);
  return graph_reduce(g, NNC_RED_ALL, mean, st);
}

int metric_weigh(metric_ctx *c, int x) {
  nnc_graph *g = c->g;
  if (x < 0) return -1;
  int64_t per_sample = shape_inner(&g->nodes[x].shape);
  int64_t w = shape_inner(&g->nodes[c->sw].shape);
  if (w < 1 || per_sample % w != 0)
    return nnc_fail(c->st, NNC_ERR_DATA,
                    "%s: %s: the sample weights have %lld values per sample, which do not "
                    "broadcast against the metric's %lld values per sample",
                    c->source, c->m->path, (long long)w, (long long)per_sample),
           -1;
  int64_t xd[3] = {-1, w, per_sample / w}, wd[3] = {-1, w, 1};
  int xs = graph_reshape(g, x, shape_make(1, 3, xd), c->st);
  int ws = graph_reshape(g, c->sw, shape_make(1, 3, wd), c->st);
  return graph_binary(g, NNC_BIN_MUL, xs, ws, c->st);
}

/* Keras's Mean with sample weights (reduction_metrics.py
 * reduce_to_samplewise_values): the values averaged over the axes past the
 * weights', times the weights, averaged per sample and summed: the total;
 * the weights averaged per sample and summed: the count. Result total /
 * count (0 when the count is 0), sqrt of it for RootMeanSquaredError. */
static int weighted_mean(metric_ctx *c, int values, int sqrt_result) {
  nnc_graph *g = c->g;
  int64_t w = shape_inner(&g->nodes[c->sw].shape);
  int64_t per_sample = shape_inner(&g->nodes[values].shape);
  int weighted = metric_weigh(c, values); /* [B, W, Q] */
  if (weighted < 0) return c->st->code;
  int64_t q = per_sample / w;
  /* the mean over Q then over W: the sum over both divided by W Q */
  int64_t fd[2] = {-1, w * q}, wd[2] = {-1, w};
  int flat = graph_reshape(g, weighted, shape_make(1, 2, fd), c->st);
  int total = per_sample_mean_sum(g, flat, c->st);
  int ws = graph_reshape(g, c->sw, shape_make(1, 2, wd), c->st);
  int count = per_sample_mean_sum(g, ws, c->st);
  int s0 = metric_stat(c, total, NNC_STAT_COUNT_SUM);
  int s1 = metric_stat(c, count, NNC_STAT_COUNT_SUM);
  nnc_metric_info *k;
  if (s0 < 0 || s1 < 0 ||
      !(k = metric_key(c, c->key, sqrt_result ? NNC_RESULT_SQRT_RATIO : NNC_RESULT_RATIO)))
    return c->st->code;
  k->first_stat = k->stat[0] = s0;
  k->stat[1] = s1;
  k->n_stats = 2;
  metric_key_done(c);
  return NNC_OK;
}

/* Keras's MeanMetricWrapper.update_state: the output's mask joins the sample
 * weights (apply_mask with reduction "sum": mask x weights, no rescaling). */
static int mask_weights(metric_ctx *c) {
  nnc_graph *g = c->g;
  int m = c->mask;
  int64_t t = shape_inner(&g->nodes[m].shape);
  if (c->sw < 0) {
    c->sw = m;
    return NNC_OK;
  }
  int64_t w = shape_inner(&g->nodes[c->sw].shape), d[2] = {-1, w};
  if (w != 1 && w != t)
    return nnc_fail(c->st, NNC_ERR_DATA,
                    "%s: %s: the sample weights have %lld values per sample, which do not "
                    "broadcast against the output's mask of %lld steps",
                    c->source, c->m->path, (long long)w, (long long)t);
  int64_t md[2] = {-1, t};
  int sw = graph_reshape(g, c->sw, shape_make(1, 2, d), c->st);
  int mask = graph_reshape(g, m, shape_make(1, 2, md), c->st);
  c->sw = graph_binary(g, NNC_BIN_MUL, mask, sw, c->st);
  return c->sw < 0 ? c->st->code : NNC_OK;
}

int metric_mean(metric_ctx *c, int values, int sqrt_result) {
  if (values < 0) return c->st->code;
  if (c->mask >= 0 && mask_weights(c)) return c->st->code;
  if (c->sw >= 0) return weighted_mean(c, values, sqrt_result);
  int sum = per_sample_mean_sum(c->g, values, c->st);
  nnc_metric_info *k;
  if (!sqrt_result) { /* one statistic; the runtime divides by the samples */
    int s0 = metric_stat(c, sum, NNC_STAT_MEAN_SUM);
    if (s0 < 0 || !(k = metric_key(c, c->key, NNC_RESULT_MEAN))) return c->st->code;
    k->stat[0] = s0;
  } else { /* sqrt(total / count): the count is a statistic of its own */
    int s0 = metric_stat(c, sum, NNC_STAT_COUNT_SUM);
    int s1 = metric_stat(c, graph_scalar(c->g, NNC_SCALAR_BATCH, c->st), NNC_STAT_COUNT_SUM);
    if (s0 < 0 || s1 < 0 || !(k = metric_key(c, c->key, NNC_RESULT_SQRT_RATIO))) return c->st->code;
    k->first_stat = k->stat[0] = s0;
    k->stat[1] = s1;
    k->n_stats = 2;
  }
  metric_key_done(c);
  return NNC_OK;
}

int metric_column(metric_ctx *c, int x, int64_t index) {
  const nnc_shape *s = &c->g->nodes[x].shape;
  int64_t last = shape_last(s);
  if (index < 0 || index >= last)
    return nnc_fail(c->st, NNC_ERR_SPEC,
                    "%s: %s: expected class_id in [0, %lld) (the output's last axis), got %lld",
                    c->source, c->m->path, (long long)last, (long long)index),
           -1;
  if (last == 1) return x;
  return graph_slice(c->g, x, s->rank - 1, index, 1, c->st);
}

int metric_lower(metric_ctx *c) {
  const metric_class *cls = metric_class_of(c->kind);
  if (!cls || !cls->family->lower)
    return nnc_fail(c->st, NNC_ERR_INTERNAL, "metric %s: no lowering", c->m->name);
  if (c->sw >= 0 && !cls->family->weighted)
    return nnc_fail(c->st, NNC_ERR_SPEC,
                    "%s: %s: %s in weighted_metrics with sample weights is not supported yet",
                    c->source, c->m->path, cls->class_name ? cls->class_name : c->m->name);
  return cls->family->lower(c);
}
