/* Session 31: a step that runs on the calling thread alone has the pool's
 * worker gather the next batch meanwhile (runtime/step.c: run_job,
 * ahead_copies; docs/performance.md "Session 31: a gather worker").
 *
 * A copy made by another thread must change nothing, and a batch gathered
 * ahead must be used only for the rows it holds:
 * - a shuffled 2-thread fit (float32 and uint8 inputs, sample weights, a
 *   partial last batch) leaves weights bit-identical to replaying the same
 *   order on one thread with train_on_batch_weighted, whose rows the test
 *   gathers itself; the pool ran exactly one job per step that has a next
 *   batch (the steps themselves are too small to split);
 * - steps_per_epoch continuing a pass across epochs, a validation split and
 *   batch-wise shuffling: History and weights equal the 1-thread fit's;
 * - a fit stopped by a callback right after the worker gathered a batch,
 *   the data then changed in place and fitted again: the second fit reads
 *   the new values (equal to the same two fits on one thread);
 * - float64 data fitted under the caller's upward rounding mode gives the
 *   same weights on 1 and 2 threads (the worker keeps its own mode; the
 *   conversion rounds to nearest under any mode);
 * - NNC_GATHER_AHEAD=0 runs no job; unset, the worker gathers rows drawn
 *   from 16 MiB of data and not from 8 MiB (step.c: AHEAD_DATA_BYTES).
 * Session 36: a step that runs on the pool has its workers gather the next
 * batch while they wait at its barriers, the rows left after it (step.c:
 * idle_gather): the same fit with every step on the pool (tuning off,
 * NNC_SPLIT_SMALL_STEPS=1) equals the replay too, and every step with a
 * next batch gathered it so (the model's count); float64 targets whose
 * float32 value is subnormal (1e-40) arrive as that subnormal however the
 * rows were gathered (a wait runs inside the step, under its flush-to-zero
 * mode): a host metric counts every one of them on 1 and 2 threads. */
#include <check.h>
#include <fenv.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "runtime/fit.h"
#include "runtime/io/io.h"
#include "runtime/model.h"
#include "runtime/pool.h"
#include "testutil.h"

enum { N = 150, IN = 64, H = 64, OUT = 10, BATCH = 32, SEED = 5, EPOCHS = 3 };
/* the pool's steps: 600 inputs, so that the first layer's product (split
 * along K, session 36) runs on both threads */
enum { WIDE = 600 };
enum { BATCHES = (N + BATCH - 1) / BATCH };

#define LAYERS                                                                                     \
  "{'class_name': 'Dense', 'config': {'name': 'd0', 'units': 64, 'activation': 'relu'}},"          \
  "{'class_name': 'Dense', 'config': {'name': 'd1', 'units': 10, 'activation': 'linear'}}"
#define COMPILE                                                                                    \
  "{'optimizer': {'class_name': 'RMSprop', 'config': {'learning_rate': 0.01}}, "                   \
  "'loss': {'class_name': 'SparseCategoricalCrossentropy', 'config': {'from_logits': true}}, "     \
  "'metrics': ['accuracy']}"

static nnc_model *new_model(int threads, int in) {
  nnc_status st;
  char shape[16];
  snprintf(shape, sizeof shape, "%d", in);
  nnc_model *m = testutil_load(testutil_sequential(shape, LAYERS, testutil_json(COMPILE)));
  ck_assert_msg(!nnc_model_set_seed(m, SEED, &st), "%s", st.message);
  ck_assert_msg(!nnc_model_set_threads(m, threads, &st), "%s", st.message);
  return m;
}

static const char *const weight_names[] = {"d0/kernel", "d0/bias", "d1/kernel", "d1/bias"};

static void same_weights(nnc_model *a, nnc_model *b) {
  nnc_status st;
  for (size_t w = 0; w < sizeof weight_names / sizeof weight_names[0]; w++) {
    nnc_array x, y;
    ck_assert_msg(!nnc_model_get_weight(a, weight_names[w], &x, &st), "%s", st.message);
    ck_assert_msg(!nnc_model_get_weight(b, weight_names[w], &y, &st), "%s", st.message);
    ck_assert_int_eq(nnc_array_count(&x), nnc_array_count(&y));
    ck_assert_msg(!memcmp(x.data, y.data, (size_t)nnc_array_count(&x) * sizeof(float)),
                  "%s differs", weight_names[w]);
    nnc_array_free(&x);
    nnc_array_free(&y);
  }
}

