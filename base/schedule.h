/* Keras 3's learning-rate schedules (keras/src/optimizers/schedules/
 * learning_rate_schedule.py): parsed from their serialized JSON and
 * evaluated at an optimizer step in float32, in Keras's order of operations.
 * Shared by the compiler (optimizer configs) and the runtime (per-step
 * learning rate, LearningRateScheduler). */
#ifndef NNC_SCHEDULE_H
#define NNC_SCHEDULE_H

#include <cjson/cJSON.h>

#include "nnc.h"
#include "nnc_program.h"

/* item: {"module": "keras.optimizers.schedules", "class_name": "ExponentialDecay",
 * "config": {...}} (Keras 3) or {"class_name": ..., "config": {...}} (tf.keras 2).
 * source names the file and path the item's JSON path in messages
 * (NNC_ERR_SPEC). On success *storage is the heap holding out's boundaries and
 * values (NULL when none; the caller frees it). Unknown keys are refused. */
int schedule_from_json(const cJSON *item, const char *source, const char *path, nnc_schedule *out,
                       double **storage, nnc_status *st);

/* The learning rate at step (optimizer.iterations), as float32 widened to
 * double. CONSTANT gives initial_learning_rate as float32. */
double schedule_eval(const nnc_schedule *s, double step);

/* The Keras class name of a kind ("ExponentialDecay"). */
const char *schedule_class_name(nnc_schedule_kind kind);

#endif
