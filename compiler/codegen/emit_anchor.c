/* Anchors: the non-elementwise ops a group starts with. Each writes its full
 * output into its planned buffer; the group's elementwise epilogue runs after.
 * Loop orders keep the innermost loop unit-stride so LLVM vectorizes it, and
 * every sum runs in a fixed order (determinism, no reassociation). */
#include "compiler/codegen/cg.h"
#include "base/base.h"

static LLVMValueRef imul(cg *c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildMul(c->b, a, b, "");
}
static LLVMValueRef iadd(cg *c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildAdd(c->b, a, b, "");
}

static LLVMValueRef alloca_f32(cg *c, const char *name) {
  LLVMBasicBlockRef here = LLVMGetInsertBlock(c->b);
  LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(c->fn);
  LLVMValueRef first = LLVMGetFirstInstruction(entry);
  if (first)
    LLVMPositionBuilderBefore(c->b, first);
  else
    LLVMPositionBuilderAtEnd(c->b, entry);
  LLVMValueRef slot = LLVMBuildAlloca(c->b, c->f32, name);
  LLVMPositionBuilderAtEnd(c->b, here);
  return slot;
}

static LLVMValueRef get(cg *c, LLVMValueRef slot) {
  return LLVMBuildLoad2(c->b, c->f32, slot, "");
}
static void set(cg *c, LLVMValueRef slot, LLVMValueRef v) {
  LLVMBuildStore(c->b, v, slot);
}

static void zero_fill(cg *c, LLVMValueRef out, LLVMValueRef base, LLVMValueRef count) {
  cg_loop l;
  cg_loop_begin(c, &l, cg_i64(c, 0), count, "zero");
  cg_store(c, cg_f32(c, 0.0), out, iadd(c, base, l.i));
  cg_loop_end(c, &l);
}

/* C[M,N] = A[M,K] @ B[K,N] for rows [u0,u1); C[K,N] = A[M,K]^T @ B[M,N] for
 * output rows [u0,u1) (the weight gradient): both through the blocked kernel. */
static void emit_matmul(cg *c, const nnc_node *n, LLVMValueRef a, LLVMValueRef bm, LLVMValueRef out,
                        LLVMValueRef u0, LLVMValueRef u1) {
  const nnc_shape *as = &c->g->nodes[n->in[0]].shape;
  int64_t K = shape_last(as), N = shape_last(&n->shape);
  if (n->params.transpose_a) {
    LLVMValueRef M = LLVMBuildSDiv(c->b, cg_count(c, as), cg_i64(c, K), "");
    cg_emit_gemm(c, a, bm, out, cg_i64(c, 1), cg_i64(c, K), M, N, u0, u1);
  } else {
    cg_emit_gemm(c, a, bm, out, cg_i64(c, K), cg_i64(c, 1), cg_i64(c, K), N, u0, u1);
  }
}

/* out[j, r] = in[r, j] for the output rows j in [u0,u1). */
static void emit_transpose(cg *c, const nnc_node *n, LLVMValueRef a, LLVMValueRef out,
                           LLVMValueRef u0, LLVMValueRef u1) {
  int64_t R = n->shape.dims[1], C = n->shape.dims[0]; /* input is [R, C] */
  cg_loop j;
  cg_loop_begin(c, &j, u0, u1, "c");
  cg_loop r;
  cg_loop_begin(c, &r, cg_i64(c, 0), cg_i64(c, R), "r");
  LLVMValueRef v = cg_load(c, a, iadd(c, imul(c, r.i, cg_i64(c, C)), j.i));
  cg_store(c, v, out, iadd(c, imul(c, j.i, cg_i64(c, R)), r.i));
  cg_loop_end(c, &r);
  cg_loop_end(c, &j);
}

/* Row ops over the last axis of width W: rows = count / W. */
typedef struct row_ctx {
  LLVMValueRef base, width;
  cg_loop row;
} row_ctx;

static void row_begin(cg *c, row_ctx *r, const nnc_shape *in, LLVMValueRef u0, LLVMValueRef u1) {
  int64_t w = shape_last(in);
  r->width = cg_i64(c, w);
  cg_loop_begin(c, &r->row, u0, u1, "row");
  r->base = imul(c, r->row.i, r->width);
}

static LLVMValueRef row_max(cg *c, row_ctx *r, LLVMValueRef x, LLVMValueRef *argmax) {
  LLVMValueRef best = alloca_f32(c, "max"), where = alloca_f32(c, "argmax");
  set(c, best, cg_load(c, x, r->base));
  set(c, where, cg_f32(c, 0.0));
  cg_loop j;
  cg_loop_begin(c, &j, cg_i64(c, 1), r->width, "j");
  LLVMValueRef v = cg_load(c, x, iadd(c, r->base, j.i)), m = get(c, best);
  /* NaN counts as the largest value (as NumPy's and JAX's argmax): the first
   * NaN wins, the max is NaN, and nothing replaces a NaN once found */
  LLVMValueRef better = LLVMBuildAnd(c->b, LLVMBuildFCmp(c->b, LLVMRealUGT, v, m, ""),
                                     LLVMBuildFCmp(c->b, LLVMRealORD, m, m, ""), "");
  set(c, best, cg_select(c, better, v, m));
  set(c, where, cg_select(c, better, LLVMBuildSIToFP(c->b, j.i, c->f32, ""), get(c, where)));
  cg_loop_end(c, &j);
  if (argmax) *argmax = get(c, where);
  return get(c, best);
}

