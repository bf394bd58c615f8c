/* Module assembly, O3 for the host CPU, the object cache and ORC LLJIT. */
#include <llvm-c/Analysis.h>
#include <llvm-c/BitReader.h>
#include <llvm-c/BitWriter.h>
#include <llvm-c/Linker.h>
#include <llvm/Config/llvm-config.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/codegen/cg.h"
#include "compiler/codegen/cache_key.h"
#include "compiler/codegen/module_split.h"
#include "compiler/codegen/obj_cache.h"
#include "compiler/codegen/pack_freeze.h"
#include "compiler/codegen/perf_map.h"
#include "compiler/codegen/strip_lib.h"
#include "base/base.h"
#include "base/sanitizer.h"

int cg_emit_graph(cg *c, const nnc_graph *g, const nnc_program *prog);

struct nnc_jit {
  LLVMOrcLLJITRef lljit;
  int n;
  int64_t *scratch_floats; /* per graph: nnc_<graph>_scratch_floats() */
};

int64_t codegen_scratch_floats(const nnc_jit *jit, int i) {
  return jit && i >= 0 && i < jit->n ? jit->scratch_floats[i] : 0;
}

static pthread_once_t llvm_once = PTHREAD_ONCE_INIT;
static int llvm_ready;

static void llvm_init(void) {
  llvm_ready = !LLVMInitializeNativeTarget() && !LLVMInitializeNativeAsmPrinter();
}

static void llvm_diagnostic(LLVMDiagnosticInfoRef info, void *unused) {
  (void)unused;
  LLVMDiagnosticSeverity severity = LLVMGetDiagInfoSeverity(info);
  if (severity == LLVMDSRemark || severity == LLVMDSNote) return;
  char *msg = LLVMGetDiagInfoDescription(info);
  fprintf(stderr, "nnc: LLVM %s: %s\n", severity == LLVMDSError ? "error" : "warning",
          msg ? msg : "");
  LLVMDisposeMessage(msg);
}

LLVMContextRef codegen_context_create(void) {
  LLVMContextRef ctx = LLVMContextCreate();
  LLVMContextSetDiagnosticHandler(ctx, llvm_diagnostic, NULL);
  return ctx;
}

static int llvm_error(nnc_status *st, LLVMErrorRef err, const char *what) {
  char *msg = LLVMGetErrorMessage(err);
  nnc_fail(st, NNC_ERR_COMPILE, "%s: %s", what, msg);
  LLVMDisposeErrorMessage(msg);
  return NNC_ERR_COMPILE;
}

/* A TargetMachine for this CPU: name *and* features, or LLVM 14 misses AVX-512 on Zen 4. */
static LLVMTargetMachineRef host_machine_at(LLVMCodeGenOptLevel level, nnc_status *st) {
  char *triple = LLVMGetDefaultTargetTriple(), *cpu = LLVMGetHostCPUName();
  char *features = LLVMGetHostCPUFeatures(), *err = NULL;
  LLVMTargetRef target;
  LLVMTargetMachineRef tm = NULL;
  if (LLVMGetTargetFromTriple(triple, &target, &err)) {
    nnc_fail(st, NNC_ERR_COMPILE, "no LLVM target for %s: %s", triple, err ? err : "");
    LLVMDisposeMessage(err);
  } else {
    tm = LLVMCreateTargetMachine(target, triple, cpu, features, level, LLVMRelocDefault,
                                 LLVMCodeModelJITDefault);
    if (!tm) nnc_fail(st, NNC_ERR_COMPILE, "cannot create a target machine for %s", cpu);
  }
  LLVMDisposeMessage(triple);
  LLVMDisposeMessage(cpu);
  LLVMDisposeMessage(features);
  return tm;
}

static LLVMTargetMachineRef host_machine(nnc_status *st) {
  return host_machine_at(LLVMCodeGenLevelAggressive, st);
}

int codegen_host_description(char *buf, size_t n) {
  pthread_once(&llvm_once, llvm_init);
  char *cpu = LLVMGetHostCPUName(), *features = LLVMGetHostCPUFeatures();
  /* keep only the enabled vector features people look for */
  char picked[256] = "";
  const char *wanted[] = {"+avx512f", "+avx2", "+fma", "+avx", "+sse4.2", "+neon"};
  for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++) {
    /* a whole comma-separated token: "+avx512f" must not match "+avx512fp16" */
    size_t len = strlen(wanted[i]);
    const char *hit = strstr(features, wanted[i]);
    while (hit && !(hit[len] == ',' || hit[len] == '\0')) hit = strstr(hit + 1, wanted[i]);
    if (hit) {
      strncat(picked, wanted[i], sizeof picked - strlen(picked) - 2);
      strncat(picked, " ", sizeof picked - strlen(picked) - 1);
    }
  }
  int w = snprintf(buf, n, "%s %s", cpu, picked);
  LLVMDisposeMessage(cpu);
  LLVMDisposeMessage(features);
  return w;
}

/* Floats per vector register of this CPU, from LLVM's view of its features.
 * NNC_VECTOR_WIDTH=4|8|16 overrides it (LLVM splits wider vectors), so the
 * kernels of another CPU can be tested here: results do not depend on it. */
int codegen_vector_width(void) {
  const char *forced = getenv("NNC_VECTOR_WIDTH");
  if (forced && (!strcmp(forced, "4") || !strcmp(forced, "8") || !strcmp(forced, "16")))
    return atoi(forced);
  char *features = LLVMGetHostCPUFeatures();
  int width = strstr(features, "+avx512f") ? 16 : strstr(features, "+avx") ? 8 : 4;
  LLVMDisposeMessage(features);
  return width;
}

static int write_ir(LLVMModuleRef mod, const char *path, nnc_status *st) {
  char *text = LLVMPrintModuleToString(mod);
  int rc = nnc_write_file_atomic(path, text, strlen(text), st);
  LLVMDisposeMessage(text);
  return rc;
}

static long count_instructions(LLVMModuleRef mod) {
  long n = 0;
  for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f))
    for (LLVMBasicBlockRef b = LLVMGetFirstBasicBlock(f); b; b = LLVMGetNextBasicBlock(b))
      for (LLVMValueRef i = LLVMGetFirstInstruction(b); i; i = LLVMGetNextInstruction(i)) n++;
  return n;
}

