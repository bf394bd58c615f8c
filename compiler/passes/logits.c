/* The stable logits rewrite. Keras's TensorFlow backend notices when a
 * crossentropy consumes a sigmoid/softmax output and computes the loss from
 * the logits instead (no clipping, exact gradients); nnc does the same as a
 * graph rewrite: LOSS(bce, sigmoid(z), y) -> LOSS(bce, z, y, from_logits). */
#include "compiler/graph/rewrite.h"
#include "compiler/passes/passes.h"

static int rewrite_loss(nnc_graph *dst, const nnc_node *node, const int *map, void *ctx,
                        nnc_status *st) {
  const nnc_graph *src = ctx;
  /* attr[1]: Keras squeezed the output, so it has no logits to use either */
  if (node->op != NNC_OP_LOSS || node->attr[0] != 0.0 || node->attr[1] != 0.0)
    return NNC_REWRITE_COPY;
  const nnc_node *pred = &src->nodes[node->in[0]];
  int sigmoid = pred->op == NNC_OP_UNARY && pred->fn == NNC_FN_SIGMOID;
  int softmax = pred->op == NNC_OP_SOFTMAX;
  int fits = (node->fn == NNC_LOSS_BCE && sigmoid) ||
             ((node->fn == NNC_LOSS_CCE || node->fn == NNC_LOSS_SCCE) && softmax);
  if (!fits) return NNC_REWRITE_COPY;
  int in[2] = {map[pred->in[0]], map[node->in[1]]};
  int id = graph_add(dst, NNC_OP_LOSS, node->fn, in, 2, st);
  if (id < 0) return -1;
  dst->nodes[id].attr[0] = 1.0;
  snprintf(dst->nodes[id].label, sizeof dst->nodes[id].label, "%s", node->label);
  return id;
}

int pass_logits_rewrite(nnc_graph *g, nnc_status *st) {
  nnc_graph src;
  if (graph_copy(&src, g, g->name, st)) return st->code;
  int rc = graph_rewrite(g, rewrite_loss, &src, st);
  graph_free(&src);
  return rc ? rc : graph_verify(g, "logits", st);
}
