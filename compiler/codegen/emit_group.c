/* One LLVM function per fusion group (the drivers that call them are in
 * emit_driver.c).
 *
 * A group function takes one noalias float* per buffer it touches (so the
 * vectorizer needs no runtime alias checks), then the scalars, the row count,
 * the random counter and this thread's (tid, nthreads). */
#include <stdlib.h>
#include <string.h>

#include "compiler/codegen/cg.h"
#include "base/base.h"
#include "compiler/ops/op.h"

void cg_loop_begin(cg *c, cg_loop *l, LLVMValueRef start, LLVMValueRef end, const char *name) {
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(c->b);
  l->head = LLVMAppendBasicBlockInContext(c->ctx, c->fn, name);
  l->body = LLVMAppendBasicBlockInContext(c->ctx, c->fn, name);
  l->exit = LLVMAppendBasicBlockInContext(c->ctx, c->fn, name);
  LLVMBuildBr(c->b, l->head);
  LLVMPositionBuilderAtEnd(c->b, l->head);
  l->phi = LLVMBuildPhi(c->b, c->i64, name);
  LLVMAddIncoming(l->phi, &start, &pre, 1);
  l->i = l->phi;
  LLVMBuildCondBr(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, l->phi, end, ""), l->body, l->exit);
  LLVMPositionBuilderAtEnd(c->b, l->body);
}

void cg_loop_end(cg *c, cg_loop *l) {
  LLVMValueRef next = LLVMBuildAdd(c->b, l->phi, cg_i64(c, 1), "");
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(c->b);
  LLVMBuildBr(c->b, l->head);
  LLVMAddIncoming(l->phi, &next, &latch, 1);
  LLVMPositionBuilderAtEnd(c->b, l->exit);
}

LLVMValueRef cg_count(cg *c, const nnc_shape *s) {
  LLVMValueRef inner = cg_i64(c, shape_inner(s));
  return s->batched ? LLVMBuildMul(c->b, c->rows, inner, "") : inner;
}

LLVMValueRef cg_buffer(cg *c, int id) {
  for (int k = 0; k < c->n_args; k++)
    if (c->arg_node[k] == id) return c->arg_ptr[k];
  return NULL;
}

static void add_arg(cg *c, int id) {
  if (id < 0 || c->g->nodes[id].region < 0) return;
  /* past the table only count: the caller refuses a group of more than CG_MAX_ARGS */
  if (c->n_args > CG_MAX_ARGS) {
    c->n_args++;
    return;
  }
  for (int k = 0; k < c->n_args; k++)
    if (c->arg_node[k] == id) return;
  c->arg_node[c->n_args++] = id;
}

static int is_inline_source(const nnc_node *n) {
  return n->op == NNC_OP_CONST || n->op == NNC_OP_SCALAR;
}

static int is_anchor(const nnc_node *n) {
  nnc_op_class k = op_class(n->op);
  return k == NNC_CLASS_MATMUL || k == NNC_CLASS_ROW || k == NNC_CLASS_REDUCE;
}

/* The buffers a group reads or writes, in a stable order. */
static void collect_args(cg *c, int first, int last) {
  const nnc_graph *g = c->g;
  c->n_args = 0;
  for (int i = first; i <= last; i++) {
    const nnc_node *n = &g->nodes[i];
    if (n->group != g->nodes[first].group || n->dead) continue;
    for (int k = 0; k < n->n_in; k++) {
      const nnc_node *a = &g->nodes[n->in[k]];
      if (is_inline_source(a)) continue;
      if (a->group == n->group && !is_anchor(a) && !(n->op == NNC_OP_ASSIGN && k == 0)) continue;
      add_arg(c, n->in[k]);
    }
    add_arg(c, i);
  }
}

LLVMValueRef cg_operand(cg *c, const nnc_node *n, int k, LLVMValueRef i) {
  const nnc_node *a = &c->g->nodes[n->in[k]];
  if (a->op == NNC_OP_CONST) return cg_f32(c, a->params.value);
  if (a->op == NNC_OP_SCALAR) return cg_load(c, c->scalars, cg_i64(c, a->params.index));
  if (a->group == n->group && !is_anchor(a)) return c->value[n->in[k]];
  LLVMValueRef width = cg_i64(c, shape_last(&n->shape)), index = i;
  int nest = c->ep_col && shape_last(&n->shape) == c->ep_width; /* i = row * width + col */
  switch (n->bcast[k]) {
  case NNC_BCAST_FULL:
    break;
  case NNC_BCAST_SCALAR:
    index = cg_i64(c, 0);
    break;
  case NNC_BCAST_LAST:
    index = nest ? c->ep_col : LLVMBuildSRem(c->b, i, width, "");
    break;
  case NNC_BCAST_ROW:
    index = nest ? c->ep_row : LLVMBuildSDiv(c->b, i, width, "");
    break;
  }
  return cg_load(c, cg_buffer(c, n->in[k]), index);
}

