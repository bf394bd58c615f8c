/* GaussianNoise (Keras 3): x + stddev * N(0, 1) in the train phase, x in
 * inference (noise.c). */
#include "compiler/layers/noise.h"

#include <math.h>

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  return noise_parse(ctx, cfg, cfg_path, "stddev", INFINITY, 0, out);
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  const noise_params *p = c->layer->params;
  if (!c->training || p->value == 0.0) return in[0];
  nnc_graph *g = &c->l->forward;
  int noise = graph_normal_noise(g, in[0], norm_stream_key(c, "gaussian_noise", c->layer), st);
  layer_label(g, noise, c->layer->name, "noise");
  int y = graph_binary(g, NNC_BIN_ADD, in[0],
                       graph_binary(g, NNC_BIN_MUL, noise, graph_const(g, p->value, st), st), st);
  layer_label(g, y, c->layer->name, "noisy");
  return noise_select(c, y, in[0], st);
}

const nnc_layer_class layer_gaussian_noise = {
    "GaussianNoise", "gaussian_noise", 1, 1, parse, lower, NULL};
