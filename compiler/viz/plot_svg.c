/* `nnc plot`: the curves of a History as one self-contained SVG (no fonts,
 * scripts or images from elsewhere). One panel per quantity, loss first:
 * training solid, validation dashed in the same colour, a marker per epoch
 * while there are few; non-finite values are gaps. A learning rate that
 * changed gets a small panel of its own on a log scale. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "compiler/viz/plot.h"
#include "compiler/viz/xml.h"

enum { WIDTH = 760, PLOT_X = 84, PLOT_W = 500, LEGEND_X = 604, PANEL_H = 200, LR_H = 110 };
/* MAX_KEYS bounds the quadratic matching of keys to panels */
enum { MAX_PANELS = 64, MAX_KEYS = 4096, MAX_TICKS = 16, MARKERS_UP_TO = 60 };

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                      "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};

static void put_text(FILE *f, const char *s, size_t max) {
  viz_xml_text(f, s, max);
}

static int is_lr(const char *name) {
  return !strcmp(name, "learning_rate") || !strcmp(name, "lr");
}

/* The quantity a key belongs to: "val_loss" -> "loss". */
static const char *base_of(const char *name) {
  return strncmp(name, "val_", 4) || !name[4] ? name : name + 4;
}

typedef struct panel {
  const char *name;   /* the quantity: "loss", "accuracy", or the learning rate's key */
  int train, val, lr; /* series indices (-1: none); lr: this is the learning-rate panel */
} panel;

static int find_panel(const panel *p, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (!strcmp(p[i].name, name)) return i;
  return -1;
}

/* The panels in order: loss, the other quantities as the file lists them,
 * and the learning rate when it changed; -code on errors. */
static int make_panels(const viz_history *h, const char *metrics, panel *p, nnc_status *st) {
  int n = 0, lr = -1;
  for (int i = 0; i < h->n_series; i++) {
    const char *name = h->s[i].name;
    if (is_lr(name)) {
      if (lr < 0) lr = i;
      continue;
    }
    const char *b = base_of(name);
    int k = find_panel(p, n, b);
    if (k < 0) {
      p[n] = (panel){b, -1, -1, 0};
      k = n++;
    }
    if (b == name)
      p[k].train = i;
    else
      p[k].val = i;
  }
  int loss = find_panel(p, n, "loss");
  if (loss > 0) { /* loss first */
    panel t = p[loss];
    memmove(p + 1, p, (size_t)loss * sizeof *p);
    p[0] = t;
  }
  if (lr >= 0) {
    double lo = INFINITY, hi = -INFINITY;
    for (int e = 0; e < h->s[lr].n; e++)
      if (isfinite(h->s[lr].v[e])) {
        lo = fmin(lo, h->s[lr].v[e]);
        hi = fmax(hi, h->s[lr].v[e]);
      }
    if (lo < hi) p[n++] = (panel){h->s[lr].name, lr, -1, 1};
  }
  if (!metrics) {
    if (n > MAX_PANELS)
      return -nnc_fail(st, NNC_ERR_DATA,
                       "%d quantities, more than the %d a picture holds: pick some with --metrics "
                       "a,b",
                       n, MAX_PANELS);
    return n;
  }
  /* --metrics a,b: those panels, in that order */
  panel chosen[MAX_PANELS];
  int m = 0;
  for (const char *s = metrics; *s;) {
    size_t len = strcspn(s, ",");
    int k = -1;
    for (int i = 0; i < n && k < 0; i++)
      if (strlen(p[i].name) == len && !strncmp(p[i].name, s, len)) k = i;
    /* val_X is drawn (dashed) in X's panel: naming it picks that panel */
    for (int i = 0; i < n && k < 0 && len > 4 && !strncmp(s, "val_", 4); i++)
      if (strlen(p[i].name) == len - 4 && !strncmp(p[i].name, s + 4, len - 4)) k = i;
    if (k < 0) {
      char have[512] = "";
      size_t used = 0;
      for (int i = 0; i < n && used < sizeof have; i++)
        used += (size_t)snprintf(have + used, sizeof have - used, "%s%s", i ? ", " : "", p[i].name);
      return -nnc_fail(st, NNC_ERR_ARG, "--metrics: no quantity '%.*s' in the history (it has: %s)",
                       (int)(len > 64 ? 64 : len), s, have);
    }
    for (int j = 0; j < m; j++) /* one panel per quantity: a repeat is a typo */
      if (!strcmp(chosen[j].name, p[k].name))
        return -nnc_fail(st, NNC_ERR_ARG, "--metrics: '%s' is given twice", p[k].name);
    if (m == MAX_PANELS)
      return -nnc_fail(st, NNC_ERR_ARG, "--metrics: at most %d quantities", MAX_PANELS);
    chosen[m++] = p[k];
    s += len + (s[len] == ',');
  }
  if (!m) return -nnc_fail(st, NNC_ERR_ARG, "--metrics: expected names such as loss,accuracy");
  memcpy(p, chosen, (size_t)m * sizeof *p);
  return m;
}

