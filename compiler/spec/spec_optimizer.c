/* The optimizer of a compile config: "adam", {"class_name": "Adam", "config":
 * {...}} (Keras 2/3, h5 "Custom>Adam"), or tfjs's {"class_name": "Adam",
 * "config": {"learningRate": ..., "beta1": ...}}. The optimizers and their
 * own arguments are the rows of compiler/optimizers/optimizers.def; the base
 * optimizer's arguments are read here. Missing values take Keras 3's
 * defaults (docs/optimizers.md). Options nnc cannot honour yet (loss scaling,
 * schedules) are errors, not silent differences. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/schedule.h"
#include "base/base.h"
#include "compiler/optimizers/optimizers.h"
#include "compiler/spec/spec_internal.h"

static void set_defaults(const opt_class *cls, nnc_optimizer_kind kind, nnc_spec_optimizer *out) {
  memset(out, 0, sizeof *out);
  out->kind = kind;
  out->learning_rate = cls->learning_rate;
  out->weight_decay = cls->weight_decay;
  out->ema_momentum = 0.99;
  for (const opt_key *k = cls->keys; k->name; k++) {
    char *field = (char *)out + k->field;
    if (k->type == OPT_BOOL)
      *(int *)field = (int)k->def;
    else
      *(double *)field = k->def;
  }
}

/* cfg.key as a number in [lo, hi] ((lo, hi] when lo_open); missing keeps *out.
 * hi = INFINITY means up to FLT_MAX: the update kernels compute in float32. */
static int get_ranged_open(const spec_ctx *ctx, const cJSON *cfg, const char *path, const char *key,
                           double lo, int lo_open, double hi, double *out) {
  const cJSON *item = spec_child(cfg, key);
  if (spec_is_absent(item)) return NNC_OK;
  char item_path[NNC_PATH_MAX];
  spec_path_key(item_path, path, key);
  /* 1e400 parses as inf, 1e300 becomes inf as float32: refused like any value out of range */
  double top = isinf(hi) ? FLT_MAX : hi, bottom = isinf(lo) ? -FLT_MAX : lo;
  double v = cJSON_IsNumber(item) ? item->valuedouble : NAN;
  if (!(v >= bottom && v <= top) || (lo_open && v == lo)) {
    if (isinf(hi))
      return spec_fail_expected(ctx, item_path, item,
                                "a finite number %s %g within the float32 range (at most 3.4e38)",
                                lo_open ? ">" : ">=", lo);
    if (isinf(lo))
      return spec_fail_expected(ctx, item_path, item,
                                "a number <= %g within the float32 range (at least -3.4e38)", hi);
    return spec_fail_expected(ctx, item_path, item, "a number in %s%g, %g]", lo_open ? "(" : "[",
                              lo, hi);
  }
  *out = v;
  return NNC_OK;
}

static int get_ranged(const spec_ctx *ctx, const cJSON *cfg, const char *path, const char *key,
                      const char *alt_key, double lo, double hi, double *out) {
  if (spec_is_absent(spec_child(cfg, key)) && alt_key) key = alt_key;
  return get_ranged_open(ctx, cfg, path, key, lo, 0, hi, out);
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

/* The arguments of Keras 3's BaseOptimizer.__init__ (keras/src/optimizers/
 * base_optimizer.py); it raises "Argument(s) not recognized" for anything
 * else, except "decay", which it pops. exclude_from_weight_decay is nnc's:
 * the names Keras's optimizer.exclude_from_weight_decay(var_names=...) takes. */
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
                                        "exclude_from_weight_decay",
                                        NULL};
/* tf.keras 2 configs also hold these ("lr": its legacy learning_rate) */
static const char *const keras2_keys[] = {"lr", "use_nesterov", NULL};
/* tf.keras 2.11-2.15 write these two serialization-only flags into every
 * optimizer config, also in the .keras files they save (which read as Keras 3
 * format): accepted in every format, they change nothing in the update. */
