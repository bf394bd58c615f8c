/* The pipeline per kernel kind (compiler/codegen/jit.c): matmul and
 * elementwise kernels go through the light pipeline, the others through O3.
 * Fits of a dense model (dropout, softmax cross-entropy, Adam), a convnet
 * and an LSTM are bit-identical to every function through O3
 * (NNC_OPT_UNIFORM=1), at the AVX-512 and the AVX2 vector width; the
 * functions through O3 are counted (fewer than all, some for conv and LSTM),
 * and the optimised module keeps no temporary optnone on a kernel. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler/compile.h"
#include "compiler/spec/spec.h"
#include "oracle_case.h"
#include "testutil.h"

enum { DENSE = SMALL_DENSE, CONV = SMALL_CONV, LSTM = SMALL_LSTM, MODELS = SMALL_MODELS };
#define spec_json small_model_spec
#define fit_model small_model_fit

/* Compile model k (train, test, predict) with the optimised IR in `post`;
 * the timing counts. */
static nnc_timing compile_model(int k, const char *post) {
  char json[2048];
  spec_json(k, json, sizeof json);
  nnc_timing timing;
  memset(&timing, 0, sizeof timing);
  nnc_compile_options opts;
  memset(&opts, 0, sizeof opts);
  opts.timing = &timing;
  opts.no_cache = 1;
  opts.dump_ir_post = post;
  nnc_status st;
  ck_assert_msg(testutil_compile(json, &opts, &st) == NNC_OK, "%s", st.message);
  return timing;
}

/* The kernels (functions not named nnc_*, the drivers) of the IR file
 * `path` whose attribute group has `what`; *all gets the number of kernels. */
static int kernels_with(const char *path, const char *what, int *all) {
  FILE *f = fopen(path, "r");
  ck_assert_ptr_nonnull(f);
  static char line[1 << 16];
  int group_has[4096] = {0}, kernel_group[4096], kernels = 0, n = 0;
  while (fgets(line, sizeof line, f)) {
    int g;
    if (!strncmp(line, "define ", 7) && !strstr(line, "@nnc_")) {
      const char *hash = strrchr(line, '#');
      ck_assert_ptr_nonnull(hash);
      ck_assert_int_lt(kernels, 4096);
      kernel_group[kernels++] = atoi(hash + 1);
    } else if (sscanf(line, "attributes #%d =", &g) == 1 && g >= 0 && g < 4096) {
      group_has[g] = strstr(line, what) != NULL;
    }
  }
  fclose(f);
  for (int i = 0; i < kernels; i++) n += group_has[kernel_group[i]];
  *all = kernels;
  return n;
}

START_TEST(light_pipeline_fits_match_uniform_o3) {
  setenv("NNC_CACHE", "0", 1);
  const char *widths[2] = {"16", "8"};
  for (int wi = 0; wi < 2; wi++) {
    setenv("NNC_VECTOR_WIDTH", widths[wi], 1);
    for (int k = 0; k < MODELS; k++) {
      if (k != DENSE && wi > 0) continue; /* conv and LSTM kernels keep O3: one width is enough */
      char what[64];
      snprintf(what, sizeof what, "model %d, width %s", k, widths[wi]);
      fit_run light, full;
      fit_model(k, &light);
      setenv("NNC_OPT_UNIFORM", "1", 1);
      fit_model(k, &full);
      unsetenv("NNC_OPT_UNIFORM");
      fit_run_same(&light, &full, what);
      fit_run_free(&light);
      fit_run_free(&full);
    }
  }
  unsetenv("NNC_VECTOR_WIDTH");
  unsetenv("NNC_CACHE");
}
END_TEST

/* Counted: the light pipeline took the matmul and elementwise kernels (fewer
 * functions through O3 than kernels), conv, pooling and the recurrence kept
 * O3, and NNC_OPT_UNIFORM=1 sends every function through O3. The module after
 * optimisation has optnone on the drivers only (jit.c's temporary marks are
 * gone: a kernel left optnone would get unoptimised machine code). */
START_TEST(kernels_counted_by_pipeline) {
  /* session 18's optnone after the pipelines (cheap code generation) is
   * meant to be there; test_cold18 checks it */
  setenv("NNC_CHEAP_CODEGEN", "0", 1);
  char post[64];
  snprintf(post, sizeof post, "/tmp/nnc_cold10_%d.ll", (int)getpid());
  for (int k = 0; k < MODELS; k++) {
    nnc_timing t = compile_model(k, post);
    long distinct = t.kernels - t.kernels_shared;
    ck_assert_msg(t.kernels_o3 < distinct, "model %d: %ld of %ld kernels through O3", k,
                  t.kernels_o3, distinct);
    if (k != DENSE) ck_assert_msg(t.kernels_o3 > 0, "model %d: nothing through O3", k);
    int all;
    ck_assert_int_eq(kernels_with(post, "optnone", &all), 0);
    ck_assert_int_eq(kernels_with(post, "nnc-hidden", &all), 0);
    ck_assert_int_eq(kernels_with(post, "nnc-light-opt", &all), all - t.kernels_o3);
    if (k != CONV) continue;
    setenv("NNC_OPT_UNIFORM", "1", 1);
    nnc_timing u = compile_model(k, post);
    unsetenv("NNC_OPT_UNIFORM");
    /* the shared GEMM strip functions (session 12) are functions too */
    ck_assert_int_eq(u.kernels_o3, distinct + t.kernels_light + t.gemm_strips);
  }
  unlink(post);
  unsetenv("NNC_CHEAP_CODEGEN");
}
END_TEST

int main(void) {
  /* the module's own strips on both sides: with NNC_OPT_UNIFORM=1 a module
   * takes none from the library (strip_lib.h), so the counts would differ */
  setenv("NNC_STRIP_LIB", "0", 1);
  Suite *s = suite_create("cold10");
  TCase *tc = tcase_create("cold10");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, light_pipeline_fits_match_uniform_o3);
  tcase_add_test(tc, kernels_counted_by_pipeline);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
