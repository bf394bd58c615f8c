/* The three convolution kernels (conv, conv_transpose, conv_filter) as
 * implicit GEMMs through the register tiles of codegen/emit_tile.c: no
 * im2col buffer, each tile of output rows x channel vectors accumulates in
 * registers, reading the input map in place through one pointer per row (a
 * row that falls in the padding points at a block of zeros).
 *
 *   forward   rows: output positions along the last spatial axis of one
 *             (sample, o0, o1) unit; columns: the group's output channels;
 *             contraction: kernel position, then input channel.
 *   input     rows: input positions of one (sample, i0, i1) unit; columns:
 *   gradient  the group's input channels, read from a transposed copy of the
 *             kernel made per call; contraction: kernel position, then
 *             output channel.
 *   filter    rows: the input channels of one kernel position; columns: the
 *   gradient  group's output channels; contraction: sample, then output
 *             position (only the positions whose input is inside the map),
 *             samples outermost with the partial sums kept in dw.
 * Each element's sum runs in that fixed order whatever tile it falls in, so
 * results are the same for any thread count. */
#include "compiler/ops/conv_geom.h"

/* Transposed kernels up to this many floats live on the stack (as the GEMM's
 * packed strips); larger ones are read in place one column at a time. */
#define CONV_PACK_MAX_FLOATS (256 * 1024)

typedef struct ck {
  const conv_geom *g;
  LLVMValueRef in, w, out, zero; /* float*: the map read, the kernel, the result, zeros */
  LLVMValueRef sample, p[2];     /* unit: sample and position along axes 0, 1 */
  LLVMValueRef unit, group;
  LLVMValueRef kk, ci0; /* filter gradient: kernel position, the tile's first row */
  LLVMValueRef lo[3], hi[3], k[3];
  int rows;
  LLVMValueRef r0;
  int packed;          /* input gradient: w is the transposed copy */
  const conv_epi *epi; /* forward: the tile's chain, or NULL */
} ck;

static LLVMValueRef I(cg *c, int64_t v) {
  return cg_i64(c, v);
}
static LLVMValueRef gep(cg *c, LLVMValueRef base, LLVMValueRef index) {
  return LLVMBuildGEP2(c->b, c->f32, base, &index, 1, "");
}
static LLVMValueRef and3(cg *c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildAnd(c->b, a, b, "");
}
static LLVMValueRef imax(cg *c, LLVMValueRef a, LLVMValueRef b) {
  return cg_select(c, LLVMBuildICmp(c->b, LLVMIntSGT, a, b, ""), a, b);
}
static LLVMValueRef imin(cg *c, LLVMValueRef a, LLVMValueRef b) {
  return cg_select(c, LLVMBuildICmp(c->b, LLVMIntSLT, a, b, ""), a, b);
}

/* A block of n zeros in the thread's scratch, filled here (before the unit loop). */
static LLVMValueRef zeros(cg *c, int64_t n) {
  LLVMValueRef buf = cg_scratch(c, n);
  cg_zero_fill(c, buf, I(c, 0), I(c, n));
  return buf;
}

/* (sample, p0, p1) of unit u over a [B, d0, d1] grid */
static void decode_unit(cg *c, ck *k, LLVMValueRef u, int64_t d0, int64_t d1) {
  k->unit = u;
  k->p[1] = LLVMBuildSRem(c->b, u, I(c, d1), "");
  LLVMValueRef t = LLVMBuildSDiv(c->b, u, I(c, d1), "");
  k->p[0] = LLVMBuildSRem(c->b, t, I(c, d0), "");
  k->sample = LLVMBuildSDiv(c->b, t, I(c, d0), "");
}

/* Rows [0, n) in the fewest tiles of at most CG_TILE_ROWS rows, their sizes
 * as even as possible (13 rows: 5 + 4 + 4, not 6 + 6 + 1, whose one-row tile
 * runs one accumulator chain per vector and waits on its latency). Tile
 * shapes do not change any element's chain of multiply-adds. */
