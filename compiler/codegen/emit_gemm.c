/* Register-blocked matrix products in LLVM IR with explicit vectors.
 *
 * C[r, j] = sum over the contraction index p of A(r, p) * B(p, j), where
 * A(r, p) = A[r * a_row + p * a_step] covers both the plain product
 * (x @ W: a_row = K, a_step = 1) and the transposed one (x^T @ dy for weight
 * gradients: a_row = 1, a_step = K), and B(p, j) is b[p * n + j], or
 * b[j * len + p] with transpose_b (dy @ W^T for input gradients, W read in
 * place).
 *
 * The contraction runs in blocks of KC (gemm_target): for each block, each
 * column strip of NV vectors is copied into a contiguous pack (transposed
 * when transpose_b), then MR-row tiles, then 4-, 2- and 1-row tiles keep
 * their accumulators in registers through the block. The last strip holds
 * the columns left over and uses masked loads and stores. Between blocks
 * the partial sums wait in C: storing and reloading a float is exact, so
 * every C element is the same chain of fused multiply-adds over p in order,
 * whatever the tile, the block, the vector width or the thread it falls
 * in, and the result does not depend on any of them.
 *
 * With accumulate_f64 the accumulators are doubles (each product and sum in
 * float64, one rounding to float32 at the store): slower, and immune to the
 * float32 rounding of long sums. A double partial sum cannot wait in a float
 * C, so that mode does not block over K. */
#include <llvm-c/Core.h>
#include <llvm-c/DebugInfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/codegen/cg.h"

/* The tile shape per vector width: MR rows x NV vectors of accumulators,
 * plus NV B vectors and one broadcast, within the vector registers (AVX-512:
 * 32, AVX2: 16); KC keeps a packed strip (KC x NV vectors) in L1/L2.
 * in_place: B (not transposed) of at most this many columns is read in
 * place by the tiles, wider B is packed. Measured (docs/performance.md,
 * "Session 25: B in place"): at width 16 the pack cost more than it saved
 * up to 1024 columns (forward products +10-15 %), at width 8 reading 512
 * or 1024 columns in place lost (one line a row, 2-4 KB apart: the rows
 * share a few L1 sets) and 64 gained. */
typedef struct gemm_target {
  int vw, mr, nv, kc, in_place;
} gemm_target;

static const gemm_target gemm_targets[] = {
    {16, 12, 2, 512, 1024}, /* AVX-512: 24 accumulators */
    {8, 6, 2, 512, 64},     /* AVX2: 12 accumulators */
    {4, 6, 2, 512, 64},     /* SSE */
};

#define MR_MAX 12
#define NV_MAX 2
#define PACK_MAX_FLOATS (256 * 1024)

static gemm_target target_for(int vw) {
  for (size_t i = 0; i < sizeof gemm_targets / sizeof gemm_targets[0]; i++)
    if (gemm_targets[i].vw == vw) return gemm_targets[i];
  return gemm_targets[sizeof gemm_targets / sizeof gemm_targets[0] - 1];
}

int cg_gemm_tile_rows(int vector_width) {
  return target_for(vector_width).mr;
}

int cg_gemm_tile_cols(int vector_width) {
  gemm_target t = target_for(vector_width);
  return t.nv * t.vw;
}

typedef struct gemm {
  LLVMValueRef a, b, c;       /* float* */
  LLVMValueRef a_row, a_step; /* i64 */
  LLVMValueRef len;           /* contraction length, i64 */
  LLVMValueRef kb, kc;        /* the current block of the contraction */
  LLVMValueRef first;         /* i1: kb == 0 (accumulators start at zero) */
  LLVMValueRef pack;          /* float[kc x strip width], or NULL: B read in place */
  LLVMValueRef n;             /* columns of B and C, i64 (a constant when inline) */
  const cg_gemm_epi *epi;     /* NULL: C is the product */
  LLVMValueRef last;          /* i1: the last block (the tile's sums are final) */
  int single;                 /* the contraction is one block: last is always true */
  int small;                  /* C has this many rows (5 to mr - 1): one tile of them */
  int transpose_b, f64;
  /* the group's epilogue runs on each tile (cg_tile_group_epilogue): the
   * final sums go to `stage` (mr x strip width floats), and to C too
   * when store_c (C is read outside the group) */
  int tile_group, store_c;
  LLVMValueRef stage;
  gemm_target t;
  int vw;
  LLVMTypeRef vec, mask_t;
  LLVMTypeRef acc_vec, acc_scalar; /* float or double */
} gemm;

/* One column strip: vectors of vw columns from j0, the last one with
 * `lanes` columns (vw when the strip is full), or, in a library strip
 * whose last vector is partial, with the columns of mask (lanes is then
 * vw and read by no mask). */
typedef struct strip {
  LLVMValueRef j0;
  int vecs, lanes;
  LLVMValueRef mask;       /* <vw x i1> known at run time, or NULL */
  LLVMValueRef mask_lanes; /* i64: its live lanes (the first ones) */
} strip;

static LLVMValueRef imul(cg *c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildMul(c->b, a, b, "");
}
static LLVMValueRef iadd(cg *c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildAdd(c->b, a, b, "");
}
static LLVMValueRef iconst(cg *c, int64_t v) {
  return cg_i64(c, v);
}

static int lanes_of(const strip *s, int v, int vw) {
  return v == s->vecs - 1 ? s->lanes : vw;
}

/* The live lanes of the strip's vector v as a mask, NULL when all are */
static LLVMValueRef mask_of(cg *c, const gemm *g, const strip *s, int v) {
  if (v != s->vecs - 1) return NULL;
  if (s->mask) return s->mask;
  return s->lanes < g->vw ? cg_lane_mask_at_run_time(c, g->vw, iconst(c, s->lanes)) : NULL;
}

