/* Ahead-of-time objects (docs/aot.md), in process: a model is built by the
 * JIT, its graphs are compiled again into an object (codegen_emit_object +
 * aot_finish, as nnc compile -o does), the object is linked by a fresh
 * LLJIT and PREFIX_program() is called. Its table must equal the JIT's
 * field by field (strings by content, arrays element by element, the
 * entries present where the JIT's are), and a runtime model over it must
 * train bit-identically to the JIT's model. The models cover state
 * variables (BatchNormalization), optimizer slots and a moving average
 * (use_ema), a schedule with boundaries, a warning, metric arguments (AUC),
 * a functional summary ("Connected to") and check-numerics probes. */
#include <check.h>
#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/codegen/aot.h"
#include "compiler/codegen/codegen.h"
#include "compiler/driver/table.h"
#include "nnc_program.h"
#include "testutil.h"

static void same_str(const char *a, const char *b, const char *what) {
  ck_assert_msg((a == NULL) == (b == NULL), "%s: one is NULL", what);
  if (a) ck_assert_msg(!strcmp(a, b), "%s: '%s' vs '%s'", what, a, b);
}

static void same_bits(double a, double b, const char *what) {
  ck_assert_msg(!memcmp(&a, &b, sizeof a) || (isnan(a) && isnan(b)), "%s: %.17g vs %.17g", what, a,
                b);
}

static void same_shape(const int64_t *a, const int64_t *b, int rank, const char *what) {
  for (int i = 0; i < rank; i++) ck_assert_msg(a[i] == b[i], "%s: dim %d", what, i);
}

static void same_io(const nnc_io_desc *a, const nnc_io_desc *b, int n) {
  for (int i = 0; i < n; i++) {
    same_str(a[i].name, b[i].name, "io name");
    ck_assert_int_eq(a[i].dtype, b[i].dtype);
    ck_assert_int_eq(a[i].rank, b[i].rank);
    same_shape(a[i].shape, b[i].shape, NNC_MAX_RANK, "io shape");
    ck_assert_int_eq(a[i].classes, b[i].classes);
    ck_assert_int_eq(a[i].output, b[i].output);
    ck_assert_int_eq(a[i].has_ignore_class, b[i].has_ignore_class);
    ck_assert_int_eq(a[i].ignore_class, b[i].ignore_class);
  }
}

static void same_doubles(const double *a, const double *b, int n, const char *what) {
  for (int i = 0; i < n; i++) same_bits(a[i], b[i], what);
}