static void even_rows(cg *c, int64_t n, cg_rows_body body, void *ctx) {
  if (n <= 0) return;
  int64_t tiles = (n + CG_TILE_ROWS - 1) / CG_TILE_ROWS, small = n / tiles;
  int64_t big = n - tiles * small; /* tiles of small + 1 rows, first */
  int64_t runs[2][3] = {{big, small + 1, 0}, {tiles - big, small, big * (small + 1)}};
  for (int i = 0; i < 2; i++) {
    int64_t count = runs[i][0], rows = runs[i][1], from = runs[i][2];
    if (count == 1) body(c, ctx, (int)rows, I(c, from));
    if (count < 2) continue;
    cg_loop t;
    cg_loop_begin(c, &t, I(c, 0), I(c, count), "rtile");
    body(c, ctx, (int)rows, cg_iadd(c, I(c, from), cg_imul(c, t.i, I(c, rows))));
    cg_loop_end(c, &t);
  }
}

/* ---- forward ---- */

/* the input position along axis a of output position o at kernel offset kpos */
static LLVMValueRef fwd_at(cg *c, const conv_geom *g, int a, LLVMValueRef o, LLVMValueRef kpos) {
  return cg_iadd(c, cg_imul(c, o, I(c, g->stride[a])),
                 cg_iadd(c, cg_imul(c, kpos, I(c, g->dil[a])), I(c, -g->pad[a])));
}

/* kernel offsets along the last axis one by one, each row's pointer checked */
static void fwd_positions(cg *c, const ck *k, const cg_tile *t, LLVMValueRef j0, LLVMValueRef ok01,
                          LLVMValueRef rowbase, LLVMValueRef kbase) {
  const conv_geom *g = k->g;
  cg_loop k2;
  cg_loop_begin(c, &k2, I(c, 0), I(c, g->k[2]), "k2");
  LLVMValueRef a[CG_TILE_ROWS];
  for (int r = 0; r < t->rows; r++) {
    LLVMValueRef i2 = fwd_at(c, g, 2, cg_iadd(c, k->r0, I(c, r)), k2.i);
    LLVMValueRef ok = and3(c, ok01, conv_in_range(c, i2, g->in[2]));
    LLVMValueRef at = cg_iadd(c, cg_imul(c, cg_iadd(c, rowbase, i2), I(c, g->cin)),
                              cg_imul(c, k->group, I(c, g->cin_g)));
    a[r] = cg_select(c, ok, gep(c, k->in, at), k->zero);
  }
  LLVMValueRef wat = cg_iadd(c, cg_imul(c, cg_iadd(c, kbase, k2.i), I(c, g->cin_g * g->cout)),
                             cg_iadd(c, cg_imul(c, k->group, I(c, g->cout_g)), j0));
  cg_tile_fma(c, t, a, I(c, 1), gep(c, k->w, wat), I(c, g->cout), I(c, g->cin_g));
  cg_loop_end(c, &k2);
}

