/* compiler/viz — pictures of runs and graphs: the training curves of a
 * History file as SVG (plot_*.c), kernel names and IR text of a compiled
 * module (kernels.c), and the HTML page of a compiled model (html.c). */
#ifndef NNC_VIZ_PLOT_H
#define NNC_VIZ_PLOT_H

#include <stddef.h>

#include "nnc.h"

/* One History key: its values per epoch (NaN where the file has null, NaN
 * or an infinity). */
typedef struct viz_series {
  char *name;
  int n;
  double *v;
} viz_series;

typedef struct viz_history {
  int n_series;
  viz_series *s;
} viz_history;

/* Parse a History JSON: {"loss": [...], "val_loss": [...], ...} as
 * `nnc fit --history` writes it or as Keras's history.history dumps it
 * (NaN, Infinity and -Infinity literals accepted), or the same dict under a
 * "history" key. Errors (NNC_ERR_DATA) name source and the JSON path or
 * line:column. */
int viz_history_parse(const char *text, size_t len, const char *source, viz_history *h,
                      nnc_status *st);
void viz_history_free(viz_history *h);

typedef struct viz_plot_options {
  const char *title;   /* NULL: "Training history" */
  const char *metrics; /* comma-separated quantities to draw ("loss,accuracy"); NULL: all */
} viz_plot_options;

/* The SVG document (malloc'ed text in *out, *len bytes): one panel per
 * quantity, training solid and validation dashed, and the learning rate
 * on a log scale when it changed. */
int viz_plot_svg(const viz_history *h, const viz_plot_options *o, char **out, size_t *len,
                 nnc_status *st);

/* "Nice" ticks (1, 2 or 5 times a power of ten) covering [lo, hi] with at
 * most max_ticks of them: the count written to ticks (at most cap), the
 * step in *step. lo < hi, both finite. */
int viz_nice_ticks(double lo, double hi, int max_ticks, double *ticks, int cap, double *step);
/* A tick's label: as few digits as the step needs ("0.25", "1e+06"). */
void viz_tick_label(double v, double step, char *buf, size_t size);

#endif
