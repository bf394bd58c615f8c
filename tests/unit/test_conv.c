/* Convolution layers (Conv1D/2D/3D) and the three convolution ops against a
 * float64 reference written here from Keras 3's definition:
 *   y[b, o, f] = bias[f] + sum over k, c of x[b, o s - pad + k d, c + g C/G] w[k, c, f]
 * (g = f's group, zero outside the input), with Keras's padding: valid (none),
 * same (TensorFlow's SAME: ceil(n / s) outputs, total padding
 * max((out - 1) s + d (k - 1) + 1 - n, 0), before = total // 2), causal (1-D:
 * d (k - 1) before). channels_first reads and writes [B, C, spatial..].
 *
 * Each case is  x -> pre (a 1x1 conv, no bias) -> conv (the geometry under
 * test, bias, activation) -> Flatten, trained on mse with SGD(1): one
 * train_on_batch moves every weight by minus its gradient. The gradient of
 * `pre`'s kernel flows through conv's input gradient (conv_transpose), so the
 * three ops are all checked: forward values (predict) and the loss against
 * the reference, every weight's step against central differences of the
 * float64 reference loss (h = 1e-6, exact to ~1e-9 for these smooth nets).
 * Hand-derived values pin the padding rules independently of the reference. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "runtime/io/io.h"
#include "testutil.h"

#define B 2

typedef struct conv_case {
  const char *name;
  int sp;        /* spatial axes */
  int64_t in[3]; /* input spatial size */
  int64_t cin;   /* input channels */
  int64_t mid;   /* channels after pre */
  int64_t filters, groups;
  int64_t k[3], s[3], d[3];
  const char *padding;
  const char *activation; /* "linear" or "tanh" */
  int channels_first;
  int use_bias;
  int64_t multiplier; /* > 0: DepthwiseConv (groups = mid, filters = mid x multiplier) */
} conv_case;

/* ---- the float64 reference ---- */

typedef struct geom {
  int64_t in[3], out[3], k[3], s[3], d[3], pad[3];
} geom;

static void make_geom(const conv_case *c, geom *g) {
  for (int a = 0; a < 3; a++) {
    int lead = 3 - c->sp, j = a - lead;
    int64_t n = j < 0 ? 1 : c->in[j], k = j < 0 ? 1 : c->k[j], s = j < 0 ? 1 : c->s[j],
            d = j < 0 ? 1 : c->d[j];
    int64_t before = 0, after = 0;
    if (j >= 0 && !strcmp(c->padding, "same")) {
      int64_t out = (n + s - 1) / s, total = (out - 1) * s + d * (k - 1) + 1 - n;
      if (total < 0) total = 0;
      before = total / 2;
      after = total - before;
    } else if (j >= 0 && !strcmp(c->padding, "causal")) {
      before = d * (k - 1);
    }
    g->in[a] = n;
    g->k[a] = k;
    g->s[a] = s;
    g->d[a] = d;
    g->pad[a] = before;
    g->out[a] = (n + before + after - d * (k - 1) - 1) / s + 1;
  }
}

static int64_t vol(const int64_t *d) {
  return d[0] * d[1] * d[2];
}

/* The flat index in the layer's layout of (b, position p (3-D), channel ch). */
static int64_t at(const conv_case *c, const int64_t *dims, int64_t ch_count, int64_t b,
                  const int64_t *p, int64_t ch) {
  int64_t pos = (p[0] * dims[1] + p[1]) * dims[2] + p[2];
  return c->channels_first ? (b * ch_count + ch) * vol(dims) + pos
                           : (b * vol(dims) + pos) * ch_count + ch;
}