static void fwd_tile(cg *c, void *ctx, const cg_tile *t, LLVMValueRef j0) {
  const ck *k = ctx;
  const conv_geom *g = k->g;
  cg_tile_zero(c, t);
  cg_loop k0, k1;
  cg_loop_begin(c, &k0, I(c, 0), I(c, g->k[0]), "k0");
  cg_loop_begin(c, &k1, I(c, 0), I(c, g->k[1]), "k1");
  LLVMValueRef i0 = fwd_at(c, g, 0, k->p[0], k0.i), i1 = fwd_at(c, g, 1, k->p[1], k1.i);
  LLVMValueRef ok01 = and3(c, conv_in_range(c, i0, g->in[0]), conv_in_range(c, i1, g->in[1]));
  LLVMValueRef rowbase = cg_imul(
      c,
      cg_iadd(c, cg_imul(c, cg_iadd(c, cg_imul(c, k->sample, I(c, g->in[0])), i0), I(c, g->in[1])),
              i1),
      I(c, g->in[2]));
  LLVMValueRef kbase = cg_imul(c, cg_iadd(c, cg_imul(c, k0.i, I(c, g->k[1])), k1.i), I(c, g->k[2]));
  if (g->dil[2] == 1 && g->groups == 1) {
    /* the window of every row inside the map: kernel offsets and channels
     * are one contiguous run in x and in w (the same sums, in the same order) */
    LLVMValueRef first = fwd_at(c, g, 2, k->r0, I(c, 0));
    LLVMValueRef last = fwd_at(c, g, 2, cg_iadd(c, k->r0, I(c, t->rows - 1)), I(c, g->k[2] - 1));
    LLVMValueRef whole = and3(c, ok01,
                              and3(c, LLVMBuildICmp(c->b, LLVMIntSGE, first, I(c, 0), ""),
                                   LLVMBuildICmp(c->b, LLVMIntSLT, last, I(c, g->in[2]), "")));
    LLVMBasicBlockRef run = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "run"),
                      each = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "each"),
                      done = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "done");
    LLVMBuildCondBr(c->b, whole, run, each);
    LLVMPositionBuilderAtEnd(c->b, run);
    LLVMValueRef a[CG_TILE_ROWS];
    for (int r = 0; r < t->rows; r++) {
      LLVMValueRef i2 = fwd_at(c, g, 2, cg_iadd(c, k->r0, I(c, r)), I(c, 0));
      a[r] = gep(c, k->in, cg_imul(c, cg_iadd(c, rowbase, i2), I(c, g->cin)));
    }
    LLVMValueRef wat = cg_iadd(c, cg_imul(c, kbase, I(c, g->cin * g->cout)), j0);
    cg_tile_fma(c, t, a, I(c, 1), gep(c, k->w, wat), I(c, g->cout), I(c, g->k[2] * g->cin));
    LLVMBuildBr(c->b, done);
    LLVMPositionBuilderAtEnd(c->b, each);
    fwd_positions(c, k, t, j0, ok01, rowbase, kbase);
    LLVMBuildBr(c->b, done);
    LLVMPositionBuilderAtEnd(c->b, done);
  } else {
    fwd_positions(c, k, t, j0, ok01, rowbase, kbase);
  }
  cg_loop_end(c, &k1);
  cg_loop_end(c, &k0);
  LLVMValueRef ch = cg_iadd(c, cg_imul(c, k->group, I(c, g->cout_g)), j0);
  LLVMValueRef out[CG_TILE_ROWS];
  if (!k->epi || !k->epi->n) {
    for (int r = 0; r < t->rows; r++) {
      LLVMValueRef row =
          cg_iadd(c, cg_imul(c, k->unit, I(c, g->out[2])), cg_iadd(c, k->r0, I(c, r)));
      out[r] = gep(c, k->out, cg_iadd(c, cg_imul(c, row, I(c, g->cout)), ch));
    }
    cg_tile_store(c, t, out);
    return;
  }
  /* the epilogue on each accumulator vector, in registers */
  int nv = t->nv ? t->nv : 1;
  for (int r = 0; r < t->rows; r++) {
    LLVMValueRef row = cg_iadd(c, cg_imul(c, k->unit, I(c, g->out[2])), cg_iadd(c, k->r0, I(c, r)));
    LLVMValueRef base = cg_iadd(c, cg_imul(c, row, I(c, g->cout)), ch);
    for (int v = 0; v < nv; v++) {
      LLVMValueRef off = I(c, (int64_t)v * t->vw), i = cg_iadd(c, base, off);
      LLVMValueRef x = LLVMBuildLoad2(c->b, t->vec, t->acc[r][v], "");
      if (k->epi->store_raw) conv_tile_put(c, t, x, k->out, i);
      conv_epi_apply(c, k->epi, t, x, cg_iadd(c, ch, off), i);
    }
  }
}

