/* The runtime side of sample and class weights (docs/fit.md "Sample and
 * class weights"): the step reads weights of output k from the region after
 * the outputs (a hand-written table, fit_table.h, whose loss is
 * sum_i sw_i (x_i + w) / rows), gathered with the same permutation as x;
 * class_weight turned into per-sample weights by Keras's rule
 * (data_adapter_utils.class_weight_to_sample_weights); validation weights,
 * the split of weights by validation_split, evaluate/train_on_batch/
 * test_on_batch _weighted, weights of 1 for data without weights, and the
 * build request's sample_weights (rebuild only for a new weight shape). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fit_table.h"
#include "nnc.h"
#include "runtime/fit.h"
#include "testutil.h"

static float xv[4] = {1, 2, 3, 4}, yv[4] = {0, 1, 1, 0}, swv[4] = {1, 0, 2, 1};

static nnc_fit_options quiet(int epochs, int batch_size) {
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = epochs;
  o.batch_size = batch_size;
  o.verbose = 0;
  o.shuffle = NNC_SHUFFLE_OFF;
  return o;
}

static nnc_array vec(float *v, int64_t n) {
  nnc_array a = {NNC_F32, 1, {n}, v, NULL};
  return a;
}

/* batch 0 (w 0): (1*1 + 0*2)/2 = 0.5; batch 1 (w 1): (2*4 + 1*5)/2 = 6.5;
 * epoch: 3.5. sw's mean over the samples: 1. */
START_TEST(fit_reads_the_weight_region) {
  nnc_model *m = fit_table_model(1);
  nnc_array x = testutil_f32(xv, 4, 1), y = testutil_f32(yv, 4, 1), sw = vec(swv, 4);
  nnc_fit_options o = quiet(1, 2);
  o.sample_weights = &sw;
  o.n_sample_weights = 1;
  nnc_history h;
  nnc_status st;
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &h, &st) == NNC_OK, "%s", st.message);
  ck_assert(nnc_history_get(&h, "loss", 0) == 3.5);
  ck_assert(nnc_history_get(&h, "sw", 0) == 1);
  nnc_history_free(&h);
  /* data without weights on the weighted table: weights of 1; w 2 then 3:
   * (3 + 4)/2 = 3.5, (6 + 7)/2 = 6.5: 5 */
  o.sample_weights = NULL;
  o.n_sample_weights = 0;
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &h, &st) == NNC_OK, "%s", st.message);
  ck_assert(nnc_history_get(&h, "loss", 0) == 5);
  nnc_history_free(&h);
  nnc_model_free(m);
}
END_TEST

/* A callback comparing the running means of x and sw after every batch:
 * with sw = x, they are equal only if the weights were gathered with x. */
static int same_means(nnc_callback *cb, nnc_model *m, int i, nnc_logs *l, nnc_status *st) {
  (void)m, (void)i, (void)st;
  int *bad = cb->user;
  if (nnc_logs_get(l, "x") != nnc_logs_get(l, "sw")) (*bad)++;
  return NNC_OK;
}

START_TEST(weights_follow_their_samples_when_shuffled) {
  enum { N = 64 };
  float x[N], y[N], w[N];
  for (int i = 0; i < N; i++) x[i] = w[i] = (float)(i * i % 17), y[i] = 0;
  nnc_model *m = fit_table_model(1);
  nnc_array xa = testutil_f32(x, N, 1), ya = testutil_f32(y, N, 1), sw = vec(w, N);
  int bad = 0;
  nnc_callback cb = {"check", &bad, NULL, NULL, NULL, NULL, NULL, same_means, NULL};
  nnc_callback *cbs[1] = {&cb};
  for (int mode = NNC_SHUFFLE_ON; mode <= NNC_SHUFFLE_BATCH; mode++) {
    nnc_fit_options o = quiet(3, 5);
    o.shuffle = mode;
    o.sample_weights = &sw;
    o.n_sample_weights = 1;
    o.callbacks = cbs;
    o.n_callbacks = 1;
    nnc_status st;
    ck_assert_msg(nnc_model_fit(m, &xa, &ya, &o, NULL, &st) == NNC_OK, "%s", st.message);
  }
  ck_assert_int_eq(bad, 0);
  /* planted: weights in another order than x are seen */
  float rev[N];
  for (int i = 0; i < N; i++) rev[i] = w[N - 1 - i];
  nnc_array swr = vec(rev, N);
  nnc_fit_options o = quiet(1, 5);
  o.sample_weights = &swr;
  o.n_sample_weights = 1;
  o.callbacks = cbs;
  o.n_callbacks = 1;
  nnc_status st;
  ck_assert_msg(nnc_model_fit(m, &xa, &ya, &o, NULL, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_gt(bad, 0);
  nnc_model_free(m);
}
END_TEST

/* class_weight {0: 1, 1: 5} on labels 0 1 1 0 is sample_weight 1 5 5 1 */
START_TEST(class_weights_equal_their_sample_weights) {
  nnc_array x = testutil_f32(xv, 4, 1), y = testutil_f32(yv, 4, 1);
  double cw[2] = {1, 5};
  float same[4] = {1, 5, 5, 1};
  nnc_array sw = vec(same, 4);
  nnc_history a, b;
  nnc_status st;
  nnc_model *m = fit_table_model(1);
  nnc_fit_options o = quiet(2, 2);
  o.class_weights = cw;
  o.n_class_weights = 2;
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &a, &st) == NNC_OK, "%s", st.message);
  nnc_model_free(m);
  m = fit_table_model(1);
  o = quiet(2, 2);
  o.sample_weights = &sw;
  o.n_sample_weights = 1;
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &b, &st) == NNC_OK, "%s", st.message);
  /* (1*1 + 5*2)/2 = 5.5, (5*4 + 1*5)/2 = 12.5: 9 */
  ck_assert(nnc_history_get(&a, "loss", 0) == 9);
  for (int e = 0; e < 2; e++)
    ck_assert(nnc_history_get(&a, "loss", e) == nnc_history_get(&b, "loss", e));
  nnc_history_free(&a);
  nnc_history_free(&b);
  /* not with sample weights, as Keras */
  o.class_weights = cw;
  o.n_class_weights = 2;
  ck_assert_int_eq(nnc_model_fit(m, &x, &y, &o, NULL, &st), NNC_ERR_ARG);
  ck_assert_msg(strstr(st.message, "class_weights and sample_weights cannot be given together"),
                "%s", st.message);
  nnc_model_free(m);
}
END_TEST