/* One element of one elementwise node at flat index i: the op's emitter
 * (compiler/ops/<op>.c) gives the value, or stores it itself (effects). */
static int emit_element(cg *c, int id, LLVMValueRef i) {
  const nnc_node *n = &c->g->nodes[id];
  const nnc_op_def *def = op_def(n->op);
  if (!def->emit_element)
    return nnc_fail(c->st, NNC_ERR_INTERNAL, "codegen: %s is not elementwise", op_name(n->op));
  LLVMValueRef v = NULL;
  if (def->emit_element(c, n, id, i, &v)) return c->st->code;
  if (def->cls == NNC_CLASS_EFFECT) return NNC_OK;
  if (!v) return nnc_fail(c->st, NNC_ERR_INTERNAL, "codegen: no emitter for node %d", id);
  c->value[id] = v;
  if (n->region >= 0) cg_store(c, v, cg_buffer(c, id), i);
  return NNC_OK;
}

static const nnc_shape *space_of(const nnc_graph *g, const nnc_node *n) {
  return n->op == NNC_OP_ASSIGN ? &g->nodes[n->in[0]].shape : &n->shape;
}

/* [u0, u1): this thread's share of `units`, in contiguous chunks of
 * ⌈U/n⌉ rounded up to a multiple of `granule`. Every unit is computed whole
 * by one thread, in the same order whatever the thread count, so results do
 * not depend on it. A matmul's granule is its tile height: a chunk of whole
 * tiles leaves the leftover rows (the slow short tiles) to the last thread
 * alone, as one thread would have them, instead of some to every thread. */
void cg_thread_share_of(cg *c, LLVMValueRef tid, LLVMValueRef units, int64_t granule,
                        LLVMValueRef *u0, LLVMValueRef *u1) {
  LLVMBuilderRef b = c->b;
  LLVMValueRef one = cg_i64(c, 1);
  LLVMValueRef chunk = LLVMBuildSDiv(
      b, LLVMBuildSub(b, LLVMBuildAdd(b, units, c->nthreads, ""), one, ""), c->nthreads, "");
  if (granule > 1) {
    LLVMValueRef g = cg_i64(c, granule);
    chunk = LLVMBuildMul(
        b, LLVMBuildSDiv(b, LLVMBuildAdd(b, chunk, cg_i64(c, granule - 1), ""), g, ""), g, "");
  }
  LLVMValueRef start = LLVMBuildMul(b, tid, chunk, "");
  LLVMValueRef end = LLVMBuildAdd(b, start, chunk, "");
  *u0 = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, start, units, ""), start, units, "");
  *u1 = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, end, units, ""), end, units, "");
}

static void thread_share(cg *c, LLVMValueRef units, int64_t granule, LLVMValueRef *u0,
                         LLVMValueRef *u1) {
  cg_thread_share_of(c, c->tid, units, granule, u0, u1);
}

/* The units of an anchor that one tile computes together. */
static int64_t anchor_granule(const cg *c, const nnc_node *n) {
  return n->op == NNC_OP_MATMUL ? cg_gemm_tile_rows(c->vector_width) : 1;
}

/* This thread's share of a matmul: rows [u0, u1) in column strips
 * [c->strip0, c->strip1). Split by rows, every thread packs and streams all
 * of B (the weights, for x @ W) for its few rows, and a batch of 128 leaves
 * one thread short tiles (72 + 56 rows with 12-row tiles); split by column
 * strips, each thread packs only its part of B and runs every row, tiles
 * as one thread would. Strips are chosen when they divide evenly (no
 * narrower last strip, a whole number per thread) or are many (at least 4
 * per thread); else rows. Both ways every element is one thread's same
 * chain of fused multiply-adds: the result does not depend on the split. */
