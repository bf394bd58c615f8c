/* Register-blocked matrix products in LLVM IR with explicit vectors.
 *
 * C[r, j] = sum over the contraction index p of A(r, p) * B[p, j], where
 * A(r, p) = A[r * a_row + p * a_step] covers both the plain product
 * (x @ W: a_row = K, a_step = 1) and the transposed one (x^T @ dy for weight
 * gradients: a_row = 1, a_step = K). A tile of MR rows by NV vectors keeps
 * its MR x NV accumulators in registers through the whole contraction;
 * leftover rows use 1-row tiles, leftover columns scalar code. Every C
 * element is the same chain of fused multiply-adds over p in order, whatever
 * the tile it falls in, so the result does not depend on how rows are split
 * between threads.
 *
 * With accumulate_f64 the accumulators are doubles (each product and sum in
 * float64, one rounding to float32 at the store): slower, and immune to the
 * float32 rounding of long sums. */
#include <llvm-c/Core.h>
#include <string.h>

#include "compiler/codegen/cg.h"

#define MR 6
#define NV_MAX 2

typedef struct gemm {
  LLVMValueRef a, b, c;       /* float* */
  LLVMValueRef a_row, a_step; /* i64 */
  LLVMValueRef len;           /* contraction length, i64 */
  LLVMValueRef b_tile;        /* B as the tiles read it: packed strip, or B itself */
  LLVMValueRef b_stride;      /* i64: floats between rows of b_tile */
  int64_t n;                  /* columns of B and C */
  int vw, nv;                 /* vector width, vectors per tile row */
  LLVMTypeRef vec;
  LLVMTypeRef acc_vec, acc_scalar; /* float or double */
  int f64;
} gemm;

static LLVMValueRef imul(cg *c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildMul(c->b, a, b, "");
}
static LLVMValueRef iadd(cg *c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildAdd(c->b, a, b, "");
}

static LLVMValueRef vec_ptr(cg *c, const gemm *g, LLVMValueRef base, LLVMValueRef index) {
  LLVMValueRef p = LLVMBuildGEP2(c->b, c->f32, base, &index, 1, "");
  return LLVMBuildBitCast(c->b, p, LLVMPointerType(g->vec, 0), "");
}

static LLVMValueRef vec_load(cg *c, const gemm *g, LLVMValueRef base, LLVMValueRef index) {
  LLVMValueRef v = LLVMBuildLoad2(c->b, g->vec, vec_ptr(c, g, base, index), "");
  LLVMSetAlignment(v, 4);
  return v;
}

static void vec_store(cg *c, const gemm *g, LLVMValueRef v, LLVMValueRef base, LLVMValueRef index) {
  LLVMSetAlignment(LLVMBuildStore(c->b, v, vec_ptr(c, g, base, index)), 4);
}

static LLVMValueRef splat(cg *c, const gemm *g, LLVMValueRef x) {
  LLVMValueRef undef = LLVMGetUndef(g->vec);
  LLVMValueRef one = LLVMBuildInsertElement(c->b, undef, x, LLVMConstInt(c->i32, 0, 0), "");
  return LLVMBuildShuffleVector(c->b, one, undef,
                                LLVMConstNull(LLVMVectorType(c->i32, (unsigned)g->vw)), "");
}

/* acc + a * b in the accumulator type (a, b are float vectors) */
static LLVMValueRef vfma(cg *c, const gemm *g, LLVMValueRef a, LLVMValueRef b, LLVMValueRef acc) {
  if (g->f64)
    a = LLVMBuildFPExt(c->b, a, g->acc_vec, ""), b = LLVMBuildFPExt(c->b, b, g->acc_vec, "");
  return cg_fma(c, a, b, acc);
}

static LLVMValueRef sfma(cg *c, const gemm *g, LLVMValueRef a, LLVMValueRef b, LLVMValueRef acc) {
  if (g->f64)
    a = LLVMBuildFPExt(c->b, a, g->acc_scalar, ""), b = LLVMBuildFPExt(c->b, b, g->acc_scalar, "");
  return cg_fma(c, a, b, acc);
}

/* an accumulator rounded to float for the store */
static LLVMValueRef to_float(cg *c, const gemm *g, LLVMValueRef acc, LLVMTypeRef type) {
  return g->f64 ? LLVMBuildFPTrunc(c->b, acc, type, "") : acc;
}

/* One tile: rows r0 .. r0+rows-1, columns j0 .. j0 + nv*vw - 1 of C; B read
 * from b_tile at column bj0. */
