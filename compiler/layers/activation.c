/* Activation: one activation function; lower_activation is also Dense's. */
#include "compiler/layers/layer.h"

/* log_softmax over the last axis as TF computes it: z = x - max(x) (no
 * gradient through the max: the result does not depend on it), then
 * z - log(sum(exp(z))). */
int lower_log_softmax(nnc_graph *g, int x, nnc_status *st) {
  if (x < 0) return -1;
  nnc_shape s = g->nodes[x].shape;
  int m = graph_reduce_max(g, x, s.rank - 1, 0, st);
  if (m < 0) return -1;
  g->nodes[m].flags |= NNC_NODE_NO_GRAD;
  s.dims[s.rank - 1] = 1;
  int z = graph_binary(g, NNC_BIN_SUB, x, graph_reshape(g, m, s, st), st);
  int sum = graph_reduce(g, NNC_RED_LAST, graph_unary(g, NNC_FN_EXP, z, st), st);
  return graph_binary(g, NNC_BIN_SUB, z, graph_unary(g, NNC_FN_LOG, sum, st), st);
}

int lower_activation(nnc_graph *g, int x, nnc_activation act, const char *layer, nnc_status *st) {
  static const int unary_of[NNC_ACT_COUNT] = {
      [NNC_ACT_LINEAR] = -1,
      [NNC_ACT_RELU] = NNC_FN_RELU,
      [NNC_ACT_SIGMOID] = NNC_FN_SIGMOID,
      [NNC_ACT_TANH] = NNC_FN_TANH,
      [NNC_ACT_SOFTMAX] = -1,
      [NNC_ACT_ELU] = NNC_FN_ELU,
      [NNC_ACT_SELU] = NNC_FN_SELU,
      [NNC_ACT_SOFTPLUS] = NNC_FN_SOFTPLUS,
      [NNC_ACT_SOFTSIGN] = NNC_FN_SOFTSIGN,
      [NNC_ACT_SWISH] = NNC_FN_SWISH,
      [NNC_ACT_GELU] = NNC_FN_GELU,
      [NNC_ACT_LEAKY_RELU] = NNC_FN_LEAKY_RELU,
      [NNC_ACT_EXPONENTIAL] = NNC_FN_EXP,
      [NNC_ACT_HARD_SIGMOID] = NNC_FN_HARD_SIGMOID,
      [NNC_ACT_RELU6] = NNC_FN_RELU6,
      [NNC_ACT_HARD_SILU] = NNC_FN_HARD_SILU,
      [NNC_ACT_MISH] = NNC_FN_MISH,
      [NNC_ACT_LOG_SOFTMAX] = -1,
  };
  int y;
  if (act == NNC_ACT_LINEAR) return x;
  if (act == NNC_ACT_SOFTMAX)
    y = graph_softmax(g, x, st);
  else if (act == NNC_ACT_LEAKY_RELU)
    y = graph_leaky_relu(g, x, 0.2, st); /* the "leaky_relu" activation string's slope */
  else if (act == NNC_ACT_LOG_SOFTMAX)
    y = lower_log_softmax(g, x, st);
  else
    y = graph_unary(g, (nnc_fn)unary_of[act], x, st);
  layer_label(g, y, layer, nnc_activation_name(act));
  return y;
}

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, "activation");
  const cJSON *act = spec_child(cfg, "activation");
  if (!act) return spec_fail_expected(ctx, path, act, "an activation name");
  return spec_parse_activation(ctx, act, path, &out->activation);
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  return lower_activation(&c->l->forward, in[0], c->layer->activation, c->layer->name, st);
}

const nnc_layer_class layer_activation = {"Activation", "activation", 1, 1, parse, lower, NULL};