static void same_table(const nnc_program_table *a, const nnc_program_table *b) {
  ck_assert_int_eq(a->version, b->version);
  same_str(a->model_name, b->model_name, "model_name");
  ck_assert_int_eq(a->functional, b->functional);
  ck_assert_int_eq(a->n_inputs, b->n_inputs);
  ck_assert_int_eq(a->n_targets, b->n_targets);
  ck_assert_int_eq(a->n_outputs, b->n_outputs);
  same_io(a->inputs, b->inputs, a->n_inputs);
  same_io(a->targets, b->targets, a->n_targets);
  same_io(a->outputs, b->outputs, a->n_outputs);
  ck_assert_int_eq(a->n_variables, b->n_variables);
  for (int i = 0; i < a->n_variables; i++) {
    const nnc_variable *v = &a->variables[i], *w = &b->variables[i];
    same_str(v->name, w->name, "variable name");
    same_str(v->layer, w->layer, "variable layer");
    same_str(v->weight, w->weight, "variable weight");
    ck_assert_int_eq(v->kind, w->kind);
    ck_assert_int_eq(v->rank, w->rank);
    same_shape(v->shape, w->shape, NNC_MAX_RANK, v->name);
    ck_assert_int_eq(v->offset, w->offset);
    ck_assert_int_eq(v->count, w->count);
    ck_assert_int_eq(v->init.rule, w->init.rule);
    same_bits(v->init.value, w->init.value, "init value");
    same_bits(v->init.minval, w->init.minval, "init minval");
    same_bits(v->init.maxval, w->init.maxval, "init maxval");
    same_bits(v->init.mean, w->init.mean, "init mean");
    same_bits(v->init.stddev, w->init.stddev, "init stddev");
    same_bits(v->init.scale, w->init.scale, "init scale");
    ck_assert_int_eq(v->init.fan, w->init.fan);
    ck_assert_int_eq(v->init.distribution, w->init.distribution);
    ck_assert_int_eq(v->init.has_seed, w->init.has_seed);
    ck_assert_int_eq(v->init.seed, w->init.seed);
    same_bits(v->init.gain, w->init.gain, "init gain");
    same_str(v->average_of, w->average_of, "average_of");
  }
  ck_assert_int_eq(a->params_floats, b->params_floats);
  ck_assert_int_eq(a->slots_floats, b->slots_floats);
  ck_assert_int_eq(a->n_stats, b->n_stats);
  for (int i = 0; i < a->n_stats; i++) ck_assert_int_eq(a->stats[i], b->stats[i]);
  ck_assert_int_eq(a->n_log_keys, b->n_log_keys);
  for (int i = 0; i < a->n_log_keys; i++) {
    const nnc_log_key *k = &a->log_keys[i], *l = &b->log_keys[i];
    same_str(k->name, l->name, "log key");
    ck_assert_int_eq(k->result, l->result);
    ck_assert_int_eq(k->stat[0], l->stat[0]);
    ck_assert_int_eq(k->stat[1], l->stat[1]);
    ck_assert_int_eq(k->first_stat, l->first_stat);
    ck_assert_int_eq(k->n_stats, l->n_stats);
    ck_assert_int_eq(k->n_args, l->n_args);
    same_doubles(k->args, l->args, k->n_args, "log key args");
    ck_assert_int_eq(k->direction, l->direction);
  }
  ck_assert_int_eq(a->n_summary_rows, b->n_summary_rows);
  for (int i = 0; i < a->n_summary_rows; i++) {
    const nnc_summary_row *r = &a->summary[i], *s = &b->summary[i];
    same_str(r->name, s->name, "row name");
    same_str(r->class_name, s->class_name, "row class");
    ck_assert_int_eq(r->rank, s->rank);
    same_shape(r->shape, s->shape, NNC_MAX_RANK, "row shape");
    ck_assert_int_eq(r->params, s->params);
    ck_assert_int_eq(r->trainable, s->trainable);
    same_str(r->connected, s->connected, "row connected");
  }
  ck_assert_int_eq(a->n_warnings, b->n_warnings);
  for (int i = 0; i < a->n_warnings; i++) same_str(a->warnings[i], b->warnings[i], "warning");
  same_bits(a->learning_rate, b->learning_rate, "learning_rate");
  for (int i = 0; i < NNC_ENTRY_COUNT; i++) {
    ck_assert_msg((a->entries[i].fn == NULL) == (b->entries[i].fn == NULL), "entry %d", i);
    ck_assert_int_eq(a->entries[i].fixed_floats, b->entries[i].fixed_floats);
    ck_assert_int_eq(a->entries[i].batch_floats_per_row, b->entries[i].batch_floats_per_row);
    ck_assert_int_eq(a->entries[i].parallel_rows, b->entries[i].parallel_rows);
    ck_assert_int_eq(a->entries[i].sure_rows, b->entries[i].sure_rows);
    ck_assert_int_eq(a->entries[i].scratch_floats, b->entries[i].scratch_floats);
  }
  ck_assert_int_eq(a->n_probes, b->n_probes);
  for (int i = 0; i < a->n_probes; i++) {
    const nnc_probe *p = &a->probes[i], *q = &b->probes[i];
    same_str(p->label, q->label, "probe label");
    same_str(p->op, q->op, "probe op");
    same_str(p->layer, q->layer, "probe layer");
    ck_assert_int_eq(p->region, q->region);
    ck_assert_int_eq(p->offset, q->offset);
    ck_assert_int_eq(p->count, q->count);
    ck_assert_int_eq(p->batched, q->batched);
  }
  const nnc_schedule *s = &a->schedule, *u = &b->schedule;
  ck_assert_int_eq(s->kind, u->kind);
  same_bits(s->initial_learning_rate, u->initial_learning_rate, "schedule initial");
  same_bits(s->decay_steps, u->decay_steps, "decay_steps");
  same_bits(s->decay_rate, u->decay_rate, "decay_rate");
  same_bits(s->end_learning_rate, u->end_learning_rate, "end_learning_rate");
  same_bits(s->power, u->power, "power");
  same_bits(s->alpha, u->alpha, "alpha");
  same_bits(s->warmup_target, u->warmup_target, "warmup_target");
  same_bits(s->warmup_steps, u->warmup_steps, "warmup_steps");
  same_bits(s->t_mul, u->t_mul, "t_mul");
  same_bits(s->m_mul, u->m_mul, "m_mul");
  ck_assert_int_eq(s->staircase, u->staircase);
  ck_assert_int_eq(s->cycle, u->cycle);
  ck_assert_int_eq(s->n_boundaries, u->n_boundaries);
  same_doubles(s->boundaries, u->boundaries, s->n_boundaries, "boundaries");
  if (s->values || u->values) same_doubles(s->values, u->values, s->n_boundaries + 1, "values");
  ck_assert_int_eq(a->n_sample_weights, b->n_sample_weights);
  same_io(a->sample_weights, b->sample_weights, a->n_sample_weights);
  ck_assert_int_eq(a->outputs_in_train, b->outputs_in_train);
}