/* base[index ..] as the strip's vector v (its dead lanes read as zero) */
static LLVMValueRef strip_load(cg *c, const gemm *g, const strip *s, int v, LLVMValueRef base,
                               LLVMValueRef index) {
  return cg_vec_load_masked(c, g->vw, mask_of(c, g, s, v), base, index);
}

/* base[index ..] as a vector; lanes < vw: the others read as zero */
static LLVMValueRef vec_load(cg *c, const gemm *g, LLVMValueRef base, LLVMValueRef index,
                             int lanes) {
  return cg_vec_load(c, g->vw, lanes, base, index);
}

/* acc + a * b in the accumulator type (a, b are float vectors) */
static LLVMValueRef vfma(cg *c, const gemm *g, LLVMValueRef a, LLVMValueRef b, LLVMValueRef acc) {
  if (g->f64)
    a = LLVMBuildFPExt(c->b, a, g->acc_vec, ""), b = LLVMBuildFPExt(c->b, b, g->acc_vec, "");
  return cg_fma(c, a, b, acc);
}

/* B(kb + p, j0 + v*vw ..) as the tiles read it: from the pack, or in place */
static LLVMValueRef b_vector(cg *c, const gemm *g, const strip *s, LLVMValueRef p, int v) {
  int lanes = lanes_of(s, v, g->vw);
  if (g->pack)
    return vec_load(
        c, g, g->pack,
        iadd(c, imul(c, p, iconst(c, (int64_t)s->vecs * g->vw)), iconst(c, (int64_t)v * g->vw)),
        g->vw);
  LLVMValueRef row = iadd(c, g->kb, p), col = iadd(c, s->j0, iconst(c, (int64_t)v * g->vw));
  if (!g->transpose_b) return strip_load(c, g, s, v, g->b, iadd(c, imul(c, row, g->n), col));
  LLVMValueRef x = LLVMConstNull(g->vec); /* gathered from `lanes` rows of W */
  LLVMValueRef live = v == s->vecs - 1 ? s->mask : NULL;
  for (int l = 0; l < (live ? g->vw : lanes); l++) {
    LLVMValueRef at = iadd(c, imul(c, iadd(c, col, iconst(c, l)), g->len), row), e;
    if (live) { /* a row past the strip's columns: element 0 read, zero kept */
      LLVMValueRef on =
          LLVMBuildExtractElement(c->b, live, LLVMConstInt(c->i32, (unsigned)l, 0), "");
      e = cg_select(c, on, cg_load(c, g->b, cg_select(c, on, at, iconst(c, 0))), cg_f32(c, 0));
    } else {
      e = cg_load(c, g->b, at);
    }
    x = LLVMBuildInsertElement(c->b, x, e, LLVMConstInt(c->i32, (unsigned)l, 0), "");
  }
  return x;
}

/* One vw x vw block of the transposed pack: rows p0 .. p0+vw-1 of the
 * pack's vector v, read as vw vectors along W's rows j0 + v*vw + l (rows
 * past n: zero) and transposed in registers (cg_transpose_square). A copy:
 * the pack holds the same floats as the scalar loop's. */
static void pack_transposed_block(cg *c, const gemm *g, const strip *s, int v, LLVMValueRef p0,
                                  int64_t width) {
  int vw = g->vw, lanes = lanes_of(s, v, vw);
  LLVMValueRef x[16];
  LLVMValueRef col0 = iadd(c, s->j0, iconst(c, (int64_t)v * vw));
  LLVMValueRef at = iadd(c, g->kb, p0);
  LLVMValueRef live = v == s->vecs - 1 ? s->mask : NULL;
  for (int l = 0; l < vw; l++) {
    LLVMValueRef from = iadd(c, imul(c, iadd(c, col0, iconst(c, l)), g->len), at);
    if (live) { /* row l of W read whole or not at all */
      LLVMValueRef on =
          LLVMBuildExtractElement(c->b, live, LLVMConstInt(c->i32, (unsigned)l, 0), "");
      LLVMValueRef all = cg_select(c, on, iconst(c, vw), iconst(c, 0));
      x[l] = cg_vec_load_masked(c, vw, cg_lane_mask_at_run_time(c, vw, all), g->b, from);
    } else {
      x[l] = l < lanes ? vec_load(c, g, g->b, from, vw) : LLVMConstNull(g->vec);
    }
  }
  cg_transpose_square(c, x, vw, 1); /* a freeze after round 2: pack_freeze.c */
  for (int k = 0; k < vw; k++)
    cg_vec_store(
        c, x[k], vw, g->pack,
        iadd(c, imul(c, iadd(c, p0, iconst(c, k)), iconst(c, width)), iconst(c, (int64_t)v * vw)));
}

/* 1 when the strip's contraction is known shorter than a vector: A is read
 * along its rows (a_step 1) with a constant row stride below vw, so K (at
 * most that stride) leaves the transposed pack no whole vw x vw block; its
 * block loop would run no iteration, yet code generation paid for the
 * transposes (docs/performance.md, "Session 17: cold compile"). Only a
 * choice of code: the scalar loop copies the same floats whatever K is.
 * NNC_PACK_SHORT=0 keeps the block loop. */
static int pack_short_k(const gemm *g) {
  const char *e = getenv("NNC_PACK_SHORT");
  if (e && !strcmp(e, "0")) return 0;
  return LLVMIsConstant(g->a_step) && LLVMConstIntGetSExtValue(g->a_step) == 1 &&
         LLVMIsConstant(g->a_row) && LLVMConstIntGetSExtValue(g->a_row) < g->vw;
}

