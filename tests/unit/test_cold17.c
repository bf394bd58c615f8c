/* The freeze after the transposed pack's round-2 shuffles (session 17,
 * compiler/codegen/pack_freeze.c). Checked:
 * - on a hand-built function, pack_freeze_run puts one freeze right after
 *   each marked instruction and nowhere else, hands it every use of the
 *   instruction, removes the marks and leaves a valid module; with
 *   NNC_PACK_FREEZE=0 nothing is marked and the function prints the same;
 * - on a real model (Dense(24, relu), Dense(20): dX = dy W^T is the
 *   transposed-B strip, K = 20), the marks survive the IR pipeline: every round-2
 *   shuffle of that strip's optimised IR is followed by a freeze of it and
 *   no other freeze exists (widths 16 and 8; width 4 has no marks), the
 *   machine code at width 16 is the same bytes as with NNC_PACK_FREEZE=0, whose
 *   unoptimised module is this one's without the marks;
 * - a transposed-B strip whose contraction is shorter than a vector (K = 6
 *   at widths 16 and 8; Dense(20, relu), Dense(6)) has no block loop in its
 *   pack (width 4 and K = 20 keep theirs: the test above), and fits at
 *   width 16 on 3 threads are the same bits as with NNC_PACK_SHORT=0. */
#include <check.h>
#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler/codegen/pack_freeze.h"
#include "compiler/compile.h"
#include "compiler/spec/spec.h"
#include "nnc.h"
#include "oracle_case.h"
#include "testutil.h"

/* f(p): four <4 x float> loads; s0 = shuffle(a, b), s1 = shuffle(c, d),
 * s2 = shuffle(s0, s1), s3 = shuffle(s0, s1); s0 and s2 marked; s1, s2, s3
 * stored, s0 only used by s2 and s3 (twice each). */
typedef struct toy {
  LLVMContextRef ctx;
  LLVMModuleRef mod;
  LLVMValueRef fn, s[4];
} toy;

static void toy_build(toy *t) {
  t->ctx = LLVMContextCreate();
  t->mod = LLVMModuleCreateWithNameInContext("toy", t->ctx);
  LLVMTypeRef f32 = LLVMFloatTypeInContext(t->ctx), v4 = LLVMVectorType(f32, 4);
  LLVMTypeRef ptr = LLVMPointerType(v4, 0), i32 = LLVMInt32TypeInContext(t->ctx);
  t->fn = LLVMAddFunction(t->mod, "f", LLVMFunctionType(LLVMVoidTypeInContext(t->ctx), &ptr, 1, 0));
  LLVMBuilderRef b = LLVMCreateBuilderInContext(t->ctx);
  LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(t->ctx, t->fn, "entry"));
  LLVMValueRef p = LLVMGetParam(t->fn, 0), x[4];
  for (int i = 0; i < 4; i++) {
    LLVMValueRef at = LLVMConstInt(i32, (unsigned)i, 0);
    x[i] = LLVMBuildLoad2(b, v4, LLVMBuildGEP2(b, v4, p, &at, 1, ""), "");
  }
  LLVMValueRef m[4];
  for (int k = 0; k < 4; k++) m[k] = LLVMConstInt(i32, (unsigned)(k & 1 ? 4 + k : k), 0);
  LLVMValueRef mask = LLVMConstVector(m, 4);
  t->s[0] = LLVMBuildShuffleVector(b, x[0], x[1], mask, "s0");
  t->s[1] = LLVMBuildShuffleVector(b, x[2], x[3], mask, "s1");
  t->s[2] = LLVMBuildShuffleVector(b, t->s[0], t->s[1], mask, "s2");
  t->s[3] = LLVMBuildShuffleVector(b, t->s[1], t->s[0], mask, "s3");
  LLVMValueRef s4 = LLVMBuildShuffleVector(b, t->s[0], t->s[0], mask, "s4");
  pack_freeze_mark(t->ctx, t->s[0]);
  pack_freeze_mark(t->ctx, t->s[2]);
  for (int i = 1; i < 4; i++) {
    LLVMValueRef at = LLVMConstInt(i32, (unsigned)(4 + i), 0);
    LLVMBuildStore(b, t->s[i], LLVMBuildGEP2(b, v4, p, &at, 1, ""));
  }
  LLVMValueRef at = LLVMConstInt(i32, 8, 0);
  LLVMBuildStore(b, s4, LLVMBuildGEP2(b, v4, p, &at, 1, ""));
  LLVMBuildRetVoid(b);
  LLVMDisposeBuilder(b);
}

