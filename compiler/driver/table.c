/* The program table of a JIT-compiled model: every list of nnc_program
 * translated into the boundary's plain data (include/nnc_program.h). */
#include "compiler/driver/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

struct probe_text {
  char label[128], op[32], layer[96];
};

static void per_sample(const nnc_shape *batched, int *rank, int64_t *dims) {
  *rank = batched->rank > 0 ? batched->rank - 1 : 0;
  for (int i = 1; i < batched->rank; i++) dims[i - 1] = batched->dims[i];
}

static void io_desc(const nnc_io_info *in, nnc_io_desc *out) {
  memset(out, 0, sizeof *out);
  out->name = in->name;
  out->dtype = NNC_F32;
  per_sample(&in->shape, &out->rank, out->shape);
  out->classes = in->classes;
  out->output = in->output;
  out->has_ignore_class = in->has_ignore_class;
  out->ignore_class = in->ignore_class;
}

static nnc_initializer initializer(const nnc_spec_init *in) {
  nnc_initializer o = {0};
  static const nnc_init_rule rules[] = {
      [NNC_INIT_ZEROS] = NNC_INITIALIZER_ZEROS,
      [NNC_INIT_ONES] = NNC_INITIALIZER_ONES,
      [NNC_INIT_CONSTANT] = NNC_INITIALIZER_CONSTANT,
      [NNC_INIT_RANDOM_UNIFORM] = NNC_INITIALIZER_RANDOM_UNIFORM,
      [NNC_INIT_RANDOM_NORMAL] = NNC_INITIALIZER_RANDOM_NORMAL,
      [NNC_INIT_TRUNCATED_NORMAL] = NNC_INITIALIZER_TRUNCATED_NORMAL,
      [NNC_INIT_VARIANCE_SCALING] = NNC_INITIALIZER_VARIANCE_SCALING,
      [NNC_INIT_ORTHOGONAL] = NNC_INITIALIZER_ORTHOGONAL,
      [NNC_INIT_IDENTITY] = NNC_INITIALIZER_IDENTITY,
      [NNC_INIT_UNIT_FORGET_BIAS] = NNC_INITIALIZER_UNIT_FORGET_BIAS};
  o.rule = rules[in->kind];
  o.value = in->value;
  o.minval = in->minval;
  o.maxval = in->maxval;
  o.mean = in->mean;
  o.stddev = in->stddev;
  o.scale = in->scale;
  o.fan = in->mode == NNC_FAN_IN    ? NNC_FAN_MODE_IN
          : in->mode == NNC_FAN_OUT ? NNC_FAN_MODE_OUT
                                    : NNC_FAN_MODE_AVG;
  o.distribution = in->distribution == NNC_DIST_UNIFORM ? NNC_DISTRIBUTION_UNIFORM
                   : in->distribution == NNC_DIST_TRUNCATED_NORMAL
                       ? NNC_DISTRIBUTION_TRUNCATED_NORMAL
                       : NNC_DISTRIBUTION_UNTRUNCATED_NORMAL;
  o.has_seed = in->has_seed;
  o.seed = in->seed;
  o.gain = in->gain;
  return o;
}

static const char *op_text(const nnc_node *n) {
  if (n->op == NNC_OP_UNARY) return fn_name((nnc_fn)n->fn);
  if (n->op == NNC_OP_BINARY) return binary_fn_name((nnc_binary_fn)n->fn);
  return op_name(n->op);
}

/* The node's label, or the nearest labelled first operand's (the batch sum
 * of the loss carries none of its own). */
static const char *label_of(const nnc_graph *g, int id) {
  for (int hops = 0; id >= 0 && hops < 8; hops++) {
    if (g->nodes[id].label[0]) return g->nodes[id].label;
    id = g->nodes[id].n_in > 0 ? g->nodes[id].in[0] : -1;
  }
  return NULL;
}

/* One probe per value of the (unfused, check-numerics) train step that has
 * a buffer of its own, in topological order. */
