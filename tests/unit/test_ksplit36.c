/* The K split of a wide product of the data (issue 9, session 36,
 * passes/ksplit.c, ops/matmul.c, ops/part_sum.c).
 *
 * Kernel level: x[M,K] @ W_i[K,N_i] for N = 16, 64, 100 (a masked last
 * vector) and 128, after the ksplit pass, at widths 16 and 8, run on 1, 2
 * and 3 threads. Truth: each element is the sum of two chains written in C
 * with fmaf, from +0 in K order, over [0, K1) and [K1, K), where K1 is
 * ceil(K / 2) rounded up to 12 (the documented rule: 504 for K = 1001, 300
 * for 600, 264 for 512), then the two added: bit for bit. Some element
 * differs from the one chain over [0, K) (so a product left whole fails).
 *
 * Fits: a Dense(64, relu) on 600 inputs (split) and a Dense(10) head,
 * RMSprop, on 1 thread and on 2 threads of the pool (tuning off): the same
 * weight bytes. With NNC_KSPLIT=0 the same fit gives other bytes, within
 * float32 rounding of the split ones (both are the product, summed in
 * another order). The same model written as Input(20, 30) and Flatten
 * (an equivalent spec) gives the same bytes as Input(600). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/codegen/codegen.h"
#include "compiler/graph/graph.h"
#include "compiler/passes/passes.h"
#include "nnc.h"
#include "testutil.h"

enum { COUNT = 4, MAX_M = 32, MAX_THREADS = 3 };
static const int64_t columns[COUNT] = {16, 64, 100, 128};
#define N_REGIONS (NNC_REGION_IO + 1 + COUNT)

typedef struct rig {
  nnc_graph g;
  nnc_program prog;
  nnc_jit *jit;
  nnc_step_fn fn;
  int64_t k;
} rig;

static void rig_build(rig *r, int64_t k, const char *width) {
  nnc_status st = {0};
  memset(r, 0, sizeof *r);
  r->k = k;
  setenv("NNC_VECTOR_WIDTH", width, 1);
  ck_assert(graph_init(&r->g, "predict", &st) == NNC_OK);
  int64_t ad[2] = {-1, k};
  int a = graph_input(&r->g, 0, shape_make(1, 2, ad), "x", &st);
  r->prog.n_inputs = 1, r->prog.n_params = COUNT;
  r->prog.params = calloc(COUNT, sizeof *r->prog.params);
  for (int i = 0; i < COUNT; i++) {
    nnc_param_info *info = &r->prog.params[i];
    int64_t wd[2] = {k, columns[i]};
    snprintf(info->name, sizeof info->name, "w%d", i);
    info->shape = shape_make(0, 2, wd);
    info->count = wd[0] * wd[1], info->offset = r->prog.params_floats;
    r->prog.params_floats += info->count;
    int in[2] = {a, graph_source(&r->g, NNC_OP_PARAM, i, info->shape, info->name, &st)};
    int y = graph_add(&r->g, NNC_OP_MATMUL, 0, in, 2, &st);
    ck_assert_msg(y >= 0 && graph_output(&r->g, y, i, &st) >= 0, "%s", st.message);
  }
  ck_assert_msg(pass_ksplit(&r->g, &st) == NNC_OK, "%s", st.message);
  int split = 0;
  for (int i = 0; i < r->g.n; i++) split += r->g.nodes[i].op == NNC_OP_PART_SUM;
  ck_assert_int_eq(split, COUNT);
  ck_assert(pass_fuse(&r->g, &st) == NNC_OK);
  ck_assert_msg(pass_plan_memory_for(&r->g, &r->prog, &st) == NNC_OK, "%s", st.message);
  const nnc_graph *list[1] = {&r->g};
  nnc_codegen_options opts = {0};
  ck_assert_msg(codegen_compile(list, 1, &r->prog, &opts, &r->jit, &r->fn, &st) == NNC_OK, "%s",
                st.message);
  unsetenv("NNC_VECTOR_WIDTH");
}

/* every product of m rows of a into out (poisoned first), on `threads` threads */
static void run(const rig *r, float *a, float *w, int64_t m, int threads, float *out) {
  int64_t outs = 0;
  for (int i = 0; i < COUNT; i++) outs += m * columns[i];
  for (int64_t i = 0; i < outs; i++) out[i] = NAN;
  float *fixed = calloc((size_t)r->g.fixed_floats + 1, sizeof(float));
  float *batch = calloc((size_t)(r->g.batch_floats_per_row * (m + 1)) + 1, sizeof(float));
  float *regions[N_REGIONS] = {0};
  regions[NNC_REGION_IO] = a, regions[NNC_REGION_PARAMS] = w;
  regions[NNC_REGION_FIXED] = fixed, regions[NNC_REGION_BATCH] = batch;
  float *scratch = testutil_scratch(r->jit, 0, threads);
  regions[NNC_REGION_SCRATCH] = scratch;
  for (int i = 0, at = 0; i < COUNT; at += (int)(m * columns[i]), i++)
    regions[NNC_REGION_IO + 1 + i] = out + at;
  float scalars[NNC_SCALAR_COUNT] = {0};
  testutil_step_threads(r->fn, regions, scalars, m, threads);
  free(fixed), free(batch), free(scratch);
}

