/* Register tiles for kernels whose rows do not sit at a fixed stride (the
 * convolutions): a tile is `rows` rows by `nv` vectors of C, its
 * accumulators held in registers while the caller runs one or more
 * contractions into it, each row reading A through its own pointer (a
 * padded row points at zeros). Every element is one chain of fused
 * multiply-adds in the order the caller runs the contractions, whatever the
 * tile shape it falls in, so results do not depend on how rows are tiled or
 * split between threads. */
#include <llvm-c/Core.h>
#include <stdio.h>

#include "compiler/codegen/cg.h"

static LLVMValueRef gep(cg *c, LLVMValueRef base, LLVMValueRef index) {
  return LLVMBuildGEP2(c->b, c->f32, base, &index, 1, "");
}

/* float* as a pointer to the tile's element (typed pointers: LLVM 14) */
static LLVMValueRef as_vec(cg *c, const cg_tile *t, LLVMValueRef p) {
  return t->nv ? LLVMBuildBitCast(c->b, p, LLVMPointerType(t->vec, 0), "") : p;
}

static LLVMValueRef load_vec(cg *c, const cg_tile *t, LLVMValueRef p) {
  LLVMValueRef v = LLVMBuildLoad2(c->b, t->vec, as_vec(c, t, p), "");
  LLVMSetAlignment(v, 4);
  return v;
}

static LLVMValueRef splat(cg *c, const cg_tile *t, LLVMValueRef x) {
  if (!t->nv) return x;
  LLVMValueRef undef = LLVMGetUndef(t->vec);
  LLVMValueRef one = LLVMBuildInsertElement(c->b, undef, x, LLVMConstInt(c->i32, 0, 0), "");
  return LLVMBuildShuffleVector(c->b, one, undef,
                                LLVMConstNull(LLVMVectorType(c->i32, (unsigned)t->vw)), "");
}

void cg_tile_init(cg *c, cg_tile *t, int rows, int nv) {
  t->rows = rows;
  t->nv = nv;
  t->vw = c->vector_width;
  t->vec = nv ? LLVMVectorType(c->f32, (unsigned)t->vw) : c->f32;
  for (int r = 0; r < rows; r++)
    for (int v = 0; v < (nv ? nv : 1); v++) t->acc[r][v] = cg_alloca(c, t->vec, "tacc");
}

void cg_tile_zero(cg *c, const cg_tile *t) {
  for (int r = 0; r < t->rows; r++)
    for (int v = 0; v < (t->nv ? t->nv : 1); v++)
      LLVMBuildStore(c->b, LLVMConstNull(t->vec), t->acc[r][v]);
}

void cg_tile_load(cg *c, const cg_tile *t, LLVMValueRef *from) {
  for (int r = 0; r < t->rows; r++)
    for (int v = 0; v < (t->nv ? t->nv : 1); v++) {
      LLVMValueRef p = v ? gep(c, from[r], cg_i64(c, (int64_t)v * t->vw)) : from[r];
      LLVMBuildStore(c->b, load_vec(c, t, p), t->acc[r][v]);
    }
}

void cg_tile_fma(cg *c, const cg_tile *t, LLVMValueRef *a, LLVMValueRef a_step, LLVMValueRef b,
                 LLVMValueRef b_step, LLVMValueRef len) {
  int nv = t->nv ? t->nv : 1;
  cg_loop p;
  cg_loop_begin(c, &p, cg_i64(c, 0), len, "tp");
  LLVMValueRef bp = gep(c, b, cg_imul(c, p.i, b_step)), ap = cg_imul(c, p.i, a_step);
  LLVMValueRef bv[CG_TILE_VECS];
  for (int v = 0; v < nv; v++)
    bv[v] = load_vec(c, t, v ? gep(c, bp, cg_i64(c, (int64_t)v * t->vw)) : bp);
  for (int r = 0; r < t->rows; r++) {
    LLVMValueRef av = splat(c, t, LLVMBuildLoad2(c->b, c->f32, gep(c, a[r], ap), ""));
    for (int v = 0; v < nv; v++) {
      LLVMValueRef acc = LLVMBuildLoad2(c->b, t->vec, t->acc[r][v], "");
      LLVMBuildStore(c->b, cg_fma(c, av, bv[v], acc), t->acc[r][v]);
    }
  }
  cg_loop_end(c, &p);
}

