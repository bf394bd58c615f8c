/* TimeDistributed(layer): the inner layer applied to every time step of a
 * [B, T, ...] input with one set of weights. Keras 3 (layers/rnn/
 * time_distributed.py) calls the inner layer on each step; its weights are
 * built inside the wrapper's scope: "time_distributed/dense/kernel".
 *
 * nnc lowers the inner layer once on the whole [B, T, ...] tensor, which is
 * the per-step result for the layers that act on the last axis only (their
 * matmul or function sees each step's features alone); the other classes
 * (convolutions, pooling, normalization over steps, dropout's per-step
 * streams) would need the steps folded into the batch, and are refused.
 * Keras 3 sets supports_masking = False on TimeDistributed: its output
 * carries no mask (layer_mask.c drops it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/layers/layer.h"

/* Inner classes whose call on [B, T, F] equals their call on each step. */
static const char *const per_step[] = {"Dense",     "Activation", "ReLU",
                                       "LeakyReLU", "ELU",        "Identity"};

static void free_params(void *params) {
  nnc_spec_layer *inner = params;
  if (!inner) return;
  const nnc_layer_class *cls = layer_class(inner->kind);
  if (inner->params && cls && cls->free_params)
    cls->free_params(inner->params);
  else
    free(inner->params);
  free(inner->declared_inputs);
  free(inner);
}

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, "layer");
  const cJSON *layer = spec_child(cfg, "layer");
  if (!cJSON_IsObject(layer))
    return spec_fail_expected(ctx, path, layer, "the wrapped layer {\"class_name\", \"config\"}");
  nnc_spec_layer *inner = calloc(1, sizeof *inner);
  if (!inner) return nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory");
  out->params = inner;
  spec_layer_site site = {0};
  int rc = spec_parse_layer(ctx, layer, path, &site, inner);
  if (rc) return rc;
  const char *cls = layer_class(inner->kind)->class_name;
  int ok = 0;
  for (size_t i = 0; i < sizeof per_step / sizeof per_step[0]; i++) ok |= !strcmp(per_step[i], cls);
  if (!ok) {
    char what[NNC_NAME_MAX + 160];
    snprintf(what, sizeof what,
             "TimeDistributed of a %s (nnc supports inner layers acting on the last axis: "
             "Dense, Activation, ReLU, LeakyReLU, ELU, Identity)",
             cls);
    spec_path_key(path, path, "class_name");
    return spec_fail_unsupported(ctx, path, spec_child(layer, "class_name"), what);
  }
  if (!inner->name[0]) nnc_strlcpy(inner->name, layer_class(inner->kind)->prefix, NNC_NAME_MAX);
  return NNC_OK;
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  const nnc_spec_layer *inner = c->layer->params;
  const nnc_shape *s = &c->l->forward.nodes[in[0]].shape;
  if (s->rank < 3)
    return layer_fail(c, st,
                      "expected an input [batch, steps, ...] of rank 3 or more for "
                      "TimeDistributed \"%s\"",
                      c->layer->name);
  char scope[2 * NNC_NAME_MAX + 2];
  snprintf(scope, sizeof scope, "%s%s%s", c->scope, c->scope[0] ? "/" : "", c->layer->name);
  layer_call ic = *c;
  ic.layer = inner;
  ic.scope = scope;
  ic.trainable = c->trainable && inner->trainable;
  ic.io = NULL; /* the inner layer sees no mask and no keyword arguments */
  int y = layer_class(inner->kind)->lower(&ic, in, n_in, st);
  c->n_params = ic.n_params;
  c->param_floats += ic.param_floats;
  c->trainable_floats += ic.trainable_floats;
  return y;
}

const nnc_layer_class layer_time_distributed = {
    "TimeDistributed", "time_distributed", 1, 1, parse, lower, free_params};
