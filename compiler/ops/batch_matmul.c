/* BATCH_MATMUL: per sample, op(a) [n,k] @ op(b) [k,m] -> [B,n,m], where
 * op(a) = a^T when params.bmm.transpose_a (a [B,k,n]) and op(b) = b^T when
 * transpose_b (b [B,m,k]). Operands of rank 3, batched alike. Each output
 * element sums its k products in index order. Gradients:
 * d op(a) = dy @ op(b)^T, d op(b) = op(a)^T @ dy, as batch matmuls. */
#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

static int bmm_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_shape *a = &g->nodes[n->in[0]].shape, *b = &g->nodes[n->in[1]].shape;
  int ta = n->params.bmm.transpose_a, tb = n->params.bmm.transpose_b;
  if (a->rank != 3 || b->rank != 3 || a->batched != b->batched ||
      (!a->batched && a->dims[0] != b->dims[0]))
    return op_shape_error(g, n, st, "batch_matmul needs two rank-3 operands, batched alike");
  int64_t rows = ta ? a->dims[2] : a->dims[1], k = ta ? a->dims[1] : a->dims[2];
  int64_t kb = tb ? b->dims[2] : b->dims[1], cols = tb ? b->dims[1] : b->dims[2];
  if (k != kb) return op_shape_error(g, n, st, "inner dimensions differ");
  n->shape = *a;
  n->shape.dims[1] = rows;
  n->shape.dims[2] = cols;
  return NNC_OK;
}

static int bmm_grad(nnc_grad_ctx *c, const nnc_node *n, int id, int dy) {
  (void)id;
  int a = n->in[0], b = n->in[1], ta = n->params.bmm.transpose_a, tb = n->params.bmm.transpose_b;
  if (c->needs[a]) {
    int da = ta ? graph_batch_matmul_t(c->g, b, dy, tb, 1, c->st)
                : graph_batch_matmul_t(c->g, dy, b, 0, !tb, c->st);
    if (grad_accumulate(c, a, da)) return -1;
  }
  if (c->needs[b]) {
    int db = tb ? graph_batch_matmul_t(c->g, dy, a, 1, ta, c->st)
                : graph_batch_matmul_t(c->g, a, dy, !ta, 0, c->st);
    if (grad_accumulate(c, b, db)) return -1;
  }
  return 0;
}

/* Output rows r in [u0, u1) of the B x n rows: out[r, j] = sum_p A(r, p) B(p, j). */
static int bmm_emit(cg *c, const nnc_node *n, LLVMValueRef a, LLVMValueRef b, LLVMValueRef out,
                    LLVMValueRef u0, LLVMValueRef u1) {
  int ta = n->params.bmm.transpose_a, tb = n->params.bmm.transpose_b;
  const nnc_shape *as = &c->g->nodes[n->in[0]].shape;
  int64_t rows = n->shape.dims[1], cols = n->shape.dims[2], k = ta ? as->dims[1] : as->dims[2];
  /* A(i, p) = a[base_a + i * a_i + p * a_p], B(p, j) = b[base_b + p * b_p + j * b_j] */
  int64_t a_i = ta ? 1 : k, a_p = ta ? rows : 1, b_p = tb ? 1 : cols, b_j = tb ? k : 1;
  cg_loop r;
  cg_loop_begin(c, &r, u0, u1, "row");
  LLVMValueRef sample = LLVMBuildSDiv(c->b, r.i, cg_i64(c, rows), "");
  LLVMValueRef i = LLVMBuildSRem(c->b, r.i, cg_i64(c, rows), "");
  LLVMValueRef base_a =
      cg_iadd(c, cg_imul(c, sample, cg_i64(c, rows * k)), cg_imul(c, i, cg_i64(c, a_i)));
  LLVMValueRef base_b = cg_imul(c, sample, cg_i64(c, k * cols));
  LLVMValueRef acc = cg_alloca_f32(c, "acc");
  cg_loop j;
  cg_loop_begin(c, &j, cg_i64(c, 0), cg_i64(c, cols), "j");
  cg_set(c, acc, cg_f32(c, 0.0));
  LLVMValueRef col = cg_iadd(c, base_b, cg_imul(c, j.i, cg_i64(c, b_j)));
  cg_loop p;
  cg_loop_begin(c, &p, cg_i64(c, 0), cg_i64(c, k), "p");
  LLVMValueRef av = cg_load(c, a, cg_iadd(c, base_a, cg_imul(c, p.i, cg_i64(c, a_p))));
  LLVMValueRef bv = cg_load(c, b, cg_iadd(c, col, cg_imul(c, p.i, cg_i64(c, b_p))));
  cg_set(c, acc, LLVMBuildFAdd(c->b, cg_get(c, acc), LLVMBuildFMul(c->b, av, bv, ""), ""));
  cg_loop_end(c, &p);
  cg_store(c, cg_get(c, acc), out, cg_iadd(c, cg_imul(c, r.i, cg_i64(c, cols)), j.i));
  cg_loop_end(c, &j);
  cg_loop_end(c, &r);
  return NNC_OK;
}

/* one unit per output row (B x n of them) */
static void bmm_units(cg *c, const nnc_node *n, LLVMValueRef *units, int64_t *per_unit) {
  *per_unit = n->shape.dims[2];
  *units = LLVMBuildSDiv(c->b, cg_count(c, &n->shape), cg_i64(c, n->shape.dims[2]), "");
}

const nnc_op_def op_batch_matmul = {.name = "batch_matmul",
                                    .arity = 2,
                                    .cls = NNC_CLASS_ROW,
                                    .shape = bmm_shape,
                                    .grad = bmm_grad,
                                    .emit_anchor = bmm_emit,
                                    .anchor_units = bmm_units};
