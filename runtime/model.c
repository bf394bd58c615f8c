/* Model lifecycle: parse, build (compile for data shapes), weights by name. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/api_check.h"
#include "runtime/epoch.h"
#include "base/base.h"
#include "runtime/io/io.h"
#include "runtime/model.h"
#include "runtime/pool.h"

static int model_build(nnc_model *m, const nnc_array *x, const nnc_array *y, int force,
                       int keep_state, nnc_status *st);

static int model_new(nnc_model **out, nnc_status *st) {
  *out = nnc_calloc(1, sizeof **out, st);
  return *out ? NNC_OK : NNC_ERR_NOMEM;
}

static int has_declared_input(const nnc_spec *s) {
  for (int i = 0; i < s->n_layers; i++)
    if (s->layers[i].has_input_shape) return 1;
  return 0;
}

static int after_load(nnc_model *m, nnc_model **out, nnc_status *st) {
  m->learning_rate = m->spec.compile.optimizer.learning_rate;
  if (has_declared_input(&m->spec) && model_ensure_built(m, NULL, NULL, st)) {
    nnc_model_free(m);
    return st->code;
  }
  *out = m;
  return NNC_OK;
}

int nnc_model_load_file(const char *path, nnc_model **out, nnc_status *st) {
  API_STATUS(st);
  nnc_model *m;
  if (api_nonnull(out, "nnc_model_load_file", "out", st)) return NNC_ERR_ARG;
  *out = NULL;
  if (api_nonnull(path, "nnc_model_load_file", "path", st)) return NNC_ERR_ARG;
  if (model_new(&m, st)) return st->code;
  if (nnc_spec_parse_file(path, &m->spec, st)) {
    nnc_model_free(m);
    return st->code;
  }
  return after_load(m, out, st);
}

int nnc_model_load_string(const char *json, const char *source_name, nnc_model **out,
                          nnc_status *st) {
  API_STATUS(st);
  nnc_model *m;
  if (api_nonnull(out, "nnc_model_load_string", "out", st)) return NNC_ERR_ARG;
  *out = NULL;
  if (api_nonnull(json, "nnc_model_load_string", "json", st)) return NNC_ERR_ARG;
  if (model_new(&m, st)) return NNC_ERR_NOMEM;
  if (nnc_spec_parse_string(json, source_name ? source_name : "<string>", &m->spec, st)) {
    nnc_model_free(m);
    return st->code;
  }
  return after_load(m, out, st);
}

void nnc_model_free(nnc_model *m) {
  if (!m) return;
  nnc_compiled_free(&m->compiled);
  nnc_spec_free(&m->spec);
  free(m->params);
  free(m->slots);
  free(m->fixed);
  free(m->batch);
  free(m->stats);
  free(m->x_batch);
  free(m->y_batch);
  free(m->saved_params);
  free(m->saved_slots);
  pool_destroy(m->pool);
  free(m);
}

int nnc_model_set_compile_config(nnc_model *m, const char *json, nnc_status *st) {
  API_STATUS(st);
  if (api_nonnull(m, "nnc_model_set_compile_config", "m", st) ||
      api_nonnull(json, "nnc_model_set_compile_config", "json", st))
    return NNC_ERR_ARG;
  if (nnc_spec_parse_compile_string(json, "compile config", &m->spec, st)) return st->code;
  m->learning_rate = m->spec.compile.optimizer.learning_rate;
  /* recompile with the new loss/optimizer; the weights stay, the optimizer state is new */
  return m->built ? model_build(m, NULL, NULL, 1, 0, st) : NNC_OK;
}

int nnc_model_set_seed(nnc_model *m, uint64_t seed, nnc_status *st) {
  API_STATUS(st);
  if (api_nonnull(m, "nnc_model_set_seed", "m", st)) return NNC_ERR_ARG;
  m->seed = seed;
  /* weights that were trained, set or loaded are the user's: keep them */
  return m->built && !m->weights_changed ? model_init_weights(m, st) : NNC_OK;
}

int nnc_model_is_built(const nnc_model *m) {
  return m ? m->built : 0;
}

int nnc_model_set_threads(nnc_model *m, int threads, nnc_status *st) {
  API_STATUS(st);
  if (api_nonnull(m, "nnc_model_set_threads", "m", st)) return NNC_ERR_ARG;
  if (threads < 1 || threads > 256)
    return nnc_fail(st, NNC_ERR_ARG, "threads must be in [1, 256], got %d", threads);
  if (pool_size(m->pool) == threads) return NNC_OK;
  pool_destroy(m->pool);
  m->pool = NULL;
  return threads == 1 ? NNC_OK : pool_create(threads, &m->pool, st);
}

