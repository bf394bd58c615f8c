/* Initial weights: Keras's initializer distributions and fan rules
 * (keras-semantics.md §5.2), drawn from the counter-based generator keyed by
 * (seed, "<layer>/<weight>", element, redraw). Keras's own bits cannot be
 * reproduced (they depend on its RNG); the distributions are the same. */
#include <math.h>
#include <stdlib.h>
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
    return 0.0;
  }
  case NNC_INITIALIZER_IDENTITY: /* Keras: gain * eye(rows, cols); the compiler checks rank 2 */
    return (int64_t)e / var->shape[1] == (int64_t)e % var->shape[1] ? in->gain : 0.0;
  case NNC_INITIALIZER_UNIT_FORGET_BIAS: /* Keras's LSTMCell: zeros, ones, zeros, zeros */
    return (int64_t)e / (var->count / 4) == 1 ? 1.0 : 0.0;
  case NNC_INITIALIZER_ORTHOGONAL: /* whole-matrix: fill_orthogonal */
    break;
  }
  return 0.0;
}

/* Keras's Orthogonal: the weight as a matrix rows x cols (rows: every axis
 * but the last), a standard normal matrix a of max(rows, cols) x
 * min(rows, cols), a = QR, q times the signs of diag(r), transposed when
 * rows < cols, times gain. A QR whose r has a positive diagonal is unique,
 * so modified Gram-Schmidt (which gives one) yields the sign-fixed q of any
 * QR routine; each column is orthogonalized twice to keep q orthogonal to
 * double precision. The normals are drawn per element like every other
 * initializer, so the values are deterministic in (seed, name). */
static int fill_orthogonal(float *out, const nnc_initializer *in, const nnc_variable *var,
                           uint64_t key, nnc_status *st) {
  int64_t cols = var->shape[var->rank - 1], rows = var->count / (cols ? cols : 1);
  int64_t m = rows > cols ? rows : cols, n = rows > cols ? cols : rows; /* a is m x n, m >= n */
  if (m == 0 || n == 0) return NNC_OK;
  /* a is stored by columns (column j at a + j m): Gram-Schmidt walks
   * columns, and a row-major a made every step a strided walk (a 1024-unit
   * LSTM's recurrent kernel took two minutes). The normals keep their
   * row-major element numbers, and each sum runs in the same order. */
  double *a = nnc_calloc((size_t)(m * n), sizeof *a, st);
  if (!a) return st->code;
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) a[j * m + i] = normal(key, (uint64_t)(i * n + j), 0);
  for (int64_t j = 0; j < n; j++) { /* column j of a becomes q's column j */
    double *aj = a + j * m;
    for (int pass = 0; pass < 2; pass++)
      for (int64_t k = 0; k < j; k++) {
        const double *ak = a + k * m;
        double dot = 0;
        for (int64_t i = 0; i < m; i++) dot += ak[i] * aj[i];
        for (int64_t i = 0; i < m; i++) aj[i] -= dot * ak[i];
      }
    double norm = 0;
    for (int64_t i = 0; i < m; i++) norm += aj[i] * aj[i];
    norm = sqrt(norm);
    for (int64_t i = 0; i < m; i++) aj[i] = norm > 0 ? aj[i] / norm : 0.0;
  }
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < cols; c++) /* q [m, n] is [rows, cols], or its transpose */
      out[r * cols + c] = (float)(in->gain * (rows >= cols ? a[c * m + r] : a[r * m + c]));
  free(a);
  return NNC_OK;
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
    if (info->init.rule == NNC_INITIALIZER_ORTHOGONAL) {
      if (fill_orthogonal(m->params + info->offset, &info->init, info, key, st)) return st->code;
      continue;
    }
    for (int64_t e = 0; e < info->count; e++)
      m->params[info->offset + e] = (float)draw(&info->init, info, key, (uint64_t)e);
  }
  model_init_slots(m);
  m->iterations = 0;
  return NNC_OK;
}
