/* Functional models: accept only a single chain (one input, one output, each
 * layer called once on the previous one) and return the layers in chain order,
 * found by following inbound links, never by list order.
 *
 * Inbound tensors come in two spellings:
 *   Keras 2 / tfjs:  "inbound_nodes": [[["dense", 0, 0, {}]]]
 *   Keras 3:         "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__",
 *                        "config": {"shape": [...], "keras_history": ["dense", 0, 0]}}],
 *                     "kwargs": {}}] */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/spec/spec_internal.h"
#include "base/base.h"

typedef struct graph {
  const spec_ctx *ctx;
  int n;
  const cJSON **entries;
  const char **names; /* entry "name", else config.name */
  char (*paths)[NNC_PATH_MAX];
  int *is_input;
  int *pred;               /* index of the inbound layer, -1 for inputs */
  const cJSON **in_shapes; /* Keras 3 keras tensor shape or NULL */
  char (*in_shape_paths)[NNC_PATH_MAX];
  char (*in_ref_paths)[NNC_PATH_MAX]; /* where the inbound reference was read */
  int *by_name;                       /* open-addressing table of layer indices by name, -1 empty */
  int cap;                            /* its size: a power of two, at least twice n */
} graph;

/* The slot of `name` in by_name: where it is, or the empty slot where it
 * goes. A table, because every inbound reference looks a name up: a scan
 * per lookup made reading a deep model quadratic in its depth. */
static int name_slot(const graph *g, const char *name) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (const unsigned char *c = (const unsigned char *)name; *c; c++)
    h = (h ^ *c) * 1099511628211ull;
  for (int k = (int)(h & (uint64_t)(g->cap - 1));; k = (k + 1) & (g->cap - 1))
    if (g->by_name[k] < 0 || strcmp(g->names[g->by_name[k]], name) == 0) return k;
}

static int find_layer(const graph *g, const char *name) {
  return g->by_name[name_slot(g, name)];
}

/* A [name, node_index, tensor_index(, kwargs)] reference to a layer output. */
static int resolve_ref(const graph *g, const cJSON *ref, const char *path, int *index_out) {
  const cJSON *name = cJSON_IsArray(ref) ? cJSON_GetArrayItem(ref, 0) : NULL;
  int size = cJSON_IsArray(ref) ? cJSON_GetArraySize(ref) : 0;
  if (!cJSON_IsString(name) || size < 3)
    return spec_fail_expected(g->ctx, path, ref, "a layer reference [\"name\", 0, 0]");
  char item_path[NNC_PATH_MAX];
  for (int k = 1; k <= 2; k++) {
    const cJSON *idx = cJSON_GetArrayItem(ref, k);
    spec_path_index(item_path, path, k);
    if (!cJSON_IsNumber(idx)) return spec_fail_expected(g->ctx, item_path, idx, "an integer index");
    if (idx->valuedouble != 0)
      return spec_fail_unsupported(g->ctx, item_path, idx,
                                   k == 1 ? "a layer called more than once (node index)"
                                          : "a layer with several outputs (tensor index)");
  }
  if (size > 3) {
    /* Keras 2 call kwargs: anything non-null (training=True...) changes semantics. */
    const cJSON *kwargs = cJSON_GetArrayItem(ref, 3), *kw;
    spec_path_index(item_path, path, 3);
    if (!spec_is_absent(kwargs) && !cJSON_IsObject(kwargs))
      return spec_fail_expected(g->ctx, item_path, kwargs, "an object of call arguments");
    cJSON_ArrayForEach(kw, kwargs) if (!cJSON_IsNull(kw)) {
      spec_path_key(item_path, item_path, kw->string ? kw->string : "?");
      return spec_fail_unsupported(g->ctx, item_path, kw, "a call argument");
    }
  }
  int index = find_layer(g, name->valuestring);
  spec_path_index(item_path, path, 0);
  if (index < 0)
    return spec_fail_expected(g->ctx, item_path, name, "the name of a layer in config.layers");
  *index_out = index;
  return NNC_OK;
}

