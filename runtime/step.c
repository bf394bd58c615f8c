/* Data preparation and one call of a compiled step. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/api_check.h"
#include "base/base.h"
#include "runtime/io/io.h"
#include "runtime/model.h"
#include "runtime/pool.h"
#include "base/rng.h"

static int to_f32(const nnc_array *a, float **out, nnc_status *st) {
  nnc_array f;
  if (nnc_array_to_f32(a, &f, st)) return st->code;
  *out = f.data;
  return NNC_OK;
}

static void shape_text(const nnc_array *a, char *buf, size_t n) {
  size_t used = (size_t)snprintf(buf, n, "(");
  for (int i = 0; i < a->rank && used < n; i++)
    used += (size_t)snprintf(buf + used, n - used, "%s%lld", i ? ", " : "", (long long)a->shape[i]);
  if (used < n) snprintf(buf + used, n - used, a->rank == 1 ? ",)" : ")");
}

int model_data_prepare(const nnc_model *m, const nnc_array *x, const nnc_array *y, model_data *d,
                       nnc_status *st) {
  memset(d, 0, sizeof *d);
  const nnc_program *p = &m->compiled.prog;
  char got[96], want[64];
  if (x->rank < 1 || nnc_array_count(x) < 0)
    return nnc_fail(st, NNC_ERR_DATA, "x: malformed array");
  if (x->shape[0] == 0) { /* Keras raises on empty data; an empty epoch would report loss 0 */
    shape_text(x, got, sizeof got);
    return nnc_fail(st, NNC_ERR_DATA, "%s%sx has 0 samples (shape %s): at least 1 is needed",
                    API_ARRAY_WHERE(x), got);
  }
  d->n = x->shape[0];
  d->x_row = shape_inner(&p->inputs[0].shape);
  int ok = x->rank == p->inputs[0].shape.rank;
  for (int i = 1; ok && i < x->rank; i++) ok = x->shape[i] == p->inputs[0].shape.dims[i];
  if (!ok) {
    shape_text(x, got, sizeof got);
    shape_format(&p->inputs[0].shape, want, sizeof want);
    return nnc_fail(st, NNC_ERR_DATA, "%s%sx has shape %s but the model expects %s",
                    API_ARRAY_WHERE(x), got, want);
  }
  if (y) {
    d->y_row = shape_inner(&p->targets[0].shape);
    int64_t count = nnc_array_count(y);
    if (y->rank < 1 || y->shape[0] != d->n || count < 0 || count != d->n * d->y_row) {
      shape_text(y, got, sizeof got);
      shape_format(&p->targets[0].shape, want, sizeof want);
      return nnc_fail(st, NNC_ERR_DATA, "%s%sy has shape %s: expected %lld samples shaped like %s",
                      API_ARRAY_WHERE(y), got, (long long)d->n, want);
    }
  }
  if (to_f32(x, &d->x, st)) return st->code;
  if (y && to_f32(y, &d->y, st)) {
    model_data_free(d);
    return st->code;
  }
  if (y && p->n_targets && p->targets[0].classes > 0) {
    int64_t classes = p->targets[0].classes;
    for (int64_t i = 0; i < d->n * d->y_row; i++) {
      float v = d->y[i];
      if (!(v >= 0 && v < (float)classes && v == floorf(v))) {
        model_data_free(d);
        return nnc_fail(st, NNC_ERR_DATA,
                        "%s%sy[%lld] = %g is not a class index in [0, %lld) for "
                        "sparse_categorical_crossentropy",
                        API_ARRAY_WHERE(y), (long long)i, (double)v, (long long)classes);
      }
    }
  }
  return NNC_OK;
}

void model_data_free(model_data *d) {
  free(d->x);
  free(d->y);
  memset(d, 0, sizeof *d);
}

static int grow(float **buf, int64_t *cap, int64_t need, nnc_status *st) {
  if (need <= *cap) return NNC_OK;
  float *bigger = nnc_realloc_array(*buf, (size_t)need, sizeof(float), st);
  if (!bigger) return st->code;
  *buf = bigger;
  *cap = need;
  return NNC_OK;
}

/* Workspace for batches of up to `rows` rows; called before a loop so that
 * the steps themselves never allocate. */
