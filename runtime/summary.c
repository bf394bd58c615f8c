/* nnc_model_summary: the summary Keras 3 prints (keras/src/utils/
 * summary_utils.py, a rich table), from the program table's rows. The
 * table's `functional` flag (a graph that is not a chain) adds the
 * "Connected to" column. Keras sizes the table by the terminal, at most 88
 * (Sequential) or 108 (Functional) columns and 4 fewer than the terminal;
 * printed to a file or a pipe it assumes 80 columns, so the table is 76
 * wide: that layout is the one printed here. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/shape.h"
#include "runtime/api_check.h"
#include "runtime/model.h"

#define SUMMARY_WIDTH 76
#define MAX_COLS 4

/* Display cells of s[0..n): one per UTF-8 code point (names are ASCII in practice). */
static int cells(const char *s, size_t n) {
  int c = 0;
  for (size_t i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
  return c;
}

/* Bytes of s that hold its first `want` cells (at most all of s). */
static size_t bytes_for_cells(const char *s, int want) {
  size_t i = 0;
  for (int c = 0; s[i]; i++) {
    if (((unsigned char)s[i] & 0xC0) == 0x80) continue;
    if (c == want) break;
    c++;
  }
  return i;
}

/* rich's column widths for a table `total` wide: each column int(pos * total)
 * minus the previous ones, plus one space of padding a side; too wide for
 * the room inside the borders, the excess is taken from every column in
 * turn, rounded half to even as Python's round() (rich's ratio_reduce). */
static void column_widths(const double *pos, int n, int total, int *w) {
  int at = 0, sum = 0;
  for (int i = 0; i < n; i++) {
    int end = (int)(pos[i] * total);
    w[i] = end - at + 2;
    at = end;
    sum += w[i];
  }
  int excess = sum - (total - (n + 1)), ratio = n;
  for (int i = 0; i < n && excess > 0; i++) {
    int take = (int)nearbyint((double)excess / ratio);
    if (take > w[i]) take = w[i];
    w[i] -= take;
    excess -= take;
    ratio--;
  }
}

/* One wrapped line of a cell from *pos, as rich wraps words: whole words
 * (with the spaces after them) while they fit, a word longer than the
 * width cut at the width. Returns the line's bytes; *pos moves past it. */
static size_t next_line(const char *s, size_t *pos, int width) {
  size_t p = *pos, q = p;
  int used = 0;
  if (width < 1) width = 1; /* a cut always moves on */
  while (s[q]) {
    size_t end = q, after;
    while (s[end] && s[end] != ' ') end++;
    for (after = end; s[after] == ' ';) after++;
    int word = cells(s + q, end - q);
    if (used + word <= width) {
      used += cells(s + q, after - q);
      q = after;
      continue;
    }
    if (used == 0) { /* longer than the whole width: cut it */
      q += bytes_for_cells(s + q, width);
      break;
    }
    break;
  }
  *pos = q;
  size_t n = q - p;
  while (n && s[p + n - 1] == ' ') n--; /* spaces at the break are not shown */
  return n;
}

static int line_count(const char *s, int width) {
  size_t pos = 0;
  int n = 0;
  do {
    next_line(s, &pos, width);
    n++;
  } while (s[pos]);
  return n;
}

/* A border: left, fill, joint, right (rich's HEAVY_HEAD box). */
static void border(FILE *f, const int *w, int n, const char *l, const char *fill, const char *joint,
                   const char *r) {
  fputs(l, f);
  for (int i = 0; i < n; i++) {
    for (int k = 0; k < w[i]; k++) fputs(fill, f);
    fputs(i + 1 < n ? joint : r, f);
  }
  fputc('\n', f);
}

/* One table row: every cell wrapped to its column, top-aligned. */
static void row(FILE *f, const int *w, int n, const char *const *text, const int *right,
                const char *bar) {
  size_t pos[MAX_COLS] = {0};
  int height = 1;
  for (int i = 0; i < n; i++) {
    int h = line_count(text[i], w[i] - 2);
    if (h > height) height = h;
  }
  for (int line = 0; line < height; line++) {
    fputs(bar, f);
    for (int i = 0; i < n; i++) {
      const char *s = text[i];
      size_t at = pos[i], len = s[at] ? next_line(s, &pos[i], w[i] - 2) : 0;
      int pad = w[i] - 2 - cells(s + at, len);
      if (pad < 0) pad = 0;
      fprintf(f, " %*s%.*s%*s %s", right[i] ? pad : 0, "", (int)len, s + at, right[i] ? 0 : pad, "",
              bar);
    }
    fputc('\n', f);
  }
}

/* 2762 -> "2,762", as Python's format "{:,}". */
static void with_commas(int64_t v, char *buf, size_t n) {
  char digits[32];
  int len = snprintf(digits, sizeof digits, "%lld", (long long)(v < 0 ? -v : v));
  size_t o = 0;
  if (v < 0 && o + 1 < n) buf[o++] = '-';
  for (int i = 0; i < len && o + 1 < n; i++) {
    if (i && (len - i) % 3 == 0 && o + 1 < n) buf[o++] = ',';
    buf[o++] = digits[i];
  }
  buf[o] = '\0';
}

/* Keras's readable_memory_size: bytes in the largest unit below 1024 of it. */
static void memory_size(double bytes, char *buf, size_t n) {
  static const char *const units[] = {"B", "KB", "MB", "GB", "TB", "PB"};
  int u = 0;
  while (u < 5 && bytes / 1024 >= 1) {
    bytes /= 1024;
    u++;
  }
  snprintf(buf, n, "%.2f %s", bytes, units[u]);
}

static void row_shape(const nnc_summary_row *r, char *buf, size_t n) {
  nnc_shape s = {0};
  s.rank = r->rank;
  s.batched = r->rank > 0;
  for (int i = 0; i < r->rank; i++) s.dims[i] = r->shape[i];
  shape_format_keras(&s, buf, n);
}

static void count_line(FILE *f, const char *what, int64_t count) {
  char num[48], size[32];
  with_commas(count, num, sizeof num);
  memory_size((double)count * 4, size, sizeof size); /* every variable is float32 */
  fprintf(f, " %s: %s (%s)\n", what, num, size);
}

int model_print_summary(const nnc_program_table *t, FILE *f, nnc_status *st) {
  static const double seq_pos[] = {0.45, 0.80, 1.0}, fun_pos[] = {0.3, 0.56, 0.74, 1.0};
  static const char *const header[] = {"Layer (type)", "Output Shape", "Param #", "Connected to"};
  static const int right[] = {0, 0, 1, 0};
  int n = t->functional ? 4 : 3, w[MAX_COLS];
  column_widths(t->functional ? fun_pos : seq_pos, n, SUMMARY_WIDTH, w);
  fprintf(f, "Model: \"%s\"\n", t->model_name ? t->model_name : "");
  border(f, w, n, "\u250f", "\u2501", "\u2533", "\u2513");
  row(f, w, n, header, right, "\u2503");
  if (t->n_summary_rows) border(f, w, n, "\u2521", "\u2501", "\u2547", "\u2529");
  int64_t total = 0, trainable = 0;
  for (int i = 0; i < t->n_summary_rows; i++) {
    const nnc_summary_row *r = &t->summary[i];
    char shape[256], params[48]; /* room for 8 dimensions of 20 digits */
    const char *layer = r->name ? r->name : "", *cls = r->class_name ? r->class_name : "";
    size_t size = strlen(layer) + strlen(cls) + 4; /* names of any length: never cut */
    char *name = malloc(size);
    if (!name) return nnc_fail(st, NNC_ERR_NOMEM, "out of memory printing the summary");
    snprintf(name, size, "%s (%s)", layer, cls);
    row_shape(r, shape, sizeof shape);
    with_commas(r->params, params, sizeof params);
    const char *text[] = {name, shape, params, r->connected ? r->connected : "-"};
    if (i) border(f, w, n, "\u251c", "\u2500", "\u253c", "\u2524");
    row(f, w, n, text, right, "\u2502");
    free(name);
    total += r->params;
    trainable += r->trainable;
  }
  border(f, w, n, "\u2514", "\u2500", "\u2534", "\u2518");
  count_line(f, "Total params", total);
  count_line(f, "Trainable params", trainable);
  count_line(f, "Non-trainable params", total - trainable);
  return NNC_OK;
}

int nnc_model_summary(const nnc_model *m, void *file, nnc_status *st) {
  API_STATUS(st);
  if (api_nonnull(m, "nnc_model_summary", "m", st)) return NNC_ERR_ARG;
  if (!m->built)
    return nnc_fail(st, NNC_ERR_ARG, "%s: the model declares no input shape; give data to build it",
                    model_source(m));
  return model_print_summary(m->t, file ? file : stdout, st);
}
