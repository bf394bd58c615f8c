/* The optimizer of a compile config: "adam", {"class_name": "Adam", "config":
 * {...}} (Keras 2/3, h5 "Custom>Adam"), or tfjs's {"class_name": "Adam",
 * "config": {"learningRate": ..., "beta1": ...}}. Missing values take Keras 3's
 * defaults (keras-semantics.md §4.2). Options nnc cannot honour yet (clipping,
 * weight decay, EMA, schedules) are errors, not silent differences. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "base/schedule.h"
#include "compiler/spec/spec_internal.h"

#define OPTIMIZER_LIST "SGD, RMSprop, Adam"

static void set_defaults(nnc_optimizer_kind kind, nnc_spec_optimizer *out) {
  memset(out, 0, sizeof *out);
  out->kind = kind;
  out->learning_rate = kind == NNC_OPT_SGD ? 0.01 : 0.001;
  out->rho = 0.9;
  out->epsilon = 1e-7;
  out->beta_1 = 0.9;
  out->beta_2 = 0.999;
}

/* "sgd", "SGD", "RMSprop", "RMSProp" (tfjs), "Custom>Adam" (tf.keras 2.11+ h5).
 * tfjs "Momentum" is SGD with momentum. Returns 0 when unknown. */
static int lookup(const char *name, nnc_optimizer_kind *out, int *tfjs_momentum) {
  if (strncmp(name, "Custom>", 7) == 0) name += 7;
  char norm[16];
  *tfjs_momentum = 0;
  if (!spec_normalize(name, norm, sizeof norm)) return 0;
  if (strcmp(norm, "sgd") == 0)
    *out = NNC_OPT_SGD;
  else if (strcmp(norm, "rmsprop") == 0)
    *out = NNC_OPT_RMSPROP;
  else if (strcmp(norm, "adam") == 0)
    *out = NNC_OPT_ADAM;
  else if (strcmp(norm, "momentum") == 0)
    *out = NNC_OPT_SGD, *tfjs_momentum = 1;
  else
    return 0;
  return 1;
}

/* cfg.key (or cfg.alt_key) as a number in [lo, hi]; missing keeps *out.
 * hi = INFINITY means up to FLT_MAX: the update kernels compute in float32. */
static int get_ranged(const spec_ctx *ctx, const cJSON *cfg, const char *path, const char *key,
                      const char *alt_key, double lo, double hi, double *out) {
  const cJSON *item = spec_child(cfg, key);
  if (spec_is_absent(item) && alt_key) {
    item = spec_child(cfg, alt_key);
    key = alt_key;
  }
  if (spec_is_absent(item)) return NNC_OK;
  char item_path[NNC_PATH_MAX];
  spec_path_key(item_path, path, key);
  /* 1e400 parses as inf, 1e300 becomes inf as float32: refused like any value out of range */
  double top = isinf(hi) ? FLT_MAX : hi;
  if (!cJSON_IsNumber(item) || !(item->valuedouble >= lo && item->valuedouble <= top)) {
    if (isinf(hi))
      return spec_fail_expected(ctx, item_path, item,
                                "a finite number >= %g within the float32 range (at most 3.4e38)",
                                lo);
    return spec_fail_expected(ctx, item_path, item, "a number in [%g, %g]", lo, hi);
  }
  *out = item->valuedouble;
  return NNC_OK;
}

static int parse_learning_rate(const spec_ctx *ctx, const cJSON *cfg, const char *path,
                               nnc_spec_optimizer *out) {
  static const char *const keys[] = {"learning_rate", "lr", "learningRate"};
  const char *seen = NULL;
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    const cJSON *item = spec_child(cfg, keys[i]);
    if (spec_is_absent(item)) continue;
    if (seen) { /* which one was meant? */
      char item_path[NNC_PATH_MAX];
      spec_path_key(item_path, path, keys[i]);
      return spec_fail(ctx, item_path, "expected one learning rate, got %s and %s", seen, keys[i]);
    }
    seen = keys[i];
  }
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    const cJSON *item = spec_child(cfg, keys[i]);
    if (spec_is_absent(item)) continue;
    if (cJSON_IsObject(item)) { /* a LearningRateSchedule (base/schedule.c) */
      char item_path[NNC_PATH_MAX];
      spec_path_key(item_path, path, keys[i]);
      if (schedule_from_json(item, ctx->source, item_path, &out->schedule, &out->schedule_storage,
                             ctx->st))
        return ctx->st->code;
      out->learning_rate = schedule_eval(&out->schedule, 0);
      return NNC_OK;
    }
    return get_ranged(ctx, cfg, path, keys[i], NULL, 0.0, INFINITY, &out->learning_rate);
  }
  return NNC_OK;
}

