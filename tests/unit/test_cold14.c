/* The module split of session 14 (compiler/codegen/module_split.c): the
 * functions are dealt, largest first, to the lighter part, both parts
 * starting empty (session 30: the calling thread's serial work all comes
 * before part 1's thread starts, so part 0 gets no head start). Checked
 * against a deal derived by hand; and a deep Dense chain (the
 * kind of module whose split moved most) fits bit for bit as the
 * one-module compile, with the same object bytes whichever part finishes
 * first. */
#include <check.h>
#include <llvm-c/Core.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/codegen/module_split.h"
#include "compiler/compile.h"
#include "compiler/spec/spec.h"
#include "oracle_case.h"
#include "testutil.h"

/* A kernel of exactly n instructions: n - 1 adds and the return. */
static void add_kernel(LLVMModuleRef mod, const char *name, int n) {
  LLVMContextRef ctx = LLVMGetModuleContext(mod);
  LLVMTypeRef i64 = LLVMInt64TypeInContext(ctx);
  LLVMValueRef f = LLVMAddFunction(mod, name, LLVMFunctionType(i64, &i64, 1, 0));
  LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
  LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, f, "entry"));
  LLVMValueRef v = LLVMGetParam(f, 0);
  for (int i = 0; i < n - 1; i++) v = LLVMBuildAdd(b, v, LLVMConstInt(i64, 1, 0), "");
  LLVMBuildRet(b, v);
  LLVMDisposeBuilder(b);
}

static int defines(LLVMModuleRef mod, const char *name) {
  LLVMValueRef f = LLVMGetNamedFunction(mod, name);
  return f && !LLVMIsDeclaration(f);
}

/* Kernels a, b, c, d of 100, 60, 30 and 10 instructions cost 700, 540, 420
 * and 340 units (300 + 4 per instruction); both parts start at 0. Largest
 * first, each to the lighter part (ties: part 0): a -> 0 (700, 0), b -> 1
 * (700, 540), c -> 1 (700, 960), d -> 0 (1040, 960). Session 14's head
 * start of 200 / 2 = 100 units for part 0 dealt b, c | a, d instead. */
START_TEST(functions_dealt_largest_first_to_the_lighter_part) {
  LLVMContextRef ctx = LLVMContextCreate();
  LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("m", ctx);
  const char *names[] = {"a", "b", "c", "d"};
  const int sizes[] = {100, 60, 30, 10};
  for (int i = 0; i < 4; i++) add_kernel(mod, names[i], sizes[i]);
  LLVMContextRef ctx1 = NULL;
  LLVMModuleRef mod1 = NULL;
  int defined = 0;
  nnc_status st;
  ck_assert_int_eq(module_split(mod, &ctx1, &mod1, &defined, &st), NNC_OK);
  ck_assert_int_eq(defined, 4);
  ck_assert_ptr_nonnull(mod1);
  const int part[] = {0, 1, 1, 0};
  for (int i = 0; i < 4; i++) {
    ck_assert_msg(defines(mod, names[i]) == (part[i] == 0), "%s: not in part %d", names[i],
                  part[i]);
    ck_assert_msg(defines(mod1, names[i]) == (part[i] == 1), "%s: not in part %d", names[i],
                  part[i]);
  }
  LLVMDisposeModule(mod1);
  LLVMContextDispose(ctx1);
  LLVMDisposeModule(mod);
  LLVMContextDispose(ctx);
}
END_TEST

/* InputLayer [None, 8], four Dense(8, relu), Dense(3); MSE and Adam. */
static const char deep_json[] =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"deep\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 8], \"name\": \"in\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d0\", \"units\": 8, \"activation\": "
    "\"relu\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d1\", \"units\": 8, \"activation\": "
    "\"relu\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d2\", \"units\": 8, \"activation\": "
    "\"relu\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d3\", \"units\": 8, \"activation\": "
    "\"relu\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d4\", \"units\": 3}}]},"
    "\"compile_config\": {\"optimizer\": {\"class_name\": \"Adam\", \"config\": "
    "{\"learning_rate\": 0.01}}, \"loss\": \"mean_squared_error\"}}";

static void deep_fit(fit_run *r) {
  enum { N = 13 };
  float xs[N * 8], ys[N * 3];
  fill_uniform(xs, N * 8, 5);
  for (int i = 0; i < N * 3; i++) ys[i] = xs[(i * 5 + 2) % (N * 8)] * 0.7f;
  nnc_array x = testutil_f32(xs, N, 8), y = testutil_f32(ys, N, 3);
  fit_run_fit(deep_json, "deep.json", &x, &y, 2, 5, r);
}

/* The objects of the chain's compile (train, test, predict), no disk cache. */
static void deep_objects(codegen_memo *m) {
  nnc_timing timing;
  memset(&timing, 0, sizeof timing);
  testutil_compile_memo(deep_json, m, &timing);
  ck_assert_int_eq(timing.parts, 2);
}

START_TEST(deep_chain_split_matches_one_module) {
  setenv("NNC_CACHE", "0", 1);
  fit_run split, one;
  deep_fit(&split);
  setenv("NNC_CODEGEN_SPLIT", "0", 1);
  deep_fit(&one);
  unsetenv("NNC_CODEGEN_SPLIT");
  fit_run_same(&split, &one, "deep chain: split / one module");
  fit_run_free(&split);
  fit_run_free(&one);
  codegen_memo threads = {0}, serial = {0};
  deep_objects(&threads);
  setenv("NNC_CODEGEN_SERIAL", "1", 1); /* part 1 first, then part 0, on this thread */
  deep_objects(&serial);
  unsetenv("NNC_CODEGEN_SERIAL");
  ck_assert_msg(serial.len == threads.len && !memcmp(serial.data, threads.data, threads.len),
                "deep chain: the objects differ with the last part compiled first");
  codegen_memo_free(&threads);
  codegen_memo_free(&serial);
  unsetenv("NNC_CACHE");
}
END_TEST

int main(void) {
  Suite *s = suite_create("cold14");
  TCase *tc = tcase_create("cold14");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, functions_dealt_largest_first_to_the_lighter_part);
  tcase_add_test(tc, deep_chain_split_matches_one_module);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
