/* One layer object ({class_name, config, build_config?}) -> nnc_spec_layer:
 * what every layer has (name, dtype, shapes, trainable), then the class's own
 * parse hook (compiler/layers/<layer>.c), which checks every key whose
 * non-default value nnc cannot honour yet (regularizers, constraints,
 * noise_shape...) so the user hears about it instead of getting silently
 * different training. */
#include <stdlib.h>
#include <string.h>

#include "compiler/layers/layer.h"
#include "compiler/spec/spec_internal.h"
#include "base/base.h"

const char *spec_layer_default_prefix(nnc_layer_kind kind) {
  const nnc_layer_class *cls = layer_class(kind);
  return cls ? cls->prefix : "layer";
}

/* An integer dtype: accepted on an InputLayer and an Embedding (Keras 2 puts
 * the index dtype on the Embedding), whose values reach the model as float32. */
static int is_index_dtype(const char *name) {
  static const char *const names[] = {"int8",  "int16",  "int32",  "int64",
                                      "uint8", "uint16", "uint32", "uint64"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp(name, names[i]) == 0) return 1;
  return 0;
}

/* dtype: a string or a DTypePolicy object; nnc computes in float32 only. */
static int check_dtype(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                       nnc_layer_kind kind) {
  const cJSON *dtype = spec_child(cfg, "dtype");
  if (spec_is_absent(dtype)) return NNC_OK;
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, "dtype");
  const cJSON *name = dtype;
  if (cJSON_IsObject(dtype)) {
    name = spec_child(spec_child(dtype, "config"), "name");
    spec_path_key(path, path, "config");
    spec_path_key(path, path, "name");
  }
  if (!cJSON_IsString(name))
    return spec_fail_expected(ctx, path, name, "a dtype name or a DTypePolicy object");
  if ((kind == NNC_LAYER_INPUT || kind == NNC_LAYER_EMBEDDING) && is_index_dtype(name->valuestring))
    return NNC_OK;
  if (strcmp(name->valuestring, "float32") != 0)
    return spec_fail_unsupported(ctx, path, name, "a dtype other than float32");
  return NNC_OK;
}

/* Shape keys a layer config may carry; batch_* ones include the batch dimension.
 * tensorflowjs_converter writes an InputLayer's as tfjs's own camelCase. */
static const struct {
  const char *key;
  int has_batch;
} shape_keys[] = {{"batch_shape", 1}, {"batch_input_shape", 1}, {"batchInputShape", 1},
                  {"shape", 0},       {"input_shape", 0},       {"inputShape", 0}};
#define N_SHAPE_KEYS (sizeof shape_keys / sizeof shape_keys[0])

static int same_shape(const nnc_spec_shape *a, const nnc_spec_shape *b) {
  if (a->rank != b->rank) return 0;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i]) return 0;
  return 1;
}

/* Reads a declared model-input shape from cfg. *found is 0 when none given.
 * Several keys must agree (Keras would silently take one of them); an
 * InputLayer may not have both a batch_* key and a plain one, which Keras
 * refuses ("You cannot pass both `shape` and `batch_shape`"). The batch
 * dimension itself is ignored, so it may differ. */
static int read_input_shape(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                            int input_layer, nnc_spec_shape *shape, char *path_out, int *found) {
  *found = 0;
  const char *first_key = NULL;
  int first_batch = 0;
  for (size_t k = 0; k < N_SHAPE_KEYS; k++) {
    const cJSON *item = spec_child(cfg, shape_keys[k].key);
    if (spec_is_absent(item)) continue;
    char path[NNC_PATH_MAX];
    nnc_spec_shape parsed;
    spec_path_key(path, cfg_path, shape_keys[k].key);
    int rc = spec_parse_shape(ctx, item, path, shape_keys[k].has_batch, &parsed);
    if (rc) return rc;
    if (!*found) {
      *found = 1;
      *shape = parsed;
      first_key = shape_keys[k].key;
      first_batch = shape_keys[k].has_batch;
      memcpy(path_out, path, NNC_PATH_MAX);
      continue;
    }
    if (input_layer && first_batch != shape_keys[k].has_batch)
      return spec_fail(ctx, path,
                       "expected either %s or %s in an InputLayer, got both (Keras refuses them "
                       "together)",
                       first_key, shape_keys[k].key);
    if (!same_shape(shape, &parsed))
      return spec_fail_expected(ctx, path, item, "the same shape as %s (they disagree)", first_key);
  }
  return NNC_OK;
}

