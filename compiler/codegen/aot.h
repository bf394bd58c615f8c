/* compiler/codegen/aot — what an ahead-of-time object adds to the JIT's
 * module (docs/aot.md): the program table as constant data, the exported
 * entry points and a plain predict function. */
#ifndef NNC_CODEGEN_AOT_H
#define NNC_CODEGEN_AOT_H

#include "base/base.h"
#include "nnc_program.h"

typedef struct aot_request {
  const nnc_program_table *table; /* the JIT's table of the same graphs */
  const char *prefix;             /* a C identifier: PREFIX_program, PREFIX_predict, ... */
  int has_step[NNC_ENTRY_COUNT];  /* the graphs in the module (nnc_<graph>_step) */
  const float *weights;           /* initial parameters to export (NULL: none) */
  /* set by aot_finish: each step's scratch per thread in this object (its
   * target's vector width, not necessarily the JIT's) */
  int64_t scratch_floats[NNC_ENTRY_COUNT];
} aot_request;

/* The codegen_object_request.finish hook: arg is an aot_request. Renames
 * the steps PREFIX_<graph>_step, makes every other function internal, adds
 * PREFIX_program() (the table), PREFIX_predict() and PREFIX_weights. */
struct LLVMOpaqueModule;
int aot_finish(void *arg, struct LLVMOpaqueModule *mod, nnc_status *st);

#endif
