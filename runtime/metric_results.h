/* Result rules of the stateful metrics (nnc_log_result after
 * NNC_LOG_RECALL): called by epoch_results for each such log key. */
#ifndef NNC_RUNTIME_METRIC_RESULTS_H
#define NNC_RUNTIME_METRIC_RESULTS_H

#include "nnc_program.h"

/* The value of key k from the epoch totals (n_stats of them). NNC_ERR_ARG when the key's block or
 * args do not fit the table. */
int metric_result(const nnc_log_key *k, const float *total, int n_stats, double *out,
                  nnc_status *st);

#endif
