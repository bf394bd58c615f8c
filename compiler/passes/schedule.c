/* Scheduling for fusion (train graphs, before pass_fuse; NNC_FUSE_SCHEDULE=1,
 * off by default).
 *
 * The optimizer appends its update after the whole backward pass: first the
 * scalars every update reads (Adam's 1 - beta^t, the learning rate's
 * factor), then one chain per parameter. pass_fuse groups contiguous runs,
 * so only the update that happens to follow its gradient becomes that
 * group's epilogue; the others, and the scalars, are kernels of their own.
 * This pass moves nodes, never changes one:
 *
 * - The step scalars: update nodes of one element whose operands are
 *   sources (t, lr, constants, slots) or such scalars, go to the graph's
 *   start, a cheap elementwise kernel of their own.
 * - Update units: the connected update nodes of one parameter (its moments,
 *   the assigns) with the gradient's producer when that is a matmul or a
 *   reduction read only by the unit. A unit goes after the last node it
 *   depends on -- its operands, and every read of a value it assigns (dX's
 *   matmul reads the kernel) -- and then on to the next node that starts a
 *   group (not elementwise), so that it never splits a run: the input
 *   gradient's matmul keeps the activation's derivative that follows it.
 *   A unit whose first node is elementwise and whose last dependency has the
 *   same iteration space goes right after it, as its epilogue.
 *
 * Sources move to just before their first reader. The new order is checked
 * before it replaces the old: every operand before its reader, and every
 * read of a param or slot on the same side of each assign to it as before;
 * if the check fails the graph keeps its order (the order is only a matter
 * of speed). The same nodes compute the same values in the same float
 * operations, so results are bit-identical.
 *
 * Why off: the Fashion-MNIST MLP's train graph goes from 23 groups to 18,
 * but each update that joins a matmul or reduction is compiled at that
 * kernel's full code-generation level instead of as a cheap elementwise
 * kernel: the cold compile took 5-8 % more instructions and CPU, and no
 * workload ran measurably faster (docs/performance.md, "Session 20: fewer
 * kernels"). */
#include <stdlib.h>
#include <string.h>

#include "compiler/passes/passes.h"
#include "base/base.h"

typedef struct sched {
  nnc_graph *g;
  int n;
  int *ustart, *ulist; /* users of a: ulist[ustart[a] .. ustart[a + 1]) */
  int *in_h;           /* 1: a step scalar */
  int *unit;           /* the unit's root (union-find), or -1 */
  int *movable;        /* by root: 1 if nothing outside reads the unit */
} sched;

static int is_source(const nnc_node *n) {
  return op_class(n->op) == NNC_CLASS_SOURCE;
}

static int is_flat(const nnc_node *n) {
  nnc_op_class c = op_class(n->op);
  return c == NNC_CLASS_ELEMENTWISE || c == NNC_CLASS_EFFECT;
}

static int is_assign(const nnc_node *n) {
  return n->op == NNC_OP_ASSIGN || n->op == NNC_OP_TRAIN_ASSIGN;
}

/* the iteration space, as pass_fuse sees it */
static void space_of(const nnc_graph *g, const nnc_node *n, int *batched, int64_t *inner) {
  const nnc_shape *s = n->op == NNC_OP_ASSIGN ? &g->nodes[n->in[0]].shape : &n->shape;
  *batched = s->batched;
  *inner = shape_inner(s);
}

static int same_space(const nnc_graph *g, const nnc_node *a, const nnc_node *b) {
  int ba, bb;
  int64_t ia, ib;
  space_of(g, a, &ba, &ia);
  space_of(g, b, &bb, &ib);
  return ba == bb && ia == ib;
}

static int scalar_space(const nnc_graph *g, const nnc_node *n) {
  int b;
  int64_t inner;
  space_of(g, n, &b, &inner);
  return !b && inner == 1;
}

