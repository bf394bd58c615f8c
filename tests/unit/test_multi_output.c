/* Several outputs: the compile config's loss, loss_weights and metrics forms
 * and how lowering turns them into targets, the weighted loss and the log keys.
 *
 * Truth: Keras 3 (keras/src/trainers/compile_utils.py, trainer.py):
 *  - CompileLoss.build pairs losses with outputs (one loss for all, a list in
 *    output order, a dict whose keys must be the output names), packs
 *    loss_weights onto them (same structure, or the same count flattened: a
 *    dict's values in sorted key order) and adds a Mean "<output>_loss" per
 *    loss when there is more than one; call() records the *unweighted* loss
 *    and returns sum(weight * loss).
 *  - CompileMetrics: with several outputs a list needs one entry per output,
 *    a dict's keys must be output names; result() names keys
 *    "<output>_<metric>", repeats get "_1", "_2".
 *  - Trainer.metrics order: loss tracker, compiled metrics, per-output losses.
 * Numbers: the model's outputs are a = 2x and b = -x (no weights), so the
 * losses below are sums of squares and absolute values worked out by hand.
 * Until C's Functional DAG lands, the two-output forward graph is built here
 * by hand and lower_loss_and_metrics is called on it. */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "compiler/codegen/codegen.h"
#include "compiler/lower/lower_internal.h"
#include "compiler/passes/passes.h"
#include "nnc.h"
#include "testutil.h"

#define N 3 /* rows */
#define D 2 /* features = output width */
static const float X[N][D] = {{1, 2}, {0, -1}, {3, 0.5f}};
static const float Y[N][D] = {{1, 1}, {0, 0}, {2, 1}};
/* a = 2x: a - y = {1,3},{0,-2},{4,0}: squares 1,9,0,4,16,0 (sum 30), abs 1,3,0,2,4,0 (sum 10)
 * b = -x: b - y = {-2,-3},{0,1},{-5,-1.5}: squares 4,9,0,1,25,2.25 (41.25), abs 12.5 */
#define MSE_A (30.0 / 6)
#define MAE_A (10.0 / 6)
#define MSE_B (41.25 / 6)
#define MAE_B (12.5 / 6)

/* Copy of s with ' turned into ", in a rotating static buffer. */
#define Q testutil_json

typedef struct fixture {
  nnc_spec spec;
  nnc_lowered l;
  nnc_status st;
} fixture;

static void fixture_free(fixture *f) {
  lowered_free(&f->l);
  nnc_spec_free(&f->spec);
}

/* Outputs `names` (a = 2x, then b = -x) and the compile config `json`;
 * returns lowering's code (f->st has the message). */
/* Variations for the logits test: sigmoid outputs, x shaped [B, D, 1]. */
static int g_sigmoid, g_rank3;

static int lower_outputs(fixture *f, const char *json, int n_outputs, const char *const *names,
                         const nnc_data_shapes *data) {
  memset(f, 0, sizeof *f);
  nnc_status *st = &f->st;
  nnc_strlcpy(f->spec.source, "model.json", sizeof f->spec.source);
  ck_assert_msg(nnc_spec_parse_compile_string(json, "model.json", &f->spec, st) == NNC_OK, "%s",
                st->message);
  nnc_lowered *l = &f->l;
  l->loss = l->y = -1;
  ck_assert(graph_init(&l->forward, "forward", st) == NNC_OK);
  int64_t dims[3] = {-1, D, 1};
  nnc_shape s = shape_make(1, g_rank3 ? 3 : 2, dims);
  ck_assert(program_add_io(&l->prog.inputs, &l->prog.n_inputs, "x", s, 0, -1, st) == NNC_OK);
  l->x = graph_source(&l->forward, NNC_OP_INPUT, 0, s, "x", st);
  l->output_nodes = calloc((size_t)n_outputs, sizeof *l->output_nodes);
  ck_assert_ptr_nonnull(l->output_nodes);
  for (int k = 0; k < n_outputs; k++) {
    int c = graph_const(&l->forward, k == 0 ? 2.0 : -1.0, st);
    l->output_nodes[k] = graph_binary(&l->forward, NNC_BIN_MUL, l->x, c, st);
    if (g_sigmoid)
      l->output_nodes[k] = graph_unary(&l->forward, NNC_FN_SIGMOID, l->output_nodes[k], st);
    ck_assert_msg(l->output_nodes[k] >= 0, "%s", st->message);
    ck_assert(program_add_io(&l->prog.outputs, &l->prog.n_outputs, names[k], s, 0, -1, st) ==
              NNC_OK);
  }
  l->y_pred = l->output_nodes[0];
  return lower_loss_and_metrics(l, &f->spec, data, st);
}

