/* The driver of each graph: nnc_<graph>_step computes every buffer address
 * from the region pointers and calls the group functions in order, with a
 * barrier between groups that run on all threads.
 *
 * The calls are spread over part functions of at most PART_GROUPS groups
 * each, and the driver only calls the parts. A driver that is one function
 * with a call and two branches per group made O3 (GVN, EarlyCSE,
 * SimplifyCFG) and the register allocator superlinear in the number of
 * groups: 800 Dense layers spent 25 s on it. Parts of bounded size keep
 * compile time linear in depth (docs/architecture.md, "Compile time"). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/codegen/cg.h"
#include "compiler/codegen/group_deps.h"
#include "base/base.h"
#include "runtime/pool.h" /* the claim slots' layout */

/* Enough to amortize a call per part; few enough that O3 and register
 * allocation see a small function. */
#define PART_GROUPS 64

/* A group whose work is small runs on thread 0 alone: splitting it would
 * cost more in barriers than it saves. The work (elements, or multiply-adds
 * for a matmul) is rows * per_row + fixed; the driver compares it with
 * SERIAL_WORK at run time, since rows change from batch to batch. Every
 * thread evaluates the same test, so they agree on it. */
#define SERIAL_WORK 32768

/* A matmul group below MATMUL_SERIAL_WORK multiply-adds runs on thread 0
 * alone too. Split, each thread reads every row of the activations the
 * group before wrote by rows or strips, and writes half of a product the
 * next group reads whole: W3's 64-wide layers (131 072 multiply-adds at 32
 * rows, ~1.4 us on one core) cost a barrier and the other core's lines
 * each, and its step on two threads ran 1.34x as long as with them on
 * thread 0 (docs/performance.md, "Session 36"). Elementwise groups keep
 * SERIAL_WORK: an update of a 784 x 512 kernel is memory-bound and splits
 * well (W4-wide 11 % slower with every group below 2^20 on thread 0). */
#define MATMUL_SERIAL_WORK (INT64_C(1) << 18)

static int64_t serial_work_of(const nnc_graph *g, int first) {
  return g->nodes[first].op == NNC_OP_MATMUL ? MATMUL_SERIAL_WORK : SERIAL_WORK;
}

static void group_work(const nnc_graph *g, int first, int64_t *per_row, int64_t *fixed) {
  const nnc_node *n = &g->nodes[first];
  const nnc_shape *s = n->op == NNC_OP_ASSIGN ? &g->nodes[n->in[0]].shape : &n->shape;
  int64_t factor = 1;
  if (n->op == NNC_OP_MATMUL) { /* rows of A times K times N (a split product: its parts') */
    s = &g->nodes[n->in[0]].shape;
    factor = shape_last(&n->shape) / (n->params.bmm.k_parts > 1 ? n->params.bmm.k_parts : 1);
  } else if (n->op == NNC_OP_CONV || n->op == NNC_OP_CONV_TRANSPOSE) {
    /* each output element sums kernel positions x a group's channels */
    const nnc_shape *w = &g->nodes[n->in[1]].shape;
    factor = shape_inner(w) / shape_last(w) / w->dims[w->rank - 2] *
             (n->op == NNC_OP_CONV
                  ? w->dims[w->rank - 2]
                  : shape_last(w) / (n->params.conv.groups > 0 ? n->params.conv.groups : 1));
  } else if (n->op == NNC_OP_CONV_FILTER) { /* every dy element meets every kernel row */
    s = &g->nodes[n->in[1]].shape;
    factor = shape_inner(&n->shape) / shape_last(&n->shape);
  } else if (n->op == NNC_OP_REDUCE || n->op == NNC_OP_SOFTMAX_XENT || n->op == NNC_OP_ARGMAX) {
    s = &g->nodes[n->in[0]].shape; /* reads more than it writes */
  }
  *per_row = s->batched ? shape_inner(s) * factor : 0;
  *fixed = s->batched ? 0 : shape_inner(s) * factor;
}

