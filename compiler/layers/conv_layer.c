/* Parse and lower hooks shared by Conv1D, Conv2D and Conv3D (conv_layer.h). */
#include "compiler/layers/conv_layer.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

void conv_layer_padding(conv_padding mode, int64_t n, int64_t k, int64_t stride, int64_t dil,
                        int64_t *before, int64_t *after) {
  *before = *after = 0;
  if (mode == CONV_PAD_CAUSAL) {
    *before = dil * (k - 1);
  } else if (mode == CONV_PAD_SAME) { /* TensorFlow's SAME: ceil(n / stride) outputs */
    int64_t out = (n + stride - 1) / stride, total = (out - 1) * stride + dil * (k - 1) + 1 - n;
    if (total < 0) total = 0;
    *before = total / 2;
    *after = total - *before;
  }
}

/* An int (every axis) or a list of `spatial` positive ints. */
int conv_layer_int_tuple(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                         const char *key, int spatial, int64_t dflt, int64_t *out) {
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, key);
  const cJSON *item = spec_child(cfg, key);
  if (spec_is_absent(item)) {
    if (dflt < 1) return spec_fail(ctx, path, "missing; expected a positive integer or a list");
    for (int a = 0; a < spatial; a++) out[a] = dflt;
    return NNC_OK;
  }
  if (cJSON_IsNumber(item)) {
    int rc = spec_positive_int(ctx, item, path, &out[0]);
    for (int a = 1; a < spatial; a++) out[a] = out[0];
    return rc;
  }
  if (!cJSON_IsArray(item) || cJSON_GetArraySize(item) != spatial)
    return spec_fail_expected(ctx, path, item, "a positive integer or a list of %d of them",
                              spatial);
  for (int a = 0; a < spatial; a++) {
    char ipath[NNC_PATH_MAX];
    spec_path_index(ipath, path, a);
    int rc = spec_positive_int(ctx, cJSON_GetArrayItem(item, a), ipath, &out[a]);
    if (rc) return rc;
  }
  return NNC_OK;
}

int conv_layer_parse_padding(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                             int spatial, conv_padding *out) {
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, "padding");
  const cJSON *item = spec_child(cfg, "padding");
  *out = CONV_PAD_VALID;
  if (spec_is_absent(item)) return NNC_OK;
  /* Keras 3 lower-cases it (standardize_padding), as the pooling layers do */
  char s[8] = "";
  if (cJSON_IsString(item) && strlen(item->valuestring) < sizeof s)
    for (size_t i = 0; i <= strlen(item->valuestring); i++)
      s[i] = (char)tolower((unsigned char)item->valuestring[i]);
  if (!strcmp(s, "valid")) return NNC_OK;
  if (!strcmp(s, "same")) {
    *out = CONV_PAD_SAME;
    return NNC_OK;
  }
  if (!strcmp(s, "causal") && spatial == 1) {
    *out = CONV_PAD_CAUSAL;
    return NNC_OK;
  }
  return spec_fail_expected(ctx, path, item,
                            spatial == 1 ? "\"valid\", \"same\" or \"causal\""
                                         : "\"valid\" or \"same\"");
}

int conv_layer_parse_data_format(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                                 int *channels_first) {
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, "data_format");
  const cJSON *item = spec_child(cfg, "data_format");
  *channels_first = 0;
  if (spec_is_absent(item)) return NNC_OK;
  /* Keras 3 lower-cases it; tfjs spells it channelsLast: as the pooling layers */
  char norm[32];
  if (cJSON_IsString(item) && spec_normalize(item->valuestring, norm, sizeof norm)) {
    if (!strcmp(norm, "channelslast")) return NNC_OK;
    if (!strcmp(norm, "channelsfirst")) {
      *channels_first = 1;
      return NNC_OK;
    }
  }
  return spec_fail_expected(ctx, path, item, "\"channels_last\", \"channels_first\" or null");
}

/* Dense's weight keys: activation, use_bias, initializers, regularizers,
 * constraints; the kernel's are "<kernel>_initializer" ... (kernel, depthwise). */
