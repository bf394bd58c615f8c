/* The cached binding of an on-batch call (step_bind.h): a step of a tiny
 * model costs about as much as the derivation its call did before it (the
 * build check, the arrays' checks, row sizes, workspace, sorted logs), so a
 * call like the previous one reuses what the previous one derived. */
#include "runtime/step_bind.h"

#include <stdlib.h>
#include <string.h>

#include "base/base.h"

static void header_of(const nnc_array *a, bound_array *h) {
  memset(h, 0, sizeof *h);
  h->dtype = a->dtype;
  h->rank = a->rank;
  for (int i = 0; i < a->rank && i < NNC_MAX_RANK; i++) h->shape[i] = a->shape[i];
  h->empty = a->rank == 0 || nnc_array_count(a) == 0;
}

/* Same header; data present when it has elements (the one argument check
 * that a header does not settle). A rank-0 y entry (no target) has none. */
static int same_array(const nnc_array *a, const bound_array *h) {
  if (a->dtype != h->dtype || a->rank != h->rank || (!a->data && !h->empty)) return 0;
  for (int i = 0; i < a->rank; i++)
    if (a->shape[i] != h->shape[i]) return 0;
  return 1;
}

step_binding *step_bound(nnc_model *m, int n_x, const nnc_array *x, int n_y, const nnc_array *y) {
  step_binding *b = m->bind;
  if (!b || !x || !y || b->t != m->t || b->build_gen != m->build_gen || n_x != b->n_x ||
      n_y != b->n_y)
    return NULL;
  for (int k = 0; k < n_x; k++)
    if (!same_array(&x[k], &b->arrays[k])) return NULL;
  for (int k = 0; k < n_y; k++)
    if (!same_array(&y[k], &b->arrays[n_x + k])) return NULL;
  const nnc_program_table *t = m->t;
  for (int k = 0; k < t->n_inputs; k++) b->d.v[k] = x[k].data;
  for (int j = 0; j < t->n_targets; j++) b->d.v[t->n_inputs + j] = y[t->targets[j].output].data;
  return b;
}

/* The table's log keys sorted by name as logs_sort orders them (an
 * insertion sort: stable, so equal names keep the table's order). */
static int sort_keys(step_binding *b, const nnc_program_table *t, nnc_status *st) {
  b->n_keys = t->n_log_keys;
  b->order = nnc_calloc((size_t)b->n_keys + 1, sizeof *b->order, st);
  b->names = nnc_calloc((size_t)b->n_keys + 1, sizeof *b->names, st);
  if (!b->order || !b->names) return st->code;
  for (int i = 0; i < b->n_keys; i++) {
    char name[NNC_LOG_NAME];
    logs_key_name("", t->log_keys[i].name, name);
    int j = i;
    for (; j > 0 && strcmp(b->names[j - 1], name) > 0; j--) {
      memcpy(b->names[j], b->names[j - 1], NNC_LOG_NAME);
      b->order[j] = b->order[j - 1];
    }
    memcpy(b->names[j], name, NNC_LOG_NAME);
    b->order[j] = i;
  }
  return NNC_OK;
}

void step_bind(nnc_model *m, uint64_t gen, int n_x, const nnc_array *x, int n_y, const nnc_array *y,
               model_data *d) {
  step_binding_free(m);
  nnc_status st;
  nnc_status_ok(&st);
  if (gen != m->build_gen || !x || !y) { /* the call built: bind the next one */
    model_data_free(d);
    return;
  }
  step_binding *b = nnc_calloc(1, sizeof *b, &st);
  if (!b) {
    model_data_free(d);
    return;
  }
  const nnc_program_table *t = m->t;
  b->t = t;
  b->build_gen = gen;
  b->n_x = n_x;
  b->n_y = n_y;
  b->d = *d;
  memset(d, 0, sizeof *d);
  for (int k = 0; k < t->n_inputs; k++) b->values_checked |= t->inputs[k].classes > 0;
  for (int j = 0; j < t->n_targets; j++) b->values_checked |= t->targets[j].classes > 0;
  b->arrays = nnc_calloc((size_t)(n_x + n_y) + 1, sizeof *b->arrays, &st);
  m->bind = b;
  if (!b->arrays || sort_keys(b, t, &st)) {
    step_binding_free(m);
    return;
  }
  for (int k = 0; k < n_x; k++) header_of(&x[k], &b->arrays[k]);
  for (int k = 0; k < n_y; k++) header_of(&y[k], &b->arrays[n_x + k]);
}

int step_bound_logs(const step_binding *b, const epoch_acc *acc, nnc_logs *out, nnc_status *st) {
  if (logs_reserve(out, b->n_keys, st)) return st->code;
  for (int k = 0; k < b->n_keys; k++) {
    if (epoch_value(acc, b->t, b->order[k], &out->values[k], st)) return st->code;
    memcpy(out->names[k], b->names[k], NNC_LOG_NAME);
    out->n = k + 1;
  }
  return NNC_OK;
}

void step_binding_free(nnc_model *m) {
  step_binding *b = m->bind;
  if (!b) return;
  model_data_free(&b->d);
  free(b->arrays);
  free(b->order);
  free(b->names);
  free(b);
  m->bind = NULL;
}
