/* Activation names (keras-semantics.md §5.3). Names compare after
 * spec_normalize, so "leaky_relu", "LeakyRelu" and tfjs "hardSigmoid" work. */
#include <string.h>

#include "compiler/spec/spec_internal.h"

static const struct {
  nnc_activation act;
  const char *name;  /* canonical Keras string, returned by nnc_activation_name */
  const char *alias; /* another accepted spelling, or NULL */
} activations[] = {
    {NNC_ACT_LINEAR, "linear", NULL},
    {NNC_ACT_RELU, "relu", NULL},
    {NNC_ACT_SIGMOID, "sigmoid", NULL},
    {NNC_ACT_TANH, "tanh", NULL},
    {NNC_ACT_SOFTMAX, "softmax", NULL},
    {NNC_ACT_ELU, "elu", NULL},
    {NNC_ACT_SELU, "selu", NULL},
    {NNC_ACT_SOFTPLUS, "softplus", NULL},
    {NNC_ACT_SOFTSIGN, "softsign", NULL},
    {NNC_ACT_SWISH, "swish", "silu"},
    {NNC_ACT_GELU, "gelu", NULL},
    {NNC_ACT_LEAKY_RELU, "leaky_relu", NULL},
    {NNC_ACT_EXPONENTIAL, "exponential", NULL},
    {NNC_ACT_HARD_SIGMOID, "hard_sigmoid", NULL},
    {NNC_ACT_RELU6, "relu6", NULL},
    {NNC_ACT_HARD_SILU, "hard_silu", "hard_swish"},
    {NNC_ACT_MISH, "mish", NULL},
    {NNC_ACT_LOG_SOFTMAX, "log_softmax", NULL},
};
_Static_assert(sizeof activations / sizeof activations[0] == NNC_ACT_COUNT,
               "one row per nnc_activation, in enum order");

#define ACTIVATION_LIST                                                                            \
  "linear, relu, sigmoid, tanh, softmax, elu, selu, softplus, softsign, swish, silu, gelu, "       \
  "leaky_relu, exponential, hard_sigmoid, relu6, hard_silu, hard_swish, mish, log_softmax"

const char *nnc_activation_name(nnc_activation a) {
  if ((int)a < 0 || a >= NNC_ACT_COUNT) return "unknown";
  return activations[a].name;
}

static int lookup(const char *name, nnc_activation *out) {
  char want[32], have[32];
  if (!spec_normalize(name, want, sizeof want)) return 0;
  for (int i = 0; i < NNC_ACT_COUNT; i++) {
    spec_normalize(activations[i].name, have, sizeof have);
    int match = strcmp(want, have) == 0;
    if (!match && activations[i].alias) {
      spec_normalize(activations[i].alias, have, sizeof have);
      match = strcmp(want, have) == 0;
    }
    if (match) {
      *out = activations[i].act;
      return 1;
    }
  }
  return 0;
}

int spec_parse_activation(const spec_ctx *ctx, const cJSON *item, const char *path,
                          nnc_activation *out) {
  *out = NNC_ACT_LINEAR;
  if (spec_is_absent(item)) return NNC_OK; /* Keras: activation=None is linear */
  const cJSON *name = item;
  /* Keras 3 writes a function object as {class_name: "function", config: "relu"}. */
  const char *cls = spec_class_name(item);
  if (cls && strcmp(cls, "function") == 0) name = spec_child(item, "config");
  if (cJSON_IsString(name) && lookup(name->valuestring, out)) return NNC_OK;
  return spec_fail_expected(ctx, path, item, "an activation name (" ACTIVATION_LIST ")");
}
