/* One layer's config as TF.js 4.22 reads it (see tfjs.h: tfjs_layer_options).
 * Each rule was found by writing the model and loading it in TF.js 4.22
 * (docs/formats.md, "session 27"): what TF.js spells otherwise is
 * rewritten, what it refuses or computes otherwise is refused here, before
 * anything is written. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "runtime/io/tfjs.h"

static cJSON *child(const cJSON *o, const char *key) {
  return cJSON_GetObjectItemCaseSensitive(o, key);
}

static int folds_to(const cJSON *v, const char *folded) {
  char f[64];
  if (!cJSON_IsString(v) || strlen(v->valuestring) >= sizeof f) return 0;
  tfjs_fold(v->valuestring, f, sizeof f);
  return !strcmp(f, folded);
}

static double number(const cJSON *o, const char *key, double absent) {
  const cJSON *v = child(o, key);
  return cJSON_IsNumber(v) ? v->valuedouble : absent;
}

static int nomem(nnc_status *st) {
  return nnc_fail(st, NNC_ERR_NOMEM, "out of memory writing the TF.js topology");
}

/* obj[key] = item (replaced or added; item taken) */
static int put(cJSON *obj, const char *key, cJSON *item, nnc_status *st) {
  if (!item) return nomem(st);
  if (child(obj, key) ? cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item)
                      : cJSON_AddItemToObject(obj, key, item))
    return NNC_OK;
  cJSON_Delete(item);
  return nomem(st);
}

/* {"class_name": cls, "config": cfg} (cfg taken; NULL: {}) */
static cJSON *object_of(const char *cls, cJSON *cfg) {
  cJSON *o = cJSON_CreateObject();
  if (!cfg) cfg = cJSON_CreateObject();
  if (!o || !cfg || !cJSON_AddStringToObject(o, "class_name", cls) ||
      !cJSON_AddItemToObject(o, "config", cfg)) {
    cJSON_Delete(o);
    cJSON_Delete(cfg);
    return NULL;
  }
  return o;
}

static int refuse(nnc_status *st, const char *layer, const char *what) {
  return nnc_fail(st, NNC_ERR_ARG, "layer '%.100s': %s", layer, what);
}

/* an initializer's or constraint's object without "config" gets {} (TF.js
 * refuses it: "Improper config format") */
static int with_config(cJSON *v, nnc_status *st) {
  return cJSON_IsObject(child(v, "config")) ? NNC_OK : put(v, "config", cJSON_CreateObject(), st);
}

/* cfg[key] as the one spelling of the names allowed whose folded form it
 * has (nnc reads "FAN_IN", "Same"; TF.js only "fan_in", "same") */
static int spelled(cJSON *cfg, const char *key, const char *const *names, nnc_status *st) {
  const cJSON *v = child(cfg, key);
  char f[64];
  for (; cJSON_IsString(v) && *names; names++) {
    tfjs_fold(*names, f, sizeof f);
    if (folds_to(v, f) && strcmp(v->valuestring, *names))
      return put(cfg, key, cJSON_CreateString(*names), st);
  }
  return NNC_OK;
}

static int variance_scaling_names(cJSON *c, nnc_status *st) {
  static const char *const modes[] = {"fan_in", "fan_out", "fan_avg", NULL};
  static const char *const dists[] = {"truncated_normal", "normal", "uniform", NULL};
  if (spelled(c, "mode", modes, st)) return st->code;
  return spelled(c, "distribution", dists, st);
}

/* ---- initializers: TF.js registers each under one class name ---- */

static const struct {
  const char *folded, *tfjs;
} initializers[] = {
    {"glorotuniform", "GlorotUniform"},
    {"glorotnormal", "GlorotNormal"},
    {"heuniform", "HeUniform"},
    {"henormal", "HeNormal"},
    {"lecununiform", "LeCunUniform"},
    {"lecunnormal", "LeCunNormal"},
    {"variancescaling", "VarianceScaling"},
    {"randomuniform", "RandomUniform"},
    {"uniform", "RandomUniform"},
    {"randomnormal", "RandomNormal"},
    {"normal", "RandomNormal"},
    {"truncatednormal", "TruncatedNormal"},
    {"zeros", "Zeros"},
    {"zero", "Zeros"},
    {"ones", "Ones"},
    {"one", "Ones"},
    {"constant", "Constant"},
    {"orthogonal", "Orthogonal"},
    {"orthogonalinitializer", "Orthogonal"},
    {"identity", "Identity"},
    {"identityinitializer", "Identity"},
};

