/* TimeDistributed(layer): the inner layer applied to every time step of a
 * [B, T, ...] input with one set of weights. Keras 3 (layers/rnn/
 * time_distributed.py) transposes to [T, B, ...], calls layer.call on each
 * step [B, ...] in a Python loop and stacks the results; the weights are
 * built inside the wrapper's scope: "time_distributed/conv2d/kernel".
 *
 * nnc does the same: the time axis is known when the model is lowered (a
 * None axis takes the data's length, runtime/programs.c), so each step is a
 * slice [B, ...] lowered through the inner class as one more call of a
 * shared layer (the first step makes the weights, the others reuse them),
 * and the step outputs are joined along axis 1. Folding B*T into the batch
 * axis is not expressible: the row count of a graph tensor is the symbolic
 * batch. Classes whose call on the whole [B, T, ...] tensor equals their
 * per-step calls (they act on the last axis, or on each element) are
 * lowered once on it instead: fewer nodes, and Embedding keeps its index
 * check on the model input. A nested model inside is T calls of one nested
 * model (lower_nested_model keeps its layers' state across calls, under this
 * wrapper's state): one set of weights, "time_distributed/sequential/dense/
 * kernel" for a Sequential, "dense/kernel" for a Functional.
 *
 * What Keras 3's loop implies, and nnc follows:
 * - layer.call, not layer(): the inner layer's activity_regularizer is not
 *   applied and no mask comes out of it.
 * - TimeDistributed sets supports_masking = False: its output carries no
 *   mask. The input mask, when it has an axis per step and more ([B, T, L]
 *   from an Embedding over [B, T, L] indices), is passed to each step as
 *   mask[:, t] ([B, L]); a [B, T] mask would reach a step as [B] and is not
 *   passed (no inner layer can use a mask without a time axis).
 * - BatchNormalization in training normalizes each step with that step's
 *   batch statistics and chains T moving-average updates in step order
 *   (batch_normalization_lower_steps, on the whole tensor). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/layers/batch_normalization.h"
#include "compiler/layers/layer.h"
#include "compiler/layers/layer_io.h"

/* Inner classes whose call on [B, T, ...] equals their call on each step. */
static const char *const whole[] = {"Dense",         "Activation",      "ReLU",        "LeakyReLU",
                                    "ELU",           "Identity",        "Embedding",   "Dropout",
                                    "GaussianNoise", "GaussianDropout", "AlphaDropout"};

static int lowers_whole(const nnc_spec_layer *inner) {
  const char *cls = layer_class(inner->kind)->class_name;
  for (size_t i = 0; i < sizeof whole / sizeof whole[0]; i++)
    if (!strcmp(whole[i], cls)) return 1;
  return 0;
}

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
  const nnc_layer_class *cls = layer_class(inner->kind);
  const char *why = NULL;
  if (inner->kind == NNC_LAYER_INPUT)
    why = "TimeDistributed of an InputLayer (wrap a layer that computes something)";
  else if (cls->min_inputs > 1)
    why = "TimeDistributed of a layer taking several tensors";
  if (why) {
    spec_path_key(path, path, "class_name");
    return spec_fail_unsupported(ctx, path, spec_child(layer, "class_name"), why);
  }
  if (!inner->name[0]) nnc_strlcpy(inner->name, cls->prefix, NNC_NAME_MAX);
  return NNC_OK;
}

/* Join the step outputs [B, 1, ...] along axis 1 as a balanced tree (a
 * chain would copy the front steps T times). */
static int join_steps(nnc_graph *g, int *steps, int n, nnc_status *st) {
  for (int width = n, half; width > 1; width = half) {
    half = (width + 1) / 2;
    for (int i = 0; i < width / 2; i++)
      if ((steps[i] = graph_concat(g, steps[2 * i], steps[2 * i + 1], 1, st)) < 0) return -1;
    if (width % 2) steps[half - 1] = steps[width - 1];
  }
  return steps[0];
}

/* x [B, T, rest..] -> its step t [B, rest..]; rank 2 input gives [B]. */
static int step_of(nnc_graph *g, int x, int t, nnc_status *st) {
  nnc_shape s = g->nodes[x].shape;
  int y = graph_slice(g, x, 1, t, 1, st);
  if (y < 0) return -1;
  for (int i = 1; i + 1 < s.rank; i++) s.dims[i] = s.dims[i + 1];
  s.rank--;
  return graph_reshape(g, y, s, st);
}

/* y [B, rest..] -> [B, 1, rest..]. */
static int with_step_axis(nnc_graph *g, int y, nnc_status *st) {
  nnc_shape s = g->nodes[y].shape;
  for (int i = s.rank; i > 1; i--) s.dims[i] = s.dims[i - 1];
  s.dims[1] = 1;
  s.rank++;
  return graph_reshape(g, y, s, st);
}

/* BatchNormalization: its per-step statistics and chained updates, on the
 * whole tensor (batch_normalization.c). */
static int lower_batch_normalization(layer_call *c, layer_call *ic, int x, nnc_status *st) {
  if (ic->training && ic->trainable) {
    if (layer_input_mask(c, 0) >= 0)
      return layer_fail(c, st,
                        "TimeDistributed(BatchNormalization) \"%s\" on a masked input in training: "
                        "Keras 3 passes each step's mask to the inner layer, whose masked batch "
                        "moments nnc does not reproduce",
                        c->layer->name);
  }
  int y = batch_normalization_lower_steps(ic, x, st);
  c->n_params = ic->n_params;
  c->param_floats += ic->param_floats;
  c->trainable_floats += ic->trainable_floats;
  return y;
}

