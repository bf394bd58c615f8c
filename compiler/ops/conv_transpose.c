/* CONV_TRANSPOSE: the adjoint of CONV in its input. dy [B, o.., Cout] and the
 * kernel w [k.., Cin/groups, Cout] of a convolution whose input had spatial
 * size params.conv.size give dx [B, size.., Cin]:
 *   dx[b, i, ci] = sum over k, co with i = o stride - pad + k dilation of
 *                  dy[b, o, co] w[k, ci, co].
 * It is conv's input gradient and the Conv*Transpose layers' forward op.
 * Gradients (z = conv_transpose(a, w), dz given): da = conv(dz, w),
 * dw = conv_filter(dz, a). Emitter (conv_kernel.c): one unit per (sample,
 * i0, i1) row of dx; each element sums its (kernel position, output
 * channel) products in that order. */
#include <string.h>

#include "compiler/ops/conv_geom.h"

static int convt_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_shape *y = &g->nodes[n->in[0]].shape, *w = &g->nodes[n->in[1]].shape;
  const nnc_conv_params *p = &n->params.conv;
  int64_t sp = p->spatial;
  if (sp < 1 || sp > NNC_CONV_MAX_SPATIAL || p->groups < 1)
    return op_shape_error(g, n, st, "convolution needs 1 to 3 spatial axes and groups >= 1");
  if (!conv_is_batched_map(y, sp) || w->batched || w->rank != sp + 2)
    return op_shape_error(g, n, st,
                          "transposed convolution needs dy [B, spatial.., C] and a kernel");
  if (y->dims[sp + 1] != w->dims[sp + 1] || w->dims[sp + 1] % p->groups)
    return op_shape_error(g, n, st, "transposed convolution channels do not match the kernel");
  if (conv_check(g, n, p->size, w->dims, y->dims + 1, st)) return st->code;
  n->shape = *y;
  for (int a = 0; a < sp; a++) n->shape.dims[1 + a] = p->size[a];
  n->shape.dims[sp + 1] = w->dims[sp] * p->groups;
  return NNC_OK;
}

static int convt_grad(nnc_grad_ctx *c, const nnc_node *n, int id, int dz) {
  (void)id;
  nnc_graph *g = c->g;
  int a = n->in[0], w = n->in[1];
  nnc_conv_params p = n->params.conv;
  if (c->needs[a] && grad_accumulate(c, a, graph_conv(g, dz, w, &p, c->st))) return -1;
  if (c->needs[w]) {
    int64_t size[NNC_CONV_MAX_SPATIAL];
    memcpy(size, g->nodes[w].shape.dims, (size_t)p.spatial * sizeof *size);
    if (grad_accumulate(c, w, graph_conv_filter(g, dz, a, &p, size, c->st))) return -1;
  }
  return 0;
}

static void geom_of(cg *c, const nnc_node *n, conv_geom *geo) {
  const nnc_shape *y = &c->g->nodes[n->in[0]].shape, *w = &c->g->nodes[n->in[1]].shape;
  int64_t sp = n->params.conv.spatial;
  conv_geom_make(&n->params.conv, n->shape.dims + 1, w->dims, y->dims + 1, n->shape.dims[sp + 1],
                 w->dims[sp + 1], geo);
}

/* Units: (sample, i0, i1) rows of i2 x Cin (conv_kernel.c). */
static int convt_emit(cg *c, const nnc_node *n, LLVMValueRef dy, LLVMValueRef w, LLVMValueRef out,
                      LLVMValueRef u0, LLVMValueRef u1) {
  conv_geom g;
  geom_of(c, n, &g);
  conv_emit_input_grad(c, &g, dy, w, out, u0, u1);
  return NNC_OK;
}

static void convt_units(cg *c, const nnc_node *n, LLVMValueRef *units, int64_t *per_unit) {
  conv_geom g;
  geom_of(c, n, &g);
  *per_unit = g.in[2] * g.cin;
  *units = cg_imul(c, c->rows, cg_i64(c, g.in[0] * g.in[1]));
}

const nnc_op_def op_conv_transpose = {.name = "conv_transpose",
                                      .arity = 2,
                                      .cls = NNC_CLASS_ROW,
                                      .shape = convt_shape,
                                      .grad = convt_grad,
                                      .emit_anchor = convt_emit,
                                      .anchor_units = convt_units};

int graph_conv_transpose(nnc_graph *g, int dy, int w, const nnc_conv_params *p, const int64_t *size,
                         nnc_status *st) {
  return conv_add_sized(g, NNC_OP_CONV_TRANSPOSE, dy, w, p, size, st);
}
