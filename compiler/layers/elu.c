/* ELU(alpha): x for x > 0, alpha * (exp(x) - 1) otherwise. alpha = 1 is the
 * elu unary (tf.nn.elu); another alpha is where(x > 0, x, alpha * elu(x)),
 * as Keras 3's TensorFlow backend writes it. */
#include <stdlib.h>

#include "compiler/layers/layer.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  double alpha;
  const cJSON *item = spec_child(cfg, "alpha");
  if (item && cJSON_IsNull(item)) { /* tf.keras 2 refuses it; Keras 3's call fails on it */
    char path[NNC_PATH_MAX];
    spec_path_key(path, cfg_path, "alpha");
    return spec_fail_expected(ctx, path, item, "a number (ELU's alpha cannot be None)");
  }
  int rc = spec_get_float32(ctx, cfg, cfg_path, "alpha", 1.0, &alpha);
  if (rc) return rc;
  out->params = malloc(sizeof alpha);
  if (!out->params) return nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory");
  *(double *)out->params = alpha;
  return NNC_OK;
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  nnc_graph *g = &c->l->forward;
  double alpha = *(const double *)c->layer->params;
  int x = in[0];
  int y = graph_unary(g, NNC_FN_ELU, x, st);
  if (alpha != 1.0) {
    int scaled = graph_binary(g, NNC_BIN_MUL, graph_const(g, alpha, st), y, st);
    y = graph_select(g, graph_binary(g, NNC_BIN_GT, x, graph_const(g, 0.0, st), st), x, scaled, st);
  }
  layer_label(g, y, c->layer->name, "elu");
  return y;
}

const nnc_layer_class layer_elu = {"ELU", "elu", 1, 1, parse, lower, NULL};
