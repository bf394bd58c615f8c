/* Functional models: config.layers with their inbound nodes -> the layers,
 * their calls in topological order, the model inputs and outputs.
 *
 * A layer's i-th inbound node is its i-th call (Keras renumbers the nodes of
 * a saved model that way); a reference [layer, node, tensor] names the output
 * of that call. Inbound tensors come in two spellings:
 *   Keras 2 / tfjs:  "inbound_nodes": [[["dense", 0, 0, {kwargs}], ...], ...]
 *   Keras 3:         "inbound_nodes": [{"args": [tensor] or [[tensor, ...]],
 *                     "kwargs": {...}}], tensor = {"class_name": "__keras_tensor__",
 *                     "config": {"shape": [...], "keras_history": ["dense", 0, 0]}} */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "compiler/layers/layer.h"
#include "compiler/spec/spec_internal.h"

typedef struct fgraph {
  const spec_ctx *ctx;
  nnc_spec *spec;
  int n; /* layers */
  const cJSON **entries;
  char (*paths)[NNC_PATH_MAX];
  int *is_input;
  int *input_pos;  /* position in input_layers, -1 when not listed */
  int *first_call; /* id of the layer's first call (ids are layer-major) */
  int *n_nodes;    /* calls of each layer */
  int *skip;       /* node numbers its calls skip: 1 for a model with a built-in node 0 */
  int legacy;      /* 1: Keras 2 / tfjs node lists; 0: Keras 3 {args, kwargs} nodes */
  int *by_name;    /* open-addressing table of layer indices by name, -1 empty */
  int cap;         /* its size: a power of two, at least twice n */
  int n_calls;
  nnc_spec_call *calls; /* by id, before sorting */
} fgraph;

static const char *name_of(const fgraph *g, int i) {
  return g->spec->layers[i].name;
}

/* The slot of `name` in by_name: where it is, or the empty slot where it
 * goes. A table, because every inbound reference looks a name up. */
static int name_slot(const fgraph *g, const char *name) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (const unsigned char *c = (const unsigned char *)name; *c; c++)
    h = (h ^ *c) * 1099511628211ull;
  for (int k = (int)(h & (uint64_t)(g->cap - 1));; k = (k + 1) & (g->cap - 1))
    if (g->by_name[k] < 0 || strcmp(name_of(g, g->by_name[k]), name) == 0) return k;
}

/* A [name, node_index, tensor_index(, kwargs)] reference -> a value and
 * which output of its producer it is (*tensor; whether the layer has that
 * output is known when it is lowered). Its kwargs are read by the caller. */
static int resolve_ref(const fgraph *g, const cJSON *ref, const char *path, nnc_spec_value *out,
                       int *tensor) {
  const cJSON *name = cJSON_IsArray(ref) ? cJSON_GetArrayItem(ref, 0) : NULL;
  int size = cJSON_IsArray(ref) ? cJSON_GetArraySize(ref) : 0;
  if (!cJSON_IsString(name) || size < 3 || size > 4)
    return spec_fail_expected(g->ctx, path, ref, "a layer reference [\"name\", 0, 0]");
  char item_path[NNC_PATH_MAX];
  spec_path_index(item_path, path, 0);
  int j = g->by_name[name_slot(g, name->valuestring)];
  if (j < 0)
    return spec_fail_expected(g->ctx, item_path, name, "the name of a layer in config.layers");
  double index[2];
  for (int k = 1; k <= 2; k++) {
    const cJSON *idx = cJSON_GetArrayItem(ref, k);
    spec_path_index(item_path, path, k);
    /* range first: the cast of a huge value would be undefined */
    if (!cJSON_IsNumber(idx) || !(idx->valuedouble >= 0 && idx->valuedouble <= INT32_MAX) ||
        idx->valuedouble != (int)idx->valuedouble)
      return spec_fail_expected(g->ctx, item_path, idx, "a non-negative integer index");
    index[k - 1] = idx->valuedouble;
  }
  int n_nodes = g->is_input[j] ? 1 : g->n_nodes[j], skip = g->is_input[j] ? 0 : g->skip[j];
  if (index[0] < skip) {
    spec_path_index(item_path, path, 1);
    return spec_fail_expected(g->ctx, item_path, cJSON_GetArrayItem(ref, 1),
                              "a node index from 1 (node 0 of nested model \"%s\" is its "
                              "built-in node, not a call)",
                              name_of(g, j));
  }
  if (index[0] >= n_nodes + skip) {
    spec_path_index(item_path, path, 1);
    return spec_fail_expected(g->ctx, item_path, cJSON_GetArrayItem(ref, 1),
                              "a node index below %d (layer \"%s\" is called %d time%s%s)",
                              n_nodes + skip, name_of(g, j), n_nodes, n_nodes == 1 ? "" : "s",
                              skip ? ", as nodes from 1: node 0 is the model's built-in node" : "");
  }
  if (index[1] != 0 && g->is_input[j]) {
    spec_path_index(item_path, path, 2);
    return spec_fail_expected(g->ctx, item_path, cJSON_GetArrayItem(ref, 2),
                              "tensor index 0 (InputLayer \"%s\" has one output)", name_of(g, j));
  }
  *tensor = (int)index[1];
  if (g->is_input[j]) {
    if (g->input_pos[j] < 0)
      return spec_fail(g->ctx, path,
                       "expected a model input, got InputLayer \"%s\", which input_layers does "
                       "not list",
                       name_of(g, j));
    *out = -1 - g->input_pos[j];
  } else {
    *out = g->first_call[j] + (int)index[0] - skip;
  }
  return NNC_OK;
}

