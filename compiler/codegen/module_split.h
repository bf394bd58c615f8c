/* Internal to compiler/codegen: a module split in two for two compile
 * threads (module_split.c). */
#ifndef NNC_MODULE_SPLIT_H
#define NNC_MODULE_SPLIT_H

#include <llvm-c/Core.h>

#include "base/base.h"

/* Deal mod's defined functions to two parts by estimated cost (a function of
 * the module alone, so the same module always splits the same way): mod keeps
 * part 0's definitions, *mod_out (a copy in the new context *ctx_out) part
 * 1's; each declares the other's, and functions called across parts become
 * external. With fewer than two defined functions nothing is split and
 * *mod_out is NULL. *defined (may be NULL) gets the number of defined
 * functions. */
int module_split(LLVMModuleRef mod, LLVMContextRef *ctx_out, LLVMModuleRef *mod_out, int *defined,
                 nnc_status *st);

/* The same in two steps, so that the second part's copy can be read on the
 * thread that compiles it: begin deals the functions, writes the module's
 * bitcode and keeps part 0's definitions in mod; finish (any thread) reads
 * the bitcode into a new context and keeps part 1's. No split (fewer than two
 * defined functions): p->bitcode is NULL. finish and drop free p. */
typedef struct split_pending {
  LLVMMemoryBufferRef bitcode;
  int *part;
  int n;
} split_pending;
/* The op kind of a kernel named <graph>_g<k>_<kind> (emit_driver.c), or
 * NULL for another name: the split's estimate and jit.c's cheap code
 * generation read it (the estimate by kind whatever NNC_CHEAP_CODEGEN says,
 * so that switch changes code generation alone, not the deal). */
const char *codegen_kernel_kind(const char *name);

/* An LLVM context of nnc's: its diagnostics through nnc's handler, which
 * drops LLVM's remarks and notes (a loop the vectorizer was asked to take at
 * a width and could not, e.g. a gelu's call, is remarked on stderr by LLVM's
 * default handler) and prints warnings and errors (LLVM's default handler
 * would exit the process on an error). jit.c. */
LLVMContextRef codegen_context_create(void);

/* NNC_SPLIT_CHEAP=0: the split counts a cheap kernel like any other (its
 * estimate before session 19; a code switch of the cache key). */
int module_split_cheap_on(void);

/* A driver that jit.c compiles at code generation level None, in an object
 * of its own (docs/performance.md, "Session 35"): marked with this string
 * attribute, which the split's estimate reads too. */
#define CG_DRIVER_APART_ATTR "nnc-driver-apart"
int module_split_driver_apart(LLVMValueRef f);

/* A matmul kernel that computes its GEMM tiles itself, with its group's
 * epilogue on each tile (emit_group.c: the update on the tile), instead of
 * calling strip functions: marked with this string attribute, which the
 * split's estimate reads. */
#define CG_TILE_GROUP_ATTR "nnc-tile-group"

/* A part's drivers marked CG_DRIVER_APART_ATTR in a module of their own
 * (*drivers_out, a copy in mod's context), so that they can be compiled at
 * another code generation level; mod keeps the other functions, and each
 * declares what it calls in the other. *drivers_out is NULL when mod holds
 * no such driver or nothing else. */
int module_split_drivers(LLVMModuleRef mod, LLVMModuleRef *drivers_out, nnc_status *st);

int module_split_begin(LLVMModuleRef mod, split_pending *p, int *defined, nnc_status *st);
int module_split_finish(split_pending *p, LLVMContextRef *ctx_out, LLVMModuleRef *mod_out,
                        nnc_status *st);
void module_split_drop(split_pending *p);

#endif
