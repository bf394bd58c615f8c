/* Steps on a thread with a small stack (session 18).
 *
 * Session 17's A panel (removed in session 19) put up to 1 MiB of packed
 * operands on the kernel's stack next to the B pack, and the calling thread
 * runs a share of every step: on a 512 KiB thread a fit crashed, or with the frame past the guard
 * page, finished with wrong numbers and exit 0. The packs, a convolution's
 * transposed kernel and the recurrences' per-tile buffers now live in
 * regions[NNC_REGION_SCRATCH] (nnc_program.h), a slice per thread. Each
 * model below needs more than 512 KiB of such buffers in one kernel (the
 * B packs of Dense 785 -> 512's weight gradient with its update on the
 * tile, the transposed
 * 3 x 3 x 128 x 128 kernel of a convolution's input gradient); a fit on a
 * 512 KiB thread must give the bytes of the same fit on a 16 MiB one, on 1
 * and 3 threads. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "runtime/model.h"
#include "testutil.h"

typedef struct job {
  const char *json;
  const float *x;
  int64_t n, x_dims[4];
  int x_rank, threads, batch;
  float *weights; /* every weight's floats, concatenated (malloc'ed) */
  int64_t n_weights;
  double loss;
  int64_t scratch; /* the train step's scratch floats per thread */
  int ok;
  char message[sizeof((nnc_status){0}.message)];
} job;

static void *fit_job(void *arg) {
  job *j = arg;
  nnc_status st;
  nnc_model *m = NULL;
  j->ok = 0;
  if (nnc_model_load_string(j->json, "stack.json", &m, &st) ||
      nnc_model_set_threads(m, j->threads, &st) || nnc_model_set_seed(m, 7, &st)) {
    snprintf(j->message, sizeof j->message, "%s", st.message);
    nnc_model_free(m);
    return NULL;
  }
  float *y = malloc(sizeof(float) * (size_t)j->n);
  for (int64_t i = 0; i < j->n; i++) y[i] = (float)sin(0.7 * (double)i);
  nnc_array xa = testutil_f32((float *)j->x, j->n, 1), ya = testutil_f32(y, j->n, 1);
  xa.rank = j->x_rank + 1;
  for (int k = 0; k < j->x_rank; k++) xa.shape[k + 1] = j->x_dims[k];
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = 1, o.batch_size = j->batch, o.verbose = 0, o.shuffle = 1;
  nnc_history h;
  if (nnc_model_fit(m, &xa, &ya, &o, &h, &st)) {
    snprintf(j->message, sizeof j->message, "%s", st.message);
    free(y);
    nnc_model_free(m);
    return NULL;
  }
  j->loss = nnc_history_get(&h, "loss", 0);
  nnc_history_free(&h);
  j->scratch = m->t->entries[NNC_ENTRY_TRAIN].scratch_floats;
  j->n_weights = 0;
  j->weights = NULL;
  int count = nnc_model_weight_count(m);
  for (int v = 0; v < count; v++) {
    nnc_array w;
    if (nnc_model_get_weight(m, nnc_model_weight_name(m, v), &w, &st)) {
      snprintf(j->message, sizeof j->message, "%s", st.message);
      break;
    }
    int64_t c = nnc_array_count(&w);
    j->weights = realloc(j->weights, sizeof(float) * (size_t)(j->n_weights + c));
    memcpy(j->weights + j->n_weights, w.data, sizeof(float) * (size_t)c);
    j->n_weights += c;
    nnc_array_free(&w);
    j->ok = v == count - 1;
  }
  free(y);
  nnc_model_free(m);
  return NULL;
}

/* the fit on a new thread of `stack` bytes */
static void run_on(job *j, size_t stack) {
  pthread_attr_t attr;
  pthread_t t;
  ck_assert(pthread_attr_init(&attr) == 0);
  ck_assert(pthread_attr_setstacksize(&attr, stack) == 0);
  ck_assert(pthread_create(&t, &attr, fit_job, j) == 0);
  ck_assert(pthread_join(t, NULL) == 0);
  pthread_attr_destroy(&attr);
  ck_assert_msg(j->ok, "fit on a %zu KiB thread: %s", stack >> 10, j->message);
}