/* ---- keyword arguments of a call ---- */

/* Keras 2 / tfjs spell a tensor in node kwargs as a reference list
 * [name, node, tensor] (tf.keras's convert_inner_node_data). */
static int is_legacy_ref(const cJSON *item) {
  int n = cJSON_IsArray(item) ? cJSON_GetArraySize(item) : 0;
  return (n == 3 || n == 4) && cJSON_IsString(cJSON_GetArrayItem(item, 0)) &&
         cJSON_IsNumber(cJSON_GetArrayItem(item, 1)) && cJSON_IsNumber(cJSON_GetArrayItem(item, 2));
}

static int is_keras3_tensor(const cJSON *item) {
  const char *cls = cJSON_IsObject(item) ? spec_class_name(item) : NULL;
  return cls && strcmp(cls, "__keras_tensor__") == 0;
}

static int is_tensor(const fgraph *g, const cJSON *item) {
  return g->legacy ? is_legacy_ref(item) : is_keras3_tensor(item);
}

/* The value a tensor of either spelling refers to. */
static int tensor_ref(const fgraph *g, const cJSON *item, const char *path, nnc_spec_value *v,
                      int *tensor, char *ref_path) {
  nnc_strlcpy(ref_path, path, NNC_PATH_MAX);
  if (g->legacy) return resolve_ref(g, item, path, v, tensor);
  char cfg_path[NNC_PATH_MAX];
  spec_path_key(cfg_path, path, "config");
  spec_path_key(ref_path, cfg_path, "keras_history");
  return resolve_ref(g, spec_child(spec_child(item, "config"), "keras_history"), ref_path, v,
                     tensor);
}

/* The call's kwarg `name`, appended when new. NULL when out of memory. */
static nnc_spec_kwarg *new_kwarg(const fgraph *g, nnc_spec_call *c, const char *name,
                                 const char *path) {
  nnc_spec_kwarg *grown =
      nnc_realloc_array(c->kwargs, (size_t)c->n_kwargs + 1, sizeof *grown, g->ctx->st);
  if (!grown) return NULL;
  c->kwargs = grown;
  nnc_spec_kwarg *kw = &grown[c->n_kwargs++];
  memset(kw, 0, sizeof *kw);
  nnc_strlcpy(kw->name, name, sizeof kw->name);
  nnc_strlcpy(kw->path, path, sizeof kw->path);
  return kw;
}

/* Append item (a tensor, or null: no tensor) to the tensor kwarg kw. */
static int kwarg_add_tensor(const fgraph *g, nnc_spec_kwarg *kw, const cJSON *item,
                            const char *path) {
  int n = kw->n + 1;
  nnc_spec_value *values = nnc_realloc_array(kw->values, (size_t)n, sizeof *values, g->ctx->st);
  if (values) kw->values = values;
  int *tensors =
      values ? nnc_realloc_array(kw->tensors, (size_t)n, sizeof *tensors, g->ctx->st) : NULL;
  if (tensors) kw->tensors = tensors;
  char(*paths)[NNC_PATH_MAX] =
      tensors ? nnc_realloc_array(kw->paths, (size_t)n, sizeof *paths, g->ctx->st) : NULL;
  if (!paths) return NNC_ERR_NOMEM;
  kw->paths = paths;
  kw->values[kw->n] = 0;
  kw->tensors[kw->n] = -1;
  nnc_strlcpy(kw->paths[kw->n], path, NNC_PATH_MAX);
  kw->n = n;
  if (cJSON_IsNull(item)) return NNC_OK;
  return tensor_ref(g, item, path, &kw->values[n - 1], &kw->tensors[n - 1], kw->paths[n - 1]);
}

/* One kwarg: training false, null (mask: null...), a tensor, a list of
 * tensors (null items allowed), or a number / bool the layer reads. */
