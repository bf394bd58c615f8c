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

/* name with the prefixes of the nested Sequentials it lies in removed */
static const char *strip_nested(const cJSON *layers, const char *name) {
  const cJSON *l;
  cJSON_ArrayForEach(l, layers) {
    if (!is_model(l)) continue;
    if (is_sequential(l)) {
      size_t k = strlen(name_of(l));
      if (k && !strncmp(name, name_of(l), k) && name[k] == '/')
        return strip_nested(layers_of(l), name + k + 1);
    } else {
      const char *inside = strip_nested(layers_of(l), name);
      if (inside != name) return inside;
    }
  }
  return name;
}

/* the layer named `name` (length len) anywhere in the tree, or NULL */
static const cJSON *find_layer(const cJSON *layers, const char *name, size_t len) {
  const cJSON *l;
  cJSON_ArrayForEach(l, layers) {
    if (strlen(name_of(l)) == len && !strncmp(name_of(l), name, len)) return l;
    const cJSON *in = is_model(l) ? find_layer(layers_of(l), name, len) : NULL;
    if (in) return in;
  }
  return NULL;
}

void tfjs_weight_name(const cJSON *topo, const char *name, char *out, size_t size) {
  const cJSON *top = layers_of(child(topo, "model_config"));
  const char *own = strip_nested(top, name);
  nnc_strlcpy(out, own, size);
  /* TF.js names a depthwise convolution's kernel "depthwise_kernel" (as tf.keras 2) */
  const char *slash = strrchr(own, '/');
  if (!slash || strcmp(slash, "/kernel")) return;
  const cJSON *l = find_layer(top, own, (size_t)(slash - own));
  if (l && (class_is(l, "DepthwiseConv2D") || class_is(l, "DepthwiseConv1D")))
    snprintf(out, size, "%.*s/depthwise_kernel", (int)(slash - own), own);
}

int tfjs_weight_names_check(const nnc_model *m, const cJSON *topo, nnc_status *st) {
  int n = nnc_model_weight_count(m);
  for (int i = 0; i < n; i++) {
    char a[512], b[512];
    tfjs_weight_name(topo, nnc_model_weight_name(m, i), a, sizeof a);
    for (int j = 0; j < i; j++) {
      tfjs_weight_name(topo, nnc_model_weight_name(m, j), b, sizeof b);
      if (!strcmp(a, b))
        return nnc_fail(st, NNC_ERR_ARG,
                        "--save-tfjs: weights %s and %s would both be %s in TF.js (it names a "
                        "nested Sequential's weights by their layer alone): rename one of the "
                        "layers",
                        nnc_model_weight_name(m, j), nnc_model_weight_name(m, i), a);
    }
  }
  return NNC_OK;
}

/* A layer config that gives its layer's input shape. */
static int declares_input(const cJSON *layer) {
  const cJSON *cfg = child(layer, "config");
  return class_is(layer, "InputLayer") || child(cfg, "batch_input_shape") ||
         child(cfg, "input_shape") || child(cfg, "batch_shape");
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
  cJSON *shape = cJSON_CreateArray();
  if (!shape) return nnc_fail(st, NNC_ERR_NOMEM, "out of memory");
  cJSON_AddItemToArray(shape, cJSON_CreateNull());
  for (int d = 0; d < in->rank; d++)
    cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)in->dims[d]));
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
  cJSON *l;
  cJSON_ArrayForEach(l, layers) {
    if (is_sequential(l)) {
      cJSON *inner = layers_of(l), *first = cJSON_GetArrayItem(inner, 0);
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
    if (class_is(l, "InputLayer") && sequential && in) known = 1, cur = *in;
  }
  return NNC_OK;
}

int tfjs_nested_inputs(const nnc_model *m, cJSON *topo, nnc_status *st) {
  cJSON *model = cJSON_GetObjectItemCaseSensitive(topo, "model_config");
  int sequential = is_sequential(model);
  const nnc_sample_shape *in = m->built && m->in_shapes ? &m->in_shapes[0] : NULL;
  return nested_inputs(m, layers_of(model), sequential, in, 1, st);
}