static void toy_free(toy *t) {
  LLVMDisposeModule(t->mod);
  LLVMContextDispose(t->ctx);
}

static int freezes_in(LLVMValueRef fn) {
  int n = 0;
  for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(fn); bb; bb = LLVMGetNextBasicBlock(bb))
    for (LLVMValueRef i = LLVMGetFirstInstruction(bb); i; i = LLVMGetNextInstruction(i))
      n += LLVMGetInstructionOpcode(i) == LLVMFreeze;
  return n;
}

/* v's only user is the freeze right after it */
static LLVMValueRef frozen_after(LLVMValueRef v, const char *name) {
  LLVMValueRef f = LLVMGetNextInstruction(v);
  ck_assert_msg(f && LLVMGetInstructionOpcode(f) == LLVMFreeze && LLVMGetOperand(f, 0) == v,
                "%s: no freeze of it right after it", name);
  LLVMUseRef u = LLVMGetFirstUse(v);
  ck_assert_msg(u && LLVMGetUser(u) == f && !LLVMGetNextUse(u),
                "%s: used by something else than its freeze", name);
  return f;
}

START_TEST(freeze_after_marked_only) {
  unsetenv("NNC_PACK_FREEZE");
  toy t;
  toy_build(&t);
  ck_assert_int_eq(pack_freeze_run(t.mod), 2);
  LLVMValueRef f0 = frozen_after(t.s[0], "s0"), f2 = frozen_after(t.s[2], "s2");
  ck_assert_int_eq(freezes_in(t.fn), 2);
  /* the later shuffles read the frozen s0; s2's store the frozen s2 */
  ck_assert_ptr_eq(LLVMGetOperand(t.s[2], 0), f0);
  ck_assert_ptr_eq(LLVMGetOperand(t.s[3], 1), f0);
  ck_assert_ptr_eq(LLVMGetOperand(t.s[3], 0), t.s[1]);
  LLVMUseRef u = LLVMGetFirstUse(f2);
  ck_assert_msg(u && !LLVMGetNextUse(u) && LLVMGetInstructionOpcode(LLVMGetUser(u)) == LLVMStore,
                "s2's freeze: not stored");
  unsigned kind = LLVMGetMDKindIDInContext(t.ctx, PACK_FREEZE_MD, strlen(PACK_FREEZE_MD));
  for (int i = 0; i < 4; i++) ck_assert_ptr_null(LLVMGetMetadata(t.s[i], kind));
  char *msg = NULL;
  ck_assert_msg(!LLVMVerifyModule(t.mod, LLVMReturnStatusAction, &msg), "%s", msg);
  LLVMDisposeMessage(msg);
  ck_assert_int_eq(pack_freeze_run(t.mod), 0); /* the marks are gone */
  toy_free(&t);
}
END_TEST

START_TEST(switch_off_marks_nothing) {
  setenv("NNC_PACK_FREEZE", "0", 1);
  toy t;
  toy_build(&t);
  char *before = LLVMPrintModuleToString(t.mod);
  ck_assert_ptr_null(strstr(before, PACK_FREEZE_MD));
  ck_assert_int_eq(pack_freeze_run(t.mod), 0);
  char *after = LLVMPrintModuleToString(t.mod);
  ck_assert_str_eq(before, after);
  LLVMDisposeMessage(before);
  LLVMDisposeMessage(after);
  toy_free(&t);
  unsetenv("NNC_PACK_FREEZE");
}
END_TEST