/* fmaf from +0 over p in [p0, p1): one output element's chain */
static float chain(const float *a, const float *w, int64_t n, int64_t col, int64_t p0, int64_t p1) {
  float s = 0.0f;
  for (int64_t p = p0; p < p1; p++) s = fmaf(a[p], w[p * n + col], s);
  return s;
}

static void check(int64_t k, int64_t k1, const char *width) {
  rig r;
  rig_build(&r, k, width);
  float *a = malloc(sizeof(float) * (size_t)(MAX_M * k));
  float *w = malloc(sizeof(float) * (size_t)r.prog.params_floats);
  float *out = malloc(sizeof(float) * (size_t)(MAX_M * 400));
  for (int64_t i = 0; i < MAX_M * k; i++) a[i] = (float)sin(0.37 * (double)i + 0.1);
  for (int64_t i = 0; i < r.prog.params_floats; i++) w[i] = (float)cos(0.61 * (double)i + 0.3);
  static const int64_t ms[] = {1, 5, 12, 13, 29, 32};
  int unlike_one_chain = 0;
  for (size_t mi = 0; mi < sizeof ms / sizeof ms[0]; mi++)
    for (int threads = 1; threads <= MAX_THREADS; threads++) {
      int64_t m = ms[mi];
      run(&r, a, w, m, threads, out);
      const float *wi = w, *got = out;
      for (int i = 0; i < COUNT; i++) {
        int64_t n = columns[i];
        for (int64_t row = 0; row < m; row++)
          for (int64_t col = 0; col < n; col++) {
            const float *x = a + row * k;
            float want = chain(x, wi, n, col, 0, k1) + chain(x, wi, n, col, k1, k);
            float one = chain(x, wi, n, col, 0, k);
            float v = got[row * n + col];
            ck_assert_msg(!memcmp(&v, &want, sizeof v),
                          "width %s K %lld N %lld M %lld on %d threads: [%lld, %lld] is %a, "
                          "the two chains give %a",
                          width, (long long)k, (long long)n, (long long)m, threads, (long long)row,
                          (long long)col, (double)v, (double)want);
            unlike_one_chain += memcmp(&one, &want, sizeof one) != 0;
          }
        wi += k * n, got += m * n;
      }
    }
  ck_assert_msg(unlike_one_chain > 0, "K %lld: the split sums equal the one chain everywhere",
                (long long)k);
  free(a), free(w), free(out);
  codegen_release(r.jit);
  graph_free(&r.g);
  free(r.prog.params);
}

static const char *const widths[2] = {"16", "8"};

START_TEST(parts_are_two_chains_k1001) {
  check(1001, 504, widths[_i]);
}
END_TEST

START_TEST(parts_are_two_chains_k600) {
  check(600, 300, widths[_i]);
}
END_TEST

START_TEST(parts_are_two_chains_k512) {
  check(512, 264, widths[_i]);
}
END_TEST

/* ---- fits ---- */
enum { N = 96, IN = 600, BATCH = 32, EPOCHS = 2 };

static nnc_model *new_model_shaped(int threads, const char *shape, const char *flatten) {
  nnc_status st;
  char layers[512];
  snprintf(layers, sizeof layers, "%s%s", flatten,
           "{'class_name': 'Dense', 'config': {'name': 'd0', 'units': 64, 'activation': 'relu'}},"
           "{'class_name': 'Dense', 'config': {'name': 'd1', 'units': 10}}");
  nnc_model *m = testutil_load(testutil_sequential(
      shape, layers,
      testutil_json("{'optimizer': {'class_name': 'RMSprop', 'config': {'learning_rate': 0.01}}, "
                    "'loss': {'class_name': 'SparseCategoricalCrossentropy', "
                    "'config': {'from_logits': true}}}")));
  ck_assert_msg(!nnc_model_set_seed(m, 7, &st), "%s", st.message);
  ck_assert_msg(!nnc_model_set_threads(m, threads, &st), "%s", st.message);
  ck_assert_msg(!nnc_model_set_thread_tuning(m, 0, &st), "%s", st.message);
  return m;
}