int nnc_model_threads(const nnc_model *m) {
  return m ? pool_size(m->pool) : 0;
}

static void inner_of(const nnc_array *a, nnc_spec_shape *s) {
  memset(s, 0, sizeof *s);
  if (!a) return;
  s->rank = a->rank > 0 ? a->rank - 1 : 0;
  for (int i = 1; i < a->rank; i++) s->dims[i - 1] = a->shape[i];
}

static void inner_from_shape(const nnc_shape *s, nnc_spec_shape *out) {
  memset(out, 0, sizeof *out);
  out->rank = s->rank > 0 ? s->rank - 1 : 0;
  for (int i = 1; i < s->rank; i++) out->dims[i - 1] = s->dims[i];
}

static int same_inner(const nnc_spec_shape *a, const nnc_spec_shape *b) {
  if (a->rank != b->rank) return 0;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i]) return 0;
  return 1;
}

/* Compile for (x, y) shapes; `force` recompiles a built model (new compile
 * config) for the shapes it has. Weights are kept across recompiles. */
/* keep_state: a recompile that changes only code generation keeps the
 * optimizer slots and step count too. */
static int model_build(nnc_model *m, const nnc_array *x, const nnc_array *y, int force,
                       int keep_state, nnc_status *st) {
  nnc_spec_shape xi, yi;
  inner_of(x, &xi);
  inner_of(y, &yi);
  if ((x && x->rank < 1) || (y && y->rank < 1))
    return nnc_fail(st, NNC_ERR_DATA, "x and y must have a batch axis");
  int y_known = y != NULL;
  if (m->built && !force) {
    int x_ok = !x || same_inner(&xi, &m->x_inner);
    /* targets shaped exactly as the compiled labels change nothing (not even
     * how "accuracy" resolves), so they need no recompile */
    int y_ok = !y || same_inner(&yi, &m->y_inner);
    if (x_ok && y_ok) {
      if (y) m->y_known = 1;
      return NNC_OK;
    }
  }
  if (!x) xi = m->x_inner;
  if (!y) {
    yi = m->y_inner;
    y_known = m->y_known;
  }
  nnc_compiled fresh;
  nnc_compile_options copts = {0};
  copts.accumulate_f64 = m->accumulate_f64;
  copts.check_numerics = m->check_numerics;
  nnc_data_shapes data = {xi.rank ? 1 : 0, &xi, y_known ? 1 : 0, &yi};
  if (nnc_compile_spec(&m->spec, &data, &copts, &fresh, st)) {
    /* the compiler's data errors are about the inputs' or the targets'
     * shape: put the file they came from in front */
    const nnc_array *culprit = strstr(st->message, "the targets") ? y : x;
    if (st->code == NNC_ERR_DATA && culprit && culprit->name && culprit->name[0])
      nnc_fail_prefix(st, "%s", culprit->name);
    return st->code;
  }
  if (fresh.prog.n_stats > EPOCH_MAX_STATS) {
    nnc_compiled_free(&fresh);
    return nnc_fail(st, NNC_ERR_SPEC,
                    "%s: the metrics need %d statistics, at most %d are supported", m->spec.source,
                    fresh.prog.n_stats, EPOCH_MAX_STATS);
  }
  if (m->built && fresh.prog.params_floats != m->compiled.prog.params_floats) {
    nnc_compiled_free(&fresh);
    return nnc_fail(st, NNC_ERR_DATA, "the data's shape would change the model's weights");
  }
  float *slots = m->slots;
  if (!m->built || (force && !keep_state) ||
      fresh.prog.slots_floats != m->compiled.prog.slots_floats) {
    slots = nnc_calloc((size_t)fresh.prog.slots_floats + 1, sizeof *slots, st);
    if (!slots) {
      nnc_compiled_free(&fresh);
      return st->code;
    }
    free(m->slots);
  }
  m->slots = slots;
  int first_build = !m->built;
  nnc_compiled_free(&m->compiled);
  m->compiled = fresh;
  /* remember the shapes compiled for, as the data will bring them */
  inner_from_shape(&fresh.prog.inputs[0].shape, &m->x_inner);
  if (y_known)
    m->y_inner = yi;
  else if (fresh.prog.n_targets)
    inner_from_shape(&fresh.prog.targets[0].shape, &m->y_inner);
  else
    memset(&m->y_inner, 0, sizeof m->y_inner);
  m->y_known = y_known;
  free(m->stats);
  m->stats = nnc_calloc((size_t)fresh.prog.n_stats + 1, sizeof *m->stats, st);
  if (!m->stats) return st->code;
  if (first_build) {
    m->params = nnc_calloc((size_t)fresh.prog.params_floats + 1, sizeof *m->params, st);
    if (!m->params) return st->code;
    m->built = 1;
    return model_init_weights(m, st);
  }
  m->built = 1;
  if (force && !keep_state)
    m->iterations = 0; /* a new optimizer starts at step 0, as Keras's compile() */
  return NNC_OK;
}

