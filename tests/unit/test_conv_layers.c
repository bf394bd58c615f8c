/* Transposed and separable convolution layers (Conv1D/2D/3DTranspose,
 * SeparableConv1D/2D) against a float64 reference written here from
 * TensorFlow's definitions, which Keras 3's TensorFlow backend calls:
 *   conv_transpose: every input position i scatters x[i, c] w[k, f, c] to
 *     the full output position i s + k d; the layer's output is the window of
 *     Keras's length L (backend_utils.py _get_output_shape_given_tf_padding:
 *     valid (n-1) s + dk + op (op None: max(dk, s) - dk); same n s, or
 *     (n-1) s + dk % 2 + op) starting at TensorFlow's SAME offset
 *     max((n-1) s + dk - L, 0) // 2 (valid: 0), zeros past the full output;
 *   separable_conv: the depthwise convolution (kernel [k.., in, mult], output
 *     channel c mult + j; TensorFlow's SAME padding) then a 1x1 one (kernel
 *     [1.., in mult, filters]).
 * (The layer derives its padding from Keras's JAX rules instead: the two
 * must agree.) Each case is  x -> pre (a 1x1 Conv, no bias) -> the layer ->
 * Flatten on mse with SGD(1): predict is checked against the reference, and
 * one train_on_batch step of every weight against central differences of
 * the reference loss, so the op's input and kernel gradients are checked at
 * the borders, strides larger than the kernel, output_padding, dilation and
 * channels_first. Hand-derived values pin the lengths and offsets. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "testutil.h"

#define B 2

typedef enum { TRANSPOSE, SEPARABLE } layer_kind;

typedef struct layer_case {
  const char *name;
  layer_kind kind;
  int sp;        /* spatial axes */
  int64_t in[3]; /* input spatial size */
  int64_t cin;   /* input channels */
  int64_t mid;   /* channels after pre: the layer's input channels */
  int64_t filters;
  int64_t k[3], s[3], d[3];
  const char *padding;
  int64_t op[3];   /* output_padding; op[0] < 0: None */
  int64_t mult;    /* SEPARABLE: depth_multiplier */
  const char *act; /* "linear" or "tanh" */
  int channels_first, use_bias;
} layer_case;

/* ---- the float64 reference ---- */

typedef struct geom {
  int64_t in[3], out[3], k[3], s[3], d[3], pad[3];
} geom;

static void make_geom(const layer_case *c, geom *g) {
  for (int a = 0; a < 3; a++) {
    int j = a - (3 - c->sp);
    int64_t n = j < 0 ? 1 : c->in[j], k = j < 0 ? 1 : c->k[j], s = j < 0 ? 1 : c->s[j],
            d = j < 0 ? 1 : c->d[j], dk = d * (k - 1) + 1;
    int same = j >= 0 && !strcmp(c->padding, "same");
    g->in[a] = n, g->k[a] = k, g->s[a] = s, g->d[a] = d, g->pad[a] = 0;
    if (c->kind == TRANSPOSE) {
      int64_t op = j < 0 ? 0 : c->op[0] < 0 ? -1 : c->op[j], len;
      if (j < 0)
        len = 1;
      else if (same)
        len = op < 0 ? n * s : (n - 1) * s + dk % 2 + op;
      else
        len = (n - 1) * s + dk + (op < 0 ? (s > dk ? s - dk : 0) : op);
      int64_t total = (n - 1) * s + dk - len;
      g->pad[a] = same && total > 0 ? total / 2 : 0;
      g->out[a] = len;
    } else {
      int64_t out = same ? (n + s - 1) / s : (n - dk) / s + 1;
      int64_t total = (out - 1) * s + dk - n;
      g->pad[a] = same && total > 0 ? total / 2 : 0;
      g->out[a] = out;
    }
  }
}

static int64_t vol(const int64_t *d) {
  return d[0] * d[1] * d[2];
}

static int64_t flat(const int64_t *dims, const int64_t *p) {
  return (p[0] * dims[1] + p[1]) * dims[2] + p[2];
}

static void unflat(const int64_t *dims, int64_t q, int64_t *p) {
  p[0] = q / (dims[1] * dims[2]), p[1] = q / dims[2] % dims[1], p[2] = q % dims[2];
}

/* The flat index in the layer's data layout of (b, position p, channel ch). */
static int64_t at(const layer_case *c, const int64_t *dims, int64_t channels, int64_t b,
                  const int64_t *p, int64_t ch) {
  int64_t pos = flat(dims, p);
  return c->channels_first ? (b * channels + ch) * vol(dims) + pos
                           : (b * vol(dims) + pos) * channels + ch;
}