/* The last node of the group that starts at node i (nodes of no group in
 * between belong to it: they emit nothing). */
static int group_last(const nnc_graph *g, int i) {
  int last = i;
  while (last + 1 < g->n &&
         (g->nodes[last + 1].group == g->nodes[i].group || g->nodes[last + 1].group < 0))
    last++;
  return last;
}

/* The fewest rows at which some group of g runs on more than one thread
 * (INT64_MAX: none ever does). Below it every group runs on thread 0 alone
 * and the driver crosses no barrier, so the runtime runs the step on the
 * calling thread without waking the pool: same result, no wake-up. */
int64_t codegen_parallel_rows(const nnc_graph *g) {
  int64_t least = INT64_MAX;
  for (int i = 0; i < g->n;) {
    if (g->nodes[i].group < 0) {
      i++;
      continue;
    }
    int last = group_last(g, i);
    int64_t per_row, fixed, rows, serial = serial_work_of(g, i);
    group_work(g, i, &per_row, &fixed);
    if (fixed >= serial)
      rows = 0;
    else if (per_row > 0) /* the least rows with rows * per_row + fixed >= serial */
      rows = (serial - fixed + per_row - 1) / per_row;
    else
      rows = INT64_MAX;
    if (rows < least) least = rows;
    i = last + 1;
  }
  return least;
}

/* A step whose whole work (the sum of its groups' work, as above) is below
 * STEP_THREADS_WORK runs on the calling thread even where some of its groups
 * would split. Splitting a small step costs more than its barriers: the rows
 * a worker wrote are read by the other core in the next serial or
 * differently split group (a cache-to-cache transfer per line, and the
 * writer's next store waits for the reader's copy to be invalidated), and
 * a narrow layer's weight gradient has too few row tiles to split at all.
 * From STEP_THREADS_WORK to STEP_SURE_WORK the runtime times the step both
 * ways and runs it the faster (runtime/step_tuner.h); above, always on the
 * pool. On the 2-vCPU host, with narrow products split by rows (emit_group.c:
 * matmul_share), W5 (1.5 M per step) ran twice as slow on two threads as on
 * one; W3 (5.3 M) and W4 (7.4 M) 20-27 % faster while the host returned
 * the other core's lines quickly and 60 % slower while it did not; W4-wide
 * (205 M) is faster on two either way (docs/performance.md, "Session 22"). */
#define STEP_THREADS_WORK (INT64_C(1) << 22)
#define STEP_SURE_WORK (INT64_C(1) << 24)

/* The fewest rows at which g's whole step does `threshold` work (0: any;
 * INT64_MAX: never). */
static int64_t step_rows_at(const nnc_graph *g, int64_t threshold) {
  int64_t per_row = 0, fixed = 0;
  for (int i = 0; i < g->n;) {
    if (g->nodes[i].group < 0) {
      i++;
      continue;
    }
    int last = group_last(g, i);
    for (int j = i; j <= last; j++) {
      nnc_op op = g->nodes[j].op;
      /* recurrences and convolutions: more work per element than counted
       * here, and they scale on two threads: no step threshold */
      if (op == NNC_OP_RNN || op == NNC_OP_RNN_GRAD || op == NNC_OP_CONV ||
          op == NNC_OP_CONV_FILTER || op == NNC_OP_CONV_TRANSPOSE)
        return 0;
    }
    int64_t r, f;
    group_work(g, i, &r, &f);
    per_row += r;
    fixed += f;
    i = last + 1;
  }
  if (fixed >= threshold) return 0;
  if (per_row <= 0) return INT64_MAX;
  return (threshold - fixed + per_row - 1) / per_row;
}

int64_t codegen_step_threads_rows(const nnc_graph *g) {
  return step_rows_at(g, STEP_THREADS_WORK);
}

int64_t codegen_step_sure_rows(const nnc_graph *g) {
  return step_rows_at(g, STEP_SURE_WORK);
}

