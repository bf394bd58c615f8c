/* GATHER_GRAD: the table gradient of GATHER. out [rows, D] starts at zero
 * and out[idx[n], :] += dy[n, :] for every index n in index order, so a row
 * named several times sums its gradients in a fixed order (deterministic).
 * One thread does the whole sum (one unit); an index that is not an integer
 * in [0, rows) adds nothing, as its forward row was zeros. */
#include <string.h>

#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

static int gather_grad_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_shape *idx = &g->nodes[n->in[0]].shape, *dy = &g->nodes[n->in[1]].shape;
  if (dy->rank != idx->rank + 1 || dy->batched != idx->batched)
    return op_shape_error(g, n, st, "dy must be the indices' shape plus a width axis");
  for (int k = 0; k < idx->rank; k++)
    if (idx->dims[k] != dy->dims[k])
      return op_shape_error(g, n, st, "dy must be the indices' shape plus a width axis");
  if (n->params.gather.rows < 1) return op_shape_error(g, n, st, "the table needs rows >= 1");
  int64_t d[2] = {n->params.gather.rows, shape_last(dy)};
  n->shape = shape_make(0, 2, d);
  return NNC_OK;
}

static int gather_grad_emit(cg *c, const nnc_node *n, LLVMValueRef idx, LLVMValueRef dy,
                            LLVMValueRef out, LLVMValueRef u0, LLVMValueRef u1) {
  int64_t rows = n->params.gather.rows, width = shape_last(&n->shape);
  cg_loop u; /* [u0, u1) is [0, 1) for the thread that owns the table, else empty */
  cg_loop_begin(c, &u, u0, u1, "table");
  cg_zero_fill(c, out, cg_i64(c, 0), cg_i64(c, rows * width));
  cg_loop k;
  cg_loop_begin(c, &k, cg_i64(c, 0), cg_count(c, &c->g->nodes[n->in[0]].shape), "index");
  LLVMValueRef row;
  LLVMValueRef ok = cg_table_row(c, cg_load(c, idx, k.i), rows, &row);
  LLVMBasicBlockRef add = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "add_row");
  LLVMBasicBlockRef next = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "next_index");
  LLVMBuildCondBr(c->b, ok, add, next);
  LLVMPositionBuilderAtEnd(c->b, add);
  LLVMValueRef dst = cg_imul(c, row, cg_i64(c, width)), src = cg_imul(c, k.i, cg_i64(c, width));
  cg_loop j;
  cg_loop_begin(c, &j, cg_i64(c, 0), cg_i64(c, width), "j");
  LLVMValueRef at = cg_iadd(c, dst, j.i);
  cg_store(c, LLVMBuildFAdd(c->b, cg_load(c, out, at), cg_load(c, dy, cg_iadd(c, src, j.i)), ""),
           out, at);
  cg_loop_end(c, &j);
  LLVMBuildBr(c->b, next);
  LLVMPositionBuilderAtEnd(c->b, next);
  cg_loop_end(c, &k);
  cg_loop_end(c, &u);
  return NNC_OK;
}

/* one unit: the whole table (its rows are written in index order) */
static void gather_grad_units(cg *c, const nnc_node *n, LLVMValueRef *units, int64_t *per_unit) {
  *units = cg_i64(c, 1);
  *per_unit = n->params.gather.rows * shape_last(&n->shape);
}

int graph_gather_grad(nnc_graph *g, int idx, int dy, int64_t rows, nnc_status *st) {
  nnc_params p;
  memset(&p, 0, sizeof p);
  p.gather.rows = rows;
  int in[2] = {idx, dy};
  return graph_add_params(g, NNC_OP_GATHER_GRAD, 0, in, 2, &p, st);
}

const nnc_op_def op_gather_grad = {.name = "gather_grad",
                                   .arity = 2,
                                   .cls = NNC_CLASS_REDUCE,
                                   .shape = gather_grad_shape,
                                   .grad = NULL,
                                   .no_grad = 1,
                                   .emit_anchor = gather_grad_emit,
                                   .anchor_units = gather_grad_units};
