/* REDUCE_MAX: the largest (fn NNC_RED_MAX) or smallest (NNC_RED_MIN) entry
 * over axis params.axis.axis >= 1, which is removed, or over every entry
 * (batch rows included) to a scalar [] when the axis is 0. A NaN wins, as
 * in TF's reduce_max. Gradient (TF's _MaxGrad): dy shared equally among the
 * entries equal to the result. */
#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

static int reduce_max_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_shape *x = &g->nodes[n->in[0]].shape;
  int64_t axis = n->params.axis.axis;
  if (axis == 0) {
    n->shape = shape_scalar();
    return NNC_OK;
  }
  if (op_check_axis(g, n, axis, x->rank, st)) return st->code;
  n->shape = *x;
  n->shape.rank = x->rank - 1;
  for (int k = (int)axis; k < n->shape.rank; k++) n->shape.dims[k] = x->dims[k + 1];
  n->shape.dims[x->rank - 1] = 0;
  return NNC_OK;
}

/* The result (or dy) back in the input's shape. */
static int spread(nnc_grad_ctx *c, const nnc_node *n, int v) {
  int axis = (int)n->params.axis.axis;
  if (axis == 0) { /* a scalar broadcasts as it is */
    int in[2] = {v, n->in[0]};
    return graph_add(c->g, NNC_OP_BROADCAST, 0, in, 2, c->st);
  }
  return graph_repeat_axis(c->g, v, axis, c->g->nodes[n->in[0]].shape.dims[axis], c->st);
}

static int reduce_max_grad(nnc_grad_ctx *c, const nnc_node *n, int id, int dy) {
  nnc_graph *g = c->g;
  int axis = (int)n->params.axis.axis;
  int hit = graph_binary(g, NNC_BIN_EQ, n->in[0], spread(c, n, id), c->st);
  if (hit < 0) return -1;
  g->nodes[hit].flags |= NNC_NODE_NO_GRAD;
  int count =
      axis == 0 ? graph_reduce(g, NNC_RED_ALL, hit, c->st) : graph_reduce_axis(g, hit, axis, c->st);
  int share = graph_binary(g, NNC_BIN_DIV, dy, count, c->st);
  return grad_accumulate(c, n->in[0],
                         graph_binary(g, NNC_BIN_MUL, hit, spread(c, n, share), c->st));
}

static LLVMValueRef pick(cg *c, const nnc_node *n, LLVMValueRef acc, LLVMValueRef x) {
  return cg_binary(c, n->fn == NNC_RED_MIN ? NNC_BIN_MIN : NNC_BIN_MAX, acc, x);
}

static int reduce_max_emit(cg *c, const nnc_node *n, LLVMValueRef x, LLVMValueRef b,
                           LLVMValueRef out, LLVMValueRef u0, LLVMValueRef u1) {
  (void)b;
  const nnc_shape *xs = &c->g->nodes[n->in[0]].shape;
  int axis = (int)n->params.axis.axis;
  if (axis == 0) { /* one unit: every entry in index order */
    cg_loop u;
    cg_loop_begin(c, &u, u0, u1, "unit");
    LLVMValueRef acc = cg_alloca_f32(c, "acc");
    cg_set(c, acc, cg_load(c, x, cg_i64(c, 0)));
    cg_loop t;
    cg_loop_begin(c, &t, cg_i64(c, 1), cg_count(c, xs), "t");
    cg_set(c, acc, pick(c, n, cg_get(c, acc), cg_load(c, x, t.i)));
    cg_loop_end(c, &t);
    cg_store(c, cg_get(c, acc), out, cg_i64(c, 0));
    cg_loop_end(c, &u);
    return NNC_OK;
  }
  int64_t outer = op_span(xs, 1, axis), len = xs->dims[axis];
  int64_t inner = op_span(xs, axis + 1, xs->rank);
  cg_loop o;
  cg_loop_begin(c, &o, cg_imul(c, u0, cg_i64(c, outer)), cg_imul(c, u1, cg_i64(c, outer)), "outer");
  LLVMValueRef at = cg_imul(c, o.i, cg_i64(c, inner));
  LLVMValueRef first = cg_imul(c, o.i, cg_i64(c, len * inner));
  cg_loop i;
  cg_loop_begin(c, &i, cg_i64(c, 0), cg_i64(c, inner), "i");
  LLVMValueRef acc = cg_alloca_f32(c, "acc");
  cg_set(c, acc, cg_load(c, x, cg_iadd(c, first, i.i)));
  cg_loop t;
  cg_loop_begin(c, &t, cg_i64(c, 1), cg_i64(c, len), "t");
  LLVMValueRef from = cg_iadd(c, cg_iadd(c, first, cg_imul(c, t.i, cg_i64(c, inner))), i.i);
  cg_set(c, acc, pick(c, n, cg_get(c, acc), cg_load(c, x, from)));
  cg_loop_end(c, &t);
  cg_store(c, cg_get(c, acc), out, cg_iadd(c, at, i.i));
  cg_loop_end(c, &i);
  cg_loop_end(c, &o);
  return NNC_OK;
}

/* axis 0: one unit; else one per batch row (or entry of axis 0) */
static void reduce_max_units(cg *c, const nnc_node *n, LLVMValueRef *units, int64_t *per_unit) {
  if (n->params.axis.axis == 0) {
    *units = cg_i64(c, 1);
    *per_unit = 1;
    return;
  }
  op_leading_units(c, n, units, per_unit);
}

const nnc_op_def op_reduce_max = {.name = "reduce_max",
                                  .arity = 1,
                                  .cls = NNC_CLASS_ROW,
                                  .shape = reduce_max_shape,
                                  .grad = reduce_max_grad,
                                  .emit_anchor = reduce_max_emit,
                                  .anchor_units = reduce_max_units};