/* y (layout of the layer's data_format, output spatial g->out) */
static void ref_forward(const conv_case *c, const geom *g, const double *x, const double *wpre,
                        const double *wk, const double *bias, double *y) {
  int64_t n_in = vol(g->in), cg_in = c->mid / c->groups, fg = c->filters / c->groups;
  double *h = calloc((size_t)(B * n_in * c->mid), sizeof *h); /* pre's output, channels last */
  for (int64_t b = 0; b < B; b++)
    for (int64_t q = 0; q < n_in; q++) {
      int64_t p[3] = {q / (g->in[1] * g->in[2]), q / g->in[2] % g->in[1], q % g->in[2]};
      for (int64_t m = 0; m < c->mid; m++) {
        double acc = 0;
        for (int64_t ci = 0; ci < c->cin; ci++)
          acc += x[at(c, g->in, c->cin, b, p, ci)] * wpre[ci * c->mid + m];
        h[(b * n_in + q) * c->mid + m] = acc;
      }
    }
  for (int64_t b = 0; b < B; b++)
    for (int64_t q = 0; q < vol(g->out); q++) {
      int64_t o[3] = {q / (g->out[1] * g->out[2]), q / g->out[2] % g->out[1], q % g->out[2]};
      for (int64_t f = 0; f < c->filters; f++) {
        int64_t grp = f / fg;
        double acc = c->use_bias ? bias[f] : 0.0;
        for (int64_t k0 = 0; k0 < g->k[0]; k0++)
          for (int64_t k1 = 0; k1 < g->k[1]; k1++)
            for (int64_t k2 = 0; k2 < g->k[2]; k2++) {
              int64_t kk[3] = {k0, k1, k2}, i[3];
              int inside = 1;
              for (int a = 0; a < 3; a++) {
                i[a] = o[a] * g->s[a] - g->pad[a] + kk[a] * g->d[a];
                inside &= i[a] >= 0 && i[a] < g->in[a];
              }
              if (!inside) continue;
              int64_t pos = (i[0] * g->in[1] + i[1]) * g->in[2] + i[2];
              int64_t kpos = (k0 * g->k[1] + k1) * g->k[2] + k2;
              for (int64_t ci = 0; ci < cg_in; ci++)
                acc += h[(b * n_in + pos) * c->mid + grp * cg_in + ci] *
                       wk[(kpos * cg_in + ci) * c->filters + f];
            }
        if (!strcmp(c->activation, "tanh")) acc = tanh(acc);
        y[at(c, g->out, c->filters, b, o, f)] = acc;
      }
    }
  free(h);
}

static double ref_loss(const conv_case *c, const geom *g, const double *x, const double *wpre,
                       const double *wk, const double *bias, const double *t) {
  int64_t n = B * vol(g->out) * c->filters;
  double *y = malloc((size_t)n * sizeof *y), sum = 0;
  ref_forward(c, g, x, wpre, wk, bias, y);
  for (int64_t e = 0; e < n; e++) sum += (y[e] - t[e]) * (y[e] - t[e]);
  free(y);
  return sum / (double)n;
}

/* ---- the model ---- */

static void tuple(char *buf, size_t size, const int64_t *v, int n) {
  size_t used = (size_t)snprintf(buf, size, "[");
  for (int a = 0; a < n; a++)
    used += (size_t)snprintf(buf + used, size - used, "%s%lld", a ? ", " : "", (long long)v[a]);
  snprintf(buf + used, size - used, "]");
}

static const char *case_json(const conv_case *c) {
  static char json[4096];
  char shape[128], k[64], s[64], d[64], ones[64];
  int64_t dims[4], one[3] = {1, 1, 1};
  int r = 0;
  if (c->channels_first) dims[r++] = c->cin;
  for (int a = 0; a < c->sp; a++) dims[r++] = c->in[a];
  if (!c->channels_first) dims[r++] = c->cin;
  char inner[96];
  tuple(inner, sizeof inner, dims, r);
  snprintf(shape, sizeof shape, "[null, %s", inner + 1);
  tuple(k, sizeof k, c->k, c->sp);
  tuple(s, sizeof s, c->s, c->sp);
  tuple(d, sizeof d, c->d, c->sp);
  tuple(ones, sizeof ones, one, c->sp);
  const char *fmt = c->channels_first ? "channels_first" : "channels_last";
  char own[96];
  if (c->multiplier)
    snprintf(own, sizeof own, "\"depth_multiplier\": %lld", (long long)c->multiplier);
  else
    snprintf(own, sizeof own, "\"filters\": %lld, \"groups\": %lld", (long long)c->filters,
             (long long)c->groups);
  snprintf(json, sizeof json,
           "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m\", \"layers\": ["
           "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": %s, \"name\": \"x\"}},"
           "{\"class_name\": \"Conv%dD\", \"config\": {\"name\": \"pre\", \"filters\": %lld, "
           "\"kernel_size\": %s, \"use_bias\": false, \"data_format\": \"%s\"}},"
           "{\"class_name\": \"%sConv%dD\", \"config\": {\"name\": \"conv\", %s, "
           "\"kernel_size\": %s, \"strides\": %s, \"dilation_rate\": %s, \"padding\": \"%s\", "
           "\"activation\": \"%s\", \"use_bias\": %s, \"data_format\": \"%s\"}},"
           "{\"class_name\": \"Flatten\", \"config\": {\"name\": \"flatten\"}}]},"
           "\"compile_config\": {\"optimizer\": {\"class_name\": \"SGD\", \"config\": "
           "{\"learning_rate\": 1.0}}, \"loss\": \"mse\"}}",
           shape, c->sp, (long long)c->mid, ones, fmt, c->multiplier ? "Depthwise" : "", c->sp, own,
           k, s, d, c->padding, c->activation, c->use_bias ? "true" : "false", fmt);
  return json;
}