static int read_kwarg(const fgraph *g, nnc_spec_call *c, const cJSON *kw, const char *path) {
  const char *name = kw->string ? kw->string : "?";
  if (cJSON_IsNull(kw)) return NNC_OK;
  for (int k = 0; k < c->n_kwargs; k++) /* Keras 2 repeats them on every inbound tensor */
    if (strcmp(c->kwargs[k].name, name) == 0) return NNC_OK;
  if (strcmp(name, "training") == 0) {
    if (cJSON_IsFalse(kw)) {
      c->training = 0;
      return NNC_OK;
    }
    return spec_fail_unsupported(g->ctx, path, kw,
                                 "a call argument training other than false or null");
  }
  int list = cJSON_IsArray(kw) && !(g->legacy && is_legacy_ref(kw));
  if (list && cJSON_GetArraySize(kw) > 0) {
    const cJSON *item;
    cJSON_ArrayForEach(item, kw) if (!cJSON_IsNull(item) && !is_tensor(g, item)) list = 0;
  }
  if (!is_tensor(g, kw) && !list && !cJSON_IsNumber(kw) && !cJSON_IsBool(kw))
    return spec_fail_unsupported(
        g->ctx, path, kw,
        "a call argument other than a tensor, a list of tensors, a "
        "number or a bool (training: false and mask: null are understood)");
  if (cJSON_IsArray(kw) && cJSON_GetArraySize(kw) == 0) return NNC_OK; /* an empty list: none */
  nnc_spec_kwarg *out = new_kwarg(g, c, name, path);
  if (!out) return NNC_ERR_NOMEM;
  if (cJSON_IsNumber(kw) || cJSON_IsBool(kw)) {
    out->is_scalar = 1;
    out->scalar = cJSON_IsNumber(kw) ? kw->valuedouble : cJSON_IsTrue(kw);
    return NNC_OK;
  }
  if (!list) return kwarg_add_tensor(g, out, kw, path);
  int i = 0, rc = NNC_OK;
  const cJSON *item;
  cJSON_ArrayForEach(item, kw) {
    char item_path[NNC_PATH_MAX];
    spec_path_index(item_path, path, i++);
    if ((rc = kwarg_add_tensor(g, out, item, item_path))) break;
  }
  return rc;
}

static int read_kwargs(const fgraph *g, nnc_spec_call *c, const cJSON *kwargs, const char *path) {
  const cJSON *kw;
  if (spec_is_absent(kwargs)) return NNC_OK;
  if (!cJSON_IsObject(kwargs))
    return spec_fail_expected(g->ctx, path, kwargs, "an object of call arguments");
  cJSON_ArrayForEach(kw, kwargs) {
    char kw_path[NNC_PATH_MAX];
    spec_path_key(kw_path, path, kw->string ? kw->string : "?");
    int rc = read_kwarg(g, c, kw, kw_path);
    if (rc) return rc;
  }
  return NNC_OK;
}

/* input_layers / output_layers: ["x",0,0], [["x",0,0], ...] or {"x": ["x",0,0]}.
 * *refs_out gets the reference items (malloc'ed), *paths_out their paths. */
static int endpoint_refs(const fgraph *g, const cJSON *config, const char *config_path,
                         const char *key, const cJSON ***refs_out, char (**paths_out)[NNC_PATH_MAX],
                         int *n_out) {
  char path[NNC_PATH_MAX];
  spec_path_key(path, config_path, key);
  const cJSON *item = spec_child(config, key);
  const cJSON *first = cJSON_IsArray(item) || cJSON_IsObject(item) ? item->child : NULL;
  int flat = cJSON_IsArray(item) && cJSON_IsString(first); /* a single flat reference */
  if (!first)
    return spec_fail_expected(g->ctx, path, item, "a list of layer references [[\"name\", 0, 0]]");
  int n = flat ? 1 : cJSON_GetArraySize(item);
  *refs_out = calloc((size_t)n, sizeof **refs_out);
  *paths_out = calloc((size_t)n, sizeof **paths_out);
  if (!*refs_out || !*paths_out)
    return nnc_fail(g->ctx->st, NNC_ERR_NOMEM, "out of memory reading %s", key);
  *n_out = n;
  if (flat) {
    (*refs_out)[0] = item;
    nnc_strlcpy((*paths_out)[0], path, NNC_PATH_MAX);
    return NNC_OK;
  }
  int i = 0;
  for (const cJSON *r = first; r; r = r->next, i++) {
    (*refs_out)[i] = r;
    if (cJSON_IsObject(item))
      spec_path_key((*paths_out)[i], path, r->string ? r->string : "?");
    else
      spec_path_index((*paths_out)[i], path, i);
  }
  return NNC_OK;
}

