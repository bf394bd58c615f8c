/* Convolution epilogues: the per-channel elementwise nodes that follow a
 * CONV -- its bias add, in inference graphs a BatchNormalization's scale and
 * shift (x * inv + shift, computed from the moving statistics by other
 * nodes), an activation -- are computed on the conv's accumulator tile in
 * registers before it is stored (compiler/ops/conv_kernel.c), instead of as
 * a second pass over the output.
 *
 * The chain: starting at the conv, each step takes the first consumer (in
 * node order) of the chain's last value that is a UNARY node, or a BINARY
 * add/sub/mul/div/max/min whose other operand is unbatched and read per
 * channel ([Cout]) or as one value, with the conv's output shape. The chain
 * nodes keep their ops, operands and order, so each output element sees the
 * same float operations as the unfused graph: results are bit-identical.
 * A chain value that something else reads (the pre-activation a training
 * graph differentiates through, a batch statistic) is still stored, from the
 * tile. One rewrite saves that store for relu: the derivative
 * step(a) = (a > 0) equals step(relu(a)) for every a (NaN included), so the
 * gradient's step reads the activation instead.
 *
 * The pass marks the chain's nodes NNC_NODE_TILE and moves the conv and its
 * chain next to each other at the place of the chain's last node, which is
 * valid when nothing outside the chain reads a moved value before that place
 * (else the chain is cut shorter). pass_fuse keeps the conv and its marked
 * nodes in one group and ends the group there. */
#include <stdlib.h>
#include <string.h>

#include "compiler/passes/passes.h"
#include "base/base.h"

/* consumers of each node, in node order (CSR) */
typedef struct users {
  int *start, *list;
} users;

static int users_make(const nnc_graph *g, users *u, nnc_status *st) {
  u->start = nnc_calloc((size_t)g->n + 2, sizeof *u->start, st);
  int edges = 0;
  for (int i = 0; i < g->n; i++) edges += g->nodes[i].dead ? 0 : g->nodes[i].n_in;
  u->list = nnc_calloc((size_t)edges + 1, sizeof *u->list, st);
  if (!u->start || !u->list) return st->code;
  for (int i = 0; i < g->n; i++)
    if (!g->nodes[i].dead)
      for (int k = 0; k < g->nodes[i].n_in; k++) u->start[g->nodes[i].in[k] + 2]++;
  for (int i = 0; i < g->n; i++) u->start[i + 2] += u->start[i + 1];
  for (int i = 0; i < g->n; i++)
    if (!g->nodes[i].dead)
      for (int k = 0; k < g->nodes[i].n_in; k++) u->list[u->start[g->nodes[i].in[k] + 1]++] = i;
  return NNC_OK; /* the users of a: list[start[a] .. start[a + 1]) */
}

static int same_shape(const nnc_shape *a, const nnc_shape *b) {
  if (a->batched != b->batched || a->rank != b->rank) return 0;
  for (int k = 0; k < a->rank; k++)
    if (a->dims[k] != b->dims[k]) return 0;
  return 1;
}

static int tile_binary(int fn) {
  return fn == NNC_BIN_ADD || fn == NNC_BIN_SUB || fn == NNC_BIN_MUL || fn == NNC_BIN_DIV ||
         fn == NNC_BIN_MAX || fn == NNC_BIN_MIN;
}

/* the activations a GEMM tile computes on whole vectors (emit_gemm.c:
 * relu as its select, sigmoid and tanh as emit_math.c's vector-safe IR) */
static int dense_unary(int fn) {
  return fn == NNC_FN_RELU || fn == NNC_FN_SIGMOID || fn == NNC_FN_TANH;
}

/* e can be applied to the chain's value `cur` inside the tile */
static int is_step(const nnc_graph *g, int cur, int e, int dense) {
  const nnc_node *n = &g->nodes[e], *v = &g->nodes[cur];
  if (n->dead || n->phase != v->phase || (n->flags & NNC_NODE_UPDATE) ||
      !same_shape(&n->shape, &v->shape))
    return 0;
  if (n->op == NNC_OP_UNARY) return !dense || dense_unary(n->fn);
  if (n->op != NNC_OP_BINARY || !tile_binary(n->fn)) return 0;
  for (int k = 0; k < 2; k++) {
    const nnc_node *a = &g->nodes[n->in[k]];
    if (n->in[k] == cur) {
      if (n->bcast[k] != NNC_BCAST_FULL) return 0;
    } else if (a->shape.batched ||
               (n->bcast[k] != NNC_BCAST_LAST && n->bcast[k] != NNC_BCAST_SCALAR)) {
      return 0;
    }
  }
  return 1;
}

/* A relu's gradient on a Dense tile: e = mul(cur, step(h)) or
 * mul(step(h), cur), step(h) read by e alone and h a value of cur's shape
 * made before the chain (the activation). The tile loads h at the output's
 * index and computes step and mul as the flat loop does (gemm_epi.c 'M'),
 * so the input gradient dy W^T leaves the GEMM already masked instead of
 * being stored, then read, masked and stored again by a pass of its own
 * (the two threads of a split step wrote it by column strips and read it
 * by rows: the lines crossed cores twice). Returns the step node or -1. */
