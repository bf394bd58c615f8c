/* TRANSPOSE: the transpose of a fixed (unbatched) matrix. */
#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

static int transpose_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_shape *a = &g->nodes[n->in[0]].shape;
  if (a->batched || a->rank != 2) return op_shape_error(g, n, st, "transpose needs a matrix");
  int64_t d[2] = {a->dims[1], a->dims[0]};
  n->shape = shape_make(0, 2, d);
  return NNC_OK;
}

static int transpose_grad(nnc_grad_ctx *c, const nnc_node *n, int id, int dy) {
  (void)id;
  return grad_accumulate(c, n->in[0], graph_add(c->g, NNC_OP_TRANSPOSE, 0, &dy, 1, c->st));
}

/* out[j, r] = in[r, j] for the output rows j in [u0,u1). */
static void emit_transpose(cg *c, const nnc_node *n, LLVMValueRef a, LLVMValueRef out,
                           LLVMValueRef u0, LLVMValueRef u1) {
  int64_t R = n->shape.dims[1], C = n->shape.dims[0]; /* input is [R, C] */
  cg_loop j;
  cg_loop_begin(c, &j, u0, u1, "c");
  cg_loop r;
  cg_loop_begin(c, &r, cg_i64(c, 0), cg_i64(c, R), "r");
  LLVMValueRef v = cg_load(c, a, cg_iadd(c, cg_imul(c, r.i, cg_i64(c, C)), j.i));
  cg_store(c, v, out, cg_iadd(c, cg_imul(c, j.i, cg_i64(c, R)), r.i));
  cg_loop_end(c, &r);
  cg_loop_end(c, &j);
}

static int transpose_emit(cg *c, const nnc_node *n, LLVMValueRef a, LLVMValueRef b,
                          LLVMValueRef out, LLVMValueRef u0, LLVMValueRef u1) {
  (void)b;
  emit_transpose(c, n, a, out, u0, u1);
  return NNC_OK;
}

static void transpose_units(cg *c, const nnc_node *n, LLVMValueRef *units, int64_t *per_unit) {
  *per_unit = n->shape.dims[1];
  *units = cg_i64(c, n->shape.dims[0]);
}

const nnc_op_def op_transpose = {.name = "transpose",
                                 .arity = 1,
                                 .cls = NNC_CLASS_ROW,
                                 .shape = transpose_shape,
                                 .grad = transpose_grad,
                                 .emit_anchor = transpose_emit,
                                 .anchor_units = transpose_units};
