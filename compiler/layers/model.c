/* A Sequential or Functional model used as a layer (a nested model). Its
 * config is a whole model config, parsed into a spec of its own; lowering
 * inlines each of its calls with one set of weights named
 * "<model>/<layer>/<weight>", and the summary shows it as one row with all
 * its weights, counted once. */
#include <stdlib.h>

#include "compiler/layers/layer.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  nnc_spec *sub = calloc(1, sizeof *sub);
  if (!sub) return nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory");
  out->params = sub;
  /* a Functional config names its inputs; a Sequential's is a list of layers */
  int functional = spec_child(cfg, "input_layers") != NULL;
  return spec_parse_nested(ctx, cfg, cfg_path, functional, sub);
}

static void free_params(void *params) {
  nnc_spec_free(params);
  free(params);
}

/* A later call (a siamese tower) reuses the first call's weights: the
 * inner layers' states live across calls (lower_nested_model). */
static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  return lower_nested_model(c, c->layer->params, in, n_in, st);
}

const nnc_layer_class layer_model = {"Functional", "functional", 1, -1, parse, lower, free_params};
