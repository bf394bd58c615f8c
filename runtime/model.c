/* Model lifecycle: created over a builder or a fixed program table, built
 * for data shapes, weights by name. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/base.h"
#include "base/shape.h"
#include "runtime/api_check.h"
#include "runtime/epoch.h"
#include "runtime/io/io.h"
#include "runtime/io/model_file.h"
#include "runtime/model.h"
#include "runtime/pool.h"
#include "runtime/step_bind.h"

static int model_build(nnc_model *m, int n_x, const nnc_array *x, int n_y, const nnc_array *y,
                       const nnc_array *sw, int force, int keep_state, nnc_status *st);

const char *model_source(const nnc_model *m) {
  return m->desc.source ? m->desc.source : "model";
}

static int alloc_shapes(nnc_model *m, nnc_status *st) {
  int n_in = m->desc.n_inputs, n_out = m->desc.n_outputs;
  m->in_shapes = nnc_calloc((size_t)n_in + 1, sizeof *m->in_shapes, st);
  m->tgt_shapes = nnc_calloc((size_t)n_out + 1, sizeof *m->tgt_shapes, st);
  m->tgt_known = nnc_calloc((size_t)n_out + 1, sizeof *m->tgt_known, st);
  m->sw_shapes = nnc_calloc((size_t)n_out + 1, sizeof *m->sw_shapes, st);
  if (!m->in_shapes || !m->tgt_shapes || !m->tgt_known || !m->sw_shapes) return st->code;
  for (int i = 0; i < n_in; i++) m->in_shapes[i].rank = -1;
  for (int i = 0; i < n_out; i++) m->tgt_shapes[i].rank = m->sw_shapes[i].rank = -1;
  m->resume_epoch = -1;
  return NNC_OK;
}

static void table_description(const nnc_program_table *t, nnc_model_description *d) {
  memset(d, 0, sizeof *d);
  d->source = t->model_name;
  d->name = t->model_name;
  d->n_inputs = t->n_inputs;
  d->n_outputs = t->n_outputs;
  d->declares_inputs = 1;
  d->has_compile = t->entries[NNC_ENTRY_TRAIN].fn != NULL;
  d->learning_rate = t->learning_rate;
  d->schedule = t->schedule;
}

static void take_shapes(nnc_model *m) {
  const nnc_program_table *t = m->t;
  for (int i = 0; i < t->n_inputs && i < m->desc.n_inputs; i++) {
    m->in_shapes[i].rank = t->inputs[i].rank;
    memcpy(m->in_shapes[i].dims, t->inputs[i].shape, sizeof t->inputs[i].shape);
  }
  for (int j = 0; j < t->n_targets; j++) {
    int k = t->targets[j].output;
    if (k < 0 || k >= m->desc.n_outputs || m->tgt_known[k]) continue;
    m->tgt_shapes[k].rank = t->targets[j].rank;
    memcpy(m->tgt_shapes[k].dims, t->targets[j].shape, sizeof t->targets[j].shape);
  }
}

int nnc_model_from_builder(const nnc_builder *b, nnc_model **out, nnc_status *st) {
  API_STATUS(st);
  if (api_nonnull(out, "nnc_model_from_builder", "out", st)) return NNC_ERR_ARG;
  *out = NULL;
  if (api_nonnull(b, "nnc_model_from_builder", "builder", st)) return NNC_ERR_ARG;
  if (!b->describe || !b->build || !b->release) {
    if (b->free) b->free(b->ctx);
    return nnc_fail(st, NNC_ERR_ARG,
                    "nnc_model_from_builder: describe, build and release must be set");
  }
  nnc_model *m = nnc_calloc(1, sizeof *m, st);
  if (!m) {
    if (b->free) b->free(b->ctx);
    return st->code;
  }
  m->builder = *b;
  if (b->describe(b->ctx, &m->desc, st) || alloc_shapes(m, st)) {
    nnc_model_free(m);
    return st->code;
  }
  m->learning_rate = m->desc.learning_rate;
  if (m->desc.declares_inputs && model_build(m, 0, NULL, 0, NULL, NULL, 0, 0, st)) {
    nnc_model_free(m);
    return st->code;
  }
  *out = m;
  return NNC_OK;
}

/* Refuse a table whose weights, optimizer state and fixed workspace (an
 * Embedding's table gradient is there) exceed the machine's memory, before
 * allocating any of it. */