typedef struct axis {
  double lo, hi; /* the domain (log10 of it on a log axis) */
  int log;
  int too_wide; /* finite values further apart than a double can hold (lo, hi NaN) */
} axis;

static double ypos(const axis *a, double v, double top, double h) {
  double t = a->log ? log10(v) : v;
  return top + (a->hi - t) / (a->hi - a->lo) * h;
}

static double xpos(double e, double lo, double hi) {
  return PLOT_X + 8 + (e - lo) / (hi - lo) * (PLOT_W - 16);
}

/* One series as a path broken at non-finite values, and its markers. */
static void draw_series(FILE *f, const viz_series *s, const axis *a, double top, double h,
                        double xlo, double xhi, const char *colour, int dashed) {
  fprintf(f, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s d=\"", colour,
          dashed ? " stroke-dasharray=\"6 4\"" : "");
  int pen = 0;
  for (int e = 0; e < s->n; e++) {
    double v = s->v[e];
    if (!isfinite(v) || (a->log && v <= 0)) {
      pen = 0;
      continue;
    }
    fprintf(f, "%c%.2f %.2f ", pen ? 'L' : 'M', xpos(e + 1, xlo, xhi), ypos(a, v, top, h));
    pen = 1;
  }
  fprintf(f, "\"/>\n");
  for (int e = 0; e < s->n; e++) {
    double v = s->v[e];
    if (!isfinite(v) || (a->log && v <= 0)) continue;
    int alone = (e == 0 || !isfinite(s->v[e - 1])) && (e + 1 == s->n || !isfinite(s->v[e + 1]));
    if (s->n > MARKERS_UP_TO && !alone) continue;
    fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%s\" stroke=\"%s\"/>\n",
            xpos(e + 1, xlo, xhi), ypos(a, v, top, h), dashed ? "#ffffff" : colour, colour);
  }
}

static int has_gap(const viz_series *s) {
  for (int e = 0; e < s->n; e++)
    if (!isfinite(s->v[e])) return 1;
  return 0;
}

/* The y axis of a panel from its finite values: NaN lo when there are none. */
static axis y_axis(const viz_history *h, const panel *p) {
  axis a = {INFINITY, -INFINITY, 0, 0};
  int idx[2] = {p->train, p->val}, all_positive = 1;
  for (int k = 0; k < 2; k++) {
    if (idx[k] < 0) continue;
    const viz_series *s = &h->s[idx[k]];
    for (int e = 0; e < s->n; e++)
      if (isfinite(s->v[e])) {
        a.lo = fmin(a.lo, s->v[e]);
        a.hi = fmax(a.hi, s->v[e]);
        all_positive &= s->v[e] > 0;
      }
  }
  if (a.lo > a.hi) {
    a.lo = a.hi = NAN;
    return a;
  }
  if (p->lr && all_positive) { /* whole decades around the rates */
    a.log = 1;
    a.lo = floor(log10(a.lo));
    a.hi = ceil(log10(a.hi));
    if (a.hi <= a.lo) a.hi = a.lo + 1;
    double d = (a.hi - a.lo) * 0.05; /* markers on a decade stay inside */
    a.lo -= d;
    a.hi += d;
    return a;
  }
  /* a constant, or values closer than ticks can resolve (subnormal spans):
   * a band around their middle */
  if (!(a.hi - a.lo >= 1e-300 && a.hi - a.lo >= fmax(fabs(a.lo), fabs(a.hi)) * 1e-12)) {
    double mid = a.lo / 2 + a.hi / 2;
    double d = mid != 0 ? fmax(fabs(mid) * 0.1, 1e-300) : 1;
    a.lo = mid - d;
    a.hi = mid + d;
  } else {
    double d = (a.hi - a.lo) * 0.06;
    if (isfinite(a.lo - d) && isfinite(a.hi + d)) {
      a.lo -= d;
      a.hi += d;
    }
  }
  if (!isfinite(a.hi - a.lo)) { /* beyond what a double can span */
    a.lo = a.hi = NAN;
    a.too_wide = 1;
  }
  return a;
}

