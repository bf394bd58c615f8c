/* Steps in the tuned band (runtime/step_tuner.h, nnc_entry.sure_rows): run
 * on the pool or on the calling thread by timing, session 22.
 * - the tuner alone, fed made-up times: a block of probes on the pool, one
 *   on one thread, each block's first half left out (very slow steps do not
 *   count), the choice is the lower median (lucky steps do not decide) and
 *   one thread when the two are within the margin,
 *   it holds for STEP_TUNER_STEPS steps and STEP_TUNER_SECONDS, then a new
 *   round probes again;
 * - in a model: of the first STEP_TUNER_PROBES steps in the band exactly
 *   the first half run on the pool (counted with the pool's job counter), whatever the
 *   timings; below the band none, above it all; tuning off: all;
 * - a fit whose steps are in the band gives the same weights bit for bit on
 *   one and two threads with tuning on (the choice is only speed). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/model.h"
#include "runtime/pool.h"
#include "runtime/step_tuner.h"
#include "testutil.h"

/* records a round's STEP_TUNER_PROBES probes: a block on the pool, then one
 * on one thread; the k-th timed step of a block (its last STEP_TUNER_TIMED)
 * takes pool[k] or one[k] seconds per row, the steps before them 1 s a row
 * (left out) */
static void probe_round(step_tuner *t, const double *pool, const double *one, double now) {
  for (int i = 0; i < STEP_TUNER_PROBES; i++) {
    int pooled = step_tuner_pick(t);
    int k = i % STEP_TUNER_BLOCK - (STEP_TUNER_BLOCK - STEP_TUNER_TIMED);
    ck_assert_int_eq(pooled, i < STEP_TUNER_BLOCK); /* the pool's block first */
    double per_row = k < 0 ? 1.0 : pooled ? pool[k] : one[k];
    step_tuner_record(t, pooled, per_row * 32, 32, now);
  }
}

/* n seconds per row a step, every third one `odd` instead */
static void times(double *v, double base, double odd) {
  for (int k = 0; k < STEP_TUNER_TIMED; k++) v[k] = k % 3 == 1 ? odd : base;
}

START_TEST(tuner_picks_the_lower_median) {
  step_tuner t;
  memset(&t, 0, sizeof t);
  double fast[STEP_TUNER_TIMED], slow[STEP_TUNER_TIMED];
  times(fast, 1e-6, 1.1e-6);
  times(slow, 2e-6, 1.9e-6);
  probe_round(&t, fast, slow, 100.0);
  ck_assert_int_eq(t.rounds, 1);
  ck_assert_int_eq(step_tuner_pick(&t), 1);
  /* the choice holds for STEP_TUNER_STEPS steps even after the time */
  for (int i = 0; i < STEP_TUNER_STEPS - 1; i++) {
    step_tuner_record(&t, 1, 1e-4, 32, 200.0);
    ck_assert_int_eq(step_tuner_pick(&t), 1);
    ck_assert_int_eq(t.probes, STEP_TUNER_PROBES);
  }
  step_tuner_record(&t, 1, 1e-4, 32, 200.0); /* the 256th, 100 s on: a new round */
  ck_assert_int_eq(t.probes, 0);
  /* lucky pool steps (a hundredth of the others, every third) do not win: the median */
  double lucky[STEP_TUNER_TIMED], steady[STEP_TUNER_TIMED];
  times(lucky, 3e-6, 0.03e-6);
  times(steady, 2e-6, 2e-6);
  probe_round(&t, lucky, steady, 300.0);
  ck_assert_int_eq(t.rounds, 2);
  ck_assert_int_eq(step_tuner_pick(&t), 0);
  /* about even (the pool 1 % faster, within the margin): one thread */
  for (int i = 0; i < STEP_TUNER_STEPS; i++) step_tuner_record(&t, 0, 1e-4, 32, 400.0);
  ck_assert_int_eq(t.probes, 0);
  double even[STEP_TUNER_TIMED];
  times(even, 1.98e-6, 1.98e-6);
  probe_round(&t, even, steady, 500.0);
  ck_assert_int_eq(step_tuner_pick(&t), 0);
}
END_TEST

START_TEST(tuner_holds_for_its_seconds) {
  step_tuner t;
  memset(&t, 0, sizeof t);
  double fast[STEP_TUNER_TIMED], slow[STEP_TUNER_TIMED];
  times(fast, 1e-6, 1e-6);
  times(slow, 2e-6, 2e-6);
  probe_round(&t, slow, fast, 10.0); /* one thread faster */
  ck_assert_int_eq(step_tuner_pick(&t), 0);
  /* many steps, but less than STEP_TUNER_SECONDS: no new round */
  for (int i = 0; i < 10 * STEP_TUNER_STEPS; i++) step_tuner_record(&t, 0, 1e-5, 32, 10.5);
  ck_assert_int_eq(t.probes, STEP_TUNER_PROBES);
  ck_assert_int_eq(step_tuner_pick(&t), 0);
  step_tuner_record(&t, 0, 1e-5, 32, 10.0 + STEP_TUNER_SECONDS);
  ck_assert_int_eq(t.probes, 0);
  ck_assert_int_eq(step_tuner_pick(&t), 1);
}
END_TEST

/* Input(512) -> Dense(512, relu) -> Dense(1), MSE, SGD: predict work per
 * row ~263 K (band 16..63 rows: test_threads14), train ~3 x 263 K (band
 * 6..21 rows). */
