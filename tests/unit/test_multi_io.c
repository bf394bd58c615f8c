/* Several inputs and outputs through the runtime and the C API, on a program
 * table written by hand (include/nnc_program.h): inputs a [1] and b [2],
 * outputs out0 = w0 a and out1 = w1 (b0 + b1), a mean-squared loss per
 * output, SGD. Every expected number is derived by hand in the comments. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "nnc_program.h"
#include "testutil.h"

/* regions: a, b, target 0, target 1, out0, out1 */
enum { A = NNC_REGION_IO, B, T0, T1, OUT0, OUT1 };

static void forward(float **r, int64_t rows, double *l0, double *l1) {
  const float *w = r[NNC_REGION_PARAMS];
  double mismatch = 0;
  *l0 = *l1 = 0;
  for (int64_t i = 0; i < rows; i++) {
    float a = r[A][i], b0 = r[B][2 * i], b1 = r[B][2 * i + 1];
    double e0 = w[0] * a - r[T0][i], e1 = w[1] * (b0 + b1) - r[T1][i];
    *l0 += e0 * e0 / (double)rows;
    *l1 += e1 * e1 / (double)rows;
    /* the data has b0 = 2a and target0 = 3a: rows gathered together stay together */
    mismatch += (b0 != 2 * a) + (r[T0][i] != 3 * a);
  }
  float *s = r[NNC_REGION_STATS];
  s[0] = (float)(*l0 + *l1);
  s[1] = (float)*l0;
  s[2] = (float)*l1;
  s[3] = (float)mismatch;
}

static void train(float **r, const float *sc, int64_t rows, uint64_t rng, int64_t tid, int64_t nt,
                  void (*barrier)(void *), void *ctx) {
  (void)rng, (void)nt, (void)barrier, (void)ctx;
  if (tid) return;
  double l0, l1, d0 = 0, d1 = 0;
  forward(r, rows, &l0, &l1);
  float *w = r[NNC_REGION_PARAMS];
  for (int64_t i = 0; i < rows; i++) {
    float a = r[A][i], s = r[B][2 * i] + r[B][2 * i + 1];
    d0 += 2.0 * (w[0] * a - r[T0][i]) * a / (double)rows;
    d1 += 2.0 * (w[1] * s - r[T1][i]) * s / (double)rows;
  }
  w[0] -= (float)(sc[NNC_SCALAR_LR] * d0);
  w[1] -= (float)(sc[NNC_SCALAR_LR] * d1);
}

static void test(float **r, const float *sc, int64_t rows, uint64_t rng, int64_t tid, int64_t nt,
                 void (*barrier)(void *), void *ctx) {
  (void)sc, (void)rng, (void)nt, (void)barrier, (void)ctx;
  double l0, l1;
  if (!tid) forward(r, rows, &l0, &l1);
}

static void predict(float **r, const float *sc, int64_t rows, uint64_t rng, int64_t tid, int64_t nt,
                    void (*barrier)(void *), void *ctx) {
  (void)sc, (void)rng, (void)nt, (void)barrier, (void)ctx;
  if (tid) return;
  /* the outputs come after the inputs and the targets, even with no target data */
  for (int64_t i = 0; i < rows; i++) {
    r[OUT0][i] = r[NNC_REGION_PARAMS][0] * r[A][i];
    r[OUT1][i] = r[NNC_REGION_PARAMS][1] * (r[B][2 * i] + r[B][2 * i + 1]);
  }
}

static const nnc_io_desc inputs[2] = {{"a", NNC_F32, 1, {1}, 0, -1, 0, 0},
                                      {"b", NNC_F32, 1, {2}, 0, -1, 0, 0}};
static const nnc_io_desc targets[2] = {{"out0", NNC_F32, 1, {1}, 0, 0, 0, 0},
                                       {"out1", NNC_F32, 1, {1}, 4, 1, 0, 0}};
static const nnc_io_desc outputs[2] = {{"out0", NNC_F32, 1, {1}, 0, -1, 0, 0},
                                       {"out1", NNC_F32, 1, {1}, 0, -1, 0, 0}};
static const nnc_stat_reduction stats[4] = {NNC_REDUCE_LOSS, NNC_REDUCE_LOSS, NNC_REDUCE_LOSS,
                                            NNC_REDUCE_MEAN_SUM};