/* sum_j exp(x_j - m), in index order */
static LLVMValueRef row_sum_exp(cg *c, row_ctx *r, LLVMValueRef x, LLVMValueRef m) {
  LLVMValueRef acc = alloca_f32(c, "sum");
  set(c, acc, cg_f32(c, 0.0));
  cg_loop j;
  cg_loop_begin(c, &j, cg_i64(c, 0), r->width, "j");
  LLVMValueRef e = cg_unary(c, NNC_FN_EXP,
                            LLVMBuildFSub(c->b, cg_load(c, x, iadd(c, r->base, j.i)), m, ""), NULL);
  set(c, acc, LLVMBuildFAdd(c->b, get(c, acc), e, ""));
  cg_loop_end(c, &j);
  return get(c, acc);
}

static void emit_softmax(cg *c, const nnc_node *n, LLVMValueRef x, LLVMValueRef out,
                         LLVMValueRef u0, LLVMValueRef u1) {
  row_ctx r;
  row_begin(c, &r, &n->shape, u0, u1);
  LLVMValueRef m = row_max(c, &r, x, NULL);
  LLVMValueRef s = row_sum_exp(c, &r, x, m);
  cg_loop j;
  cg_loop_begin(c, &j, cg_i64(c, 0), r.width, "j");
  LLVMValueRef idx = iadd(c, r.base, j.i);
  LLVMValueRef shifted = LLVMBuildFSub(c->b, cg_load(c, x, idx), m, "");
  LLVMValueRef v = LLVMBuildFDiv(c->b, cg_unary(c, NNC_FN_EXP, shifted, NULL), s, "");
  cg_store(c, v, out, idx);
  cg_loop_end(c, &j);
  cg_loop_end(c, &r.row);
}

/* -sum_j y_j * (z_j - m - log sum exp(z - m)) per row */
static void emit_softmax_xent(cg *c, const nnc_node *n, LLVMValueRef z, LLVMValueRef y,
                              LLVMValueRef out, LLVMValueRef u0, LLVMValueRef u1) {
  row_ctx r;
  row_begin(c, &r, &c->g->nodes[n->in[0]].shape, u0, u1);
  LLVMValueRef m = row_max(c, &r, z, NULL);
  LLVMValueRef lse = cg_unary(c, NNC_FN_LOG, row_sum_exp(c, &r, z, m), NULL);
  LLVMValueRef acc = alloca_f32(c, "xent");
  set(c, acc, cg_f32(c, 0.0));
  cg_loop j;
  cg_loop_begin(c, &j, cg_i64(c, 0), r.width, "j");
  LLVMValueRef idx = iadd(c, r.base, j.i);
  LLVMValueRef logp = LLVMBuildFSub(c->b, LLVMBuildFSub(c->b, cg_load(c, z, idx), m, ""), lse, "");
  set(c, acc,
      LLVMBuildFSub(c->b, get(c, acc), LLVMBuildFMul(c->b, cg_load(c, y, idx), logp, ""), ""));
  cg_loop_end(c, &j);
  cg_store(c, get(c, acc), out, r.row.i);
  cg_loop_end(c, &r.row);
}

static void emit_argmax(cg *c, const nnc_node *n, LLVMValueRef x, LLVMValueRef out, LLVMValueRef u0,
                        LLVMValueRef u1) {
  row_ctx r;
  row_begin(c, &r, &c->g->nodes[n->in[0]].shape, u0, u1);
  LLVMValueRef where;
  row_max(c, &r, x, &where);
  cg_store(c, where, out, r.row.i);
  cg_loop_end(c, &r.row);
}

static void emit_one_hot(cg *c, const nnc_node *n, LLVMValueRef labels, LLVMValueRef out,
                         LLVMValueRef u0, LLVMValueRef u1) {
  row_ctx r;
  row_begin(c, &r, &n->shape, u0, u1);
  LLVMValueRef label = cg_load(c, labels, r.row.i);
  cg_loop j;
  cg_loop_begin(c, &j, cg_i64(c, 0), r.width, "j");
  LLVMValueRef hit =
      LLVMBuildFCmp(c->b, LLVMRealOEQ, LLVMBuildSIToFP(c->b, j.i, c->f32, ""), label, "");
  cg_store(c, cg_bool(c, hit), out, iadd(c, r.base, j.i));
  cg_loop_end(c, &j);
  cg_loop_end(c, &r.row);
}

