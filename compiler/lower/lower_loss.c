/* The loss and the metrics' batch statistics (keras-semantics.md §2, §3).
 *
 * Each output with a loss gets a batch loss sum(l) / numel(l), l being the
 * per-sample loss after the last-axis reduction (Keras's
 * "sum_over_batch_size"); the model's loss is the sum of these times their
 * loss weights (docs/semantics.md "Several outputs"). Mean metrics emit the
 * sum over the batch of each sample's mean; Precision/Recall emit confusion
 * counts. The runtime turns these sums into epoch results. The log keys
 * (prog.metrics) come in Keras 3's order: "loss", the compiled metrics, then
 * "<output>_loss" when two or more outputs have a loss. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/lower/lower_internal.h"
#include "base/base.h"
#include "compiler/expr/expr_spec.h"

static int add_stat(nnc_lowered *l, int value, nnc_stat_kind kind, nnc_status *st) {
  nnc_program *p = &l->prog;
  nnc_stat_kind *grown =
      nnc_realloc_array(p->stat_kinds, (size_t)p->n_stats + 1, sizeof *grown, st);
  if (!grown) return -1;
  p->stat_kinds = grown;
  if (graph_stat(&l->forward, value, p->n_stats, st) < 0) return -1;
  p->stat_kinds[p->n_stats] = kind;
  return p->n_stats++;
}

/* Sum over the batch of each sample's mean over its non-batch axes. */
static int per_sample_mean_sum(nnc_graph *g, int values, nnc_status *st) {
  int64_t inner = shape_inner(&g->nodes[values].shape);
  if (inner == 1) return graph_reduce(g, NNC_RED_ALL, values, st);
  int flat = graph_add(g, NNC_OP_RESHAPE, 0, &values, 1, st);
  if (flat < 0) return -1;
  int64_t d[2] = {-1, inner};
  g->nodes[flat].shape = shape_make(1, 2, d);
  int row_sum = graph_reduce(g, NNC_RED_LAST, flat, st);
  int count = graph_const(g, (double)inner, st);
  int mean = graph_binary(g, NNC_BIN_DIV, row_sum, count, st);
  return graph_reduce(g, NNC_RED_ALL, mean, st);
}

static int loss_node(nnc_graph *g, nnc_loss_kind kind, int from_logits, int y_pred, int y,
                     nnc_status *st) {
  return graph_loss(g, kind, y_pred, y, from_logits, 0, st);
}

/* Keras's rule for "accuracy" (compile_utils.get_metric): from shapes only. */
static nnc_metric_kind resolve_accuracy(const nnc_shape *out, const nnc_spec_shape *y_inner,
                                        nnc_loss_kind loss) {
  if (shape_last(out) == 1) return NNC_METRIC_BINARY_ACCURACY;
  int y_rank, y_last;
  if (y_inner) { /* the data's targets */
    y_rank = y_inner->rank + 1;
    y_last = y_inner->rank > 0 ? (int)y_inner->dims[y_inner->rank - 1] : 1;
  } else { /* no data yet: the targets the loss expects */
    y_rank = out->rank;
    y_last = loss == NNC_LOSS_SCCE ? 1 : (int)shape_last(out);
  }
  if (y_rank < out->rank || (y_last == 1 && shape_last(out) > 1))
    return NNC_METRIC_SPARSE_CATEGORICAL_ACCURACY;
  return NNC_METRIC_CATEGORICAL_ACCURACY;
}

/* The next log key's entry (counted once its statistics exist). */
static nnc_metric_info *next_key(nnc_lowered *l, const char *name, nnc_status *st) {
  nnc_program *p = &l->prog;
  nnc_metric_info *grown =
      nnc_realloc_array(p->metrics, (size_t)p->n_metrics + 1, sizeof *grown, st);
  if (!grown) return NULL;
  p->metrics = grown;
  nnc_metric_info *info = &grown[p->n_metrics];
  memset(info, 0, sizeof *info);
  nnc_strlcpy(info->name, name, sizeof info->name);
  return info;
}

/* A key whose result is the batch-size-weighted mean of a batch value
 * (Keras's loss tracker and per-output loss Means). */
