/* The monotonic clock in seconds (base.h). */
#include <time.h>

#include "base/base.h"

double nnc_monotonic_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
