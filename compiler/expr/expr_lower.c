/* Lowering an expression into graph ops (docs/expressions.md "Shapes").
 * Values broadcast as NumPy (and Keras) do, with the batch axis B first;
 * sub-expressions made only of numbers are evaluated in double as Python
 * evaluates them, then rounded to float32 where they meet a tensor, as a
 * Python float does when Keras converts it. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "compiler/expr/expr_internal.h"
#include "compiler/ops/op.h"

typedef struct lower_ctx {
  nnc_graph *g;
  const nnc_expr *e;
  int y_true, y_pred, sample_weight;
  nnc_status *st;
} lower_ctx;

static int lower(lower_ctx *c, const expr_node *n);

static const nnc_shape *shape_of(const lower_ctx *c, int id) {
  return &c->g->nodes[id].shape;
}

static void shape_text(const nnc_shape *s, char *buf, size_t n) {
  shape_format(s, buf, n);
}

/* ---- broadcasting ---- */

/* NumPy's result shape of a and b (dims aligned on the right; the batch
 * axis B (-1) only broadcasts against 1 and must stay first). */
static int numpy_shape(lower_ctx *c, const nnc_shape *a, const nnc_shape *b, int column,
                       nnc_shape *out) {
  int r = a->rank > b->rank ? a->rank : b->rank;
  nnc_shape o = {0};
  o.rank = r;
  o.batched = a->batched || b->batched;
  int ok = !(a->batched && a->rank != r) && !(b->batched && b->rank != r);
  for (int i = 0; ok && i < r; i++) {
    int ia = i - (r - a->rank), ib = i - (r - b->rank);
    int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
    if (ia == 0 && a->batched) da = -1;
    if (ib == 0 && b->batched) db = -1;
    if (da == db || db == 1)
      o.dims[i] = da;
    else if (da == 1)
      o.dims[i] = db;
    else
      ok = 0;
  }
  if (ok) {
    *out = o;
    return NNC_OK;
  }
  char sa[64], sb[64];
  shape_text(a, sa, sizeof sa);
  shape_text(b, sb, sizeof sb);
  return expr_fail(c->st, c->e, column,
                   "shapes %s and %s do not broadcast (NumPy aligns the last axes and B, the "
                   "batch, must stay the first axis; keepdims=True keeps a reduced axis)",
                   sa, sb);
}

/* x readable against shape t: as it is (a broadcast mode of the graph), with
 * leading 1s dropped, or with its size-1 axes repeated (a batched x). */
static int expand(lower_ctx *c, int x, const nnc_shape *t, int column) {
  nnc_graph *g = c->g;
  nnc_shape s = *shape_of(c, x);
  if (op_broadcast_mode(&s, t) >= 0) return x;
  if (!s.batched) { /* [1, C] against [B, C]: the same values as [C] */
    int lead = 0;
    while (lead < s.rank - 1 && s.dims[lead] == 1) lead++;
    nnc_shape sq = s;
    sq.rank = s.rank - lead;
    for (int i = 0; i < sq.rank; i++) sq.dims[i] = s.dims[i + lead];
    for (int i = sq.rank; i < NNC_MAX_RANK; i++) sq.dims[i] = 0;
    if (lead && op_broadcast_mode(&sq, t) >= 0) return graph_reshape(g, x, sq, c->st);
  } else if (t->batched && s.rank == t->rank) { /* [B,1,C] against [B,T,C]: repeat axis 1 */
    nnc_shape sq = s;
    int k = 1, repeat[NNC_MAX_RANK], n_repeat = 0;
    for (int i = 1; i < s.rank; i++) {
      if (s.dims[i] == 1 && t->dims[i] != 1)
        repeat[n_repeat++] = i;
      else
        sq.dims[k++] = s.dims[i];
    }
    sq.rank = k;
    for (int i = k; i < NNC_MAX_RANK; i++) sq.dims[i] = 0;
    int y = graph_reshape(g, x, sq, c->st);
    for (int i = 0; i < n_repeat && y >= 0; i++)
      y = graph_repeat_axis(g, y, repeat[i], t->dims[repeat[i]], c->st);
    if (y >= 0 && op_broadcast_mode(shape_of(c, y), t) >= 0) return y;
    if (y < 0) return -1;
  }
  char sa[64], sb[64];
  shape_text(&s, sa, sizeof sa);
  shape_text(t, sb, sizeof sb);
  return expr_fail(c->st, c->e, column,
                   "a value shaped %s cannot be broadcast to %s here (nnc broadcasts a value "
                   "that lacks the batch axis only when it is a scalar or matches the last axis)",
                   sa, sb),
         -1;
}

