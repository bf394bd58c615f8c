/* Anchors: the non-elementwise ops a group starts with. Each writes its full
 * output into its planned buffer; the group's elementwise epilogue runs after.
 * The emitters are in compiler/ops/<op>.c; here: dispatch and row helpers.
 * Loop orders keep the innermost loop unit-stride so LLVM vectorizes it, and
 * every sum runs in a fixed order (determinism, no reassociation). */
#include "compiler/codegen/cg.h"
#include "base/base.h"
#include "compiler/ops/op.h"

LLVMValueRef cg_imul(cg *c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildMul(c->b, a, b, "");
}
LLVMValueRef cg_iadd(cg *c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildAdd(c->b, a, b, "");
}

/* The builder at the start of the function's entry block; returns the
 * block it was in (the caller goes back to its end). */
static LLVMBasicBlockRef at_entry(cg *c) {
  LLVMBasicBlockRef here = LLVMGetInsertBlock(c->b);
  LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(c->fn);
  LLVMValueRef first = LLVMGetFirstInstruction(entry);
  if (first)
    LLVMPositionBuilderBefore(c->b, first);
  else
    LLVMPositionBuilderAtEnd(c->b, entry);
  return here;
}

LLVMValueRef cg_alloca(cg *c, LLVMTypeRef type, const char *name) {
  LLVMBasicBlockRef here = at_entry(c);
  LLVMValueRef slot = LLVMBuildAlloca(c->b, type, name);
  LLVMPositionBuilderAtEnd(c->b, here);
  return slot;
}

/* Scratch floats are handed out in 64-byte steps, so every buffer of a
 * thread's slice starts on a cache line when the slice does. */
#define SCRATCH_ALIGN_FLOATS 16

LLVMValueRef cg_scratch(cg *c, int64_t floats) {
  int64_t at = c->scratch_used;
  c->scratch_used +=
      (floats + SCRATCH_ALIGN_FLOATS - 1) / SCRATCH_ALIGN_FLOATS * SCRATCH_ALIGN_FLOATS;
  LLVMBasicBlockRef here = at_entry(c);
  LLVMValueRef off = LLVMConstInt(c->i64, (unsigned long long)at, 0);
  LLVMValueRef buf = LLVMBuildGEP2(c->b, c->f32, c->scratch, &off, 1, "scratch");
  LLVMPositionBuilderAtEnd(c->b, here);
  return buf;
}

LLVMValueRef cg_alloca_f32(cg *c, const char *name) {
  return cg_alloca(c, c->f32, name);
}

LLVMValueRef cg_get(cg *c, LLVMValueRef slot) {
  return LLVMBuildLoad2(c->b, c->f32, slot, "");
}
void cg_set(cg *c, LLVMValueRef slot, LLVMValueRef v) {
  LLVMBuildStore(c->b, v, slot);
}

void cg_zero_fill(cg *c, LLVMValueRef out, LLVMValueRef base, LLVMValueRef count) {
  cg_loop l;
  cg_loop_begin(c, &l, cg_i64(c, 0), count, "zero");
  cg_store(c, cg_f32(c, 0.0), out, cg_iadd(c, base, l.i));
  cg_loop_end(c, &l);
}

void cg_row_begin(cg *c, cg_row *r, const nnc_shape *in, LLVMValueRef u0, LLVMValueRef u1) {
  int64_t w = shape_last(in);
  r->width = cg_i64(c, w);
  cg_loop_begin(c, &r->row, u0, u1, "row");
  r->base = cg_imul(c, r->row.i, r->width);
}

LLVMValueRef cg_row_max(cg *c, cg_row *r, LLVMValueRef x, LLVMValueRef *argmax) {
  LLVMValueRef best = cg_alloca_f32(c, "max"), where = cg_alloca_f32(c, "argmax");
  cg_set(c, best, cg_load(c, x, r->base));
  cg_set(c, where, cg_f32(c, 0.0));
  cg_loop j;
  cg_loop_begin(c, &j, cg_i64(c, 1), r->width, "j");
  LLVMValueRef v = cg_load(c, x, cg_iadd(c, r->base, j.i)), m = cg_get(c, best);
  /* NaN counts as the largest value (as NumPy's and JAX's argmax): the first
   * NaN wins, the max is NaN, and nothing replaces a NaN once found */
  LLVMValueRef better = LLVMBuildAnd(c->b, LLVMBuildFCmp(c->b, LLVMRealUGT, v, m, ""),
                                     LLVMBuildFCmp(c->b, LLVMRealORD, m, m, ""), "");
  cg_set(c, best, cg_select(c, better, v, m));
  cg_set(c, where, cg_select(c, better, LLVMBuildSIToFP(c->b, j.i, c->f32, ""), cg_get(c, where)));
  cg_loop_end(c, &j);
  if (argmax) *argmax = cg_get(c, where);
  return cg_get(c, best);
}

