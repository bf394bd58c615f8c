/* One loss of a compile config: a name string ("mse", "huber", "Huber"), a
 * Keras 3 serialized function ({"class_name": "function", "config": "mae"})
 * or a class object ({"class_name": "Huber", "config": {...}}). The classes,
 * their config keys and defaults are the rows of compiler/losses/losses.c;
 * an unknown key is an error (Keras's constructors refuse it too). */
#include <math.h>
#include <string.h>

#include "base/base.h"
#include "compiler/losses/losses.h"
#include "compiler/expr/expr_spec.h"
#include "compiler/spec/spec_internal.h"

static void set_defaults(const loss_class *c, const char *name, nnc_spec_loss *out) {
  out->kind = c->kind;
  nnc_strlcpy(out->name, name, sizeof out->name);
  out->reduction = NNC_REDUCTION_SUM_OVER_BATCH_SIZE;
  out->axis = -1;
  out->delta = 1.0;
  out->alpha = c->alpha;
  out->beta = c->beta;
  out->gamma = c->gamma;
}

static const struct {
  unsigned option;
  const char *key;
} option_keys[] = {
    {LOSS_OPT_FROM_LOGITS, "from_logits"},
    {LOSS_OPT_LABEL_SMOOTHING, "label_smoothing"},
    {LOSS_OPT_AXIS, "axis"},
    {LOSS_OPT_AXES, "axis"},
    {LOSS_OPT_IGNORE_CLASS, "ignore_class"},
    {LOSS_OPT_DELTA, "delta"},
    {LOSS_OPT_ALPHA, "alpha"},
    {LOSS_OPT_BETA, "beta"},
    {LOSS_OPT_GAMMA, "gamma"},
    {LOSS_OPT_CLASS_BALANCING, "apply_class_balancing"},
};

static int known_key(const loss_class *c, const char *key) {
  if (!strcmp(key, "name") || !strcmp(key, "reduction") || !strcmp(key, "dtype")) return 1;
  for (size_t i = 0; i < sizeof option_keys / sizeof option_keys[0]; i++)
    if ((c->options & option_keys[i].option) && !strcmp(key, option_keys[i].key)) return 1;
  return 0;
}

static int check_keys(const spec_ctx *ctx, const loss_class *c, const cJSON *cfg,
                      const char *path) {
  for (const cJSON *k = cfg ? cfg->child : NULL; k; k = k->next) {
    const char *key = k->string ? k->string : "";
    if (known_key(c, key)) continue;
    char own[200] = "";
    for (size_t i = 0; i < sizeof option_keys / sizeof option_keys[0]; i++)
      if ((c->options & option_keys[i].option) && !strstr(own, option_keys[i].key)) {
        strncat(own, option_keys[i].key, sizeof own - strlen(own) - 1);
        strncat(own, ", ", sizeof own - strlen(own) - 1);
      }
    char key_path[NNC_PATH_MAX];
    spec_path_key(key_path, path, key);
    return spec_fail(ctx, key_path,
                     "expected an argument Keras 3's %s accepts (%sname, reduction, dtype), got an "
                     "unknown key",
                     c->class_name, own);
  }
  return NNC_OK;
}

/* "sum_over_batch_size" (also "mean", tf.keras 2's "auto"), "sum",
 * "mean_with_sample_weight", "none" or null */
static int parse_reduction(const spec_ctx *ctx, const cJSON *cfg, const char *path,
                           nnc_loss_reduction *out) {
  const cJSON *item = spec_child(cfg, "reduction");
  if (!item) return NNC_OK;
  static const struct {
    const char *name;
    nnc_loss_reduction r;
  } names[] = {{"sum_over_batch_size", NNC_REDUCTION_SUM_OVER_BATCH_SIZE},
               {"mean", NNC_REDUCTION_SUM_OVER_BATCH_SIZE},
               {"auto", NNC_REDUCTION_SUM_OVER_BATCH_SIZE},
               {"sum", NNC_REDUCTION_SUM},
               {"mean_with_sample_weight", NNC_REDUCTION_MEAN_WITH_SAMPLE_WEIGHT},
               {"none", NNC_REDUCTION_NONE}};
  if (cJSON_IsNull(item)) {
    *out = NNC_REDUCTION_NONE;
    return NNC_OK;
  }
  for (size_t i = 0; cJSON_IsString(item) && i < sizeof names / sizeof names[0]; i++)
    if (!strcmp(item->valuestring, names[i].name)) {
      *out = names[i].r;
      return NNC_OK;
    }
  char item_path[NNC_PATH_MAX];
  spec_path_key(item_path, path, "reduction");
  return spec_fail_expected(ctx, item_path, item,
                            "a reduction (\"sum_over_batch_size\", \"sum\", \"mean\", "
                            "\"mean_with_sample_weight\", \"none\" or null)");
}

