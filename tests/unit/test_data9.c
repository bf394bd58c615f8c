/* The data path uses the caller's arrays in place (issue 9): float32 data
 * is never copied whole, other dtypes are converted one batch at a time,
 * and either way fit gives bit-identical results; the caller's arrays are
 * never written; label checks still scan every value. */
#include <check.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "testutil.h"

#define SPEC                                                                                       \
  "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m\", \"layers\": ["                   \
  "{\"class_name\": \"Dense\", \"config\": {\"name\": \"h\", \"units\": 8, \"activation\": "       \
  "\"relu\", \"batch_input_shape\": [null, 6]}}, "                                                 \
  "{\"class_name\": \"Dense\", \"config\": {\"name\": \"o\", \"units\": 3}}]}, "                   \
  "\"compile_config\": {\"optimizer\": \"adam\", \"loss\": {\"class_name\": "                      \
  "\"SparseCategoricalCrossentropy\", \"config\": {\"from_logits\": true}}, \"metrics\": "         \
  "[\"accuracy\"]}}"

enum { N = 37, D = 6 };

static nnc_model *load(void) {
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(SPEC, "data9", &m, &st) == NNC_OK, "%s", st.message);
  return m;
}

/* Integer-valued data, so every dtype holds the same values exactly. */
static int xval(int i) {
  return (i * 7 + i / 5) % 13;
}
static int yval(int i) {
  return (i * 5 + 1) % 3;
}

typedef struct result {
  nnc_history h;
  float kernel[D * 8], out_kernel[8 * 3];
} result;

static void fit_as(nnc_dtype xt, nnc_dtype yt, nnc_dtype wt, result *r) {
  static float xf[N * D], yf[N], wf[N];
  static double xd[N * D], wd[N];
  static uint8_t xu[N * D], yu[N];
  static int64_t yl[N];
  for (int i = 0; i < N * D; i++) xf[i] = (float)(xd[i] = xu[i] = (uint8_t)xval(i));
  for (int i = 0; i < N; i++) {
    yf[i] = (float)(yl[i] = yu[i] = (uint8_t)yval(i));
    wf[i] = (float)(wd[i] = 0.5 + (i % 4) * 0.25);
  }
  nnc_array x = {xt, 2, {N, D}, xt == NNC_F32 ? (void *)xf : xt == NNC_F64 ? (void *)xd : xu, NULL};
  nnc_array y = {yt, 1, {N}, yt == NNC_F32 ? (void *)yf : yt == NNC_I64 ? (void *)yl : yu, NULL};
  nnc_array w = {wt, 1, {N}, wt == NNC_F32 ? (void *)wf : (void *)wd, NULL};
  nnc_model *m = load();
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = 3, o.batch_size = 5, o.verbose = 0, o.validation_split = 0.25;
  o.sample_weights = &w, o.n_sample_weights = 1;
  nnc_status st;
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &r->h, &st) == NNC_OK, "%s", st.message);
  nnc_array k;
  ck_assert(nnc_model_get_weight(m, "h/kernel", &k, &st) == NNC_OK);
  memcpy(r->kernel, k.data, sizeof r->kernel);
  nnc_array_free(&k);
  ck_assert(nnc_model_get_weight(m, "o/kernel", &k, &st) == NNC_OK);
  memcpy(r->out_kernel, k.data, sizeof r->out_kernel);
  nnc_array_free(&k);
  nnc_model_free(m);
}

/* float32 in place and float64/uint8/int64 converted per batch: the same
 * history and weights, bit for bit (shuffled, with a validation split and
 * sample weights). */
START_TEST(every_dtype_trains_alike) {
  result a, b, c;
  fit_as(NNC_F32, NNC_F32, NNC_F32, &a);
  fit_as(NNC_F64, NNC_I64, NNC_F64, &b);
  fit_as(NNC_U8, NNC_U8, NNC_F64, &c);
  ck_assert_int_eq(a.h.n_keys, 4); /* accuracy, loss, val_accuracy, val_loss */
  ck_assert_int_eq(a.h.n_epochs, 3);
  const result *other[2] = {&b, &c};
  for (int j = 0; j < 2; j++) {
    ck_assert_int_eq(other[j]->h.n_keys, a.h.n_keys);
    ck_assert(!memcmp(other[j]->h.values, a.h.values, sizeof(double) * 4 * 3));
    ck_assert(!memcmp(other[j]->kernel, a.kernel, sizeof a.kernel));
    ck_assert(!memcmp(other[j]->out_kernel, a.out_kernel, sizeof a.out_kernel));
  }
  ck_assert(a.h.values[0] > 0 && a.h.values[0] <= 1); /* something was learned and measured */
  nnc_history_free(&a.h);
  nnc_history_free(&b.h);
  nnc_history_free(&c.h);
}
END_TEST