/* Copy block kb of the strip into pack[kc, vecs*vw] (columns past n: zero). */
static void emit_pack(cg *c, const gemm *g, const strip *s) {
  int64_t width = (int64_t)s->vecs * g->vw;
  if (!g->transpose_b) {
    cg_loop p;
    cg_loop_begin(c, &p, iconst(c, 0), g->kc, "pack");
    LLVMValueRef src = iadd(c, imul(c, iadd(c, g->kb, p.i), g->n), s->j0),
                 dst = imul(c, p.i, iconst(c, width));
    for (int v = 0; v < s->vecs; v++) {
      LLVMValueRef off = iconst(c, (int64_t)v * g->vw);
      cg_vec_store(c, strip_load(c, g, s, v, g->b, iadd(c, src, off)), g->vw, g->pack,
                   iadd(c, dst, off));
    }
    cg_loop_end(c, &p);
    return;
  }
  /* W[j, kb ..] is contiguous: vw x vw blocks transposed in registers, then
   * the block's last kc % vw rows one float at a time. A contraction
   * shorter than a vector never fills a block: no blocks, the scalar loop
   * packs every row (pack_short_k) */
  LLVMValueRef whole = iconst(c, 0);
  if (!pack_short_k(g)) {
    whole = LLVMBuildAnd(c->b, g->kc, iconst(c, -(int64_t)g->vw), "");
    cg_loop q;
    cg_loop_begin(c, &q, iconst(c, 0), LLVMBuildSDiv(c->b, whole, iconst(c, g->vw), ""), "packv");
    LLVMValueRef p0 = imul(c, q.i, iconst(c, g->vw));
    for (int v = 0; v < s->vecs; v++) pack_transposed_block(c, g, s, v, p0, width);
    cg_loop_end(c, &q);
  }
  LLVMValueRef valid = iconst(c, width - g->vw + s->lanes);
  if (s->mask) /* the mask's live lanes: its leading ones */
    valid = iadd(c, iconst(c, width - g->vw), s->mask_lanes);
  cg_loop j;
  cg_loop_begin(c, &j, iconst(c, 0), iconst(c, width), "packt");
  LLVMValueRef in = LLVMBuildICmp(c->b, LLVMIntSLT, j.i, valid, "");
  LLVMValueRef src = iadd(c, imul(c, iadd(c, s->j0, j.i), g->len), g->kb);
  cg_loop p;
  cg_loop_begin(c, &p, whole, g->kc, "packtp");
  LLVMValueRef x = cg_load(c, g->b, cg_select(c, in, iadd(c, src, p.i), iconst(c, 0)));
  cg_store(c, cg_select(c, in, x, cg_f32(c, 0)), g->pack,
           iadd(c, imul(c, p.i, iconst(c, width)), j.i));
  cg_loop_end(c, &p);
  cg_loop_end(c, &j);
}

/* The tile's sums out of the accumulators: into C, or with `epilogue` through
 * the matmul's chain (gemm_epi.c), each chain value read elsewhere stored,
 * C only when the product itself is. */
static void store_tile(cg *c, const gemm *g, const strip *s, LLVMValueRef *crow, int rows,
                       LLVMValueRef acc[MR_MAX][NV_MAX], int epilogue) {
  for (int r = 0; r < rows; r++)
    for (int v = 0; v < s->vecs; v++) {
      LLVMValueRef x = LLVMBuildLoad2(c->b, g->acc_vec, acc[r][v], "");
      if (g->f64) x = LLVMBuildFPTrunc(c->b, x, g->vec, "");
      LLVMValueRef off = iconst(c, (int64_t)v * g->vw), at = iadd(c, crow[r], off);
      int lanes = lanes_of(s, v, g->vw);
      if (!epilogue || g->epi->store_raw) cg_vec_store_masked(c, x, mask_of(c, g, s, v), g->c, at);
      if (epilogue)
        cg_gemm_epi_apply(c, g->epi, x, lanes, v == s->vecs - 1 ? s->mask : NULL, 0,
                          iadd(c, s->j0, off), at);
    }
}

/* The tile's final sums into the staging tile (and C when read outside the
 * group), then the group's epilogue on its rows x the strip's columns while
 * they are in L1: every element gets the same nodes in the same order on
 * the same values as in the loop after the whole product. */
static void store_tile_group(cg *c, const gemm *g, const strip *s, LLVMValueRef r0,
                             LLVMValueRef *crow, int rows, LLVMValueRef acc[MR_MAX][NV_MAX]) {
  int64_t width = (int64_t)s->vecs * g->vw;
  for (int r = 0; r < rows; r++)
    for (int v = 0; v < s->vecs; v++) {
      LLVMValueRef x = LLVMBuildLoad2(c->b, g->acc_vec, acc[r][v], "");
      if (g->f64) x = LLVMBuildFPTrunc(c->b, x, g->vec, "");
      LLVMValueRef off = iconst(c, (int64_t)v * g->vw);
      if (g->store_c) cg_vec_store(c, x, lanes_of(s, v, g->vw), g->c, iadd(c, crow[r], off));
      cg_vec_store(c, x, g->vw, g->stage, iconst(c, r * width + (int64_t)v * g->vw));
    }
  cg_tile_group_epilogue(c, r0, rows, s->j0, width - g->vw + s->lanes, g->stage, width);
}

/* One tile: rows r0 .. r0+rows-1 of C in strip s, over block kb of the
 * contraction. */
