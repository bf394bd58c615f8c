/* Keras's ProgbarLogger (keras/src/callbacks/progbar_logger.py) over the
 * progress bar of runtime/progbar.c: "Epoch i/n" at epoch begin (when
 * epochs > 1), the running logs after each batch (verbose 1; the last batch
 * of an epoch is drawn by on_epoch_end), the epoch's logs at epoch end. It
 * reads verbose, epochs, steps and the output from m->fit. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/base.h"
#include "runtime/fit.h"

static int progbar_epoch_start(nnc_callback *cb, nnc_model *m, int epoch, nnc_logs *logs,
                               nnc_status *st) {
  (void)logs;
  (void)st;
  progbar *pb = cb->user;
  pb->file = m->fit.progress ? m->fit.progress : stdout;
  pb->verbose = m->fit.verbose;
  pb->epochs = m->fit.epochs;
  pb->target = m->fit.steps > 0x7fffffff ? 0x7fffffff : (int)m->fit.steps;
  progbar_epoch_begin(pb, epoch);
  return NNC_OK;
}

/* begin hooks get no logs (no running logs are built for them) */
static int progbar_batch_begin(nnc_callback *cb, nnc_model *m, int batch, nnc_logs *logs,
                               nnc_status *st) {
  (void)m, (void)logs, (void)st;
  if (batch == 1) progbar_first_step_done(cb->user);
  return NNC_OK;
}

static int progbar_batch_end(nnc_callback *cb, nnc_model *m, int batch, nnc_logs *logs,
                             nnc_status *st) {
  (void)m;
  (void)st;
  progbar *pb = cb->user;
  if (pb->verbose == 1 && batch + 1 < pb->target) progbar_update(pb, batch + 1, logs, 0);
  return NNC_OK;
}

static int progbar_epoch_end(nnc_callback *cb, nnc_model *m, int epoch, nnc_logs *logs,
                             nnc_status *st) {
  (void)m;
  (void)epoch;
  (void)st;
  progbar *pb = cb->user;
  progbar_update(pb, pb->target, logs, 1);
  return NNC_OK;
}

static void progbar_free(nnc_callback *cb) {
  free(cb->user);
}

int cb_progbar_create(const nnc_model *m, nnc_callback **out, nnc_status *st) {
  nnc_callback *cb = nnc_calloc(1, sizeof *cb, st);
  progbar *pb = cb ? nnc_calloc(1, sizeof *pb, st) : NULL;
  if (!pb) {
    free(cb);
    return st->code;
  }
  cb->name = "ProgbarLogger";
  cb->user = pb;
  cb->on_epoch_begin = progbar_epoch_start;
  /* the bar is redrawn during an epoch only at verbose 1 on a terminal: only
   * then a batch hook (with one, fit builds the running logs every batch) */
  /* verbose 1 times the steps after the first, as Keras's progbar does
   * (verbose 2 calls it at the epoch's end only, so the first step counts) */
  if (m->fit.verbose == 1) cb->on_batch_begin = progbar_batch_begin;
  FILE *f = m->fit.progress ? m->fit.progress : stdout;
  if (m->fit.verbose == 1 && isatty(fileno(f))) cb->on_batch_end = progbar_batch_end;
  cb->on_epoch_end = progbar_epoch_end;
  cb->free = progbar_free;
  *out = cb;
  return NNC_OK;
}
