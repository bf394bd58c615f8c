/* RandomBrightness (Keras 3 random_brightness.py): in the train phase each
 * sample gets one delta added to every pixel and channel, uniform in
 * [lower, upper] times (high - low) of value_range, then the result is
 * clipped to value_range. factor: a number f in [-1, 1] means [-|f|, |f|],
 * a pair is sorted (the base _set_factor); value_range (default [0, 255])
 * is sorted as Keras sorts it. Identity in inference (no clipping). */
#include "compiler/layers/noise.h"
#include "compiler/layers/preprocessing.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  prep_params p = {0};
  if (prep_parse_factor(ctx, cfg, cfg_path, "factor", -1.0, 1.0, &p.lo, &p.hi) ||
      prep_parse_value_range(ctx, cfg, cfg_path, 1, &p) ||
      prep_parse_format(ctx, cfg, cfg_path, &p.channels_first) ||
      prep_parse_seed(ctx, cfg, cfg_path, &p))
    return ctx->st->code;
  return prep_store(ctx, &p, out);
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  const prep_params *p = c->layer->params;
  nnc_graph *g = &c->l->forward;
  if (prep_check_image(c, in[0], st)) return -1;
  if (!c->training) return in[0];
  nnc_shape xs = g->nodes[in[0]].shape;
  int64_t d2[2] = {-1, shape_inner(&xs)};
  int flat = graph_reshape(g, in[0], shape_make(1, 2, d2), st);
  /* delta = uniform(lower, upper) * (high - low), per sample */
  int factor = prep_uniform_factor(c, in[0], p->lo, p->hi - p->lo, st);
  if (factor < 0 || flat < 0) return -1;
  double span = p->range_hi - p->range_lo;
  int delta = graph_binary(g, NNC_BIN_MUL, factor, graph_const(g, span, st), st);
  int y =
      graph_clip(g, graph_binary(g, NNC_BIN_ADD, flat, delta, st), p->range_lo, p->range_hi, st);
  y = y < 0 ? -1 : graph_reshape(g, y, xs, st);
  layer_label(g, y, c->layer->name, "brightness");
  return y < 0 ? -1 : noise_select(c, y, in[0], st);
}

const nnc_layer_class layer_random_brightness = {
    "RandomBrightness", "random_brightness", 1, 1, parse, lower, NULL};