/* input_layers / output_layers: ["x",0,0], [["x",0,0], ...] or {"x": ["x",0,0]}. */
static int resolve_endpoint(const graph *g, const cJSON *config, const char *config_path,
                            const char *key, const char *noun, int *index_out) {
  char path[NNC_PATH_MAX], ref_path[NNC_PATH_MAX];
  spec_path_key(path, config_path, key);
  const cJSON *item = spec_child(config, key);
  const cJSON *first = cJSON_IsArray(item) || cJSON_IsObject(item) ? item->child : NULL;
  if (cJSON_IsArray(item) && cJSON_IsString(first)) /* a single flat reference */
    return resolve_ref(g, item, path, index_out);
  if (!first)
    return spec_fail_expected(g->ctx, path, item, "a list of %s references [[\"name\", 0, 0]]",
                              noun);
  int count = cJSON_GetArraySize(item);
  if (count != 1)
    return spec_fail(g->ctx, path, "not supported yet: this Functional model has %d %ss", count,
                     noun);
  if (cJSON_IsObject(item))
    spec_path_key(ref_path, path, first->string ? first->string : "?");
  else
    spec_path_index(ref_path, path, 0);
  return resolve_ref(g, first, ref_path, index_out);
}

/* One Keras 3 node {"args": [tensor], "kwargs": {}} -> the inbound reference. */
static int keras3_node(graph *g, int i, const cJSON *node, const char *node_path,
                       const cJSON **ref_out, char *ref_path) {
  char path[NNC_PATH_MAX];
  spec_path_key(path, node_path, "args");
  const cJSON *args = spec_child(node, "args");
  if (!cJSON_IsArray(args) || cJSON_GetArraySize(args) == 0)
    return spec_fail_expected(g->ctx, path, args, "a list holding the inbound tensor");
  if (cJSON_GetArraySize(args) > 1 || cJSON_IsArray(args->child))
    return spec_fail_unsupported(g->ctx, path, args, "a layer with several inputs");
  const cJSON *tensor = args->child;
  spec_path_index(path, path, 0);
  const char *cls = spec_class_name(tensor);
  const cJSON *tcfg = spec_child(tensor, "config");
  if (!cls || strcmp(cls, "__keras_tensor__") != 0 || !cJSON_IsObject(tcfg))
    return spec_fail_expected(g->ctx, path, tensor,
                              "a {\"class_name\": \"__keras_tensor__\", \"config\": {...}} tensor");
  spec_path_key(path, path, "config");
  spec_path_key(ref_path, path, "keras_history");
  *ref_out = spec_child(tcfg, "keras_history");
  const cJSON *shape = spec_child(tcfg, "shape");
  if (!spec_is_absent(shape)) {
    g->in_shapes[i] = shape;
    spec_path_key(g->in_shape_paths[i], path, "shape");
  }
  const cJSON *kwargs = spec_child(node, "kwargs"), *kw;
  spec_path_key(path, node_path, "kwargs");
  if (!spec_is_absent(kwargs) && !cJSON_IsObject(kwargs))
    return spec_fail_expected(g->ctx, path, kwargs, "an object of call arguments");
  cJSON_ArrayForEach(kw, kwargs) if (!cJSON_IsNull(kw)) {
    spec_path_key(path, path, kw->string ? kw->string : "?");
    return spec_fail_unsupported(g->ctx, path, kw, "a call argument");
  }
  return NNC_OK;
}