static void matmul_share(cg *c, const nnc_node *n, LLVMValueRef units, LLVMValueRef *u0,
                         LLVMValueRef *u1, LLVMValueRef *split_strips) {
  LLVMBuilderRef b = c->b;
  int64_t cols = shape_last(&n->shape), tile = cg_gemm_tile_cols(c->vector_width);
  int64_t strips = (cols + tile - 1) / tile;
  LLVMValueRef r0, r1, s0, s1, nt = c->nthreads, total = cg_i64(c, strips);
  thread_share(c, units, cg_gemm_tile_rows(c->vector_width), &r0, &r1);
  thread_share(c, total, 1, &s0, &s1);
  LLVMValueRef even =
      LLVMBuildICmp(b, LLVMIntEQ, LLVMBuildSRem(b, total, nt, ""), cg_i64(c, 0), "");
  if (cols % tile) even = LLVMConstInt(c->i1, 0, 0);
  LLVMValueRef many =
      LLVMBuildICmp(b, LLVMIntSGE, total, LLVMBuildMul(b, nt, cg_i64(c, 4), ""), "");
  LLVMValueRef by_strips = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntSGE, total, nt, ""),
                                        LLVMBuildOr(b, even, many, ""), "by_strips");
  *u0 = cg_select(c, by_strips, cg_i64(c, 0), r0);
  *u1 = cg_select(c, by_strips, units, r1);
  c->strip0 = cg_select(c, by_strips, s0, cg_i64(c, 0));
  c->strip1 = cg_select(c, by_strips, s1, total);
  *split_strips = by_strips;
}
/* The group's live elementwise nodes from start to last at element index. */
static int emit_epilogue(cg *c, int first, int start, int last, LLVMValueRef index) {
  const nnc_graph *g = c->g;
  for (int i = start; i <= last; i++)
    if (g->nodes[i].group == g->nodes[first].group && !g->nodes[i].dead &&
        emit_element(c, i, index))
      return -1;
  return 0;
}