static void fwd_rows(cg *c, void *ctx, int rows, LLVMValueRef r0) {
  ck *k = ctx;
  k->rows = rows, k->r0 = r0;
  cg_tile_columns(c, rows, k->g->cout_g, 1, fwd_tile, k);
}

void conv_emit_forward(cg *c, const conv_geom *g, LLVMValueRef x, LLVMValueRef w, LLVMValueRef out,
                       const conv_epi *epi, LLVMValueRef u0, LLVMValueRef u1) {
  ck k = {.g = g, .in = x, .w = w, .out = out, .epi = epi};
  k.zero = zeros(c, g->cin_g);
  cg_loop u, gr;
  cg_loop_begin(c, &u, u0, u1, "unit");
  decode_unit(c, &k, u.i, g->out[0], g->out[1]);
  cg_loop_begin(c, &gr, I(c, 0), I(c, g->groups), "group");
  k.group = gr.i;
  even_rows(c, g->out[2], fwd_rows, &k);
  cg_loop_end(c, &gr);
  cg_loop_end(c, &u);
}

/* ---- input gradient ---- */

/* the output position o along axis a that input position i reads at kernel
 * offset kpos, and whether there is one (i + pad - kpos dil = o stride) */
static LLVMValueRef back_at(cg *c, const conv_geom *g, int a, LLVMValueRef i, LLVMValueRef kpos,
                            LLVMValueRef *ok) {
  LLVMValueRef num = cg_iadd(c, i, cg_iadd(c, I(c, g->pad[a]), cg_imul(c, kpos, I(c, -g->dil[a]))));
  LLVMValueRef s = I(c, g->stride[a]);
  LLVMValueRef o = g->stride[a] == 1 ? num : LLVMBuildSDiv(c->b, num, s, "");
  LLVMValueRef hit = conv_in_range(c, num, g->out[a] * g->stride[a]);
  if (g->stride[a] > 1)
    hit =
        and3(c, hit, LLVMBuildICmp(c->b, LLVMIntEQ, LLVMBuildSRem(c->b, num, s, ""), I(c, 0), ""));
  *ok = hit;
  return o;
}