static void emit_tile(cg *c, const gemm *g, const strip *s, LLVMValueRef r0, int rows,
                      LLVMValueRef acc[MR_MAX][NV_MAX]) {
  LLVMValueRef crow[MR_MAX], arow[MR_MAX];
  for (int r = 0; r < rows; r++) {
    LLVMValueRef row = iadd(c, r0, iconst(c, r));
    crow[r] = iadd(c, imul(c, row, g->n), s->j0);
    arow[r] = imul(c, row, g->a_row);
  }
  for (int r = 0; r < rows; r++)
    for (int v = 0; v < s->vecs; v++) {
      LLVMValueRef start = LLVMConstNull(g->acc_vec);
      if (g->first) /* later blocks continue the chain from C */
        start = cg_select(
            c, g->first, start,
            strip_load(c, g, s, v, g->c, iadd(c, crow[r], iconst(c, (int64_t)v * g->vw))));
      LLVMBuildStore(c->b, start, acc[r][v]);
    }
  cg_loop p;
  cg_loop_begin(c, &p, iconst(c, 0), g->kc, "p");
  if (g->tile_group) { /* row p of the next tile, in the first `rows` steps */
    LLVMBasicBlockRef fetch = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "prefetch");
    LLVMBasicBlockRef on = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "p_fma");
    LLVMBuildCondBr(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, p.i, iconst(c, rows), ""), fetch, on);
    LLVMPositionBuilderAtEnd(c->b, fetch);
    cg_tile_group_prefetch(c, iadd(c, iadd(c, r0, iconst(c, rows)), p.i), s->j0,
                           (int64_t)(s->vecs - 1) * g->vw + s->lanes);
    LLVMBuildBr(c->b, on);
    LLVMPositionBuilderAtEnd(c->b, on);
  }
  LLVMValueRef apos = imul(c, iadd(c, g->kb, p.i), g->a_step);
  LLVMValueRef bv[NV_MAX];
  for (int v = 0; v < s->vecs; v++) bv[v] = b_vector(c, g, s, p.i, v);
  for (int r = 0; r < rows; r++) {
    LLVMValueRef av = cg_splat(c, g->vw, cg_load(c, g->a, iadd(c, arow[r], apos)));
    for (int v = 0; v < s->vecs; v++) {
      LLVMValueRef sum = vfma(c, g, av, bv[v], LLVMBuildLoad2(c->b, g->acc_vec, acc[r][v], ""));
      LLVMBuildStore(c->b, sum, acc[r][v]);
    }
  }
  cg_loop_end(c, &p);
  if (g->tile_group && g->single) {
    store_tile_group(c, g, s, r0, crow, rows, acc);
    return;
  }
  if (!g->tile_group && (!g->epi || g->single)) {
    store_tile(c, g, s, crow, rows, acc, g->epi != NULL);
    return;
  }
  /* blocks before the last leave partial sums in C; the last one runs the
   * epilogue on the final sums */
  LLVMBasicBlockRef epi = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "tile_epi");
  LLVMBasicBlockRef raw = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "tile_raw");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "tile_done");
  LLVMBuildCondBr(c->b, g->last, epi, raw);
  LLVMPositionBuilderAtEnd(c->b, epi);
  if (g->tile_group)
    store_tile_group(c, g, s, r0, crow, rows, acc);
  else
    store_tile(c, g, s, crow, rows, acc, 1);
  LLVMBuildBr(c->b, done);
  LLVMPositionBuilderAtEnd(c->b, raw);
  store_tile(c, g, s, crow, rows, acc, 0);
  LLVMBuildBr(c->b, done);
  LLVMPositionBuilderAtEnd(c->b, done);
}

/* Row tile t of `rows` rows from row `from` (emit_strip: in one strip;
 * emit_rows_major: across all its strips); its first row is tile_row0. */
typedef void (*tile_fn)(cg *c, const gemm *g, const void *ctx, LLVMValueRef from, LLVMValueRef t,
                        int rows, LLVMValueRef acc[MR_MAX][NV_MAX]);

static LLVMValueRef tile_row0(cg *c, LLVMValueRef from, LLVMValueRef t, int rows) {
  return iadd(c, from, imul(c, t, iconst(c, rows)));
}

/* 1 when 6-row tiles leave 2 rows to 4-row tiles: with one 6-row tile
 * fewer they are two 4-row tiles instead of two 1-row ones, whose 2 chains
 * each wait on the FMA's latency (W3's batch of 32 at width 8: 5 x 6 + 1 +
 * 1, the 1-row tiles 10-19 % of its strips' time, docs/performance.md
 * "Session 19: W3 and W4 at width 8"). Only which tile a row falls in: each
 * element is the same chain. NNC_TILE_BORROW=0 keeps 5 x 6 + 1 + 1. */
static int tile_borrow(int mr) {
  const char *e = getenv("NNC_TILE_BORROW");
  return mr % 4 == 2 && !(e && !strcmp(e, "0"));
}

/* Rows [u0, u1) as MR-row tiles, then 4-row tiles, then single rows (a
 * 2-row tile too would cost compile time for little; 2 rows left after
 * 6-row tiles are 8 rows in two 4-row tiles: tile_borrow); C of 5 to
 * mr - 1 rows as one tile of them. */
static void each_tile(cg *c, const gemm *g, LLVMValueRef u0, LLVMValueRef u1,
                      LLVMValueRef acc[MR_MAX][NV_MAX], tile_fn tile, const void *ctx) {
  const int sizes[3] = {g->small ? g->small : g->t.mr, 4, 1};
  LLVMValueRef from = u0;
  for (int k = 0; k < 3; k++) {
    if (k > 0 && sizes[k] >= g->t.mr) continue;
    LLVMValueRef size = iconst(c, sizes[k]);
    LLVMValueRef tiles = LLVMBuildSDiv(c->b, LLVMBuildSub(c->b, u1, from, ""), size, "");
    if (k == 0 && !g->small && tile_borrow(g->t.mr)) {
      LLVMValueRef left =
          LLVMBuildSub(c->b, LLVMBuildSub(c->b, u1, from, ""), imul(c, tiles, size), "");
      LLVMValueRef two = LLVMBuildAnd(c->b, LLVMBuildICmp(c->b, LLVMIntEQ, left, iconst(c, 2), ""),
                                      LLVMBuildICmp(c->b, LLVMIntSGT, tiles, iconst(c, 0), ""), "");
      tiles = LLVMBuildSub(c->b, tiles, LLVMBuildZExt(c->b, two, c->i64, ""), "borrow");
    }
    cg_loop t;
    cg_loop_begin(c, &t, iconst(c, 0), tiles, "tile");
    tile(c, g, ctx, from, t.i, sizes[k], acc);
    cg_loop_end(c, &t);
    from = iadd(c, from, imul(c, tiles, size));
  }
}