/* Keras's rule on its own: argmax of one-hot rows; round (half to even) of
 * labels; a class not listed weighs 1. */
START_TEST(class_weight_rule) {
  double cw[3] = {2, 3, 4};
  float onehot[9] = {0, 1, 0, 0, 0, 1, 0.2f, 0.7f, 0.1f};
  nnc_array y = {NNC_F32, 2, {3, 3}, onehot, NULL}, out;
  nnc_status st;
  ck_assert(class_weights_to_sample_weights(&y, 3, cw, &out, &st) == NNC_OK);
  float *w = out.data;
  ck_assert(w[0] == 3 && w[1] == 4 && w[2] == 3);
  ck_assert_int_eq(out.rank, 1);
  ck_assert_int_eq(out.shape[0], 3);
  nnc_array_free(&out);
  float labels[5] = {0.5f, 1.5f, 2.5f, 7, -1};
  nnc_array l = {NNC_F32, 2, {5, 1}, labels, NULL};
  ck_assert(class_weights_to_sample_weights(&l, 3, cw, &out, &st) == NNC_OK);
  w = out.data;
  ck_assert(w[0] == 2 && w[1] == 4 && w[2] == 4 && w[3] == 1 && w[4] == 1);
  nnc_array_free(&out);
  float seq[8] = {0};
  nnc_array s = {NNC_F32, 3, {2, 2, 2}, seq, NULL};
  ck_assert_int_eq(class_weights_to_sample_weights(&s, 3, cw, &out, &st), NNC_ERR_DATA);
}
END_TEST

/* evaluate, train_on_batch and test_on_batch with weights: (1*1 + 0 +
 * 2*3 + 1*4)/4 = 2.75 at w = 0 */
START_TEST(weighted_calls) {
  nnc_model *m = fit_table_model(1);
  nnc_array x = testutil_f32(xv, 4, 1), y = testutil_f32(yv, 4, 1), sw = vec(swv, 4);
  TEST_LOGS(l);
  nnc_status st;
  ck_assert_msg(nnc_model_evaluate_weighted(m, 1, &x, 1, &y, &sw, 3, &l, &st) == NNC_OK, "%s",
                st.message);
  ck_assert(nnc_logs_get(&l, "loss") == 2.75);
  ck_assert_msg(nnc_model_test_on_batch_weighted(m, 1, &x, 1, &y, &sw, &l, &st) == NNC_OK, "%s",
                st.message);
  ck_assert(nnc_logs_get(&l, "loss") == 2.75);
  ck_assert_msg(nnc_model_train_on_batch_weighted(m, 1, &x, 1, &y, &sw, &l, &st) == NNC_OK, "%s",
                st.message);
  ck_assert(nnc_logs_get(&l, "loss") == 2.75);
  ck_assert(fit_table_w(m) == 1);
  ck_assert_msg(nnc_model_evaluate_weighted(m, 1, &x, 1, &y, NULL, 4, &l, &st) == NNC_OK, "%s",
                st.message);
  ck_assert(nnc_logs_get(&l, "loss") == 3.5); /* weights of 1 */
  float three[3] = {1, 1, 1};
  nnc_array bad = vec(three, 3);
  ck_assert_int_eq(nnc_model_evaluate_weighted(m, 1, &x, 1, &y, &bad, 4, &l, &st), NNC_ERR_DATA);
  ck_assert_msg(strstr(st.message, "sample_weight of y has shape (3,): expected (4,)"), "%s",
                st.message);
  float two[8] = {0};
  nnc_array wide = {NNC_F32, 2, {4, 2}, two, NULL};
  ck_assert_int_eq(nnc_model_evaluate_weighted(m, 1, &x, 1, &y, &wide, 4, &l, &st), NNC_ERR_DATA);
  nnc_model_free(m);
}
END_TEST

