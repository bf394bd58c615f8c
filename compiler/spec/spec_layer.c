/* One layer object ({class_name, config, build_config?}) -> nnc_spec_layer.
 * Checks every key whose non-default value nnc cannot honour yet
 * (regularizers, constraints, noise_shape, frozen layers...) so the user hears
 * about it instead of getting silently different training. */
#include <string.h>

#include "compiler/spec/spec_internal.h"
#include "base/base.h"

static const struct {
  const char *normalized; /* spec_normalize of the class name */
  nnc_layer_kind kind;
  const char *prefix; /* Keras default name prefix */
} layer_classes[] = {
    {"inputlayer", NNC_LAYER_INPUT, "input_layer"},     {"dense", NNC_LAYER_DENSE, "dense"},
    {"activation", NNC_LAYER_ACTIVATION, "activation"}, {"dropout", NNC_LAYER_DROPOUT, "dropout"},
    {"flatten", NNC_LAYER_FLATTEN, "flatten"},
};
#define N_LAYER_CLASSES (sizeof layer_classes / sizeof layer_classes[0])
#define LAYER_LIST "InputLayer, Dense, Activation, Dropout, Flatten"

const char *spec_layer_default_prefix(nnc_layer_kind kind) {
  for (size_t i = 0; i < N_LAYER_CLASSES; i++)
    if (layer_classes[i].kind == kind) return layer_classes[i].prefix;
  return "layer";
}

/* dtype: a string or a DTypePolicy object; nnc computes in float32 only. */
static int check_dtype(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path) {
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
  if (strcmp(name->valuestring, "float32") != 0)
    return spec_fail_unsupported(ctx, path, name, "a dtype other than float32");
  return NNC_OK;
}

/* Shape keys a layer config may carry; batch_* ones include the batch dimension. */
static const struct {
  const char *key;
  int has_batch;
} shape_keys[] = {{"batch_shape", 1}, {"batch_input_shape", 1}, {"shape", 0}, {"input_shape", 0}};
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
  /* Keras 2 repeats batch_input_shape on the first real layer; on the first
   * layer of the chain it is the model input, elsewhere only a declaration. */
  nnc_spec_shape given;
  rc = read_input_shape(ctx, cfg, cfg_path, 0, &given, shape_path, &found);
  if (rc) return rc;
  if (found && site->first) {
    out->has_input_shape = 1;
    out->input_shape = given;
  } else if (found) {
    out->has_declared_input = 1;
    out->declared_input = given;
    memcpy(out->declared_input_path, shape_path, sizeof shape_path);
  }

  const cJSON *build = spec_child(entry, "build_config");
  char build_path[NNC_PATH_MAX];
  spec_path_key(build_path, path, "build_config");
  if (!spec_is_absent(build) && !cJSON_IsObject(build))
    return spec_fail_expected(ctx, build_path, build, "an object");
  const cJSON *declared = spec_child(build, "input_shape");
  char declared_path[NNC_PATH_MAX];
  spec_path_key(declared_path, build_path, "input_shape");
  /* The inbound keras tensor says the same thing more directly; prefer it. */
  if (site->inbound_shape) {
    declared = site->inbound_shape;
    nnc_strlcpy(declared_path, site->inbound_shape_path, sizeof declared_path);
  }
  if (!spec_is_absent(declared)) {
    rc = spec_parse_shape(ctx, declared, declared_path, 1, &out->declared_input);
    if (rc) return rc;
    out->has_declared_input = 1;
    memcpy(out->declared_input_path, declared_path, sizeof declared_path);
  }
  return NNC_OK;
}

static int parse_input(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path) {
  int sparse, ragged, rc;
  if ((rc = spec_get_bool(ctx, cfg, cfg_path, "sparse", 0, &sparse)) ||
      (rc = spec_get_bool(ctx, cfg, cfg_path, "ragged", 0, &ragged)))
    return rc;
  char path[NNC_PATH_MAX];
  if (sparse) {
    spec_path_key(path, cfg_path, "sparse");
    return spec_fail_unsupported(ctx, path, spec_child(cfg, "sparse"), "a sparse input");
  }
  if (ragged) {
    spec_path_key(path, cfg_path, "ragged");
    return spec_fail_unsupported(ctx, path, spec_child(cfg, "ragged"), "a ragged input");
  }
  return NNC_OK;
}