/* null, "float32" or a float32 DTypePolicy: nnc computes in float32 only */
static int check_dtype(const spec_ctx *ctx, const cJSON *cfg, const char *path) {
  const cJSON *item = spec_child(cfg, "dtype");
  if (spec_is_absent(item)) return NNC_OK;
  const cJSON *name = item;
  if (cJSON_IsObject(item)) name = spec_child(spec_child(item, "config"), "name");
  if (cJSON_IsString(name) && !strcmp(name->valuestring, "float32")) return NNC_OK;
  char item_path[NNC_PATH_MAX];
  spec_path_key(item_path, path, "dtype");
  return spec_fail_unsupported(ctx, item_path, item, "a loss dtype other than float32");
}

/* An axis int other than the batch axis 0 (Keras's default -1: the last);
 * checked against the output's rank when the loss is lowered */
int loss_parse_axis(const spec_ctx *ctx, const cJSON *cfg, const char *path, int *out) {
  const cJSON *item = spec_child(cfg, "axis");
  if (spec_is_absent(item)) return NNC_OK;
  char item_path[NNC_PATH_MAX];
  spec_path_key(item_path, path, "axis");
  /* range first: converting a double beyond int to int is undefined */
  if (!cJSON_IsNumber(item) ||
      !(item->valuedouble >= -(NNC_MAX_RANK - 1) && item->valuedouble <= NNC_MAX_RANK - 1) ||
      item->valuedouble != floor(item->valuedouble) || item->valuedouble == 0)
    return spec_fail_expected(ctx, item_path, item,
                              "an integer axis other than the batch axis 0 (%d to %d, negative "
                              "from the end)",
                              -(NNC_MAX_RANK - 1), NNC_MAX_RANK - 1);
  *out = (int)item->valuedouble;
  return NNC_OK;
}

static int one_axis(const spec_ctx *ctx, const cJSON *item, const char *path, int *out) {
  if (!cJSON_IsNumber(item) ||
      !(item->valuedouble >= -NNC_MAX_RANK && item->valuedouble < NNC_MAX_RANK) ||
      item->valuedouble != floor(item->valuedouble) || item->valuedouble == 0)
    return spec_fail_expected(ctx, path, item,
                              "an axis other than the batch axis 0 (an integer from %d to %d)",
                              -NNC_MAX_RANK, NNC_MAX_RANK - 1);
  *out = (int)item->valuedouble;
  return NNC_OK;
}

/* Dice, Tversky: null (every axis, the batch too), an int or a list of ints */
static int parse_axes(const spec_ctx *ctx, const cJSON *cfg, const char *path, nnc_spec_loss *out) {
  const cJSON *item = spec_child(cfg, "axis");
  if (spec_is_absent(item)) return NNC_OK;
  char item_path[NNC_PATH_MAX], elem_path[NNC_PATH_MAX];
  spec_path_key(item_path, path, "axis");
  if (!cJSON_IsArray(item)) {
    out->n_axes = 1;
    return one_axis(ctx, item, item_path, &out->axes[0]);
  }
  int n = cJSON_GetArraySize(item);
  if (n < 1 || n > NNC_MAX_RANK - 1)
    return spec_fail_expected(ctx, item_path, item, "a list of 1 to %d axes", NNC_MAX_RANK - 1);
  const cJSON *elem;
  int i = 0, rc;
  cJSON_ArrayForEach(elem, item) {
    spec_path_index(elem_path, item_path, i);
    if ((rc = one_axis(ctx, elem, elem_path, &out->axes[i]))) return rc;
    for (int j = 0; j < i; j++)
      if (out->axes[j] == out->axes[i])
        return spec_fail_expected(ctx, elem_path, elem, "an axis not listed before");
    i++;
  }
  out->n_axes = n;
  return NNC_OK;
}

static int parse_ignore_class(const spec_ctx *ctx, const cJSON *cfg, const char *path,
                              nnc_spec_loss *out) {
  const cJSON *item = spec_child(cfg, "ignore_class");
  if (spec_is_absent(item)) return NNC_OK;
  char item_path[NNC_PATH_MAX];
  spec_path_key(item_path, path, "ignore_class");
  /* range first: 1e30 converted to int64 would be undefined */
  if (!cJSON_IsNumber(item) || !(item->valuedouble >= -16777216 && item->valuedouble <= 16777216) ||
      item->valuedouble != floor(item->valuedouble))
    return spec_fail_expected(ctx, item_path, item,
                              "null or an integer class index (at most 2^24 in magnitude)");
  out->has_ignore_class = 1;
  out->ignore_class = (int64_t)item->valuedouble;
  return NNC_OK;
}