/* Drivers compiled at code generation level None (jit.c: job_emit) in an
 * object of their own: a long driver's code generation costs half, but the
 * second object's fixed cost ate the gain for the Fashion-MNIST MLP's
 * drivers (23 groups in its train graph), and their calls are slower (the
 * fast register allocator keeps nothing in registers across a call): W1's
 * and W2's 0.2-0.5 us steps 5-13 % slower, W3's 70 us ones 1 %
 * (docs/performance.md, "Session 35"). So only a graph of DRIVER_APART_GROUPS
 * groups or more (deep20's train graph has 127: its compile 7 % faster,
 * deep100's 14 %) whose step does DRIVER_APART_WORK in one row. */
#define DRIVER_APART_GROUPS 64
#define DRIVER_APART_WORK (INT64_C(1) << 14)

int codegen_graph_drivers_apart(const nnc_graph *g) {
  return g->n_groups >= DRIVER_APART_GROUPS && step_rows_at(g, DRIVER_APART_WORK) <= 1;
}

/* Parameters of the driver and of every part:
 * (float **regions, const float *scalars, int64_t rows, uint64_t rng,
 *  int64_t tid, int64_t nthreads, void (*barrier)(void *), void *barrier_ctx);
 * a part takes one more, prev_serial (i1), and returns its last group's. */
enum {
  ARG_REGIONS,
  ARG_SCALARS,
  ARG_ROWS,
  ARG_RNG,
  ARG_TID,
  ARG_NTHREADS,
  ARG_BARRIER,
  ARG_CTX,
  N_DRIVER_ARGS
};

/* The most groups a barrier may be skipped for in a row (each later group
 * is checked against all of them). */
#define MAX_SKIPPED 8

typedef struct part {
  LLVMValueRef fn;
  LLVMBuilderRef b;
  LLVMValueRef is_first; /* i1: tid == 0 */
  LLVMValueRef pool;     /* i8*: barrier_ctx when it is nnc's pool (its tag), else NULL */
  LLVMValueRef scratch;  /* float*: this thread's slice of regions[NNC_REGION_SCRATCH] */
  /* i1: every group since the last barrier crossed ran on thread 0 alone;
   * NULL before the first group of the step */
  LLVMValueRef prev_serial;
  /* i1: every group since the last barrier crossed is in since[] (false
   * after a barrier skipped because both sides ran on thread 0) */
  LLVMValueRef synced;
  int since[MAX_SKIPPED]; /* first nodes of the groups since the last barrier site */
  int n_since;
  int n_groups;
} part;

/* 1 if the group that starts at node first touches nothing the groups in
 * p->since[] write, and writes nothing they touch (group_deps.c). */
static int independent_of_since(const nnc_graph *g, const part *p, int first) {
  if (p->n_since == 0 || p->n_since == MAX_SKIPPED) return 0;
  for (int k = 0; k < p->n_since; k++)
    if (!group_deps_independent(g, p->since[k], first)) return 0;
  return 1;
}

/* The group's claim slot: the next of the pool's (runtime/pool.h), at the
 * start of barrier_ctx, for a group that claims its strips (emit_group.c),
 * while slots are left; NULL for the others and when the step runs without
 * the pool (no pool: part.pool NULL): each thread then computes its
 * static share. A job
 * runs one graph's step, so each graph numbers its slots from 0. */
static LLVMValueRef group_claims(cg *c, LLVMBuilderRef db, int first, LLVMValueRef pool) {
  LLVMValueRef none = LLVMConstNull(c->ptr);
  if (!cg_group_claims_strips(c, first) || c->claim_slots >= POOL_CLAIM_SLOTS) return none;
  LLVMValueRef off =
      LLVMConstInt(c->i64,
                   (unsigned long long)POOL_CLAIM_OFFSET +
                       (unsigned long long)c->claim_slots++ * POOL_CLAIM_WORDS * sizeof(uint64_t),
                   0);
  LLVMValueRef slot = LLVMBuildGEP2(db, LLVMInt8TypeInContext(c->ctx), pool, &off, 1, "");
  return LLVMBuildSelect(db, LLVMBuildIsNull(db, pool, ""), none,
                         LLVMBuildBitCast(db, slot, c->ptr, ""), "claims");
}

