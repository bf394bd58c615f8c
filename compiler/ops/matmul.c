/* MATMUL: a[..,K] @ b[K,N] -> [..,N]; with params.transpose_a,
 * a^T @ b contracting over all rows (the weight gradient) -> [K,N]; with
 * params.bmm.transpose_b, a[..,K] @ b[N,K]^T -> [..,N] (the input gradient,
 * reading W in place instead of a transposed copy). With params.bmm.k_parts
 * = P > 1 (passes/ksplit.c), P partial products over consecutive ranges of
 * K (matmul_k_chunk) -> [..,P*N] stored part after part: part u's row r at
 * u*M*N + r*N (M rows), each a thread unit; PART_SUM adds them. */
#include <string.h>

#include "compiler/codegen/cg.h"
#include "compiler/ops/matvec.h"
#include "compiler/ops/op.h"

static int matmul_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_shape *a = &g->nodes[n->in[0]].shape, *b = &g->nodes[n->in[1]].shape;
  if (n->params.transpose_a) { /* a^T @ b, contracting over all rows */
    if (a->batched != b->batched ||
        shape_inner(a) / shape_last(a) != shape_inner(b) / shape_last(b))
      return op_shape_error(g, n, st, "transposed product needs matching rows");
    int64_t d[2] = {shape_last(a), shape_last(b)};
    n->shape = shape_make(0, 2, d);
    return NNC_OK;
  }
  if (b->batched || b->rank != 2) return op_shape_error(g, n, st, "right operand must be a matrix");
  int tb = n->params.bmm.transpose_b;
  if (shape_last(a) != b->dims[tb ? 1 : 0])
    return op_shape_error(g, n, st, "inner dimensions differ");
  int64_t parts = n->params.bmm.k_parts > 1 ? n->params.bmm.k_parts : 1;
  if (parts > 1 && (tb || parts > shape_last(a)))
    return op_shape_error(g, n, st, "a split product needs K >= k_parts and B untransposed");
  n->shape = op_with_last(*a, b->dims[tb ? 0 : 1] * parts);
  return NNC_OK;
}

int64_t matmul_k_chunk(int64_t k, int64_t parts) {
  int64_t chunk = (k + parts - 1) / parts;
  return (chunk + MATMUL_K_GRANULE - 1) / MATMUL_K_GRANULE * MATMUL_K_GRANULE;
}

/* dx = dy @ w^T (w read in place), dw = x^T @ dy */
static int matmul_grad(nnc_grad_ctx *c, const nnc_node *n, int id, int dy) {
  (void)id;
  nnc_graph *g = c->g;
  int x = n->in[0], w = n->in[1];
  if (n->params.transpose_a || n->params.bmm.transpose_b || n->params.bmm.k_parts > 1)
    return nnc_fail(c->st, NNC_ERR_INTERNAL, "gradient of a transposed or split matmul"), -1;
  if (c->needs[x]) {
    nnc_params p;
    memset(&p, 0, sizeof p);
    p.bmm.transpose_b = 1;
    int in[2] = {dy, w};
    if (grad_accumulate(c, x, graph_add_params(g, NNC_OP_MATMUL, 0, in, 2, &p, c->st))) return -1;
  }
  if (c->needs[w]) {
    int in[2] = {x, dy};
    if (grad_accumulate(c, w, graph_add_attr(g, NNC_OP_MATMUL, 0, in, 2, 1, c->st))) return -1;
  }
  return 0;
}

/* C[M,N] = A[M,K] @ B[K,N] (or B[N,K]^T) for rows [u0,u1); C[K,N] =
 * A[M,K]^T @ B[M,N] for output rows [u0,u1) (the weight gradient): all
 * through the blocked kernel. */
static int emit_matmul(cg *c, const nnc_node *n, LLVMValueRef a, LLVMValueRef bm, LLVMValueRef out,
                       LLVMValueRef u0, LLVMValueRef u1) {
  /* the bias and activation flagged to run on the tile (pass_dense_epilogue) */
  cg_gemm_epi epi;
  if (cg_gemm_epi_make(c, (int)(n - c->g->nodes), &epi)) return c->st->code;
  const nnc_shape *as = &c->g->nodes[n->in[0]].shape;
  int64_t K = shape_last(as);
  cg_gemm m = {.a = a,
               .b = bm,
               .out = out,
               .n = shape_last(&n->shape),
               .strip0 = c->strip0,
               .strip1 = c->strip1,
               .epi = &epi};
  if (n->params.transpose_a) {
    m.a_row = cg_i64(c, 1), m.a_step = cg_i64(c, K);
    m.len = LLVMBuildSDiv(c->b, cg_count(c, as), cg_i64(c, K), "");
    m.rows = K;
  } else {
    m.a_row = cg_i64(c, K), m.a_step = cg_i64(c, 1), m.len = cg_i64(c, K);
    m.transpose_b = n->params.bmm.transpose_b;
  }
  if (!cg_emit_matvec(c, &m, u0, u1)) cg_emit_gemm(c, &m, u0, u1);
  return NNC_OK;
}

