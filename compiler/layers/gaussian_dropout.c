/* GaussianDropout (Keras 3): x * N(1, rate / (1 - rate)) in the train phase
 * when rate > 0, x otherwise (noise.c). Keras 3 accepts a rate in [0, 1] but
 * its train-phase call with rate 1 divides by zero (math.sqrt(rate / (1 -
 * rate)), a ZeroDivisionError): fit fails, predict and evaluate run (the
 * layer is then x). nnc refuses such a model's train graph, which is built
 * whenever the spec has a compile config; without one it predicts. tf.keras
 * 2 and tfjs made rate 1 the identity instead. */
#include "compiler/layers/noise.h"

#include <math.h>

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  return noise_parse(ctx, cfg, cfg_path, "rate", 1.0, 1, out);
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  const noise_params *p = c->layer->params;
  if (!c->training || !(p->value > 0.0)) return in[0];
  if (p->value >= 1.0) {
    if (!c->l->trains) return in[0]; /* inference only: the train call never runs */
    return layer_fail(c, st,
                      "GaussianDropout \"%s\" has rate 1: its noise's stddev sqrt(rate / (1 - "
                      "rate)) is infinite, and Keras 3's training call fails (division by zero); "
                      "expected a rate below 1 for a model with a compile config (without one "
                      "the layer only predicts, as x)",
                      c->layer->name);
  }
  nnc_graph *g = &c->l->forward;
  double stddev = sqrt(p->value / (1.0 - p->value));
  int noise = graph_normal_noise(g, in[0], norm_stream_key(c, "gaussian_dropout", c->layer), st);
  layer_label(g, noise, c->layer->name, "noise");
  int factor =
      graph_binary(g, NNC_BIN_ADD, graph_const(g, 1.0, st),
                   graph_binary(g, NNC_BIN_MUL, noise, graph_const(g, stddev, st), st), st);
  int y = graph_binary(g, NNC_BIN_MUL, in[0], factor, st);
  layer_label(g, y, c->layer->name, "noisy");
  return noise_select(c, y, in[0], st);
}

const nnc_layer_class layer_gaussian_dropout = {
    "GaussianDropout", "gaussian_dropout", 1, 1, parse, lower, NULL};