static void strip_tile(cg *c, const gemm *g, const void *ctx, LLVMValueRef from, LLVMValueRef t,
                       int rows, LLVMValueRef acc[MR_MAX][NV_MAX]) {
  emit_tile(c, g, ctx, tile_row0(c, from, t, rows), rows, acc);
}

/* Rows [u0, u1) of one strip. */
static void emit_strip(cg *c, const gemm *g, const strip *s, LLVMValueRef u0, LLVMValueRef u1,
                       LLVMValueRef acc[MR_MAX][NV_MAX]) {
  if (g->pack) emit_pack(c, g, s);
  each_tile(c, g, u0, u1, acc, strip_tile, s);
}

/* the strips [s0, s1) of emit_rows_major, strip j's pack at pack + j * stride */
typedef struct strip_range {
  LLVMValueRef s0, s1;
  int64_t stride;
} strip_range;

static void row_tile(cg *c, const gemm *g, const void *ctx, LLVMValueRef from, LLVMValueRef t,
                     int rows, LLVMValueRef acc[MR_MAX][NV_MAX]) {
  const strip_range *q = ctx;
  gemm h = *g;
  cg_loop jj;
  cg_loop_begin(c, &jj, q->s0, q->s1, "tile_strip");
  h.pack = LLVMBuildGEP2(c->b, c->f32, g->pack,
                         (LLVMValueRef[]){imul(c, jj.i, iconst(c, q->stride))}, 1, "");
  strip st = {imul(c, jj.i, iconst(c, (int64_t)g->t.nv * g->vw)), g->t.nv, g->vw, NULL, NULL};
  emit_tile(c, &h, &st, tile_row0(c, from, t, rows), rows, acc);
  cg_loop_end(c, &jj);
}

/* A tile-group GEMM's full strips [s0, s1) row block by row block: every
 * strip packed first (strip j at pack + j * stride), then each row tile
 * runs across all strips, so the epilogue walks W and its slots front to
 * back. Each tile is the same code on the same pack: the same sums. */
static void emit_rows_major(cg *c, const gemm *g, LLVMValueRef s0, LLVMValueRef s1, LLVMValueRef u0,
                            LLVMValueRef u1, LLVMValueRef acc[MR_MAX][NV_MAX], int64_t stride) {
  int64_t tile_cols = (int64_t)g->t.nv * g->vw;
  gemm h = *g;
  cg_loop j;
  cg_loop_begin(c, &j, s0, s1, "pack_all");
  h.pack = LLVMBuildGEP2(c->b, c->f32, g->pack, (LLVMValueRef[]){imul(c, j.i, iconst(c, stride))},
                         1, "");
  strip sp = {imul(c, j.i, iconst(c, tile_cols)), g->t.nv, g->vw, NULL, NULL};
  emit_pack(c, &h, &sp);
  cg_loop_end(c, &j);
  strip_range q = {s0, s1, stride};
  each_tile(c, g, u0, u1, acc, row_tile, &q);
}

/* The out-of-line strip (session 12): emit_strip as a function of its
 * run-time operands, one per variant (vector width, transposed B, pack,
 * float64 sums, vectors and lanes of the strip), shared by every matmul of
 * the module instead of unrolled into each. The body is emit_strip's, with
 * n, the block and the strip's first column as arguments instead of
 * constants: the same fused multiply-adds over p in the same order for each
 * element, so results are the same bits; only the index arithmetic is
 * computed at run time (outside the inner loop). */
enum {
  SA_A,
  SA_B,
  SA_C,
  SA_PACK,
  SA_AROW,
  SA_ASTEP,
  SA_LEN,
  SA_N,
  SA_KB,
  SA_KC,
  SA_FIRST,
  SA_J0,
  SA_U0,
  SA_U1,
  SA_LAST,
  SA_LANES, /* the last vector's columns (library strips; the others fold it) */
  SA_EPI,   /* per chain step: its operand's pointer, then its output's */
  SA_COUNT = SA_EPI + 2 * CG_GEMM_EPI_MAX
};

static int is_one(LLVMValueRef v) {
  return LLVMIsConstant(v) && LLVMConstIntGetSExtValue(v) == 1;
}

/* The one chain the library has strips for: a relu's gradient on an input
 * gradient dy W^T (pass_dense_epilogue: times step(h), h loaded at the
 * output's index, only the masked value stored). Every Dense relu layer
 * but the first has one in a training graph. */
static int relu_grad_chain(const gemm *g) {
  const cg_gemm_epi *e = g->epi;
  return e && g->transpose_b && e->n == 1 && !e->store_raw && e->kind[0] == 'M' &&
         e->self[0] == 0 && e->arg[0] && e->out[0];
}

/* A strip of the library (strip_lib.h) when the module takes them from it
 * or builds it: one without an epilogue chain, float64 sums or a small
 * tile, whose other choices are in its name and every operand (the row
 * stride of A and the last vector's columns too) an argument. Measured
 * (docs/performance.md, "Session 28"): the row stride at run time costs
 * nothing, a strip no module constant reaches 0-2 %. */