static int broadcast_binary(lower_ctx *c, nnc_binary_fn fn, int a, int b, int column) {
  if (a < 0 || b < 0) return -1;
  const nnc_shape *sa = shape_of(c, a), *sb = shape_of(c, b);
  if (op_broadcast_mode(sb, sa) < 0 && op_broadcast_mode(sa, sb) < 0) {
    nnc_shape t;
    if (numpy_shape(c, sa, sb, column, &t)) return -1;
    if ((a = expand(c, a, &t, column)) < 0 || (b = expand(c, b, &t, column)) < 0) return -1;
    /* both now broadcast against t; one of them has it unless both needed
     * expanding from 1s the graph's modes cover */
    if (op_broadcast_mode(shape_of(c, b), shape_of(c, a)) < 0 &&
        op_broadcast_mode(shape_of(c, a), shape_of(c, b)) < 0) {
      char s1[64], s2[64];
      shape_text(shape_of(c, a), s1, sizeof s1);
      shape_text(shape_of(c, b), s2, sizeof s2);
      return expr_fail(c->st, c->e, column, "shapes %s and %s: this broadcast is not supported", s1,
                       s2),
             -1;
    }
  }
  return graph_binary(c->g, fn, a, b, c->st);
}

/* ---- reductions ---- */

/* The batch size as a scalar node (the rows of this step). */
static int batch_rows(lower_ctx *c) {
  return graph_source(c->g, NNC_OP_SCALAR, NNC_SCALAR_BATCH, shape_scalar(), "batch", c->st);
}

static int keep_dims(lower_ctx *c, int y, const nnc_shape *in, int axis /* -1: all */) {
  if (y < 0) return -1;
  nnc_shape s = *in;
  if (axis < 0) {
    s.batched = 0;
    for (int i = 0; i < s.rank; i++) s.dims[i] = 1;
  } else {
    if (axis == 0) s.batched = 0;
    s.dims[axis] = 1;
  }
  return graph_reshape(c->g, y, s, c->st);
}

enum { RED_MEAN, RED_SUM, RED_MAX, RED_MIN };