static int make_probes(jit_table *t, nnc_status *st) {
  const nnc_graph *g = &t->compiled.graphs[NNC_GRAPH_TRAIN];
  t->probes = nnc_calloc((size_t)g->n + 1, sizeof *t->probes, st);
  t->probe_text = nnc_calloc((size_t)g->n + 1, sizeof *t->probe_text, st);
  if (!t->probes || !t->probe_text) return st->code;
  int n = 0;
  for (int i = 0; i < g->n; i++) {
    const nnc_node *node = &g->nodes[i];
    if (node->dead || node->group < 0) continue;
    if (node->region != NNC_REGION_FIXED && node->region != NNC_REGION_BATCH) continue;
    struct probe_text *text = &t->probe_text[n];
    nnc_probe *p = &t->probes[n++];
    const char *label = label_of(g, i);
    snprintf(text->op, sizeof text->op, "%s", op_text(node));
    if (label) {
      snprintf(text->label, sizeof text->label, "%s", label);
      /* gradient and update values ("grad dense_1/relu") name their layer too */
      const char *name = label;
      if (!strncmp(name, "grad ", 5)) name += 5;
      if (!strncmp(name, "update ", 7)) name += 7;
      const char *slash = strchr(name, '/');
      if (slash) {
        snprintf(text->layer, sizeof text->layer, "%.*s", (int)(slash - name), name);
        p->layer = text->layer;
      }
    } else {
      snprintf(text->label, sizeof text->label, "node %%%d", i);
    }
    p->label = text->label;
    p->op = text->op;
    p->region = node->region;
    p->offset = node->offset;
    p->count = shape_inner(&node->shape);
    p->batched = node->region == NNC_REGION_BATCH;
  }
  t->t.n_probes = n;
  t->t.probes = t->probes;
  return NNC_OK;
}

/* Keras's summary_utils.py prints "Connected to" unless the model is
 * "sequential-like": one layer per depth with one inbound tensor each and
 * no layer called twice. In the rows: a call with several inbound tensors
 * or a layer with several calls (a ", " in its text), several InputLayers,
 * or one tensor feeding two rows (a branch) make a graph. */
static int has_branches(const nnc_program *p) {
  int inputs = 0;
  for (int i = 0; i < p->n_layers; i++) {
    const char *c = p->layers[i].connected;
    if (!strcmp(p->layers[i].kind, "InputLayer")) inputs++;
    if (!c) continue;
    if (strstr(c, ", ")) return 1;
    for (int j = 0; j < i; j++)
      if (p->layers[j].connected && !strcmp(p->layers[j].connected, c)) return 1;
  }
  return inputs > 1;
}

int table_summary_rows(const nnc_program *p, nnc_summary_row *rows) {
  for (int i = 0; i < p->n_layers; i++) {
    const nnc_layer_info *in = &p->layers[i];
    nnc_summary_row *r = &rows[i];
    memset(r, 0, sizeof *r);
    r->name = in->name;
    r->class_name = in->kind;
    r->rank = in->out_shape.rank;
    for (int k = 0; k < in->out_shape.rank; k++) r->shape[k] = in->out_shape.dims[k];
    r->params = in->n_params;
    r->trainable = in->n_trainable;
    r->connected = in->connected;
  }
  return has_branches(p);
}

static nnc_log_result log_result(nnc_metric_result r) {
  switch (r) {
  case NNC_RESULT_MEAN:
    return NNC_LOG_MEAN;
  case NNC_RESULT_PRECISION:
    return NNC_LOG_PRECISION;
  case NNC_RESULT_RECALL:
    return NNC_LOG_RECALL;
  case NNC_RESULT_RATIO:
    return NNC_LOG_RATIO;
  case NNC_RESULT_SQRT_RATIO:
    return NNC_LOG_SQRT_RATIO;
  case NNC_RESULT_VALUE:
    return NNC_LOG_VALUE;
  case NNC_RESULT_AUC:
    return NNC_LOG_AUC;
  case NNC_RESULT_AT:
    return NNC_LOG_AT;
  case NNC_RESULT_FBETA:
    return NNC_LOG_FBETA;
  case NNC_RESULT_R2:
    return NNC_LOG_R2;
  case NNC_RESULT_IOU:
    return NNC_LOG_IOU;
  }
  return NNC_LOG_MEAN;
}

/* NNC_SPLIT_SMALL_STEPS=1 (tests): the pool wherever a group splits */
static int split_small_steps(void) {
  const char *small = getenv("NNC_SPLIT_SMALL_STEPS");
  return small && !strcmp(small, "1");
}