static int parse_options(const spec_ctx *ctx, const loss_class *c, const cJSON *cfg,
                         const char *path, nnc_spec_loss *out) {
  int rc;
  unsigned o = c->options;
  const cJSON *name = spec_child(cfg, "name");
  char name_path[NNC_PATH_MAX], item_path[NNC_PATH_MAX];
  spec_path_key(name_path, path, "name");
  if (!spec_is_absent(name) && (rc = spec_copy_name(ctx, name, name_path, out->name))) return rc;
  if ((rc = check_keys(ctx, c, cfg, path)) ||
      (rc = parse_reduction(ctx, cfg, path, &out->reduction)) || (rc = check_dtype(ctx, cfg, path)))
    return rc;
  if ((o & LOSS_OPT_FROM_LOGITS) &&
      (rc = spec_get_bool(ctx, cfg, path, "from_logits", 0, &out->from_logits)))
    return rc;
  if (o & LOSS_OPT_LABEL_SMOOTHING) {
    if ((rc = spec_get_float32(ctx, cfg, path, "label_smoothing", 0.0, &out->label_smoothing)))
      return rc;
    if (!(out->label_smoothing >= 0 && out->label_smoothing <= 1)) {
      spec_path_key(item_path, path, "label_smoothing");
      return spec_fail_expected(ctx, item_path, spec_child(cfg, "label_smoothing"),
                                "a label smoothing in [0, 1]");
    }
  }
  if ((o & LOSS_OPT_AXIS) && (rc = loss_parse_axis(ctx, cfg, path, &out->axis))) return rc;
  if ((o & LOSS_OPT_AXES) && (rc = parse_axes(ctx, cfg, path, out))) return rc;
  if ((o & LOSS_OPT_IGNORE_CLASS) && (rc = parse_ignore_class(ctx, cfg, path, out))) return rc;
  if ((o & LOSS_OPT_DELTA) && (rc = spec_get_float32(ctx, cfg, path, "delta", 1.0, &out->delta)))
    return rc;
  if ((o & LOSS_OPT_ALPHA) &&
      (rc = spec_get_float32(ctx, cfg, path, "alpha", c->alpha, &out->alpha)))
    return rc;
  if ((o & LOSS_OPT_BETA) && (rc = spec_get_float32(ctx, cfg, path, "beta", c->beta, &out->beta)))
    return rc;
  if ((o & LOSS_OPT_GAMMA) &&
      (rc = spec_get_float32(ctx, cfg, path, "gamma", c->gamma, &out->gamma)))
    return rc;
  if ((o & LOSS_OPT_CLASS_BALANCING) &&
      (rc = spec_get_bool(ctx, cfg, path, "apply_class_balancing", 0, &out->apply_class_balancing)))
    return rc;
  return NNC_OK;
}

int spec_parse_loss(const spec_ctx *ctx, const cJSON *item, const char *path, nnc_spec_loss *out) {
  memset(out, 0, sizeof *out);
  if (expr_spec_is(item)) /* compiler/expr */
    return expr_spec_parse(ctx, item, path, "custom_loss", &out->expr, out->name, NULL);
  const loss_class *c;
  if (cJSON_IsString(item)) {
    if (!(c = loss_lookup(item->valuestring)))
      return spec_fail_expected(ctx, path, item, "a loss (%s)", loss_names_text());
    set_defaults(c, c->function, out);
    return NNC_OK;
  }
  if (!cJSON_IsObject(item))
    return spec_fail_expected(ctx, path, item,
                              "a loss name or {\"class_name\": ..., \"config\": {...}}");
  char cls_path[NNC_PATH_MAX], cfg_path[NNC_PATH_MAX];
  spec_path_key(cls_path, path, "class_name");
  spec_path_key(cfg_path, path, "config");
  const char *cls = spec_class_name(item);
  const cJSON *cfg = spec_child(item, "config");
  if (cls && strcmp(cls, "function") == 0) { /* Keras 3 serialized loss function */
    if (!cJSON_IsString(cfg) || !(c = loss_lookup(cfg->valuestring)))
      return spec_fail_expected(ctx, cfg_path, cfg, "a loss function name (%s)", loss_names_text());
    set_defaults(c, c->function, out);
    return NNC_OK;
  }
  if (!cls || !(c = loss_lookup(cls)))
    return spec_fail_expected(ctx, cls_path, spec_child(item, "class_name"), "a loss class (%s)",
                              loss_names_text());
  if (!spec_is_absent(cfg) && !cJSON_IsObject(cfg))
    return spec_fail_expected(ctx, cfg_path, cfg, "an object");
  if (!cJSON_IsObject(cfg)) cfg = NULL;
  set_defaults(c, c->default_name, out);
  return parse_options(ctx, c, cfg, cfg_path, out);
}
