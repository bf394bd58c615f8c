/* Steps in the tuned band (runtime/step_tuner.h, nnc_entry.sure_rows): run
 * on the pool or on the calling thread by timing, session 22.
 * - the tuner alone, fed made-up times: a block of probes on the pool, one
 *   on one thread, each block's first half left out (very slow steps do not
 *   count), the choice is the lower median (lucky steps do not decide) and
 *   one thread when the two are within the margin,
 *   it holds for STEP_TUNER_STEPS steps and STEP_TUNER_SECONDS, then a new
 *   round probes again; the first round's choice for STEP_TUNER_STEPS steps
 *   alone (session 38);
 * The same in a model, counted with the pool's jobs, and fits in the band
 * on 1, 2 and 3 threads bit for bit: test_threads14.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/step_tuner.h"

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

/* a zeroed tuner, and steady times: fast 1 us a row, slow 2 */
static void fresh(step_tuner *t, double *fast, double *slow) {
  memset(t, 0, sizeof *t);
  times(fast, 1e-6, 1e-6);
  times(slow, 2e-6, 2e-6);
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
  double fast[STEP_TUNER_TIMED], slow[STEP_TUNER_TIMED];
  fresh(&t, fast, slow);
  probe_round(&t, fast, slow, 9.0); /* the first round: the pool faster */
  ck_assert_int_eq(step_tuner_pick(&t), 1);
  for (int i = 0; i < STEP_TUNER_STEPS; i++) step_tuner_record(&t, 1, 1e-5, 32, 9.1);
  probe_round(&t, slow, fast, 10.0); /* the second: one thread faster */
  ck_assert_int_eq(t.rounds, 2);
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

/* Session 38: the first round was timed on a fit's first steps (a mapped
 * file's pages touched for the first time, cold caches): its choice holds
 * STEP_TUNER_STEPS steps however little time they take, then the second
 * round decides, and that one holds for its seconds too. */
START_TEST(tuner_first_round_is_provisional) {
  step_tuner t;
  double fast[STEP_TUNER_TIMED], slow[STEP_TUNER_TIMED];
  fresh(&t, fast, slow);
  probe_round(&t, slow, fast, 20.0); /* the pool's first steps slow: one thread */
  ck_assert_int_eq(step_tuner_pick(&t), 0);
  for (int i = 0; i < STEP_TUNER_STEPS - 1; i++) {
    step_tuner_record(&t, 0, 1e-5, 32, 20.01);
    ck_assert_int_eq(t.probes, STEP_TUNER_PROBES);
  }
  step_tuner_record(&t, 0, 1e-5, 32, 20.01); /* the 256th, a hundredth of a second on */
  ck_assert_int_eq(t.probes, 0);
  probe_round(&t, fast, slow, 20.02); /* warm now: the pool */
  ck_assert_int_eq(t.rounds, 2);
  ck_assert_int_eq(step_tuner_pick(&t), 1);
  for (int i = 0; i < 4 * STEP_TUNER_STEPS; i++) step_tuner_record(&t, 1, 1e-5, 32, 20.5);
  ck_assert_int_eq(t.probes, STEP_TUNER_PROBES); /* held: less than STEP_TUNER_SECONDS */
  ck_assert_int_eq(step_tuner_pick(&t), 1);
}
END_TEST

int main(void) {
  Suite *s = suite_create("tuner22");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, tuner_picks_the_lower_median);
  tcase_add_test(tc, tuner_holds_for_its_seconds);
  tcase_add_test(tc, tuner_first_round_is_provisional);
  suite_add_tcase(s, tc);
  SRunner *r = srunner_create(s);
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
