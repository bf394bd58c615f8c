/* Losses as metrics. Keras 3's Hinge, SquaredHinge, CategoricalHinge,
 * KLDivergence and Poisson metric classes (hinge_metrics.py,
 * probabilistic_metrics.py) are MeanMetricWrappers of the loss function;
 * a Keras loss function given as a metric (a serialized function, a
 * MeanMetricWrapper of one) is the same (compile_utils.get_metric). The
 * values come from loss_per_sample, so a metric and the loss it names share
 * one definition (compiler/losses).
 *
 * Two kinds of values count differently, as Keras's Mean counts them
 * (reduction_metrics.py): per-sample values count once per sample; a single
 * value per batch (Dice/Tversky with axis None, or a Loss object, whose call
 * reduces the batch) counts once per batch, so the epoch value is the mean
 * of the batch values. */
#include "compiler/losses/losses.h"
#include "compiler/metrics/metrics.h"

/* The loss function of each wrapping class. */
static nnc_loss_kind wrapped_loss(nnc_metric_kind kind) {
  switch (kind) {
  case NNC_METRIC_HINGE:
    return NNC_LOSS_HINGE;
  case NNC_METRIC_SQUARED_HINGE:
    return NNC_LOSS_SQUARED_HINGE;
  case NNC_METRIC_CATEGORICAL_HINGE:
    return NNC_LOSS_CATEGORICAL_HINGE;
  case NNC_METRIC_KL_DIVERGENCE:
    return NNC_LOSS_KLD;
  default:
    return NNC_LOSS_POISSON;
  }
}

/* The classes take no keys besides name and dtype; LOSS_FUNCTION's loss is
 * parsed by spec_metric.c. */
static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                 nnc_spec_metric *out) {
  (void)ctx, (void)cfg, (void)cfg_path;
  if (out->kind != NNC_METRIC_LOSS_FUNCTION) {
    const loss_class *lc = loss_class_of(wrapped_loss(out->kind));
    out->loss.kind = lc->kind;
    nnc_strlcpy(out->loss.name, lc->function, sizeof out->loss.name);
    out->loss.reduction = NNC_REDUCTION_SUM_OVER_BATCH_SIZE;
    out->loss.axis = -1;
  }
  return NNC_OK;
}

/* A Loss object's call: the per-sample values reduced over the batch
 * (losses/loss.py reduce_weighted_values without sample weights): the sum,
 * or the sum over the element count (divided by the unmasked count when
 * SparseCategoricalCrossentropy's ignore_class masks some: apply_mask). */
static int reduce_batch(metric_ctx *c, const loss_values *lv) {
  nnc_graph *g = c->g;
  nnc_status *st = c->st;
  int total = graph_reduce(g, NNC_RED_ALL, lv->values, st);
  if (c->m->loss.reduction == NNC_REDUCTION_SUM) return total;
  int count;
  if (lv->mask >= 0) {
    count = graph_reduce(g, NNC_RED_ALL, lv->mask, st);
  } else {
    int64_t per_row = shape_inner(&g->nodes[lv->values].shape);
    count = graph_binary(g, NNC_BIN_MUL, graph_scalar(g, NNC_SCALAR_BATCH, st),
                         graph_const(g, (double)per_row, st), st);
  }
  /* divide_no_nan: count + (count == 0) as the divisor, times (count != 0) */
  int zero = graph_const(g, 0.0, st);
  int safe = graph_binary(g, NNC_BIN_ADD, count, graph_binary(g, NNC_BIN_EQ, count, zero, st), st);
  return graph_binary(g, NNC_BIN_MUL, graph_binary(g, NNC_BIN_DIV, total, safe, st),
                      graph_binary(g, NNC_BIN_NE, count, zero, st), st);
}

/* One value per batch: total += value, count += 1; result total / count. */
static int batch_mean(metric_ctx *c, int value) {
  if (c->sw >= 0) /* Keras's Mean cannot broadcast the (batch,) weights to one value */
    return nnc_fail(c->st, NNC_ERR_SPEC,
                    "%s: %s: %s gives one value per batch, which Keras cannot weigh by sample "
                    "weights (its Mean fails to broadcast them); list it in metrics, not "
                    "weighted_metrics, or train without sample weights",
                    c->source, c->m->path, c->m->name);
  int s0 = metric_stat(c, value, NNC_STAT_COUNT_SUM);
  int s1 = metric_stat(c, graph_const(c->g, 1.0, c->st), NNC_STAT_COUNT_SUM);
  nnc_metric_info *k;
  if (s0 < 0 || s1 < 0 || !(k = metric_key(c, c->key, NNC_RESULT_RATIO))) return c->st->code;
  k->first_stat = k->stat[0] = s0;
  k->stat[1] = s1;
  k->n_stats = 2;
  metric_key_done(c);
  return NNC_OK;
}

static int lower(metric_ctx *c) {
  loss_values lv;
  if (loss_lower(c->g, &c->m->loss, c->yp, c->y, 0, &lv, c->st)) return c->st->code;
  if (lv.values < 0) return c->st->code;
  int per_batch = !c->g->nodes[lv.values].shape.batched;
  if (c->m->loss_instance && !per_batch && c->m->loss.reduction != NNC_REDUCTION_NONE)
    return batch_mean(c, reduce_batch(c, &lv));
  if (per_batch) return batch_mean(c, lv.values);
  /* ignore_class: the loss function's values are 0 at masked entries; Keras's
   * Mean averages them with the rest (it reads the values' mask only to
   * merge it into sample weights) */
  if (lv.mask >= 0 && c->sw >= 0)
    return nnc_fail(c->st, NNC_ERR_SPEC,
                    "%s: %s: %s with ignore_class in weighted_metrics with sample weights is not "
                    "supported yet",
                    c->source, c->m->path, c->m->name);
  return metric_mean(c, lv.values, 0);
}

const metric_family metric_family_loss_metrics = {parse, lower, 1};
