/* The learning rate: a constant the host and callbacks may change, or the
 * optimizer's schedule evaluated at every step (base/schedule.c). Keras's
 * BaseOptimizer._get_current_learning_rate calls the schedule with
 * self._iterations (every train step counts, also under gradient
 * accumulation), before apply() increments it: the first step uses step 0.
 * Its learning_rate setter raises a TypeError on a schedule; nnc refuses
 * with NNC_ERR_ARG. Nothing here recompiles: the step reads the rate as a
 * scalar argument. */
#include <float.h>
#include <math.h>

#include "base/base.h"
#include "base/schedule.h"
#include "runtime/api_check.h"
#include "runtime/model.h"

double model_step_learning_rate(const nnc_model *m) {
  const nnc_schedule *s = &m->desc.schedule;
  if (s->kind == NNC_SCHEDULE_CONSTANT) return m->learning_rate;
  return schedule_eval(s, (double)m->iterations);
}

double nnc_model_learning_rate(const nnc_model *m) {
  return m ? model_step_learning_rate(m) : NAN;
}

int nnc_model_set_learning_rate(nnc_model *m, double lr, nnc_status *st) {
  API_STATUS(st);
  if (api_nonnull(m, "nnc_model_set_learning_rate", "m", st)) return NNC_ERR_ARG;
  if (m->desc.schedule.kind != NNC_SCHEDULE_CONSTANT)
    return nnc_fail(st, NNC_ERR_ARG,
                    "nnc_model_set_learning_rate: %s: the optimizer's learning rate is a %s "
                    "schedule: it cannot be set (Keras raises a TypeError); give the optimizer a "
                    "number as learning_rate to change it during training",
                    model_source(m), schedule_class_name(m->desc.schedule.kind));
  if (!isfinite(lr) || lr < 0 || lr > FLT_MAX) /* the kernels take it as a float32 */
    return nnc_fail(st, NNC_ERR_ARG,
                    "nnc_model_set_learning_rate: expected a learning rate in [0, %g] (float32), "
                    "got %g",
                    (double)FLT_MAX, lr);
  m->learning_rate = lr;
  return NNC_OK;
}
