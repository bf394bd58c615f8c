/* compiler/spec entry points: JSON text -> nnc_spec.
 *
 *   parse JSON -> locate the model and compile objects (Keras 3 config.json,
 *   Keras 2 to_json, h5-style model_config, tfjs model.json) -> layers and
 *   their calls (Sequential: a chain in list order; Functional:
 *   spec_functional.c) -> default names -> compile config.
 * Every failure leaves the caller's nnc_spec empty. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/layers/layer.h"
#include "compiler/spec/spec_internal.h"
#include "base/base.h"

/* ---- JSON text ---- */

/* cJSON turns an escaped NUL into the end of the C string: "den\u0000se"
 * would read as "den", "Dense\u0000Conv2D" as "Dense". Refused anywhere. */
static int check_nul_escapes(const char *json, const char *source, nnc_status *st) {
  size_t at = json_text_find_nul_escape(json, strlen(json));
  if (at == SIZE_MAX) return NNC_OK;
  char path[NNC_PATH_MAX];
  if (spec_text_path_at(json, at, path)) return nnc_fail(st, NNC_ERR_NOMEM, "out of memory");
  size_t line, column;
  spec_text_position(json, at, &line, &column);
  return nnc_fail(st, NNC_ERR_SPEC,
                  "%s: %s: expected a string without \\u0000 (a NUL character would end it "
                  "there), got one at byte %zu (line %zu, column %zu)",
                  source, path, at, line, column);
}

/* *out: the tree, or NULL with the code returned. */
static int parse_json(const char *json, const char *source, nnc_status *st, cJSON **out) {
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithOpts(json, &end, 1);
  *out = NULL;
  if (root) {
    int rc = check_nul_escapes(json, source, st);
    if (rc)
      cJSON_Delete(root);
    else
      *out = root;
    return rc;
  }
  size_t offset = end && end >= json ? (size_t)(end - json) : 0, line, column;
  spec_text_position(json, offset, &line, &column);
  /* cJSON stops at the opening bracket one level beyond its limit */
  if ((json[offset] == '[' || json[offset] == '{') &&
      spec_text_depth_at(json, offset) >= CJSON_NESTING_LIMIT)
    return nnc_fail(
        st, NNC_ERR_SPEC,
        "%s: invalid JSON near byte %zu (line %zu, column %zu): nested too deep, expected "
        "at most %d levels of arrays and objects (the parser's limit, cJSON's "
        "CJSON_NESTING_LIMIT)",
        source, offset, line, column, CJSON_NESTING_LIMIT);
  return nnc_fail(st, NNC_ERR_SPEC, "%s: invalid JSON near byte %zu (line %zu, column %zu)", source,
                  offset, line, column);
}

/* ---- where the model and its compile config live ---- */

typedef struct located {
  const cJSON *model;
  char model_path[NNC_PATH_MAX];
  const cJSON *compile; /* NULL: none given */
  char compile_path[NNC_PATH_MAX];
} located;

/* The first of (obj, key) pairs holding something other than null. */
static void pick_compile(located *loc, const cJSON *obj_a, const char *path_a, const char *key_a,
                         const cJSON *obj_b, const char *path_b, const char *key_b) {
  const cJSON *a = spec_child(obj_a, key_a), *b = spec_child(obj_b, key_b);
  if (!spec_is_absent(a)) {
    loc->compile = a;
    spec_path_key(loc->compile_path, path_a, key_a);
  } else if (!spec_is_absent(b)) {
    loc->compile = b;
    spec_path_key(loc->compile_path, path_b, key_b);
  }
}

/* Keras 2 and 3 look alike at the top; keras_version, then "module", decide. */
static nnc_spec_format guess_format(const cJSON *model) {
  const cJSON *version = spec_child(model, "keras_version");
  const cJSON *backend = spec_child(model, "backend");
  if (cJSON_IsString(version)) {
    if (strncmp(version->valuestring, "tfjs", 4) == 0) return NNC_FORMAT_TFJS;
    return version->valuestring[0] == '3' ? NNC_FORMAT_KERAS3 : NNC_FORMAT_KERAS2;
  }
  if (cJSON_IsString(backend) && strcmp(backend->valuestring, "tensor_flow.js") == 0)
    return NNC_FORMAT_TFJS;
  return spec_child(model, "module") ? NNC_FORMAT_KERAS3 : NNC_FORMAT_KERAS2;
}

