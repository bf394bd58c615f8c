/* The loss and the metrics' batch statistics (keras-semantics.md §2, §3).
 *
 * The batch loss is sum(l) / numel(l) where l is the per-sample loss after the
 * last-axis reduction (Keras's "sum_over_batch_size"). Mean metrics emit the
 * sum over the batch of each sample's mean; Precision/Recall emit confusion
 * counts. The runtime turns these sums into epoch results. */
#include <string.h>

#include "compiler/lower/lower_internal.h"
#include "base/base.h"

static int add_stat(nnc_lowered *l, int value, nnc_stat_kind kind, nnc_status *st) {
  nnc_program *p = &l->prog;
  if (p->n_stats >= NNC_MAX_STATS) {
    nnc_fail(st, NNC_ERR_SPEC, "too many metrics");
    return -1;
  }
  int id = graph_add(&l->forward, NNC_OP_STAT, 0, &value, 1, st);
  if (id < 0) return -1;
  l->forward.nodes[id].iattr[0] = p->n_stats;
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
  int in[2] = {y_pred, y};
  int id = graph_add(g, NNC_OP_LOSS, kind, in, 2, st);
  if (id >= 0) g->nodes[id].attr[0] = from_logits;
  return id;
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

static int lower_metric(nnc_lowered *l, const nnc_spec_metric *m, nnc_metric_kind kind, int y,
                        nnc_status *st) {
  nnc_graph *g = &l->forward;
  int yp = l->y_pred, values = -1;
  nnc_metric_info *info = &l->prog.metrics[l->prog.n_metrics];
  memset(info, 0, sizeof *info);
  nnc_strlcpy(info->name, m->name, sizeof info->name);
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
static int label_shape(const nnc_lowered *l, const nnc_spec *spec, const nnc_spec_shape *y_inner,
                       nnc_shape *out, nnc_status *st) {
  nnc_shape o = l->prog.outputs[0].shape;
  int sparse = spec->compile.loss.kind == NNC_LOSS_SCCE;
  if (sparse) {
    if (o.rank == 1 || (o.batched && o.rank == 1)) o.dims[o.rank++] = 1;
    o.dims[o.rank - 1] = 1;
  }
  *out = o;
  if (!y_inner) return NNC_OK;
  int64_t n = 1;
  for (int i = 0; i < y_inner->rank; i++) n *= y_inner->dims[i];
  if (n != shape_inner(&o)) {
    char want[64];
    shape_format(&l->prog.outputs[0].shape, want, sizeof want);
    return nnc_fail(
        st, NNC_ERR_DATA,
        "%s: the targets have %lld values per sample but the model output %s needs %lld%s",
        spec->source, (long long)n, want, (long long)shape_inner(&o),
        sparse ? " (one integer class per position for a sparse loss)" : "");
  }
  return NNC_OK;
}

int lower_loss_and_metrics(nnc_lowered *l, const nnc_spec *spec, const nnc_data_shapes *data,
                           nnc_status *st) {
  const nnc_spec_shape *y_inner =
      data && data->n_targets > 0 && data->targets[0].rank >= 0 ? &data->targets[0] : NULL;
  nnc_graph *g = &l->forward;
  const nnc_spec_compile *c = &spec->compile;
  nnc_shape ys;
  if (label_shape(l, spec, y_inner, &ys, st)) return st->code;
  int64_t classes = c->loss.kind == NNC_LOSS_SCCE ? shape_last(&l->prog.outputs[0].shape) : 0;
  if (program_add_io(&l->prog.targets, &l->prog.n_targets, l->prog.outputs[0].name, ys, classes, 0,
                     st))
    return st->code;
  l->y = graph_source(g, NNC_OP_INPUT, l->prog.n_inputs, ys, "y", st); /* after the inputs */
  if (l->y < 0) return st->code;
  g->nodes[l->y].flags |= NNC_NODE_NO_GRAD;

  int per_sample = loss_node(g, c->loss.kind, c->loss.from_logits, l->y_pred, l->y, st);
  if (per_sample < 0) return st->code;
  /* Keras's rank fix-up squeezes an output (..., 1) against targets of one
   * rank less (but not rank 1); the squeeze drops the logits the TF backend
   * attached to a sigmoid output, so that loss is computed from clipped
   * probabilities (keras-semantics.md §2.3). attr[1] tells the logits rewrite. */
  int y_rank = y_inner ? y_inner->rank + 1 : 0, out_rank = l->prog.outputs[0].shape.rank;
  if (y_rank > 1 && y_rank == out_rank - 1 && shape_last(&l->prog.outputs[0].shape) == 1)
    g->nodes[per_sample].attr[1] = 1.0;
  snprintf(g->nodes[per_sample].label, sizeof g->nodes[per_sample].label, "loss");
  int total = graph_reduce(g, NNC_RED_ALL, per_sample, st);
  int batch = graph_source(g, NNC_OP_SCALAR, NNC_SCALAR_BATCH, shape_scalar(), "batch", st);
  int per_row = graph_const(g, (double)shape_inner(&g->nodes[per_sample].shape), st);
  int numel = graph_binary(g, NNC_BIN_MUL, batch, per_row, st);
  int loss = graph_binary(g, NNC_BIN_DIV, total, numel, st);
  if (loss >= 0 && c->loss_weight != 1.0)
    loss = graph_binary(g, NNC_BIN_MUL, loss, graph_const(g, c->loss_weight, st), st);
  if (loss < 0) return st->code;
  g->loss = l->loss = loss;
  /* "loss" is the first log key: a batch mean weighted by the batch size */
  nnc_metric_info *info = &l->prog.metrics[l->prog.n_metrics];
  memset(info, 0, sizeof *info);
  nnc_strlcpy(info->name, "loss", sizeof info->name);
  info->result = NNC_RESULT_MEAN;
  info->stat[0] = add_stat(l, loss, NNC_STAT_LOSS, st);
  if (info->stat[0] < 0) return st->code;
  l->prog.n_metrics++;

  for (int i = 0; i < c->n_metrics; i++) {
    nnc_metric_kind kind = c->metrics[i].kind;
    if (kind == NNC_METRIC_ACCURACY)
      kind = resolve_accuracy(&l->prog.outputs[0].shape, y_inner, c->loss.kind);
    if (lower_metric(l, &c->metrics[i], kind, l->y, st)) return st->code;
  }
  return NNC_OK;
}
