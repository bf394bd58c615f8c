/* The GEMM's tiles depend on the vector width of the CPU (4, 8 or 16 floats)
 * but every output element is the same chain of fused multiply-adds, so a
 * fit must give bit-identical results for every width. NNC_VECTOR_WIDTH
 * forces the width; LLVM splits vectors wider than the machine's, so the
 * AVX-512 kernels are exercised on any x86-64. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "oracle_case.h"
#include "testutil.h"

typedef struct run {
  nnc_history h;
  wset w;
} run;

static void fit_with_width(const char *name, const char *width, run *r) {
  setenv("NNC_VECTOR_WIDTH", width, 1);
  oracle_case c;
  oracle_case_load(name, &c);
  nnc_status st;
  c.fit.shuffle = 1;
  ck_assert_msg(nnc_model_fit(c.model, &c.x, &c.y, &c.fit, &r->h, &st) == NNC_OK, "%s", st.message);
  weights_get(c.model, &r->w);
  oracle_case_free(&c);
  unsetenv("NNC_VECTOR_WIDTH");
}

static void assert_same(const run *a, const run *b, const char *what) {
  ck_assert_int_eq(a->h.n_keys * a->h.n_epochs, b->h.n_keys * b->h.n_epochs);
  ck_assert_msg(
      memcmp(a->h.values, b->h.values, sizeof(double) * (size_t)(a->h.n_keys * a->h.n_epochs)) == 0,
      "%s: histories differ", what);
  ck_assert_int_eq(a->w.n, b->w.n);
  for (int i = 0; i < a->w.n; i++)
    ck_assert_msg(memcmp(a->w.a[i].data, b->w.a[i].data,
                         sizeof(float) * (size_t)nnc_array_count(&a->w.a[i])) == 0,
                  "%s: %s differs", what, a->w.name[i]);
}

/* seed004_mlp_nodrop: 1001 -> 64 x4 -> 1 (wide K, N a multiple of every width);
 * seed001_mnist_like: 784 -> 64 -> 64 -> 10 (N = 10 leaves scalar columns). */
static const char *const cases[] = {"seed004_mlp_nodrop", "seed001_mnist_like"};

START_TEST(widths_agree_bit_for_bit) {
  run r4, r8, r16;
  fit_with_width(cases[_i], "4", &r4);
  fit_with_width(cases[_i], "8", &r8);
  fit_with_width(cases[_i], "16", &r16);
  assert_same(&r4, &r8, "widths 4 and 8");
  assert_same(&r4, &r16, "widths 4 and 16");
  nnc_history_free(&r4.h);
  nnc_history_free(&r8.h);
  nnc_history_free(&r16.h);
  weights_free(&r4.w);
  weights_free(&r8.w);
  weights_free(&r16.w);
}
END_TEST

/* Softmax rows of 37 classes (two chunks and a rest of 5 lanes at width 16,
 * four and 5 at 8, nine and 1 at 4): the exponentials are computed a vector
 * at a time and summed lane by lane (emit_anchor.c: cg_row_sum_exp), so a
 * fit with CCE (softmax_xent, and softmax in its gradient) and the
 * predictions must be the same bits at every width, and the predictions
 * within a few float32 ulp of a float64 softmax of the same logits. */
enum { SM_ROWS = 24, SM_IN = 6, SM_CLASSES = 37 };