static int locate(spec_ctx *ctx, const cJSON *root, located *loc) {
  memset(loc, 0, sizeof *loc);
  if (!cJSON_IsObject(root)) return spec_fail_expected(ctx, "$", root, "a model object");
  const cJSON *format = spec_child(root, "format");
  const cJSON *topology = spec_child(root, "modelTopology");
  if (format || topology) { /* TensorFlow.js model.json */
    ctx->format = NNC_FORMAT_TFJS;
    if (!spec_is_absent(format) &&
        !(cJSON_IsString(format) && strcmp(format->valuestring, "layers-model") == 0)) {
      if (cJSON_IsString(format) && strcmp(format->valuestring, "graph-model") == 0)
        return spec_fail_unsupported(ctx, "$.format", format,
                                     "a TensorFlow.js graph model (only layers models)");
      return spec_fail_expected(ctx, "$.format", format, "\"layers-model\"");
    }
    if (!cJSON_IsObject(topology))
      return spec_fail_expected(ctx, "$.modelTopology", topology, "an object");
    if (spec_child(topology, "model_config")) { /* tensorflowjs_converter output */
      loc->model = spec_child(topology, "model_config");
      nnc_strlcpy(loc->model_path, "$.modelTopology.model_config", NNC_PATH_MAX);
      pick_compile(loc, topology, "$.modelTopology", "training_config", root, "$",
                   "trainingConfig");
    } else {
      loc->model = topology;
      nnc_strlcpy(loc->model_path, "$.modelTopology", NNC_PATH_MAX);
      pick_compile(loc, root, "$", "trainingConfig", topology, "$.modelTopology",
                   "training_config");
    }
    return NNC_OK;
  }
  if (spec_child(root, "model_config")) { /* h5 attributes: {model_config, training_config} */
    loc->model = spec_child(root, "model_config");
    nnc_strlcpy(loc->model_path, "$.model_config", NNC_PATH_MAX);
    pick_compile(loc, root, "$", "compile_config", root, "$", "training_config");
    ctx->format = guess_format(spec_child(root, "keras_version") ? root : loc->model);
    return NNC_OK;
  }
  loc->model = root;
  nnc_strlcpy(loc->model_path, "$", NNC_PATH_MAX);
  pick_compile(loc, root, "$", "compile_config", root, "$", "training_config");
  ctx->format = guess_format(root);
  return NNC_OK;
}

/* ---- layers ---- */

static int alloc_layers(const spec_ctx *ctx, int n, const cJSON *list, const char *path,
                        nnc_spec *spec) {
  if (n == 0) return spec_fail_expected(ctx, path, list, "a non-empty list of layers");
  if (n > SPEC_MAX_LAYERS)
    return spec_fail_unsupported(ctx, path, list, "a model of more than 4096 layers");
  spec->layers = nnc_calloc((size_t)n, sizeof *spec->layers, ctx->st);
  if (!spec->layers) return NNC_ERR_NOMEM;
  return NNC_OK;
}

static int parse_sequential(const spec_ctx *ctx, const cJSON *config, const char *config_path,
                            nnc_spec *spec) {
  /* Keras <= 2.2.2 wrote Sequential's config as the bare list of layers. */
  const cJSON *layers = config;
  char layers_path[NNC_PATH_MAX];
  nnc_strlcpy(layers_path, config_path, sizeof layers_path);
  if (cJSON_IsObject(config)) {
    layers = spec_child(config, "layers");
    spec_path_key(layers_path, config_path, "layers");
  }
  if (!cJSON_IsArray(layers))
    return spec_fail_expected(ctx, layers_path, layers, "a list of layers");
  int rc = alloc_layers(ctx, cJSON_GetArraySize(layers), layers, layers_path, spec);
  if (rc) return rc;
  const cJSON *entry;
  cJSON_ArrayForEach(entry, layers) {
    int i = spec->n_layers;
    char path[NNC_PATH_MAX];
    spec_path_index(path, layers_path, i);
    spec_layer_site site = {.first = i == 0};
    if ((rc = spec_parse_layer(ctx, entry, path, &site, &spec->layers[i]))) return rc;
    spec->n_layers++;
    if (i > 0 && spec->layers[i].kind == NNC_LAYER_INPUT) {
      char cls_path[NNC_PATH_MAX];
      spec_path_key(cls_path, path, "class_name");
      return spec_fail(ctx, cls_path,
                       "expected an InputLayer only as the first layer, got one "
                       "at position %d",
                       i);
    }
  }
  return NNC_OK;
}