static int reduce(lower_ctx *c, int how, int x, int has_axis, int64_t axis, int keepdims,
                  int column) {
  nnc_graph *g = c->g;
  nnc_shape s = *shape_of(c, x);
  int extreme = how == RED_MAX || how == RED_MIN, y;
  if (has_axis) {
    if (axis < -s.rank || axis >= s.rank || s.rank == 0) {
      char t[64];
      shape_text(&s, t, sizeof t);
      return expr_fail(c->st, c->e, column,
                       "axis=%lld is out of range for a value shaped %s (rank %d, the batch "
                       "axis counted)",
                       (long long)axis, t, s.rank),
             -1;
    }
    if (axis < 0) axis += s.rank;
    if (axis == 0 && s.rank == 1) has_axis = 0; /* the only axis: everything */
  }
  if (!has_axis) {
    if (extreme)
      y = graph_reduce_max(g, x, 0, how == RED_MIN, c->st);
    else
      y = graph_reduce(g, NNC_RED_ALL, x, c->st);
    if (how == RED_MEAN) {
      int count = graph_const(g, (double)shape_inner(&s), c->st);
      if (s.batched) count = graph_binary(g, NNC_BIN_MUL, batch_rows(c), count, c->st);
      y = graph_binary(g, NNC_BIN_DIV, y, count, c->st);
    }
    return keepdims ? keep_dims(c, y, &s, -1) : y;
  }
  if (axis == 0) { /* over the batch: only sums of batched values */
    if (extreme || !s.batched) {
      char t[64];
      shape_text(&s, t, sizeof t);
      return expr_fail(c->st, c->e, column,
                       "%s over axis 0 of a value shaped %s is not supported (only sum and mean "
                       "over the batch axis)",
                       extreme ? (how == RED_MAX ? "max" : "min") : "a reduction", t),
             -1;
    }
    int flat = x;
    if (s.rank > 2) {
      int64_t d[2] = {-1, shape_inner(&s)};
      flat = graph_reshape(g, x, shape_make(1, 2, d), c->st);
    }
    y = graph_reduce(g, NNC_RED_LEADING, flat, c->st);
    if (s.rank > 2 && y >= 0) {
      nnc_shape u = s;
      u.batched = 0;
      u.rank = s.rank - 1;
      for (int i = 0; i < u.rank; i++) u.dims[i] = s.dims[i + 1];
      u.dims[u.rank] = 0;
      y = graph_reshape(g, y, u, c->st);
    }
    if (how == RED_MEAN) y = graph_binary(g, NNC_BIN_DIV, y, batch_rows(c), c->st);
    return keepdims ? keep_dims(c, y, &s, 0) : y;
  }
  if (extreme) {
    y = graph_reduce_max(g, x, (int)axis, how == RED_MIN, c->st);
  } else {
    y = graph_reduce_axis(g, x, (int)axis, c->st);
    if (how == RED_MEAN)
      y = graph_binary(g, NNC_BIN_DIV, y, graph_const(g, (double)s.dims[axis], c->st), c->st);
  }
  return keepdims ? keep_dims(c, y, &s, (int)axis) : y;
}

/* ---- calls ---- */

static int lower_call(lower_ctx *c, const expr_node *n) {
  const expr_fn *fn = expr_fn_row(n->fn);
  const expr_node *args[3], *axis_arg, *keep_arg;
  if (expr_bind_args(c->st, c->e, n, args, &axis_arg, &keep_arg)) return -1;
  nnc_graph *g = c->g;
  switch (fn->kind) {
  case FN_EPSILON:
    return graph_const(g, 1e-7, c->st);
  case FN_REDUCE: {
    int64_t axis = 0;
    int none = 1, keepdims = 0;
    if (axis_arg && expr_axis_value(c->st, c->e, axis_arg, &axis, &none)) return -1;
    if (keep_arg) {
      if (keep_arg->kind != EXPR_NAME || keep_arg->var < 0)
        return expr_fail(c->st, c->e, keep_arg->column, "keepdims= expects True or False"), -1;
      keepdims = keep_arg->var;
    }
    int x = lower(c, args[0]);
    if (x < 0) return -1;
    return reduce(c, fn->code, x, !none, axis, keepdims, n->column);
  }
  case FN_UNARY: {
    int x = lower(c, args[0]);
    int y = x < 0 ? -1 : graph_unary(g, (nnc_fn)fn->code, x, c->st);
    if (y >= 0 && fn->code == NNC_FN_SIGN) g->nodes[y].flags |= NNC_NODE_NO_GRAD; /* TF: 0 */
    return y;
  }
  case FN_BINARY:
    return broadcast_binary(c, (nnc_binary_fn)fn->code, lower(c, args[0]), lower(c, args[1]),
                            n->column);
  case FN_CLIP: {
    double lo, hi;
    int x = lower(c, args[0]);
    if (x < 0) return -1;
    if (expr_const_value(args[1], &lo) && expr_const_value(args[2], &hi))
      return graph_clip(g, x, lo, hi, c->st);
    /* tf.clip_by_value: minimum(maximum(x, lo), hi) */
    int y = broadcast_binary(c, NNC_BIN_MAX, x, lower(c, args[1]), n->column);
    return broadcast_binary(c, NNC_BIN_MIN, y, lower(c, args[2]), n->column);
  }
  case FN_WHERE: {
    int v[3];
    for (int i = 0; i < 3; i++)
      if ((v[i] = lower(c, args[i])) < 0) return -1;
    nnc_shape t = *shape_of(c, v[0]), u;
    for (int i = 1; i < 3; i++) {
      if (numpy_shape(c, &t, shape_of(c, v[i]), n->column, &u)) return -1;
      t = u;
    }
    for (int i = 0; i < 3; i++)
      if ((v[i] = expand(c, v[i], &t, n->column)) < 0) return -1;
    return graph_select(g, v[0], v[1], v[2], c->st);
  }
  case FN_CAST:
    if (args[1]->kind != EXPR_STR || strcmp(args[1]->str, "float32") != 0)
      return expr_fail(c->st, c->e, args[1]->column,
                       "cast( supports the dtype \"float32\" (comparisons already give 0.0 or "
                       "1.0; every value is float32)"),
             -1;
    return lower(c, args[0]);
  }
  return -1;
}