static int relu_grad_step(const nnc_graph *g, const users *u, int cur, int e) {
  const nnc_node *n = &g->nodes[e], *v = &g->nodes[cur];
  if (n->dead || !v->shape.batched || n->phase != v->phase || (n->flags & NNC_NODE_UPDATE) ||
      !same_shape(&n->shape, &v->shape) || n->op != NNC_OP_BINARY || n->fn != NNC_BIN_MUL ||
      n->n_in != 2 || (n->in[0] == cur) == (n->in[1] == cur) || n->bcast[0] != NNC_BCAST_FULL ||
      n->bcast[1] != NNC_BCAST_FULL)
    return -1;
  int s = n->in[0] == cur ? n->in[1] : n->in[0];
  const nnc_node *st = &g->nodes[s];
  if (st->dead || st->op != NNC_OP_UNARY || st->fn != NNC_FN_STEP || st->phase != v->phase ||
      (st->flags & (NNC_NODE_UPDATE | NNC_NODE_TILE)) || st->bcast[0] != NNC_BCAST_FULL ||
      !same_shape(&st->shape, &v->shape) || u->start[s + 1] - u->start[s] != 1)
    return -1;
  const nnc_node *h = &g->nodes[st->in[0]];
  if (st->in[0] >= cur || !same_shape(&h->shape, &v->shape) || h->op == NNC_OP_CONST ||
      h->op == NNC_OP_SCALAR)
    return -1;
  return s;
}

/* the chain of conv c: m[0] = c, m[1..], its length */
static int chain_of(const nnc_graph *g, const users *u, int c, int *m, int dense) {
  int len = 1;
  m[0] = c;
  while (len < NNC_CONV_EPILOGUE_MAX + 1) {
    int cur = m[len - 1], next = -1, step = -1;
    for (int j = u->start[cur]; j < u->start[cur + 1] && next < 0; j++) {
      if (is_step(g, cur, u->list[j], dense))
        next = u->list[j];
      else if (dense && len + 2 <= NNC_CONV_EPILOGUE_MAX + 1 &&
               (step = relu_grad_step(g, u, cur, u->list[j])) >= 0)
        next = u->list[j];
    }
    if (next < 0) break;
    if (step >= 0) m[len++] = step; /* made on the tile just before the mul reads it */
    m[len++] = next;
  }
  return len;
}

/* step(a) of a chain value a whose next step is relu(a) reads relu(a)
 * instead when it comes after the chain's end */
static void step_reads_relu(nnc_graph *g, const users *u, const int *m, int len) {
  for (int j = 1; j + 1 < len; j++) {
    const nnc_node *r = &g->nodes[m[j + 1]];
    if (r->op != NNC_OP_UNARY || r->fn != NNC_FN_RELU) continue;
    for (int k = u->start[m[j]]; k < u->start[m[j] + 1]; k++) {
      nnc_node *s = &g->nodes[u->list[k]];
      if (s->op == NNC_OP_UNARY && s->fn == NNC_FN_STEP && u->list[k] > m[len - 1])
        s->in[0] = m[j + 1];
    }
  }
}

/* m[t] is a relu gradient's step, made on the tile for the mul after it */
static int operand_step(const nnc_graph *g, const int *m, int t) {
  const nnc_node *n = &g->nodes[m[t]];
  return t >= 1 && n->op == NNC_OP_UNARY && n->fn == NNC_FN_STEP && n->in[0] != m[t - 1];
}

/* the longest prefix m[0..t] whose moved values nothing outside reads before m[t]
 * (not ending on a step its mul does not follow) */
static int valid_length(const nnc_graph *g, const users *u, const int *m, int len) {
  for (int t = len - 1; t >= 1; t--) {
    int ok = !operand_step(g, m, t);
    for (int j = 0; j < t && ok; j++)
      for (int k = u->start[m[j]]; k < u->start[m[j] + 1] && ok; k++) {
        const nnc_node *r = &g->nodes[u->list[k]];
        int reader = u->list[k];
        /* the chain's next value reads it (after a step, the mul) */
        int next = j + 2 <= t && operand_step(g, m, j + 1) ? m[j + 2] : m[j + 1];
        if (reader == next || r->dead) continue;
        /* the step rewrite may have redirected a reader: check it still reads */
        int reads = 0;
        for (int q = 0; q < r->n_in; q++) reads |= r->in[q] == m[j];
        if (reads && reader <= m[t]) ok = 0;
      }
    if (ok) return t + 1;
  }
  return 1;
}

/* A matmul's group used to go on after its chain with the elementwise nodes
 * that follow (a loss on a Dense head, a Dropout): the tile chain ends the
 * group there, and those would need a pass of their own and the chain's
 * values stored for it. Such a chain stays in the flat epilogue loop. */
