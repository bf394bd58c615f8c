/* Column strips taken by claims (issue 9, session 16, NNC_STRIP_STEAL=1:
 * emit_claims.c's claim loop). A thread that finds its own strips done takes
 * the strips left at the back of the other threads' static ranges, so a
 * slower core no longer holds the faster one at the barrier.
 * Kernel level, without threads: the last thread of 2 (or 3) run alone on
 * a zeroed claim slot computes every strip, the same bits as one thread, and
 * counts the strips it took from the others; the threads after it find
 * nothing left and write nothing; without claims (barrier_ctx NULL, or not
 * a pool: no tag) a thread computes its static strips only.
 * Fits on 1/2/3 threads, claims on and off, and on 2 threads with thread 1
 * held back after every barrier (so that thread 0 takes its strips: the
 * pool counts them) give the same weight bytes (NNC_SPLIT_SMALL_STEPS=1). */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/codegen/cg.h"
#include "compiler/codegen/codegen.h"
#include "runtime/model.h"
#include "runtime/pool.h"
#include "testutil.h"

enum { R = 64, IN = 600, OUT = 394 }; /* K in two blocks; a narrow last strip */

/* Dense IN -> OUT, bias 1, relu, compiled with NNC_STRIP_STEAL=steal */
static nnc_model *dense(const char *steal) {
  setenv("NNC_STRIP_STEAL", steal, 1);
  nnc_model *m = testutil_load(testutil_sequential(
      "600",
      "{'class_name': 'Dense', 'config': {'name': 'd', 'units': 394, 'activation': 'relu', "
      "'bias_initializer': {'class_name': 'Ones', 'config': {}}}}",
      NULL));
  unsetenv("NNC_STRIP_STEAL");
  nnc_status st;
  ck_assert(model_reserve(m, R, &st) == NNC_OK);
  return m;
}

static void predict(nnc_model *m, float *x, float *y, int tid, int n, void *ctx) {
  testutil_predict_step(m, x, y, R, tid, n, ctx);
}

/* columns [j0, j1) of y hold one's bits, every other element is NaN */
static void check_columns(const float *y, const float *one, int64_t j0, int64_t j1,
                          const char *what) {
  for (int r = 0; r < R; r++)
    for (int64_t j = 0; j < OUT; j++) {
      float got = y[r * OUT + j];
      int mine = j >= j0 && j < j1;
      ck_assert_msg(mine ? !memcmp(&got, &one[r * OUT + j], sizeof got) : isnan(got),
                    "%s: element (%d, %lld) is %g", what, r, (long long)j, got);
    }
}

static void fill_nan(float *y) {
  for (int i = 0; i < R * OUT; i++) y[i] = NAN;
}

START_TEST(a_lone_thread_takes_every_strip_left) {
  nnc_model *m = dense("1");
  float *x = malloc(sizeof(float) * R * IN), *y = malloc(sizeof(float) * R * OUT);
  float *one = malloc(sizeof(float) * R * OUT);
  for (int i = 0; i < R * IN; i++) x[i] = (float)sin(0.1 * i);
  predict(m, x, one, 0, 1, NULL); /* one thread: the reference */
  /* a pool's view as the drivers see it: the tag, then the claim slots */
  enum { AT = POOL_CLAIM_OFFSET / 8, WORDS = POOL_CLAIM_SLOTS * POOL_CLAIM_WORDS };
  _Alignas(64) uint64_t pool[AT + WORDS];
  uint64_t *claims = pool + AT;
  pool[0] = POOL_TAG;
  int64_t tile = cg_gemm_tile_cols(codegen_vector_width()), strips = (OUT + tile - 1) / tile;
  for (int n = 2; n <= 3; n++) {
    int64_t chunk = (strips + n - 1) / n; /* static strips: thread t has [t chunk, (t+1) chunk) */
    ck_assert(strips >= 4 * n);           /* split by strips (emit_group.c: matmul_share) */
    for (int t = 0; t < n; t++) {         /* without claims: the static share */
      int64_t s0 = t * chunk, s1 = (t + 1) * chunk < strips ? (t + 1) * chunk : strips;
      fill_nan(y);
      predict(m, x, y, t, n, NULL);
      check_columns(y, one, s0 * tile, s1 * tile < OUT ? s1 * tile : OUT, "static");
    }
    /* the last thread alone: its own strips, then thread 0's, 1's ... */
    int lone = n - 1;
    memset(claims, 0, WORDS * sizeof *claims);
    fill_nan(y);
    predict(m, x, y, lone, n, pool);
    check_columns(y, one, 0, OUT, "lone thread");
    int64_t own = strips - lone * chunk;
    ck_assert_int_eq(claims[POOL_CLAIM_THREADS], strips - own); /* counted as taken */
    for (int t = 0; t < n; t++) { /* front: the owner's claims; back: the others' */
      int64_t size = (t + 1) * chunk < strips ? chunk : strips - t * chunk;
      ck_assert_int_eq(claims[t], t == lone ? (uint64_t)size : (uint64_t)size << 32);
    }
    for (int k = n; k < POOL_CLAIM_WORDS - 1; k++) ck_assert_int_eq(claims[k], 0);
    for (int k = POOL_CLAIM_WORDS; k < WORDS; k++)
      ck_assert_int_eq(claims[k], 0); /* the predict graph's one matmul group: slot 0 */
    for (int t = 0; t < lone; t++) {  /* the others come late: nothing left */
      fill_nan(y);
      predict(m, x, y, t, n, pool);
      check_columns(y, one, 0, 0, "late thread");
    }
    ck_assert_int_eq(claims[POOL_CLAIM_THREADS], strips - own);
    /* a context that is not a pool (no tag: a program's own barrier's):
     * the static share, the context untouched */
    pool[0] = 0;
    memset(claims, 0, WORDS * sizeof *claims);
    fill_nan(y);
    predict(m, x, y, lone, n, pool);
    check_columns(y, one, lone * chunk * tile, OUT, "not a pool");
    for (int k = 0; k < WORDS; k++) ck_assert_int_eq(claims[k], 0);
    pool[0] = POOL_TAG;
  }
  nnc_model_free(m);
  /* compiled without claims: the static share whatever the context */
  m = dense("0");
  memset(claims, 0, WORDS * sizeof *claims);
  fill_nan(y);
  predict(m, x, y, 0, 2, pool);
  int64_t chunk = (strips + 1) / 2;
  check_columns(y, one, 0, chunk * tile, "claims off");
  for (int k = 0; k < WORDS; k++) ck_assert_int_eq(claims[k], 0);
  nnc_model_free(m);
  free(x);
  free(y);
  free(one);
}
END_TEST