static int library_strip(const cg *c, const gemm *g) {
  return c->strips != CG_STRIPS_OWN && (!g->epi || relu_grad_chain(g)) && !g->f64 && !g->small;
}

static LLVMValueRef strip_fn(cg *c, const gemm *g, const strip *s) {
  /* A read along its rows (a_step 1): the row stride K stays a constant of
   * an own variant, folded into the addresses of the tile's rows; A read
   * down its columns (a_row 1): the rows are at constant offsets, the
   * stride a run-time step per p */
  int unit_row = is_one(g->a_row), unit_step = is_one(g->a_step), lib = library_strip(c, g);
  int64_t row_k =
      !lib && unit_step && LLVMIsConstant(g->a_row) ? LLVMConstIntGetSExtValue(g->a_row) : 0;
  char name[512], epi_name[384] = "";
  if (g->epi) cg_gemm_epi_name(g->epi, epi_name, sizeof epi_name);
  if (lib)
    cg_gemm_library_name(name, sizeof name, g->vw, g->transpose_b, g->pack != NULL,
                         unit_row + 2 * unit_step, s->vecs, s->lanes < g->vw, g->epi != NULL);
  else
    snprintf(name, sizeof name, "gemm_strip_w%d_t%d_p%d_d%d_a%d_k%lld_%dx%d%s_l%d_m%d", g->vw,
             g->transpose_b, g->pack != NULL, g->f64, unit_row + 2 * unit_step, (long long)row_k,
             s->vecs, s->lanes, epi_name, g->single, g->small);
  LLVMValueRef fn = LLVMGetNamedFunction(c->mod, name);
  if (fn) return fn;
  LLVMTypeRef params[SA_COUNT];
  for (int k = 0; k < SA_COUNT; k++) params[k] = k <= SA_PACK || k >= SA_EPI ? c->ptr : c->i64;
  params[SA_FIRST] = params[SA_LAST] = c->i1;
  fn = LLVMAddFunction(c->mod, name, LLVMFunctionType(c->void_t, params, SA_COUNT, 0));
  if (lib && c->strips == CG_STRIPS_LIBRARY) return fn; /* a declaration: linked */
  LLVMSetLinkage(fn, lib ? LLVMExternalLinkage : LLVMInternalLinkage);
  /* a kernel of its own for the pipelines (jit.c: light, noinline) */
  cg_mark_helper(c, fn);
  /* the kernel's buffers are distinct noalias arguments; A and B only read */
  unsigned noalias = LLVMGetEnumAttributeKindForName("noalias", 7);
  for (int k = 0; k <= SA_PACK; k++)
    LLVMAddAttributeAtIndex(fn, (unsigned)k + 1, LLVMCreateEnumAttribute(c->ctx, noalias, 0));
  for (int k = 0; k < CG_GEMM_EPI_MAX; k++) /* the chain's outputs: distinct buffers */
    LLVMAddAttributeAtIndex(fn, (unsigned)(SA_EPI + 2 * k + 1) + 1,
                            LLVMCreateEnumAttribute(c->ctx, noalias, 0));

  LLVMValueRef caller = c->fn;
  LLVMBasicBlockRef here = LLVMGetInsertBlock(c->b);
  c->fn = fn;
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->ctx, fn, "entry"));
  gemm h = *g;
  h.a = LLVMGetParam(fn, SA_A), h.b = LLVMGetParam(fn, SA_B), h.c = LLVMGetParam(fn, SA_C);
  h.pack = g->pack ? LLVMGetParam(fn, SA_PACK) : NULL;
  /* a unit stride (A read along its rows, or down its columns) stays a
   * constant: it is part of the variant */
  h.a_row = unit_row ? iconst(c, 1) : row_k ? iconst(c, row_k) : LLVMGetParam(fn, SA_AROW);
  h.a_step = unit_step ? iconst(c, 1) : LLVMGetParam(fn, SA_ASTEP);
  h.len = LLVMGetParam(fn, SA_LEN), h.n = LLVMGetParam(fn, SA_N);
  h.kb = LLVMGetParam(fn, SA_KB), h.kc = LLVMGetParam(fn, SA_KC);
  h.first = g->first ? LLVMGetParam(fn, SA_FIRST) : NULL;
  h.last = LLVMGetParam(fn, SA_LAST);
  cg_gemm_epi epi;
  if (g->epi) { /* the chain's pointers are arguments */
    epi = *g->epi;
    for (int k = 0; k < epi.n; k++) {
      if (epi.arg[k]) epi.arg[k] = LLVMGetParam(fn, (unsigned)(SA_EPI + 2 * k));
      if (epi.out[k]) epi.out[k] = LLVMGetParam(fn, (unsigned)(SA_EPI + 2 * k + 1));
    }
    h.epi = &epi;
  }
  strip hs = {LLVMGetParam(fn, SA_J0), s->vecs, s->lanes, NULL, NULL};
  if (lib && s->lanes < g->vw) { /* the last vector's columns: an argument */
    hs.lanes = g->vw;
    hs.mask_lanes = LLVMGetParam(fn, SA_LANES);
    hs.mask = cg_lane_mask_at_run_time(c, g->vw, hs.mask_lanes);
  }
  LLVMValueRef acc[MR_MAX][NV_MAX];
  for (int r = 0; r < h.t.mr; r++)
    for (int v = 0; v < s->vecs; v++) acc[r][v] = cg_alloca(c, h.acc_vec, "acc");
  emit_strip(c, &h, &hs, LLVMGetParam(fn, SA_U0), LLVMGetParam(fn, SA_U1), acc);
  LLVMBuildRetVoid(c->b);
  c->fn = caller;
  LLVMPositionBuilderAtEnd(c->b, here);
  return fn;
}

