/* Recurrent-layer defaults across formats (see rnn_defaults.h). */
#include "runtime/io/rnn_defaults.h"

#include <string.h>

#include "base/base.h"
#include "runtime/io/tfjs.h"

static const cJSON *child(const cJSON *o, const char *key) {
  return cJSON_GetObjectItemCaseSensitive(o, key);
}

static int is_class(const cJSON *o, const char *name) {
  const cJSON *c = child(o, "class_name");
  return cJSON_IsString(c) && !strcmp(c->valuestring, name);
}

spec_origin spec_origin_of(const cJSON *root, const cJSON *model) {
  if (child(root, "format") || child(root, "modelTopology")) return SPEC_TFJS;
  /* as spec_parse.c's locate and guess_format decide: the root's keys when
   * it has a keras_version, else the model config's */
  const cJSON *o = child(root, "keras_version") ? root : model;
  const cJSON *version = child(o, "keras_version"), *backend = child(o, "backend");
  if (cJSON_IsString(version))
    return !strncmp(version->valuestring, "tfjs", 4) ? SPEC_TFJS
           : version->valuestring[0] == '3'          ? SPEC_KERAS3
                                                     : SPEC_KERAS2;
  if (cJSON_IsString(backend) && !strcmp(backend->valuestring, "tensor_flow.js")) return SPEC_TFJS;
  return child(o, "module") ? SPEC_KERAS3 : SPEC_KERAS2;
}

/* 1 for an LSTM/LSTMCell, 2 for a GRU/GRUCell, else 0 */
static int rnn_kind(const cJSON *o) {
  if (is_class(o, "LSTM") || is_class(o, "LSTMCell")) return 1;
  if (is_class(o, "GRU") || is_class(o, "GRUCell")) return 2;
  return 0;
}

/* An activation value's name folded (lower case, no '_') into buf, in any
 * spelling nnc's parser takes: "hard_sigmoid", "HardSigmoid",
 * "hardSigmoid", or an object {"class_name": "function", "config": ...} /
 * {"class_name": "HardSigmoid"}; "" when it names none. */
static const char *folded_activation(const cJSON *v, char *buf, size_t size) {
  buf[0] = '\0';
  if (cJSON_IsObject(v)) {
    const cJSON *cls = child(v, "class_name"), *cfg = child(v, "config");
    if (cJSON_IsString(cls) && !strcmp(cls->valuestring, "function"))
      return folded_activation(cfg, buf, size);
    if (cJSON_IsObject(cfg) && cJSON_IsString(child(cfg, "name")))
      return folded_activation(child(cfg, "name"), buf, size);
    return folded_activation(cls, buf, size);
  }
  if (cJSON_IsString(v)) tfjs_fold(v->valuestring, buf, size);
  return buf;
}

static int is_hard_sigmoid(const cJSON *v) {
  char folded[32];
  return !strcmp(folded_activation(v, folded, sizeof folded), "hardsigmoid");
}

/* The activations TF.js 4.22 registers (tfjs-layers activations.ts), by
 * folded name, and the name to write: TF.js camel-cases a snake_case
 * string on loading and knows no {"class_name": "function"} object.
 * Keras 3 writes swish as "silu", which TF.js lacks: the same function. */
static const struct {
  const char *folded, *name;
} tfjs_activations[] = {
    {"elu", "elu"},
    {"gelu", "gelu"},
    {"hardsigmoid", "hard_sigmoid"},
    {"linear", "linear"},
    {"logsoftmax", "log_softmax"},
    {"mish", "mish"},
    {"relu", "relu"},
    {"relu6", "relu6"},
    {"selu", "selu"},
    {"sigmoid", "sigmoid"},
    {"softmax", "softmax"},
    {"softplus", "softplus"},
    {"softsign", "softsign"},
    {"swish", "swish"},
    {"silu", "swish"},
    {"tanh", "tanh"},
};

/* cfg[key], an activation, as TF.js's name for it; refused when TF.js has
 * none (exponential, hard_silu, leaky_relu, ...). */
