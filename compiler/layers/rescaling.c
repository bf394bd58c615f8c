/* Rescaling: y = x * scale + offset, in every phase (Keras 3
 * keras/src/layers/preprocessing/rescaling.py). A per-channel list scale is
 * refused. */
#include "compiler/layers/preprocessing.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  prep_params p = {0};
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, "scale");
  const cJSON *scale = spec_child(cfg, "scale");
  if (cJSON_IsArray(scale))
    return spec_fail_unsupported(ctx, path, scale, "Rescaling with a list scale (one per channel)");
  if (spec_is_absent(scale)) return spec_fail_expected(ctx, path, scale, "a number");
  if (spec_float32_value(ctx, scale, path, &p.scale)) return ctx->st->code;
  spec_path_key(path, cfg_path, "offset");
  const cJSON *offset = spec_child(cfg, "offset");
  if (cJSON_IsArray(offset))
    return spec_fail_unsupported(ctx, path, offset,
                                 "Rescaling with a list offset (one per channel)");
  if (spec_get_float32(ctx, cfg, cfg_path, "offset", 0.0, &p.offset)) return ctx->st->code;
  return prep_store(ctx, &p, out);
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  const prep_params *p = c->layer->params;
  nnc_graph *g = &c->l->forward;
  int y = graph_binary(g, NNC_BIN_MUL, in[0], graph_const(g, p->scale, st), st);
  if (y >= 0 && p->offset != 0.0)
    y = graph_binary(g, NNC_BIN_ADD, y, graph_const(g, p->offset, st), st);
  layer_label(g, y, c->layer->name, "rescale");
  return y;
}

const nnc_layer_class layer_rescaling = {"Rescaling", "rescaling", 1, 1, parse, lower, NULL};
