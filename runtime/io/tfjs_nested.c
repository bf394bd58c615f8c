/* Models inside models, written for TF.js (tfjs_write.c).
 *
 * TF.js builds every Sequential from its config alone, when it reads it:
 * the first layer of each one, nested ones too, must declare its input
 * shape ("The first layer in a Sequential model must get an `inputShape`"),
 * and a layer's variables are named in the scope they were built in, which
 * for a Sequential built on its own is the layer's name alone: a Dense
 * "d_in" inside Sequential "inner" owns "d_in/kernel". nnc names that weight
 * "inner/d_in/kernel" (a nested Functional's weights carry no prefix, as in
 * Keras 3: layer_util.c). So the writer gives each nested Sequential
 * without one the input shape it was built for, names every weight as TF.js
 * does, and refuses a model whose names would then collide or whose nested
 * Sequential's input shape it cannot know. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "runtime/io/tfjs.h"
#include "runtime/model.h"

static const cJSON *child(const cJSON *o, const char *key) {
  return cJSON_GetObjectItemCaseSensitive(o, key);
}

static int class_is(const cJSON *layer, const char *name) {
  const cJSON *c = child(layer, "class_name");
  return cJSON_IsString(c) && !strcmp(c->valuestring, name);
}

static int is_sequential(const cJSON *layer) {
  return class_is(layer, "Sequential");
}

static int is_model(const cJSON *layer) {
  return is_sequential(layer) || class_is(layer, "Functional") || class_is(layer, "Model");
}

static const char *name_of(const cJSON *layer) {
  const cJSON *n = child(child(layer, "config"), "name");
  return cJSON_IsString(n) ? n->valuestring : "";
}

static cJSON *layers_of(const cJSON *model) {
  return cJSON_GetObjectItemCaseSensitive(child(model, "config"), "layers");
}

static int named(const cJSON *layer, const char *name, size_t len) {
  const char *n = name_of(layer);
  return strlen(n) == len && !strncmp(n, name, len);
}

static const char *resolve(const cJSON *layers, const char *name, const cJSON **layer);

/* name inside nested model `model`: a Sequential's behind its prefix, a
 * Functional's as they are (nnc gives them none) */
static const char *resolve_in(const cJSON *model, const char *name, const cJSON **layer) {
  *layer = NULL;
  if (!is_sequential(model)) return resolve(layers_of(model), name, layer);
  size_t k = strcspn(name, "/");
  if (name[k] != '/' || !named(model, name, k)) return name;
  return resolve(layers_of(model), name + k + 1, layer);
}

/* the model a layer holds: itself, or the one a wrapper (TimeDistributed,
 * Bidirectional) wraps; NULL: none */
static const cJSON *model_in(const cJSON *l) {
  if (is_model(l)) return l;
  const cJSON *w = child(child(l, "config"), "layer");
  return is_model(w) ? w : NULL;
}

/* nnc's weight name as TF.js names it: without the prefixes of the nested
 * Sequentials it lies in; *layer: the layer that owns it (NULL: none of
 * that name). A prefix is taken only when the rest resolves inside that
 * Sequential; of several readings (a Dense "s" and a Sequential "s"
 * elsewhere, both reached) the one that takes off the most prefixes wins:
 * no layer has weights under a name of its own that another nested layer
 * would own (nnc refuses weights of one name). */
static const char *resolve(const cJSON *layers, const char *name, const cJSON **layer) {
  size_t k = strcspn(name, "/");
  const char *best = name;
  *layer = NULL;
  if (name[k] != '/') return name;
  const cJSON *l, *found = NULL;
  cJSON_ArrayForEach(l, layers) {
    if (!is_sequential(l) && named(l, name, k) && !*layer) *layer = l;
    const cJSON *model = model_in(l);
    found = NULL;
    const char *inside = model ? resolve_in(model, name, &found) : name;
    if (found && model && (!*layer || inside > best)) *layer = found, best = inside;
  }
  return best;
}

/* TF.js's name into out; the owning layer, or NULL when the topology has
 * no layer of that name */
static const cJSON *weight_name(const cJSON *topo, const char *name, char *out, size_t size) {
  const cJSON *layer;
  const char *own = resolve(layers_of(child(topo, "model_config")), name, &layer);
  nnc_strlcpy(out, own, size);
  /* TF.js names a depthwise convolution's kernel "depthwise_kernel" (as tf.keras 2) */
  const char *slash = strrchr(own, '/');
  if (layer && slash && !strcmp(slash, "/kernel") && strchr(own, '/') == slash &&
      (class_is(layer, "DepthwiseConv2D") || class_is(layer, "DepthwiseConv1D")))
    snprintf(out, size, "%.*s/depthwise_kernel", (int)(slash - own), own);
  return layer;
}

void tfjs_weight_name(const cJSON *topo, const char *name, char *out, size_t size) {
  weight_name(topo, name, out, size);
}

