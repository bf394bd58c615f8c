/* Initializers (keras-semantics.md §5.2): strings ("glorot_uniform"),
 * {class_name, config} objects (Keras 2/3) and tfjs camelCase names
 * ("glorotUniform", "varianceScaling"). glorot/he/lecun become
 * NNC_INIT_VARIANCE_SCALING with Keras's scale, mode and distribution. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "compiler/spec/spec_internal.h"

typedef struct init_preset {
  const char *name; /* normalized (spec_normalize) */
  nnc_init_kind kind;
  double scale;
  nnc_fan_mode mode;
  nnc_distribution distribution;
} init_preset;

static const init_preset presets[] = {
    {"glorotuniform", NNC_INIT_VARIANCE_SCALING, 1.0, NNC_FAN_AVG, NNC_DIST_UNIFORM},
    {"glorotnormal", NNC_INIT_VARIANCE_SCALING, 1.0, NNC_FAN_AVG, NNC_DIST_TRUNCATED_NORMAL},
    {"heuniform", NNC_INIT_VARIANCE_SCALING, 2.0, NNC_FAN_IN, NNC_DIST_UNIFORM},
    {"henormal", NNC_INIT_VARIANCE_SCALING, 2.0, NNC_FAN_IN, NNC_DIST_TRUNCATED_NORMAL},
    {"lecununiform", NNC_INIT_VARIANCE_SCALING, 1.0, NNC_FAN_IN, NNC_DIST_UNIFORM},
    {"lecunnormal", NNC_INIT_VARIANCE_SCALING, 1.0, NNC_FAN_IN, NNC_DIST_TRUNCATED_NORMAL},
    /* VarianceScaling's own defaults; its config overrides them. */
    {"variancescaling", NNC_INIT_VARIANCE_SCALING, 1.0, NNC_FAN_IN, NNC_DIST_TRUNCATED_NORMAL},
    {"randomuniform", NNC_INIT_RANDOM_UNIFORM, 0, 0, 0},
    {"uniform", NNC_INIT_RANDOM_UNIFORM, 0, 0, 0},
    {"randomnormal", NNC_INIT_RANDOM_NORMAL, 0, 0, 0},
    {"normal", NNC_INIT_RANDOM_NORMAL, 0, 0, 0},
    {"truncatednormal", NNC_INIT_TRUNCATED_NORMAL, 0, 0, 0},
    {"zeros", NNC_INIT_ZEROS, 0, 0, 0},
    {"zero", NNC_INIT_ZEROS, 0, 0, 0},
    {"ones", NNC_INIT_ONES, 0, 0, 0},
    {"one", NNC_INIT_ONES, 0, 0, 0},
    {"constant", NNC_INIT_CONSTANT, 0, 0, 0},
    {"orthogonal", NNC_INIT_ORTHOGONAL, 0, 0, 0},
    {"orthogonalinitializer", NNC_INIT_ORTHOGONAL, 0, 0, 0},
    {"identity", NNC_INIT_IDENTITY, 0, 0, 0},
    {"identityinitializer", NNC_INIT_IDENTITY, 0, 0, 0},
};

#define INIT_LIST                                                                                  \
  "glorot_uniform, glorot_normal, he_uniform, he_normal, lecun_uniform, lecun_normal, "            \
  "VarianceScaling, RandomUniform, RandomNormal, TruncatedNormal, Zeros, Ones, Constant, "         \
  "Orthogonal, Identity"

static const init_preset *find_preset(const char *name) {
  char want[32];
  if (!spec_normalize(name, want, sizeof want)) return NULL;
  for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
    if (strcmp(want, presets[i].name) == 0) return &presets[i];
  return NULL;
}

static void apply_preset(const init_preset *p, nnc_spec_init *out) {
  memset(out, 0, sizeof *out);
  out->kind = p->kind;
  out->scale = p->scale;
  out->mode = p->mode;
  out->distribution = p->distribution;
  out->minval = -0.05;
  out->maxval = 0.05;
  out->mean = 0.0;
  out->stddev = 0.05;
  out->gain = 1.0;
}