static double pseudo(int64_t i, double freq, double shift) {
  return 0.5 * sin(freq * (double)i + shift) + 0.05;
}

static void fill(nnc_array *a, double *ref, double freq, double shift) {
  float *v = a->data;
  for (int64_t e = 0; e < nnc_array_count(a); e++) {
    v[e] = (float)pseudo(e, freq, shift);
    ref[e] = v[e];
  }
}

static void check_case(const conv_case *c) {
  geom g;
  make_geom(c, &g);
  int64_t n_x = B * vol(g.in) * c->cin, n_y = B * vol(g.out) * c->filters;
  float *xf = malloc((size_t)n_x * sizeof *xf), *tf = malloc((size_t)n_y * sizeof *tf);
  double *x = malloc((size_t)n_x * sizeof *x), *t = malloc((size_t)n_y * sizeof *t);
  for (int64_t e = 0; e < n_x; e++) x[e] = xf[e] = (float)pseudo(e, 0.77, 0.3);
  for (int64_t e = 0; e < n_y; e++) t[e] = tf[e] = (float)(0.3 * cos(0.41 * (double)e));
  nnc_array xa = {.dtype = NNC_F32, .rank = c->sp + 2, .data = xf};
  xa.shape[0] = B;
  for (int a = 0; a < c->sp; a++) xa.shape[1 + a + c->channels_first] = c->in[a];
  xa.shape[c->channels_first ? 1 : c->sp + 1] = c->cin;
  nnc_array ya = testutil_f32(tf, B, n_y / B);

  nnc_model *m;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(case_json(c), c->name, &m, &st) == NNC_OK, "%s: %s", c->name,
                st.message);
  ck_assert_msg(nnc_model_build(m, &xa, &ya, &st) == NNC_OK, "%s: %s", c->name, st.message);
  const char *names[3] = {"pre/kernel", "conv/kernel", "conv/bias"};
  int nw = c->use_bias ? 3 : 2;
  ck_assert_int_eq(nnc_model_weight_count(m), nw);
  nnc_array w0[3], w1[3];
  double *ref[3] = {NULL, NULL, NULL};
  for (int i = 0; i < nw; i++) {
    ck_assert_msg(nnc_model_get_weight(m, names[i], &w0[i], &st) == NNC_OK, "%s", st.message);
    ref[i] = malloc((size_t)nnc_array_count(&w0[i]) * sizeof *ref[i]);
    fill(&w0[i], ref[i], 0.9 + 0.31 * i, 0.7 * i);
    ck_assert(nnc_model_set_weight(m, names[i], &w0[i], &st) == NNC_OK);
  }
  /* the kernel has Keras's layout [k.., in/groups, filters] ([k.., in, multiplier]) */
  ck_assert_int_eq(w0[1].rank, c->sp + 2);
  for (int a = 0; a < c->sp; a++) ck_assert_int_eq(w0[1].shape[a], c->k[a]);
  ck_assert_int_eq(w0[1].shape[c->sp], c->multiplier ? c->mid : c->mid / c->groups);
  ck_assert_int_eq(w0[1].shape[c->sp + 1], c->multiplier ? c->multiplier : c->filters);

  /* forward values and loss */
  double *y = malloc((size_t)n_y * sizeof *y);
  ref_forward(c, &g, x, ref[0], ref[1], ref[2], y);
  nnc_array pred;
  ck_assert_msg(nnc_model_predict(m, &xa, B, &pred, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(nnc_array_count(&pred), n_y);
  for (int64_t e = 0; e < n_y; e++)
    ck_assert_msg(fabs(((float *)pred.data)[e] - y[e]) <= 1e-5 + 1e-5 * fabs(y[e]),
                  "%s: y[%lld] = %.7g, reference %.7g", c->name, (long long)e,
                  ((float *)pred.data)[e], y[e]);
  nnc_array_free(&pred);
  double loss = ref_loss(c, &g, x, ref[0], ref[1], ref[2], t);
  TEST_LOGS(logs);
  ck_assert(nnc_model_test_on_batch(m, &xa, &ya, &logs, &st) == NNC_OK);
  ck_assert_msg(fabs(nnc_logs_get(&logs, "loss") - loss) <= 1e-6 + 1e-5 * loss,
                "%s: loss %.8g, %.8g", c->name, nnc_logs_get(&logs, "loss"), loss);

  /* gradients: one SGD(1) step against central differences of the reference */
  ck_assert_msg(nnc_model_train_on_batch(m, &xa, &ya, &logs, &st) == NNC_OK, "%s", st.message);
  int steep = 0;
  for (int i = 0; i < nw; i++) {
    ck_assert(nnc_model_get_weight(m, names[i], &w1[i], &st) == NNC_OK);
    for (int64_t e = 0; e < nnc_array_count(&w0[i]); e++) {
      double keep = ref[i][e], h = 1e-6;
      ref[i][e] = keep + h;
      double up = ref_loss(c, &g, x, ref[0], ref[1], ref[2], t);
      ref[i][e] = keep - h;
      double down = ref_loss(c, &g, x, ref[0], ref[1], ref[2], t);
      ref[i][e] = keep;
      double fd = (up - down) / (2 * h);
      double step = (double)((float *)w0[i].data)[e] - (double)((float *)w1[i].data)[e];
      ck_assert_msg(fabs(step - fd) <= 2e-6 + 2e-4 * fabs(fd),
                    "%s: %s[%lld]: step %.8g, finite differences %.8g", c->name, names[i],
                    (long long)e, step, fd);
      steep += fabs(fd) > 1e-3;
    }
  }
  ck_assert_msg(steep > 0, "%s: every gradient is flat", c->name);
  for (int i = 0; i < nw; i++) {
    nnc_array_free(&w0[i]);
    nnc_array_free(&w1[i]);
    free(ref[i]);
  }
  nnc_model_free(m);
  free(xf), free(tf), free(x), free(t), free(y);
}

/* name, sp, in, cin, mid, filters, groups, k, s, d, padding, activation, channels_first, bias,
 * multiplier (> 0: DepthwiseConv, groups = mid, filters = mid x multiplier) */
/* clang-format off */
static const conv_case cases[] = {
    {"2d valid 3x3", 2, {5, 6}, 2, 3, 4, 1, {3, 3}, {1, 1}, {1, 1}, "valid", "linear", 0, 1, 0},
    /* one input channel: the filter gradient's tiles span kernel positions (9 rows: 6 + 3) */
    {"2d one channel valid", 2, {7, 6}, 1, 1, 21, 1, {3, 3}, {1, 1}, {1, 1}, "valid", "tanh", 0, 1, 0},
    {"2d same odd kernel", 2, {5, 4}, 2, 2, 3, 1, {3, 3}, {1, 1}, {1, 1}, "same", "tanh", 0, 1, 0},
    {"2d same even kernel stride 2", 2, {6, 5}, 1, 2, 3, 1, {2, 4}, {2, 2}, {1, 1}, "same", "linear", 0, 1, 0},
    {"2d valid stride 2 odd size", 2, {7, 5}, 2, 3, 2, 1, {3, 2}, {2, 3}, {1, 1}, "valid", "tanh", 0, 1, 0},
    {"2d dilation 2 same", 2, {6, 6}, 2, 2, 3, 1, {3, 2}, {1, 1}, {2, 2}, "same", "linear", 0, 1, 0},
    {"2d dilation 2 valid", 2, {7, 5}, 1, 2, 2, 1, {2, 2}, {1, 1}, {2, 1}, "valid", "tanh", 0, 1, 0},
    {"2d groups 2", 2, {4, 5}, 2, 4, 6, 2, {3, 2}, {1, 1}, {1, 1}, "same", "linear", 0, 1, 0},
    {"2d groups 3 stride 2", 2, {5, 5}, 1, 3, 3, 3, {2, 2}, {2, 1}, {1, 1}, "valid", "tanh", 0, 1, 0},
    {"2d no bias", 2, {4, 4}, 2, 2, 2, 1, {2, 3}, {1, 1}, {1, 1}, "same", "linear", 0, 0, 0},
    {"2d channels_first", 2, {5, 4}, 3, 2, 3, 1, {3, 2}, {2, 1}, {1, 1}, "same", "tanh", 1, 1, 0},
    {"1d valid", 1, {9}, 2, 3, 4, 1, {3}, {1}, {1}, "valid", "linear", 0, 1, 0},
    {"1d same even stride 2", 1, {9}, 1, 2, 3, 1, {4}, {2}, {1}, "same", "tanh", 0, 1, 0},
    {"1d causal", 1, {7}, 2, 2, 3, 1, {3}, {1}, {1}, "causal", "linear", 0, 1, 0},
    {"1d causal dilation 2", 1, {8}, 1, 2, 2, 1, {2}, {1}, {2}, "causal", "tanh", 0, 1, 0},
    {"1d strided valid", 1, {10}, 2, 2, 2, 1, {3}, {3}, {1}, "valid", "linear", 0, 1, 0},
    {"1d channels_first groups 2", 1, {6}, 2, 2, 4, 2, {2}, {1}, {1}, "same", "linear", 1, 1, 0},
    {"3d same", 3, {3, 4, 3}, 1, 2, 2, 1, {2, 3, 2}, {1, 2, 1}, {1, 1, 1}, "same", "tanh", 0, 1, 0},
    {"3d valid dilation", 3, {4, 3, 5}, 2, 2, 2, 1, {2, 1, 2}, {1, 1, 1}, {2, 1, 2}, "valid", "linear", 0, 1, 0},
    /* depthwise: kernel [k.., channels, multiplier]; output channel c x multiplier + j */
    {"depthwise 2d multiplier 2", 2, {5, 4}, 2, 3, 6, 3, {3, 2}, {1, 1}, {1, 1}, "same", "tanh", 0, 1, 2},
    {"depthwise 2d stride 2", 2, {6, 5}, 1, 2, 2, 2, {2, 3}, {2, 2}, {1, 1}, "valid", "linear", 0, 1, 1},
    {"depthwise 2d channels_first dilation", 2, {6, 6}, 2, 2, 6, 2, {2, 2}, {1, 1}, {2, 1}, "same", "linear", 1, 1, 3},
    {"depthwise 1d causal", 1, {7}, 2, 3, 6, 3, {3}, {1}, {1}, "causal", "tanh", 0, 1, 2},
    /* channels past one vector (conv_kernel.c's register tiles: full strips of
     * two vectors, a strip of one, single columns, six-row tiles and the rows
     * left over, for vector widths 4, 8 and 16) */
    {"wide 1x1 stride 2", 2, {5, 4}, 2, 33, 35, 1, {1, 1}, {2, 2}, {1, 1}, "valid", "tanh", 0, 1, 0},
    {"wide 3x2 same", 2, {4, 7}, 1, 17, 18, 1, {3, 2}, {1, 1}, {1, 1}, "same", "linear", 0, 1, 0},
    {"wide groups 2 dilation", 2, {5, 8}, 2, 34, 36, 2, {2, 2}, {1, 1}, {2, 1}, "same", "tanh", 0, 1, 0},
    {"wide 1d channels_first stride 2", 1, {9}, 2, 20, 24, 1, {3}, {2}, {1}, "valid", "linear", 1, 1, 0},
};
/* clang-format on */
enum { N_CASES = (int)(sizeof cases / sizeof cases[0]) };

START_TEST(test_case) {
  check_case(&cases[_i]);
}
END_TEST

/* One train step from the same weights on 1 and on 3 threads: every weight
 * after it bit-identical (each output unit is summed whole by one thread in a
 * fixed order, whatever the split). */
static void step_weights(const conv_case *c, int threads, nnc_array *out) {
  geom g;
  make_geom(c, &g);
  int64_t n_x = B * vol(g.in) * c->cin, n_y = B * vol(g.out) * c->filters;
  float *xf = malloc((size_t)n_x * sizeof *xf), *tf = malloc((size_t)n_y * sizeof *tf);
  for (int64_t e = 0; e < n_x; e++) xf[e] = (float)pseudo(e, 0.57, 0.1);
  for (int64_t e = 0; e < n_y; e++) tf[e] = (float)(0.2 * cos(0.33 * (double)e));
  nnc_array xa = {.dtype = NNC_F32, .rank = c->sp + 2, .data = xf};
  xa.shape[0] = B;
  for (int a = 0; a < c->sp; a++) xa.shape[1 + a + c->channels_first] = c->in[a];
  xa.shape[c->channels_first ? 1 : c->sp + 1] = c->cin;
  nnc_array ya = testutil_f32(tf, B, n_y / B);
  nnc_model *m;
  nnc_status st;
  ck_assert(nnc_model_load_string(case_json(c), c->name, &m, &st) == NNC_OK);
  ck_assert_msg(nnc_model_build(m, &xa, &ya, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_set_threads(m, threads, &st) == NNC_OK, "%s", st.message);
  const char *names[3] = {"pre/kernel", "conv/kernel", "conv/bias"};
  for (int i = 0; i < 3; i++) {
    nnc_array w;
    double *unused;
    ck_assert(nnc_model_get_weight(m, names[i], &w, &st) == NNC_OK);
    unused = malloc((size_t)nnc_array_count(&w) * sizeof *unused);
    fill(&w, unused, 0.7 + 0.2 * i, 0.3 * i);
    ck_assert(nnc_model_set_weight(m, names[i], &w, &st) == NNC_OK);
    free(unused);
    nnc_array_free(&w);
  }
  TEST_LOGS(logs);
  ck_assert_msg(nnc_model_train_on_batch(m, &xa, &ya, &logs, &st) == NNC_OK, "%s", st.message);
  for (int i = 0; i < 3; i++) ck_assert(nnc_model_get_weight(m, names[i], &out[i], &st) == NNC_OK);
  nnc_model_free(m);
  free(xf), free(tf);
}

/* name, sp, in, cin, mid, filters, groups, k, s, d, padding, activation, channels_first, bias,
 * multiplier: large enough that every convolution group runs on several
 * threads (emit_driver.c: SERIAL_WORK): groups 2; depthwise, channels_first,
 * dilation; channels past two vectors of 16 (full strips, a one-vector strip,
 * single columns); valid windows, where the filter gradient's tiles span
 * kernel positions: one input channel (9 rows), 5 channels (45 rows: 7 tiles
 * of 6 and one of 3) with stride 2, groups. */
/* clang-format off */
static const conv_case big[] = {
    {"threads span one channel", 2, {14, 13}, 1, 1, 21, 1, {3, 3}, {1, 1}, {1, 1}, "valid", "tanh", 0, 1, 0},
    {"threads span strided", 2, {12, 11}, 2, 5, 19, 1, {3, 3}, {2, 1}, {1, 1}, "valid", "tanh", 0, 1, 0},
    {"threads span groups", 2, {12, 12}, 2, 6, 10, 2, {2, 3}, {1, 1}, {1, 1}, "valid", "linear", 0, 1, 0},
    {"threads groups", 2, {12, 12}, 2, 4, 8, 2, {3, 3}, {1, 1}, {1, 1}, "same", "tanh", 0, 1, 0},
    {"threads depthwise", 2, {16, 16}, 2, 4, 8, 4, {3, 3}, {1, 1}, {2, 1}, "same", "linear", 1, 1, 2},
    {"threads wide", 2, {9, 10}, 2, 17, 35, 1, {3, 3}, {1, 1}, {1, 1}, "same", "tanh", 0, 1, 0},
};
/* clang-format on */

/* Each element of every convolution kernel is one chain of fused
 * multiply-adds in a fixed order, whatever the thread count or the vector
 * width (NNC_VECTOR_WIDTH; LLVM splits vectors wider than the machine's):
 * one train step from the same weights gives bit-identical weights. */
START_TEST(test_threads_bit_identical) {
  static const struct {
    int threads;
    const char *width; /* NULL: the host's */
  } runs[] = {{3, NULL}, {2, "8"}, {1, "4"}};
  const conv_case *c = &big[_i];
  nnc_array one[3];
  unsetenv("NNC_VECTOR_WIDTH");
  step_weights(c, 1, one);
  for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
    nnc_array other[3];
    if (runs[r].width) setenv("NNC_VECTOR_WIDTH", runs[r].width, 1);
    step_weights(c, runs[r].threads, other);
    unsetenv("NNC_VECTOR_WIDTH");
    for (int i = 0; i < 3; i++) {
      ck_assert_int_eq(nnc_array_count(&one[i]), nnc_array_count(&other[i]));
      ck_assert_msg(!memcmp(one[i].data, other[i].data, (size_t)nnc_array_count(&one[i]) * 4),
                    "%s: weight %d differs between 1 thread and %d threads, width %s", c->name, i,
                    runs[r].threads, runs[r].width ? runs[r].width : "host");
      nnc_array_free(&other[i]);
    }
  }
  for (int i = 0; i < 3; i++) nnc_array_free(&one[i]);
}
END_TEST

/* ---- hand-derived values: the padding rules without the reference ---- */

/* Conv1D, one channel, on x = 1..5, kernel given, no bias: predictions. */
static void conv1d_values(const char *padding, int strides, const char *kernel_json, int k,
                          const float *kernel, const float *want, int n_want) {
  char json[2048];
  snprintf(json, sizeof json,
           "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m\", \"layers\": ["
           "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 5, 1]}},"
           "{\"class_name\": \"Conv1D\", \"config\": {\"name\": \"c\", \"filters\": 1, "
           "\"kernel_size\": %s, \"strides\": %d, \"padding\": \"%s\", \"use_bias\": false}}]}}",
           kernel_json, strides, padding);
  nnc_model *m;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, "hand", &m, &st) == NNC_OK, "%s", st.message);
  float xv[5] = {1, 2, 3, 4, 5};
  nnc_array x = {.dtype = NNC_F32, .rank = 3, .shape = {1, 5, 1}, .data = xv};
  ck_assert_msg(nnc_model_build(m, &x, NULL, &st) == NNC_OK, "%s", st.message);
  float kv[4];
  memcpy(kv, kernel, (size_t)k * sizeof *kv);
  nnc_array w = {.dtype = NNC_F32, .rank = 3, .shape = {k, 1, 1}, .data = kv};
  ck_assert_msg(nnc_model_set_weight(m, "c/kernel", &w, &st) == NNC_OK, "%s", st.message);
  nnc_array p;
  ck_assert_msg(nnc_model_predict(m, &x, 1, &p, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(nnc_array_count(&p), n_want);
  for (int i = 0; i < n_want; i++)
    ck_assert_msg(((float *)p.data)[i] == want[i], "%s: y[%d] = %g, want %g", padding, i,
                  ((float *)p.data)[i], want[i]);
  nnc_array_free(&p);
  nnc_model_free(m);
}

START_TEST(test_hand_values) {
  static const float ones[3] = {1, 1, 1}, k12[2] = {1, 2};
  /* same, stride 2, n 5: 3 outputs, total padding 2*2 + 3 - 5 = 2, one zero before */
  static const float same_s2[3] = {0 + 1 + 2, 2 + 3 + 4, 4 + 5 + 0};
  conv1d_values("same", 2, "3", 3, ones, same_s2, 3);
  conv1d_values("SAME", 2, "3", 3, ones, same_s2, 3); /* Keras 3 lower-cases padding */
  /* same, even kernel [1, 2]: total 1, none before: y[i] = x[i] + 2 x[i+1] */
  static const float same_even[5] = {5, 8, 11, 14, 5};
  conv1d_values("same", 1, "[2]", 2, k12, same_even, 5);
  /* causal [1, 2]: y[i] = x[i-1] + 2 x[i] */
  static const float causal[5] = {2, 5, 8, 11, 14};
  conv1d_values("causal", 1, "2", 2, k12, causal, 5);
  /* valid stride 2: windows at 0 and 2 */
  static const float valid_s2[2] = {6, 12};
  conv1d_values("valid", 2, "3", 3, ones, valid_s2, 2);
}
END_TEST

/* glorot_uniform on a conv kernel: Keras's compute_fans takes the receptive
 * field: [3, 3, 4, 8] has fan_in 36, fan_out 72, limit sqrt(6 / 108). */
START_TEST(test_kernel_fans) {
  const char *json = testutil_json(
      "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
      "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 6, 6, 4]}},"
      "{'class_name': 'Conv2D', 'config': {'name': 'c', 'filters': 8, 'kernel_size': 3}}]}}");
  nnc_model *m;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, "fans", &m, &st) == NNC_OK, "%s", st.message);
  float xv[6 * 6 * 4] = {0};
  nnc_array x = {.dtype = NNC_F32, .rank = 4, .shape = {1, 6, 6, 4}, .data = xv};
  ck_assert_msg(nnc_model_build(m, &x, NULL, &st) == NNC_OK, "%s", st.message);
  nnc_array w;
  ck_assert(nnc_model_get_weight(m, "c/kernel", &w, &st) == NNC_OK);
  double limit = sqrt(6.0 / (36 + 72)), max = 0, sq = 0;
  int64_t n = nnc_array_count(&w);
  ck_assert_int_eq(n, 288);
  for (int64_t e = 0; e < n; e++) {
    double v = ((float *)w.data)[e];
    max = fmax(max, fabs(v));
    sq += v * v;
  }
  /* the largest of 288 uniform draws is within 2 % of the limit (p ~ 3e-3 to miss);
   * without the receptive field the limit would be sqrt(6 / 12) = 0.71 */
  ck_assert_msg(max <= limit * (1 + 1e-6) && max > 0.98 * limit, "max %g, limit %g", max, limit);
  /* variance limit^2 / 3 within 20 % (about 3 standard errors) */
  ck_assert_msg(fabs(sq / (double)n - limit * limit / 3) < 0.2 * limit * limit / 3, "var %g",
                sq / (double)n);
  nnc_array_free(&w);
  nnc_model_free(m);
}
END_TEST

