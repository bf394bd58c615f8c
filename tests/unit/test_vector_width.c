/* The GEMM's tiles depend on the vector width of the CPU (4, 8 or 16 floats)
 * but every output element is the same chain of fused multiply-adds, so a
 * fit must give bit-identical results for every width. NNC_VECTOR_WIDTH
 * forces the width; LLVM splits vectors wider than the machine's, so the
 * AVX-512 kernels are exercised on any x86-64. */
#include <check.h>
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

int main(void) {
  Suite *s = suite_create("vector_width");
  TCase *tc = tcase_create("gemm");
  tcase_set_timeout(tc, 300);
  tcase_add_loop_test(tc, widths_agree_bit_for_bit, 0, 2);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
