/* Learning-rate schedules: Keras's serialized form -> nnc_schedule, and the
 * float32 evaluation of keras/src/optimizers/schedules/learning_rate_schedule.py.
 * Keras converts initial_learning_rate to a float32 tensor and casts every
 * other hyperparameter and the step to its dtype, so each operation below is
 * one float32 operation in the order Keras writes it. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/schedule.h"

#define SCHED_PATH_MAX 512 /* a JSON path in a message; longer ones are cut */

typedef struct sched_class {
  const char *name;
  nnc_schedule_kind kind;
  const char *const *keys; /* the arguments of its __init__ (its get_config) */
} sched_class;

static const char *const exponential_keys[] = {
    "initial_learning_rate", "decay_steps", "decay_rate", "staircase", "name", NULL};
static const char *const piecewise_keys[] = {"boundaries", "values", "name", NULL};
static const char *const polynomial_keys[] = {
    "initial_learning_rate", "decay_steps", "end_learning_rate", "power", "cycle", "name", NULL};
static const char *const cosine_keys[] = {"initial_learning_rate", "decay_steps",  "alpha", "name",
                                          "warmup_target",         "warmup_steps", NULL};
static const char *const restarts_keys[] = {
    "initial_learning_rate", "first_decay_steps", "t_mul", "m_mul", "alpha", "name", NULL};

static const sched_class classes[] = {
    {"ExponentialDecay", NNC_SCHEDULE_EXPONENTIAL_DECAY, exponential_keys},
    {"PiecewiseConstantDecay", NNC_SCHEDULE_PIECEWISE_CONSTANT, piecewise_keys},
    {"InverseTimeDecay", NNC_SCHEDULE_INVERSE_TIME, exponential_keys},
    {"PolynomialDecay", NNC_SCHEDULE_POLYNOMIAL, polynomial_keys},
    {"CosineDecay", NNC_SCHEDULE_COSINE, cosine_keys},
    {"CosineDecayRestarts", NNC_SCHEDULE_COSINE_RESTARTS, restarts_keys},
};
#define N_CLASSES (sizeof classes / sizeof classes[0])
#define CLASS_LIST                                                                                 \
  "ExponentialDecay, PiecewiseConstantDecay, InverseTimeDecay, PolynomialDecay, CosineDecay, "     \
  "CosineDecayRestarts"

const char *schedule_class_name(nnc_schedule_kind kind) {
  for (size_t i = 0; i < N_CLASSES; i++)
    if (classes[i].kind == kind) return classes[i].name;
  return "constant";
}

/* ---- messages: "<source>: <path>: expected X, got Y" ---- */

static void describe(const cJSON *item, char *buf, size_t size) {
  if (!item)
    snprintf(buf, size, "nothing (the key is missing)");
  else if (cJSON_IsNull(item))
    snprintf(buf, size, "null");
  else if (cJSON_IsBool(item))
    snprintf(buf, size, "%s", cJSON_IsTrue(item) ? "true" : "false");
  else if (cJSON_IsNumber(item))
    snprintf(buf, size, isfinite(item->valuedouble) ? "%.17g" : "a number out of range",
             item->valuedouble);
  else if (cJSON_IsString(item))
    snprintf(buf, size, "\"%.60s\"", item->valuestring);
  else if (cJSON_IsArray(item))
    snprintf(buf, size, "a list");
  else
    snprintf(buf, size, "an object");
}

typedef struct sched_ctx {
  const char *source;
  nnc_status *st;
} sched_ctx;

static int fail_expected(const sched_ctx *c, const char *path, const cJSON *found,
                         const char *expected) {
  char got[96];
  describe(found, got, sizeof got);
  return nnc_fail(c->st, NNC_ERR_SPEC, "%s: %s: expected %s, got %s", c->source, path, expected,
                  got);
}

static void path_key(char *dst, size_t size, const char *parent, const char *key) {
  if (snprintf(dst, size, "%s.%s", parent, key) >= (int)size) dst[size - 1] = '\0'; /* cut */
}

static const cJSON *child(const cJSON *obj, const char *key) {
  return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

/* A number Keras can cast to float32: finite, at most FLT_MAX in magnitude. */
static int float32_item(const sched_ctx *c, const cJSON *item, const char *path, double *out) {
  if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble) || fabs(item->valuedouble) > FLT_MAX)
    return fail_expected(c, path, item, "a number within the float32 range");
  *out = item->valuedouble;
  return NNC_OK;
}