static int add_loss_key(nnc_lowered *l, const char *name, int value, nnc_status *st) {
  nnc_metric_info *info = next_key(l, name, st);
  if (!info) return st->code;
  info->result = NNC_RESULT_MEAN;
  info->stat[0] = add_stat(l, value, NNC_STAT_LOSS, st);
  if (info->stat[0] < 0) return st->code;
  l->prog.n_metrics++;
  return NNC_OK;
}

static int lower_metric(nnc_lowered *l, const nnc_spec_metric *m, const char *key,
                        nnc_metric_kind kind, int yp, int y, nnc_status *st) {
  nnc_graph *g = &l->forward;
  int values = -1;
  nnc_metric_info *info = next_key(l, key, st);
  if (!info) return st->code;
  switch (kind) {
  case NNC_METRIC_BINARY_ACCURACY: {
    int thr = graph_const(g, m->threshold, st);
    int pred = graph_binary(g, NNC_BIN_GT, yp, thr, st);
    values = graph_binary(g, NNC_BIN_EQ, pred, y, st);
    break;
  }
  case NNC_METRIC_CATEGORICAL_ACCURACY: {
    int a = graph_add(g, NNC_OP_ARGMAX, 0, &y, 1, st);
    int b = graph_add(g, NNC_OP_ARGMAX, 0, &yp, 1, st);
    values = graph_binary(g, NNC_BIN_EQ, a, b, st);
    break;
  }
  case NNC_METRIC_SPARSE_CATEGORICAL_ACCURACY: {
    int b = graph_add(g, NNC_OP_ARGMAX, 0, &yp, 1, st);
    values = graph_binary(g, NNC_BIN_EQ, y, b, st);
    break;
  }
  case NNC_METRIC_MAE:
  case NNC_METRIC_MSE:
    values = loss_node(g, kind == NNC_METRIC_MAE ? NNC_LOSS_MAE : NNC_LOSS_MSE, 0, yp, y, st);
    break;
  case NNC_METRIC_PRECISION:
  case NNC_METRIC_RECALL: {
    int thr = graph_const(g, m->threshold, st), zero = graph_const(g, 0.0, st);
    int one = graph_const(g, 1.0, st);
    int pred = graph_binary(g, NNC_BIN_GT, yp, thr, st);
    int pos = graph_binary(g, NNC_BIN_NE, y, zero, st);
    int tp = graph_reduce(g, NNC_RED_ALL, graph_binary(g, NNC_BIN_MUL, pred, pos, st), st);
    int other =
        kind == NNC_METRIC_PRECISION
            ? graph_binary(g, NNC_BIN_MUL, pred, graph_binary(g, NNC_BIN_SUB, one, pos, st), st)
            : graph_binary(g, NNC_BIN_MUL, graph_binary(g, NNC_BIN_SUB, one, pred, st), pos, st);
    int second = graph_reduce(g, NNC_RED_ALL, other, st);
    if (tp < 0 || second < 0) return -1;
    info->result = kind == NNC_METRIC_PRECISION ? NNC_RESULT_PRECISION : NNC_RESULT_RECALL;
    info->stat[0] = add_stat(l, tp, NNC_STAT_COUNT_SUM, st);
    info->stat[1] = add_stat(l, second, NNC_STAT_COUNT_SUM, st);
    if (info->stat[0] < 0 || info->stat[1] < 0) return -1;
    l->prog.n_metrics++;
    return NNC_OK;
  }
  case NNC_METRIC_EXPRESSION: /* compiler/expr: a MeanMetricWrapper of the expression */
    values = expr_lower(g, m->expr, y, yp, -1, st);
    if (values < 0 || expr_require_per_sample(m->expr, g, values, st)) return -1;
    break;
  case NNC_METRIC_ACCURACY:
    break;
  }
  if (values < 0) return nnc_fail(st, NNC_ERR_INTERNAL, "metric %s not lowered", m->name);
  int sum = per_sample_mean_sum(g, values, st);
  if (sum < 0) return st->code;
  info->result = NNC_RESULT_MEAN;
  info->stat[0] = add_stat(l, sum, NNC_STAT_MEAN_SUM, st);
  if (info->stat[0] < 0) return st->code;
  l->prog.n_metrics++;
  return NNC_OK;
}