static int table_memory_check(const nnc_program_table *t, nnc_status *st) {
  double fixed = 0;
  for (int i = 0; i < NNC_ENTRY_COUNT; i++)
    if (t->entries[i].fn && (double)t->entries[i].fixed_floats > fixed)
      fixed = (double)t->entries[i].fixed_floats;
  double floats = (double)t->params_floats + (double)t->slots_floats + (double)t->n_stats + fixed;
  return nnc_memory_check(4.0 * floats, "the model's weights, optimizer state and workspace", st);
}

int nnc_model_from_table(const nnc_program_table *t, nnc_model **out, nnc_status *st) {
  API_STATUS(st);
  if (api_nonnull(out, "nnc_model_from_table", "out", st)) return NNC_ERR_ARG;
  *out = NULL;
  if (api_nonnull(t, "nnc_model_from_table", "table", st)) return NNC_ERR_ARG;
  if (t->version != NNC_PROGRAM_VERSION)
    return nnc_fail(st, NNC_ERR_ARG,
                    "nnc_model_from_table: table version %d, this runtime reads version %d",
                    t->version, NNC_PROGRAM_VERSION);
  nnc_model *m = nnc_calloc(1, sizeof *m, st);
  if (!m) return st->code;
  table_description(t, &m->desc);
  m->learning_rate = t->learning_rate;
  m->t = t;
  if (alloc_shapes(m, st)) {
    nnc_model_free(m);
    return st->code;
  }
  take_shapes(m);
  if (table_memory_check(t, st)) {
    nnc_model_free(m);
    return st->code;
  }
  m->params = nnc_calloc_lines((size_t)t->params_floats + 1, sizeof *m->params, st);
  m->slots = nnc_calloc_lines((size_t)t->slots_floats + 1, sizeof *m->slots, st);
  m->stats = nnc_calloc((size_t)t->n_stats + 1, sizeof *m->stats, st);
  if (!m->params || !m->slots || !m->stats) {
    nnc_model_free(m);
    return st->code;
  }
  m->built = 1;
  if (model_init_weights(m, st)) {
    nnc_model_free(m);
    return st->code;
  }
  *out = m;
  return NNC_OK;
}

const nnc_program_table *nnc_model_table(const nnc_model *m) {
  return m ? m->t : NULL;
}

void nnc_model_free(nnc_model *m) {
  if (!m) return;
  programs_clear(m);
  program_key_free(&m->key);
  if (m->t && m->builder.release) m->builder.release(m->builder.ctx, m->t);
  if (m->builder.free) m->builder.free(m->builder.ctx);
  free(m->in_shapes);
  free(m->tgt_shapes);
  free(m->tgt_known);
  free(m->sw_shapes);
  free(m->ones);
  free(m->params);
  free(m->slots);
  free(m->fixed);
  free(m->scratch);
  free(m->batch);
  free(m->stats);
  for (int i = 0; i < m->n_gathered; i++) free(m->gathered[i]);
  free(m->gathered);
  free(m->gathered_cap);
  free(m->saved_params);
  free(m->saved_slots);
  for (int i = 0; i < m->n_run_warnings; i++) free(m->run_warnings[i]);
  free(m->run_warnings);
  host_metrics_free(m);
  step_binding_free(m);
  pool_destroy(m->pool);
  free(m);
}

