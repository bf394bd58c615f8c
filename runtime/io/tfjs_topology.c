/* The modelTopology of a TF.js model.json from any spec nnc reads.
 *
 * TF.js's loadLayersModel (tfjs-layers 4.22) reads the tf.keras 2 JSON form:
 * plain {"class_name", "config"} objects, dtypes as strings, an InputLayer's
 * "batch_input_shape", a Functional layer's inbound nodes as lists of
 * [layer, node, tensor, kwargs]. Keras 3 writes the same model with
 * "module"/"registered_name" keys, DTypePolicy objects, "batch_shape" and
 * {"args", "kwargs"} nodes (TF.js 4.22 refuses those: the converter's output
 * for a Keras 3 model does not load in TF.js), so they are rewritten here. A
 * spec already in the tf.keras 2 form passes through unchanged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "runtime/io/rnn_defaults.h"
#include "runtime/io/tfjs.h"

/* Keras 3 keys TF.js does not know; none changes what the layer computes. */
static const char *const dropped_keys[] = {"module",
                                           "registered_name",
                                           "build_config",
                                           "compile_config",
                                           "quantization_config",
                                           "lora_rank",
                                           "lora_alpha",
                                           "optional",
                                           "ragged",
                                           "sparse",
                                           "input_tensor",
                                           NULL};

static int is_dropped(const char *key) {
  for (const char *const *k = dropped_keys; *k; k++)
    if (!strcmp(key, *k)) return 1;
  return 0;
}

static const cJSON *child(const cJSON *o, const char *key) {
  return cJSON_GetObjectItemCaseSensitive(o, key);
}

static int is_class(const cJSON *o, const char *name) {
  const cJSON *c = child(o, "class_name");
  return cJSON_IsString(c) && !strcmp(c->valuestring, name);
}

/* A DTypePolicy {"class_name": "DTypePolicy", "config": {"name": "float32"}}
 * as TF.js's dtype string; mixed precision policies compute in float32 in nnc. */
static cJSON *dtype_string(const cJSON *v) {
  const cJSON *name = child(child(v, "config"), "name");
  const char *s = cJSON_IsString(name) ? name->valuestring : "float32";
  if (!strncmp(s, "mixed_", 6)) s = "float32";
  return cJSON_CreateString(s);
}

/* A deep copy of v with Keras 3's serialization keys dropped and dtype
 * policies turned into strings, at any depth (initializers, regularizers,
 * wrapped layers). */
static cJSON *clean(const cJSON *v, const char *key) {
  if (key && !strcmp(key, "dtype") && cJSON_IsObject(v)) return dtype_string(v);
  if (cJSON_IsArray(v)) {
    cJSON *out = cJSON_CreateArray();
    const cJSON *e;
    cJSON_ArrayForEach(e, v) {
      if (out) cJSON_AddItemToArray(out, clean(e, NULL));
    }
    return out;
  }
  if (!cJSON_IsObject(v)) return cJSON_Duplicate(v, 1);
  cJSON *out = cJSON_CreateObject();
  for (const cJSON *c = v->child; c && out; c = c->next)
    if (!is_dropped(c->string)) cJSON_AddItemToObject(out, c->string, clean(c, c->string));
  return out;
}

/* ---- Functional nodes ---- */

/* Keras 3 tensors {"class_name": "__keras_tensor__", "config":
 * {"keras_history": [layer, node, tensor]}} under v, in order, appended to
 * list as [layer, node, tensor, kwargs]. */
static void collect_tensors(const cJSON *v, const cJSON *kwargs, cJSON *list) {
  if (is_class(v, "__keras_tensor__")) {
    const cJSON *h = child(child(v, "config"), "keras_history");
    cJSON *ref = cJSON_Duplicate(h, 1);
    if (ref) cJSON_AddItemToArray(ref, kwargs ? clean(kwargs, NULL) : cJSON_CreateObject());
    cJSON_AddItemToArray(list, ref);
    return;
  }
  if (cJSON_IsArray(v) || cJSON_IsObject(v))
    for (const cJSON *c = v->child; c; c = c->next) collect_tensors(c, kwargs, list);
}

static int has_tensor(const cJSON *v) {
  if (is_class(v, "__keras_tensor__")) return 1;
  if (cJSON_IsArray(v) || cJSON_IsObject(v))
    for (const cJSON *c = v->child; c; c = c->next)
      if (has_tensor(c)) return 1;
  return 0;
}