static void same_fit_on_small_stack(const char *json, const float *x, int64_t n,
                                    const int64_t *dims, int rank, int batch, int64_t least) {
  for (int threads = 1; threads <= 3; threads += 2) {
    job big = {.json = json, .x = x, .n = n, .x_rank = rank, .threads = threads, .batch = batch};
    for (int k = 0; k < rank; k++) big.x_dims[k] = dims[k];
    job small = big;
    run_on(&big, (size_t)16 << 20);
    run_on(&small, (size_t)512 << 10);
    /* the kernels' buffers are in the scratch region, not on the stack */
    ck_assert_msg(big.scratch >= least && big.scratch % 16 == 0,
                  "%d threads: %lld scratch floats per thread, expected >= %lld in 64-byte steps",
                  threads, (long long)big.scratch, (long long)least);
    ck_assert_msg(isfinite(big.loss), "%d threads: loss %g", threads, big.loss);
    ck_assert_msg(!memcmp(&big.loss, &small.loss, sizeof big.loss),
                  "%d threads: loss %.9g on 16 MiB, %.9g on 512 KiB", threads, big.loss,
                  small.loss);
    ck_assert_int_eq(big.n_weights, small.n_weights);
    ck_assert_msg(!memcmp(big.weights, small.weights, sizeof(float) * (size_t)big.n_weights),
                  "%d threads: the weights differ between a 16 MiB and a 512 KiB thread", threads);
    free(big.weights);
    free(small.weights);
  }
}

START_TEST(dense_weight_gradient_packs) {
  /* dW0 = x^T dy with its update on the tile (the default since session 19):
   * 512 columns are whole strips at every vector width, all packed for a K
   * block of 512 before the row tiles run across them (emit_gemm.c:
   * emit_rows_major): 512 x 512 floats (1 MiB) in one kernel. (Session 17's
   * A panel, the case here before, was removed in session 19.) At width 8:
   * at width 16 B of up to 1024 columns is read in place, no pack (session
   * 25). */
  enum { N = 514, IN = 785 };
  float *x = malloc(sizeof(float) * N * IN);
  for (int i = 0; i < N * IN; i++) x[i] = (float)sin(0.013 * i) * 0.5f;
  const char *json = testutil_sequential(
      "785",
      "{'class_name': 'Dense', 'config': {'name': 'd0', 'units': 512, 'activation': 'relu'}}, "
      "{'class_name': 'Dense', 'config': {'name': 'd1', 'units': 1}}",
      "{'optimizer': {'class_name': 'RMSprop', 'config': {'learning_rate': 0.001}}, "
      "'loss': {'class_name': 'MeanSquaredError', 'config': {}}}");
  int64_t dims[1] = {IN};
  setenv("NNC_VECTOR_WIDTH", "8", 1);
  same_fit_on_small_stack(json, x, N, dims, 1, 257, (int64_t)512 * 512);
  unsetenv("NNC_VECTOR_WIDTH");
  free(x);
}
END_TEST

START_TEST(conv_input_gradient_kernel) {
  /* the second convolution's input gradient transposes its 3 x 3 x 128 x
   * 128 kernel: 147 456 floats (576 KiB) */
  enum { N = 40, H = 6, W = 6, C = 4 };
  float *x = malloc(sizeof(float) * N * H * W * C);
  for (int i = 0; i < N * H * W * C; i++) x[i] = (float)cos(0.05 * i);
  const char *json = testutil_sequential(
      "6, 6, 4",
      "{'class_name': 'Conv2D', 'config': {'name': 'c0', 'filters': 128, 'kernel_size': [1, 1], "
      "'activation': 'relu'}}, "
      "{'class_name': 'Conv2D', 'config': {'name': 'c1', 'filters': 128, 'kernel_size': [3, 3]}}, "
      "{'class_name': 'Flatten', 'config': {'name': 'f'}}, "
      "{'class_name': 'Dense', 'config': {'name': 'd', 'units': 1}}",
      "{'optimizer': {'class_name': 'SGD', 'config': {'learning_rate': 0.001}}, "
      "'loss': {'class_name': 'MeanSquaredError', 'config': {}}}");
  int64_t dims[3] = {H, W, C};
  same_fit_on_small_stack(json, x, N, dims, 3, 16, 3 * 3 * 128 * 128);
  free(x);
}
END_TEST

int main(void) {
  Suite *s = suite_create("stack18");
  TCase *tc = tcase_create("small_stack");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, dense_weight_gradient_packs);
  tcase_add_test(tc, conv_input_gradient_kernel);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