static void emit_tile(cg *c, const gemm *g, LLVMValueRef r0, int rows, LLVMValueRef j0,
                      LLVMValueRef bj0, LLVMValueRef acc[MR][NV_MAX]) {
  for (int r = 0; r < rows; r++)
    for (int v = 0; v < g->nv; v++) LLVMBuildStore(c->b, LLVMConstNull(g->acc_vec), acc[r][v]);
  LLVMValueRef arow[MR];
  for (int r = 0; r < rows; r++) arow[r] = imul(c, iadd(c, r0, cg_i64(c, r)), g->a_row);
  cg_loop p;
  cg_loop_begin(c, &p, cg_i64(c, 0), g->len, "p");
  LLVMValueRef brow = iadd(c, imul(c, p.i, g->b_stride), bj0), apos = imul(c, p.i, g->a_step);
  LLVMValueRef bv[NV_MAX];
  for (int v = 0; v < g->nv; v++)
    bv[v] = vec_load(c, g, g->b_tile, iadd(c, brow, cg_i64(c, (int64_t)v * g->vw)));
  for (int r = 0; r < rows; r++) {
    LLVMValueRef av = splat(c, g, cg_load(c, g->a, iadd(c, arow[r], apos)));
    for (int v = 0; v < g->nv; v++) {
      LLVMValueRef sum = vfma(c, g, av, bv[v], LLVMBuildLoad2(c->b, g->acc_vec, acc[r][v], ""));
      LLVMBuildStore(c->b, sum, acc[r][v]);
    }
  }
  cg_loop_end(c, &p);
  for (int r = 0; r < rows; r++) {
    LLVMValueRef crow = iadd(c, imul(c, iadd(c, r0, cg_i64(c, r)), cg_i64(c, g->n)), j0);
    for (int v = 0; v < g->nv; v++)
      vec_store(c, g, to_float(c, g, LLVMBuildLoad2(c->b, g->acc_vec, acc[r][v], ""), g->vec), g->c,
                iadd(c, crow, cg_i64(c, (int64_t)v * g->vw)));
  }
}

/* Columns [from, n) of one row, one fused multiply-add chain per element. */
static void emit_scalar_columns(cg *c, const gemm *g, LLVMValueRef r, int64_t from) {
  LLVMValueRef acc = cg_alloca(c, g->acc_scalar, "acc");
  cg_loop j;
  cg_loop_begin(c, &j, cg_i64(c, from), cg_i64(c, g->n), "jr");
  LLVMBuildStore(c->b, LLVMConstNull(g->acc_scalar), acc);
  cg_loop p;
  cg_loop_begin(c, &p, cg_i64(c, 0), g->len, "pr");
  LLVMValueRef a = cg_load(c, g->a, iadd(c, imul(c, r, g->a_row), imul(c, p.i, g->a_step)));
  LLVMValueRef b = cg_load(c, g->b, iadd(c, imul(c, p.i, cg_i64(c, g->n)), j.i));
  LLVMBuildStore(c->b, sfma(c, g, a, b, LLVMBuildLoad2(c->b, g->acc_scalar, acc, "")), acc);
  cg_loop_end(c, &p);
  cg_store(c, to_float(c, g, LLVMBuildLoad2(c->b, g->acc_scalar, acc, ""), c->f32), g->c,
           iadd(c, imul(c, r, cg_i64(c, g->n)), j.i));
  cg_loop_end(c, &j);
}

/* Copy the strip B[:, j0 .. j0+cols) into pack[len, cols]: the row tiles then
 * read it contiguously instead of one cache line per 2 KB row of B. */
static void emit_pack(cg *c, const gemm *g, LLVMValueRef pack, LLVMValueRef j0, int64_t cols) {
  cg_loop p;
  cg_loop_begin(c, &p, cg_i64(c, 0), g->len, "pack");
  LLVMValueRef src = iadd(c, imul(c, p.i, cg_i64(c, g->n)), j0),
               dst = imul(c, p.i, cg_i64(c, cols));
  for (int64_t v = 0; v < cols / g->vw; v++)
    vec_store(c, g, vec_load(c, g, g->b, iadd(c, src, cg_i64(c, v * g->vw))), pack,
              iadd(c, dst, cg_i64(c, v * g->vw)));
  cg_loop_end(c, &p);
}

/* Rows [u0, u1): for each column strip (packed when it is large and B is
 * wide), MR-row tiles then single rows; then the columns left over, one row
 * at a time. */