static int find(int *parent, int a) {
  while (parent[a] != a) a = parent[a] = parent[parent[a]];
  return a;
}

static int users_make(sched *s, nnc_status *st) {
  const nnc_graph *g = s->g;
  int edges = 0;
  for (int i = 0; i < s->n; i++) edges += g->nodes[i].dead ? 0 : g->nodes[i].n_in;
  s->ustart = nnc_calloc((size_t)s->n + 2, sizeof *s->ustart, st);
  s->ulist = nnc_calloc((size_t)edges + 1, sizeof *s->ulist, st);
  if (!s->ustart || !s->ulist) return st->code;
  for (int i = 0; i < s->n; i++)
    if (!g->nodes[i].dead)
      for (int k = 0; k < g->nodes[i].n_in; k++) s->ustart[g->nodes[i].in[k] + 2]++;
  for (int i = 0; i < s->n; i++) s->ustart[i + 2] += s->ustart[i + 1];
  for (int i = 0; i < s->n; i++)
    if (!g->nodes[i].dead)
      for (int k = 0; k < g->nodes[i].n_in; k++) s->ulist[s->ustart[g->nodes[i].in[k] + 1]++] = i;
  return NNC_OK;
}

/* The step scalars (in_h). */
static void mark_scalars(sched *s) {
  const nnc_graph *g = s->g;
  for (int i = 0; i < s->n; i++) {
    const nnc_node *n = &g->nodes[i];
    if (n->dead || !(n->flags & NNC_NODE_UPDATE) || op_class(n->op) != NNC_CLASS_ELEMENTWISE ||
        (n->flags & NNC_NODE_TILE) || !scalar_space(g, n))
      continue;
    int ok = 1;
    for (int k = 0; k < n->n_in && ok; k++)
      ok = is_source(&g->nodes[n->in[k]]) || s->in_h[n->in[k]];
    s->in_h[i] = ok;
  }
}

/* The update units: unit[i] = root, movable[root]. */
static void mark_units(sched *s) {
  const nnc_graph *g = s->g;
  int *parent = s->unit;
  for (int i = 0; i < s->n; i++) {
    const nnc_node *n = &g->nodes[i];
    parent[i] = -1;
    if (!n->dead && !is_source(n) && (n->flags & NNC_NODE_UPDATE) && !s->in_h[i]) parent[i] = i;
  }
  for (int i = 0; i < s->n; i++) {
    if (parent[i] < 0) continue;
    const nnc_node *n = &g->nodes[i];
    for (int k = 0; k < n->n_in; k++)
      if (parent[n->in[k]] >= 0) parent[find(parent, n->in[k])] = find(parent, i);
  }
  /* the gradient's producer joins when the unit alone reads it */
  for (int i = 0; i < s->n; i++) {
    const nnc_node *n = &g->nodes[i];
    nnc_op_class c = op_class(n->op);
    if (n->dead || parent[i] >= 0 || (c != NNC_CLASS_MATMUL && c != NNC_CLASS_REDUCE) ||
        (n->flags & NNC_NODE_TILE))
      continue;
    int root = -1, ok = s->ustart[i] < s->ustart[i + 1];
    for (int j = s->ustart[i]; j < s->ustart[i + 1] && ok; j++) {
      int u = s->ulist[j];
      if (parent[u] < 0)
        ok = 0;
      else if (root < 0)
        root = find(parent, u);
      else
        ok = find(parent, u) == root;
    }
    if (ok) parent[i] = root;
  }
  for (int i = 0; i < s->n; i++)
    if (parent[i] >= 0) parent[i] = find(parent, i);
  for (int i = 0; i < s->n; i++) s->movable[i] = parent[i] == i;
  for (int i = 0; i < s->n; i++) {
    if (parent[i] < 0) continue;
    for (int j = s->ustart[i]; j < s->ustart[i + 1]; j++)
      if (parent[s->ulist[j]] != parent[i]) s->movable[parent[i]] = 0;
  }
}

