/* The module in two parts, compiled on two threads (jit.c).
 *
 * Code generation is most of a cold compile and LLVM compiles one module on
 * one thread; two modules in two LLVM contexts can be optimised and compiled
 * at once, each to its own object, and the JIT links both objects (a call
 * from one to the other is an ordinary external symbol). The functions are
 * dealt to the parts by estimated cost, largest first, each to the lighter
 * part: a function of the module's content only, so the parts, and the
 * objects, never depend on thread timing. */
#include "compiler/codegen/module_split.h"

#include <llvm-c/BitReader.h>
#include <llvm-c/BitWriter.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

/* Instructions of a function. */
static long instructions(LLVMValueRef f) {
  long n = 0;
  for (LLVMBasicBlockRef b = LLVMGetFirstBasicBlock(f); b; b = LLVMGetNextBasicBlock(b))
    for (LLVMValueRef i = LLVMGetFirstInstruction(b); i; i = LLVMGetNextInstruction(i)) n++;
  return n;
}

int module_split_cheap_on(void) {
  const char *e = getenv("NNC_SPLIT_CHEAP");
  return !(e && !strcmp(e, "0"));
}

const char *codegen_kernel_kind(const char *name) {
  const char *g = strstr(name, "_g");
  if (!g || g[2] < '0' || g[2] > '9') return NULL;
  const char *k = g + 2;
  while (*k >= '0' && *k <= '9') k++;
  return *k == '_' ? k + 1 : NULL;
}

static int kind_is(const char *kind, const char *const *kinds) {
  for (int i = 0; kind && kinds[i]; i++)
    if (!strcmp(kind, kinds[i])) return 1;
  return 0;
}

/* Estimated code generation cost of a function from the n instructions of
 * its IR before optimisation, in units of 0.1 M instructions of `llc -O3`
 * on the function alone (its empty module's share subtracted), by kind,
 * fitted to the Fashion-MNIST MLP's 35 functions (docs/performance.md,
 * "Session 35"): the IR before optimisation undercounts a matmul kernel
 * most (its epilogue's loops are vectorized, a dropout's generator on
 * 64-bit lanes: 14.2 M for 142 instructions); reductions and the row ops
 * (softmax, its cross-entropy, argmax: cheap code generation, but vector
 * code FastISel hands back to instruction selection) cost ~1.2-1.3 units an
 * instruction, the elementwise kinds (cheap code generation) half that; a
 * driver (optnone: fast instruction selection, no IR passes) a third of a
 * unit at code generation level None (CG_DRIVER_APART_ATTR), 3/4 at the
 * full level. A matmul kernel with its strips inline and the update on
 * each tile (CG_TILE_GROUP_ATTR) half a matmul's units an instruction:
 * unrolled straight-line tiles, cheaper than the vectorized loops the
 * estimate above counts (W4-wide's 1 185-instruction update kernel alone in
 * part 0 took 0.056 s of CPU against part 1's 0.12 s at 5 an instruction;
 * session 37). Other kinds (convolution, pooling, recurrences, the claims) keep
 * session 19's estimate, 300 + 4 per instruction in units a quarter of
 * these. NNC_SPLIT_CHEAP=0: that estimate for every kernel and 1.5 an
 * instruction for a driver (session 19's before its cheap kinds). */
static const char *const ROW_KINDS[] = {"softmax", "softmax_xent", "argmax", NULL};
static const char *const ELEMENT_KINDS[] = {"binary",  "unary",    "broadcast", "reshape",
                                            "one_hot", "part_sum", NULL};

/* 1 if f carries the string attribute `mark` (CG_TILE_GROUP_ATTR,
 * CG_DRIVER_APART_ATTR). */
static int marked(LLVMValueRef f, const char *mark) {
  return LLVMGetStringAttributeAtIndex(f, LLVMAttributeFunctionIndex, mark,
                                       (unsigned)strlen(mark)) != NULL;
}

static long cost_of(LLVMValueRef f) {
  long n = instructions(f);
  unsigned optnone = LLVMGetEnumAttributeKindForName("optnone", 7);
  int driver = LLVMGetEnumAttributeAtIndex(f, LLVMAttributeFunctionIndex, optnone) != NULL;
  if (!module_split_cheap_on()) return driver ? 3 * n / 2 : 300 + 4 * n;
  if (driver) return module_split_driver_apart(f) ? n / 3 : 3 * n / 4;
  size_t len;
  const char *kind = codegen_kernel_kind(LLVMGetValueName2(f, &len));
  if (kind && !strcmp(kind, "matmul") && marked(f, CG_TILE_GROUP_ATTR)) return 5 * n / 2;
  if (kind && !strcmp(kind, "matmul")) return n > 40 ? 5 * n - 100 : 100;
  if (kind && !strcmp(kind, "reduce")) return 13 * n / 10 + 10;
  if (kind_is(kind, ROW_KINDS)) return 6 * n / 5 + 20;
  if (kind_is(kind, ELEMENT_KINDS)) return 3 * n / 5 + 20;
  return 75 + n;
}