static int build_module(LLVMContextRef ctx, LLVMModuleRef mod, const nnc_graph *const *graphs,
                        int n, const cache_switches *sw, nnc_timing *timing, nnc_status *st) {
  nnc_time t0 = timing_now();
  cg c;
  cg_init(&c, ctx, mod, sw->vector_width, st);
  c.accumulate_f64 = sw->accumulate_f64;
  c.strips = sw->strips;
  const char *sharing = getenv("NNC_KERNEL_SHARING");
  c.no_sharing = sharing && !strcmp(sharing, "0");
  const char *gemm_inline = getenv("NNC_GEMM_INLINE");
  c.gemm_inline = gemm_inline && !strcmp(gemm_inline, "1");
  pack_freeze_register(ctx);
  int rc = NNC_OK;
  /* no program: the code depends on the graphs and switches alone, which
   * are the cache key (cache_key.h); reading the program here would make
   * cache hits stale */
  for (int i = 0; i < n && rc == NNC_OK; i++) rc = cg_emit_graph(&c, graphs[i], NULL);
  cg_share_free(&c);
  LLVMDisposeBuilder(c.b);
  if (timing) {
    timing->kernels += c.kernels;
    timing->kernels_shared += c.kernels_shared;
    for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f)) {
      size_t len;
      const char *name = LLVMGetValueName2(f, &len);
      timing->gemm_strips += !strncmp(name, "gemm_strip_", 11);
      timing->gemm_strips_library += !strncmp(name, "nnc_gemm_lib_", 13);
    }
  }
  if (timing) timing_add(&timing->stage[NNC_STAGE_EMIT], t0);
  if (rc) return rc;
  t0 = timing_now();
  char *msg = NULL;
  if (LLVMVerifyModule(mod, LLVMReturnStatusAction, &msg)) {
    nnc_fail(st, NNC_ERR_INTERNAL, "codegen produced invalid IR: %.700s", msg ? msg : "");
    LLVMDisposeMessage(msg);
    return NNC_ERR_INTERNAL;
  }
  LLVMDisposeMessage(msg);
  if (timing) timing_add(&timing->stage[NNC_STAGE_VERIFY], t0);
  return NNC_OK;
}

/* The optimisation pipelines (docs/performance.md, "Session 10: cold
 * compile"). O3 for the kernels it pays for; the light one for matmul and
 * elementwise kernels (tagged CG_LIGHT_ATTR, emit_share.c): the GEMM's
 * register tiles are explicit vectors that need only SROA, CSE, LICM and
 * InstCombine (same inner loops as O3's), the elementwise loops need the loop
 * vectorizer. It costs a fifth of O3 on those kernels. No pass here
 * reassociates floats (no fast-math flags), so results cannot change. The
 * strings are also part of the cache key. */
#define PIPELINE "default<O3>"
#define PIPELINE_LIGHT                                                                             \
  "function(sroa,early-cse,simplifycfg,instcombine,loop(loop-rotate),loop-mssa(licm),"             \
  "loop-vectorize,instcombine,simplifycfg)"
/* The row pipeline (session 19) stands in for O3 when the kernels outside
 * the light set are all row ops of CHEAP_KINDS (softmax, softmax_xent,
 * argmax, one_hot): O3 cost 15-20 ms per part for those two or three small
 * kernels. Its module passes do matter for the whole part: IPSCCP and
 * dead-argument elimination, run while the light kernels wait hidden,
 * propagate the drivers' constant arguments into the kernels and strips of
 * the part (without them the MLP's transposed strip grew from 434 to 565
 * instructions), so they are kept; then the light pipeline plus IndVarSimplify
 * and ADCE, which give the row loops O3's IR but for operand order
 * (docs/performance.md, "Session 19: cold compile"). */
#define PIPELINE_ROW                                                                               \
  "ipsccp,deadargelim,function(sroa,early-cse,simplifycfg,instcombine,loop(loop-rotate),"          \
  "loop-mssa(licm),loop(indvars),adce,loop-vectorize,instcombine,simplifycfg)"
#define PIPELINE_PRESPLIT "ipsccp,deadargelim"
#define PIPELINE_KEY                                                                               \
  PIPELINE " " PIPELINE_LIGHT " " PIPELINE_ROW " " PIPELINE_PRESPLIT                               \
           " loop-vectorize slp-vectorize no-unroll codegen-aggressive"

static void set_target(LLVMModuleRef mod, LLVMTargetMachineRef tm) {
  char *triple = LLVMGetTargetMachineTriple(tm);
  LLVMSetTarget(mod, triple);
  LLVMDisposeMessage(triple);
  LLVMTargetDataRef layout = LLVMCreateTargetDataLayout(tm);
  LLVMSetModuleDataLayout(mod, layout);
  LLVMDisposeTargetData(layout);
}

/* An optimisation level per kind of function: the drivers (nnc_<graph>_step)
 * and their parts (nnc_<graph>_part<k>) only compute row shares and call the
 * kernels, once per group and step; O3 on them cost 30 % of a 20-layer MLP's
 * compile for no measurable step time (docs/performance.md, "Compile time").
 * They get optnone. They do no float arithmetic, so no result can change;
 * NNC_OPT_UNIFORM=1 gives every function O3 (test_cache compares the two). */
static int uniform_o3(void) {
  const char *e = getenv("NNC_OPT_UNIFORM");
  return e && !strcmp(e, "1");
}

static int is_driver(const char *name) {
  size_t len = strlen(name);
  /* nnc_<graph>_scratch_floats() returns a constant: nothing to optimise */
  return !strncmp(name, "nnc_", 4) &&
         ((len > 5 && !strcmp(name + len - 5, "_step")) || strstr(name, "_part") ||
          (len > 15 && !strcmp(name + len - 15, "_scratch_floats")));
}

static long unoptimised_drivers(LLVMModuleRef mod) {
  if (uniform_o3()) return 0;
  LLVMContextRef ctx = LLVMGetModuleContext(mod);
  LLVMAttributeRef optnone =
      LLVMCreateEnumAttribute(ctx, LLVMGetEnumAttributeKindForName("optnone", 7), 0);
  LLVMAttributeRef noinline =
      LLVMCreateEnumAttribute(ctx, LLVMGetEnumAttributeKindForName("noinline", 8), 0);
  long n = 0;
  for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f)) {
    size_t len;
    if (LLVMIsDeclaration(f) || !is_driver(LLVMGetValueName2(f, &len))) continue;
    LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex, optnone);
    LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex, noinline);
    n++;
  }
  return n;
}

