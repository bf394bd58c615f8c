/* Logs and History of any number of keys (issue 6: 34 keys once silently
 * became 32). A program table written by hand (include/nnc_program.h): one
 * input x [1], "loss" = mean(x) and 40 metrics, metric k = k * mean(x), so
 * every key has its own value derived by hand below. The metric names are
 * listed in the table in reverse order, so the logs' sorted order (Keras's
 * `sorted(logs)`, byte order for ASCII names) differs from the table's. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "nnc_program.h"
#include "testutil.h"

enum { X = NNC_REGION_IO, T, OUT, N_METRICS = 40, N_STATS = N_METRICS + 1 };

/* stat 0: the batch mean of x (a loss, weighted by the batch size);
 * stat k: k * sum of x over the batch (a per-sample sum, / the sample count) */
static void step(float **r, const float *sc, int64_t rows, uint64_t rng, int64_t tid, int64_t nt,
                 void (*barrier)(void *), void *ctx) {
  (void)sc, (void)rng, (void)nt, (void)barrier, (void)ctx;
  if (tid) return;
  double sum = 0;
  for (int64_t i = 0; i < rows; i++) sum += r[X][i];
  float *s = r[NNC_REGION_STATS];
  s[0] = (float)(sum / (double)rows);
  for (int k = 1; k < N_STATS; k++) s[k] = (float)(k * sum);
}

static void predict(float **r, const float *sc, int64_t rows, uint64_t rng, int64_t tid, int64_t nt,
                    void (*barrier)(void *), void *ctx) {
  (void)sc, (void)rng, (void)nt, (void)barrier, (void)ctx;
  if (tid) return;
  for (int64_t i = 0; i < rows; i++) r[OUT][i] = r[X][i];
}

static const nnc_io_desc inputs[1] = {{"x", NNC_F32, 1, {1}, 0, -1, 0, 0}};
static const nnc_io_desc targets[1] = {{"out", NNC_F32, 1, {1}, 0, 0, 0, 0}};
static const nnc_io_desc outputs[1] = {{"out", NNC_F32, 1, {1}, 0, -1, 0, 0}};
static nnc_stat_reduction stats[N_STATS];
static nnc_log_key keys[N_STATS];
static char names[N_STATS][8];
static nnc_variable vars[1];
static nnc_program_table table;

/* metric k is named "m%02d" of 41 - k: m40 first in the table, m01 last */
static void make_table(void) {
  memset(vars, 0, sizeof vars);
  vars[0] = (nnc_variable){.name = "out/kernel",
                           .layer = "out",
                           .weight = "kernel",
                           .kind = NNC_VAR_TRAINABLE,
                           .rank = 1,
                           .shape = {1},
                           .offset = 0,
                           .count = 1};
  stats[0] = NNC_REDUCE_LOSS;
  keys[0] = (nnc_log_key){.name = "loss", .result = NNC_LOG_MEAN, .stat = {0, 0}};
  for (int k = 1; k < N_STATS; k++) {
    stats[k] = NNC_REDUCE_MEAN_SUM;
    snprintf(names[k], sizeof names[k], "m%02d", N_STATS - k);
    keys[k] = (nnc_log_key){.name = names[k], .result = NNC_LOG_MEAN, .stat = {k, 0}};
  }
  memset(&table, 0, sizeof table);
  table.version = NNC_PROGRAM_VERSION;
  table.model_name = "many_logs";
  table.n_inputs = table.n_targets = table.n_outputs = 1;
  table.inputs = inputs;
  table.targets = targets;
  table.outputs = outputs;
  table.n_variables = 1;
  table.variables = vars;
  table.params_floats = 1;
  table.n_stats = N_STATS;
  table.stats = stats;
  table.n_log_keys = N_STATS;
  table.log_keys = keys;
  table.entries[NNC_ENTRY_TRAIN] = (nnc_entry){.fn = step};
  table.entries[NNC_ENTRY_TEST] = (nnc_entry){.fn = step};
  table.entries[NNC_ENTRY_PREDICT] = (nnc_entry){.fn = predict};
}

static float xv[4] = {1, 2, 3, 4}, yv[4] = {0, 0, 0, 0}; /* mean 2.5 */
static float xvv[2] = {10, 20}, yvv[2] = {0, 0};         /* mean 15 */

static nnc_model *model(void) {
  make_table();
  nnc_model *m;
  nnc_status st;
  ck_assert_msg(nnc_model_from_table(&table, &m, &st) == NNC_OK, "%s", st.message);
  return m;
}

