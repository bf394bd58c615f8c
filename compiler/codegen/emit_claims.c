/* Column strips taken by claims (NNC_STRIP_STEAL=1): the claim loop a
 * matmul group runs its anchor and epilogue in (emit_group.c calls it; the
 * slots are the pool's, runtime/pool.h; the driver passes them,
 * emit_driver.c: group_claims). */
#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"
#include "runtime/pool.h" /* the claim slots' layout */

static int64_t strip_count(const cg *c, const nnc_node *n) {
  int64_t tile = cg_gemm_tile_cols(c->vector_width);
  return (shape_last(&n->shape) + tile - 1) / tile;
}

int cg_group_claims_strips(const cg *c, int first) {
  const nnc_node *n = &c->g->nodes[first];
  return c->strip_steal && n->op == NNC_OP_MATMUL && strip_count(c, n) > 1;
}

static LLVMValueRef half_lo(cg *c, LLVMValueRef w) {
  return LLVMBuildAnd(c->b, w, cg_i64(c, 0xffffffff), "");
}
static LLVMValueRef half_hi(cg *c, LLVMValueRef w) {
  return LLVMBuildLShr(c->b, w, cg_i64(c, 32), "");
}

/* Open the claim loop of a matmul group whose static share is rows [u0,
 * u1) x strips [c->strip0, c->strip1). Without claims (the step run without
 * the pool, one thread, a rows split, more threads than a slot has words)
 * the body runs once over that share. With them each pass of the body is a
 * run of strips over all rows: first the thread's own strips from the front
 * of its static range, in halves of what is left, then, one at a time from
 * the back, those of the threads after it that are still left. Word t of
 * the slot counts thread t's strips taken from the front (low half) and the
 * back (high half): strip s0 + front is next at the front, s1 - 1 - back at
 * the back, while s0 + front + back < s1; one atomic add claims a strip at
 * the back or a run at the front, cut where the back had reached (an add
 * past the end claims nothing: every strip is claimed exactly once; the
 * front count may run past the end). A strip is one thread's whole
 * computation (all the contraction's blocks, in order, and its epilogue),
 * so the results are the same bits whoever takes it. */
