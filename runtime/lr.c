/* The learning rate a train step uses. Stub until schedules land (issue 7,
 * base/schedule.c): the model's constant learning rate. */
#include "runtime/model.h"

double model_step_learning_rate(const nnc_model *m) {
  return m->learning_rate;
}