static const char *const AB[] = {"out_a", "out_b"};

static void lower_ok(fixture *f, const char *json) {
  int rc = lower_outputs(f, json, 2, AB, NULL);
  ck_assert_msg(rc == NNC_OK, "%s", f->st.message);
}

/* Lowering refuses `json` with "model.json: <path>: " and `what`. */
static void lower_error(const char *json, const char *path, const char *what) {
  fixture f;
  int rc = lower_outputs(&f, json, 2, AB, NULL);
  ck_assert_msg(rc == NNC_ERR_SPEC, "expected NNC_ERR_SPEC, got %d (%s) for %s", rc, f.st.message,
                json);
  char prefix[300];
  snprintf(prefix, sizeof prefix, "model.json: %s: ", path);
  ck_assert_msg(strncmp(f.st.message, prefix, strlen(prefix)) == 0, "'%s' does not start with '%s'",
                f.st.message, prefix);
  ck_assert_msg(strstr(f.st.message, what), "'%s' not in: %s", what, f.st.message);
  fixture_free(&f);
}

static void assert_keys(const nnc_program *p, int n, const char *const *keys) {
  for (int i = 0; i < p->n_metrics && i < n; i++)
    ck_assert_msg(strcmp(p->metrics[i].name, keys[i]) == 0, "key %d: \"%s\", expected \"%s\"", i,
                  p->metrics[i].name, keys[i]);
  ck_assert_int_eq(p->n_metrics, n);
}

static void no_barrier(void *ctx) {
  (void)ctx;
}

/* IO slot k of the step's regions (input k, then the targets). The tests
 * give every target the same data Y. */
static void bind_io(float **regions, int k, const float *data) {
  regions[NNC_REGION_IO + k] = (float *)data;
}

/* The test step of the lowered graph on (X, Y): its batch statistics. */
static void eval_stats(nnc_lowered *l, float *stats) {
  nnc_status st = {0};
  nnc_graph g;
  ck_assert(graph_copy(&g, &l->forward, "test", &st) == NNC_OK);
  ck_assert_msg(pass_specialize(&g, NNC_PHASE_INFER, &st) == NNC_OK &&
                    pass_logits_rewrite(&g, &l->prog, &st) == NNC_OK &&
                    pass_decompose(&g, &st) == NNC_OK && pass_fold(&g, &st) == NNC_OK &&
                    pass_cse(&g, &st) == NNC_OK && pass_dce(&g, &st) == NNC_OK &&
                    pass_fuse(&g, &st) == NNC_OK &&
                    pass_plan_memory_for(&g, &l->prog, &st) == NNC_OK,
                "%s", st.message);
  const nnc_graph *list[1] = {&g};
  nnc_codegen_options opts = {0};
  nnc_jit *jit = NULL;
  nnc_step_fn fn = NULL;
  ck_assert_msg(codegen_compile(list, 1, &l->prog, &opts, &jit, &fn, &st) == NNC_OK, "%s",
                st.message);
  float *fixed = calloc((size_t)g.fixed_floats + 1, sizeof(float));
  float *batch = calloc((size_t)(g.batch_floats_per_row * N) + 1, sizeof(float));
  float params[1] = {0};
  float *regions[NNC_REGION_IO + 8] = {0};
  ck_assert_int_le(l->prog.n_inputs + l->prog.n_targets, 8);
  bind_io(regions, 0, &X[0][0]);
  for (int j = 0; j < l->prog.n_targets; j++) bind_io(regions, l->prog.n_inputs + j, &Y[0][0]);
  regions[NNC_REGION_PARAMS] = params;
  regions[NNC_REGION_STATS] = stats;
  regions[NNC_REGION_FIXED] = fixed;
  regions[NNC_REGION_BATCH] = batch;
  float scalars[NNC_SCALAR_COUNT] = {0};
  scalars[NNC_SCALAR_BATCH] = N;
  fn(regions, scalars, N, 0, 0, 1, no_barrier, NULL);
  free(fixed);
  free(batch);
  codegen_release(jit);
  graph_free(&g);
}