LLVMValueRef cg_emit_group(cg *c, int first, int last, const char *name) {
  const nnc_graph *g = c->g;
  collect_args(c, first, last);
  LLVMTypeRef params[CG_MAX_ARGS + CG_GROUP_EXTRA_ARGS];
  if (c->n_args > CG_MAX_ARGS) {
    nnc_fail(c->st, NNC_ERR_INTERNAL, "codegen: group %s touches too many buffers", name);
    return NULL;
  }
  for (int k = 0; k < c->n_args; k++) params[k] = c->ptr;
  params[c->n_args] = c->ptr;
  for (int k = 1; k <= 4; k++) params[c->n_args + k] = c->i64;
  params[c->n_args + 5] = c->ptr;
  LLVMTypeRef type =
      LLVMFunctionType(c->void_t, params, (unsigned)c->n_args + CG_GROUP_EXTRA_ARGS, 0);
  c->fn = LLVMAddFunction(c->mod, name, type);
  LLVMSetLinkage(c->fn, LLVMInternalLinkage);
  /* Kept out of line: each kernel is optimized on its own (its noalias
   * arguments intact), which keeps O3 fast; a call per group costs nothing. */
  LLVMAddAttributeAtIndex(
      c->fn, (unsigned)LLVMAttributeFunctionIndex,
      LLVMCreateEnumAttribute(c->ctx, LLVMGetEnumAttributeKindForName("noinline", 8), 0));
  unsigned noalias = LLVMGetEnumAttributeKindForName("noalias", 7);
  for (int k = 0; k <= c->n_args; k++) {
    c->arg_ptr[k] = LLVMGetParam(c->fn, (unsigned)k);
    LLVMAddAttributeAtIndex(c->fn, (unsigned)k + 1, LLVMCreateEnumAttribute(c->ctx, noalias, 0));
  }
  c->scalars = LLVMGetParam(c->fn, (unsigned)c->n_args);
  c->rows = LLVMGetParam(c->fn, (unsigned)c->n_args + 1);
  c->rng = LLVMGetParam(c->fn, (unsigned)c->n_args + 2);
  c->tid = LLVMGetParam(c->fn, (unsigned)c->n_args + 3);
  c->nthreads = LLVMGetParam(c->fn, (unsigned)c->n_args + 4);
  c->claims = LLVMGetParam(c->fn, (unsigned)c->n_args + 5);
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->ctx, c->fn, "entry"));

  int start = first;
  LLVMValueRef units, u0, u1;
  int64_t per_unit = 1;
  c->strip0 = c->strip1 = NULL;
  cg_claims q;
  int claiming = 0;
  /* a matmul of one column strip (N up to one tile: a 10-class head, a
   * Dense(1)) splits by rows alone and keeps the flat epilogue loop below,
   * which vectorizes; a rows x strip-columns loop would run its few
   * columns one at a time */
  const nnc_node *lead = &g->nodes[first];
  if (lead->op == NNC_OP_MATMUL && shape_last(&lead->shape) > cg_gemm_tile_cols(c->vector_width)) {
    cg_anchor_units(c, first, &units, &per_unit);
    LLVMValueRef by_strips;
    matmul_share(c, &g->nodes[first], units, &u0, &u1, &by_strips);
    if (cg_group_claims_strips(c, first)) { /* the anchor and its epilogue per claim */
      cg_claims_begin(c, &q, lead, by_strips);
      claiming = 1;
      c->strip0 = q.s0, c->strip1 = q.s1;
    }
    if (cg_emit_anchor(c, first, u0, u1)) return NULL;
    start = first + 1;
  } else if (is_anchor(&g->nodes[first])) {
    cg_anchor_units(c, first, &units, &per_unit);
    thread_share(c, units, anchor_granule(c, &g->nodes[first]), &u0, &u1);
    if (cg_emit_anchor(c, first, u0, u1)) return NULL;
    start = first + 1;
  } else {
    units = cg_count(c, space_of(g, &g->nodes[first]));
    thread_share(c, units, 1, &u0, &u1);
  }
  /* the nodes after a conv flagged NNC_NODE_TILE ran on its tile (conv.c) */
  while (start > first && start <= last && (g->nodes[start].flags & NNC_NODE_TILE) &&
         g->nodes[start].group == g->nodes[first].group)
    start++;
  int has_epilogue = 0;
  for (int i = start; i <= last; i++) has_epilogue |= g->nodes[i].group == g->nodes[first].group;
  /* a one-strip matmul of whole vectors (Dense(32) at width 16, Dense(16)
   * at 8) also takes the rows x columns loop: its column loop fills vectors,
   * and the bias is a vector load where the flat loop gathered it (index
   * j % N); 1 or 10 columns keep the flat loop */
  int nest =
      c->strip0 || (lead->op == NNC_OP_MATMUL && has_epilogue && per_unit % c->vector_width == 0);
  if (has_epilogue && nest) {
    /* a matmul's epilogue runs on the elements its share wrote: its rows,
     * the columns of its strips */
    int64_t tile = cg_gemm_tile_cols(c->vector_width);
    LLVMValueRef width = cg_i64(c, per_unit), j0 = cg_i64(c, 0), j1 = width;
    if (c->strip0) {
      j0 = LLVMBuildMul(c->b, c->strip0, cg_i64(c, tile), "");
      j1 = LLVMBuildMul(c->b, c->strip1, cg_i64(c, tile), "");
      j1 = cg_select(c, LLVMBuildICmp(c->b, LLVMIntSLT, j1, width, ""), j1, width);
    }
    cg_loop r, l;
    cg_loop_begin(c, &r, u0, u1, "erow");
    LLVMValueRef base = LLVMBuildMul(c->b, r.i, width, "");
    cg_loop_begin(c, &l, j0, j1, "elem");
    c->ep_row = r.i, c->ep_col = l.i, c->ep_width = per_unit;
    int rc = emit_epilogue(c, first, start, last, LLVMBuildAdd(c->b, base, l.i, ""));
    c->ep_row = c->ep_col = NULL;
    if (rc) return NULL;
    cg_loop_end(c, &l);
    cg_loop_end(c, &r);
  } else if (has_epilogue) {
    cg_loop l;
    LLVMValueRef scale = cg_i64(c, per_unit);
    cg_loop_begin(c, &l, LLVMBuildMul(c->b, u0, scale, ""), LLVMBuildMul(c->b, u1, scale, ""),
                  "elem");
    if (emit_epilogue(c, first, start, last, l.i)) return NULL;
    cg_loop_end(c, &l);
  }
  if (claiming) cg_claims_end(c, &q);
  LLVMBuildRetVoid(c->b);
  c->strip0 = c->strip1 = NULL;
  return c->fn;
}