static int run_pipeline(LLVMModuleRef mod, const char *pipeline, LLVMTargetMachineRef tm,
                        nnc_status *st) {
  LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
  LLVMPassBuilderOptionsSetLoopVectorization(opts, 1);
  LLVMPassBuilderOptionsSetSLPVectorization(opts, 1);
  LLVMPassBuilderOptionsSetLoopUnrolling(opts, 0);
  LLVMErrorRef err = LLVMRunPasses(mod, pipeline, tm, opts);
  LLVMDisposePassBuilderOptions(opts);
  return err ? llvm_error(st, err, "LLVM optimization") : NNC_OK;
}

static int has_attr(LLVMValueRef f, const char *kind) {
  return LLVMGetStringAttributeAtIndex(f, LLVMAttributeFunctionIndex, kind,
                                       (unsigned)strlen(kind)) != NULL;
}

static unsigned enum_kind(const char *name) {
  return LLVMGetEnumAttributeKindForName(name, strlen(name));
}

/* A defined function that a pipeline may see: not a driver (optnone). */
static int optimisable(LLVMValueRef f) {
  return !LLVMIsDeclaration(f) &&
         !LLVMGetEnumAttributeAtIndex(f, LLVMAttributeFunctionIndex, enum_kind("optnone"));
}

#define HIDDEN_ATTR "nnc-hidden"

/* optnone (marked HIDDEN_ATTR) on the optimisable kernels of one set
 * (light = 1: those tagged CG_LIGHT_ATTR; 0: the others): the pass manager
 * skips optnone functions, so a pipeline run next sees only the other set.
 * Returns how many it hid. optnone needs noinline, which every kernel has. */
static long hide(LLVMModuleRef mod, int light) {
  LLVMContextRef ctx = LLVMGetModuleContext(mod);
  LLVMAttributeRef optnone = LLVMCreateEnumAttribute(ctx, enum_kind("optnone"), 0);
  LLVMAttributeRef mark =
      LLVMCreateStringAttribute(ctx, HIDDEN_ATTR, (unsigned)strlen(HIDDEN_ATTR), "", 0);
  long n = 0;
  for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f)) {
    if (!optimisable(f) || has_attr(f, CG_LIGHT_ATTR) != light ||
        !LLVMGetEnumAttributeAtIndex(f, LLVMAttributeFunctionIndex, enum_kind("noinline")))
      continue;
    LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex, optnone);
    LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex, mark);
    n++;
  }
  return n;
}

static void unhide(LLVMModuleRef mod) {
  for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f)) {
    if (!has_attr(f, HIDDEN_ATTR)) continue;
    LLVMRemoveEnumAttributeAtIndex(f, LLVMAttributeFunctionIndex, enum_kind("optnone"));
    LLVMRemoveStringAttributeAtIndex(f, LLVMAttributeFunctionIndex, HIDDEN_ATTR,
                                     (unsigned)strlen(HIDDEN_ATTR));
  }
}

static int cheap_kind(const char *name);

/* NNC_ROW_PIPELINE=0: O3 for the row kernels too (a code switch of the cache
 * key). */
static int row_pipeline_on(void) {
  const char *e = getenv("NNC_ROW_PIPELINE");
  return !(e && !strcmp(e, "0"));
}

/* Are the optimisable kernels outside the light set all row ops of
 * CHEAP_KINDS? (Whatever else is there, convolutions, pooling,
 * recurrences, a kind not listed, keeps O3 for all of them.) */
static int rows_only(LLVMModuleRef mod) {
  if (!row_pipeline_on()) return 0;
  for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f)) {
    size_t len;
    if (optimisable(f) && !has_attr(f, CG_LIGHT_ATTR) && !cheap_kind(LLVMGetValueName2(f, &len)))
      return 0;
  }
  return 1;
}

/* O3 on the kernels outside the light set (or the row pipeline when they
 * are all row ops), then the light pipeline on that set; NNC_OPT_UNIFORM=1:
 * O3 on everything. *o3 counts the functions outside the light set (through
 * O3 or the row pipeline). */
static int optimize(LLVMModuleRef mod, LLVMTargetMachineRef tm, long *o3, nnc_status *st) {
  if (uniform_o3()) {
    for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f))
      *o3 += !LLVMIsDeclaration(f);
    return run_pipeline(mod, PIPELINE, tm, st);
  }
  long light = hide(mod, 1), heavy = 0;
  for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f))
    heavy += optimisable(f);
  *o3 += heavy;
  /* O3 only when something is left for it: its module passes cost too */
  const char *heavy_pipeline = heavy && rows_only(mod) ? PIPELINE_ROW : PIPELINE;
  int rc = heavy ? run_pipeline(mod, heavy_pipeline, tm, st) : NNC_OK;
  unhide(mod);
  if (!rc && light) {
    hide(mod, 0);
    rc = run_pipeline(mod, PIPELINE_LIGHT, tm, st);
    unhide(mod);
  }
  return rc;
}

/* Cheap code generation for the small kernels (docs/performance.md,
 * "Session 18: cold compile"). After the IR pipelines the IR is final, so
 * optnone added then changes code generation alone: fast instruction
 * selection, no loop strength reduction, no machine CSE, LICM or scheduling
 * (the register allocator stays the greedy one). It goes on kernels whose
 * group starts with an op of CHEAP_KINDS (elementwise, softmax); never on
 * a GEMM strip (the hot tiles keep their machine code) nor on a kind not
 * listed: reductions (W2's step was 7 % slower with them), the matmul
 * kernels around the strips (W1's step 2-3 % slower), convolution,
 * pooling, recurrences. No float operation changes (no fast-math flags: nothing is
 * contracted at any level; llvm.fma is always fused), so results are the
 * same bits. NNC_CHEAP_CODEGEN=0: every kernel at the target machine's
 * level (a code switch of the cache key). */
static int cheap_codegen_on(void) {
  const char *e = getenv("NNC_CHEAP_CODEGEN");
  return !(e && !strcmp(e, "0"));
}

static const char *const CHEAP_KINDS[] = {"binary",   "unary",  "broadcast", "reshape",
                                          "one_hot",  "argmax", "softmax",   "softmax_xent",
                                          "part_sum", NULL};

/* The kernel's op kind from its name, <graph>_g<k>_<kind> (emit_driver.c),
 * is one of CHEAP_KINDS. */
static int cheap_kind(const char *name) {
  const char *kind = codegen_kernel_kind(name);
  for (int i = 0; kind && CHEAP_KINDS[i]; i++)
    if (!strcmp(kind, CHEAP_KINDS[i])) return 1;
  return 0;
}