/* InputLayer [None, 20], Dense(24, relu), Dense(20); mse, SGD: the second
 * layer's input gradient dy W^T is a transposed-B product of K = 20. */
static const char freeze_json[] =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 20], \"name\": \"i\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"a\", \"units\": 24, \"activation\": "
    "\"relu\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"b\", \"units\": 20}}]},"
    "\"compile_config\": {\"optimizer\": \"sgd\", \"loss\": \"mse\"}}";

/* The same with Dense(20, relu), Dense(6): K = 6. */
static const char short_json[] =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 20], \"name\": \"i\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"a\", \"units\": 20, \"activation\": "
    "\"relu\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"b\", \"units\": 6}}]},"
    "\"compile_config\": {\"optimizer\": \"sgd\", \"loss\": \"mse\"}}";
enum { ROWS = 11, IN = 20, OUT = 6 };

/* Compiles the model at this width: the IR before optimisation (emit only:
 * post = NULL, mem = NULL) or after it and the objects. */
static char *compile_ir(const char *json, const char *width, int post, codegen_memo *mem) {
  char path[] = "/tmp/nnc_cold17_XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  close(fd);
  setenv("NNC_VECTOR_WIDTH", width, 1);
  nnc_spec spec;
  nnc_status st;
  ck_assert_msg(nnc_spec_parse_string(json, "m.json", &spec, &st) == NNC_OK, "%s", st.message);
  nnc_compile_options opts;
  memset(&opts, 0, sizeof opts);
  opts.no_cache = 1;
  if (post) {
    opts.dump_ir_post = path;
    codegen_memo_free(mem);
    opts.memo = mem;
  } else {
    opts.emit_only = 1;
    opts.dump_ir_pre = path;
  }
  nnc_compiled c;
  ck_assert_msg(nnc_compile_spec(&spec, NULL, &opts, &c, &st) == NNC_OK, "%s", st.message);
  nnc_compiled_free(&c);
  nnc_spec_free(&spec);
  unsetenv("NNC_VECTOR_WIDTH");
  return testutil_take_file(path);
}

/* The round-2 masks of pack_transposed_block at width vw (bit 2). */
static void round2_masks(int vw, char *lo, char *hi, size_t n) {
  size_t a = (size_t)snprintf(lo, n, "<%d x i32> <", vw),
         b = (size_t)snprintf(hi, n, "<%d x i32> <", vw);
  for (int k = 0; k < vw; k++) {
    int l = (k & 2) ? vw + (k ^ 2) : k, h = (k & 2) ? vw + k : (k | 2);
    a += (size_t)snprintf(lo + a, n - a, "%si32 %d", k ? ", " : "", l);
    b += (size_t)snprintf(hi + b, n - b, "%si32 %d", k ? ", " : "", h);
  }
  snprintf(lo + a, n - a, ">");
  snprintf(hi + b, n - b, ">");
}

/* In the optimised IR: round-2 shuffles of the transposed-B strips, and
 * freezes, each of which must take the shuffle of the line before it. */
static void count_post(const char *ir, int vw, int *round2, int *frozen, int *freezes) {
  char lo[512], hi[512];
  round2_masks(vw, lo, hi, sizeof lo);
  *round2 = *frozen = *freezes = 0;
  int in_t1 = 0;
  char prev[64] = "";
  for (const char *line = ir; *line;) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    char buf[4096];
    snprintf(buf, sizeof buf, "%.*s", (int)(len < sizeof buf ? len : sizeof buf - 1), line);
    if (!strncmp(buf, "define", 6)) in_t1 = strstr(buf, "@gemm_strip_") && strstr(buf, "_t1_");
    char *eq = strstr(buf, " = ");
    if (strstr(buf, " = freeze ")) {
      (*freezes)++;
      char want[96];
      snprintf(want, sizeof want, " %s", prev);
      const char *operand = strrchr(buf, ' ');
      ck_assert_msg(in_t1 && prev[0] && !strcmp(operand, want),
                    "width %d: a freeze not of the shuffle before it: %s", vw, buf);
      (*frozen)++;
    }
    prev[0] = 0;
    if (in_t1 && eq && strstr(buf, "shufflevector") && (strstr(buf, lo) || strstr(buf, hi))) {
      (*round2)++;
      const char *name = buf;
      while (*name == ' ') name++;
      snprintf(prev, sizeof prev, "%.*s", (int)(eq - name), name);
    }
    line += len + (end != NULL);
  }
}

