/* Session 14 (gemm): a Dense layer's bias add and activation on the GEMM's
 * register tile (compiler/passes/conv_epilogue.c: pass_dense_epilogue,
 * compiler/codegen/gemm_epi.c, emit_gemm.c, compiler/ops/matvec.c).
 *
 * Truth: the same model compiled without the pass (NNC_DENSE_EPILOGUE=0),
 * where the chain runs in the group's loop over the stored product. The
 * tile applies the same float operations to the same sums, so a shuffled
 * fit must leave the weights and the History bit-identical, not merely
 * close. One model covers relu, sigmoid, tanh and linear Dense layers of
 * widths 1 (the matrix-vector path), 7, 10, 15, 17, 33, 257 and 600 (masked
 * last strips, one and several strips, split between threads by rows or by
 * strips), no bias, K = 1, K = 600 (two blocks of the contraction: the
 * epilogue only on the last), a 9-row weight gradient, remainder batches,
 * vector widths 16 and 8, 1 and 2 threads; a small model checks float64
 * sums, width 4 and 3 threads. Four compiles in all (session 14's version
 * made 18: ~12 s of CPU). */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "testutil.h"

enum { N = 23, BATCH = 7, SEED = 5, EPOCHS = 2, MAX_W = 10 };

#define DENSE(name, units, act)                                                                    \
  "{'class_name': 'Dense', 'config': {'name': '" name "', 'units': " #units                        \
  ", 'activation': '" act "'}}"
#define DENSE_NB(name, units, act)                                                                 \
  "{'class_name': 'Dense', 'config': {'name': '" name "', 'units': " #units                        \
  ", 'activation': '" act "', 'use_bias': false}}"

typedef struct model_case {
  const char *what, *in, *layers, *opt;
  int in_cols, out_cols, n_dense;
} model_case;

/* One model for every case (each compile is ~0.5 s of LLVM or more; session
 * 14 had one model per case): d0 is relu straight on the product (no bias),
 * 15 columns, and its weight gradient has 9 rows (one 9-row tile at width
 * 16, 6 + 1 + 1 + 1 rows at width 4); d1 has 577 columns (18 strips of 32
 * and one of a single column at width 16, and at 8 and 4 too); d2 has
 * K = 577 (two blocks of the contraction: the epilogue only on the last);
 * d3 has 1 column (the matrix-vector path, a relu whose bias is a 1-column
 * product's); d4 has K = 1 and is linear (the bias alone on the tile: it
 * feeds a matmul); d5's chain stays in the loop (the loss follows it
 * elementwise). */
static const model_case all = {
    "all cases",
    "9",
    DENSE_NB("d0", 15, "relu") "," DENSE("d1", 577, "tanh") "," DENSE(
        "d2", 17, "sigmoid") "," DENSE("d3", 1, "relu") "," DENSE("d4", 33,
                                                                  "linear") "," DENSE("d5", 3,
                                                                                      "linear"),
    "SGD",
    9,
    3,
    6};

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

/* Fused at one width and thread count against the loop at another: the
 * project promises the same bits for every width and thread count, so any
 * difference is the epilogue's (or a broken width). */
static void check(const model_case *mc, const char *fused_width, int fused_threads,
                  const char *loop_width, int loop_threads, int f64) {
  run_out f, u;
  run(mc, fused_width, fused_threads, f64, 1, &f);
  run(mc, loop_width, loop_threads, f64, 0, &u);
  char what[200];
  snprintf(what, sizeof what, "%s: fused width %s, %d threads; loop width %s, %d threads%s",
           mc->what, fused_width, fused_threads, loop_width, loop_threads, f64 ? "; f64 sums" : "");
  compare(what, mc, &f, &u);
}

START_TEST(fused_16_against_loop_8) {
  check(&all, "16", 1, "8", 2, 0);
}
END_TEST

/* float64 sums, and width 4 (SSE tiles of 6 rows: the 9-row weight gradient
 * as 6 + 1 + 1 + 1 rows, one 9-row tile at width 16), on a small model:
 * two more compiles of the large one would cost ~3 s */
START_TEST(f64_width_4) {
  static const model_case small = {
      "9-17-17-1",
      "9",
      DENSE("d0", 17, "relu") "," DENSE("d1", 17, "sigmoid") "," DENSE("d2", 1, "linear"),
      "SGD",
      9,
      1,
      3};
  check(&small, "4", 3, "16", 1, 1);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("gemm14");
  TCase *tc = tcase_create("dense_epilogue");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, fused_16_against_loop_8);
  tcase_add_test(tc, f64_width_4);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  /* the models are small: keep the per-group split so 2 and 3 threads really split */
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1);
  return testutil_run(suite());
}
