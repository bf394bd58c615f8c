/* MaxPooling1D/2D/3D and AveragePooling1D/2D/3D: one POOL node (fn max or
 * avg) on the channels-last input. pool_size (default 2 per axis), strides
 * (default: pool_size), padding 'valid' or 'same' (TF's rule: out =
 * ceil(in / stride), the padding split with the smaller half before; the
 * average divides by the entries inside the input), data_format. */
#include <ctype.h>
#include <string.h>

#include "compiler/layers/spatial.h"

static int parse_padding(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, int *same) {
  const cJSON *v = spec_child(cfg, "padding");
  *same = 0;
  if (spec_is_absent(v)) return NNC_OK;
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, "padding");
  if (cJSON_IsString(v)) { /* Keras lower-cases it */
    char low[8] = {0};
    size_t n = strlen(v->valuestring);
    for (size_t i = 0; i < n && i < sizeof low - 1; i++)
      low[i] = (char)tolower((unsigned char)v->valuestring[i]);
    if (n < sizeof low && !strcmp(low, "valid")) return NNC_OK;
    if (n < sizeof low && !strcmp(low, "same")) {
      *same = 1;
      return NNC_OK;
    }
  }
  return spec_fail_expected(ctx, path, v, "\"valid\" or \"same\"");
}

int pooling_parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, int dims,
                  nnc_spec_layer *out) {
  spatial_params p = {.dims = dims, .a = {2, 2, 2}};
  if (spatial_parse_ints(ctx, cfg, cfg_path, "pool_size", dims, 1, p.a)) return ctx->st->code;
  memcpy(p.b, p.a, sizeof p.b);
  if (spatial_parse_ints(ctx, cfg, cfg_path, "strides", dims, 1, p.b) ||
      parse_padding(ctx, cfg, cfg_path, &p.same) ||
      spatial_parse_format(ctx, cfg, cfg_path, &p.channels_first))
    return ctx->st->code;
  return spatial_store(ctx, &p, out);
}

int pooling_lower(layer_call *c, const int *in, nnc_pool_fn fn, nnc_status *st) {
  const spatial_params *p = c->layer->params;
  nnc_graph *g = &c->l->forward;
  if (spatial_check_input(c, in[0], p->dims, st)) return -1;
  int x = p->channels_first ? spatial_to_last(g, in[0], st) : in[0];
  if (x < 0) return -1;
  nnc_pool_params pp;
  memset(&pp, 0, sizeof pp);
  for (int k = 0; k < p->dims; k++) {
    int64_t len = g->nodes[x].shape.dims[1 + k], win = p->a[k], stride = p->b[k];
    if (!p->same && len < win)
      return layer_fail(c, st,
                        "the pool size %lld of %s \"%s\" exceeds the input's length %lld on "
                        "spatial axis %d with padding 'valid'",
                        (long long)win, layer_class(c->layer->kind)->class_name, c->layer->name,
                        (long long)len, k);
    pp.window[k] = (int32_t)win;
    pp.strides[k] = (int32_t)stride;
    if (p->same) {
      int64_t o = (len + stride - 1) / stride, total = (o - 1) * stride + win - len;
      if (total < 0) total = 0;
      pp.pad_lo[k] = (int32_t)(total / 2);
      pp.pad_hi[k] = (int32_t)(total - total / 2);
    }
  }
  int y = graph_pool(g, x, fn, &pp, st);
  layer_label(g, y, c->layer->name, fn == NNC_POOL_MAX ? "max_pool" : "avg_pool");
  if (y >= 0 && p->channels_first) y = spatial_to_first(g, y, st);
  return y;
}