/* Emit the call of group [first..last] (function fn, buffers in c->arg_node)
 * into part p: the barrier before it, and the serial-or-parallel choice. */
static void call_group(cg *c, part *p, int first, LLVMValueRef fn, LLVMTypeRef barrier_type) {
  const nnc_graph *g = c->g;
  LLVMBuilderRef db = p->b;
  LLVMValueRef regions = LLVMGetParam(p->fn, ARG_REGIONS), rows = LLVMGetParam(p->fn, ARG_ROWS);
  LLVMValueRef tid = LLVMGetParam(p->fn, ARG_TID), nthreads = LLVMGetParam(p->fn, ARG_NTHREADS);
  LLVMValueRef barrier = LLVMGetParam(p->fn, ARG_BARRIER), ctx = LLVMGetParam(p->fn, ARG_CTX);
  int64_t per_row, fixed;
  group_work(g, first, &per_row, &fixed);
  LLVMValueRef work = LLVMBuildAdd(
      db, LLVMBuildMul(db, rows, LLVMConstInt(c->i64, (unsigned long long)per_row, 0), ""),
      LLVMConstInt(c->i64, (unsigned long long)fixed, 0), "");
  LLVMValueRef serial = LLVMBuildICmp(
      db, LLVMIntSLT, work, LLVMConstInt(c->i64, (unsigned long long)serial_work_of(g, first), 0),
      "serial");
  /* threads meet between groups, except between groups thread 0 runs alone,
   * and before a group independent of every group since the last barrier */
  if (p->prev_serial) {
    LLVMValueRef skip = LLVMBuildAnd(db, p->prev_serial, serial, "");
    int independent = independent_of_since(g, p, first);
    if (independent) skip = LLVMBuildOr(db, skip, p->synced, "");
    LLVMBasicBlockRef meet = LLVMAppendBasicBlockInContext(c->ctx, p->fn, "barrier");
    LLVMBasicBlockRef go = LLVMAppendBasicBlockInContext(c->ctx, p->fn, "group");
    LLVMBuildCondBr(db, skip, go, meet);
    LLVMPositionBuilderAtEnd(db, meet);
    LLVMBuildCall2(db, barrier_type, barrier, &ctx, 1, "");
    LLVMBuildBr(db, go);
    LLVMPositionBuilderAtEnd(db, go);
    LLVMValueRef met = LLVMBuildNot(db, skip, "met");
    /* after a barrier only this group runs unsynchronised */
    p->prev_serial =
        LLVMBuildSelect(db, met, serial, LLVMBuildAnd(db, p->prev_serial, serial, ""), "");
    if (independent) { /* since[] grows: it holds every unsynchronised group if it did */
      p->synced = LLVMBuildOr(db, met, p->synced, "");
      p->since[p->n_since++] = first;
    } else { /* a new since[] of this group: complete if the threads met */
      p->synced = met;
      p->since[0] = first, p->n_since = 1;
    }
  } else {
    /* the step's first group: nothing ran before it */
    p->prev_serial = serial;
    p->synced = LLVMConstInt(c->i1, 1, 0);
    p->since[0] = first, p->n_since = 1;
  }
  /* a serial group runs on thread 0 with (tid, nthreads) = (0, 1) */
  LLVMBasicBlockRef run = LLVMAppendBasicBlockInContext(c->ctx, p->fn, "run");
  LLVMBasicBlockRef after = LLVMAppendBasicBlockInContext(c->ctx, p->fn, "next");
  LLVMBuildCondBr(db, LLVMBuildOr(db, LLVMBuildNot(db, serial, ""), p->is_first, ""), run, after);
  LLVMPositionBuilderAtEnd(db, run);
  /* call it with every buffer address */
  LLVMValueRef args[64 + CG_GROUP_EXTRA_ARGS];
  for (int k = 0; k < c->n_args; k++) {
    const nnc_node *a = &g->nodes[c->arg_node[k]];
    LLVMValueRef idx = LLVMConstInt(c->i64, (unsigned long long)a->region, 0);
    LLVMValueRef slot = LLVMBuildGEP2(db, c->ptr, regions, &idx, 1, "");
    LLVMValueRef base = LLVMBuildLoad2(db, c->ptr, slot, "");
    LLVMValueRef off = LLVMConstInt(c->i64, (unsigned long long)a->offset, 0);
    if (a->region == NNC_REGION_BATCH) off = LLVMBuildMul(db, off, rows, "");
    args[k] = LLVMBuildGEP2(db, c->f32, base, &off, 1, "");
  }
  for (int k = 0; k < 3; k++) args[c->n_args + k] = LLVMGetParam(p->fn, ARG_SCALARS + k);
  args[c->n_args + 3] = LLVMBuildSelect(db, serial, LLVMConstInt(c->i64, 0, 0), tid, "");
  args[c->n_args + 4] = LLVMBuildSelect(db, serial, LLVMConstInt(c->i64, 1, 0), nthreads, "");
  args[c->n_args + 5] = group_claims(c, db, first, p->pool);
  args[c->n_args + 6] = p->scratch;
  LLVMBuildCall2(db, LLVMGlobalGetValueType(fn), fn, args,
                 (unsigned)c->n_args + CG_GROUP_EXTRA_ARGS, "");
  LLVMBuildBr(db, after);
  LLVMPositionBuilderAtEnd(db, after);
  p->n_groups++;
}