static void emit_rows(cg *c, gemm *g, LLVMValueRef u0, LLVMValueRef u1, LLVMValueRef pack,
                      LLVMValueRef acc[MR][NV_MAX]) {
  int64_t tile_cols = (int64_t)g->nv * g->vw, full = g->nv ? g->n / tile_cols * tile_cols : 0;
  LLVMValueRef tiles = LLVMBuildSDiv(c->b, LLVMBuildSub(c->b, u1, u0, ""), cg_i64(c, MR), "");
  LLVMValueRef split = iadd(c, u0, imul(c, tiles, cg_i64(c, MR)));
  if (full > 0) {
    cg_loop j;
    cg_loop_begin(c, &j, cg_i64(c, 0), cg_i64(c, full / tile_cols), "strip");
    LLVMValueRef j0 = imul(c, j.i, cg_i64(c, tile_cols)), bj0 = j0;
    if (pack) {
      emit_pack(c, g, pack, j0, tile_cols);
      g->b_tile = pack, g->b_stride = cg_i64(c, tile_cols), bj0 = cg_i64(c, 0);
    } else {
      g->b_tile = g->b, g->b_stride = cg_i64(c, g->n);
    }
    cg_loop t;
    cg_loop_begin(c, &t, cg_i64(c, 0), tiles, "tile");
    emit_tile(c, g, iadd(c, u0, imul(c, t.i, cg_i64(c, MR))), MR, j0, bj0, acc);
    cg_loop_end(c, &t);
    cg_loop r;
    cg_loop_begin(c, &r, split, u1, "row");
    emit_tile(c, g, r.i, 1, j0, bj0, acc);
    cg_loop_end(c, &r);
    cg_loop_end(c, &j);
  }
  if (full < g->n) {
    cg_loop r;
    cg_loop_begin(c, &r, u0, u1, "rowc");
    emit_scalar_columns(c, g, r.i, full);
    cg_loop_end(c, &r);
  }
}

/* Packing pays when B's rows are far apart and several row tiles reuse a strip. */
#define PACK_MIN_COLUMNS 64
#define PACK_MAX_FLOATS (256 * 1024) /* a strip of len x 16 floats on the stack */

void cg_emit_gemm(cg *c, LLVMValueRef a, LLVMValueRef b, LLVMValueRef out, LLVMValueRef a_row,
                  LLVMValueRef a_step, LLVMValueRef len, int64_t n, LLVMValueRef u0,
                  LLVMValueRef u1) {
  gemm g;
  memset(&g, 0, sizeof g);
  g.a = a, g.b = b, g.c = out, g.a_row = a_row, g.a_step = a_step, g.len = len, g.n = n;
  g.vw = c->vector_width;
  g.nv = (int)(n / g.vw) < NV_MAX ? (int)(n / g.vw) : NV_MAX;
  g.vec = LLVMVectorType(c->f32, (unsigned)g.vw);
  g.f64 = c->accumulate_f64;
  g.acc_scalar = g.f64 ? LLVMDoubleTypeInContext(c->ctx) : c->f32;
  g.acc_vec = LLVMVectorType(g.acc_scalar, (unsigned)g.vw);
  g.b_tile = b, g.b_stride = cg_i64(c, n);
  LLVMValueRef acc[MR][NV_MAX];
  for (int r = 0; r < MR; r++)
    for (int v = 0; v < NV_MAX; v++) acc[r][v] = cg_alloca(c, g.acc_vec, "acc");
  int64_t tile_cols = (int64_t)g.nv * g.vw;
  LLVMValueRef pack = NULL;
  if (g.nv > 0 && n >= PACK_MIN_COLUMNS && LLVMIsConstant(len) &&
      LLVMConstIntGetSExtValue(len) * tile_cols <= PACK_MAX_FLOATS) {
    /* a fixed-size buffer in the entry block: one per call, no allocation */
    LLVMBasicBlockRef here = LLVMGetInsertBlock(c->b);
    LLVMPositionBuilderBefore(c->b, LLVMGetFirstInstruction(LLVMGetEntryBasicBlock(c->fn)));
    LLVMValueRef buf = LLVMBuildArrayAlloca(
        c->b, c->f32, cg_i64(c, LLVMConstIntGetSExtValue(len) * tile_cols), "pack");
    LLVMSetAlignment(buf, 64);
    LLVMPositionBuilderAtEnd(c->b, here);
    pack = buf;
  }
  emit_rows(c, &g, u0, u1, pack, acc);
}