/* ---- an object of a built model, linked by its own LLJIT ---- */
typedef struct linked {
  LLVMOrcLLJITRef jit;
  const nnc_program_table *table;
  void (*predict)(const float *, const float *const *, float *const *, int64_t, float *);
} linked;

static void *lookup(LLVMOrcLLJITRef jit, const char *name) {
  LLVMOrcJITTargetAddress addr = 0;
  LLVMErrorRef err = LLVMOrcLLJITLookup(jit, &addr, name);
  if (err) {
    char *msg = LLVMGetErrorMessage(err);
    ck_abort_msg("lookup %s: %s", name, msg);
  }
  return (void *)(uintptr_t)addr;
}

static void link_object(const nnc_model *m, linked *out) {
  const nnc_program_table *t = nnc_model_table(m);
  const jit_table *jt = (const jit_table *)t;
  const nnc_graph *graphs[NNC_ENTRY_COUNT];
  int n = 0;
  aot_request req = {t, "t13", {0, 0, 0}, NULL, {0, 0, 0}};
  for (int i = 0; i < NNC_ENTRY_COUNT; i++)
    if (jt->compiled.has_graph[i]) {
      graphs[n++] = &jt->compiled.graphs[i];
      req.has_step[i] = 1;
    }
  char *triple, *cpu, *features;
  codegen_host_target(&triple, &cpu, &features);
  codegen_object_request oreq = {triple, cpu,        features, codegen_vector_width(),
                                 0,      aot_finish, &req};
  void *obj;
  size_t len;
  nnc_status st;
  ck_assert_msg(!codegen_emit_object(graphs, n, &oreq, &obj, &len, &st), "%s", st.message);
  LLVMDisposeMessage(triple);
  LLVMDisposeMessage(cpu);
  LLVMDisposeMessage(features);

  LLVMOrcLLJITBuilderRef builder = LLVMOrcCreateLLJITBuilder();
  ck_assert(!LLVMOrcCreateLLJIT(&out->jit, builder));
  LLVMOrcJITDylibRef dylib = LLVMOrcLLJITGetMainJITDylib(out->jit);
  LLVMOrcDefinitionGeneratorRef gen;
  ck_assert(!LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
      &gen, LLVMOrcLLJITGetGlobalPrefix(out->jit), NULL, NULL));
  LLVMOrcJITDylibAddGenerator(dylib, gen);
  LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRangeCopy(obj, len, "t13.o");
  free(obj);
  ck_assert(!LLVMOrcLLJITAddObjectFile(out->jit, dylib, buf));
  const nnc_program_table *(*program)(void) =
      (const nnc_program_table *(*)(void))(uintptr_t)lookup(out->jit, "t13_program");
  out->table = program();
  out->predict = NULL;
  if (req.has_step[NNC_ENTRY_PREDICT])
    out->predict = (void (*)(const float *, const float *const *, float *const *, int64_t,
                             float *))(uintptr_t)lookup(out->jit, "t13_predict");
}

static nnc_array f32(float *v, int rank, int64_t d0, int64_t d1) {
  nnc_array a = {NNC_F32, rank, {d0, d1}, v, NULL};
  return a;
}

enum { ROWS = 24, IN = 6, CLASSES = 3 };
static float xs[ROWS * IN], ys[ROWS], yb[ROWS];