static const nnc_log_key keys[4] = {{.name = "loss", .result = NNC_LOG_MEAN, .stat = {0, 0}},
                                    {.name = "out0_loss", .result = NNC_LOG_MEAN, .stat = {1, 0}},
                                    {.name = "out1_loss", .result = NNC_LOG_MEAN, .stat = {2, 0}},
                                    {.name = "mismatch", .result = NNC_LOG_MEAN, .stat = {3, 0}}};
static nnc_variable vars[2];
static nnc_program_table table;

static void make_table(double lr) {
  memset(vars, 0, sizeof vars);
  vars[0] = (nnc_variable){.name = "out0/kernel",
                           .layer = "out0",
                           .weight = "kernel",
                           .kind = NNC_VAR_TRAINABLE,
                           .rank = 1,
                           .shape = {1},
                           .offset = 0,
                           .count = 1};
  vars[1] = (nnc_variable){.name = "out1/kernel",
                           .layer = "out1",
                           .weight = "kernel",
                           .kind = NNC_VAR_TRAINABLE,
                           .rank = 1,
                           .shape = {1},
                           .offset = 1,
                           .count = 1};
  vars[0].init.rule = vars[1].init.rule = NNC_INITIALIZER_ONES;
  memset(&table, 0, sizeof table);
  table.version = NNC_PROGRAM_VERSION;
  table.model_name = "two_by_two";
  table.n_inputs = table.n_targets = table.n_outputs = 2;
  table.inputs = inputs;
  table.targets = targets;
  table.outputs = outputs;
  table.n_variables = 2;
  table.variables = vars;
  table.params_floats = 2;
  table.n_stats = 4;
  table.stats = stats;
  table.n_log_keys = 4;
  table.log_keys = keys;
  table.learning_rate = lr;
  table.entries[NNC_ENTRY_TRAIN] = (nnc_entry){.fn = train};
  table.entries[NNC_ENTRY_TEST] = (nnc_entry){.fn = test};
  table.entries[NNC_ENTRY_PREDICT] = (nnc_entry){.fn = predict};
}

static float av[4] = {1, 2, 3, 4}, bv[8] = {2, 0, 4, 1, 6, 0, 8, 1};
static float t0v[4] = {3, 6, 9, 12}, t1v[4] = {2, 1, 3, 0};

static void data(nnc_array x[2], nnc_array y[2]) {
  x[0] = (nnc_array){NNC_F32, 2, {4, 1}, av, NULL};
  x[1] = (nnc_array){NNC_F32, 2, {4, 2}, bv, NULL};
  y[0] = (nnc_array){NNC_F32, 2, {4, 1}, t0v, NULL};
  y[1] = (nnc_array){NNC_F32, 1, {4}, t1v, NULL};
}

static nnc_model *model(double lr) {
  make_table(lr);
  nnc_model *m;
  nnc_status st;
  ck_assert_msg(nnc_model_from_table(&table, &m, &st) == NNC_OK, "%s", st.message);
  return m;
}

#define NEAR(got, want)                                                                            \
  ck_assert_msg(fabs((got) - (want)) < 1e-4, "%s = %.9g, want %.9g", #got, (double)(got),          \
                (double)(want))

START_TEST(names_and_predict) {
  nnc_model *m = model(0);
  ck_assert_int_eq(nnc_model_input_count(m), 2);
  ck_assert_str_eq(nnc_model_input_name(m, 1), "b");
  ck_assert_int_eq(nnc_model_output_count(m), 2);
  ck_assert_str_eq(nnc_model_output_name(m, 0), "out0");
  ck_assert_ptr_null(nnc_model_output_name(m, 2));
  nnc_array x[2], y[2], out[2];
  data(x, y);
  nnc_status st;
  ck_assert_msg(nnc_model_predict_multi(m, 2, x, 3, 2, out, &st) == NNC_OK, "%s", st.message);
  /* w = 1: out0 = a, out1 = b0 + b1 */
  ck_assert_int_eq(out[1].rank, 2);
  ck_assert_int_eq(out[1].shape[0], 4);
  NEAR(((float *)out[0].data)[3], 4);
  NEAR(((float *)out[1].data)[1], 5);
  NEAR(((float *)out[1].data)[3], 9);
  nnc_array_free(&out[0]);
  nnc_array_free(&out[1]);
  nnc_model_free(m);
}
END_TEST

