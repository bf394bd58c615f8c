/* The programs a model keeps, one per distinct data shape (programs.h). */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "runtime/model.h"
#include "runtime/programs.h"

static int same_sample(const nnc_sample_shape *a, const nnc_sample_shape *b) {
  if (a->rank != b->rank) return 0;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i]) return 0;
  return 1;
}

int program_key_make(const nnc_build_request *req, program_key *out, nnc_status *st) {
  memset(out, 0, sizeof *out);
  int n = req->n_inputs + 2 * req->n_targets;
  out->shapes = nnc_calloc((size_t)n + 1, sizeof *out->shapes, st);
  if (!out->shapes) return st->code;
  out->n_shapes = n;
  for (int i = 0; i < req->n_inputs; i++) out->shapes[i] = req->inputs[i];
  for (int j = 0; j < req->n_targets; j++) {
    out->shapes[req->n_inputs + j] = req->targets[j];
    nnc_sample_shape *w = &out->shapes[req->n_inputs + req->n_targets + j];
    if (req->sample_weights)
      *w = req->sample_weights[j];
    else
      w->rank = -1;
  }
  out->accumulate_f64 = req->accumulate_f64;
  out->check_numerics = req->check_numerics;
  out->outputs_in_train = req->outputs_in_train;
  return NNC_OK;
}

void program_key_free(program_key *k) {
  free(k->shapes);
  memset(k, 0, sizeof *k);
}

static int key_matches(const program_key *k, const nnc_build_request *req, int loose_targets) {
  int n_in = req->n_inputs, n_out = req->n_targets;
  if (k->n_shapes != n_in + 2 * n_out || k->accumulate_f64 != req->accumulate_f64 ||
      k->check_numerics != req->check_numerics || k->outputs_in_train != req->outputs_in_train)
    return 0;
  for (int i = 0; i < n_in; i++)
    if (!same_sample(&k->shapes[i], &req->inputs[i])) return 0;
  for (int j = 0; j < n_out; j++) {
    if (loose_targets && req->targets[j].rank < 0) continue; /* no target: any program runs it */
    if (!same_sample(&k->shapes[n_in + j], &req->targets[j])) return 0;
    nnc_sample_shape none = {-1, {0}};
    const nnc_sample_shape *w = req->sample_weights ? &req->sample_weights[j] : &none;
    if (!same_sample(&k->shapes[n_in + n_out + j], w)) return 0;
  }
  return 1;
}

int programs_find(const nnc_model *m, const nnc_build_request *req, int loose_targets) {
  for (int i = 0; i < m->n_kept; i++)
    if (key_matches(&m->kept[i].key, req, loose_targets)) return i;
  return -1;
}

/* Release kept program i (its table, key and shapes). */
static void release_kept(nnc_model *m, int i) {
  model_program *p = &m->kept[i];
  if (m->builder.release) m->builder.release(m->builder.ctx, p->t);
  program_key_free(&p->key);
  free(p->in_shapes);
  free(p->tgt_known);
}

int programs_keep_current(nnc_model *m, nnc_status *st) {
  int n_in = m->desc.n_inputs, n_out = m->desc.n_outputs;
  int max = m->kept_max > 0 ? m->kept_max : PROGRAMS_KEPT_MAX;
  /* kept[] runs from the least recently current (a switch takes its program
   * out and appends the one it replaces), so kept[0] goes first */
  while (m->n_kept >= max) {
    release_kept(m, 0);
    memmove(&m->kept[0], &m->kept[1], (size_t)(m->n_kept - 1) * sizeof *m->kept);
    m->n_kept--;
  }
  model_program *grown = nnc_realloc_array(m->kept, (size_t)m->n_kept + 1, sizeof *grown, st);
  if (!grown) return st->code;
  m->kept = grown;
  model_program *p = &m->kept[m->n_kept];
  memset(p, 0, sizeof *p);
  p->in_shapes = nnc_calloc((size_t)(n_in + 2 * n_out) + 1, sizeof *p->in_shapes, st);
  p->tgt_known = nnc_calloc((size_t)n_out + 1, sizeof *p->tgt_known, st);
  if (!p->in_shapes || !p->tgt_known) {
    free(p->in_shapes);
    free(p->tgt_known);
    return st->code;
  }
  p->tgt_shapes = p->in_shapes + n_in;
  p->sw_shapes = p->tgt_shapes + n_out;
  memcpy(p->in_shapes, m->in_shapes, (size_t)n_in * sizeof *p->in_shapes);
  memcpy(p->tgt_shapes, m->tgt_shapes, (size_t)n_out * sizeof *p->tgt_shapes);
  memcpy(p->sw_shapes, m->sw_shapes, (size_t)n_out * sizeof *p->sw_shapes);
  memcpy(p->tgt_known, m->tgt_known, (size_t)n_out * sizeof *p->tgt_known);
  p->t = m->t;
  p->key = m->key;
  memset(&m->key, 0, sizeof m->key);
  m->t = NULL;
  m->n_kept++;
  return NNC_OK;
}

int programs_switch(nnc_model *m, int i, nnc_status *st) {
  model_program p = m->kept[i];
  float *stats = nnc_calloc((size_t)p.t->n_stats + 1, sizeof *stats, st);
  if (!stats) return st->code;
  memmove(&m->kept[i], &m->kept[i + 1], (size_t)(m->n_kept - i - 1) * sizeof *m->kept);
  m->n_kept--;
  if (m->t && programs_keep_current(m, st)) { /* put it back: nothing changed */
    memmove(&m->kept[i + 1], &m->kept[i], (size_t)(m->n_kept - i) * sizeof *m->kept);
    m->kept[i] = p;
    m->n_kept++;
    free(stats);
    return st->code;
  }
  int n_in = m->desc.n_inputs, n_out = m->desc.n_outputs;
  m->t = p.t;
  model_reset_tuners(m);
  m->key = p.key;
  memcpy(m->in_shapes, p.in_shapes, (size_t)n_in * sizeof *p.in_shapes);
  memcpy(m->tgt_shapes, p.tgt_shapes, (size_t)n_out * sizeof *p.tgt_shapes);
  memcpy(m->sw_shapes, p.sw_shapes, (size_t)n_out * sizeof *p.sw_shapes);
  memcpy(m->tgt_known, p.tgt_known, (size_t)n_out * sizeof *p.tgt_known);
  free(p.in_shapes);
  free(p.tgt_known);
  free(m->stats);
  m->stats = stats;
  return NNC_OK;
}

void programs_clear(nnc_model *m) {
  for (int i = 0; i < m->n_kept; i++) release_kept(m, i);
  free(m->kept);
  m->kept = NULL;
  m->n_kept = 0;
}

int programs_same_variables(const nnc_program_table *a, const nnc_program_table *b) {
  if (a->n_variables != b->n_variables || a->params_floats != b->params_floats ||
      a->slots_floats != b->slots_floats)
    return 0;
  for (int i = 0; i < a->n_variables; i++) {
    const nnc_variable *u = &a->variables[i], *v = &b->variables[i];
    if (u->kind != v->kind || u->offset != v->offset || u->count != v->count ||
        u->rank != v->rank || strcmp(u->name, v->name))
      return 0;
    for (int d = 0; d < u->rank; d++)
      if (u->shape[d] != v->shape[d]) return 0;
  }
  return 1;
}