static int read_inputs(fgraph *g, const cJSON *config, const char *config_path) {
  const cJSON **refs = NULL;
  char(*paths)[NNC_PATH_MAX] = NULL;
  int n = 0, rc = endpoint_refs(g, config, config_path, "input_layers", &refs, &paths, &n);
  if (!rc) {
    g->spec->inputs = nnc_calloc((size_t)n, sizeof *g->spec->inputs, g->ctx->st);
    if (!g->spec->inputs) rc = NNC_ERR_NOMEM;
  }
  for (int k = 0; k < n && !rc; k++) {
    const cJSON *name = cJSON_IsArray(refs[k]) ? cJSON_GetArrayItem(refs[k], 0) : NULL;
    int size = cJSON_GetArraySize(refs[k]);
    if (!cJSON_IsString(name) || size < 3 || size > 4) {
      rc = spec_fail_expected(g->ctx, paths[k], refs[k], "a layer reference [\"name\", 0, 0]");
      break;
    }
    int j = g->by_name[name_slot(g, name->valuestring)];
    char item_path[NNC_PATH_MAX];
    spec_path_index(item_path, paths[k], 0);
    if (j < 0 || !g->is_input[j]) {
      rc = spec_fail_expected(g->ctx, item_path, name,
                              "the name of an InputLayer in config.layers (a model input)");
      break;
    }
    if (g->input_pos[j] >= 0) {
      rc = spec_fail_expected(g->ctx, item_path, name, "each input once (%s also lists it)",
                              paths[g->input_pos[j]]);
      break;
    }
    nnc_spec_value v;
    int tensor;
    g->input_pos[j] = k;
    if ((rc = resolve_ref(g, refs[k], paths[k], &v, &tensor))) break;
    g->spec->inputs[k].layer = j;
    g->spec->n_inputs++;
  }
  free(refs);
  free(paths);
  return rc;
}

static int read_outputs(fgraph *g, const cJSON *config, const char *config_path) {
  const cJSON **refs = NULL;
  char(*paths)[NNC_PATH_MAX] = NULL;
  int n = 0, rc = endpoint_refs(g, config, config_path, "output_layers", &refs, &paths, &n);
  if (!rc) {
    g->spec->outputs = nnc_calloc((size_t)n, sizeof *g->spec->outputs, g->ctx->st);
    g->spec->output_tensors = nnc_calloc((size_t)n, sizeof *g->spec->output_tensors, g->ctx->st);
    g->spec->output_paths = nnc_calloc((size_t)n, sizeof *g->spec->output_paths, g->ctx->st);
    if (!g->spec->outputs || !g->spec->output_tensors || !g->spec->output_paths) rc = NNC_ERR_NOMEM;
  }
  for (int k = 0; k < n && !rc; k++) {
    rc = resolve_ref(g, refs[k], paths[k], &g->spec->outputs[k], &g->spec->output_tensors[k]);
    if (rc) break;
    nnc_strlcpy(g->spec->output_paths[k], paths[k], NNC_PATH_MAX);
    g->spec->n_outputs++;
    /* An output is named after its layer, as Keras 3's output_names: two
     * outputs of one layer (an LSTM's sequences and state) share the name. */
  }
  free(refs);
  free(paths);
  return rc;
}

/* Append one inbound tensor of call c: output `tensor` of value v. */
static int add_arg(const fgraph *g, nnc_spec_call *c, nnc_spec_value v, int tensor,
                   const char *ref_path) {
  size_t n = (size_t)c->n_args + 1;
  nnc_spec_value *grown = nnc_realloc_array(c->args, n, sizeof *grown, g->ctx->st);
  if (grown) c->args = grown;
  int *tensors = grown ? nnc_realloc_array(c->arg_tensors, n, sizeof *tensors, g->ctx->st) : NULL;
  if (tensors) c->arg_tensors = tensors;
  char(*paths)[NNC_PATH_MAX] =
      tensors ? nnc_realloc_array(c->arg_paths, n, sizeof *paths, g->ctx->st) : NULL;
  if (!paths) return NNC_ERR_NOMEM;
  c->arg_paths = paths;
  c->args[c->n_args] = v;
  c->arg_tensors[c->n_args] = tensor;
  nnc_strlcpy(c->arg_paths[c->n_args], ref_path, NNC_PATH_MAX);
  c->n_args++;
  return NNC_OK;
}

/* A Keras 3 {"class_name": "__keras_tensor__", "config": {...}} tensor. */
static int keras3_tensor(const fgraph *g, int layer, nnc_spec_call *c, const cJSON *tensor,
                         const char *path, int in_list) {
  const char *cls = spec_class_name(tensor);
  const cJSON *tcfg = spec_child(tensor, "config");
  if (!cls || strcmp(cls, "__keras_tensor__") != 0 || !cJSON_IsObject(tcfg))
    return spec_fail_expected(g->ctx, path, tensor,
                              "a {\"class_name\": \"__keras_tensor__\", \"config\": {...}} tensor");
  char cfg_path[NNC_PATH_MAX], ref_path[NNC_PATH_MAX];
  spec_path_key(cfg_path, path, "config");
  spec_path_key(ref_path, cfg_path, "keras_history");
  nnc_spec_value v;
  int index;
  int rc = resolve_ref(g, spec_child(tcfg, "keras_history"), ref_path, &v, &index);
  if (rc) return rc;
  /* the first call's input declares the layer's input shape (over build_config) */
  nnc_spec_layer *l = &g->spec->layers[layer];
  const cJSON *shape = spec_child(tcfg, "shape");
  char shape_path[NNC_PATH_MAX];
  spec_path_key(shape_path, cfg_path, "shape");
  if (c->node == 0 && c->n_args == 0 && !spec_is_absent(shape)) {
    nnc_strlcpy(l->declared_input_path, shape_path, sizeof l->declared_input_path);
    rc = spec_parse_shape(g->ctx, shape, l->declared_input_path, 1, &l->declared_input);
    if (rc) return rc;
    l->has_declared_input = 1;
  }
  if (c->node == 0 && in_list && !spec_is_absent(shape) &&
      (rc = spec_add_declared_input(g->ctx, l, shape, shape_path)))
    return rc;
  return add_arg(g, c, v, index, ref_path);
}

