/* Parse and lower hooks shared by SeparableConv1D and SeparableConv2D
 * (separable_conv_layer.h). */
#include "compiler/layers/separable_conv_layer.h"

#include <stdlib.h>
#include <string.h>

int separable_conv_layer_parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                               nnc_spec_layer *out, int spatial) {
  separable_conv_params p;
  memset(&p, 0, sizeof p);
  p.conv.spatial = spatial;
  p.conv.groups = 1;
  p.conv.depthwise = 1;
  p.conv.multiplier = 1;
  char path[NNC_PATH_MAX];
  int rc;
  spec_path_key(path, cfg_path, "filters");
  if ((rc = spec_positive_int(ctx, spec_child(cfg, "filters"), path, &p.conv.filters))) return rc;
  spec_path_key(path, cfg_path, "depth_multiplier");
  const cJSON *m = spec_child(cfg, "depth_multiplier");
  if (!spec_is_absent(m) && (rc = spec_positive_int(ctx, m, path, &p.conv.multiplier))) return rc;
  if ((rc = conv_layer_parse_geometry(ctx, cfg, cfg_path, &p.conv))) return rc;
  if (p.conv.padding == CONV_PAD_CAUSAL) { /* Keras 3's standardize_padding refuses it */
    spec_path_key(path, cfg_path, "padding");
    return spec_fail_expected(ctx, path, spec_child(cfg, "padding"), "\"valid\" or \"same\"");
  }
  /* the depthwise kernel's keys into the layer's kernel fields, the bias's too */
  if ((rc = conv_layer_parse_weight_keys(ctx, cfg, cfg_path, "depthwise", out))) return rc;
  spec_path_key(path, cfg_path, "pointwise_initializer");
  if ((rc = spec_parse_init(ctx, spec_child(cfg, "pointwise_initializer"), path, "glorot_uniform",
                            &p.pointwise_init)))
    return rc;
  spec_path_key(path, cfg_path, "pointwise_regularizer");
  if ((rc = spec_parse_regularizer(ctx, spec_child(cfg, "pointwise_regularizer"), path,
                                   &p.pointwise_regularizer)))
    return rc;
  spec_path_key(path, cfg_path, "pointwise_constraint");
  if ((rc = spec_parse_constraint(ctx, spec_child(cfg, "pointwise_constraint"), path,
                                  &p.pointwise_constraint)))
    return rc;
  out->params = malloc(sizeof p);
  if (!out->params) return nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory");
  *(separable_conv_params *)out->params = p;
  return NNC_OK;
}

int separable_conv_layer_lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  nnc_graph *g = &c->l->forward;
  const nnc_spec_layer *layer = c->layer;
  const separable_conv_params *sp_params = layer->params;
  const conv_layer_params *p = &sp_params->conv;
  int sp = p->spatial, x = conv_layer_input(c, in[0], sp, p->channels_first, st);
  if (x < 0) return -1;
  const nnc_shape *s = &g->nodes[x].shape;
  int64_t cin = s->dims[sp + 1], mid = cin * p->multiplier, filters = p->filters;
  /* depthwise: the grouped convolution with a group per input channel */
  nnc_conv_params dw, pw;
  memset(&dw, 0, sizeof dw);
  memset(&pw, 0, sizeof pw);
  dw.spatial = pw.spatial = sp;
  dw.groups = cin;
  pw.groups = 1;
  int64_t kd[NNC_MAX_RANK], pd[NNC_MAX_RANK];
  for (int a = 0; a < sp; a++) {
    int64_t n = s->dims[1 + a];
    dw.stride[a] = p->strides[a];
    dw.dilation[a] = p->dilation[a];
    pw.stride[a] = pw.dilation[a] = 1;
    conv_layer_padding(p->padding, n, p->kernel[a], p->strides[a], p->dilation[a], &dw.pad[a],
                       &dw.pad_end[a]);
    if (conv_out_len(n, p->kernel[a], dw.stride[a], dw.dilation[a], dw.pad[a], dw.pad_end[a]) < 1)
      return layer_fail(c, st,
                        "layer \"%s\": spatial axis %d of the input (%lld) is smaller "
                        "than the dilated kernel (%lld)",
                        layer->name, a + 1, (long long)n,
                        (long long)(p->dilation[a] * (p->kernel[a] - 1) + 1));
    kd[a] = p->kernel[a];
    pd[a] = 1;
  }
  kd[sp] = cin;
  kd[sp + 1] = p->multiplier;
  int dk = layer_param(c, "depthwise_kernel", shape_make(0, sp + 2, kd), &layer->kernel_init, st);
  if (layer_param_extras(c, dk, &layer->kernel_regularizer, &layer->kernel_constraint, st) < 0)
    return -1;
  kd[sp] = 1; /* the same floats as the grouped kernel [k.., 1, in x multiplier] */
  kd[sp + 1] = mid;
  int w = graph_reshape(g, dk, shape_make(0, sp + 2, kd), st);
  layer_label(g, w, layer->name, "depthwise_grouped");
  int y = w < 0 ? -1 : graph_conv(g, x, w, &dw, st);
  layer_label(g, y, layer->name, "depthwise");
  if (y < 0) return -1;
  pd[sp] = mid;
  pd[sp + 1] = filters;
  int pk =
      layer_param(c, "pointwise_kernel", shape_make(0, sp + 2, pd), &sp_params->pointwise_init, st);
  if (layer_param_extras(c, pk, &sp_params->pointwise_regularizer, &sp_params->pointwise_constraint,
                         st) < 0)
    return -1;
  y = graph_conv(g, y, pk, &pw, st);
  layer_label(g, y, layer->name, "pointwise");
  return conv_layer_output(c, y, filters, sp, p->channels_first, st);
}
