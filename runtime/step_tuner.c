/* The pool-or-one-thread choice for steps in the tuned band (step_tuner.h). */
#include "runtime/step_tuner.h"

int step_tuner_pick(const step_tuner *t) {
  if (t->probes < STEP_TUNER_PROBES) return t->probes < STEP_TUNER_BLOCK;
  return t->pooled;
}

static double median(const double *v, int n) {
  double s[STEP_TUNER_TIMED];
  for (int i = 0; i < n; i++) { /* insertion sort: a handful of values */
    int j = i;
    for (; j > 0 && s[j - 1] > v[i]; j--) s[j] = s[j - 1];
    s[j] = v[i];
  }
  return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

void step_tuner_record(step_tuner *t, int pooled, double seconds, int64_t rows, double now) {
  if (t->probes < STEP_TUNER_PROBES) {
    int k = t->probes % STEP_TUNER_BLOCK - (STEP_TUNER_BLOCK - STEP_TUNER_TIMED);
    if (k >= 0) t->per_row[pooled != 0][k] = seconds / (double)(rows > 0 ? rows : 1);
    if (++t->probes == STEP_TUNER_PROBES) {
      enum { N = STEP_TUNER_TIMED };
      t->pooled = median(t->per_row[1], N) < STEP_TUNER_MARGIN * median(t->per_row[0], N);
      t->run_steps = 0;
      t->run_start = now;
      t->rounds++;
    }
    return;
  }
  /* the first round's choice is provisional: it was timed at the start of a
   * fit, where the steps pay what later ones do not (the first touch of
   * each page of a mapped .npy file, caches and a worker not yet warm) */
  if (++t->run_steps >= STEP_TUNER_STEPS &&
      (t->rounds == 1 || now - t->run_start >= STEP_TUNER_SECONDS))
    t->probes = 0; /* the next round */
}