/* The names of the positional call parameters after the first, for the
 * classes whose call takes tensors there (Keras 3 writes mha(query, value)
 * as args [query, value]): they become keyword arguments. NULL: none. */
static const char *const *positional_names(const char *class_name) {
  static const char *const mha[] = {"value", "key", NULL};
  static const char *const rnn[] = {"initial_state", NULL};
  static const struct {
    const char *cls;
    const char *const *names;
  } table[] = {
      {"MultiHeadAttention", mha}, {"SimpleRNN", rnn}, {"LSTM", rnn}, {"GRU", rnn}, {"RNN", rnn},
      {"Bidirectional", rnn}};
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (strcmp(table[i].cls, class_name) == 0) return table[i].names;
  return NULL;
}

/* Positional args after the first: named keyword arguments of the class. */
static int keras3_positional(const fgraph *g, int layer, nnc_spec_call *c, const cJSON *args,
                             const char *path) {
  const char *cls = layer_class(g->spec->layers[layer].kind)->class_name;
  const char *const *names = positional_names(cls);
  int i = 1;
  for (const cJSON *a = args->child->next; a; a = a->next, i++) {
    char item_path[NNC_PATH_MAX];
    spec_path_index(item_path, path, i);
    int k = 0;
    while (names && names[k] && k < i - 1) k++;
    if (!names || !names[k]) {
      char what[NNC_NAME_MAX + 64];
      snprintf(what, sizeof what,
               "a positional call argument %d for %s (pass one tensor or a list)", i + 1, cls);
      return spec_fail_unsupported(g->ctx, item_path, a, what);
    }
    cJSON *kw = cJSON_Duplicate(a, 1); /* read_kwarg reads a named item */
    if (!kw) return nnc_fail(g->ctx->st, NNC_ERR_NOMEM, "out of memory");
    kw->string = (char *)names[k];
    int rc = read_kwarg(g, c, kw, item_path);
    kw->string = NULL;
    cJSON_Delete(kw);
    if (rc) return rc;
  }
  return NNC_OK;
}

static int keras3_node(const fgraph *g, int layer, nnc_spec_call *c, const cJSON *node) {
  char path[NNC_PATH_MAX], item_path[NNC_PATH_MAX], args_path[NNC_PATH_MAX];
  spec_path_key(path, c->path, "args");
  nnc_strlcpy(args_path, path, sizeof args_path);
  const cJSON *args = spec_child(node, "args");
  int n = cJSON_IsArray(args) ? cJSON_GetArraySize(args) : 0;
  if (n == 0) return spec_fail_expected(g->ctx, path, args, "a list holding the inbound tensor(s)");
  const cJSON *list = args->child;
  spec_path_index(path, path, 0);
  int rc = NNC_OK, i = 0;
  nnc_spec_layer *l = &g->spec->layers[layer];
  if (cJSON_IsArray(list)) {
    if (cJSON_GetArraySize(list) == 0)
      return spec_fail_expected(g->ctx, path, list, "a non-empty list of tensors");
    int had = l->n_declared_inputs; /* build_config's list */
    for (const cJSON *t = list->child; t && !rc; t = t->next, i++) {
      spec_path_index(item_path, path, i);
      rc = keras3_tensor(g, layer, c, t, item_path, 1);
    }
    /* several tensors are declared one by one (declared_inputs); a list of
     * one tensor declares nothing about a single-input layer */
    if (!rc && c->node == 0 && l->n_declared_inputs > had) { /* the tensors' shapes replace it */
      l->n_declared_inputs -= had;
      memmove(l->declared_inputs, l->declared_inputs + had,
              (size_t)l->n_declared_inputs * sizeof *l->declared_inputs);
    }
    if (!rc && c->node == 0) l->has_declared_input = 0;
    if (!rc && c->node == 0 && c->n_args == 1) spec_clear_declared_inputs(l);
  } else {
    rc = keras3_tensor(g, layer, c, list, path, 0);
  }
  if (rc) return rc;
  if (n > 1 && (rc = keras3_positional(g, layer, c, args, args_path))) return rc;
  spec_path_key(path, c->path, "kwargs");
  return read_kwargs(g, c, spec_child(node, "kwargs"), path);
}