/* cfg.key: required (dflt NAN) or optional with a default. */
static int get_number(const sched_ctx *c, const cJSON *cfg, const char *path, const char *key,
                      double dflt, double *out) {
  char p[SCHED_PATH_MAX];
  path_key(p, sizeof p, path, key);
  const cJSON *item = child(cfg, key);
  if (!item || cJSON_IsNull(item)) {
    if (isnan(dflt))
      return fail_expected(c, p, item, "a number (the schedule has no default for it)");
    *out = dflt;
    return NNC_OK;
  }
  return float32_item(c, item, p, out);
}

/* decay_steps, first_decay_steps: Keras raises "must be > 0". */
static int get_steps(const sched_ctx *c, const cJSON *cfg, const char *path, const char *key,
                     double *out) {
  int rc = get_number(c, cfg, path, key, NAN, out);
  if (rc) return rc;
  if (!(*out > 0)) {
    char p[SCHED_PATH_MAX];
    path_key(p, sizeof p, path, key);
    return fail_expected(c, p, child(cfg, key), "a number > 0, as Keras requires");
  }
  return NNC_OK;
}

static int get_bool(const sched_ctx *c, const cJSON *cfg, const char *path, const char *key,
                    int *out) {
  const cJSON *item = child(cfg, key);
  *out = 0;
  if (!item || cJSON_IsNull(item)) return NNC_OK;
  if (!cJSON_IsBool(item)) {
    char p[SCHED_PATH_MAX];
    path_key(p, sizeof p, path, key);
    return fail_expected(c, p, item, "true or false");
  }
  *out = cJSON_IsTrue(item);
  return NNC_OK;
}

/* A list of float32 numbers; *n its length. */
static int number_list(const sched_ctx *c, const cJSON *cfg, const char *path, const char *key,
                       double *dst, int *n) {
  char p[SCHED_PATH_MAX], ip[SCHED_PATH_MAX];
  path_key(p, sizeof p, path, key);
  const cJSON *list = child(cfg, key);
  if (!cJSON_IsArray(list)) return fail_expected(c, p, list, "a list of numbers");
  int i = 0;
  for (const cJSON *e = list->child; e; e = e->next, i++) {
    if (snprintf(ip, sizeof ip, "%s[%d]", p, i) >= (int)sizeof ip) ip[sizeof ip - 1] = '\0';
    if (dst && float32_item(c, e, ip, &dst[i])) return c->st->code;
  }
  *n = i;
  return NNC_OK;
}

static int parse_piecewise(const sched_ctx *c, const cJSON *cfg, const char *path,
                           nnc_schedule *out, double **storage) {
  int nb = 0, nv = 0, rc;
  if ((rc = number_list(c, cfg, path, "boundaries", NULL, &nb)) ||
      (rc = number_list(c, cfg, path, "values", NULL, &nv)))
    return rc;
  char p[SCHED_PATH_MAX];
  path_key(p, sizeof p, path, "values");
  if (nb < 1) /* Keras indexes boundaries[0] */
    return nnc_fail(c->st, NNC_ERR_SPEC, "%s: %s.boundaries: expected at least one boundary",
                    c->source, path);
  if (nv != nb + 1)
    return nnc_fail(c->st, NNC_ERR_SPEC,
                    "%s: %s: expected one value more than boundaries (%d), got %d values",
                    c->source, p, nb, nv);
  double *mem = nnc_calloc((size_t)(nb + nv), sizeof *mem, c->st);
  if (!mem) return c->st->code;
  if ((rc = number_list(c, cfg, path, "boundaries", mem, &nb)) ||
      (rc = number_list(c, cfg, path, "values", mem + nb, &nv))) {
    free(mem);
    return rc;
  }
  *storage = mem;
  out->n_boundaries = nb;
  out->boundaries = mem;
  out->values = mem + nb;
  out->initial_learning_rate = mem[nb];
  return NNC_OK;
}

