/* Cleanup passes: constant folding, common-subexpression elimination and
 * dead-code elimination. Folding evaluates in float32, as the kernels do. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/graph/rewrite.h"
#include "compiler/passes/passes.h"
#include "base/base.h"
#include "base/rng.h"

static int is_const(const nnc_graph *g, int id, double value) {
  const nnc_node *n = &g->nodes[id];
  return n->op == NNC_OP_CONST && n->params.value == value;
}

static int fold_binary(nnc_binary_fn fn, float a, float b, float *out) {
  switch (fn) {
  case NNC_BIN_ADD:
    *out = a + b;
    return 1;
  case NNC_BIN_SUB:
    *out = a - b;
    return 1;
  case NNC_BIN_MUL:
    *out = a * b;
    return 1;
  case NNC_BIN_DIV:
    *out = a / b;
    return 1;
  case NNC_BIN_POW:
    *out = powf(a, b);
    return 1;
  default:
    return 0;
  }
}

static int fold_node(nnc_graph *dst, const nnc_node *node, const int *map, void *ctx,
                     nnc_status *st) {
  (void)ctx;
  if (node->op == NNC_OP_UNARY && node->fn == NNC_FN_NEG) {
    const nnc_node *a = &dst->nodes[map[node->in[0]]];
    if (a->op == NNC_OP_CONST) return graph_const(dst, (double)-(float)a->params.value, st);
  }
  if (node->op != NNC_OP_BINARY) return NNC_REWRITE_COPY;
  int a = map[node->in[0]], b = map[node->in[1]];
  const nnc_node *na = &dst->nodes[a], *nb = &dst->nodes[b];
  float v;
  if (na->op == NNC_OP_CONST && nb->op == NNC_OP_CONST &&
      fold_binary((nnc_binary_fn)node->fn, (float)na->params.value, (float)nb->params.value, &v))
    return graph_const(dst, (double)v, st);
  /* identities that keep the other operand's shape */
  int keeps_b = shape_equal(&node->shape, &nb->shape),
      keeps_a = shape_equal(&node->shape, &na->shape);
  switch (node->fn) {
  case NNC_BIN_MUL:
    if (is_const(dst, b, 1.0) && keeps_a) return a;
    if (is_const(dst, a, 1.0) && keeps_b) return b;
    break;
  case NNC_BIN_ADD:
    if (is_const(dst, b, 0.0) && keeps_a) return a;
    if (is_const(dst, a, 0.0) && keeps_b) return b;
    break;
  case NNC_BIN_SUB:
  case NNC_BIN_DIV:
    if (is_const(dst, b, node->fn == NNC_BIN_DIV ? 1.0 : 0.0) && keeps_a) return a;
    break;
  default:
    break;
  }
  return NNC_REWRITE_COPY;
}

int pass_fold(nnc_graph *g, nnc_status *st) {
  if (graph_rewrite(g, fold_node, NULL, st)) return st->code;
  return graph_verify(g, "fold", st);
}

static int cse_candidate(const nnc_node *n) {
  nnc_op_class c = op_class(n->op);
  return c != NNC_CLASS_EFFECT && n->op != NNC_OP_DROPOUT_MASK;
}

static int nodes_equal(const nnc_node *a, const nnc_node *b) {
  if (a->op != b->op || a->fn != b->fn || a->n_in != b->n_in || a->key != b->key) return 0;
  if (!shape_equal(&a->shape, &b->shape)) return 0;
  if (memcmp(&a->params, &b->params, sizeof a->params)) return 0;
  for (int k = 0; k < a->n_in; k++)
    if (a->in[k] != b->in[k] || a->bcast[k] != b->bcast[k]) return 0;
  return (a->flags & NNC_NODE_UPDATE) == (b->flags & NNC_NODE_UPDATE);
}

typedef struct cse_table {
  int *slots;
  int cap;
  int64_t probes; /* slots looked at: the pass's work */
} cse_table;

static uint64_t node_hash(const nnc_node *n) {
  uint64_t h = (uint64_t)n->op * 1000003u ^ (uint64_t)(n->fn + 7) * 7919u ^ n->key;
  for (int k = 0; k < n->n_in; k++) h = h * 31u + (uint64_t)n->in[k];
  uint64_t bits[sizeof n->params / sizeof(uint64_t)];
  memcpy(bits, &n->params, sizeof bits);
  for (size_t k = 0; k < sizeof bits / sizeof bits[0]; k++) h = h * 131u ^ bits[k];
  /* Nodes differ mostly in consecutive operand ids, so the sum above puts
   * them in consecutive slots; mixed, they spread out and linear probing
   * stays short (unmixed, CSE was quadratic in depth). */
  return nnc_mix64(h);
}

static int cse_node(nnc_graph *dst, const nnc_node *node, const int *map, void *ctx,
                    nnc_status *st) {
  cse_table *t = ctx;
  int id = graph_copy_node(dst, node, map, st);
  if (id < 0 || !cse_candidate(&dst->nodes[id])) return id;
  uint64_t h = node_hash(&dst->nodes[id]);
  for (int probe = 0; probe < t->cap; probe++) {
    int *slot = &t->slots[(h + (uint64_t)probe) % (uint64_t)t->cap];
    t->probes++;
    if (*slot < 0) {
      *slot = id;
      return id;
    }
    if (nodes_equal(&dst->nodes[*slot], &dst->nodes[id])) {
      dst->n--; /* the copy was the last node appended */
      return *slot;
    }
  }
  return id;
}

int pass_cse(nnc_graph *g, nnc_status *st) {
  return pass_cse_counted(g, NULL, st);
}

int pass_cse_counted(nnc_graph *g, int64_t *probes, nnc_status *st) {
  cse_table t = {NULL, 2 * g->n + 1, 0};
  t.slots = nnc_calloc((size_t)t.cap, sizeof *t.slots, st);
  if (!t.slots) return st->code;
  for (int i = 0; i < t.cap; i++) t.slots[i] = -1;
  int rc = graph_rewrite(g, cse_node, &t, st);
  free(t.slots);
  if (probes) *probes = t.probes;
  return rc ? rc : graph_verify(g, "cse", st);
}

int pass_dce(nnc_graph *g, nnc_status *st) {
  int *live = nnc_calloc((size_t)g->n + 1, sizeof *live, st);
  if (!live) return st->code;
  for (int i = g->n - 1; i >= 0; i--) {
    nnc_node *n = &g->nodes[i];
    if (n->dead) continue;
    if (op_class(n->op) == NNC_CLASS_EFFECT) live[i] = 1;
    if (!live[i]) {
      n->dead = 1;
      continue;
    }
    for (int k = 0; k < n->n_in; k++) live[n->in[k]] = 1;
  }
  free(live);
  if (g->loss >= 0 && g->nodes[g->loss].dead) g->loss = -1;
  if (graph_compact(g, st)) return st->code;
  return graph_verify(g, "dce", st);
}
