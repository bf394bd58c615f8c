/* One sample_weight for every output of a multi-output model (Keras 3:
 * CompileLoss.call hands a sample_weight that is not nested to every loss;
 * CompileMetrics.update_state repeats sample_weight[0] for every output when
 * fewer weights than outputs are given — keras/src/trainers/compile_utils.py).
 * In nnc: nnc_fit_options.n_sample_weights (and _val) = 1 for a model of two
 * outputs, and the same array in every entry of the _weighted calls.
 *
 * Truths: (1) evaluate's per-output losses and weighted MAE recomputed here
 * from the model's predictions by Keras's rules — loss: sum_i w_i mse_i / N
 * ("sum_over_batch_size"), weighted metric: sum_i w_i mae_i / sum_i w_i;
 * (2) a fit with one shared array equals a fit with a separate copy per
 * output, and differs from a fit that weighs output a only (so output b did
 * receive the weights). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "testutil.h"

enum { N = 6 };

/* Keras 2 Functional: x [B,3] -> a = Dense(2)(x), b = Dense(1)(x); mse per
 * output; weighted MAE on both. */
static const char *spec(void) {
  return testutil_json(
      "{'class_name': 'Model', 'config': {'name': 'm', 'layers': ["
      "{'class_name': 'InputLayer', 'name': 'x', 'config': {'batch_input_shape': [null, 3], "
      "'name': 'x'}, 'inbound_nodes': []},"
      "{'class_name': 'Dense', 'name': 'a', 'config': {'name': 'a', 'units': 2}, "
      "'inbound_nodes': [[['x', 0, 0, {}]]]},"
      "{'class_name': 'Dense', 'name': 'b', 'config': {'name': 'b', 'units': 1}, "
      "'inbound_nodes': [[['x', 0, 0, {}]]]}],"
      "'input_layers': [['x', 0, 0]], 'output_layers': [['a', 0, 0], ['b', 0, 0]]},"
      "'compile_config': {'optimizer': {'class_name': 'SGD', 'config': {'learning_rate': 0.1}}, "
      "'loss': {'a': 'mse', 'b': 'mse'}, 'weighted_metrics': {'a': ['mae'], 'b': ['mae']}}}");
}

static float xv[N * 3], av[N * 2], bv[N], wv[N] = {1, 0, 2, 0.5f, 3, 0};

static void data(nnc_array *x, nnc_array y[2], nnc_array *w) {
  for (int i = 0; i < N * 3; i++) xv[i] = (float)sin(0.7 * i + 0.2);
  for (int i = 0; i < N * 2; i++) av[i] = (float)cos(0.9 * i);
  for (int i = 0; i < N; i++) bv[i] = (float)(0.4 * i - 1.0);
  *x = testutil_f32(xv, N, 3);
  y[0] = testutil_f32(av, N, 2);
  y[1] = testutil_f32(bv, N, 1);
  *w = (nnc_array){NNC_F32, 1, {N}, wv, "w"};
}

static nnc_model *load(void) {
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(spec(), "model.json", &m, &st) == NNC_OK, "%s", st.message);
  ck_assert(nnc_model_set_seed(m, 7, &st) == NNC_OK);
  return m;
}

static void close_to(double got, double want, const char *what) {
  ck_assert_msg(fabs(got - want) <= 1e-5 * fmax(1.0, fabs(want)), "%s: %.9g, expected %.9g", what,
                got, want);
}

/* The same array in both entries of evaluate_weighted: Keras's per-output
 * weighted loss and weighted MAE, recomputed from the predictions. */