static int parse_mode(const spec_ctx *ctx, const cJSON *cfg, const char *path, nnc_fan_mode *out) {
  const cJSON *item = spec_child(cfg, "mode");
  if (spec_is_absent(item)) return NNC_OK;
  char norm[16] = "";
  if (cJSON_IsString(item)) spec_normalize(item->valuestring, norm, sizeof norm);
  if (strcmp(norm, "fanin") == 0)
    *out = NNC_FAN_IN;
  else if (strcmp(norm, "fanout") == 0)
    *out = NNC_FAN_OUT;
  else if (strcmp(norm, "fanavg") == 0)
    *out = NNC_FAN_AVG;
  else {
    char mode_path[NNC_PATH_MAX];
    spec_path_key(mode_path, path, "mode");
    return spec_fail_expected(ctx, mode_path, item, "\"fan_in\", \"fan_out\" or \"fan_avg\"");
  }
  return NNC_OK;
}

static int parse_distribution(const spec_ctx *ctx, const cJSON *cfg, const char *path,
                              nnc_distribution *out) {
  const cJSON *item = spec_child(cfg, "distribution");
  if (spec_is_absent(item)) return NNC_OK;
  char norm[24] = "";
  if (cJSON_IsString(item)) spec_normalize(item->valuestring, norm, sizeof norm);
  /* Keras: "normal" is an alias of "truncated_normal". */
  if (strcmp(norm, "uniform") == 0)
    *out = NNC_DIST_UNIFORM;
  else if (strcmp(norm, "normal") == 0 || strcmp(norm, "truncatednormal") == 0)
    *out = NNC_DIST_TRUNCATED_NORMAL;
  else if (strcmp(norm, "untruncatednormal") == 0)
    *out = NNC_DIST_UNTRUNCATED_NORMAL;
  else {
    char dist_path[NNC_PATH_MAX];
    spec_path_key(dist_path, path, "distribution");
    return spec_fail_expected(ctx, dist_path, item,
                              "\"uniform\", \"normal\", \"truncated_normal\" or "
                              "\"untruncated_normal\"");
  }
  return NNC_OK;
}

static int parse_values(const spec_ctx *ctx, const cJSON *cfg, const char *path,
                        nnc_spec_init *out);

/* The weights are float32: a parameter beyond its range would make them inf. */
static int check_float32(const spec_ctx *ctx, const cJSON *cfg, const char *path,
                         const nnc_spec_init *init) {
  static const char *const keys[] = {"value", "minval", "maxval", "mean", "stddev", "scale"};
  const double values[] = {init->value, init->minval, init->maxval,
                           init->mean,  init->stddev, init->scale};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    if (fabs(values[i]) <= FLT_MAX) continue;
    char key_path[NNC_PATH_MAX];
    spec_path_key(key_path, path, keys[i]);
    return spec_fail_expected(ctx, key_path, spec_child(cfg, keys[i]), SPEC_FLOAT32_RANGE);
  }
  return NNC_OK;
}

/* Read the kind-specific keys of an object's config (cfg may be NULL). */
static int parse_config(const spec_ctx *ctx, const cJSON *cfg, const char *path,
                        nnc_spec_init *out) {
  int rc = parse_values(ctx, cfg, path, out);
  return rc ? rc : check_float32(ctx, cfg, path, out);
}