/* Fill g->pred[i] from the layer's single inbound node. */
static int read_inbound(graph *g, int i) {
  char path[NNC_PATH_MAX], node_path[NNC_PATH_MAX], ref_path[NNC_PATH_MAX];
  spec_path_key(path, g->paths[i], "inbound_nodes");
  const cJSON *nodes = spec_child(g->entries[i], "inbound_nodes");
  int n_nodes = cJSON_IsArray(nodes) ? cJSON_GetArraySize(nodes) : 0;
  g->pred[i] = -1;
  if (g->is_input[i]) {
    if (n_nodes > 0 || (!spec_is_absent(nodes) && !cJSON_IsArray(nodes)))
      return spec_fail_expected(g->ctx, path, nodes, "an empty list for an InputLayer");
    return NNC_OK;
  }
  if (!cJSON_IsArray(nodes) || n_nodes == 0)
    return spec_fail_expected(g->ctx, path, nodes,
                              "a list with the layer's inbound node (every layer must be "
                              "connected)");
  if (n_nodes > 1)
    return spec_fail(g->ctx, path,
                     "not supported yet: layer \"%s\" is called %d times (a shared layer)",
                     g->names[i], n_nodes);
  const cJSON *node = nodes->child, *ref = NULL;
  spec_path_index(node_path, path, 0);
  if (cJSON_IsObject(node)) {
    int rc = keras3_node(g, i, node, node_path, &ref, ref_path);
    if (rc) return rc;
  } else if (cJSON_IsArray(node)) {
    int n_refs = cJSON_GetArraySize(node);
    if (n_refs == 0)
      return spec_fail_expected(g->ctx, node_path, node, "a list holding one layer reference");
    if (n_refs > 1)
      return spec_fail_unsupported(g->ctx, node_path, node, "a layer with several inputs");
    ref = node->child;
    spec_path_index(ref_path, node_path, 0);
  } else {
    return spec_fail_expected(g->ctx, node_path, node, "an inbound node (a list or an object)");
  }
  nnc_strlcpy(g->in_ref_paths[i], ref_path, NNC_PATH_MAX);
  return resolve_ref(g, ref, ref_path, &g->pred[i]);
}

static int read_names(graph *g, const cJSON *layers, const char *layers_path) {
  int i = 0;
  const cJSON *entry;
  cJSON_ArrayForEach(entry, layers) {
    spec_path_index(g->paths[i], layers_path, i);
    g->entries[i] = entry;
    if (!cJSON_IsObject(entry))
      return spec_fail_expected(g->ctx, g->paths[i], entry, "a layer object");
    char path[NNC_PATH_MAX];
    const cJSON *name = spec_child(entry, "name");
    spec_path_key(path, g->paths[i], "name");
    if (spec_is_absent(name)) {
      name = spec_child(spec_child(entry, "config"), "name");
      spec_path_key(path, g->paths[i], "config");
      spec_path_key(path, path, "name");
    }
    if (!cJSON_IsString(name) || !name->valuestring[0])
      return spec_fail_expected(g->ctx, path, name, "a layer name (Functional layers need one)");
    char checked[NNC_NAME_MAX];
    int rc = spec_copy_layer_name(g->ctx, name, path, checked);
    if (rc) return rc;
    g->names[i] = name->valuestring;
    int slot = name_slot(g, name->valuestring);
    if (g->by_name[slot] >= 0)
      return spec_fail_expected(g->ctx, path, name, "a unique layer name (%s also has it)",
                                g->paths[g->by_name[slot]]);
    g->by_name[slot] = i;
    char norm[16] = "";
    const char *cls = spec_class_name(entry);
    if (cls) spec_normalize(cls, norm, sizeof norm);
    g->is_input[i] = strcmp(norm, "inputlayer") == 0;
    i++;
  }
  return NNC_OK;
}

/* Walk from the input through each layer's single consumer. */
static int build_chain(graph *g, int input, int output, const char *config_path,
                       spec_chain_link *links, int *n_out) {
  char path[NNC_PATH_MAX];
  int *consumer = calloc((size_t)g->n, sizeof *consumer);
  char *visited = calloc((size_t)g->n, 1);
  int rc = NNC_OK, n = 0;
  if (!consumer || !visited) {
    rc = nnc_fail(g->ctx->st, NNC_ERR_NOMEM, "out of memory ordering %d layers", g->n);
    goto done;
  }
  for (int i = 0; i < g->n; i++) consumer[i] = -1;
  for (int j = 0; j < g->n && !rc; j++) {
    int p = g->pred[j];
    if (p < 0) continue;
    if (consumer[p] >= 0)
      rc = spec_fail(g->ctx, g->in_ref_paths[j],
                     "not supported yet: layer \"%s\" feeds both \"%s\" and \"%s\" (branching); "
                     "only a single chain of layers is supported",
                     g->names[p], g->names[consumer[p]], g->names[j]);
    consumer[p] = j;
  }
  for (int cur = input; cur >= 0 && !rc && !visited[cur]; cur = consumer[cur]) {
    visited[cur] = 1;
    links[n].index = cur;
    links[n].entry = g->entries[cur];
    links[n].inbound_shape = g->in_shapes[cur];
    memcpy(links[n].inbound_shape_path, g->in_shape_paths[cur], NNC_PATH_MAX);
    n++;
  }
  for (int i = 0; i < g->n && !rc; i++)
    if (!visited[i])
      rc = spec_fail(g->ctx, g->paths[i],
                     "not supported yet: layer \"%s\" is not on the chain from input \"%s\"; "
                     "only a single chain of layers is supported",
                     g->names[i], g->names[input]);
  if (!rc && links[n - 1].index != output) {
    spec_path_key(path, config_path, "output_layers");
    rc = spec_fail(g->ctx, path,
                   "expected the last layer of the chain (\"%s\") as the output, got \"%s\"",
                   g->names[links[n - 1].index], g->names[output]);
  }
done:
  free(consumer);
  free(visited);
  *n_out = n;
  return rc;
}