static int parse_functional(const spec_ctx *ctx, const cJSON *config, const char *config_path,
                            nnc_spec *spec) {
  if (!cJSON_IsObject(config)) return spec_fail_expected(ctx, config_path, config, "an object");
  return spec_functional_graph(ctx, config, config_path, spec);
}

/* A Sequential's graph: one input, each layer called once on the previous. */
static int chain_calls(const spec_ctx *ctx, nnc_spec *spec) {
  spec->inputs = nnc_calloc(1, sizeof *spec->inputs, ctx->st);
  spec->outputs = nnc_calloc(1, sizeof *spec->outputs, ctx->st);
  spec->calls = nnc_calloc((size_t)spec->n_layers, sizeof *spec->calls, ctx->st);
  if (!spec->inputs || !spec->outputs || !spec->calls) return NNC_ERR_NOMEM;
  int first = spec->layers[0].kind == NNC_LAYER_INPUT ? 1 : 0;
  spec->n_inputs = 1;
  spec->inputs[0].layer = first ? 0 : -1;
  nnc_spec_value prev = -1;
  for (int i = first; i < spec->n_layers; i++) {
    nnc_spec_call *c = &spec->calls[spec->n_calls];
    c->layer = i;
    c->training = 1;
    nnc_strlcpy(c->path, spec->layers[i].path, sizeof c->path);
    c->args = nnc_calloc(1, sizeof *c->args, ctx->st);
    if (!c->args) return NNC_ERR_NOMEM;
    c->n_args = 1;
    c->args[0] = prev;
    prev = spec->n_calls++; /* counted before the check: nnc_spec_free frees its args */
    int rc = spec_check_arity(ctx, c->path, &spec->layers[i], 1);
    if (rc) return rc;
  }
  spec->n_outputs = 1;
  spec->outputs[0] = prev;
  return NNC_OK;
}

static int name_taken(const nnc_spec *spec, const char *name) {
  for (int i = 0; i < spec->n_layers; i++)
    if (strcmp(spec->layers[i].name, name) == 0) return 1;
  return 0;
}

/* Unnamed layers get Keras-style names (dense, dense_1, ...) that clash with
 * nothing; explicit duplicates are an error, as in Keras. */
static int name_layers(const spec_ctx *ctx, nnc_spec *spec) {
  for (int i = 0; i < spec->n_layers; i++) {
    nnc_spec_layer *layer = &spec->layers[i];
    for (int j = 0; j < i && layer->name[0]; j++)
      if (strcmp(spec->layers[j].name, layer->name) == 0)
        return spec_fail(ctx, layer->path,
                         "expected a unique layer name, got \"%s\" again (also "
                         "at %s)",
                         layer->name, spec->layers[j].path);
  }
  for (int i = 0; i < spec->n_layers; i++) {
    nnc_spec_layer *layer = &spec->layers[i];
    if (layer->name[0]) continue;
    const char *prefix = spec_layer_default_prefix(layer->kind);
    char candidate[NNC_NAME_MAX];
    for (int suffix = 0;; suffix++) {
      if (suffix == 0)
        nnc_strlcpy(candidate, prefix, sizeof candidate);
      else
        snprintf(candidate, sizeof candidate, "%.100s_%d", prefix, suffix);
      if (!name_taken(spec, candidate)) break;
    }
    nnc_strlcpy(layer->name, candidate, sizeof layer->name);
  }
  return NNC_OK;
}

static int parse_model(spec_ctx *ctx, const cJSON *model, const char *model_path, nnc_spec *spec) {
  char cls_path[NNC_PATH_MAX], cfg_path[NNC_PATH_MAX], path[NNC_PATH_MAX];
  if (!cJSON_IsObject(model)) return spec_fail_expected(ctx, model_path, model, "a model object");
  spec_path_key(cls_path, model_path, "class_name");
  spec_path_key(cfg_path, model_path, "config");
  const cJSON *cls = spec_child(model, "class_name");
  int sequential = cJSON_IsString(cls) && strcmp(cls->valuestring, "Sequential") == 0;
  spec->functional = cJSON_IsString(cls) && (strcmp(cls->valuestring, "Functional") == 0 ||
                                             strcmp(cls->valuestring, "Model") == 0);
  if (!sequential && !spec->functional)
    return spec_fail_expected(ctx, cls_path, cls,
                              "\"Sequential\" or \"Functional\" (\"Model\" in older files)");
  const cJSON *config = spec_child(model, "config");

  const cJSON *name = spec_child(config, "name");
  spec_path_key(path, cfg_path, "name");
  int rc;
  if (spec_is_absent(name))
    nnc_strlcpy(spec->name, sequential ? "sequential" : "functional", sizeof spec->name);
  else if ((rc = spec_copy_layer_name(ctx, name, path, spec->name)))
    return rc;
  int trainable;
  if ((rc = spec_get_bool(ctx, config, cfg_path, "trainable", 1, &trainable))) return rc;
  if (!trainable) {
    spec_path_key(path, cfg_path, "trainable");
    return spec_fail_unsupported(ctx, path, spec_child(config, "trainable"),
                                 "a frozen model (trainable: false)");
  }
  rc = sequential ? parse_sequential(ctx, config, cfg_path, spec)
                  : parse_functional(ctx, config, cfg_path, spec);
  if (rc) return rc;
  if ((rc = name_layers(ctx, spec))) return rc;
  return sequential ? chain_calls(ctx, spec) : NNC_OK;
}