static int group_goes_on(const nnc_graph *g, int tail) {
  const nnc_node *t = &g->nodes[tail];
  for (int i = tail + 1; i < g->n; i++) {
    const nnc_node *n = &g->nodes[i];
    nnc_op_class k = op_class(n->op);
    if (n->dead || k == NNC_CLASS_SOURCE) continue;
    if (k != NNC_CLASS_ELEMENTWISE && k != NNC_CLASS_EFFECT) return 0;
    const nnc_shape *s = n->op == NNC_OP_ASSIGN ? &g->nodes[n->in[0]].shape : &n->shape;
    return s->batched == t->shape.batched && shape_inner(s) == shape_inner(&t->shape);
  }
  return 0;
}

/* A chain without an activation (a linear Dense: the bias add alone) saves
 * only the product's store and reload, and costs a strip function variant
 * of its own (compile time): taken only where its value feeds other matmuls
 * (a linear layer inside a model), not for a head's output. */
static int worth_a_variant(const nnc_graph *g, const users *u, const int *m, int len) {
  for (int j = 1; j < len; j++)
    if (g->nodes[m[j]].op == NNC_OP_UNARY) return 1;
  int tail = m[len - 1];
  for (int k = u->start[tail]; k < u->start[tail + 1]; k++)
    if (g->nodes[u->list[k]].op != NNC_OP_MATMUL && !g->nodes[u->list[k]].dead) return 0;
  return 1;
}

/* Nodes in the new order: a chain's moved nodes go just before its last. */
static int reorder(nnc_graph *g, const int *tail_of, const int *moved, const int *members,
                   const int *chain_at, nnc_status *st) {
  nnc_node *nodes = nnc_calloc((size_t)g->cap + 1, sizeof *nodes, st);
  int *map = nnc_calloc((size_t)g->n + 1, sizeof *map, st);
  if (!nodes || !map) {
    free(nodes);
    free(map);
    return st->code;
  }
  int m = 0;
  for (int i = 0; i < g->n; i++) {
    map[i] = -1;
    if (moved[i] || g->nodes[i].dead) continue; /* dead nodes are dropped, as graph_compact */
    const int *list = &i;                       /* the nodes that go out here */
    int count = 1;
    if (tail_of[i] >= 0) {
      list = members + chain_at[tail_of[i]];
      count = chain_at[tail_of[i] + 1] - chain_at[tail_of[i]];
    }
    for (int k = 0; k < count; k++) {
      int old = list[k];
      map[old] = m;
      nodes[m] = g->nodes[old];
      for (int q = 0; q < nodes[m].n_in; q++) nodes[m].in[q] = map[nodes[m].in[q]];
      m++;
    }
  }
  if (g->loss >= 0) g->loss = map[g->loss];
  free(g->nodes);
  g->nodes = nodes;
  g->n = m;
  free(map);
  return NNC_OK;
}

static int tile_epilogue(nnc_graph *g, int dense, const nnc_graph *follow, nnc_status *st) {
  users u = {0};
  int rc = users_make(g, &u, st);
  int *tail_of = nnc_calloc((size_t)g->n + 1, sizeof *tail_of, st);
  int *moved = nnc_calloc((size_t)g->n + 1, sizeof *moved, st);
  int *members = nnc_calloc((size_t)g->n + 1, sizeof *members, st);
  int *chain_at = nnc_calloc((size_t)g->n + 2, sizeof *chain_at, st);
  if (rc || !tail_of || !moved || !members || !chain_at) {
    rc = st->code;
    goto done;
  }
  for (int i = 0; i < g->n; i++) tail_of[i] = -1;
  int chains = 0, used = 0;
  for (int i = 0; i < g->n; i++) {
    const nnc_node *n = &g->nodes[i];
    if (n->dead || n->op != (dense ? NNC_OP_MATMUL : NNC_OP_CONV)) continue;
    int m[NNC_CONV_EPILOGUE_MAX + 1];
    int len = chain_of(g, &u, i, m, dense);
    if (len < 2) continue;
    if (dense) { /* decided before the step rewrite, which only an accepted chain makes */
      len = valid_length(g, &u, m, len);
      if (len < 2 || group_goes_on(g, m[len - 1]) || !worth_a_variant(g, &u, m, len)) continue;
      if (epilogue_follow_plain(follow, g, i)) continue; /* epilogue_follow.c */
    }
    step_reads_relu(g, &u, m, len);
    len = valid_length(g, &u, m, len);
    if (len < 2) continue;
    for (int j = 1; j < len; j++) g->nodes[m[j]].flags |= NNC_NODE_TILE;
    for (int j = 0; j + 1 < len; j++) moved[m[j]] = 1;
    tail_of[m[len - 1]] = chains;
    chain_at[chains] = used;
    memcpy(members + used, m, (size_t)len * sizeof *m);
    used += len;
    chain_at[++chains] = used;
  }
  if (chains) rc = reorder(g, tail_of, moved, members, chain_at, st);
done:
  free(u.start);
  free(u.list);
  free(tail_of);
  free(moved);
  free(members);
  free(chain_at);
  return rc;
}

int pass_conv_epilogue(nnc_graph *g, nnc_status *st) {
  return tile_epilogue(g, 0, NULL, st);
}

int pass_dense_epilogue(nnc_graph *g, const nnc_graph *follow, nnc_status *st) {
  return tile_epilogue(g, 1, follow, st);
}
