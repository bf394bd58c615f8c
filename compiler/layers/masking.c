/* Masking(mask_value=0.0): a time step whose features all equal mask_value
 * is masked. Keras 3 (layers/core/masking.py): mask = any(x != mask_value,
 * axis=-1), the output is x with the masked steps set to 0, and it carries
 * that mask (whatever mask its input had). */
#include <stdlib.h>

#include "compiler/layers/layer.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  double value;
  int rc = spec_get_float32(ctx, cfg, cfg_path, "mask_value", 0.0, &value);
  if (rc) return rc;
  out->params = malloc(sizeof value);
  if (!out->params) return nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory");
  *(double *)out->params = value;
  return NNC_OK;
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  nnc_graph *g = &c->l->forward;
  nnc_shape s = g->nodes[in[0]].shape;
  if (s.rank < 3)
    return layer_fail(c, st, "expected an input [batch, steps, features] for Masking \"%s\"",
                      c->layer->name);
  int differs =
      graph_binary(g, NNC_BIN_NE, in[0], graph_const(g, *(double *)c->layer->params, st), st);
  int keep = graph_reduce_max(g, differs, s.rank - 1, 0, st); /* any over the features */
  if (keep < 0) return -1;
  layer_label(g, keep, c->layer->name, "mask");
  nnc_shape ks = s;
  ks.dims[s.rank - 1] = 1;
  int keep_row = layer_reshape_node(g, keep, ks, st); /* [..., 1] against the features */
  int y = graph_select(g, keep_row, in[0], graph_const(g, 0.0, st), st);
  if (y < 0) return -1;
  layer_label(g, y, c->layer->name, "masked");
  layer_set_output_mask(c, keep);
  return y;
}

const nnc_layer_class layer_masking = {"Masking", "masking", 1, 1, parse, lower, NULL};
