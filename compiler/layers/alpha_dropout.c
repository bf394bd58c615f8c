/* AlphaDropout (Keras 3): in the train phase, dropped entries become
 * alpha' = -selu_alpha * selu_scale and the result is a * x' + b with
 * a = ((1 - rate)(1 + rate alpha'^2))^-1/2, b = -a alpha' rate, which keeps
 * SELU's mean and variance; x in inference (noise.c). The keep decision is
 * a dropout mask (kept when the uniform draw >= rate). */
#include "compiler/layers/noise.h"

#include <math.h>

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  return noise_parse(ctx, cfg, cfg_path, "rate", 1.0, 0, out);
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  const noise_params *p = c->layer->params;
  double rate = p->value;
  if (!c->training || rate == 0.0) return in[0];
  nnc_graph *g = &c->l->forward;
  const double alpha_p = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946;
  double a = pow((1.0 - rate) * (1.0 + rate * alpha_p * alpha_p), -0.5);
  double b = -a * alpha_p * rate;
  /* the mask is 0 or 1/(1 - rate): kept = mask * (1 - rate) */
  int mask = graph_dropout_mask(g, in[0], rate, norm_stream_key(c, "dropout", c->layer), st);
  layer_label(g, mask, c->layer->name, "mask");
  int kept = graph_binary(g, NNC_BIN_MUL, mask, graph_const(g, 1.0 - rate, st), st);
  /* x' = kept x + (1 - kept) alpha' = kept (x - alpha') + alpha' */
  int xp = graph_binary(
      g, NNC_BIN_ADD,
      graph_binary(g, NNC_BIN_MUL, kept,
                   graph_binary(g, NNC_BIN_SUB, in[0], graph_const(g, alpha_p, st), st), st),
      graph_const(g, alpha_p, st), st);
  int y = graph_binary(g, NNC_BIN_ADD, graph_binary(g, NNC_BIN_MUL, xp, graph_const(g, a, st), st),
                       graph_const(g, b, st), st);
  layer_label(g, y, c->layer->name, "dropout");
  return noise_select(c, y, in[0], st);
}

const nnc_layer_class layer_alpha_dropout = {"AlphaDropout", "alpha_dropout", 1,   1,
                                             parse,          lower,           NULL};