int conv_layer_parse_weight_keys(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                                 const char *kernel, nnc_spec_layer *out) {
  char path[NNC_PATH_MAX], key_init[48], key_reg[48], key_con[48];
  snprintf(key_init, sizeof key_init, "%s_initializer", kernel);
  snprintf(key_reg, sizeof key_reg, "%s_regularizer", kernel);
  snprintf(key_con, sizeof key_con, "%s_constraint", kernel);
  int rc;
  spec_path_key(path, cfg_path, "activation");
  if ((rc = spec_parse_activation(ctx, spec_child(cfg, "activation"), path, &out->activation)))
    return rc;
  if ((rc = spec_get_bool(ctx, cfg, cfg_path, "use_bias", 1, &out->use_bias))) return rc;
  spec_path_key(path, cfg_path, key_init);
  if ((rc = spec_parse_init(ctx, spec_child(cfg, key_init), path, "glorot_uniform",
                            &out->kernel_init)))
    return rc;
  spec_path_key(path, cfg_path, "bias_initializer");
  if ((rc = spec_parse_init(ctx, spec_child(cfg, "bias_initializer"), path, "zeros",
                            &out->bias_init)))
    return rc;
  const char *const regularizers[] = {key_reg, "bias_regularizer", "activity_regularizer"};
  nnc_spec_regularizer *reg[] = {&out->kernel_regularizer, &out->bias_regularizer,
                                 &out->activity_regularizer};
  for (int i = 0; i < 3; i++) {
    spec_path_key(path, cfg_path, regularizers[i]);
    if ((rc = spec_parse_regularizer(ctx, spec_child(cfg, regularizers[i]), path, reg[i])))
      return rc;
  }
  spec_path_key(path, cfg_path, key_con);
  if ((rc = spec_parse_constraint(ctx, spec_child(cfg, key_con), path, &out->kernel_constraint)))
    return rc;
  spec_path_key(path, cfg_path, "bias_constraint");
  if ((rc = spec_parse_constraint(ctx, spec_child(cfg, "bias_constraint"), path,
                                  &out->bias_constraint)))
    return rc;
  return spec_require_null(ctx, cfg, cfg_path, "lora_rank", "LoRA (lora_rank)");
}

int conv_layer_parse_geometry(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                              conv_layer_params *p) {
  int rc, spatial = p->spatial;
  char path[NNC_PATH_MAX];
  if ((rc = conv_layer_int_tuple(ctx, cfg, cfg_path, "kernel_size", spatial, 0, p->kernel)))
    return rc;
  if ((rc = conv_layer_int_tuple(ctx, cfg, cfg_path, "strides", spatial, 1, p->strides))) return rc;
  if ((rc = conv_layer_int_tuple(ctx, cfg, cfg_path, "dilation_rate", spatial, 1, p->dilation)))
    return rc;
  if ((rc = conv_layer_parse_padding(ctx, cfg, cfg_path, spatial, &p->padding))) return rc;
  if ((rc = conv_layer_parse_data_format(ctx, cfg, cfg_path, &p->channels_first))) return rc;
  int strided = 0, dilated = 0;
  for (int a = 0; a < spatial; a++) {
    strided |= p->strides[a] > 1;
    dilated |= p->dilation[a] > 1;
  }
  if (strided && dilated) { /* Keras 3 refuses the combination too */
    spec_path_key(path, cfg_path, "strides");
    return spec_fail(ctx, path, "strides > 1 cannot be combined with dilation_rate > 1");
  }
  return NNC_OK;
}

static int parse_common(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                        nnc_spec_layer *out, int spatial, int depthwise) {
  conv_layer_params p;
  memset(&p, 0, sizeof p);
  p.spatial = spatial;
  p.depthwise = depthwise;
  char path[NNC_PATH_MAX];
  int rc;
  if (depthwise) {
    p.multiplier = 1;
    spec_path_key(path, cfg_path, "depth_multiplier");
    const cJSON *m = spec_child(cfg, "depth_multiplier");
    if (!spec_is_absent(m) && (rc = spec_positive_int(ctx, m, path, &p.multiplier))) return rc;
    p.filters = 1; /* channels x multiplier, set when lowered */
  } else {
    spec_path_key(path, cfg_path, "filters");
    if ((rc = spec_positive_int(ctx, spec_child(cfg, "filters"), path, &p.filters))) return rc;
  }
  if ((rc = conv_layer_parse_geometry(ctx, cfg, cfg_path, &p))) return rc;
  p.groups = 1;
  spec_path_key(path, cfg_path, "groups");
  const cJSON *groups = spec_child(cfg, "groups");
  if (!depthwise && !spec_is_absent(groups) &&
      (rc = spec_positive_int(ctx, groups, path, &p.groups)))
    return rc;
  if (p.filters % p.groups)
    return spec_fail(ctx, path, "filters (%lld) must be a multiple of groups (%lld)",
                     (long long)p.filters, (long long)p.groups);
  if ((rc = conv_layer_parse_weight_keys(ctx, cfg, cfg_path, depthwise ? "depthwise" : "kernel",
                                         out)))
    return rc;
  out->params = malloc(sizeof p);
  if (!out->params) return nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory");
  *(conv_layer_params *)out->params = p;
  return NNC_OK;
}

int conv_layer_parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                     nnc_spec_layer *out, int spatial) {
  return parse_common(ctx, cfg, cfg_path, out, spatial, 0);
}

int conv_layer_parse_depthwise(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                               nnc_spec_layer *out, int spatial) {
  return parse_common(ctx, cfg, cfg_path, out, spatial, 1);
}

/* [B, C, s..] <-> [B, s.., C] for channels_first. */
int conv_layer_to_channels(nnc_graph *g, int x, int spatial, int last, nnc_status *st) {
  int perm[NNC_MAX_RANK];
  perm[0] = 0;
  for (int a = 0; a < spatial; a++) perm[1 + a] = last ? 2 + a : 1 + a + 1;
  if (last) {
    perm[spatial + 1] = 1;
  } else { /* channels back to axis 1 */
    perm[1] = spatial + 1;
    for (int a = 0; a < spatial; a++) perm[2 + a] = 1 + a;
  }
  return graph_permute(g, x, perm, st);
}