/* Keys every Keras optimizer has whose non-default values nnc cannot honour. */
static int check_unsupported(const spec_ctx *ctx, const cJSON *cfg, const char *path,
                             int decay_is_rho) {
  static const char *const must_be_null[][2] = {
      {"clipnorm", "gradient clipping (clipnorm)"},
      {"clipvalue", "gradient clipping (clipvalue)"},
      {"global_clipnorm", "gradient clipping (global_clipnorm)"},
      {"loss_scale_factor", "loss scaling"},
  };
  int rc;
  for (size_t i = 0; i < sizeof must_be_null / sizeof must_be_null[0]; i++)
    if ((rc = spec_require_null(ctx, cfg, path, must_be_null[i][0], must_be_null[i][1]))) return rc;
  /* Zero is as good as null for these. */
  static const char *const must_be_zero[][2] = {
      {"weight_decay", "weight decay"},
      {"decay", "legacy learning-rate decay (decay)"},
  };
  char item_path[NNC_PATH_MAX];
  for (size_t i = 0; i < sizeof must_be_zero / sizeof must_be_zero[0]; i++) {
    const cJSON *item = spec_child(cfg, must_be_zero[i][0]);
    if (decay_is_rho && strcmp(must_be_zero[i][0], "decay") == 0) continue;
    if (spec_is_absent(item) || (cJSON_IsNumber(item) && item->valuedouble == 0)) continue;
    spec_path_key(item_path, path, must_be_zero[i][0]);
    return spec_fail_unsupported(ctx, item_path, item, must_be_zero[i][1]);
  }
  /* Keras 3 treats 0 like null and raises for 1 or less ("must be an integer >= 2") */
  const cJSON *accum = spec_child(cfg, "gradient_accumulation_steps");
  if (!spec_is_absent(accum) && !(cJSON_IsNumber(accum) && accum->valuedouble == 0)) {
    spec_path_key(item_path, path, "gradient_accumulation_steps");
    double v = cJSON_IsNumber(accum) ? accum->valuedouble : 0;
    if (!cJSON_IsNumber(accum) || !isfinite(v) || v != floor(v) || v < 2)
      return spec_fail_expected(ctx, item_path, accum,
                                "null or an integer >= 2, as Keras 3 requires");
    return spec_fail_unsupported(ctx, item_path, accum, "gradient accumulation");
  }
  int use_ema;
  if ((rc = spec_get_bool(ctx, cfg, path, "use_ema", 0, &use_ema))) return rc;
  if (use_ema) {
    spec_path_key(item_path, path, "use_ema");
    return spec_fail_unsupported(ctx, item_path, spec_child(cfg, "use_ema"),
                                 "an exponential moving average of weights (use_ema)");
  }
  return NNC_OK;
}

/* The arguments each optimizer's __init__ takes in Keras 3 (keras/src/optimizers):
 * BaseOptimizer raises "Argument(s) not recognized" for anything else, except
 * "decay", which it pops (nnc refuses a non-zero one, see check_unsupported). */
static const char *const base_keys[] = {"name",
                                        "learning_rate",
                                        "weight_decay",
                                        "clipnorm",
                                        "clipvalue",
                                        "global_clipnorm",
                                        "use_ema",
                                        "ema_momentum",
                                        "ema_overwrite_frequency",
                                        "loss_scale_factor",
                                        "gradient_accumulation_steps",
                                        "decay",
                                        NULL};
static const char *const kind_keys[][5] = {
    [NNC_OPT_SGD] = {"momentum", "nesterov", NULL},
    [NNC_OPT_RMSPROP] = {"rho", "momentum", "epsilon", "centered", NULL},
    [NNC_OPT_ADAM] = {"beta_1", "beta_2", "epsilon", "amsgrad", NULL},
};
static const char *const kind_names[] = {"SGD", "RMSprop", "Adam"};
/* tf.keras 2 configs also hold these ("lr": its legacy learning_rate) */
static const char *const keras2_keys[] = {"lr", "jit_compile", "is_legacy_optimizer",
                                          "use_nesterov", NULL};
/* tfjs optimizer configs (a converted Keras 2 file has the keys above too) */
static const char *const tfjs_keys[] = {"learningRate", "beta1", "beta2", "useNesterov", NULL};

static int in_list(const char *key, const char *const *list) {
  for (; *list; list++)
    if (!strcmp(key, *list)) return 1;
  return 0;
}

static int check_known_keys(const spec_ctx *ctx, const cJSON *cfg, const char *path,
                            nnc_optimizer_kind kind) {
  int keras2 = ctx->format != NNC_FORMAT_KERAS3, tfjs = ctx->format == NNC_FORMAT_TFJS;
  for (const cJSON *c = cfg ? cfg->child : NULL; c; c = c->next) {
    const char *key = c->string ? c->string : "";
    if (in_list(key, base_keys) || in_list(key, kind_keys[kind]) ||
        (keras2 && in_list(key, keras2_keys)) || (tfjs && in_list(key, tfjs_keys)))
      continue;
    char key_path[NNC_PATH_MAX];
    spec_path_key(key_path, path, key);
    if (!strcmp(key, "lr"))
      return spec_fail(ctx, key_path,
                       "expected learning_rate: Keras 3 does not recognize the legacy \"lr\"");
    char own[96] = "";
    for (const char *const *k = kind_keys[kind]; *k; k++) {
      strncat(own, *k, sizeof own - strlen(own) - 1);
      strncat(own, ", ", sizeof own - strlen(own) - 1);
    }
    return spec_fail(ctx, key_path,
                     "expected an argument Keras 3's %s accepts (%sor a base optimizer argument: "
                     "learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, "
                     "ema_momentum, ema_overwrite_frequency, loss_scale_factor, "
                     "gradient_accumulation_steps, name), got an unknown key",
                     kind_names[kind], own);
  }
  return NNC_OK;
}