/* "m%02d" of metric number j (1..40) has the value j * mean */
static void expect_logs(const nnc_logs *l, const char *prefix, double mean) {
  ck_assert_int_eq(l->n, N_STATS);
  char key[32];
  snprintf(key, sizeof key, "%sloss", prefix);
  ck_assert_msg(fabs(nnc_logs_get(l, key) - mean) < 1e-4, "%s = %g", key, nnc_logs_get(l, key));
  for (int j = 1; j <= N_METRICS; j++) {
    snprintf(key, sizeof key, "%sm%02d", prefix, j);
    /* the table lists "m%02d" of j as metric 41 - j, whose stat is (41 - j) * sum */
    double want = (N_STATS - j) * mean;
    ck_assert_msg(fabs(nnc_logs_get(l, key) - want) < 1e-3 * want, "%s = %g, want %g", key,
                  nnc_logs_get(l, key), want);
  }
  for (int i = 1; i < l->n; i++)
    ck_assert_msg(strcmp(l->names[i - 1], l->names[i]) < 0, "%s before %s", l->names[i - 1],
                  l->names[i]);
}

START_TEST(evaluate_and_on_batch_hold_every_key) {
  nnc_model *m = model();
  nnc_array x = {NNC_F32, 2, {4, 1}, xv, NULL}, y = {NNC_F32, 2, {4, 1}, yv, NULL};
  nnc_status st;
  nnc_logs logs = {0};
  /* the same logs reused by every call: refilled, not appended, and one free at the end */
  for (int round = 0; round < 3; round++) {
    ck_assert_msg(nnc_model_evaluate(m, &x, &y, 3, &logs, &st) == NNC_OK, "%s", st.message);
    expect_logs(&logs, "", 2.5);
    ck_assert_msg(nnc_model_train_on_batch(m, &x, &y, &logs, &st) == NNC_OK, "%s", st.message);
    expect_logs(&logs, "", 2.5);
    ck_assert_msg(nnc_model_test_on_batch(m, &x, &y, &logs, &st) == NNC_OK, "%s", st.message);
    expect_logs(&logs, "", 2.5);
  }
  /* the first and last names in Keras's order */
  ck_assert_str_eq(logs.names[0], "loss");
  ck_assert_str_eq(logs.names[1], "m01");
  ck_assert_str_eq(logs.names[N_STATS - 1], "m40");
  nnc_logs_free(&logs);
  ck_assert_int_eq(logs.n, 0);
  ck_assert_ptr_null(logs.names);
  nnc_logs_free(&logs); /* freeing empty logs again is harmless */
  nnc_model_free(m);
}
END_TEST

/* fit with validation data: 82 keys in every epoch's History and in the
 * verbose-2 progress line, none dropped. */
START_TEST(fit_with_validation_keeps_every_key) {
  nnc_model *m = model();
  nnc_array x = {NNC_F32, 2, {4, 1}, xv, NULL}, y = {NNC_F32, 2, {4, 1}, yv, NULL};
  nnc_array xval = {NNC_F32, 2, {2, 1}, xvv, NULL}, yval = {NNC_F32, 2, {2, 1}, yvv, NULL};
  char *text = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&text, &size);
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = 2;
  o.batch_size = 3;
  o.verbose = 2;
  o.progress = f;
  o.x_val = &xval;
  o.y_val = &yval;
  nnc_history h;
  nnc_status st;
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &h, &st) == NNC_OK, "%s", st.message);
  fclose(f);
  ck_assert_int_eq(h.n_keys, 2 * N_STATS);
  ck_assert_int_eq(h.n_epochs, 2);
  for (int i = 1; i < h.n_keys; i++) /* History's keys: the first logs' sorted order */
    ck_assert_msg(strcmp(h.keys[i - 1], h.keys[i]) < 0, "%s before %s", h.keys[i - 1], h.keys[i]);
  char key[32];
  for (int e = 0; e < 2; e++) {
    ck_assert(fabs(nnc_history_get(&h, "loss", e) - 2.5) < 1e-4);
    ck_assert(fabs(nnc_history_get(&h, "val_loss", e) - 15) < 1e-4);
    for (int j = 1; j <= N_METRICS; j++) {
      snprintf(key, sizeof key, "m%02d", j);
      double got = nnc_history_get(&h, key, e), want = (N_STATS - j) * 2.5;
      ck_assert_msg(fabs(got - want) < 1e-3 * want, "%s = %g, want %g", key, got, want);
      snprintf(key, sizeof key, "val_m%02d", j);
      got = nnc_history_get(&h, key, e), want = (N_STATS - j) * 15.0;
      ck_assert_msg(fabs(got - want) < 1e-3 * want, "%s = %g, want %g", key, got, want);
    }
  }
  /* the progress line of each epoch names every key: m01 = 40 * 2.5 ... val_m40 = 1 * 15 */
  ck_assert_msg(strstr(text, " - m01: 100.0000 - m02: 97.5000"), "%s", text);
  ck_assert_msg(strstr(text, " - val_m39: 30.0000 - val_m40: 15.0000\n"), "%s", text);
  ck_assert_msg(strstr(text, " - loss: 2.5000 - m01:"), "%s", text);
  free(text);
  nnc_history_free(&h);
  nnc_model_free(m);
}
END_TEST

int main(void) {
  Suite *s = suite_create("many_logs");
  TCase *tc = tcase_create("keys");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, evaluate_and_on_batch_hold_every_key);
  tcase_add_test(tc, fit_with_validation_keeps_every_key);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