static int parse_dense(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                       nnc_spec_layer *out) {
  char path[NNC_PATH_MAX];
  int rc, trainable;
  spec_path_key(path, cfg_path, "units");
  if ((rc = spec_positive_int(ctx, spec_child(cfg, "units"), path, &out->units))) return rc;
  spec_path_key(path, cfg_path, "activation");
  if ((rc = spec_parse_activation(ctx, spec_child(cfg, "activation"), path, &out->activation)))
    return rc;
  if ((rc = spec_get_bool(ctx, cfg, cfg_path, "use_bias", 1, &out->use_bias))) return rc;
  spec_path_key(path, cfg_path, "kernel_initializer");
  if ((rc = spec_parse_init(ctx, spec_child(cfg, "kernel_initializer"), path, "glorot_uniform",
                            &out->kernel_init)))
    return rc;
  spec_path_key(path, cfg_path, "bias_initializer");
  if ((rc = spec_parse_init(ctx, spec_child(cfg, "bias_initializer"), path, "zeros",
                            &out->bias_init)))
    return rc;
  static const char *const unsupported[][2] = {
      {"kernel_regularizer", "a kernel regularizer"},
      {"bias_regularizer", "a bias regularizer"},
      {"activity_regularizer", "an activity regularizer"},
      {"kernel_constraint", "a kernel constraint"},
      {"bias_constraint", "a bias constraint"},
      {"lora_rank", "LoRA (lora_rank)"},
      {"quantization_config", "quantization"},
  };
  for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++)
    if ((rc = spec_require_null(ctx, cfg, cfg_path, unsupported[i][0], unsupported[i][1])))
      return rc;
  /* A frozen Dense would be trained anyway: refuse rather than differ from Keras. */
  if ((rc = spec_get_bool(ctx, cfg, cfg_path, "trainable", 1, &trainable))) return rc;
  if (!trainable) {
    spec_path_key(path, cfg_path, "trainable");
    return spec_fail_unsupported(ctx, path, spec_child(cfg, "trainable"),
                                 "a frozen layer (trainable: false)");
  }
  return NNC_OK;
}

static int parse_activation_layer(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                                  nnc_spec_layer *out) {
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, "activation");
  const cJSON *act = spec_child(cfg, "activation");
  if (!act) return spec_fail_expected(ctx, path, act, "an activation name");
  return spec_parse_activation(ctx, act, path, &out->activation);
}

static int parse_dropout(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                         nnc_spec_layer *out) {
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, "rate");
  const cJSON *rate = spec_child(cfg, "rate");
  if (!cJSON_IsNumber(rate) || !(rate->valuedouble >= 0.0 && rate->valuedouble <= 1.0))
    return spec_fail_expected(ctx, path, rate, "a number in [0, 1]");
  out->rate = rate->valuedouble;
  int rc = spec_get_seed(ctx, cfg, cfg_path, "seed", &out->has_seed, &out->seed);
  if (rc) return rc;
  return spec_require_null(ctx, cfg, cfg_path, "noise_shape", "noise_shape");
}

static int parse_flatten(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path) {
  const cJSON *fmt = spec_child(cfg, "data_format");
  if (spec_is_absent(fmt)) return NNC_OK;
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, "data_format");
  if (cJSON_IsString(fmt) && strcmp(fmt->valuestring, "channels_last") == 0) return NNC_OK;
  if (cJSON_IsString(fmt) && strcmp(fmt->valuestring, "channels_first") == 0)
    return spec_fail_unsupported(ctx, path, fmt, "Flatten with data_format channels_first");
  return spec_fail_expected(ctx, path, fmt, "\"channels_last\" or null");
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
  char norm[32] = "";
  if (cJSON_IsString(cls)) spec_normalize(cls->valuestring, norm, sizeof norm);
  size_t k = 0;
  while (k < N_LAYER_CLASSES && strcmp(norm, layer_classes[k].normalized) != 0) k++;
  if (k == N_LAYER_CLASSES)
    return spec_fail_expected(ctx, cls_path, cls, "a supported layer (" LAYER_LIST ")");
  out->kind = layer_classes[k].kind;

  /* A missing config means all defaults (handy for hand-written specs). */
  const cJSON *cfg = spec_child(entry, "config");
  if (!spec_is_absent(cfg) && !cJSON_IsObject(cfg))
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

  if ((rc = check_dtype(ctx, cfg, cfg_path))) return rc;
  if ((rc = parse_shapes(ctx, entry, cfg, cfg_path, path, site, out))) return rc;

  switch (out->kind) {
  case NNC_LAYER_INPUT:
    return parse_input(ctx, cfg, cfg_path);
  case NNC_LAYER_DENSE:
    return parse_dense(ctx, cfg, cfg_path, out);
  case NNC_LAYER_ACTIVATION:
    return parse_activation_layer(ctx, cfg, cfg_path, out);
  case NNC_LAYER_DROPOUT:
    return parse_dropout(ctx, cfg, cfg_path, out);
  case NNC_LAYER_FLATTEN:
    return parse_flatten(ctx, cfg, cfg_path);
  }
  return NNC_OK;
}