/* Bytes malloc holds now (small chunks and mmapped ones). */
static size_t heap_in_use(void) {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

typedef struct watch {
  size_t before, most;
} watch;

static int note_heap(nnc_callback *cb, nnc_model *m, int index, nnc_logs *logs, nnc_status *st) {
  (void)m, (void)index, (void)logs, (void)st;
  watch *w = cb->user;
  size_t now = heap_in_use();
  if (now > w->most) w->most = now;
  return NNC_OK;
}

/* A 3 MB float32 training set: during fit (every batch, validation split,
 * shuffled) the heap grows by far less than the data: no copy of it. The
 * code before issue 9 copied it whole (nnc_array_to_f32) and fails this. */
START_TEST(float32_data_is_not_copied) {
  enum { ROWS = 131072 };
  float *x = malloc(sizeof(float) * ROWS * D), *y = malloc(sizeof(float) * ROWS);
  for (int i = 0; i < ROWS * D; i++) x[i] = (float)xval(i) / 13.0f;
  for (int i = 0; i < ROWS; i++) y[i] = (float)yval(i);
  nnc_array xa = {NNC_F32, 2, {ROWS, D}, x, NULL}, ya = {NNC_F32, 1, {ROWS}, y, NULL};
  nnc_model *m = load();
  nnc_status st;
  /* build for the targets first: the compile's own memory is not the data's */
  ck_assert_msg(nnc_model_build(m, &xa, &ya, &st) == NNC_OK, "%s", st.message);
  watch w = {heap_in_use(), 0};
  nnc_callback cb = {.name = "watch", .user = &w, .on_batch_begin = note_heap};
  nnc_callback *cbs[1] = {&cb};
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.batch_size = 256, o.verbose = 0, o.validation_split = 0.5;
  o.callbacks = cbs, o.n_callbacks = 1;
  nnc_history h;
  ck_assert_msg(nnc_model_fit(m, &xa, &ya, &o, &h, &st) == NNC_OK, "%s", st.message);
  size_t data = sizeof(float) * ROWS * D;
  ck_assert_msg(w.most < w.before + data / 2, "heap grew by %zu bytes for %zu bytes of data",
                w.most - w.before, data);
  nnc_history_free(&h);
  nnc_model_free(m);
  free(x);
  free(y);
}
END_TEST

/* fit, evaluate, predict and the on-batch calls never write the caller's
 * arrays (they are read in place). */
START_TEST(caller_arrays_are_not_written) {
  static float x[N * D], y[N], w[N], x0[N * D], y0[N], w0[N];
  for (int i = 0; i < N * D; i++) x[i] = (float)xval(i) - 6.0f;
  for (int i = 0; i < N; i++) y[i] = (float)yval(i), w[i] = 1.0f + (float)(i % 3);
  memcpy(x0, x, sizeof x), memcpy(y0, y, sizeof y), memcpy(w0, w, sizeof w);
  nnc_array xa = {NNC_F32, 2, {N, D}, x, NULL}, ya = {NNC_F32, 1, {N}, y, NULL};
  nnc_array wa = {NNC_F32, 1, {N}, w, NULL};
  nnc_model *m = load();
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = 2, o.batch_size = 4, o.verbose = 0, o.validation_split = 0.3;
  o.sample_weights = &wa, o.n_sample_weights = 1;
  nnc_status st;
  nnc_history h;
  nnc_logs l = {0};
  nnc_array p;
  ck_assert_msg(nnc_model_fit(m, &xa, &ya, &o, &h, &st) == NNC_OK, "%s", st.message);
  ck_assert(nnc_model_evaluate_weighted(m, 1, &xa, 1, &ya, &wa, 8, &l, &st) == NNC_OK);
  ck_assert(nnc_model_predict(m, &xa, 8, &p, &st) == NNC_OK);
  ck_assert(nnc_model_train_on_batch(m, &xa, &ya, &l, &st) == NNC_OK);
  ck_assert(nnc_model_test_on_batch(m, &xa, &ya, &l, &st) == NNC_OK);
  ck_assert(!memcmp(x, x0, sizeof x) && !memcmp(y, y0, sizeof y) && !memcmp(w, w0, sizeof w));
  nnc_array_free(&p);
  nnc_logs_free(&l);
  nnc_history_free(&h);
  nnc_model_free(m);
}
END_TEST

/* Labels are still checked value by value, in any dtype, without a copy. */
START_TEST(labels_are_checked_in_place) {
  static float x[N * D];
  static uint8_t yu[N];
  static float yf[N];
  for (int i = 0; i < N; i++) yu[i] = (uint8_t)(yf[i] = (float)yval(i));
  yu[29] = 3;
  yf[30] = 1.5f;
  nnc_array xa = {NNC_F32, 2, {N, D}, x, NULL}, ya = {NNC_U8, 1, {N}, yu, NULL};
  nnc_model *m = load();
  nnc_status st;
  nnc_logs l = {0};
  ck_assert_int_eq(nnc_model_evaluate(m, &xa, &ya, 8, &l, &st), NNC_ERR_DATA);
  ck_assert_msg(strstr(st.message, "y[29] = 3 is not a class index in [0, 3)"), "%s", st.message);
  ya.dtype = NNC_F32, ya.data = yf;
  ck_assert_int_eq(nnc_model_evaluate(m, &xa, &ya, 8, &l, &st), NNC_ERR_DATA);
  ck_assert_msg(strstr(st.message, "y[30] = 1.5 is not a class index"), "%s", st.message);
  nnc_logs_free(&l);
  nnc_model_free(m);
}
END_TEST

int main(void) {
  Suite *s = suite_create("data9");
  TCase *tc = tcase_create("data");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, every_dtype_trains_alike);
  tcase_add_test(tc, float32_data_is_not_copied);
  tcase_add_test(tc, caller_arrays_are_not_written);
  tcase_add_test(tc, labels_are_checked_in_place);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
