/* Recurrent-layer defaults across formats (see rnn_defaults.h). */
#include "runtime/io/rnn_defaults.h"

#include <ctype.h>
#include <string.h>

#include "base/base.h"

static const cJSON *child(const cJSON *o, const char *key) {
  return cJSON_GetObjectItemCaseSensitive(o, key);
}

static int is_class(const cJSON *o, const char *name) {
  const cJSON *c = child(o, "class_name");
  return cJSON_IsString(c) && !strcmp(c->valuestring, name);
}

spec_origin spec_origin_of(const cJSON *root, const cJSON *model) {
  if (child(root, "format") || cJSON_IsObject(child(root, "modelTopology"))) return SPEC_TFJS;
  const cJSON *version = child(root, "keras_version"), *backend = child(root, "backend");
  if (!cJSON_IsString(version)) version = child(model, "keras_version");
  if (!cJSON_IsString(backend)) backend = child(model, "backend");
  if (cJSON_IsString(version))
    return !strncmp(version->valuestring, "tfjs", 4) ? SPEC_TFJS
           : version->valuestring[0] == '3'          ? SPEC_KERAS3
                                                     : SPEC_KERAS2;
  if (cJSON_IsString(backend) && !strcmp(backend->valuestring, "tensor_flow.js")) return SPEC_TFJS;
  return child(model, "module") ? SPEC_KERAS3 : SPEC_KERAS2;
}

/* 1 for an LSTM/LSTMCell, 2 for a GRU/GRUCell, else 0 */
static int rnn_kind(const cJSON *o) {
  if (is_class(o, "LSTM") || is_class(o, "LSTMCell")) return 1;
  if (is_class(o, "GRU") || is_class(o, "GRUCell")) return 2;
  return 0;
}

/* An activation value naming hard_sigmoid in any spelling nnc's parser
 * takes: "hard_sigmoid", "HardSigmoid", "hardSigmoid", or an object
 * {"class_name": "function", "config": ...} / {"class_name": "HardSigmoid"}. */
static int is_hard_sigmoid(const cJSON *v) {
  if (cJSON_IsObject(v)) {
    const cJSON *cls = child(v, "class_name"), *cfg = child(v, "config");
    if (cJSON_IsString(cls) && !strcmp(cls->valuestring, "function")) return is_hard_sigmoid(cfg);
    if (cJSON_IsObject(cfg) && cJSON_IsString(child(cfg, "name")))
      return is_hard_sigmoid(child(cfg, "name"));
    return is_hard_sigmoid(cls);
  }
  if (!cJSON_IsString(v)) return 0;
  char folded[32];
  size_t n = 0;
  for (const char *p = v->valuestring; *p && n + 1 < sizeof folded; p++)
    if (*p != '_') folded[n++] = (char)tolower((unsigned char)*p);
  folded[n] = '\0';
  return !strcmp(folded, "hardsigmoid");
}

static const char *layer_name(const cJSON *cfg) {
  const cJSON *name = child(cfg, "name");
  return cJSON_IsString(name) ? name->valuestring : "?";
}

int rnn_defaults_for_tfjs(cJSON *v, spec_origin from, nnc_status *st) {
  if (from == SPEC_TFJS) return NNC_OK;
  if (cJSON_IsArray(v) || cJSON_IsObject(v))
    for (cJSON *c = v->child; c; c = c->next)
      if (rnn_defaults_for_tfjs(c, from, st)) return st->code;
  cJSON *cfg = cJSON_GetObjectItemCaseSensitive(v, "config");
  if (!cJSON_IsObject(v) || !cJSON_IsObject(cfg)) return NNC_OK;
  if (from == SPEC_KERAS3 && (is_hard_sigmoid(child(cfg, "activation")) ||
                              is_hard_sigmoid(child(cfg, "recurrent_activation"))))
    return nnc_fail(st, NNC_ERR_ARG,
                    "layer '%s': Keras 3's hard_sigmoid (relu6(x + 3) / 6) has no TF.js form "
                    "(TF.js's is clip(0.2 x + 0.5, 0, 1))",
                    layer_name(cfg));
  int kind = rnn_kind(v);
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
