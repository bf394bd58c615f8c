/* Optimizer state: its initial values, Keras's finalize_variable_values at the
 * end of fit (use_ema), and the state file (docs/optimizers.md "State file").
 *
 * The file is safetensors with Keras 3's optimizer variable names: "iteration"
 * (int64), "learning_rate" (float32, unless the learning rate is a schedule)
 * and one tensor per slot named as BaseOptimizer.add_variable_from_reference
 * names it, "<variable path with '/' as '_'>_<slot>" (dense_1_kernel_momentum),
 * plus Nadam's "u_product". */
#include <stdlib.h>
#include <string.h>

#include "runtime/api_check.h"
#include "runtime/io/io.h"
#include "runtime/model.h"

void model_init_slots(nnc_model *m) {
  const nnc_program_table *t = m->t;
  if (!t || !m->slots) return;
  memset(m->slots, 0, (size_t)t->slots_floats * sizeof *m->slots);
  for (int i = 0; i < t->n_variables; i++) {
    const nnc_variable *v = &t->variables[i];
    if (v->kind != NNC_VAR_SLOT || v->init.rule != NNC_INITIALIZER_CONSTANT) continue;
    for (int64_t e = 0; e < v->count; e++) m->slots[v->offset + e] = (float)v->init.value;
  }
}

static const nnc_variable *variable_named(const nnc_program_table *t, const char *name) {
  for (int i = 0; i < t->n_variables; i++)
    if (t->variables[i].kind != NNC_VAR_SLOT && !strcmp(t->variables[i].name, name))
      return &t->variables[i];
  return NULL;
}

/* optimizer._overwrite_model_variables_with_average_value */
int model_finalize_variable_values(nnc_model *m, nnc_status *st) {
  const nnc_program_table *t = m->t;
  if (!t) return NNC_OK;
  for (int i = 0; i < t->n_variables; i++) {
    const nnc_variable *avg = &t->variables[i];
    if (avg->kind != NNC_VAR_SLOT || !avg->average_of) continue;
    const nnc_variable *var = variable_named(t, avg->average_of);
    if (!var || var->count != avg->count)
      return nnc_fail(st, NNC_ERR_INTERNAL, "moving average %s: no variable %s of its size",
                      avg->name, avg->average_of);
    memcpy(m->params + var->offset, m->slots + avg->offset, (size_t)avg->count * sizeof(float));
  }
  return NNC_OK;
}

/* Keras's name of a slot: its name with '/' as '_' */
static int keras_name(const nnc_variable *v, char *out, size_t size, nnc_status *st) {
  if ((size_t)snprintf(out, size, "%s", v->name) >= size)
    return nnc_fail(st, NNC_ERR_INTERNAL, "optimizer slot name too long: %s", v->name);
  for (char *c = out; *c; c++)
    if (*c == '/') *c = '_';
  return NNC_OK;
}

static int has_lr_variable(const nnc_program_table *t) {
  return t->schedule.kind == NNC_SCHEDULE_CONSTANT;
}

static int check_built(const nnc_model *m, const char *fn, const char *path, nnc_status *st) {
  if (api_nonnull(m, fn, "m", st) || api_nonnull(path, fn, "path", st)) return NNC_ERR_ARG;
  if (!m->built || !m->t)
    return nnc_fail(st, NNC_ERR_ARG, "%s: %s: the model is not built yet; build it with data first",
                    fn, path);
  if (!m->t->entries[NNC_ENTRY_TRAIN].fn)
    return nnc_fail(st, NNC_ERR_ARG, "%s: %s: the model has no optimizer (no compile config)", fn,
                    path);
  return NNC_OK;
}

int model_optimizer_variables(const nnc_model *m, nnc_tensor_set *out, nnc_status *st) {
  memset(out, 0, sizeof *out);
  if (check_built(m, "nnc_model_save_optimizer_state", "the optimizer", st)) return st->code;
  const nnc_program_table *t = m->t;
  int64_t iterations = m->iterations;
  float lr = (float)m->learning_rate;
  nnc_array a = {.dtype = NNC_I64, .rank = 0, .data = &iterations};
  int rc = nnc_tensor_set_add(out, "iteration", &a, st);
  a = (nnc_array){.dtype = NNC_F32, .rank = 0, .data = &lr};
  if (!rc && has_lr_variable(t)) rc = nnc_tensor_set_add(out, "learning_rate", &a, st);
  /* the table lists each weight's slots after the previous weight's: Keras's
   * add_optimizer_variables interleaves them the same way */
  for (int i = 0; i < t->n_variables && !rc; i++) {
    const nnc_variable *v = &t->variables[i];
    if (v->kind != NNC_VAR_SLOT) continue;
    char name[sizeof out->items[0].name];
    if ((rc = keras_name(v, name, sizeof name, st))) break;
    if (nnc_tensor_set_find(out, name)) {
      rc = nnc_fail(st, NNC_ERR_INTERNAL, "two optimizer variables are named %s", name);
      break;
    }
    a = (nnc_array){.dtype = NNC_F32, .rank = v->rank, .data = m->slots + v->offset};
    memcpy(a.shape, v->shape, sizeof a.shape);
    rc = nnc_tensor_set_add(out, name, &a, st);
  }
  if (rc) nnc_tensor_set_free(out);
  return rc;
}

int nnc_model_save_optimizer_state(const nnc_model *m, const char *path, nnc_status *st) {
  API_STATUS(st);
  if (check_built(m, "nnc_model_save_optimizer_state", path, st)) return st->code;
  nnc_tensor_set set;
  int rc = model_optimizer_variables(m, &set, st);
  if (rc) return nnc_fail_prefix(st, "%s", path);
  rc = nnc_safetensors_write(path, &set, st);
  nnc_tensor_set_free(&set);
  return rc;
}