int nnc_model_set_compile_config(nnc_model *m, const char *json, nnc_status *st) {
  API_STATUS(st);
  if (api_nonnull(m, "nnc_model_set_compile_config", "m", st) ||
      api_nonnull(json, "nnc_model_set_compile_config", "json", st))
    return NNC_ERR_ARG;
  if (!m->builder.set_compile_config)
    return nnc_fail(st, NNC_ERR_ARG,
                    "nnc_model_set_compile_config: %s has a fixed program: it cannot be "
                    "recompiled",
                    model_source(m));
  if (m->builder.set_compile_config(m->builder.ctx, json, st) ||
      m->builder.describe(m->builder.ctx, &m->desc, st))
    return st->code;
  m->learning_rate = m->desc.learning_rate;
  /* recompile with the new loss/optimizer; the weights stay, the optimizer state is new */
  return m->built ? model_build(m, 0, NULL, 0, NULL, NULL, 1, 0, st) : NNC_OK;
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

/* The step tuners measured one program on one pool: a new round for either. */
void model_reset_tuners(nnc_model *m) {
  memset(m->tuners, 0, sizeof m->tuners);
}

int nnc_model_set_threads(nnc_model *m, int threads, nnc_status *st) {
  API_STATUS(st);
  if (api_nonnull(m, "nnc_model_set_threads", "m", st)) return NNC_ERR_ARG;
  if (threads < 1 || threads > 256)
    return nnc_fail(st, NNC_ERR_ARG, "threads must be in [1, 256], got %d", threads);
  if (pool_size(m->pool) == threads) return NNC_OK;
  model_reset_tuners(m);
  pool_destroy(m->pool);
  m->pool = NULL;
  return threads == 1 ? NNC_OK : pool_create(threads, &m->pool, st);
}

int nnc_model_set_thread_tuning(nnc_model *m, int on, nnc_status *st) {
  API_STATUS(st);
  if (api_nonnull(m, "nnc_model_set_thread_tuning", "m", st)) return NNC_ERR_ARG;
  if (on != 0 && on != 1)
    return nnc_fail(st, NNC_ERR_ARG, "nnc_model_set_thread_tuning: on must be 0 or 1, got %d", on);
  m->no_thread_tuning = !on;
  model_reset_tuners(m); /* a new round from the next step */
  return NNC_OK;
}

int nnc_model_threads(const nnc_model *m) {
  return m ? pool_size(m->pool) : 0;
}

static void sample_of(const nnc_array *a, nnc_sample_shape *s) {
  memset(s, 0, sizeof *s);
  s->rank = a->rank > 0 ? a->rank - 1 : 0;
  for (int i = 1; i < a->rank; i++) s->dims[i - 1] = a->shape[i];
}

static int same_sample(const nnc_sample_shape *a, const nnc_sample_shape *b) {
  if (a->rank != b->rank) return 0;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i]) return 0;
  return 1;
}

static int count_check(const nnc_model *m, int n_x, const nnc_array *x, int n_y, const nnc_array *y,
                       nnc_status *st) {
  if (x && n_x != m->desc.n_inputs)
    return nnc_fail(st, NNC_ERR_DATA, "%s: the model has %d input(s), got %d x array(s)",
                    model_source(m), m->desc.n_inputs, n_x);
  if (y && n_y != m->desc.n_outputs)
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: the model has %d output(s), got %d y array(s) (one per output; rank 0: "
                    "no target)",
                    model_source(m), m->desc.n_outputs, n_y);
  for (int k = 0; x && k < n_x; k++)
    if (x[k].rank < 1) return nnc_fail(st, NNC_ERR_DATA, "x and y must have a batch axis");
  return NNC_OK;
}

/* Build for the shapes of x and y (NULL: those it has); `force` recompiles a
 * built model (new compile config or code generation) for the shapes it
 * has. Weights are kept across recompiles; keep_state: a recompile that
 * changes only code generation keeps the optimizer slots and step count too. */