/* The first BatchNormalization that trains inside a nested model (through
 * nested models and TimeDistributed), NULL if none. */
static const nnc_spec_layer *training_batch_norm(const nnc_spec_layer *l) {
  if (!l->trainable) return NULL;
  if (l->kind == NNC_LAYER_BATCH_NORMALIZATION) return l;
  if (l->kind == NNC_LAYER_TIME_DISTRIBUTED && l->params) return training_batch_norm(l->params);
  if (l->kind != NNC_LAYER_MODEL || !l->params) return NULL;
  const nnc_spec *sub = l->params;
  for (int i = 0; i < sub->n_layers; i++) {
    const nnc_spec_layer *bn = training_batch_norm(&sub->layers[i]);
    if (bn) return bn;
  }
  return NULL;
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  nnc_graph *g = &c->l->forward;
  nnc_spec_layer inner = *(const nnc_spec_layer *)c->layer->params;
  inner.activity_regularizer.kind = NNC_REG_NONE; /* Keras calls layer.call, not layer() */
  const nnc_layer_class *cls = layer_class(inner.kind);
  const nnc_shape s = g->nodes[in[0]].shape;
  if (!s.batched || s.rank < 3)
    return layer_fail(c, st,
                      "expected an input [batch, steps, ...] of rank 3 or more for "
                      "TimeDistributed \"%s\"",
                      c->layer->name);
  char scope[2 * NNC_NAME_MAX + 2];
  snprintf(scope, sizeof scope, "%s%s%s", c->scope, c->scope[0] ? "/" : "", c->layer->name);
  layer_call ic = *c;
  ic.layer = &inner;
  ic.scope = scope;
  ic.trainable = c->trainable && inner.trainable;
  ic.param_floats = ic.trainable_floats = 0;
  ic.io = NULL; /* whole tensor: the inner layer sees no mask and no keyword arguments */
  if (lowers_whole(&inner)) {
    int y = cls->lower(&ic, in, n_in, st);
    c->n_params = ic.n_params;
    c->param_floats += ic.param_floats;
    c->trainable_floats += ic.trainable_floats;
    return y;
  }
  if (inner.kind == NNC_LAYER_BATCH_NORMALIZATION)
    return lower_batch_normalization(c, &ic, in[0], st);
  int64_t steps = s.dims[1];
  int mask = layer_input_mask(c, 0);
  if (mask >= 0 && g->nodes[mask].shape.rank < 3) {
    /* a step would get a [B] mask: Keras 3 passes it on, and only a
     * BatchNormalization in training uses it (its masked moments) */
    const nnc_spec_layer *bn = ic.training && ic.trainable && inner.kind == NNC_LAYER_MODEL
                                   ? training_batch_norm(&inner)
                                   : NULL;
    if (bn)
      return layer_fail(c, st,
                        "TimeDistributed \"%s\" of nested model \"%s\" on a masked input in "
                        "training: Keras 3 passes each step's mask to it, and BatchNormalization "
                        "\"%s\" inside takes masked batch moments, which nnc does not reproduce "
                        "here",
                        c->layer->name, inner.name, bn->name);
    mask = -1;
  }
  int *outs = nnc_calloc((size_t)steps, sizeof *outs, st);
  if (!outs) return -1;
  int first = c->l->prog.n_params, ok = 1;
  for (int64_t t = 0; t < steps && ok; t++) {
    /* step 0 of the first call makes the weights; every other step is a
     * later call of a shared layer (distinct calls: distinct random streams) */
    ic.node = (int)(c->node * steps + t);
    ic.n_params = 0;
    if (c->node == 0 && t == 1) {
      ic.first_param = first;
      ic.n_layer_params = c->n_params;
    }
    int step_mask = mask >= 0 ? step_of(g, mask, (int)t, st) : -1;
    struct layer_io io = {.n_in = 1, .in_masks = &step_mask, .out_mask = -1};
    ic.io = &io;
    int xt = step_of(g, in[0], (int)t, st);
    int yt = xt < 0 ? -1 : cls->lower(&ic, &xt, 1, st);
    free(io.extra); /* extra outputs of the inner layer are not outputs of the wrapper */
    if (yt >= 0 && !g->nodes[yt].shape.batched)
      yt = layer_fail(c, st,
                      "the inner layer of TimeDistributed \"%s\" gave an output without a "
                      "batch axis",
                      c->layer->name);
    if (yt >= 0 && t == 0) {
      c->n_params = ic.n_params;
      c->param_floats += ic.param_floats;
      c->trainable_floats += ic.trainable_floats;
    }
    outs[t] = yt < 0 ? -1 : with_step_axis(g, yt, st);
    ok = outs[t] >= 0;
  }
  int y = ok ? join_steps(g, outs, (int)steps, st) : -1;
  if (y >= 0) layer_label(g, y, c->layer->name, "steps");
  free(outs);
  return y;
}

const nnc_layer_class layer_time_distributed = {
    "TimeDistributed", "time_distributed", 1, 1, parse, lower, free_params};