static void call_strip(cg *c, const gemm *g, const strip *s, LLVMValueRef u0, LLVMValueRef u1) {
  LLVMValueRef fn = strip_fn(c, g, s);
  LLVMValueRef null = LLVMConstNull(c->ptr);
  LLVMValueRef args[SA_COUNT] = {[SA_A] = g->a,
                                 [SA_B] = g->b,
                                 [SA_C] = g->c,
                                 [SA_PACK] = g->pack ? g->pack : null,
                                 [SA_AROW] = g->a_row,
                                 [SA_ASTEP] = g->a_step,
                                 [SA_LEN] = g->len,
                                 [SA_N] = g->n,
                                 [SA_KB] = g->kb,
                                 [SA_KC] = g->kc,
                                 [SA_FIRST] = g->first ? g->first : LLVMConstInt(c->i1, 1, 0),
                                 [SA_J0] = s->j0,
                                 [SA_U0] = u0,
                                 [SA_U1] = u1,
                                 [SA_LAST] = g->last ? g->last : LLVMConstInt(c->i1, 1, 0),
                                 [SA_LANES] = iconst(c, s->lanes)};
  for (int k = 0; k < CG_GEMM_EPI_MAX; k++) {
    int on = g->epi && k < g->epi->n;
    args[SA_EPI + 2 * k] = on && g->epi->arg[k] ? g->epi->arg[k] : null;
    args[SA_EPI + 2 * k + 1] = on && g->epi->out[k] ? g->epi->out[k] : null;
  }
  LLVMBuildCall2(c->b, LLVMGlobalGetValueType(fn), fn, args, SA_COUNT, "");
}

/* One strip, inline (NNC_GEMM_INLINE=1: the code before session 12) or
 * through its shared function. */
static void run_strip(cg *c, const gemm *g, const strip *s, LLVMValueRef u0, LLVMValueRef u1,
                      LLVMValueRef acc[MR_MAX][NV_MAX]) {
  if (c->gemm_inline || g->tile_group) /* the group's epilogue needs its buffers */
    emit_strip(c, g, s, u0, u1, acc);
  else
    call_strip(c, g, s, u0, u1);
}

void cg_emit_gemm(cg *c, const cg_gemm *m, LLVMValueRef u0, LLVMValueRef u1) {
  gemm g;
  memset(&g, 0, sizeof g);
  g.a = m->a, g.b = m->b, g.c = m->out, g.a_row = m->a_row, g.a_step = m->a_step;
  g.len = m->len, g.n = iconst(c, m->n), g.transpose_b = m->transpose_b;
  g.vw = c->vector_width;
  g.t = target_for(g.vw);
  g.vec = LLVMVectorType(c->f32, (unsigned)g.vw);
  g.mask_t = LLVMVectorType(c->i1, (unsigned)g.vw);
  g.f64 = c->accumulate_f64;
  g.acc_scalar = g.f64 ? LLVMDoubleTypeInContext(c->ctx) : c->f32;
  g.acc_vec = LLVMVectorType(g.acc_scalar, (unsigned)g.vw);
  int64_t n = m->n;
  if (n <= 0) return;
  g.epi = m->epi && m->epi->n ? m->epi : NULL;
  /* a weight gradient of 5 to 11 rows (W5's 10-input Dense: 4 + 4 + 1 + 1
   * row tiles, B streamed four times) as one tile */
  if (m->rows > 4 && m->rows < g.t.mr) g.small = (int)m->rows;
  int64_t tile_cols = (int64_t)g.t.nv * g.vw, full = n / tile_cols, rest = n % tile_cols;
  int64_t kc = g.t.kc; /* the K block */
  g.single = g.f64 || (LLVMIsConstant(g.len) && LLVMConstIntGetSExtValue(g.len) <= kc);
  if (c->tile_on && !g.epi) {
    g.tile_group = 1, c->tile_done = 1;
    g.store_c = cg_read_outside_group(c->g, c->tile_anchor);
    /* the tile's staging copy stays a small stack array (1.5 KiB at width
     * 16) that SROA may keep in registers; the packs below are large and
     * live in the thread's scratch */
    LLVMValueRef tile =
        cg_alloca(c, LLVMArrayType(c->f32, (unsigned)(g.t.mr * g.t.nv * g.vw)), "tile_stage");
    LLVMSetAlignment(tile, 64);
    g.stage = LLVMBuildBitCast(c->b, tile, c->ptr, "");
  }
  LLVMValueRef acc[MR_MAX][NV_MAX] = {{NULL}};
  if (c->gemm_inline || g.tile_group)
    for (int r = 0; r < g.t.mr; r++)
      for (int v = 0; v < g.t.nv; v++) acc[r][v] = cg_alloca(c, g.acc_vec, "acc");

  int64_t pack_rows = kc; /* floats of the pack per column */
  if (g.f64) pack_rows = LLVMIsConstant(g.len) ? LLVMConstIntGetSExtValue(g.len) : -1;
  int pack = (g.transpose_b || n > g.t.in_place) && pack_rows >= 0 &&
             pack_rows * tile_cols <= PACK_MAX_FLOATS;
  int64_t per_strip = (pack_rows > 0 ? pack_rows : 1) * tile_cols;
  /* a tile group whose strips all fit one pack walks row block by row block
   * (with B in place, strip by strip: row blocks across in-place strips
   * measured 5 % slower on W4-wide) */
  int rows_major = g.tile_group && pack && rest == 0 && full * per_strip <= PACK_MAX_FLOATS;
  if (pack) g.pack = cg_scratch(c, rows_major ? full * per_strip : per_strip);

  /* blocks of the contraction: at least one, so that len = 0 writes zeros */
  LLVMValueRef kc_max = g.f64 ? g.len : iconst(c, kc);
  LLVMValueRef blocks =
      g.f64 ? iconst(c, 1)
            : LLVMBuildSDiv(c->b, iadd(c, g.len, iconst(c, kc - 1)), iconst(c, kc), "");
  blocks =
      cg_select(c, LLVMBuildICmp(c->b, LLVMIntSLT, blocks, iconst(c, 1), ""), iconst(c, 1), blocks);
  cg_loop k;
  cg_loop_begin(c, &k, iconst(c, 0), blocks, "kblock");
  g.kb = imul(c, k.i, kc_max);
  LLVMValueRef left = LLVMBuildSub(c->b, g.len, g.kb, "");
  g.kc = cg_select(c, LLVMBuildICmp(c->b, LLVMIntSLT, left, kc_max, ""), left, kc_max);
  g.first = g.f64 ? NULL : LLVMBuildICmp(c->b, LLVMIntEQ, k.i, iconst(c, 0), "");
  g.last = LLVMBuildICmp(c->b, LLVMIntEQ, k.i, LLVMBuildSub(c->b, blocks, iconst(c, 1), ""), "");
  /* this thread's strips [s0, s1): full ones, then the narrower last one */
  LLVMValueRef s0 = m->strip0 ? m->strip0 : iconst(c, 0);
  LLVMValueRef s1 = m->strip1 ? m->strip1 : iconst(c, full + (rest > 0));
  if (full > 0) {
    LLVMValueRef end =
        cg_select(c, LLVMBuildICmp(c->b, LLVMIntSLT, s1, iconst(c, full), ""), s1, iconst(c, full));
    if (rows_major) {
      emit_rows_major(c, &g, s0, end, u0, u1, acc, per_strip);
    } else {
      cg_loop j;
      cg_loop_begin(c, &j, s0, end, "strip");
      strip s = {imul(c, j.i, iconst(c, tile_cols)), g.t.nv, g.vw, NULL, NULL};
      run_strip(c, &g, &s, u0, u1, acc);
      cg_loop_end(c, &j);
    }
  }
  if (rest > 0) {
    LLVMValueRef mine = LLVMBuildAnd(c->b, LLVMBuildICmp(c->b, LLVMIntSLE, s0, iconst(c, full), ""),
                                     LLVMBuildICmp(c->b, LLVMIntSGT, s1, iconst(c, full), ""), "");
    LLVMBasicBlockRef run = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "last_strip");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "strips_done");
    LLVMBuildCondBr(c->b, mine, run, done);
    LLVMPositionBuilderAtEnd(c->b, run);
    int vecs = (int)((rest + g.vw - 1) / g.vw);
    strip s = {iconst(c, full * tile_cols), vecs, (int)(rest - (int64_t)(vecs - 1) * g.vw), NULL,
               NULL};
    run_strip(c, &g, &s, u0, u1, acc);
    LLVMBuildBr(c->b, done);
    LLVMPositionBuilderAtEnd(c->b, done);
  }
  cg_loop_end(c, &k);
}