static float xf[N * WIDE], y[N], sw[N];
static uint8_t xu[N * WIDE];

static void make_data(void) {
  for (int i = 0; i < N * WIDE; i++) {
    xu[i] = (uint8_t)((i * 37 + 11) % 251);
    xf[i] = (float)sin(0.37 * i);
  }
  for (int i = 0; i < N; i++) y[i] = (float)(i * 7 % OUT), sw[i] = 0.25f + (float)(i % 5);
}

/* pool_steps: every step of the 2-thread fit on the pool (its threads
 * gather in their waits), else on the calling thread (the worker gathers) */
static void fit_equals_replay(nnc_dtype dt, int pool_steps) {
  static float bx[BATCH * WIDE], by[BATCH], bw[BATCH];
  int in = pool_steps ? WIDE : IN;
  setenv("NNC_GATHER_AHEAD", "1", 1);
  make_data();
  nnc_array x = testutil_f32(xf, N, in), ya = testutil_f32(y, N, 1), wa = testutil_f32(sw, N, 1);
  ya.rank = wa.rank = 1;
  if (dt == NNC_U8) x.dtype = NNC_U8, x.data = xu;
  nnc_status st;
  if (pool_steps) setenv("NNC_SPLIT_SMALL_STEPS", "1", 1); /* read when the fit compiles */
  nnc_model *fitted = new_model(2, in), *replayed = new_model(1, in);
  if (pool_steps) ck_assert_msg(!nnc_model_set_thread_tuning(fitted, 0, &st), "%s", st.message);
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = EPOCHS, o.batch_size = BATCH, o.shuffle = NNC_SHUFFLE_ON, o.verbose = 0;
  o.n_sample_weights = 1, o.sample_weights = &wa;
  ck_assert_msg(!nnc_model_fit(fitted, &x, &ya, &o, NULL, &st), "%s", st.message);
  unsetenv("NNC_SPLIT_SMALL_STEPS");
  if (pool_steps) { /* every step a job; each with a next batch gathered it in the waits */
    ck_assert_int_eq(pool_jobs(fitted->pool), EPOCHS * BATCHES);
    ck_assert_int_eq(fitted->gathered_on_pool, EPOCHS * (BATCHES - 1));
  } else { /* one job per step with a next batch in its pass: the worker's gathers */
    ck_assert_int_eq(pool_jobs(fitted->pool), EPOCHS * (BATCHES - 1));
    ck_assert_int_eq(fitted->gathered_on_pool, 0);
  }

  int64_t idx[N];
  for (int e = 0; e < EPOCHS; e++) {
    fit_shuffle(idx, N, NNC_SHUFFLE_ON, BATCH, SEED, e);
    for (int first = 0; first < N; first += BATCH) {
      int rows = N - first < BATCH ? N - first : BATCH;
      for (int r = 0; r < rows; r++) {
        int64_t i = idx[first + r];
        for (int k = 0; k < in; k++)
          bx[r * in + k] = dt == NNC_U8 ? (float)xu[i * in + k] : xf[i * in + k];
        by[r] = y[i], bw[r] = sw[i];
      }
      nnc_array b = testutil_f32(bx, rows, in), t = testutil_f32(by, rows, 1),
                w = testutil_f32(bw, rows, 1);
      t.rank = w.rank = 1;
      nnc_logs logs = {0};
      ck_assert_msg(!nnc_model_train_on_batch_weighted(replayed, 1, &b, 1, &t, &w, &logs, &st),
                    "%s", st.message);
      nnc_logs_free(&logs);
    }
  }
  same_weights(fitted, replayed);
  nnc_model_free(fitted);
  nnc_model_free(replayed);
}

START_TEST(worker_gathered_f32_fit_equals_replay) {
  fit_equals_replay(NNC_F32, 0);
}
END_TEST

