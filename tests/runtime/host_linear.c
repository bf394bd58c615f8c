/* A host linked against libnnc_runtime alone (no compiler, no LLVM): the
 * program table and its three steps are written by hand here — linear
 * regression pred = w x + b with mean squared error and plain SGD — and the
 * runtime's fit, evaluate and predict run them. The expected numbers are
 * derived by hand in the comments. Exit 0 on success. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nnc.h"
#include "nnc_program.h"

/* regions: input x at NNC_REGION_IO, target y at +1, output at +2 */
static void forward(float **r, int64_t rows, float *err, double *loss) {
  float w = r[NNC_REGION_PARAMS][0], b = r[NNC_REGION_PARAMS][1];
  *loss = 0;
  for (int64_t i = 0; i < rows; i++) {
    err[i] = w * r[NNC_REGION_IO][i] + b - r[NNC_REGION_IO + 1][i];
    *loss += (double)err[i] * err[i];
  }
  *loss /= (double)rows;
}

static void train_step(float **r, const float *scalars, int64_t rows, uint64_t rng, int64_t tid,
                       int64_t nthreads, void (*barrier)(void *), void *ctx) {
  (void)rng, (void)nthreads, (void)barrier, (void)ctx;
  if (tid != 0) return;
  float *err = r[NNC_REGION_BATCH];
  double loss, dw = 0, db = 0;
  forward(r, rows, err, &loss);
  r[NNC_REGION_STATS][0] = (float)loss; /* the loss before the update, as Keras reports */
  for (int64_t i = 0; i < rows; i++) {
    dw += 2.0 * err[i] * r[NNC_REGION_IO][i] / (double)rows;
    db += 2.0 * err[i] / (double)rows;
  }
  r[NNC_REGION_PARAMS][0] -= (float)(scalars[NNC_SCALAR_LR] * dw);
  r[NNC_REGION_PARAMS][1] -= (float)(scalars[NNC_SCALAR_LR] * db);
}

static void test_step(float **r, const float *scalars, int64_t rows, uint64_t rng, int64_t tid,
                      int64_t nthreads, void (*barrier)(void *), void *ctx) {
  (void)scalars, (void)rng, (void)nthreads, (void)barrier, (void)ctx;
  if (tid != 0) return;
  double loss;
  forward(r, rows, r[NNC_REGION_BATCH], &loss);
  r[NNC_REGION_STATS][0] = (float)loss;
}

static void predict_step(float **r, const float *scalars, int64_t rows, uint64_t rng, int64_t tid,
                         int64_t nthreads, void (*barrier)(void *), void *ctx) {
  (void)scalars, (void)rng, (void)nthreads, (void)barrier, (void)ctx;
  if (tid != 0) return;
  for (int64_t i = 0; i < rows; i++)
    r[NNC_REGION_IO + 2][i] =
        r[NNC_REGION_PARAMS][0] * r[NNC_REGION_IO][i] + r[NNC_REGION_PARAMS][1];
}

static int failures;
static void expect_near(const char *what, double got, double want) {
  if (fabs(got - want) <= 1e-4 * (1 + fabs(want))) return;
  fprintf(stderr, "host_linear: %s = %.9g, expected %.9g\n", what, got, want);
  failures++;
}