int spec_parse_nested(const spec_ctx *ctx, const cJSON *config, const char *config_path,
                      int functional, nnc_spec *sub) {
  nnc_strlcpy(sub->source, ctx->source, sizeof sub->source);
  sub->format = ctx->format;
  sub->functional = functional;
  const cJSON *name = spec_child(config, "name");
  char path[NNC_PATH_MAX];
  spec_path_key(path, config_path, "name");
  int rc;
  if (spec_is_absent(name))
    nnc_strlcpy(sub->name, functional ? "functional" : "sequential", sizeof sub->name);
  else if ((rc = spec_copy_layer_name(ctx, name, path, sub->name)))
    return rc;
  rc = functional ? parse_functional(ctx, config, config_path, sub)
                  : parse_sequential(ctx, config, config_path, sub);
  if (rc) return rc;
  if ((rc = name_layers(ctx, sub))) return rc;
  return functional ? NNC_OK : chain_calls(ctx, sub);
}

/* ---- public API ---- */

const char *spec_input_name(const nnc_spec *spec, int k) {
  if (!spec->inputs || k < 0 || k >= spec->n_inputs) return NULL;
  int layer = spec->inputs[k].layer;
  return layer >= 0 ? spec->layers[layer].name : "input_layer";
}

const nnc_spec_layer *spec_input_declaration(const nnc_spec *spec, int k) {
  if (!spec->inputs || k < 0 || k >= spec->n_inputs) return NULL;
  int from = spec->inputs[k].layer, to = from + 1;
  if (from < 0) from = 0, to = spec->n_layers;
  for (int i = from; i < to; i++)
    if (spec->layers[i].has_input_shape) return &spec->layers[i];
  return NULL;
}

int spec_has_none_axes(const nnc_spec *spec) {
  for (int k = 0; k < spec->n_inputs; k++) {
    const nnc_spec_layer *d = spec_input_declaration(spec, k);
    for (int i = 0; d && i < d->input_shape.rank; i++)
      if (d->input_shape.dims[i] < 0) return 1;
  }
  return 0;
}

const char *spec_output_name(const nnc_spec *spec, int k) {
  if (!spec->outputs || k < 0 || k >= spec->n_outputs) return NULL;
  nnc_spec_value v = spec->outputs[k];
  return v >= 0 ? spec->layers[spec->calls[v].layer].name : spec_input_name(spec, -1 - v);
}

void nnc_spec_free(nnc_spec *spec) {
  if (!spec) return;
  for (int i = 0; spec->layers && i < spec->n_layers; i++) {
    const nnc_layer_class *cls = layer_class(spec->layers[i].kind);
    if (spec->layers[i].params && cls && cls->free_params)
      cls->free_params(spec->layers[i].params);
    else
      free(spec->layers[i].params);
    free(spec->layers[i].declared_inputs);
  }
  for (int i = 0; spec->calls && i < spec->n_calls; i++) {
    nnc_spec_call *c = &spec->calls[i];
    free(c->args);
    free(c->arg_tensors);
    free(c->arg_paths);
    for (int k = 0; k < c->n_kwargs; k++) {
      free(c->kwargs[k].values);
      free(c->kwargs[k].tensors);
      free(c->kwargs[k].paths);
    }
    free(c->kwargs);
  }
  free(spec->calls);
  free(spec->inputs);
  free(spec->outputs);
  free(spec->output_tensors);
  free(spec->output_paths);
  free(spec->layers);
  nnc_spec_compile_free(&spec->compile);
  free(spec->callbacks_json);
  memset(spec, 0, sizeof *spec);
}

/* The spec's top-level "callbacks" (docs/fit.md): a list of Keras's
 * serialized callbacks, kept as JSON for fit, which creates them (and names
 * a bad argument by its path) before training. */