static int parse_values(const spec_ctx *ctx, const cJSON *cfg, const char *path,
                        nnc_spec_init *out) {
  int rc = spec_get_seed(ctx, cfg, path, "seed", &out->has_seed, &out->seed);
  if (rc) return rc;
  char key_path[NNC_PATH_MAX];
  switch (out->kind) {
  case NNC_INIT_CONSTANT:
    return spec_get_number(ctx, cfg, path, "value", 0.0, &out->value);
  case NNC_INIT_RANDOM_UNIFORM:
    if ((rc = spec_get_number(ctx, cfg, path, "minval", -0.05, &out->minval)) ||
        (rc = spec_get_number(ctx, cfg, path, "maxval", 0.05, &out->maxval)))
      return rc;
    if (out->maxval < out->minval) {
      spec_path_key(key_path, path, "maxval");
      return spec_fail_expected(ctx, key_path, spec_child(cfg, "maxval"), "maxval >= minval (%g)",
                                out->minval);
    }
    return NNC_OK;
  case NNC_INIT_RANDOM_NORMAL:
  case NNC_INIT_TRUNCATED_NORMAL:
    if ((rc = spec_get_number(ctx, cfg, path, "mean", 0.0, &out->mean)) ||
        (rc = spec_get_number(ctx, cfg, path, "stddev", 0.05, &out->stddev)))
      return rc;
    if (out->stddev < 0) {
      spec_path_key(key_path, path, "stddev");
      return spec_fail_expected(ctx, key_path, spec_child(cfg, "stddev"), "a non-negative stddev");
    }
    return NNC_OK;
  case NNC_INIT_VARIANCE_SCALING:
    /* glorot/he/lecun configs hold only a seed; VarianceScaling spells it out. */
    if ((rc = spec_get_number(ctx, cfg, path, "scale", out->scale, &out->scale)) ||
        (rc = parse_mode(ctx, cfg, path, &out->mode)) ||
        (rc = parse_distribution(ctx, cfg, path, &out->distribution)))
      return rc;
    if (!(out->scale > 0)) {
      spec_path_key(key_path, path, "scale");
      return spec_fail_expected(ctx, key_path, spec_child(cfg, "scale"), "a positive scale");
    }
    return NNC_OK;
  case NNC_INIT_ORTHOGONAL:
  case NNC_INIT_IDENTITY:
    return spec_get_float32(ctx, cfg, path, "gain", 1.0, &out->gain);
  case NNC_INIT_ZEROS:
  case NNC_INIT_ONES:
  case NNC_INIT_UNIT_FORGET_BIAS: /* made by the LSTM layer, never parsed */
    return NNC_OK;
  }
  return NNC_OK;
}

int spec_parse_init(const spec_ctx *ctx, const cJSON *item, const char *path,
                    const char *default_name, nnc_spec_init *out) {
  const init_preset *preset;
  if (spec_is_absent(item)) {
    preset = find_preset(default_name);
    if (!preset) return spec_fail(ctx, path, "internal: unknown default initializer");
    apply_preset(preset, out);
    return NNC_OK;
  }
  if (cJSON_IsString(item)) {
    preset = find_preset(item->valuestring);
    if (!preset) return spec_fail_expected(ctx, path, item, "an initializer (" INIT_LIST ")");
    apply_preset(preset, out);
    return NNC_OK;
  }
  if (!cJSON_IsObject(item))
    return spec_fail_expected(ctx, path, item,
                              "an initializer name or {\"class_name\": ..., \"config\": {...}}");
  char cls_path[NNC_PATH_MAX], cfg_path[NNC_PATH_MAX];
  spec_path_key(cls_path, path, "class_name");
  spec_path_key(cfg_path, path, "config");
  const cJSON *cls = spec_child(item, "class_name");
  if (!cJSON_IsString(cls))
    return spec_fail_expected(ctx, cls_path, cls, "an initializer class name (" INIT_LIST ")");
  preset = find_preset(cls->valuestring);
  if (!preset)
    return spec_fail_expected(ctx, cls_path, cls, "an initializer class name (" INIT_LIST ")");
  const cJSON *cfg = spec_child(item, "config");
  if (!spec_is_absent(cfg) && !cJSON_IsObject(cfg))
    return spec_fail_expected(ctx, cfg_path, cfg, "an object");
  apply_preset(preset, out);
  return parse_config(ctx, cJSON_IsObject(cfg) ? cfg : NULL, cfg_path, out);
}
