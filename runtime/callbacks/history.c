/* Keras's History callback (keras/src/callbacks/history.py): every epoch's
 * logs appended at on_epoch_end. fit adds one after the user's callbacks and
 * returns its history. A resumed fit (m->history_prefix, BackupAndRestore)
 * starts from the epochs run before the interruption. */
#include <stdlib.h>

#include "base/base.h"
#include "runtime/fit.h"

static int history_begin(nnc_callback *cb, nnc_model *m, int index, nnc_logs *logs,
                         nnc_status *st) {
  (void)index;
  (void)logs;
  nnc_history *h = cb->user;
  nnc_history_free(h);
  return m->history_prefix ? history_copy(h, m->history_prefix, st) : NNC_OK;
}

static int history_epoch_end(nnc_callback *cb, nnc_model *m, int epoch, nnc_logs *logs,
                             nnc_status *st) {
  (void)m;
  return history_append(cb->user, epoch, logs, st);
}

int cb_history_create(nnc_history *h, nnc_callback **out, nnc_status *st) {
  nnc_callback *cb = nnc_calloc(1, sizeof *cb, st);
  if (!cb) return st->code;
  cb->name = "History";
  cb->user = h; /* the caller's: not freed here */
  cb->on_train_begin = history_begin;
  cb->on_epoch_end = history_epoch_end;
  *out = cb;
  return NNC_OK;
}
