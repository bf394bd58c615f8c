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
  return c->strip_steal && n->op == NNC_OP_MATMUL && n->params.bmm.k_parts <= 1 &&
         strip_count(c, n) > 1;
}

static LLVMValueRef half_lo(cg *c, LLVMValueRef w) {
  return LLVMBuildAnd(c->b, w, cg_i64(c, 0xffffffff), "");
}
static LLVMValueRef half_hi(cg *c, LLVMValueRef w) {
  return LLVMBuildLShr(c->b, w, cg_i64(c, 32), "");
}

/* The claims of one pass, out of line: one function per module,
 *   i64 nnc_claim_strips(float *slot, i64 tid, i64 nthreads, i64 total,
 *                        i64 k, i64 *strips)
 * looks at thread v = tid + k (mod nthreads), then the threads after it,
 * for strips left in v's static range of `total`: first the thread's own
 * strips from the front of its static range, in halves of what is left,
 * then, one at a time from the back, those of the threads after it that
 * are still left. Word v of the slot counts thread v's strips taken from
 * the front (low half) and the back (high half): strip s0 + front is next at
 * the front, s1 - 1 - back at the back, while s0 + front + back < s1; one
 * atomic add claims a strip at the back or a run at the front, cut where
 * the back had reached (an add past the end claims nothing: every strip is
 * claimed exactly once; the front count may run past the end). Returns the
 * k of the claim with its strips in strips[0..1], or nthreads when none is
 * left. Every matmul kernel that claims strips calls it: its code is
 * compiled once per module instead of once per kernel (~11 M instructions
 * of code generation each: docs/performance.md, "Session 33"). */
static LLVMValueRef claim_function(cg *c) {
  static const char name[] = "nnc_claim_strips";
  LLVMValueRef fn = LLVMGetNamedFunction(c->mod, name);
  if (fn) return fn;
  LLVMTypeRef i64p = LLVMPointerType(c->i64, 0);
  LLVMTypeRef params[6] = {c->ptr, c->i64, c->i64, c->i64, c->i64, i64p};
  LLVMTypeRef type = LLVMFunctionType(c->i64, params, 6, 0);
  fn = LLVMAddFunction(c->mod, name, type);
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  cg_mark_helper(c, fn);

  LLVMValueRef caller = c->fn, caller_nt = c->nthreads;
  LLVMBasicBlockRef here = LLVMGetInsertBlock(c->b);
  LLVMBuilderRef b = c->b;
  c->fn = fn;
  LLVMValueRef slot = LLVMGetParam(fn, 0), tid = LLVMGetParam(fn, 1), nt = LLVMGetParam(fn, 2);
  LLVMValueRef total = LLVMGetParam(fn, 3), k0 = LLVMGetParam(fn, 4), out = LLVMGetParam(fn, 5);
  c->nthreads = nt; /* cg_thread_share_of's */
#define BLOCK(name) LLVMAppendBasicBlockInContext(c->ctx, fn, name)
  LLVMBasicBlockRef entry = BLOCK("entry"), head = BLOCK("claim"), peek = BLOCK("claim_peek");
  LLVMBasicBlockRef take = BLOCK("claim_take"), got = BLOCK("claim_got");
  LLVMBasicBlockRef stolen = BLOCK("claim_stolen"), found = BLOCK("claim_found");
  LLVMBasicBlockRef next = BLOCK("claim_next"), none = BLOCK("claim_none");
#undef BLOCK
  LLVMPositionBuilderAtEnd(b, entry);
  LLVMTypeRef wp = LLVMPointerType(c->i64, 0);
  LLVMValueRef words = LLVMBuildBitCast(b, slot, wp, "");
  LLVMBuildBr(b, head);

  LLVMPositionBuilderAtEnd(b, head);
  LLVMValueRef k = LLVMBuildPhi(b, c->i64, "k");
  LLVMAddIncoming(k, &k0, &entry, 1);
  LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, k, nt, ""), peek, none);

  LLVMPositionBuilderAtEnd(b, peek); /* thread v = tid + k (mod n) */
  LLVMValueRef v = LLVMBuildAdd(b, tid, k, "");
  v = cg_select(c, LLVMBuildICmp(b, LLVMIntSGE, v, nt, ""), LLVMBuildSub(b, v, nt, ""), v);
  LLVMValueRef v0, v1;
  cg_thread_share_of(c, v, total, 1, &v0, &v1);
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
  LLVMValueRef own = LLVMBuildICmp(b, LLVMIntEQ, k, cg_i64(c, 0), "own");
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
  LLVMBuildCondBr(b, own, found, stolen);
  LLVMPositionBuilderAtEnd(b, stolen); /* counted: the tests see stealing happen */
  LLVMValueRef counter = cg_i64(c, POOL_CLAIM_THREADS);
  LLVMBuildAtomicRMW(b, LLVMAtomicRMWBinOpAdd, LLVMBuildGEP2(b, c->i64, words, &counter, 1, ""),
                     cg_i64(c, 1), LLVMAtomicOrderingMonotonic, 0);
  LLVMBuildBr(b, found);

  LLVMPositionBuilderAtEnd(b, found);
  LLVMValueRef one = cg_i64(c, 1);
  LLVMBuildStore(b, strip, out);
  LLVMBuildStore(b, strip1, LLVMBuildGEP2(b, c->i64, out, &one, 1, ""));
  LLVMBuildRet(b, k);

  LLVMPositionBuilderAtEnd(b, next); /* this range is empty: the next thread's */
  LLVMValueRef k1 = LLVMBuildAdd(b, k, one, "");
  LLVMAddIncoming(k, &k1, &next, 1);
  LLVMBuildBr(b, head);

  LLVMPositionBuilderAtEnd(b, none);
  LLVMBuildRet(b, nt);

  c->fn = caller;
  c->nthreads = caller_nt;
  LLVMPositionBuilderAtEnd(b, here);
  return fn;
}

