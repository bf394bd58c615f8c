/* Metrics computed by the host (nnc_model_add_metric). Stub until they land
 * (issue 7): no host metrics. */
#include "runtime/model.h"

void host_metrics_reset(nnc_model *m) {
  (void)m;
}

void host_metrics_update(nnc_model *m, float *const *io_regions, int64_t rows) {
  (void)m;
  (void)io_regions;
  (void)rows;
}

int host_metrics_results(const nnc_model *m, const char *prefix, nnc_logs *logs, nnc_status *st) {
  (void)m;
  (void)prefix;
  (void)logs;
  (void)st;
  return NNC_OK;
}