/* The batch value of log key `key`: a loss, or a mean metric's sum over the
 * batch of each sample's mean (divided by N here, as the runtime does). */
static double key_value(const nnc_lowered *l, const float *stats, const char *key) {
  for (int i = 0; i < l->prog.n_metrics; i++) {
    const nnc_metric_info *m = &l->prog.metrics[i];
    if (strcmp(m->name, key)) continue;
    double v = stats[m->stat[0]];
    return l->prog.stat_kinds[m->stat[0]] == NNC_STAT_LOSS ? v : v / N;
  }
  ck_abort_msg("no key %s", key);
  return 0;
}

#define ASSERT_CLOSE(got, want)                                                                    \
  ck_assert_msg(fabs((got) - (want)) <= 1e-6 * fabs(want), "%s = %.9g, expected %.9g", #got,       \
                (double)(got), (double)(want))

/* ---- the weighted sum and the keys ---- */

START_TEST(list_losses_weights_and_metrics) {
  fixture f;
  lower_ok(&f, Q("{'loss': ['mse', 'mae'], 'loss_weights': [0.5, 2], "
                 "'metrics': [['mae'], ['mse']]}"));
  const nnc_program *p = &f.l.prog;
  static const char *const keys[] = {"loss", "out_a_mae", "out_b_mse", "out_a_loss", "out_b_loss"};
  assert_keys(p, 5, keys);
  /* one target per output, in output order, reading IO slots 1 and 2 */
  ck_assert_int_eq(p->n_targets, 2);
  ck_assert_str_eq(p->targets[0].name, "out_a");
  ck_assert_int_eq(p->targets[0].output, 0);
  ck_assert_str_eq(p->targets[1].name, "out_b");
  ck_assert_int_eq(p->targets[1].output, 1);
  int inputs = 0;
  for (int i = 0; i < f.l.forward.n; i++)
    if (f.l.forward.nodes[i].op == NNC_OP_INPUT) {
      ck_assert_int_eq(f.l.forward.nodes[i].params.index, inputs);
      inputs++;
    }
  ck_assert_int_eq(inputs, 3);
  float stats[16] = {0};
  ck_assert_int_le(p->n_stats, 16);
  eval_stats(&f.l, stats);
  ASSERT_CLOSE(key_value(&f.l, stats, "loss"), 0.5 * MSE_A + 2 * MAE_B);
  ASSERT_CLOSE(key_value(&f.l, stats, "out_a_loss"), MSE_A); /* unweighted */
  ASSERT_CLOSE(key_value(&f.l, stats, "out_b_loss"), MAE_B);
  ASSERT_CLOSE(key_value(&f.l, stats, "out_a_mae"), MAE_A);
  ASSERT_CLOSE(key_value(&f.l, stats, "out_b_mse"), MSE_B);
  fixture_free(&f);
}
END_TEST

START_TEST(one_loss_for_all_outputs) {
  fixture f;
  /* a float weight goes with the one loss to every output */
  lower_ok(&f, Q("{'loss': 'mse', 'loss_weights': 0.25}"));
  static const char *const keys[] = {"loss", "out_a_loss", "out_b_loss"};
  assert_keys(&f.l.prog, 3, keys);
  float stats[16] = {0};
  eval_stats(&f.l, stats);
  ASSERT_CLOSE(key_value(&f.l, stats, "loss"), 0.25 * (MSE_A + MSE_B));
  ASSERT_CLOSE(key_value(&f.l, stats, "out_b_loss"), MSE_B);
  fixture_free(&f);
  /* a list of one weight is that one loss's weight too */
  lower_ok(&f, Q("{'loss': 'mae', 'loss_weights': [3]}"));
  eval_stats(&f.l, stats);
  ASSERT_CLOSE(key_value(&f.l, stats, "loss"), 3 * (MAE_A + MAE_B));
  fixture_free(&f);
}
END_TEST

