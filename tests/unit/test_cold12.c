/* The out-of-line GEMM (compiler/codegen/emit_gemm.c, session 12): each
 * matmul kernel calls one shared function per register-tile strip variant
 * (run-time n, block and columns) instead of unrolling the tiles with its
 * constant n. Fits of a dense model (a contraction of two K blocks, packed
 * strips, a masked last strip, transposed B), a convnet and an LSTM (their
 * Dense heads) are bit-identical to the inline tiles (NNC_GEMM_INLINE=1),
 * also at AVX2 width with float64 sums; the strip functions are shared
 * between kernels; the objects are the same bytes whichever compile thread
 * finishes first. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler/compile.h"
#include "compiler/spec/spec.h"
#include "oracle_case.h"
#include "testutil.h"

/* 600 inputs: two K blocks of the forward product (KC = 512, the second
 * continues the chain from C); 80 units: packed strips and a 16-column last
 * strip at width 16 (a full strip and a masked one at width 8) */
static const char *wide_json =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"w\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 600], \"name\": \"i\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 80, \"activation\": "
    "\"relu\"}}, {\"class_name\": \"Dense\", \"config\": {\"name\": \"e\", \"units\": 70, "
    "\"activation\": \"tanh\"}}, {\"class_name\": \"Dense\", \"config\": {\"name\": \"o\", "
    "\"units\": 3}}]}, \"compile_config\": {\"optimizer\": \"adam\", \"loss\": \"mse\"}}";

enum { WIDE_N = 29, WIDE_IN = 600 };

/* Two epochs of the wide model on generated data in batches of 8 (a partial
 * last batch), float64 sums when f64. */
static void wide_fit(int f64, fit_run *r) {
  static float xs[WIDE_N * WIDE_IN], ys[WIDE_N * 3];
  fill_uniform(xs, WIDE_N * WIDE_IN, 5);
  fill_uniform(ys, WIDE_N * 3, 6);
  nnc_array x = testutil_f32(xs, WIDE_N, WIDE_IN), y = testutil_f32(ys, WIDE_N, 3);
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(wide_json, "w.json", &m, &st) == NNC_OK, "%s", st.message);
  if (f64)
    ck_assert_msg(nnc_model_set_accumulation(m, NNC_ACCUMULATE_F64, &st) == NNC_OK, "%s",
                  st.message);
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = 2;
  o.batch_size = 8;
  o.verbose = 0;
  memset(&r->h, 0, sizeof r->h);
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &r->h, &st) == NNC_OK, "%s", st.message);
  weights_get(m, &r->w);
  nnc_model_free(m);
}

/* model k of oracle_case's small models, or (k == SMALL_MODELS) the wide
 * one, float64 sums for the wide one when f64 */
static void fit_model(int k, int f64, fit_run *r) {
  if (k == SMALL_MODELS)
    wide_fit(f64, r);
  else
    small_model_fit(k, r);
}

static void fit_both_ways(int k, int f64, const char *what) {
  fit_run shared, inl;
  fit_model(k, f64, &shared);
  setenv("NNC_GEMM_INLINE", "1", 1);
  fit_model(k, f64, &inl);
  unsetenv("NNC_GEMM_INLINE");
  fit_run_same(&shared, &inl, what);
  fit_run_free(&shared);
  fit_run_free(&inl);
}

START_TEST(fits_match_inline_tiles) {
  setenv("NNC_CACHE", "0", 1);
  fit_both_ways(SMALL_MODELS, 0, "wide");
  fit_both_ways(SMALL_CONV, 0, "conv");
  fit_both_ways(SMALL_LSTM, 0, "lstm");
  /* AVX2 tiles (6 x 2 vectors of 8) with float64 sums (no K blocks) */
  setenv("NNC_VECTOR_WIDTH", "8", 1);
  fit_both_ways(SMALL_MODELS, 1, "wide, width 8, float64 sums");
  unsetenv("NNC_VECTOR_WIDTH");
  unsetenv("NNC_CACHE");
}
END_TEST

/* The wide model compiled (train, test, predict) without the disk cache:
 * the objects' bytes in *m; the module before optimisation in ir_path when
 * not NULL (emit only). */
static void compile_wide(codegen_memo *m, const char *ir_path) {
  nnc_spec spec;
  nnc_status st;
  ck_assert_msg(nnc_spec_parse_string(wide_json, "w.json", &spec, &st) == NNC_OK, "%s", st.message);
  nnc_compile_options opts;
  memset(&opts, 0, sizeof opts);
  opts.no_cache = 1;
  opts.dump_ir_pre = ir_path;
  opts.emit_only = ir_path != NULL;
  codegen_memo_free(m);
  opts.memo = m;
  nnc_compiled c;
  ck_assert_msg(nnc_compile_spec(&spec, NULL, &opts, &c, &st) == NNC_OK, "%s", st.message);
  nnc_compiled_free(&c);
  nnc_spec_free(&spec);
}

/* Occurrences of `what` in the file at path. */
static int count_in_file(const char *path, const char *what) {
  FILE *f = fopen(path, "r");
  ck_assert_ptr_nonnull(f);
  char line[4096];
  int n = 0;
  while (fgets(line, sizeof line, f))
    for (const char *p = line; (p = strstr(p, what)); p += strlen(what)) n++;
  fclose(f);
  return n;
}

/* Every strip function is defined once and called by several kernels; the
 * inline tiles define none. */
START_TEST(strip_functions_are_shared) {
  char path[] = "/tmp/nnc_cold12_XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  codegen_memo m = {0};
  compile_wide(&m, path);
  int defined = count_in_file(path, "define internal void @gemm_strip_");
  int calls = count_in_file(path, "call void @gemm_strip_");
  ck_assert_msg(defined >= 2 && calls > defined, "%d strip functions, %d calls", defined, calls);
  setenv("NNC_GEMM_INLINE", "1", 1);
  compile_wide(&m, path);
  unsetenv("NNC_GEMM_INLINE");
  ck_assert_int_eq(count_in_file(path, "gemm_strip_"), 0);
  unlink(path);
  codegen_memo_free(&m);
}
END_TEST

/* The strip functions are called across the two parts: the objects must not
 * depend on which compile thread finishes first. */
START_TEST(objects_do_not_depend_on_thread_timing) {
  codegen_memo threads = {0}, serial = {0};
  compile_wide(&threads, NULL);
  setenv("NNC_CODEGEN_SERIAL", "1", 1); /* part 1 first, then part 0, on this thread */
  compile_wide(&serial, NULL);
  unsetenv("NNC_CODEGEN_SERIAL");
  ck_assert(threads.has && serial.has);
  ck_assert_msg(serial.len == threads.len && !memcmp(serial.data, threads.data, threads.len),
                "the objects differ with the last part compiled first");
  codegen_memo_free(&threads);
  codegen_memo_free(&serial);
}
END_TEST

int main(void) {
  /* the forward product whole (NNC_KSPLIT=0): split along K (session 36),
   * the dense model's 600 inputs would no longer make two K blocks */
  setenv("NNC_KSPLIT", "0", 1);
  /* the strips these checks read are the module's own: the library's (the
   * same emitter, built with nnc) are test_strip_lib28's */
  setenv("NNC_STRIP_LIB", "0", 1);
  Suite *s = suite_create("cold12");
  TCase *tc = tcase_create("cold12");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, fits_match_inline_tiles);
  tcase_add_test(tc, strip_functions_are_shared);
  tcase_add_test(tc, objects_do_not_depend_on_thread_timing);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