static int same_shape(const nnc_array *a, const nnc_variable *v) {
  if (a->rank != v->rank) return 0;
  for (int k = 0; k < v->rank; k++)
    if (a->shape[k] != v->shape[k]) return 0;
  return 1;
}

static void describe_shape(const int64_t *shape, int rank, char *out, size_t size) {
  size_t n = (size_t)snprintf(out, size, "(");
  for (int k = 0; k < rank && n < size; k++)
    n += (size_t)snprintf(out + n, size - n, "%s%lld", k ? ", " : "", (long long)shape[k]);
  if (n < size) snprintf(out + n, size - n, rank == 1 ? ",)" : ")");
}

/* Every tensor the file must have, of its shape; nothing else. Values land in
 * slots (a copy of m->slots) only. */
static int check_file(const nnc_model *m, const char *path, const nnc_tensor_set *set, float *slots,
                      int64_t *iterations, double *lr, nnc_status *st) {
  const nnc_program_table *t = m->t;
  int expected = 1 + has_lr_variable(t);
  const nnc_array *it = nnc_tensor_set_find(set, "iteration");
  if (!it)
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: no tensor named 'iteration' (the optimizer's step count)", path);
  if (it->rank != 0 || (it->dtype != NNC_I64 && it->dtype != NNC_I32))
    return nnc_fail(st, NNC_ERR_DATA, "%s: 'iteration': expected an integer scalar", path);
  *iterations = it->dtype == NNC_I64 ? *(const int64_t *)it->data : *(const int32_t *)it->data;
  if (*iterations < 0)
    return nnc_fail(st, NNC_ERR_DATA, "%s: 'iteration': expected a count >= 0, got %lld", path,
                    (long long)*iterations);
  if (has_lr_variable(t)) {
    const nnc_array *a = nnc_tensor_set_find(set, "learning_rate");
    if (!a) return nnc_fail(st, NNC_ERR_DATA, "%s: no tensor named 'learning_rate'", path);
    if (a->rank != 0 || a->dtype != NNC_F32 || !(*(const float *)a->data >= 0))
      return nnc_fail(st, NNC_ERR_DATA, "%s: 'learning_rate': expected a float32 scalar >= 0",
                      path);
    *lr = *(const float *)a->data;
  }
  for (int i = 0; i < t->n_variables; i++) {
    const nnc_variable *v = &t->variables[i];
    if (v->kind != NNC_VAR_SLOT) continue;
    expected++;
    char name[sizeof set->items[0].name];
    if (keras_name(v, name, sizeof name, st)) return st->code;
    const nnc_array *a = nnc_tensor_set_find(set, name);
    if (!a)
      return nnc_fail(st, NNC_ERR_DATA,
                      "%s: no tensor named '%s' (this model's optimizer has it: is the file of "
                      "another optimizer or model?)",
                      path, name);
    if (a->dtype != NNC_F32 || !same_shape(a, v)) {
      char want[128], got[128];
      describe_shape(v->shape, v->rank, want, sizeof want);
      describe_shape(a->shape, a->rank, got, sizeof got);
      return nnc_fail(st, NNC_ERR_DATA, "%s: '%s': expected float32 of shape %s, got %s%s", path,
                      name, want, a->dtype == NNC_F32 ? "shape " : "another dtype, shape ", got);
    }
    memcpy(slots + v->offset, a->data, (size_t)v->count * sizeof(float));
  }
  if (set->n != expected)
    for (int i = 0; i < set->n; i++) {
      const char *name = set->items[i].name;
      int known =
          !strcmp(name, "iteration") || (has_lr_variable(t) && !strcmp(name, "learning_rate"));
      for (int k = 0; k < t->n_variables && !known; k++) {
        char own[sizeof set->items[0].name];
        if (t->variables[k].kind == NNC_VAR_SLOT &&
            !keras_name(&t->variables[k], own, sizeof own, st) && !strcmp(own, name))
          known = 1;
      }
      if (!known)
        return nnc_fail(st, NNC_ERR_DATA,
                        "%s: tensor '%s' is not a variable of this model's optimizer", path, name);
    }
  return NNC_OK;
}

int model_set_optimizer_variables(nnc_model *m, const char *path, const nnc_tensor_set *set,
                                  nnc_status *st) {
  if (check_built(m, "nnc_model_load_optimizer_state", path, st)) return st->code;
  float *slots = nnc_calloc((size_t)m->t->slots_floats + 1, sizeof *slots, st);
  int64_t iterations = 0;
  double lr = m->learning_rate;
  int rc = slots ? check_file(m, path, set, slots, &iterations, &lr, st) : (int)st->code;
  if (!rc) { /* all or nothing */
    memcpy(m->slots, slots, (size_t)m->t->slots_floats * sizeof *slots);
    m->iterations = iterations;
    m->learning_rate = lr;
  }
  free(slots);
  return rc;
}

int nnc_model_load_optimizer_state(nnc_model *m, const char *path, nnc_status *st) {
  API_STATUS(st);
  if (check_built(m, "nnc_model_load_optimizer_state", path, st)) return st->code;
  nnc_tensor_set set = {0};
  if (nnc_safetensors_read(path, &set, st)) return st->code;
  int rc = model_set_optimizer_variables(m, path, &set, st);
  nnc_tensor_set_free(&set);
  return rc;
}