static int parse_config(const sched_ctx *c, const sched_class *cls, const cJSON *cfg,
                        const char *path, nnc_schedule *out, double **storage) {
  char p[SCHED_PATH_MAX];
  for (const cJSON *k = cfg->child; k; k = k->next) {
    int known = 0;
    for (const char *const *key = cls->keys; *key; key++) known |= !strcmp(k->string, *key);
    if (!known) {
      path_key(p, sizeof p, path, k->string);
      return nnc_fail(c->st, NNC_ERR_SPEC,
                      "%s: %s: expected an argument Keras 3's %s accepts, got an unknown key",
                      c->source, p, cls->name);
    }
  }
  const cJSON *name = child(cfg, "name");
  if (name && !cJSON_IsNull(name) && !cJSON_IsString(name)) {
    path_key(p, sizeof p, path, "name");
    return fail_expected(c, p, name, "a string");
  }
  int rc;
  const char *steps_key =
      cls->kind == NNC_SCHEDULE_COSINE_RESTARTS ? "first_decay_steps" : "decay_steps";
  if (cls->kind == NNC_SCHEDULE_PIECEWISE_CONSTANT)
    return parse_piecewise(c, cfg, path, out, storage);
  /* in the order of the class's __init__ arguments */
  if ((rc = get_number(c, cfg, path, "initial_learning_rate", NAN, &out->initial_learning_rate)) ||
      (rc = get_steps(c, cfg, path, steps_key, &out->decay_steps)))
    return rc;
  switch (cls->kind) {
  case NNC_SCHEDULE_PIECEWISE_CONSTANT:
    break;
  case NNC_SCHEDULE_EXPONENTIAL_DECAY:
  case NNC_SCHEDULE_INVERSE_TIME:
    if ((rc = get_number(c, cfg, path, "decay_rate", NAN, &out->decay_rate)) ||
        (rc = get_bool(c, cfg, path, "staircase", &out->staircase)))
      return rc;
    break;
  case NNC_SCHEDULE_POLYNOMIAL:
    if ((rc = get_number(c, cfg, path, "end_learning_rate", 0.0001, &out->end_learning_rate)) ||
        (rc = get_number(c, cfg, path, "power", 1.0, &out->power)) ||
        (rc = get_bool(c, cfg, path, "cycle", &out->cycle)))
      return rc;
    break;
  case NNC_SCHEDULE_COSINE:
    out->warmup_target = NAN; /* None: no warmup */
    if ((rc = get_number(c, cfg, path, "alpha", 0.0, &out->alpha)) ||
        (rc = get_number(c, cfg, path, "warmup_steps", 0.0, &out->warmup_steps)))
      return rc;
    if (child(cfg, "warmup_target") && !cJSON_IsNull(child(cfg, "warmup_target")) &&
        (rc = get_number(c, cfg, path, "warmup_target", NAN, &out->warmup_target)))
      return rc;
    break;
  case NNC_SCHEDULE_COSINE_RESTARTS:
    if ((rc = get_number(c, cfg, path, "t_mul", 2.0, &out->t_mul)) ||
        (rc = get_number(c, cfg, path, "m_mul", 1.0, &out->m_mul)) ||
        (rc = get_number(c, cfg, path, "alpha", 0.0, &out->alpha)))
      return rc;
    break;
  case NNC_SCHEDULE_CONSTANT:
    break;
  }
  return NNC_OK;
}

int schedule_from_json(const cJSON *item, const char *source, const char *path, nnc_schedule *out,
                       double **storage, nnc_status *st) {
  sched_ctx c = {source ? source : "<schedule>", st};
  memset(out, 0, sizeof *out);
  *storage = NULL;
  char p[SCHED_PATH_MAX];
  if (!cJSON_IsObject(item))
    return fail_expected(&c, path, item,
                         "a learning-rate schedule {\"class_name\": ..., \"config\": {...}}");
  for (const cJSON *k = item->child; k; k = k->next) {
    /* Keras 3's serialize_keras_object writes module and registered_name */
    static const char *const top[] = {"module", "class_name", "config", "registered_name"};
    int known = 0;
    for (size_t i = 0; i < sizeof top / sizeof top[0]; i++) known |= !strcmp(k->string, top[i]);
    path_key(p, sizeof p, path, k->string);
    if (!known)
      return nnc_fail(st, NNC_ERR_SPEC,
                      "%s: %s: expected module, class_name, config or registered_name in a "
                      "serialized schedule, got an unknown key",
                      c.source, p);
    if (strcmp(k->string, "class_name") && strcmp(k->string, "config") && !cJSON_IsNull(k) &&
        !cJSON_IsString(k))
      return fail_expected(&c, p, k, "a string or null");
  }
  path_key(p, sizeof p, path, "class_name");
  const cJSON *cls = child(item, "class_name");
  const sched_class *found = NULL;
  for (size_t i = 0; cJSON_IsString(cls) && i < N_CLASSES; i++)
    if (!strcmp(cls->valuestring, classes[i].name)) found = &classes[i];
  if (!found) return fail_expected(&c, p, cls, "a learning-rate schedule class (" CLASS_LIST ")");
  path_key(p, sizeof p, path, "config");
  const cJSON *cfg = child(item, "config");
  if (!cJSON_IsObject(cfg)) return fail_expected(&c, p, cfg, "an object");
  out->kind = found->kind;
  int rc = parse_config(&c, found, cfg, p, out, storage);
  if (rc) {
    free(*storage);
    *storage = NULL;
    memset(out, 0, sizeof *out);
  }
  return rc;
}

/* ---- evaluation (learning_rate_schedule.py, each __call__) ---- */

#define PI_F32 ((float)3.14159265358979323846)