/* Open the claim loop of a matmul group whose static share is rows [u0,
 * u1) x strips [c->strip0, c->strip1). Without claims (the step run without
 * the pool, one thread, a rows split, more threads than a slot has words)
 * the body runs once over that share. With them each pass of the body is a
 * run of strips over all rows, taken by nnc_claim_strips (above). A strip
 * is one thread's whole computation (all the contraction's blocks, in
 * order, and its epilogue), so the results are the same bits whoever takes
 * it. */
void cg_claims_begin(cg *c, cg_claims *q, const nnc_node *n, LLVMValueRef by_strips) {
  LLVMBuilderRef b = c->b;
  LLVMValueRef total = cg_i64(c, strip_count(c, n)), nt = c->nthreads;
  LLVMValueRef claim = claim_function(c);
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(b);
  /* the claim's strips come back through memory: a slot in the entry block */
  LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(c->fn);
  LLVMValueRef first = LLVMGetFirstInstruction(entry);
  if (first)
    LLVMPositionBuilderBefore(b, first);
  else
    LLVMPositionBuilderAtEnd(b, entry);
  LLVMValueRef strips = LLVMBuildAlloca(b, LLVMArrayType(c->i64, 2), "claimed");
  LLVMPositionBuilderAtEnd(b, pre);
#define BLOCK(name) LLVMAppendBasicBlockInContext(c->ctx, c->fn, name)
  LLVMBasicBlockRef head = BLOCK("claim"), stat = BLOCK("claim_static"), look = BLOCK("claim_look");
  LLVMBasicBlockRef body = BLOCK("strip_claimed");
  q->exit = BLOCK("claims_done");
#undef BLOCK
  q->head = head;
  LLVMValueRef st0 = c->strip0, st1 = c->strip1;
  q->steal = LLVMBuildAnd(
      b, LLVMBuildAnd(b, LLVMBuildIsNotNull(b, c->claims, ""), by_strips, ""),
      LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntSGT, nt, cg_i64(c, 1), ""),
                   LLVMBuildICmp(b, LLVMIntSLE, nt, cg_i64(c, POOL_CLAIM_THREADS), ""), ""),
      "steal");
  LLVMValueRef zero = cg_i64(c, 0), one = cg_i64(c, 1);
  LLVMValueRef at0 = LLVMBuildGEP2(
      b, c->i64, LLVMBuildBitCast(b, strips, LLVMPointerType(c->i64, 0), ""), &zero, 1, "");
  LLVMValueRef at1 = LLVMBuildGEP2(b, c->i64, at0, &one, 1, "");
  LLVMBuildBr(b, head);

  LLVMPositionBuilderAtEnd(b, head);
  LLVMValueRef k = LLVMBuildPhi(b, c->i64, "k");
  LLVMAddIncoming(k, &zero, &pre, 1);
  LLVMBuildCondBr(b, q->steal, look, stat);

  LLVMPositionBuilderAtEnd(b, stat); /* the static share, once */
  LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntEQ, k, zero, ""), body, q->exit);

  LLVMPositionBuilderAtEnd(b, look);
  LLVMValueRef args[6] = {c->claims, c->tid, nt, total, k, at0};
  LLVMValueRef at = LLVMBuildCall2(b, LLVMGlobalGetValueType(claim), claim, args, 6, "");
  LLVMValueRef s0 = LLVMBuildLoad2(b, c->i64, at0, ""), s1 = LLVMBuildLoad2(b, c->i64, at1, "");
  LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, at, nt, ""), body, q->exit);

  LLVMPositionBuilderAtEnd(b, body);
  q->k = LLVMBuildPhi(b, c->i64, "k_claimed");
  q->s0 = LLVMBuildPhi(b, c->i64, "s0");
  q->s1 = LLVMBuildPhi(b, c->i64, "s1");
  LLVMValueRef from_k[2] = {k, at}, from0[2] = {st0, s0}, from1[2] = {st1, s1};
  LLVMBasicBlockRef in[2] = {stat, look};
  LLVMAddIncoming(q->k, from_k, in, 2);
  LLVMAddIncoming(q->s0, from0, in, 2);
  LLVMAddIncoming(q->s1, from1, in, 2);
  q->k_head = k;
}

/* Close the claim loop: stealing, claim again from the thread where the
 * last claim was found; the static share ran once. */
void cg_claims_end(cg *c, cg_claims *q) {
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(c->b);
  LLVMValueRef k = cg_select(c, q->steal, q->k, cg_i64(c, 1));
  LLVMAddIncoming(q->k_head, &k, &latch, 1);
  LLVMBuildBr(c->b, q->head);
  LLVMPositionBuilderAtEnd(c->b, q->exit);
}
