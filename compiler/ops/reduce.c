/* REDUCE: a sum. fn = ALL (to []), LAST (over the last axis, to [..,1]) or
 * LEADING (over all rows, to [C]). Gradient: dy broadcast back. */
#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

static int reduce_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  (void)st;
  const nnc_shape *a = &g->nodes[n->in[0]].shape;
  if (n->fn == NNC_RED_ALL) {
    n->shape = shape_scalar();
  } else if (n->fn == NNC_RED_LAST) {
    n->shape = op_with_last(*a, 1);
  } else {
    int64_t c = shape_last(a);
    n->shape = shape_make(0, 1, &c);
  }
  return NNC_OK;
}

static int reduce_grad(nnc_grad_ctx *c, const nnc_node *n, int id, int dy) {
  (void)id;
  int in[2] = {dy, n->in[0]};
  return grad_accumulate(c, n->in[0], graph_add(c->g, NNC_OP_BROADCAST, 0, in, 2, c->st));
}

/* n vectors of columns from j summed over the rows, each in a register: +0,
 * then + x[r, j] for r in order, as the scalar loop (n chains in flight).
 * mask (n = 1): only its lanes are read and written, the columns left after
 * the whole vectors. */
static void leading_group(cg *c, LLVMValueRef x, LLVMValueRef out, int64_t w, LLVMValueRef rows,
                          LLVMValueRef j, int n, LLVMValueRef mask) {
  int64_t vw = c->vector_width;
  LLVMTypeRef vt = LLVMVectorType(c->f32, (unsigned)vw);
  LLVMValueRef acc[4];
  for (int v = 0; v < n; v++) {
    acc[v] = cg_alloca(c, vt, "colsum");
    LLVMBuildStore(c->b, LLVMConstNull(vt), acc[v]);
  }
  cg_loop r;
  cg_loop_begin(c, &r, cg_i64(c, 0), rows, "row");
  for (int v = 0; v < n; v++) {
    LLVMValueRef at = cg_iadd(c, cg_imul(c, r.i, cg_i64(c, w)), cg_iadd(c, j, cg_i64(c, v * vw)));
    LLVMValueRef xv = cg_vec_load_masked(c, (int)vw, mask, x, at);
    LLVMBuildStore(c->b, LLVMBuildFAdd(c->b, LLVMBuildLoad2(c->b, vt, acc[v], ""), xv, ""), acc[v]);
  }
  cg_loop_end(c, &r);
  for (int v = 0; v < n; v++) {
    LLVMValueRef at = cg_iadd(c, j, cg_i64(c, v * vw));
    cg_vec_store_masked(c, LLVMBuildLoad2(c->b, vt, acc[v], ""), mask, out, at);
  }
}

/* leading_group(j, n) when `cond` holds; lanes (n = 1): the columns left,
 * fewer than a vector (NULL: whole vectors) */
static void leading_group_if(cg *c, LLVMValueRef cond, LLVMValueRef x, LLVMValueRef out, int64_t w,
                             LLVMValueRef rows, LLVMValueRef j, int n, LLVMValueRef lanes) {
  LLVMBasicBlockRef then = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "cols"),
                    done = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "cols_done");
  LLVMBuildCondBr(c->b, cond, then, done);
  LLVMPositionBuilderAtEnd(c->b, then);
  LLVMValueRef mask = lanes ? cg_lane_mask_at_run_time(c, c->vector_width, lanes) : NULL;
  leading_group(c, x, out, w, rows, j, n, mask);
  LLVMBuildBr(c->b, done);
  LLVMPositionBuilderAtEnd(c->b, done);
}

/* LEADING's columns [u0, u1) a vector at a time, summed in registers (the
 * scalar loop's sum through out[j] waited on a store and a load per row),
 * four vectors per pass over the rows, then two, then one, then the columns
 * left (fewer than a vector) under a lane mask: every column is the scalar
 * loop's chain, and no loop is left for the loop vectorizer to copy into
 * main, epilogue and scalar versions (docs/performance.md, "Session 32"). */