START_TEST(evaluate_weighs_every_output) {
  nnc_array x, y[2], w;
  data(&x, y, &w);
  nnc_model *m = load();
  nnc_status st;
  nnc_array p[2];
  ck_assert_msg(nnc_model_predict_multi(m, 1, &x, N, 2, p, &st) == NNC_OK, "%s", st.message);
  double loss[2] = {0, 0}, mae[2] = {0, 0}, wsum = 0;
  for (int i = 0; i < N; i++) {
    wsum += wv[i];
    for (int k = 0; k < 2; k++) {
      int d = k == 0 ? 2 : 1;
      const float *pk = p[k].data, *yk = k == 0 ? av : bv;
      double se = 0, ae = 0;
      for (int j = 0; j < d; j++) {
        double e = (double)pk[i * d + j] - yk[i * d + j];
        se += e * e / d;
        ae += fabs(e) / d;
      }
      loss[k] += wv[i] * se / N;
      mae[k] += wv[i] * ae;
    }
  }
  nnc_array_free(&p[0]);
  nnc_array_free(&p[1]);
  nnc_array both[2] = {w, w};
  TEST_LOGS(l);
  ck_assert_msg(nnc_model_evaluate_weighted(m, 1, &x, 2, y, both, N, &l, &st) == NNC_OK, "%s",
                st.message);
  close_to(nnc_logs_get(&l, "a_loss"), loss[0], "a_loss");
  close_to(nnc_logs_get(&l, "b_loss"), loss[1], "b_loss");
  close_to(nnc_logs_get(&l, "loss"), loss[0] + loss[1], "loss");
  close_to(nnc_logs_get(&l, "a_mae"), mae[0] / wsum, "a_mae");
  close_to(nnc_logs_get(&l, "b_mae"), mae[1] / wsum, "b_mae");
  nnc_model_free(m);
}
END_TEST

static nnc_fit_options quiet(void) {
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = 3;
  o.batch_size = 4;
  o.verbose = 0;
  return o;
}

