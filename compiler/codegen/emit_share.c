/* Kernel sharing: a group whose LLVM function would be identical to one
 * already in the module calls that one instead of getting a copy.
 *
 * Layers of the same shapes make identical kernels (the blocks of a ResNet,
 * the Adam update of every weight of one shape, a forward kernel in the train
 * and the test graph): only the buffer pointers differ, and those are
 * arguments. Comparing the code, with the function's own name left out, is
 * exact: two groups share a function only when every instruction, constant
 * and callee is the same, whatever the emitter that made them.
 *
 * Each group is first emitted alone into a scratch module (named "k") and
 * that module is written as bitcode, the bytes compared: working in the big
 * module would walk all of it (LLVM's slot tracker made printing there
 * quadratic), and bitcode is cheaper to write than text. A new kernel is then emitted again
 * into the module; emission is cheap next to optimising and compiling a copy
 * (docs/performance.md, "Compile time"). */
#include <llvm-c/BitWriter.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "compiler/codegen/cg.h"
#include "compiler/ops/op.h"

struct cg_share {
  uint64_t *hash;
  char **text;      /* the function's scratch module as bitcode */
  size_t *len;      /* its bytes */
  LLVMValueRef *fn; /* NULL: empty slot */
  size_t cap, used;
};

static uint64_t hash_bytes(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  return h;
}

static int grow(cg_share *t) {
  size_t cap = t->cap ? 2 * t->cap : 256;
  uint64_t *hash = calloc(cap, sizeof *hash);
  char **text = calloc(cap, sizeof *text);
  size_t *len = calloc(cap, sizeof *len);
  LLVMValueRef *fn = calloc(cap, sizeof *fn);
  if (!hash || !text || !len || !fn) {
    free(hash);
    free(text);
    free(len);
    free(fn);
    return -1;
  }
  for (size_t i = 0; i < t->cap; i++) {
    if (!t->fn[i]) continue;
    size_t k = t->hash[i] & (cap - 1);
    while (fn[k]) k = (k + 1) & (cap - 1);
    hash[k] = t->hash[i];
    text[k] = t->text[i];
    len[k] = t->len[i];
    fn[k] = t->fn[i];
  }
  free(t->hash);
  free(t->text);
  free(t->len);
  free(t->fn);
  t->hash = hash;
  t->text = text;
  t->len = len;
  t->fn = fn;
  t->cap = cap;
  return 0;
}

/* Group [first..last] as a function named "k" alone in a scratch module,
 * as that module's bitcode (malloc'ed, *len bytes; NULL when emission fails,
 * *st set). Bitcode is a lossless and deterministic encoding of the module,
 * so equal bytes mean equal functions; writing it costs a third of printing
 * the function as text (LLVM's printer tracks columns). */
static char *group_text(cg *c, int first, int last, const char *name, size_t *len) {
  LLVMModuleRef mod = c->mod;
  c->mod = LLVMModuleCreateWithNameInContext("nnc_scratch", c->ctx);
  LLVMValueRef fn = cg_emit_group(c, first, last, name);
  char *copy = NULL;
  if (fn) {
    LLVMSetValueName2(fn, "k", 1);
    LLVMMemoryBufferRef bc = LLVMWriteBitcodeToMemoryBuffer(c->mod);
    *len = bc ? LLVMGetBufferSize(bc) : 0;
    if (!bc)
      nnc_fail(c->st, NNC_ERR_INTERNAL, "codegen: no bitcode for group %s", name);
    else if ((copy = nnc_calloc(*len, 1, c->st)))
      memcpy(copy, LLVMGetBufferStart(bc), *len);
    if (bc) LLVMDisposeMemoryBuffer(bc);
  }
  LLVMDisposeModule(c->mod);
  c->mod = mod;
  return copy;
}

/* Groups led by a matmul, an elementwise, reduce or effect node, or a
 * part_sum (a split product's parts added: an elementwise loop) go through
 * the light pipeline (jit.c): their loops are explicit vectors or plain
 * elementwise loops that the loop vectorizer alone handles; the others
 * (convolutions, pooling, recurrences, softmax and other row ops) keep O3.
 * The attribute is added after the scratch bitcode is written, so it does not
 * take part in sharing; equal code means an equal first op anyway. */
static LLVMValueRef tag_pipeline(cg *c, int first, LLVMValueRef fn) {
  if (!fn) return NULL;
  if (c->g->nodes[first].op == NNC_OP_PART_SUM) {
    cg_mark_light(c, fn);
    return fn;
  }
  switch (op_class(c->g->nodes[first].op)) {
  case NNC_CLASS_MATMUL:
  case NNC_CLASS_ELEMENTWISE:
  case NNC_CLASS_REDUCE:
  case NNC_CLASS_EFFECT:
  case NNC_CLASS_PHASED:
    cg_mark_light(c, fn);
    break;
  default:
    break;
  }
  return fn;
}

LLVMValueRef cg_emit_shared_group(cg *c, int first, int last, const char *name) {
  if (c->no_sharing) {
    c->kernels++;
    return tag_pipeline(c, first, cg_emit_group(c, first, last, name));
  }
  if (!c->share && !(c->share = nnc_calloc(1, sizeof *c->share, c->st))) return NULL;
  cg_share *t = c->share;
  if (2 * (t->used + 1) > t->cap && grow(t)) {
    nnc_fail(c->st, NNC_ERR_NOMEM, "out of memory");
    return NULL;
  }
  c->kernels++;
  size_t len = 0;
  char *text = group_text(c, first, last, name, &len);
  if (!text) return NULL;
  uint64_t h = hash_bytes(text, len);
  size_t k = h & (t->cap - 1);
  for (; t->fn[k]; k = (k + 1) & (t->cap - 1)) {
    if (t->hash[k] != h || t->len[k] != len || memcmp(t->text[k], text, len)) continue;
    free(text);
    c->kernels_shared++;
    return t->fn[k]; /* c->arg_node lists this group's buffers, as for the copy */
  }
  LLVMValueRef fn = tag_pipeline(c, first, cg_emit_group(c, first, last, name));
  if (!fn) {
    free(text);
    return NULL;
  }
  t->hash[k] = h;
  t->text[k] = text;
  t->len[k] = len;
  t->fn[k] = fn;
  t->used++;
  return fn;
}

void cg_share_free(cg *c) {
  cg_share *t = c->share;
  if (!t) return;
  for (size_t i = 0; i < t->cap; i++) free(t->text[i]);
  free(t->hash);
  free(t->text);
  free(t->len);
  free(t->fn);
  free(t);
  c->share = NULL;
}

void cg_mark(cg *c, LLVMValueRef fn, const char *mark) {
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                          LLVMCreateStringAttribute(c->ctx, mark, (unsigned)strlen(mark), "", 0));
}

void cg_mark_light(cg *c, LLVMValueRef fn) {
  cg_mark(c, fn, CG_LIGHT_ATTR);
}

void cg_mark_helper(cg *c, LLVMValueRef fn) {
  LLVMAddAttributeAtIndex(
      fn, LLVMAttributeFunctionIndex,
      LLVMCreateEnumAttribute(c->ctx, LLVMGetEnumAttributeKindForName("noinline", 8), 0));
  cg_mark_light(c, fn);
}
