/* Initial weights: Keras's initializer distributions and fan rules
 * (keras-semantics.md §5.2), drawn from the counter-based generator keyed by
 * (seed, "<layer>/<weight>", element, redraw). Keras's own bits cannot be
 * reproduced (they depend on its RNG); the distributions are the same. */
#include <math.h>
#include <string.h>

#include "base/base.h"
#include "runtime/model.h"
#include "base/rng.h"

/* A double in [0, 1) with 53 random bits. */
static double uniform53(uint64_t key, uint64_t element, uint64_t draw) {
  uint64_t z = nnc_mix64(nnc_mix64(key ^ nnc_mix64(element)) + draw);
  return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

/* Standard normal by Box-Muller on draws (2j, 2j+1). */
static double normal(uint64_t key, uint64_t element, uint64_t j) {
  double u1 = uniform53(key, element, 2 * j), u2 = uniform53(key, element, 2 * j + 1);
  return sqrt(-2.0 * log(1.0 - u1)) * cos(6.283185307179586 * u2);
}

static double truncated(uint64_t key, uint64_t element) {
  for (uint64_t j = 0;; j++) {
    double z = normal(key, element, j);
    if (fabs(z) <= 2.0) return z;
  }
}

static void fans(const nnc_variable *v, double *fan_in, double *fan_out) {
  if (v->rank == 1) {
    *fan_in = *fan_out = (double)v->shape[0];
  } else if (v->rank == 2) {
    *fan_in = (double)v->shape[0];
    *fan_out = (double)v->shape[1];
  } else {
    double rf = 1;
    for (int i = 0; i + 2 < v->rank; i++) rf *= (double)v->shape[i];
    *fan_in = (double)v->shape[v->rank - 2] * rf;
    *fan_out = (double)v->shape[v->rank - 1] * rf;
  }
}

static double draw(const nnc_initializer *in, const nnc_variable *var, uint64_t key, uint64_t e) {
  switch (in->rule) {
  case NNC_INITIALIZER_ZEROS:
    return 0.0;
  case NNC_INITIALIZER_ONES:
    return 1.0;
  case NNC_INITIALIZER_CONSTANT:
    return in->value;
  case NNC_INITIALIZER_RANDOM_UNIFORM:
    return in->minval + (in->maxval - in->minval) * uniform53(key, e, 0);
  case NNC_INITIALIZER_RANDOM_NORMAL:
    return in->mean + in->stddev * normal(key, e, 0);
  case NNC_INITIALIZER_TRUNCATED_NORMAL:
    return in->mean + in->stddev * truncated(key, e);
  case NNC_INITIALIZER_VARIANCE_SCALING: {
    double fi, fo;
    fans(var, &fi, &fo);
    double fan = in->fan == NNC_FAN_MODE_IN    ? fi
                 : in->fan == NNC_FAN_MODE_OUT ? fo
                                               : (fi + fo) / 2.0;
    double scale = in->scale / (fan > 1.0 ? fan : 1.0);
    switch (in->distribution) {
    case NNC_DISTRIBUTION_UNIFORM: {
      double limit = sqrt(3.0 * scale);
      return -limit + 2.0 * limit * uniform53(key, e, 0);
    }
    case NNC_DISTRIBUTION_TRUNCATED_NORMAL:
      return sqrt(scale) / 0.87962566103423978 * truncated(key, e);
    case NNC_DISTRIBUTION_UNTRUNCATED_NORMAL:
      return sqrt(scale) * normal(key, e, 0);
    }
  }
  }
  return 0.0;
}

int model_init_weights(nnc_model *m, nnc_status *st) {
  const nnc_program_table *t = m->t;
  for (int i = 0; i < t->n_variables; i++) {
    const nnc_variable *info = &t->variables[i];
    if (info->kind == NNC_VAR_SLOT) continue; /* slots: model_init_slots (below) */
    /* a seeded initializer gives the same values wherever it is used, as in
     * Keras; an unseeded one a stream of its own per weight */
    uint64_t key = info->init.has_seed ? nnc_stream_key((uint64_t)info->init.seed, "initializer")
                                       : nnc_stream_key(m->seed, info->name);
    for (int64_t e = 0; e < info->count; e++)
      m->params[info->offset + e] = (float)draw(&info->init, info, key, (uint64_t)e);
  }
  model_init_slots(m);
  m->iterations = 0;
  (void)st;
  return NNC_OK;
}
