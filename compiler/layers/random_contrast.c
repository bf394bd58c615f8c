/* RandomContrast (Keras 3 random_contrast.py): in the train phase each
 * sample's channels are pulled from or pushed away from their mean over
 * height and width: y = clip((x - mean) * f + mean, value_range), f uniform
 * in [1 - lower, 1 + upper] per sample. The factor goes through Keras 3's
 * base _set_factor with bounds [0, 1]: a number f gives (0, f), so the
 * draws lie in [1, 1 + f] (the source's behaviour); a pair (a, b) gives
 * [1 - a, 1 + b]. Identity in inference. */
#include "compiler/layers/noise.h"
#include "compiler/layers/preprocessing.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  prep_params p = {.range_lo = 0, .range_hi = 255};
  if (prep_parse_factor(ctx, cfg, cfg_path, "factor", 0.0, 1.0, &p.lo, &p.hi) ||
      prep_parse_format(ctx, cfg, cfg_path, &p.channels_first) ||
      prep_parse_seed(ctx, cfg, cfg_path, &p))
    return ctx->st->code;
  if (prep_parse_value_range(ctx, cfg, cfg_path, 0, &p)) return ctx->st->code;
  return prep_store(ctx, &p, out);
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  const prep_params *p = c->layer->params;
  nnc_graph *g = &c->l->forward;
  if (prep_check_image(c, in[0], st)) return -1;
  if (!c->training) return in[0];
  int x = prep_to_last(c, in[0], st);
  if (x < 0) return -1;
  nnc_shape xs = g->nodes[x].shape;
  int64_t hw = xs.dims[1] * xs.dims[2], ch = xs.dims[3];
  int64_t d3[3] = {-1, hw, ch}, d2[2] = {-1, hw * ch};
  int flat = graph_reshape(g, x, shape_make(1, 3, d3), st);
  /* the per-sample, per-channel mean over height and width, spread back */
  int mean = graph_binary(g, NNC_BIN_MUL, graph_reduce_axis(g, flat, 1, st),
                          graph_const(g, 1.0 / (double)hw, st), st);
  int spread = graph_repeat_axis(g, mean, 1, hw, st);
  /* f = uniform(1 - lower, 1 + upper) */
  int f = prep_uniform_factor(c, x, 1.0 - p->lo, p->hi + p->lo, st);
  if (f < 0 || spread < 0) return -1;
  int dev =
      graph_reshape(g, graph_binary(g, NNC_BIN_SUB, flat, spread, st), shape_make(1, 2, d2), st);
  int scaled = graph_reshape(g, graph_binary(g, NNC_BIN_MUL, dev, f, st), shape_make(1, 3, d3), st);
  int y =
      graph_clip(g, graph_binary(g, NNC_BIN_ADD, scaled, spread, st), p->range_lo, p->range_hi, st);
  y = y < 0 ? -1 : graph_reshape(g, y, xs, st);
  layer_label(g, y, c->layer->name, "contrast");
  y = prep_to_first(c, y, st);
  return y < 0 ? -1 : noise_select(c, y, in[0], st);
}

const nnc_layer_class layer_random_contrast = {
    "RandomContrast", "random_contrast", 1, 1, parse, lower, NULL};
