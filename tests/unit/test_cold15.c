/* Inference graphs follow the train graph's dense epilogues (session 15,
 * compiler/passes/epilogue_follow.c). Dense(relu) then Dropout: the train
 * graph leaves the relu in the flat loop after the GEMM (the dropout would
 * need a pass of its own), and the test and predict graphs, which have no
 * dropout, now do the same instead of compiling a strip function of their
 * own with the chain on the tile. Checked: the two GEMM strip functions of
 * that chain (33 columns: a strip of 32, one of 1) are gone against with NNC_EPILOGUE_FOLLOW=0 (the
 * old choice), and a fit with validation (the test graph) and a predict (the predict graph) give
 * the same bits either way, at the host's vector width and at AVX2's, with the contraction in two
 * blocks (K = 600: the tile epilogue's last-block path). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/compile.h"
#include "compiler/spec/spec.h"
#include "nnc.h"
#include "oracle_case.h"
#include "testutil.h"

/* InputLayer [None, 600], Dense(33, relu), Dropout, Dense(17, tanh),
 * Dense(3); softmax cross-entropy, Adam. The first layer's product (K = 600,
 * two blocks of 512) is the one the train graph keeps plain. */
static const char wide_json[] =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"w\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 600], \"name\": \"i\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 33, \"activation\": "
    "\"relu\"}},"
    "{\"class_name\": \"Dropout\", \"config\": {\"name\": \"p\", \"rate\": 0.25, \"seed\": 3}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"e\", \"units\": 17, \"activation\": "
    "\"tanh\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"o\", \"units\": 3}}]},"
    "\"compile_config\": {\"optimizer\": \"adam\", \"loss\": {\"class_name\": "
    "\"CategoricalCrossentropy\", \"config\": {\"from_logits\": true}}, \"metrics\": "
    "[\"accuracy\"]}}";

enum { N = 13, IN = 600 };

/* GEMM strip functions of the whole module (train, test, predict). */
static long strips_of_compile(void) {
  nnc_timing timing;
  testutil_emit_counts(wide_json, &timing); /* the strips are counted at emission */
  return timing.gemm_strips;
}

START_TEST(inference_graphs_share_the_plain_strip) {
  long follow = strips_of_compile();
  setenv("NNC_EPILOGUE_FOLLOW", "0", 1);
  long own = strips_of_compile();
  unsetenv("NNC_EPILOGUE_FOLLOW");
  /* the first layer's 33 columns: a full strip of 32 and a last one of 1,
   * each a variant with the chain (k600_2x16_e… and k600_1x1_e…) */
  ck_assert_msg(follow == own - 2, "strip functions: %ld following the train graph, %ld alone",
                follow, own);
}
END_TEST

/* Fit with validation (the test graph every epoch), then predict (the
 * predict graph): the history, the weights and the predictions. */
typedef struct run {
  fit_run f;
  nnc_array pred;
} run;

static void fit_and_predict(run *r) {
  static float xs[N * IN];
  float ys[N * 3];
  fill_uniform(xs, N * IN, 11);
  for (int i = 0; i < N * 3; i++) ys[i] = (float)(i % 3 == (i / 3) % 3);
  nnc_array x = testutil_f32(xs, N, IN), y = testutil_f32(ys, N, 3);
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(wide_json, "w.json", &m, &st) == NNC_OK, "%s", st.message);
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = 2;
  o.batch_size = 4;
  o.validation_split = 0.4; /* 5 validation rows: a batch of 4 and one of 1 */
  o.verbose = 0;
  memset(&r->f.h, 0, sizeof r->f.h);
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &r->f.h, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(r->f.h.n_keys, 4); /* loss, accuracy, val_loss, val_accuracy */
  weights_get(m, &r->f.w);
  ck_assert_msg(nnc_model_predict(m, &x, 5, &r->pred, &st) == NNC_OK, "%s", st.message);
  nnc_model_free(m);
}

static void same_runs(void) {
  const char *what = "follow / own";
  run a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  fit_and_predict(&a);
  setenv("NNC_EPILOGUE_FOLLOW", "0", 1);
  fit_and_predict(&b);
  unsetenv("NNC_EPILOGUE_FOLLOW");
  fit_run_same(&a.f, &b.f, what);
  int64_t n = nnc_array_count(&a.pred);
  ck_assert_int_eq(n, N * 3);
  ck_assert_int_eq(nnc_array_count(&b.pred), n);
  ck_assert_msg(!memcmp(a.pred.data, b.pred.data, sizeof(float) * (size_t)n),
                "%s: predictions differ", what);
  fit_run_free(&a.f);
  fit_run_free(&b.f);
  nnc_array_free(&a.pred);
  nnc_array_free(&b.pred);
}

START_TEST(follow_fits_and_predicts_the_same_bits) {
  setenv("NNC_CACHE", "0", 1);
  same_runs();
  unsetenv("NNC_CACHE");
}
END_TEST

int main(void) {
  /* the first layer's product whole: split along K (session 36's ksplit, on
   * 600 inputs) no Dense chain follows it, and nothing is left to follow */
  setenv("NNC_KSPLIT", "0", 1);
  Suite *s = suite_create("cold15");
  TCase *tc = tcase_create("cold15");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, inference_graphs_share_the_plain_strip);
  tcase_add_test(tc, follow_fits_and_predicts_the_same_bits);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
