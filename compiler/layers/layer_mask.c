/* Keras 3's mask propagation, by layer class: what the output of a call
 * carries when its layer does not set a mask itself (layer_set_output_mask).
 *
 * Keras 3 (keras/src/layers/layer.py) gives a call's output the result of
 * compute_mask(inputs, previous_mask) when the layer supports masking, where
 * previous_mask is the mask of the call's first argument (a list of masks for
 * a list of tensors), and nothing otherwise. compute_mask returns
 * previous_mask unless the class overrides it. The table lists the classes
 * whose supports_masking is true and how their compute_mask treats the masks;
 * every other class drops the mask (Flatten, Reshape, convolutions, pooling,
 * Dot, TimeDistributed, ...). Classes that compute a mask of their own
 * (Embedding with mask_zero, Masking, the recurrent layers with
 * return_sequences, GlobalAveragePooling1D: none) set it in their lower hook. */
#include <stdlib.h>
#include <string.h>

#include "compiler/layers/layer_io.h"

typedef enum mask_rule {
  MASK_DROP,   /* no output mask */
  MASK_PASS,   /* the first input's mask (Layer.compute_mask) */
  MASK_OR,     /* _Merge.compute_mask: OR of the masks, none if one input has none */
  MASK_CONCAT, /* Concatenate.compute_mask: ones for unmasked inputs, joined */
  MASK_REFUSE, /* the layer uses its mask in a way nnc does not reproduce */
} mask_rule;

static const struct {
  const char *cls;
  mask_rule rule;
} rules[] = {
    /* supports_masking = True, compute_mask inherited */
    {"Activation", MASK_PASS},
    {"ELU", MASK_PASS},
    {"LeakyReLU", MASK_PASS},
    {"PReLU", MASK_PASS},
    {"ReLU", MASK_PASS},
    {"Dense", MASK_PASS},
    {"Identity", MASK_PASS},
    {"LayerNormalization", MASK_PASS},
    {"GroupNormalization", MASK_PASS},
    {"UnitNormalization", MASK_PASS},
    {"Normalization", MASK_PASS},
    {"Rescaling", MASK_PASS},
    {"ActivityRegularization", MASK_PASS},
    {"Dropout", MASK_PASS},
    {"SpatialDropout1D", MASK_PASS}, /* Dropout's subclasses */
    {"SpatialDropout2D", MASK_PASS},
    {"SpatialDropout3D", MASK_PASS},
    {"AlphaDropout", MASK_PASS},
    {"GaussianDropout", MASK_PASS},
    {"GaussianNoise", MASK_PASS},
    {"MultiHeadAttention", MASK_PASS},    /* the query's */
    {"GroupedQueryAttention", MASK_PASS}, /* the query's */
    {"Attention", MASK_PASS},             /* compute_mask: mask[0], the query's */
    {"AdditiveAttention", MASK_PASS},
    /* merges */
    {"Add", MASK_OR},
    {"Subtract", MASK_OR},
    {"Multiply", MASK_OR},
    {"Average", MASK_OR},
    {"Maximum", MASK_OR},
    {"Minimum", MASK_OR},
    {"Concatenate", MASK_CONCAT},
    /* BatchNormalization uses its mask (batch_normalization.c) and passes it */
    {"BatchNormalization", MASK_PASS},
    /* its call uses the mask: Softmax adds -1e9 at the masked steps */
    {"Softmax", MASK_REFUSE},
};

static mask_rule rule_of(const char *cls) {
  for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
    if (strcmp(rules[i].cls, cls) == 0) return rules[i].rule;
  return MASK_DROP;
}

/* Concatenate: along the time axis the masks are joined (ones for an input
 * without one); along a later axis they are OR'ed, which gives all ones,
 * that is no mask, as soon as one input has none. */
static int concat_mask(layer_call *c, int y, int n_in, const int *masks, nnc_status *st) {
  nnc_graph *g = &c->l->forward;
  const nnc_shape *ys = &g->nodes[y].shape;
  int joined_time = 0, any = 0, all = 1;
  for (int k = 0; k < n_in; k++) {
    any |= masks[k] >= 0;
    all &= masks[k] >= 0;
  }
  if (!any) return -1;
  const nnc_shape *ms = NULL;
  for (int k = 0; k < n_in; k++)
    if (masks[k] >= 0) ms = &g->nodes[masks[k]].shape;
  if (ms->rank == 2 && ys->rank >= 3 && ys->dims[1] != ms->dims[1]) joined_time = 1;
  if (!joined_time) {
    if (!all) return -1;
    int m = masks[0];
    for (int k = 1; k < n_in && m >= 0; k++) m = graph_binary(g, NNC_BIN_MAX, m, masks[k], st);
    return m;
  }
  int m = -1;
  for (int k = 0; k < n_in; k++) {
    if (masks[k] < 0)
      return layer_fail(c, st,
                        "Concatenate along the time axis of a masked and an unmasked input is not "
                        "supported (give every input a mask)");
    m = m < 0 ? masks[k] : graph_concat(g, m, masks[k], 1, st);
    if (m < 0) return -1;
  }
  return m;
}

static int apply_rule(layer_call *c, mask_rule rule, const char *cls, int y, const int *masks,
                      int *out_mask, nnc_status *st) {
  int n_in = c->io->n_in;
  switch (rule) {
  case MASK_PASS:
    *out_mask = masks[0];
    return NNC_OK;
  case MASK_OR: {
    int m = masks[0];
    for (int k = 1; k < n_in && m >= 0; k++)
      m = masks[k] < 0 ? -1 : graph_binary(&c->l->forward, NNC_BIN_MAX, m, masks[k], st);
    *out_mask = m;
    return st->code != NNC_OK ? -1 : NNC_OK;
  }
  case MASK_CONCAT:
    *out_mask = concat_mask(c, y, n_in, masks, st);
    return st->code != NNC_OK ? -1 : NNC_OK;
  case MASK_REFUSE:
    return layer_fail(c, st,
                      "%s \"%s\" on a masked input is not supported (Keras uses the mask inside "
                      "this layer); the mask comes from an Embedding with mask_zero or a Masking "
                      "layer before it",
                      cls, c->layer->name);
  case MASK_DROP:
    break;
  }
  return NNC_OK;
}

int layer_default_mask(layer_call *c, int y, int *out_mask, nnc_status *st) {
  const char *cls = layer_class(c->layer->kind)->class_name;
  mask_rule rule = rule_of(cls);
  int n_in = c->io->n_in, any = 0;
  *out_mask = -1;
  if (rule == MASK_DROP) return NNC_OK; /* an explicit mask= stays unread: refused */
  int *masks = nnc_calloc((size_t)n_in + 1, sizeof *masks, st);
  if (!masks) return -1;
  for (int k = 0; k < n_in; k++) any |= (masks[k] = layer_input_mask(c, k)) >= 0;
  int rc = any ? apply_rule(c, rule, cls, y, masks, out_mask, st) : NNC_OK;
  free(masks);
  return rc;
}