static int keras2_node(const fgraph *g, nnc_spec_call *c, const cJSON *node) {
  int n = cJSON_GetArraySize(node), i = 0, rc = NNC_OK;
  if (n == 0)
    return spec_fail_expected(g->ctx, c->path, node, "a list of layer references [\"name\", 0, 0]");
  for (const cJSON *ref = node->child; ref && !rc; ref = ref->next, i++) {
    char path[NNC_PATH_MAX];
    spec_path_index(path, c->path, i);
    nnc_spec_value v;
    int tensor;
    rc = resolve_ref(g, ref, path, &v, &tensor);
    if (!rc) rc = add_arg(g, c, v, tensor, path);
    if (!rc && cJSON_GetArraySize(ref) > 3) {
      char kw_path[NNC_PATH_MAX];
      spec_path_index(kw_path, path, 3);
      rc = read_kwargs(g, c, cJSON_GetArrayItem(ref, 3), kw_path);
    }
  }
  return rc;
}

/* Whether references to nested model i count its calls from node 1 (node 0
 * being the model's built-in node, linking its own inputs to its outputs).
 * Keras 3 (functional.py: get_config's kept_nodes, deserialize_node) gives a
 * Functional that node and a Sequential none. tf.keras 2 and TF.js give it to
 * every model that has its own input when it is read (tf.keras 2's
 * _should_skip_first_node: a Functional, or a Sequential whose first tracked
 * layer is an InputLayer: one listed first, one made from the first layer's
 * batch_input_shape by Sequential.add, or by building it for its
 * build_input_shape). */
static int skips_first_node(const fgraph *g, int i) {
  const nnc_spec_layer *l = &g->spec->layers[i];
  if (l->kind != NNC_LAYER_MODEL) return 0;
  const nnc_spec *sub = l->params;
  if (sub->functional) return 1;
  if (!g->legacy) return 0;
  const cJSON *build_shape = spec_child(spec_child(g->entries[i], "config"), "build_input_shape");
  return (sub->n_inputs > 0 && sub->inputs[0].layer >= 0) ||
         (sub->n_layers > 0 && sub->layers[0].has_input_shape) || cJSON_IsArray(build_shape);
}

/* The node form of the file: Keras 3 objects or Keras 2 / tfjs lists, the
 * same for every node (the numbering of nested models depends on it). */
static int node_form(fgraph *g) {
  const char *first_path = NULL;
  for (int i = 0; i < g->n; i++) {
    const cJSON *nodes = spec_child(g->entries[i], "inbound_nodes");
    if (!cJSON_IsArray(nodes)) continue; /* number_calls says why */
    const cJSON *node;
    int k = 0;
    cJSON_ArrayForEach(node, nodes) {
      if (!cJSON_IsArray(node) && !cJSON_IsObject(node)) continue; /* read_calls says why */
      int legacy = cJSON_IsArray(node);
      if (!first_path) {
        first_path = g->paths[i];
        g->legacy = legacy;
      } else if (legacy != g->legacy) {
        char path[NNC_PATH_MAX];
        spec_path_key(path, g->paths[i], "inbound_nodes");
        spec_path_index(path, path, k);
        return spec_fail_expected(g->ctx, path, node,
                                  "an inbound node in the form of %s's (%s), not mixed forms",
                                  first_path, g->legacy ? "a Keras 2 list" : "a Keras 3 object");
      }
      k++;
    }
  }
  return NNC_OK;
}

/* Count every layer's calls, give each call an id (layer-major). */
static int number_calls(fgraph *g) {
  int rc = node_form(g);
  if (rc) return rc;
  for (int i = 0; i < g->n; i++) {
    char path[NNC_PATH_MAX];
    spec_path_key(path, g->paths[i], "inbound_nodes");
    const cJSON *nodes = spec_child(g->entries[i], "inbound_nodes");
    int n_nodes = cJSON_IsArray(nodes) ? cJSON_GetArraySize(nodes) : 0;
    if (g->is_input[i]) {
      if (n_nodes > 0 || (!spec_is_absent(nodes) && !cJSON_IsArray(nodes)))
        return spec_fail_expected(g->ctx, path, nodes, "an empty list for an InputLayer");
      continue;
    }
    if (n_nodes == 0)
      return spec_fail_expected(g->ctx, path, nodes,
                                "a list with the layer's inbound node (every layer must be "
                                "connected)");
    g->first_call[i] = g->n_calls;
    g->n_nodes[i] = n_nodes;
    g->skip[i] = skips_first_node(g, i);
    g->n_calls += n_nodes;
  }
  g->calls = nnc_calloc((size_t)g->n_calls + 1, sizeof *g->calls, g->ctx->st);
  return g->calls ? NNC_OK : NNC_ERR_NOMEM;
}

