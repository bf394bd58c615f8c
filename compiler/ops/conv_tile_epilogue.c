/* The forward convolution's epilogue: the chain of elementwise nodes that
 * compiler/passes/conv_epilogue.c flagged NNC_NODE_TILE, applied to each
 * accumulator vector before it is stored. Every node keeps its own float
 * operation (the same ones emit_math.c emits for the unfused node, lane by
 * lane where no vector form is written here), so values are bit-identical
 * to the graph without the pass. */
#include "compiler/ops/conv_geom.h"

static int inline_source(const nnc_node *a) {
  return a->op == NNC_OP_CONST || a->op == NNC_OP_SCALAR;
}

int conv_epi_make(cg *c, int id, conv_epi *e) {
  const nnc_graph *g = c->g;
  e->n = 0;
  e->conv = id;
  for (int j = id + 1;
       j < g->n && (g->nodes[j].flags & NNC_NODE_TILE) && g->nodes[j].group == g->nodes[id].group;
       j++) {
    if (e->n == NNC_CONV_EPILOGUE_MAX)
      return nnc_fail(c->st, NNC_ERR_INTERNAL, "codegen: conv %d has a longer tile chain than %d",
                      id, NNC_CONV_EPILOGUE_MAX);
    const nnc_node *n = &g->nodes[j];
    int prev = e->n ? e->id[e->n - 1] : id;
    int binary = n->op == NNC_OP_BINARY &&
                 (n->fn == NNC_BIN_ADD || n->fn == NNC_BIN_SUB || n->fn == NNC_BIN_MUL ||
                  n->fn == NNC_BIN_DIV || n->fn == NNC_BIN_MAX || n->fn == NNC_BIN_MIN);
    if (!binary && n->op != NNC_OP_UNARY)
      return nnc_fail(c->st, NNC_ERR_INTERNAL, "codegen: %s (node %d) cannot run on a conv tile",
                      op_name(n->op), j);
    for (int k = 0; k < n->n_in; k++)
      if (n->in[k] != prev && !inline_source(&g->nodes[n->in[k]]) && !cg_buffer(c, n->in[k]))
        return nnc_fail(c->st, NNC_ERR_INTERNAL, "codegen: conv tile operand %d has no buffer",
                        n->in[k]);
    e->node[e->n] = n;
    e->id[e->n] = j;
    e->buf[e->n] = g->nodes[j].region >= 0 ? cg_buffer(c, j) : NULL;
    e->n++;
  }
  /* with no chain the conv's buffer is its only result */
  e->store_raw = e->n == 0 || cg_read_outside_group(g, id);
  return NNC_OK;
}

static LLVMValueRef splat(cg *c, const cg_tile *t, LLVMValueRef x) {
  if (!t->nv) return x;
  LLVMValueRef undef = LLVMGetUndef(t->vec);
  LLVMValueRef one = LLVMBuildInsertElement(c->b, undef, x, LLVMConstInt(c->i32, 0, 0), "");
  return LLVMBuildShuffleVector(c->b, one, undef,
                                LLVMConstNull(LLVMVectorType(c->i32, (unsigned)t->vw)), "");
}

static LLVMValueRef at(cg *c, LLVMValueRef base, LLVMValueRef i) {
  return LLVMBuildGEP2(c->b, c->f32, base, &i, 1, "");
}

void conv_tile_put(cg *c, const cg_tile *t, LLVMValueRef x, LLVMValueRef base, LLVMValueRef i) {
  LLVMValueRef p = at(c, base, i);
  if (t->nv) p = LLVMBuildBitCast(c->b, p, LLVMPointerType(t->vec, 0), "");
  LLVMSetAlignment(LLVMBuildStore(c->b, x, p), 4);
}

/* operand k of chain node n at channel ch, as the tile's type */
static LLVMValueRef operand(cg *c, const cg_tile *t, const nnc_node *n, int k, LLVMValueRef ch) {
  const nnc_node *a = &c->g->nodes[n->in[k]];
  if (a->op == NNC_OP_CONST) return splat(c, t, cg_f32(c, a->params.value));
  if (a->op == NNC_OP_SCALAR)
    return splat(c, t, cg_load(c, c->scalars, cg_i64(c, a->params.index)));
  LLVMValueRef buf = cg_buffer(c, n->in[k]);
  if (n->bcast[k] == NNC_BCAST_SCALAR) return splat(c, t, cg_load(c, buf, cg_i64(c, 0)));
  /* NNC_BCAST_LAST: one value per output channel */
  if (!t->nv) return cg_load(c, buf, ch);
  LLVMValueRef p = LLVMBuildBitCast(c->b, at(c, buf, ch), LLVMPointerType(t->vec, 0), "");
  LLVMValueRef v = LLVMBuildLoad2(c->b, t->vec, p, "");
  LLVMSetAlignment(v, 4);
  return v;
}

/* relu has its vector form here (the select of emit_math.c's relu); the
 * other functions run lane by lane through cg_unary */
static LLVMValueRef unary(cg *c, const cg_tile *t, const nnc_node *n, LLVMValueRef x) {
  if (!t->nv) return cg_unary(c, (nnc_fn)n->fn, x, &n->params);
  if (n->fn == NNC_FN_RELU) {
    LLVMValueRef zero = LLVMConstNull(t->vec);
    return LLVMBuildSelect(c->b, LLVMBuildFCmp(c->b, LLVMRealUGT, x, zero, ""), x, zero, "");
  }
  LLVMValueRef y = LLVMGetUndef(t->vec);
  for (int l = 0; l < t->vw; l++) {
    LLVMValueRef lane = LLVMConstInt(c->i32, (unsigned long long)l, 0);
    LLVMValueRef v =
        cg_unary(c, (nnc_fn)n->fn, LLVMBuildExtractElement(c->b, x, lane, ""), &n->params);
    y = LLVMBuildInsertElement(c->b, y, v, lane, "");
  }
  return y;
}

LLVMValueRef conv_epi_apply(cg *c, const conv_epi *e, const cg_tile *t, LLVMValueRef x,
                            LLVMValueRef ch, LLVMValueRef i) {
  int prev = e->conv;
  for (int s = 0; s < e->n; s++) {
    const nnc_node *n = e->node[s];
    if (n->op == NNC_OP_UNARY) {
      x = unary(c, t, n, x);
    } else { /* BINARY add, sub, mul, div, max, min: vector-safe in cg_binary */
      LLVMValueRef a = n->in[0] == prev ? x : operand(c, t, n, 0, ch);
      LLVMValueRef b = n->in[1] == prev ? x : operand(c, t, n, 1, ch);
      x = cg_binary(c, (nnc_binary_fn)n->fn, a, b);
    }
    if (e->buf[s]) conv_tile_put(c, t, x, e->buf[s], i);
    prev = e->id[s];
  }
  return x;
}
