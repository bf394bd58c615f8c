/* Check-numerics mode (nnc_model_set_check_numerics), as
 * tf.debugging.enable_check_numerics: the first value of a train step that is
 * not finite stops training, named by its probe. The train step is compiled
 * unfused with a buffer per value, listed as probes in the program table, so
 * after the step every value is still in memory; the probes are in
 * topological order, so the first non-finite value is one whose inputs are
 * all finite. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "runtime/model.h"

static const char kept[] = "; training stopped, the weights, optimizer slots and iteration count "
                           "are those from before this step";

/* "NaN" if any value is NaN, else "inf"/"-inf" for the first infinity, else NULL. */
static const char *non_finite(const float *v, int64_t n, int64_t *first, int64_t *count) {
  const char *what = NULL;
  *count = 0;
  for (int64_t i = 0; i < n; i++) {
    if (isfinite(v[i])) continue;
    if (!*count) *first = i;
    ++*count;
    if (isnan(v[i]))
      what = "NaN";
    else if (!what)
      what = v[i] > 0 ? "inf" : "-inf";
  }
  return what;
}

static int grow(float **buf, int64_t *cap, int64_t need, nnc_status *st) {
  if (need <= *cap) return NNC_OK;
  float *bigger = nnc_realloc_array(*buf, (size_t)need, sizeof(float), st);
  if (!bigger) return st->code;
  *buf = bigger;
  *cap = need;
  return NNC_OK;
}

static int check_rows(const char *name, const float *v, int64_t rows, int64_t row,
                      const int64_t *idx, int64_t first, nnc_status *st) {
  int64_t at, count;
  const char *what = v ? non_finite(v, rows * row, &at, &count) : NULL;
  if (!what) return NNC_OK;
  int64_t r = at / row, sample = idx ? idx[r] : first + r;
  return nnc_fail(st, NNC_ERR_NUMERICS,
                  "the input %s holds %s (sample %lld, element %lld of its row)%s", name, what,
                  (long long)sample, (long long)(at % row), kept);
}

int numerics_before_step(nnc_model *m, float *const *data, int64_t rows, const int64_t *idx,
                         int64_t first, nnc_status *st) {
  const nnc_program_table *t = m->t;
  for (int b = 0; b < t->n_inputs + t->n_targets; b++) {
    int is_y = b >= t->n_inputs;
    const nnc_io_desc *io = is_y ? &t->targets[b - t->n_inputs] : &t->inputs[b];
    int many = is_y ? t->n_targets > 1 : t->n_inputs > 1;
    char name[160];
    if (many)
      snprintf(name, sizeof name, "%s '%s'", is_y ? "target" : "input", io->name);
    else
      snprintf(name, sizeof name, "%s", is_y ? "y" : "x");
    int64_t row = 1;
    for (int i = 0; i < io->rank; i++) row *= io->shape[i];
    if (check_rows(name, data[b], rows, row, idx, first, st)) return st->code;
  }
  int64_t at, count;
  for (int i = 0; i < t->n_variables; i++) {
    const nnc_variable *v = &t->variables[i];
    int slot = v->kind == NNC_VAR_SLOT;
    const char *what = non_finite((slot ? m->slots : m->params) + v->offset, v->count, &at, &count);
    if (what)
      return nnc_fail(st, NNC_ERR_NUMERICS, "the %s %s holds %s before this step%s",
                      slot ? "optimizer slot" : "weight", v->name, what, kept);
  }
  if (grow(&m->saved_params, &m->saved_params_cap, t->params_floats + 1, st) ||
      grow(&m->saved_slots, &m->saved_slots_cap, t->slots_floats + 1, st))
    return st->code;
  memcpy(m->saved_params, m->params, (size_t)t->params_floats * sizeof(float));
  memcpy(m->saved_slots, m->slots, (size_t)t->slots_floats * sizeof(float));
  m->saved_iterations = m->iterations;
  return NNC_OK;
}

int numerics_after_step(nnc_model *m, int64_t rows, nnc_status *st) {
  const nnc_program_table *t = m->t;
  for (int i = 0; i < t->n_probes; i++) {
    const nnc_probe *p = &t->probes[i];
    const float *v = (p->region == NNC_REGION_BATCH ? m->batch : m->fixed) +
                     (p->batched ? p->offset * rows : p->offset);
    int64_t count = p->batched ? p->count * rows : p->count;
    int64_t at, bad;
    const char *what = non_finite(v, count, &at, &bad);
    if (!what) continue;
    memcpy(m->params, m->saved_params, (size_t)t->params_floats * sizeof(float));
    memcpy(m->slots, m->saved_slots, (size_t)t->slots_floats * sizeof(float));
    m->iterations = m->saved_iterations;
    /* "dense_1/matmul (op matmul, layer dense_1)" */
    char who[384];
    if (p->layer)
      snprintf(who, sizeof who, "%s (op %s, layer %s)", p->label, p->op, p->layer);
    else
      snprintf(who, sizeof who, "%s (op %s)", p->label, p->op);
    return nnc_fail(st, NNC_ERR_NUMERICS, "%s produced %s (%lld of %lld values)%s", who, what,
                    (long long)bad, (long long)count, kept);
  }
  return NNC_OK;
}