static void back_tile(cg *c, void *ctx, const cg_tile *t, LLVMValueRef j0) {
  const ck *k = ctx;
  const conv_geom *g = k->g;
  cg_tile_zero(c, t);
  cg_loop k0, k1, k2;
  cg_loop_begin(c, &k0, I(c, 0), I(c, g->k[0]), "k0");
  cg_loop_begin(c, &k1, I(c, 0), I(c, g->k[1]), "k1");
  LLVMValueRef ok0, ok1;
  LLVMValueRef o0 = back_at(c, g, 0, k->p[0], k0.i, &ok0),
               o1 = back_at(c, g, 1, k->p[1], k1.i, &ok1);
  LLVMValueRef ok01 = and3(c, ok0, ok1);
  /* a (k0, k1) whose output row is outside the map adds only products of
   * zeros: skipped. The accumulators start at +0 and a sum of +0 and a
   * zero stays +0, so the finite results are the same bits. */
  conv_if live;
  conv_if_begin(c, &live, ok01);
  LLVMValueRef rowbase = cg_imul(
      c,
      cg_iadd(c,
              cg_imul(c, cg_iadd(c, cg_imul(c, k->sample, I(c, g->out[0])), o0), I(c, g->out[1])),
              o1),
      I(c, g->out[2]));
  cg_loop_begin(c, &k2, I(c, 0), I(c, g->k[2]), "k2");
  LLVMValueRef a[CG_TILE_ROWS];
  for (int r = 0; r < t->rows; r++) {
    LLVMValueRef ok;
    LLVMValueRef o2 = back_at(c, g, 2, cg_iadd(c, k->r0, I(c, r)), k2.i, &ok);
    LLVMValueRef at = cg_iadd(c, cg_imul(c, cg_iadd(c, rowbase, o2), I(c, g->cout)),
                              cg_imul(c, k->group, I(c, g->cout_g)));
    a[r] = cg_select(c, ok, gep(c, k->in, at), k->zero);
  }
  LLVMValueRef kk = cg_iadd(
      c, cg_imul(c, cg_iadd(c, cg_imul(c, k0.i, I(c, g->k[1])), k1.i), I(c, g->k[2])), k2.i);
  LLVMValueRef b, b_step;
  if (k->packed) { /* wt[kk, group, co, ci] */
    LLVMValueRef blk = cg_iadd(c, cg_imul(c, kk, I(c, g->groups)), k->group);
    b = gep(c, k->w, cg_iadd(c, cg_imul(c, blk, I(c, g->cout_g * g->cin_g)), j0));
    b_step = I(c, g->cin_g);
  } else { /* w[kk, ci, group cout_g + co], one column ci = j0 */
    LLVMValueRef row = cg_iadd(c, cg_imul(c, kk, I(c, g->cin_g)), j0);
    b = gep(c, k->w,
            cg_iadd(c, cg_imul(c, row, I(c, g->cout)), cg_imul(c, k->group, I(c, g->cout_g))));
    b_step = I(c, 1);
  }
  cg_tile_fma(c, t, a, I(c, 1), b, b_step, I(c, g->cout_g));
  cg_loop_end(c, &k2);
  conv_if_end(c, &live);
  cg_loop_end(c, &k1);
  cg_loop_end(c, &k0);
  LLVMValueRef out[CG_TILE_ROWS];
  for (int r = 0; r < t->rows; r++) {
    LLVMValueRef row = cg_iadd(c, cg_imul(c, k->unit, I(c, g->in[2])), cg_iadd(c, k->r0, I(c, r)));
    out[r] = gep(c, k->out,
                 cg_iadd(c, cg_imul(c, row, I(c, g->cin)),
                         cg_iadd(c, cg_imul(c, k->group, I(c, g->cin_g)), j0)));
  }
  cg_tile_store(c, t, out);
}

static void back_rows(cg *c, void *ctx, int rows, LLVMValueRef r0) {
  ck *k = ctx;
  k->rows = rows, k->r0 = r0;
  cg_tile_columns(c, rows, k->g->cin_g, k->packed, back_tile, k);
}

/* wt[kk, group, co, ci] = w[kk, ci, group cout_g + co] */
static LLVMValueRef transpose_kernel(cg *c, const conv_geom *g, LLVMValueRef w) {
  int64_t kvol = g->k[0] * g->k[1] * g->k[2];
  LLVMValueRef wt = cg_scratch(c, kvol * g->cin_g * g->cout);
  cg_loop kk, co, ci;
  cg_loop_begin(c, &kk, I(c, 0), I(c, kvol), "tk");
  cg_loop_begin(c, &co, I(c, 0), I(c, g->cout), "tco");
  cg_loop_begin(c, &ci, I(c, 0), I(c, g->cin_g), "tci");
  LLVMValueRef src = cg_iadd(
      c, cg_imul(c, cg_iadd(c, cg_imul(c, kk.i, I(c, g->cin_g)), ci.i), I(c, g->cout)), co.i);
  /* (kk, group, co in group) is kk cout + co: groups split co in order */
  LLVMValueRef dst = cg_iadd(
      c, cg_imul(c, cg_iadd(c, cg_imul(c, kk.i, I(c, g->cout)), co.i), I(c, g->cin_g)), ci.i);
  cg_store(c, cg_load(c, w, src), wt, dst);
  cg_loop_end(c, &ci);
  cg_loop_end(c, &co);
  cg_loop_end(c, &kk);
  return wt;
}