/* Validation weights: given (sample_weights_val), split with the data
 * (validation_split), or none for class_weight (Keras: training only). */
START_TEST(validation_weights) {
  nnc_array x = testutil_f32(xv, 4, 1), y = testutil_f32(yv, 4, 1);
  float xvv[2] = {10, 20}, yvv[2] = {0}, swvv[2] = {0, 1};
  nnc_array xval = testutil_f32(xvv, 2, 1), yval = testutil_f32(yvv, 2, 1), swval = vec(swvv, 2);
  nnc_history h;
  nnc_status st;
  nnc_model *m = fit_table_model(1);
  nnc_fit_options o = quiet(1, 4);
  o.x_val = &xval;
  o.y_val = &yval;
  o.sample_weights_val = &swval;
  o.n_sample_weights_val = 1;
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &h, &st) == NNC_OK, "%s", st.message);
  ck_assert(nnc_history_get(&h, "val_loss", 0) == 10.5); /* (0*11 + 1*21)/2 */
  nnc_history_free(&h);
  nnc_model_free(m);
  float split_w[4] = {1, 1, 2, 0};
  nnc_array sw = vec(split_w, 4);
  m = fit_table_model(1);
  o = quiet(1, 2);
  o.validation_split = 0.5;
  o.sample_weights = &sw;
  o.n_sample_weights = 1;
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &h, &st) == NNC_OK, "%s", st.message);
  ck_assert(nnc_history_get(&h, "val_loss", 0) == 4); /* (2*4 + 0*5)/2 */
  nnc_history_free(&h);
  nnc_model_free(m);
  double cw[2] = {1, 5};
  m = fit_table_model(1);
  o = quiet(1, 2);
  o.validation_split = 0.5;
  o.class_weights = cw;
  o.n_class_weights = 2;
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &h, &st) == NNC_OK, "%s", st.message);
  ck_assert(nnc_history_get(&h, "loss", 0) == 5.5);     /* (1*1 + 5*2)/2 */
  ck_assert(nnc_history_get(&h, "val_loss", 0) == 4.5); /* (4 + 5)/2, not 5 and 1 */
  nnc_history_free(&h);
  nnc_model_free(m);
}
END_TEST

/* A builder that records the sample-weight shapes it is asked for. */
typedef struct fake_builder {
  int builds, last_rank;
} fake_builder;

static int fb_describe(void *ctx, nnc_model_description *d, nnc_status *st) {
  (void)ctx, (void)st;
  memset(d, 0, sizeof *d);
  d->source = "fake";
  d->n_inputs = d->n_outputs = 1;
  d->has_compile = 1;
  d->learning_rate = 0.01;
  return NNC_OK;
}
static int fb_build(void *ctx, const nnc_build_request *req, const nnc_program_table **out,
                    nnc_status *st) {
  (void)st;
  fake_builder *b = ctx;
  b->builds++;
  b->last_rank = req->sample_weights ? req->sample_weights[0].rank : -2;
  *out = fit_table(1);
  return NNC_OK;
}
static void fb_release(void *ctx, const nnc_program_table *t) {
  (void)ctx, (void)t;
}

START_TEST(build_request_carries_weight_shapes) {
  fake_builder fb = {0, 0};
  nnc_builder b = {&fb, fb_describe, fb_build, fb_release, NULL, NULL, NULL};
  nnc_model *m;
  nnc_status st;
  ck_assert_msg(nnc_model_from_builder(&b, &m, &st) == NNC_OK, "%s", st.message);
  nnc_array x = testutil_f32(xv, 4, 1), y = testutil_f32(yv, 4, 1), sw = vec(swv, 4);
  nnc_fit_options o = quiet(1, 4);
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, NULL, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(fb.builds, 1);
  ck_assert_int_eq(fb.last_rank, -1); /* no weights */
  o.sample_weights = &sw;
  o.n_sample_weights = 1;
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, NULL, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(fb.builds, 2);
  ck_assert_int_eq(fb.last_rank, 0); /* one weight per sample */
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, NULL, &st) == NNC_OK, "%s", st.message);
  TEST_LOGS(l);
  ck_assert_msg(nnc_model_evaluate(m, &x, &y, 4, &l, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(fb.builds, 2); /* same shape, or none: no rebuild */
  nnc_model_free(m);
}
END_TEST

int main(void) {
  Suite *s = suite_create("sample_weights");
  TCase *tc = tcase_create("weights");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, fit_reads_the_weight_region);
  tcase_add_test(tc, weights_follow_their_samples_when_shuffled);
  tcase_add_test(tc, class_weights_equal_their_sample_weights);
  tcase_add_test(tc, class_weight_rule);
  tcase_add_test(tc, weighted_calls);
  tcase_add_test(tc, validation_weights);
  tcase_add_test(tc, build_request_carries_weight_shapes);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