START_TEST(dict_losses_by_output_name) {
  fixture f;
  /* keys in any order; weights by name */
  lower_ok(&f, Q("{'loss': {'out_b': 'mae', 'out_a': 'mse'}, 'loss_weights': {'out_b': 4, "
                 "'out_a': 0.5}, 'metrics': {'out_b': 'mse'}}"));
  static const char *const keys[] = {"loss", "out_b_mse", "out_a_loss", "out_b_loss"};
  assert_keys(&f.l.prog, 4, keys);
  float stats[16] = {0};
  eval_stats(&f.l, stats);
  ASSERT_CLOSE(key_value(&f.l, stats, "loss"), 0.5 * MSE_A + 4 * MAE_B);
  ASSERT_CLOSE(key_value(&f.l, stats, "out_a_loss"), MSE_A);
  ASSERT_CLOSE(key_value(&f.l, stats, "out_b_loss"), MAE_B);
  fixture_free(&f);
  /* dict loss, list weights: the dict in output order */
  lower_ok(&f, Q("{'loss': {'out_b': 'mae', 'out_a': 'mse'}, 'loss_weights': [2, 0]}"));
  eval_stats(&f.l, stats);
  ASSERT_CLOSE(key_value(&f.l, stats, "loss"), 2 * MSE_A);
  fixture_free(&f);
}
END_TEST

START_TEST(dict_weights_for_a_list_go_by_sorted_key) {
  /* Keras flattens a dict of weights that does not match the loss's
   * structure: values in sorted key order ("a" before "z") */
  fixture f;
  lower_ok(&f, Q("{'loss': ['mse', 'mse'], 'loss_weights': {'z': 2, 'a': 1}}"));
  float stats[16] = {0};
  eval_stats(&f.l, stats);
  ASSERT_CLOSE(key_value(&f.l, stats, "loss"), 1 * MSE_A + 2 * MSE_B);
  fixture_free(&f);
}
END_TEST

START_TEST(output_without_loss_is_not_trained) {
  fixture f;
  lower_ok(&f, Q("{'loss': ['mse', null]}"));
  /* one loss: no "<output>_loss" keys, one target */
  static const char *const keys[] = {"loss"};
  assert_keys(&f.l.prog, 1, keys);
  ck_assert_int_eq(f.l.prog.n_targets, 1);
  ck_assert_int_eq(f.l.prog.targets[0].output, 0);
  float stats[16] = {0};
  eval_stats(&f.l, stats);
  ASSERT_CLOSE(key_value(&f.l, stats, "loss"), MSE_A);
  fixture_free(&f);
  /* a shorter list: the first outputs (Keras's _build_nested walks the list) */
  lower_ok(&f, Q("{'loss': [null, 'mae']}"));
  ck_assert_int_eq(f.l.prog.n_targets, 1);
  ck_assert_int_eq(f.l.prog.targets[0].output, 1);
  ck_assert_str_eq(f.l.prog.targets[0].name, "out_b");
  eval_stats(&f.l, stats);
  ASSERT_CLOSE(key_value(&f.l, stats, "loss"), MAE_B);
  fixture_free(&f);
  lower_ok(&f, Q("{'loss': ['mae']}"));
  ck_assert_int_eq(f.l.prog.n_targets, 1);
  fixture_free(&f);
  /* metrics on an output without a loss still read its target */
  lower_ok(&f, Q("{'loss': ['mse', null], 'metrics': [[], ['mae']]}"));
  static const char *const keys2[] = {"loss", "out_b_mae"};
  assert_keys(&f.l.prog, 2, keys2);
  ck_assert_int_eq(f.l.prog.n_targets, 2);
  ck_assert_int_eq(f.l.prog.targets[1].output, 1);
  eval_stats(&f.l, stats);
  ASSERT_CLOSE(key_value(&f.l, stats, "out_b_mae"), MAE_B);
  fixture_free(&f);
}
END_TEST

START_TEST(metric_forms_and_names) {
  fixture f;
  /* a flat list with several outputs: one entry per output */
  lower_ok(&f, Q("{'loss': 'mse', 'metrics': ['mae', ['mse', 'mae']]}"));
  static const char *const keys[] = {"loss",      "out_a_mae",  "out_b_mse",
                                     "out_b_mae", "out_a_loss", "out_b_loss"};
  assert_keys(&f.l.prog, 6, keys);
  fixture_free(&f);
  /* repeats get Keras's counters; null entries are skipped */
  lower_ok(&f, Q("{'loss': 'mse', 'metrics': [['mae', null, 'mae', 'mae'], null]}"));
  static const char *const keys2[] = {"loss",        "out_a_mae",  "out_a_mae_1",
                                      "out_a_mae_2", "out_a_loss", "out_b_loss"};
  assert_keys(&f.l.prog, 6, keys2);
  fixture_free(&f);
  /* dict entries come in output order, not as written */
  lower_ok(&f, Q("{'loss': 'mse', 'metrics': {'out_b': ['mae'], 'out_a': "
                 "{'class_name': 'MeanSquaredError', 'config': {'name': 'm'}}}}"));
  static const char *const keys3[] = {"loss", "out_a_m", "out_b_mae", "out_a_loss", "out_b_loss"};
  assert_keys(&f.l.prog, 5, keys3);
  float stats[16] = {0};
  eval_stats(&f.l, stats);
  ASSERT_CLOSE(key_value(&f.l, stats, "out_a_m"), MSE_A);
  ASSERT_CLOSE(key_value(&f.l, stats, "out_b_mae"), MAE_B);
  fixture_free(&f);
}
END_TEST