void conv_emit_input_grad(cg *c, const conv_geom *g, LLVMValueRef dy, LLVMValueRef w,
                          LLVMValueRef out, LLVMValueRef u0, LLVMValueRef u1) {
  ck k = {.g = g, .in = dy, .w = w, .out = out};
  k.zero = zeros(c, g->cout_g);
  int64_t kvol = g->k[0] * g->k[1] * g->k[2];
  k.packed = kvol * g->cin_g * g->cout <= CONV_PACK_MAX_FLOATS && g->cin_g >= c->vector_width;
  if (k.packed) k.w = transpose_kernel(c, g, w);
  cg_loop u, gr;
  cg_loop_begin(c, &u, u0, u1, "unit");
  decode_unit(c, &k, u.i, g->in[0], g->in[1]);
  cg_loop_begin(c, &gr, I(c, 0), I(c, g->groups), "group");
  k.group = gr.i;
  even_rows(c, g->in[2], back_rows, &k);
  cg_loop_end(c, &gr);
  cg_loop_end(c, &u);
}

/* ---- filter gradient ---- */

/* ceil(n / s) and floor(n / s) + 1 for s > 0 (sdiv truncates toward zero) */
static LLVMValueRef ceil_div(cg *c, LLVMValueRef n, int64_t s) {
  LLVMValueRef up = LLVMBuildSDiv(c->b, cg_iadd(c, n, I(c, s - 1)), I(c, s), "");
  return cg_select(c, LLVMBuildICmp(c->b, LLVMIntSLE, n, I(c, 0), ""),
                   LLVMBuildSDiv(c->b, n, I(c, s), ""), up);
}

/* output positions o along axis a whose input o s - pad + k d is inside the map */
static void filter_range(cg *c, ck *k, int a) {
  const conv_geom *g = k->g;
  LLVMValueRef shift = cg_iadd(c, I(c, g->pad[a]), cg_imul(c, k->k[a], I(c, -g->dil[a])));
  k->lo[a] = imax(c, I(c, 0), ceil_div(c, shift, g->stride[a]));
  LLVMValueRef top = cg_iadd(c, shift, I(c, g->in[a] - 1)); /* o s <= top */
  LLVMValueRef hi = imin(c, I(c, g->out[a]),
                         cg_iadd(c, LLVMBuildSDiv(c->b, top, I(c, g->stride[a]), ""), I(c, 1)));
  k->hi[a] = cg_select(c, LLVMBuildICmp(c->b, LLVMIntSLT, top, I(c, 0), ""), I(c, 0), hi);
}

/* the tile's rows of dw for this sample: acc = dw; acc += products; dw = acc */
static void filter_tile(cg *c, void *ctx, const cg_tile *t, LLVMValueRef j0) {
  const ck *k = ctx;
  const conv_geom *g = k->g;
  LLVMValueRef out[CG_TILE_ROWS];
  for (int r = 0; r < t->rows; r++) {
    LLVMValueRef row = cg_iadd(c, cg_imul(c, k->kk, I(c, g->cin_g)), cg_iadd(c, k->ci0, I(c, r)));
    out[r] = gep(c, k->out,
                 cg_iadd(c, cg_imul(c, row, I(c, g->cout)),
                         cg_iadd(c, cg_imul(c, k->group, I(c, g->cout_g)), j0)));
  }
  cg_tile_load(c, t, out);
  cg_loop o0, o1;
  cg_loop_begin(c, &o0, k->lo[0], k->hi[0], "o0");
  cg_loop_begin(c, &o1, k->lo[1], k->hi[1], "o1");
  LLVMValueRef i0 = fwd_at(c, g, 0, o0.i, k->k[0]), i1 = fwd_at(c, g, 1, o1.i, k->k[1]);
  LLVMValueRef i2 = fwd_at(c, g, 2, k->lo[2], k->k[2]);
  LLVMValueRef i[3] = {i0, i1, i2}, o[3] = {o0.i, o1.i, k->lo[2]};
  LLVMValueRef xb = cg_iadd(c, conv_map_index(c, k->sample, i, g->in, g->cin),
                            cg_iadd(c, cg_imul(c, k->group, I(c, g->cin_g)), k->ci0));
  LLVMValueRef a[CG_TILE_ROWS];
  for (int r = 0; r < t->rows; r++) a[r] = gep(c, k->in, cg_iadd(c, xb, I(c, r)));
  LLVMValueRef yb = cg_iadd(c, conv_map_index(c, k->sample, o, g->out, g->cout),
                            cg_iadd(c, cg_imul(c, k->group, I(c, g->cout_g)), j0));
  cg_tile_fma(c, t, a, I(c, g->stride[2] * g->cin), gep(c, k->w, yb), I(c, g->cout),
              LLVMBuildSub(c->b, k->hi[2], k->lo[2], ""));
  cg_loop_end(c, &o1);
  cg_loop_end(c, &o0);
  cg_tile_store(c, t, out);
}

