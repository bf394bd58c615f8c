/* Regularizers (kernel_regularizer, bias_regularizer, activity_regularizer):
 * Keras 3's keras/src/regularizers/regularizers.py. A string names a class
 * with its defaults ("l2" is L2(0.01)); {class_name, config} gives the
 * arguments. Factors must be non-negative finite numbers, as Keras's
 * validate_float_arg requires; unknown arguments are errors. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "base/base.h"
#include "compiler/spec/spec_internal.h"

#define REGULARIZER_LIST "L1, L2, L1L2, OrthogonalRegularizer"

typedef struct reg_class {
  const char *name; /* normalized (spec_normalize): l1, l2, l1l2 */
  const char *class_name;
  nnc_regularizer_kind kind;
  double l1, l2;       /* defaults */
  const char *keys[3]; /* its config's arguments */
} reg_class;

static const reg_class classes[] = {
    {"l1", "L1", NNC_REG_L1L2, 0.01, 0.0, {"l1", NULL, NULL}},
    {"l2", "L2", NNC_REG_L1L2, 0.0, 0.01, {"l2", NULL, NULL}},
    {"l1l2", "L1L2", NNC_REG_L1L2, 0.0, 0.0, {"l1", "l2", NULL}},
    {"orthogonalregularizer",
     "OrthogonalRegularizer",
     NNC_REG_ORTHOGONAL,
     0,
     0,
     {"factor", "mode", NULL}},
};

static const reg_class *find(const char *name) {
  char norm[32];
  if (!spec_normalize(name, norm, sizeof norm)) return NULL;
  for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
    if (!strcmp(norm, classes[i].name)) return &classes[i];
  return NULL;
}

static void set_defaults(const reg_class *c, const char *path, nnc_spec_regularizer *out) {
  memset(out, 0, sizeof *out);
  out->kind = c->kind;
  out->l1 = c->l1;
  out->l2 = c->l2;
  out->factor = 0.01;
  nnc_strlcpy(out->path, path, sizeof out->path);
}

/* validate_float_arg: a non-negative finite number (float32 for the kernels) */
static int factor(const spec_ctx *ctx, const cJSON *cfg, const char *path, const char *key,
                  double *out) {
  const cJSON *item = spec_child(cfg, key);
  if (spec_is_absent(item)) return NNC_OK;
  char p[NNC_PATH_MAX];
  spec_path_key(p, path, key);
  if (!cJSON_IsNumber(item) || !(item->valuedouble >= 0 && item->valuedouble <= FLT_MAX))
    return spec_fail_expected(ctx, p, item, "a non-negative number (float32), as Keras requires");
  *out = item->valuedouble;
  return NNC_OK;
}

static int parse_config(const spec_ctx *ctx, const reg_class *c, const cJSON *cfg, const char *path,
                        nnc_spec_regularizer *out) {
  char p[NNC_PATH_MAX];
  for (const cJSON *k = cfg ? cfg->child : NULL; k; k = k->next) {
    int known = 0;
    for (int i = 0; i < 3 && c->keys[i]; i++) known |= !strcmp(k->string, c->keys[i]);
    if (known) continue;
    spec_path_key(p, path, k->string);
    return spec_fail(
        ctx, p, "expected an argument Keras 3's %s accepts (%s%s%s), got an unknown key",
        c->class_name, c->keys[0], c->keys[1] ? ", " : "", c->keys[1] ? c->keys[1] : "");
  }
  int rc;
  if (c->kind == NNC_REG_L1L2)
    return (rc = factor(ctx, cfg, path, "l1", &out->l1)) ? rc
                                                         : factor(ctx, cfg, path, "l2", &out->l2);
  if ((rc = factor(ctx, cfg, path, "factor", &out->factor))) return rc;
  const cJSON *mode = spec_child(cfg, "mode");
  if (spec_is_absent(mode)) return NNC_OK;
  spec_path_key(p, path, "mode");
  if (!cJSON_IsString(mode) ||
      (strcmp(mode->valuestring, "rows") && strcmp(mode->valuestring, "columns")))
    return spec_fail_expected(ctx, p, mode, "\"rows\" or \"columns\"");
  out->columns = !strcmp(mode->valuestring, "columns");
  return NNC_OK;
}

int spec_parse_regularizer(const spec_ctx *ctx, const cJSON *item, const char *path,
                           nnc_spec_regularizer *out) {
  memset(out, 0, sizeof *out);
  if (spec_is_absent(item)) return NNC_OK;
  const reg_class *c;
  if (cJSON_IsString(item)) {
    if (!(c = find(item->valuestring)))
      return spec_fail_expected(ctx, path, item, "a regularizer (" REGULARIZER_LIST ")");
    set_defaults(c, path, out);
    return NNC_OK;
  }
  if (!cJSON_IsObject(item))
    return spec_fail_expected(
        ctx, path, item, "null, a regularizer name or {\"class_name\": ..., \"config\": {...}}");
  char cls_path[NNC_PATH_MAX], cfg_path[NNC_PATH_MAX];
  spec_path_key(cls_path, path, "class_name");
  spec_path_key(cfg_path, path, "config");
  const cJSON *cls = spec_child(item, "class_name");
  if (!cJSON_IsString(cls) || !(c = find(cls->valuestring)))
    return spec_fail_expected(ctx, cls_path, cls,
                              "a regularizer class name (" REGULARIZER_LIST ")");
  const cJSON *cfg = spec_child(item, "config");
  if (!spec_is_absent(cfg) && !cJSON_IsObject(cfg))
    return spec_fail_expected(ctx, cfg_path, cfg, "an object");
  set_defaults(c, path, out);
  return parse_config(ctx, c, cJSON_IsObject(cfg) ? cfg : NULL, cfg_path, out);
}