START_TEST(single_output_unchanged) {
  fixture f;
  static const char *const one[] = {"dense_1"};
  ck_assert_int_eq(lower_outputs(&f,
                                 Q("{'loss': ['mse'], 'loss_weights': {'dense_1': 2}, "
                                   "'metrics': {'dense_1': ['mae', 'mse']}}"),
                                 1, one, NULL),
                   NNC_OK);
  static const char *const keys[] = {"loss", "mae", "mse"};
  assert_keys(&f.l.prog, 3, keys);
  ck_assert_int_eq(f.l.prog.n_targets, 1);
  float stats[16] = {0};
  eval_stats(&f.l, stats);
  ASSERT_CLOSE(key_value(&f.l, stats, "loss"), 2 * MSE_A);
  fixture_free(&f);
  /* [['mae', 'mse']] for one output, a flat list, 40 metrics: all for it */
  ck_assert_int_eq(
      lower_outputs(&f, Q("{'loss': 'mse', 'metrics': [['mae', 'mse']]}"), 1, one, NULL), NNC_OK);
  assert_keys(&f.l.prog, 3, keys);
  fixture_free(&f);
  char json[4096] = "{'loss': 'mse', 'metrics': [";
  for (int i = 0; i < 40; i++) {
    char m[96];
    snprintf(m, sizeof m, "%s{'class_name': 'MeanAbsoluteError', 'config': {'name': 'm%d'}}",
             i ? ", " : "", i);
    strcat(json, m);
  }
  strcat(json, "]}");
  ck_assert_int_eq(lower_outputs(&f, Q(json), 1, one, NULL), NNC_OK);
  ck_assert_int_eq(f.l.prog.n_metrics, 41);
  ck_assert_int_eq(f.l.prog.n_stats, 41);
  ck_assert_str_eq(f.l.prog.metrics[40].name, "m39");
  fixture_free(&f);
}
END_TEST

/* The logits rewrite and Keras's rank fix-up apply to each output's loss on
 * its own: outputs [B, 2, 1] after a sigmoid; out_a's targets [2, 1] keep the
 * rank, out_b's targets [2] get squeezed against it (params.loss.squeezed), and a
 * squeezed output has no logits, so only out_a's BCE reads the sigmoid's
 * input (keras-semantics.md section 2.3, test_logits.c for one output). */
START_TEST(logits_and_rank_fixup_per_output) {
  g_sigmoid = g_rank3 = 1;
  nnc_spec_shape targets[2] = {{2, {2, 1}}, {1, {2}}};
  nnc_spec_shape in = {2, {2, 1}};
  nnc_data_shapes data = {1, &in, 2, targets, NULL};
  fixture f;
  int rc = lower_outputs(&f, Q("{'loss': 'bce'}"), 2, AB, &data);
  g_sigmoid = g_rank3 = 0;
  ck_assert_msg(rc == NNC_OK, "%s", f.st.message);
  nnc_graph g;
  ck_assert(graph_copy(&g, &f.l.forward, "test", &f.st) == NNC_OK);
  ck_assert_msg(pass_logits_rewrite(&g, &f.l.prog, &f.st) == NNC_OK, "%s", f.st.message);
  int seen = 0;
  for (int i = 0; i < g.n; i++) {
    const nnc_node *n = &g.nodes[i];
    if (n->dead || n->op != NNC_OP_LOSS) continue;
    const nnc_node *pred = &g.nodes[n->in[0]];
    int reads_sigmoid = pred->op == NNC_OP_UNARY && pred->fn == NNC_FN_SIGMOID;
    if (strcmp(n->label, "out_a/loss") == 0) {
      ck_assert_int_eq(n->params.loss.squeezed, 0);
      ck_assert_int_eq(n->params.loss.from_logits, 1); /* from logits now */
      ck_assert_int_eq(reads_sigmoid, 0);
      seen |= 1;
    } else if (strcmp(n->label, "out_b/loss") == 0) {
      ck_assert_int_eq(n->params.loss.squeezed, 1);
      ck_assert_int_eq(n->params.loss.from_logits, 0);
      ck_assert_int_eq(reads_sigmoid, 1);
      seen |= 2;
    }
  }
  ck_assert_int_eq(seen, 3);
  graph_free(&g);
  fixture_free(&f);
}
END_TEST

