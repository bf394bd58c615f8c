/* A matmul's epilogue on its register tile: the bias add and activation
 * (the nodes pass_dense_epilogue flagged NNC_NODE_TILE) applied to each
 * accumulator vector of the GEMM (emit_gemm.c) or the matrix-vector product
 * (matvec.c) before it is stored, instead of in a second pass over the
 * output. Each node keeps its own float operation, the ones emit_math.c
 * emits for it in the flat loop (relu as the same select, sigmoid and tanh
 * the same vector-safe IR, binaries through cg_binary), so values are
 * bit-identical to the unfused graph. */
#include <llvm-c/Core.h>
#include <stdio.h>
#include <string.h>

#include "compiler/codegen/cg.h"
#include "base/base.h"
#include "compiler/ops/op.h"

int cg_read_outside_group(const nnc_graph *g, int id) {
  for (int j = id + 1; j < g->n; j++) {
    const nnc_node *r = &g->nodes[j];
    if (r->dead || r->group == g->nodes[id].group) continue;
    for (int k = 0; k < r->n_in; k++)
      if (r->in[k] == id) return 1;
  }
  return 0;
}

/* the other operand of step s, k = its index */
static int operand_of(cg *c, cg_gemm_epi *e, int s, int k) {
  const nnc_node *n = e->node[s], *a = &c->g->nodes[n->in[k]];
  if (a->op == NNC_OP_CONST) {
    e->kind[s] = 'C', e->value[s] = (float)a->params.value;
    return NNC_OK;
  }
  if (a->op == NNC_OP_SCALAR) {
    e->kind[s] = 'S',
    e->arg[s] = LLVMBuildGEP2(c->b, c->f32, c->scalars,
                              (LLVMValueRef[]){cg_i64(c, a->params.index)}, 1, "");
    return NNC_OK;
  }
  e->arg[s] = cg_buffer(c, n->in[k]);
  if (!e->arg[s])
    return nnc_fail(c->st, NNC_ERR_INTERNAL, "codegen: matmul tile operand %d has no buffer",
                    n->in[k]);
  e->kind[s] = n->bcast[k] == NNC_BCAST_SCALAR ? 'S' : 'L';
  return NNC_OK;
}

int cg_gemm_epi_make(cg *c, int id, cg_gemm_epi *e) {
  const nnc_graph *g = c->g;
  memset(e, 0, sizeof *e);
  for (int j = id + 1;
       j < g->n && (g->nodes[j].flags & NNC_NODE_TILE) && g->nodes[j].group == g->nodes[id].group;
       j++) {
    const nnc_node *n = &g->nodes[j];
    if (e->n == CG_GEMM_EPI_MAX)
      return nnc_fail(c->st, NNC_ERR_INTERNAL, "codegen: matmul %d has a longer tile chain than %d",
                      id, CG_GEMM_EPI_MAX);
    int prev = j - 1, s = e->n++;
    e->node[s] = n;
    e->self[s] = -1;
    if (n->op == NNC_OP_UNARY) {
      if (n->fn != NNC_FN_RELU && n->fn != NNC_FN_SIGMOID && n->fn != NNC_FN_TANH)
        return nnc_fail(c->st, NNC_ERR_INTERNAL, "codegen: unary %d cannot run on a matmul tile",
                        n->fn);
    } else if (n->op == NNC_OP_BINARY && n->n_in == 2 && n->in[0] == prev && n->in[1] == prev) {
      e->self[s] = 2, e->kind[s] = 'X'; /* x op x */
    } else if (n->op == NNC_OP_BINARY && n->n_in == 2 && (n->in[0] == prev) != (n->in[1] == prev)) {
      e->self[s] = n->in[0] == prev ? 0 : 1;
      if (operand_of(c, e, s, 1 - e->self[s])) return c->st->code;
    } else {
      return nnc_fail(c->st, NNC_ERR_INTERNAL, "codegen: %s (node %d) cannot run on a matmul tile",
                      op_name(n->op), j);
    }
    if (n->region >= 0) {
      e->out[s] = cg_buffer(c, j);
      if (!e->out[s])
        return nnc_fail(c->st, NNC_ERR_INTERNAL, "codegen: matmul tile value %d has no buffer", j);
    }
  }
  e->store_raw = e->n == 0 || cg_read_outside_group(g, id);
  return NNC_OK;
}

