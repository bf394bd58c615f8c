/* Epoch accumulation of batch statistics into Keras's reported numbers
 * (keras-semantics.md §1.3): float32 totals and counts, as Keras's Mean and
 * confusion-matrix metrics keep them. */
#ifndef NNC_EPOCH_H
#define NNC_EPOCH_H

#include "nnc.h"
#include "nnc_program.h"

/* Totals sized by the table's n_stats (no fixed limit). */
typedef struct epoch_acc {
  float *total;
  int n_stats;
  float count;
  int owned; /* total was allocated here */
} epoch_acc;

/* Allocates zeroed totals for p's statistics; epoch_free releases them. */
int epoch_init(epoch_acc *a, const nnc_program_table *p, nnc_status *st);
/* The same in the caller's buffer of cap floats when they fit (a step of
 * train_on_batch allocates nothing for its totals), else allocated. */
int epoch_init_in(epoch_acc *a, const nnc_program_table *p, float *buf, int cap, nnc_status *st);
void epoch_reset(epoch_acc *a);
void epoch_free(epoch_acc *a);
void epoch_add(epoch_acc *a, const nnc_program_table *p, const float *stats, int64_t rows);
/* Logs handed to the library: zero-initialized or filled by it before.
 * NNC_ERR_ARG (naming fn) for a struct whose counts do not add up. */
int logs_check(const nnc_logs *logs, const char *fn, nnc_status *st);
/* Append "loss" and every metric (names prefixed, e.g. "val_") to logs,
 * growing its arrays. */
int epoch_results(const epoch_acc *a, const nnc_program_table *p, const char *prefix,
                  nnc_logs *logs, nnc_status *st);
void logs_sort(nnc_logs *logs);
/* The value of the table's log key i from the totals (as epoch_results). */
int epoch_value(const epoch_acc *a, const nnc_program_table *p, int i, double *v, nnc_status *st);
/* Room for n keys in logs (grown as adding keys grows it). */
int logs_reserve(nnc_logs *logs, int n, nnc_status *st);
/* prefix + name into `to` (NNC_LOG_NAME bytes), cut at NNC_LOG_NAME - 1
 * bytes (as snprintf did, for less). */
void logs_key_name(const char *prefix, const char *name, char *to);

typedef struct progbar {
  void *file;
  int verbose, target, tty, epochs;
  double start, last_update, after_first;
  int prev_width;
  int no_color; /* NO_COLOR set (https://no-color.org): no ANSI styling even on a terminal */
} progbar;

void progbar_epoch_begin(progbar *pb, int epoch);
void progbar_update(progbar *pb, int current, const nnc_logs *logs, int finalize);
/* The time the first step ended (the step time shown excludes it, as Keras's
 * _time_after_first_step): called when the second batch begins. */
void progbar_first_step_done(progbar *pb);

/* Append one epoch's logs; a key not seen before gets a new row (NaN for
 * the epochs before it). runtime/history.c */
int history_append(nnc_history *h, int epoch, const nnc_logs *logs, nnc_status *st);
/* A deep copy of from into to (overwritten). */
int history_copy(nnc_history *to, const nnc_history *from, nnc_status *st);

#endif