int main(void) {
  static const nnc_io_desc inputs[1] = {{"x", NNC_F32, 1, {1}, 0, -1, 0, 0}};
  static const nnc_io_desc targets[1] = {{"dense", NNC_F32, 1, {1}, 0, 0, 0, 0}};
  static const nnc_io_desc outputs[1] = {{"dense", NNC_F32, 1, {1}, 0, -1, 0, 0}};
  nnc_variable vars[2];
  memset(vars, 0, sizeof vars);
  vars[0] = (nnc_variable){.name = "dense/kernel",
                           .layer = "dense",
                           .weight = "kernel",
                           .kind = NNC_VAR_TRAINABLE,
                           .rank = 2,
                           .shape = {1, 1},
                           .offset = 0,
                           .count = 1};
  vars[0].init.rule = NNC_INITIALIZER_CONSTANT;
  vars[0].init.value = 0.5;
  vars[1] = (nnc_variable){.name = "dense/bias",
                           .layer = "dense",
                           .weight = "bias",
                           .kind = NNC_VAR_TRAINABLE,
                           .rank = 1,
                           .shape = {1},
                           .offset = 1,
                           .count = 1};
  vars[1].init.rule = NNC_INITIALIZER_ZEROS;
  static const nnc_stat_reduction stats[1] = {NNC_REDUCE_LOSS};
  static const nnc_log_key keys[1] = {{.name = "loss", .result = NNC_LOG_MEAN, .stat = {0, 0}}};
  static const nnc_summary_row rows[1] = {{"dense", "Dense", 2, {-1, 1}, 2, 2, NULL}};
  nnc_program_table t;
  memset(&t, 0, sizeof t);
  t.version = NNC_PROGRAM_VERSION;
  t.model_name = "linear";
  t.n_inputs = t.n_targets = t.n_outputs = 1;
  t.inputs = inputs;
  t.targets = targets;
  t.outputs = outputs;
  t.n_variables = 2;
  t.variables = vars;
  t.params_floats = 2;
  t.n_stats = 1;
  t.stats = stats;
  t.n_log_keys = 1;
  t.log_keys = keys;
  t.n_summary_rows = 1;
  t.summary = rows;
  t.learning_rate = 0.1;
  t.entries[NNC_ENTRY_TRAIN] = (nnc_entry){.fn = train_step, .batch_floats_per_row = 1};
  t.entries[NNC_ENTRY_TEST] = (nnc_entry){.fn = test_step, .batch_floats_per_row = 1};
  t.entries[NNC_ENTRY_PREDICT] = (nnc_entry){.fn = predict_step};

  nnc_status st;
  nnc_model *m;
  if (nnc_model_from_table(&t, &m, &st)) {
    fprintf(stderr, "host_linear: %s\n", st.message);
    return 1;
  }
  float xs[4] = {1, 2, 3, 4}, ys[4] = {3, 5, 7, 9}; /* y = 2x + 1 */
  nnc_array x = {NNC_F32, 2, {4, 1}, xs, "x"}, y = {NNC_F32, 2, {4, 1}, ys, "y"};
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.batch_size = 4;
  o.shuffle = 0;
  o.verbose = 0;
  nnc_history h;
  if (nnc_model_fit(m, &x, &y, &o, &h, &st)) {
    fprintf(stderr, "host_linear: fit: %s\n", st.message);
    return 1;
  }
  /* w = 0.5, b = 0: errors -2.5, -4, -5.5, -7; loss = 101.5 / 4 = 25.375;
   * dw = 2/4 * sum(err x) = -27.5, db = 2/4 * sum(err) = -9.5;
   * after lr 0.1: w = 3.25, b = 0.95 */
  expect_near("history loss", nnc_history_get(&h, "loss", 0), 25.375);
  nnc_history_free(&h);
  nnc_array w, b;
  if (nnc_model_get_weight(m, "dense/kernel", &w, &st) ||
      nnc_model_get_weight(m, "dense/bias", &b, &st)) {
    fprintf(stderr, "host_linear: %s\n", st.message);
    return 1;
  }
  expect_near("w", ((float *)w.data)[0], 3.25);
  expect_near("b", ((float *)b.data)[0], 0.95);
  nnc_array_free(&w);
  nnc_array_free(&b);
  expect_near("iterations", (double)nnc_model_iterations(m), 1);
  /* errors now 1.2, 2.45, 3.7, 4.95: loss = 45.635 / 4 */
  nnc_logs logs = {0};
  if (nnc_model_evaluate(m, &x, &y, 2, &logs, &st)) {
    fprintf(stderr, "host_linear: evaluate: %s\n", st.message);
    return 1;
  }
  expect_near("evaluate loss", nnc_logs_get(&logs, "loss"), 11.40875);
  nnc_logs_free(&logs);
  nnc_array pred;
  if (nnc_model_predict(m, &x, 3, &pred, &st)) {
    fprintf(stderr, "host_linear: predict: %s\n", st.message);
    return 1;
  }
  expect_near("predict[0]", ((float *)pred.data)[0], 4.2);
  expect_near("predict[3]", ((float *)pred.data)[3], 13.95);
  nnc_array_free(&pred);
  /* a wrongly shaped x is refused by the runtime from the table alone */
  nnc_array bad = {NNC_F32, 2, {2, 2}, xs, NULL};
  if (nnc_model_predict(m, &bad, 4, &pred, &st) != NNC_ERR_DATA ||
      !strstr(st.message, "x has shape (2, 2) but the model expects [B,1]")) {
    fprintf(stderr, "host_linear: bad x: %s\n", st.message);
    failures++;
  }
  nnc_model_free(m);
  if (!failures) printf("host_linear: ok\n");
  return failures ? 1 : 0;
}