static int parse_shapes(const spec_ctx *ctx, const cJSON *entry, const cJSON *cfg,
                        const char *cfg_path, const char *path, const spec_layer_site *site,
                        nnc_spec_layer *out) {
  char shape_path[NNC_PATH_MAX];
  int found = 0, rc;
  if (out->kind == NNC_LAYER_INPUT) {
    rc = read_input_shape(ctx, cfg, cfg_path, 1, &out->input_shape, shape_path, &found);
    if (rc) return rc;
    if (!found)
      return spec_fail_expected(
          ctx, cfg_path, cfg, "an InputLayer config with batch_shape, batch_input_shape or shape");
    out->has_input_shape = 1;
    return NNC_OK;
  }
  /* Keras 2 repeats batch_input_shape on the first real layer: on the first
   * layer of the chain it is the model input. Elsewhere Keras ignores it
   * (Sequential.add reads it from the first layer only; the layer is built
   * on the tensor it is called with), so a stale copy left on a later layer
   * (k2-forecast-lstm2) must not stop the model: it is read, not checked. */
  nnc_spec_shape given;
  rc = read_input_shape(ctx, cfg, cfg_path, 0, &given, shape_path, &found);
  if (rc) return rc;
  if (found && site->first) {
    out->has_input_shape = 1;
    out->input_shape = given;
  }

  const cJSON *build = spec_child(entry, "build_config");
  char build_path[NNC_PATH_MAX];
  spec_path_key(build_path, path, "build_config");
  if (!spec_is_absent(build) && !cJSON_IsObject(build))
    return spec_fail_expected(ctx, build_path, build, "an object");
  const cJSON *declared = spec_child(build, "input_shape");
  char declared_path[NNC_PATH_MAX];
  spec_path_key(declared_path, build_path, "input_shape");
  /* (A Functional model's inbound keras tensor says the same thing more
   * directly: spec_functional.c overrides this with it.) A layer built on
   * several tensors (a merge layer) declares a list of shapes, one per input:
   * [[null, 8], [null, 8]]. */
  const cJSON *first = cJSON_IsArray(declared) ? declared->child : NULL;
  if (cJSON_IsArray(first)) {
    int i = 0;
    for (const cJSON *shape = first; shape; shape = shape->next, i++) {
      char item_path[NNC_PATH_MAX];
      spec_path_index(item_path, declared_path, i);
      if ((rc = spec_add_declared_input(ctx, out, shape, item_path))) return rc;
    }
  } else if (!spec_is_absent(declared)) {
    rc = spec_parse_shape(ctx, declared, declared_path, 1, &out->declared_input);
    if (rc) return rc;
    out->has_declared_input = 1;
    memcpy(out->declared_input_path, declared_path, sizeof declared_path);
  }
  return NNC_OK;
}

int spec_add_declared_input(const spec_ctx *ctx, nnc_spec_layer *layer, const cJSON *shape,
                            const char *path) {
  nnc_spec_declared *grown = nnc_realloc_array(
      layer->declared_inputs, (size_t)layer->n_declared_inputs + 1, sizeof *grown, ctx->st);
  if (!grown) return NNC_ERR_NOMEM;
  layer->declared_inputs = grown;
  nnc_spec_declared *d = &grown[layer->n_declared_inputs];
  nnc_strlcpy(d->path, path, sizeof d->path);
  int rc = spec_parse_shape(ctx, shape, path, 1, &d->shape);
  if (!rc) layer->n_declared_inputs++;
  return rc;
}

void spec_clear_declared_inputs(nnc_spec_layer *layer) {
  free(layer->declared_inputs);
  layer->declared_inputs = NULL;
  layer->n_declared_inputs = 0;
}

