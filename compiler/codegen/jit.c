/* Module assembly, O3 for the host CPU, the object cache and ORC LLJIT. */
#include <llvm-c/Analysis.h>
#include <llvm-c/BitWriter.h>
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
#include "compiler/codegen/obj_cache.h"
#include "base/base.h"

int cg_emit_graph(cg *c, const nnc_graph *g, const nnc_program *prog);

struct nnc_jit {
  LLVMOrcLLJITRef lljit;
};

static pthread_once_t llvm_once = PTHREAD_ONCE_INIT;
static int llvm_ready;

static void llvm_init(void) {
  llvm_ready = !LLVMInitializeNativeTarget() && !LLVMInitializeNativeAsmPrinter();
}

static int llvm_error(nnc_status *st, LLVMErrorRef err, const char *what) {
  char *msg = LLVMGetErrorMessage(err);
  nnc_fail(st, NNC_ERR_COMPILE, "%s: %s", what, msg);
  LLVMDisposeErrorMessage(msg);
  return NNC_ERR_COMPILE;
}

/* A TargetMachine for this CPU: name *and* features, or LLVM 14 misses AVX-512 on Zen 4. */
static LLVMTargetMachineRef host_machine(nnc_status *st) {
  char *triple = LLVMGetDefaultTargetTriple(), *cpu = LLVMGetHostCPUName();
  char *features = LLVMGetHostCPUFeatures(), *err = NULL;
  LLVMTargetRef target;
  LLVMTargetMachineRef tm = NULL;
  if (LLVMGetTargetFromTriple(triple, &target, &err)) {
    nnc_fail(st, NNC_ERR_COMPILE, "no LLVM target for %s: %s", triple, err ? err : "");
    LLVMDisposeMessage(err);
  } else {
    tm = LLVMCreateTargetMachine(target, triple, cpu, features, LLVMCodeGenLevelAggressive,
                                 LLVMRelocDefault, LLVMCodeModelJITDefault);
    if (!tm) nnc_fail(st, NNC_ERR_COMPILE, "cannot create a target machine for %s", cpu);
  }
  LLVMDisposeMessage(triple);
  LLVMDisposeMessage(cpu);
  LLVMDisposeMessage(features);
  return tm;
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
  memset(&c, 0, sizeof c);
  c.ctx = ctx;
  c.mod = mod;
  c.b = LLVMCreateBuilderInContext(ctx);
  c.f32 = LLVMFloatTypeInContext(ctx);
  c.i64 = LLVMInt64TypeInContext(ctx);
  c.i32 = LLVMInt32TypeInContext(ctx);
  c.i1 = LLVMInt1TypeInContext(ctx);
  c.ptr = LLVMPointerType(c.f32, 0);
  c.void_t = LLVMVoidTypeInContext(ctx);
  c.vector_width = sw->vector_width;
  c.accumulate_f64 = sw->accumulate_f64;
  const char *sharing = getenv("NNC_KERNEL_SHARING");
  c.no_sharing = sharing && !strcmp(sharing, "0");
  c.st = st;
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
#define PIPELINE_KEY                                                                               \
  PIPELINE " " PIPELINE_LIGHT " loop-vectorize slp-vectorize no-unroll codegen-aggressive"

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
    const char *name = LLVMGetValueName2(f, &len);
    int driver = !strncmp(name, "nnc_", 4) &&
                 ((len > 5 && !strcmp(name + len - 5, "_step")) || strstr(name, "_part"));
    if (LLVMIsDeclaration(f) || !driver) continue;
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

/* O3 on the kernels outside the light set, then the light pipeline on that
 * set; NNC_OPT_UNIFORM=1: O3 on everything. *o3 counts the functions that
 * went through O3. */
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
  int rc = heavy ? run_pipeline(mod, PIPELINE, tm, st) : NNC_OK;
  unhide(mod);
  if (!rc && light) {
    hide(mod, 0);
    rc = run_pipeline(mod, PIPELINE_LIGHT, tm, st);
    unhide(mod);
  }
  return rc;
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

/* Keep obj's bytes as the memo's (a failed copy only forgets the old one). */
static void memo_keep(codegen_memo *m, const obj_key *key, LLVMMemoryBufferRef obj) {
  size_t len = LLVMGetBufferSize(obj);
  void *copy = malloc(len);
  codegen_memo_free(m);
  if (!copy) return;
  memcpy(copy, LLVMGetBufferStart(obj), len);
  *m = (codegen_memo){1, *key, copy, len};
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

/* The module's machine code, optimised and compiled here (and stored in
 * the cache under the key computed before emission). *obj is owned by the
 * caller. */
static int module_object(LLVMModuleRef mod, LLVMTargetMachineRef tm,
                         const nnc_codegen_options *opts, const cache_slot *cache,
                         LLVMMemoryBufferRef *obj, nnc_status *st) {
  nnc_timing *timing = opts ? opts->timing : NULL;
  set_target(mod, tm);
  long light = unoptimised_drivers(mod);
  if (timing) timing->kernels_light += light;
  nnc_time t0 = timing_now();
  long o3 = 0;
  int rc = optimize(mod, tm, &o3, st);
  if (timing) timing->kernels_o3 += o3;
  if (timing) timing_add(&timing->stage[NNC_STAGE_OPT], t0);
  if (!rc && opts && opts->dump_ir_post) rc = write_ir(mod, opts->dump_ir_post, st);
  if (rc) return rc;
  t0 = timing_now();
  char *msg = NULL;
  if (LLVMTargetMachineEmitToMemoryBuffer(tm, mod, LLVMObjectFile, &msg, obj)) {
    nnc_fail(st, NNC_ERR_COMPILE, "LLVM code generation: %s", msg ? msg : "");
    LLVMDisposeMessage(msg);
    return NNC_ERR_COMPILE;
  }
  atomic_fetch_add(&objects_compiled, 1);
  if (timing) timing_add(&timing->stage[NNC_STAGE_CODEGEN], t0);
  t0 = timing_now();
  if (cache->usable)
    obj_cache_store(cache->dir, &cache->key, LLVMGetBufferStart(*obj), LLVMGetBufferSize(*obj));
  if (timing) timing_add(&timing->stage[NNC_STAGE_CACHE], t0);
  return NNC_OK;
}

/* The cache entry for graphs with these switches: its machine code when
 * there is one (a hit: no IR is built at all), else NULL. */
static LLVMMemoryBufferRef cache_lookup(const nnc_graph *const *graphs, int n,
                                        const cache_switches *sw, const nnc_codegen_options *opts,
                                        cache_slot *cache) {
  nnc_timing *timing = opts ? opts->timing : NULL;
  nnc_time t0 = timing_now();
  codegen_memo *memo = opts ? opts->memo : NULL;
  int disk = !(opts && (opts->no_cache || opts->emit_only)) &&
             !obj_cache_dir(cache->dir, sizeof cache->dir);
  cache->keyed =
      (disk || (memo && !opts->emit_only)) && !cache_key_compute(&cache->key, graphs, n, sw);
  cache->usable = disk && cache->keyed;
  /* --dump-ir=post needs the optimised module: compile it (and store it) */
  int dump_post = opts && opts->dump_ir_post;
  if (cache->keyed && memo && memo->has && !dump_post && memo->key.h[0] == cache->key.h[0] &&
      memo->key.h[1] == cache->key.h[1]) {
    if (timing) timing_add(&timing->stage[NNC_STAGE_CACHE], t0);
    atomic_fetch_add(&memo_reused, 1);
    return LLVMCreateMemoryBufferWithMemoryRangeCopy(memo->data, memo->len, "nnc.o");
  }
  size_t len = 0;
  void *data = cache->usable && !dump_post ? obj_cache_load(cache->dir, &cache->key, &len) : NULL;
  LLVMMemoryBufferRef obj =
      data ? LLVMCreateMemoryBufferWithMemoryRangeCopy(data, len, "nnc.o") : NULL;
  free(data);
  if (timing) timing_add(&timing->stage[NNC_STAGE_CACHE], t0);
  if (obj) {
    atomic_fetch_add(&cache_hits, 1);
    if (timing) timing->cache_hits++;
  } else if (cache->usable) {
    atomic_fetch_add(&cache_misses, 1);
    if (timing) timing->cache_misses++;
  }
  return obj;
}

int codegen_compile(const nnc_graph *const *graphs, int n, const nnc_program *prog,
                    const nnc_codegen_options *opts, nnc_jit **jit_out, nnc_step_fn *fns,
                    nnc_status *st) {
  pthread_once(&llvm_once, llvm_init);
  if (!llvm_ready)
    return nnc_fail(st, NNC_ERR_COMPILE, "LLVM has no native target on this machine");
  (void)prog; /* not read by emission: see build_module */
  *jit_out = NULL;
  LLVMTargetMachineRef tm = NULL;
  nnc_jit *jit = NULL;
  nnc_timing *timing = opts ? opts->timing : NULL;
  cache_switches sw = {codegen_vector_width(), opts && opts->accumulate_f64};
  cache_slot cache;
  LLVMMemoryBufferRef obj = cache_lookup(graphs, n, &sw, opts, &cache);
  int rc = NNC_OK;
  /* a hit needs no module, unless the IR before optimisation is asked for */
  if (!obj || (opts && opts->dump_ir_pre)) {
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("nnc", ctx);
    rc = build_module(ctx, mod, graphs, n, &sw, timing, st);
    if (!rc && timing) timing->ir_instructions += count_instructions(mod);
    if (!rc && opts && opts->dump_ir_pre) rc = write_ir(mod, opts->dump_ir_pre, st);
    if (!rc && opts && opts->emit_only) {
      for (int i = 0; i < n; i++) fns[i] = NULL;
      LLVMDisposeModule(mod);
      LLVMContextDispose(ctx);
      return NNC_OK;
    }
    if (!rc && !obj && !(tm = host_machine(st))) rc = st->code;
    if (!rc && !obj) rc = module_object(mod, tm, opts, &cache, &obj, st);
    LLVMDisposeModule(mod);
    LLVMContextDispose(ctx);
  }
  if (!rc && !(jit = calloc(1, sizeof *jit))) rc = nnc_fail(st, NNC_ERR_NOMEM, "out of memory");
  if (rc) goto fail;
  if (cache.keyed && opts && opts->memo) memo_keep(opts->memo, &cache.key, obj);

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
  err = LLVMOrcLLJITAddObjectFile(jit->lljit, dylib, obj);
  obj = NULL; /* owned by the JIT */
  if (err) {
    rc = llvm_error(st, err, "adding the object to the JIT");
    goto fail;
  }
  for (int i = 0; i < n; i++) {
    char name[64];
    snprintf(name, sizeof name, "nnc_%s_step", graphs[i]->name);
    LLVMOrcJITTargetAddress addr = 0;
    err = LLVMOrcLLJITLookup(jit->lljit, &addr, name);
    if (err) {
      rc = llvm_error(st, err, "JIT lookup");
      goto fail;
    }
    union {
      LLVMOrcJITTargetAddress addr;
      nnc_step_fn fn;
    } cast = {.addr = addr};
    fns[i] = cast.fn;
  }
  if (timing) timing_add(&timing->stage[NNC_STAGE_LINK], t0);
  if (tm) LLVMDisposeTargetMachine(tm);
  *jit_out = jit;
  return NNC_OK;
fail:
  if (obj) LLVMDisposeMemoryBuffer(obj);
  if (tm) LLVMDisposeTargetMachine(tm);
  if (jit) codegen_release(jit);
  return rc;
}

void codegen_release(nnc_jit *jit) {
  if (!jit) return;
  if (jit->lljit) LLVMOrcDisposeLLJIT(jit->lljit);
  free(jit);
}