/* The input of a convolution layer with `sp` spatial axes, channels last:
 * checked for its rank, transposed from channels_first. -1 with st set. */
int conv_layer_input(layer_call *c, int x, int sp, int channels_first, nnc_status *st) {
  nnc_graph *g = &c->l->forward;
  const nnc_spec_layer *layer = c->layer;
  const nnc_shape *s = &g->nodes[x].shape;
  if (!s->batched || s->rank != sp + 2) {
    char have[64];
    shape_format(s, have, sizeof have);
    return layer_fail(c, st,
                      "%s \"%s\" expects an input of rank %d (batch, %d spatial axes, "
                      "channels), got %s",
                      layer_class(layer->kind)->class_name, layer->name, sp + 2, sp, have);
  }
  if (channels_first) {
    x = conv_layer_to_channels(g, x, sp, 1, st);
    layer_label(g, x, layer->name, "channels_last");
  }
  return x;
}

/* The rest of a convolution layer after its convolution y: bias, activation,
 * back to channels_first, activity regularizer. -1 with st set. */
int conv_layer_output(layer_call *c, int y, int64_t filters, int sp, int channels_first,
                      nnc_status *st) {
  nnc_graph *g = &c->l->forward;
  const nnc_spec_layer *layer = c->layer;
  if (y >= 0 && layer->use_bias) {
    int b = layer_param(c, "bias", shape_make(0, 1, &filters), &layer->bias_init, st);
    if (layer_param_extras(c, b, &layer->bias_regularizer, &layer->bias_constraint, st) < 0)
      return -1;
    y = graph_binary(g, NNC_BIN_ADD, y, b, st);
    layer_label(g, y, layer->name, "bias");
  }
  if (y < 0) return -1;
  y = lower_activation(g, y, layer->activation, layer->name, st);
  if (y >= 0 && channels_first) {
    y = conv_layer_to_channels(g, y, sp, 0, st);
    layer_label(g, y, layer->name, "channels_first");
  }
  if (y < 0) return -1;
  return layer_activity_regularizer(c, y, st);
}

int conv_layer_lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  nnc_graph *g = &c->l->forward;
  const nnc_spec_layer *layer = c->layer;
  const conv_layer_params *p = layer->params;
  int sp = p->spatial, x = conv_layer_input(c, in[0], sp, p->channels_first, st);
  if (x < 0) return -1;
  const nnc_shape *s = &g->nodes[x].shape;
  int64_t cin = s->dims[sp + 1];
  /* a depthwise convolution is the grouped one with a group per channel */
  int64_t groups = p->depthwise ? cin : p->groups;
  int64_t filters = p->depthwise ? cin * p->multiplier : p->filters;
  if (cin % groups)
    return layer_fail(c, st,
                      "layer \"%s\": the input's %lld channels are not a multiple of "
                      "groups (%lld)",
                      layer->name, (long long)cin, (long long)groups);
  nnc_conv_params cp;
  memset(&cp, 0, sizeof cp);
  cp.spatial = sp;
  cp.groups = groups;
  int64_t kd[NNC_MAX_RANK];
  for (int a = 0; a < sp; a++) {
    int64_t n = s->dims[1 + a];
    cp.stride[a] = p->strides[a];
    cp.dilation[a] = p->dilation[a];
    conv_layer_padding(p->padding, n, p->kernel[a], p->strides[a], p->dilation[a], &cp.pad[a],
                       &cp.pad_end[a]);
    if (conv_out_len(n, p->kernel[a], cp.stride[a], cp.dilation[a], cp.pad[a], cp.pad_end[a]) < 1)
      return layer_fail(c, st,
                        "layer \"%s\": spatial axis %d of the input (%lld) is smaller "
                        "than the dilated kernel (%lld)",
                        layer->name, a + 1, (long long)n,
                        (long long)(p->dilation[a] * (p->kernel[a] - 1) + 1));
    kd[a] = p->kernel[a];
  }
  kd[sp] = p->depthwise ? cin : cin / groups; /* Keras's kernel [k.., in, multiplier] */
  kd[sp + 1] = p->depthwise ? p->multiplier : filters;
  int w = layer_param(c, "kernel", shape_make(0, sp + 2, kd), &layer->kernel_init, st);
  if (layer_param_extras(c, w, &layer->kernel_regularizer, &layer->kernel_constraint, st) < 0)
    return -1;
  if (p->depthwise) { /* the same floats as the grouped kernel [k.., 1, in x multiplier] */
    kd[sp] = 1;
    kd[sp + 1] = filters;
    w = graph_reshape(g, w, shape_make(0, sp + 2, kd), st);
    layer_label(g, w, layer->name, "depthwise_kernel");
  }
  int y = graph_conv(g, x, w, &cp, st);
  layer_label(g, y, layer->name, "conv");
  return conv_layer_output(c, y, filters, sp, p->channels_first, st);
}