/* ---- forms Keras refuses ---- */

START_TEST(refused_forms) {
  lower_error(Q("{'loss': ['mse', 'mse', 'mae']}"), "$.loss[2]",
              "expected at most one loss per output: the model has 2 outputs (\"out_a\", "
              "\"out_b\")");
  lower_error(Q("{'loss': {'out_a': 'mse'}}"), "$.loss",
              "expected a key for every output (\"out_a\", \"out_b\") in a loss dict (null for no "
              "loss), \"out_b\" is missing");
  lower_error(Q("{'loss': {'out_a': 'mse', 'out_b': 'mse', 'out_c': 'mse'}}"), "$.loss.out_c",
              "expected an output name (\"out_a\", \"out_b\") as the key of a loss dict");
  lower_error(Q("{'loss': ['mse', 'mse'], 'loss_weights': [1]}"), "$.loss_weights",
              "expected loss_weights to match the number of losses, got 2 losses and 1 weight");
  lower_error(Q("{'loss': 'mse', 'loss_weights': [0.5, 0.5]}"), "$.loss_weights",
              "got 1 loss and 2 weights");
  lower_error(Q("{'loss': ['mse', 'mse'], 'loss_weights': 0.5}"), "$.loss_weights",
              "got 2 losses and 1 weight");
  lower_error(Q("{'loss': {'out_a': 'mse', 'out_b': 'mse'}, 'loss_weights': {'out_a': 1}}"),
              "$.loss_weights", "\"out_b\" is missing");
  lower_error(Q("{'loss': {'out_a': 'mse', 'out_b': 'mse'}, 'loss_weights': {'out_a': 1, "
                "'out_b': 1, 'oops': 2}}"),
              "$.loss_weights.oops", "expected an output name");
  lower_error(Q("{'loss': 'mse', 'metrics': 'mae'}"), "$.metrics",
              "expected a list (one entry per output) or a dict by output name for a model with 2 "
              "outputs");
  lower_error(Q("{'loss': 'mse', 'metrics': ['mae']}"), "$.metrics",
              "expected one entry (a list of metrics) per output: the model has 2 outputs "
              "(\"out_a\", \"out_b\"), the list has 1 entry");
  lower_error(Q("{'loss': 'mse', 'metrics': {'out_c': ['mae']}}"), "$.metrics.out_c",
              "expected an output name (\"out_a\", \"out_b\") as the key of a metrics dict");
  /* a key another key already is: "a" + "_" + "b_loss" is output "a_b"'s loss */
  fixture f;
  static const char *const clash[] = {"a", "a_b"};
  ck_assert_int_eq(lower_outputs(&f,
                                 Q("{'loss': 'mse', 'metrics': {'a': [{'class_name': "
                                   "'MeanSquaredError', 'config': {'name': 'b_loss'}}]}}"),
                                 2, clash, NULL),
                   NNC_ERR_SPEC);
  ck_assert_msg(strstr(f.st.message, "model.json: $.metrics.a[0].config.name: the metric's log "
                                     "key \"a_b_loss\" would be the same as a loss key"),
                "%s", f.st.message);
  fixture_free(&f);
  /* one output: the dict key must be its name; one list per output */
  static const char *const one[] = {"dense_1"};
  ck_assert_int_eq(lower_outputs(&f, Q("{'loss': {'other': 'mse'}}"), 1, one, NULL), NNC_ERR_SPEC);
  ck_assert_msg(strstr(f.st.message, "model.json: $.loss.other: expected an output name "
                                     "(\"dense_1\") as the key of a loss dict"),
                "%s", f.st.message);
  fixture_free(&f);
  ck_assert_int_eq(
      lower_outputs(&f, Q("{'loss': 'mse', 'metrics': [['mae'], ['mae']]}"), 1, one, NULL),
      NNC_ERR_SPEC);
  ck_assert_msg(strstr(f.st.message, "model.json: $.metrics: expected one entry (a list of "
                                     "metrics) per output: the model has 1 output"),
                "%s", f.st.message);
  fixture_free(&f);
  ck_assert_int_eq(lower_outputs(&f, Q("{'loss': 'mse', 'metrics': ['mae', 'mae']}"), 1, one, NULL),
                   NNC_ERR_SPEC);
  ck_assert_msg(strstr(f.st.message, "model.json: $.metrics[1]: expected unique metric names, "
                                     "got \"mae\" twice"),
                "%s", f.st.message);
  fixture_free(&f);
}
END_TEST