void cg_tile_store(cg *c, const cg_tile *t, LLVMValueRef *out) {
  for (int r = 0; r < t->rows; r++)
    for (int v = 0; v < (t->nv ? t->nv : 1); v++) {
      LLVMValueRef x = LLVMBuildLoad2(c->b, t->vec, t->acc[r][v], "");
      LLVMValueRef p = v ? gep(c, out[r], cg_i64(c, (int64_t)v * t->vw)) : out[r];
      LLVMSetAlignment(LLVMBuildStore(c->b, x, as_vec(c, t, p)), 4);
    }
}

/* Columns [0, n): strips of CG_TILE_VECS vectors, one strip of the vectors
 * left, then single columns. */
void cg_tile_columns(cg *c, int rows, int64_t n, int vectors, cg_tile_body body, void *ctx) {
  int64_t vw = c->vector_width, strip = CG_TILE_VECS * vw;
  int64_t full = vectors ? n / strip : 0, rest = vectors ? (n - full * strip) / vw : 0;
  int64_t scalar_from = full * strip + rest * vw;
  cg_tile t;
  if (full > 0) {
    cg_tile_init(c, &t, rows, CG_TILE_VECS);
    cg_loop j;
    cg_loop_begin(c, &j, cg_i64(c, 0), cg_i64(c, full), "strip");
    body(c, ctx, &t, cg_imul(c, j.i, cg_i64(c, strip)));
    cg_loop_end(c, &j);
  }
  if (rest > 0) {
    cg_tile_init(c, &t, rows, (int)rest);
    body(c, ctx, &t, cg_i64(c, full * strip));
  }
  if (scalar_from < n) {
    cg_tile_init(c, &t, rows, 0);
    cg_loop j;
    cg_loop_begin(c, &j, cg_i64(c, scalar_from), cg_i64(c, n), "col");
    body(c, ctx, &t, j.i);
    cg_loop_end(c, &j);
  }
}

/* Rows [r0, r1): tiles of CG_TILE_ROWS, then the rest as one tile (when the
 * bounds are not constants, a switch over the 1 to CG_TILE_ROWS - 1 left). */
void cg_tile_rows(cg *c, LLVMValueRef r0, LLVMValueRef r1, cg_rows_body body, void *ctx) {
  if (LLVMIsConstant(r0) && LLVMIsConstant(r1)) {
    int64_t a = LLVMConstIntGetSExtValue(r0), n = LLVMConstIntGetSExtValue(r1) - a;
    int64_t full = n / CG_TILE_ROWS;
    if (full > 0) {
      cg_loop t;
      cg_loop_begin(c, &t, cg_i64(c, 0), cg_i64(c, full), "rtile");
      body(c, ctx, CG_TILE_ROWS, cg_iadd(c, r0, cg_imul(c, t.i, cg_i64(c, CG_TILE_ROWS))));
      cg_loop_end(c, &t);
    }
    if (n % CG_TILE_ROWS) body(c, ctx, (int)(n % CG_TILE_ROWS), cg_i64(c, a + full * CG_TILE_ROWS));
    return;
  }
  LLVMValueRef tiles =
      LLVMBuildSDiv(c->b, LLVMBuildSub(c->b, r1, r0, ""), cg_i64(c, CG_TILE_ROWS), "");
  LLVMValueRef split = cg_iadd(c, r0, cg_imul(c, tiles, cg_i64(c, CG_TILE_ROWS)));
  cg_loop t;
  cg_loop_begin(c, &t, cg_i64(c, 0), tiles, "rtile");
  body(c, ctx, CG_TILE_ROWS, cg_iadd(c, r0, cg_imul(c, t.i, cg_i64(c, CG_TILE_ROWS))));
  cg_loop_end(c, &t);
  /* the 0 to CG_TILE_ROWS - 1 rows left as one tile of that many */
  LLVMValueRef left = LLVMBuildSub(c->b, r1, split, "");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "rleft_done");
  LLVMValueRef sw = LLVMBuildSwitch(c->b, left, done, CG_TILE_ROWS - 1);
  for (int n = 1; n < CG_TILE_ROWS; n++) {
    LLVMBasicBlockRef bb = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "rleft");
    LLVMAddCase(sw, cg_i64(c, n), bb);
    LLVMPositionBuilderAtEnd(c->b, bb);
    body(c, ctx, n, split);
    LLVMBuildBr(c->b, done);
  }
  LLVMPositionBuilderAtEnd(c->b, done);
}