/* fit with the options' weights; the History and the final weights of b */
static void fit(const nnc_array *sw, int n_sw, nnc_history *h, float kernel_b[3]) {
  nnc_array x, y[2], w;
  data(&x, y, &w);
  nnc_model *m = load();
  nnc_fit_options o = quiet();
  o.sample_weights = sw;
  o.n_sample_weights = n_sw;
  nnc_status st;
  ck_assert_msg(nnc_model_fit_multi(m, 1, &x, 2, y, &o, h, &st) == NNC_OK, "%s", st.message);
  nnc_array k;
  ck_assert_msg(nnc_model_get_weight(m, "b/kernel", &k, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(nnc_array_count(&k), 3);
  memcpy(kernel_b, k.data, 3 * sizeof *kernel_b);
  nnc_array_free(&k);
  nnc_model_free(m);
}

static int same_history(const nnc_history *a, const nnc_history *b) {
  if (a->n_keys != b->n_keys || a->n_epochs != b->n_epochs) return 0;
  for (int k = 0; k < a->n_keys; k++)
    for (int e = 0; e < a->n_epochs; e++)
      if (nnc_history_get(a, a->keys[k], e) != nnc_history_get(b, a->keys[k], e)) return 0;
  return 1;
}

START_TEST(fit_with_one_array_is_fit_with_one_per_output) {
  nnc_array x, y[2], w;
  data(&x, y, &w);
  float copy[N];
  memcpy(copy, wv, sizeof copy);
  nnc_array separate[2] = {w, {NNC_F32, 1, {N}, copy, "copy"}};
  nnc_array a_only[2] = {w, {0}};
  nnc_history shared, per_output, first_only;
  float k_shared[3], k_per_output[3], k_first_only[3];
  fit(&w, 1, &shared, k_shared);
  fit(separate, 2, &per_output, k_per_output);
  fit(a_only, 2, &first_only, k_first_only);
  ck_assert(same_history(&shared, &per_output));
  ck_assert(!memcmp(k_shared, k_per_output, sizeof k_shared));
  /* b unweighted in the third run: its loss and its kernel differ */
  ck_assert(nnc_history_get(&shared, "b_loss", 0) != nnc_history_get(&first_only, "b_loss", 0));
  ck_assert(memcmp(k_shared, k_first_only, sizeof k_shared));
  ck_assert(nnc_history_get(&shared, "a_loss", 0) == nnc_history_get(&first_only, "a_loss", 0));
  nnc_history_free(&shared);
  nnc_history_free(&per_output);
  nnc_history_free(&first_only);
}
END_TEST

/* validation_data with one weight array: the val_ keys are evaluate's with
 * that array on both outputs (after fit, on the final weights). The
 * training data has no weights: the model is built for the validation
 * weights all the same (before, they were silently dropped). */
START_TEST(validation_weights_shared_too) {
  nnc_array x, y[2], w;
  data(&x, y, &w);
  nnc_model *m = load();
  nnc_fit_options o = quiet();
  o.epochs = 2;
  o.x_vals = &x;
  o.n_x_vals = 1;
  o.y_vals = y;
  o.n_y_vals = 2;
  o.sample_weights_val = &w;
  o.n_sample_weights_val = 1;
  nnc_history h;
  nnc_status st;
  ck_assert_msg(nnc_model_fit_multi(m, 1, &x, 2, y, &o, &h, &st) == NNC_OK, "%s", st.message);
  nnc_array both[2] = {w, w};
  TEST_LOGS(l);
  ck_assert_msg(nnc_model_evaluate_weighted(m, 1, &x, 2, y, both, 4, &l, &st) == NNC_OK, "%s",
                st.message);
  ck_assert_msg(nnc_history_get(&h, "val_b_loss", 1) == nnc_logs_get(&l, "b_loss"), "%.9g %.9g",
                nnc_history_get(&h, "val_b_loss", 1), nnc_logs_get(&l, "b_loss"));
  ck_assert(nnc_history_get(&h, "val_b_mae", 1) == nnc_logs_get(&l, "b_mae"));
  ck_assert(nnc_history_get(&h, "val_loss", 1) == nnc_logs_get(&l, "loss"));
  nnc_history_free(&h);
  nnc_model_free(m);
}
END_TEST

/* Neither one per output nor one for all: refused, naming both forms. */
START_TEST(other_counts_are_refused) {
  nnc_array x, y[2], w;
  data(&x, y, &w);
  nnc_model *m = load();
  nnc_array three[3] = {w, w, w};
  nnc_fit_options o = quiet();
  o.sample_weights = three;
  o.n_sample_weights = 3;
  nnc_status st;
  ck_assert_int_eq(nnc_model_fit_multi(m, 1, &x, 2, y, &o, NULL, &st), NNC_ERR_ARG);
  ck_assert_msg(strstr(st.message, "expected one array per output (2) or one for every output, "
                                   "got 3"),
                "%s", st.message);
  o.sample_weights = NULL;
  o.n_sample_weights = 0;
  o.x_vals = &x;
  o.n_x_vals = 1;
  o.y_vals = y;
  o.n_y_vals = 2;
  o.sample_weights_val = three;
  o.n_sample_weights_val = 3;
  ck_assert_int_eq(nnc_model_fit_multi(m, 1, &x, 2, y, &o, NULL, &st), NNC_ERR_ARG);
  ck_assert_msg(strstr(st.message, "sample_weights_val: expected one array per output (2)"), "%s",
                st.message);
  /* a shared array of the wrong length names the output it was checked for */
  nnc_array short_w = {NNC_F32, 1, {N - 1}, wv, "w.npy"};
  o = quiet();
  o.sample_weights = &short_w;
  o.n_sample_weights = 1;
  ck_assert_int_eq(nnc_model_fit_multi(m, 1, &x, 2, y, &o, NULL, &st), NNC_ERR_DATA);
  ck_assert_msg(strstr(st.message, "w.npy") && strstr(st.message, "output 'a'"), "%s", st.message);
  nnc_model_free(m);
}
END_TEST

int main(void) {
  Suite *s = suite_create("shared_weight");
  TCase *tc = tcase_create("shared_weight");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, evaluate_weighs_every_output);
  tcase_add_test(tc, fit_with_one_array_is_fit_with_one_per_output);
  tcase_add_test(tc, validation_weights_shared_too);
  tcase_add_test(tc, other_counts_are_refused);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
