/* The GEMM strip library (session 28, compiler/codegen/strip_lib.h): the
 * strips without an epilogue compiled once when nnc is built, declared by
 * each module and linked into its JIT.
 *
 * Checked: the library built here holds every variant its enumeration
 * names, at each width it claims (the object's own symbol table, read with
 * LLVM's object API), and was built for this host; a model whose products
 * take most variants (B in place and packed, transposed, A along rows and
 * down columns, one and two vectors, full and partial last vectors, three
 * contraction blocks, 13-row batches: 12 + 1 and 6 + 6 + 1 row tiles)
 * declares library strips (one with a relu's gradient on the tile: d's,
 * 1100 columns, the last vector partial) and fewer strips of its own than
 * with NNC_STRIP_LIB=0, and its fit (history, weights) and predictions are the
 * same bits with and without the library, at the host's width and at each
 * narrower one. */
#include <check.h>
#include <llvm-c/Object.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/codegen/cg.h"
#include "compiler/codegen/strip_lib.h"
#include "compiler/compile.h"
#include "compiler/spec/spec.h"
#include "nnc.h"
#include "oracle_case.h"
#include "testutil.h"

/* Input 37 -> Dense(1100, relu) -> Dense(21, linear, no bias) -> tanh ->
 * Dense(3): 1100 columns are past the in-place bound at every width (B
 * packed) and leave a last strip of 12 columns; K = 1100 is three blocks;
 * the linear product has no epilogue (its forward strip is the library's),
 * its 21 columns two vectors, the second partial. */
static const char json[] =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 37], \"name\": \"i\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 1100, \"activation\": "
    "\"relu\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"e\", \"units\": 21, \"use_bias\": "
    "false}},"
    "{\"class_name\": \"Activation\", \"config\": {\"name\": \"t\", \"activation\": \"tanh\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"o\", \"units\": 3}}]},"
    "\"compile_config\": {\"optimizer\": \"adam\", \"loss\": {\"class_name\": "
    "\"CategoricalCrossentropy\", \"config\": {\"from_logits\": true}}}}";

enum { N = 26, IN = 37 };

/* Is `name` a defined symbol of the ELF object? */
static int object_defines(LLVMBinaryRef bin, const char *name) {
  LLVMSymbolIteratorRef it = LLVMObjectFileCopySymbolIterator(bin);
  int found = 0;
  while (!found && !LLVMObjectFileIsSymbolIteratorAtEnd(bin, it)) {
    found = !strcmp(LLVMGetSymbolName(it), name) && LLVMGetSymbolSize(it) > 0;
    LLVMMoveToNextSymbol(it);
  }
  LLVMDisposeSymbolIterator(it);
  return found;
}

START_TEST(the_library_holds_every_variant) {
  const nnc_strip_library *lib = &nnc_strip_library_built;
  ck_assert_msg(lib->host, "this build has no strip library");
  char *here = strip_lib_host();
  ck_assert_msg(!strcmp(here, lib->host), "built for %s, running on %s", lib->host, here);
  free(here);
  int widest = codegen_vector_width();
  size_t size;
  /* built here for every width this host runs */
  for (int vw = 4; vw <= widest; vw *= 2)
    ck_assert_msg(strip_lib_object(vw, &size), "width %d", vw);
  ck_assert_int_eq(strip_lib_mode(widest), CG_STRIPS_LIBRARY);
  setenv("NNC_STRIP_LIB", "0", 1);
  ck_assert_int_eq(strip_lib_mode(widest), CG_STRIPS_OWN);
  unsetenv("NNC_STRIP_LIB");
  setenv("NNC_TILE_BORROW", "0", 1); /* the library's strips borrow */
  ck_assert_int_eq(strip_lib_mode(widest), CG_STRIPS_OWN);
  unsetenv("NNC_TILE_BORROW");

  LLVMContextRef ctx = LLVMContextCreate();
  int names = 0;
  for (int vw = 4; vw <= 16; vw *= 2) {
    const unsigned char *object = strip_lib_object(vw, &size);
    if (!object) continue;
    LLVMMemoryBufferRef buf =
        LLVMCreateMemoryBufferWithMemoryRange((const char *)object, size, "strips.o", 0);
    char *err = NULL;
    LLVMBinaryRef bin = LLVMCreateBinary(buf, ctx, &err);
    ck_assert_msg(bin, "the library of width %d is no object: %s", vw, err ? err : "");
    /* t = 2: B transposed with a relu's gradient on the tile, A along its rows */
    for (int t = 0; t < 3; t++)
      for (int p = 0; p < 2; p++)
        for (int a = t == 2 ? 2 : 0; a < 4; a++)
          for (int v = 1; v <= 2; v++)
            for (int m = 0; m < 2; m++) {
              char name[128];
              cg_gemm_library_name(name, sizeof name, vw, t > 0, p, a, v, m, t == 2);
              ck_assert_msg(object_defines(bin, name), "the library lacks %s", name);
              /* and no other width's: each JIT links one object */
              cg_gemm_library_name(name, sizeof name, vw == 16 ? 8 : 16, t > 0, p, a, v, m, t == 2);
              ck_assert_msg(!object_defines(bin, name), "width %d holds %s", vw, name);
              names++;
            }
    LLVMDisposeBinary(bin);
    LLVMDisposeMemoryBuffer(buf);
  }
  ck_assert_int_ge(names, 80);
  LLVMContextDispose(ctx);
}
END_TEST