int model_ensure_built(nnc_model *m, const nnc_array *x, const nnc_array *y, nnc_status *st) {
  return model_build(m, x, y, 0, 0, st);
}

int nnc_model_set_accumulation(nnc_model *m, nnc_accumulation acc, nnc_status *st) {
  API_STATUS(st);
  if (api_nonnull(m, "nnc_model_set_accumulation", "m", st)) return NNC_ERR_ARG;
  if (acc != NNC_ACCUMULATE_F32 && acc != NNC_ACCUMULATE_F64)
    return nnc_fail(st, NNC_ERR_ARG,
                    "accumulation must be NNC_ACCUMULATE_F32 or NNC_ACCUMULATE_F64");
  int f64 = acc == NNC_ACCUMULATE_F64;
  if (m->accumulate_f64 == f64) return NNC_OK;
  m->accumulate_f64 = f64;
  return m->built ? model_build(m, NULL, NULL, 1, 1, st) : NNC_OK;
}

int nnc_model_set_check_numerics(nnc_model *m, int on, nnc_status *st) {
  API_STATUS(st);
  if (api_nonnull(m, "nnc_model_set_check_numerics", "m", st)) return NNC_ERR_ARG;
  on = on != 0;
  if (m->check_numerics == on) return NNC_OK;
  m->check_numerics = on;
  /* the train step is recompiled (unfused, or fused again); weights, slots
   * and the iteration count stay */
  if (m->built && model_build(m, NULL, NULL, 1, 1, st)) {
    m->check_numerics = !on;
    return st->code;
  }
  return NNC_OK;
}

int nnc_model_build(nnc_model *m, const nnc_array *x, const nnc_array *y, nnc_status *st) {
  API_STATUS(st);
  static const char fn[] = "nnc_model_build";
  if (api_nonnull(m, fn, "m", st) || (x && api_array(x, fn, "x", 1, st)) ||
      (y && api_array(y, fn, "y", 1, st)))
    return NNC_ERR_ARG;
  if (!x && !m->built)
    return nnc_fail(st, NNC_ERR_ARG,
                    "%s: x is NULL and %s declares no input shape: give data to build it", fn,
                    m->spec.source);
  return model_ensure_built(m, x, y, st);
}

int nnc_model_weight_count(const nnc_model *m) {
  return m && m->built ? m->compiled.prog.n_params : 0;
}

const char *nnc_model_weight_name(const nnc_model *m, int i) {
  return m && m->built && i >= 0 && i < m->compiled.prog.n_params ? m->compiled.prog.params[i].name
                                                                  : NULL;
}

static const nnc_param_info *find_param(const nnc_model *m, const char *name, nnc_status *st) {
  if (!m->built) {
    nnc_fail(st, NNC_ERR_ARG,
             "%s: the model is not built yet (no input shape); build it with data first",
             m->spec.source);
    return NULL;
  }
  for (int i = 0; i < m->compiled.prog.n_params; i++)
    if (!strcmp(m->compiled.prog.params[i].name, name)) return &m->compiled.prog.params[i];
  nnc_fail(st, NNC_ERR_ARG, "%s: the model has no weight named '%s'", m->spec.source, name);
  return NULL;
}

int nnc_model_get_weight(const nnc_model *m, const char *name, nnc_array *out, nnc_status *st) {
  API_STATUS(st);
  static const char fn[] = "nnc_model_get_weight";
  if (api_nonnull(m, fn, "m", st) || api_nonnull(name, fn, "name", st) ||
      api_nonnull(out, fn, "out", st))
    return NNC_ERR_ARG;
  const nnc_param_info *p = find_param(m, name, st);
  if (!p) return st->code;
  memset(out, 0, sizeof *out);
  out->dtype = NNC_F32;
  out->rank = p->shape.rank;
  for (int i = 0; i < p->shape.rank; i++) out->shape[i] = p->shape.dims[i];
  out->data = nnc_calloc((size_t)p->count, sizeof(float), st);
  if (!out->data) return st->code;
  memcpy(out->data, m->params + p->offset, (size_t)p->count * sizeof(float));
  return NNC_OK;
}