static long cheap_codegen(LLVMModuleRef mod) {
  if (!cheap_codegen_on()) return 0;
  LLVMContextRef ctx = LLVMGetModuleContext(mod);
  LLVMAttributeRef optnone = LLVMCreateEnumAttribute(ctx, enum_kind("optnone"), 0);
  long n = 0;
  for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f)) {
    size_t len;
    const char *name = LLVMGetValueName2(f, &len);
    /* optnone needs noinline, which every kernel has */
    if (!optimisable(f) || !cheap_kind(name) ||
        !LLVMGetEnumAttributeAtIndex(f, LLVMAttributeFunctionIndex, enum_kind("noinline")))
      continue;
    LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex, optnone);
    n++;
  }
  return n;
}

/* Objects compiled, cache hits and misses in this process (the tests count them). */
static atomic_long objects_compiled, cache_hits, cache_misses, memo_reused;

long codegen_reused(void) {
  return atomic_load(&memo_reused);
}

void codegen_memo_free(codegen_memo *m) {
  if (!m) return;
  free(m->data);
  memset(m, 0, sizeof *m);
}

/* Keep the objects' blob as the memo's (takes it). */
static void memo_keep(codegen_memo *m, const obj_key *key, void *blob, size_t len) {
  codegen_memo_free(m);
  *m = (codegen_memo){1, *key, blob, len};
}

void codegen_counts(long *compiled, long *hits, long *misses) {
  if (compiled) *compiled = atomic_load(&objects_compiled);
  if (hits) *hits = atomic_load(&cache_hits);
  if (misses) *misses = atomic_load(&cache_misses);
}

/* The cache entry of a module: where and under which key (cache_key.h). */
typedef struct cache_slot {
  int keyed;  /* key computed (for the disk cache or the memo) */
  int usable; /* the disk cache: keyed and a usable directory */
  char dir[4096];
  obj_key key;
} cache_slot;

/* Each part of the module on its own thread, in its own LLVM context with
 * its own target machine (module_split.c); the calling thread runs part 0.
 * Part 1's module is read from the split's bitcode on its own thread. */
typedef struct part_job {
  split_pending pending; /* part 1 until its thread reads it */
  LLVMContextRef ctx;
  LLVMModuleRef mod;
  LLVMTargetMachineRef tm, tm_drivers;
  LLVMMemoryBufferRef obj, obj_drivers; /* the part's kernels, its drivers */
  int obj_drivers_only;                 /* obj holds drivers alone (at level None) */
  long o3;                              /* functions through O3 */
  nnc_time opt, code;                   /* this thread's optimisation and codegen */
  nnc_status st;
  int rc;
} part_job;

static void job_optimize(part_job *j) {
  nnc_time t0 = timing_now();
  if (j->pending.bitcode && (j->rc = module_split_finish(&j->pending, &j->ctx, &j->mod, &j->st)))
    return;
  if (!j->tm && !(j->tm = host_machine(&j->st))) {
    j->rc = j->st.code;
    return;
  }
  j->rc = optimize(j->mod, j->tm, &j->o3, &j->st);
  if (!j->rc) {
    pack_freeze_run(j->mod); /* after the pipeline: pack_freeze.c */
    cheap_codegen(j->mod);
  }
  timing_add(&j->opt, t0);
}

/* The drivers at code generation level None (docs/performance.md, "Session
 * 35"). They are optnone already, so instruction selection was the fast one,
 * but the Aggressive level still ran the greedy register allocator and the
 * machine passes that do not skip optnone functions on them: the Fashion-MNIST
 * MLP's drivers cost 85 M instructions of code generation, 41 M at None
 * (their code 24 % larger, and 15-30 ns slower a step). A level is a target
 * machine's, so each part's drivers go to a module and an object of their
 * own; only those of graphs whose step is large enough not to notice
 * (emit_driver.c: codegen_graph_drivers_apart), marked CG_DRIVER_APART_ATTR
 * here. NNC_DRIVER_CODEGEN=0: none (a code switch of the cache key). */
static int drivers_apart_on(void) {
  const char *e = getenv("NNC_DRIVER_CODEGEN");
  return !(e && !strcmp(e, "0")) && !uniform_o3();
}

static void mark_drivers_apart(LLVMModuleRef mod, const nnc_graph *const *graphs, int n) {
  if (!drivers_apart_on()) return;
  LLVMContextRef ctx = LLVMGetModuleContext(mod);
  LLVMAttributeRef mark = LLVMCreateStringAttribute(ctx, CG_DRIVER_APART_ATTR,
                                                    (unsigned)strlen(CG_DRIVER_APART_ATTR), "", 0);
  for (int i = 0; i < n; i++) {
    if (!codegen_graph_drivers_apart(graphs[i])) continue;
    char prefix[sizeof graphs[i]->name + 8];
    int len = snprintf(prefix, sizeof prefix, "nnc_%s_", graphs[i]->name);
    for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f)) {
      size_t flen;
      const char *name = LLVMGetValueName2(f, &flen);
      /* nnc_<graph>_step, _part<k>, _scratch_floats: the rest a driver's name */
      if (!LLVMIsDeclaration(f) && !strncmp(name, prefix, (size_t)len) &&
          (!strcmp(name + len, "step") || !strncmp(name + len, "part", 4) ||
           !strcmp(name + len, "scratch_floats")))
        LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex, mark);
    }
  }
}

static int emit_object(part_job *j, LLVMTargetMachineRef tm, LLVMModuleRef mod,
                       LLVMMemoryBufferRef *obj) {
  char *msg = NULL;
  if (LLVMTargetMachineEmitToMemoryBuffer(tm, mod, LLVMObjectFile, &msg, obj)) {
    j->rc = nnc_fail(&j->st, NNC_ERR_COMPILE, "LLVM code generation: %s", msg ? msg : "");
    LLVMDisposeMessage(msg);
    *obj = NULL;
  }
  return j->rc;
}

/* Every function the module defines is a driver to compile apart (and it
 * defines one). */
static int drivers_only(LLVMModuleRef mod) {
  int any = 0;
  for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f)) {
    if (LLVMIsDeclaration(f)) continue;
    if (!module_split_driver_apart(f)) return 0;
    any = 1;
  }
  return any;
}

static void job_emit(part_job *j) {
  if (j->rc) return;
  nnc_time t0 = timing_now();
  LLVMModuleRef drivers = NULL;
  LLVMTargetMachineRef tm = j->tm;
  if (drivers_only(j->mod))
    tm = NULL;
  else
    j->rc = module_split_drivers(j->mod, &drivers, &j->st);
  if (!j->rc && (drivers || !tm) &&
      !(j->tm_drivers = host_machine_at(LLVMCodeGenLevelNone, &j->st)))
    j->rc = j->st.code;
  if (!tm) {
    tm = j->tm_drivers;
    j->obj_drivers_only = 1;
  }
  if (!j->rc) emit_object(j, tm, j->mod, &j->obj);
  if (!j->rc && drivers) emit_object(j, j->tm_drivers, drivers, &j->obj_drivers);
  if (drivers) LLVMDisposeModule(drivers);
  timing_add(&j->code, t0);
}