START_TEST(pool_steps_gathered_in_their_waits_equal_replay) {
  fit_equals_replay(NNC_F32, 1);
  fit_equals_replay(NNC_U8, 1);
}
END_TEST

START_TEST(worker_gathered_u8_fit_equals_replay) {
  fit_equals_replay(NNC_U8, 0);
}
END_TEST

/* a host metric: the targets it sees that are float32 subnormals */
static long tiny_seen;
static void tiny_reset(void *u) {
  (void)u;
}
static void tiny_update(void *u, const float *yt, int64_t per_row, const float *yp, int64_t pp,
                        const float *sw, int64_t rows) {
  (void)u, (void)yp, (void)pp, (void)sw;
  for (int64_t i = 0; i < rows * per_row; i++) tiny_seen += yt[i] != 0.0f && fabsf(yt[i]) < 1e-37f;
}
static double tiny_result(void *u) {
  (void)u;
  return (double)tiny_seen;
}

static long subnormal_targets_seen(int threads) {
  static double yd[N];
  for (int i = 0; i < N; i++) yd[i] = i % 3 ? sin(i) : 1e-40; /* 50 subnormals in float32 */
  make_data();
  nnc_status st;
  nnc_model *m = testutil_load(testutil_sequential(
      "600",
      "{'class_name': 'Dense', 'config': {'name': 'd0', 'units': 64, 'activation': 'relu'}},"
      "{'class_name': 'Dense', 'config': {'name': 'd1', 'units': 1}}",
      testutil_json("{'optimizer': {'class_name': 'SGD', 'config': {'learning_rate': 0.01}}, "
                    "'loss': 'mse'}")));
  ck_assert_msg(!nnc_model_set_threads(m, threads, &st), "%s", st.message);
  ck_assert_msg(!nnc_model_set_thread_tuning(m, 0, &st), "%s", st.message);
  nnc_metric tiny = {"tiny", 0, NULL, tiny_reset, tiny_update, tiny_result};
  ck_assert_msg(!nnc_model_add_metric(m, &tiny, &st), "%s", st.message);
  nnc_array x = testutil_f32(xf, N, WIDE), ya = {NNC_F64, 2, {N, 1}, yd, "y"};
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = EPOCHS, o.batch_size = BATCH, o.shuffle = NNC_SHUFFLE_ON, o.verbose = 0;
  tiny_seen = 0;
  ck_assert_msg(!nnc_model_fit(m, &x, &ya, &o, NULL, &st), "%s", st.message);
  if (threads > 1) ck_assert_int_eq(m->gathered_on_pool, EPOCHS * (BATCHES - 1));
  nnc_model_free(m);
  return tiny_seen;
}

START_TEST(subnormal_targets_survive_the_gather_in_the_waits) {
  setenv("NNC_GATHER_AHEAD", "1", 1);
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1);
  ck_assert_int_eq(subnormal_targets_seen(1), EPOCHS * 50);
  ck_assert_int_eq(subnormal_targets_seen(2), EPOCHS * 50);
  unsetenv("NNC_SPLIT_SMALL_STEPS");
}
END_TEST

static void same_history(const nnc_history *a, const nnc_history *b, int epochs) {
  static const char *const keys[] = {"loss", "accuracy", "val_loss", "val_accuracy"};
  for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
    for (int e = 0; e < epochs; e++) {
      double p = nnc_history_get(a, keys[k], e), q = nnc_history_get(b, keys[k], e);
      ck_assert_msg(!isnan(p) && !memcmp(&p, &q, sizeof p), "%s[%d]: %.17g vs %.17g", keys[k], e, p,
                    q);
    }
}

/* steps_per_epoch 3 of a pass of 4 training batches: the second epoch
 * starts with the batch the first one's last step had gathered ahead */
