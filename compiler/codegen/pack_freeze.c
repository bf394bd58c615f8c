/* A freeze after the transposed pack's round-2 shuffles, put in after the IR
 * pipeline and before code generation (docs/performance.md, "Session 17:
 * cold compile").
 *
 * Why: pack_transposed_block (emit_gemm.c) transposes a vw x vw block in
 * log2(vw) rounds of two-vector shuffles. LLVM's SelectionDAG combiner
 * follows each shuffle's demanded elements back through every earlier round
 * (SimplifyDemandedVectorElts and friends, recursively), so at width 16 that
 * one function cost about a quarter of the MLP's code generation. A freeze
 * of a value that is never poison (loaded floats, shuffled) is the same
 * value, and the combiner does not look through it: a freeze after round 2
 * cuts the work and the machine code comes out the same, instruction for
 * instruction (checked at widths 16 and 8; width 4 has two rounds and gains
 * nothing, so it is not marked). Before the IR pipeline a freeze makes
 * instcombine scalarize the transposes instead, hence a pass after it.
 *
 * The emitter marks the shuffles with PACK_FREEZE_MD metadata (it survives
 * the pipeline: an instruction rewritten by a pass loses it and simply gets
 * no freeze). NNC_PACK_FREEZE=0 emits no marks and so runs no freeze: the
 * module is the one before (a code switch of the cache key). */
#include "compiler/codegen/pack_freeze.h"

#include <stdlib.h>
#include <string.h>

int pack_freeze_on(void) {
  const char *e = getenv("NNC_PACK_FREEZE");
  return !(e && !strcmp(e, "0"));
}

static unsigned mark_kind(LLVMContextRef ctx) {
  return LLVMGetMDKindIDInContext(ctx, PACK_FREEZE_MD, (unsigned)strlen(PACK_FREEZE_MD));
}

void pack_freeze_register(LLVMContextRef ctx) {
  if (pack_freeze_on()) mark_kind(ctx);
}

void pack_freeze_mark(LLVMContextRef ctx, LLVMValueRef v) {
  if (!pack_freeze_on() || !LLVMIsAInstruction(v)) return; /* a constant: folded already */
  LLVMSetMetadata(v, mark_kind(ctx), LLVMMetadataAsValue(ctx, LLVMMDNodeInContext2(ctx, NULL, 0)));
}

long pack_freeze_run(LLVMModuleRef mod) {
  LLVMContextRef ctx = LLVMGetModuleContext(mod);
  unsigned kind = mark_kind(ctx);
  LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
  long n = 0;
  for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f))
    for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(f); bb; bb = LLVMGetNextBasicBlock(bb))
      for (LLVMValueRef i = LLVMGetFirstInstruction(bb); i; i = LLVMGetNextInstruction(i)) {
        if (!LLVMGetMetadata(i, kind)) continue;
        LLVMSetMetadata(i, kind, NULL);
        LLVMValueRef next = LLVMGetNextInstruction(i);
        if (!next || LLVMIsAPHINode(i)) continue; /* not a pack shuffle: left alone */
        LLVMPositionBuilderBefore(b, next);
        LLVMValueRef frozen = LLVMBuildFreeze(b, i, "");
        LLVMReplaceAllUsesWith(i, frozen); /* the freeze's own operand too: */
        LLVMSetOperand(frozen, 0, i);      /* back to the shuffle */
        i = frozen;
        n++;
      }
  LLVMDisposeBuilder(b);
  return n;
}
