/* The recurrence ops' per-step products as register tiles over the batch
 * (compiler/ops/rnn.c, rnn_grad.c): a tile of batch rows times a strip of
 * columns, its accumulators in registers for the whole contraction, the
 * weights read in place (U for the forward product, Uᵀ, transposed once per
 * call by the graph, for the backward one). Each element is one chain of
 * fused multiply-adds in contraction order, whatever tile it falls in, so a
 * row's numbers do not depend on how the batch is split between threads. */
#include <llvm-c/Core.h>

#include "compiler/codegen/cg.h"
#include "compiler/ops/rnn_cell.h"

LLVMValueRef rnn_ptr(cg *c, LLVMValueRef base, LLVMValueRef index) {
  return LLVMBuildGEP2(c->b, c->f32, base, &index, 1, "");
}

typedef struct gemm_ctx {
  LLVMValueRef *a, *dst, b;
  int64_t ldb, len;
} gemm_ctx;

static void gemm_strip(cg *c, void *ctx, const cg_tile *t, LLVMValueRef j0) {
  const gemm_ctx *g = ctx;
  LLVMValueRef to[CG_TILE_ROWS];
  for (int r = 0; r < t->rows; r++) to[r] = rnn_ptr(c, g->dst[r], j0);
  cg_tile_load(c, t, to);
  cg_tile_fma(c, t, g->a, cg_i64(c, 1), rnn_ptr(c, g->b, j0), cg_i64(c, g->ldb), cg_i64(c, g->len));
  cg_tile_store(c, t, to);
}

void rnn_tile_gemm(cg *c, int rows, LLVMValueRef *a, LLVMValueRef b, int64_t ldb, int64_t len,
                   LLVMValueRef *dst, int64_t cols) {
  gemm_ctx g = {.a = a, .dst = dst, .b = b, .ldb = ldb, .len = len};
  cg_tile_columns(c, rows, cols, 1, gemm_strip, &g);
}

/* Runs body once when flag (an i64 that is 0 or 1) is 1: a loop of flag trips. */
static void when(cg *c, LLVMValueRef flag, cg_rows_body body, void *ctx, int rows,
                 LLVMValueRef r0) {
  cg_loop l;
  cg_loop_begin(c, &l, cg_i64(c, 0), flag, "when");
  body(c, ctx, rows, r0);
  cg_loop_end(c, &l);
}

void rnn_row_tiles(cg *c, LLVMValueRef r0, LLVMValueRef r1, cg_rows_body body, void *ctx) {
  LLVMValueRef n = LLVMBuildSub(c->b, r1, r0, "");
  LLVMValueRef full = LLVMBuildSDiv(c->b, n, cg_i64(c, CG_TILE_ROWS), "");
  cg_loop t;
  cg_loop_begin(c, &t, cg_i64(c, 0), full, "rtile");
  body(c, ctx, CG_TILE_ROWS, cg_iadd(c, r0, cg_imul(c, t.i, cg_i64(c, CG_TILE_ROWS))));
  cg_loop_end(c, &t);
  /* the rest (< 6 rows) as tiles of 4, 2 and 1 rows */
  LLVMValueRef rest = LLVMBuildSRem(c->b, n, cg_i64(c, CG_TILE_ROWS), "");
  LLVMValueRef at = cg_iadd(c, r0, cg_imul(c, full, cg_i64(c, CG_TILE_ROWS)));
  LLVMValueRef four =
      LLVMBuildAnd(c->b, LLVMBuildAShr(c->b, rest, cg_i64(c, 2), ""), cg_i64(c, 1), "");
  when(c, four, body, ctx, 4, at);
  at = cg_iadd(c, at, cg_imul(c, four, cg_i64(c, 4)));
  LLVMValueRef two =
      LLVMBuildAnd(c->b, LLVMBuildAShr(c->b, rest, cg_i64(c, 1), ""), cg_i64(c, 1), "");
  when(c, two, body, ctx, 2, at);
  at = cg_iadd(c, at, cg_imul(c, two, cg_i64(c, 2)));
  when(c, LLVMBuildAnd(c->b, rest, cg_i64(c, 1), ""), body, ctx, 1, at);
}