START_TEST(steps_per_epoch_validation_and_batch_shuffle_as_on_one_thread) {
  setenv("NNC_GATHER_AHEAD", "1", 1);
  make_data();
  nnc_array x = testutil_f32(xf, N, IN), ya = testutil_f32(y, N, 1);
  ya.rank = 1;
  for (int mode = NNC_SHUFFLE_ON; mode <= NNC_SHUFFLE_BATCH; mode++) {
    nnc_status st;
    nnc_model *one = new_model(1, IN), *two = new_model(2, IN);
    nnc_fit_options o;
    nnc_fit_options_default(&o);
    o.epochs = 4, o.batch_size = BATCH, o.shuffle = mode, o.verbose = 0;
    o.steps_per_epoch = 3, o.validation_split = 0.2;
    nnc_history h1, h2;
    ck_assert_msg(!nnc_model_fit(one, &x, &ya, &o, &h1, &st), "%s", st.message);
    ck_assert_msg(!nnc_model_fit(two, &x, &ya, &o, &h2, &st), "%s", st.message);
    ck_assert_int_gt(pool_jobs(two->pool), 0);
    same_history(&h1, &h2, 4);
    same_weights(one, two);
    nnc_history_free(&h1);
    nnc_history_free(&h2);
    nnc_model_free(one);
    nnc_model_free(two);
  }
}
END_TEST

static int stop_at_batch_1(nnc_callback *cb, nnc_model *m, int index, nnc_logs *logs,
                           nnc_status *st) {
  (void)cb, (void)logs, (void)st;
  if (index == 1) nnc_model_stop_training(m);
  return NNC_OK;
}

/* Fit until batch 1 (whose step had the worker gather batch 2), change the
 * data in place, fit again: the second fit trains on the new values. */
static void stopped_then_changed(nnc_model *m, nnc_array *x, nnc_array *ya) {
  nnc_status st;
  nnc_callback stop = {.name = "Stop", .on_batch_end = stop_at_batch_1};
  nnc_callback *cbs[] = {&stop};
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = 1, o.batch_size = BATCH, o.shuffle = NNC_SHUFFLE_ON, o.verbose = 0;
  o.n_callbacks = 1, o.callbacks = cbs;
  ck_assert_msg(!nnc_model_fit(m, x, ya, &o, NULL, &st), "%s", st.message);
  float *v = x->data;
  for (int i = 0; i < N * IN; i++) v[i] = -2.0f * v[i] + 0.5f;
  o.n_callbacks = 0, o.callbacks = NULL;
  ck_assert_msg(!nnc_model_fit(m, x, ya, &o, NULL, &st), "%s", st.message);
}

START_TEST(nothing_gathered_outlives_a_fit) {
  setenv("NNC_GATHER_AHEAD", "1", 1);
  make_data();
  static float copy[N * IN];
  memcpy(copy, xf, sizeof copy);
  nnc_array x = testutil_f32(xf, N, IN), ya = testutil_f32(y, N, 1);
  ya.rank = 1;
  nnc_model *one = new_model(1, IN), *two = new_model(2, IN);
  stopped_then_changed(one, &x, &ya);
  memcpy(xf, copy, sizeof copy);
  stopped_then_changed(two, &x, &ya);
  ck_assert_int_gt(pool_jobs(two->pool), 0);
  same_weights(one, two);
  nnc_model_free(one);
  nnc_model_free(two);
}
END_TEST

START_TEST(no_worker_gather_when_switched_off) {
  setenv("NNC_GATHER_AHEAD", "0", 1);
  make_data();
  nnc_array x = testutil_f32(xf, N, IN), ya = testutil_f32(y, N, 1);
  ya.rank = 1;
  nnc_status st;
  nnc_model *two = new_model(2, IN);
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = 2, o.batch_size = BATCH, o.verbose = 0;
  ck_assert_msg(!nnc_model_fit(two, &x, &ya, &o, NULL, &st), "%s", st.message);
  ck_assert_int_eq(pool_jobs(two->pool), 0);
  nnc_model_free(two);
}
END_TEST

/* float64 data converted under the caller's upward rounding: the batch's
 * floats round to nearest whichever thread converts them (the worker keeps
 * its own mode; runtime/io/array.c: nnc_convert_to_f32) */