static void legend_entry(FILE *f, double y, const char *colour, int dashed, const char *name) {
  fprintf(
      f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"%s/>\n",
      LEGEND_X, y, LEGEND_X + 28, y, colour, dashed ? " stroke-dasharray=\"6 4\"" : "");
  fprintf(f, "<text x=\"%d\" y=\"%.1f\" class=\"legend\">", LEGEND_X + 34, y + 4);
  put_text(f, name, 40);
  fprintf(f, "</text>\n");
}

static void draw_panel(FILE *f, const viz_history *h, const panel *p, int index, double top,
                       double ph, int epochs) {
  const char *colour = p->lr ? "#444444" : palette[index % 8];
  double xlo = epochs > 1 ? 1 : 0, xhi = epochs > 1 ? epochs : 2;
  fprintf(f, "<g class=\"panel\" id=\"panel-%d\">\n<text x=\"%d\" y=\"%.1f\" class=\"ptitle\">",
          index, PLOT_X, top - 10);
  put_text(f, p->lr ? "learning rate" : p->name, 80);
  fprintf(f, "%s</text>\n", p->lr ? " (log scale)" : "");
  fprintf(f,
          "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"#ffffff\" "
          "stroke=\"#888888\"/>\n",
          PLOT_X, top, PLOT_W, ph);
  /* x ticks: whole epochs */
  double ticks[MAX_TICKS], step = 1;
  int nt = epochs > 1 ? viz_nice_ticks(1, epochs, 10, ticks, MAX_TICKS, &step) : 0;
  if (epochs == 1 || step < 1) {
    nt = 0;
    for (int e = 1; e <= epochs && nt < MAX_TICKS; e++) ticks[nt++] = e;
  }
  char label[64];
  for (int i = 0; i < nt; i++) {
    double x = xpos(ticks[i], xlo, xhi);
    fprintf(f, "<line x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\" class=\"grid\"/>\n", x, top,
            x, top + ph);
    fprintf(f, "<text x=\"%.2f\" y=\"%.1f\" class=\"xtick\">%.0f</text>\n", x, top + ph + 16,
            ticks[i]);
  }
  fprintf(f, "<text x=\"%d\" y=\"%.1f\" class=\"xlabel\">epoch</text>\n", PLOT_X + PLOT_W / 2,
          top + ph + 34);
  fprintf(f, "<text transform=\"translate(%d %.1f) rotate(-90)\" class=\"ylabel\">", 16,
          top + ph / 2);
  put_text(f, p->lr ? "learning rate" : p->name, 40);
  fprintf(f, "</text>\n");
  double ly = top + 14;
  if (p->train >= 0) {
    legend_entry(f, ly, colour, 0, h->s[p->train].name);
    ly += 20;
  }
  if (p->val >= 0) {
    legend_entry(f, ly, colour, 1, h->s[p->val].name);
    ly += 20;
  }
  if ((p->train >= 0 && has_gap(&h->s[p->train])) || (p->val >= 0 && has_gap(&h->s[p->val])))
    fprintf(f, "<text x=\"%d\" y=\"%.1f\" class=\"note\">gaps: NaN or inf</text>\n", LEGEND_X,
            ly + 4);
  axis a = y_axis(h, p);
  if (isnan(a.lo)) {
    fprintf(f, "<text x=\"%d\" y=\"%.1f\" class=\"note\">%s</text>\n</g>\n", PLOT_X + PLOT_W / 2,
            top + ph / 2,
            a.too_wide ? "values too far apart to draw (their span overflows a double)"
                       : "no finite values to draw");
    return;
  }
  /* y ticks */
  nt = 0;
  if (a.log) { /* 1, 2, 5 per decade over at most two decades, else the decades */
    int decades = (int)floor(a.hi) - (int)ceil(a.lo);
    for (int k = (int)floor(a.lo); k <= (int)ceil(a.hi) && nt < MAX_TICKS; k++)
      for (int m = 1; m <= 5 && nt < MAX_TICKS; m += m == 1 ? 1 : 3) {
        if (decades > 2 && m > 1) break;
        double t = m * pow(10.0, k);
        if (log10(t) >= a.lo - 1e-9 && log10(t) <= a.hi + 1e-9) ticks[nt++] = t;
      }
  } else {
    nt = viz_nice_ticks(a.lo, a.hi, p->lr ? 4 : 6, ticks, MAX_TICKS, &step);
  }
  for (int i = 0; i < nt; i++) {
    double y = ypos(&a, ticks[i], top, ph);
    if (a.log)
      snprintf(label, sizeof label, "%g", ticks[i]);
    else
      viz_tick_label(ticks[i], step, label, sizeof label);
    fprintf(f, "<line x1=\"%d\" y1=\"%.2f\" x2=\"%d\" y2=\"%.2f\" class=\"grid\"/>\n", PLOT_X, y,
            PLOT_X + PLOT_W, y);
    fprintf(f, "<text x=\"%d\" y=\"%.2f\" class=\"ytick\">%s</text>\n", PLOT_X - 6, y + 4, label);
  }
  fprintf(f,
          "<svg x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" viewBox=\"%d %.1f %d %.1f\" "
          "overflow=\"hidden\">\n",
          PLOT_X, top, PLOT_W, ph, PLOT_X, top, PLOT_W, ph);
  if (p->train >= 0) draw_series(f, &h->s[p->train], &a, top, ph, xlo, xhi, colour, 0);
  if (p->val >= 0) draw_series(f, &h->s[p->val], &a, top, ph, xlo, xhi, colour, 1);
  fprintf(f, "</svg>\n");
  fprintf(f, "</g>\n");
}

