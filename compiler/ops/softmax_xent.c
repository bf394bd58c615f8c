/* SOFTMAX_XENT: -sum(y * log_softmax(z)) per row of logits z = in[0] and
 * targets y = in[1], shape [..,1]. Gradient (to z only): dy * (softmax(z) * sum(y) - y). */
#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

static int softmax_xent_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_shape *a = &g->nodes[n->in[0]].shape, *b = &g->nodes[n->in[1]].shape;
  if (!shape_equal(a, b)) return op_shape_error(g, n, st, "logits and labels differ in shape");
  n->shape = op_with_last(*a, 1);
  return NNC_OK;
}

static int softmax_xent_grad(nnc_grad_ctx *c, const nnc_node *n, int id, int dy) {
  (void)id;
  nnc_graph *g = c->g;
  nnc_status *st = c->st;
  int x = n->in[0], y = n->in[1];
  int p = graph_add(g, NNC_OP_SOFTMAX, 0, &x, 1, st);
  int total = graph_reduce(g, NNC_RED_LAST, y, st);
  int d = graph_binary(g, NNC_BIN_SUB, graph_binary(g, NNC_BIN_MUL, p, total, st), y, st);
  return grad_accumulate(c, x, graph_binary(g, NNC_BIN_MUL, dy, d, st));
}

/* -sum_j y_j * (z_j - m - log sum exp(z - m)) per row */
static void emit_softmax_xent(cg *c, const nnc_node *n, LLVMValueRef z, LLVMValueRef y,
                              LLVMValueRef out, LLVMValueRef u0, LLVMValueRef u1) {
  int64_t w = shape_last(&c->g->nodes[n->in[0]].shape);
  if (cg_lanes_fit(c, w)) { /* rows in lanes */
    cg_lanes l;
    cg_lanes_begin(c, &l, w, u0, u1);
    LLVMValueRef zc = cg_lanes_array(c, &l), yc = cg_lanes_array(c, &l);
    cg_lanes_columns(c, &l, z, zc);
    cg_lanes_columns(c, &l, y, yc);
    LLVMValueRef m = cg_lanes_max(c, &l, zc, NULL);
    LLVMValueRef lse = cg_lanes_unary(c, NNC_FN_LOG, cg_lanes_sum_exp(c, &l, zc, m));
    LLVMValueRef acc = cg_lanes_slot(c, LLVMConstNull(LLVMTypeOf(m)));
    cg_loop j;
    cg_lanes_loop_begin(c, &l, &j, 0);
    LLVMValueRef logp =
        LLVMBuildFSub(c->b, LLVMBuildFSub(c->b, cg_lanes_get(c, zc, j.i), m, ""), lse, "");
    LLVMValueRef term = LLVMBuildFMul(c->b, cg_lanes_get(c, yc, j.i), logp, "");
    LLVMBuildStore(
        c->b, LLVMBuildFSub(c->b, LLVMBuildLoad2(c->b, LLVMTypeOf(m), acc, ""), term, ""), acc);
    cg_lanes_loop_end(c, &j);
    cg_lanes_store(c, &l, LLVMBuildLoad2(c->b, LLVMTypeOf(m), acc, ""), out);
    cg_lanes_end(c, &l);
    return;
  }
  cg_row r;
  cg_row_begin(c, &r, &c->g->nodes[n->in[0]].shape, u0, u1);
  LLVMValueRef m = cg_row_max(c, &r, z, NULL);
  LLVMValueRef lse = cg_unary(c, NNC_FN_LOG, cg_row_sum_exp(c, &r, z, m), NULL);
  LLVMValueRef acc = cg_alloca_f32(c, "xent");
  cg_set(c, acc, cg_f32(c, 0.0));
  cg_loop j;
  cg_loop_begin(c, &j, cg_i64(c, 0), r.width, "j");
  LLVMValueRef idx = cg_iadd(c, r.base, j.i);
  LLVMValueRef logp = LLVMBuildFSub(c->b, LLVMBuildFSub(c->b, cg_load(c, z, idx), m, ""), lse, "");
  cg_set(
      c, acc,
      LLVMBuildFSub(c->b, cg_get(c, acc), LLVMBuildFMul(c->b, cg_load(c, y, idx), logp, ""), ""));
  cg_loop_end(c, &j);
  cg_store(c, cg_get(c, acc), out, r.row.i);
  cg_loop_end(c, &r.row);
}

static int softmax_xent_emit(cg *c, const nnc_node *n, LLVMValueRef a, LLVMValueRef b,
                             LLVMValueRef out, LLVMValueRef u0, LLVMValueRef u1) {
  emit_softmax_xent(c, n, a, b, out, u0, u1);
  return NNC_OK;
}

const nnc_op_def op_softmax_xent = {.name = "softmax_xent",
                                    .arity = 2,
                                    .cls = NNC_CLASS_ROW,
                                    .shape = softmax_xent_shape,
                                    .grad = softmax_xent_grad,
                                    .emit_anchor = softmax_xent_emit};
