/* Rows in lanes: a row op over a narrow [rows, W] operand computed for a
 * vector width of rows at a time, lane l holding row r0 + l. Column j of
 * the group is one vector (a gather of rows W apart; the last group masked
 * to the rows left), and each lane then runs exactly
 * the row-at-a-time code's operations in its order: the max's first-wins
 * rule, the sums in index order from +0, the same exp (cg_exp: the same bits
 * in every lane) and the same libm log per lane. So the results are the
 * bits the row-at-a-time code gives, and a row's chain of dependent
 * operations (a compare and select, an add per element) no longer waits for
 * the one before: a 10-class head of 64 rows ran its loss, softmax and
 * argmax kernels in ~6.5 µs of W4's step (docs/performance.md, "Session 31:
 * rows in lanes"); NNC_ROW_LANES=0: the row-at-a-time code. The columns
 * live in a stack array walked by loops LLVM leaves as loops: unrolled over
 * the columns and with rows transposed in registers, a 10-class head's
 * three kernels made the Fashion-MNIST MLP's cold compile 27 % slower. */
#include <stdlib.h>
#include <string.h>

#include "compiler/codegen/cg.h"

/* Rows of up to CG_LANES_MAX_WIDTH columns: a group's columns on the stack
 * (32 vectors); wider rows keep the row loop, whose own vectors span them. */
int cg_lanes_fit(const cg *c, int64_t width) {
  const char *e = getenv("NNC_ROW_LANES");
  if (e && !strcmp(e, "0")) return 0;
  return c->vector_width >= 4 && width >= 2 && width <= CG_LANES_MAX_WIDTH;
}

static LLVMTypeRef vec_type(const cg *c) {
  return LLVMVectorType(c->f32, (unsigned)c->vector_width);
}

void cg_lanes_begin(cg *c, cg_lanes *l, int64_t width, LLVMValueRef u0, LLVMValueRef u1) {
  int vw = c->vector_width;
  LLVMValueRef n = LLVMBuildSub(c->b, u1, u0, "");
  LLVMValueRef groups =
      LLVMBuildSDiv(c->b, LLVMBuildAdd(c->b, n, cg_i64(c, vw - 1), ""), cg_i64(c, vw), "");
  l->width = width;
  cg_loop_begin(c, &l->group, cg_i64(c, 0), groups, "lanes");
  l->r0 = cg_iadd(c, u0, cg_imul(c, l->group.i, cg_i64(c, vw)));
  l->mask = cg_lane_mask_at_run_time(c, vw, LLVMBuildSub(c->b, u1, l->r0, ""));
}

void cg_lanes_end(cg *c, cg_lanes *l) {
  cg_loop_end(c, &l->group);
}

LLVMValueRef cg_lanes_array(cg *c, const cg_lanes *l) {
  return cg_alloca(c, LLVMArrayType(vec_type(c), (unsigned)l->width), "cols");
}

static LLVMValueRef column_at(cg *c, LLVMValueRef cols, LLVMValueRef j) {
  LLVMValueRef idx[2] = {cg_i64(c, 0), j};
  LLVMTypeRef array = LLVMGetAllocatedType(cols);
  return LLVMBuildGEP2(c->b, array, cols, idx, 2, "");
}

LLVMValueRef cg_lanes_get(cg *c, LLVMValueRef cols, LLVMValueRef j) {
  return LLVMBuildLoad2(c->b, vec_type(c), column_at(c, cols, j), "");
}

void cg_lanes_set(cg *c, LLVMValueRef cols, LLVMValueRef j, LLVMValueRef v) {
  LLVMBuildStore(c->b, v, column_at(c, cols, j));
}

/* element (r0 + lane, j) of a [rows, width] buffer: base index r0 * width + j */
static LLVMValueRef element(cg *c, const cg_lanes *l, LLVMValueRef j) {
  return cg_iadd(c, cg_imul(c, l->r0, cg_i64(c, l->width)), j);
}

void cg_lanes_columns(cg *c, const cg_lanes *l, LLVMValueRef x, LLVMValueRef cols) {
  cg_loop j;
  cg_lanes_loop_begin(c, l, &j, 0);
  cg_lanes_set(c, cols, j.i,
               cg_vec_gather(c, c->vector_width, x, element(c, l, j.i), l->width, l->mask));
  cg_lanes_loop_end(c, &j);
}