static int model_build(nnc_model *m, int n_x, const nnc_array *x, int n_y, const nnc_array *y,
                       const nnc_array *sw, int force, int keep_state, nnc_status *st) {
  if (count_check(m, n_x, x, n_y, y, st)) return st->code;
  if (!m->builder.build) return NNC_OK; /* a fixed table: the data checks say what is wrong */
  int n_in = m->desc.n_inputs, n_out = m->desc.n_outputs, changed = !m->built || force;
  /* every step comes here: a small model's shapes stay on the stack */
  nnc_sample_shape small[4], *in = small;
  if (n_in + 2 * n_out > 4 && !(in = nnc_calloc((size_t)(n_in + 2 * n_out) + 1, sizeof *in, st)))
    return st->code;
  nnc_sample_shape *tgt = in + n_in, *wsh = tgt + n_out;
  for (int k = 0; k < n_out; k++) { /* weights of a new shape rebuild; none keep the table */
    wsh[k] = m->sw_shapes[k];
    if (!sw || sw[k].rank == 0) continue;
    sample_of(&sw[k], &wsh[k]);
    if (!same_sample(&wsh[k], &m->sw_shapes[k])) changed = 1;
  }
  int new_inputs = 0;
  for (int k = 0; k < n_in; k++) {
    in[k] = m->in_shapes[k];
    if (!x) continue;
    sample_of(&x[k], &in[k]);
    if (!same_sample(&in[k], &m->in_shapes[k])) changed = new_inputs = 1;
  }
  int loose_targets = 0; /* an output without target data: any program for the inputs runs it */
  for (int k = 0; k < n_out; k++) {
    tgt[k] = m->tgt_shapes[k];
    if (!m->tgt_known[k]) tgt[k].rank = -1;
    /* inputs of another size (a None axis) may size the targets too: without
     * target data, build for none (predict needs none) */
    if (new_inputs && (!y || y[k].rank == 0)) tgt[k].rank = -1, loose_targets = 1;
    if (!y || y[k].rank == 0) continue;
    sample_of(&y[k], &tgt[k]);
    /* targets shaped exactly as the built labels change nothing (not even
     * how "accuracy" resolves), so they need no recompile */
    if (!same_sample(&tgt[k], &m->tgt_shapes[k])) changed = 1;
  }
  if (!changed) {
    for (int k = 0; y && k < n_out; k++)
      if (y[k].rank > 0) m->tgt_known[k] = 1;
    if (in != small) free(in);
    return NNC_OK;
  }
  m->build_gen++; /* whatever follows, bindings of earlier calls are stale */
  nnc_build_request req = {
      n_in, in, n_out, tgt, m->accumulate_f64, m->check_numerics, wsh, m->n_host_metrics > 0};
  if (force) {
    programs_clear(m); /* built for the old compile config or code generation */
  } else if (m->built) {
    int i = programs_find(m, &req, loose_targets); /* compiled for this shape before: reuse it */
    if (i >= 0) {
      if (in != small) free(in);
      return programs_switch(m, i, st);
    }
  }
  program_key key;
  if (program_key_make(&req, &key, st)) {
    if (in != small) free(in);
    return st->code;
  }
  const nnc_program_table *fresh = NULL;
  int rc = m->builder.build(m->builder.ctx, &req, &fresh, st);
  if (rc) {
    /* the compiler's data errors are about the inputs' or the targets'
     * shape: put the file they came from in front */
    const nnc_array *culprit =
        strstr(st->message, "the targets") ? (y ? &y[0] : NULL) : (x ? &x[0] : NULL);
    /* ... or about the shape of output k's sample weights: name their file */
    for (int k = 0; sw && k < n_out; k++) {
      const char *name = m->desc.output_names ? m->desc.output_names[k] : NULL;
      char quoted[320];
      snprintf(quoted, sizeof quoted, "the sample weights of output \"%s\"", name ? name : "");
      if (sw[k].rank > 0 && name && strstr(st->message, quoted)) culprit = &sw[k];
    }
    if (st->code == NNC_ERR_DATA && culprit && culprit->name && culprit->name[0])
      nnc_fail_prefix(st, "%s", culprit->name);
    if (in != small) free(in);
    program_key_free(&key);
    return st->code;
  }
  if (fresh->version != NNC_PROGRAM_VERSION ||
      (m->built && fresh->params_floats != m->t->params_floats) ||
      (m->built && !force && !programs_same_variables(m->t, fresh))) {
    int v = fresh->version;
    m->builder.release(m->builder.ctx, fresh);
    if (in != small) free(in);
    program_key_free(&key);
    return v != NNC_PROGRAM_VERSION
               ? nnc_fail(st, NNC_ERR_INTERNAL, "the builder made a table of version %d", v)
               : nnc_fail(st, NNC_ERR_DATA, "the data's shape would change the model's weights");
  }
  if (table_memory_check(fresh, st)) {
    m->builder.release(m->builder.ctx, fresh);
    if (in != small) free(in);
    program_key_free(&key);
    return st->code;
  }
  float *slots = m->slots, *stats = nnc_calloc((size_t)fresh->n_stats + 1, sizeof *stats, st);
  if (stats && (!m->built || (force && !keep_state) || fresh->slots_floats != m->t->slots_floats)) {
    slots = nnc_calloc_lines((size_t)fresh->slots_floats + 1, sizeof *slots, st);
    if (slots) free(m->slots);
  }
  /* a program for another data shape (same variables, so the same slots):
   * keep the current one for reuse */
  if (stats && slots == m->slots && m->built && !force && programs_keep_current(m, st)) {
    free(stats);
    stats = NULL;
  }
  if (!stats || !slots) {
    free(stats);
    m->builder.release(m->builder.ctx, fresh);
    if (in != small) free(in);
    program_key_free(&key);
    return st->code;
  }
  int fresh_slots = slots != m->slots;
  m->slots = slots;
  free(m->stats);
  m->stats = stats;
  int first_build = !m->built;
  if (m->t) m->builder.release(m->builder.ctx, m->t);
  m->t = fresh;
  model_reset_tuners(m);
  program_key_free(&m->key);
  m->key = key;
  if (fresh_slots) model_init_slots(m); /* Adagrad's accumulators start at 0.1, ... */
  /* remember the shapes built for, as the data will bring them */
  for (int k = 0; k < n_out; k++) {
    m->tgt_known[k] = tgt[k].rank >= 0;
    if (m->tgt_known[k]) m->tgt_shapes[k] = tgt[k];
    m->sw_shapes[k] = wsh[k];
  }
  if (in != small) free(in);
  take_shapes(m);
  if (first_build) {
    m->params = nnc_calloc_lines((size_t)fresh->params_floats + 1, sizeof *m->params, st);
    if (!m->params) return st->code;
    m->built = 1;
    if (model_init_weights(m, st)) return st->code;
    return m->builder.first_built ? m->builder.first_built(m->builder.ctx, m, st) : NNC_OK;
  }
  m->built = 1;
  if (force && !keep_state)
    m->iterations = 0; /* a new optimizer starts at step 0, as Keras's compile() */
  return NNC_OK;
}

