/* Weight constraints (kernel_constraint, bias_constraint): Keras 3's
 * keras/src/constraints/constraints.py. A string names a class with its
 * defaults ("max_norm" is MaxNorm(2, axis=0)); {class_name, config} gives the
 * arguments; unknown arguments are errors. The axes are checked against the
 * weight's rank when the layer is lowered. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "base/base.h"
#include "compiler/spec/spec_internal.h"

#define CONSTRAINT_LIST "MaxNorm, MinMaxNorm, NonNeg, UnitNorm"

typedef struct constraint_class {
  const char *name; /* normalized (spec_normalize) */
  const char *class_name;
  nnc_constraint_kind kind;
  const char *keys[5]; /* its config's arguments */
} constraint_class;

static const constraint_class classes[] = {
    {"maxnorm", "MaxNorm", NNC_CONSTRAINT_MAX_NORM, {"max_value", "axis", NULL}},
    {"minmaxnorm",
     "MinMaxNorm",
     NNC_CONSTRAINT_MIN_MAX_NORM,
     {"min_value", "max_value", "rate", "axis", NULL}},
    {"nonneg", "NonNeg", NNC_CONSTRAINT_NON_NEG, {NULL}},
    {"unitnorm", "UnitNorm", NNC_CONSTRAINT_UNIT_NORM, {"axis", NULL}},
};

static const constraint_class *find(const char *name) {
  char norm[32];
  if (!spec_normalize(name, norm, sizeof norm)) return NULL;
  for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
    if (!strcmp(norm, classes[i].name)) return &classes[i];
  return NULL;
}

static void set_defaults(const constraint_class *c, const char *path, nnc_spec_constraint *out) {
  memset(out, 0, sizeof *out);
  out->kind = c->kind;
  out->max_value = c->kind == NNC_CONSTRAINT_MAX_NORM ? 2.0 : 1.0;
  out->min_value = 0.0;
  out->rate = 1.0;
  out->n_axes = 1; /* axis=0 */
  nnc_strlcpy(out->path, path, sizeof out->path);
}

/* axis: an integer or a list of integers (Keras sums over all of them) */
static int parse_axis(const spec_ctx *ctx, const cJSON *cfg, const char *path,
                      nnc_spec_constraint *out) {
  const cJSON *item = spec_child(cfg, "axis");
  if (spec_is_absent(item)) return NNC_OK;
  char p[NNC_PATH_MAX];
  spec_path_key(p, path, "axis");
  const cJSON *one = cJSON_IsArray(item) ? item->child : item;
  int n = 0;
  for (; one; one = cJSON_IsArray(item) ? one->next : NULL) {
    double v = cJSON_IsNumber(one) ? one->valuedouble : NAN;
    if (!(v == floor(v) && fabs(v) < NNC_MAX_RANK) || n >= NNC_MAX_RANK)
      return spec_fail_expected(ctx, p, item, "an axis or a list of axes (integers)");
    out->axes[n++] = (int)v;
  }
  if (n == 0) return spec_fail_expected(ctx, p, item, "an axis or a non-empty list of axes");
  out->n_axes = n;
  return NNC_OK;
}

static int parse_config(const spec_ctx *ctx, const constraint_class *c, const cJSON *cfg,
                        const char *path, nnc_spec_constraint *out) {
  char p[NNC_PATH_MAX];
  for (const cJSON *k = cfg ? cfg->child : NULL; k; k = k->next) {
    int known = 0;
    for (int i = 0; c->keys[i]; i++) known |= !strcmp(k->string, c->keys[i]);
    if (known) continue;
    spec_path_key(p, path, k->string);
    return spec_fail(ctx, p, "expected an argument Keras 3's %s accepts, got an unknown key",
                     c->class_name);
  }
  int rc;
  if ((rc = spec_get_float32(ctx, cfg, path, "max_value", out->max_value, &out->max_value)) ||
      (rc = spec_get_float32(ctx, cfg, path, "min_value", out->min_value, &out->min_value)) ||
      (rc = spec_get_float32(ctx, cfg, path, "rate", out->rate, &out->rate)))
    return rc;
  return parse_axis(ctx, cfg, path, out);
}

int spec_parse_constraint(const spec_ctx *ctx, const cJSON *item, const char *path,
                          nnc_spec_constraint *out) {
  memset(out, 0, sizeof *out);
  if (spec_is_absent(item)) return NNC_OK;
  const constraint_class *c;
  if (cJSON_IsString(item)) {
    if (!(c = find(item->valuestring)))
      return spec_fail_expected(ctx, path, item, "a constraint (" CONSTRAINT_LIST ")");
    set_defaults(c, path, out);
    return NNC_OK;
  }
  if (!cJSON_IsObject(item))
    return spec_fail_expected(
        ctx, path, item, "null, a constraint name or {\"class_name\": ..., \"config\": {...}}");
  char cls_path[NNC_PATH_MAX], cfg_path[NNC_PATH_MAX];
  spec_path_key(cls_path, path, "class_name");
  spec_path_key(cfg_path, path, "config");
  const cJSON *cls = spec_child(item, "class_name");
  if (!cJSON_IsString(cls) || !(c = find(cls->valuestring)))
    return spec_fail_expected(ctx, cls_path, cls, "a constraint class name (" CONSTRAINT_LIST ")");
  const cJSON *cfg = spec_child(item, "config");
  if (!spec_is_absent(cfg) && !cJSON_IsObject(cfg))
    return spec_fail_expected(ctx, cfg_path, cfg, "an object");
  set_defaults(c, path, out);
  return parse_config(ctx, c, cJSON_IsObject(cfg) ? cfg : NULL, cfg_path, out);
}