static void filter_rows(cg *c, void *ctx, int rows, LLVMValueRef r0) {
  ck *k = ctx;
  k->rows = rows, k->ci0 = r0;
  cg_tile_columns(c, rows, k->g->cout_g, 1, filter_tile, k);
}

/* With every window inside the map (whole_windows) each kernel position
 * reads the whole output map, so a tile's rows may be any consecutive rows
 * (kernel position, input channel) of dw, each reading x at its own offset:
 * a first layer (one input channel) gets tiles of several kernel positions
 * instead of single rows. The sums run in filter_tile's order. */
static void span_tile(cg *c, void *ctx, const cg_tile *t, LLVMValueRef j0) {
  const ck *k = ctx;
  const conv_geom *g = k->g;
  LLVMValueRef out[CG_TILE_ROWS], off[CG_TILE_ROWS];
  LLVMValueRef col = cg_iadd(c, cg_imul(c, k->group, I(c, g->cout_g)), j0);
  for (int r = 0; r < t->rows; r++) {
    LLVMValueRef u = cg_iadd(c, k->r0, I(c, r));
    LLVMValueRef kk = LLVMBuildSDiv(c->b, u, I(c, g->cin_g), "");
    LLVMValueRef ci = LLVMBuildSRem(c->b, u, I(c, g->cin_g), "");
    LLVMValueRef k2 = LLVMBuildSRem(c->b, kk, I(c, g->k[2]), "");
    LLVMValueRef q = LLVMBuildSDiv(c->b, kk, I(c, g->k[2]), "");
    LLVMValueRef k1 = LLVMBuildSRem(c->b, q, I(c, g->k[1]), "");
    LLVMValueRef k0 = LLVMBuildSDiv(c->b, q, I(c, g->k[1]), "");
    /* x offset of (k0 d0, k1 d1, k2 d2, ci) from the window's corner */
    LLVMValueRef sp = cg_iadd(c,
                              cg_imul(c,
                                      cg_iadd(c, cg_imul(c, k0, I(c, g->dil[0] * g->in[1])),
                                              cg_imul(c, k1, I(c, g->dil[1]))),
                                      I(c, g->in[2])),
                              cg_imul(c, k2, I(c, g->dil[2])));
    off[r] = cg_iadd(c, cg_imul(c, sp, I(c, g->cin)), ci);
    out[r] = gep(c, k->out, cg_iadd(c, cg_imul(c, u, I(c, g->cout)), col));
  }
  cg_tile_load(c, t, out);
  cg_loop o0, o1;
  cg_loop_begin(c, &o0, I(c, 0), I(c, g->out[0]), "o0");
  cg_loop_begin(c, &o1, I(c, 0), I(c, g->out[1]), "o1");
  LLVMValueRef i[3] = {cg_imul(c, o0.i, I(c, g->stride[0])), cg_imul(c, o1.i, I(c, g->stride[1])),
                       I(c, 0)};
  LLVMValueRef o[3] = {o0.i, o1.i, I(c, 0)};
  LLVMValueRef xb = cg_iadd(c, conv_map_index(c, k->sample, i, g->in, g->cin),
                            cg_imul(c, k->group, I(c, g->cin_g)));
  LLVMValueRef a[CG_TILE_ROWS];
  for (int r = 0; r < t->rows; r++) a[r] = gep(c, k->in, cg_iadd(c, xb, off[r]));
  LLVMValueRef yb = cg_iadd(c, conv_map_index(c, k->sample, o, g->out, g->cout), col);
  cg_tile_fma(c, t, a, I(c, g->stride[2] * g->cin), gep(c, k->w, yb), I(c, g->cout),
              I(c, g->out[2]));
  cg_loop_end(c, &o1);
  cg_loop_end(c, &o0);
  cg_tile_store(c, t, out);
}

