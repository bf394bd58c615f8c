/* PERMUTE: output axis k is input axis params.perm[k] (a permutation of all
 * axes; perm[0] == 0 when batched). Gradient: dy permuted by the inverse. */
#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

static int permute_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_shape *x = &g->nodes[n->in[0]].shape;
  int seen[NNC_MAX_RANK] = {0};
  for (int k = 0; k < x->rank; k++) {
    int64_t p = n->params.perm[k];
    if (p < 0 || p >= x->rank || seen[p]++)
      return op_shape_error(g, n, st, "permute needs a permutation of the axes");
  }
  for (int k = x->rank; k < NNC_MAX_RANK; k++)
    if (n->params.perm[k]) return op_shape_error(g, n, st, "permute lists more axes than the rank");
  if (x->batched && n->params.perm[0] != 0)
    return op_shape_error(g, n, st, "permute must keep the batch axis first");
  n->shape = *x;
  for (int k = 0; k < x->rank; k++) n->shape.dims[k] = x->dims[n->params.perm[k]];
  return NNC_OK;
}

static int permute_grad(nnc_grad_ctx *c, const nnc_node *n, int id, int dy) {
  (void)id;
  int inverse[NNC_MAX_RANK] = {0};
  for (int k = 0; k < n->shape.rank; k++) inverse[n->params.perm[k]] = k;
  return grad_accumulate(c, n->in[0], graph_permute(c->g, dy, inverse, c->st));
}

/* Each output element e of the units [u0, u1): its coordinates from e (last
 * axis fastest), the input index from the input's strides. */
static int permute_emit(cg *c, const nnc_node *n, LLVMValueRef x, LLVMValueRef b, LLVMValueRef out,
                        LLVMValueRef u0, LLVMValueRef u1) {
  (void)b;
  const nnc_shape *xs = &c->g->nodes[n->in[0]].shape, *s = &n->shape;
  int64_t stride[NNC_MAX_RANK];
  stride[xs->rank - 1] = 1;
  for (int k = xs->rank - 2; k >= 0; k--) stride[k] = stride[k + 1] * xs->dims[k + 1];
  LLVMValueRef units;
  int64_t per_unit;
  op_leading_units(c, n, &units, &per_unit);
  cg_loop e;
  cg_loop_begin(c, &e, cg_imul(c, u0, cg_i64(c, per_unit)), cg_imul(c, u1, cg_i64(c, per_unit)),
                "e");
  LLVMValueRef rest = e.i, from = cg_i64(c, 0);
  for (int k = s->rank - 1; k >= 0; k--) {
    LLVMValueRef coord = rest;
    if (k > 0) {
      LLVMValueRef d = cg_i64(c, s->dims[k]);
      coord = LLVMBuildSRem(c->b, rest, d, "");
      rest = LLVMBuildSDiv(c->b, rest, d, "");
    }
    from = cg_iadd(c, from, cg_imul(c, coord, cg_i64(c, stride[n->params.perm[k]])));
  }
  cg_store(c, cg_load(c, x, from), out, e.i);
  cg_loop_end(c, &e);
  return NNC_OK;
}

const nnc_op_def op_permute = {.name = "permute",
                               .arity = 1,
                               .cls = NNC_CLASS_ROW,
                               .shape = permute_shape,
                               .grad = permute_grad,
                               .emit_anchor = permute_emit,
                               .anchor_units = op_leading_units};
