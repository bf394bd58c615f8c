/* Phase specialization: the forward graph is built once; this makes the
 * train graph (inverted dropout, the train side of each phase_select, the
 * train_assign updates) or the inference graph (dropout is identity, the
 * inference side of each phase_select, no train_assign). */
#include "compiler/graph/rewrite.h"
#include "compiler/passes/passes.h"

static int specialize_node(nnc_graph *dst, const nnc_node *node, const int *map, void *ctx,
                           nnc_status *st) {
  nnc_phase phase = *(const nnc_phase *)ctx;
  int train = phase == NNC_PHASE_TRAIN;
  if (node->op == NNC_OP_PHASE_SELECT) return map[node->in[train ? 0 : 1]];
  if (node->op == NNC_OP_TRAIN_ASSIGN) {
    /* nothing reads an effect: in inference any id may stand for it */
    if (!train) return map[node->in[0]];
    int in[2] = {map[node->in[0]], map[node->in[1]]};
    int y = graph_add(dst, NNC_OP_ASSIGN, 0, in, 2, st);
    if (y < 0) return -1;
    dst->nodes[y].phase = NNC_PHASE_TRAIN;
    snprintf(dst->nodes[y].label, sizeof dst->nodes[y].label, "%s", node->label);
    return y;
  }
  if (node->op != NNC_OP_DROPOUT) return NNC_REWRITE_COPY;
  int x = map[node->in[0]];
  if (phase != NNC_PHASE_TRAIN || node->params.rate == 0.0)
    return x;                     /* Keras: rate 0 is identity */
  if (node->params.rate >= 1.0) { /* Keras: rate 1 drops everything */
    int y = graph_binary(dst, NNC_BIN_MUL, x, graph_const(dst, 0.0, st), st);
    if (y >= 0) dst->nodes[y].phase = NNC_PHASE_TRAIN;
    return y;
  }
  int mask = graph_add(dst, NNC_OP_DROPOUT_MASK, 0, &x, 1, st);
  if (mask < 0) return -1;
  dst->nodes[mask].params.rate = node->params.rate;
  dst->nodes[mask].key = node->key;
  dst->nodes[mask].flags |= NNC_NODE_NO_GRAD;
  snprintf(dst->nodes[mask].label, sizeof dst->nodes[mask].label, "%s", node->label);
  int y = graph_binary(dst, NNC_BIN_MUL, x, mask, st);
  if (y >= 0) dst->nodes[y].phase = NNC_PHASE_TRAIN;
  return y;
}

int pass_specialize(nnc_graph *g, nnc_phase phase, nnc_status *st) {
  /* nodes downstream of a mask become train-phase through graph_add's phase
   * propagation; everything else stays "any" (the same in both phases) */
  if (graph_rewrite(g, specialize_node, &phase, st)) return st->code;
  return graph_verify(g, "specialize", st);
}
