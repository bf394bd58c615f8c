/* One LLVM function per fusion group (the drivers that call them are in
 * emit_driver.c).
 *
 * A group function takes one noalias float* per buffer it touches (so the
 * vectorizer needs no runtime alias checks), then the scalars, the row count,
 * the random counter and this thread's (tid, nthreads). */
#include <llvm-c/DebugInfo.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/codegen/cg.h"
#include "compiler/codegen/module_split.h"
#include "base/base.h"
#include "compiler/ops/op.h"

void cg_init(cg *c, LLVMContextRef ctx, LLVMModuleRef mod, int vector_width, nnc_status *st) {
  memset(c, 0, sizeof *c);
  c->ctx = ctx;
  c->mod = mod;
  c->b = LLVMCreateBuilderInContext(ctx);
  c->f32 = LLVMFloatTypeInContext(ctx);
  c->i64 = LLVMInt64TypeInContext(ctx);
  c->i32 = LLVMInt32TypeInContext(ctx);
  c->i1 = LLVMInt1TypeInContext(ctx);
  c->ptr = LLVMPointerType(c->f32, 0);
  c->void_t = LLVMVoidTypeInContext(ctx);
  c->vector_width = vector_width;
  c->st = st;
}

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

LLVMValueRef cg_loop_end(cg *c, cg_loop *l) {
  LLVMValueRef next = LLVMBuildAdd(c->b, l->phi, cg_i64(c, 1), "");
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(c->b);
  LLVMValueRef back = LLVMBuildBr(c->b, l->head);
  LLVMAddIncoming(l->phi, &next, &latch, 1);
  LLVMPositionBuilderAtEnd(c->b, l->exit);
  return back;
}

static LLVMMetadataRef loop_hint(cg *c, const char *name, LLVMValueRef value) {
  LLVMMetadataRef op[2] = {LLVMMDStringInContext2(c->ctx, name, strlen(name)),
                           value ? LLVMValueAsMetadata(value) : NULL};
  return LLVMMDNodeInContext2(c->ctx, op, value ? 2 : 1);
}