/* LEADING: output columns [u0,u1); LAST: rows [u0,u1); ALL: [u0,u1) is [0,1) or empty. */
static void emit_reduce(cg *c, const nnc_node *n, LLVMValueRef x, LLVMValueRef out, LLVMValueRef u0,
                        LLVMValueRef u1) {
  const nnc_shape *in = &c->g->nodes[n->in[0]].shape;
  if (n->fn == NNC_RED_LEADING) { /* out[j] = sum over rows of x[r, j] */
    int64_t w = shape_last(in);
    LLVMValueRef rows = LLVMBuildSDiv(c->b, cg_count(c, in), cg_i64(c, w), "");
    zero_fill(c, out, u0, LLVMBuildSub(c->b, u1, u0, ""));
    cg_loop r;
    cg_loop_begin(c, &r, cg_i64(c, 0), rows, "row");
    LLVMValueRef base = imul(c, r.i, cg_i64(c, w));
    cg_loop j;
    cg_loop_begin(c, &j, u0, u1, "j");
    LLVMValueRef sum =
        LLVMBuildFAdd(c->b, cg_load(c, out, j.i), cg_load(c, x, iadd(c, base, j.i)), "");
    cg_store(c, sum, out, j.i);
    cg_loop_end(c, &j);
    cg_loop_end(c, &r);
    return;
  }
  int all = n->fn == NNC_RED_ALL;
  LLVMValueRef width = all ? cg_count(c, in) : cg_i64(c, shape_last(in));
  cg_loop r;
  cg_loop_begin(c, &r, u0, u1, "row");
  LLVMValueRef base = imul(c, r.i, width), acc = alloca_f32(c, "acc");
  set(c, acc, cg_f32(c, 0.0));
  cg_loop j;
  cg_loop_begin(c, &j, cg_i64(c, 0), width, "j");
  set(c, acc, LLVMBuildFAdd(c->b, get(c, acc), cg_load(c, x, iadd(c, base, j.i)), ""));
  cg_loop_end(c, &j);
  cg_store(c, get(c, acc), out, r.i);
  cg_loop_end(c, &r);
}

/* How an anchor's output is split between threads: `units` rows of `per_unit`
 * output elements each; a thread computes whole units. */
void cg_anchor_units(cg *c, int id, LLVMValueRef *units, int64_t *per_unit) {
  const nnc_node *n = &c->g->nodes[id];
  const nnc_shape *in = n->n_in > 0 ? &c->g->nodes[n->in[0]].shape : NULL;
  switch (n->op) {
  case NNC_OP_MATMUL:
    *per_unit = shape_last(&n->shape);
    *units = n->params.transpose_a
                 ? cg_i64(c, n->shape.dims[0])
                 : LLVMBuildSDiv(c->b, cg_count(c, in), cg_i64(c, shape_last(in)), "");
    return;
  case NNC_OP_TRANSPOSE:
    *per_unit = n->shape.dims[1];
    *units = cg_i64(c, n->shape.dims[0]);
    return;
  case NNC_OP_REDUCE:
    if (n->fn == NNC_RED_LEADING) {
      *per_unit = 1;
      *units = cg_i64(c, shape_last(in));
    } else {
      *per_unit = 1;
      *units = cg_count(c, &n->shape);
    }
    return;
  default: /* row ops: one unit per row of the input */
    *per_unit = shape_last(&n->shape);
    *units = LLVMBuildSDiv(c->b, cg_count(c, in), cg_i64(c, shape_last(in)), "");
    return;
  }
}

int cg_emit_anchor(cg *c, int id, LLVMValueRef u0, LLVMValueRef u1) {
  const nnc_node *n = &c->g->nodes[id];
  LLVMValueRef out = cg_buffer(c, id);
  LLVMValueRef a = n->n_in > 0 ? cg_buffer(c, n->in[0]) : NULL;
  LLVMValueRef b = n->n_in > 1 ? cg_buffer(c, n->in[1]) : NULL;
  if (!out || !a || (n->n_in > 1 && !b))
    return nnc_fail(c->st, NNC_ERR_INTERNAL, "codegen: %s (node %d) lacks a buffer", op_name(n->op),
                    id);
  switch (n->op) {
  case NNC_OP_MATMUL:
    emit_matmul(c, n, a, b, out, u0, u1);
    return NNC_OK;
  case NNC_OP_TRANSPOSE:
    emit_transpose(c, n, a, out, u0, u1);
    return NNC_OK;
  case NNC_OP_SOFTMAX:
    emit_softmax(c, n, a, out, u0, u1);
    return NNC_OK;
  case NNC_OP_SOFTMAX_XENT:
    emit_softmax_xent(c, n, a, b, out, u0, u1);
    return NNC_OK;
  case NNC_OP_ARGMAX:
    emit_argmax(c, n, a, out, u0, u1);
    return NNC_OK;
  case NNC_OP_ONE_HOT:
    emit_one_hot(c, n, a, out, u0, u1);
    return NNC_OK;
  case NNC_OP_REDUCE:
    emit_reduce(c, n, a, out, u0, u1);
    return NNC_OK;
  default:
    break;
  }
  return nnc_fail(c->st, NNC_ERR_INTERNAL, "codegen: no emitter for %s", op_name(n->op));
}
