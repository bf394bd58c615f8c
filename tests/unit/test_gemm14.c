/* Session 14 (gemm): a Dense layer's bias add and activation on the GEMM's
 * register tile (compiler/passes/conv_epilogue.c: pass_dense_epilogue,
 * compiler/codegen/gemm_epi.c, emit_gemm.c, compiler/ops/matvec.c).
 *
 * Truth: the same model compiled without the pass (NNC_DENSE_EPILOGUE=0),
 * where the chain runs in the group's loop over the stored product. The
 * tile applies the same float operations to the same sums, so a shuffled
 * fit must leave the weights and the History bit-identical, not merely
 * close. The models cover relu, sigmoid, tanh and linear Dense layers of
 * widths 1 (the matrix-vector path), 10, 15, 17, 33 and 257 (masked last
 * strips, one and several strips, split between threads by rows or by
 * strips), K = 1, K = 600 (two blocks of the contraction: the epilogue only
 * on the last), remainder batches, vector widths 16, 8 and 4, 1 to 3
 * threads and float64 sums. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "testutil.h"

enum { N = 23, BATCH = 7, SEED = 5, EPOCHS = 2, MAX_W = 8 };

#define DENSE(name, units, act)                                                                    \
  "{'class_name': 'Dense', 'config': {'name': '" name "', 'units': " #units                        \
  ", 'activation': '" act "'}}"

typedef struct model_case {
  const char *what, *in, *layers, *opt;
  int in_cols, out_cols, n_dense;
} model_case;

/* d2 (1 column: the matrix-vector path) feeds d3 with K = 1; d4 is linear
 * (the bias alone on the tile); d5's chain stays in the loop (the loss
 * follows it elementwise) */
static const model_case wide = {
    "15 relu, 257 tanh, 1 relu, 33 sigmoid, 10 linear, 3",
    "9",
    DENSE("d0", 15, "relu") "," DENSE("d1", 257, "tanh") "," DENSE("d2", 1, "relu") "," DENSE(
        "d3", 33, "sigmoid") "," DENSE("d4", 10, "linear") "," DENSE("d5", 3, "linear"),
    "Adam",
    9,
    3,
    6};
/* relu straight on the product (no bias), and a sigmoid whose bias is a
 * 1-column matrix-vector product's */
static const model_case no_bias = {
    "no bias: relu 20, sigmoid 1, tanh 7",
    "5",
    "{'class_name': 'Dense', 'config': {'name': 'd0', 'units': 20, 'activation': 'relu', "
    "'use_bias': false}}," DENSE("d1", 1, "sigmoid") ","
                                                     "{'class_name': 'Dense', 'config': {'name': "
                                                     "'d2', 'units': 7, 'activation': 'tanh', "
                                                     "'use_bias': false}}," DENSE("d3", 2,
                                                                                  "linear"),
    "SGD",
    5,
    2,
    4};
static const model_case k600 = {"K = 600 (two blocks)",
                                "600",
                                DENSE("d0", 17, "relu") "," DENSE("d1", 1, "linear"),
                                "RMSprop",
                                600,
                                1,
                                2};

typedef struct run_out {
  float *w[MAX_W], *b[MAX_W];
  int64_t nw[MAX_W], nb[MAX_W];
  double hist[2 * EPOCHS];
} run_out;

/* a missing weight (a Dense without bias) as 0 values */
static void take(nnc_model *m, const char *name, float **out, int64_t *n) {
  nnc_status st;
  nnc_array a;
  *out = NULL, *n = 0;
  if (nnc_model_get_weight(m, name, &a, &st)) return;
  *n = nnc_array_count(&a);
  *out = malloc((size_t)*n * sizeof **out);
  memcpy(*out, a.data, (size_t)*n * sizeof **out);
  nnc_array_free(&a);
}