static void softmax_fit(const char *width, run *r, float *pred) {
  static float x[SM_ROWS * SM_IN], y[SM_ROWS * SM_CLASSES];
  for (int i = 0; i < SM_ROWS * SM_IN; i++) x[i] = (float)(3.0 * sin(0.71 * i + 0.3));
  memset(y, 0, sizeof y);
  for (int i = 0; i < SM_ROWS; i++) y[i * SM_CLASSES + (i * 7) % SM_CLASSES] = 1.0f;
  setenv("NNC_VECTOR_WIDTH", width, 1);
  nnc_model *m = testutil_load(testutil_sequential(
      "6", "{'class_name': 'Dense', 'config': {'name': 'o', 'units': 37, 'activation': 'softmax'}}",
      "{'optimizer': {'class_name': 'Adam', 'config': {'learning_rate': 0.05}}, "
      "'loss': 'categorical_crossentropy'}"));
  nnc_array xa = testutil_f32(x, SM_ROWS, SM_IN), ya = testutil_f32(y, SM_ROWS, SM_CLASSES), p;
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = 3, o.batch_size = 8, o.verbose = 0;
  nnc_status st;
  ck_assert_msg(nnc_model_fit(m, &xa, &ya, &o, &r->h, &st) == NNC_OK, "%s", st.message);
  weights_get(m, &r->w);
  ck_assert_msg(nnc_model_predict(m, &xa, 8, &p, &st) == NNC_OK, "%s", st.message);
  memcpy(pred, p.data, sizeof(float) * SM_ROWS * SM_CLASSES);
  nnc_array_free(&p);
  /* float64 softmax of the logits x W + b from the trained weights */
  const float *w = NULL, *b = NULL;
  for (int i = 0; i < r->w.n; i++) {
    if (!strcmp(r->w.name[i], "o/kernel")) w = r->w.a[i].data;
    if (!strcmp(r->w.name[i], "o/bias")) b = r->w.a[i].data;
  }
  ck_assert(w && b);
  for (int i = 0; i < SM_ROWS; i++) {
    /* mag: the largest sum of |terms| of a logit, which bounds the float32
     * rounding of the logits (each in error by up to ~SM_IN ulp of it) */
    double z[SM_CLASSES], mx = -1e300, sum = 0, mag = 0;
    for (int j = 0; j < SM_CLASSES; j++) {
      double mj = fabs(b[j]);
      z[j] = b[j];
      for (int k = 0; k < SM_IN; k++) {
        z[j] += (double)x[i * SM_IN + k] * w[k * SM_CLASSES + j];
        mj += fabs((double)x[i * SM_IN + k] * w[k * SM_CLASSES + j]);
      }
      if (z[j] > mx) mx = z[j];
      if (mj > mag) mag = mj;
    }
    for (int j = 0; j < SM_CLASSES; j++) sum += exp(z[j] - mx);
    for (int j = 0; j < SM_CLASSES; j++) {
      double want = exp(z[j] - mx) / sum, got = pred[i * SM_CLASSES + j];
      /* p_j moves by |dz_j| + max |dz_k| relative; 8 ulp for exp, sum, divide */
      double tol = want * 0x1p-24 * (2.0 * (SM_IN + 1) * mag + 8.0);
      ck_assert_msg(fabs(got - want) <= tol,
                    "width %s row %d class %d: %.9g vs %.9g (tolerance %.3g)", width, i, j, got,
                    want, tol);
    }
  }
  nnc_model_free(m);
  unsetenv("NNC_VECTOR_WIDTH");
}

START_TEST(softmax_rows_agree_bit_for_bit) {
  run r[3];
  static float pred[3][SM_ROWS * SM_CLASSES];
  const char *widths[3] = {"4", "8", "16"};
  for (int k = 0; k < 3; k++) softmax_fit(widths[k], &r[k], pred[k]);
  assert_same(&r[0], &r[1], "softmax, widths 4 and 8");
  assert_same(&r[0], &r[2], "softmax, widths 4 and 16");
  ck_assert(!memcmp(pred[0], pred[1], sizeof pred[0]) && !memcmp(pred[0], pred[2], sizeof pred[0]));
  for (int k = 0; k < 3; k++) nnc_history_free(&r[k].h), weights_free(&r[k].w);
}
END_TEST

int main(void) {
  Suite *s = suite_create("vector_width");
  TCase *tc = tcase_create("gemm");
  tcase_set_timeout(tc, 300);
  tcase_add_loop_test(tc, widths_agree_bit_for_bit, 0, 2);
  tcase_add_test(tc, softmax_rows_agree_bit_for_bit);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
