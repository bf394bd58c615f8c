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
  int prev = id, step = -1; /* the chain's value; a relu gradient's step made for the next mul */
  for (int j = id + 1;
       j < g->n && (g->nodes[j].flags & NNC_NODE_TILE) && g->nodes[j].group == g->nodes[id].group;
       j++) {
    const nnc_node *n = &g->nodes[j];
    if (n->op == NNC_OP_UNARY && n->fn == NNC_FN_STEP && n->in[0] != prev) {
      if (step >= 0 || n->region >= 0)
        return nnc_fail(c->st, NNC_ERR_INTERNAL, "codegen: step %d on matmul %d's tile is stray", j,
                        id);
      step = j; /* no value of its own: 'M' below loads its operand */
      continue;
    }
    if (e->n == CG_GEMM_EPI_MAX)
      return nnc_fail(c->st, NNC_ERR_INTERNAL, "codegen: matmul %d has a longer tile chain than %d",
                      id, CG_GEMM_EPI_MAX);
    int s = e->n++;
    e->node[s] = n;
    e->self[s] = -1;
    if (step >= 0) { /* pass_dense_epilogue's relu gradient: mul(prev, step(h)), either order */
      if (n->op != NNC_OP_BINARY || n->fn != NNC_BIN_MUL || n->n_in != 2 ||
          !((n->in[0] == prev && n->in[1] == step) || (n->in[1] == prev && n->in[0] == step)))
        return nnc_fail(c->st, NNC_ERR_INTERNAL, "codegen: step %d on matmul %d's tile has no mul",
                        step, id);
      e->self[s] = n->in[0] == prev ? 0 : 1, e->kind[s] = 'M';
      e->arg[s] = cg_buffer(c, g->nodes[step].in[0]);
      if (!e->arg[s])
        return nnc_fail(c->st, NNC_ERR_INTERNAL, "codegen: step %d's operand has no buffer", step);
      step = -1;
    } else if (n->op == NNC_OP_UNARY) {
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
    prev = j;
  }
  if (step >= 0)
    return nnc_fail(c->st, NNC_ERR_INTERNAL, "codegen: step %d ends matmul %d's tile", step, id);
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

/* emit_math.c's NNC_FN_STEP on a vector or a float: 1.0 where h > 0, else 0.0 (NaN too) */
static LLVMValueRef relu_step(cg *c, LLVMValueRef h) {
  LLVMValueRef positive = LLVMBuildFCmp(c->b, LLVMRealOGT, h, LLVMConstNull(LLVMTypeOf(h)), "");
  return LLVMBuildUIToFP(c->b, positive, LLVMTypeOf(h), "");
}

/* base[i ..] as x's type, and x into it: `lanes` of them, or those of a run-time mask */
static LLVMValueRef load_like(cg *c, int w, int lanes, LLVMValueRef mask, LLVMValueRef base,
                              LLVMValueRef i) {
  return mask ? cg_vec_load_masked(c, w, mask, base, i) : cg_vec_load(c, w, lanes, base, i);
}
static void store_like(cg *c, LLVMValueRef x, int lanes, LLVMValueRef mask, LLVMValueRef base,
                       LLVMValueRef i) {
  if (mask)
    cg_vec_store_masked(c, x, mask, base, i);
  else
    cg_vec_store(c, x, lanes, base, i);
}

LLVMValueRef cg_gemm_epi_apply(cg *c, const cg_gemm_epi *e, LLVMValueRef x, int lanes,
                               LLVMValueRef mask, int by_rows, LLVMValueRef col, LLVMValueRef i) {
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
        o = cg_splat(c, w, cg_f32(c, e->value[s]));
      else if (e->kind[s] == 'S')
        o = cg_splat(c, w, cg_load(c, e->arg[s], cg_i64(c, 0)));
      else if (e->kind[s] == 'M') /* step(h) at the output's own index: emit_math.c's (h > 0) */
        o = relu_step(c, load_like(c, w, lanes, mask, e->arg[s], i));
      else if (by_rows) /* every lane a row at the same column */
        o = cg_splat(c, w, cg_load(c, e->arg[s], col));
      else
        o = load_like(c, w, lanes, mask, e->arg[s], col);
      x = e->self[s] == 0 ? cg_binary(c, (nnc_binary_fn)n->fn, x, o)
                          : cg_binary(c, (nnc_binary_fn)n->fn, o, x);
    }
    if (e->out[s]) store_like(c, x, lanes, mask, e->out[s], i);
  }
  return x;
}
