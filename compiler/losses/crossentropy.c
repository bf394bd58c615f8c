/* MeanSquaredError, MeanAbsoluteError and the three crossentropies: one
 * composite LOSS node each (pass_logits_rewrite reads it, pass_decompose
 * expands it), with Keras 3's options applied around it
 * (keras/src/losses/losses.py):
 *   label_smoothing  BCE: y * (1 - s) + 0.5 * s; CCE: y * (1 - s) + s / C
 *                    (s / C in float32: num_classes is a float32 tensor)
 *   ignore_class     SCCE: entries whose label is ignore_class get label 0,
 *                    prediction 0 (tf.where: the result is no longer the
 *                    softmax, so Keras's TF backend takes the clipped
 *                    probability form), loss 0, and a mask that the
 *                    reduction honours. */
#include "compiler/losses/losses.h"

static int composite(nnc_graph *g, const nnc_spec_loss *loss, int p, int y, loss_values *out,
                     nnc_status *st) {
  out->values = graph_loss(g, loss->kind, p, y, loss->from_logits, 0, st);
  return out->values < 0 ? -1 : 0;
}

static int lower_bce(nnc_graph *g, const nnc_spec_loss *loss, int p, int y, loss_values *out,
                     nnc_status *st) {
  y = loss_smooth(g, y, loss->label_smoothing, 0.5 * loss->label_smoothing, st);
  return composite(g, loss, p, y, out, st);
}

static int lower_cce(nnc_graph *g, const nnc_spec_loss *loss, int p, int y, loss_values *out,
                     nnc_status *st) {
  float c = (float)shape_last(&g->nodes[p].shape);
  y = loss_smooth(g, y, loss->label_smoothing, (double)((float)loss->label_smoothing / c), st);
  return composite(g, loss, p, y, out, st);
}

static int lower_scce(nnc_graph *g, const nnc_spec_loss *loss, int p, int y, loss_values *out,
                      nnc_status *st) {
  if (!loss->has_ignore_class) return composite(g, loss, p, y, out, st);
  int valid = graph_binary(g, NNC_BIN_NE, y, graph_const(g, (double)loss->ignore_class, st), st);
  int y0 = graph_binary(g, NNC_BIN_MUL, y, valid, st);
  int p0 = graph_binary(g, NNC_BIN_MUL, p, valid, st);
  if (composite(g, loss, p0, y0, out, st)) return -1;
  out->values = graph_binary(g, NNC_BIN_MUL, out->values, valid, st);
  out->mask = valid;
  return out->values < 0 ? -1 : 0;
}

const loss_class loss_mse = {
    NNC_LOSS_MSE, "MeanSquaredError", "mean_squared_error", "mean_squared_error", 0, 0, 0, 0,
    composite};
const loss_class loss_mae = {
    NNC_LOSS_MAE, "MeanAbsoluteError", "mean_absolute_error", "mean_absolute_error", 0, 0, 0, 0,
    composite};
const loss_class loss_bce = {NNC_LOSS_BCE,
                             "BinaryCrossentropy",
                             "binary_crossentropy",
                             "binary_crossentropy",
                             LOSS_OPT_FROM_LOGITS | LOSS_OPT_LABEL_SMOOTHING | LOSS_OPT_AXIS,
                             0,
                             0,
                             0,
                             lower_bce};
const loss_class loss_cce = {NNC_LOSS_CCE,
                             "CategoricalCrossentropy",
                             "categorical_crossentropy",
                             "categorical_crossentropy",
                             LOSS_OPT_FROM_LOGITS | LOSS_OPT_LABEL_SMOOTHING | LOSS_OPT_AXIS,
                             0,
                             0,
                             0,
                             lower_cce};
const loss_class loss_scce = {NNC_LOSS_SCCE,
                              "SparseCategoricalCrossentropy",
                              "sparse_categorical_crossentropy",
                              "sparse_categorical_crossentropy",
                              LOSS_OPT_FROM_LOGITS | LOSS_OPT_IGNORE_CLASS | LOSS_OPT_AXIS,
                              0,
                              0,
                              0,
                              lower_scce};