static void *job_run(void *arg) {
  job_optimize(arg);
  job_emit(arg);
  return NULL;
}

/* The second part's own thread: its heap on huge pages first where the
 * process asked for them (a fresh glibc arena, touched page by page). */
static void *job_thread(void *arg) {
  nnc_huge_heap_thread();
  return job_run(arg);
}

static void job_free(part_job *j) {
  module_split_drop(&j->pending);
  if (j->obj) LLVMDisposeMemoryBuffer(j->obj);
  if (j->obj_drivers) LLVMDisposeMemoryBuffer(j->obj_drivers);
  if (j->tm) LLVMDisposeTargetMachine(j->tm);
  if (j->tm_drivers) LLVMDisposeTargetMachine(j->tm_drivers);
  if (j->mod) LLVMDisposeModule(j->mod);
  if (j->ctx) LLVMContextDispose(j->ctx);
  memset(j, 0, sizeof *j);
}

/* NNC_CODEGEN_SPLIT=0: one module, one object, one thread (the layout
 * before session 11; it is a code switch of the cache key). */
static int split_wanted(void) {
  const char *e = getenv("NNC_CODEGEN_SPLIT");
  return !(e && !strcmp(e, "0"));
}

/* ThreadSanitizer cannot see the synchronisation inside libLLVM (not
 * instrumented): the lazy statics two compile threads initialise there are
 * reported as races. Under it the parts run on the calling thread, which
 * gives the same objects (test_cold11). */
#define SERIAL_UNDER_TSAN NNC_TSAN

/* NNC_CODEGEN_SERIAL=1: the parts one after the other on the calling
 * thread, the last part first (tests: the objects must not depend on which
 * part finishes first). */
static int serial_wanted(void) {
  const char *e = getenv("NNC_CODEGEN_SERIAL");
  return (e && !strcmp(e, "1")) || SERIAL_UNDER_TSAN;
}

/* The optimised parts as one module, for --dump-ir=post: part 1 read into
 * part 0's context and linked into a copy of part 0. */
static int write_ir_parts(part_job *jobs, int n, const char *path, nnc_status *st) {
  if (n == 1) return write_ir(jobs[0].mod, path, st);
  LLVMModuleRef all = LLVMCloneModule(jobs[0].mod), other = NULL;
  /* Part 0 declares every function of part 1; the internal ones would
   * collide with those declarations and be renamed (predict_g0_matmul.16)
   * by the linker. Unused declarations go first. */
  for (LLVMValueRef f = LLVMGetFirstFunction(all), next; f; f = next) {
    next = LLVMGetNextFunction(f);
    if (LLVMIsDeclaration(f) && !LLVMGetFirstUse(f)) LLVMDeleteFunction(f);
  }
  LLVMMemoryBufferRef bc = LLVMWriteBitcodeToMemoryBuffer(jobs[1].mod);
  int rc = NNC_OK;
  if (!bc || LLVMParseBitcodeInContext2(LLVMGetModuleContext(all), bc, &other) ||
      LLVMLinkModules2(all, other))
    rc = nnc_fail(st, NNC_ERR_INTERNAL, "--dump-ir=post: cannot join the module's parts");
  if (bc) LLVMDisposeMemoryBuffer(bc);
  if (!rc) rc = write_ir(all, path, st);
  LLVMDisposeModule(all);
  return rc;
}

/* The objects of a compile, and the one blob the cache and the memo keep:
 * "nncobjs1", the count and the lengths (u64 each), then the objects: per
 * part its kernels' and its drivers' (job_emit). */
#define PART_MAX 2
#define OBJ_MAX (2 * PART_MAX)
typedef struct obj_set {
  int n;
  LLVMMemoryBufferRef obj[OBJ_MAX];
} obj_set;
static const char blob_magic[8] = {'n', 'n', 'c', 'o', 'b', 'j', 's', '1'};

static void obj_set_free(obj_set *s) {
  for (int i = 0; i < s->n; i++)
    if (s->obj[i]) LLVMDisposeMemoryBuffer(s->obj[i]);
  s->n = 0;
}

static void *blob_pack(const obj_set *s, size_t *len) {
  uint64_t head[2 + OBJ_MAX];
  memcpy(&head[0], blob_magic, 8);
  head[1] = (uint64_t)s->n;
  size_t total = sizeof(uint64_t) * (2 + (size_t)s->n);
  for (int i = 0; i < s->n; i++) total += (head[2 + i] = LLVMGetBufferSize(s->obj[i]));
  char *blob = malloc(total), *at = blob;
  if (!blob) return NULL;
  memcpy(at, head, sizeof(uint64_t) * (2 + (size_t)s->n));
  at += sizeof(uint64_t) * (2 + (size_t)s->n);
  for (int i = 0; i < s->n; i++) {
    memcpy(at, LLVMGetBufferStart(s->obj[i]), head[2 + i]);
    at += head[2 + i];
  }
  *len = total;
  return blob;
}

/* The objects of a blob (0), or -1 when it is not one. */
static int blob_unpack(const char *blob, size_t len, obj_set *s) {
  uint64_t head[2 + OBJ_MAX];
  s->n = 0;
  if (len < 16) return -1;
  memcpy(head, blob, 16);
  if (memcmp(&head[0], blob_magic, 8) || head[1] < 1 || head[1] > OBJ_MAX) return -1;
  size_t at = sizeof(uint64_t) * (2 + (size_t)head[1]);
  if (len < at) return -1;
  memcpy(head, blob, at);
  for (uint64_t i = 0; i < head[1]; i++) {
    if (head[2 + i] > len - at) return -1;
    at += head[2 + i];
  }
  if (at != len) return -1;
  at = sizeof(uint64_t) * (2 + (size_t)head[1]);
  for (uint64_t i = 0; i < head[1]; i++) {
    s->obj[s->n++] =
        LLVMCreateMemoryBufferWithMemoryRangeCopy(blob + at, (size_t)head[2 + i], "nnc.o");
    at += head[2 + i];
  }
  return 0;
}

/* The module defines a GEMM strip function (emit_gemm.c names them
 * gemm_strip_...), not only calls the strip library's. */