typedef struct fn_cost {
  long cost;
  int index; /* among the module's defined functions, in module order */
} fn_cost;

static int by_cost(const void *pa, const void *pb) {
  const fn_cost *a = pa, *b = pb;
  if (a->cost != b->cost) return a->cost > b->cost ? -1 : 1;
  return a->index - b->index;
}

/* part[i] for the i-th defined function: largest first, to the part with
 * the smaller total (ties: part 0). Both parts start at 0: the calling
 * thread's emission, verification and bitcode write all come before part
 * 1's thread starts, and part 1's thread reads its bitcode itself (session
 * 14's head start for part 0, half a unit per instruction, made the MLP's
 * cold compile 7 % slower since then: docs/performance.md, "Session 30"). Returns the number of
 * defined functions, or -1 without memory. */
static int assign(LLVMModuleRef mod, int **part_out) {
  int n = 0;
  for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f))
    n += !LLVMIsDeclaration(f);
  fn_cost *c = calloc((size_t)n + 1, sizeof *c);
  int *part = calloc((size_t)n + 1, sizeof *part);
  if (!c || !part) {
    free(c);
    free(part);
    return -1;
  }
  int k = 0;
  for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f))
    if (!LLVMIsDeclaration(f)) {
      c[k] = (fn_cost){cost_of(f), k};
      k++;
    }
  qsort(c, (size_t)n, sizeof *c, by_cost);
  long total[2] = {0, 0};
  for (int i = 0; i < n; i++) {
    int p = total[1] < total[0];
    part[c[i].index] = p;
    total[p] += c[i].cost;
  }
  free(c);
  *part_out = part;
  return n;
}

/* The function that contains value v (an instruction), or NULL. */
static LLVMValueRef user_function(LLVMValueRef v) {
  if (!LLVMIsAInstruction(v)) return NULL;
  return LLVMGetBasicBlockParent(LLVMGetInstructionParent(v));
}

/* Internal functions used from the other part become external (the other
 * object refers to them by name); the others keep their linkage. -1
 * without memory. */
static int expose_shared(LLVMModuleRef mod, const int *part, int n) {
  LLVMValueRef *defs = calloc((size_t)n + 1, sizeof *defs);
  if (!defs) return -1;
  int k = 0;
  for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f))
    if (!LLVMIsDeclaration(f)) defs[k++] = f;
  for (int i = 0; i < n; i++) {
    int cross = 0;
    for (LLVMUseRef u = LLVMGetFirstUse(defs[i]); u && !cross; u = LLVMGetNextUse(u)) {
      LLVMValueRef g = user_function(LLVMGetUser(u));
      int j = 0;
      while (g && j < n && defs[j] != g) j++;
      cross = !g || j == n || part[j] != part[i];
    }
    if (cross && LLVMGetLinkage(defs[i]) == LLVMInternalLinkage) {
      LLVMSetLinkage(defs[i], LLVMExternalLinkage);
      LLVMSetVisibility(defs[i], LLVMHiddenVisibility);
    }
  }
  free(defs);
  return 0;
}

/* Replace the definitions of functions not in part `keep` by declarations. */
static int keep_part(LLVMModuleRef mod, const int *part, int n, int keep) {
  LLVMValueRef *drop = calloc((size_t)n + 1, sizeof *drop);
  if (!drop) return -1;
  int k = 0, m = 0;
  for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f))
    if (!LLVMIsDeclaration(f) && part[k++] != keep) drop[m++] = f;
  for (int i = 0; i < m; i++) {
    LLVMValueRef f = drop[i];
    size_t len;
    const char *name = LLVMGetValueName2(f, &len);
    char *copy = malloc(len + 1);
    if (!copy) {
      free(drop);
      return -1;
    }
    memcpy(copy, name, len + 1);
    LLVMValueRef decl = LLVMAddFunction(mod, "", LLVMGlobalGetValueType(f));
    LLVMSetFunctionCallConv(decl, LLVMGetFunctionCallConv(f));
    LLVMReplaceAllUsesWith(f, decl);
    LLVMDeleteFunction(f);
    LLVMSetValueName2(decl, copy, len);
    free(copy);
  }
  free(drop);
  return 0;
}

