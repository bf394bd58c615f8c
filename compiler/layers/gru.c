/* GRU (Keras 3 semantics; rnn_layer.c does the work). */
#include <stdlib.h>

#include "compiler/layers/rnn_layer.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  rnn_config p;
  int rc = rnn_parse_config(ctx, cfg, cfg_path, NNC_RNN_GRU, &p);
  if (rc) return rc;
  out->activity_regularizer = p.activity_reg;
  out->params = malloc(sizeof p);
  if (!out->params) return nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory");
  *(rnn_config *)out->params = p;
  return NNC_OK;
}

const nnc_layer_class layer_gru = {"GRU", "gru", 1, 1, parse, rnn_layer_lower, NULL};