START_TEST(conversions_round_to_nearest_on_every_thread) {
  setenv("NNC_GATHER_AHEAD", "1", 1);
  make_data();
  static double xd[N * IN];
  for (int i = 0; i < N * IN; i++) xd[i] = sin(0.37 * i + 0.1) * 1.00000003;
  nnc_array x = testutil_f32(xf, N, IN), ya = testutil_f32(y, N, 1);
  x.dtype = NNC_F64, x.data = xd, ya.rank = 1;
  nnc_model *m[2] = {new_model(1, IN), new_model(2, IN)}; /* both upward */
  for (int k = 0; k < 2; k++) {
    nnc_status st;
    nnc_fit_options o;
    nnc_fit_options_default(&o);
    o.epochs = 2, o.batch_size = 16, o.verbose = 0;
    fesetround(FE_UPWARD);
    int rc = nnc_model_fit(m[k], &x, &ya, &o, NULL, &st);
    fesetround(FE_TONEAREST);
    ck_assert_msg(!rc, "%s", st.message);
  }
  ck_assert_int_gt(pool_jobs(m[1]->pool), 0);
  same_weights(m[0], m[1]);
  for (int k = 0; k < 2; k++) nnc_model_free(m[k]);
  /* the conversion itself: nearest under any mode */
  static float near[N * IN], up[N * IN];
  nnc_convert_to_f32(NNC_F64, xd, 0, N * IN, near);
  fesetround(FE_UPWARD);
  nnc_convert_to_f32(NNC_F64, xd, 0, N * IN, up);
  fesetround(FE_TONEAREST);
  int rounded = 0;
  for (int i = 0; i < N * IN; i++) {
    ck_assert_msg(!memcmp(&near[i], &up[i], sizeof near[i]), "element %d: %a vs %a", i,
                  (double)near[i], (double)up[i]);
    ck_assert(near[i] == (float)xd[i]);
    rounded += (double)near[i] != xd[i];
  }
  ck_assert_int_gt(rounded, N * IN / 2); /* the data does round */
}
END_TEST

/* jobs run by a 1-epoch 2-thread fit of `rows` rows of `in` floats */
static long jobs_for(int64_t rows, int in) {
  float *v = calloc((size_t)(rows * in), sizeof *v), *t = calloc((size_t)rows, sizeof *t);
  ck_assert(v && t);
  for (int64_t i = 0; i < rows; i++) v[i * in + i % in] = 1.0f, t[i] = (float)(i % OUT);
  nnc_array x = testutil_f32(v, rows, in), ya = testutil_f32(t, rows, 1);
  ya.rank = 1;
  nnc_status st;
  nnc_model *two = new_model(2, in);
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = 1, o.batch_size = BATCH, o.verbose = 0, o.steps_per_epoch = 4;
  ck_assert_msg(!nnc_model_fit(two, &x, &ya, &o, NULL, &st), "%s", st.message);
  long jobs = pool_jobs(two->pool);
  nnc_model_free(two);
  free(v);
  free(t);
  return jobs;
}

START_TEST(by_default_the_worker_gathers_from_large_data_only) {
  unsetenv("NNC_GATHER_AHEAD");
  /* 256 floats a row: 1 KiB, a batch of 32 KiB; 16384 rows are 16 MiB (a
   * step too small for the pool: its jobs are the worker's) */
  ck_assert_int_eq(jobs_for(16384, 256), 4);
  ck_assert_int_eq(jobs_for(8192, 256), 0);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("ahead31");
  TCase *tc = tcase_create("gather_worker");
  tcase_add_test(tc, worker_gathered_f32_fit_equals_replay);
  tcase_add_test(tc, worker_gathered_u8_fit_equals_replay);
  tcase_add_test(tc, pool_steps_gathered_in_their_waits_equal_replay);
  tcase_add_test(tc, subnormal_targets_survive_the_gather_in_the_waits);
  tcase_add_test(tc, steps_per_epoch_validation_and_batch_shuffle_as_on_one_thread);
  tcase_add_test(tc, nothing_gathered_outlives_a_fit);
  tcase_add_test(tc, conversions_round_to_nearest_on_every_thread);
  tcase_add_test(tc, no_worker_gather_when_switched_off);
  tcase_add_test(tc, by_default_the_worker_gathers_from_large_data_only);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return testutil_run(suite());
}