/* the IR text without the marks: ", !nnc.pack.freeze !N" and the "!N = !{}" line */
static void drop_marks(char *ir) {
  char *w = ir;
  for (char *r = ir; *r;) {
    if (!strncmp(r, ", !" PACK_FREEZE_MD " !", strlen(PACK_FREEZE_MD) + 5)) {
      r += strlen(PACK_FREEZE_MD) + 5;
      while (*r >= '0' && *r <= '9') r++;
      continue;
    }
    *w++ = *r++;
  }
  *w = 0;
}

/* Metadata numbers out of the IR text ("!12" -> "!"), and the mark's empty
 * node "!N = !{}" dropped (and the blank line before the metadata when
 * that was all of it): the marks shift the numbers of the other nodes (the
 * loops' llvm.loop hints, emit_group.c), not their contents. */
static void drop_md_numbers(char *ir) {
  char *w = ir;
  for (char *r = ir; *r;) {
    int line_start = r == ir || r[-1] == '\n';
    if (line_start && *r == '!') {
      char *q = r + 1;
      while (*q >= '0' && *q <= '9') q++;
      if (q > r + 1 && !strncmp(q, " = !{}\n", 7)) {
        r = q + 7;
        continue;
      }
    }
    *w++ = *r;
    if (*r++ == '!')
      while (*r >= '0' && *r <= '9') r++;
  }
  /* the blank line before a metadata section that held only the mark */
  while (w - ir >= 2 && w[-1] == '\n' && w[-2] == '\n') w--;
  *w = 0;
}

START_TEST(model_marks_survive_and_code_unchanged) {
  const char *widths[] = {"16", "8", "4"};
  for (int k = 0; k < 3; k++) {
    int vw = atoi(widths[k]);
    char *pre_on = compile_ir(freeze_json, widths[k], 0, NULL);
    setenv("NNC_PACK_FREEZE", "0", 1);
    char *pre_off = compile_ir(freeze_json, widths[k], 0, NULL);
    unsetenv("NNC_PACK_FREEZE");
    int marks = 0;
    for (const char *s = pre_on; (s = strstr(s, ", !" PACK_FREEZE_MD)); s++) marks++;
    ck_assert_msg(vw == 4 ? marks == 0 : marks > 0, "width %d: %d marks", vw, marks);
    ck_assert_ptr_null(strstr(pre_off, PACK_FREEZE_MD));
    drop_marks(pre_on);
    drop_md_numbers(pre_on);
    drop_md_numbers(pre_off);
    ck_assert_msg(!strcmp(pre_on, pre_off), "width %d: the unmarked module differs", vw);
    free(pre_on);
    free(pre_off);
    if (vw == 4) continue;
    codegen_memo on = {0}, off = {0};
    char *post = compile_ir(freeze_json, widths[k], 1, &on);
    int round2, frozen, freezes;
    count_post(post, vw, &round2, &frozen, &freezes);
    ck_assert_msg(round2 == marks && frozen == round2 && freezes == round2,
                  "width %d: %d marks, %d round-2 shuffles, %d of them frozen, %d freezes", vw,
                  marks, round2, frozen, freezes);
    free(post);
    if (vw == 8) { /* the objects at width 16 only: a compile costs */
      codegen_memo_free(&on);
      continue;
    }
    setenv("NNC_PACK_FREEZE", "0", 1);
    post = compile_ir(freeze_json, widths[k], 1, &off);
    unsetenv("NNC_PACK_FREEZE");
    ck_assert_ptr_null(strstr(post, " = freeze "));
    free(post);
    ck_assert_msg(on.has && off.has && on.len == off.len && !memcmp(on.data, off.data, on.len),
                  "width %d: the machine code differs with the freezes", vw);
    codegen_memo_free(&on);
    codegen_memo_free(&off);
  }
}
END_TEST

