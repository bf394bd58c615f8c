/* Determinism across thread counts: the same fit (shuffling, dropout, a
 * partial last batch, validation) on 1, 2, 3 and 16 threads gives
 * bit-identical histories, weights and predictions. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "oracle_case.h"
#include "testutil.h"

typedef struct run_result {
  nnc_history h;
  nnc_array weights[16];
  int n_weights;
  nnc_array pred;
} run_result;

static void run(int threads, run_result *r) {
  oracle_case c;
  oracle_case_load("seed004_mlp", &c); /* 1001 -> 4 x [Dense 64 relu, Dropout 0.05] -> Dense 1 */
  nnc_status st;
  ck_assert_msg(nnc_model_set_threads(c.model, threads, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(nnc_model_threads(c.model), threads);
  c.fit.shuffle = 1;
  c.fit.batch_size = 48; /* 225 training rows: a partial last batch */
  ck_assert_msg(nnc_model_fit(c.model, &c.x, &c.y, &c.fit, &r->h, &st) == NNC_OK, "%s", st.message);
  r->n_weights = nnc_model_weight_count(c.model);
  for (int i = 0; i < r->n_weights; i++)
    ck_assert(nnc_model_get_weight(c.model, nnc_model_weight_name(c.model, i), &r->weights[i],
                                   &st) == NNC_OK);
  ck_assert(nnc_model_predict(c.model, &c.x, 40, &r->pred, &st) == NNC_OK);
  oracle_case_free(&c);
}

static void free_result(run_result *r) {
  nnc_history_free(&r->h);
  for (int i = 0; i < r->n_weights; i++) nnc_array_free(&r->weights[i]);
  nnc_array_free(&r->pred);
}

static void assert_identical(const run_result *a, const run_result *b) {
  ck_assert_int_eq(a->h.n_keys, b->h.n_keys);
  ck_assert_int_eq(a->h.n_epochs, b->h.n_epochs);
  ck_assert(memcmp(a->h.values, b->h.values,
                   sizeof(double) * (size_t)(a->h.n_keys * a->h.n_epochs)) == 0);
  ck_assert_int_eq(a->n_weights, b->n_weights);
  for (int i = 0; i < a->n_weights; i++)
    ck_assert(memcmp(a->weights[i].data, b->weights[i].data,
                     sizeof(float) * (size_t)nnc_array_count(&a->weights[i])) == 0);
  ck_assert(memcmp(a->pred.data, b->pred.data, sizeof(float) * (size_t)nnc_array_count(&a->pred)) ==
            0);
}

START_TEST(thread_counts_agree_bit_for_bit) {
  run_result one, two, three, sixteen;
  run(1, &one);
  run(2, &two);
  run(3, &three);
  run(16, &sixteen); /* more threads than cores, and than some kernels have units */
  /* the runs did train: the loss moved */
  ck_assert(nnc_history_get(&one.h, "loss", 1) != nnc_history_get(&one.h, "loss", 0));
  assert_identical(&one, &two);
  assert_identical(&one, &three);
  assert_identical(&one, &sixteen);
  free_result(&sixteen);
  free_result(&one);
  free_result(&two);
  free_result(&three);
}
END_TEST

START_TEST(bad_thread_count_is_an_error) {
  oracle_case c;
  oracle_case_load("seed000_logreg", &c);
  nnc_status st;
  ck_assert_int_eq(nnc_model_set_threads(c.model, 0, &st), NNC_ERR_ARG);
  ck_assert_ptr_nonnull(strstr(st.message, "threads"));
  oracle_case_free(&c);
}
END_TEST

int main(void) {
  /* the thread tests' small models still split wherever a group would
   * (compiler/driver/table.c: pool_rows) */
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1);
  Suite *s = suite_create("threads");
  TCase *tc = tcase_create("determinism");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, thread_counts_agree_bit_for_bit);
  tcase_add_test(tc, bad_thread_count_is_an_error);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