/* barrier_ctx if it is nnc's pool (runtime/pool.h: its first word is
 * POOL_TAG), else NULL: a step called with another context (a test's
 * pthread barrier, a program's own) keeps every thread to its static
 * strips and writes nothing there. */
static LLVMValueRef pool_of(cg *c, part *p) {
  LLVMBuilderRef b = p->b;
  LLVMTypeRef i8p = LLVMPointerType(LLVMInt8TypeInContext(c->ctx), 0);
  LLVMValueRef ctx = LLVMGetParam(p->fn, ARG_CTX), none = LLVMConstNull(i8p);
  LLVMBasicBlockRef entry = LLVMGetInsertBlock(b);
  LLVMBasicBlockRef look = LLVMAppendBasicBlockInContext(c->ctx, p->fn, "pool_tag");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(c->ctx, p->fn, "pool_known");
  LLVMBuildCondBr(b, LLVMBuildIsNull(b, ctx, ""), done, look);
  LLVMPositionBuilderAtEnd(b, look);
  LLVMValueRef tag =
      LLVMBuildLoad2(b, c->i64, LLVMBuildBitCast(b, ctx, LLVMPointerType(c->i64, 0), ""), "");
  LLVMValueRef is_pool = LLVMBuildICmp(b, LLVMIntEQ, tag, LLVMConstInt(c->i64, POOL_TAG, 0), "");
  LLVMValueRef found = LLVMBuildSelect(b, is_pool, ctx, none, "");
  LLVMBuildBr(b, done);
  LLVMPositionBuilderAtEnd(b, done);
  LLVMValueRef pool = LLVMBuildPhi(b, i8p, "pool");
  LLVMValueRef from[2] = {none, found};
  LLVMBasicBlockRef in[2] = {entry, look};
  LLVMAddIncoming(pool, from, in, 2);
  return pool;
}

/* This thread's slice of the scratch region: regions[NNC_REGION_SCRATCH] +
 * tid x the graph's scratch floats per thread, read from its constant
 * (known once every group is emitted: cg_emit_graph sets it last). */