static nnc_model *new_model(int threads) {
  return new_model_shaped(threads, "600", "");
}

/* image: the same rows as [N, 20, 30] */
static void fit_as(nnc_model *m, int image) {
  static float x[N * IN], y[N];
  for (int i = 0; i < N * IN; i++) x[i] = (float)sin(0.37 * i);
  for (int i = 0; i < N; i++) y[i] = (float)(i * 7 % 10);
  nnc_array xa = testutil_f32(x, N, IN), ya = testutil_f32(y, N, 1);
  if (image) xa.rank = 3, xa.shape[1] = 20, xa.shape[2] = 30;
  ya.rank = 1;
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = EPOCHS, o.batch_size = BATCH, o.verbose = 0;
  nnc_status st;
  ck_assert_msg(!nnc_model_fit(m, &xa, &ya, &o, NULL, &st), "%s", st.message);
}

static void fit(nnc_model *m) {
  fit_as(m, 0);
}

static nnc_array kernel_of(nnc_model *m) {
  nnc_status st;
  nnc_array w;
  ck_assert_msg(!nnc_model_get_weight(m, "d0/kernel", &w, &st), "%s", st.message);
  return w;
}

/* a's and b's d0/kernel are the same bytes; frees both models */
static void same_kernels(nnc_model *a, nnc_model *b, const char *what) {
  nnc_array x = kernel_of(a), y = kernel_of(b);
  ck_assert_msg(!memcmp(x.data, y.data, (size_t)nnc_array_count(&x) * sizeof(float)),
                "d0/kernel differs between %s", what);
  nnc_array_free(&x), nnc_array_free(&y);
  nnc_model_free(a), nnc_model_free(b);
}

START_TEST(fit_same_bits_on_one_and_two_threads) {
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1); /* the pool runs every step of two threads */
  nnc_model *one = new_model(1), *two = new_model(2);
  fit(one);
  fit(two);
  unsetenv("NNC_SPLIT_SMALL_STEPS");
  same_kernels(one, two, "1 and 2 threads");
}
END_TEST

START_TEST(flattened_input_gives_the_same_bits) {
  nnc_model *flat = new_model(2);
  nnc_model *image =
      new_model_shaped(2, "20, 30", "{'class_name': 'Flatten', 'config': {'name': 'f'}},");
  fit(flat);
  fit_as(image, 1);
  same_kernels(flat, image, "Input(600) and Input(20, 30) + Flatten");
}
END_TEST

START_TEST(unsplit_fit_is_the_same_up_to_rounding) {
  nnc_model *split = new_model(1);
  fit(split);
  setenv("NNC_KSPLIT", "0", 1); /* read when the fit compiles the model */
  nnc_model *whole = new_model(1);
  fit(whole);
  unsetenv("NNC_KSPLIT");
  nnc_array a = kernel_of(split), b = kernel_of(whole);
  const float *x = a.data, *y = b.data;
  double most = 0, scale = 0;
  for (int64_t i = 0; i < nnc_array_count(&a); i++) {
    most = fmax(most, fabs((double)x[i] - (double)y[i]));
    scale = fmax(scale, fabs((double)y[i]));
  }
  ck_assert_msg(most > 0, "NNC_KSPLIT=0 changed nothing");
  ck_assert_msg(most <= 1e-4 * scale, "split and whole differ by %g (weights up to %g)", most,
                scale);
  nnc_array_free(&a), nnc_array_free(&b);
  nnc_model_free(split), nnc_model_free(whole);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("ksplit36");
  TCase *tc = tcase_create("ksplit");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, parts_are_two_chains_k1001, 0, 2);
  tcase_add_loop_test(tc, parts_are_two_chains_k600, 0, 2);
  tcase_add_loop_test(tc, parts_are_two_chains_k512, 0, 2);
  tcase_add_test(tc, fit_same_bits_on_one_and_two_threads);
  tcase_add_test(tc, unsplit_fit_is_the_same_up_to_rounding);
  tcase_add_test(tc, flattened_input_gives_the_same_bits);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return testutil_run(suite());
}
