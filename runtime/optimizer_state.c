/* Optimizer state across fits. Stub until use_ema lands (issue 7): Keras's
 * finalize_variable_values copies each moving average into its variable at
 * the end of fit; without averages there is nothing to do. */
#include "runtime/model.h"

int model_finalize_variable_values(nnc_model *m, nnc_status *st) {
  (void)m;
  (void)st;
  return NNC_OK;
}