void cg_claims_begin(cg *c, cg_claims *q, const nnc_node *n, LLVMValueRef by_strips) {
  LLVMBuilderRef b = c->b;
  LLVMValueRef total = cg_i64(c, strip_count(c, n)), nt = c->nthreads;
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(b);
#define BLOCK(name) LLVMAppendBasicBlockInContext(c->ctx, c->fn, name)
  LLVMBasicBlockRef head = BLOCK("claim"), stat = BLOCK("claim_static"), look = BLOCK("claim_look");
  LLVMBasicBlockRef peek = BLOCK("claim_peek"), take = BLOCK("claim_take");
  LLVMBasicBlockRef got = BLOCK("claim_got"), stolen = BLOCK("claim_stolen");
  LLVMBasicBlockRef next = BLOCK("claim_next"), body = BLOCK("strip_claimed");
  q->exit = BLOCK("claims_done");
#undef BLOCK
  q->head = head;
  LLVMValueRef st0 = c->strip0, st1 = c->strip1;
  q->steal = LLVMBuildAnd(
      b, LLVMBuildAnd(b, LLVMBuildIsNotNull(b, c->claims, ""), by_strips, ""),
      LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntSGT, nt, cg_i64(c, 1), ""),
                   LLVMBuildICmp(b, LLVMIntSLE, nt, cg_i64(c, POOL_CLAIM_THREADS), ""), ""),
      "steal");
  LLVMBuildBr(b, head);

  LLVMPositionBuilderAtEnd(b, head);
  q->k = LLVMBuildPhi(b, c->i64, "k");
  LLVMValueRef zero = cg_i64(c, 0);
  LLVMAddIncoming(q->k, &zero, &pre, 1);
  LLVMBuildCondBr(b, q->steal, look, stat);

  LLVMPositionBuilderAtEnd(b, stat); /* the static share, once */
  LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntEQ, q->k, zero, ""), body, q->exit);

  LLVMPositionBuilderAtEnd(b, look); /* thread v = tid + k (mod n) */
  LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, q->k, nt, ""), peek, q->exit);
  LLVMPositionBuilderAtEnd(b, peek);
  LLVMValueRef v = LLVMBuildAdd(b, c->tid, q->k, "");
  v = cg_select(c, LLVMBuildICmp(b, LLVMIntSGE, v, nt, ""), LLVMBuildSub(b, v, nt, ""), v);
  LLVMValueRef v0, v1;
  cg_thread_share_of(c, v, total, 1, &v0, &v1);
  LLVMTypeRef wp = LLVMPointerType(c->i64, 0);
  LLVMValueRef words = LLVMBuildBitCast(b, c->claims, wp, "");
  LLVMValueRef word = LLVMBuildGEP2(b, c->i64, words, &v, 1, "");
  /* a load first: a thread that finds the range empty leaves its line alone */
  LLVMValueRef seen = LLVMBuildLoad2(b, c->i64, word, "");
  LLVMSetOrdering(seen, LLVMAtomicOrderingMonotonic);
  LLVMSetAlignment(seen, 8);
  LLVMValueRef left = LLVMBuildICmp(
      b, LLVMIntSLT,
      LLVMBuildAdd(b, v0, LLVMBuildAdd(b, half_lo(c, seen), half_hi(c, seen), ""), ""), v1, "");
  LLVMBuildCondBr(b, left, take, next);

  LLVMPositionBuilderAtEnd(b, take);
  LLVMValueRef own = LLVMBuildICmp(b, LLVMIntEQ, q->k, zero, "own");
  /* own strips in halves of what is left (4, 2, 1, 1 of 8): a claim of
   * several runs them as the static split does (one pass over the K
   * blocks, the epilogue over all their columns); others' one at a time */
  LLVMValueRef rest = LLVMBuildSub(b, LLVMBuildSub(b, v1, v0, ""),
                                   LLVMBuildAdd(b, half_lo(c, seen), half_hi(c, seen), ""), "");
  LLVMValueRef half = LLVMBuildAShr(b, rest, cg_i64(c, 1), "");
  LLVMValueRef chunk =
      cg_select(c, LLVMBuildICmp(b, LLVMIntSGT, half, cg_i64(c, 1), ""), half, cg_i64(c, 1));
  LLVMValueRef add = cg_select(c, own, chunk, cg_i64(c, INT64_C(1) << 32));
  LLVMValueRef old =
      LLVMBuildAtomicRMW(b, LLVMAtomicRMWBinOpAdd, word, add, LLVMAtomicOrderingMonotonic, 0);
  LLVMValueRef front = half_lo(c, old), back = half_hi(c, old);
  LLVMValueRef valid = LLVMBuildICmp(
      b, LLVMIntSLT, LLVMBuildAdd(b, v0, LLVMBuildAdd(b, front, back, ""), ""), v1, "");
  LLVMValueRef end = LLVMBuildSub(b, v1, back, ""); /* strips from here on are taken */
  LLVMValueRef strip =
      cg_select(c, own, LLVMBuildAdd(b, v0, front, ""), LLVMBuildSub(b, end, cg_i64(c, 1), ""));
  /* an own chunk stops where the back claims reached when it was taken
   * (a back claim after it sees its front and takes below it) */
  LLVMValueRef want = LLVMBuildAdd(b, strip, chunk, "");
  want = cg_select(c, LLVMBuildICmp(b, LLVMIntSLT, want, end, ""), want, end);
  LLVMValueRef strip1 = cg_select(c, own, want, LLVMBuildAdd(b, strip, cg_i64(c, 1), ""));
  LLVMBuildCondBr(b, valid, got, next);

  LLVMPositionBuilderAtEnd(b, got);
  LLVMBuildCondBr(b, own, body, stolen);
  LLVMPositionBuilderAtEnd(b, stolen); /* counted: the tests see stealing happen */
  LLVMValueRef counter = cg_i64(c, POOL_CLAIM_THREADS);
  LLVMBuildAtomicRMW(b, LLVMAtomicRMWBinOpAdd, LLVMBuildGEP2(b, c->i64, words, &counter, 1, ""),
                     cg_i64(c, 1), LLVMAtomicOrderingMonotonic, 0);
  LLVMBuildBr(b, body);

  LLVMPositionBuilderAtEnd(b, next); /* this range is empty: the next thread's */
  LLVMValueRef k1 = LLVMBuildAdd(b, q->k, cg_i64(c, 1), "");
  LLVMAddIncoming(q->k, &k1, &next, 1);
  LLVMBuildBr(b, head);

  LLVMPositionBuilderAtEnd(b, body);
  q->s0 = LLVMBuildPhi(b, c->i64, "s0");
  q->s1 = LLVMBuildPhi(b, c->i64, "s1");
  LLVMValueRef from0[3] = {st0, strip, strip}, from1[3] = {st1, strip1, strip1};
  LLVMBasicBlockRef in[3] = {stat, got, stolen};
  LLVMAddIncoming(q->s0, from0, in, 3);
  LLVMAddIncoming(q->s1, from1, in, 3);
}

/* Close the claim loop: stealing, claim again from the same thread's range;
 * the static share ran once. */
void cg_claims_end(cg *c, cg_claims *q) {
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(c->b);
  LLVMValueRef k = cg_select(c, q->steal, q->k, cg_i64(c, 1));
  LLVMAddIncoming(q->k, &k, &latch, 1);
  LLVMBuildBr(c->b, q->head);
  LLVMPositionBuilderAtEnd(c->b, q->exit);
}
