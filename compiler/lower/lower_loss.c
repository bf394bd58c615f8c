/* The loss and the metrics' batch statistics (keras-semantics.md §2, §3).
 *
 * Each output with a loss gets a batch loss sum(l) / numel(l), l being the
 * per-sample loss after the last-axis reduction (Keras's
 * "sum_over_batch_size"); the model's loss is the sum of these times their
 * loss weights (docs/semantics.md "Several outputs"). Each metric's family
 * (compiler/metrics, docs/metrics.md) emits its batch statistics; the
 * runtime sums them over the epoch and applies the metric's result rule. The log keys
 * (prog.metrics) come in Keras 3's order: "loss", the compiled metrics, then
 * "<output>_loss" when two or more outputs have a loss. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/losses/losses.h"
#include "compiler/lower/lower_internal.h"
#include "compiler/lower/lower_regularizers.h"
#include "compiler/metrics/metrics.h"
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

/* Metric m of output k through its family (compiler/metrics). */
static int lower_metric(nnc_lowered *l, const nnc_spec *spec, const nnc_spec_metric *m,
                        const char *key, nnc_metric_kind kind, int yp, int y, int sw, int mask,
                        nnc_status *st) {
  metric_ctx c = {.l = l,
                  .g = &l->forward,
                  .m = m,
                  .kind = kind,
                  .key = key,
                  .source = spec->source,
                  .yp = yp,
                  .y = y,
                  .sw = m->weighted ? sw : -1, /* weighted_metrics only */
                  .mask = mask,
                  .st = st};
  if (kind == NNC_METRIC_EXPRESSION) { /* compiler/expr: a MeanMetricWrapper of the expression */
    int values = expr_lower(c.g, m->expr, y, yp, -1, st);
    if (values < 0 || expr_require_per_sample(m->expr, c.g, values, st)) return st->code;
    return metric_mean(&c, values, 0);
  }
  return metric_lower(&c);
}

/* The axis of output k that a sparse loss's labels replace by one class
 * index when it is not the last: the loss's `axis`
 * (compiler/losses/loss_axis.c); -1: the last. */
static int class_axis(const nnc_lowered *l, int k, const lower_output_plan *o) {
  const nnc_shape *s = &l->prog.outputs[k].shape;
  int a;
  if (o->has_loss && o->loss.axis != -1 && !loss_resolve_axis(o->loss.axis, s->rank, &a) &&
      a < s->rank - 1)
    return a;
  return -1;
}

/* Labels: shaped like the output, or with one integer class in place of the
 * class axis for sparse losses ([..., 1]). Data of the same per-sample size
 * is accepted as is: (N,) for a (None, 1) output is Keras's rank fix-up. */