int spec_parse_layer(const spec_ctx *ctx, const cJSON *entry, const char *path,
                     const spec_layer_site *site, nnc_spec_layer *out) {
  memset(out, 0, sizeof *out);
  nnc_strlcpy(out->path, path, sizeof out->path);
  if (!cJSON_IsObject(entry))
    return spec_fail_expected(ctx, path, entry,
                              "a layer object {\"class_name\": ..., \"config\": {...}}");

  char cls_path[NNC_PATH_MAX], cfg_path[NNC_PATH_MAX], name_path[NNC_PATH_MAX];
  spec_path_key(cls_path, path, "class_name");
  spec_path_key(cfg_path, path, "config");
  const cJSON *cls = spec_child(entry, "class_name");
  int k = layer_kind_find(cJSON_IsString(cls) ? cls->valuestring : NULL);
  if (cJSON_IsString(cls) &&
      (strcmp(cls->valuestring, "Sequential") == 0 || strcmp(cls->valuestring, "Model") == 0))
    k = NNC_LAYER_MODEL; /* a nested model, whichever its class */
  if (k < 0) {
    char expected[256];
    layer_class_expected(cJSON_IsString(cls) ? cls->valuestring : NULL, expected, sizeof expected);
    return spec_fail_expected(ctx, cls_path, cls, "%s", expected);
  }
  out->kind = (nnc_layer_kind)k;
  out->trainable = 1;

  /* A missing config means all defaults (handy for hand-written specs). */
  const cJSON *cfg = spec_child(entry, "config");
  /* Keras <= 2.2.2 wrote a Sequential's config, nested ones too, as the bare
   * list of its layers: the nested model's parse reads it (parse_sequential) */
  const cJSON *list_form = out->kind == NNC_LAYER_MODEL && cJSON_IsArray(cfg) &&
                                   strcmp(cls->valuestring, "Sequential") == 0
                               ? cfg
                               : NULL;
  if (!spec_is_absent(cfg) && !cJSON_IsObject(cfg) && !list_form)
    return spec_fail_expected(ctx, cfg_path, cfg, "an object");
  if (!cJSON_IsObject(cfg)) cfg = NULL;

  /* Name: config.name, else the Functional entry's name, else generated later. */
  const cJSON *name = spec_child(cfg, "name");
  spec_path_key(name_path, cfg_path, "name");
  if (spec_is_absent(name)) {
    name = spec_child(entry, "name");
    spec_path_key(name_path, path, "name");
  }
  int rc;
  if (!spec_is_absent(name) && (rc = spec_copy_layer_name(ctx, name, name_path, out->name)))
    return rc;

  if ((rc = check_dtype(ctx, cfg, cfg_path, out->kind))) return rc;
  const nnc_layer_class *klass = layer_class(out->kind);
  rc = parse_shapes(ctx, entry, cfg, cfg_path, path, site, out);
  if (!rc) rc = spec_get_bool(ctx, cfg, cfg_path, "trainable", 1, &out->trainable);
  if (!rc) rc = klass->parse(ctx, list_form ? list_form : cfg, cfg_path, out);
  if (rc) spec_clear_declared_inputs(out); /* the caller frees only layers that parsed */
  if (rc && out->params) {
    if (klass->free_params)
      klass->free_params(out->params);
    else
      free(out->params);
    out->params = NULL;
  }
  return rc;
}

int spec_check_arity(const spec_ctx *ctx, const char *path, const nnc_spec_layer *layer,
                     int n_inputs) {
  const nnc_layer_class *cls = layer_class(layer->kind);
  if (n_inputs >= cls->min_inputs && (cls->max_inputs < 0 || n_inputs <= cls->max_inputs))
    return NNC_OK;
  if (cls->max_inputs == 1)
    return spec_fail(ctx, path, "expected one input tensor for %s \"%s\", got %d", cls->class_name,
                     layer->name, n_inputs);
  if (cls->min_inputs == cls->max_inputs)
    return spec_fail(ctx, path, "expected exactly %d input tensors for %s \"%s\", got %d",
                     cls->min_inputs, cls->class_name, layer->name, n_inputs);
  return spec_fail(ctx, path, "expected at least %d input tensors for %s \"%s\", got %d%s",
                   cls->min_inputs, cls->class_name, layer->name, n_inputs,
                   n_inputs == 1 ? " (a Sequential model passes one; use a Functional model)" : "");
}
