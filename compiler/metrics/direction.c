/* Keras 3's `_direction` per metric class (keras/src/metrics/ files, as of
 * Keras 3.11): "up" where the class sets it; "down" where it sets it and for
 * every MeanMetricWrapper of a Keras loss function or Loss class
 * (reduction_metrics.py: fn in losses.ALL_OBJECTS, so KLDivergence and
 * Poisson too); none for the confusion counts and custom expressions.
 * mode="auto" callbacks read it from the program table
 * (runtime/callbacks/monitor.c). A class added to metrics.def is UNKNOWN
 * until it gets a case here: callbacks then ask for an explicit mode. */
#include "compiler/metrics/metrics.h"

nnc_log_direction metric_direction(nnc_metric_kind kind) {
  switch (kind) {
  /* accuracy_metrics.py, confusion_metrics.py, f_score_metrics.py,
   * iou_metrics.py (_IoUBase), regression_metrics.py */
  case NNC_METRIC_ACCURACY:
  case NNC_METRIC_ACCURACY_CLASS:
  case NNC_METRIC_BINARY_ACCURACY:
  case NNC_METRIC_CATEGORICAL_ACCURACY:
  case NNC_METRIC_SPARSE_CATEGORICAL_ACCURACY:
  case NNC_METRIC_TOP_K_CATEGORICAL_ACCURACY:
  case NNC_METRIC_SPARSE_TOP_K_CATEGORICAL_ACCURACY:
  case NNC_METRIC_PRECISION:
  case NNC_METRIC_RECALL:
  case NNC_METRIC_AUC:
  case NNC_METRIC_SENSITIVITY_AT_SPECIFICITY:
  case NNC_METRIC_SPECIFICITY_AT_SENSITIVITY:
  case NNC_METRIC_PRECISION_AT_RECALL:
  case NNC_METRIC_RECALL_AT_PRECISION:
  case NNC_METRIC_F1_SCORE:
  case NNC_METRIC_FBETA_SCORE:
  case NNC_METRIC_R2_SCORE:
  case NNC_METRIC_COSINE_SIMILARITY:
  case NNC_METRIC_IOU:
  case NNC_METRIC_MEAN_IOU:
  case NNC_METRIC_ONE_HOT_IOU:
  case NNC_METRIC_ONE_HOT_MEAN_IOU:
  case NNC_METRIC_BINARY_IOU:
    return NNC_LOG_DIRECTION_UP;
  /* regression, probabilistic and hinge metrics; loss functions wrapped */
  case NNC_METRIC_MAE:
  case NNC_METRIC_MSE:
  case NNC_METRIC_RMSE:
  case NNC_METRIC_MAPE:
  case NNC_METRIC_MSLE:
  case NNC_METRIC_LOG_COSH_ERROR:
  case NNC_METRIC_BINARY_CROSSENTROPY:
  case NNC_METRIC_CATEGORICAL_CROSSENTROPY:
  case NNC_METRIC_SPARSE_CATEGORICAL_CROSSENTROPY:
  case NNC_METRIC_HINGE:
  case NNC_METRIC_SQUARED_HINGE:
  case NNC_METRIC_CATEGORICAL_HINGE:
  case NNC_METRIC_KL_DIVERGENCE:
  case NNC_METRIC_POISSON:
  case NNC_METRIC_LOSS_FUNCTION:
    return NNC_LOG_DIRECTION_DOWN;
  default: /* TruePositives... (no _direction), an expression (a user function) */
    return NNC_LOG_DIRECTION_UNKNOWN;
  }
}