int module_split_begin(LLVMModuleRef mod, split_pending *out, int *defined, nnc_status *st) {
  memset(out, 0, sizeof *out);
  int *part = NULL;
  int n = assign(mod, &part);
  if (n < 0) return nnc_fail(st, NNC_ERR_NOMEM, "out of memory");
  if (defined) *defined = n;
  if (n < 2) {
    free(part);
    return NNC_OK;
  }
  LLVMMemoryBufferRef bc = expose_shared(mod, part, n) ? NULL : LLVMWriteBitcodeToMemoryBuffer(mod);
  if (!bc || keep_part(mod, part, n, 0)) {
    if (bc) LLVMDisposeMemoryBuffer(bc);
    free(part);
    return nnc_fail(st, NNC_ERR_NOMEM, "codegen: cannot copy the module for its second part");
  }
  *out = (split_pending){bc, part, n};
  return NNC_OK;
}

int module_split_finish(split_pending *p, LLVMContextRef *ctx_out, LLVMModuleRef *mod_out,
                        nnc_status *st) {
  *ctx_out = NULL;
  *mod_out = NULL;
  LLVMContextRef ctx = codegen_context_create();
  LLVMModuleRef copy = NULL;
  int rc = NNC_OK;
  if (LLVMParseBitcodeInContext2(ctx, p->bitcode, &copy))
    rc = nnc_fail(st, NNC_ERR_INTERNAL, "codegen: cannot copy the module for its second part");
  if (!rc && keep_part(copy, p->part, p->n, 1)) rc = nnc_fail(st, NNC_ERR_NOMEM, "out of memory");
  module_split_drop(p);
  if (rc) {
    if (copy) LLVMDisposeModule(copy);
    LLVMContextDispose(ctx);
    return rc;
  }
  *ctx_out = ctx;
  *mod_out = copy;
  return NNC_OK;
}

/* Internal globals nothing in mod uses any more (each copy of a split keeps
 * them all): dropped, so that no object carries a copy it does not read. */
static void drop_unused_globals(LLVMModuleRef mod) {
  LLVMValueRef g = LLVMGetFirstGlobal(mod);
  while (g) {
    LLVMValueRef next = LLVMGetNextGlobal(g);
    LLVMLinkage l = LLVMGetLinkage(g);
    if ((l == LLVMInternalLinkage || l == LLVMPrivateLinkage) && !LLVMGetFirstUse(g))
      LLVMDeleteGlobal(g);
    g = next;
  }
}

int module_split_driver_apart(LLVMValueRef f) {
  return marked(f, CG_DRIVER_APART_ATTR);
}

int module_split_drivers(LLVMModuleRef mod, LLVMModuleRef *drivers_out, nnc_status *st) {
  *drivers_out = NULL;
  int n = 0, drivers = 0;
  for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f)) {
    if (LLVMIsDeclaration(f)) continue;
    n++;
    drivers += module_split_driver_apart(f);
  }
  if (!drivers || drivers == n) return NNC_OK; /* nothing to take apart */
  int *part = calloc((size_t)n, sizeof *part);
  if (!part) return nnc_fail(st, NNC_ERR_NOMEM, "out of memory");
  int k = 0;
  for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f))
    if (!LLVMIsDeclaration(f)) part[k++] = module_split_driver_apart(f);
  LLVMModuleRef copy = expose_shared(mod, part, n) ? NULL : LLVMCloneModule(mod);
  if (!copy || keep_part(copy, part, n, 1) || keep_part(mod, part, n, 0)) {
    if (copy) LLVMDisposeModule(copy);
    free(part);
    return nnc_fail(st, NNC_ERR_NOMEM, "codegen: cannot copy a part's drivers");
  }
  free(part);
  drop_unused_globals(copy);
  drop_unused_globals(mod);
  *drivers_out = copy;
  return NNC_OK;
}

void module_split_drop(split_pending *p) {
  if (p->bitcode) LLVMDisposeMemoryBuffer(p->bitcode);
  free(p->part);
  memset(p, 0, sizeof *p);
}

int module_split(LLVMModuleRef mod, LLVMContextRef *ctx_out, LLVMModuleRef *mod_out, int *defined,
                 nnc_status *st) {
  *ctx_out = NULL;
  *mod_out = NULL;
  split_pending p;
  int rc = module_split_begin(mod, &p, defined, st);
  if (rc || !p.bitcode) return rc;
  return module_split_finish(&p, ctx_out, mod_out, st);
}