/* tf.keras 2 and tfjs save a DepthwiseConv kernel as "<layer>/depthwise_kernel"; Keras 3 as
 * "<layer>/kernel". A file with the old spelling loads into the kernel (values and a predict
 * checked by hand: input 1, 2 on two channels, kernel 1x1 with multiplier 2). */
START_TEST(test_depthwise_kernel_spelling) {
  const char *json =
      testutil_json("{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
                    "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 1, 1, 2]}},"
                    "{'class_name': 'DepthwiseConv2D', 'config': {'name': 'd', 'kernel_size': 1, "
                    "'depth_multiplier': 2}}]}}");
  nnc_model *m;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, "dw", &m, &st) == NNC_OK, "%s", st.message);
  float xv[2] = {1, 2};
  nnc_array x = {.dtype = NNC_F32, .rank = 4, .shape = {1, 1, 1, 2}, .data = xv};
  ck_assert_msg(nnc_model_build(m, &x, NULL, &st) == NNC_OK, "%s", st.message);
  float kv[4] = {3, 5, 7, 11}, bv[4] = {0.5f, 0.25f, 0, -1};
  nnc_array k = {.dtype = NNC_F32, .rank = 4, .shape = {1, 1, 2, 2}, .data = kv};
  nnc_array b = {.dtype = NNC_F32, .rank = 1, .shape = {4}, .data = bv};
  nnc_tensor_set set = {0};
  ck_assert(nnc_tensor_set_add(&set, "d/depthwise_kernel", &k, &st) == NNC_OK);
  ck_assert(nnc_tensor_set_add(&set, "d/bias", &b, &st) == NNC_OK);
  char path[512];
  snprintf(path, sizeof path, "%s/dw_tf2.safetensors", testutil_tmpdir());
  ck_assert_msg(nnc_safetensors_write(path, &set, &st) == NNC_OK, "%s", st.message);
  nnc_tensor_set_free(&set);
  ck_assert_msg(nnc_model_load_weights(m, path, &st) == NNC_OK, "%s", st.message);
  nnc_array p;
  ck_assert_msg(nnc_model_predict(m, &x, 1, &p, &st) == NNC_OK, "%s", st.message);
  /* output channel c*m + j = x[c] k[c, j] + bias */
  static const float want[4] = {1 * 3 + 0.5f, 1 * 5 + 0.25f, 2 * 7 + 0, 2 * 11 - 1};
  ck_assert_int_eq(nnc_array_count(&p), 4);
  for (int i = 0; i < 4; i++)
    ck_assert_msg(((float *)p.data)[i] == want[i], "y[%d] = %g, want %g", i, ((float *)p.data)[i],
                  want[i]);
  nnc_array_free(&p);
  /* neither spelling: refused naming the Keras 3 one */
  ck_assert(nnc_tensor_set_add(&set, "d/bias", &b, &st) == NNC_OK);
  ck_assert(nnc_safetensors_write(path, &set, &st) == NNC_OK);
  nnc_tensor_set_free(&set);
  ck_assert_int_eq(nnc_model_load_weights(m, path, &st), NNC_ERR_DATA);
  ck_assert_msg(strstr(st.message, "no tensor named 'd/kernel'"), "%s", st.message);
  nnc_model_free(m);
}
END_TEST

