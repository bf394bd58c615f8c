/* CONV_FILTER: the adjoint of CONV in its kernel. x [B, s.., Cin] and dy
 * [B, o.., Cout] give dw [size.., Cin/groups, Cout]:
 *   dw[k, ci, co] = sum over b, o of x[b, o stride - pad + k dilation, ci'] dy[b, o, co]
 * with ci' = ci + g Cin/groups for co in group g. Emitter (conv_kernel.c):
 * one unit per (kernel position, ci) row of Cout; each element sums over
 * the samples and output positions in order.
 * Not differentiable itself (no second-order gradients). */

#include "compiler/ops/conv_geom.h"

static int convf_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_shape *x = &g->nodes[n->in[0]].shape, *y = &g->nodes[n->in[1]].shape;
  const nnc_conv_params *p = &n->params.conv;
  int64_t sp = p->spatial;
  if (sp < 1 || sp > NNC_CONV_MAX_SPATIAL || p->groups < 1)
    return op_shape_error(g, n, st, "convolution needs 1 to 3 spatial axes and groups >= 1");
  if (!conv_is_batched_map(x, sp) || !conv_is_batched_map(y, sp))
    return op_shape_error(g, n, st, "kernel gradient needs x and dy [B, spatial.., C]");
  int64_t cin = x->dims[sp + 1], cout = y->dims[sp + 1];
  if (cin % p->groups || cout % p->groups)
    return op_shape_error(g, n, st, "kernel gradient channels do not divide into the groups");
  if (conv_check(g, n, x->dims + 1, p->size, y->dims + 1, st)) return st->code;
  int64_t d[NNC_MAX_RANK];
  for (int a = 0; a < sp; a++) d[a] = p->size[a];
  d[sp] = cin / p->groups;
  d[sp + 1] = cout;
  n->shape = shape_make(0, (int)sp + 2, d);
  return NNC_OK;
}

static int convf_grad(nnc_grad_ctx *c, const nnc_node *n, int id, int dy) {
  (void)n, (void)id, (void)dy;
  return nnc_fail(c->st, NNC_ERR_INTERNAL, "second-order gradient of a convolution kernel"), -1;
}

static void geom_of(cg *c, const nnc_node *n, conv_geom *geo) {
  const nnc_shape *x = &c->g->nodes[n->in[0]].shape, *y = &c->g->nodes[n->in[1]].shape;
  int64_t sp = n->params.conv.spatial;
  conv_geom_make(&n->params.conv, x->dims + 1, n->params.conv.size, y->dims + 1, x->dims[sp + 1],
                 y->dims[sp + 1], geo);
}

static int convf_emit(cg *c, const nnc_node *n, LLVMValueRef x, LLVMValueRef dy, LLVMValueRef out,
                      LLVMValueRef u0, LLVMValueRef u1) {
  conv_geom g;
  geom_of(c, n, &g);
  conv_emit_filter_grad(c, &g, x, dy, out, u0, u1);
  return NNC_OK;
}

/* one unit per (kernel position, input channel of a group): a row of Cout */
static void convf_units(cg *c, const nnc_node *n, LLVMValueRef *units, int64_t *per_unit) {
  *per_unit = shape_last(&n->shape);
  *units = cg_i64(c, shape_inner(&n->shape) / shape_last(&n->shape));
}

const nnc_op_def op_conv_filter = {.name = "conv_filter",
                                   .arity = 2,
                                   .cls = NNC_CLASS_ROW,
                                   .shape = convf_shape,
                                   .grad = convf_grad,
                                   .emit_anchor = convf_emit,
                                   .anchor_units = convf_units};

int graph_conv_filter(nnc_graph *g, int x, int dy, const nnc_conv_params *p, const int64_t *size,
                      nnc_status *st) {
  return conv_add_sized(g, NNC_OP_CONV_FILTER, x, dy, p, size, st);
}
