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
