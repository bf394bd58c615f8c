/* Shared parts of the noise layers (noise.h). */
#include "compiler/layers/noise.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int store(const spec_ctx *ctx, const noise_params *p, nnc_spec_layer *out) {
  out->params = malloc(sizeof *p);
  if (!out->params) return nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory");
  *(noise_params *)out->params = *p;
  return NNC_OK;
}

int noise_parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, const char *key,
                double max, int max_included, nnc_spec_layer *out) {
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, key);
  const cJSON *v = spec_child(cfg, key);
  noise_params p = {0};
  int ok = cJSON_IsNumber(v) && v->valuedouble >= 0.0 &&
           (max_included ? v->valuedouble <= max : v->valuedouble < max);
  if (!ok) {
    if (isinf(max)) return spec_fail_expected(ctx, path, v, "a number >= 0");
    return spec_fail_expected(ctx, path, v, "a number in [0, %g%s", max, max_included ? "]" : ")");
  }
  p.value = v->valuedouble;
  int has_seed;
  int64_t seed;
  int rc = spec_get_seed(ctx, cfg, cfg_path, "seed", &has_seed, &seed);
  if (rc) return rc;
  if ((rc = spec_require_null(ctx, cfg, cfg_path, "noise_shape", "noise_shape"))) return rc;
  return store(ctx, &p, out);
}

int noise_parse_spatial(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                        int has_data_format, nnc_spec_layer *out) {
  int rc = noise_parse(ctx, cfg, cfg_path, "rate", 1.0, 0, out);
  if (rc || !has_data_format) return rc;
  noise_params *p = out->params;
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, "data_format");
  const cJSON *f = spec_child(cfg, "data_format");
  if (spec_is_absent(f) || (cJSON_IsString(f) && strcmp(f->valuestring, "channels_last") == 0))
    return NNC_OK;
  if (cJSON_IsString(f) && strcmp(f->valuestring, "channels_first") == 0) {
    p->channels_first = 1;
    return NNC_OK;
  }
  return spec_fail_expected(ctx, path, f, "\"channels_last\" or \"channels_first\"");
}

int noise_select(layer_call *c, int noisy, int x, nnc_status *st) {
  nnc_graph *g = &c->l->forward;
  int y = graph_phase_select(g, noisy, x, st);
  layer_label(g, y, c->layer->name, "phase");
  return y;
}

/* One mask entry per (sample, channel), repeated over the spatial axes as
 * Keras's noise_shape (B, 1, ..., 1, C) or (B, C, 1, ..., 1) does. */
int noise_spatial_lower(layer_call *c, const int *in, int rank, nnc_status *st) {
  const noise_params *p = c->layer->params;
  nnc_graph *g = &c->l->forward;
  const nnc_shape xs = g->nodes[in[0]].shape;
  if (!xs.batched || xs.rank != rank) {
    char have[64];
    shape_format(&xs, have, sizeof have);
    return layer_fail(c, st, "expected an input of rank %d (batch included) for %s \"%s\", got %s",
                      rank, layer_class(c->layer->kind)->class_name, c->layer->name, have);
  }
  if (!c->training || p->value == 0.0) return in[0];
  int cf = p->channels_first;
  int64_t ch = cf ? xs.dims[1] : xs.dims[rank - 1];
  int64_t spatial = shape_inner(&xs) / ch;
  int64_t three[3] = {-1, cf ? ch : spatial, cf ? spatial : ch}, two[2] = {-1, ch};
  /* a [B, C] value only gives the mask its shape (the mask reads no element) */
  int flat = graph_reshape(g, in[0], shape_make(1, 3, three), st);
  int first = graph_slice(g, flat, cf ? 2 : 1, 0, 1, st);
  int per_channel = graph_reshape(g, first, shape_make(1, 2, two), st);
  int mask =
      graph_dropout_mask(g, per_channel, p->value, norm_stream_key(c, "dropout", c->layer), st);
  layer_label(g, mask, c->layer->name, "mask");
  int spread = graph_repeat_axis(g, mask, cf ? 2 : 1, spatial, st);
  int y = graph_binary(g, NNC_BIN_MUL, in[0], graph_reshape(g, spread, xs, st), st);
  layer_label(g, y, c->layer->name, "dropout");
  return noise_select(c, y, in[0], st);
}
