/* Float vectors of w lanes in memory, the first `lanes` of them live: the
 * loads and stores of the GEMM's tiles and packs (emit_gemm.c), their
 * epilogues (gemm_epi.c) and the matrix-vector product (matvec.c). A partial
 * vector is an llvm.masked.load/store (vmaskmovps on AVX2, a k-mask on
 * AVX-512), so nothing past the live lanes is read or written. */
#include <llvm-c/Core.h>
#include <stdio.h>

#include "compiler/codegen/cg.h"
#include "compiler/codegen/pack_freeze.h"

static int vec_width(LLVMValueRef x) {
  LLVMTypeRef t = LLVMTypeOf(x);
  return LLVMGetTypeKind(t) == LLVMVectorTypeKind ? (int)LLVMGetVectorSize(t) : 0;
}

LLVMValueRef cg_splat(cg *c, int w, LLVMValueRef x) {
  if (!w) return x;
  LLVMTypeRef vec = LLVMVectorType(c->f32, (unsigned)w);
  LLVMValueRef one =
      LLVMBuildInsertElement(c->b, LLVMGetUndef(vec), x, LLVMConstInt(c->i32, 0, 0), "");
  return LLVMBuildShuffleVector(c->b, one, LLVMGetUndef(vec),
                                LLVMConstNull(LLVMVectorType(c->i32, (unsigned)w)), "");
}

/* the first `lanes` of w lanes on */
static LLVMValueRef lane_mask(cg *c, int w, int lanes) {
  LLVMValueRef bits[16];
  for (int l = 0; l < w; l++) bits[l] = LLVMConstInt(c->i1, l < lanes, 0);
  return LLVMConstVector(bits, (unsigned)w);
}

/* llvm.masked.load/store of a float vector of w lanes */
static LLVMValueRef masked(cg *c, int w, int store, LLVMTypeRef *type) {
  char name[64];
  snprintf(name, sizeof name, "llvm.masked.%s.v%df32.p0v%df32", store ? "store" : "load", w, w);
  LLVMTypeRef vec = LLVMVectorType(c->f32, (unsigned)w), ptr = LLVMPointerType(vec, 0);
  LLVMTypeRef mask_t = LLVMVectorType(c->i1, (unsigned)w);
  LLVMTypeRef load_params[4] = {ptr, c->i32, mask_t, vec};
  LLVMTypeRef store_params[4] = {vec, ptr, c->i32, mask_t};
  *type = store ? LLVMFunctionType(c->void_t, store_params, 4, 0)
                : LLVMFunctionType(vec, load_params, 4, 0);
  LLVMValueRef fn = LLVMGetNamedFunction(c->mod, name);
  return fn ? fn : LLVMAddFunction(c->mod, name, *type);
}

static LLVMValueRef vec_at(cg *c, int w, LLVMValueRef base, LLVMValueRef i) {
  LLVMValueRef p = LLVMBuildGEP2(c->b, c->f32, base, &i, 1, "");
  return LLVMBuildBitCast(c->b, p, LLVMPointerType(LLVMVectorType(c->f32, (unsigned)w), 0), "");
}

LLVMValueRef cg_vec_load(cg *c, int w, int lanes, LLVMValueRef base, LLVMValueRef i) {
  if (!w) return cg_load(c, base, i);
  LLVMValueRef p = vec_at(c, w, base, i);
  if (lanes < w) {
    LLVMTypeRef type;
    LLVMValueRef fn = masked(c, w, 0, &type);
    LLVMValueRef args[4] = {p, LLVMConstInt(c->i32, 4, 0), lane_mask(c, w, lanes),
                            LLVMConstNull(LLVMVectorType(c->f32, (unsigned)w))};
    return LLVMBuildCall2(c->b, type, fn, args, 4, "");
  }
  LLVMValueRef v = LLVMBuildLoad2(c->b, LLVMVectorType(c->f32, (unsigned)w), p, "");
  LLVMSetAlignment(v, 4);
  return v;
}