int model_ensure_built_multi(nnc_model *m, int n_x, const nnc_array *x, int n_y, const nnc_array *y,
                             nnc_status *st) {
  return model_build(m, n_x, x, n_y, y, NULL, 0, 0, st);
}

int model_ensure_built_weighted(nnc_model *m, int n_x, const nnc_array *x, int n_y,
                                const nnc_array *y, const nnc_array *sw, nnc_status *st) {
  return model_build(m, n_x, x, n_y, y, sw, 0, 0, st);
}

int model_ensure_built(nnc_model *m, const nnc_array *x, const nnc_array *y, nnc_status *st) {
  return model_build(m, x ? 1 : 0, x, y ? 1 : 0, y, NULL, 0, 0, st);
}

int model_rebuild(nnc_model *m, nnc_status *st) {
  return m->built ? model_build(m, 0, NULL, 0, NULL, NULL, 1, 1, st) : NNC_OK;
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
  return m->built ? model_build(m, 0, NULL, 0, NULL, NULL, 1, 1, st) : NNC_OK;
}

int nnc_model_set_check_numerics(nnc_model *m, int on, nnc_status *st) {
  API_STATUS(st);
  if (api_nonnull(m, "nnc_model_set_check_numerics", "m", st)) return NNC_ERR_ARG;
  on = on != 0;
  if (m->check_numerics == on) return NNC_OK;
  m->check_numerics = on;
  /* the train step is recompiled (unfused, or fused again); weights, slots
   * and the iteration count stay */
  if (m->built && model_build(m, 0, NULL, 0, NULL, NULL, 1, 1, st)) {
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
                    "%s: x is NULL and %s declares no input shape, or one with None axes: give "
                    "data to build it",
                    fn, model_source(m));
  return model_ensure_built(m, x, y, st);
}