static cJSON *convert_nodes(const cJSON *nodes, const char *layer, nnc_status *st) {
  cJSON *out = cJSON_CreateArray();
  const cJSON *node;
  cJSON_ArrayForEach(node, nodes) {
    if (!out) break;
    if (cJSON_IsArray(node)) { /* tf.keras 2 form already */
      cJSON_AddItemToArray(out, clean(node, NULL));
      continue;
    }
    const cJSON *kwargs = child(node, "kwargs");
    if (has_tensor(kwargs)) {
      nnc_fail(st, NNC_ERR_SPEC,
               "layer \"%.100s\": a call with tensor keyword arguments (Keras 3 \"kwargs\") has "
               "no TF.js topology form nnc writes",
               layer);
      cJSON_Delete(out);
      return NULL;
    }
    cJSON *refs = cJSON_CreateArray();
    if (refs) collect_tensors(child(node, "args"), kwargs ? kwargs : NULL, refs);
    cJSON_AddItemToArray(out, refs);
  }
  return out;
}

/* input_layers/output_layers: one [name, node, tensor] triple becomes a
 * list of one. */
static cJSON *endpoints(const cJSON *v) {
  cJSON *out = clean(v, NULL);
  if (cJSON_IsArray(v) && cJSON_IsString(cJSON_GetArrayItem(v, 0))) {
    cJSON *list = cJSON_CreateArray();
    if (list) cJSON_AddItemToArray(list, out);
    return list;
  }
  return out;
}

/* ---- nested Sequential models: Keras 3 and TF.js number their calls differently ---- */

/* Whether a model's layers give their inbound nodes in Keras 3's form
 * (objects; a Keras 2 / TF.js file's lists are copied as they are). */
static int keras3_nodes(const cJSON *layers) {
  const cJSON *layer, *node;
  cJSON_ArrayForEach(layer, layers) {
    cJSON_ArrayForEach(node, child(layer, "inbound_nodes")) {
      if (cJSON_IsObject(node)) return 1;
    }
  }
  return 0;
}

/* A converted nested Sequential that tf.keras 2 and TF.js give a built-in
 * node 0 (its own input: an InputLayer first, or the first layer's input
 * shape, which convert_model puts there from build_input_shape): calls of it
 * count from 1 in the TF.js file, from 0 in Keras 3's (a Keras 3 Sequential
 * has no such node; a Functional has one in both, so its numbers stay). The
 * reader's rule: spec_functional.c, skips_first_node. */
static int tfjs_skips_first_node(const cJSON *l) {
  if (!is_class(l, "Sequential")) return 0;
  const cJSON *first = cJSON_GetArrayItem(child(child(l, "config"), "layers"), 0);
  const cJSON *fcfg = child(first, "config");
  return is_class(first, "InputLayer") || child(fcfg, "batch_input_shape") ||
         child(fcfg, "input_shape");
}

/* Add one to the node index of every reference [name, node, tensor, ...]
 * under v whose name is in names. */
static void shift_refs(cJSON *v, const cJSON *names) {
  if (!cJSON_IsArray(v)) return;
  const cJSON *name = cJSON_GetArrayItem(v, 0);
  cJSON *node = cJSON_GetArrayItem(v, 1);
  if (cJSON_IsString(name) && cJSON_IsNumber(node)) {
    const cJSON *n;
    cJSON_ArrayForEach(n, names) {
      if (!strcmp(n->valuestring, name->valuestring)) {
        cJSON_SetNumberValue(node, node->valuedouble + 1);
        break;
      }
    }
    return;
  }
  for (cJSON *c = v->child; c; c = c->next) shift_refs(c, names);
}

/* The converted Functional's references to its nested Sequential models
 * that TF.js numbers from 1 (inbound nodes, input and output layers). */
static void renumber_sequential_calls(cJSON *ocfg) {
  cJSON *names = cJSON_CreateArray(), *layer;
  cJSON_ArrayForEach(layer, cJSON_GetObjectItemCaseSensitive(ocfg, "layers")) {
    const cJSON *name = child(layer, "name");
    if (names && tfjs_skips_first_node(layer) && cJSON_IsString(name))
      cJSON_AddItemToArray(names, cJSON_CreateString(name->valuestring));
  }
  if (cJSON_GetArraySize(names) > 0) {
    cJSON_ArrayForEach(layer, cJSON_GetObjectItemCaseSensitive(ocfg, "layers")) {
      shift_refs(cJSON_GetObjectItemCaseSensitive(layer, "inbound_nodes"), names);
    }
    shift_refs(cJSON_GetObjectItemCaseSensitive(ocfg, "input_layers"), names);
    shift_refs(cJSON_GetObjectItemCaseSensitive(ocfg, "output_layers"), names);
  }
  cJSON_Delete(names);
}