int spec_functional_chain(const spec_ctx *ctx, const cJSON *config, const char *config_path,
                          spec_chain_link **links_out, int *n_out) {
  *links_out = NULL;
  *n_out = 0;
  char layers_path[NNC_PATH_MAX];
  spec_path_key(layers_path, config_path, "layers");
  const cJSON *layers = spec_child(config, "layers");
  int n = cJSON_IsArray(layers) ? cJSON_GetArraySize(layers) : 0;
  if (n == 0) return spec_fail_expected(ctx, layers_path, layers, "a non-empty list of layers");
  if (n > SPEC_MAX_LAYERS)
    return spec_fail_unsupported(ctx, layers_path, layers, "a model of more than 4096 layers");

  graph g = {.ctx = ctx, .n = n};
  g.entries = calloc((size_t)n, sizeof *g.entries);
  g.names = calloc((size_t)n, sizeof *g.names);
  g.paths = calloc((size_t)n, sizeof *g.paths);
  g.is_input = calloc((size_t)n, sizeof *g.is_input);
  g.pred = calloc((size_t)n, sizeof *g.pred);
  g.in_shapes = calloc((size_t)n, sizeof *g.in_shapes);
  g.in_shape_paths = calloc((size_t)n, sizeof *g.in_shape_paths);
  g.in_ref_paths = calloc((size_t)n, sizeof *g.in_ref_paths);
  for (g.cap = 16; g.cap < 2 * n;) g.cap *= 2;
  g.by_name = malloc((size_t)g.cap * sizeof *g.by_name);
  spec_chain_link *links = calloc((size_t)n, sizeof *links);
  int rc = NNC_OK, input = -1, output = -1;
  if (!g.entries || !g.names || !g.paths || !g.is_input || !g.pred || !g.in_shapes ||
      !g.in_shape_paths || !g.in_ref_paths || !g.by_name || !links)
    rc = nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory reading %d layers", n);
  for (int k = 0; !rc && k < g.cap; k++) g.by_name[k] = -1;
  if (!rc) rc = read_names(&g, layers, layers_path);
  if (!rc) rc = resolve_endpoint(&g, config, config_path, "input_layers", "input", &input);
  if (!rc) rc = resolve_endpoint(&g, config, config_path, "output_layers", "output", &output);
  if (!rc && !g.is_input[input]) {
    char path[NNC_PATH_MAX];
    spec_path_key(path, g.paths[input], "class_name");
    rc = spec_fail_expected(ctx, path, spec_child(g.entries[input], "class_name"),
                            "\"InputLayer\" for the model input");
  }
  for (int i = 0; i < n && !rc; i++) rc = read_inbound(&g, i);
  if (!rc) rc = build_chain(&g, input, output, config_path, links, n_out);

  free(g.entries);
  free(g.names);
  free(g.paths);
  free(g.is_input);
  free(g.pred);
  free(g.in_shapes);
  free(g.in_shape_paths);
  free(g.in_ref_paths);
  free(g.by_name);
  if (rc) {
    free(links);
    *n_out = 0;
    return rc;
  }
  *links_out = links;
  return NNC_OK;
}