/* w: pre's kernel, the layer's kernel(s), bias; in the Keras layouts. */
static void ref_forward(const layer_case *c, const geom *g, const double *x, double *const *w,
                        double *y) {
  int64_t n_in = vol(g->in), n_out = vol(g->out), n_k = vol(g->k);
  double *h = calloc((size_t)(B * n_in * c->mid), sizeof *h); /* pre's output, channels last */
  for (int64_t b = 0; b < B; b++)
    for (int64_t q = 0; q < n_in; q++) {
      int64_t p[3];
      unflat(g->in, q, p);
      for (int64_t m = 0; m < c->mid; m++)
        for (int64_t ci = 0; ci < c->cin; ci++)
          h[(b * n_in + q) * c->mid + m] +=
              x[at(c, g->in, c->cin, b, p, ci)] * w[0][ci * c->mid + m];
    }
  double *acc = calloc((size_t)(B * n_out * c->filters), sizeof *acc); /* channels last */
  if (c->kind == TRANSPOSE) {
    for (int64_t b = 0; b < B; b++)
      for (int64_t q = 0; q < n_in; q++)
        for (int64_t kq = 0; kq < n_k; kq++) {
          int64_t i[3], kk[3], o[3];
          unflat(g->in, q, i);
          unflat(g->k, kq, kk);
          int inside = 1;
          for (int a = 0; a < 3; a++) {
            o[a] = i[a] * g->s[a] + kk[a] * g->d[a] - g->pad[a];
            inside &= o[a] >= 0 && o[a] < g->out[a];
          }
          if (!inside) continue;
          for (int64_t f = 0; f < c->filters; f++)
            for (int64_t ci = 0; ci < c->mid; ci++)
              acc[(b * n_out + flat(g->out, o)) * c->filters + f] +=
                  h[(b * n_in + q) * c->mid + ci] * w[1][(kq * c->filters + f) * c->mid + ci];
        }
  } else {
    int64_t dm = c->mid * c->mult;
    double *z = calloc((size_t)(B * n_out * dm), sizeof *z);
    for (int64_t b = 0; b < B; b++)
      for (int64_t q = 0; q < n_out; q++)
        for (int64_t kq = 0; kq < n_k; kq++) {
          int64_t o[3], kk[3], i[3];
          unflat(g->out, q, o);
          unflat(g->k, kq, kk);
          int inside = 1;
          for (int a = 0; a < 3; a++) {
            i[a] = o[a] * g->s[a] - g->pad[a] + kk[a] * g->d[a];
            inside &= i[a] >= 0 && i[a] < g->in[a];
          }
          if (!inside) continue;
          for (int64_t ci = 0; ci < c->mid; ci++)
            for (int64_t j = 0; j < c->mult; j++)
              z[(b * n_out + q) * dm + ci * c->mult + j] +=
                  h[(b * n_in + flat(g->in, i)) * c->mid + ci] *
                  w[1][(kq * c->mid + ci) * c->mult + j];
        }
    for (int64_t r = 0; r < B * n_out; r++)
      for (int64_t f = 0; f < c->filters; f++)
        for (int64_t m = 0; m < dm; m++)
          acc[r * c->filters + f] += z[r * dm + m] * w[2][m * c->filters + f];
    free(z);
  }
  const double *bias = c->use_bias ? w[c->kind == TRANSPOSE ? 2 : 3] : NULL;
  for (int64_t b = 0; b < B; b++)
    for (int64_t q = 0; q < n_out; q++) {
      int64_t o[3];
      unflat(g->out, q, o);
      for (int64_t f = 0; f < c->filters; f++) {
        double v = acc[(b * n_out + q) * c->filters + f] + (bias ? bias[f] : 0.0);
        y[at(c, g->out, c->filters, b, o, f)] = !strcmp(c->act, "tanh") ? tanh(v) : v;
      }
    }
  free(acc);
  free(h);
}