/* CosineDecay._decay_function: (1 - self.alpha) is a Python float times a
 * float32 tensor, so it is rounded to float32 after the subtraction. */
static float cosine_decay(float step, float decay_steps, float from, double alpha) {
  float completed = step / decay_steps;
  float cosine_decayed = 0.5f * (1.0f + cosf(PI_F32 * completed));
  float decayed = (float)(1.0 - alpha) * cosine_decayed + (float)alpha;
  return from * decayed;
}

static float cosine(const nnc_schedule *s, float step) {
  float lr0 = (float)s->initial_learning_rate, ds = (float)s->decay_steps;
  if (isnan(s->warmup_target)) return cosine_decay(fminf(step, ds), ds, lr0, s->alpha);
  float target = (float)s->warmup_target, ws = (float)s->warmup_steps;
  step = fminf(step, ds + ws);
  if (step < ws) { /* _warmup_function */
    float completed = step / ws;
    float delta = target - lr0;
    return delta * completed + lr0;
  }
  return cosine_decay(step - ws, ds, target, s->alpha);
}

static float cosine_restarts(const nnc_schedule *s, float step) {
  float lr0 = (float)s->initial_learning_rate, fds = (float)s->decay_steps;
  float alpha = (float)s->alpha, t_mul = (float)s->t_mul, m_mul = (float)s->m_mul;
  float completed = step / fds, i_restart;
  if (t_mul == 1.0f) {
    i_restart = floorf(completed);
    completed -= i_restart;
  } else {
    i_restart = floorf(logf(1.0f - completed * (1.0f - t_mul)) / logf(t_mul));
    float sum_r = (1.0f - powf(t_mul, i_restart)) / (1.0f - t_mul);
    completed = (completed - sum_r) / powf(t_mul, i_restart);
  }
  float m_fac = powf(m_mul, i_restart);
  float cosine_decayed = 0.5f * m_fac * (1.0f + cosf(PI_F32 * completed));
  float decayed = (1.0f - alpha) * cosine_decayed + alpha;
  return lr0 * decayed;
}

/* The step is optimizer.iterations, an int64 variable: Keras casts the
 * boundaries to its dtype (a float boundary truncates) and adds
 * indicator * value for every range, in this order. */
static int64_t to_int64(double x) { /* a saturating cast: no overflow on 1e30 */
  if (x >= 9.2e18) return INT64_MAX;
  if (x <= -9.2e18) return INT64_MIN;
  return (int64_t)x;
}

static float piecewise(const nnc_schedule *s, double step) {
  int n = s->n_boundaries;
  int64_t k = to_int64(step);
  float result = 0.0f;
  result += (float)(k <= to_int64(s->boundaries[0])) * (float)s->values[0];
  result += (float)(k > to_int64(s->boundaries[n - 1])) * (float)s->values[n];
  for (int i = 0; i + 1 < n; i++) {
    int in_range = k > to_int64(s->boundaries[i]) && k <= to_int64(s->boundaries[i + 1]);
    result += (float)in_range * (float)s->values[i + 1];
  }
  return result;
}

static float polynomial(const nnc_schedule *s, float step) {
  float lr0 = (float)s->initial_learning_rate, end = (float)s->end_learning_rate;
  float power = (float)s->power, ds = (float)s->decay_steps;
  if (s->cycle) {
    float multiplier = step == 0.0f ? 1.0f : ceilf(step / ds);
    ds = ds * multiplier;
  } else {
    step = fminf(step, ds);
  }
  float p = step / ds;
  return (lr0 - end) * powf(1.0f - p, power) + end;
}

double schedule_eval(const nnc_schedule *s, double step) {
  float lr0 = (float)s->initial_learning_rate, gs = (float)step;
  switch (s->kind) {
  case NNC_SCHEDULE_CONSTANT:
    return lr0;
  case NNC_SCHEDULE_EXPONENTIAL_DECAY: {
    float p = gs / (float)s->decay_steps;
    if (s->staircase) p = floorf(p);
    return lr0 * powf((float)s->decay_rate, p);
  }
  case NNC_SCHEDULE_INVERSE_TIME: {
    float p = gs / (float)s->decay_steps;
    if (s->staircase) p = floorf(p);
    float denom = 1.0f + (float)s->decay_rate * p;
    return lr0 / denom;
  }
  case NNC_SCHEDULE_PIECEWISE_CONSTANT:
    return piecewise(s, step);
  case NNC_SCHEDULE_POLYNOMIAL:
    return polynomial(s, gs);
  case NNC_SCHEDULE_COSINE:
    return cosine(s, gs);
  case NNC_SCHEDULE_COSINE_RESTARTS:
    return cosine_restarts(s, gs);
  }
  return lr0;
}