/* Refusals name the layer, the JSON path and the key. */
static void refused(const char *layer_config, const char *want) {
  char json[2048];
  snprintf(json, sizeof json,
           "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m\", \"layers\": ["
           "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 6, 6, 2]}},"
           "{\"class_name\": \"Conv2D\", \"config\": %s}]}}",
           layer_config);
  nnc_model *m = NULL;
  nnc_status st;
  int rc = nnc_model_load_string(json, "bad.json", &m, &st);
  if (rc == NNC_OK) {
    float xv[72] = {0};
    nnc_array x = {.dtype = NNC_F32, .rank = 4, .shape = {1, 6, 6, 2}, .data = xv};
    rc = nnc_model_build(m, &x, NULL, &st);
  }
  ck_assert_msg(rc == NNC_ERR_SPEC, "%s: rc %d", layer_config, rc);
  ck_assert_msg(strstr(st.message, want), "%s: message '%s' lacks '%s'", layer_config, st.message,
                want);
  nnc_model_free(m);
}

START_TEST(test_refusals) {
  refused("{\"name\": \"c\", \"filters\": 2, \"kernel_size\": 3, \"padding\": \"causal\"}",
          "bad.json: $.config.layers[1].config.padding: expected \"valid\" or \"same\"");
  refused("{\"name\": \"c\", \"filters\": 2, \"kernel_size\": [3, 3, 3]}",
          "$.config.layers[1].config.kernel_size: expected a positive integer or a list of 2");
  refused("{\"name\": \"c\", \"filters\": 2, \"kernel_size\": 3, \"strides\": 2, "
          "\"dilation_rate\": 2}",
          "$.config.layers[1].config.strides: strides > 1 cannot be combined with dilation_rate");
  refused("{\"name\": \"c\", \"filters\": 3, \"kernel_size\": 3, \"groups\": 2}",
          "$.config.layers[1].config.groups: filters (3) must be a multiple of groups (2)");
  refused("{\"name\": \"c\", \"filters\": 4, \"kernel_size\": 1, \"groups\": 4}",
          "not a multiple of groups");
  refused("{\"name\": \"c\", \"filters\": 2, \"kernel_size\": 7}",
          "smaller than the dilated kernel");
  refused("{\"name\": \"c\", \"filters\": 2}", "$.config.layers[1].config.kernel_size: missing");
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("conv");
  TCase *tc = tcase_create("conv");
  tcase_set_timeout(tc, 300);
  tcase_add_loop_test(tc, test_case, 0, N_CASES);
  tcase_add_test(tc, test_hand_values);
  tcase_add_loop_test(tc, test_threads_bit_identical, 0, (int)(sizeof big / sizeof big[0]));
  tcase_add_test(tc, test_kernel_fans);
  tcase_add_test(tc, test_refusals);
  tcase_add_test(tc, test_depthwise_kernel_spelling);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  /* the thread tests' small models still split wherever a group would
   * (compiler/driver/table.c: pool_rows) */
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1);
  return testutil_run(suite());
}