static int parse_config(const spec_ctx *ctx, const cJSON *cfg, const char *path,
                        nnc_spec_optimizer *out) {
  int rc;
  int tfjs = ctx->format == NNC_FORMAT_TFJS;
  if ((rc = check_known_keys(ctx, cfg, path, out->kind))) return rc;
  if ((rc = parse_learning_rate(ctx, cfg, path, out))) return rc;
  switch (out->kind) {
  case NNC_OPT_SGD: {
    static const char *const nesterov_keys[] = {"nesterov", "use_nesterov", "useNesterov"};
    if ((rc = get_ranged(ctx, cfg, path, "momentum", NULL, 0.0, 1.0, &out->momentum))) return rc;
    for (size_t i = 0; i < sizeof nesterov_keys / sizeof nesterov_keys[0]; i++)
      if (!spec_is_absent(spec_child(cfg, nesterov_keys[i]))) {
        if ((rc = spec_get_bool(ctx, cfg, path, nesterov_keys[i], 0, &out->nesterov))) return rc;
        break;
      }
    break;
  }
  case NNC_OPT_RMSPROP:
    /* tfjs names rho "decay"; in Keras "decay" is the legacy lr decay. */
    if ((rc = get_ranged(ctx, cfg, path, "rho", tfjs ? "decay" : NULL, 0.0, 1.0, &out->rho)) ||
        (rc = get_ranged(ctx, cfg, path, "momentum", NULL, 0.0, 1.0, &out->momentum)) ||
        (rc = get_ranged(ctx, cfg, path, "epsilon", NULL, 0.0, INFINITY, &out->epsilon)) ||
        (rc = spec_get_bool(ctx, cfg, path, "centered", 0, &out->centered)))
      return rc;
    break;
  case NNC_OPT_ADAM:
    if ((rc = get_ranged(ctx, cfg, path, "beta_1", "beta1", 0.0, 1.0, &out->beta_1)) ||
        (rc = get_ranged(ctx, cfg, path, "beta_2", "beta2", 0.0, 1.0, &out->beta_2)) ||
        (rc = get_ranged(ctx, cfg, path, "epsilon", NULL, 0.0, INFINITY, &out->epsilon)) ||
        (rc = spec_get_bool(ctx, cfg, path, "amsgrad", 0, &out->amsgrad)))
      return rc;
    break;
  }
  return check_unsupported(ctx, cfg, path, tfjs && out->kind == NNC_OPT_RMSPROP);
}

int spec_parse_optimizer(const spec_ctx *ctx, const cJSON *item, const char *path,
                         nnc_spec_optimizer *out) {
  nnc_optimizer_kind kind = NNC_OPT_RMSPROP;
  int tfjs_momentum = 0;
  if (spec_is_absent(item)) {
    set_defaults(NNC_OPT_RMSPROP, out); /* Keras's compile(optimizer="rmsprop") default */
    return NNC_OK;
  }
  if (cJSON_IsString(item)) {
    if (!lookup(item->valuestring, &kind, &tfjs_momentum) || tfjs_momentum)
      return spec_fail_expected(ctx, path, item, "an optimizer (" OPTIMIZER_LIST ")");
    set_defaults(kind, out);
    return NNC_OK;
  }
  if (!cJSON_IsObject(item))
    return spec_fail_expected(ctx, path, item,
                              "an optimizer name or {\"class_name\": ..., \"config\": {...}}");
  char cls_path[NNC_PATH_MAX], cfg_path[NNC_PATH_MAX];
  spec_path_key(cls_path, path, "class_name");
  spec_path_key(cfg_path, path, "config");
  const cJSON *cls = spec_child(item, "class_name");
  if (!cJSON_IsString(cls) || !lookup(cls->valuestring, &kind, &tfjs_momentum))
    return spec_fail_expected(ctx, cls_path, cls, "an optimizer class name (" OPTIMIZER_LIST ")");
  const cJSON *cfg = spec_child(item, "config");
  if (!spec_is_absent(cfg) && !cJSON_IsObject(cfg))
    return spec_fail_expected(ctx, cfg_path, cfg, "an object");
  set_defaults(kind, out);
  return parse_config(ctx, cJSON_IsObject(cfg) ? cfg : NULL, cfg_path, out);
}
