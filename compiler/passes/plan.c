/* Memory planning: every value read outside its group (and every anchor:
 * matmul, row op, reduction) gets a buffer in the fixed workspace or, when it
 * has a batch dimension, in the batch workspace measured in floats per row.
 * Buffers are reused first-fit once their last reader has run, so a step
 * needs one allocation made before training, and none during it. */
#include <stdlib.h>

#include "compiler/passes/arena.h"
#include "compiler/passes/passes.h"
#include "base/base.h"

static int needs_buffer(const nnc_graph *g, int id, const int *last_use_group, int all) {
  const nnc_node *n = &g->nodes[id];
  nnc_op_class c = op_class(n->op);
  if (c == NNC_CLASS_SOURCE || c == NNC_CLASS_EFFECT || n->group < 0) return 0;
  if (c != NNC_CLASS_ELEMENTWISE || all) return 1; /* anchors compute into memory */
  return last_use_group[id] > n->group;
}

static void place_source(nnc_node *n, const nnc_program *prog) {
  switch (n->op) {
  case NNC_OP_INPUT:
    n->region = NNC_REGION_IO + (int)n->params.index; /* input k, then targets */
    n->offset = 0;
    break;
  case NNC_OP_PARAM:
    n->region = NNC_REGION_PARAMS;
    n->offset = prog->params[n->params.index].offset;
    break;
  case NNC_OP_SLOT:
    n->region = NNC_REGION_SLOTS;
    n->offset = prog->slots[n->params.index].offset;
    break;
  case NNC_OP_STAT:
    n->region = NNC_REGION_STATS;
    n->offset = n->params.index;
    break;
  case NNC_OP_OUTPUT:
    n->region = NNC_REGION_IO + prog->n_inputs + prog->n_targets + (int)n->params.index;
    n->offset = 0;
    break;
  default:
    break;
  }
}

/* Floats a buffer takes in its region. A fixed-region buffer starts on a
 * cache line (16 floats; the region's base is line-aligned, runtime/step.c)
 * and takes whole lines: the kernels split a weight-shaped product among
 * threads by column strips of whole lines, and a line holding two threads'
 * columns of every row moved between the cores at each write (W3's first
 * dW on two threads: 197 us against 30 on one; docs/performance.md,
 * "Session 21"). Batch buffers are split by rows: one shared line at most. */
static int64_t placed_floats(int region, const nnc_node *n) {
  int64_t size = shape_inner(&n->shape);
  return region == NNC_REGION_FIXED ? nnc_floats_on_lines(size) : size;
}

/* all: every computed value gets a buffer of its own, appended (no reuse) */
static int plan(nnc_graph *g, const nnc_program *prog, int all, nnc_status *st) {
  int *last_use = nnc_calloc((size_t)g->n + 1, sizeof *last_use, st);
  /* buffers by the group after which they die: first_dying[group + 1], next_dying[node] */
  int *first_dying = nnc_calloc((size_t)g->n_groups + 2, sizeof *first_dying, st);
  int *next_dying = nnc_calloc((size_t)g->n + 1, sizeof *next_dying, st);
  arena batch = {0}, fixed = {0};
  int rc = NNC_OK;
  if (!last_use || !first_dying || !next_dying) {
    rc = st->code;
    goto done;
  }
  for (int i = 0; i < g->n; i++) last_use[i] = g->nodes[i].group;
  for (int i = 0; i < g->n; i++)
    for (int k = 0; k < g->nodes[i].n_in; k++) {
      int a = g->nodes[i].in[k];
      if (g->nodes[i].group > last_use[a]) last_use[a] = g->nodes[i].group;
    }
  for (int i = 0; i <= g->n_groups + 1; i++) first_dying[i] = -1;
  int released = 0; /* buckets whose buffers have been released */
  g->fixed_floats = g->batch_floats_per_row = 0;
  for (int i = 0; i < g->n && !rc; i++) {
    nnc_node *n = &g->nodes[i];
    n->region = -1;
    place_source(n, prog);
    if (!needs_buffer(g, i, last_use, all)) continue;
    /* release buffers whose last reader ran in an earlier group (groups
     * increase in node order) */
    for (; released <= n->group && !rc; released++)
      for (int j = first_dying[released]; j >= 0 && !rc; j = next_dying[j]) {
        const nnc_node *d = &g->nodes[j];
        rc = arena_release(d->region == NNC_REGION_BATCH ? &batch : &fixed, d->offset,
                           placed_floats(d->region, d), st);
      }
    int region = n->shape.batched ? NNC_REGION_BATCH : NNC_REGION_FIXED;
    int64_t size = placed_floats(region, n);
    n->region = region;
    if (all) { /* a buffer of its own, after every other one: never released */
      n->offset = region == NNC_REGION_BATCH ? g->batch_floats_per_row : g->fixed_floats;
    } else {
      n->offset = arena_place(region == NNC_REGION_BATCH ? &batch : &fixed, size);
      next_dying[i] = first_dying[last_use[i] + 1];
      first_dying[last_use[i] + 1] = i;
    }
    int64_t end = n->offset + size;
    if (region == NNC_REGION_BATCH && end > g->batch_floats_per_row) g->batch_floats_per_row = end;
    if (region == NNC_REGION_FIXED && end > g->fixed_floats) g->fixed_floats = end;
  }
done:
  free(last_use);
  free(first_dying);
  free(next_dying);
  arena_free(&batch);
  arena_free(&fixed);
  return rc;
}

int pass_plan_memory_for(nnc_graph *g, const nnc_program *prog, nnc_status *st) {
  return plan(g, prog, 0, st);
}

int pass_plan_memory_all(nnc_graph *g, const nnc_program *prog, nnc_status *st) {
  return plan(g, prog, 1, st);
}