void cg_gemm_library_name(char *buf, size_t n, int vw, int transpose_b, int pack, int a_mode,
                          int vecs, int masked, int relu_grad) {
  snprintf(buf, n, "nnc_gemm_lib_w%d_t%d_p%d_a%d_v%d_m%d%s", vw, transpose_b, pack, a_mode, vecs,
           masked, relu_grad ? "_rg" : "");
}

/* Every variant of the library at c's vector width, defined (c->strips is
 * CG_STRIPS_BUILD): B in place or packed, transposed or not, A read with
 * unit steps or strides along either axis, one or two vectors, full or
 * with a partial last vector; and those with B transposed and A read along
 * its rows once more with a relu's gradient on the tile (relu_grad_chain:
 * its two pointers arguments, the mul a node of no graph): 80 in all. */
int cg_gemm_strip_library(cg *c) {
  static const nnc_node relu_grad_mul = {.op = NNC_OP_BINARY, .n_in = 2, .fn = NNC_BIN_MUL};
  cg_gemm_epi relu_grad;
  memset(&relu_grad, 0, sizeof relu_grad);
  relu_grad.n = 1, relu_grad.node[0] = &relu_grad_mul, relu_grad.kind[0] = 'M';
  relu_grad.arg[0] = relu_grad.out[0] = LLVMConstNull(c->ptr); /* made arguments by strip_fn */
  gemm g;
  memset(&g, 0, sizeof g);
  g.vw = c->vector_width;
  g.t = target_for(g.vw);
  g.vec = LLVMVectorType(c->f32, (unsigned)g.vw);
  g.mask_t = LLVMVectorType(c->i1, (unsigned)g.vw);
  g.acc_scalar = c->f32;
  g.acc_vec = g.vec;
  g.first = g.last = LLVMConstInt(c->i1, 1, 0); /* arguments in the body */
  int n = 0;
  for (int t = 0; t < 3; t++) /* 2: transposed, with the relu gradient */
    for (int p = 0; p < 2; p++)
      for (int a = 0; a < 4; a++)
        for (int vecs = 1; vecs <= g.t.nv; vecs++)
          for (int masked = 0; masked < 2; masked++) {
            if (t == 2 && a < 2) continue; /* an input gradient reads dy along its rows */
            g.transpose_b = t > 0;
            g.epi = t == 2 ? &relu_grad : NULL;
            g.pack = p ? LLVMConstNull(c->ptr) : NULL;
            g.a_row = iconst(c, a & 1 ? 1 : 2); /* 1: a unit stride; else an argument */
            g.a_step = iconst(c, a & 2 ? 1 : 2);
            strip s = {iconst(c, 0), vecs, masked ? g.vw - 1 : g.vw, NULL, NULL};
            if (!strip_fn(c, &g, &s)) return -1;
            n++;
          }
  return n;
}