/* Labels: shaped like the output, or [..., 1] integer classes for sparse
 * losses. Data of the same per-sample size is accepted as is: (N,) for a
 * (None, 1) output is Keras's rank fix-up. */
static int label_shape(const nnc_lowered *l, const nnc_spec *spec, int k, int sparse,
                       const nnc_spec_shape *y_inner, nnc_shape *out, nnc_status *st) {
  nnc_shape o = l->prog.outputs[k].shape;
  if (sparse) {
    if (o.rank == 1 || (o.batched && o.rank == 1)) o.dims[o.rank++] = 1;
    o.dims[o.rank - 1] = 1;
  }
  *out = o;
  if (!y_inner) return NNC_OK;
  int64_t n = 1;
  for (int i = 0; i < y_inner->rank; i++) n *= y_inner->dims[i];
  if (n != shape_inner(&o)) {
    char want[64], which[NNC_NAME_MAX + 32] = "";
    shape_format(&l->prog.outputs[k].shape, want, sizeof want);
    if (l->prog.n_outputs > 1) snprintf(which, sizeof which, " \"%s\"", l->prog.outputs[k].name);
    return nnc_fail(
        st, NNC_ERR_DATA,
        "%s: the targets have %lld values per sample but the model output%s %s needs %lld%s",
        spec->source, (long long)n, which, want, (long long)shape_inner(&o),
        sparse ? " (one integer class per position for a sparse loss)" : "");
  }
  return NNC_OK;
}

/* Output k's batch loss: sum over its elements / (batch x elements per row). */
static int output_loss(nnc_lowered *l, int k, const lower_output_plan *o,
                       const nnc_spec_shape *y_inner, int y, nnc_status *st) {
  nnc_graph *g = &l->forward;
  const nnc_shape *out = &l->prog.outputs[k].shape;
  /* Keras's rank fix-up squeezes an output (..., 1) against targets of one
   * rank less (but not rank 1); the squeeze drops the logits the TF backend
   * attached to a sigmoid output, so that loss is computed from clipped
   * probabilities (keras-semantics.md §2.3). `squeezed` tells the logits rewrite. */
  int y_rank = y_inner ? y_inner->rank + 1 : 0;
  int squeezed = y_rank > 1 && y_rank == out->rank - 1 && shape_last(out) == 1;
  int before = g->n;
  int per_sample =
      o->loss.expr
          ? expr_lower(g, o->loss.expr, y, l->output_nodes[k], -1, st) /* compiler/expr */
          : graph_loss(g, o->loss.kind, l->output_nodes[k], y, o->loss.from_logits, squeezed, st);
  if (per_sample < 0) return -1;
  if (per_sample < before) {
    /* an expression that is y_pred itself: the layer's node keeps its label */
  } else if (l->prog.n_outputs == 1)
    snprintf(g->nodes[per_sample].label, sizeof g->nodes[per_sample].label, "loss");
  else
    snprintf(g->nodes[per_sample].label, sizeof g->nodes[per_sample].label, "%.60s/loss",
             l->prog.outputs[k].name);
  int total = graph_reduce(g, NNC_RED_ALL, per_sample, st);
  int batch = graph_source(g, NNC_OP_SCALAR, NNC_SCALAR_BATCH, shape_scalar(), "batch", st);
  int per_row = graph_const(g, (double)shape_inner(&g->nodes[per_sample].shape), st);
  /* a value without the batch axis (an expression's scalar) counts its own elements only */
  int numel = g->nodes[per_sample].shape.batched ? graph_binary(g, NNC_BIN_MUL, batch, per_row, st)
                                                 : per_row;
  return graph_binary(g, NNC_BIN_DIV, total, numel, st);
}

/* The target of output k: one INPUT per output with a loss or metrics, in
 * output order, reading IO slot n_inputs + j (docs/semantics.md). */