/* Input(200) -> Dense(266, relu) -> Dense(3), sparse CE from logits, RMSprop
 * (the first layer's weight gradient carries its update: a strip computed
 * twice would update its weights twice) */
static nnc_model *small(int threads) {
  nnc_model *m = testutil_load(testutil_sequential(
      "200",
      "{'class_name': 'Dense', 'config': {'name': 'd0', 'units': 266, 'activation': 'relu'}}, "
      "{'class_name': 'Dense', 'config': {'name': 'd1', 'units': 3}}",
      "{'optimizer': {'class_name': 'RMSprop', 'config': {'learning_rate': 0.01}}, "
      "'loss': {'class_name': 'SparseCategoricalCrossentropy', 'config': {'from_logits': "
      "true}}}"));
  nnc_status st;
  ck_assert_msg(nnc_model_set_threads(m, threads, &st) == NNC_OK, "%s", st.message);
  return m;
}

START_TEST(fits_identical_with_claims_on_and_off) {
  enum { N = 103, NIN = 200 };
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1);
  float *x = malloc(sizeof(float) * N * NIN), yv[N];
  for (int i = 0; i < N * NIN; i++) x[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
  for (int i = 0; i < N; i++) yv[i] = (float)((i * 37) % 3);
  nnc_array xa = testutil_f32(x, N, NIN), ya = testutil_f32(yv, N, 1);
  ya.rank = 1;
  const char *names[4] = {"d0/kernel", "d0/bias", "d1/kernel", "d1/bias"};
  nnc_array ref[4];
  /* claims off on 1 thread (the reference), 2, 3; on, 1, 2, 3, and 2 with thread 1 late */
  const int threads_of[7] = {1, 2, 3, 1, 2, 3, 2}, on[7] = {0, 0, 0, 1, 1, 1, 1},
            late[7] = {0, 0, 0, 0, 0, 0, 1};
  for (int run = 0; run < 7; run++) {
    /* set through the fit: the train graph compiles at its first step */
    setenv("NNC_STRIP_STEAL", on[run] ? "1" : "0", 1);
    nnc_model *m = small(threads_of[run]);
    if (late[run]) pool_set_lag(m->pool, 1, 20000);
    nnc_fit_options o;
    nnc_fit_options_default(&o);
    o.epochs = 2, o.batch_size = 16, o.verbose = 0, o.validation_split = 0.2;
    nnc_history h;
    nnc_status st;
    ck_assert_msg(nnc_model_fit(m, &xa, &ya, &o, &h, &st) == NNC_OK, "%s", st.message);
    nnc_history_free(&h);
    unsetenv("NNC_STRIP_STEAL");
    long steals = pool_steals(m->pool);
    if (late[run]) /* thread 0 took strips of thread 1's range */
      ck_assert_msg(steals > 0, "no strip taken");
    if (!on[run]) ck_assert_int_eq(steals, 0);
    for (int k = 0; k < 4; k++) {
      nnc_array w;
      ck_assert(nnc_model_get_weight(m, names[k], &w, &st) == NNC_OK);
      if (run == 0) {
        ref[k] = w;
        continue;
      }
      ck_assert_msg(!memcmp(w.data, ref[k].data, (size_t)nnc_array_count(&w) * sizeof(float)),
                    "%s differs: %d threads, claims %s%s (%ld strips taken)", names[k],
                    threads_of[run], on[run] ? "on" : "off", late[run] ? ", thread 1 late" : "",
                    steals);
      nnc_array_free(&w);
    }
    nnc_model_free(m);
  }
  for (int k = 0; k < 4; k++) nnc_array_free(&ref[k]);
  free(x);
  unsetenv("NNC_SPLIT_SMALL_STEPS");
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("threads16");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, a_lone_thread_takes_every_strip_left);
  tcase_add_test(tc, fits_identical_with_claims_on_and_off);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return testutil_run(suite());
}