static int parse_callbacks(const spec_ctx *ctx, const cJSON *root, nnc_spec *spec) {
  const cJSON *list = spec_child(root, "callbacks");
  if (spec_is_absent(list)) return NNC_OK;
  if (!cJSON_IsArray(list))
    return spec_fail_expected(ctx, "$.callbacks", list,
                              "a list of callbacks {\"class_name\": ..., \"config\": {...}}");
  const cJSON *item;
  int i = 0;
  cJSON_ArrayForEach(item, list) {
    char path[NNC_PATH_MAX];
    spec_path_index(path, "$.callbacks", i++);
    const cJSON *cls = spec_child(item, "class_name");
    if (!cJSON_IsObject(item) || !cJSON_IsString(cls))
      return spec_fail_expected(
          ctx, path, item, "a callback {\"class_name\": \"EarlyStopping\", \"config\": {...}}");
  }
  spec->callbacks_json = cJSON_PrintUnformatted(list);
  if (!spec->callbacks_json) return nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory");
  return NNC_OK;
}

int nnc_spec_parse_string(const char *json, const char *source_name, nnc_spec *out,
                          nnc_status *st) {
  if (!out) return nnc_fail(st, NNC_ERR_ARG, "nnc_spec_parse_string: out is NULL");
  memset(out, 0, sizeof *out);
  if (!json) return nnc_fail(st, NNC_ERR_ARG, "nnc_spec_parse_string: json is NULL");
  nnc_spec spec = {0};
  nnc_strlcpy(spec.source, source_name ? source_name : "<string>", sizeof spec.source);
  spec_ctx ctx = {.source = spec.source, .st = st, .format = NNC_FORMAT_KERAS3};
  cJSON *root;
  int rc = parse_json(json, spec.source, st, &root);
  if (rc) return rc;

  located loc;
  rc = spec_check_unique_keys(&ctx, root, "$");
  if (!rc) rc = locate(&ctx, root, &loc);
  spec.format = ctx.format;
  if (!rc) rc = parse_model(&ctx, loc.model, loc.model_path, &spec);
  if (!rc && loc.compile)
    rc = spec_parse_compile(&ctx, loc.compile, loc.compile_path, &spec.compile);
  if (!rc) rc = parse_callbacks(&ctx, root, &spec);
  cJSON_Delete(root);
  if (rc) {
    nnc_spec_free(&spec);
    return rc;
  }
  *out = spec;
  nnc_status_ok(st);
  return NNC_OK;
}

int nnc_spec_parse_file(const char *path, nnc_spec *out, nnc_status *st) {
  if (!out) return nnc_fail(st, NNC_ERR_ARG, "nnc_spec_parse_file: out is NULL");
  memset(out, 0, sizeof *out);
  if (!path) return nnc_fail(st, NNC_ERR_ARG, "nnc_spec_parse_file: path is NULL");
  size_t len = 0;
  char *text = nnc_read_file(path, &len, st);
  if (!text) return st ? (int)st->code : NNC_ERR_IO;
  /* a raw NUL byte would end the text early: what follows would go unread */
  const char *nul = memchr(text, '\0', len);
  if (nul) {
    size_t at = (size_t)(nul - text), line, column;
    spec_text_position(text, at, &line, &column);
    free(text);
    return nnc_fail(st, NNC_ERR_SPEC,
                    "%s: invalid JSON near byte %zu (line %zu, column %zu): a NUL byte", path, at,
                    line, column);
  }
  int rc = nnc_spec_parse_string(text, path, out, st);
  free(text);
  return rc;
}

int nnc_spec_parse_compile_string(const char *json, const char *source_name, nnc_spec *out,
                                  nnc_status *st) {
  if (!out || !json)
    return nnc_fail(st, NNC_ERR_ARG, "nnc_spec_parse_compile_string: %s is NULL",
                    out ? "json" : "out");
  const char *source = source_name ? source_name : "<string>";
  spec_ctx ctx = {.source = source, .st = st, .format = out->format};
  cJSON *root;
  int rc = parse_json(json, source, st, &root);
  if (rc) return rc;
  nnc_spec_compile compile;
  rc = spec_check_unique_keys(&ctx, root, "$");
  if (!rc) rc = spec_parse_compile(&ctx, root, "$", &compile);
  cJSON_Delete(root);
  if (rc) return rc;
  nnc_spec_compile_free(&out->compile); /* replace only on success */
  out->compile = compile;
  nnc_status_ok(st);
  return NNC_OK;
}