int model_reserve(nnc_model *m, int64_t rows, nnc_status *st) {
  const nnc_compiled *c = &m->compiled;
  int64_t fixed = 1, per_row = 1;
  for (int i = 0; i < NNC_GRAPH_COUNT; i++) {
    if (!c->has_graph[i]) continue;
    if (c->graphs[i].fixed_floats > fixed) fixed = c->graphs[i].fixed_floats;
    if (c->graphs[i].batch_floats_per_row > per_row) per_row = c->graphs[i].batch_floats_per_row;
  }
  const nnc_program *p = &c->prog;
  if (grow(&m->fixed, &m->fixed_cap, fixed, st) ||
      grow(&m->batch, &m->batch_cap, per_row * rows, st) ||
      grow(&m->x_batch, &m->xb_cap, shape_inner(&p->inputs[0].shape) * rows, st) ||
      grow(&m->y_batch, &m->yb_cap,
           (p->n_targets ? shape_inner(&p->targets[0].shape) : 0) * rows + 1, st))
    return st->code;
  return NNC_OK;
}

typedef struct step_job {
  nnc_step_fn fn;
  float **regions;
  const float *scalars;
  int64_t rows;
  uint64_t rng;
  nnc_pool *pool;
} step_job;

static void run_job(void *arg, int tid, int nthreads) {
  step_job *j = arg;
  j->fn(j->regions, j->scalars, j->rows, j->rng, tid, nthreads, pool_barrier, j->pool);
}

int model_run_step(nnc_model *m, int which, const model_data *d, const int64_t *idx, int64_t first,
                   int64_t rows, float *out, nnc_status *st) {
  nnc_step_fn fn = m->compiled.step[which];
  if (!fn)
    return nnc_fail(st, NNC_ERR_ARG, "%s: the model has no compile config (optimizer, loss)",
                    m->spec.source);
  if (model_reserve(m, rows, st)) return st->code;
  float *x = d->x + first * d->x_row, *y = d->y ? d->y + first * d->y_row : NULL;
  if (idx) { /* gather shuffled rows */
    for (int64_t r = 0; r < rows; r++) {
      memcpy(m->x_batch + r * d->x_row, d->x + idx[r] * d->x_row, (size_t)d->x_row * sizeof(float));
      if (d->y)
        memcpy(m->y_batch + r * d->y_row, d->y + idx[r] * d->y_row,
               (size_t)d->y_row * sizeof(float));
    }
    x = m->x_batch;
    y = d->y ? m->y_batch : NULL;
  }
  float *regions[NNC_REGION_COUNT] = {0};
  regions[NNC_REGION_X] = x;
  regions[NNC_REGION_Y] = y;
  regions[NNC_REGION_OUT] = out;
  regions[NNC_REGION_PARAMS] = m->params;
  regions[NNC_REGION_SLOTS] = m->slots;
  regions[NNC_REGION_STATS] = m->stats;
  regions[NNC_REGION_FIXED] = m->fixed;
  regions[NNC_REGION_BATCH] = m->batch;
  float scalars[NNC_SCALAR_COUNT];
  scalars[NNC_SCALAR_LR] = (float)m->learning_rate;
  scalars[NNC_SCALAR_T] = (float)(m->iterations + 1);
  scalars[NNC_SCALAR_BATCH] = (float)rows;
  int checked = which == NNC_GRAPH_TRAIN && m->check_numerics;
  if (checked && numerics_before_step(m, x, y, rows, idx, first, st)) return st->code;
  /* dropout masks: keyed by (seed, step) here and (layer, element) in the kernel */
  uint64_t rng = nnc_mix64(nnc_mix64(m->seed) ^ (uint64_t)m->iterations);
  step_job job = {fn, regions, scalars, rows, rng, m->pool};
  if (m->pool)
    pool_run(m->pool, run_job, &job);
  else
    fn(regions, scalars, rows, rng, 0, 1, pool_barrier, NULL);
  if (which == NNC_GRAPH_TRAIN) m->iterations++;
  if (checked && numerics_after_step(m, rows, st)) return st->code; /* state restored */
  if (which == NNC_GRAPH_TRAIN) m->weights_changed = 1;
  return NNC_OK;
}