/* Two weights of different layers whose TF.js names start with one layer
 * name: TF.js itself would match them by their whole names, but nnc reads
 * a TF.js model back by layer name (tfjs_read.c: map_name), so the file
 * would not load into nnc as the same model. */
int tfjs_weight_names_check(const nnc_model *m, const cJSON *topo, nnc_status *st) {
  int n = nnc_model_weight_count(m);
  char(*names)[512] = nnc_calloc((size_t)n + 1, sizeof *names, st);
  const cJSON **owner = nnc_calloc((size_t)n + 1, sizeof *owner, st);
  for (int i = 0; i < n && names && owner && !st->code; i++) {
    const char *a = names[i];
    if (!(owner[i] = weight_name(topo, nnc_model_weight_name(m, i), names[i], sizeof names[i]))) {
      nnc_fail(st, NNC_ERR_ARG,
               "--save-tfjs: weight %s belongs to no layer of that name in the config (a layer "
               "or nested model without a name? TF.js would name it otherwise than nnc): give "
               "every layer and model a name",
               nnc_model_weight_name(m, i));
      break;
    }
    size_t k = strcspn(a, "/");
    for (int j = 0; j < i; j++)
      if (owner[j] != owner[i] && strcspn(names[j], "/") == k && !strncmp(a, names[j], k)) {
        nnc_fail(st, NNC_ERR_ARG,
                 "--save-tfjs: weights %s and %s belong to two layers TF.js would both call "
                 "'%.*s' (it names a nested Sequential's weights by their layer alone): rename "
                 "one of the layers",
                 nnc_model_weight_name(m, j), nnc_model_weight_name(m, i), (int)k, a);
        break;
      }
  }
  free(names);
  free(owner);
  return st->code;
}

/* A layer config that gives TF.js its layer's input shape (a Dense's
 * batch_shape is Keras 3's spelling, which TF.js does not read). */
static int declares_input(const cJSON *layer) {
  const cJSON *cfg = child(layer, "config");
  return class_is(layer, "InputLayer") || cJSON_IsArray(child(cfg, "batch_input_shape")) ||
         cJSON_IsArray(child(cfg, "input_shape"));
}

/* An InputLayer's shape per sample (its batch_input_shape without the
 * batch); 0 when it has no such list of sizes. */
static int input_layer_shape(const cJSON *layer, nnc_sample_shape *out) {
  const cJSON *b = child(child(layer, "config"), "batch_input_shape"), *d;
  int rank = cJSON_GetArraySize(b) - 1, i = 0;
  if (!cJSON_IsArray(b) || rank < 0 || rank > NNC_MAX_RANK) return 0;
  cJSON_ArrayForEach(d, b) {
    if (i > 0 && cJSON_IsNull(d)) {
      out->dims[i - 1] = -1; /* None */
    } else if (i > 0) {
      if (!cJSON_IsNumber(d) || d->valuedouble < 1 || d->valuedouble > 1e15) return 0;
      out->dims[i - 1] = (int64_t)d->valuedouble;
    }
    i++;
  }
  out->rank = rank;
  return 1;
}

/* The output shape the summary gives top-level layer `name`, per sample. */
static int summary_shape(const nnc_model *m, const char *name, nnc_sample_shape *out) {
  if (!m->t) return 0;
  for (int i = 0; i < m->t->n_summary_rows; i++) {
    const nnc_summary_row *r = &m->t->summary[i];
    if (r->name && !strcmp(r->name, name) && r->rank >= 1) {
      out->rank = r->rank - 1;
      for (int d = 1; d < r->rank; d++) out->dims[d - 1] = r->shape[d];
      return 1;
    }
  }
  return 0;
}

static int set_input(cJSON *layer, const nnc_sample_shape *in, nnc_status *st) {
  if (!cJSON_IsObject(child(layer, "config"))) return NNC_OK; /* the parser refused it */
  cJSON *shape = cJSON_CreateArray();
  if (!shape) return nnc_fail(st, NNC_ERR_NOMEM, "out of memory");
  cJSON_AddItemToArray(shape, cJSON_CreateNull());
  for (int d = 0; d < in->rank; d++) /* -1: a size the model leaves open (None) */
    cJSON_AddItemToArray(shape, in->dims[d] < 0 ? cJSON_CreateNull()
                                                : cJSON_CreateNumber((double)in->dims[d]));
  cJSON_AddItemToObject(cJSON_GetObjectItemCaseSensitive(layer, "config"), "batch_input_shape",
                        shape);
  return NNC_OK;
}

/* The nested Sequentials of `layers` (a Sequential's when sequential, its
 * input `in` or NULL when unknown; top: the model's own list, whose layers'
 * outputs the summary gives). */
