/* BinaryFocalCrossentropy and CategoricalFocalCrossentropy
 * (keras/src/losses/losses.py: binary_focal_crossentropy,
 * categorical_focal_crossentropy). */
#include "compiler/losses/losses.h"

/* The elementwise binary crossentropy as Keras's TF backend computes it
 * (backend/tensorflow/nn.py binary_crossentropy): from the logits when the
 * probabilities are a sigmoid's output (its _keras_logits), else from the
 * probabilities clipped to [eps, 1 - eps]. */
static int bce_elements(nnc_graph *g, int p, int y, nnc_status *st) {
  const nnc_node *n = &g->nodes[p];
  if (n->op == NNC_OP_UNARY && n->fn == NNC_FN_SIGMOID)
    return graph_binary(g, NNC_BIN_BCE_LOGITS, n->in[0], y, st);
  int q = graph_clip(g, p, LOSS_EPSILON, (double)(1.0f - (float)LOSS_EPSILON), st);
  int pos = graph_binary(g, NNC_BIN_MUL, y, graph_unary(g, NNC_FN_LOG, q, st), st);
  int neg = graph_binary(g, NNC_BIN_MUL, loss_one_minus(g, y, st),
                         graph_unary(g, NNC_FN_LOG, loss_one_minus(g, q, st), st), st);
  return graph_unary(g, NNC_FN_NEG, graph_binary(g, NNC_BIN_ADD, pos, neg, st), st);
}

/* p_t = y p + (1 - y)(1 - p); mean((1 - p_t)^gamma * bce [* (y alpha + (1 - y)(1 - alpha))]) */
static int lower_binary_focal(nnc_graph *g, const nnc_spec_loss *loss, int p, int y,
                              loss_values *out, nnc_status *st) {
  y = loss_smooth(g, y, loss->label_smoothing, 0.5 * loss->label_smoothing, st);
  if (loss->from_logits) p = graph_unary(g, NNC_FN_SIGMOID, p, st);
  if (p < 0 || y < 0) return -1;
  int bce = bce_elements(g, p, y, st);
  int pt = graph_binary(
      g, NNC_BIN_ADD, graph_binary(g, NNC_BIN_MUL, y, p, st),
      graph_binary(g, NNC_BIN_MUL, loss_one_minus(g, y, st), loss_one_minus(g, p, st), st), st);
  int v = graph_binary(g, NNC_BIN_MUL, loss_pow(g, loss_one_minus(g, pt, st), loss->gamma, st), bce,
                       st);
  if (loss->apply_class_balancing) {
    int w = graph_binary(g, NNC_BIN_ADD,
                         graph_binary(g, NNC_BIN_MUL, y, loss_const(g, loss->alpha, st), st),
                         graph_binary(g, NNC_BIN_MUL, loss_one_minus(g, y, st),
                                      loss_const(g, 1.0 - loss->alpha, st), st),
                         st);
    v = graph_binary(g, NNC_BIN_MUL, w, v, st);
  }
  out->values = loss_mean_last(g, v, st);
  return out->values < 0 ? -1 : 0;
}

/* q = clip(p / sum(p), eps, 1 - eps); sum((1 - q)^gamma * alpha * (-y log q)) */
static int lower_categorical_focal(nnc_graph *g, const nnc_spec_loss *loss, int p, int y,
                                   loss_values *out, nnc_status *st) {
  if (p < 0 || y < 0) return -1;
  float c = (float)shape_last(&g->nodes[p].shape);
  y = loss_smooth(g, y, loss->label_smoothing, (double)((float)loss->label_smoothing / c), st);
  if (loss->from_logits) p = graph_softmax(g, p, st);
  int q = graph_binary(g, NNC_BIN_DIV, p, loss_sum_last(g, p, st), st);
  q = graph_clip(g, q, LOSS_EPSILON, (double)(1.0f - (float)LOSS_EPSILON), st);
  int cce = graph_binary(g, NNC_BIN_MUL, graph_unary(g, NNC_FN_NEG, y, st),
                         graph_unary(g, NNC_FN_LOG, q, st), st);
  int weighting =
      graph_binary(g, NNC_BIN_MUL, loss_pow(g, loss_one_minus(g, q, st), loss->gamma, st),
                   loss_const(g, loss->alpha, st), st);
  out->values = loss_sum_last(g, graph_binary(g, NNC_BIN_MUL, weighting, cce, st), st);
  return out->values < 0 ? -1 : 0;
}

const loss_class loss_binary_focal = {NNC_LOSS_BINARY_FOCAL,
                                      "BinaryFocalCrossentropy",
                                      "binary_focal_crossentropy",
                                      "binary_focal_crossentropy",
                                      LOSS_OPT_FROM_LOGITS | LOSS_OPT_LABEL_SMOOTHING |
                                          LOSS_OPT_AXIS | LOSS_OPT_ALPHA | LOSS_OPT_GAMMA |
                                          LOSS_OPT_CLASS_BALANCING,
                                      0.25,
                                      0,
                                      2.0,
                                      lower_binary_focal};
const loss_class loss_categorical_focal = {NNC_LOSS_CATEGORICAL_FOCAL,
                                           "CategoricalFocalCrossentropy",
                                           "categorical_focal_crossentropy",
                                           "categorical_focal_crossentropy",
                                           LOSS_OPT_FROM_LOGITS | LOSS_OPT_LABEL_SMOOTHING |
                                               LOSS_OPT_AXIS | LOSS_OPT_ALPHA | LOSS_OPT_GAMMA,
                                           0.25,
                                           0,
                                           2.0,
                                           lower_categorical_focal};