START_TEST(evaluate_fit_and_train_on_batch) {
  nnc_model *m = model(0);
  nnc_array x[2], y[2];
  data(x, y);
  nnc_status st;
  TEST_LOGS(logs);
  /* w = 1: out0 errors -2a: L0 = 4 (1+4+9+16) / 4 = 30; out1 sums 2,5,6,9
   * against 2,1,3,0: L1 = (0+16+9+81) / 4 = 26.5; loss = 56.5 */
  ck_assert_msg(nnc_model_evaluate_multi(m, 2, x, 2, y, 3, &logs, &st) == NNC_OK, "%s", st.message);
  NEAR(nnc_logs_get(&logs, "out0_loss"), 30);
  NEAR(nnc_logs_get(&logs, "out1_loss"), 26.5);
  NEAR(nnc_logs_get(&logs, "loss"), 56.5);
  /* shuffled batches of 2 with lr 0: the epoch means are the same numbers, and
   * every gathered row of a, b and the targets belongs together */
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.batch_size = 2;
  o.verbose = 0;
  o.epochs = 2;
  o.n_x_vals = o.n_y_vals = 2;
  o.x_vals = x;
  o.y_vals = y;
  nnc_history h;
  ck_assert_msg(nnc_model_fit_multi(m, 2, x, 2, y, &o, &h, &st) == NNC_OK, "%s", st.message);
  for (int e = 0; e < 2; e++) {
    NEAR(nnc_history_get(&h, "loss", e), 56.5);
    NEAR(nnc_history_get(&h, "mismatch", e), 0);
    NEAR(nnc_history_get(&h, "val_out1_loss", e), 26.5);
  }
  nnc_history_free(&h);
  /* validation_split 0.5: train on samples 0-1 (L0 = 4 (1+4)/2 = 10,
   * L1 = (0+16)/2 = 8), validate on 2-3 (L0 = 4 (9+16)/2 = 50, L1 = (9+81)/2 = 45) */
  o.x_vals = o.y_vals = NULL;
  o.validation_split = 0.5;
  o.epochs = 1;
  ck_assert_msg(nnc_model_fit_multi(m, 2, x, 2, y, &o, &h, &st) == NNC_OK, "%s", st.message);
  NEAR(nnc_history_get(&h, "loss", 0), 18);
  NEAR(nnc_history_get(&h, "val_loss", 0), 95);
  nnc_history_free(&h);
  /* one SGD step at lr 0.01 on all four: dw0 = 2/4 sum(-2a a) = -30 -> w0 = 1.3;
   * dw1 = 2/4 sum(e1 s) = (0 + 20 + 18 + 81) / 2 = 59.5 -> w1 = 0.405 */
  ck_assert(nnc_model_set_learning_rate(m, 0.01, &st) == NNC_OK);
  ck_assert_msg(nnc_model_train_on_batch_multi(m, 2, x, 2, y, &logs, &st) == NNC_OK, "%s",
                st.message);
  NEAR(nnc_logs_get(&logs, "loss"), 56.5); /* before the update */
  nnc_array w;
  ck_assert(nnc_model_get_weight(m, "out0/kernel", &w, &st) == NNC_OK);
  NEAR(((float *)w.data)[0], 1.3);
  nnc_array_free(&w);
  ck_assert(nnc_model_get_weight(m, "out1/kernel", &w, &st) == NNC_OK);
  NEAR(((float *)w.data)[0], 0.405);
  nnc_array_free(&w);
  nnc_model_free(m);
}
END_TEST