static int defines_strips(LLVMModuleRef mod) {
  for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f)) {
    size_t len;
    if (!LLVMIsDeclaration(f) && !strncmp(LLVMGetValueName2(f, &len), "gemm_strip_", 11)) return 1;
  }
  return 0;
}

/* The module's machine code, optimised and compiled here in up to two
 * parts on two threads (and stored in the cache under the key computed
 * before emission). Takes ctx and mod. */
static int module_objects(LLVMContextRef ctx, LLVMModuleRef mod, const nnc_codegen_options *opts,
                          const cache_slot *cache, obj_set *out, void **blob, size_t *blob_len,
                          nnc_status *st) {
  nnc_timing *timing = opts ? opts->timing : NULL;
  part_job jobs[PART_MAX];
  memset(jobs, 0, sizeof jobs);
  jobs[0].ctx = ctx;
  jobs[0].mod = mod;
  int n = 1, rc = NNC_OK;
  if (!(jobs[0].tm = host_machine(st))) rc = st->code;
  if (!rc) {
    set_target(mod, jobs[0].tm);
    long light = unoptimised_drivers(mod);
    if (timing) timing->kernels_light += light;
  }
  if (!rc && split_wanted()) {
    nnc_time t0 = timing_now();
    /* Interprocedural constants before the split, on the whole module: in
     * each part, O3's (or the row pipeline's) IPSCCP propagates a caller's
     * constant arguments only into callees of the same part, so which part
     * a GEMM strip landed in changed its code (the MLP's K = 128 strip: 278
     * or 358 instructions). Done once here, every function gets them
     * whatever the deal, and the split can move kernels for balance alone
     * (module_split.c; NNC_SPLIT_CHEAP=0: not done). Only for a module
     * with GEMM strips of its own: the kernels and the library's strips
     * gain nothing measurable from it (the MLP's machine code 1 % larger
     * without it), and it cost 3.5 ms of the calling thread before part 1
     * could start (docs/performance.md, "Session 32"). */
    if (module_split_cheap_on() && defines_strips(mod))
      rc = run_pipeline(mod, PIPELINE_PRESPLIT, jobs[0].tm, st);
    if (!rc) rc = module_split_begin(mod, &jobs[1].pending, NULL, st);
    n = jobs[1].pending.bitcode ? 2 : 1;
    if (timing) timing_add(&timing->stage[NNC_STAGE_SPLIT], t0);
  }
  int dump_post = opts && opts->dump_ir_post;
  if (!rc && n == 2 && !dump_post && !serial_wanted()) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, job_thread, &jobs[1])) {
      job_run(&jobs[1]); /* no thread: the same work here */
      job_run(&jobs[0]);
    } else {
      job_run(&jobs[0]);
      pthread_join(thread, NULL);
    }
  } else if (!rc) {
    for (int i = n - 1; i >= 0; i--) job_optimize(&jobs[i]);
    if (dump_post && !jobs[0].rc && !jobs[n - 1].rc)
      rc = write_ir_parts(jobs, n, opts->dump_ir_post, st);
    for (int i = n - 1; i >= 0 && !rc; i--) job_emit(&jobs[i]);
  }
  for (int i = 0; i < n && !rc; i++)
    if (jobs[i].rc) {
      *st = jobs[i].st;
      rc = jobs[i].rc;
    }
  if (timing) {
    double opt_wall = 0, code_wall = 0;
    for (int i = 0; i < n; i++) {
      timing->kernels_o3 += jobs[i].o3;
      timing->stage[NNC_STAGE_OPT].cpu += jobs[i].opt.cpu;
      timing->stage[NNC_STAGE_CODEGEN].cpu += jobs[i].code.cpu;
      if (jobs[i].opt.wall > opt_wall) opt_wall = jobs[i].opt.wall;
      if (jobs[i].code.wall > code_wall) code_wall = jobs[i].code.wall;
      timing->part_opt[i].cpu += jobs[i].opt.cpu;
      timing->part_opt[i].wall += jobs[i].opt.wall;
      timing->part_codegen[i].cpu += jobs[i].code.cpu;
      timing->part_codegen[i].wall += jobs[i].code.wall;
    }
    timing->stage[NNC_STAGE_OPT].wall += opt_wall;
    timing->stage[NNC_STAGE_CODEGEN].wall += code_wall;
    if (n == 2) timing->parts = 2;
  }
  if (!rc) {
    atomic_fetch_add(&objects_compiled, 1);
    out->n = 0;
    for (int i = 0; i < n; i++) {
      out->obj[out->n++] = jobs[i].obj;
      jobs[i].obj = NULL;
      if (timing && jobs[i].obj_drivers_only) timing->driver_objects++;
      if (jobs[i].obj_drivers) {
        out->obj[out->n++] = jobs[i].obj_drivers;
        if (timing) timing->driver_objects++;
      }
      jobs[i].obj_drivers = NULL;
    }
    if (timing) timing->objects += out->n;
    /* one blob for the cache and the memo (keyed: one of them wants it) */
    if (cache->keyed && !(*blob = blob_pack(out, blob_len)))
      rc = nnc_fail(st, NNC_ERR_NOMEM, "out of memory");
  }
  for (int i = 0; i < n; i++) job_free(&jobs[i]);
  if (!rc && cache->usable) {
    nnc_time t0 = timing_now();
    obj_cache_store(cache->dir, &cache->key, *blob, *blob_len);
    if (timing) timing_add(&timing->stage[NNC_STAGE_CACHE], t0);
  }
  return rc;
}

/* The cache entry for graphs with these switches: its objects when there
 * is one (a hit: no IR is built at all); 0 objects otherwise. */
static void cache_lookup(const nnc_graph *const *graphs, int n, const cache_switches *sw,
                         const nnc_codegen_options *opts, cache_slot *cache, obj_set *out) {
  nnc_timing *timing = opts ? opts->timing : NULL;
  nnc_time t0 = timing_now();
  out->n = 0;
  codegen_memo *memo = opts ? opts->memo : NULL;
  int disk = !(opts && (opts->no_cache || opts->emit_only)) &&
             !obj_cache_dir(cache->dir, sizeof cache->dir);
  cache->keyed =
      (disk || (memo && !opts->emit_only)) && !cache_key_compute(&cache->key, graphs, n, sw);
  cache->usable = disk && cache->keyed;
  /* --dump-ir=post needs the optimised module: compile it (and store it) */
  int dump_post = opts && opts->dump_ir_post;
  if (cache->keyed && memo && memo->has && !dump_post && memo->key.h[0] == cache->key.h[0] &&
      memo->key.h[1] == cache->key.h[1] && !blob_unpack(memo->data, memo->len, out)) {
    if (timing) timing_add(&timing->stage[NNC_STAGE_CACHE], t0);
    atomic_fetch_add(&memo_reused, 1);
    return;
  }
  size_t len = 0;
  void *data = cache->usable && !dump_post ? obj_cache_load(cache->dir, &cache->key, &len) : NULL;
  if (data && blob_unpack(data, len, out)) out->n = 0; /* not a blob: a miss */
  free(data);
  if (timing) timing_add(&timing->stage[NNC_STAGE_CACHE], t0);
  if (out->n) {
    atomic_fetch_add(&cache_hits, 1);
    if (timing) timing->cache_hits++;
  } else if (cache->usable) {
    atomic_fetch_add(&cache_misses, 1);
    if (timing) timing->cache_misses++;
  }
}

