/* UpSampling1D/2D/3D: each spatial axis enlarged `size` times. 'nearest'
 * repeats every entry (Keras: ops.repeat per axis): a REPEAT_AXIS after the
 * axis and a reshape that merges the two. UpSampling2D's 'bilinear' is
 * Keras 3's ops.image.resize (tf.image.resize, half-pixel centers, no
 * antialiasing when enlarging): one RESIZE node per axis. */
#include <string.h>

#include "compiler/layers/spatial.h"

static int parse_interpolation(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                               int *bilinear) {
  const cJSON *v = spec_child(cfg, "interpolation");
  if (spec_is_absent(v)) return NNC_OK;
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, "interpolation");
  if (cJSON_IsString(v) && !strcmp(v->valuestring, "nearest")) return NNC_OK;
  if (cJSON_IsString(v) && !strcmp(v->valuestring, "bilinear")) {
    *bilinear = 1;
    return NNC_OK;
  }
  if (cJSON_IsString(v))
    return spec_fail_unsupported(ctx, path, v,
                                 "UpSampling2D interpolation other than "
                                 "\"nearest\" and \"bilinear\"");
  return spec_fail_expected(ctx, path, v, "\"nearest\" or \"bilinear\"");
}

int up_sampling_parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, int dims,
                      nnc_spec_layer *out) {
  spatial_params p = {.dims = dims, .a = {2, 2, 2}};
  if (spatial_parse_ints(ctx, cfg, cfg_path, "size", dims, 1, p.a) ||
      spatial_parse_format(ctx, cfg, cfg_path, &p.channels_first))
    return ctx->st->code;
  if (dims == 2 && parse_interpolation(ctx, cfg, cfg_path, &p.bilinear)) return ctx->st->code;
  return spatial_store(ctx, &p, out);
}

/* x with every entry of `axis` repeated f times in place. */
static int repeat_entries(nnc_graph *g, int x, int axis, int64_t f, nnc_status *st) {
  nnc_shape s = g->nodes[x].shape;
  int y = graph_repeat_axis(g, x, axis + 1, f, st);
  s.dims[axis] *= f;
  return y < 0 ? -1 : graph_reshape(g, y, s, st);
}

int up_sampling_lower(layer_call *c, const int *in, nnc_status *st) {
  const spatial_params *p = c->layer->params;
  nnc_graph *g = &c->l->forward;
  if (spatial_check_input(c, in[0], p->dims, st)) return -1;
  int x = in[0];
  for (int k = 0; k < p->dims && x >= 0; k++) {
    int axis = (p->channels_first ? 2 : 1) + k;
    if (p->a[k] == 1 && !p->bilinear) continue;
    int64_t len = g->nodes[x].shape.dims[axis];
    x = p->bilinear ? graph_resize(g, x, NNC_RESIZE_LINEAR, axis, len * p->a[k], st)
                    : repeat_entries(g, x, axis, p->a[k], st);
    layer_label(g, x, c->layer->name, p->bilinear ? "bilinear" : "repeat");
  }
  return x;
}