static void leading_vectors(cg *c, LLVMValueRef x, LLVMValueRef out, int64_t w, LLVMValueRef rows,
                            LLVMValueRef u0, LLVMValueRef u1) {
  int64_t vw = c->vector_width;
  LLVMValueRef blocks = LLVMBuildSDiv(c->b, LLVMBuildSub(c->b, u1, u0, ""), cg_i64(c, vw), "");
  LLVMValueRef j = u0;
  if (w >= vw) {
    LLVMValueRef fours = LLVMBuildSDiv(c->b, blocks, cg_i64(c, 4), "");
    cg_loop q;
    cg_loop_begin(c, &q, cg_i64(c, 0), fours, "colgroup");
    leading_group(c, x, out, w, rows, cg_iadd(c, u0, cg_imul(c, q.i, cg_i64(c, 4 * vw))), 4, NULL);
    cg_loop_end(c, &q);
    j = cg_iadd(c, u0, cg_imul(c, fours, cg_i64(c, 4 * vw)));
    LLVMValueRef left = LLVMBuildSub(c->b, blocks, cg_imul(c, fours, cg_i64(c, 4)), "");
    for (int n = 2; n >= 1; n--) {
      LLVMValueRef has = LLVMBuildICmp(c->b, LLVMIntNE, LLVMBuildAnd(c->b, left, cg_i64(c, n), ""),
                                       cg_i64(c, 0), "");
      leading_group_if(c, has, x, out, w, rows, j, n, NULL);
      j = cg_iadd(c, j, cg_select(c, has, cg_i64(c, n * vw), cg_i64(c, 0)));
    }
  }
  LLVMValueRef rest = LLVMBuildSub(c->b, u1, j, "");
  LLVMValueRef has = LLVMBuildICmp(c->b, LLVMIntSGT, rest, cg_i64(c, 0), "");
  leading_group_if(c, has, x, out, w, rows, j, 1, rest);
}

/* LEADING: output columns [u0,u1); LAST: rows [u0,u1); ALL: [u0,u1) is [0,1) or empty. */
static void emit_reduce(cg *c, const nnc_node *n, LLVMValueRef x, LLVMValueRef out, LLVMValueRef u0,
                        LLVMValueRef u1) {
  const nnc_shape *in = &c->g->nodes[n->in[0]].shape;
  if (n->fn == NNC_RED_LEADING) { /* out[j] = sum over rows of x[r, j] */
    int64_t w = shape_last(in);
    leading_vectors(c, x, out, w, LLVMBuildSDiv(c->b, cg_count(c, in), cg_i64(c, w), ""), u0, u1);
    return;
  }
  int all = n->fn == NNC_RED_ALL;
  LLVMValueRef width = all ? cg_count(c, in) : cg_i64(c, shape_last(in));
  cg_loop r;
  cg_loop_begin(c, &r, u0, u1, "row");
  LLVMValueRef base = cg_imul(c, r.i, width), acc = cg_alloca_f32(c, "acc");
  cg_set(c, acc, cg_f32(c, 0.0));
  cg_loop j;
  cg_loop_begin(c, &j, cg_i64(c, 0), width, "j");
  cg_set(c, acc, LLVMBuildFAdd(c->b, cg_get(c, acc), cg_load(c, x, cg_iadd(c, base, j.i)), ""));
  cg_loop_end(c, &j);
  cg_store(c, cg_get(c, acc), out, r.i);
  cg_loop_end(c, &r);
}

static int reduce_emit(cg *c, const nnc_node *n, LLVMValueRef a, LLVMValueRef b, LLVMValueRef out,
                       LLVMValueRef u0, LLVMValueRef u1) {
  (void)b;
  emit_reduce(c, n, a, out, u0, u1);
  return NNC_OK;
}

/* LEADING: one unit per output column; LAST and ALL: one per output element */
static void reduce_units(cg *c, const nnc_node *n, LLVMValueRef *units, int64_t *per_unit) {
  *per_unit = 1;
  *units = n->fn == NNC_RED_LEADING ? cg_i64(c, shape_last(&c->g->nodes[n->in[0]].shape))
                                    : cg_count(c, &n->shape);
}

const nnc_op_def op_reduce = {.name = "reduce",
                              .arity = 1,
                              .cls = NNC_CLASS_REDUCE,
                              .shape = reduce_shape,
                              .grad = reduce_grad,
                              .emit_anchor = reduce_emit,
                              .anchor_units = reduce_units};
