/* Strip claims in runs (issue 9, session 18, emit_claims.c): a thread takes
 * its own strips in halves of what is left, each run cut where the other
 * threads' claims from the back of its range had reached, and the others'
 * strips one at a time. Kernel level, without threads, at widths 16 and 8:
 * thread t of 2 (or 3) run alone on a claim slot where b strips at the back
 * of its range are already taken and every other range is done computes
 * exactly the rest of its own strips, the same bits as one thread, counts
 * them at the front of its word and takes nothing else.
 * Fits (RMSprop: a strip computed twice updates its weights twice) with
 * NNC_STRIP_STEAL unset, on 2 and 3 threads, with one thread held back after
 * every barrier so that the others take its strips, give the weight bytes of
 * one thread compiled with NNC_STRIP_STEAL=0; unset, strips are taken (claims
 * are the default). */
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

/* Dense IN -> OUT, bias 1, relu, compiled with claims */
static nnc_model *dense(void) {
  setenv("NNC_STRIP_STEAL", "1", 1);
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

START_TEST(a_run_of_own_strips_stops_at_the_back_claims) {
  static const char *const widths[2] = {"16", "8"};
  float *x = malloc(sizeof(float) * R * IN), *y = malloc(sizeof(float) * R * OUT);
  float *one = malloc(sizeof(float) * R * OUT);
  for (int i = 0; i < R * IN; i++) x[i] = (float)sin(0.1 * i);
  enum { AT = POOL_CLAIM_OFFSET / 8, WORDS = POOL_CLAIM_SLOTS * POOL_CLAIM_WORDS };
  _Alignas(64) uint64_t pool[AT + WORDS];
  uint64_t *claims = pool + AT;
  pool[0] = POOL_TAG;
  for (int w = 0; w < 2; w++) {
    setenv("NNC_VECTOR_WIDTH", widths[w], 1);
    nnc_model *m = dense();
    int64_t tile = cg_gemm_tile_cols(codegen_vector_width()), strips = (OUT + tile - 1) / tile;
    unsetenv("NNC_VECTOR_WIDTH");
    predict(m, x, one, 0, 1, NULL); /* one thread: the reference */
    for (int n = 2; n <= 3; n++) {
      int64_t chunk = (strips + n - 1) / n; /* thread t's static strips [t chunk, (t+1) chunk) */
      ck_assert(strips >= 4 * n);           /* split by strips (emit_group.c: matmul_share) */
      for (int t = 0; t < n; t++) {
        int64_t s0 = t * chunk, s1 = (t + 1) * chunk < strips ? (t + 1) * chunk : strips;
        for (int64_t back = 0; back <= s1 - s0; back++) {
          memset(claims, 0, WORDS * sizeof *claims);
          for (int u = 0; u < n; u++) { /* the others' ranges all taken by their owners */
            int64_t size = (u + 1) * chunk < strips ? chunk : strips - u * chunk;
            claims[u] = u == t ? (uint64_t)back << 32 : (uint64_t)size;
          }
          for (int i = 0; i < R * OUT; i++) y[i] = NAN;
          predict(m, x, y, t, n, pool);
          int64_t j1 = (s1 - back) * tile < OUT ? (s1 - back) * tile : OUT;
          for (int r = 0; r < R; r++)
            for (int64_t j = 0; j < OUT; j++) {
              float got = y[r * OUT + j];
              int mine = j >= s0 * tile && j < j1;
              ck_assert_msg(mine ? !memcmp(&got, &one[r * OUT + j], sizeof got) : isnan(got),
                            "width %s, thread %d of %d, %lld taken at the back: element (%d, "
                            "%lld) is %g",
                            widths[w], t, n, (long long)back, r, (long long)j, got);
            }
          ck_assert_int_eq(claims[t], ((uint64_t)back << 32) + (uint64_t)(s1 - s0 - back));
          ck_assert_int_eq(claims[POOL_CLAIM_THREADS], 0); /* nothing taken from another */
        }
      }
    }
    nnc_model_free(m);
  }
  free(x);
  free(y);
  free(one);
}
END_TEST

START_TEST(fits_identical_with_claims_by_default) {
  enum { N = 131, NIN = 200 };
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1);
  float *x = malloc(sizeof(float) * N * NIN), yv[N];
  for (int i = 0; i < N * NIN; i++) x[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
  for (int i = 0; i < N; i++) yv[i] = (float)((i * 37) % 3);
  nnc_array xa = testutil_f32(x, N, NIN), ya = testutil_f32(yv, N, 1);
  ya.rank = 1;
  const char *names[4] = {"d0/kernel", "d0/bias", "d1/kernel", "d1/bias"};
  nnc_array ref[4];
  /* one thread without claims (the reference); unset: 2 threads, 2 with
   * thread 0 late, 2 with thread 1 late, 3 with thread 2 late */
  const int threads_of[5] = {1, 2, 2, 2, 3}, late[5] = {-1, -1, 0, 1, 2};
  for (int run = 0; run < 5; run++) {
    if (run == 0) setenv("NNC_STRIP_STEAL", "0", 1);
    /* Input(200) -> Dense(420, relu) -> Dense(3): 14 strips at width 16 */
    nnc_model *m = testutil_load(testutil_sequential(
        "200",
        "{'class_name': 'Dense', 'config': {'name': 'd0', 'units': 420, 'activation': 'relu'}}, "
        "{'class_name': 'Dense', 'config': {'name': 'd1', 'units': 3}}",
        "{'optimizer': {'class_name': 'RMSprop', 'config': {'learning_rate': 0.01}}, "
        "'loss': {'class_name': 'SparseCategoricalCrossentropy', 'config': {'from_logits': "
        "true}}}"));
    nnc_status st;
    ck_assert_msg(nnc_model_set_threads(m, threads_of[run], &st) == NNC_OK, "%s", st.message);
    if (late[run] >= 0) pool_set_lag(m->pool, late[run], 20000);
    nnc_fit_options o;
    nnc_fit_options_default(&o);
    o.epochs = 2, o.batch_size = 16, o.verbose = 0, o.validation_split = 0.2;
    nnc_history h;
    /* the train graph compiles at the fit's first step */
    ck_assert_msg(nnc_model_fit(m, &xa, &ya, &o, &h, &st) == NNC_OK, "%s", st.message);
    nnc_history_free(&h);
    unsetenv("NNC_STRIP_STEAL");
    long steals = pool_steals(m->pool);
    if (late[run] >= 0) /* the others took strips of the late thread's range */
      ck_assert_msg(steals > 0, "no strip taken (%d threads, thread %d late)", threads_of[run],
                    late[run]);
    for (int k = 0; k < 4; k++) {
      nnc_array w;
      ck_assert(nnc_model_get_weight(m, names[k], &w, &st) == NNC_OK);
      if (run == 0) {
        ref[k] = w;
        continue;
      }
      ck_assert_msg(!memcmp(w.data, ref[k].data, (size_t)nnc_array_count(&w) * sizeof(float)),
                    "%s differs: %d threads, thread %d late (%ld strips taken)", names[k],
                    threads_of[run], late[run], steals);
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
  Suite *s = suite_create("threads18");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, a_run_of_own_strips_stops_at_the_back_claims);
  tcase_add_test(tc, fits_identical_with_claims_by_default);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return testutil_run(suite());
}