static int label_shape(const nnc_lowered *l, const nnc_spec *spec, int k, int sparse, int axis,
                       const nnc_spec_shape *y_inner, nnc_shape *out, nnc_status *st) {
  nnc_shape o = l->prog.outputs[k].shape;
  if (sparse) {
    if (o.rank == 1 || (o.batched && o.rank == 1)) o.dims[o.rank++] = 1;
    o.dims[axis >= 0 ? axis : o.rank - 1] = 1;
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

/* An output's batch loss (the loss tracker's value) and, for reduction
 * "none", the element count of its weighted values: fit then trains on their
 * sum (Keras's tape differentiates the unreduced tensor), i.e. the loss times
 * that count, while the tracker reports the mean. */
typedef struct output_value {
  int loss;
  int sum;         /* node: the weighted values' sum (loss = sum / numel for "none") */
  int numel;       /* node: batch x per_row */
  int64_t per_row; /* elements per sample of the weighted values */
} output_value;

/* a / b, 0 where b is 0 (ops.divide_no_nan) */
static int divide_no_nan(nnc_graph *g, int a, int b, nnc_status *st) {
  int zero = graph_const(g, 0.0, st);
  int safe = graph_binary(g, NNC_BIN_ADD, b, graph_binary(g, NNC_BIN_EQ, b, zero, st), st);
  return graph_binary(g, NNC_BIN_MUL, graph_binary(g, NNC_BIN_DIV, a, safe, st),
                      graph_binary(g, NNC_BIN_NE, b, zero, st), st);
}

/* Per-sample dims without trailing 1s. */
static int core_rank(const nnc_shape *s) {
  int r = s->rank;
  while (r > 1 && s->dims[r - 1] == 1) r--;
  return r;
}

/* Values [B, v...] and weights [B, w...] reshaped so that the weights
 * broadcast by row: weights [B, w..., 1], values [B, w..., rest]. The
 * weights' dims must lead the values' (trailing 1s aside): a weight per
 * sample, or per timestep of a sequence (docs/losses.md "Sample weights"). */
static int fit_weights(nnc_lowered *l, int k, int *values, int *weights, nnc_status *st) {
  nnc_graph *g = &l->forward;
  const nnc_shape *v = &g->nodes[*values].shape, *w = &g->nodes[*weights].shape;
  int vr = core_rank(v), wr = core_rank(w);
  int fits = wr <= vr;
  for (int i = 1; fits && i < wr; i++) fits = v->dims[i] == w->dims[i];
  if (!fits) {
    char have[64], want[64];
    shape_format(w, have, sizeof have);
    shape_format(v, want, sizeof want);
    return nnc_fail(st, NNC_ERR_DATA,
                    "the sample weights of output \"%s\" are shaped %s per batch, which does not "
                    "lead the per-sample loss %s (expected one weight per sample or per leading "
                    "position)",
                    l->prog.outputs[k].name, have, want);
  }
  if (shape_equal(v, w)) return NNC_OK;
  nnc_shape ws = shape_make(1, wr, w->dims), vs = ws;
  ws.dims[ws.rank++] = 1;
  vs.dims[vs.rank++] = shape_inner(v) / shape_inner(w);
  *weights = graph_reshape(g, *weights, ws, st);
  *values = graph_reshape(g, *values, vs, st);
  return *weights < 0 || *values < 0 ? st->code : NNC_OK;
}

/* Keras's Loss.__call__ (losses/loss.py): the mask of a masked output
 * (docs/layers.md "Masks") joins the loss's own mask (in_mask & out_mask);
 * reduce_weighted_values then treats it as any mask. The output mask [B, T]
 * takes the values' shape ([B, T, 1] for a loss over the last axis). */
static int masked_values(nnc_lowered *l, const nnc_spec *spec, int k, loss_values *lv,
                         nnc_status *st) {
  nnc_graph *g = &l->forward;
  int mask = l->output_masks ? l->output_masks[k] : -1;
  if (mask < 0) return NNC_OK;
  const nnc_shape *vs = &g->nodes[lv->values].shape, *ms = &g->nodes[mask].shape;
  if (!vs->batched || shape_inner(vs) != shape_inner(ms)) {
    char have[64], want[64];
    shape_format(ms, have, sizeof have);
    shape_format(vs, want, sizeof want);
    return nnc_fail(st, NNC_ERR_SPEC,
                    "%s: %s.loss: the mask %s of output \"%s\" does not fit its loss's values %s "
                    "(Keras applies an output's mask to the loss of each step: the loss must "
                    "keep one value per masked step)",
                    spec->source, spec->compile.path, have, l->prog.outputs[k].name, want);
  }
  mask = graph_reshape(g, mask, *vs, st);
  lv->mask = lv->mask < 0 ? mask : graph_binary(g, NNC_BIN_MUL, lv->mask, mask, st);
  return lv->mask < 0 ? st->code : NNC_OK;
}

/* Keras's reduce_weighted_values (losses/loss.py): the mask (SCCE
 * ignore_class) and the sample weights multiply the values, then the sum is
 * divided by the element count ("sum_over_batch_size", "mean"), by the sum
 * of the weights ("mean_with_sample_weight"), or not at all ("sum"). */
static int output_loss(nnc_lowered *l, const nnc_spec *spec, int k, const lower_output_plan *o,
                       const nnc_spec_shape *y_inner, int y, int sw, output_value *out,
                       nnc_status *st) {
  nnc_graph *g = &l->forward;
  const nnc_shape *oshape = &l->prog.outputs[k].shape;
  /* Keras's rank fix-up squeezes an output (..., 1) against targets of one
   * rank less (but not rank 1); the squeeze drops the logits the TF backend
   * attached to a sigmoid output, so that loss is computed from clipped
   * probabilities (keras-semantics.md §2.3). `squeezed` tells the logits rewrite. */
  int y_rank = y_inner ? y_inner->rank + 1 : 0;
  int squeezed = y_rank > 1 && y_rank == oshape->rank - 1 && shape_last(oshape) == 1;
  loss_values lv;
  int before = g->n;
  if (o->loss.expr) { /* compiler/expr */
    /* an expression that reads sample_weight weighs itself; otherwise the
     * weights apply as to any loss function (Keras's LossFunctionWrapper) */
    int own = expr_uses_sample_weight(o->loss.expr);
    lv.mask = -1;
    lv.values = expr_lower(g, o->loss.expr, y, l->output_nodes[k], own ? sw : -1, st);
    if (lv.values < 0) return st->code;
    if (own) sw = -1;
    const nnc_shape *vs = &g->nodes[lv.values].shape;
    if (!vs->batched && vs->rank > 0) { /* [d, ...] after a batch-axis reduction: its mean */
      int total = graph_reduce(g, NNC_RED_ALL, lv.values, st);
      lv.values =
          graph_binary(g, NNC_BIN_DIV, total, graph_const(g, (double)shape_inner(vs), st), st);
      if (lv.values < 0) return st->code;
    }
  } else if (loss_lower(g, &o->loss, l->output_nodes[k], y, squeezed, &lv, st)) {
    return st->code;
  }
  if (masked_values(l, spec, k, &lv, st)) return st->code;
  int values = lv.values;
  nnc_node *vn = &g->nodes[values];
  if (values < before) {
    /* an expression that is y_pred itself: the layer's node keeps its label */
  } else if (l->prog.n_outputs == 1)
    snprintf(vn->label, sizeof vn->label, "loss");
  else
    snprintf(vn->label, sizeof vn->label, "%.60s/loss", l->prog.outputs[k].name);
  nnc_loss_reduction red = o->loss.reduction;
  int batch = graph_source(g, NNC_OP_SCALAR, NNC_SCALAR_BATCH, shape_scalar(), "batch", st);
  if (lv.mask < 0 && sw < 0) {
    /* unweighted: sum / (batch x elements per row); a loss of the whole batch as it is */
    if (!g->nodes[values].shape.batched) {
      out->loss = values;
      out->numel = graph_const(g, 1.0, st);
      out->per_row = 0;
      return NNC_OK;
    }
    int total = graph_reduce(g, NNC_RED_ALL, values, st);
    out->per_row = shape_inner(&g->nodes[values].shape);
    out->numel = graph_binary(g, NNC_BIN_MUL, batch, graph_const(g, (double)out->per_row, st), st);
    out->loss =
        red == NNC_REDUCTION_SUM ? total : graph_binary(g, NNC_BIN_DIV, total, out->numel, st);
    return out->loss < 0 ? st->code : NNC_OK;
  }
  /* the combined weight: mask (total/valid for the means: apply_mask) x sample weight */
  int weight = -1;
  if (lv.mask >= 0) {
    weight = lv.mask;
    if (red == NNC_REDUCTION_SUM_OVER_BATCH_SIZE || red == NNC_REDUCTION_NONE) {
      int total =
          graph_binary(g, NNC_BIN_MUL, batch,
                       graph_const(g, (double)shape_inner(&g->nodes[lv.mask].shape), st), st);
      int valid = graph_reduce(g, NNC_RED_ALL, lv.mask, st);
      weight = graph_binary(g, NNC_BIN_MUL, lv.mask, divide_no_nan(g, total, valid, st), st);
    }
  }
  if (sw >= 0) {
    if (!g->nodes[values].shape.batched) { /* a loss of the whole batch times each weight */
      values = graph_binary(g, NNC_BIN_MUL, sw, values, st);
      weight = sw;
    } else {
      int w = sw;
      if (fit_weights(l, k, &values, &w, st)) return st->code;
      if (weight >= 0) {
        int m = weight;
        nnc_shape ms = g->nodes[values].shape;
        m = graph_reshape(g, m, ms, st);
        weight = graph_binary(g, NNC_BIN_MUL, m, w, st);
      } else {
        weight = w;
      }
      values = graph_binary(g, NNC_BIN_MUL, values, weight, st);
    }
  } else {
    values = graph_binary(g, NNC_BIN_MUL, values, weight, st);
  }
  if (values < 0) return st->code;
  int total = graph_reduce(g, NNC_RED_ALL, values, st);
  out->per_row = shape_inner(&g->nodes[values].shape);
  out->numel = graph_binary(g, NNC_BIN_MUL, batch, graph_const(g, (double)out->per_row, st), st);
  int reduced;
  if (red == NNC_REDUCTION_SUM) {
    reduced = total;
  } else if (red == NNC_REDUCTION_MEAN_WITH_SAMPLE_WEIGHT) {
    int wsum = graph_reduce(g, NNC_RED_ALL, weight, st);
    int64_t rest = shape_inner(&g->nodes[values].shape) / shape_inner(&g->nodes[weight].shape);
    if (rest > 1) wsum = graph_binary(g, NNC_BIN_MUL, wsum, graph_const(g, (double)rest, st), st);
    reduced = divide_no_nan(g, total, wsum, st);
  } else {
    reduced = divide_no_nan(g, total, out->numel, st);
  }
  out->loss = reduced;
  out->sum = total;
  return reduced < 0 ? st->code : NNC_OK;
}

/* Sample weights of output k: an INPUT after the outputs (IO index n_inputs +
 * n_targets + n_outputs + j), listed in prog.sample_weights. */
static int add_sample_weight(nnc_lowered *l, int k, const nnc_spec_shape *w, int n_targets,
                             nnc_status *st) {
  int64_t dims[NNC_MAX_RANK] = {-1};
  for (int i = 0; i < w->rank && i + 1 < NNC_MAX_RANK; i++) dims[i + 1] = w->dims[i];
  if (w->rank + 1 > NNC_MAX_RANK)
    return nnc_fail(st, NNC_ERR_DATA,
                    "the sample weights of output \"%s\" have rank %d (at most %d)",
                    l->prog.outputs[k].name, w->rank + 1, NNC_MAX_RANK - 1);
  nnc_shape data = shape_make(1, w->rank + 1, dims); /* as the host gives them: [B] or [B, T...] */
  nnc_shape node = data;
  if (w->rank == 0) node.dims[node.rank++] = 1; /* [B, 1] */
  int j = l->prog.n_sample_weights;
  if (program_add_io(&l->prog.sample_weights, &l->prog.n_sample_weights, l->prog.outputs[k].name,
                     data, 0, k, st))
    return -1;
  char label[NNC_NAME_MAX + 24] = "sample_weight";
  if (l->prog.n_outputs > 1)
    snprintf(label, sizeof label, "sample_weight/%.60s", l->prog.outputs[k].name);
  int io = l->prog.n_inputs + n_targets + l->prog.n_outputs + j;
  int id = graph_source(&l->forward, NNC_OP_INPUT, io, node, label, st);
  if (id >= 0) l->forward.nodes[id].flags |= NNC_NODE_NO_GRAD;
  return id;
}

/* The target of output k: one INPUT per output with a loss or metrics, in
 * output order, reading IO slot n_inputs + j (docs/semantics.md). */
static int add_target(nnc_lowered *l, const nnc_spec *spec, int k, const lower_output_plan *o,
                      const nnc_spec_shape *y_inner, nnc_status *st) {
  int sparse = o->has_loss && o->loss.kind == NNC_LOSS_SCCE;
  nnc_shape ys;
  int axis = class_axis(l, k, o);
  if (label_shape(l, spec, k, sparse, axis, y_inner, &ys, st)) return -1;
  const nnc_shape *os = &l->prog.outputs[k].shape;
  int64_t classes = !sparse ? 0 : axis >= 0 ? os->dims[axis] : shape_last(os);
  int j = l->prog.n_targets;
  if (program_add_io(&l->prog.targets, &l->prog.n_targets, l->prog.outputs[k].name, ys, classes, k,
                     st))
    return -1;
  if (sparse && o->loss.has_ignore_class) { /* the runtime's label check accepts it */
    l->prog.targets[j].has_ignore_class = 1;
    l->prog.targets[j].ignore_class = o->loss.ignore_class;
  }
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
  int total = -1, n_targets = 0, none_numel = -1, none_sum = -1, n_losses = 0;
  int64_t none_per_row = -1;
  for (int k = 0; k < plan->n_outputs; k++)
    n_targets += plan->outputs[k].has_loss || plan->outputs[k].has_metrics;
  for (int k = 0; k < plan->n_outputs; k++) {
    const lower_output_plan *o = &plan->outputs[k];
    const nnc_spec_shape *y_inner =
        data && data->n_targets > k && data->targets[k].rank >= 0 ? &data->targets[k] : NULL;
    const nnc_spec_shape *w_inner =
        data && data->sample_weights && data->sample_weights[k].rank >= 0 ? &data->sample_weights[k]
                                                                          : NULL;
    targets[k] = losses[k] = l->sample_weight[k] = -1;
    if (!o->has_loss && !o->has_metrics) continue; /* predicted, not trained on */
    if ((targets[k] = add_target(l, spec, k, o, y_inner, st)) < 0) return st->code;
    if (w_inner && (l->sample_weight[k] = add_sample_weight(l, k, w_inner, n_targets, st)) < 0)
      return st->code;
    if (!o->has_loss) continue;
    output_value v = {-1, -1, -1, 0};
    if (output_loss(l, spec, k, o, y_inner, targets[k], l->sample_weight[k], &v, st))
      return st->code;
    losses[k] = v.loss;
    if (o->loss.reduction == NNC_REDUCTION_NONE) {
      /* unreduced losses add elementwise: Keras needs them shaped alike */
      if (none_per_row >= 0 && none_per_row != v.per_row)
        return nnc_fail(st, NNC_ERR_SPEC,
                        "%s: %s: the unreduced (reduction \"none\") losses of the outputs have "
                        "different numbers of elements per sample (%lld and %lld) and cannot be "
                        "added, as in Keras",
                        spec->source, spec->compile.path, (long long)none_per_row,
                        (long long)v.per_row);
      none_per_row = v.per_row;
      none_numel = v.numel;
      none_sum = o->has_weight && o->weight != 1.0 ? -1 : v.sum;
    }
    n_losses++;
    int weighted = v.loss;
    if (o->has_weight && o->weight != 1.0)
      weighted = graph_binary(g, NNC_BIN_MUL, weighted, graph_const(g, o->weight, st), st);
    total = total < 0 ? weighted : graph_binary(g, NNC_BIN_ADD, total, weighted, st);
    if (total < 0) return st->code;
  }
  /* reduction "none": fit trains on the sum of the per-sample total. One
   * unweighted output: its sum, of which the reported mean is computed. Else
   * the total times the element count (the gradient is the sum's exactly:
   * numel / numel is 1), and the reported loss that divided by numel again,
   * so the objective reaches an effect and survives dead-code elimination. */
  if (none_numel >= 0 && n_losses == 1 && none_sum >= 0) {
    g->loss = none_sum;
  } else if (none_numel >= 0) {
    g->loss = graph_binary(g, NNC_BIN_MUL, total, none_numel, st);
    total = graph_binary(g, NNC_BIN_DIV, g->loss, none_numel, st);
  } else {
    g->loss = total;
  }
  l->loss = total;
  if (g->loss < 0 || total < 0) return st->code;
  /* + model.losses: regularizers (Trainer.compute_loss), in the reported
   * loss and in the objective (which is the reported loss unless reduction
   * is "none") */
  if (l->n_activity_penalties + l->n_weight_penalties > 0) {
    int reported = lower_regularizers(l, total, st);
    g->loss = g->loss == total ? reported : lower_regularizers(l, g->loss, st);
    l->loss = total = reported;
    if (g->loss < 0 || total < 0) return st->code;
  }
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
    if (lower_metric(l, spec, ref->metric, ref->key, kind, l->output_nodes[k], targets[k],
                     l->sample_weight[k], l->output_masks ? l->output_masks[k] : -1, st))
      return st->code;
  }
  /* Keras's per-output Means of the unweighted losses (CompileLoss.build) */
  for (int k = 0; k < plan->n_outputs && plan->n_loss_keys; k++) {
    if (losses[k] < 0) continue;
    /* two outputs of one layer share its name: Keras's logs dict keeps one
     * "<name>_loss", the value of the last of them (get_metrics_result) */
    int later = 0;
    for (int j = k + 1; j < plan->n_outputs; j++)
      later |= losses[j] >= 0 && !strcmp(l->prog.outputs[j].name, l->prog.outputs[k].name);
    if (later) continue;
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
  l->sample_weight = nnc_calloc((size_t)n + 1, sizeof *l->sample_weight, st);
  int rc = targets && losses && l->sample_weight
               ? lower_all(l, spec, data, &plan, targets, losses, st)
               : (int)st->code;
  free(targets);
  free(losses);
  lower_plan_free(&plan);
  return rc;
}