/* acc += exp(x[at + l] - m) for the lanes l < lanes, in order (ms: m in
 * every lane) */
static void add_exp_lanes(cg *c, LLVMValueRef acc, LLVMValueRef x, LLVMValueRef at, LLVMValueRef ms,
                          int lanes) {
  int vw = c->vector_width;
  LLVMValueRef e = cg_exp(c, LLVMBuildFSub(c->b, cg_vec_load(c, vw, lanes, x, at), ms, ""));
  for (int l = 0; l < lanes; l++) {
    LLVMValueRef lane = LLVMBuildExtractElement(c->b, e, LLVMConstInt(c->i32, (unsigned)l, 0), "");
    cg_set(c, acc, LLVMBuildFAdd(c->b, cg_get(c, acc), lane, ""));
  }
}

/* sum_j exp(x_j - m), in index order. The exponentials are nnc's own
 * (cg_exp, not libm's expf: docs/performance.md "Session 24"), a vector of
 * them at a time, and the sum adds their lanes one by one in index order:
 * each lane is the scalar code's operations, so the sum is the scalar
 * loop's at every vector width. */
LLVMValueRef cg_row_sum_exp(cg *c, cg_row *r, LLVMValueRef x, LLVMValueRef m) {
  LLVMValueRef acc = cg_alloca_f32(c, "sum");
  cg_set(c, acc, cg_f32(c, 0.0));
  int vw = c->vector_width;
  int64_t w = LLVMConstIntGetSExtValue(r->width), full = w / vw, rest = w % vw;
  LLVMValueRef ms = cg_splat(c, vw, m);
  cg_loop k;
  cg_loop_begin(c, &k, cg_i64(c, 0), cg_i64(c, full), "chunk");
  add_exp_lanes(c, acc, x, cg_iadd(c, r->base, cg_imul(c, k.i, cg_i64(c, vw))), ms, vw);
  cg_loop_end(c, &k);
  if (rest > 0) add_exp_lanes(c, acc, x, cg_iadd(c, r->base, cg_i64(c, full * vw)), ms, (int)rest);
  return cg_get(c, acc);
}

/* How an anchor's output is split between threads: `units` rows of `per_unit`
 * output elements each; a thread computes whole units. The op's own rule
 * (compiler/ops/<op>.c), else one unit per row of the input (row ops). */
void cg_anchor_units(cg *c, int id, LLVMValueRef *units, int64_t *per_unit) {
  const nnc_node *n = &c->g->nodes[id];
  const nnc_op_def *def = op_def(n->op);
  if (def->anchor_units) {
    def->anchor_units(c, n, units, per_unit);
    return;
  }
  const nnc_shape *in = &c->g->nodes[n->in[0]].shape;
  *per_unit = shape_last(&n->shape);
  *units = LLVMBuildSDiv(c->b, cg_count(c, in), cg_i64(c, shape_last(in)), "");
}

int cg_emit_anchor(cg *c, int id, LLVMValueRef u0, LLVMValueRef u1) {
  const nnc_node *n = &c->g->nodes[id];
  LLVMValueRef out = cg_buffer(c, id);
  LLVMValueRef a = n->n_in > 0 ? cg_buffer(c, n->in[0]) : NULL;
  LLVMValueRef b = n->n_in > 1 ? cg_buffer(c, n->in[1]) : NULL;
  if (!out || !a || (n->n_in > 1 && !b))
    return nnc_fail(c->st, NNC_ERR_INTERNAL, "codegen: %s (node %d) lacks a buffer", op_name(n->op),
                    id);
  const nnc_op_def *def = op_def(n->op);
  if (!def->emit_anchor)
    return nnc_fail(c->st, NNC_ERR_INTERNAL, "codegen: no emitter for %s", op_name(n->op));
  return def->emit_anchor(c, n, a, b, out, u0, u1);
}