static const char *const serialization_keys[] = {"jit_compile", "is_legacy_optimizer", NULL};
/* tfjs optimizer configs (a converted Keras 2 file has the keys above too) */
static const char *const tfjs_keys[] = {"learningRate", "beta1", "beta2", "useNesterov", NULL};

static int in_list(const char *key, const char *const *list) {
  for (; *list; list++)
    if (!strcmp(key, *list)) return 1;
  return 0;
}

/* The name under which cfg holds key k in this format, or NULL. */
static const char *spelling(const spec_ctx *ctx, const cJSON *cfg, const opt_key *k) {
  if (!spec_is_absent(spec_child(cfg, k->name))) return k->name;
  if (k->tfjs && ctx->format == NNC_FORMAT_TFJS && !spec_is_absent(spec_child(cfg, k->tfjs)))
    return k->tfjs;
  if (k->keras2 && ctx->format != NNC_FORMAT_KERAS3 && !spec_is_absent(spec_child(cfg, k->keras2)))
    return k->keras2;
  return NULL;
}

static int own_key(const spec_ctx *ctx, const opt_class *cls, const char *key) {
  for (const opt_key *k = cls->keys; k->name; k++)
    if (!strcmp(key, k->name) ||
        (k->tfjs && ctx->format == NNC_FORMAT_TFJS && !strcmp(key, k->tfjs)) ||
        (k->keras2 && ctx->format != NNC_FORMAT_KERAS3 && !strcmp(key, k->keras2)))
      return 1;
  return 0;
}

static int check_known_keys(const spec_ctx *ctx, const cJSON *cfg, const char *path,
                            const opt_class *cls) {
  int keras2 = ctx->format != NNC_FORMAT_KERAS3, tfjs = ctx->format == NNC_FORMAT_TFJS;
  for (const cJSON *c = cfg ? cfg->child : NULL; c; c = c->next) {
    const char *key = c->string ? c->string : "";
    if (in_list(key, base_keys) || in_list(key, serialization_keys) || own_key(ctx, cls, key) ||
        (keras2 && in_list(key, keras2_keys)) || (tfjs && in_list(key, tfjs_keys)))
      continue;
    char key_path[NNC_PATH_MAX];
    spec_path_key(key_path, path, key);
    if (!strcmp(key, "lr"))
      return spec_fail(ctx, key_path,
                       "expected learning_rate: Keras 3 does not recognize the legacy \"lr\"");
    char own[256] = "";
    for (const opt_key *k = cls->keys; k->name; k++) {
      strncat(own, k->name, sizeof own - strlen(own) - 1);
      strncat(own, ", ", sizeof own - strlen(own) - 1);
    }
    return spec_fail(ctx, key_path,
                     "expected an argument Keras 3's %s accepts (%sor a base optimizer argument: "
                     "learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, "
                     "ema_momentum, ema_overwrite_frequency, loss_scale_factor, "
                     "gradient_accumulation_steps, name; or nnc's exclude_from_weight_decay), "
                     "got an unknown key",
                     cls->class_name, own);
  }
  return NNC_OK;
}

/* cfg.key: null, or a whole number >= min (0 also means none); 0 when absent. */
static int get_count(const spec_ctx *ctx, const cJSON *cfg, const char *path, const char *key,
                     int64_t min, const char *expected, int64_t *out) {
  const cJSON *item = spec_child(cfg, key);
  *out = 0;
  if (spec_is_absent(item)) return NNC_OK;
  double v = cJSON_IsNumber(item) ? item->valuedouble : NAN;
  if (v == 0) return NNC_OK;
  if (!(v >= (double)min && v <= 1e9 && v == floor(v))) {
    char item_path[NNC_PATH_MAX];
    spec_path_key(item_path, path, key);
    return spec_fail_expected(ctx, item_path, item, "%s", expected);
  }
  *out = (int64_t)v;
  return NNC_OK;
}

