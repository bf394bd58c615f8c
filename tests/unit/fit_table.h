/* A program table written by hand (include/nnc_program.h) for the fit loop
 * tests: one input x [1], one output (= x + w) with a target, one weight w,
 * and sample weights sw for output 0 read from the region after the
 * outputs (contract of issue 7). A train step reports, then adds 1 to w, so
 * w counts the steps taken:
 *   loss = sum_i sw_i (x_i + w) / rows   (Keras's sum_over_batch_size)
 *   x    = mean of x over the samples seen   ("which samples were visited")
 *   sw   = mean of sw over the samples seen
 * sw_i = 1 when the table has no weight region (fit_table(0)). Included by
 * one test file each (static definitions). */
#ifndef NNC_FIT_TABLE_H
#define NNC_FIT_TABLE_H

#include <check.h>
#include <string.h>

#include "nnc.h"
#include "nnc_program.h"

enum { FT_X = NNC_REGION_IO, FT_Y, FT_OUT, FT_SW };

static void ft_run(float **r, int64_t rows, int train, int weighted) {
  float w = r[NNC_REGION_PARAMS][0], *s = r[NNC_REGION_STATS];
  float loss = 0, xs = 0, sws = 0;
  for (int64_t i = 0; i < rows; i++) {
    float sw = weighted ? r[FT_SW][i] : 1.0f;
    loss += sw * (r[FT_X][i] + w);
    xs += r[FT_X][i];
    sws += sw;
  }
  s[0] = loss / (float)rows;
  s[1] = xs;
  s[2] = sws;
  if (train) r[NNC_REGION_PARAMS][0] = w + 1;
}

#define FT_STEP(name, train, weighted)                                                             \
  static void name(float **r, const float *sc, int64_t rows, uint64_t rng, int64_t tid,            \
                   int64_t nt, void (*barrier)(void *), void *ctx) {                               \
    (void)sc, (void)rng, (void)nt, (void)barrier, (void)ctx;                                       \
    if (!tid) ft_run(r, rows, train, weighted);                                                    \
  }
FT_STEP(ft_train, 1, 0)
FT_STEP(ft_test, 0, 0)
FT_STEP(ft_train_w, 1, 1)
FT_STEP(ft_test_w, 0, 1)

static void ft_predict(float **r, const float *sc, int64_t rows, uint64_t rng, int64_t tid,
                       int64_t nt, void (*barrier)(void *), void *ctx) {
  (void)sc, (void)rng, (void)nt, (void)barrier, (void)ctx;
  if (tid) return;
  for (int64_t i = 0; i < rows; i++) r[FT_OUT][i] = r[FT_X][i] + r[NNC_REGION_PARAMS][0];
}

static const nnc_io_desc ft_inputs[1] = {{"x", NNC_F32, 1, {1}, 0, -1, 0, 0}};
static const nnc_io_desc ft_targets[1] = {{"out", NNC_F32, 1, {1}, 0, 0, 0, 0}};
static const nnc_io_desc ft_outputs[1] = {{"out", NNC_F32, 1, {1}, 0, -1, 0, 0}};
static const nnc_io_desc ft_weights[1] = {{"out", NNC_F32, 0, {0}, 0, 0, 0, 0}};
static const nnc_stat_reduction ft_stats[3] = {NNC_REDUCE_LOSS, NNC_REDUCE_MEAN_SUM,
                                               NNC_REDUCE_MEAN_SUM};
static const nnc_log_key ft_keys[3] = {{.name = "loss", .result = NNC_LOG_MEAN, .stat = {0, 0}},
                                       {.name = "x", .result = NNC_LOG_MEAN, .stat = {1, 0}},
                                       {.name = "sw", .result = NNC_LOG_MEAN, .stat = {2, 0}}};
static const nnc_variable ft_vars[1] = {{.name = "out/w",
                                         .layer = "out",
                                         .weight = "w",
                                         .kind = NNC_VAR_TRAINABLE,
                                         .rank = 1,
                                         .shape = {1},
                                         .offset = 0,
                                         .count = 1}};

static nnc_program_table ft_tables[2];

/* weighted: the table lists sample weights for its output */
static const nnc_program_table *fit_table(int weighted) {
  nnc_program_table *t = &ft_tables[weighted != 0];
  memset(t, 0, sizeof *t);
  t->version = NNC_PROGRAM_VERSION;
  t->model_name = "fit_table";
  t->n_inputs = t->n_targets = t->n_outputs = 1;
  t->inputs = ft_inputs;
  t->targets = ft_targets;
  t->outputs = ft_outputs;
  t->n_variables = 1;
  t->variables = ft_vars;
  t->params_floats = 1;
  t->n_stats = 3;
  t->stats = ft_stats;
  t->n_log_keys = 3;
  t->log_keys = ft_keys;
  t->learning_rate = 0.01;
  t->entries[NNC_ENTRY_TRAIN] = (nnc_entry){.fn = weighted ? ft_train_w : ft_train};
  t->entries[NNC_ENTRY_TEST] = (nnc_entry){.fn = weighted ? ft_test_w : ft_test};
  t->entries[NNC_ENTRY_PREDICT] = (nnc_entry){.fn = ft_predict};
  if (weighted) {
    t->n_sample_weights = 1;
    t->sample_weights = ft_weights;
  }
  return t;
}

static nnc_model *fit_table_model(int weighted) {
  nnc_model *m;
  nnc_status st;
  ck_assert_msg(nnc_model_from_table(fit_table(weighted), &m, &st) == NNC_OK, "%s", st.message);
  return m;
}

/* the weight w: the number of train steps taken */
__attribute__((unused)) static double fit_table_w(nnc_model *m) {
  nnc_array a;
  nnc_status st;
  ck_assert_msg(nnc_model_get_weight(m, "out/w", &a, &st) == NNC_OK, "%s", st.message);
  double w = ((float *)a.data)[0];
  nnc_array_free(&a);
  return w;
}

#endif