/* Transposed-B strips of the unoptimised IR whose name has `k` (the row
 * stride of A: K): how many, and how many have the pack's block loop. */
static void count_block_loops(const char *ir, const char *k, int *strips, int *loops) {
  *strips = *loops = 0;
  int in = 0;
  for (const char *line = ir; *line;) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    char buf[1024];
    snprintf(buf, sizeof buf, "%.*s", (int)(len < sizeof buf ? len : sizeof buf - 1), line);
    if (!strncmp(buf, "define", 6)) {
      const char *name = strstr(buf, "@gemm_strip_");
      in = name && strstr(name, "_t1_") && strstr(name, k);
      *strips += in;
    } else if (in && !strncmp(buf, "packv", 5)) {
      (*loops)++;
      in = 0; /* one per strip */
    }
    line += len + (end != NULL);
  }
}

static void fit_model(int threads, fit_run *r) {
  float xs[ROWS * IN], ys[ROWS * OUT];
  fill_uniform(xs, ROWS * IN, 3);
  fill_uniform(ys, ROWS * OUT, 4);
  nnc_array x = testutil_f32(xs, ROWS, IN), y = testutil_f32(ys, ROWS, OUT);
  /* 11 rows: batches of 4, 4 and 3 */
  fit_run_fit_threads(short_json, "m.json", &x, &y, 2, 4, threads, r);
}

START_TEST(short_contraction_packs_by_scalar_loop) {
  const char *widths[] = {"16", "8", "4"};
  for (int k = 0; k < 3; k++) {
    int vw = atoi(widths[k]), strips, loops;
    char *on = compile_ir(short_json, widths[k], 0, NULL);
    setenv("NNC_PACK_SHORT", "0", 1);
    char *off = compile_ir(short_json, widths[k], 0, NULL);
    unsetenv("NNC_PACK_SHORT");
    count_block_loops(on, "_k6_", &strips, &loops);
    ck_assert_msg(strips > 0 && loops == (vw > 6 ? 0 : strips),
                  "width %d, K = 6: %d strips, %d with a block loop", vw, strips, loops);
    count_block_loops(off, "_k6_", &strips, &loops);
    ck_assert_msg(strips > 0 && loops == strips, "width %d, K = 6, off: %d of %d", vw, loops,
                  strips);
    free(on);
    free(off);
  }
  setenv("NNC_CACHE", "0", 1);
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1); /* else the small steps run on one thread */
  for (int k = 0; k < 1; k++) {            /* width 16 only: a fit compiles, and that costs */
    setenv("NNC_VECTOR_WIDTH", widths[k], 1);
    char what[64];
    snprintf(what, sizeof what, "width %s, %d threads: short / blocks", widths[k], 3 - k);
    fit_run a, b;
    fit_model(3 - k, &a);
    setenv("NNC_PACK_SHORT", "0", 1);
    fit_model(3 - k, &b);
    unsetenv("NNC_PACK_SHORT");
    fit_run_same(&a, &b, what);
    fit_run_free(&a);
    fit_run_free(&b);
  }
  unsetenv("NNC_VECTOR_WIDTH");
  unsetenv("NNC_SPLIT_SMALL_STEPS");
  unsetenv("NNC_CACHE");
}
END_TEST

int main(void) {
  /* the strips these checks read are the module's own: the library's (the
   * same emitter, built with nnc) are test_strip_lib28's */
  setenv("NNC_STRIP_LIB", "0", 1);
  Suite *s = suite_create("cold17");
  TCase *tc = tcase_create("cold17");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, freeze_after_marked_only);
  tcase_add_test(tc, switch_off_marks_nothing);
  tcase_add_test(tc, model_marks_survive_and_code_unchanged);
  tcase_add_test(tc, short_contraction_packs_by_scalar_loop);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