static int parse_exclude(const spec_ctx *ctx, const cJSON *cfg, const char *path,
                         nnc_spec_optimizer *out) {
  const cJSON *list = spec_child(cfg, "exclude_from_weight_decay");
  if (spec_is_absent(list)) return NNC_OK;
  char list_path[NNC_PATH_MAX], item_path[NNC_PATH_MAX];
  spec_path_key(list_path, path, "exclude_from_weight_decay");
  if (!cJSON_IsArray(list))
    return spec_fail_expected(ctx, list_path, list, "a list of variable names (\"bias\", ...)");
  int n = cJSON_GetArraySize(list);
  out->exclude_from_weight_decay = nnc_calloc((size_t)n + 1, sizeof(char *), ctx->st);
  if (!out->exclude_from_weight_decay) return ctx->st->code;
  int i = 0;
  for (const cJSON *e = list->child; e; e = e->next, i++) {
    spec_path_index(item_path, list_path, i);
    if (!cJSON_IsString(e) || !e->valuestring[0])
      return spec_fail_expected(ctx, item_path, e, "a non-empty variable name");
    size_t len = strlen(e->valuestring);
    char *copy = nnc_calloc(len + 1, 1, ctx->st);
    if (!copy) return ctx->st->code;
    memcpy(copy, e->valuestring, len);
    out->exclude_from_weight_decay[out->n_exclude++] = copy;
  }
  return NNC_OK;
}

/* The base optimizer's arguments (BaseOptimizer.__init__'s checks). */
static int parse_base(const spec_ctx *ctx, const cJSON *cfg, const char *path, const opt_class *cls,
                      int decay_is_own, nnc_spec_optimizer *out) {
  int rc;
  char item_path[NNC_PATH_MAX];
  /* Keras multiplies the loss by it before the gradients and divides the
   * gradients by it; 0 would give NaN, so only > 0 */
  if (!cJSON_IsNull(spec_child(cfg, "loss_scale_factor")) &&
      (rc = get_ranged_open(ctx, cfg, path, "loss_scale_factor", 0.0, 1, INFINITY,
                            &out->loss_scale_factor)))
    return rc;
  const cJSON *wd = spec_child(cfg, "weight_decay");
  if (cJSON_IsNull(wd) && cls->weight_decay > 0) {
    spec_path_key(item_path, path, "weight_decay");
    return spec_fail_expected(ctx, item_path, wd,
                              "a number: Keras 3's %s refuses weight_decay=None", cls->class_name);
  }
  if (cJSON_IsNull(wd)) out->weight_decay = 0;
  if ((rc = get_ranged(ctx, cfg, path, "weight_decay", NULL, 0.0, INFINITY, &out->weight_decay)) ||
      (rc = parse_exclude(ctx, cfg, path, out)))
    return rc;
  /* Keras: "Only one of clipnorm, clipvalue and global_clipnorm can be set" */
  static const char *const clips[] = {"clipnorm", "clipvalue", "global_clipnorm"};
  double *clip_out[] = {&out->clipnorm, &out->clipvalue, &out->global_clipnorm};
  const char *set = NULL;
  for (int i = 0; i < 3; i++) {
    if (spec_is_absent(spec_child(cfg, clips[i]))) continue;
    spec_path_key(item_path, path, clips[i]);
    if (set)
      return spec_fail(ctx, item_path,
                       "expected one of clipnorm, clipvalue and global_clipnorm (Keras 3 refuses "
                       "several), got %s and %s",
                       set, clips[i]);
    set = clips[i];
    if ((rc = get_ranged(ctx, cfg, path, clips[i], NULL, 0.0, INFINITY, clip_out[i]))) return rc;
  }
  if ((rc = spec_get_bool(ctx, cfg, path, "use_ema", 0, &out->use_ema)) ||
      (rc = get_ranged(ctx, cfg, path, "ema_momentum", NULL, 0.0, 1.0, &out->ema_momentum)) ||
      (rc = get_count(ctx, cfg, path, "ema_overwrite_frequency", 1,
                      "null or an integer >= 1, as Keras 3 requires",
                      &out->ema_overwrite_frequency)) ||
      (rc = get_count(ctx, cfg, path, "gradient_accumulation_steps", 2,
                      "null or an integer >= 2, as Keras 3 requires",
                      &out->gradient_accumulation_steps)))
    return rc;
  /* Keras 3 ignores a legacy "decay" with a warning; nnc refuses a non-zero
   * one rather than train differently from the Keras 2 model it came from */
  const cJSON *decay = spec_child(cfg, "decay");
  if (!decay_is_own && !spec_is_absent(decay) &&
      !(cJSON_IsNumber(decay) && decay->valuedouble == 0)) {
    spec_path_key(item_path, path, "decay");
    return spec_fail_unsupported(ctx, item_path, decay, "legacy learning-rate decay (decay)");
  }
  return NNC_OK;
}

