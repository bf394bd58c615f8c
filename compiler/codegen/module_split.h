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

#endif
