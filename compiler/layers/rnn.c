/* RNN(cell): the generic recurrent layer with one SimpleRNNCell, LSTMCell or
 * GRUCell (rnn_layer.c); weights "<layer>/<cell name>/kernel", ... */
#include <stdlib.h>

#include "compiler/layers/rnn_layer.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  rnn_config p;
  /* Keras 3's RNN(cell, ...) has no default cell: say so, not "no cell class" */
  const cJSON *cell = spec_child(cfg, "cell");
  if (!cJSON_IsObject(cell) && !cJSON_IsArray(cell)) {
    char path[NNC_PATH_MAX];
    spec_path_key(path, cfg_path, "cell");
    return spec_fail_expected(ctx, path, cell,
                              "the cell of RNN layer \"%s\": the key \"cell\" is required, a "
                              "{\"class_name\": \"LSTMCell\" (or \"GRUCell\", "
                              "\"SimpleRNNCell\"), \"config\": {\"units\": ...}} object",
                              out->name[0] ? out->name : "rnn");
  }
  int rc = rnn_parse_generic(ctx, cfg, cfg_path, &p);
  if (rc) return rc;
  out->activity_regularizer = p.activity_reg;
  out->params = malloc(sizeof p);
  if (!out->params) return nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory");
  *(rnn_config *)out->params = p;
  return NNC_OK;
}

const nnc_layer_class layer_rnn = {"RNN", "rnn", 1, 1, parse, rnn_layer_lower, NULL};