void cg_vec_store(cg *c, LLVMValueRef v, int lanes, LLVMValueRef base, LLVMValueRef i) {
  int w = vec_width(v);
  if (!w) {
    cg_store(c, v, base, i);
    return;
  }
  LLVMValueRef p = vec_at(c, w, base, i);
  if (lanes < w) {
    LLVMTypeRef type;
    LLVMValueRef fn = masked(c, w, 1, &type);
    LLVMValueRef args[4] = {v, p, LLVMConstInt(c->i32, 4, 0), lane_mask(c, w, lanes)};
    LLVMBuildCall2(c->b, type, fn, args, 4, "");
    return;
  }
  LLVMSetAlignment(LLVMBuildStore(c->b, v, p), 4);
}

/* The first `lanes` (i64, known at run time, 0 .. w) of w lanes on: the
 * library strips' last vector (emit_gemm.c), whose width is an argument. */
LLVMValueRef cg_lane_mask_at_run_time(cg *c, int w, LLVMValueRef lanes) {
  LLVMValueRef index[16];
  for (int l = 0; l < w; l++) index[l] = LLVMConstInt(c->i64, (unsigned)l, 0);
  LLVMTypeRef iv = LLVMVectorType(c->i64, (unsigned)w);
  LLVMValueRef one =
      LLVMBuildInsertElement(c->b, LLVMGetUndef(iv), lanes, LLVMConstInt(c->i32, 0, 0), "");
  LLVMValueRef all = LLVMBuildShuffleVector(c->b, one, LLVMGetUndef(iv),
                                            LLVMConstNull(LLVMVectorType(c->i32, (unsigned)w)), "");
  return LLVMBuildICmp(c->b, LLVMIntSLT, LLVMConstVector(index, (unsigned)w), all, "lanes");
}

LLVMValueRef cg_vec_load_masked(cg *c, int w, LLVMValueRef mask, LLVMValueRef base,
                                LLVMValueRef i) {
  if (!mask) return cg_vec_load(c, w, w, base, i);
  LLVMTypeRef type;
  LLVMValueRef fn = masked(c, w, 0, &type);
  LLVMValueRef args[4] = {vec_at(c, w, base, i), LLVMConstInt(c->i32, 4, 0), mask,
                          LLVMConstNull(LLVMVectorType(c->f32, (unsigned)w))};
  return LLVMBuildCall2(c->b, type, fn, args, 4, "");
}

void cg_vec_store_masked(cg *c, LLVMValueRef v, LLVMValueRef mask, LLVMValueRef base,
                         LLVMValueRef i) {
  int w = vec_width(v);
  if (!mask) {
    cg_vec_store(c, v, w, base, i);
    return;
  }
  LLVMTypeRef type;
  LLVMValueRef fn = masked(c, w, 1, &type);
  LLVMValueRef args[4] = {v, vec_at(c, w, base, i), LLVMConstInt(c->i32, 4, 0), mask};
  LLVMBuildCall2(c->b, type, fn, args, 4, "");
}

/* Round b swaps bit b of the row index with bit b of the lane index (on
 * AVX2 each is an unpack, a blend or a lane permute; one vpermt2ps on
 * AVX-512). */