LLVMValueRef rnn_vload(cg *c, LLVMTypeRef t, LLVMValueRef base, LLVMValueRef index) {
  LLVMValueRef p = LLVMBuildBitCast(c->b, rnn_ptr(c, base, index), LLVMPointerType(t, 0), "");
  LLVMValueRef v = LLVMBuildLoad2(c->b, t, p, "");
  LLVMSetAlignment(v, 4);
  return v;
}

void rnn_vstore(cg *c, LLVMValueRef v, LLVMValueRef base, LLVMValueRef index) {
  LLVMTypeRef t = LLVMTypeOf(v);
  LLVMValueRef p = LLVMBuildBitCast(c->b, rnn_ptr(c, base, index), LLVMPointerType(t, 0), "");
  LLVMSetAlignment(LLVMBuildStore(c->b, v, p), 4);
}

static LLVMValueRef splat_to(cg *c, LLVMTypeRef t, LLVMValueRef x) {
  if (LLVMGetTypeKind(t) != LLVMVectorTypeKind) return x;
  unsigned n = LLVMGetVectorSize(t);
  LLVMValueRef undef = LLVMGetUndef(t);
  LLVMValueRef one = LLVMBuildInsertElement(c->b, undef, x, LLVMConstInt(c->i32, 0, 0), "");
  return LLVMBuildShuffleVector(c->b, one, undef, LLVMConstNull(LLVMVectorType(c->i32, n)), "");
}

typedef struct gate_args {
  int rows, gates;
  LLVMValueRef *a, *x, u;
  int64_t n;
  rnn_gate_body body;
  void *ctx;
} gate_args;

/* One strip of w units from j0 (w = 1: a single unit). */
static void gate_strip(cg *c, const gate_args *g, unsigned w, LLVMValueRef j0) {
  LLVMTypeRef t = w > 1 ? LLVMVectorType(c->f32, w) : c->f32;
  int64_t n = g->n, gn = g->gates * n;
  LLVMValueRef acc[CG_TILE_ROWS][RNN_MAX_GATES];
  for (int r = 0; r < g->rows; r++)
    for (int k = 0; k < g->gates; k++) {
      acc[r][k] = cg_alloca(c, t, "gacc");
      LLVMBuildStore(c->b, rnn_vload(c, t, g->x[r], cg_iadd(c, j0, cg_i64(c, k * n))), acc[r][k]);
    }
  cg_loop p;
  cg_loop_begin(c, &p, cg_i64(c, 0), cg_i64(c, n), "gk");
  LLVMValueRef row = cg_iadd(c, cg_imul(c, p.i, cg_i64(c, gn)), j0), bv[RNN_MAX_GATES];
  for (int k = 0; k < g->gates; k++)
    bv[k] = rnn_vload(c, t, g->u, cg_iadd(c, row, cg_i64(c, k * n)));
  for (int r = 0; r < g->rows; r++) {
    LLVMValueRef av = splat_to(c, t, cg_load(c, g->a[r], p.i));
    for (int k = 0; k < g->gates; k++)
      LLVMBuildStore(c->b, cg_fma(c, av, bv[k], LLVMBuildLoad2(c->b, t, acc[r][k], "")), acc[r][k]);
  }
  cg_loop_end(c, &p);
  LLVMValueRef z[CG_TILE_ROWS][RNN_MAX_GATES];
  for (int r = 0; r < g->rows; r++)
    for (int k = 0; k < g->gates; k++) z[r][k] = LLVMBuildLoad2(c->b, t, acc[r][k], "");
  g->body(c, g->ctx, g->rows, z, j0);
}

void rnn_gate_tiles(cg *c, int rows, LLVMValueRef *a, LLVMValueRef *x, LLVMValueRef u, int64_t n,
                    int gates, rnn_gate_body body, void *ctx) {
  gate_args g = {rows, gates, a, x, u, n, body, ctx};
  int64_t vw = c->vector_width, full = n / vw;
  cg_loop j;
  if (full > 0) {
    cg_loop_begin(c, &j, cg_i64(c, 0), cg_i64(c, full), "gstrip");
    gate_strip(c, &g, (unsigned)vw, cg_imul(c, j.i, cg_i64(c, vw)));
    cg_loop_end(c, &j);
  }
  if (full * vw < n) {
    cg_loop_begin(c, &j, cg_i64(c, full * vw), cg_i64(c, n), "gunit");
    gate_strip(c, &g, 1, j.i);
    cg_loop_end(c, &j);
  }
}
