/* Session 19's cold compile (compiler/codegen/jit.c, module_split.c):
 * - the split counts a kernel with cheap code generation as less than
 *   others (checked against a deal derived by hand; NNC_SPLIT_CHEAP=0 gives
 *   the old deal, NNC_CHEAP_CODEGEN=0 the same one: that switch changes code
 *   generation alone); since session 35 it estimates each kind of kernel,
 *   and the drivers at code generation level None (NNC_DRIVER_CODEGEN=0:
 *   at the full level), by its own rule (another deal derived by hand);
 * - IPSCCP and dead-argument elimination run on the whole module before the
 *   split, so every function of the optimised module is the same size split
 *   and as one module, whichever part it landed in;
 * - when the only kernels outside the light set are row ops (softmax here),
 *   they take the row pipeline instead of O3 (no function-attrs pass: their
 *   pointer arguments are not marked nocapture), and O3 with
 *   NNC_ROW_PIPELINE=0;
 * - fits with both switches on and off are the same bits, at width 16 on 2
 *   threads and width 8 on 1. */
#include <check.h>
#include <llvm-c/Core.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler/codegen/module_split.h"
#include "compiler/compile.h"
#include "compiler/spec/spec.h"
#include "nnc.h"
#include "oracle_case.h"
#include "testutil.h"

/* A kernel of exactly n instructions: n - 1 adds and the return. A driver
 * (named nnc_...) is optnone, as jit.c marks the drivers, and one named
 * nnc_apart_... is to be compiled apart (CG_DRIVER_APART_ATTR). */
static void add_kernel(LLVMModuleRef mod, const char *name, int n) {
  LLVMContextRef ctx = LLVMGetModuleContext(mod);
  LLVMTypeRef i64 = LLVMInt64TypeInContext(ctx);
  LLVMValueRef f = LLVMAddFunction(mod, name, LLVMFunctionType(i64, &i64, 1, 0));
  if (!strncmp(name, "nnc_", 4))
    for (int k = 0; k < 2; k++) {
      const char *attr = k ? "optnone" : "noinline";
      unsigned kind = LLVMGetEnumAttributeKindForName(attr, strlen(attr));
      LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(ctx, kind, 0));
    }
  if (!strncmp(name, "nnc_apart_", 10))
    LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex,
                            LLVMCreateStringAttribute(ctx, CG_DRIVER_APART_ATTR,
                                                      (unsigned)strlen(CG_DRIVER_APART_ATTR), "",
                                                      0));
  if (!strncmp(name, "tile_", 5)) /* a tile group's kernel (session 37) */
    LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex,
                            LLVMCreateStringAttribute(ctx, CG_TILE_GROUP_ATTR,
                                                      (unsigned)strlen(CG_TILE_GROUP_ATTR), "", 0));
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

static const char *const names[] = {"t_g1_matmul", "t_g2_binary", "t_g3_binary", "t_g4_reduce",
                                    NULL};
static const int sizes[] = {100, 60, 30, 10};

/* Splits the functions names[i] of sizes[i] instructions and checks each is
 * in part[i]. */
static void check_split(const char *const *names, const int *sizes, const int *part,
                        const char *what) {
  LLVMContextRef ctx = LLVMContextCreate();
  LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("m", ctx);
  int n = 0;
  for (; names[n]; n++) add_kernel(mod, names[n], sizes[n]);
  LLVMContextRef ctx1 = NULL;
  LLVMModuleRef mod1 = NULL;
  int defined = 0;
  nnc_status st;
  ck_assert_int_eq(module_split(mod, &ctx1, &mod1, &defined, &st), NNC_OK);
  ck_assert_int_eq(defined, n);
  ck_assert_ptr_nonnull(mod1);
  for (int i = 0; i < n; i++) {
    ck_assert_msg(defines(mod, names[i]) == (part[i] == 0), "%s: %s not in part %d", what, names[i],
                  part[i]);
    ck_assert_msg(defines(mod1, names[i]) == (part[i] == 1), "%s: %s not in part %d", what,
                  names[i], part[i]);
  }
  LLVMDisposeModule(mod1);
  LLVMContextDispose(ctx1);
  LLVMDisposeModule(mod);
  LLVMContextDispose(ctx);
}

static void check_deal(const int *part, const char *what) {
  check_split(names, sizes, part, what);
}

/* Both parts start at 0. The binary kernels (cheap code generation) cost
 * 20 + 3 n / 5: 56 and 38; the matmul 5 n - 100 = 400, the reduce 13 n / 10
 * + 10 = 23. Largest first, to the lighter part (ties: part 0): matmul -> 0
 * (400, 0), binary 60 -> 1 (400, 56), binary 30 -> 1 (400, 94), reduce -> 1
 * (400, 117). Counted as other kernels, 300 + 4 n (540 and 420; the matmul
 * 700, the reduce 340), as before session 19: matmul -> 0, binary 60 -> 1
 * (700, 540), binary 30 -> 1 (700, 960), reduce -> 0 (1040, 960). */