/* Does an object call a library strip (strip_lib.h)? Its string table
 * holds the name of every symbol it references; a module of no plain
 * product links no library (nor maps it for perf). */
static int names_library_strip(const obj_set *s) {
  static const char prefix[] = "nnc_gemm_lib_";
  const size_t n = sizeof prefix - 1;
  for (int i = 0; i < s->n; i++) {
    const char *at = LLVMGetBufferStart(s->obj[i]);
    size_t len = LLVMGetBufferSize(s->obj[i]);
    for (size_t k = 0; k + n <= len; k++)
      if (at[k] == 'n' && !memcmp(at + k, prefix, n)) return 1;
  }
  return 0;
}

/* The address of symbol `format` (one %s: the graph's name) in the JIT. */
static int jit_lookup(nnc_jit *jit, const char *format, const char *graph,
                      LLVMOrcJITTargetAddress *addr, nnc_status *st) {
  char name[64];
  snprintf(name, sizeof name, format, graph);
  LLVMErrorRef err = LLVMOrcLLJITLookup(jit->lljit, addr, name);
  return err ? llvm_error(st, err, "JIT lookup") : NNC_OK;
}

int codegen_compile(const nnc_graph *const *graphs, int n, const nnc_program *prog,
                    const nnc_codegen_options *opts, nnc_jit **jit_out, nnc_step_fn *fns,
                    nnc_status *st) {
  pthread_once(&llvm_once, llvm_init);
  if (!llvm_ready)
    return nnc_fail(st, NNC_ERR_COMPILE, "LLVM has no native target on this machine");
  (void)prog; /* not read by emission: see build_module */
  *jit_out = NULL;
  nnc_jit *jit = NULL;
  nnc_timing *timing = opts ? opts->timing : NULL;
  int vw = codegen_vector_width();
  cache_switches sw = {vw, opts && opts->accumulate_f64, strip_lib_mode(vw)};
  cache_slot cache;
  obj_set objs;
  perf_map_obj perf[OBJ_MAX] = {{0}}, perf_lib = {0, NULL};
  cache_lookup(graphs, n, &sw, opts, &cache, &objs);
  void *blob = NULL;
  size_t blob_len = 0;
  int rc = NNC_OK;
  /* a hit needs no module, unless the IR before optimisation is asked for */
  if (!objs.n || (opts && opts->dump_ir_pre)) {
    LLVMContextRef ctx = codegen_context_create();
    LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("nnc", ctx);
    rc = build_module(ctx, mod, graphs, n, &sw, timing, st);
    if (!rc && timing) timing->ir_instructions += count_instructions(mod);
    if (!rc && opts && opts->dump_ir_pre) rc = write_ir(mod, opts->dump_ir_pre, st);
    if (!rc && opts && opts->emit_only) {
      for (int i = 0; i < n; i++) fns[i] = NULL;
      LLVMDisposeModule(mod);
      LLVMContextDispose(ctx);
      obj_set_free(&objs);
      return NNC_OK;
    }
    if (!rc && !objs.n) {
      mark_drivers_apart(mod, graphs, n);
      rc = module_objects(ctx, mod, opts, &cache, &objs, &blob, &blob_len, st);
    } else {
      LLVMDisposeModule(mod);
      LLVMContextDispose(ctx);
    }
  }
  if (!rc && (!(jit = calloc(1, sizeof *jit)) ||
              !(jit->scratch_floats = calloc((size_t)n + 1, sizeof *jit->scratch_floats))))
    rc = nnc_fail(st, NNC_ERR_NOMEM, "out of memory");
  if (rc) goto fail;
  if (cache.keyed && opts && opts->memo) {
    if (!blob) blob = blob_pack(&objs, &blob_len);
    if (blob) memo_keep(opts->memo, &cache.key, blob, blob_len);
    blob = NULL;
  }
  free(blob); /* stored in the cache, kept by no memo */
  blob = NULL;

  /* the same machine code, cached or not, is linked into the process; the
   * JIT compiles no IR, so its target machine is LLVM's host description
   * (detectHost: CPU name and features), not a second host_machine(),
   * whose creation cost a warm compile 13 % of its instructions */
  nnc_time t0 = timing_now();
  LLVMOrcJITTargetMachineBuilderRef jtmb = NULL;
  LLVMErrorRef err = LLVMOrcJITTargetMachineBuilderDetectHost(&jtmb);
  if (err) {
    rc = llvm_error(st, err, "detecting the host for the JIT");
    goto fail;
  }
  LLVMOrcLLJITBuilderRef builder = LLVMOrcCreateLLJITBuilder();
  LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, jtmb); /* owned by the builder */
  err = LLVMOrcCreateLLJIT(&jit->lljit, builder);
  if (err) {
    rc = llvm_error(st, err, "creating the JIT");
    goto fail;
  }
  LLVMOrcJITDylibRef dylib = LLVMOrcLLJITGetMainJITDylib(jit->lljit);
  LLVMOrcDefinitionGeneratorRef gen;
  err = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
      &gen, LLVMOrcLLJITGetGlobalPrefix(jit->lljit), NULL, NULL);
  if (err) {
    rc = llvm_error(st, err, "JIT symbol resolution");
    goto fail;
  }
  LLVMOrcJITDylibAddGenerator(dylib, gen);
  if (sw.strips == CG_STRIPS_LIBRARY && names_library_strip(&objs) &&
      ((rc = strip_lib_link(jit->lljit, dylib, vw, st)) ||
       (perf_map_wanted() && (rc = strip_lib_perf_collect(vw, &perf_lib, st)))))
    goto fail;
  /* NNC_PERF_MAP=1: the objects' functions, read before the JIT owns them */
  int perf_objs = 0;
  if (perf_map_wanted())
    for (; perf_objs < objs.n; perf_objs++)
      if ((rc = perf_map_collect(objs.obj[perf_objs], &perf[perf_objs], st))) goto fail;
  for (int i = 0; i < objs.n; i++) {
    err = LLVMOrcLLJITAddObjectFile(jit->lljit, dylib, objs.obj[i]);
    objs.obj[i] = NULL; /* owned by the JIT */
    if (err) {
      rc = llvm_error(st, err, "adding an object to the JIT");
      goto fail;
    }
  }
  for (int i = 0; i < n; i++) {
    union {
      LLVMOrcJITTargetAddress addr;
      nnc_step_fn fn;
    } step = {0};
    union {
      LLVMOrcJITTargetAddress addr;
      int64_t (*fn)(void);
    } floats = {0};
    if ((rc = jit_lookup(jit, "nnc_%s_step", graphs[i]->name, &step.addr, st)) ||
        (rc = jit_lookup(jit, "nnc_%s_scratch_floats", graphs[i]->name, &floats.addr, st)))
      goto fail;
    fns[i] = step.fn;
    jit->scratch_floats[i] = floats.fn();
    jit->n = i + 1;
  }
  for (int i = 0; i < perf_objs; i++)
    if ((rc = perf_map_write(&perf[i], jit->lljit, NULL, st))) goto fail;
  if (perf_lib.n && (rc = perf_map_write(&perf_lib, jit->lljit, NULL, st))) goto fail;
  if (timing) timing_add(&timing->stage[NNC_STAGE_LINK], t0);
  for (int i = 0; i < OBJ_MAX; i++) perf_map_free(&perf[i]);
  perf_map_free(&perf_lib);
  *jit_out = jit;
  return NNC_OK;
