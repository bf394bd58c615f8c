/* Geometry and emitter helpers of the convolution ops (conv_geom.h). */
#include "compiler/ops/conv_geom.h"

#include <string.h>

int64_t conv_out_len(int64_t in, int64_t k, int64_t stride, int64_t dil, int64_t pad,
                     int64_t pad_end) {
  int64_t span = in + pad + pad_end - dil * (k - 1) - 1;
  return span < 0 ? 0 : span / stride + 1;
}

int conv_is_batched_map(const nnc_shape *s, int64_t spatial) {
  return s->batched && s->rank == spatial + 2;
}

int conv_check(const nnc_graph *g, const nnc_node *n, const int64_t *x_spatial,
               const int64_t *k_spatial, const int64_t *y_spatial, nnc_status *st) {
  const nnc_conv_params *p = &n->params.conv;
  if (p->spatial < 1 || p->spatial > NNC_CONV_MAX_SPATIAL || p->groups < 1)
    return op_shape_error(g, n, st, "convolution needs 1 to 3 spatial axes and groups >= 1");
  for (int a = 0; a < p->spatial; a++) {
    if (p->stride[a] < 1 || p->dilation[a] < 1 || p->pad[a] < 0 || p->pad_end[a] < 0)
      return op_shape_error(g, n, st,
                            "convolution needs strides and dilations >= 1 and padding >= 0");
    if (x_spatial[a] < 1 || k_spatial[a] < 1 ||
        conv_out_len(x_spatial[a], k_spatial[a], p->stride[a], p->dilation[a], p->pad[a],
                     p->pad_end[a]) != y_spatial[a] ||
        y_spatial[a] < 1)
      return op_shape_error(g, n, st, "convolution sizes do not agree");
  }
  return NNC_OK;
}

void conv_geom_make(const nnc_conv_params *p, const int64_t *x_spatial, const int64_t *k_spatial,
                    const int64_t *y_spatial, int64_t cin, int64_t cout, conv_geom *geo) {
  int lead = 3 - (int)p->spatial;
  for (int a = 0; a < 3; a++) {
    int s = a - lead;
    geo->in[a] = s < 0 ? 1 : x_spatial[s];
    geo->out[a] = s < 0 ? 1 : y_spatial[s];
    geo->k[a] = s < 0 ? 1 : k_spatial[s];
    geo->stride[a] = s < 0 ? 1 : p->stride[s];
    geo->dil[a] = s < 0 ? 1 : p->dilation[s];
    geo->pad[a] = s < 0 ? 0 : p->pad[s];
  }
  geo->cin = cin;
  geo->cout = cout;
  geo->groups = p->groups;
  geo->cin_g = cin / p->groups;
  geo->cout_g = cout / p->groups;
}

void conv_if_begin(cg *c, conv_if *f, LLVMValueRef cond) {
  f->then = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "then");
  f->done = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "done");
  LLVMBuildCondBr(c->b, cond, f->then, f->done);
  LLVMPositionBuilderAtEnd(c->b, f->then);
}

void conv_if_end(cg *c, conv_if *f) {
  LLVMBuildBr(c->b, f->done);
  LLVMPositionBuilderAtEnd(c->b, f->done);
}

LLVMValueRef conv_in_range(cg *c, LLVMValueRef v, int64_t limit) {
  /* unsigned v < limit is 0 <= v < limit */
  return LLVMBuildICmp(c->b, LLVMIntULT, v, cg_i64(c, limit), "");
}

LLVMValueRef conv_map_index(cg *c, LLVMValueRef b, LLVMValueRef *i, const int64_t *d,
                            int64_t channels) {
  LLVMValueRef at = b;
  for (int a = 0; a < 3; a++) at = cg_iadd(c, cg_imul(c, at, cg_i64(c, d[a])), i[a]);
  return cg_imul(c, at, cg_i64(c, channels));
}

int conv_add_sized(nnc_graph *g, nnc_op op, int a, int b, const nnc_conv_params *p,
                   const int64_t *size, nnc_status *st) {
  nnc_params params;
  memset(&params, 0, sizeof params);
  params.conv = *p;
  memset(params.conv.size, 0, sizeof params.conv.size);
  memcpy(params.conv.size, size,
         (size_t)(p->spatial > 0 && p->spatial <= 3 ? p->spatial : 0) * sizeof *size);
  int in[2] = {a, b};
  return graph_add_params(g, op, 0, in, 2, &params, st);
}
