/* GATHER: out[n, :] = table[idx[n], :] for every index n of in[0] (any
 * shape, batched), table in[1] = [V, D] (Embedding). Indices are floats
 * holding integers; one that is not an integer in [0, V) reads zeros (the
 * runtime refuses such data at a model input before it gets here, with its
 * position). Gradient: GATHER_GRAD into the table; none into the indices. */
#include <string.h>

#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

static int gather_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_shape *idx = &g->nodes[n->in[0]].shape, *table = &g->nodes[n->in[1]].shape;
  if (table->batched || table->rank != 2)
    return op_shape_error(g, n, st, "the table must be an unbatched matrix [rows, width]");
  if (idx->rank >= NNC_MAX_RANK) return op_shape_error(g, n, st, "gather exceeds the rank limit");
  n->shape = *idx;
  n->shape.dims[n->shape.rank++] = table->dims[1];
  return NNC_OK;
}

static int gather_grad(nnc_grad_ctx *c, const nnc_node *n, int id, int dy) {
  (void)id;
  int table = n->in[1];
  if (!c->needs[table]) return 0;
  int64_t rows = c->g->nodes[table].shape.dims[0];
  return grad_accumulate(c, table, graph_gather_grad(c->g, n->in[0], dy, rows, c->st));
}

LLVMValueRef cg_table_row(cg *c, LLVMValueRef v, int64_t rows, LLVMValueRef *row) {
  LLVMValueRef whole = LLVMBuildFCmp(c->b, LLVMRealOEQ, cg_call(c, "llvm.floor.f32", &v, 1), v, "");
  LLVMValueRef in_range =
      LLVMBuildAnd(c->b, LLVMBuildFCmp(c->b, LLVMRealOGE, v, cg_f32(c, 0.0), ""),
                   LLVMBuildFCmp(c->b, LLVMRealOLT, v, cg_f32(c, (double)rows), ""), "");
  LLVMValueRef ok = LLVMBuildAnd(c->b, whole, in_range, "");
  /* convert only a value known to fit: fptosi of anything else is poison */
  *row = LLVMBuildFPToSI(c->b, cg_select(c, ok, v, cg_f32(c, 0.0)), c->i64, "");
  return ok;
}

static int gather_emit(cg *c, const nnc_node *n, LLVMValueRef idx, LLVMValueRef table,
                       LLVMValueRef out, LLVMValueRef u0, LLVMValueRef u1) {
  const nnc_shape *ts = &c->g->nodes[n->in[1]].shape;
  int64_t rows = ts->dims[0], width = ts->dims[1];
  cg_loop u;
  cg_loop_begin(c, &u, u0, u1, "index");
  LLVMValueRef row;
  LLVMValueRef ok = cg_table_row(c, cg_load(c, idx, u.i), rows, &row);
  LLVMValueRef src = cg_imul(c, row, cg_i64(c, width)), dst = cg_imul(c, u.i, cg_i64(c, width));
  cg_loop j;
  cg_loop_begin(c, &j, cg_i64(c, 0), cg_i64(c, width), "j");
  LLVMValueRef v = cg_load(c, table, cg_iadd(c, src, j.i));
  cg_store(c, cg_select(c, ok, v, cg_f32(c, 0.0)), out, cg_iadd(c, dst, j.i));
  cg_loop_end(c, &j);
  cg_loop_end(c, &u);
  return NNC_OK;
}

/* one unit per index: its row of the output */
static void gather_units(cg *c, const nnc_node *n, LLVMValueRef *units, int64_t *per_unit) {
  *units = cg_count(c, &c->g->nodes[n->in[0]].shape);
  *per_unit = shape_last(&n->shape);
}

int graph_gather(nnc_graph *g, int idx, int table, nnc_status *st) {
  int in[2] = {idx, table};
  return graph_add(g, NNC_OP_GATHER, 0, in, 2, st);
}

const nnc_op_def op_gather = {.name = "gather",
                              .arity = 2,
                              .cls = NNC_CLASS_ROW,
                              .shape = gather_shape,
                              .grad = gather_grad,
                              .emit_anchor = gather_emit,
                              .anchor_units = gather_units};