static nnc_model *wide(int threads) {
  nnc_model *m = testutil_load(testutil_sequential(
      "512",
      "{'class_name': 'Dense', 'config': {'name': 'd0', 'units': 512, 'activation': 'relu'}}, "
      "{'class_name': 'Dense', 'config': {'name': 'd1', 'units': 1}}",
      "{'optimizer': {'class_name': 'SGD', 'config': {'learning_rate': 0.01}}, 'loss': 'mse'}"));
  nnc_status st;
  ck_assert_msg(nnc_model_set_threads(m, threads, &st) == NNC_OK, "%s", st.message);
  return m;
}

static long predict_jobs(nnc_model *m, int64_t rows, int calls) {
  float *x = calloc((size_t)rows * 512, sizeof *x);
  nnc_array xa = testutil_f32(x, rows, 512), out;
  nnc_status st;
  long before = pool_jobs(m->pool);
  for (int k = 0; k < calls; k++) {
    ck_assert_msg(nnc_model_predict(m, &xa, rows, &out, &st) == NNC_OK, "%s", st.message);
    nnc_array_free(&out);
  }
  free(x);
  return pool_jobs(m->pool) - before;
}

START_TEST(band_probes_half_on_the_pool) {
  nnc_model *m = wide(2);
  const nnc_entry *e = &m->t->entries[NNC_ENTRY_PREDICT];
  ck_assert_int_eq(e->parallel_rows, 16);
  ck_assert_int_eq(e->sure_rows, 64);
  ck_assert_int_eq(predict_jobs(m, 15, 4), 0);              /* below the band: never */
  ck_assert_int_eq(predict_jobs(m, 64, 4), 4);              /* above: always */
  ck_assert_int_eq(m->tuners[NNC_ENTRY_PREDICT].probes, 0); /* neither was timed */
  ck_assert_int_eq(predict_jobs(m, 16, STEP_TUNER_PROBES), STEP_TUNER_PROBES / 2);
  ck_assert_int_eq(m->tuners[NNC_ENTRY_PREDICT].rounds, 1);
  /* tuning off: every step in the band on the pool */
  nnc_status st;
  ck_assert(nnc_model_set_thread_tuning(m, 0, &st) == NNC_OK);
  ck_assert_int_eq(predict_jobs(m, 40, 5), 5);
  ck_assert_int_eq(nnc_model_set_thread_tuning(m, 2, &st), NNC_ERR_ARG);
  ck_assert_int_eq(nnc_model_set_thread_tuning(NULL, 1, &st), NNC_ERR_ARG);
  nnc_model_free(m);
}
END_TEST

START_TEST(band_fit_same_bits_on_1_and_2_threads) {
  enum { N = 200, IN = 512, BATCH = 16 };
  float *x = malloc(sizeof(float) * N * IN), y[N];
  for (int i = 0; i < N * IN; i++) x[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
  for (int i = 0; i < N; i++) y[i] = (float)(i % 7) / 7.0f;
  nnc_array xa = testutil_f32(x, N, IN), ya = testutil_f32(y, N, 1);
  nnc_array ref[2];
  const char *names[2] = {"d0/kernel", "d1/kernel"};
  for (int threads = 1; threads <= 2; threads++) {
    nnc_model *m = wide(threads);
    const nnc_entry *e = &m->t->entries[NNC_ENTRY_TRAIN];
    ck_assert_int_le(e->parallel_rows, BATCH); /* the fit's steps are in the band */
    ck_assert_int_gt(e->sure_rows, BATCH);
    nnc_fit_options o;
    nnc_fit_options_default(&o);
    o.epochs = 3, o.batch_size = BATCH, o.verbose = 0;
    nnc_history h;
    nnc_status st;
    ck_assert_msg(nnc_model_fit(m, &xa, &ya, &o, &h, &st) == NNC_OK, "%s", st.message);
    nnc_history_free(&h);
    if (threads == 2) { /* the probes ran on the pool */
      ck_assert_int_ge(m->tuners[NNC_ENTRY_TRAIN].rounds, 1);
      ck_assert_int_ge(pool_jobs(m->pool), STEP_TUNER_PROBES / 2);
    }
    for (int k = 0; k < 2; k++) {
      nnc_array w;
      ck_assert(nnc_model_get_weight(m, names[k], &w, &st) == NNC_OK);
      if (threads == 1) {
        ref[k] = w;
        continue;
      }
      size_t bytes = (size_t)w.shape[0] * (size_t)w.shape[1] * sizeof(float);
      ck_assert_msg(!memcmp(w.data, ref[k].data, bytes), "%s differs on 2 threads", names[k]);
      nnc_array_free(&w);
    }
    nnc_model_free(m);
  }
  nnc_array_free(&ref[0]);
  nnc_array_free(&ref[1]);
  free(x);
}
END_TEST

int main(void) {
  Suite *s = suite_create("tuner22");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, tuner_picks_the_lower_median);
  tcase_add_test(tc, tuner_holds_for_its_seconds);
  tcase_add_test(tc, band_probes_half_on_the_pool);
  tcase_add_test(tc, band_fit_same_bits_on_1_and_2_threads);
  suite_add_tcase(s, tc);
  SRunner *r = srunner_create(s);
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