START_TEST(cheap_kernels_cost_less_in_the_split) {
  const int cheap[] = {0, 1, 1, 1}, old[] = {0, 1, 1, 0};
  check_deal(cheap, "cheap");
  setenv("NNC_SPLIT_CHEAP", "0", 1);
  check_deal(old, "NNC_SPLIT_CHEAP=0");
  unsetenv("NNC_SPLIT_CHEAP");
  /* that switch changes code generation alone, not the deal */
  setenv("NNC_CHEAP_CODEGEN", "0", 1);
  check_deal(cheap, "NNC_CHEAP_CODEGEN=0");
  unsetenv("NNC_CHEAP_CODEGEN");
}
END_TEST

/* Session 35: each kind by its own rule, fitted to what LLVM spends on it.
 * A matmul of 60 instructions: 5 n - 100 = 200; reductions of 100 and 40:
 * 13 n / 10 + 10 = 140 and 62; a softmax of 50: 6 n / 5 + 20 = 80; a driver
 * of 300 (optnone) to compile at code generation level None: n / 3 = 100.
 * Largest first: matmul -> 0 (200, 0), reduce 100 -> 1 (200, 140), driver
 * -> 1 (200, 240), softmax -> 0 (280, 240), reduce 40 -> 1 (280, 302). A
 * driver at the full level: 3 n / 4 = 225 -> 0 (225, 0), matmul -> 1 (225,
 * 200), reduce 100 -> 1 (225, 340), softmax -> 0 (305, 340), reduce 40 -> 0
 * (367, 340). Session 19's estimate (NNC_SPLIT_CHEAP=0: 300 + 4 n a kernel,
 * 3 n / 2 a driver): 540, 700, 460, 500, 450: reduce 100 -> 0 (700, 0),
 * matmul -> 1 (700, 540), softmax -> 1 (700, 1040), reduce 40 -> 0 (1160,
 * 1040), driver -> 1 (1160, 1490). */
START_TEST(each_kind_costs_its_own) {
  const char *kinds[] = {"t_g1_matmul",  "t_g2_reduce",       "t_g3_reduce",
                         "t_g4_softmax", "nnc_apart_t_part0", NULL};
  const int n[] = {60, 100, 40, 50, 300};
  const int now[] = {0, 1, 1, 0, 1}, full[] = {1, 1, 0, 0, 0}, old[] = {1, 0, 0, 1, 1};
  check_split(kinds, n, now, "by kind, the driver apart");
  kinds[4] = "nnc_t_part0";
  check_split(kinds, n, full, "by kind, the driver at the full level");
  kinds[4] = "nnc_apart_t_part0";
  setenv("NNC_SPLIT_CHEAP", "0", 1);
  check_split(kinds, n, old, "NNC_SPLIT_CHEAP=0");
  unsetenv("NNC_SPLIT_CHEAP");
}
END_TEST

/* Session 37: a matmul kernel with its strips inline and the update on the
 * tile (CG_TILE_GROUP_ATTR) costs 5 n / 2: 250 for 100 instructions. With a
 * matmul of 60 (200) and reductions of 100 (140) and 40 (62): tile -> 0
 * (250, 0), matmul -> 1 (250, 200), reduce 100 -> 1 (250, 340), reduce 40
 * -> 0 (312, 340). Unmarked, the 100-instruction matmul is 5 n - 100 = 400:
 * -> 0, matmul 60 -> 1 (400, 200), reduce 100 -> 1 (400, 340), reduce 40 ->
 * 1 (400, 402). */
START_TEST(a_tile_group_costs_half_a_matmul) {
  const char *kinds[] = {"tile_t_g1_matmul", "t_g2_matmul", "t_g3_reduce", "t_g4_reduce", NULL};
  const int n[] = {100, 60, 100, 40};
  const int tile[] = {0, 1, 1, 0}, plain[] = {0, 1, 1, 1};
  check_split(kinds, n, tile, "a tile group");
  kinds[0] = "t_g1_matmul";
  check_split(kinds, n, plain, "a matmul calling its strips");
}
END_TEST

/* Dense(24, relu), Dropout, Dense(10, softmax); Adam, MSE. */
static const char model_json[] =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 20], \"name\": \"i\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"a\", \"units\": 24, \"activation\": "
    "\"relu\"}},"
    "{\"class_name\": \"Dropout\", \"config\": {\"name\": \"d\", \"rate\": 0.25}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"b\", \"units\": 10, \"activation\": "
    "\"softmax\"}}]},"
    "\"compile_config\": {\"optimizer\": \"adam\", \"loss\": \"mse\"}}";