static LLVMValueRef scratch_slice(cg *c, part *p, LLVMValueRef per_thread) {
  LLVMBuilderRef b = p->b;
  LLVMValueRef idx = LLVMConstInt(c->i64, NNC_REGION_SCRATCH, 0);
  LLVMValueRef slot = LLVMBuildGEP2(b, c->ptr, LLVMGetParam(p->fn, ARG_REGIONS), &idx, 1, "");
  LLVMValueRef base = LLVMBuildLoad2(b, c->ptr, slot, "scratch_region");
  LLVMValueRef floats = LLVMBuildLoad2(b, c->i64, per_thread, "");
  LLVMValueRef off = LLVMBuildMul(b, LLVMGetParam(p->fn, ARG_TID), floats, "");
  return LLVMBuildGEP2(b, c->f32, base, &off, 1, "scratch");
}

/* Start part number k of graph g: an internal function kept out of line
 * (inlined back, the driver would be one huge function again). */
static void part_begin(cg *c, part *p, LLVMTypeRef type, int k, LLVMValueRef per_thread) {
  char name[64];
  snprintf(name, sizeof name, "nnc_%s_part%d", c->g->name, k);
  p->fn = LLVMAddFunction(c->mod, name, type);
  LLVMSetLinkage(p->fn, LLVMInternalLinkage);
  LLVMAddAttributeAtIndex(
      p->fn, (unsigned)LLVMAttributeFunctionIndex,
      LLVMCreateEnumAttribute(c->ctx, LLVMGetEnumAttributeKindForName("noinline", 8), 0));
  LLVMPositionBuilderAtEnd(p->b, LLVMAppendBasicBlockInContext(c->ctx, p->fn, "entry"));
  p->is_first =
      LLVMBuildICmp(p->b, LLVMIntEQ, LLVMGetParam(p->fn, ARG_TID), LLVMConstInt(c->i64, 0, 0), "");
  p->prev_serial = k == 0 ? NULL : LLVMGetParam(p->fn, N_DRIVER_ARGS);
  if (c->strip_steal) p->pool = pool_of(c, p);
  p->scratch = scratch_slice(c, p, per_thread);
  /* a part after the first does not know the groups before it: since[] is
   * empty, so its first group is not skipped for */
  p->synced = LLVMConstInt(c->i1, 0, 0);
  p->n_since = 0;
  p->n_groups = 0;
}

/* End the open part and call it from the driver; returns its result (i1). */
static LLVMValueRef part_end(cg *c, part *p, LLVMValueRef driver, LLVMBuilderRef top,
                             LLVMValueRef prev) {
  LLVMBuildRet(p->b, p->prev_serial ? p->prev_serial : LLVMConstInt(c->i1, 0, 0));
  LLVMValueRef args[N_DRIVER_ARGS + 1];
  for (int k = 0; k < N_DRIVER_ARGS; k++) args[k] = LLVMGetParam(driver, (unsigned)k);
  args[N_DRIVER_ARGS] = prev;
  LLVMValueRef r =
      LLVMBuildCall2(top, LLVMGlobalGetValueType(p->fn), p->fn, args, N_DRIVER_ARGS + 1, "");
  p->fn = NULL;
  return r;
}