static int lower(lower_ctx *c, const expr_node *n) {
  nnc_graph *g = c->g;
  double v;
  if (expr_const_value(n, &v)) return graph_const(g, v, c->st);
  switch (n->kind) {
  case EXPR_NUM:
    return graph_const(g, n->num, c->st);
  case EXPR_VAR:
    if (n->var == EXPR_Y_TRUE) return c->y_true;
    if (n->var == EXPR_Y_PRED) return c->y_pred;
    return c->sample_weight >= 0 ? c->sample_weight : graph_const(g, 1.0, c->st);
  case EXPR_NAME:
    return expr_fail(c->st, c->e, n->column,
                     "True, False and None are only keyword values (keepdims=True, axis=None)"),
           -1;
  case EXPR_STR:
    return expr_fail(c->st, c->e, n->column, "a string is only the dtype of cast(x, \"float32\")"),
           -1;
  case EXPR_NEG: {
    int x = lower(c, n->args[0]);
    return x < 0 ? -1 : graph_unary(g, NNC_FN_NEG, x, c->st);
  }
  case EXPR_CALL:
    return lower_call(c, n);
  case EXPR_BIN:
    break;
  }
  int a = lower(c, n->args[0]);
  int b = a < 0 ? -1 : lower(c, n->args[1]);
  if (b < 0) return -1;
  switch (n->op) {
  case EXPR_ADD:
    return broadcast_binary(c, NNC_BIN_ADD, a, b, n->column);
  case EXPR_SUB:
    return broadcast_binary(c, NNC_BIN_SUB, a, b, n->column);
  case EXPR_MUL:
    return broadcast_binary(c, NNC_BIN_MUL, a, b, n->column);
  case EXPR_DIV:
    return broadcast_binary(c, NNC_BIN_DIV, a, b, n->column);
  case EXPR_POW:
    return broadcast_binary(c, NNC_BIN_POW, a, b, n->column);
  case EXPR_LT:
    return broadcast_binary(c, NNC_BIN_GT, b, a, n->column);
  case EXPR_LE:
    return broadcast_binary(c, NNC_BIN_GE, b, a, n->column);
  case EXPR_GT:
    return broadcast_binary(c, NNC_BIN_GT, a, b, n->column);
  case EXPR_GE:
    return broadcast_binary(c, NNC_BIN_GE, a, b, n->column);
  case EXPR_EQ:
    return broadcast_binary(c, NNC_BIN_EQ, a, b, n->column);
  case EXPR_NE:
    return broadcast_binary(c, NNC_BIN_NE, a, b, n->column);
  }
  return -1;
}

int expr_lower(nnc_graph *g, const nnc_expr *e, int y_true, int y_pred, int sample_weight,
               nnc_status *st) {
  if (!e || !e->root) return nnc_fail(st, NNC_ERR_INTERNAL, "expr_lower: no expression"), -1;
  lower_ctx c = {g, e, y_true, y_pred, sample_weight, st};
  return lower(&c, e->root);
}