void cg_loop_hint(cg *c, LLVMValueRef back, int width) {
  LLVMMetadataRef self = LLVMTemporaryMDNode(c->ctx, NULL, 0), ops[4] = {self};
  size_t n = 1;
  /* not forced (vectorize.enable): LLVM would remark on every loop it cannot
   * vectorize (a gelu's call) */
  if (width > 0) {
    ops[n++] = loop_hint(c, "llvm.loop.vectorize.width", LLVMConstInt(c->i32, (unsigned)width, 0));
    ops[n++] = loop_hint(c, "llvm.loop.interleave.count", LLVMConstInt(c->i32, 1, 0));
  } else {
    ops[n++] = loop_hint(c, "llvm.loop.unroll.disable", NULL);
    ops[n++] = loop_hint(c, "llvm.loop.vectorize.enable", LLVMConstInt(c->i1, 0, 0));
  }
  LLVMMetadataRef loop = LLVMMDNodeInContext2(c->ctx, ops, n);
  LLVMMetadataReplaceAllUsesWith(self, loop);
  LLVMSetMetadata(back, LLVMGetMDKindIDInContext(c->ctx, "llvm.loop", 9),
                  LLVMMetadataAsValue(c->ctx, loop));
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
  if (c->tile_src && n->in[k] == c->tile_anchor) return cg_load(c, c->tile_src, c->tile_src_i);
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

/* The units of an anchor that one tile computes together (a split
 * product's unit is a whole part). */
static int64_t anchor_granule(const cg *c, const nnc_node *n) {
  return n->op == NNC_OP_MATMUL && n->params.bmm.k_parts <= 1 ? cg_gemm_tile_rows(c->vector_width)
                                                              : 1;
}

/* This thread's share of a matmul: rows [u0, u1) in column strips
 * [c->strip0, c->strip1). Split by column strips, each thread packs only
 * its part of B and runs every row, tiles as one thread would; split by
 * rows, every thread packs and streams all of B for its rows. Strips are
 * chosen when there are many (at least STRIPS_PER_THREAD per thread), else
 * rows: with a few strips each thread also reads every row of A and writes
 * a slice of every row of C, so the rows of a batch's activations that one
 * core wrote the other reads, and its next write waits for the other core's
 * copy to be invalidated: 10-26 ns a line on the 2-vCPU host against 1 when
 * no other core holds it (docs/performance.md, "Session 22"). W3 and W4
 * (64 columns: two strips) ran 20-27 % faster on two threads split by rows
 * than by strips; W4-wide (512 columns: 16) 12 % slower. Both ways every
 * element is one thread's same chain of fused multiply-adds: the result
 * does not depend on the split. */
#define STRIPS_PER_THREAD 4
static void matmul_share(cg *c, const nnc_node *n, LLVMValueRef units, LLVMValueRef *u0,
                         LLVMValueRef *u1, LLVMValueRef *split_strips) {
  LLVMBuilderRef b = c->b;
  int64_t cols = shape_last(&n->shape), tile = cg_gemm_tile_cols(c->vector_width);
  int64_t strips = (cols + tile - 1) / tile;
  LLVMValueRef r0, r1, s0, s1, total = cg_i64(c, strips);
  thread_share(c, units, cg_gemm_tile_rows(c->vector_width), &r0, &r1);
  thread_share(c, total, 1, &s0, &s1);
  LLVMValueRef by_strips =
      LLVMBuildICmp(b, LLVMIntSGE, total,
                    LLVMBuildMul(b, c->nthreads, cg_i64(c, STRIPS_PER_THREAD), ""), "by_strips");
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

int cg_tile_group_epilogue(cg *c, LLVMValueRef row0, int rows, LLVMValueRef col0, int64_t cols,
                           LLVMValueRef src, int64_t src_width) {
  LLVMBuilderRef b = c->b;
  int64_t width = shape_last(&c->g->nodes[c->tile_anchor].shape);
  cg_loop r, l;
  cg_loop_begin(c, &r, cg_i64(c, 0), cg_i64(c, rows), "trow");
  LLVMValueRef row = LLVMBuildAdd(b, row0, r.i, "");
  LLVMValueRef base = LLVMBuildMul(b, row, cg_i64(c, width), "");
  LLVMValueRef src_base = LLVMBuildMul(b, r.i, cg_i64(c, src_width), "");
  cg_loop_begin(c, &l, cg_i64(c, 0), cg_i64(c, cols), "telem");
  LLVMValueRef col = LLVMBuildAdd(b, col0, l.i, "");
  c->ep_row = row, c->ep_col = col, c->ep_width = width;
  c->tile_src = src, c->tile_src_i = LLVMBuildAdd(b, src_base, l.i, "");
  int rc =
      emit_epilogue(c, c->tile_anchor, c->tile_start, c->tile_last, LLVMBuildAdd(b, base, col, ""));
  c->ep_row = c->ep_col = c->tile_src = c->tile_src_i = NULL;
  if (rc) return c->tile_failed = 1;
  cg_loop_end(c, &l);
  cg_loop_end(c, &r);
  return 0;
}

/* The buffer operand k of n is read at the element's own index (not an
 * inline constant, a value of the group, the tile's own product, or a
 * broadcast one). */
static int full_operand(const cg *c, const nnc_node *n, int k) {
  const nnc_node *a = &c->g->nodes[n->in[k]];
  if (is_inline_source(a) || n->in[k] == c->tile_anchor) return 0;
  if (a->group == n->group && !is_anchor(a)) return 0;
  return n->bcast[k] == NNC_BCAST_FULL;
}

static void add_buffer(LLVMValueRef *list, int *n, int max, LLVMValueRef p) {
  if (!p) return;
  for (int k = 0; k < *n; k++)
    if (list[k] == p) return;
  if (*n < max) list[(*n)++] = p;
}

void cg_tile_group_prefetch(cg *c, LLVMValueRef row, LLVMValueRef col0, int64_t cols) {
  const nnc_graph *g = c->g;
  enum { MAX = 8 };
  LLVMValueRef bufs[MAX];
  int n_bufs = 0;
  for (int i = c->tile_start; i <= c->tile_last; i++) {
    const nnc_node *n = &g->nodes[i];
    if (n->group != g->nodes[c->tile_anchor].group || n->dead) continue;
    for (int k = 0; k < n->n_in; k++)
      if (full_operand(c, n, k) && !(n->op == NNC_OP_ASSIGN && k == 0))
        add_buffer(bufs, &n_bufs, MAX, cg_buffer(c, n->in[k]));
    if (n->op == NNC_OP_ASSIGN)
      add_buffer(bufs, &n_bufs, MAX, cg_buffer(c, n->in[0]));
    else if (n->region >= 0)
      add_buffer(bufs, &n_bufs, MAX, cg_buffer(c, i));
  }
  LLVMTypeRef i8p = LLVMPointerType(LLVMInt8TypeInContext(c->ctx), 0);
  unsigned id = LLVMLookupIntrinsicID("llvm.prefetch", 13);
  LLVMValueRef fn = LLVMGetIntrinsicDeclaration(c->mod, id, &i8p, 1);
  LLVMTypeRef type = LLVMIntrinsicGetType(c->ctx, id, &i8p, 1);
  LLVMValueRef width = cg_i64(c, shape_last(&g->nodes[c->tile_anchor].shape));
  LLVMValueRef at = LLVMBuildAdd(c->b, LLVMBuildMul(c->b, row, width, ""), col0, "");
  /* a line per 16 floats, into L2 (the rows, 2 KB apart in a 512-column
   * weight, would fight over a few L1 sets), for reading */
  for (int64_t j = 0; j < cols; j += 16)
    for (int k = 0; k < n_bufs; k++) {
      LLVMValueRef p = LLVMBuildGEP2(
          c->b, c->f32, bufs[k], (LLVMValueRef[]){LLVMBuildAdd(c->b, at, cg_i64(c, j), "")}, 1, "");
      LLVMValueRef args[4] = {LLVMBuildBitCast(c->b, p, i8p, ""), LLVMConstInt(c->i32, 0, 0),
                              LLVMConstInt(c->i32, 2, 0), LLVMConstInt(c->i32, 1, 0)};
      LLVMBuildCall2(c->b, type, fn, args, 4, "");
    }
}

/* The region a node of the epilogue writes: its own buffer's, or an
 * effect's target's (an assign writes its first operand in place). */
static int written_region(const nnc_graph *g, const nnc_node *n) {
  if (n->op == NNC_OP_ASSIGN) return g->nodes[n->in[0]].region;
  return n->region;
}

/* Whether matmul `first`'s epilogue [start, last] may run on each tile
 * (cg_tile_group_epilogue) instead of in a loop after the whole product:
 * the GEMM must still read its operands unchanged after a tile's update,
 * so no node of the epilogue may write where A or B live (the plan gives
 * the group's own values buffers apart from its live inputs; an assign to
 * a variable, a statistic or an output writes memory of its own). Not with
 * a bias/activation chain on the tile (gemm_epi.c). NNC_UPDATE_ON_TILE=1:
 * always; unset: for products of TILE_MIN_COLUMNS columns or more (session
 * 19: W4-wide's 512 ran 8-9 % faster on two threads, W7's 256 11 %, but the
 * group's strips are emitted inline, and the Fashion-MNIST MLP's 128 cost
 * 39 % more compile; docs/performance.md "Session 19: W4-wide"); 0: never. */
#define TILE_MIN_COLUMNS 256

/* 1 if no node of matmul first's epilogue [start, last] writes where A or
 * B live: the product may then be computed piece by piece with the
 * epilogue run on each piece. */
static int epilogue_spares_operands(const nnc_graph *g, int first, int start, int last) {
  const nnc_node *m = &g->nodes[first];
  int ra = g->nodes[m->in[0]].region, rb = g->nodes[m->in[1]].region;
  for (int i = start; i <= last; i++) {
    const nnc_node *n = &g->nodes[i];
    if (n->group != m->group || n->dead) continue;
    int w = op_class(n->op) == NNC_CLASS_EFFECT ? written_region(g, n) : -1;
    if (w >= 0 && (w == ra || w == rb)) return 0;
  }
  return 1;
}

/* A weight gradient of TALL_ROWS rows or more (a first layer of 512 inputs
 * or more) whose group updates the weight: its update goes on the tile at
 * any number of columns. Otherwise the whole product is stored, read back
 * and updated in a pass of its own, whose square root and division per
 * weight (RMSprop) run alone; a short contraction (W3's batch of 32) makes
 * that pass a large part of the group. On AMD Zen 4: W3 on two threads 2 %
 * faster with near vCPUs, 9 % with far ones (thread 0's weight-gradient
 * segment 44 -> 27 us), on one 2 %; W4 (a batch of 64) within 1 %. The
 * cost: the group's strips are inline, W3's cold compile 0.16 -> 0.20 s of
 * CPU (docs/performance.md, "Session 37"). */
#define TALL_ROWS 512
static int tall_update(const nnc_graph *g, int first, int last) {
  const nnc_node *m = &g->nodes[first];
  if (!m->params.transpose_a || m->shape.rank != 2 || m->shape.dims[0] < TALL_ROWS) return 0;
  for (int i = first + 1; i <= last; i++)
    if (g->nodes[i].group == m->group && !g->nodes[i].dead && (g->nodes[i].flags & NNC_NODE_UPDATE))
      return 1;
  return 0;
}

static int update_on_tile(const cg *c, int first, int start, int last) {
  const nnc_graph *g = c->g;
  const char *env = getenv("NNC_UPDATE_ON_TILE");
  if (env && !strcmp(env, "0")) return 0;
  const nnc_node *m = &g->nodes[first];
  if (m->op != NNC_OP_MATMUL || start != first + 1) return 0;
  if (!(env && !strcmp(env, "1")) && shape_last(&m->shape) < TILE_MIN_COLUMNS &&
      !tall_update(g, first, last))
    return 0;
  return epilogue_spares_operands(g, first, start, last);
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
  params[c->n_args + 6] = c->ptr;
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
  /* this thread's scratch: no other pointer of the kernel reaches it */
  c->scratch = LLVMGetParam(c->fn, (unsigned)c->n_args + 6);
  LLVMAddAttributeAtIndex(c->fn, (unsigned)c->n_args + 7,
                          LLVMCreateEnumAttribute(c->ctx, noalias, 0));
  c->scratch_used = 0;
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
  int wide = lead->op == NNC_OP_MATMUL && lead->params.bmm.k_parts <= 1 &&
             shape_last(&lead->shape) > cg_gemm_tile_cols(c->vector_width);
  /* the nodes after a conv or matmul flagged NNC_NODE_TILE run on its tile */
  int after = is_anchor(lead) ? first + 1 : first;
  while (after > first && after <= last && (g->nodes[after].flags & NNC_NODE_TILE) &&
         g->nodes[after].group == lead->group)
    after++;
  int has_epilogue = 0;
  for (int i = after; i <= last; i++) has_epilogue |= g->nodes[i].group == lead->group;
  /* a one-strip matmul of whole vectors (Dense(32) at width 16, Dense(16)
   * at 8) also takes the rows x columns loop: its column loop fills vectors,
   * and the bias is a vector load where the flat loop gathered it (index
   * j % N); 1 or 10 columns keep the flat loop */
  int nest = wide || (lead->op == NNC_OP_MATMUL && has_epilogue &&
                      shape_last(&lead->shape) % c->vector_width == 0);
  c->tile_on = has_epilogue && nest && update_on_tile(c, first, after, last);
  c->tile_anchor = first, c->tile_start = after, c->tile_last = last;
  c->tile_done = c->tile_failed = 0;
  if (wide) {
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
  } else if (cg_serial_kernel(c, space_of(g, &g->nodes[first]))) {
    units = cg_count(c, space_of(g, &g->nodes[first]));
    cg_serial_share(c, units, &u0, &u1);
  } else {
    units = cg_count(c, space_of(g, &g->nodes[first]));
    thread_share(c, units, 1, &u0, &u1);
  }
  int tile_done = c->tile_done;
  if (tile_done) cg_mark(c, c->fn, CG_TILE_GROUP_ATTR); /* the split's estimate (module_split.h) */
  c->tile_on = 0;
  if (c->tile_failed) return NULL;
  if (start > first) start = after; /* the tile chain ran on the tile (conv.c, gemm_epi.c) */
  if (has_epilogue && nest && !tile_done) { /* tile_done: it ran on each tile (emit_gemm.c) */
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
    /* a row's columns: one vector an iteration and a scalar remainder.
     * Left to its cost model the vectorizer interleaved four vectors and
     * added a vector epilogue loop: twice the machine code of the
     * Fashion-MNIST MLP's first layer, W3 1 % slower (docs/performance.md,
     * "Session 32"). Elementwise: the same values either way. */
    cg_loop_hint(c, cg_loop_end(c, &l), c->vector_width);
    cg_loop_end(c, &r);
  } else if (has_epilogue && !tile_done) {
    cg_loop l;
    LLVMValueRef scale = cg_i64(c, per_unit);
    cg_loop_begin(c, &l, LLVMBuildMul(c->b, u0, scale, ""), LLVMBuildMul(c->b, u1, scale, ""),
                  "elem");
    if (emit_epilogue(c, first, start, last, l.i)) return NULL;
    LLVMValueRef back = cg_loop_end(c, &l);
    /* fewer elements than half a vector (a loss's mean, a metric's count):
     * left to itself the vectorizer built an interleaved vector loop, a
     * vector epilogue loop half a vector wide and the scalar one around a
     * single element, of which only the scalar loop can run: 12 M
     * instructions of code generation a kernel (docs/performance.md,
     * "Session 35"). Elementwise: the same values either way. */
    if (LLVMIsAConstantInt(units) &&
        LLVMConstIntGetSExtValue(units) * per_unit < c->vector_width / 2)
      cg_loop_hint(c, back, 0);
  }
  if (claiming) cg_claims_end(c, &q);
  LLVMBuildRetVoid(c->b);
  c->strip0 = c->strip1 = NULL;
  if (c->scratch_used > c->scratch_max) c->scratch_max = c->scratch_used;
  return c->fn;
}