static void fill(void) {
  for (int i = 0; i < ROWS * IN; i++) xs[i] = sinf(0.37f * (float)i) + 0.1f * (float)(i % 5);
  for (int i = 0; i < ROWS; i++) ys[i] = (float)(i % CLASSES), yb[i] = (float)(i % 2);
}

/* a: JIT model; trains both 3 steps with the same seed and compares the
 * parameters and slots bit for bit, then predicts with both, and with the
 * object's plain predict entry. */
static void same_training(nnc_model *jit_m, const linked *l, const nnc_array *x, const nnc_array *y,
                          int outputs) {
  nnc_model *aot_m;
  nnc_status st;
  ck_assert_msg(!nnc_model_from_table(l->table, &aot_m, &st), "%s", st.message);
  ck_assert(!nnc_model_set_seed(aot_m, 5, &st));
  ck_assert(!nnc_model_set_seed(jit_m, 5, &st));
  for (int step = 0; step < 3; step++) {
    TEST_LOGS(la);
    TEST_LOGS(lb);
    ck_assert_msg(!nnc_model_train_on_batch(jit_m, x, y, &la, &st), "%s", st.message);
    ck_assert_msg(!nnc_model_train_on_batch(aot_m, x, y, &lb, &st), "%s", st.message);
    same_bits(nnc_logs_get(&la, "loss"), nnc_logs_get(&lb, "loss"), "train loss");
  }
  const nnc_program_table *t = l->table;
  for (int i = 0; i < t->n_variables; i++) {
    if (t->variables[i].kind == NNC_VAR_SLOT) continue;
    nnc_array a, b;
    ck_assert(!nnc_model_get_weight(jit_m, t->variables[i].name, &a, &st));
    ck_assert(!nnc_model_get_weight(aot_m, t->variables[i].name, &b, &st));
    ck_assert_msg(!memcmp(a.data, b.data, (size_t)nnc_array_count(&a) * 4), "%s differs",
                  t->variables[i].name);
    nnc_array_free(&a);
    nnc_array_free(&b);
  }
  nnc_array pa, pb;
  ck_assert(!nnc_model_predict(jit_m, x, 8, &pa, &st));
  ck_assert(!nnc_model_predict(aot_m, x, 8, &pb, &st));
  int64_t count = nnc_array_count(&pa);
  ck_assert(!memcmp(pa.data, pb.data, (size_t)count * 4));
  /* the plain entry, on the trained parameters (the whole set as one batch) */
  nnc_array w;
  float *params = calloc((size_t)t->params_floats + 1, sizeof *params);
  for (int i = 0; i < t->n_variables; i++) {
    if (t->variables[i].kind == NNC_VAR_SLOT) continue;
    ck_assert(!nnc_model_get_weight(aot_m, t->variables[i].name, &w, &st));
    memcpy(params + t->variables[i].offset, w.data, (size_t)t->variables[i].count * 4);
    nnc_array_free(&w);
  }
  const nnc_entry *e = &t->entries[NNC_ENTRY_PREDICT];
  float *ws = calloc((size_t)(e->fixed_floats + e->batch_floats_per_row * ROWS + t->n_stats + 1),
                     sizeof *ws);
  float *out = calloc((size_t)count, sizeof *out);
  const float *in[1] = {x->data};
  float *outs[1] = {out};
  ck_assert_int_eq(outputs, 1);
  l->predict(params, in, outs, ROWS, ws);
  ck_assert_msg(!memcmp(pa.data, out, (size_t)count * 4), "t13_predict differs from predict");
  free(params);
  free(ws);
  free(out);
  nnc_array_free(&pa);
  nnc_array_free(&pb);
  nnc_model_free(aot_m);
}

