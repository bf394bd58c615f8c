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

/* Block Gram-Schmidt: ORTHO_BLOCK columns at a time, each block first made
 * orthogonal to the finished columns before it (twice: "twice is enough"),
 * then orthonormalized within itself. Each finished column is read once per
 * block and pass instead of once per column and pass (a 1024-unit LSTM's
 * 4096 x 1024 recurrent Q was memory-bound), and the block's dot products
 * run as independent sums. */
enum { ORTHO_BLOCK = 8 }; /* block_dots names eight sums */

/* r[k][jj] = q_k . a_(j0 + jj) for k < j0, jj < b: each q_k read once for
 * the block, its b sums independent (a full block's unrolled in registers). */
static void block_dots(const double *a, int64_t m, int64_t j0, int64_t b, double *r) {
  const double *blk = a + j0 * m;
  for (int64_t k = 0; k < j0; k++) {
    const double *q = a + k * m;
    double acc[ORTHO_BLOCK] = {0};
    if (b == ORTHO_BLOCK) { /* eight named sums: an array stays in memory */
      const double *c0 = blk, *c1 = c0 + m, *c2 = c1 + m, *c3 = c2 + m, *c4 = c3 + m, *c5 = c4 + m,
                   *c6 = c5 + m, *c7 = c6 + m;
      double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
      for (int64_t i = 0; i < m; i++) {
        double qi = q[i];
        s0 += qi * c0[i], s1 += qi * c1[i], s2 += qi * c2[i], s3 += qi * c3[i];
        s4 += qi * c4[i], s5 += qi * c5[i], s6 += qi * c6[i], s7 += qi * c7[i];
      }
      acc[0] = s0, acc[1] = s1, acc[2] = s2, acc[3] = s3;
      acc[4] = s4, acc[5] = s5, acc[6] = s6, acc[7] = s7;
    } else {
      for (int64_t i = 0; i < m; i++)
        for (int64_t jj = 0; jj < b; jj++) acc[jj] += q[i] * blk[jj * m + i];
    }
    for (int64_t jj = 0; jj < b; jj++) r[k * ORTHO_BLOCK + jj] = acc[jj];
  }
}

/* a_(j0 + jj) -= sum over k < j0 of r[k][jj] q_k, four q_k at a time (they
 * stay in cache across the block's columns; one store per four terms). */
static void block_update(double *a, int64_t m, int64_t j0, int64_t b, const double *r) {
  double *blk = a + j0 * m;
  int64_t k = 0;
  for (; k + 4 <= j0; k += 4) {
    const double *q0 = a + k * m, *q1 = q0 + m, *q2 = q1 + m, *q3 = q2 + m;
    for (int64_t jj = 0; jj < b; jj++) {
      const double *rk = r + k * ORTHO_BLOCK + jj;
      double r0 = rk[0], r1 = rk[ORTHO_BLOCK], r2 = rk[2 * ORTHO_BLOCK], r3 = rk[3 * ORTHO_BLOCK];
      double *aj = blk + jj * m;
      for (int64_t i = 0; i < m; i++)
        aj[i] -= (r0 * q0[i] + r1 * q1[i]) + (r2 * q2[i] + r3 * q3[i]);
    }
  }
  for (; k < j0; k++) {
    const double *q = a + k * m;
    for (int64_t jj = 0; jj < b; jj++) {
      double rk = r[k * ORTHO_BLOCK + jj], *aj = blk + jj * m;
      for (int64_t i = 0; i < m; i++) aj[i] -= rk * q[i];
    }
  }
}

/* Columns [j0, j0 + b) of a (m rows, by columns) minus their projections on
 * the orthonormal columns [0, j0), twice; r: room for j0 * ORTHO_BLOCK. */
static void project_block(double *a, int64_t m, int64_t j0, int64_t b, double *r) {
  for (int pass = 0; pass < 2; pass++) {
    block_dots(a, m, j0, b, r);
    block_update(a, m, j0, b, r);
  }
}

/* Column j of a: minus its projections on columns [j0, j) (twice, one at a
 * time), then of unit norm (0 when nothing is left). */
static void finish_column(double *a, int64_t m, int64_t j0, int64_t j) {
  double *aj = a + j * m;
  for (int pass = 0; pass < 2; pass++)
    for (int64_t k = j0; k < j; k++) {
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

/* Keras's Orthogonal: the weight as a matrix rows x cols (rows: every axis
 * but the last), a standard normal matrix a of max(rows, cols) x
 * min(rows, cols), a = QR, q times the signs of diag(r), transposed when
 * rows < cols, times gain. A QR whose r has a positive diagonal is unique,
 * so Gram-Schmidt (which gives one: each column is divided by its positive
 * norm) yields the sign-fixed q of any QR routine; every projection is made
 * twice to keep q orthogonal to double precision. The normals are drawn per
 * element like every other initializer, so the values are deterministic in
 * (seed, name). */
static int fill_orthogonal(float *out, const nnc_initializer *in, const nnc_variable *var,
                           uint64_t key, nnc_status *st) {
  int64_t cols = var->shape[var->rank - 1], rows = var->count / (cols ? cols : 1);
  int64_t m = rows > cols ? rows : cols, n = rows > cols ? cols : rows; /* a is m x n, m >= n */
  if (m == 0 || n == 0) return NNC_OK;
  /* a is stored by columns (column j at a + j m): Gram-Schmidt walks
   * columns. The normals keep their row-major element numbers. */
  double *a = nnc_calloc((size_t)(m * n), sizeof *a, st);
  double *r = nnc_calloc((size_t)(n * ORTHO_BLOCK), sizeof *r, st);
  if (!a || !r) {
    free(a);
    free(r);
    return st->code;
  }
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) a[j * m + i] = normal(key, (uint64_t)(i * n + j), 0);
  for (int64_t j0 = 0; j0 < n; j0 += ORTHO_BLOCK) {
    int64_t b = n - j0 < ORTHO_BLOCK ? n - j0 : ORTHO_BLOCK;
    project_block(a, m, j0, b, r);
    for (int64_t j = j0; j < j0 + b; j++) finish_column(a, m, j0, j);
  }
  for (int64_t r_ = 0; r_ < rows; r_++)
    for (int64_t c = 0; c < cols; c++) /* q [m, n] is [rows, cols], or its transpose */
      out[r_ * cols + c] = (float)(in->gain * (rows >= cols ? a[c * m + r_] : a[r_ * m + c]));
  free(a);
  free(r);
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
