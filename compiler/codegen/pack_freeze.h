/* Internal to compiler/codegen: a freeze after marked shuffles of the
 * optimised IR, before code generation (pack_freeze.c). */
#ifndef NNC_PACK_FREEZE_H
#define NNC_PACK_FREEZE_H

#include <llvm-c/Core.h>

/* The metadata kind that marks an instruction for a freeze after it. */
#define PACK_FREEZE_MD "nnc.pack.freeze"

/* 1 unless NNC_PACK_FREEZE=0: marks are emitted and the pass runs. */
int pack_freeze_on(void);

/* Registers the mark's kind in ctx before any emission: the bitcode of a
 * module lists every kind its context knows, so kernel sharing (which
 * compares scratch modules' bitcode, emit_share.c) would otherwise see the
 * groups emitted before the first mark differ from those after it. */
void pack_freeze_register(LLVMContextRef ctx);

/* Marks v (an instruction) for a freeze after it, when pack_freeze_on(). */
void pack_freeze_mark(LLVMContextRef ctx, LLVMValueRef v);

/* Puts `freeze` after every marked instruction of mod's defined functions
 * and gives it the instruction's uses; removes the marks. Returns how many
 * it put. */
long pack_freeze_run(LLVMModuleRef mod);

#endif