/* Parse-time errors: forms wrong whatever the outputs. */
START_TEST(parse_errors) {
  static const struct {
    const char *json, *needle;
  } cases[] = {
      {"{'loss': [null, null]}", "$.loss: expected at least one loss that is not null"},
      {"{'loss': {}}", "$.loss: expected a loss"},
      {"{'loss': []}", "$.loss: expected a loss"},
      {"{'loss': ['mse', 'ctc']}", "$.loss[1]: expected a loss"},
      {"{'loss': {'a': 'mse', 'b': 3}}", "$.loss.b: expected a loss"},
      {"{'loss': 'mse', 'loss_weights': 'x'}",
       "$.loss_weights: expected a float (single output case) or a list or dict"},
      {"{'loss': 'mse', 'loss_weights': [1, 'x']}", "$.loss_weights[1]: expected a number"},
      {"{'loss': 'mse', 'loss_weights': {'a': true}}", "$.loss_weights.a: expected a number"},
      {"{'loss': 'mse', 'metrics': [['mae', ['mse']]]}", "$.metrics[0][1]: expected a metric"},
      {"{'loss': 'mse', 'metrics': [{'a': 'mae'}]}", "$.metrics[0]: expected a metric or a list"},
      {"{'loss': 'mse', 'metrics': {'a': {'b': 'mae'}}}",
       "$.metrics.a: expected a list of metrics"},
      {"{'loss': 'mse', 'metrics': {'a': [{'class_name': 'MeanSquaredError', 'config': {'name': "
       "'loss'}}]}}",
       "$.metrics.a[0].config.name: expected a metric name other"},
      {"{'loss': 'mse', 'metrics': [3]}", "$.metrics[0]: expected a metric name"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    nnc_spec spec = {0};
    nnc_status st = {0};
    int rc = nnc_spec_parse_compile_string(Q(cases[i].json), "c.json", &spec, &st);
    ck_assert_msg(rc == NNC_ERR_SPEC, "%s: got %d (%s)", cases[i].json, rc, st.message);
    ck_assert_msg(strstr(st.message, cases[i].needle), "%s: '%s' not in: %s", cases[i].json,
                  cases[i].needle, st.message);
    ck_assert_ptr_null(spec.compile.losses);
    nnc_spec_free(&spec);
  }
}
END_TEST

/* The parsed forms themselves. */
START_TEST(parsed_forms) {
  nnc_spec spec = {0};
  nnc_status st = {0};
  ck_assert_int_eq(nnc_spec_parse_compile_string(
                       Q("{'loss': {'a': 'mse', 'b': null}, 'loss_weights': [1, null], "
                         "'metrics': {'b': ['mae', 'acc'], 'a': null}}"),
                       "c.json", &spec, &st),
                   NNC_OK);
  const nnc_spec_compile *c = &spec.compile;
  ck_assert_int_eq(c->loss_form, NNC_FORM_DICT);
  ck_assert_int_eq(c->n_losses, 2);
  ck_assert_str_eq(c->losses[0].key, "a");
  ck_assert_int_eq(c->losses[0].has_loss, 1);
  ck_assert_str_eq(c->losses[1].key, "b");
  ck_assert_int_eq(c->losses[1].has_loss, 0);
  ck_assert_str_eq(c->losses[1].path, "$.loss.b");
  ck_assert_int_eq(c->weights_form, NNC_FORM_LIST);
  ck_assert_int_eq(c->n_weights, 2);
  ck_assert_int_eq(c->weights[1].has_weight, 0);
  ck_assert_double_eq(c->weights[1].weight, 1.0);
  ck_assert_int_eq(c->metrics_form, NNC_FORM_DICT);
  ck_assert_int_eq(c->n_groups, 2);
  ck_assert_str_eq(c->groups[0].key, "b");
  ck_assert_str_eq(c->groups[1].path, "$.metrics.a");
  ck_assert_int_eq(c->n_metrics, 2);
  ck_assert_int_eq(c->metrics[1].group, 0);
  ck_assert_str_eq(c->metrics[1].name, "acc");
  ck_assert_str_eq(c->metrics[1].path, "$.metrics.b[1]");
  ck_assert_int_eq(nnc_spec_parse_compile_string(Q("{'loss': 'mse', 'metrics': ['mae', null, "
                                                   "['mse', 'acc']]}"),
                                                 "c.json", &spec, &st),
                   NNC_OK);
  ck_assert_int_eq(c->metrics_form, NNC_FORM_LIST);
  ck_assert_int_eq(c->metrics_nested, 1);
  ck_assert_int_eq(c->n_groups, 3);
  ck_assert_int_eq(c->n_metrics, 3);
  ck_assert_int_eq(c->metrics[0].group, 0);
  ck_assert_int_eq(c->metrics[1].group, 2);
  ck_assert_int_eq(c->metrics[2].group, 2);
  nnc_spec_free(&spec);
}
END_TEST

/* ---- the oracle's multi_output case ---- */

START_TEST(oracle_multi_output_keys) {
  char path[1024];
  snprintf(path, sizeof path, "%s/cases/multi_output/case.json", NNC_ORACLE_DIR);
  nnc_status st = {0};
  char *text = nnc_read_file(path, NULL, &st);
  ck_assert_msg(text != NULL, "%s", st.message);
  cJSON *root = cJSON_Parse(text);
  free(text);
  ck_assert_ptr_nonnull(root);
  char *compile = cJSON_PrintUnformatted(cJSON_GetObjectItem(root, "compile"));
  cJSON_Delete(root);
  fixture f;
  int rc = lower_outputs(&f, compile, 2, AB, NULL);
  cJSON_free(compile);
  ck_assert_msg(rc == NNC_OK, "%s", f.st.message);
  const nnc_spec_compile *c = &f.spec.compile;
  ck_assert_int_eq(c->loss_form, NNC_FORM_LIST);
  ck_assert_int_eq(c->losses[1].loss.kind, NNC_LOSS_MSE);
  ck_assert_double_eq(c->weights[0].weight, 0.5);
  ck_assert_double_eq(c->weights[1].weight, 0.5);
  /* Keras 3's order; history.json holds these and their val_ copies */
  static const char *const keys[] = {"loss", "out_a_mae", "out_b_mae", "out_a_loss", "out_b_loss"};
  assert_keys(&f.l.prog, 5, keys);
  snprintf(path, sizeof path, "%s/cases/multi_output/expected/history.json", NNC_ORACLE_DIR);
  text = nnc_read_file(path, NULL, &st);
  ck_assert_msg(text != NULL, "%s", st.message);
  root = cJSON_Parse(text);
  free(text);
  int n_history = 0;
  for (cJSON *k = root->child; k; k = k->next, n_history++) {
    const char *name = strncmp(k->string, "val_", 4) == 0 ? k->string + 4 : k->string;
    int found = 0;
    for (int i = 0; i < 5; i++) found |= strcmp(name, keys[i]) == 0;
    ck_assert_msg(found, "history key %s not lowered", k->string);
  }
  ck_assert_int_eq(n_history, 10);
  cJSON_Delete(root);
  float stats[16] = {0};
  eval_stats(&f.l, stats);
  ASSERT_CLOSE(key_value(&f.l, stats, "loss"), 0.5 * MSE_A + 0.5 * MSE_B);
  fixture_free(&f);
}
END_TEST

int main(void) {
  Suite *s = suite_create("multi_output");
  TCase *tc = tcase_create("multi_output");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, list_losses_weights_and_metrics);
  tcase_add_test(tc, one_loss_for_all_outputs);
  tcase_add_test(tc, dict_losses_by_output_name);
  tcase_add_test(tc, dict_weights_for_a_list_go_by_sorted_key);
  tcase_add_test(tc, output_without_loss_is_not_trained);
  tcase_add_test(tc, metric_forms_and_names);
  tcase_add_test(tc, single_output_unchanged);
  tcase_add_test(tc, logits_and_rank_fixup_per_output);
  tcase_add_test(tc, refused_forms);
  tcase_add_test(tc, parse_errors);
  tcase_add_test(tc, parsed_forms);
  tcase_add_test(tc, oracle_multi_output_keys);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