static int tfjs_activation(cJSON *cfg, const char *key, const char *layer, nnc_status *st) {
  const cJSON *v = child(cfg, key);
  if (!v || cJSON_IsNull(v)) return NNC_OK;
  char folded[32];
  folded_activation(v, folded, sizeof folded);
  for (size_t i = 0; i < sizeof tfjs_activations / sizeof tfjs_activations[0]; i++)
    if (!strcmp(folded, tfjs_activations[i].folded)) {
      cJSON *name = cJSON_CreateString(tfjs_activations[i].name);
      if (!name || !cJSON_ReplaceItemInObjectCaseSensitive(cfg, key, name)) {
        cJSON_Delete(name);
        return nnc_fail(st, NNC_ERR_NOMEM, "out of memory writing the TF.js topology");
      }
      return NNC_OK;
    }
  return nnc_fail(st, NNC_ERR_ARG,
                  "layer '%s': %s '%s' has no TF.js form (TF.js 4.22 has elu, gelu, "
                  "hard_sigmoid, linear, log_softmax, mish, relu, relu6, selu, sigmoid, softmax, "
                  "softplus, softsign, swish, tanh)",
                  layer, key, cJSON_IsString(v) ? v->valuestring : folded);
}

static const char *layer_name(const cJSON *cfg) {
  const cJSON *name = child(cfg, "name");
  return cJSON_IsString(name) ? name->valuestring : "?";
}

int rnn_defaults_for_tfjs(cJSON *v, spec_origin from, nnc_status *st) {
  if (cJSON_IsArray(v) || cJSON_IsObject(v))
    for (cJSON *c = v->child; c; c = c->next)
      if (rnn_defaults_for_tfjs(c, from, st)) return st->code;
  cJSON *cfg = cJSON_GetObjectItemCaseSensitive(v, "config");
  if (!cJSON_IsObject(v) || !cJSON_IsObject(cfg)) return NNC_OK;
  int kind = rnn_kind(v);
  int recurrent = kind || is_class(v, "SimpleRNN") || is_class(v, "SimpleRNNCell");
  /* layers only: an initializer's or a regularizer's config has no name */
  if (!recurrent && !cJSON_IsString(child(cfg, "name"))) return NNC_OK;
  if (from == SPEC_KERAS3 && (is_hard_sigmoid(child(cfg, "activation")) ||
                              is_hard_sigmoid(child(cfg, "recurrent_activation"))))
    return nnc_fail(st, NNC_ERR_ARG,
                    "layer '%s': Keras 3's hard_sigmoid (relu6(x + 3) / 6) has no TF.js form "
                    "(TF.js's is clip(0.2 x + 0.5, 0, 1))",
                    layer_name(cfg));
  /* outside recurrent layers nnc reads hard_sigmoid from every format, a
   * TF.js file's too, as Keras 3's (docs/spec.md) */
  if (!recurrent && is_hard_sigmoid(child(cfg, "activation")))
    return nnc_fail(st, NNC_ERR_ARG,
                    "layer '%s': hard_sigmoid outside a recurrent layer is Keras 3's relu6(x + 3) "
                    "/ 6 in nnc, whatever the file's format; TF.js's is clip(0.2 x + 0.5, 0, 1): "
                    "no TF.js form",
                    layer_name(cfg));
  if (tfjs_activation(cfg, "activation", layer_name(cfg), st) ||
      tfjs_activation(cfg, "recurrent_activation", layer_name(cfg), st))
    return st->code;
  if (from == SPEC_TFJS) return NNC_OK; /* TF.js's own recurrent defaults */
  if (!kind) return NNC_OK;
  const cJSON *reset = child(cfg, "reset_after");
  if (kind == 2 && !cJSON_IsFalse(reset))
    return nnc_fail(st, NNC_ERR_ARG,
                    "layer '%s': a GRU with reset_after true (Keras's default) has no TF.js form "
                    "(TF.js computes only the reset-before form: set reset_after false to save it "
                    "for TF.js)",
                    layer_name(cfg));
  if (!child(cfg, "recurrent_activation"))
    cJSON_AddStringToObject(cfg, "recurrent_activation", "sigmoid");
  return NNC_OK;
}

void rnn_defaults_from_tfjs(cJSON *v) {
  if (cJSON_IsArray(v) || cJSON_IsObject(v))
    for (cJSON *c = v->child; c; c = c->next) rnn_defaults_from_tfjs(c);
  cJSON *cfg = cJSON_GetObjectItemCaseSensitive(v, "config");
  int kind = cJSON_IsObject(v) && cJSON_IsObject(cfg) ? rnn_kind(v) : 0;
  if (!kind) return;
  if (!child(cfg, "recurrent_activation"))
    cJSON_AddStringToObject(cfg, "recurrent_activation", "hard_sigmoid");
  if (kind == 2 && !child(cfg, "reset_after")) cJSON_AddBoolToObject(cfg, "reset_after", 0);
}