static const char *initializer_class(const cJSON *name) {
  for (size_t i = 0; i < sizeof initializers / sizeof initializers[0]; i++)
    if (folds_to(name, initializers[i].folded)) return initializers[i].tfjs;
  return NULL;
}

/* cfg[key], an initializer, as a TF.js object: a name ("lecun_normal",
 * "one") becomes {"class_name", "config"} with Keras's defaults (TF.js's
 * are the same, except Constant's value, which TF.js requires). */
static int initializer(cJSON *cfg, const char *key, const char *layer, nnc_status *st) {
  cJSON *v = child(cfg, key);
  if (!v || cJSON_IsNull(v)) return NNC_OK;
  char what[256];
  if (cJSON_IsString(v)) {
    const char *cls = initializer_class(v);
    if (cls) {
      cJSON *c = NULL;
      if (!strcmp(cls, "Constant") &&
          (!(c = cJSON_CreateObject()) || !cJSON_AddNumberToObject(c, "value", 0.0))) {
        cJSON_Delete(c);
        return nomem(st);
      }
      return put(cfg, key, object_of(cls, c), st);
    }
  } else if (cJSON_IsObject(v)) {
    const char *cls = initializer_class(child(v, "class_name"));
    if (cls) {
      if (folds_to(child(child(v, "config"), "distribution"), "untruncatednormal")) {
        snprintf(what, sizeof what,
                 "%s: a VarianceScaling distribution \"untruncated_normal\" has no TF.js form "
                 "(TF.js 4.22 draws only truncated normals and uniforms)",
                 key);
        return refuse(st, layer, what);
      }
      if (put(v, "class_name", cJSON_CreateString(cls), st) || with_config(v, st)) return st->code;
      cJSON *c = child(v, "config");
      if (!strcmp(cls, "Constant") && !cJSON_IsNumber(child(c, "value")))
        return put(c, "value", cJSON_CreateNumber(0.0), st); /* Keras's default */
      if (!strcmp(cls, "VarianceScaling")) return variance_scaling_names(c, st);
      return NNC_OK;
    }
  }
  snprintf(what, sizeof what, "%s: this initializer has no TF.js 4.22 form", key);
  return refuse(st, layer, what);
}

/* ---- regularizers: TF.js registers only L1L2 ---- */

static int regularizer(cJSON *cfg, const char *key, const char *layer, nnc_status *st) {
  cJSON *v = child(cfg, key);
  if (!v || cJSON_IsNull(v)) return NNC_OK;
  char what[256];
  if (!strcmp(key, "activity_regularizer")) {
    snprintf(what, sizeof what,
             "an activity_regularizer has no TF.js form (TF.js 4.22 refuses to call a layer "
             "with one: remove it to save the model for TF.js)");
    return refuse(st, layer, what);
  }
  /* Keras's names and defaults: "l1" is L1(0.01), "l2" L2(0.01), "l1_l2"
   * L1L2(0, 0) (compiler/spec/spec_regularizer.c) */
  const cJSON *name = cJSON_IsObject(v) ? child(v, "class_name") : v;
  const cJSON *args = cJSON_IsObject(v) ? child(v, "config") : NULL;
  double l1 = -1, l2 = -1;
  if (folds_to(name, "l1"))
    l1 = number(args, "l1", 0.01), l2 = 0;
  else if (folds_to(name, "l2"))
    l1 = 0, l2 = number(args, "l2", 0.01);
  else if (folds_to(name, "l1l2"))
    l1 = number(args, "l1", 0), l2 = number(args, "l2", 0);
  if (l1 < 0) {
    snprintf(what, sizeof what,
             "%s: this regularizer has no TF.js form (TF.js 4.22 has L1, L2 and L1L2 only)", key);
    return refuse(st, layer, what);
  }
  cJSON *c = cJSON_CreateObject();
  if (!c || !cJSON_AddNumberToObject(c, "l1", l1) || !cJSON_AddNumberToObject(c, "l2", l2)) {
    cJSON_Delete(c);
    return nomem(st);
  }
  return put(cfg, key, object_of("L1L2", c), st);
}