/* The driver of one graph, run by every thread of the pool. */
int cg_emit_graph(cg *c, const nnc_graph *g, const nnc_program *prog) {
  c->g = g;
  c->prog = prog;
  /* NNC_STRIP_STEAL=1: matmul groups take their column strips by claims */
  const char *steal = getenv("NNC_STRIP_STEAL");
  c->strip_steal = !steal || strcmp(steal, "0"); /* unset: on (session 18) */
  c->claim_slots = 0;
  c->scratch_max = 0;
  c->value = nnc_calloc((size_t)g->n + 1, sizeof *c->value, c->st);
  c->arg_node = nnc_calloc(CG_MAX_ARGS + 1, sizeof *c->arg_node, c->st);
  c->arg_ptr = nnc_calloc(64 + 1, sizeof *c->arg_ptr, c->st);
  if (!c->value || !c->arg_node || !c->arg_ptr) goto fail;

  LLVMTypeRef pptr = LLVMPointerType(c->ptr, 0);
  LLVMTypeRef i8p = LLVMPointerType(LLVMInt8TypeInContext(c->ctx), 0);
  LLVMTypeRef barrier_type = LLVMFunctionType(c->void_t, &i8p, 1, 0);
  LLVMTypeRef params[N_DRIVER_ARGS + 1] = {
      pptr, c->ptr, c->i64, c->i64, c->i64, c->i64, LLVMPointerType(barrier_type, 0), i8p, c->i1};
  LLVMTypeRef part_type = LLVMFunctionType(c->i1, params, N_DRIVER_ARGS + 1, 0);
  char name[64];
  snprintf(name, sizeof name, "nnc_%s_step", g->name);
  LLVMValueRef driver =
      LLVMAddFunction(c->mod, name, LLVMFunctionType(c->void_t, params, N_DRIVER_ARGS, 0));
  /* the scratch each thread needs: a constant of each part's module
   * (module_split.c copies globals into both) */
  snprintf(name, sizeof name, "nnc_%s_scratch", g->name);
  LLVMValueRef per_thread = LLVMAddGlobal(c->mod, c->i64, name);
  LLVMSetGlobalConstant(per_thread, 1);
  LLVMSetLinkage(per_thread, LLVMInternalLinkage);
  LLVMBuilderRef top = LLVMCreateBuilderInContext(c->ctx);
  LLVMPositionBuilderAtEnd(top, LLVMAppendBasicBlockInContext(c->ctx, driver, "entry"));
  LLVMValueRef fpenv = cg_fpenv_enter(c, top); /* subnormals flushed, as Keras's backends */
  part p = {.b = LLVMCreateBuilderInContext(c->ctx)};
  LLVMValueRef prev = LLVMConstInt(c->i1, 0, 0); /* the last part's result */
  int n_parts = 0, rc = NNC_OK;

  for (int i = 0; i < g->n;) {
    if (g->nodes[i].group < 0) {
      i++;
      continue;
    }
    int grp = g->nodes[i].group, last = group_last(g, i);
    char fname[96];
    snprintf(fname, sizeof fname, "%s_g%d_%s", g->name, grp, op_name(g->nodes[i].op));
    LLVMValueRef fn = cg_emit_shared_group(c, i, last, fname);
    if (!fn) {
      rc = NNC_ERR_INTERNAL;
      break;
    }
    if (p.fn && p.n_groups == PART_GROUPS) prev = part_end(c, &p, driver, top, prev);
    if (!p.fn) part_begin(c, &p, part_type, n_parts++, per_thread);
    call_group(c, &p, i, fn, barrier_type);
    i = last + 1;
  }
  if (!rc && p.fn) part_end(c, &p, driver, top, prev);
  LLVMValueRef floats = LLVMConstInt(c->i64, (unsigned long long)c->scratch_max, 0);
  LLVMSetInitializer(per_thread, floats);
  /* int64_t nnc_<graph>_scratch_floats(void): the same number for the JIT's
   * table (jit.c), in the object that a cache hit links too */
  cg_fpenv_leave(c, top, fpenv);
  LLVMBuildRetVoid(top);
  snprintf(name, sizeof name, "nnc_%s_scratch_floats", g->name);
  LLVMValueRef getter = LLVMAddFunction(c->mod, name, LLVMFunctionType(c->i64, NULL, 0, 0));
  LLVMPositionBuilderAtEnd(top, LLVMAppendBasicBlockInContext(c->ctx, getter, "entry"));
  LLVMBuildRet(top, floats);
  LLVMDisposeBuilder(top);
  LLVMDisposeBuilder(p.b);
  if (rc) goto fail;
  free(c->value);
  free(c->arg_node);
  free(c->arg_ptr);
  return NNC_OK;
fail:
  free(c->value);
  free(c->arg_node);
  free(c->arg_ptr);
  if (c->st->code == NNC_OK) nnc_fail(c->st, NNC_ERR_INTERNAL, "codegen failed");
  return c->st->code;
}