fail:
  for (int i = 0; i < OBJ_MAX; i++) perf_map_free(&perf[i]);
  perf_map_free(&perf_lib);
  obj_set_free(&objs);
  free(blob);
  if (jit) codegen_release(jit);
  return rc;
}

void codegen_release(nnc_jit *jit) {
  if (!jit) return;
  if (jit->lljit) LLVMOrcDisposeLLJIT(jit->lljit);
  free(jit->scratch_floats);
  free(jit);
}

/* ---- one object file for another program (nnc compile -o: aot.c) ---- */

/* The module the JIT would compile, built and optimised the same way
 * (same graphs, switches and pipelines) but whole, not split in two: the
 * split changes which functions are declared where, not a single float
 * operation (no pass reassociates), so results equal the JIT's bit for bit.
 * req->finish adds the table and entry points after optimisation. Only
 * the native target is registered (nnc links LLVM's native backend alone):
 * other architectures are unknown triples. */
int codegen_emit_object(const nnc_graph *const *graphs, int n, const codegen_object_request *req,
                        void **obj, size_t *len, nnc_status *st) {
  *obj = NULL;
  *len = 0;
  pthread_once(&llvm_once, llvm_init);
  if (!llvm_ready)
    return nnc_fail(st, NNC_ERR_COMPILE, "LLVM has no native target on this machine");
  char *err = NULL;
  LLVMTargetRef target;
  if (LLVMGetTargetFromTriple(req->triple, &target, &err)) {
    nnc_fail(st, NNC_ERR_ARG, "--target %s: LLVM knows no such target (%s)", req->triple,
             err ? err : "");
    LLVMDisposeMessage(err);
    return NNC_ERR_ARG;
  }
  LLVMTargetMachineRef tm =
      LLVMCreateTargetMachine(target, req->triple, req->cpu, req->features ? req->features : "",
                              LLVMCodeGenLevelAggressive, LLVMRelocPIC, LLVMCodeModelDefault);
  if (!tm)
    return nnc_fail(st, NNC_ERR_ARG, "--cpu %s: no target machine for %s", req->cpu, req->triple);
  cache_switches sw = {req->vector_width, req->accumulate_f64, CG_STRIPS_OWN}; /* self-contained */
  LLVMContextRef ctx = codegen_context_create();
  LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("nnc_aot", ctx);
  int rc = build_module(ctx, mod, graphs, n, &sw, NULL, st);
  long o3 = 0;
  if (!rc) {
    set_target(mod, tm);
    unoptimised_drivers(mod);
    rc = optimize(mod, tm, &o3, st);
  }
  if (!rc) {
    pack_freeze_run(mod);
    cheap_codegen(mod);
  }
  if (!rc && req->finish) rc = req->finish(req->arg, mod, st);
  LLVMMemoryBufferRef buf = NULL;
  if (!rc && LLVMTargetMachineEmitToMemoryBuffer(tm, mod, LLVMObjectFile, &err, &buf)) {
    rc = nnc_fail(st, NNC_ERR_COMPILE, "LLVM code generation for %s (%s): %s", req->triple,
                  req->cpu, err ? err : "");
    LLVMDisposeMessage(err);
    buf = NULL;
  }
  if (buf) {
    *len = LLVMGetBufferSize(buf);
    if (!(*obj = malloc(*len + 1)))
      rc = nnc_fail(st, NNC_ERR_NOMEM, "out of memory");
    else
      memcpy(*obj, LLVMGetBufferStart(buf), *len);
    LLVMDisposeMemoryBuffer(buf);
  }
  LLVMDisposeModule(mod);
  LLVMContextDispose(ctx);
  LLVMDisposeTargetMachine(tm);
  return rc;
}

/* mod optimised and compiled for this host as a part of the JIT's is
 * (strip_lib.c builds the library so); takes mod. */
int codegen_host_object(LLVMModuleRef mod, LLVMMemoryBufferRef *obj, nnc_status *st) {
  pthread_once(&llvm_once, llvm_init);
  part_job j;
  memset(&j, 0, sizeof j);
  j.mod = mod;
  if (!llvm_ready) {
    LLVMDisposeModule(mod);
    return nnc_fail(st, NNC_ERR_COMPILE, "LLVM has no native target");
  }
  if (!(j.tm = host_machine(st))) {
    LLVMDisposeModule(mod);
    return st->code;
  }
  set_target(mod, j.tm);
  job_run(&j);
  if (j.rc) *st = j.st;
  *obj = j.obj;
  j.obj = NULL;
  j.ctx = NULL; /* the caller's */
  int rc = j.rc;
  job_free(&j);
  return rc;
}

void codegen_host_target(char **triple, char **cpu, char **features) {
  pthread_once(&llvm_once, llvm_init);
  *triple = LLVMGetDefaultTargetTriple();
  *cpu = LLVMGetHostCPUName();
  *features = LLVMGetHostCPUFeatures();
}
