/* Keras 3's progress output (keras/src/utils/progbar.py): verbose 1 redraws
 * one line per epoch with a 20-character bar, verbose 2 prints one line per
 * epoch. Redraws only on a terminal (elsewhere verbose 1 writes the epoch's
 * final line only); colors only on a terminal and when NO_COLOR is unset or
 * empty (https://no-color.org). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "runtime/epoch.h"

void progbar_epoch_begin(progbar *pb, int epoch) {
  FILE *f = pb->file;
  pb->tty = isatty(fileno(f));
  const char *no_color = getenv("NO_COLOR");
  pb->no_color = no_color && *no_color;
  pb->start = nnc_monotonic_seconds();
  pb->last_update = 0;
  pb->after_first = -1;
  pb->prev_width = 0;
  if (pb->verbose && pb->epochs > 1) fprintf(f, "Epoch %d/%d\n", epoch + 1, pb->epochs);
}

void progbar_first_step_done(progbar *pb) {
  if (pb->after_first < 0) pb->after_first = nnc_monotonic_seconds();
}

/* Decimal digits of a step count (Keras: int(log10(target)) + 1), without
 * floating point: a target of 0 or less counts as 1 digit. */
static int count_digits(int v) {
  int digits = 1;
  for (; v >= 10; v /= 10) digits++;
  return digits;
}

/* Seconds to show (an ETA, a step time): NaN and negative values show 0,
 * absurd ones are capped so that the int conversions below stay defined and
 * the line stays short. */
static double sane_seconds(double t) {
  if (!(t > 0)) return 0;
  return t < 1e9 ? t : 1e9;
}

static void format_step_time(double t, char *buf, size_t n) {
  t = sane_seconds(t);
  if (t >= 1 || t == 0)
    snprintf(buf, n, " %.0fs/step", t);
  else if (t >= 1e-3)
    snprintf(buf, n, " %.0fms/step", t * 1000.0);
  else
    snprintf(buf, n, " %.0fus/step", t * 1e6);
}

/* Every key, however many: printed straight to f, returns the characters written. */
static int print_values(FILE *f, const nnc_logs *logs, int abs_test) {
  int used = 0;
  for (int i = 0; i < logs->n; i++) {
    double v = logs->values[i];
    int fixed = abs_test ? fabs(v) > 1e-3 : v > 1e-3;
    int w;
    if (isnan(v)) /* Python prints every NaN as "nan"; C may print "-nan" */
      w = fprintf(f, " - %s: nan", logs->names[i]);
    else
      w = fprintf(f, fixed ? " - %s: %.4f" : " - %s: %.4e", logs->names[i], v);
    if (w > 0) used += w;
  }
  return used;
}

void progbar_update(progbar *pb, int current, const nnc_logs *logs, int finalize) {
  FILE *f = pb->file;
  double now = nnc_monotonic_seconds(), per_step = 0;
  if (current) {
    per_step = pb->after_first >= 0 && current > 1 ? (now - pb->after_first) / (current - 1)
                                                   : (now - pb->start) / current;
    if (current == 1 && pb->after_first < 0) pb->after_first = now;
  }
  char step_time[32];
  format_step_time(per_step, step_time, sizeof step_time);
  if (pb->verbose == 2) {
    if (!finalize) return;
    int digits = count_digits(pb->target);
    fprintf(f, "%*d/%d - %.0fs -%s", digits, current, pb->target, sane_seconds(now - pb->start),
            step_time);
    print_values(f, logs, 0);
    fprintf(f, "\n");
    fflush(f);
    return;
  }
  if (pb->verbose != 1) return;
  if (!finalize && (now - pb->last_update < 0.05 || !pb->tty)) return;
  pb->last_update = now;
  int digits = count_digits(pb->target);
  /* filled bar segments, in [0, 20]; an empty target shows a full bar */
  int width = pb->target > 0 && current < pb->target ? (int)(20.0 * current / pb->target) : 20;
  if (width < 0) width = 0;
  char bar[256];
  size_t b = 0;
  int color = pb->tty && !pb->no_color;
  const char *bold = color ? "\x1b[1m" : "", *reset = color ? "\x1b[0m" : "";
  const char *green = color ? "\x1b[32m" : "", *white = color ? "\x1b[37m" : "";
  b += (size_t)snprintf(bar + b, sizeof bar - b, "%s%*d/%d%s %s", bold, digits, current, pb->target,
                        reset, green);
  for (int i = 0; i < 20; i++) {
    if (i == width) b += (size_t)snprintf(bar + b, sizeof bar - b, "%s%s", reset, white);
    b += (size_t)snprintf(bar + b, sizeof bar - b, "\u2501");
  }
  b += (size_t)snprintf(bar + b, sizeof bar - b, "%s", reset);
  char when[32];
  if (finalize) {
    snprintf(when, sizeof when, "%.0fs", sane_seconds(now - pb->start));
  } else {
    double eta = sane_seconds(per_step * ((double)pb->target - current));
    if (eta > 3600)
      snprintf(when, sizeof when, "%d:%02d:%02d", (int)(eta / 3600), (int)fmod(eta, 3600) / 60,
               (int)fmod(eta, 60));
    else if (eta > 60)
      snprintf(when, sizeof when, "%d:%02d", (int)(eta / 60), (int)fmod(eta, 60));
    else
      snprintf(when, sizeof when, "%ds", (int)eta);
  }
  int line = fprintf(f, "%s%s %s%s%s%s", pb->tty ? "\r" : "", bar, bold, when, reset, step_time);
  line += print_values(f, logs, 1);
  if (pb->tty && pb->prev_width > line) fprintf(f, "%*s", pb->prev_width - line, "");
  pb->prev_width = line;
  if (finalize) fprintf(f, "\n");
  fflush(f);
}