void cg_gemm_epi_name(const cg_gemm_epi *e, char *buf, size_t size) {
  size_t used = (size_t)snprintf(buf, size, "_e%d", e->store_raw);
  for (int s = 0; s < e->n && used < size; s++) {
    const nnc_node *n = e->node[s];
    uint32_t bits = 0;
    memcpy(&bits, &e->value[s], sizeof bits);
    if (e->self[s] < 0)
      used += (size_t)snprintf(buf + used, size - used, "u%d", n->fn);
    else if (e->self[s] == 2)
      used += (size_t)snprintf(buf + used, size - used, "b%dX", n->fn);
    else if (e->kind[s] == 'C')
      used += (size_t)snprintf(buf + used, size - used, "b%d%dC%08x", n->fn, e->self[s], bits);
    else
      used += (size_t)snprintf(buf + used, size - used, "b%d%d%c", n->fn, e->self[s], e->kind[s]);
    if (e->out[s] && used < size) used += (size_t)snprintf(buf + used, size - used, "s");
  }
}

static int vec_width(LLVMValueRef x) {
  LLVMTypeRef t = LLVMTypeOf(x);
  return LLVMGetTypeKind(t) == LLVMVectorTypeKind ? (int)LLVMGetVectorSize(t) : 0;
}

static LLVMValueRef splat(cg *c, int w, LLVMValueRef x) {
  if (!w) return x;
  LLVMTypeRef vec = LLVMVectorType(c->f32, (unsigned)w);
  LLVMValueRef one =
      LLVMBuildInsertElement(c->b, LLVMGetUndef(vec), x, LLVMConstInt(c->i32, 0, 0), "");
  return LLVMBuildShuffleVector(c->b, one, LLVMGetUndef(vec),
                                LLVMConstNull(LLVMVectorType(c->i32, (unsigned)w)), "");
}

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

/* base[i .. i + lanes) as a vector of w (the lanes past `lanes` read as zero) */
static LLVMValueRef load_lanes(cg *c, int w, int lanes, LLVMValueRef base, LLVMValueRef i) {
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

void cg_gemm_epi_store(cg *c, LLVMValueRef v, int lanes, LLVMValueRef base, LLVMValueRef i) {
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

static LLVMValueRef activation(cg *c, const nnc_node *n, LLVMValueRef x, int w) {
  switch (n->fn) {
  case NNC_FN_RELU: { /* emit_math.c's relu: "x > 0 or unordered" */
    LLVMValueRef zero = w ? LLVMConstNull(LLVMTypeOf(x)) : cg_f32(c, 0.0);
    return LLVMBuildSelect(c->b, LLVMBuildFCmp(c->b, LLVMRealUGT, x, zero, ""), x, zero, "");
  }
  case NNC_FN_SIGMOID:
    return cg_sigmoid(c, x);
  default: /* NNC_FN_TANH (cg_gemm_epi_make admits no other) */
    return cg_tanh(c, x);
  }
}

LLVMValueRef cg_gemm_epi_apply(cg *c, const cg_gemm_epi *e, LLVMValueRef x, int lanes, int by_rows,
                               LLVMValueRef col, LLVMValueRef i) {
  int w = vec_width(x);
  for (int s = 0; s < e->n; s++) {
    const nnc_node *n = e->node[s];
    if (e->self[s] < 0) {
      x = activation(c, n, x, w);
    } else {
      LLVMValueRef o = x;
      if (e->self[s] == 2)
        o = x;
      else if (e->kind[s] == 'C')
        o = splat(c, w, cg_f32(c, e->value[s]));
      else if (e->kind[s] == 'S')
        o = splat(c, w, cg_load(c, e->arg[s], cg_i64(c, 0)));
      else if (by_rows) /* every lane a row at the same column */
        o = splat(c, w, cg_load(c, e->arg[s], col));
      else
        o = load_lanes(c, w, lanes, e->arg[s], col);
      x = e->self[s] == 0 ? cg_binary(c, (nnc_binary_fn)n->fn, x, o)
                          : cg_binary(c, (nnc_binary_fn)n->fn, o, x);
    }
    if (e->out[s]) cg_gemm_epi_store(c, x, lanes, e->out[s], i);
  }
  return x;
}