START_TEST(test_table_and_training_bn_ema_schedule) {
  fill();
  nnc_model *m = testutil_load(testutil_sequential(
      "6",
      "{'class_name': 'Dense', 'config': {'name': 'd1', 'units': 5, 'activation': 'relu'}},"
      "{'class_name': 'BatchNormalization', 'config': {'name': 'bn'}},"
      "{'class_name': 'Dense', 'config': {'name': 'd2', 'units': 3, 'activation': 'softmax'}}",
      "{'optimizer': {'class_name': 'Adam', 'config': {'use_ema': true, 'learning_rate': "
      "{'class_name': 'PiecewiseConstantDecay', 'config': {'boundaries': [2, 4], "
      "'values': [0.01, 0.005, 0.001]}}}},"
      " 'loss': {'class_name': 'SparseCategoricalCrossentropy', 'config': {'from_logits': true}},"
      " 'metrics': ['accuracy']}"));
  nnc_array x = f32(xs, 2, ROWS, IN), y = f32(ys, 1, ROWS, 0);
  nnc_status st;
  ck_assert_msg(!nnc_model_build(m, &x, &y, &st), "%s", st.message);
  linked l;
  link_object(m, &l);
  const nnc_program_table *t = nnc_model_table(m);
  ck_assert_int_gt(t->n_warnings, 0);            /* from_logits on a softmax */
  ck_assert_int_eq(t->schedule.n_boundaries, 2); /* the schedule's arrays */
  ck_assert(t->n_variables > 6);                 /* slots and moving statistics */
  same_table(t, l.table);
  same_training(m, &l, &x, &y, 1);
  LLVMOrcDisposeLLJIT(l.jit);
  nnc_model_free(m);
}
END_TEST

START_TEST(test_table_auc_probes_functional) {
  fill();
  const char *spec = testutil_json(
      "{'class_name': 'Functional', 'config': {'name': 'f', 'layers': ["
      "{'class_name': 'InputLayer', 'name': 'in', 'config': {'batch_shape': [null, 6], 'name': "
      "'in'}, 'inbound_nodes': []},"
      "{'class_name': 'Dense', 'name': 'a', 'config': {'name': 'a', 'units': 4, 'activation': "
      "'tanh'}, 'inbound_nodes': [{'args': [{'class_name': '__keras_tensor__', 'config': "
      "{'keras_history': ['in', 0, 0]}}], 'kwargs': {}}]},"
      "{'class_name': 'Dense', 'name': 'b', 'config': {'name': 'b', 'units': 4}, "
      "'inbound_nodes': [{'args': [{'class_name': '__keras_tensor__', 'config': "
      "{'keras_history': ['in', 0, 0]}}], 'kwargs': {}}]},"
      "{'class_name': 'Add', 'name': 'add', 'config': {'name': 'add'}, 'inbound_nodes': "
      "[{'args': [[{'class_name': '__keras_tensor__', 'config': {'keras_history': ['a', 0, 0]}},"
      "{'class_name': '__keras_tensor__', 'config': {'keras_history': ['b', 0, 0]}}]], "
      "'kwargs': {}}]},"
      "{'class_name': 'Dense', 'name': 'out', 'config': {'name': 'out', 'units': 1, "
      "'activation': 'sigmoid'}, 'inbound_nodes': [{'args': [{'class_name': "
      "'__keras_tensor__', 'config': {'keras_history': ['add', 0, 0]}}], 'kwargs': {}}]}],"
      "'input_layers': [['in', 0, 0]], 'output_layers': [['out', 0, 0]]},"
      "'compile_config': {'optimizer': 'sgd', 'loss': 'binary_crossentropy', "
      "'metrics': [{'class_name': 'AUC', 'config': {'num_thresholds': 3}}, 'precision']}}");
  nnc_model *m = testutil_load(spec);
  nnc_status st;
  ck_assert(!nnc_model_set_check_numerics(m, 1, &st));
  nnc_array x = f32(xs, 2, ROWS, IN), y = f32(yb, 2, ROWS, 1);
  ck_assert_msg(!nnc_model_build(m, &x, &y, &st), "%s", st.message);
  linked l;
  link_object(m, &l);
  const nnc_program_table *t = nnc_model_table(m);
  ck_assert_int_eq(t->functional, 1);
  ck_assert_int_gt(t->n_probes, 0);
  int args = 0;
  for (int i = 0; i < t->n_log_keys; i++) args += t->log_keys[i].n_args;
  ck_assert_int_gt(args, 0);
  same_table(t, l.table);
  same_training(m, &l, &x, &y, 1);
  LLVMOrcDisposeLLJIT(l.jit);
  nnc_model_free(m);
}
END_TEST

int main(void) {
  Suite *s = suite_create("aot13");
  TCase *tc = tcase_create("aot13");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_table_and_training_bn_ema_schedule);
  tcase_add_test(tc, test_table_auc_probes_functional);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