void cg_lanes_store_rows(cg *c, const cg_lanes *l, LLVMValueRef cols, LLVMValueRef out) {
  cg_loop j;
  cg_lanes_loop_begin(c, l, &j, 0);
  cg_vec_scatter(c, cg_lanes_get(c, cols, j.i), out, element(c, l, j.i), l->width, l->mask);
  cg_lanes_loop_end(c, &j);
}

void cg_lanes_store(cg *c, const cg_lanes *l, LLVMValueRef v, LLVMValueRef out) {
  cg_vec_store_masked(c, v, l->mask, out, l->r0);
}

void cg_lanes_loop_begin(cg *c, const cg_lanes *l, cg_loop *j, int64_t from) {
  cg_loop_begin(c, j, cg_i64(c, from), cg_i64(c, l->width), "col");
}

/* neither unrolled nor vectorized: the lanes are the vector */
void cg_lanes_loop_end(cg *c, cg_loop *j) {
  cg_loop_hint(c, cg_loop_end(c, j), 0);
}

LLVMValueRef cg_lanes_slot(cg *c, LLVMValueRef init) {
  LLVMValueRef slot = cg_alloca(c, vec_type(c), "lane_acc");
  LLVMBuildStore(c->b, init, slot);
  return slot;
}

static LLVMValueRef slot_get(cg *c, LLVMValueRef slot) {
  return LLVMBuildLoad2(c->b, vec_type(c), slot, "");
}

/* The same rule as cg_row_max, lane by lane: the first NaN wins, else the
 * first largest value (a later equal value does not replace it). */
LLVMValueRef cg_lanes_max(cg *c, const cg_lanes *l, LLVMValueRef cols, LLVMValueRef *argmax) {
  LLVMValueRef best = cg_lanes_slot(c, cg_lanes_get(c, cols, cg_i64(c, 0)));
  LLVMValueRef where = argmax ? cg_lanes_slot(c, LLVMConstNull(vec_type(c))) : NULL;
  cg_loop j;
  cg_lanes_loop_begin(c, l, &j, 1);
  LLVMValueRef v = cg_lanes_get(c, cols, j.i), m = slot_get(c, best);
  LLVMValueRef better = LLVMBuildAnd(c->b, LLVMBuildFCmp(c->b, LLVMRealUGT, v, m, ""),
                                     LLVMBuildFCmp(c->b, LLVMRealORD, m, m, ""), "");
  LLVMBuildStore(c->b, cg_select(c, better, v, m), best);
  if (argmax) {
    LLVMValueRef jf = cg_splat(c, c->vector_width, LLVMBuildSIToFP(c->b, j.i, c->f32, ""));
    LLVMBuildStore(c->b, cg_select(c, better, jf, slot_get(c, where)), where);
  }
  cg_lanes_loop_end(c, &j);
  if (argmax) *argmax = slot_get(c, where);
  return slot_get(c, best);
}

/* sum_j exp(col[j] - m) from +0 in index order, as cg_row_sum_exp */
LLVMValueRef cg_lanes_sum_exp(cg *c, const cg_lanes *l, LLVMValueRef cols, LLVMValueRef m) {
  LLVMValueRef acc = cg_lanes_slot(c, LLVMConstNull(vec_type(c)));
  cg_loop j;
  cg_lanes_loop_begin(c, l, &j, 0);
  LLVMValueRef e = cg_exp(c, LLVMBuildFSub(c->b, cg_lanes_get(c, cols, j.i), m, ""));
  LLVMBuildStore(c->b, LLVMBuildFAdd(c->b, slot_get(c, acc), e, ""), acc);
  cg_lanes_loop_end(c, &j);
  return slot_get(c, acc);
}

/* fn on each lane through a stack slot, in a loop LLVM leaves as a loop:
 * the same call per lane as the row-at-a-time code (a libm log). Written
 * out as a vector width of extracts, calls and inserts, the chain cost
 * softmax_xent's code generation 22 M instructions more (42 against 20 M;
 * docs/performance.md, "Session 33"). */
LLVMValueRef cg_lanes_unary(cg *c, nnc_fn fn, LLVMValueRef v) {
  LLVMValueRef slot = cg_lanes_slot(c, v);
  LLVMValueRef at = LLVMBuildBitCast(c->b, slot, LLVMPointerType(c->f32, 0), "");
  cg_loop k;
  cg_loop_begin(c, &k, cg_i64(c, 0), cg_i64(c, c->vector_width), "lane");
  cg_store(c, cg_unary(c, fn, cg_load(c, at, k.i), NULL), at, k.i);
  cg_loop_hint(c, cg_loop_end(c, &k), 0);
  return slot_get(c, slot);
}