/* ---- models and layers ---- */

static cJSON *convert_model(const cJSON *model, nnc_status *st);

static int is_model(const cJSON *o) {
  return is_class(o, "Sequential") || is_class(o, "Functional") || is_class(o, "Model");
}

static cJSON *layer_config(const cJSON *layer) {
  cJSON *cfg = clean(child(layer, "config"), NULL);
  const cJSON *cls = child(layer, "class_name"); /* in any spelling nnc reads */
  const char *tfjs = cJSON_IsString(cls) ? tfjs_layer_class(cls->valuestring) : NULL;
  if (!cfg || !tfjs || strcmp(tfjs, "InputLayer")) return cfg;
  cJSON *shape = cJSON_DetachItemFromObjectCaseSensitive(cfg, "batch_shape");
  if (!shape && cJSON_IsArray(child(cfg, "shape"))) { /* Keras 3 shape: no batch axis */
    shape = cJSON_Duplicate(child(cfg, "shape"), 1);
    if (shape) cJSON_InsertItemInArray(shape, 0, cJSON_CreateNull());
  }
  cJSON_DeleteItemFromObjectCaseSensitive(cfg, "shape");
  if (shape) {
    cJSON_DeleteItemFromObjectCaseSensitive(cfg, "batch_input_shape");
    cJSON_AddItemToObject(cfg, "batch_input_shape", shape);
  }
  if (!child(cfg, "dtype")) cJSON_AddStringToObject(cfg, "dtype", "float32");
  return cfg;
}

static cJSON *convert_layer(const cJSON *layer, int functional, nnc_status *st) {
  const cJSON *name = child(layer, "name");
  if (!cJSON_IsString(name)) name = child(child(layer, "config"), "name");
  cJSON *out;
  if (is_model(layer)) {
    out = convert_model(layer, st);
  } else {
    out = cJSON_CreateObject();
    if (out) {
      cJSON_AddItemToObject(out, "class_name", clean(child(layer, "class_name"), NULL));
      cJSON_AddItemToObject(out, "config", layer_config(layer));
    }
  }
  if (!out || !functional) return out;
  if (cJSON_IsString(name)) cJSON_AddStringToObject(out, "name", name->valuestring);
  cJSON *nodes = convert_nodes(child(layer, "inbound_nodes"),
                               cJSON_IsString(name) ? name->valuestring : "?", st);
  if (!nodes) {
    cJSON_Delete(out);
    return NULL;
  }
  cJSON_AddItemToObject(out, "inbound_nodes", nodes);
  return out;
}

static cJSON *convert_model(const cJSON *model, nnc_status *st) {
  const cJSON *cfg = child(model, "config");
  int sequential = is_class(model, "Sequential");
  /* Keras <= 2.2.2 wrote a Sequential's config as the bare list of layers */
  const cJSON *layers = cJSON_IsArray(cfg) ? cfg : child(cfg, "layers");
  if (!cJSON_IsArray(layers)) {
    nnc_fail(st, NNC_ERR_SPEC, "expected the model's config.layers as a list");
    return NULL;
  }
  cJSON *out = cJSON_CreateObject(), *ocfg = cJSON_CreateObject(), *olayers = cJSON_CreateArray();
  if (!out || !ocfg || !olayers) {
    cJSON_Delete(out);
    cJSON_Delete(ocfg);
    cJSON_Delete(olayers);
    nnc_fail(st, NNC_ERR_NOMEM, "out of memory");
    return NULL;
  }
  cJSON_AddStringToObject(out, "class_name", sequential ? "Sequential" : "Functional");
  cJSON_AddItemToObject(out, "config", ocfg);
  const cJSON *name = child(cfg, "name");
  cJSON_AddStringToObject(ocfg, "name",
                          cJSON_IsString(name) ? name->valuestring
                          : sequential         ? "sequential"
                                               : "functional");
  cJSON_AddItemToObject(ocfg, "layers", olayers);
  /* a frozen nested model: the writer's rules read it (tfjs_classes.c) */
  if (cJSON_IsBool(child(cfg, "trainable")))
    cJSON_AddBoolToObject(ocfg, "trainable", cJSON_IsTrue(child(cfg, "trainable")));
  const cJSON *layer;
  cJSON_ArrayForEach(layer, layers) {
    cJSON *l = convert_layer(layer, !sequential, st);
    if (!l) {
      cJSON_Delete(out);
      return NULL;
    }
    cJSON_AddItemToArray(olayers, l);
  }
  if (sequential) {
    /* Keras 3 keeps a Sequential's input shape in build_input_shape when it
     * has no InputLayer; TF.js wants it on the first layer */
    cJSON *first = cJSON_GetArrayItem(olayers, 0);
    cJSON *fcfg = cJSON_GetObjectItemCaseSensitive(first, "config");
    const cJSON *bis = child(cfg, "build_input_shape");
    if (!bis) bis = child(child(model, "build_config"), "input_shape");
    if (fcfg && !is_class(first, "InputLayer") && !child(fcfg, "batch_input_shape") &&
        !child(fcfg, "input_shape") && cJSON_IsArray(bis))
      cJSON_AddItemToObject(fcfg, "batch_input_shape", cJSON_Duplicate(bis, 1));
    return out;
  }
  cJSON_AddItemToObject(ocfg, "input_layers", endpoints(child(cfg, "input_layers")));
  cJSON_AddItemToObject(ocfg, "output_layers", endpoints(child(cfg, "output_layers")));
  if (keras3_nodes(layers)) renumber_sequential_calls(ocfg);
  return out;
}