START_TEST(messages_name_the_input_or_output) {
  nnc_model *m = model(0);
  nnc_array x[2], y[2];
  data(x, y);
  nnc_status st;
  TEST_LOGS(logs);
  ck_assert_int_eq(nnc_model_evaluate_multi(m, 1, x, 2, y, 4, &logs, &st), NNC_ERR_DATA);
  ck_assert_msg(strstr(st.message, "the model has 2 input(s), got 1 x array(s)"), "%s", st.message);
  nnc_array bad = x[1];
  bad.shape[1] = 1;
  nnc_array xs[2] = {x[0], bad};
  ck_assert_int_eq(nnc_model_evaluate_multi(m, 2, xs, 2, y, 4, &logs, &st), NNC_ERR_DATA);
  ck_assert_msg(strstr(st.message, "x[1] (input 'b') has shape (4, 1)"), "%s", st.message);
  /* out1's labels are class indices in [0, 4) */
  float t1_bad[4] = {2, 1, 3.5f, 0};
  nnc_array ys[2] = {y[0], y[1]};
  ys[1].data = t1_bad;
  ck_assert_int_eq(nnc_model_evaluate_multi(m, 2, x, 2, ys, 4, &logs, &st), NNC_ERR_DATA);
  ck_assert_msg(strstr(st.message, "y[1] (output 'out1')[2] = 3.5 is not a class index in [0, 4)"),
                "%s", st.message);
  /* rank 0: no target, but out0 has a loss */
  ys[1] = y[1];
  memset(&ys[0], 0, sizeof ys[0]);
  ck_assert_int_eq(nnc_model_evaluate_multi(m, 2, x, 2, ys, 4, &logs, &st), NNC_ERR_DATA);
  ck_assert_msg(strstr(st.message, "y[0] (output 'out0'): the output has a loss"), "%s",
                st.message);
  nnc_model_free(m);
}
END_TEST

/* Every log key a table reports reaches the logs: none is dropped (34 keys
 * once became 32) and none is refused. Every key reads stat 0, the loss. */