/* Parts [u0, u1) of a split product: part p is A's columns [lo, hi) times
 * B's rows [lo, hi), every row and column, into its block of out. Each part
 * is emitted with its constant range (one K block, constant trip counts),
 * run when p is in [u0, u1). */
static int emit_k_parts(cg *c, const nnc_node *n, LLVMValueRef a, LLVMValueRef bm, LLVMValueRef out,
                        LLVMValueRef u0, LLVMValueRef u1) {
  const nnc_shape *as = &c->g->nodes[n->in[0]].shape;
  int64_t K = shape_last(as), parts = n->params.bmm.k_parts;
  int64_t N = shape_last(&n->shape) / parts, chunk = matmul_k_chunk(K, parts);
  LLVMValueRef rows = LLVMBuildSDiv(c->b, cg_count(c, as), cg_i64(c, K), "");
  for (int64_t p = 0; p < parts; p++) {
    int64_t lo = p * chunk < K ? p * chunk : K, hi = (p + 1) * chunk < K ? (p + 1) * chunk : K;
    LLVMValueRef at = cg_i64(c, p);
    LLVMValueRef mine = LLVMBuildAnd(c->b, LLVMBuildICmp(c->b, LLVMIntSLE, u0, at, ""),
                                     LLVMBuildICmp(c->b, LLVMIntSGT, u1, at, ""), "");
    LLVMBasicBlockRef run = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "kpart");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "kpart_done");
    LLVMBuildCondBr(c->b, mine, run, done);
    LLVMPositionBuilderAtEnd(c->b, run);
    cg_gemm_epi none;
    memset(&none, 0, sizeof none);
    cg_gemm m = {.a = LLVMBuildGEP2(c->b, c->f32, a, (LLVMValueRef[]){cg_i64(c, lo)}, 1, ""),
                 .b = LLVMBuildGEP2(c->b, c->f32, bm, (LLVMValueRef[]){cg_i64(c, lo * N)}, 1, ""),
                 .out = LLVMBuildGEP2(c->b, c->f32, out,
                                      (LLVMValueRef[]){cg_imul(c, rows, cg_i64(c, p * N))}, 1, ""),
                 .n = N,
                 .a_row = cg_i64(c, K),
                 .a_step = cg_i64(c, 1),
                 .len = cg_i64(c, hi - lo),
                 .epi = &none};
    if (!cg_emit_matvec(c, &m, cg_i64(c, 0), rows)) cg_emit_gemm(c, &m, cg_i64(c, 0), rows);
    LLVMBuildBr(c->b, done);
    LLVMPositionBuilderAtEnd(c->b, done);
  }
  return NNC_OK;
}

static int matmul_emit(cg *c, const nnc_node *n, LLVMValueRef a, LLVMValueRef b, LLVMValueRef out,
                       LLVMValueRef u0, LLVMValueRef u1) {
  if (n->params.bmm.k_parts > 1) return emit_k_parts(c, n, a, b, out, u0, u1);
  return emit_matmul(c, n, a, b, out, u0, u1);
}

/* one unit per output row: rows of a, or (transpose_a) the K rows of a^T @ b;
 * a split product: one per part */
static void matmul_units(cg *c, const nnc_node *n, LLVMValueRef *units, int64_t *per_unit) {
  const nnc_shape *in = &c->g->nodes[n->in[0]].shape;
  *per_unit = shape_last(&n->shape);
  if (n->params.bmm.k_parts > 1) {
    *units = cg_i64(c, n->params.bmm.k_parts);
    return;
  }
  *units = n->params.transpose_a
               ? cg_i64(c, n->shape.dims[0])
               : LLVMBuildSDiv(c->b, cg_count(c, in), cg_i64(c, shape_last(in)), "");
}

const nnc_op_def op_matmul = {.name = "matmul",
                              .arity = 2,
                              .cls = NNC_CLASS_MATMUL,
                              .shape = matmul_shape,
                              .grad = matmul_grad,
                              .emit_anchor = matmul_emit,
                              .anchor_units = matmul_units};
