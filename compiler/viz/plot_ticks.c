/* Axis ticks for the plots: steps of 1, 2 or 5 times a power of ten, and
 * labels with as many digits as the step needs. */
#include <math.h>
#include <stdio.h>

#include "compiler/viz/plot.h"

int viz_nice_ticks(double lo, double hi, int max_ticks, double *ticks, int cap, double *step) {
  if (!(lo < hi) || !isfinite(hi - lo) || max_ticks < 2 || cap < 1) return 0;
  double raw = (hi - lo) / (max_ticks - 1);
  if (!isnormal(raw)) return 0; /* a subnormal span: no step to count in */
  double p = pow(10.0, floor(log10(raw)));
  static const double mult[] = {1, 2, 5, 10};
  double s = 10 * p;
  for (int i = 0; i < 4; i++)
    if (mult[i] * p >= raw) {
      s = mult[i] * p;
      break;
    }
  if (!(s > 0) || !isfinite(s)) return 0;
  /* the ticks inside [lo, hi]: k * s for integer k (no accumulated drift) */
  double k0 = ceil(lo / s - 1e-9), k1 = floor(hi / s + 1e-9);
  int n = 0;
  for (double k = k0; k <= k1 && n < cap; k++) {
    double t = k * s;
    ticks[n++] = fabs(t) < s * 1e-9 ? 0.0 : t;
  }
  *step = s;
  return n;
}

void viz_tick_label(double v, double step, char *buf, size_t size) {
  double a = fabs(v) > step ? fabs(v) : step;
  if (v == 0) {
    snprintf(buf, size, "0");
  } else if (step >= 1e-4 && a < 1e6) {
    int decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    snprintf(buf, size, "%.*f", decimals, v);
  } else { /* huge or tiny: the mantissa needs the digits from a down to the step */
    int digits = (int)floor(log10(a)) - (int)floor(log10(step) + 1e-9);
    if (digits < 0) digits = 0;
    if (digits > 6) digits = 6;
    snprintf(buf, size, "%.*e", digits, v);
  }
}
