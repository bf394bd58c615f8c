/* Epoch accumulation of batch statistics into Keras's reported numbers
 * (keras-semantics.md §1.3): float32 totals and counts, as Keras's Mean and
 * confusion-matrix metrics keep them. */
#ifndef NNC_EPOCH_H
#define NNC_EPOCH_H

#include "nnc.h"
#include "nnc_program.h"

/* Statistics a table may have (model.c refuses more when it builds one). */
#define EPOCH_MAX_STATS 1024

typedef struct epoch_acc {
  float total[EPOCH_MAX_STATS];
  float count;
} epoch_acc;

void epoch_reset(epoch_acc *a);
void epoch_add(epoch_acc *a, const nnc_program_table *p, const float *stats, int64_t rows);
/* Append "loss" and every metric (names prefixed, e.g. "val_") to logs;
 * NNC_ERR_SPEC when they do not fit in NNC_MAX_LOGS. */
int epoch_results(const epoch_acc *a, const nnc_program_table *p, const char *prefix,
                  nnc_logs *logs, nnc_status *st);
void logs_sort(nnc_logs *logs);

typedef struct progbar {
  void *file;
  int verbose, target, tty, epochs;
  double start, last_update, after_first;
  int prev_width;
} progbar;

void progbar_epoch_begin(progbar *pb, int epoch);
void progbar_update(progbar *pb, int current, const nnc_logs *logs, int finalize);

int history_append(nnc_history *h, int epoch, const nnc_logs *logs, nnc_status *st);

#endif