static int set_weight(nnc_model *m, const char *name, const nnc_array *value, nnc_status *st) {
  const nnc_param_info *p = find_param(m, name, st);
  if (!p) return st->code;
  int same = value->rank == p->shape.rank;
  for (int i = 0; same && i < value->rank; i++) same = value->shape[i] == p->shape.dims[i];
  if (!same) {
    char want[64];
    shape_format(&p->shape, want, sizeof want);
    return nnc_fail(st, NNC_ERR_DATA, "weight '%s' must have shape %s", name, want);
  }
  nnc_array f;
  if (nnc_array_to_f32(value, &f, st)) return st->code;
  memcpy(m->params + p->offset, f.data, (size_t)p->count * sizeof(float));
  nnc_array_free(&f);
  m->weights_changed = 1;
  return NNC_OK;
}

int nnc_model_set_weight(nnc_model *m, const char *name, const nnc_array *value, nnc_status *st) {
  API_STATUS(st);
  static const char fn[] = "nnc_model_set_weight";
  if (api_nonnull(m, fn, "m", st) || api_nonnull(name, fn, "name", st) ||
      api_array(value, fn, "value", 0, st))
    return NNC_ERR_ARG;
  return set_weight(m, name, value, st);
}

int nnc_model_load_weights(nnc_model *m, const char *path, nnc_status *st) {
  API_STATUS(st);
  static const char fn[] = "nnc_model_load_weights";
  if (api_nonnull(m, fn, "m", st) || api_nonnull(path, fn, "path", st)) return NNC_ERR_ARG;
  if (!m->built)
    return nnc_fail(st, NNC_ERR_ARG,
                    "%s: %s: the model is not built yet (no input shape); build it with data first",
                    path, m->spec.source);
  nnc_tensor_set set = {0};
  if (nnc_safetensors_read(path, &set, st)) return st->code;
  int rc = NNC_OK;
  for (int i = 0; i < m->compiled.prog.n_params && rc == NNC_OK; i++) {
    const char *name = m->compiled.prog.params[i].name;
    const nnc_array *a = nnc_tensor_set_find(&set, name);
    if (!a)
      rc = nnc_fail(st, NNC_ERR_DATA, "%s: no tensor named '%s'", path, name);
    else if (set_weight(m, name, a, st))
      rc = nnc_fail_prefix(st, "%s", path);
  }
  nnc_tensor_set_free(&set);
  return rc;
}

int nnc_model_save_weights(const nnc_model *m, const char *path, nnc_status *st) {
  API_STATUS(st);
  static const char fn[] = "nnc_model_save_weights";
  if (api_nonnull(m, fn, "m", st) || api_nonnull(path, fn, "path", st)) return NNC_ERR_ARG;
  if (!m->built) return nnc_fail(st, NNC_ERR_ARG, "the model is not built: nothing to save");
  nnc_tensor_set set = {0};
  int rc = NNC_OK;
  for (int i = 0; i < m->compiled.prog.n_params && rc == NNC_OK; i++) {
    nnc_array a;
    rc = nnc_model_get_weight(m, m->compiled.prog.params[i].name, &a, st);
    if (!rc) rc = nnc_tensor_set_add(&set, m->compiled.prog.params[i].name, &a, st);
    nnc_array_free(&a);
  }
  if (!rc) rc = nnc_safetensors_write(path, &set, st);
  nnc_tensor_set_free(&set);
  return rc;
}

int64_t nnc_model_iterations(const nnc_model *m) {
  return m ? m->iterations : -1;
}
double nnc_model_learning_rate(const nnc_model *m) {
  return m ? m->learning_rate : NAN;
}
int nnc_model_set_learning_rate(nnc_model *m, double lr, nnc_status *st) {
  API_STATUS(st);
  if (api_nonnull(m, "nnc_model_set_learning_rate", "m", st)) return NNC_ERR_ARG;
  if (!isfinite(lr) || lr < 0 || lr > FLT_MAX) /* the kernels take it as a float32 */
    return nnc_fail(st, NNC_ERR_ARG,
                    "nnc_model_set_learning_rate: expected a learning rate in [0, %g] (float32), "
                    "got %g",
                    (double)FLT_MAX, lr);
  m->learning_rate = lr;
  return NNC_OK;
}

int nnc_model_summary(const nnc_model *m, void *file, nnc_status *st) {
  API_STATUS(st);
  if (api_nonnull(m, "nnc_model_summary", "m", st)) return NNC_ERR_ARG;
  FILE *f = file ? file : stdout;
  if (!m->built)
    return nnc_fail(st, NNC_ERR_ARG, "%s: the model declares no input shape; give data to build it",
                    m->spec.source);
  nnc_compiled_print_summary(&m->compiled, m->spec.name, f);
  return NNC_OK;
}