START_TEST(forty_log_keys_all_kept) {
  static nnc_log_key many[40];
  static char names[40][8];
  for (int i = 0; i < 40; i++) {
    snprintf(names[i], sizeof names[i], "k%02d", i);
    many[i] = (nnc_log_key){.name = i ? names[i] : "loss", .result = NNC_LOG_MEAN, .stat = {0, 0}};
  }
  make_table(0);
  table.n_log_keys = 40;
  table.log_keys = many;
  nnc_model *m;
  nnc_status st;
  ck_assert(nnc_model_from_table(&table, &m, &st) == NNC_OK);
  nnc_array x[2], y[2];
  data(x, y);
  TEST_LOGS(logs);
  ck_assert_msg(nnc_model_evaluate_multi(m, 2, x, 2, y, 4, &logs, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(logs.n, 40);
  for (int i = 0; i < 40; i++) /* the loss of evaluate_fit_and_train_on_batch: 56.5 */
    NEAR(nnc_logs_get(&logs, many[i].name), 56.5);
  nnc_model_free(m);
}
END_TEST

static char *summary_text(nnc_model *m) {
  char *text = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&text, &size);
  nnc_status st;
  ck_assert_msg(nnc_model_summary(m, f, &st) == NNC_OK, "%s", st.message);
  fclose(f);
  return text;
}

/* The summary comes from the table's rows: the "Connected to" column when the
 * table says Functional with branches, the Sequential look otherwise; the
 * trainable and non-trainable counts are the rows' sums. */
START_TEST(summary_from_rows) {
  static const nnc_summary_row rows[4] = {{"a", "InputLayer", 2, {-1, 1}, 0, 0, NULL},
                                          {"b", "InputLayer", 2, {-1, 2}, 0, 0, NULL},
                                          {"out0", "Dense", 2, {-1, 1}, 1, 1, "a[0][0]"},
                                          {"out1", "Dense", 2, {-1, 1}, 1, 0, "b[0][0]"}};
  make_table(0);
  table.n_summary_rows = 4;
  table.summary = rows;
  table.functional = 1;
  nnc_model *m;
  nnc_status st;
  ck_assert(nnc_model_from_table(&table, &m, &st) == NNC_OK);
  char *text = summary_text(m);
  /* Keras 3's Functional layout printed to a pipe (76 wide, columns 21/19/12/19) */
  ck_assert_str_eq(text,
                   "Model: \"two_by_two\"\n"
                   "┏━━━━━━━━━━━━━━━━━━━━━"
                   "┳━━━━━━━━━━━━━━━━━━━"
                   "┳━━━━━━━━━━━━"
                   "┳━━━━━━━━━━━━━━━━━━━┓\n"
                   "┃ Layer (type)        ┃ Output Shape      ┃    Param # ┃ Connected to      ┃\n"
                   "┡━━━━━━━━━━━━━━━━━━━━━"
                   "╇━━━━━━━━━━━━━━━━━━━"
                   "╇━━━━━━━━━━━━"
                   "╇━━━━━━━━━━━━━━━━━━━┩\n"
                   "│ a (InputLayer)      │ (None, 1)         │          0 │ -                 │\n"
                   "├─────────────────────"
                   "┼───────────────────"
                   "┼────────────"
                   "┼───────────────────┤\n"
                   "│ b (InputLayer)      │ (None, 2)         │          0 │ -                 │\n"
                   "├─────────────────────"
                   "┼───────────────────"
                   "┼────────────"
                   "┼───────────────────┤\n"
                   "│ out0 (Dense)        │ (None, 1)         │          1 │ a[0][0]           │\n"
                   "├─────────────────────"
                   "┼───────────────────"
                   "┼────────────"
                   "┼───────────────────┤\n"
                   "│ out1 (Dense)        │ (None, 1)         │          1 │ b[0][0]           │\n"
                   "└─────────────────────"
                   "┴───────────────────"
                   "┴────────────"
                   "┴───────────────────┘\n"
                   " Total params: 2 (8.00 B)\n"
                   " Trainable params: 1 (4.00 B)\n"
                   " Non-trainable params: 1 (4.00 B)\n");
  free(text);
  nnc_model_free(m);
  table.functional = 0;
  ck_assert(nnc_model_from_table(&table, &m, &st) == NNC_OK);
  text = summary_text(m);
  ck_assert_msg(!strstr(text, "Connected to") && !strstr(text, "a[0][0]"), "%s", text);
  free(text);
  nnc_model_free(m);
}
END_TEST

/* A spec without an input shape is not built, but its inputs and outputs are known. */
/* A name longer than its column is cut at the column (as rich folds a long
 * word), over as many lines as it takes: no character is lost. */
START_TEST(summary_long_name_never_cut) {
  static char longname[301];
  memset(longname, 'x', 300);
  static nnc_summary_row rows[1] = {{longname, "Dense", 2, {-1, 1}, 2, 2, NULL}};
  make_table(0);
  table.n_summary_rows = 1;
  table.summary = rows;
  nnc_model *m;
  nnc_status st;
  ck_assert(nnc_model_from_table(&table, &m, &st) == NNC_OK);
  char *text = summary_text(m);
  int xs = 0;
  for (const char *c = text; *c; c++) xs += *c == 'x';
  ck_assert_msg(xs == 300, "%d of 300 x in\n%s", xs, text);
  /* 31 cells a line in the Sequential layout's first column: 300 = 9 x 31 + 21 */
  ck_assert_msg(strstr(text, "\u2502 xxxxxxxxxxxxxxxxxxxxx (Dense)"), "%s", text);
  free(text);
  nnc_model_free(m);
}
END_TEST

START_TEST(names_before_building) {
  static const char spec[] =
      "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m\", \"layers\": ["
      "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 1}}]}}";
  nnc_model *m;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(spec, "names", &m, &st) == NNC_OK, "%s", st.message);
  ck_assert(!nnc_model_is_built(m));
  ck_assert_int_eq(nnc_model_input_count(m), 1);
  ck_assert_str_eq(nnc_model_input_name(m, 0), "input_layer");
  ck_assert_int_eq(nnc_model_output_count(m), 1);
  ck_assert_str_eq(nnc_model_output_name(m, 0), "d");
  nnc_model_free(m);
}
END_TEST

int main(void) {
  Suite *s = suite_create("multi_io");
  TCase *tc = tcase_create("table");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, names_and_predict);
  tcase_add_test(tc, evaluate_fit_and_train_on_batch);
  tcase_add_test(tc, messages_name_the_input_or_output);
  tcase_add_test(tc, forty_log_keys_all_kept);
  tcase_add_test(tc, names_before_building);
  tcase_add_test(tc, summary_from_rows);
  tcase_add_test(tc, summary_long_name_never_cut);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