static int read_calls(fgraph *g) {
  for (int i = 0; i < g->n; i++) {
    if (g->is_input[i]) continue;
    char path[NNC_PATH_MAX];
    spec_path_key(path, g->paths[i], "inbound_nodes");
    const cJSON *node = spec_child(g->entries[i], "inbound_nodes")->child;
    for (int k = 0; k < g->n_nodes[i]; k++, node = node->next) {
      nnc_spec_call *c = &g->calls[g->first_call[i] + k];
      c->layer = i;
      c->node = k;
      c->keras_node = k + g->skip[i];
      c->training = 1;
      spec_path_index(c->path, path, k);
      int rc;
      if (cJSON_IsObject(node))
        rc = keras3_node(g, i, c, node);
      else if (cJSON_IsArray(node))
        rc = keras2_node(g, c, node);
      else
        rc = spec_fail_expected(g->ctx, c->path, node, "an inbound node (a list or an object)");
      if (rc) return rc;
      if ((rc = spec_check_arity(g->ctx, c->path, &g->spec->layers[i], c->n_args))) return rc;
    }
  }
  return NNC_OK;
}

/* The values call c depends on: its args, then its kwargs' tensors. */
static int n_deps(const nnc_spec_call *c) {
  int n = c->n_args;
  for (int k = 0; k < c->n_kwargs; k++) n += c->kwargs[k].n;
  return n;
}

/* Dependency i of c, NULL for a null item of a kwarg list. */
static nnc_spec_value *dep_at(nnc_spec_call *c, int i) {
  if (i < c->n_args) return &c->args[i];
  i -= c->n_args;
  for (int k = 0; k < c->n_kwargs; i -= c->kwargs[k++].n)
    if (i < c->kwargs[k].n) return c->kwargs[k].tensors[i] < 0 ? NULL : &c->kwargs[k].values[i];
  return NULL;
}

/* Every call must lead to an output and every input must be used. */
static int check_reach(fgraph *g, const char *config_path) {
  char *used = calloc((size_t)g->n_calls + 1, 1);
  char *input_used = calloc((size_t)g->spec->n_inputs + 1, 1);
  int *stack = malloc(((size_t)g->n_calls + 1) * sizeof *stack), top = 0, rc = NNC_OK;
  if (!used || !input_used || !stack) {
    rc = nnc_fail(g->ctx->st, NNC_ERR_NOMEM, "out of memory checking the model graph");
    goto done;
  }
  for (int k = 0; k < g->spec->n_outputs; k++) {
    nnc_spec_value v = g->spec->outputs[k];
    if (v < 0)
      input_used[-1 - v] = 1;
    else if (!used[v])
      used[v] = 1, stack[top++] = v;
  }
  while (top > 0) {
    nnc_spec_call *c = &g->calls[stack[--top]];
    for (int a = 0; a < n_deps(c); a++) {
      if (!dep_at(c, a)) continue;
      nnc_spec_value v = *dep_at(c, a);
      if (v < 0)
        input_used[-1 - v] = 1;
      else if (!used[v])
        used[v] = 1, stack[top++] = v;
    }
  }
  for (int c = 0; c < g->n_calls && !rc; c++)
    if (!used[c])
      rc = spec_fail(g->ctx, g->calls[c].path,
                     "expected every layer call to lead to a model output, but this call of "
                     "\"%s\" does not (output_layers does not use it)",
                     name_of(g, g->calls[c].layer));
  for (int k = 0; k < g->spec->n_inputs && !rc; k++)
    if (!input_used[k]) {
      char path[NNC_PATH_MAX];
      spec_path_key(path, config_path, "input_layers");
      spec_path_index(path, path, k);
      rc = spec_fail(g->ctx, path,
                     "expected every model input to be used, but input \"%s\" feeds no output",
                     name_of(g, g->spec->inputs[k].layer));
    }
done:
  free(used);
  free(input_used);
  free(stack);
  return rc;
}

/* Kahn's order over calls; what remains unordered lies on a cycle. */
static int sort_calls(fgraph *g) {
  int n = g->n_calls, rc = NNC_OK;
  int *order = malloc(((size_t)n + 1) * sizeof *order);
  int *rank = malloc(((size_t)n + 1) * sizeof *rank);
  char *done = calloc((size_t)n + 1, 1);
  if (!order || !rank || !done) {
    rc = nnc_fail(g->ctx->st, NNC_ERR_NOMEM, "out of memory ordering %d layer calls", n);
    goto out;
  }
  /* Repeated sweeps keep the config's order among ready calls; models are
   * small, and a sweep that orders nothing ends the loop. */
  int n_done = 0;
  for (int progress = 1; progress && n_done < n;) {
    progress = 0;
    for (int c = 0; c < n; c++) {
      if (done[c]) continue;
      int ready = 1;
      for (int a = 0; a < n_deps(&g->calls[c]) && ready; a++) {
        const nnc_spec_value *v = dep_at(&g->calls[c], a);
        if (v && *v >= 0 && !done[*v]) ready = 0;
      }
      if (!ready) continue;
      done[c] = 1;
      rank[c] = n_done;
      order[n_done++] = c;
      progress = 1;
    }
  }
  if (n_done < n) {
    for (int c = 0; c < n; c++)
      if (!done[c]) {
        rc = spec_fail(g->ctx, g->calls[c].path,
                       "expected the layers to form a graph without cycles, but \"%s\" depends "
                       "on its own output",
                       name_of(g, g->calls[c].layer));
        break;
      }
    goto out;
  }
  nnc_spec_call *sorted = nnc_calloc((size_t)n + 1, sizeof *sorted, g->ctx->st);
  if (!sorted) {
    rc = NNC_ERR_NOMEM;
    goto out;
  }
  for (int k = 0; k < n; k++) {
    sorted[k] = g->calls[order[k]];
    for (int a = 0; a < n_deps(&sorted[k]); a++) {
      nnc_spec_value *v = dep_at(&sorted[k], a);
      if (v && *v >= 0) *v = rank[*v];
    }
  }
  for (int k = 0; k < g->spec->n_outputs; k++)
    if (g->spec->outputs[k] >= 0) g->spec->outputs[k] = rank[g->spec->outputs[k]];
  free(g->calls);
  g->calls = sorted;
out:
  free(order);
  free(rank);
  free(done);
  return rc;
}

