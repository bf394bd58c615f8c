/* Variable-length None axes (docs/spec.md, "Input shape"): a model declared
 * on [null, null, 3] is compiled once per distinct sequence length of its
 * data, every program sharing the weights and optimizer state. Truths: a
 * float64 forward pass written here from the weights the model holds; the
 * same steps taken by separately compiled fixed-length models (their weights
 * and optimizer state handed over by file); Keras's refusal of a Dense whose
 * kernel would depend on a None axis. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "runtime/model.h"
#include "testutil.h"

#define CH 3 /* features per step */
#define FILTERS 4
#define OUT 2

/* Conv1D(4, 3, relu) -> pooling -> Dense(2); `shape` is the InputLayer's batch_shape */
static const char *spec(const char *shape, const char *pooling) {
  static char buf[4][2048];
  static int next;
  char *s = buf[next++ % 4];
  snprintf(s, sizeof buf[0],
           "{'class_name': 'Sequential', 'config': {'name': 's', 'layers': ["
           "{'class_name': 'InputLayer', 'config': {'name': 'x', 'batch_shape': %s}},"
           "{'class_name': 'Conv1D', 'config': {'name': 'c', 'filters': 4, 'kernel_size': 3,"
           " 'activation': 'relu'}},"
           "{'class_name': '%s', 'config': {'name': 'g'}},"
           "{'class_name': 'Dense', 'config': {'name': 'd', 'units': 2}}]},"
           "'compile_config': {'loss': 'mse', 'optimizer': {'class_name': 'SGD', 'config':"
           " {'learning_rate': 0.1, 'momentum': 0.9}}}}",
           shape, pooling);
  return testutil_json(s);
}

static nnc_model *load(const char *json) {
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, "none.json", &m, &st) == NNC_OK, "%s", st.message);
  return m;
}

/* n sequences of length t, values in [-1, 1) from a fixed LCG */
static nnc_array seqs(int64_t n, int64_t t, unsigned seed) {
  nnc_array a = {0};
  a.dtype = NNC_F32;
  a.rank = 3;
  a.shape[0] = n, a.shape[1] = t, a.shape[2] = CH;
  float *v = malloc((size_t)(n * t * CH) * sizeof *v);
  ck_assert_ptr_nonnull(v);
  uint64_t s = seed;
  for (int64_t i = 0; i < n * t * CH; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    v[i] = (float)((double)(s >> 40) / (double)(1ull << 23) - 1.0);
  }
  a.data = v;
  return a;
}

static nnc_array targets(int64_t n, unsigned seed) {
  nnc_array a = seqs(n, OUT, seed);
  a.rank = 2;
  a.shape[1] = OUT;
  a.shape[2] = 0;
  return a;
}