static double ref_loss(const layer_case *c, const geom *g, const double *x, double *const *w,
                       const double *t) {
  int64_t n = B * vol(g->out) * c->filters;
  double *y = malloc((size_t)n * sizeof *y), sum = 0;
  ref_forward(c, g, x, w, y);
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

static const char *case_json(const layer_case *c) {
  static char json[4096];
  char shape[128], k[64], s[64], d[64], ones[64], inner[96], own[160];
  int64_t dims[4], one[3] = {1, 1, 1};
  int r = 0;
  if (c->channels_first) dims[r++] = c->cin;
  for (int a = 0; a < c->sp; a++) dims[r++] = c->in[a];
  if (!c->channels_first) dims[r++] = c->cin;
  tuple(inner, sizeof inner, dims, r);
  snprintf(shape, sizeof shape, "[null, %s", inner + 1);
  tuple(k, sizeof k, c->k, c->sp);
  tuple(s, sizeof s, c->s, c->sp);
  tuple(d, sizeof d, c->d, c->sp);
  tuple(ones, sizeof ones, one, c->sp);
  if (c->kind == SEPARABLE) {
    snprintf(own, sizeof own,
             "\"class_name\": \"SeparableConv%dD\", \"config\": {"
             "\"depth_multiplier\": %lld, ",
             c->sp, (long long)c->mult);
  } else {
    char op[64] = "null";
    if (c->op[0] >= 0) tuple(op, sizeof op, c->op, c->sp);
    snprintf(own, sizeof own,
             "\"class_name\": \"Conv%dDTranspose\", \"config\": {"
             "\"output_padding\": %s, ",
             c->sp, op);
  }
  const char *fmt = c->channels_first ? "channels_first" : "channels_last";
  snprintf(json, sizeof json,
           "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m\", \"layers\": ["
           "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": %s, \"name\": \"x\"}},"
           "{\"class_name\": \"Conv%dD\", \"config\": {\"name\": \"pre\", \"filters\": %lld, "
           "\"kernel_size\": %s, \"use_bias\": false, \"data_format\": \"%s\"}},"
           "{%s\"name\": \"conv\", \"filters\": %lld, "
           "\"kernel_size\": %s, \"strides\": %s, \"dilation_rate\": %s, \"padding\": \"%s\", "
           "\"activation\": \"%s\", \"use_bias\": %s, \"data_format\": \"%s\"}},"
           "{\"class_name\": \"Flatten\", \"config\": {\"name\": \"flatten\"}}]},"
           "\"compile_config\": {\"optimizer\": {\"class_name\": \"SGD\", \"config\": "
           "{\"learning_rate\": 1.0}}, \"loss\": \"mse\"}}",
           shape, c->sp, (long long)c->mid, ones, fmt, own, (long long)c->filters, k, s, d,
           c->padding, c->act, c->use_bias ? "true" : "false", fmt);
  return json;
}

static double pseudo(int64_t i, double freq, double shift) {
  return 0.5 * sin(freq * (double)i + shift) + 0.05;
}

/* The weights' names and Keras shapes for case c. */
static int weights_of(const layer_case *c, const char **names, int64_t shapes[4][5]) {
  int n = 0;
  names[n] = "pre/kernel";
  for (int a = 0; a < c->sp; a++) shapes[n][a] = 1;
  shapes[n][c->sp] = c->cin, shapes[n][c->sp + 1] = c->mid, n++;
  if (c->kind == TRANSPOSE) { /* [k.., filters, in] */
    names[n] = "conv/kernel";
    for (int a = 0; a < c->sp; a++) shapes[n][a] = c->k[a];
    shapes[n][c->sp] = c->filters, shapes[n][c->sp + 1] = c->mid, n++;
  } else { /* [k.., in, mult] and [1.., in mult, filters] */
    names[n] = "conv/depthwise_kernel";
    for (int a = 0; a < c->sp; a++) shapes[n][a] = c->k[a];
    shapes[n][c->sp] = c->mid, shapes[n][c->sp + 1] = c->mult, n++;
    names[n] = "conv/pointwise_kernel";
    for (int a = 0; a < c->sp; a++) shapes[n][a] = 1;
    shapes[n][c->sp] = c->mid * c->mult, shapes[n][c->sp + 1] = c->filters, n++;
  }
  if (c->use_bias) {
    names[n] = "conv/bias";
    shapes[n][0] = c->filters;
    for (int a = 1; a < c->sp + 2; a++) shapes[n][a] = -1;
    n++;
  }
  return n;
}

static nnc_array input_array(const layer_case *c, const geom *g, float *data) {
  nnc_array xa = {.dtype = NNC_F32, .rank = c->sp + 2, .data = data};
  xa.shape[0] = B;
  for (int a = 0; a < c->sp; a++) xa.shape[1 + a + c->channels_first] = g->in[3 - c->sp + a];
  xa.shape[c->channels_first ? 1 : c->sp + 1] = c->cin;
  return xa;
}

static void check_case(const layer_case *c) {
  geom g;
  make_geom(c, &g);
  int64_t n_x = B * vol(g.in) * c->cin, n_y = B * vol(g.out) * c->filters;
  float *xf = malloc((size_t)n_x * sizeof *xf), *tf = malloc((size_t)n_y * sizeof *tf);
  double *x = malloc((size_t)n_x * sizeof *x), *t = malloc((size_t)n_y * sizeof *t);
  for (int64_t e = 0; e < n_x; e++) x[e] = xf[e] = (float)pseudo(e, 0.77, 0.3);
  for (int64_t e = 0; e < n_y; e++) t[e] = tf[e] = (float)(0.3 * cos(0.41 * (double)e));
  nnc_array xa = input_array(c, &g, xf), ya = testutil_f32(tf, B, n_y / B);

  nnc_model *m;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(case_json(c), c->name, &m, &st) == NNC_OK, "%s: %s", c->name,
                st.message);
  ck_assert_msg(nnc_model_build(m, &xa, &ya, &st) == NNC_OK, "%s: %s", c->name, st.message);
  const char *names[4];
  int64_t shapes[4][5];
  int nw = weights_of(c, names, shapes);
  ck_assert_int_eq(nnc_model_weight_count(m), nw);
  nnc_array w0[4], w1[4];
  double *ref[4] = {NULL, NULL, NULL, NULL};
  for (int i = 0; i < nw; i++) {
    ck_assert_msg(nnc_model_get_weight(m, names[i], &w0[i], &st) == NNC_OK, "%s: %s", c->name,
                  st.message);
    /* Keras's layout */
    int rank = i == nw - 1 && c->use_bias ? 1 : c->sp + 2;
    ck_assert_msg(w0[i].rank == rank, "%s: %s rank %d", c->name, names[i], w0[i].rank);
    for (int a = 0; a < rank; a++)
      ck_assert_msg(w0[i].shape[a] == shapes[i][a], "%s: %s axis %d is %lld, Keras %lld", c->name,
                    names[i], a, (long long)w0[i].shape[a], (long long)shapes[i][a]);
    ref[i] = malloc((size_t)nnc_array_count(&w0[i]) * sizeof *ref[i]);
    float *v = w0[i].data;
    for (int64_t e = 0; e < nnc_array_count(&w0[i]); e++)
      ref[i][e] = v[e] = (float)pseudo(e, 0.9 + 0.31 * i, 0.7 * i);
    ck_assert(nnc_model_set_weight(m, names[i], &w0[i], &st) == NNC_OK);
  }

  double *y = malloc((size_t)n_y * sizeof *y);
  ref_forward(c, &g, x, ref, y);
  nnc_array pred;
  ck_assert_msg(nnc_model_predict(m, &xa, B, &pred, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_array_count(&pred) == n_y, "%s: %lld outputs, reference %lld", c->name,
                (long long)nnc_array_count(&pred), (long long)n_y);
  for (int64_t e = 0; e < n_y; e++)
    ck_assert_msg(fabs(((float *)pred.data)[e] - y[e]) <= 1e-5 + 1e-5 * fabs(y[e]),
                  "%s: y[%lld] = %.7g, reference %.7g", c->name, (long long)e,
                  ((float *)pred.data)[e], y[e]);
  nnc_array_free(&pred);

  TEST_LOGS(logs);
  ck_assert_msg(nnc_model_train_on_batch(m, &xa, &ya, &logs, &st) == NNC_OK, "%s", st.message);
  double loss = ref_loss(c, &g, x, ref, t);
  ck_assert_msg(fabs(nnc_logs_get(&logs, "loss") - loss) <= 1e-6 + 1e-5 * loss,
                "%s: loss %.8g, reference %.8g", c->name, nnc_logs_get(&logs, "loss"), loss);
  int steep = 0;
  for (int i = 0; i < nw; i++) {
    ck_assert(nnc_model_get_weight(m, names[i], &w1[i], &st) == NNC_OK);
    for (int64_t e = 0; e < nnc_array_count(&w0[i]); e++) {
      double keep = ref[i][e], h = 1e-6;
      ref[i][e] = keep + h;
      double up = ref_loss(c, &g, x, ref, t);
      ref[i][e] = keep - h;
      double down = ref_loss(c, &g, x, ref, t);
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

#define NO_OP                                                                                      \
  { -1, 0, 0 }
/* name, kind, sp, in, cin, mid, filters, k, s, d, padding, output_padding, mult, activation,
 * channels_first, bias */
/* clang-format off */
static const layer_case cases[] = {
    {"T1d valid k3 s2", TRANSPOSE, 1, {4}, 2, 2, 3, {3}, {2}, {1}, "valid", NO_OP, 0, "linear", 0, 1},
    {"T1d same k3 s2 (cropped at the end)", TRANSPOSE, 1, {4}, 1, 2, 2, {3}, {2}, {1}, "same", NO_OP, 0, "tanh", 0, 1},
    {"T1d valid stride 3 > kernel 2", TRANSPOSE, 1, {3}, 2, 2, 2, {2}, {3}, {1}, "valid", NO_OP, 0, "linear", 0, 1},
    {"T1d same stride 3 > kernel 2", TRANSPOSE, 1, {3}, 1, 2, 2, {2}, {3}, {1}, "same", NO_OP, 0, "linear", 0, 1},
    {"T1d same k4 s2 output_padding 1", TRANSPOSE, 1, {3}, 1, 2, 2, {4}, {2}, {1}, "same", {1}, 0, "tanh", 0, 1},
    {"T1d same k5 s3 output_padding 2", TRANSPOSE, 1, {3}, 1, 1, 2, {5}, {3}, {1}, "same", {2}, 0, "linear", 0, 1},
    {"T1d valid dilation 2", TRANSPOSE, 1, {4}, 1, 2, 2, {3}, {1}, {2}, "valid", NO_OP, 0, "linear", 0, 1},
    {"T1d same dilation 2 even", TRANSPOSE, 1, {5}, 1, 2, 2, {2}, {1}, {2}, "same", NO_OP, 0, "tanh", 0, 1},
    {"T2d same k3 s2", TRANSPOSE, 2, {3, 4}, 2, 2, 3, {3, 3}, {2, 2}, {1, 1}, "same", NO_OP, 0, "tanh", 0, 1},
    {"T2d valid output_padding (1, 0)", TRANSPOSE, 2, {3, 3}, 1, 2, 2, {3, 2}, {2, 2}, {1, 1}, "valid", {1, 0}, 0, "linear", 0, 1},
    {"T2d same even kernel output_padding (0, 1)", TRANSPOSE, 2, {3, 3}, 1, 2, 2, {2, 4}, {2, 2}, {1, 1}, "same", {0, 1}, 0, "linear", 0, 1},
    {"T2d channels_first s2 no bias", TRANSPOSE, 2, {3, 2}, 2, 3, 2, {2, 3}, {2, 1}, {1, 1}, "same", NO_OP, 0, "tanh", 1, 0},
    {"T2d channels_first valid dilation", TRANSPOSE, 2, {3, 3}, 1, 2, 3, {2, 2}, {1, 1}, {2, 1}, "valid", NO_OP, 0, "linear", 1, 1},
    {"T3d same s (1, 2, 1)", TRANSPOSE, 3, {2, 2, 3}, 1, 2, 2, {2, 3, 2}, {1, 2, 1}, {1, 1, 1}, "same", NO_OP, 0, "tanh", 0, 1},
    {"T3d valid output_padding", TRANSPOSE, 3, {2, 2, 2}, 1, 1, 2, {2, 1, 2}, {2, 2, 1}, {1, 1, 1}, "valid", {1, 1, 0}, 0, "linear", 0, 1},
    {"S2d same multiplier 2", SEPARABLE, 2, {4, 5}, 2, 2, 3, {3, 3}, {1, 1}, {1, 1}, "same", NO_OP, 2, "tanh", 0, 1},
    {"S2d valid stride 2 channels_first", SEPARABLE, 2, {5, 6}, 1, 3, 2, {2, 3}, {2, 2}, {1, 1}, "valid", NO_OP, 1, "linear", 1, 1},
    {"S2d same stride 2 even kernel", SEPARABLE, 2, {5, 5}, 1, 2, 2, {2, 2}, {2, 2}, {1, 1}, "same", NO_OP, 1, "linear", 0, 1},
    {"S1d same dilation 2 multiplier 3", SEPARABLE, 1, {7}, 2, 2, 3, {3}, {1}, {2}, "same", NO_OP, 3, "tanh", 0, 1},
    {"S1d valid stride 2 no bias", SEPARABLE, 1, {8}, 1, 2, 2, {3}, {2}, {1}, "valid", NO_OP, 2, "linear", 0, 0},
    {"S1d channels_first", SEPARABLE, 1, {6}, 2, 3, 2, {2}, {1}, {1}, "same", NO_OP, 1, "tanh", 1, 1},
};
/* clang-format on */
enum { N_CASES = (int)(sizeof cases / sizeof cases[0]) };

START_TEST(test_case) {
  check_case(&cases[_i]);
}
END_TEST

/* ---- hand-derived values ---- */

/* Conv1DTranspose, one channel, x = 1 2 3, kernel given, no bias. */
static void transpose_values(const char *padding, int strides, const char *output_padding, int k,
                             const float *kernel, const float *want, int n_want) {
  char json[2048];
  snprintf(json, sizeof json,
           "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m\", \"layers\": ["
           "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 3, 1]}},"
           "{\"class_name\": \"Conv1DTranspose\", \"config\": {\"name\": \"t\", \"filters\": 1, "
           "\"kernel_size\": %d, \"strides\": %d, \"padding\": \"%s\", \"output_padding\": %s, "
           "\"use_bias\": false}}]}}",
           k, strides, padding, output_padding);
  nnc_model *m;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, "hand", &m, &st) == NNC_OK, "%s", st.message);
  float xv[3] = {1, 2, 3};
  nnc_array x = {.dtype = NNC_F32, .rank = 3, .shape = {1, 3, 1}, .data = xv};
  ck_assert_msg(nnc_model_build(m, &x, NULL, &st) == NNC_OK, "%s", st.message);
  float kv[4];
  memcpy(kv, kernel, (size_t)k * sizeof *kv);
  nnc_array w = {.dtype = NNC_F32, .rank = 3, .shape = {k, 1, 1}, .data = kv};
  ck_assert_msg(nnc_model_set_weight(m, "t/kernel", &w, &st) == NNC_OK, "%s", st.message);
  nnc_array p;
  ck_assert_msg(nnc_model_predict(m, &x, 1, &p, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_array_count(&p) == n_want, "%s s%d op %s: %lld outputs, want %d", padding,
                strides, output_padding, (long long)nnc_array_count(&p), n_want);
  for (int i = 0; i < n_want; i++)
    ck_assert_msg(((float *)p.data)[i] == want[i], "%s s%d op %s: y[%d] = %g, want %g", padding,
                  strides, output_padding, i, ((float *)p.data)[i], want[i]);
  nnc_array_free(&p);
  nnc_model_free(m);
}

START_TEST(test_hand_values) {
  static const float k2[2] = {1, 10}, k3[3] = {1, 10, 100};
  /* x[i] w[k] lands at 2 i + k: full output 1 10 2 20 3 30 (length 6 = 3 * 2) */
  static const float full_k2_s2[6] = {1, 10, 2, 20, 3, 30};
  transpose_values("valid", 2, "null", 2, k2, full_k2_s2, 6);
  transpose_values("same", 2, "null", 2, k2, full_k2_s2, 6);
  /* kernel 3: full 1 10 102 20 203 30 300 (length 7); same keeps 6 = 3 * 2 from
   * offset (7 - 6) // 2 = 0 */
  static const float full_k3_s2[8] = {1, 10, 102, 20, 203, 30, 300, 0};
  transpose_values("valid", 2, "null", 3, k3, full_k3_s2, 7);
  transpose_values("same", 2, "null", 3, k3, full_k3_s2, 6);
  /* output_padding 1 adds a zero after the valid output; same: (3-1) 2 + 3 % 2 + 1 = 6 */
  transpose_values("valid", 2, "1", 3, k3, full_k3_s2, 8);
  transpose_values("same", 2, "[1]", 3, k3, full_k3_s2, 6);
  /* same, output_padding 0: length (3-1) 2 + 1 = 5, offset (7 - 5) // 2 = 1 */
  static const float same_op0[5] = {10, 102, 20, 203, 30};
  transpose_values("same", 2, "0", 3, k3, same_op0, 5);
  /* stride 3 > kernel 2: gaps of zeros; valid length (3-1) 3 + 2 + (3 - 2) = 9 */
  static const float gaps[9] = {1, 10, 0, 2, 20, 0, 3, 30, 0};
  transpose_values("valid", 3, "null", 2, k2, gaps, 9);
  transpose_values("same", 3, "null", 2, k2, gaps, 9);
  /* stride 1, kernel 1 1 1, same: full 1 3 6 5 3, length 3 from offset (5 - 3) // 2 = 1 */
  static const float k_ones[3] = {1, 1, 1}, s1_same[3] = {3, 6, 5};
  transpose_values("same", 1, "null", 3, k_ones, s1_same, 3);
}
END_TEST

/* Each weight gets its own regularizer and constraint, as Keras 3 names them:
 * SeparableConv2D(depthwise_regularizer L1(0.01), pointwise_regularizer
 * L2(0.1), pointwise_constraint NonNeg) -> Conv2DTranspose(kernel_regularizer
 * L2(0.5)). With a zero target the loss is mean(y^2) plus 0.01 sum |dw| +
 * 0.1 sum pw^2 + 0.5 sum kt^2; after one SGD step the pointwise kernel is
 * non-negative and the depthwise one (no constraint) is not. */
START_TEST(test_weight_extras) {
  const char *json = testutil_json(
      "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
      "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 3, 3, 2]}},"
      "{'class_name': 'SeparableConv2D', 'config': {'name': 's', 'filters': 2, 'kernel_size': 2,"
      " 'depthwise_regularizer': {'class_name': 'L1', 'config': {'l1': 0.01}},"
      " 'pointwise_regularizer': {'class_name': 'L2', 'config': {'l2': 0.1}},"
      " 'pointwise_constraint': {'class_name': 'NonNeg', 'config': {}}}},"
      "{'class_name': 'Conv2DTranspose', 'config': {'name': 't', 'filters': 1, 'kernel_size': 2,"
      " 'strides': 2, 'kernel_regularizer': {'class_name': 'L2', 'config': {'l2': 0.5}}}},"
      "{'class_name': 'Flatten', 'config': {'name': 'f'}}]},"
      "'compile_config': {'optimizer': {'class_name': 'SGD', 'config': {'learning_rate': 1.0}},"
      " 'loss': 'mse'}}");
  nnc_model *m;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, "extras", &m, &st) == NNC_OK, "%s", st.message);
  float xv[2 * 18], tv[2 * 16] = {0};
  for (int i = 0; i < 36; i++) xv[i] = (float)pseudo(i, 0.8, 0.2);
  nnc_array x = {.dtype = NNC_F32, .rank = 4, .shape = {2, 3, 3, 2}, .data = xv};
  nnc_array t = testutil_f32(tv, 2, 16);
  ck_assert_msg(nnc_model_build(m, &x, &t, &st) == NNC_OK, "%s", st.message);
  static const char *const names[3] = {"s/depthwise_kernel", "s/pointwise_kernel", "t/kernel"};
  nnc_array w0[3];
  double penalty = 0;
  for (int i = 0; i < 3; i++) {
    ck_assert_msg(nnc_model_get_weight(m, names[i], &w0[i], &st) == NNC_OK, "%s", st.message);
    float *v = w0[i].data;
    for (int64_t e = 0; e < nnc_array_count(&w0[i]); e++) {
      v[e] = (float)pseudo(e, 1.3 + i, 0.5 * i) - 0.05f;
      penalty += i == 0 ? 0.01 * fabs(v[e]) : (i == 1 ? 0.1 : 0.5) * (double)v[e] * v[e];
    }
    ck_assert(nnc_model_set_weight(m, names[i], &w0[i], &st) == NNC_OK);
  }
  nnc_array p;
  ck_assert_msg(nnc_model_predict(m, &x, 2, &p, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(nnc_array_count(&p), 32);
  double mse = 0;
  for (int e = 0; e < 32; e++) mse += (double)((float *)p.data)[e] * ((float *)p.data)[e] / 32;
  nnc_array_free(&p);
  TEST_LOGS(logs);
  ck_assert_msg(nnc_model_train_on_batch(m, &x, &t, &logs, &st) == NNC_OK, "%s", st.message);
  double want = mse + penalty;
  ck_assert_msg(fabs(nnc_logs_get(&logs, "loss") - want) <= 1e-5 * want, "loss %.8g, want %.8g",
                nnc_logs_get(&logs, "loss"), want);
  nnc_array dw, pw;
  ck_assert(nnc_model_get_weight(m, names[0], &dw, &st) == NNC_OK);
  ck_assert(nnc_model_get_weight(m, names[1], &pw, &st) == NNC_OK);
  int negative_dw = 0, negative_pw_before = 0;
  for (int64_t e = 0; e < nnc_array_count(&dw); e++) negative_dw += ((float *)dw.data)[e] < 0;
  for (int64_t e = 0; e < nnc_array_count(&pw); e++) {
    negative_pw_before += ((float *)w0[1].data)[e] < 0;
    ck_assert_msg(((float *)pw.data)[e] >= 0, "pointwise[%lld] = %g under NonNeg", (long long)e,
                  ((float *)pw.data)[e]);
  }
  ck_assert(negative_dw > 0 && negative_pw_before > 0);
  nnc_array_free(&dw);
  nnc_array_free(&pw);
  for (int i = 0; i < 3; i++) nnc_array_free(&w0[i]);
  nnc_model_free(m);
}
END_TEST

/* Refusals name the layer's JSON path and the key. */
static void refused(const char *layer, const char *want) {
  char json[2048];
  snprintf(json, sizeof json,
           "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m\", \"layers\": ["
           "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 6, 2]}}, %s]}}",
           layer);
  nnc_model *m = NULL;
  nnc_status st;
  int rc = nnc_model_load_string(json, "bad.json", &m, &st);
  if (rc == NNC_OK) {
    float xv[12] = {0};
    nnc_array x = {.dtype = NNC_F32, .rank = 3, .shape = {1, 6, 2}, .data = xv};
    rc = nnc_model_build(m, &x, NULL, &st);
  }
  ck_assert_msg(rc == NNC_ERR_SPEC, "%s: rc %d", layer, rc);
  ck_assert_msg(strstr(st.message, want), "%s: message '%s' lacks '%s'", layer, st.message, want);
  nnc_model_free(m);
}

START_TEST(test_refusals) {
  refused("{\"class_name\": \"Conv1DTranspose\", \"config\": {\"filters\": 2, \"kernel_size\": 3, "
          "\"strides\": 2, \"output_padding\": 2}}",
          "bad.json: $.config.layers[1].config.output_padding: expected an integer >= 0 and "
          "smaller than the stride (2)");
  refused("{\"class_name\": \"Conv1DTranspose\", \"config\": {\"filters\": 2, \"kernel_size\": 3, "
          "\"output_padding\": [0, 0]}}",
          "$.config.layers[1].config.output_padding: expected null, an integer or a list of 1");
  refused("{\"class_name\": \"Conv1DTranspose\", \"config\": {\"filters\": 2, \"kernel_size\": 3, "
          "\"padding\": \"causal\"}}",
          "$.config.layers[1].config.padding: expected \"valid\" or \"same\"");
  refused("{\"class_name\": \"Conv1DTranspose\", \"config\": {\"filters\": 2, \"kernel_size\": 3, "
          "\"groups\": 2}}",
          "$.config.layers[1].config.groups: expected 1 or null");
  refused("{\"class_name\": \"Conv1DTranspose\", \"config\": {\"filters\": 2, \"kernel_size\": 3, "
          "\"strides\": 2, \"dilation_rate\": 2}}",
          "$.config.layers[1].config.strides: strides > 1 cannot be combined with dilation_rate");
  refused("{\"class_name\": \"SeparableConv1D\", \"config\": {\"filters\": 2, \"kernel_size\": 3, "
          "\"padding\": \"causal\"}}",
          "$.config.layers[1].config.padding: expected \"valid\" or \"same\"");
  refused("{\"class_name\": \"SeparableConv1D\", \"config\": {\"kernel_size\": 3}}",
          "$.config.layers[1].config.filters");
  refused("{\"class_name\": \"SeparableConv1D\", \"config\": {\"filters\": 2, \"kernel_size\": 3, "
          "\"depth_multiplier\": 0}}",
          "$.config.layers[1].config.depth_multiplier");
  refused("{\"class_name\": \"SeparableConv1D\", \"config\": {\"filters\": 2, \"kernel_size\": 7}}",
          "smaller than the dilated kernel");
  refused("{\"class_name\": \"Conv2DTranspose\", \"config\": {\"filters\": 2, \"kernel_size\": 3}}",
          "Conv2DTranspose \"conv2d_transpose\" expects an input of rank 4");
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("conv_layers");
  TCase *tc = tcase_create("conv_layers");
  tcase_set_timeout(tc, 300);
  tcase_add_loop_test(tc, test_case, 0, N_CASES);
  tcase_add_test(tc, test_hand_values);
  tcase_add_test(tc, test_weight_extras);
  tcase_add_test(tc, test_refusals);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return testutil_run(suite());
}