/* The fewest rows at which the runtime may run a step on the pool: where a
 * group splits and the whole step is worth a second thread; with
 * NNC_SPLIT_SMALL_STEPS=1 the second condition is dropped, so small models
 * still run real splits. */
static int64_t pool_rows(const nnc_graph *g) {
  int64_t rows = codegen_parallel_rows(g);
  if (split_small_steps()) return rows;
  int64_t step = codegen_step_threads_rows(g);
  return step > rows ? step : rows;
}

/* The fewest rows from which the pool always runs the step (nnc_entry:
 * sure_rows); from pool_rows to it the runtime chooses by timing. With
 * NNC_SPLIT_SMALL_STEPS=1 there is no such band: the pool from pool_rows. */
static int64_t pool_sure_rows(const nnc_graph *g) {
  int64_t from = pool_rows(g);
  if (split_small_steps()) return from;
  int64_t sure = codegen_step_sure_rows(g);
  return sure > from ? sure : from;
}

static int fill(jit_table *t, int want_probes, nnc_status *st) {
  const nnc_program *p = &t->compiled.prog;
  nnc_program_table *o = &t->t;
  int n_io = p->n_inputs + p->n_targets + p->n_outputs + p->n_sample_weights;
  t->io = nnc_calloc((size_t)n_io + 1, sizeof *t->io, st);
  t->vars = nnc_calloc((size_t)(p->n_params + p->n_slots) + 1, sizeof *t->vars, st);
  t->stats = nnc_calloc((size_t)p->n_stats + 1, sizeof *t->stats, st);
  t->keys = nnc_calloc((size_t)p->n_metrics + 1, sizeof *t->keys, st);
  t->rows = nnc_calloc((size_t)p->n_layers + 1, sizeof *t->rows, st);
  t->warnings = nnc_calloc((size_t)p->n_warnings + 1, sizeof *t->warnings, st);
  if (!t->io || !t->vars || !t->stats || !t->keys || !t->rows || !t->warnings) return st->code;
  for (int i = 0; i < p->n_inputs; i++) io_desc(&p->inputs[i], &t->io[i]);
  for (int i = 0; i < p->n_targets; i++) io_desc(&p->targets[i], &t->io[p->n_inputs + i]);
  for (int i = 0; i < p->n_outputs; i++)
    io_desc(&p->outputs[i], &t->io[p->n_inputs + p->n_targets + i]);
  o->n_inputs = p->n_inputs;
  o->n_targets = p->n_targets;
  o->n_outputs = p->n_outputs;
  o->inputs = t->io;
  o->targets = t->io + p->n_inputs;
  o->outputs = t->io + p->n_inputs + p->n_targets;
  int first_weight = p->n_inputs + p->n_targets + p->n_outputs;
  for (int j = 0; j < p->n_sample_weights; j++)
    io_desc(&p->sample_weights[j], &t->io[first_weight + j]);
  o->n_sample_weights = p->n_sample_weights;
  o->sample_weights = t->io + first_weight;
  for (int i = 0; i < p->n_params; i++) {
    const nnc_param_info *in = &p->params[i];
    nnc_variable *v = &t->vars[i];
    v->name = in->name;
    v->layer = in->layer;
    v->weight = in->weight;
    v->kind = in->trainable ? NNC_VAR_TRAINABLE : NNC_VAR_STATE;
    v->rank = in->shape.rank;
    for (int k = 0; k < in->shape.rank; k++) v->shape[k] = in->shape.dims[k];
    v->offset = in->offset;
    v->count = in->count;
    v->init = initializer(&in->init);
  }
  for (int i = 0; i < p->n_slots; i++) {
    nnc_variable *v = &t->vars[p->n_params + i];
    const nnc_slot_info *in = &p->slots[i];
    v->name = in->name;
    v->kind = NNC_VAR_SLOT;
    v->rank = in->shape.rank;
    for (int k = 0; k < in->shape.rank; k++) v->shape[k] = in->shape.dims[k];
    v->offset = in->offset;
    v->count = in->count;
    v->init.rule = in->init != 0.0 ? NNC_INITIALIZER_CONSTANT : NNC_INITIALIZER_ZEROS;
    v->init.value = in->init;
    v->average_of = in->average_of >= 0 ? p->params[in->average_of].name : NULL;
  }
  o->n_variables = p->n_params + p->n_slots;
  o->variables = t->vars;
  o->params_floats = p->params_floats;
  o->slots_floats = p->slots_floats;
  for (int i = 0; i < p->n_stats; i++)
    t->stats[i] = p->stat_kinds[i] == NNC_STAT_LOSS       ? NNC_REDUCE_LOSS
                  : p->stat_kinds[i] == NNC_STAT_MEAN_SUM ? NNC_REDUCE_MEAN_SUM
                                                          : NNC_REDUCE_COUNT_SUM;
  o->n_stats = p->n_stats;
  o->stats = t->stats;
  for (int i = 0; i < p->n_metrics; i++) {
    const nnc_metric_info *in = &p->metrics[i];
    t->keys[i].name = in->name;
    t->keys[i].result = log_result(in->result);
    t->keys[i].stat[0] = in->stat[0];
    t->keys[i].stat[1] = in->stat[1];
    t->keys[i].first_stat = in->first_stat;
    t->keys[i].n_stats = in->n_stats;
    t->keys[i].n_args = in->n_args;
    t->keys[i].args = in->args;
    t->keys[i].direction = in->direction;
  }
  o->n_log_keys = p->n_metrics;
  o->log_keys = t->keys;
  o->functional = table_summary_rows(p, t->rows);
  o->n_summary_rows = p->n_layers;
  o->summary = t->rows;
  for (int i = 0; i < p->n_warnings; i++) t->warnings[i] = p->warnings[i];
  o->n_warnings = p->n_warnings;
  o->warnings = t->warnings;
  for (int i = 0; i < NNC_GRAPH_COUNT; i++) {
    if (!t->compiled.has_graph[i]) continue;
    o->entries[i].fn = t->compiled.step[i];
    o->entries[i].fixed_floats = t->compiled.graphs[i].fixed_floats;
    o->entries[i].batch_floats_per_row = t->compiled.graphs[i].batch_floats_per_row;
    o->entries[i].parallel_rows = pool_rows(&t->compiled.graphs[i]);
    o->entries[i].sure_rows = pool_sure_rows(&t->compiled.graphs[i]);
    o->entries[i].scratch_floats = t->compiled.scratch_floats[i];
  }
  if (want_probes && t->compiled.has_graph[NNC_GRAPH_TRAIN] && make_probes(t, st)) return st->code;
  return NNC_OK;
}