static void span_rows(cg *c, void *ctx, int rows, LLVMValueRef r0) {
  ck *k = ctx;
  k->rows = rows, k->r0 = r0;
  cg_tile_columns(c, rows, k->g->cout_g, 1, span_tile, k);
}

/* every window inside the map: no padding before, none used after */
static int whole_windows(const conv_geom *g) {
  for (int a = 0; a < 3; a++)
    if (g->pad[a] || (g->out[a] - 1) * g->stride[a] + (g->k[a] - 1) * g->dil[a] >= g->in[a])
      return 0;
  return 1;
}

/* units: rows (kernel position, input channel of a group) of dw; x is read
 * through k.in and dy through k.w. Samples are the outer loop: one sample's
 * x and dy stay in cache while every row of this thread takes its share,
 * each row's sum carried in dw from one sample to the next. */
void conv_emit_filter_grad(cg *c, const conv_geom *g, LLVMValueRef x, LLVMValueRef dy,
                           LLVMValueRef out, LLVMValueRef u0, LLVMValueRef u1) {
  ck k = {.g = g, .in = x, .w = dy, .out = out};
  LLVMValueRef cin_g = I(c, g->cin_g);
  LLVMValueRef first = LLVMBuildSDiv(c->b, u0, cin_g, "");
  LLVMValueRef end = LLVMBuildSDiv(c->b, cg_iadd(c, u1, I(c, g->cin_g - 1)), cin_g, "");
  LLVMValueRef cout = I(c, g->cout);
  cg_zero_fill(c, out, cg_imul(c, u0, cout), cg_imul(c, LLVMBuildSub(c->b, u1, u0, ""), cout));
  cg_loop b, kk, gr;
  if (whole_windows(g)) {
    cg_loop_begin(c, &b, I(c, 0), c->rows, "sample");
    k.sample = b.i;
    cg_loop_begin(c, &gr, I(c, 0), I(c, g->groups), "group");
    k.group = gr.i;
    cg_tile_rows(c, u0, u1, span_rows, &k);
    cg_loop_end(c, &gr);
    cg_loop_end(c, &b);
    return;
  }
  cg_loop_begin(c, &b, I(c, 0), c->rows, "sample");
  k.sample = b.i;
  cg_loop_begin(c, &kk, first, end, "kpos");
  k.kk = kk.i;
  LLVMValueRef base = cg_imul(c, kk.i, cin_g);
  LLVMValueRef r0 = LLVMBuildSub(c->b, imax(c, u0, base), base, "");
  LLVMValueRef r1 = LLVMBuildSub(c->b, imin(c, u1, cg_iadd(c, base, cin_g)), base, "");
  k.k[2] = LLVMBuildSRem(c->b, kk.i, I(c, g->k[2]), "");
  LLVMValueRef t = LLVMBuildSDiv(c->b, kk.i, I(c, g->k[2]), "");
  k.k[1] = LLVMBuildSRem(c->b, t, I(c, g->k[1]), "");
  k.k[0] = LLVMBuildSDiv(c->b, t, I(c, g->k[1]), "");
  for (int a = 0; a < 3; a++) filter_range(c, &k, a);
  cg_loop_begin(c, &gr, I(c, 0), I(c, g->groups), "group");
  k.group = gr.i;
  cg_tile_rows(c, r0, r1, filter_rows, &k);
  cg_loop_end(c, &gr);
  cg_loop_end(c, &kk);
  cg_loop_end(c, &b);
}
