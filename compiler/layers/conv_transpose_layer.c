/* Parse and lower hooks shared by Conv1DTranspose, Conv2DTranspose and
 * Conv3DTranspose (conv_transpose_layer.h). */
#include "compiler/layers/conv_transpose_layer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Keras 3 (keras/src/backend/common/backend_utils.py): with the dilated
 * kernel dk = dil (k - 1) + 1 the output length is
 *   valid: (n - 1) s + dk + op, op None -> max(dk, s) - dk
 *   same:  n s when op is None, else (n - 1) s + dk % 2 + op,
 * and its JAX backend pads the stride-dilated input with `left` zeros
 * (valid: dk - 1; same: min(ceil(len / 2), dk - 1) with len = s + dk - 2,
 * or dk + dk % 2 - 2 + op) before a convolution with the flipped kernel,
 * which is the input gradient of a convolution over the output with
 * dk - 1 - left zeros before it (TensorFlow's conv2d_transpose agrees). The
 * zeros after are the fewest that give that convolution n outputs. */
void conv_transpose_axis(conv_padding mode, int64_t n, int64_t k, int64_t stride, int64_t dil,
                         int64_t op, int64_t *length, int64_t *pad, int64_t *pad_end) {
  int64_t dk = dil * (k - 1) + 1, left;
  if (mode == CONV_PAD_SAME) {
    int64_t len = op < 0 ? stride + dk - 2 : dk + dk % 2 - 2 + op;
    left = (len + 1) / 2 < dk - 1 ? (len + 1) / 2 : dk - 1;
    *length = op < 0 ? n * stride : (n - 1) * stride + dk % 2 + op;
  } else {
    left = dk - 1;
    *length = (n - 1) * stride + dk + (op < 0 ? (dk > stride ? 0 : stride - dk) : op);
  }
  *pad = dk - 1 - left;
  int64_t end = (n - 1) * stride + dk - *length - *pad;
  *pad_end = end > 0 ? end : 0;
}

/* output_padding: null, an int or a list of `spatial` ints, each >= 0 and
 * < its stride (Keras 3 refuses the rest). */
static int parse_output_padding(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                                conv_transpose_params *p) {
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, "output_padding");
  const cJSON *item = spec_child(cfg, "output_padding");
  int sp = p->conv.spatial;
  if (spec_is_absent(item)) return NNC_OK;
  int list = cJSON_IsArray(item);
  if (list && cJSON_GetArraySize(item) != sp)
    return spec_fail_expected(ctx, path, item, "null, an integer or a list of %d integers", sp);
  for (int a = 0; a < sp; a++) {
    const cJSON *v = list ? cJSON_GetArrayItem(item, a) : item;
    char ipath[NNC_PATH_MAX];
    if (list)
      spec_path_index(ipath, path, a);
    else
      memcpy(ipath, path, sizeof ipath);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble != floor(v->valuedouble) ||
        v->valuedouble >= (double)p->conv.strides[a])
      return spec_fail_expected(ctx, ipath, v,
                                "an integer >= 0 and smaller than the stride (%lld), as Keras "
                                "requires",
                                (long long)p->conv.strides[a]);
    p->output_padding[a] = (int64_t)v->valuedouble;
  }
  p->has_output_padding = 1;
  return NNC_OK;
}

int conv_transpose_layer_parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                               nnc_spec_layer *out, int spatial) {
  conv_transpose_params p;
  memset(&p, 0, sizeof p);
  p.conv.spatial = spatial;
  p.conv.groups = 1;
  char path[NNC_PATH_MAX];
  int rc;
  spec_path_key(path, cfg_path, "filters");
  if ((rc = spec_positive_int(ctx, spec_child(cfg, "filters"), path, &p.conv.filters))) return rc;
  if ((rc = conv_layer_parse_geometry(ctx, cfg, cfg_path, &p.conv))) return rc;
  if (p.conv.padding == CONV_PAD_CAUSAL) {
    spec_path_key(path, cfg_path, "padding");
    return spec_fail_expected(ctx, path, spec_child(cfg, "padding"), "\"valid\" or \"same\"");
  }
  if ((rc = parse_output_padding(ctx, cfg, cfg_path, &p))) return rc;
  /* tf.keras 2 writes "groups": 1 into Conv2DTranspose configs; Keras 3 has none */
  spec_path_key(path, cfg_path, "groups");
  const cJSON *groups = spec_child(cfg, "groups");
  if (!spec_is_absent(groups) && !(cJSON_IsNumber(groups) && groups->valuedouble == 1))
    return spec_fail_expected(ctx, path, groups,
                              "1 or null (transposed convolutions have no groups)");
  if ((rc = conv_layer_parse_weight_keys(ctx, cfg, cfg_path, "kernel", out))) return rc;
  out->params = malloc(sizeof p);
  if (!out->params) return nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory");
  *(conv_transpose_params *)out->params = p;
  return NNC_OK;
}

int conv_transpose_layer_lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  nnc_graph *g = &c->l->forward;
  const nnc_spec_layer *layer = c->layer;
  const conv_transpose_params *tp = layer->params;
  const conv_layer_params *p = &tp->conv;
  int sp = p->spatial, x = conv_layer_input(c, in[0], sp, p->channels_first, st);
  if (x < 0) return -1;
  const nnc_shape *s = &g->nodes[x].shape;
  int64_t cin = s->dims[sp + 1], filters = p->filters;
  nnc_conv_params cp;
  memset(&cp, 0, sizeof cp);
  cp.spatial = sp;
  cp.groups = 1;
  int64_t size[NNC_CONV_MAX_SPATIAL], kd[NNC_MAX_RANK];
  for (int a = 0; a < sp; a++) {
    cp.stride[a] = p->strides[a];
    cp.dilation[a] = p->dilation[a];
    conv_transpose_axis(p->padding, s->dims[1 + a], p->kernel[a], p->strides[a], p->dilation[a],
                        tp->has_output_padding ? tp->output_padding[a] : -1, &size[a], &cp.pad[a],
                        &cp.pad_end[a]);
    if (size[a] < 1)
      return layer_fail(c, st, "layer \"%s\": spatial axis %d of the output would have length %lld",
                        layer->name, a + 1, (long long)size[a]);
    kd[a] = p->kernel[a];
  }
  kd[sp] = filters; /* Keras: [k.., filters, in] */
  kd[sp + 1] = cin;
  int w = layer_param(c, "kernel", shape_make(0, sp + 2, kd), &layer->kernel_init, st);
  if (layer_param_extras(c, w, &layer->kernel_regularizer, &layer->kernel_constraint, st) < 0)
    return -1;
  int y = graph_conv_transpose(g, x, w, &cp, size, st);
  layer_label(g, y, layer->name, "conv_transpose");
  return conv_layer_output(c, y, filters, sp, p->channels_first, st);
}