static int index_names(fgraph *g) {
  for (int i = 0; i < g->n; i++) {
    const nnc_spec_layer *l = &g->spec->layers[i];
    if (!l->name[0]) {
      char path[NNC_PATH_MAX];
      spec_path_key(path, g->paths[i], "name");
      return spec_fail_expected(g->ctx, path, spec_child(g->entries[i], "name"),
                                "a layer name (Functional layers need one)");
    }
    int slot = name_slot(g, l->name);
    if (g->by_name[slot] >= 0) {
      char path[NNC_PATH_MAX];
      spec_path_key(path, g->paths[i], "name");
      return spec_fail(g->ctx, path, "expected a unique layer name, got \"%s\" again (also at %s)",
                       l->name, g->paths[g->by_name[slot]]);
    }
    g->by_name[slot] = i;
  }
  return NNC_OK;
}

int spec_functional_graph(const spec_ctx *ctx, const cJSON *config, const char *config_path,
                          nnc_spec *spec) {
  char layers_path[NNC_PATH_MAX];
  spec_path_key(layers_path, config_path, "layers");
  const cJSON *layers = spec_child(config, "layers");
  int n = cJSON_IsArray(layers) ? cJSON_GetArraySize(layers) : 0;
  if (n == 0) return spec_fail_expected(ctx, layers_path, layers, "a non-empty list of layers");
  if (n > SPEC_MAX_LAYERS)
    return spec_fail_unsupported(ctx, layers_path, layers, "a model of more than 4096 layers");

  fgraph g = {.ctx = ctx, .spec = spec, .n = n};
  g.entries = calloc((size_t)n, sizeof *g.entries);
  g.paths = calloc((size_t)n, sizeof *g.paths);
  g.is_input = calloc((size_t)n, sizeof *g.is_input);
  g.input_pos = calloc((size_t)n, sizeof *g.input_pos);
  g.first_call = calloc((size_t)n, sizeof *g.first_call);
  g.n_nodes = calloc((size_t)n, sizeof *g.n_nodes);
  g.skip = calloc((size_t)n, sizeof *g.skip);
  for (g.cap = 16; g.cap < 2 * n;) g.cap *= 2;
  g.by_name = malloc((size_t)g.cap * sizeof *g.by_name);
  spec->layers = calloc((size_t)n, sizeof *spec->layers);
  int rc = NNC_OK;
  if (!g.entries || !g.paths || !g.is_input || !g.input_pos || !g.first_call || !g.n_nodes ||
      !g.skip || !g.by_name || !spec->layers)
    rc = nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory reading %d layers", n);
  for (int k = 0; !rc && k < g.cap; k++) g.by_name[k] = -1;
  int i = 0;
  const cJSON *entry;
  cJSON_ArrayForEach(entry, layers) {
    if (rc) break;
    spec_path_index(g.paths[i], layers_path, i);
    g.entries[i] = entry;
    g.input_pos[i] = -1;
    spec_layer_site site = {0};
    rc = spec_parse_layer(ctx, entry, g.paths[i], &site, &spec->layers[i]);
    if (!rc) spec->n_layers++;
    g.is_input[i] = !rc && spec->layers[i].kind == NNC_LAYER_INPUT;
    i++;
  }
  if (!rc) rc = index_names(&g);
  if (!rc) rc = number_calls(&g);
  if (!rc) rc = read_inputs(&g, config, config_path);
  if (!rc) rc = read_calls(&g);
  if (!rc) rc = read_outputs(&g, config, config_path);
  if (!rc) rc = sort_calls(&g);
  if (!rc) rc = check_reach(&g, config_path);
  spec->calls = g.calls;
  spec->n_calls = g.n_calls;
  if (!g.calls) spec->n_calls = 0;

  free(g.entries);
  free(g.paths);
  free(g.is_input);
  free(g.input_pos);
  free(g.first_call);
  free(g.n_nodes);
  free(g.skip);
  free(g.by_name);
  return rc;
}