/* The model's weights: its variables that are not optimizer slots. */
static const nnc_variable *weight_at(const nnc_model *m, int i) {
  if (!m || !m->built || i < 0) return NULL;
  for (int k = 0; k < m->t->n_variables; k++)
    if (m->t->variables[k].kind != NNC_VAR_SLOT && i-- == 0) return &m->t->variables[k];
  return NULL;
}

int nnc_model_build_multi(nnc_model *m, int n_x, const nnc_array *x, int n_y, const nnc_array *y,
                          nnc_status *st) {
  API_STATUS(st);
  static const char fn[] = "nnc_model_build";
  if (api_nonnull(m, fn, "m", st) || (x && api_nonnull(x, fn, "x", st))) return NNC_ERR_ARG;
  if ((x && n_x < 1) || (y && n_y < 0)) /* as the other _multi calls: a count, not the data */
    return nnc_fail(st, NNC_ERR_ARG,
                    "%s: expected at least 1 x array and no negative y count, got %d and %d", fn,
                    n_x, n_y);
  for (int k = 0; x && k < n_x; k++)
    if (api_array(&x[k], fn, "x", 1, st)) return NNC_ERR_ARG;
  for (int k = 0; y && k < n_y; k++)
    if (y[k].rank != 0 && api_array(&y[k], fn, "y", 1, st)) return NNC_ERR_ARG;
  if (!x && !m->built)
    return nnc_fail(st, NNC_ERR_ARG,
                    "%s: x is NULL and %s declares no input shape, or one with None axes: give "
                    "data to build it",
                    fn, model_source(m));
  return model_ensure_built_multi(m, x ? n_x : 0, x, y ? n_y : 0, y, st);
}

int nnc_model_input_count(const nnc_model *m) {
  return m ? m->desc.n_inputs : 0;
}
const char *nnc_model_input_name(const nnc_model *m, int i) {
  if (!m || i < 0 || i >= m->desc.n_inputs) return NULL;
  return m->t ? m->t->inputs[i].name : m->desc.input_names ? m->desc.input_names[i] : NULL;
}
int nnc_model_output_count(const nnc_model *m) {
  return m ? m->desc.n_outputs : 0;
}
const char *nnc_model_output_name(const nnc_model *m, int i) {
  if (!m || i < 0 || i >= m->desc.n_outputs) return NULL;
  return m->t ? m->t->outputs[i].name : m->desc.output_names ? m->desc.output_names[i] : NULL;
}

int nnc_model_weight_count(const nnc_model *m) {
  int n = 0;
  while (weight_at(m, n)) n++;
  return n;
}

const char *nnc_model_weight_name(const nnc_model *m, int i) {
  const nnc_variable *v = weight_at(m, i);
  return v ? v->name : NULL;
}

static const nnc_variable *find_param(const nnc_model *m, const char *name, nnc_status *st) {
  if (!m->built) {
    nnc_fail(st, NNC_ERR_ARG,
             "%s: the model is not built yet (no input shape); build it with data first",
             model_source(m));
    return NULL;
  }
  const nnc_variable *v;
  for (int i = 0; (v = weight_at(m, i)); i++)
    if (!strcmp(v->name, name)) return v;
  nnc_fail(st, NNC_ERR_ARG, "%s: the model has no weight named '%s'", model_source(m), name);
  return NULL;
}

