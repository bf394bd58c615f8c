/* Fusion: contiguous runs of elementwise nodes over one iteration space
 * become one group, emitted as one loop; a run that directly follows a
 * matmul, row op or reduction of the same output space becomes that op's
 * epilogue (bias add + activation after the matmul, the optimizer update
 * after a weight gradient). Groups are contiguous in node order, so the
 * group order is a valid schedule and fusion can never create a cycle. */
#include <stdlib.h>
#include <string.h>

#include "compiler/passes/passes.h"
#include "base/base.h"

static int is_source(const nnc_node *n) {
  return op_class(n->op) == NNC_CLASS_SOURCE;
}

static int is_elementwise(const nnc_node *n) {
  nnc_op_class c = op_class(n->op);
  return c == NNC_CLASS_ELEMENTWISE || c == NNC_CLASS_EFFECT;
}

/* The iteration space of an elementwise node: its output, or for ASSIGN the target. */
static void space_of(const nnc_graph *g, const nnc_node *n, int *batched, int64_t *inner) {
  const nnc_shape *s = &n->shape;
  if (n->op == NNC_OP_ASSIGN) s = &g->nodes[n->in[0]].shape;
  *batched = s->batched;
  *inner = shape_inner(s);
}

/* The buffers node n adds to group: itself and each input made outside the
 * group that the group has not counted yet (an over-count: some of them will
 * be inline constants or values that never leave the group). */
static int new_buffers(const nnc_graph *g, const nnc_node *n, int group, const int *counted_in) {
  int more = 1;
  for (int k = 0; k < n->n_in; k++) {
    int a = n->in[k];
    if (g->nodes[a].group != group && counted_in[a] != group) more++;
  }
  return more;
}

static void count_buffers(const nnc_graph *g, const nnc_node *n, int group, int *counted_in) {
  for (int k = 0; k < n->n_in; k++)
    if (g->nodes[n->in[k]].group != group) counted_in[n->in[k]] = group;
}

/* NNC_FUSE_ONE_ELEMENT=0: a scalar read of a value made in the group never
 * joins, even where the group's space is one element */
static int one_element_on(void) {
  const char *e = getenv("NNC_FUSE_ONE_ELEMENT");
  return !(e && !strcmp(e, "0"));
}

int pass_fuse(nnc_graph *g, nnc_status *st) {
  int group = -1, group_batched = 0, group_buffers = 0, last_tile = 0;
  int64_t group_inner = -1;
  /* counted_in[a] = the last group that counted a as an input buffer */
  int *counted_in = nnc_calloc((size_t)g->n + 1, sizeof *counted_in, st);
  if (!counted_in) return st->code;
  for (int i = 0; i < g->n; i++) counted_in[i] = -1;
  for (int i = 0; i < g->n; i++) {
    nnc_node *n = &g->nodes[i];
    n->group = -1;
    if (n->dead || is_source(n)) continue;
    int batched;
    int64_t inner;
    space_of(g, n, &batched, &inner);
    int joins = 0;
    if (is_elementwise(n) && group >= 0 && batched == group_batched && inner == group_inner) {
      joins = 1;
      /* a value made in this group can only be read at the same index: in a
       * space of one element (a scalar, a Dense(1)'s bias) its only one */
      int one = !batched && inner == 1 && one_element_on();
      for (int k = 0; k < n->n_in; k++) {
        const nnc_node *a = &g->nodes[n->in[k]];
        if (a->group == group && n->bcast[k] != NNC_BCAST_FULL &&
            !(one && n->bcast[k] == NNC_BCAST_SCALAR))
          joins = 0;
        if (a->group == group && n->op == NNC_OP_BROADCAST && k == 0) joins = 0;
      }
    }
    /* a long run (a loss term per output of a 300-output model) splits before
     * its kernel would take more buffers than codegen allows */
    if (joins && group_buffers + new_buffers(g, n, group, counted_in) > NNC_GROUP_MAX_BUFFERS)
      joins = 0;
    /* a conv's tile chain (conv_epilogue.c) stays with its conv, and the
     * group ends with it: the tile computes the chain, nothing else */
    if (n->flags & NNC_NODE_TILE)
      joins = group >= 0 && i > 0 && g->nodes[i - 1].group == group;
    else if (last_tile)
      joins = 0;
    last_tile = (n->flags & NNC_NODE_TILE) != 0; /* sources between do not count */
    if (!joins) {
      group++;
      group_batched = batched;
      group_inner = inner;
      group_buffers = 0;
    }
    group_buffers += new_buffers(g, n, group, counted_in);
    count_buffers(g, n, group, counted_in);
    n->group = group;
  }
  g->n_groups = group + 1;
  free(counted_in);
  return NNC_OK;
}

int pass_fuse_none(nnc_graph *g, nnc_status *st) {
  int group = 0;
  for (int i = 0; i < g->n; i++) {
    nnc_node *n = &g->nodes[i];
    n->group = n->dead || is_source(n) ? -1 : group++;
  }
  g->n_groups = group;
  (void)st;
  return NNC_OK;
}