enum { ROWS = 11, IN = 20, OUT = 10 };

/* The optimised IR of the model at width 16. */
static char *post_ir(void) {
  return testutil_post_ir(model_json, "16");
}

/* The instructions of function `name` in the IR text, or -1 if it is not
 * defined there. */
static int size_of(const char *ir, const char *name) {
  char head[160];
  snprintf(head, sizeof head, " @%s(", name);
  for (const char *d = ir; (d = strstr(d, "\ndefine ")); d++) {
    const char *eol = strchr(d + 1, '\n');
    const char *hit = strstr(d, head);
    if (!eol || !hit || hit > eol) continue;
    int n = 0;
    for (const char *l = eol + 1; *l && *l != '}'; l = strchr(l, '\n') + 1) {
      n += l[0] == ' ' && l[1] == ' ' && l[2] != ' ';
      if (!strchr(l, '\n')) break;
    }
    return n;
  }
  return -1;
}

START_TEST(same_code_whatever_the_part) {
  char *split = post_ir();
  setenv("NNC_CODEGEN_SPLIT", "0", 1);
  char *one = post_ir();
  unsetenv("NNC_CODEGEN_SPLIT");
  int functions = 0, strips = 0;
  for (const char *d = one; (d = strstr(d, "\ndefine ")); d++) {
    const char *at = strchr(d, '@'), *paren = at ? strchr(at, '(') : NULL;
    ck_assert_ptr_nonnull(paren);
    char name[160];
    snprintf(name, sizeof name, "%.*s", (int)(paren - at - 1), at + 1);
    int a = size_of(split, name), b = size_of(one, name);
    ck_assert_msg(a == b, "%s: %d instructions split, %d as one module", name, a, b);
    functions++;
    strips += !strncmp(name, "gemm_strip_", 11);
  }
  ck_assert_msg(functions > 20 && strips >= 3, "%d functions, %d strips", functions, strips);
  free(split);
  free(one);
}
END_TEST

/* Does the define line of the first kernel whose name ends in `suffix`
 * mark an argument nocapture (the function-attrs pass of O3)? */
static int nocapture(const char *ir, const char *suffix) {
  for (const char *d = ir; (d = strstr(d, "\ndefine ")); d++) {
    const char *eol = strchr(d + 1, '\n'), *paren = strchr(d, '(');
    ck_assert_ptr_nonnull(eol);
    if (!paren || paren > eol || (size_t)(paren - d) < strlen(suffix) ||
        strncmp(paren - strlen(suffix), suffix, strlen(suffix)))
      continue;
    const char *hit = strstr(d, " nocapture ");
    return hit && hit < eol;
  }
  ck_abort_msg("no kernel ending in %s", suffix);
  return -1;
}

START_TEST(row_kernels_take_the_row_pipeline) {
  char *row = post_ir();
  setenv("NNC_ROW_PIPELINE", "0", 1);
  char *o3 = post_ir();
  unsetenv("NNC_ROW_PIPELINE");
  ck_assert_msg(!nocapture(row, "_softmax"), "the softmax kernel went through O3");
  ck_assert_msg(nocapture(o3, "_softmax"), "NNC_ROW_PIPELINE=0: no O3 for the softmax kernel");
  free(row);
  free(o3);
}
END_TEST

static void fit_model(int threads, fit_run *r) {
  float xs[ROWS * IN], ys[ROWS * OUT];
  fill_uniform(xs, ROWS * IN, 5);
  fill_uniform(ys, ROWS * OUT, 6);
  nnc_array x = testutil_f32(xs, ROWS, IN), y = testutil_f32(ys, ROWS, OUT);
  /* 11 rows: batches of 4, 4 and 3 */
  fit_run_fit_threads(model_json, "m.json", &x, &y, 2, 4, threads, r);
}

START_TEST(same_bits_either_way) {
  const char *const before[] = {"NNC_SPLIT_CHEAP=0", "NNC_ROW_PIPELINE=0", NULL};
  fit_run_same_with(fit_model, before, "session 19 / before");
}
END_TEST

int main(void) {
  /* the strips these checks read are the module's own: the library's (the
   * same emitter, built with nnc) are test_strip_lib28's */
  setenv("NNC_STRIP_LIB", "0", 1);
  Suite *s = suite_create("cold19");
  TCase *tc = tcase_create("cold19");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, cheap_kernels_cost_less_in_the_split);
  tcase_add_test(tc, each_kind_costs_its_own);
  tcase_add_test(tc, a_tile_group_costs_half_a_matmul);
  tcase_add_test(tc, same_code_whatever_the_part);
  tcase_add_test(tc, row_kernels_take_the_row_pipeline);
  tcase_add_test(tc, same_bits_either_way);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