/* ---- constraints: TF.js applies a weight's constraint when it loads it ---- */

static int constraint(cJSON *cfg, const char *key, const char *layer, int frozen, nnc_status *st) {
  cJSON *v = child(cfg, key);
  if (!v || cJSON_IsNull(v)) return NNC_OK;
  char what[320];
  if (frozen) {
    snprintf(what, sizeof what,
             "%s on a layer that is not trainable (or inside one): TF.js 4.22 applies a "
             "constraint to the "
             "weights it loads, which would change these (Keras and nnc never apply it to "
             "frozen weights); remove it to save the model for TF.js",
             key);
    return refuse(st, layer, what);
  }
  /* Keras's names with its defaults (compiler/spec/spec_constraint.c) */
  static const struct {
    const char *folded, *tfjs;
  } names[] = {{"maxnorm", "MaxNorm"},
               {"minmaxnorm", "MinMaxNorm"},
               {"nonneg", "NonNeg"},
               {"unitnorm", "UnitNorm"}};
  const cJSON *name = cJSON_IsObject(v) ? child(v, "class_name") : v;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (!folds_to(name, names[i].folded)) continue;
    if (!strcmp(names[i].tfjs, "MinMaxNorm") && number(child(v, "config"), "rate", 1.0) != 1.0) {
      snprintf(what, sizeof what,
               "%s: a MinMaxNorm with rate below 1 has no TF.js form (TF.js 4.22 applies the "
               "constraint again to the weights it loads, which moves a norm left outside "
               "[min_value, max_value])",
               key);
      return refuse(st, layer, what);
    }
    if (cJSON_IsObject(v)) {
      if (put(v, "class_name", cJSON_CreateString(names[i].tfjs), st)) return st->code;
      return with_config(v, st);
    }
    cJSON *c = cJSON_CreateObject();
    int ok = c != NULL;
    if (ok && !strcmp(names[i].tfjs, "MaxNorm"))
      ok = cJSON_AddNumberToObject(c, "max_value", 2.0) && cJSON_AddNumberToObject(c, "axis", 0);
    if (ok && !strcmp(names[i].tfjs, "MinMaxNorm"))
      ok = cJSON_AddNumberToObject(c, "min_value", 0.0) &&
           cJSON_AddNumberToObject(c, "max_value", 1.0) &&
           cJSON_AddNumberToObject(c, "rate", 1.0) && cJSON_AddNumberToObject(c, "axis", 0);
    if (ok && !strcmp(names[i].tfjs, "UnitNorm")) ok = cJSON_AddNumberToObject(c, "axis", 0) != 0;
    if (!ok) {
      cJSON_Delete(c);
      return nomem(st);
    }
    return put(cfg, key, object_of(names[i].tfjs, c), st);
  }
  snprintf(what, sizeof what, "%s: this constraint has no TF.js 4.22 form", key);
  return refuse(st, layer, what);
}

/* ---- layer options ---- */

static int is(const char *cls, const char *name) {
  return !strcmp(cls, name);
}

static int one_of(const char *cls, const char *const *names) {
  for (; *names; names++)
    if (!strcmp(cls, *names)) return 1;
  return 0;
}

/* a number or a list of numbers, each equal to one (absent: one) */
static int all_ones(const cJSON *v) {
  if (!v || cJSON_IsNull(v)) return 1;
  if (cJSON_IsNumber(v)) return v->valuedouble == 1;
  const cJSON *e;
  cJSON_ArrayForEach(e, v) {
    if (!cJSON_IsNumber(e) || e->valuedouble != 1) return 0;
  }
  return cJSON_IsArray(v);
}

