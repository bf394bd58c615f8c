/* ModelCheckpoint's file names: Python's str.format over the epoch (1-based),
 * the batch (1-based, batch-level saves) and the log values, as Keras's
 * `filepath.format(epoch=epoch + 1, **logs)` (model_checkpoint.py). */
#ifndef NNC_CB_FORMAT_PATH_H
#define NNC_CB_FORMAT_PATH_H

#include <stddef.h>

#include "nnc.h"

/* Fields: {name} and {name:spec}, spec = [[fill]align][sign][0][width]
 * [.precision][type], type one of d f F e E g G % (or none: str() of an
 * int, repr() of a float); "{{" and "}}" are braces. epoch and batch are
 * ints (batch < 0: not offered); log values are floats, so "d" on them is
 * an error as in Python. *out is malloc'ed. On error, 0 is not returned and
 * why[] says what is wrong ("no field 'val_acc' (the logs have: ...)"). */
int cb_format_path(const char *tmpl, int epoch, int batch, const nnc_logs *logs, char **out,
                   char *why, size_t why_room);

/* What can be checked before training: brace syntax, format specs nnc
 * reads, no positional field, no "d" on a field other than epoch and batch
 * (log values are floats). Which log keys exist is known only at a save:
 * other callbacks may add keys (learning_rate), so they are checked then, as
 * Keras does. 0 when fine; else why[] says what is wrong. */
int cb_format_check(const char *tmpl, char *why, size_t why_room);

#endif