static int add_target(nnc_lowered *l, const nnc_spec *spec, int k, const lower_output_plan *o,
                      const nnc_spec_shape *y_inner, nnc_status *st) {
  int sparse = o->has_loss && o->loss.kind == NNC_LOSS_SCCE;
  nnc_shape ys;
  if (label_shape(l, spec, k, sparse, y_inner, &ys, st)) return -1;
  int64_t classes = sparse ? shape_last(&l->prog.outputs[k].shape) : 0;
  int j = l->prog.n_targets;
  if (program_add_io(&l->prog.targets, &l->prog.n_targets, l->prog.outputs[k].name, ys, classes, k,
                     st))
    return -1;
  char label[NNC_NAME_MAX + 8] = "y";
  if (l->prog.n_outputs > 1) snprintf(label, sizeof label, "y/%.60s", l->prog.outputs[k].name);
  int y = graph_source(&l->forward, NNC_OP_INPUT, l->prog.n_inputs + j, ys, label, st);
  if (y < 0) return -1;
  l->forward.nodes[y].flags |= NNC_NODE_NO_GRAD;
  if (l->y < 0) l->y = y;
  return y;
}

static int lower_all(nnc_lowered *l, const nnc_spec *spec, const nnc_data_shapes *data,
                     const lower_plan *plan, int *targets, int *losses, nnc_status *st) {
  nnc_graph *g = &l->forward;
  int total = -1;
  for (int k = 0; k < plan->n_outputs; k++) {
    const lower_output_plan *o = &plan->outputs[k];
    const nnc_spec_shape *y_inner =
        data && data->n_targets > k && data->targets[k].rank >= 0 ? &data->targets[k] : NULL;
    targets[k] = losses[k] = -1;
    if (!o->has_loss && !o->has_metrics) continue; /* predicted, not trained on */
    if ((targets[k] = add_target(l, spec, k, o, y_inner, st)) < 0) return st->code;
    if (!o->has_loss) continue;
    if ((losses[k] = output_loss(l, k, o, y_inner, targets[k], st)) < 0) return st->code;
    int weighted = losses[k];
    if (o->has_weight && o->weight != 1.0)
      weighted = graph_binary(g, NNC_BIN_MUL, weighted, graph_const(g, o->weight, st), st);
    total = total < 0 ? weighted : graph_binary(g, NNC_BIN_ADD, total, weighted, st);
    if (total < 0) return st->code;
  }
  g->loss = l->loss = total;
  /* "loss" is the first log key: a batch mean weighted by the batch size */
  if (add_loss_key(l, "loss", total, st)) return st->code;

  for (int i = 0; i < plan->n_metrics; i++) {
    const lower_metric_ref *ref = &plan->metrics[i];
    int k = ref->output;
    nnc_metric_kind kind = ref->metric->kind;
    const nnc_spec_shape *y_inner =
        data && data->n_targets > k && data->targets[k].rank >= 0 ? &data->targets[k] : NULL;
    if (kind == NNC_METRIC_ACCURACY)
      kind =
          resolve_accuracy(&l->prog.outputs[k].shape, y_inner,
                           plan->outputs[k].has_loss ? plan->outputs[k].loss.kind : NNC_LOSS_MSE);
    if (lower_metric(l, ref->metric, ref->key, kind, l->output_nodes[k], targets[k], st))
      return st->code;
  }
  /* Keras's per-output Means of the unweighted losses (CompileLoss.build) */
  for (int k = 0; k < plan->n_outputs && plan->n_loss_keys; k++) {
    if (losses[k] < 0) continue;
    char key[NNC_NAME_MAX + 8];
    snprintf(key, sizeof key, "%s_loss", l->prog.outputs[k].name);
    if (add_loss_key(l, key, losses[k], st)) return st->code;
  }
  return NNC_OK;
}

int lower_loss_and_metrics(nnc_lowered *l, const nnc_spec *spec, const nnc_data_shapes *data,
                           nnc_status *st) {
  lower_plan plan;
  if (lower_plan_outputs(spec, &l->prog, &plan, st)) return st->code;
  int n = l->prog.n_outputs;
  int *targets = nnc_calloc((size_t)n + 1, sizeof *targets, st);
  int *losses = nnc_calloc((size_t)n + 1, sizeof *losses, st);
  int rc = targets && losses ? lower_all(l, spec, data, &plan, targets, losses, st) : (int)st->code;
  free(targets);
  free(losses);
  lower_plan_free(&plan);
  return rc;
}