static int layer_rules(const char *cls, cJSON *cfg, const char *name, nnc_status *st) {
  static const char *const paddings[] = {"valid", "same", "causal", NULL};
  static const char *const formats[] = {"channels_last", "channels_first", NULL};
  if (spelled(cfg, "padding", paddings, st) || spelled(cfg, "data_format", formats, st))
    return st->code;
  static const char *const channels_first_not[] = {"Conv1D",
                                                   "MaxPooling1D",
                                                   "AveragePooling1D",
                                                   "GlobalMaxPooling1D",
                                                   "GlobalAveragePooling1D",
                                                   "SeparableConv2D",
                                                   NULL};
  static const char *const global_pools[] = {"GlobalMaxPooling1D", "GlobalMaxPooling2D",
                                             "GlobalAveragePooling1D", "GlobalAveragePooling2D",
                                             NULL};
  static const char *const convs[] = {"Conv1D",          "Conv2D",          "Conv3D",
                                      "Conv2DTranspose", "Conv3DTranspose", NULL};
  static const char *const wrapped_not[] = {
      "LSTM",       "GRU",        "SimpleRNN", "RNN", "Bidirectional", "TimeDistributed",
      "Sequential", "Functional", "Model",     NULL};
  if (is(cls, "LeakyReLU") && child(cfg, "negative_slope")) {
    /* Keras 3's name for alpha; a number in alpha wins, as in Keras 3 */
    cJSON *slope = cJSON_DetachItemFromObjectCaseSensitive(cfg, "negative_slope");
    if (cJSON_IsNumber(slope) && !cJSON_IsNumber(child(cfg, "alpha")))
      return put(cfg, "alpha", slope, st);
    cJSON_Delete(slope);
    if (child(cfg, "alpha") && !cJSON_IsNumber(child(cfg, "alpha")))
      cJSON_DeleteItemFromObjectCaseSensitive(cfg, "alpha"); /* null: the default, 0.3 */
    return NNC_OK;
  }
  if (is(cls, "BatchNormalization")) { /* TF.js reads [-1] as axis -14 */
    const cJSON *axis = child(cfg, "axis");
    if (cJSON_IsArray(axis) && cJSON_GetArraySize(axis) == 1 &&
        cJSON_IsNumber(cJSON_GetArrayItem(axis, 0)) &&
        put(cfg, "axis", cJSON_CreateNumber(cJSON_GetArrayItem(axis, 0)->valuedouble), st))
      return st->code;
  }
  if (is(cls, "ReLU") &&
      (number(cfg, "negative_slope", 0) != 0 || number(cfg, "threshold", 0) != 0))
    return refuse(st, name,
                  "a ReLU with negative_slope or threshold has no TF.js form (TF.js 4.22's ReLU "
                  "has max_value only and would ignore them)");
  if (is(cls, "ELU") && number(cfg, "alpha", 1) != 1)
    return refuse(st, name, "an ELU layer with alpha other than 1 has no TF.js 4.22 form");
  if (is(cls, "Softmax")) { /* Keras's default axis is -1, TF.js's 1: always written */
    const cJSON *axis = child(cfg, "axis");
    if (cJSON_IsArray(axis) && cJSON_GetArraySize(axis) == 1) axis = cJSON_GetArrayItem(axis, 0);
    if (axis && !cJSON_IsNull(axis) && !(cJSON_IsNumber(axis) && axis->valuedouble == -1))
      return refuse(st, name,
                    "a Softmax layer over an axis given other than as -1 has no TF.js form nnc "
                    "writes (TF.js 4.22 takes only the last axis: give -1)");
    if (put(cfg, "axis", cJSON_CreateNumber(-1), st)) return st->code;
  }
  if (one_of(cls, convs) && number(cfg, "groups", 1) != 1)
    return refuse(st, name, "a grouped convolution (groups > 1) has no TF.js 4.22 form");
  if (is(cls, "Conv1D") && folds_to(child(cfg, "padding"), "causal"))
    return refuse(st, name,
                  "a Conv1D with causal padding has no TF.js form (TF.js 4.22 builds other "
                  "shapes)");
  if ((is(cls, "Conv2DTranspose") || is(cls, "Conv3DTranspose")) &&
      ((child(cfg, "output_padding") && !cJSON_IsNull(child(cfg, "output_padding"))) ||
       !all_ones(child(cfg, "dilation_rate"))))
    return refuse(st, name,
                  "a transposed convolution with output_padding or a dilation has no TF.js 4.22 "
                  "form");
  if (one_of(cls, global_pools) && cJSON_IsTrue(child(cfg, "keepdims")))
    return refuse(st, name,
                  "global pooling with keepdims has no TF.js form (TF.js 4.22 ignores it and "
                  "drops the axes)");
  if (one_of(cls, channels_first_not) && folds_to(child(cfg, "data_format"), "channelsfirst"))
    return refuse(st, name,
                  "channels_first has no TF.js form in this layer (TF.js 4.22 computes it as "
                  "channels_last or fails)");
  if (is(cls, "UpSampling2D")) {
    cJSON *size = child(cfg, "size");
    if (cJSON_IsNumber(size)) { /* TF.js reads only a list */
      cJSON *list = cJSON_CreateArray();
      if (!list || !cJSON_AddItemToArray(list, cJSON_CreateNumber(size->valuedouble)) ||
          !cJSON_AddItemToArray(list, cJSON_CreateNumber(size->valuedouble))) {
        cJSON_Delete(list);
        return nomem(st);
      }
      if (put(cfg, "size", list, st)) return st->code;
    }
    const cJSON *how = child(cfg, "interpolation");
    if (how && !cJSON_IsNull(how) && !folds_to(how, "nearest"))
      return refuse(st, name,
                    "UpSampling2D with bilinear interpolation has no TF.js form (TF.js 4.22 "
                    "computes other values)");
  }
  if (is(cls, "Resizing") || is(cls, "CenterCrop"))
    return refuse(st, name,
                  "Resizing and CenterCrop have no TF.js form nnc can write (TF.js 4.22 fails to "
                  "load them or builds other shapes)");
  if (is(cls, "Bidirectional") && child(cfg, "backward_layer") &&
      !cJSON_IsNull(child(cfg, "backward_layer")))
    return refuse(st, name,
                  "a Bidirectional with its own backward_layer has no TF.js form (TF.js 4.22 "
                  "builds the backward layer from the forward one)");
  if (is(cls, "TimeDistributed")) {
    const cJSON *inner = child(child(cfg, "layer"), "class_name");
    const char *inner_cls = cJSON_IsString(inner) ? tfjs_layer_class(inner->valuestring) : NULL;
    if (inner_cls && one_of(inner_cls, wrapped_not))
      return refuse(st, name,
                    "a TimeDistributed around a recurrent layer, a wrapper or a model has no "
                    "TF.js form (TF.js 4.22 names its weights otherwise)");
  }
  return NNC_OK;
}

int tfjs_layer_options(cJSON *layer, const char *cls, const char *name, int frozen,
                       nnc_status *st) {
  cJSON *cfg = child(layer, "config");
  if (!cJSON_IsObject(cfg)) return NNC_OK;
  /* a rule may replace the item it looks at: the next one is taken first */
  for (cJSON *c = cfg->child, *next; c; c = next) {
    next = c->next;
    const char *key = c->string;
    size_t n = strlen(key);
    int rc = NNC_OK;
    if (n > 12 && !strcmp(key + n - 12, "_initializer"))
      rc = initializer(cfg, key, name, st);
    else if (n > 12 && !strcmp(key + n - 12, "_regularizer"))
      rc = regularizer(cfg, key, name, st);
    else if (n > 11 && !strcmp(key + n - 11, "_constraint"))
      rc = constraint(cfg, key, name, frozen, st);
    if (rc) return rc;
  }
  return layer_rules(cls, cfg, name, st);
}