void cg_transpose_square(cg *c, LLVMValueRef *x, int w, int freeze) {
  for (int bit = 1; bit < w; bit <<= 1) {
    LLVMValueRef lo_mask[16], hi_mask[16];
    for (int k = 0; k < w; k++) {
      lo_mask[k] = LLVMConstInt(c->i32, (unsigned)((k & bit) ? w + (k ^ bit) : k), 0);
      hi_mask[k] = LLVMConstInt(c->i32, (unsigned)((k & bit) ? w + k : (k | bit)), 0);
    }
    LLVMValueRef lo = LLVMConstVector(lo_mask, (unsigned)w),
                 hi = LLVMConstVector(hi_mask, (unsigned)w);
    for (int r = 0; r < w; r++) {
      if (r & bit) continue;
      LLVMValueRef a = x[r], b = x[r | bit];
      x[r] = LLVMBuildShuffleVector(c->b, a, b, lo, "");
      x[r | bit] = LLVMBuildShuffleVector(c->b, a, b, hi, "");
      if (freeze && bit == 2 && w > 4) { /* a freeze after round 2 of 3 or 4 */
        pack_freeze_mark(c->ctx, x[r]);
        pack_freeze_mark(c->ctx, x[r | bit]);
      }
    }
  }
}

/* the pointers base + i + l * stride for the lanes l < w */
static LLVMValueRef strided_ptrs(cg *c, int w, LLVMValueRef base, LLVMValueRef i, int64_t stride) {
  LLVMValueRef lane[16];
  for (int l = 0; l < w; l++) lane[l] = LLVMConstInt(c->i64, (unsigned long long)(l * stride), 0);
  LLVMValueRef p = LLVMBuildGEP2(c->b, c->f32, base, &i, 1, "");
  LLVMValueRef offs = LLVMConstVector(lane, (unsigned)w);
  return LLVMBuildGEP2(c->b, c->f32, p, &offs, 1, "");
}

static LLVMValueRef all_lanes(cg *c, int w) {
  LLVMValueRef on[16];
  for (int l = 0; l < w; l++) on[l] = LLVMConstInt(c->i1, 1, 0);
  return LLVMConstVector(on, (unsigned)w);
}

LLVMValueRef cg_vec_gather(cg *c, int w, LLVMValueRef base, LLVMValueRef i, int64_t stride,
                           LLVMValueRef mask) {
  LLVMTypeRef vec = LLVMVectorType(c->f32, (unsigned)w);
  LLVMValueRef ptrs = strided_ptrs(c, w, base, i, stride);
  char name[64];
  snprintf(name, sizeof name, "llvm.masked.gather.v%df32.v%dp0f32", w, w);
  LLVMTypeRef params[4] = {LLVMTypeOf(ptrs), c->i32, LLVMVectorType(c->i1, (unsigned)w), vec};
  LLVMTypeRef type = LLVMFunctionType(vec, params, 4, 0);
  LLVMValueRef fn = LLVMGetNamedFunction(c->mod, name);
  if (!fn) fn = LLVMAddFunction(c->mod, name, type);
  LLVMValueRef args[4] = {ptrs, LLVMConstInt(c->i32, 4, 0), mask ? mask : all_lanes(c, w),
                          mask ? LLVMConstNull(vec) : LLVMGetUndef(vec)};
  return LLVMBuildCall2(c->b, type, fn, args, 4, "");
}

void cg_vec_scatter(cg *c, LLVMValueRef v, LLVMValueRef base, LLVMValueRef i, int64_t stride,
                    LLVMValueRef mask) {
  int w = vec_width(v);
  LLVMValueRef ptrs = strided_ptrs(c, w, base, i, stride);
  char name[64];
  snprintf(name, sizeof name, "llvm.masked.scatter.v%df32.v%dp0f32", w, w);
  LLVMTypeRef params[4] = {LLVMTypeOf(v), LLVMTypeOf(ptrs), c->i32,
                           LLVMVectorType(c->i1, (unsigned)w)};
  LLVMTypeRef type = LLVMFunctionType(LLVMVoidTypeInContext(c->ctx), params, 4, 0);
  LLVMValueRef fn = LLVMGetNamedFunction(c->mod, name);
  if (!fn) fn = LLVMAddFunction(c->mod, name, type);
  LLVMValueRef args[4] = {v, ptrs, LLVMConstInt(c->i32, 4, 0), mask ? mask : all_lanes(c, w)};
  LLVMBuildCall2(c->b, type, fn, args, 4, "");
}