/* 1 if order (every live node once) keeps operands before readers and each
 * param or slot read on the same side of each assign to it as in g. */
static int order_valid(const sched *s, const int *order, int count, int *pos) {
  const nnc_graph *g = s->g;
  for (int i = 0; i < s->n; i++) pos[i] = -1;
  for (int p = 0; p < count; p++) {
    if (pos[order[p]] >= 0) return 0;
    pos[order[p]] = p;
  }
  for (int i = 0; i < s->n; i++) {
    const nnc_node *n = &g->nodes[i];
    if (n->dead) continue;
    if (pos[i] < 0) return 0;
    for (int k = 0; k < n->n_in; k++)
      if (pos[n->in[k]] < 0 || pos[n->in[k]] >= pos[i]) return 0;
    if (!is_assign(n)) continue;
    int x = n->in[0]; /* every other access of x: its readers, other assigns */
    for (int j = s->ustart[x]; j < s->ustart[x + 1]; j++) {
      int r = s->ulist[j];
      if (r != i && (r < i) != (pos[r] < pos[i])) return 0;
    }
  }
  return 1;
}

/* The new order into order (count: the live nodes); 0 if there is none. */
static int cmp_key(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static int build_order(sched *s, int *order, int *count, int *base, int *bpos, int *ins, int *seq,
                       int64_t *keys) {
  const nnc_graph *g = s->g;
  int nb = 0;
  for (int i = 0; i < s->n; i++) {
    bpos[i] = -1;
    if (g->nodes[i].dead || s->in_h[i] || (s->unit[i] >= 0 && s->movable[s->unit[i]])) continue;
    bpos[i] = nb;
    base[nb++] = i;
  }
  /* each movable unit's last dependency in base (e), its first node (first) */
  int *e = ins, *first = seq + s->n + 1; /* seq's second half is free until the end */
  for (int r = 0; r < s->n; r++) e[r] = -1, first[r] = -1;
  for (int i = 0; i < s->n; i++) {
    int r = s->unit[i];
    if (r < 0 || !s->movable[r]) continue;
    if (first[r] < 0) first[r] = i;
    const nnc_node *n = &g->nodes[i];
    for (int k = 0; k < n->n_in; k++) {
      int a = n->in[k];
      if (is_source(&g->nodes[a]) || s->in_h[a] || s->unit[a] == r) continue;
      if (bpos[a] < 0) return 0; /* another unit's: not expected */
      if (bpos[a] > e[r]) e[r] = bpos[a];
    }
    if (!is_assign(n)) continue;
    for (int j = s->ustart[n->in[0]]; j < s->ustart[n->in[0] + 1]; j++) {
      int rd = s->ulist[j];
      if (s->unit[rd] == r || s->in_h[rd]) continue;
      if (bpos[rd] < 0) return 0;
      if (bpos[rd] > e[r]) e[r] = bpos[rd];
    }
  }
  /* ... and its place: before base[ins[r]] */
  for (int r = 0; r < s->n; r++) {
    if (first[r] < 0) continue;
    int p = e[r] + 1;
    const nnc_node *f = &g->nodes[first[r]];
    if (!(e[r] >= 0 && is_flat(f) && same_space(g, &g->nodes[base[e[r]]], f)))
      while (p < nb && (is_source(&g->nodes[base[p]]) || is_flat(&g->nodes[base[p]]))) p++;
    ins[r] = p; /* e[r] is read no more */
  }
  /* base with the units in: by place, units by their first node, nodes in g's order */
  int64_t span = s->n + 1, units = 0;
  for (int i = 0; i < s->n; i++)
    if (s->unit[i] >= 0 && s->movable[s->unit[i]])
      keys[units++] = ((int64_t)ins[s->unit[i]] * span + first[s->unit[i]]) * span + i;
  qsort(keys, (size_t)units, sizeof *keys, cmp_key);
  int m = 0, u = 0;
  for (int p = 0; p <= nb; p++) {
    while (u < units && keys[u] / span / span == p) seq[m++] = (int)(keys[u++] % span);
    if (p < nb) seq[m++] = base[p];
  }
  /* the step scalars first: a cheap kernel of their own (at the end of a
   * reduction's group they cost more code generation than that kernel) */
  int at = 0;
  /* the sequence with the scalars in, each source just before its first reader */
  int *emitted = bpos; /* reused: base positions are no longer needed */
  for (int i = 0; i < s->n; i++) emitted[i] = 0;
  int c = 0;
  for (int q = 0; q <= m; q++) {
    int to = 0;
    if (q == at)
      for (int i = 0; i < s->n; i++)
        if (s->in_h[i]) seq[m + 1 + to++] = i; /* the scalars, then seq[q] */
    if (q < m) seq[m + 1 + to++] = seq[q];
    for (int t = 0; t < to; t++) {
      int id = seq[m + 1 + t];
      if (emitted[id]) continue;
      const nnc_node *n = &g->nodes[id];
      for (int k = 0; k < n->n_in; k++) {
        int a = n->in[k];
        if (is_source(&g->nodes[a]) && !emitted[a]) order[c++] = a, emitted[a] = 1;
      }
      order[c++] = id;
      emitted[id] = 1;
    }
  }
  *count = c;
  return 1;
}

static int reorder(nnc_graph *g, const int *order, int count, int *map, nnc_status *st) {
  nnc_node *nodes = nnc_calloc((size_t)g->cap + 1, sizeof *nodes, st);
  if (!nodes) return st->code;
  for (int i = 0; i < g->n; i++) map[i] = -1;
  for (int p = 0; p < count; p++) {
    map[order[p]] = p;
    nodes[p] = g->nodes[order[p]];
    for (int k = 0; k < nodes[p].n_in; k++) nodes[p].in[k] = map[nodes[p].in[k]];
  }
  if (g->loss >= 0) g->loss = map[g->loss];
  free(g->nodes);
  g->nodes = nodes;
  g->n = count;
  return NNC_OK;
}

int pass_schedule(nnc_graph *g, nnc_status *st) {
  const char *env = getenv("NNC_FUSE_SCHEDULE");
  if (!env || strcmp(env, "1")) return NNC_OK; /* off by default: see the top */
  sched s = {g, g->n, NULL, NULL, NULL, NULL, NULL};
  size_t n = (size_t)g->n + 2;
  int rc = users_make(&s, st);
  s.in_h = nnc_calloc(n, sizeof *s.in_h, st);
  s.unit = nnc_calloc(n, sizeof *s.unit, st);
  s.movable = nnc_calloc(n, sizeof *s.movable, st);
  int *order = nnc_calloc(n, sizeof *order, st), *base = nnc_calloc(n, sizeof *base, st);
  int *bpos = nnc_calloc(n, sizeof *bpos, st), *ins = nnc_calloc(n, sizeof *ins, st);
  int *seq = nnc_calloc(2 * n + 1, sizeof *seq, st);
  int64_t *keys = nnc_calloc(n, sizeof *keys, st);
  if (rc || !keys || !s.in_h || !s.unit || !s.movable || !order || !base || !bpos || !ins || !seq) {
    rc = st->code;
    goto done;
  }
  mark_scalars(&s);
  mark_units(&s);
  int count = 0;
  if (build_order(&s, order, &count, base, bpos, ins, seq, keys) &&
      order_valid(&s, order, count, bpos))
    rc = reorder(g, order, count, bpos, st);
done:
  free(s.ustart);
  free(s.ulist);
  free(s.in_h);
  free(s.unit);
  free(s.movable);
  free(order);
  free(base);
  free(bpos);
  free(ins);
  free(seq);
  free(keys);
  return rc;
}