static void run(const model_case *mc, const char *width, int threads, int f64, int fused,
                run_out *o) {
  if (fused)
    unsetenv("NNC_DENSE_EPILOGUE");
  else
    setenv("NNC_DENSE_EPILOGUE", "0", 1);
  setenv("NNC_VECTOR_WIDTH", width, 1);
  nnc_status st;
  char compile[200];
  snprintf(compile, sizeof compile,
           "{'optimizer': {'class_name': '%s', 'config': {'learning_rate': 0.01}}, "
           "'loss': 'mse', 'metrics': ['mae']}",
           mc->opt);
  nnc_model *m = testutil_load(testutil_sequential(mc->in, mc->layers, testutil_json(compile)));
  ck_assert_msg(!nnc_model_set_seed(m, SEED, &st), "%s", st.message);
  ck_assert_msg(!nnc_model_set_threads(m, threads, &st), "%s", st.message);
  if (f64) ck_assert_msg(!nnc_model_set_accumulation(m, NNC_ACCUMULATE_F64, &st), "%s", st.message);
  float *x = malloc(sizeof(float) * N * (size_t)mc->in_cols);
  float *y = malloc(sizeof(float) * N * (size_t)mc->out_cols);
  for (int i = 0; i < N * mc->in_cols; i++) x[i] = (float)((i * 37 + 11) % 101) / 40.0f - 1.2f;
  for (int i = 0; i < N * mc->out_cols; i++) y[i] = (float)((i * 13 + 5) % 17) / 9.0f - 0.8f;
  nnc_array xa = testutil_f32(x, N, mc->in_cols), ya = testutil_f32(y, N, mc->out_cols);
  nnc_fit_options fo;
  nnc_fit_options_default(&fo);
  fo.epochs = EPOCHS, fo.batch_size = BATCH, fo.shuffle = NNC_SHUFFLE_ON, fo.verbose = 0;
  nnc_history h = {0};
  ck_assert_msg(!nnc_model_fit(m, &xa, &ya, &fo, &h, &st), "%s", st.message);
  for (int e = 0; e < EPOCHS; e++) {
    o->hist[2 * e] = nnc_history_get(&h, "loss", e);
    o->hist[2 * e + 1] = nnc_history_get(&h, "mae", e);
  }
  nnc_history_free(&h);
  for (int d = 0; d < mc->n_dense; d++) {
    char name[32];
    snprintf(name, sizeof name, "d%d/kernel", d);
    take(m, name, &o->w[d], &o->nw[d]);
    snprintf(name, sizeof name, "d%d/bias", d);
    take(m, name, &o->b[d], &o->nb[d]);
  }
  nnc_model_free(m);
  free(x), free(y);
  unsetenv("NNC_DENSE_EPILOGUE");
  unsetenv("NNC_VECTOR_WIDTH");
}

static void same_arrays(const char *what, const char *which, int d, const float *a, int64_t na,
                        const float *b, int64_t nb) {
  ck_assert_int_eq(na, nb);
  for (int64_t i = 0; i < na; i++)
    ck_assert_msg(!memcmp(&a[i], &b[i], sizeof a[i]), "%s: d%d %s[%lld]: fused %a, loop %a", what,
                  d, which, (long long)i, (double)a[i], (double)b[i]);
}

static void compare(const char *what, const model_case *mc, run_out *f, run_out *u) {
  for (int k = 0; k < 2 * EPOCHS; k++)
    ck_assert_msg(!memcmp(&f->hist[k], &u->hist[k], sizeof f->hist[k]),
                  "%s: history %d: fused %a, loop %a", what, k, f->hist[k], u->hist[k]);
  for (int d = 0; d < mc->n_dense; d++) {
    same_arrays(what, "kernel", d, f->w[d], f->nw[d], u->w[d], u->nw[d]);
    same_arrays(what, "bias", d, f->b[d], f->nb[d], u->b[d], u->nb[d]);
    free(f->w[d]), free(u->w[d]), free(f->b[d]), free(u->b[d]);
  }
}

static void check(const model_case *mc, const char *width, int threads, int f64) {
  run_out f, u;
  run(mc, width, threads, f64, 1, &f);
  run(mc, width, threads, f64, 0, &u);
  char what[160];
  snprintf(what, sizeof what, "%s, width %s, %d threads%s", mc->what, width, threads,
           f64 ? ", f64 sums" : "");
  compare(what, mc, &f, &u);
}

START_TEST(wide_chain_16_1) {
  check(&wide, "16", 1, 0);
}
END_TEST

START_TEST(wide_chain_8_2) {
  check(&wide, "8", 2, 0);
}
END_TEST

START_TEST(wide_chain_4_3) {
  check(&wide, "4", 3, 0);
}
END_TEST

START_TEST(wide_chain_f64) {
  check(&wide, "16", 2, 1);
}
END_TEST

START_TEST(without_bias) {
  check(&no_bias, "16", 1, 0);
}
END_TEST

START_TEST(two_blocks) {
  check(&k600, "16", 2, 0);
  check(&k600, "8", 1, 0);
}
END_TEST

/* A weight gradient of 9 rows is one 9-row tile at width 16 (12-row tiles)
 * and 6 + 1 + 1 + 1-row tiles at width 4: the same chain of fused
 * multiply-adds per element, so the same bits (the messages say "fused"
 * for width 16 and "loop" for width 4). */
START_TEST(small_tile_any_width) {
  static const model_case m = {"9-row weight gradient",
                               "9",
                               DENSE("d0", 17, "relu") "," DENSE("d1", 2, "linear"),
                               "SGD",
                               9,
                               2,
                               2};
  run_out a, b;
  run(&m, "16", 1, 0, 1, &a);
  run(&m, "4", 1, 0, 1, &b);
  compare("9-row weight gradient, width 16 against width 4", &m, &a, &b);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("gemm14");
  TCase *tc = tcase_create("dense_epilogue");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, wide_chain_16_1);
  tcase_add_test(tc, wide_chain_8_2);
  tcase_add_test(tc, wide_chain_4_3);
  tcase_add_test(tc, wide_chain_f64);
  tcase_add_test(tc, two_blocks);
  tcase_add_test(tc, without_bias);
  tcase_add_test(tc, small_tile_any_width);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  /* the models are small: keep the per-group split so 2 and 3 threads really split */
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1);
  return testutil_run(suite());
}