int jit_table_make(nnc_compiled *c, const char *model_name, double learning_rate, int probes,
                   jit_table **out, nnc_status *st) {
  *out = NULL;
  jit_table *t = nnc_calloc(1, sizeof *t, st);
  if (!t) {
    nnc_compiled_free(c);
    return st->code;
  }
  t->compiled = *c;
  memset(c, 0, sizeof *c);
  t->t.version = NNC_PROGRAM_VERSION;
  t->t.model_name = model_name;
  t->t.learning_rate = learning_rate;
  if (fill(t, probes, st)) {
    jit_table_free(t);
    return st->code;
  }
  *out = t;
  return NNC_OK;
}

void jit_table_free(jit_table *t) {
  if (!t) return;
  nnc_compiled_free(&t->compiled);
  free(t->io);
  free(t->vars);
  free(t->stats);
  free(t->keys);
  free(t->rows);
  free(t->warnings);
  free(t->probes);
  free(t->probe_text);
  free(t->schedule_storage);
  free(t);
}

int jit_table_set_schedule(jit_table *t, const nnc_schedule *s, nnc_status *st) {
  t->t.schedule = *s;
  if (s->kind != NNC_SCHEDULE_PIECEWISE_CONSTANT) return NNC_OK;
  size_t n = (size_t)s->n_boundaries;
  double *mem = nnc_calloc(2 * n + 1, sizeof *mem, st);
  if (!mem) return st->code;
  memcpy(mem, s->boundaries, n * sizeof *mem);
  memcpy(mem + n, s->values, (n + 1) * sizeof *mem);
  t->schedule_storage = mem;
  t->t.schedule.boundaries = mem;
  t->t.schedule.values = mem + n;
  return NNC_OK;
}