static int parse_config(const spec_ctx *ctx, const cJSON *cfg, const char *path,
                        const opt_class *cls, nnc_spec_optimizer *out) {
  int rc, decay_is_own = 0;
  if ((rc = check_known_keys(ctx, cfg, path, cls))) return rc;
  if ((rc = parse_learning_rate(ctx, cfg, path, out))) return rc;
  for (const opt_key *k = cls->keys; k->name; k++) {
    const char *key = spelling(ctx, cfg, k);
    if (!key) continue;
    if (!strcmp(key, "decay")) decay_is_own = 1; /* tfjs's RMSprop rho */
    char *field = (char *)out + k->field;
    if (k->type == OPT_BOOL)
      rc = spec_get_bool(ctx, cfg, path, key, 0, (int *)field);
    else
      rc = get_ranged_open(ctx, cfg, path, key, k->lo, k->lo_open, k->hi, (double *)field);
    if (rc) return rc;
  }
  return parse_base(ctx, cfg, path, cls, decay_is_own, out);
}

int spec_parse_optimizer(const spec_ctx *ctx, const cJSON *item, const char *path,
                         nnc_spec_optimizer *out) {
  nnc_optimizer_kind kind = NNC_OPT_RMSPROP;
  const opt_class *cls;
  if (spec_is_absent(item)) {
    /* Keras's compile(optimizer="rmsprop") default */
    set_defaults(optimizer_class(kind), kind, out);
    return NNC_OK;
  }
  if (cJSON_IsString(item)) {
    char norm[16];
    /* tfjs's "Momentum" class needs its momentum argument: not a string */
    if (!(cls = optimizer_lookup(item->valuestring, &kind)) ||
        (spec_normalize(item->valuestring, norm, sizeof norm) && !strcmp(norm, "momentum")))
      return spec_fail_expected(ctx, path, item, "an optimizer (%s)", optimizer_list());
    set_defaults(cls, kind, out);
    return NNC_OK;
  }
  if (!cJSON_IsObject(item))
    return spec_fail_expected(ctx, path, item,
                              "an optimizer name or {\"class_name\": ..., \"config\": {...}}");
  char cls_path[NNC_PATH_MAX], cfg_path[NNC_PATH_MAX];
  spec_path_key(cls_path, path, "class_name");
  spec_path_key(cfg_path, path, "config");
  const cJSON *name = spec_child(item, "class_name");
  if (!cJSON_IsString(name) || !(cls = optimizer_lookup(name->valuestring, &kind)))
    return spec_fail_expected(ctx, cls_path, name, "an optimizer class name (%s)",
                              optimizer_list());
  const cJSON *cfg = spec_child(item, "config");
  if (!spec_is_absent(cfg) && !cJSON_IsObject(cfg))
    return spec_fail_expected(ctx, cfg_path, cfg, "an object");
  set_defaults(cls, kind, out);
  int rc = parse_config(ctx, cJSON_IsObject(cfg) ? cfg : NULL, cfg_path, cls, out);
  if (rc) nnc_spec_optimizer_free(out);
  return rc;
}

void nnc_spec_optimizer_free(nnc_spec_optimizer *o) {
  if (!o) return;
  for (int i = 0; i < o->n_exclude; i++) free(o->exclude_from_weight_decay[i]);
  free(o->exclude_from_weight_decay);
  o->exclude_from_weight_decay = NULL;
  o->n_exclude = 0;
  free(o->schedule_storage);
  o->schedule_storage = NULL;
}
