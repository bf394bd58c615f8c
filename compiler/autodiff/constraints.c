/* Constraints after the optimizer update (BaseOptimizer.apply: "Apply
 * variable constraints after applying gradients": variable.assign(
 * variable.constraint(variable))). The constrained value is computed from
 * the updated value in the same step, in constraints.py's order:
 *   norms = sqrt(sum(square(w), axis, keepdims))
 *   MaxNorm:    w * (clip(norms, 0, max_value) / (epsilon + norms))
 *   MinMaxNorm: w * ((rate * clip(norms, min, max) + (1 - rate) * norms) / (epsilon + norms))
 *   NonNeg:     maximum(w, 0)
 *   UnitNorm:   w / (epsilon + norms)
 * epsilon is backend.epsilon(), 1e-7. */
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "compiler/autodiff/constraints.h"

#define KERAS_EPSILON 1e-7

/* The reduction that sums over the constraint's axes with keepdims, as a
 * node broadcastable against the weight: all axes -> a scalar; axis 0 of a
 * matrix -> [cols] (RED_LEADING); axis 1 of a matrix -> [rows, 1]. */
static int reduction(const nnc_spec_constraint *c, const nnc_shape *w, nnc_reduce_fn *out) {
  unsigned mask = 0;
  for (int i = 0; i < c->n_axes; i++) {
    int a = c->axes[i] < 0 ? c->axes[i] + w->rank : c->axes[i];
    if (a < 0 || a >= w->rank) return -1;
    mask |= 1u << a;
  }
  if (mask == (1u << w->rank) - 1) {
    *out = NNC_RED_ALL;
    return 0;
  }
  if (w->rank == 2) {
    *out = mask == 1u ? NNC_RED_LEADING : NNC_RED_LAST;
    return 0;
  }
  return -1;
}

int constraint_check(const nnc_spec_constraint *c, const nnc_shape *weight, const char *source,
                     nnc_status *st) {
  nnc_reduce_fn fn;
  if (c->kind == NNC_CONSTRAINT_NONE || c->kind == NNC_CONSTRAINT_NON_NEG ||
      reduction(c, weight, &fn) == 0)
    return NNC_OK;
  char shape[64];
  shape_format(weight, shape, sizeof shape);
  return nnc_fail(st, NNC_ERR_SPEC,
                  "%s: %s.config.axis: expected axes of the weight (shape %s): one axis of a "
                  "matrix, or all of its axes",
                  source, c->path, shape);
}

static int k(nnc_graph *g, double v, nnc_status *st) {
  return graph_const(g, v, st);
}

static int apply(nnc_graph *g, const nnc_spec_constraint *c, int w, nnc_status *st) {
  if (c->kind == NNC_CONSTRAINT_NON_NEG) return graph_binary(g, NNC_BIN_MAX, w, k(g, 0.0, st), st);
  nnc_reduce_fn fn = NNC_RED_ALL;
  reduction(c, &g->nodes[w].shape, &fn); /* checked at lowering */
  int sq = graph_reduce(g, fn, graph_unary(g, NNC_FN_SQUARE, w, st), st);
  int norms = graph_unary(g, NNC_FN_SQRT, sq, st);
  int denom = graph_binary(g, NNC_BIN_ADD, k(g, KERAS_EPSILON, st), norms, st);
  if (c->kind == NNC_CONSTRAINT_UNIT_NORM) return graph_binary(g, NNC_BIN_DIV, w, denom, st);
  int desired;
  if (c->kind == NNC_CONSTRAINT_MAX_NORM) {
    desired = graph_clip(g, norms, 0.0, c->max_value, st);
  } else {
    int clipped = graph_clip(g, norms, c->min_value, c->max_value, st);
    desired =
        graph_binary(g, NNC_BIN_ADD, graph_binary(g, NNC_BIN_MUL, k(g, c->rate, st), clipped, st),
                     graph_binary(g, NNC_BIN_MUL, k(g, 1.0 - c->rate, st), norms, st), st);
  }
  return graph_binary(g, NNC_BIN_MUL, w, graph_binary(g, NNC_BIN_DIV, desired, denom, st), st);
}

int autodiff_constraints(nnc_graph *g, const nnc_program *prog, nnc_status *st) {
  int n = g->n;
  for (int i = 0; i < n; i++) {
    const nnc_node *a = &g->nodes[i];
    if (a->dead || a->op != NNC_OP_ASSIGN || g->nodes[a->in[0]].op != NNC_OP_PARAM) continue;
    int target = a->in[0], value = a->in[1];
    const nnc_param_info *p = &prog->params[g->nodes[target].params.index];
    if (p->constraint.kind == NNC_CONSTRAINT_NONE) continue;
    int first = g->n;
    int constrained = apply(g, &p->constraint, value, st);
    int in[2] = {target, constrained};
    if (constrained < 0 || graph_add(g, NNC_OP_ASSIGN, 0, in, 2, st) < 0)
      return st->code ? (int)st->code : nnc_fail(st, NNC_ERR_INTERNAL, "constraint of %s", p->name);
    g->nodes[i].dead = 1;
    for (int j = first; j < g->n; j++) {
      g->nodes[j].flags |= NNC_NODE_UPDATE;
      g->nodes[j].phase = NNC_PHASE_TRAIN;
      snprintf(g->nodes[j].label, sizeof g->nodes[j].label, "constraint %.80s", p->name);
    }
  }
  return graph_verify(g, "constraints", st);
}
