/* CONV: y [B, o.., Cout] = x [B, s.., Cin] correlated with w [k.., Cin/groups,
 * Cout] (channels last, no kernel flip, as Keras), zero padding params.conv.pad
 * before and pad_end after each spatial axis; group g maps input channels
 * [g Cin/groups, ...) to output channels [g Cout/groups, ...).
 * Gradients: dx = conv_transpose(dy, w), dw = conv_filter(x, dy).
 * Emitter: an implicit GEMM in register tiles (conv_kernel.c); each output
 * element sums its products in (kernel position, input channel) order; the
 * nodes flagged NNC_NODE_TILE after it (bias, BatchNormalization,
 * activation: compiler/passes/conv_epilogue.c) run on the tile before the
 * store (conv_tile_epilogue.c). */
#include <string.h>

#include "compiler/ops/conv_geom.h"

static int conv_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_shape *x = &g->nodes[n->in[0]].shape, *w = &g->nodes[n->in[1]].shape;
  int64_t sp = n->params.conv.spatial, groups = n->params.conv.groups;
  if (sp < 1 || sp > NNC_CONV_MAX_SPATIAL || groups < 1)
    return op_shape_error(g, n, st, "convolution needs 1 to 3 spatial axes and groups >= 1");
  if (!conv_is_batched_map(x, sp) || w->batched || w->rank != sp + 2)
    return op_shape_error(g, n, st, "convolution needs x [B, spatial.., C] and a kernel");
  int64_t cin = x->dims[sp + 1], cout = w->dims[sp + 1];
  if (w->dims[sp] * groups != cin || cout % groups)
    return op_shape_error(g, n, st, "convolution channels do not match the kernel and groups");
  int64_t y_sp[NNC_CONV_MAX_SPATIAL];
  const nnc_conv_params *p = &n->params.conv;
  for (int a = 0; a < sp; a++)
    y_sp[a] = conv_out_len(x->dims[1 + a], w->dims[a], p->stride[a], p->dilation[a], p->pad[a],
                           p->pad_end[a]);
  if (conv_check(g, n, x->dims + 1, w->dims, y_sp, st)) return st->code;
  n->shape = *x;
  for (int a = 0; a < sp; a++) n->shape.dims[1 + a] = y_sp[a];
  n->shape.dims[sp + 1] = cout;
  return NNC_OK;
}

static int conv_grad(nnc_grad_ctx *c, const nnc_node *n, int id, int dy) {
  (void)id;
  nnc_graph *g = c->g;
  int x = n->in[0], w = n->in[1];
  int64_t sp = n->params.conv.spatial;
  nnc_conv_params p = n->params.conv;
  if (c->needs[x]) {
    int64_t size[NNC_CONV_MAX_SPATIAL];
    memcpy(size, g->nodes[x].shape.dims + 1, (size_t)sp * sizeof *size);
    if (grad_accumulate(c, x, graph_conv_transpose(g, dy, w, &p, size, c->st))) return -1;
  }
  if (c->needs[w]) {
    int64_t size[NNC_CONV_MAX_SPATIAL];
    memcpy(size, g->nodes[w].shape.dims, (size_t)sp * sizeof *size);
    if (grad_accumulate(c, w, graph_conv_filter(g, x, dy, &p, size, c->st))) return -1;
  }
  return 0;
}

static void geom_of(cg *c, const nnc_node *n, conv_geom *geo) {
  const nnc_shape *x = &c->g->nodes[n->in[0]].shape, *w = &c->g->nodes[n->in[1]].shape;
  int64_t sp = n->params.conv.spatial;
  conv_geom_make(&n->params.conv, x->dims + 1, w->dims, n->shape.dims + 1, x->dims[sp + 1],
                 w->dims[sp + 1], geo);
}

/* Units: (sample, o0, o1) rows of o2 x Cout outputs (conv_kernel.c). */
static int conv_emit(cg *c, const nnc_node *n, LLVMValueRef x, LLVMValueRef w, LLVMValueRef out,
                     LLVMValueRef u0, LLVMValueRef u1) {
  conv_geom g;
  geom_of(c, n, &g);
  conv_epi epi;
  if (conv_epi_make(c, (int)(n - c->g->nodes), &epi)) return c->st->code;
  conv_emit_forward(c, &g, x, w, out, &epi, u0, u1);
  return NNC_OK;
}

static void conv_units(cg *c, const nnc_node *n, LLVMValueRef *units, int64_t *per_unit) {
  conv_geom g;
  geom_of(c, n, &g);
  *per_unit = g.out[2] * g.cout;
  *units = cg_imul(c, c->rows, cg_i64(c, g.out[0] * g.out[1]));
}

const nnc_op_def op_conv = {.name = "conv",
                            .arity = 2,
                            .cls = NNC_CLASS_ROW,
                            .shape = conv_shape,
                            .grad = conv_grad,
                            .emit_anchor = conv_emit,
                            .anchor_units = conv_units};

int graph_conv(nnc_graph *g, int x, int w, const nnc_conv_params *p, nnc_status *st) {
  nnc_params params;
  memset(&params, 0, sizeof params);
  params.conv = *p;
  memset(params.conv.size, 0, sizeof params.conv.size);
  int in[2] = {x, w};
  return graph_add_params(g, NNC_OP_CONV, 0, in, 2, &params, st);
}