static int nested_inputs(const nnc_model *m, cJSON *layers, int sequential,
                         const nnc_sample_shape *in, int top, nnc_status *st) {
  nnc_sample_shape cur, next;
  int known = sequential && in;
  if (known) cur = *in;
  cJSON *l, *first = cJSON_GetArrayItem(layers, 0);
  /* the model's own first layer, when it was built from data (TF.js builds
   * a Sequential only from a declared input shape) */
  if (top && known && first && !is_model(first) && !declares_input(first) &&
      set_input(first, &cur, st))
    return st->code;
  cJSON_ArrayForEach(l, layers) {
    if (is_sequential(l)) {
      cJSON *inner = layers_of(l);
      first = cJSON_GetArrayItem(inner, 0);
      if (first && !is_model(first) && !declares_input(first)) {
        if (!known)
          return nnc_fail(st, NNC_ERR_ARG,
                          "--save-tfjs: nested Sequential '%s' declares no input shape, and TF.js "
                          "builds a Sequential only from one (nnc cannot tell it here): give its "
                          "first layer an InputLayer",
                          name_of(l));
        if (set_input(first, &cur, st)) return st->code;
      }
      if (nested_inputs(m, inner, 1, known ? &cur : NULL, 0, st)) return st->code;
    } else if (is_model(l) && nested_inputs(m, layers_of(l), 0, NULL, 0, st)) {
      return st->code;
    }
    /* the next layer's input: this one's output, when the summary has it */
    known = sequential && top && summary_shape(m, name_of(l), &next);
    if (known) cur = next;
    if (class_is(l, "InputLayer") && sequential) {
      known = input_layer_shape(l, &next);
      if (known) cur = next;
      if (!known && top && in) known = 1, cur = *in; /* the shape the model was built for */
    }
  }
  return NNC_OK;
}

int tfjs_nested_inputs(const nnc_model *m, cJSON *topo, nnc_status *st) {
  cJSON *model = cJSON_GetObjectItemCaseSensitive(topo, "model_config");
  int sequential = is_sequential(model);
  const nnc_sample_shape *in = m->built && m->in_shapes ? &m->in_shapes[0] : NULL;
  return nested_inputs(m, layers_of(model), sequential, in, 1, st);
}

/* BatchNormalization over an axis other than the last: TF.js 4.22 loads it
 * and predicts other numbers (an axis of 1 on [N, 3, 2, 2] differs by 1e-2;
 * the last axis, given as -1 or as rank - 1, agrees). The rank is the
 * summary's, for top-level layers; a nested one must say -1. */
static int batchnorm_axes(const nnc_model *m, const cJSON *layers, int top, nnc_status *st) {
  const cJSON *l;
  cJSON_ArrayForEach(l, layers) {
    if (is_sequential(l) || class_is(l, "Functional") || class_is(l, "Model")) {
      if (batchnorm_axes(m, layers_of(l), 0, st)) return st->code;
      continue;
    }
    const cJSON *wrapped = child(child(l, "config"), "layer"); /* TimeDistributed, Bidirectional */
    if (cJSON_IsObject(wrapped)) {
      cJSON *one = cJSON_CreateArray();
      int rc = !one || !cJSON_AddItemReferenceToArray(one, (cJSON *)wrapped)
                   ? nnc_fail(st, NNC_ERR_NOMEM, "out of memory")
                   : batchnorm_axes(m, one, 0, st);
      cJSON_Delete(one);
      if (rc) return rc;
      continue;
    }
    if (!class_is(l, "BatchNormalization")) continue;
    const cJSON *axis = child(child(l, "config"), "axis");
    if (cJSON_IsArray(axis) && cJSON_GetArraySize(axis) == 1) axis = cJSON_GetArrayItem(axis, 0);
    if (!cJSON_IsNumber(axis) || axis->valueint == -1) continue; /* several: the parser refused */
    nnc_sample_shape out;
    if (top && summary_shape(m, name_of(l), &out) && axis->valueint == out.rank) continue;
    if (!top)
      return nnc_fail(st, NNC_ERR_ARG,
                      "--save-tfjs: layer '%.100s': a BatchNormalization inside a nested model or "
                      "a wrapper must give its axis as -1 for TF.js (over another axis TF.js 4.22 "
                      "computes other numbers; nnc does not know the rank there)",
                      name_of(l));
    return nnc_fail(st, NNC_ERR_ARG,
                    "--save-tfjs: layer '%.100s': a BatchNormalization over axis %d, not the last, "
                    "has no TF.js "
                    "form (TF.js 4.22 loads it and computes other numbers)",
                    name_of(l), axis->valueint);
  }
  return NNC_OK;
}

int tfjs_batchnorm_axes(const nnc_model *m, const cJSON *topo, nnc_status *st) {
  const cJSON *model = cJSON_GetObjectItemCaseSensitive(topo, "model_config");
  return batchnorm_axes(m, layers_of(model), 1, st);
}