static double *weight(const nnc_model *m, const char *name, int64_t count) {
  nnc_array a;
  nnc_status st;
  ck_assert_msg(nnc_model_get_weight(m, name, &a, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(nnc_array_count(&a), count);
  double *d = malloc((size_t)count * sizeof *d);
  ck_assert_ptr_nonnull(d);
  for (int64_t i = 0; i < count; i++) d[i] = ((const float *)a.data)[i];
  nnc_array_free(&a);
  return d;
}

/* The model in float64 from its current weights: valid Conv1D (kernel
 * [3, in, filters]), relu, mean over time, Dense. out: n x OUT. */
static void reference(const nnc_model *m, const nnc_array *x, double *out) {
  double *k = weight(m, "c/kernel", 3 * CH * FILTERS), *kb = weight(m, "c/bias", FILTERS);
  double *w = weight(m, "d/kernel", FILTERS * OUT), *wb = weight(m, "d/bias", OUT);
  int64_t n = x->shape[0], t = x->shape[1], steps = t - 2;
  const float *v = x->data;
  for (int64_t i = 0; i < n; i++) {
    double pooled[FILTERS] = {0};
    for (int64_t s = 0; s < steps; s++)
      for (int f = 0; f < FILTERS; f++) {
        double z = kb[f];
        for (int j = 0; j < 3; j++)
          for (int c = 0; c < CH; c++)
            z += v[(i * t + s + j) * CH + c] * k[(j * CH + c) * FILTERS + f];
        pooled[f] += (z > 0 ? z : 0) / (double)steps;
      }
    for (int o = 0; o < OUT; o++) {
      double z = wb[o];
      for (int f = 0; f < FILTERS; f++) z += pooled[f] * w[f * OUT + o];
      out[i * OUT + o] = z;
    }
  }
  free(k), free(kb), free(w), free(wb);
}

static void check_predict(nnc_model *m, int64_t n, int64_t t, unsigned seed) {
  nnc_array x = seqs(n, t, seed), p;
  nnc_status st;
  ck_assert_msg(nnc_model_predict(m, &x, 4, &p, &st) == NNC_OK, "length %lld: %s", (long long)t,
                st.message);
  ck_assert_int_eq(p.rank, 2);
  ck_assert_int_eq(p.shape[0], n);
  ck_assert_int_eq(p.shape[1], OUT);
  double *want = malloc((size_t)(n * OUT) * sizeof *want);
  reference(m, &x, want);
  for (int64_t i = 0; i < n * OUT; i++)
    ck_assert_msg(fabs(((float *)p.data)[i] - want[i]) <= 1e-5 * (1 + fabs(want[i])),
                  "length %lld, value %lld: %g, float64 %g", (long long)t, (long long)i,
                  ((float *)p.data)[i], want[i]);
  free(want);
  nnc_array_free(&p);
  free(x.data);
}

START_TEST(fit_then_predict_other_lengths) {
  nnc_model *m = load(spec("[null, null, 3]", "GlobalAveragePooling1D"));
  ck_assert(!nnc_model_is_built(m)); /* the None axis waits for the data */
  nnc_array x = seqs(8, 6, 1), y = targets(8, 2);
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = 2;
  o.batch_size = 4;
  o.verbose = 0;
  nnc_status st;
  nnc_history h = {0};
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &h, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(nnc_model_iterations(m), 4);
  nnc_history_free(&h);
  check_predict(m, 5, 9, 3);
  const nnc_program_table *nine = m->t;
  check_predict(m, 3, 3, 4); /* the shortest a 3-wide kernel allows */
  check_predict(m, 5, 9, 5); /* compiled for length 9 before: reused, not compiled again */
  ck_assert_ptr_eq(m->t, nine);
  check_predict(m, 8, 6, 1); /* fit's program runs predict too */
  ck_assert_int_eq(m->n_kept + 1, 3);
  free(x.data);
  free(y.data);
  nnc_model_free(m);
}
END_TEST

/* evaluate on another length: the loss of the float64 predictions */
START_TEST(evaluate_other_length) {
  nnc_model *m = load(spec("[null, null, 3]", "GlobalAveragePooling1D"));
  nnc_array x = seqs(6, 7, 11), y = targets(6, 12);
  nnc_status st;
  TEST_LOGS(logs);
  ck_assert_msg(nnc_model_evaluate(m, &x, &y, 4, &logs, &st) == NNC_OK, "%s", st.message);
  double *p = malloc(6 * OUT * sizeof *p), mse = 0;
  reference(m, &x, p);
  for (int i = 0; i < 6 * OUT; i++) mse += pow(p[i] - ((float *)y.data)[i], 2) / (6 * OUT);
  double loss = nnc_logs_get(&logs, "loss");
  ck_assert_msg(fabs(loss - mse) <= 1e-5 * mse, "loss %g, float64 %g", loss, mse);
  free(p);
  free(x.data);
  free(y.data);
  nnc_model_free(m);
}
END_TEST

static void step(nnc_model *m, const nnc_array *x, const nnc_array *y) {
  nnc_status st;
  TEST_LOGS(logs);
  ck_assert_msg(nnc_model_train_on_batch(m, x, y, &logs, &st) == NNC_OK, "%s", st.message);
}

/* One SGD-with-momentum step on length 6, then one on length 9: the second
 * program must start from the first's weights and momentum. Truth: the same
 * two steps by two fixed-length models, state handed over by file. */
START_TEST(programs_share_weights_and_slots) {
  nnc_array x6 = seqs(4, 6, 21), x9 = seqs(4, 9, 22), y6 = targets(4, 23), y9 = targets(4, 24);
  nnc_model *m = load(spec("[null, null, 3]", "GlobalAveragePooling1D"));
  step(m, &x6, &y6);
  step(m, &x9, &y9);
  ck_assert_int_eq(nnc_model_iterations(m), 2);

  nnc_status st;
  const char *dir = testutil_tmpdir();
  char w[1024], s[1024];
  snprintf(w, sizeof w, "%s/none_w.safetensors", dir);
  snprintf(s, sizeof s, "%s/none_s.safetensors", dir);
  nnc_model *a = load(spec("[null, 6, 3]", "GlobalAveragePooling1D"));
  step(a, &x6, &y6);
  ck_assert_msg(nnc_model_save_weights(a, w, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_save_optimizer_state(a, s, &st) == NNC_OK, "%s", st.message);
  nnc_model *b = load(spec("[null, 9, 3]", "GlobalAveragePooling1D"));
  ck_assert_msg(nnc_model_load_weights(b, w, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_load_optimizer_state(b, s, &st) == NNC_OK, "%s", st.message);
  step(b, &x9, &y9);
  const char *names[] = {"c/kernel", "c/bias", "d/kernel", "d/bias"};
  const int64_t counts[] = {3 * CH * FILTERS, FILTERS, FILTERS * OUT, OUT};
  for (int i = 0; i < 4; i++) {
    double *got = weight(m, names[i], counts[i]), *want = weight(b, names[i], counts[i]);
    for (int64_t j = 0; j < counts[i]; j++)
      ck_assert_msg(got[j] == want[j], "%s[%lld]: %g, fixed-length models %g", names[i],
                    (long long)j, got[j], want[j]);
    free(got), free(want);
  }
  nnc_model_free(a), nnc_model_free(b), nnc_model_free(m);
  free(x6.data), free(x9.data), free(y6.data), free(y9.data);
}
END_TEST

/* Keras: "The last dimension of the inputs to a Dense layer should be
 * defined. Found None." — nnc names the layer and its weight. */
START_TEST(dense_after_flatten_of_none_axis_refused) {
  nnc_model *m = load(spec("[null, null, 3]", "Flatten"));
  nnc_array x = seqs(4, 6, 31), p;
  nnc_status st;
  ck_assert_int_eq(nnc_model_predict(m, &x, 4, &p, &st), NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, "none.json: $.config.layers[3]: layer \"d\" cannot be built on "
                                   "a None axis: its weight \"kernel\"") != NULL,
                "%s", st.message);
  ck_assert_msg(strstr(st.message, "\"x\" (None, None, 3)") != NULL, "%s", st.message);
  ck_assert(!nnc_model_is_built(m));
  free(x.data);
  nnc_model_free(m);
  /* with the axis given a size, Flatten then Dense is fine */
  m = load(spec("[null, 6, 3]", "Flatten"));
  ck_assert(nnc_model_is_built(m));
  nnc_model_free(m);
}
END_TEST

/* Every spelling of a None axis: Keras 3 shape (no batch), Keras 2
 * batch_input_shape on the first layer, tfjs (tensorflowjs_converter)
 * batchInputShape on an InputLayer. */
START_TEST(spellings) {
  const char *specs[] = {
      "{'class_name': 'Sequential', 'config': {'name': 's', 'layers': [{'class_name': "
      "'InputLayer', 'config': {'name': 'x', 'shape': [null, 3]}}, {'class_name': "
      "'GlobalMaxPooling1D', 'config': {'name': 'g'}}]}}",
      "{'class_name': 'Sequential', 'config': {'name': 's', 'layers': [{'class_name': "
      "'GlobalMaxPooling1D', 'config': {'name': 'g', 'batch_input_shape': [null, null, 3]}}]}}",
      "{'modelTopology': {'class_name': 'Sequential', 'config': {'name': 's', 'layers': "
      "[{'class_name': 'InputLayer', 'config': {'name': 'x', 'batchInputShape': [null, null, "
      "3]}}, {'class_name': 'GlobalMaxPooling1D', 'config': {'name': 'g'}}]}}}",
  };
  for (int i = 0; i < 3; i++) {
    nnc_model *m = load(testutil_json(specs[i]));
    ck_assert(!nnc_model_is_built(m));
    nnc_array x = seqs(2, 4, 41), p;
    nnc_status st;
    ck_assert_msg(nnc_model_predict(m, &x, 2, &p, &st) == NNC_OK, "spec %d: %s", i, st.message);
    for (int r = 0; r < 2; r++)
      for (int c = 0; c < CH; c++) {
        float want = -2;
        for (int t = 0; t < 4; t++) want = fmaxf(want, ((float *)x.data)[(r * 4 + t) * CH + c]);
        ck_assert_float_eq(((float *)p.data)[r * CH + c], want);
      }
    nnc_array_free(&p);
    free(x.data);
    /* the declared axes hold: 4 features where 3 are declared is refused */
    x = seqs(2, 4, 42);
    x.shape[2] = 4, x.shape[1] = 3;
    ck_assert_int_eq(nnc_model_predict(m, &x, 2, &p, &st), NNC_ERR_DATA);
    ck_assert_msg(strstr(st.message, "expects inputs of shape (None, None, 3), the data is (None, "
                                     "3, 4)") != NULL,
                  "spec %d: %s", i, st.message);
    free(x.data);
    nnc_model_free(m);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("none_axes");
  TCase *tc = tcase_create("none_axes");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, fit_then_predict_other_lengths);
  tcase_add_test(tc, evaluate_other_length);
  tcase_add_test(tc, programs_share_weights_and_slots);
  tcase_add_test(tc, dense_after_flatten_of_none_axis_refused);
  tcase_add_test(tc, spellings);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
