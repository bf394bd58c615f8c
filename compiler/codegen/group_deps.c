/* The driver skips the barrier before a group that depends on none of the
 * groups since the last barrier (emit_driver.c). Dependence here is by
 * address, not by node: the planner gives a buffer's storage to later
 * nodes once it is dead (the input gradient of one layer lands where an
 * activation was), so two groups conflict when a range one writes overlaps
 * a range the other reads or writes, in the same region. Batch-region
 * ranges are compared per row: every buffer there starts at offset x rows
 * and spans its row size x rows, so the order and the overlaps do not
 * depend on rows. */
#include "compiler/codegen/group_deps.h"

#include <stdint.h>

#include "base/base.h"

#define MAX_SPANS 64

typedef struct span {
  int region;
  int64_t lo, hi;
} span;

typedef struct spans {
  span rd[MAX_SPANS], wr[MAX_SPANS];
  int n_rd, n_wr;
} spans;

/* The range of node id's storage; 0 if it has none. */
static int node_span(const nnc_graph *g, int id, span *s) {
  const nnc_node *n = &g->nodes[id];
  if (n->region < 0) return 0;
  s->region = n->region;
  s->lo = n->offset;
  s->hi = n->offset + shape_inner(&n->shape);
  /* a batched buffer outside the batch region spans offset + inner x rows:
   * the whole region, to be safe */
  if (n->region != NNC_REGION_BATCH && n->shape.batched) s->lo = 0, s->hi = INT64_MAX;
  return 1;
}

static int add(span *list, int *n, span s) {
  if (*n == MAX_SPANS) return -1;
  list[(*n)++] = s;
  return 0;
}

/* The ranges the group that starts at node first reads and writes; -1 if
 * it holds a node whose accesses are not all buffers of nodes (rows ops,
 * convolutions, recurrences, dropout's masks...). */
static int group_spans(const nnc_graph *g, int first, spans *out) {
  out->n_rd = out->n_wr = 0;
  int grp = g->nodes[first].group;
  for (int i = first; i < g->n && (g->nodes[i].group == grp || g->nodes[i].group < 0); i++) {
    const nnc_node *n = &g->nodes[i];
    if (n->group != grp || n->dead) continue;
    nnc_op_class k = op_class(n->op);
    if (k != NNC_CLASS_ELEMENTWISE && k != NNC_CLASS_REDUCE && k != NNC_CLASS_MATMUL &&
        n->op != NNC_OP_ASSIGN)
      return -1;
    span s;
    if (node_span(g, i, &s) && add(out->wr, &out->n_wr, s)) return -1;
    for (int j = 0; j < n->n_in; j++) {
      const nnc_node *a = &g->nodes[n->in[j]];
      if (a->group == grp && !(n->op == NNC_OP_ASSIGN && j == 0)) continue; /* computed here */
      if (!node_span(g, n->in[j], &s)) {
        if (a->op == NNC_OP_CONST || a->op == NNC_OP_SCALAR) continue; /* a value, no memory */
        return -1;
      }
      if (add(out->rd, &out->n_rd, s)) return -1;
      /* assign writes its first input's storage */
      if (n->op == NNC_OP_ASSIGN && j == 0 && add(out->wr, &out->n_wr, s)) return -1;
    }
  }
  return 0;
}

static int overlap(const span *a, int na, const span *b, int nb) {
  for (int i = 0; i < na; i++)
    for (int j = 0; j < nb; j++)
      if (a[i].region == b[j].region && a[i].lo < b[j].hi && b[j].lo < a[i].hi) return 1;
  return 0;
}

int group_deps_independent(const nnc_graph *g, int a, int b) {
  spans x, y;
  if (group_spans(g, a, &x) || group_spans(g, b, &y)) return 0;
  return !overlap(x.wr, x.n_wr, y.rd, y.n_rd) && !overlap(x.wr, x.n_wr, y.wr, y.n_wr) &&
         !overlap(x.rd, x.n_rd, y.wr, y.n_wr);
}