/* ---- where a spec keeps its model and compile config ---- */

static void locate(const cJSON *root, const cJSON **model, const cJSON **compile) {
  const cJSON *topo = child(root, "modelTopology");
  *compile = NULL;
  if (cJSON_IsObject(topo)) { /* a TF.js model.json */
    *model = child(topo, "model_config") ? child(topo, "model_config") : topo;
    *compile = child(topo, "training_config");
    if (!*compile || cJSON_IsNull(*compile)) *compile = child(root, "trainingConfig");
    return;
  }
  *model = child(root, "model_config") ? child(root, "model_config") : root;
  *compile = child(root, "compile_config");
  if (!*compile || cJSON_IsNull(*compile)) *compile = child(root, "training_config");
  if (!*compile || cJSON_IsNull(*compile)) *compile = child(*model, "compile_config");
}

cJSON *tfjs_topology_from_spec(const char *spec_json, const char *source, nnc_status *st) {
  cJSON *root = spec_json ? cJSON_Parse(spec_json) : NULL;
  if (!root) {
    nnc_fail(st, NNC_ERR_SPEC, "%s: the model's spec is not JSON", source);
    return NULL;
  }
  nnc_status_ok(st);
  const cJSON *model, *compile;
  locate(root, &model, &compile);
  /* a model.json keeps its model config as a string in some old files */
  cJSON *parsed = cJSON_IsString(model) ? cJSON_Parse(model->valuestring) : NULL;
  if (parsed) model = parsed;
  cJSON *topo = NULL, *converted = NULL;
  if (!is_model(model))
    nnc_fail(st, NNC_ERR_SPEC,
             "expected a Sequential, Functional or Model config to write as a TF.js topology");
  else if ((converted = convert_model(model, st)) != NULL && !tfjs_layer_classes(converted, st) &&
           !rnn_defaults_for_tfjs(converted, spec_origin_of(root, model), st) &&
           (topo = cJSON_CreateObject())) {
    const cJSON *version = child(root, "keras_version");
    if (!cJSON_IsString(version)) version = child(child(root, "modelTopology"), "keras_version");
    if (cJSON_IsString(version))
      cJSON_AddStringToObject(topo, "keras_version", version->valuestring);
    cJSON_AddStringToObject(topo, "backend", "tensorflow");
    cJSON_AddItemToObject(topo, "model_config", converted);
    converted = NULL;
    /* tfjs's loadLayersModel ignores modelTopology.training_config (it reads
     * a top-level trainingConfig); nnc reads it back as the compile config */
    if (compile && !cJSON_IsNull(compile))
      cJSON_AddItemToObject(topo, "training_config", clean(compile, NULL));
  } else if (!st->code) {
    nnc_fail(st, NNC_ERR_NOMEM, "%s: out of memory", source);
  }
  if (!topo) nnc_fail_prefix(st, "%s", source);
  cJSON_Delete(converted);
  cJSON_Delete(parsed);
  cJSON_Delete(root);
  return topo;
}
