/* Flatten: [batch, d1, d2, ...] -> [batch, d1*d2*...]. */
#include <string.h>

#include "compiler/layers/layer.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  (void)out;
  const cJSON *fmt = spec_child(cfg, "data_format");
  if (spec_is_absent(fmt)) return NNC_OK;
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, "data_format");
  if (cJSON_IsString(fmt) && strcmp(fmt->valuestring, "channels_last") == 0) return NNC_OK;
  if (cJSON_IsString(fmt) && strcmp(fmt->valuestring, "channels_first") == 0)
    return spec_fail_unsupported(ctx, path, fmt, "Flatten with data_format channels_first");
  return spec_fail_expected(ctx, path, fmt, "\"channels_last\" or null");
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  nnc_graph *g = &c->l->forward;
  const nnc_shape *s = &g->nodes[in[0]].shape;
  if (s->rank < 2) {
    nnc_fail(st, NNC_ERR_SPEC, "%s: %s: Flatten needs an input with a batch axis", c->spec->source,
             c->layer->path);
    return -1;
  }
  int64_t d[2] = {-1, shape_inner(s)};
  int y = layer_reshape_node(g, in[0], shape_make(1, 2, d), st);
  layer_label(g, y, c->layer->name, "flatten");
  return y;
}

const nnc_layer_class layer_flatten = {"Flatten", "flatten", 1, 1, parse, lower, NULL};