int nnc_model_get_weight(const nnc_model *m, const char *name, nnc_array *out, nnc_status *st) {
  API_STATUS(st);
  static const char fn[] = "nnc_model_get_weight";
  if (api_nonnull(m, fn, "m", st) || api_nonnull(name, fn, "name", st) ||
      api_nonnull(out, fn, "out", st))
    return NNC_ERR_ARG;
  const nnc_variable *p = find_param(m, name, st);
  if (!p) return st->code;
  memset(out, 0, sizeof *out);
  out->dtype = NNC_F32;
  out->rank = p->rank;
  for (int i = 0; i < p->rank; i++) out->shape[i] = p->shape[i];
  out->data = nnc_calloc((size_t)p->count, sizeof(float), st);
  if (!out->data) return st->code;
  memcpy(out->data, m->params + p->offset, (size_t)p->count * sizeof(float));
  return NNC_OK;
}

static int set_weight(nnc_model *m, const char *name, const nnc_array *value, nnc_status *st) {
  const nnc_variable *p = find_param(m, name, st);
  if (!p) return st->code;
  int same = value->rank == p->rank;
  for (int i = 0; same && i < value->rank; i++) same = value->shape[i] == p->shape[i];
  if (!same) {
    char want[160], got[160];
    nnc_shape ps = {0}, vs = {0};
    ps.rank = p->rank;
    for (int i = 0; i < p->rank; i++) ps.dims[i] = p->shape[i];
    shape_format(&ps, want, sizeof want);
    vs.rank = value->rank;
    for (int i = 0; i < value->rank && i < NNC_MAX_RANK; i++) vs.dims[i] = value->shape[i];
    shape_format(&vs, got, sizeof got);
    return nnc_fail(st, NNC_ERR_DATA, "weight '%s' must have shape %s, got %s", name, want, got);
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

/* The tensor of the model's weight `name`, under nnc's spelling or one of
 * the other spellings saved files use (nnc_weight_name_alias). */
static const nnc_array *find_tensor(const nnc_tensor_set *set, const char *name) {
  const nnc_array *a = nnc_tensor_set_find(set, name);
  char alt[512];
  for (int k = 0; !a && nnc_weight_name_alias(name, k, alt, sizeof alt) >= 0; k++)
    if (alt[0]) a = nnc_tensor_set_find(set, alt);
  return a;
}

/* A weights file: a TF.js model.json (its weightsManifest and shards) as
 * nnc_model_format_sniff tells it, else safetensors (a pipe too: sniffing
 * does not read it). */
static int read_weights_file(const char *path, nnc_tensor_set *set, nnc_status *st) {
  nnc_status probe;
  nnc_model_format f = nnc_model_format_sniff(path, &probe);
  if (f != NNC_FORMAT_TFJS_LAYERS && f != NNC_FORMAT_TFJS_GRAPH)
    return nnc_safetensors_read(path, set, st);
  nnc_model_file mf; /* a graph model is refused by either reader, saying what it is; the
                      * direct call links the TF.js reader in (model_file.c's is weak) */
  if (f == NNC_FORMAT_TFJS_LAYERS ? nnc_tfjs_model_read(path, &mf, st)
                                  : nnc_model_file_read(path, &mf, st))
    return st->code;
  free(mf.spec_json);
  nnc_tensor_set_free(&mf.optimizer);
  *set = mf.weights;
  return NNC_OK;
}

/* Keras 3's load_weights refuses a layer whose stored variables are more
 * (or fewer) than its own (Layer._check_load_own_variables); nnc names
 * weights, so a tensor that is no weight of the model is refused by name. */
static int check_no_stray_tensor(const nnc_model *m, const char *path, const nnc_tensor_set *set,
                                 nnc_status *st) {
  char *used = nnc_calloc((size_t)set->n + 1, 1, st);
  if (!used) return st->code;
  for (int i = 0; weight_at(m, i); i++) {
    const nnc_array *a = find_tensor(set, weight_at(m, i)->name);
    if (a)
      used[(const nnc_named_array *)((const char *)a - offsetof(nnc_named_array, array)) -
           set->items] = 1;
  }
  int rc = NNC_OK;
  for (int t = 0; t < set->n && !rc; t++)
    if (!used[t])
      rc = nnc_fail(st, NNC_ERR_DATA,
                    "%s: tensor '%s' is no weight of this model (%d weights, e.g. '%s'): is the "
                    "file of another model? (Keras's load_weights refuses it too)",
                    path, set->items[t].name, nnc_model_weight_count(m),
                    weight_at(m, 0) ? weight_at(m, 0)->name : "none");
  free(used);
  return rc;
}

int nnc_model_load_weights(nnc_model *m, const char *path, nnc_status *st) {
  API_STATUS(st);
  static const char fn[] = "nnc_model_load_weights";
  if (api_nonnull(m, fn, "m", st) || api_nonnull(path, fn, "path", st)) return NNC_ERR_ARG;
  if (!m->built)
    return nnc_fail(st, NNC_ERR_ARG,
                    "%s: %s: the model is not built yet (no input shape); build it with data first",
                    path, model_source(m));
  nnc_status probe;
  nnc_model_format format = nnc_model_format_sniff(path, &probe);
  if (format == NNC_FORMAT_H5 || format == NNC_FORMAT_KERAS_ZIP) { /* Keras's .h5, a .keras */
    nnc_model_file file;
    if (nnc_model_file_read(path, &file, st)) return st->code;
    int rc = nnc_model_file_apply_weights(m, path, &file.weights, st);
    nnc_model_file_free(&file);
    return rc;
  }
  nnc_tensor_set set = {0};
  if (read_weights_file(path, &set, st)) return st->code;
  /* all or nothing: every name and shape is checked before a weight changes */
  int rc = check_no_stray_tensor(m, path, &set, st);
  for (int i = 0; weight_at(m, i) && rc == NNC_OK; i++) {
    const nnc_variable *v = weight_at(m, i);
    const nnc_array *a = find_tensor(&set, v->name);
    int same = a && a->rank == v->rank;
    for (int d = 0; same && d < v->rank; d++) same = a->shape[d] == v->shape[d];
    if (!a)
      rc = nnc_fail(st, NNC_ERR_DATA, "%s: no tensor named '%s'", path, v->name);
    else if (!same && set_weight(m, v->name, a, st))
      rc = nnc_fail_prefix(st, "%s", path);
  }
  for (int i = 0; weight_at(m, i) && rc == NNC_OK; i++)
    if (set_weight(m, weight_at(m, i)->name, find_tensor(&set, weight_at(m, i)->name), st))
      rc = nnc_fail_prefix(st, "%s", path);
  nnc_tensor_set_free(&set);
  return rc;
}

int nnc_model_save_weights(const nnc_model *m, const char *path, nnc_status *st) {
  API_STATUS(st);
  static const char fn[] = "nnc_model_save_weights";
  if (api_nonnull(m, fn, "m", st) || api_nonnull(path, fn, "path", st)) return NNC_ERR_ARG;
  if (!m->built) return nnc_fail(st, NNC_ERR_ARG, "the model is not built: nothing to save");
  if (nnc_path_is_h5(path)) return nnc_h5_weights_write(m, path, st);
  nnc_tensor_set set = {0};
  int rc = NNC_OK;
  for (int i = 0; weight_at(m, i) && rc == NNC_OK; i++) {
    nnc_array a;
    rc = nnc_model_get_weight(m, weight_at(m, i)->name, &a, st);
    if (!rc) rc = nnc_tensor_set_add(&set, weight_at(m, i)->name, &a, st);
    nnc_array_free(&a);
  }
  if (!rc) rc = nnc_safetensors_write(path, &set, st);
  nnc_tensor_set_free(&set);
  return rc;
}

int64_t nnc_model_iterations(const nnc_model *m) {
  return m ? m->iterations : -1;
}
