/* CONV: y [B, o.., Cout] = x [B, s.., Cin] correlated with w [k.., Cin/groups,
 * Cout] (channels last, no kernel flip, as Keras), zero padding params.conv.pad
 * before and pad_end after each spatial axis; group g maps input channels
 * [g Cin/groups, ...) to output channels [g Cout/groups, ...).
 * Gradients: dx = conv_transpose(dy, w), dw = conv_filter(x, dy).
 * Emitter: direct loops; each output position accumulates its products in
 * (kernel position, input channel) order, the innermost loop runs over the
 * group's output channels, contiguous in y and w, so LLVM vectorizes it. */
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

/* Units: (sample, o0, o1) rows of o2 x Cout outputs. */
static int conv_emit(cg *c, const nnc_node *n, LLVMValueRef x, LLVMValueRef w, LLVMValueRef out,
                     LLVMValueRef u0, LLVMValueRef u1) {
  conv_geom g;
  geom_of(c, n, &g);
  int64_t per_unit = g.out[2] * g.cout;
  cg_loop u;
  cg_loop_begin(c, &u, u0, u1, "unit");
  LLVMValueRef o[3];
  o[1] = LLVMBuildSRem(c->b, u.i, cg_i64(c, g.out[1]), "");
  LLVMValueRef t = LLVMBuildSDiv(c->b, u.i, cg_i64(c, g.out[1]), "");
  o[0] = LLVMBuildSRem(c->b, t, cg_i64(c, g.out[0]), "");
  LLVMValueRef sample = LLVMBuildSDiv(c->b, t, cg_i64(c, g.out[0]), "");
  LLVMValueRef out_base = cg_imul(c, u.i, cg_i64(c, per_unit));
  cg_zero_fill(c, out, out_base, cg_i64(c, per_unit));
  cg_loop l2;
  cg_loop_begin(c, &l2, cg_i64(c, 0), cg_i64(c, g.out[2]), "o2");
  o[2] = l2.i;
  LLVMValueRef ob = cg_iadd(c, out_base, cg_imul(c, o[2], cg_i64(c, g.cout)));
  cg_loop k[3];
  conv_if inside[3];
  LLVMValueRef i[3];
  for (int a = 0; a < 3; a++) {
    cg_loop_begin(c, &k[a], cg_i64(c, 0), cg_i64(c, g.k[a]), "k");
    i[a] = cg_iadd(c, cg_imul(c, o[a], cg_i64(c, g.stride[a])),
                   cg_iadd(c, cg_imul(c, k[a].i, cg_i64(c, g.dil[a])), cg_i64(c, -g.pad[a])));
    conv_if_begin(c, &inside[a], conv_in_range(c, i[a], g.in[a]));
  }
  LLVMValueRef xb = conv_map_index(c, sample, i, g.in, g.cin);
  LLVMValueRef kk = cg_iadd(
      c, cg_imul(c, cg_iadd(c, cg_imul(c, k[0].i, cg_i64(c, g.k[1])), k[1].i), cg_i64(c, g.k[2])),
      k[2].i);
  LLVMValueRef wb = cg_imul(c, kk, cg_i64(c, g.cin_g * g.cout));
  cg_loop gr, ci, co;
  cg_loop_begin(c, &gr, cg_i64(c, 0), cg_i64(c, g.groups), "group");
  LLVMValueRef out_g = cg_iadd(c, ob, cg_imul(c, gr.i, cg_i64(c, g.cout_g)));
  cg_loop_begin(c, &ci, cg_i64(c, 0), cg_i64(c, g.cin_g), "ci");
  LLVMValueRef xv =
      cg_load(c, x, cg_iadd(c, xb, cg_iadd(c, cg_imul(c, gr.i, cg_i64(c, g.cin_g)), ci.i)));
  LLVMValueRef w_row = cg_iadd(c, cg_iadd(c, wb, cg_imul(c, ci.i, cg_i64(c, g.cout))),
                               cg_imul(c, gr.i, cg_i64(c, g.cout_g)));
  cg_loop_begin(c, &co, cg_i64(c, 0), cg_i64(c, g.cout_g), "co");
  LLVMValueRef at = cg_iadd(c, out_g, co.i);
  LLVMValueRef prod = LLVMBuildFMul(c->b, xv, cg_load(c, w, cg_iadd(c, w_row, co.i)), "");
  cg_store(c, LLVMBuildFAdd(c->b, cg_load(c, out, at), prod, ""), out, at);
  cg_loop_end(c, &co);
  cg_loop_end(c, &ci);
  cg_loop_end(c, &gr);
  for (int a = 2; a >= 0; a--) {
    conv_if_end(c, &inside[a]);
    cg_loop_end(c, &k[a]);
  }
  cg_loop_end(c, &l2);
  cg_loop_end(c, &u);
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
