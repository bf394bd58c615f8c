/* Dropout: a DROPOUT node (a mask in training, identity in inference);
 * nothing at all for a call made with training=False. */
#include <stdio.h>

#include "compiler/layers/layer.h"
#include "base/rng.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, "rate");
  const cJSON *rate = spec_child(cfg, "rate");
  if (!cJSON_IsNumber(rate) || !(rate->valuedouble >= 0.0 && rate->valuedouble <= 1.0))
    return spec_fail_expected(ctx, path, rate, "a number in [0, 1]");
  out->rate = rate->valuedouble;
  int rc = spec_get_seed(ctx, cfg, cfg_path, "seed", &out->has_seed, &out->seed);
  if (rc) return rc;
  return spec_require_null(ctx, cfg, cfg_path, "noise_shape", "noise_shape");
}

static int dropout_node(nnc_graph *g, int x, double rate, uint64_t key, nnc_status *st) {
  return graph_dropout(g, x, rate, key, st);
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  if (!c->training) return in[0];
  /* A layer's first call keeps the stream of a layer called once, so models
   * without shared layers draw what they always drew; each later call of a
   * shared Dropout gets a stream, hence a mask, of its own. */
  char stream[NNC_NAME_MAX + 32];
  if (c->node == 0)
    snprintf(stream, sizeof stream, "dropout/%s", c->layer->name);
  else
    snprintf(stream, sizeof stream, "dropout/%s/call%d", c->layer->name, c->node);
  nnc_graph *g = &c->l->forward;
  int y = dropout_node(g, in[0], c->layer->rate, nnc_stream_key(0, stream), st);
  layer_label(g, y, c->layer->name, "dropout");
  return y;
}

const nnc_layer_class layer_dropout = {"Dropout", "dropout", 1, 1, parse, lower, NULL};
