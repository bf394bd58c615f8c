/* Expansion of the composite LOSS node into primitive ops, following
 * Keras 3's TensorFlow-backend formulas (keras-semantics.md §2.2, §2.3). The
 * result has shape [..., 1]: the per-sample loss before the batch reduction. */
#include "base/base.h"
#include "compiler/graph/rewrite.h"
#include "compiler/passes/passes.h"

/* Keras's epsilon, and 1 - epsilon as float32 computes it. */
#define KERAS_EPSILON 1e-7
static double one_minus_epsilon(void) {
  return (double)(1.0f - (float)KERAS_EPSILON);
}

static int mean_last(nnc_graph *g, int x, nnc_status *st) {
  int64_t c = shape_last(&g->nodes[x].shape);
  if (c == 1) return x;
  int sum = graph_reduce(g, NNC_RED_LAST, x, st);
  return graph_binary(g, NNC_BIN_DIV, sum, graph_const(g, (double)c, st), st);
}

static int clip_probability(nnc_graph *g, int p, nnc_status *st) {
  return graph_clip(g, p, KERAS_EPSILON, one_minus_epsilon(), st);
}

static int expand_loss(nnc_graph *g, const nnc_node *node, int p, int y, nnc_status *st) {
  int from_logits = node->params.loss.from_logits;
  switch ((nnc_loss_kind)node->fn) {
  case NNC_LOSS_MSE:
    return mean_last(g, graph_unary(g, NNC_FN_SQUARE, graph_binary(g, NNC_BIN_SUB, y, p, st), st),
                     st);
  case NNC_LOSS_MAE:
    return mean_last(g, graph_unary(g, NNC_FN_ABS, graph_binary(g, NNC_BIN_SUB, y, p, st), st), st);
  case NNC_LOSS_BCE:
    if (from_logits) return mean_last(g, graph_binary(g, NNC_BIN_BCE_LOGITS, p, y, st), st);
    {
      int q = clip_probability(g, p, st), one = graph_const(g, 1.0, st);
      int pos = graph_binary(g, NNC_BIN_MUL, y, graph_unary(g, NNC_FN_LOG, q, st), st);
      int neg = graph_binary(
          g, NNC_BIN_MUL, graph_binary(g, NNC_BIN_SUB, one, y, st),
          graph_unary(g, NNC_FN_LOG, graph_binary(g, NNC_BIN_SUB, one, q, st), st), st);
      return mean_last(
          g, graph_unary(g, NNC_FN_NEG, graph_binary(g, NNC_BIN_ADD, pos, neg, st), st), st);
    }
  case NNC_LOSS_CCE:
  case NNC_LOSS_SCCE: {
    int target = y;
    if (node->fn == NNC_LOSS_SCCE) {
      target = graph_add_attr(g, NNC_OP_ONE_HOT, 0, &y, 1, shape_last(&g->nodes[p].shape), st);
      if (target < 0) return -1;
    }
    int logits = p;
    if (!from_logits && node->fn == NNC_LOSS_SCCE) {
      /* TF backend: log of the clipped probabilities, then the logits form */
      logits = graph_unary(g, NNC_FN_LOG, clip_probability(g, p, st), st);
    } else if (!from_logits) {
      int sum = graph_reduce(g, NNC_RED_LAST, p, st);
      int q = clip_probability(g, graph_binary(g, NNC_BIN_DIV, p, sum, st), st);
      int ll = graph_binary(g, NNC_BIN_MUL, target, graph_unary(g, NNC_FN_LOG, q, st), st);
      return graph_unary(g, NNC_FN_NEG, graph_reduce(g, NNC_RED_LAST, ll, st), st);
    }
    int in[2] = {logits, target};
    return graph_add(g, NNC_OP_SOFTMAX_XENT, 0, in, 2, st);
  }
  default: /* the other losses are lowered into primitive ops (compiler/losses) */
    break;
  }
  nnc_fail(st, NNC_ERR_INTERNAL, "a LOSS node of kind %d", node->fn);
  return -1;
}

static int decompose_node(nnc_graph *dst, const nnc_node *node, const int *map, void *ctx,
                          nnc_status *st) {
  (void)ctx;
  if (node->op != NNC_OP_LOSS) return NNC_REWRITE_COPY;
  int first = dst->n;
  int id = expand_loss(dst, node, map[node->in[0]], map[node->in[1]], st);
  for (int i = first; i < dst->n; i++)
    if (!dst->nodes[i].label[0])
      snprintf(dst->nodes[i].label, sizeof dst->nodes[i].label, "%s", node->label);
  return id;
}

int pass_decompose(nnc_graph *g, nnc_status *st) {
  if (graph_rewrite(g, decompose_node, NULL, st)) return st->code;
  return graph_verify(g, "decompose", st);
}