int viz_plot_svg(const viz_history *h, const viz_plot_options *o, char **out, size_t *len,
                 nnc_status *st) {
  *out = NULL;
  *len = 0;
  if (h->n_series > MAX_KEYS)
    return nnc_fail(st, NNC_ERR_DATA, "%d keys: at most %d are read", h->n_series, MAX_KEYS);
  panel *p = nnc_calloc((size_t)h->n_series + 1, sizeof *p, st);
  if (!p) return st->code;
  int n = make_panels(h, o ? o->metrics : NULL, p, st);
  if (n <= 0) {
    free(p);
    if (n < 0) return st->code;
    return nnc_fail(st, NNC_ERR_DATA, "nothing to draw: the history has only a learning rate");
  }
  int epochs = 0;
  for (int i = 0; i < n; i++) {
    if (p[i].train >= 0 && h->s[p[i].train].n > epochs) epochs = h->s[p[i].train].n;
    if (p[i].val >= 0 && h->s[p[i].val].n > epochs) epochs = h->s[p[i].val].n;
  }
  double height = 56;
  for (int i = 0; i < n; i++) height += (p[i].lr ? LR_H : PANEL_H) + 78;
  FILE *f = open_memstream(out, len);
  if (!f) {
    free(p);
    return nnc_fail(st, NNC_ERR_NOMEM, "out of memory drawing the plot");
  }
  const char *title = o && o->title ? o->title : "Training history";
  fprintf(f,
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" "
          "height=\"%.0f\" viewBox=\"0 0 %d %.0f\">\n<title>",
          WIDTH, height, WIDTH, height);
  put_text(f, title, 200);
  fprintf(f,
          "</title>\n<style>\n"
          "text { font-family: 'DejaVu Sans', Arial, sans-serif; fill: #222222; }\n"
          ".title { font-size: 18px; font-weight: bold; }\n"
          ".ptitle { font-size: 14px; font-weight: bold; }\n"
          ".xtick { font-size: 11px; text-anchor: middle; }\n"
          ".ytick { font-size: 11px; text-anchor: end; }\n"
          ".xlabel, .ylabel { font-size: 12px; text-anchor: middle; }\n"
          ".legend { font-size: 12px; }\n"
          ".note { font-size: 11px; fill: #a00000; }\n"
          ".grid { stroke: #e4e4e4; stroke-width: 1; }\n"
          "</style>\n"
          "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n"
          "<text x=\"%d\" y=\"30\" class=\"title\">",
          PLOT_X);
  put_text(f, title, 200);
  fprintf(f, "</text>\n");
  double top = 56 + 30;
  for (int i = 0; i < n; i++) {
    double ph = p[i].lr ? LR_H : PANEL_H;
    draw_panel(f, h, &p[i], i, top, ph, epochs);
    top += ph + 78;
  }
  fprintf(f, "</svg>\n");
  free(p);
  if (fclose(f)) {
    free(*out);
    *out = NULL;
    return nnc_fail(st, NNC_ERR_NOMEM, "out of memory drawing the plot");
  }
  return NNC_OK;
}