/* Own and library strip functions of the module (emission only). */
static void strips_of_compile(long *own, long *library) {
  nnc_timing timing;
  testutil_emit_counts(json, &timing);
  *own = timing.gemm_strips;
  *library = timing.gemm_strips_library;
}

/* Does the module (emission only) declare a library strip with a relu's
 * gradient on its tile? d's input gradient e's dy W^T times step(h). */
static int declares_relu_grad_strip(void) {
  nnc_compile_options opts;
  memset(&opts, 0, sizeof opts);
  opts.emit_only = 1;
  opts.dump_ir_pre = testutil_path(testutil_tmpdir(), "pre.ll");
  nnc_status st;
  ck_assert_msg(testutil_compile(json, &opts, &st) == NNC_OK, "%s", st.message);
  char *ir = testutil_take_file(opts.dump_ir_pre);
  int found = 0;
  for (char *p = ir; !found && (p = strstr(p, "declare void @nnc_gemm_lib_")); p++)
    found = !strncmp(p + strcspn(p, "(") - 3, "_rg", 3);
  free(ir);
  return found;
}

typedef struct run {
  fit_run f;
  nnc_array pred;
} run;

static void fit_and_predict(run *r) {
  static float xs[N * IN];
  float ys[N * 3];
  fill_uniform(xs, N * IN, 28);
  for (int i = 0; i < N * 3; i++) ys[i] = (float)(i % 3 == (i / 3) % 3);
  nnc_array x = testutil_f32(xs, N, IN), y = testutil_f32(ys, N, 3);
  memset(r, 0, sizeof *r);
  fit_run_fit(json, "s.json", &x, &y, 2, 13, &r->f);
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, "s.json", &m, &st) == NNC_OK, "%s", st.message);
  weights_put(m, &r->f.w);
  ck_assert_msg(nnc_model_predict(m, &x, 13, &r->pred, &st) == NNC_OK, "%s", st.message);
  nnc_model_free(m);
}

START_TEST(models_take_the_library_and_keep_their_bits) {
  setenv("NNC_CACHE", "0", 1);
  char width[16];
  for (int vw = codegen_vector_width(); vw >= 4; vw /= 2) {
    snprintf(width, sizeof width, "%d", vw);
    setenv("NNC_VECTOR_WIDTH", width, 1);
    long own_lib, from_lib, own_alone, lib_alone;
    strips_of_compile(&own_lib, &from_lib);
    setenv("NNC_STRIP_LIB", "0", 1);
    strips_of_compile(&own_alone, &lib_alone);
    unsetenv("NNC_STRIP_LIB");
    ck_assert_msg(from_lib > 0 && lib_alone == 0 && own_lib < own_alone,
                  "width %d: %ld own strips and %ld from the library; alone %ld and %ld", vw,
                  own_lib, from_lib, own_alone, lib_alone);
    ck_assert_msg(declares_relu_grad_strip(), "width %d: no library strip with a relu gradient",
                  vw);

    run a, b;
    fit_and_predict(&a);
    setenv("NNC_STRIP_LIB", "0", 1);
    fit_and_predict(&b);
    unsetenv("NNC_STRIP_LIB");
    char what[64];
    snprintf(what, sizeof what, "width %d, library / own strips", vw);
    fit_run_same(&a.f, &b.f, what);
    int64_t n = nnc_array_count(&a.pred);
    ck_assert_int_eq(n, N * 3);
    ck_assert_int_eq(nnc_array_count(&b.pred), n);
    ck_assert_msg(!memcmp(a.pred.data, b.pred.data, sizeof(float) * (size_t)n),
                  "%s: predictions differ", what);
    fit_run_free(&a.f);
    fit_run_free(&b.f);
    nnc_array_free(&a.pred);
    nnc_array_free(&b.pred);
  }
  unsetenv("NNC_VECTOR_WIDTH");
  unsetenv("NNC_CACHE");
}
END_TEST

int main(void) {
  Suite *s = suite_create("strip_lib28");
  TCase *tc = tcase_create("strip_lib28");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, the_library_holds_every_variant);
  tcase_add_test(tc, models_take_the_library_and_keep_their_bits);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
