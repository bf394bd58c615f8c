/* Layer classes in a TF.js topology (see tfjs.h: tfjs_layer_classes). */
#include <ctype.h>
#include <string.h>

#include "base/base.h"
#include "runtime/io/tfjs.h"

/* The layer classes TF.js 4.22 registers (tf.serialization's class map,
 * layers only: its "Identity" is an initializer), as it spells them. */
static const char *const tfjs_layers[] = {
    "Activation",
    "Add",
    "AlphaDropout",
    "Average",
    "AveragePooling1D",
    "AveragePooling2D",
    "AveragePooling3D",
    "BatchNormalization",
    "Bidirectional",
    "CategoryEncoding",
    "CenterCrop",
    "Concatenate",
    "Conv1D",
    "Conv2D",
    "Conv2DTranspose",
    "Conv3D",
    "Conv3DTranspose",
    "ConvLSTM2D",
    "ConvLSTM2DCell",
    "Cropping2D",
    "Dense",
    "DepthwiseConv2D",
    "Dot",
    "Dropout",
    "ELU",
    "Embedding",
    "Flatten",
    "Functional",
    "GRU",
    "GRUCell",
    "GaussianDropout",
    "GaussianNoise",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "InputLayer",
    "LSTM",
    "LSTMCell",
    "LayerNormalization",
    "LeakyReLU",
    "Masking",
    "MaxPooling1D",
    "MaxPooling2D",
    "MaxPooling3D",
    "Maximum",
    "Minimum",
    "Model",
    "Multiply",
    "PReLU",
    "Permute",
    "RNN",
    "RandomWidth",
    "ReLU",
    "RepeatVector",
    "Rescaling",
    "Reshape",
    "Resizing",
    "SeparableConv2D",
    "Sequential",
    "SimpleRNN",
    "SimpleRNNCell",
    "Softmax",
    "SpatialDropout1D",
    "StackedRNNCells",
    "ThresholdedReLU",
    "TimeDistributed",
    "UpSampling2D",
    "ZeroPadding2D",
};

void tfjs_fold(const char *s, char *out, size_t size) {
  size_t n = 0;
  for (; *s && n + 1 < size; s++)
    if (*s != '_') out[n++] = (char)tolower((unsigned char)*s);
  out[n] = '\0';
}

const char *tfjs_layer_class(const char *class_name) {
  char want[64], have[64];
  if (!class_name || strlen(class_name) >= sizeof want) return NULL;
  tfjs_fold(class_name, want, sizeof want);
  for (size_t i = 0; i < sizeof tfjs_layers / sizeof tfjs_layers[0]; i++) {
    tfjs_fold(tfjs_layers[i], have, sizeof have);
    if (!strcmp(want, have)) return tfjs_layers[i];
  }
  return NULL;
}

static cJSON *child(const cJSON *o, const char *key) {
  return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* The layer object's class as TF.js spells it; refused when TF.js has none.
 * Then the layers inside it: a model's, a wrapper's, an RNN's cells. */
/* frozen: an enclosing layer or model has trainable false (so has this one) */
static int layer_classes(cJSON *layer, int frozen, nnc_status *st) {
  const cJSON *cls = child(layer, "class_name");
  cJSON *cfg = child(layer, "config");
  if (!cJSON_IsString(cls)) return NNC_OK; /* nnc's parser refused it already */
  const char *name = cJSON_IsString(child(cfg, "name"))     ? child(cfg, "name")->valuestring
                     : cJSON_IsString(child(layer, "name")) ? child(layer, "name")->valuestring
                                                            : "?";
  const char *tfjs = tfjs_layer_class(cls->valuestring);
  if (!tfjs)
    return nnc_fail(st, NNC_ERR_ARG,
                    "layer '%.100s': TF.js 4.22 has no layer %.60s (it would refuse the "
                    "model.json: \"Unknown layer: %.60s\"; docs/formats.md lists the layers "
                    "nnc writes for TF.js)",
                    name, cls->valuestring, cls->valuestring);
  if (strcmp(cls->valuestring, tfjs)) {
    cJSON *spelled = cJSON_CreateString(tfjs);
    if (!spelled || !cJSON_ReplaceItemInObjectCaseSensitive(layer, "class_name", spelled)) {
      cJSON_Delete(spelled);
      return nnc_fail(st, NNC_ERR_NOMEM, "out of memory writing the TF.js topology");
    }
  }
  frozen |= cJSON_IsFalse(child(cfg, "trainable"));
  if (tfjs_layer_options(layer, tfjs, name, frozen, st)) return st->code;
  static const char *const inner[] = {"layers", "layer", "backward_layer", "cell", "cells"};
  for (size_t k = 0; k < sizeof inner / sizeof inner[0]; k++) {
    cJSON *v = child(cfg, inner[k]);
    if (cJSON_IsObject(v) && layer_classes(v, frozen, st)) return st->code;
    if (!cJSON_IsArray(v)) continue;
    for (cJSON *e = v->child; e; e = e->next)
      if (cJSON_IsObject(e) && layer_classes(e, frozen, st)) return st->code;
  }
  return NNC_OK;
}

int tfjs_layer_classes(cJSON *model, nnc_status *st) {
  return layer_classes(model, 0, st);
}
