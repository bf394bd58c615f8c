/* A matrix product with one output column (N = 1: a Dense(1) forward, its
 * weight gradient x^T @ dy) as a matrix-vector product vectorized across
 * rows: a vector holds one partial sum per row, and each row's sum is the
 * same chain of fused multiply-adds over p in order, from zero, that the
 * GEMM (emit_gemm.c) computes for it, so the results are bit-identical to
 * the GEMM's at every vector width and thread split. The GEMM's tiles put
 * one row in each vector with one useful lane (N = 1 of 16); here every lane
 * is a row. A(r, p) for W consecutive rows is a vector load when the rows
 * are adjacent (a_row = 1: the transposed product). When each row's
 * elements are adjacent instead (a_step = 1: x @ w of a Dense(1)), W rows x
 * W elements are W vector loads transposed in registers (cg_transpose_square:
 * on AVX-512 64 two-vector shuffles for 16 x 16, against 16 gathers), for
 * every whole block of W elements; the elements left over, and any other
 * stride, are gathers. The chain of each row is the same either way. */
#include <llvm-c/Core.h>
#include <stdio.h>

#include "compiler/ops/matvec.h"

static LLVMValueRef iadd(cg *c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildAdd(c->b, a, b, "");
}

static LLVMValueRef imul(cg *c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildMul(c->b, a, b, "");
}

/* A(r0 .. r0+w-1, p) starting at flat index apos, rows a_row apart */
static LLVMValueRef rows_of(cg *c, LLVMTypeRef vec, int w, LLVMValueRef a, LLVMValueRef apos,
                            int64_t a_row) {
  LLVMValueRef p = LLVMBuildGEP2(c->b, c->f32, a, &apos, 1, "");
  if (a_row == 1) {
    LLVMValueRef v =
        LLVMBuildLoad2(c->b, vec, LLVMBuildBitCast(c->b, p, LLVMPointerType(vec, 0), ""), "");
    LLVMSetAlignment(v, 4);
    return v;
  }
  return cg_vec_gather(c, w, a, apos, a_row, NULL);
}

/* The whole blocks of w elements of rows r0 .. r0+w-1 when each row's
 * elements are adjacent (a_step = 1, rows a_row apart, a_row > 1): row l's
 * block is one vector load, the w loads transposed give element p of every
 * row in one vector, and the chain goes on over p in order into acc. Returns
 * the first p left for the gathers (0 when the rows are not read this way). */
static LLVMValueRef blocks_along_rows(cg *c, const cg_gemm *m, LLVMTypeRef vec, int w,
                                      LLVMValueRef r0, LLVMValueRef acc) {
  int64_t a_row = LLVMConstIntGetSExtValue(m->a_row);
  if (LLVMConstIntGetSExtValue(m->a_step) != 1 || a_row <= 1 || w < 2) return cg_i64(c, 0);
  LLVMValueRef blocks = LLVMBuildSDiv(c->b, m->len, cg_i64(c, w), "");
  cg_loop k;
  cg_loop_begin(c, &k, cg_i64(c, 0), blocks, "mv_block");
  LLVMValueRef p0 = imul(c, k.i, cg_i64(c, w)), x[16];
  for (int l = 0; l < w; l++)
    x[l] = cg_vec_load(c, w, w, m->a,
                       iadd(c, imul(c, iadd(c, r0, cg_i64(c, l)), cg_i64(c, a_row)), p0));
  cg_transpose_square(c, x, w, 1);
  LLVMValueRef sum = LLVMBuildLoad2(c->b, vec, acc, "");
  for (int l = 0; l < w; l++)
    sum = cg_fma(c, x[l], cg_splat(c, w, cg_load(c, m->b, iadd(c, p0, cg_i64(c, l)))), sum);
  LLVMBuildStore(c->b, sum, acc);
  cg_loop_end(c, &k);
  return imul(c, blocks, cg_i64(c, w));
}

/* rows r0 .. of the one column (x a vector of `lanes` rows, or a float):
 * the product, and through the matmul's tile chain when it has one */
static void put(cg *c, const cg_gemm *m, LLVMValueRef x, int lanes, LLVMValueRef r0) {
  const cg_gemm_epi *e = m->epi && m->epi->n ? m->epi : NULL;
  if (!e || e->store_raw) cg_vec_store(c, x, lanes, m->out, r0);
  if (e) cg_gemm_epi_apply(c, e, x, lanes, NULL, 1, cg_i64(c, 0), r0);
}

int cg_emit_matvec(cg *c, const cg_gemm *m, LLVMValueRef u0, LLVMValueRef u1) {
  if (m->n != 1 || c->accumulate_f64 || m->strip0 || !LLVMIsConstant(m->a_row) ||
      !LLVMIsConstant(m->a_step))
    return 0;
  int64_t a_row = LLVMConstIntGetSExtValue(m->a_row);
  int w = c->vector_width;
  LLVMTypeRef vec = LLVMVectorType(c->f32, (unsigned)w);
  LLVMValueRef acc = cg_alloca(c, vec, "mv_acc"), one = cg_alloca_f32(c, "mv_one");
  /* whole vectors of rows; B(p, 0) is b[p] with or without transpose_b */
  LLVMValueRef count = LLVMBuildSDiv(c->b, LLVMBuildSub(c->b, u1, u0, ""), cg_i64(c, w), "");
  cg_loop t, p;
  cg_loop_begin(c, &t, cg_i64(c, 0), count, "mv_rows");
  LLVMValueRef r0 = iadd(c, u0, imul(c, t.i, cg_i64(c, w)));
  LLVMBuildStore(c->b, LLVMConstNull(vec), acc);
  LLVMValueRef p_start = blocks_along_rows(c, m, vec, w, r0, acc);
  cg_loop_begin(c, &p, p_start, m->len, "mv_p");
  LLVMValueRef apos = iadd(c, imul(c, r0, m->a_row), imul(c, p.i, m->a_step));
  LLVMValueRef av = rows_of(c, vec, w, m->a, apos, a_row);
  LLVMValueRef bv = cg_splat(c, w, cg_load(c, m->b, p.i));
  LLVMBuildStore(c->b, cg_fma(c, av, bv, LLVMBuildLoad2(c->b, vec, acc, "")), acc);
  cg_loop_end(c, &p);
  put(c, m, LLVMBuildLoad2(c->b, vec, acc, ""), w, r0);
  cg_loop_end(c, &t);
  /* the rows left over, one chain each */
  cg_loop r, q;
  cg_loop_begin(c, &r, iadd(c, u0, imul(c, count, cg_i64(c, w))), u1, "mv_tail");
  LLVMBuildStore(c->b, cg_f32(c, 0.0), one);
  cg_loop_begin(c, &q, cg_i64(c, 0), m->len, "mv_tp");
  LLVMValueRef x = cg_load(c, m->a, iadd(c, imul(c, r.i, m->a_row), imul(c, q.i, m->a_step)));
  LLVMBuildStore(c->b, cg_fma(c, x, cg_load(c, m->b, q.i), LLVMBuildLoad2(c->b, c->f32, one, "")),
                 one);
  cg_loop_end(c, &q);
  put(c, m, LLVMBuildLoad2(c->b, c->f32, one, ""), 1, r.i);
  cg_loop_end(c, &r);
  return 1;
}
