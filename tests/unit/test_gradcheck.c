/* Gradient checks: the gradient the compiled train step applies equals the
 * central-difference gradient of the loss the inference (test) graph
 * computes, for every activation, every loss (with and without from_logits,
 * and after a sigmoid/softmax output, where every crossentropy reads the
 * activation's input as Keras's TensorFlow backend does),
 * Flatten, Dense on a rank-3 input, an Activation layer and Dropout.
 *
 * Method. Every spec is SGD(learning_rate=1, momentum=0), so one
 * train_on_batch moves every weight by exactly -gradient:
 *   g = w_before - w_after.
 * The finite-difference gradient perturbs one weight element at a time and
 * reads the loss from test_on_batch (no dropout in these nets, so the test
 * graph computes the same function). Central differences with step h and
 * h/2 are combined by Richardson extrapolation (error O(h^4)), so the
 * remaining error is float32 rounding of the loss (~1e-7 relative) divided
 * by h = 1e-2 * max(1, |w|).
 *
 * Each case also checks the forward pass (predict) and the loss value
 * (test_on_batch) against a float64 reference written here from the Keras 3
 * formulas, so a wrong activation or loss formula cannot hide behind a
 * matching derivative. Inputs and weights are drawn from a fixed generator
 * and redrawn until no pre-activation is within 0.15 of a kink (relu,
 * leaky_relu, elu, selu at 0; hard_sigmoid at +-3; mae at y = y_pred), so
 * central differences never straddle one, and until every piece of a
 * piecewise activation is reached (both signs; hard_sigmoid: both sides of
 * both kinks, within 0.5 of them). */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "oracle_case.h"
#include "testutil.h"

#define MAX_W 8
#define MAX_LAYERS 6
#define KINK_MARGIN 0.15

/* ---- a small deterministic generator ---- */

static uint64_t rng_state;
static void rng_seed(uint64_t s) {
  rng_state = s * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull;
}
static double urand(double lo, double hi) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return lo + (hi - lo) * (double)(rng_state >> 11) / 9007199254740992.0;
}

/* ---- net descriptions: one source for the spec JSON and the reference ---- */

enum { L_DENSE, L_ACT, L_FLATTEN, L_DROPOUT };
enum { LOSS_MSE, LOSS_MAE, LOSS_BCE, LOSS_CCE, LOSS_SCCE };

typedef struct layer_desc {
  int kind;
  const char *name;
  int units;       /* Dense */
  const char *act; /* Dense, Activation */
  double rate;     /* Dropout */
} layer_desc;

typedef struct net_desc {
  int in_rank; /* per sample */
  int64_t in_dims[3];
  int n_layers;
  layer_desc layers[MAX_LAYERS];
  int loss;
  const char *loss_json; /* the compile config's "loss" value */
  int logits;            /* the loss as Keras computes it reads the logits */
  int logits_pre_act;    /* ... which are the output activation's input (rewrite) */
  int declare_input;     /* an InputLayer (built at load) or none (built from data) */
} net_desc;

static const char *dense_json(char *buf, size_t n, const layer_desc *l) {
  switch (l->kind) {
  case L_DENSE:
    snprintf(buf, n,
             "{\"class_name\":\"Dense\",\"config\":{\"name\":\"%s\",\"units\":%d,\"activation\":\"%"
             "s\"}}",
             l->name, l->units, l->act);
    break;
  case L_ACT:
    snprintf(buf, n,
             "{\"class_name\":\"Activation\",\"config\":{\"name\":\"%s\",\"activation\":\"%s\"}}",
             l->name, l->act);
    break;
  case L_FLATTEN:
    snprintf(buf, n, "{\"class_name\":\"Flatten\",\"config\":{\"name\":\"%s\"}}", l->name);
    break;
  case L_DROPOUT:
    snprintf(buf, n, "{\"class_name\":\"Dropout\",\"config\":{\"name\":\"%s\",\"rate\":%.17g}}",
             l->name, l->rate);
    break;
  }
  return buf;
}

/* Keras 2-style Sequential (with an InputLayer if declare_input) and SGD(1.0). */
static char *spec_of(const net_desc *d) {
  size_t cap = 8192;
  char *s = malloc(cap), frag[512];
  ck_assert_ptr_nonnull(s);
  size_t n = (size_t)snprintf(
      s, cap, "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"gc\",\"layers\":[");
  if (d->declare_input) {
    n += (size_t)snprintf(s + n, cap - n,
                          "{\"class_name\":\"InputLayer\",\"config\":{\"batch_shape\":[null");
    for (int i = 0; i < d->in_rank; i++)
      n += (size_t)snprintf(s + n, cap - n, ",%lld", (long long)d->in_dims[i]);
    n += (size_t)snprintf(s + n, cap - n, "],\"name\":\"input\"}},");
  }
  for (int i = 0; i < d->n_layers; i++)
    n += (size_t)snprintf(s + n, cap - n, "%s%s", i ? "," : "",
                          dense_json(frag, sizeof frag, &d->layers[i]));
  snprintf(s + n, cap - n,
           "]},\"compile_config\":{\"optimizer\":{\"class_name\":\"SGD\",\"config\":"
           "{\"learning_rate\":1.0,\"momentum\":0.0}},\"loss\":%s}}",
           d->loss_json);
  return s;
}

/* ---- float64 reference ---- */

static double ref_act1(const char *a, double z) {
  if (!strcmp(a, "linear")) return z;
  if (!strcmp(a, "relu")) return z > 0 ? z : 0;
  if (!strcmp(a, "sigmoid")) return 1 / (1 + exp(-z));
  if (!strcmp(a, "tanh")) return tanh(z);
  if (!strcmp(a, "elu")) return z > 0 ? z : expm1(z);
  if (!strcmp(a, "selu")) return 1.0507009873554805 * (z > 0 ? z : 1.6732632423543772 * expm1(z));
  if (!strcmp(a, "softplus")) return log1p(exp(z));
  if (!strcmp(a, "softsign")) return z / (1 + fabs(z));
  if (!strcmp(a, "swish")) return z / (1 + exp(-z));
  if (!strcmp(a, "gelu")) return 0.5 * z * (1 + erf(z / sqrt(2.0)));
  if (!strcmp(a, "leaky_relu")) return z > 0 ? z : 0.2 * z;
  if (!strcmp(a, "exponential")) return exp(z);
  /* Keras 3's TF backend: relu6(x + 3) / 6 */
  if (!strcmp(a, "hard_sigmoid")) return fmin(6.0, fmax(0.0, z + 3)) / 6;
  ck_abort_msg("no reference for activation %s", a);
  return NAN;
}

/* Distance of a pre-activation from the activation's nearest kink. */
static double kink_distance(const char *a, double z) {
  if (!strcmp(a, "relu") || !strcmp(a, "leaky_relu") || !strcmp(a, "elu") || !strcmp(a, "selu"))
    return fabs(z);
  if (!strcmp(a, "hard_sigmoid")) return fmin(fabs(z - 3), fabs(z + 3));
  return INFINITY;
}

static void ref_act_rows(const char *a, double *v, int64_t rows, int64_t width) {
  if (!strcmp(a, "softmax")) {
    for (int64_t r = 0; r < rows; r++) {
      double *x = v + r * width, m = x[0], s = 0;
      for (int64_t j = 1; j < width; j++) m = fmax(m, x[j]);
      for (int64_t j = 0; j < width; j++) s += exp(x[j] - m);
      for (int64_t j = 0; j < width; j++) x[j] = exp(x[j] - m) / s;
    }
    return;
  }
  for (int64_t i = 0; i < rows * width; i++) v[i] = ref_act1(a, v[i]);
}

static float *wget(const wset *w, const char *layer, const char *weight) {
  char name[64];
  snprintf(name, sizeof name, "%s/%s", layer, weight);
  for (int i = 0; i < w->n; i++)
    if (!strcmp(w->name[i], name)) return w->a[i].data;
  ck_abort_msg("no weight %s", name);
  return NULL;
}

typedef struct ref_out {
  double *out, *logits; /* rows x width; logits = the last activation's input */
  int64_t rows, width;
  double min_kink; /* smallest distance of any pre-activation from a kink */
  int covered;     /* every piece of every piecewise activation is exercised */
} ref_out;

/* The pieces of a piecewise activation a layer's pre-activations z reach:
 * both sides of 0 (relu, leaky_relu, elu, selu); for hard_sigmoid layers of
 * 4+ units, both sides of both kinks within 0.5 (so that a kink moved by more
 * than that changes some derivative). */
static int covers_pieces(const char *a, const double *z, int64_t n, int64_t width) {
  int neg = 0, pos = 0, near[4] = {0, 0, 0, 0};
  for (int64_t i = 0; i < n; i++) {
    neg |= z[i]<0, pos |= z[i]> 0;
    near[0] |= z[i] > -3.5 && z[i]<-3, near[1] |= z[i]> - 3 && z[i] < -2.5;
    near[2] |= z[i] > 2.5 && z[i]<3, near[3] |= z[i]> 3 && z[i] < 3.5;
  }
  if (!strcmp(a, "relu") || !strcmp(a, "leaky_relu") || !strcmp(a, "elu") || !strcmp(a, "selu"))
    return neg && pos;
  if (!strcmp(a, "hard_sigmoid") && width >= 4) return near[0] && near[1] && near[2] && near[3];
  return 1;
}

static void ref_forward(const net_desc *d, const wset *w, const float *x, int64_t batch,
                        ref_out *r) {
  int64_t width = d->in_dims[d->in_rank - 1], inner = 1;
  for (int i = 0; i < d->in_rank; i++) inner *= d->in_dims[i];
  int64_t rows = batch * inner / width;
  double *a = malloc(sizeof(double) * (size_t)(batch * inner));
  for (int64_t i = 0; i < batch * inner; i++) a[i] = x[i];
  double *pre = NULL;
  r->min_kink = INFINITY;
  r->covered = 1;
  for (int l = 0; l < d->n_layers; l++) {
    const layer_desc *L = &d->layers[l];
    if (L->kind == L_FLATTEN) {
      width = rows * width / batch;
      rows = batch;
      continue;
    }
    if (L->kind == L_DROPOUT) continue; /* inference: identity */
    if (L->kind == L_DENSE) {
      const float *k = wget(w, L->name, "kernel"), *b = wget(w, L->name, "bias");
      double *o = calloc((size_t)(rows * L->units), sizeof(double));
      for (int64_t r0 = 0; r0 < rows; r0++)
        for (int j = 0; j < L->units; j++) {
          double s = b[j];
          for (int64_t i = 0; i < width; i++) s += a[r0 * width + i] * k[i * L->units + j];
          o[r0 * L->units + j] = s;
        }
      free(a);
      a = o;
      width = L->units;
    }
    free(pre);
    pre = malloc(sizeof(double) * (size_t)(rows * width));
    memcpy(pre, a, sizeof(double) * (size_t)(rows * width));
    for (int64_t i = 0; i < rows * width; i++)
      r->min_kink = fmin(r->min_kink, kink_distance(L->act, a[i]));
    r->covered &= covers_pieces(L->act, a, rows * width, width);
    ref_act_rows(L->act, a, rows, width);
  }
  r->out = a;
  r->logits = pre;
  r->rows = rows;
  r->width = width;
}

static void ref_free(ref_out *r) {
  free(r->out);
  free(r->logits);
}

/* The loss as Keras 3 (TensorFlow backend) computes it, "sum_over_batch_size". */
static double ref_loss(const net_desc *d, const ref_out *r, const float *y) {
  double total = 0;
  int64_t W = r->width;
  const double *z = d->logits && d->logits_pre_act ? r->logits : r->out;
  for (int64_t row = 0; row < r->rows; row++) {
    const double *p = r->out + row * W, *zz = z + row * W;
    double l = 0;
    if (d->loss == LOSS_MSE || d->loss == LOSS_MAE || d->loss == LOSS_BCE) {
      for (int64_t j = 0; j < W; j++) {
        double t = y[row * W + j], e;
        if (d->loss == LOSS_MSE)
          e = (t - p[j]) * (t - p[j]);
        else if (d->loss == LOSS_MAE)
          e = fabs(t - p[j]);
        else if (d->logits)
          e = fmax(zz[j], 0) - zz[j] * t + log1p(exp(-fabs(zz[j])));
        else {
          double q = fmin(fmax(p[j], 1e-7), 1 - 1e-7);
          e = -(t * log(q) + (1 - t) * log(1 - q));
        }
        l += e / (double)W;
      }
    } else {
      double lg[16], m = -INFINITY, s = 0, sum_p = 0;
      for (int64_t j = 0; j < W; j++) sum_p += p[j];
      for (int64_t j = 0; j < W; j++) {
        if (d->logits)
          lg[j] = zz[j];
        else if (d->loss == LOSS_SCCE)
          lg[j] = log(fmin(fmax(p[j], 1e-7), 1 - 1e-7));
        else
          lg[j] = log(fmin(fmax(p[j] / sum_p, 1e-7), 1 - 1e-7));
        m = fmax(m, lg[j]);
      }
      for (int64_t j = 0; j < W; j++) s += exp(lg[j] - m);
      double lse = m + log(s);
      if (d->loss == LOSS_SCCE) {
        l = lse - lg[(int)y[row]];
      } else if (d->logits) {
        for (int64_t j = 0; j < W; j++) l -= y[row * W + j] * (lg[j] - lse);
      } else { /* probabilities: -sum y log(clip(p / sum p)), no renormalisation */
        for (int64_t j = 0; j < W; j++) l -= y[row * W + j] * lg[j];
      }
    }
    total += l;
  }
  return total / (double)r->rows;
}

/* ---- helpers around the API ---- */

static nnc_model *load(const char *json) {
  nnc_model *m;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, "gradcheck", &m, &st) == NNC_OK, "%s", st.message);
  return m;
}

static double test_loss(nnc_model *m, const nnc_array *x, const nnc_array *y) {
  TEST_LOGS(logs);
  nnc_status st;
  ck_assert_msg(nnc_model_test_on_batch(m, x, y, &logs, &st) == NNC_OK, "%s", st.message);
  double v = nnc_logs_get(&logs, "loss");
  ck_assert_msg(isfinite(v), "test loss is %g", v);
  return v;
}

static nnc_array farray(float *data, int rank, const int64_t *shape) {
  nnc_array a;
  memset(&a, 0, sizeof a);
  a.dtype = NNC_F32;
  a.rank = rank;
  for (int i = 0; i < rank; i++) a.shape[i] = shape[i];
  a.data = data;
  return a;
}

/* g[i][e] = w_before - w_after of one SGD(lr=1) step from w0; the weights are
 * back at w0 afterwards. Returns the loss train_on_batch reported. */
static double train_gradient(nnc_model *m, const wset *w0, const nnc_array *x, const nnc_array *y,
                             double **g) {
  TEST_LOGS(logs);
  nnc_status st;
  weights_put(m, w0);
  ck_assert_msg(nnc_model_train_on_batch(m, x, y, &logs, &st) == NNC_OK, "%s", st.message);
  wset w1;
  weights_get(m, &w1);
  for (int i = 0; i < w0->n; i++) {
    int64_t n = nnc_array_count(&w0->a[i]);
    const float *a = w0->a[i].data, *b = w1.a[i].data;
    for (int64_t e = 0; e < n; e++) g[i][e] = (double)a[e] - (double)b[e];
  }
  weights_free(&w1);
  weights_put(m, w0);
  return nnc_logs_get(&logs, "loss");
}

/* Central difference of the test loss in weight i, element e, step h. */
static double central(nnc_model *m, wset *w, int i, int64_t e, double h, const nnc_array *x,
                      const nnc_array *y) {
  float *v = w->a[i].data, keep = v[e];
  float plus = (float)(keep + h), minus = (float)(keep - h);
  nnc_status st;
  v[e] = plus;
  ck_assert(nnc_model_set_weight(m, w->name[i], &w->a[i], &st) == NNC_OK);
  double lp = test_loss(m, x, y);
  v[e] = minus;
  ck_assert(nnc_model_set_weight(m, w->name[i], &w->a[i], &st) == NNC_OK);
  double lm = test_loss(m, x, y);
  v[e] = keep;
  ck_assert(nnc_model_set_weight(m, w->name[i], &w->a[i], &st) == NNC_OK);
  return (lp - lm) / ((double)plus - (double)minus);
}

/* Compare the train-step gradient with finite differences of the test loss
 * for every element of every weight. */
static void gradcheck(nnc_model *m, wset *w, const nnc_array *x, const nnc_array *y,
                      const char *what) {
  double *g[MAX_W];
  for (int i = 0; i < w->n; i++) g[i] = calloc((size_t)nnc_array_count(&w->a[i]), sizeof(double));
  double train_loss = train_gradient(m, w, x, y, g);
  double loss0 = test_loss(m, x, y);
  /* the train graph's forward loss is the test graph's (no dropout here) */
  ck_assert_msg(fabs(train_loss - loss0) <= 1e-6 * fabs(loss0) + 1e-7,
                "%s: train loss %.9g, test loss %.9g", what, train_loss, loss0);
  double num = 0, den = 0, worst = 0;
  for (int i = 0; i < w->n; i++) {
    float *v = w->a[i].data;
    for (int64_t e = 0; e < nnc_array_count(&w->a[i]); e++) {
      double h = 1e-2 * fmax(1.0, fabs((double)v[e]));
      double d1 = central(m, w, i, e, h, x, y), d2 = central(m, w, i, e, h / 2, x, y);
      double fd = (4 * d2 - d1) / 3; /* Richardson: the h^2 terms cancel */
      double err = fabs(fd - g[i][e]), tol = 1e-2 * fmax(fabs(g[i][e]), 1e-2);
      if (getenv("NNC_GRADCHECK_VERBOSE") && err / tol > worst) worst = err / tol;
      ck_assert_msg(err <= tol,
                    "%s: d loss / d %s[%lld]: train step %.8g, finite differences %.8g (loss %.6g)",
                    what, w->name[i], (long long)e, g[i][e], fd, loss0);
      num += err * err;
      den += fd * fd;
    }
  }
  /* the whole gradient, relative */
  ck_assert_msg(sqrt(num) <= 1e-3 * sqrt(den) + 1e-5, "%s: |g - g_fd| = %.3g, |g_fd| = %.3g", what,
                sqrt(num), sqrt(den));
  ck_assert_msg(den > 0, "%s: the gradient is zero everywhere: nothing checked", what);
  if (getenv("NNC_GRADCHECK_VERBOSE"))
    fprintf(stderr, "%-40s loss %-10.4g |g| %-10.4g rel %-9.2g worst err/tol %.3f\n", what, loss0,
            sqrt(den), sqrt(num / den), worst);
  for (int i = 0; i < w->n; i++) free(g[i]);
}

/* Weights drawn for a net: kernels ~U(-0.7, 0.7), biases ~U(-0.4, 0.4). */
static void draw_weights(wset *w) {
  for (int i = 0; i < w->n; i++) {
    float *v = w->a[i].data;
    int bias = strstr(w->name[i], "/bias") != NULL;
    for (int64_t e = 0; e < nnc_array_count(&w->a[i]); e++)
      v[e] = (float)urand(bias ? -0.4 : -0.7, bias ? 0.4 : 0.7);
  }
}

/* Labels for the loss: a mix of hard and soft targets where Keras allows them. */
static void draw_labels(const net_desc *d, const ref_out *r, float *y) {
  int64_t W = r->width;
  for (int64_t row = 0; row < r->rows; row++) {
    switch (d->loss) {
    case LOSS_MSE:
      for (int64_t j = 0; j < W; j++) y[row * W + j] = (float)urand(-1, 1);
      break;
    case LOSS_MAE: /* at least 0.3 from the prediction: |y - p| has its kink at 0 */
      for (int64_t j = 0; j < W; j++)
        y[row * W + j] =
            (float)(r->out[row * W + j] + (urand(0, 1) < 0.5 ? -1 : 1) * urand(0.3, 0.8));
      break;
    case LOSS_BCE:
      for (int64_t j = 0; j < W; j++) y[row * W + j] = urand(0, 1) < 0.5 ? 0.0f : 1.0f;
      if (row == 0) y[0] = 0.25f; /* a soft label */
      break;
    case LOSS_CCE: {
      for (int64_t j = 0; j < W; j++) y[row * W + j] = 0;
      y[row * W + (int64_t)urand(0, (double)W)] = 1;
      /* a soft row that does not sum to 1: the logits gradient is softmax * sum(y) - y */
      if (row == 0 && W == 3) y[0] = 0.2f, y[1] = 0.5f, y[2] = 0.6f;
      break;
    }
    case LOSS_SCCE:
      y[row] = (float)(int)urand(0, (double)W);
      break;
    }
  }
}

#define BATCH 4

/* Per-sample output geometry of a net: rows (positions) x width. */
static void out_geometry(const net_desc *d, int64_t *rows, int64_t *width) {
  int64_t w = d->in_dims[d->in_rank - 1], inner = 1;
  for (int i = 0; i < d->in_rank; i++) inner *= d->in_dims[i];
  int64_t r = inner / w;
  for (int l = 0; l < d->n_layers; l++) {
    if (d->layers[l].kind == L_FLATTEN) w *= r, r = 1;
    if (d->layers[l].kind == L_DENSE) w = d->layers[l].units;
  }
  *rows = r;
  *width = w;
}

/* The whole check of one net: draw weights and data away from kinks, compare
 * predict and the loss with the reference, then the gradients. */
static void check_net(const net_desc *d, uint64_t seed, const char *what) {
  char *json = spec_of(d);
  nnc_model *m = load(json);
  free(json);
  ck_assert_int_eq(nnc_model_is_built(m), d->declare_input);

  int64_t inner = 1, out_rows, out_width;
  for (int i = 0; i < d->in_rank; i++) inner *= d->in_dims[i];
  out_geometry(d, &out_rows, &out_width);
  float *x = calloc((size_t)(BATCH * inner), sizeof(float));
  int64_t ylen = BATCH * out_rows * (d->loss == LOSS_SCCE ? 1 : out_width);
  float *y = calloc((size_t)ylen, sizeof(float));
  int64_t xs[4] = {BATCH, d->in_dims[0], d->in_dims[1], d->in_dims[2]}, ys[4] = {BATCH, 0, 0, 0};
  nnc_array xa = farray(x, d->in_rank + 1, xs);
  int yrank = 1;
  if (out_rows > 1) ys[yrank++] = out_rows;
  if (d->loss != LOSS_SCCE) ys[yrank++] = out_width; /* sparse labels: (batch,) */
  nnc_array ya = farray(y, yrank, ys);
  nnc_status st;
  /* compile once for these shapes (JIT time dominates this file) */
  ck_assert_msg(nnc_model_build(m, &xa, &ya, &st) == NNC_OK, "%s: %s", what, st.message);

  wset w;
  weights_get(m, &w);
  ref_out r;
  rng_seed(seed);
  int tries = 0;
  for (;; tries++) {
    ck_assert_msg(tries < 5000, "%s: no draw keeps the pre-activations away from kinks", what);
    for (int64_t i = 0; i < BATCH * inner; i++) x[i] = (float)urand(-1, 1);
    draw_weights(&w);
    for (int l = 0; l < d->n_layers;
         l++) /* hard_sigmoid: units saturated and near both ends of the slope */
      if (d->layers[l].kind == L_DENSE && !strcmp(d->layers[l].act, "hard_sigmoid") &&
          d->layers[l].units >= 4) {
        float *b = wget(&w, d->layers[l].name, "bias");
        b[0] = 3.3f, b[1] = -3.3f, b[2] = 2.7f, b[3] = -2.7f;
      }
    ref_forward(d, &w, x, BATCH, &r);
    double largest = 0;
    for (int64_t i = 0; i < r.rows * r.width; i++) largest = fmax(largest, fabs(r.out[i]));
    if (r.min_kink > KINK_MARGIN && r.covered && largest < 4) break;
    ref_free(&r);
  }
  ck_assert(r.rows == BATCH * out_rows && r.width == out_width);
  draw_labels(d, &r, y);
  if (d->loss == LOSS_BCE && !d->logits) /* the probabilities stay clear of the 1e-7 clip */
    for (int64_t i = 0; i < r.rows * r.width; i++)
      ck_assert(r.out[i] > 1e-3 && r.out[i] < 1 - 1e-3);
  weights_put(m, &w);

  /* forward: predict against the float64 reference */
  nnc_array out;
  ck_assert_msg(nnc_model_predict(m, &xa, BATCH, &out, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(nnc_array_count(&out), r.rows * r.width);
  const float *o = out.data;
  for (int64_t i = 0; i < r.rows * r.width; i++)
    ck_assert_msg(fabs(o[i] - r.out[i]) <= 2e-6 + 2e-6 * fabs(r.out[i]),
                  "%s: predict[%lld] = %.9g, reference %.9g", what, (long long)i, (double)o[i],
                  r.out[i]);
  nnc_array_free(&out);

  /* the loss value against the reference formula */
  double want = ref_loss(d, &r, y), got = test_loss(m, &xa, &ya);
  ck_assert_msg(fabs(got - want) <= 1e-5 * fabs(want) + 1e-7, "%s: loss %.9g, reference %.9g", what,
                got, want);

  gradcheck(m, &w, &xa, &ya, what);

  ref_free(&r);
  weights_free(&w);
  free(x);
  free(y);
  nnc_model_free(m);
}

/* ---- activations: Input(3) -> Dense(4, act) -> Dense(2) with mse ---- */

static const char *const activations[] = {
    "linear",   "relu",     "sigmoid", "tanh", "softmax",    "elu",         "selu",
    "softplus", "softsign", "swish",   "gelu", "leaky_relu", "exponential", "hard_sigmoid"};
#define N_ACTIVATIONS ((int)(sizeof activations / sizeof activations[0]))

static net_desc two_layer(const char *hidden, int k, const char *out_act, int loss,
                          const char *loss_json) {
  net_desc d;
  memset(&d, 0, sizeof d);
  d.in_rank = 1;
  d.in_dims[0] = 3;
  d.n_layers = 2;
  d.layers[0] = (layer_desc){L_DENSE, "d1", 4, hidden, 0};
  d.layers[1] = (layer_desc){L_DENSE, "d2", k, out_act, 0};
  d.loss = loss;
  d.loss_json = loss_json;
  return d;
}

/* The activation in a hidden layer and at the output, where its derivative
 * meets the loss directly (softmax with mse is not rewritten). */
START_TEST(activation_gradients) {
  const char *act = activations[_i];
  net_desc d = two_layer(act, 2, act, LOSS_MSE, "\"mse\"");
  char what[64];
  snprintf(what, sizeof what, "%s (hidden and output), mse", act);
  check_net(&d, 100 + (uint64_t)_i, what);
}
END_TEST

/* ---- losses ---- */

typedef struct loss_case {
  const char *what;
  const char *out_act;
  int k, loss, logits, pre_act;
  const char *loss_json;
} loss_case;

static const loss_case loss_cases[] = {
    {"mse, linear", "linear", 2, LOSS_MSE, 0, 0,
     "{\"class_name\":\"MeanSquaredError\",\"config\":{}}"},
    {"mae, linear", "linear", 2, LOSS_MAE, 0, 0, "\"mae\""},
    {"mae, sigmoid", "sigmoid", 2, LOSS_MAE, 0, 0,
     "{\"class_name\":\"MeanAbsoluteError\",\"config\":{}}"},
    /* binary crossentropy */
    {"bce on probabilities (hard_sigmoid)", "hard_sigmoid", 2, LOSS_BCE, 0, 0,
     "\"binary_crossentropy\""},
    {"bce from_logits", "linear", 2, LOSS_BCE, 1, 0,
     "{\"class_name\":\"BinaryCrossentropy\",\"config\":{\"from_logits\":true}}"},
    {"bce after sigmoid (rewrite)", "sigmoid", 2, LOSS_BCE, 1, 1, "\"binary_crossentropy\""},
    {"bce after sigmoid, 1 unit", "sigmoid", 1, LOSS_BCE, 1, 1,
     "{\"class_name\":\"BinaryCrossentropy\",\"config\":{\"from_logits\":false}}"},
    /* categorical crossentropy */
    {"cce on probabilities (hard_sigmoid)", "hard_sigmoid", 3, LOSS_CCE, 0, 0,
     "\"categorical_crossentropy\""},
    {"cce after sigmoid (its logits)", "sigmoid", 3, LOSS_CCE, 1, 1,
     "\"categorical_crossentropy\""},
    {"cce from_logits", "linear", 3, LOSS_CCE, 1, 0,
     "{\"class_name\":\"CategoricalCrossentropy\",\"config\":{\"from_logits\":true}}"},
    {"cce after softmax (rewrite)", "softmax", 3, LOSS_CCE, 1, 1, "\"categorical_crossentropy\""},
    /* sparse categorical crossentropy */
    {"scce on probabilities (hard_sigmoid)", "hard_sigmoid", 3, LOSS_SCCE, 0, 0,
     "\"sparse_categorical_crossentropy\""},
    {"scce after sigmoid (its logits)", "sigmoid", 3, LOSS_SCCE, 1, 1,
     "\"sparse_categorical_crossentropy\""},
    {"scce from_logits", "linear", 3, LOSS_SCCE, 1, 0,
     "{\"class_name\":\"SparseCategoricalCrossentropy\",\"config\":{\"from_logits\":true}}"},
    {"scce after softmax (rewrite)", "softmax", 3, LOSS_SCCE, 1, 1,
     "\"sparse_categorical_crossentropy\""},
};
#define N_LOSS_CASES ((int)(sizeof loss_cases / sizeof loss_cases[0]))

START_TEST(loss_gradients) {
  const loss_case *c = &loss_cases[_i];
  net_desc d = two_layer("tanh", c->k, c->out_act, c->loss, c->loss_json);
  d.logits = c->logits;
  d.logits_pre_act = c->pre_act;
  check_net(&d, 300 + (uint64_t)_i, c->what);
}
END_TEST

/* Keras's TensorFlow backend computes a crossentropy after a sigmoid/softmax
 * output from the logits: with a saturated output (z = 30) the loss is the
 * exact 30, not -log(1e-7) = 16.1 of the clipped probabilities, and the
 * gradient is the exact (p - y), not 0 (clipped). */
START_TEST(logits_rewrite_saturated) {
  static const struct {
    const char *act, *loss;
    int k;
  } cases[] = {{"sigmoid", "\"binary_crossentropy\"", 1},
               {"softmax", "\"categorical_crossentropy\"", 2},
               {"softmax", "\"sparse_categorical_crossentropy\"", 2}};
  for (int c = 0; c < 3; c++) {
    net_desc d;
    memset(&d, 0, sizeof d);
    d.in_rank = 1;
    d.in_dims[0] = 1;
    d.n_layers = 1;
    d.layers[0] = (layer_desc){L_DENSE, "out", cases[c].k, cases[c].act, 0};
    d.declare_input = 1;
    d.loss_json = cases[c].loss;
    char *json = spec_of(&d);
    nnc_model *m = load(json);
    free(json);
    nnc_status st;
    /* z = [30] (sigmoid) or [30, 0] (softmax) for x = 1; the target is the other class */
    float kernel[2] = {30, 0}, bias[2] = {0, 0}, x[1] = {1}, y[2];
    int64_t ks[2] = {1, cases[c].k}, bs[1] = {cases[c].k}, xs[2] = {1, 1};
    nnc_array ka = farray(kernel, 2, ks), ba = farray(bias, 1, bs), xa = farray(x, 2, xs), ya;
    ck_assert(nnc_model_set_weight(m, "out/kernel", &ka, &st) == NNC_OK);
    ck_assert(nnc_model_set_weight(m, "out/bias", &ba, &st) == NNC_OK);
    int64_t ys[2] = {1, cases[c].k};
    if (c == 0) y[0] = 0;
    if (c == 1) y[0] = 0, y[1] = 1;
    if (c == 2) y[0] = 1;
    ya = farray(y, c == 2 ? 1 : 2, ys);
    if (c == 2) ya.shape[0] = 1;
    /* exact loss: softplus(30) = 30 + log1p(e^-30) for BCE; 30 + log1p(e^-30) for the softmax ones
     */
    double want = 30 + log1p(exp(-30.0));
    double got = test_loss(m, &xa, &ya);
    ck_assert_msg(fabs(got - want) < 1e-4 * want, "%s with %s: loss %.7g, exact (from logits) %.7g",
                  cases[c].act, cases[c].loss, got, want);
    TEST_LOGS(logs);
    ck_assert(nnc_model_train_on_batch(m, &xa, &ya, &logs, &st) == NNC_OK);
    nnc_array after;
    ck_assert(nnc_model_get_weight(m, "out/kernel", &after, &st) == NNC_OK);
    /* d loss / d kernel[0][0] = (p - y) * x = 1 (sigmoid(30) = 1, y = 0) or ~1 (softmax) */
    double g = 30.0 - ((float *)after.data)[0];
    ck_assert_msg(fabs(g - 1.0) < 1e-4, "%s with %s: gradient %.7g, exact 1", cases[c].act,
                  cases[c].loss, g);
    nnc_array_free(&after);
    nnc_model_free(m);
  }
}
END_TEST

/* ---- shapes: Flatten, Dense on rank 3, an Activation layer ---- */

START_TEST(dense_rank3) { /* (batch, 5, 3) -> Dense(4, tanh) -> Dense(2): output (batch, 5, 2) */
  net_desc d;
  memset(&d, 0, sizeof d);
  d.in_rank = 2;
  d.in_dims[0] = 5;
  d.in_dims[1] = 3;
  d.n_layers = 2;
  d.declare_input = 1;
  d.layers[0] = (layer_desc){L_DENSE, "d1", 4, "tanh", 0};
  d.layers[1] = (layer_desc){L_DENSE, "d2", 2, "linear", 0};
  d.loss = LOSS_MSE;
  d.loss_json = "\"mse\"";
  check_net(&d, 400, "dense on (batch, 5, 3), mse");
  d.layers[1].act = "softmax";
  d.loss = LOSS_CCE;
  d.loss_json = "\"categorical_crossentropy\"";
  d.logits = d.logits_pre_act = 1;
  check_net(&d, 401, "dense on (batch, 5, 3), softmax + cce");
}
END_TEST

START_TEST(flatten) {
  net_desc d;
  memset(&d, 0, sizeof d);
  d.in_rank = 2; /* (batch, 2, 3) -> Flatten -> Dense(4, swish) -> Dense(2) */
  d.in_dims[0] = 2;
  d.in_dims[1] = 3;
  d.n_layers = 3;
  d.declare_input = 1;
  d.layers[0] = (layer_desc){L_FLATTEN, "flat", 0, NULL, 0};
  d.layers[1] = (layer_desc){L_DENSE, "d1", 4, "swish", 0};
  d.layers[2] = (layer_desc){L_DENSE, "d2", 2, "linear", 0};
  d.loss = LOSS_MSE;
  d.loss_json = "\"mse\"";
  check_net(&d, 500, "flatten (batch, 2, 3)");
  /* (batch, 5, 3) -> Dense(2, tanh) -> Flatten -> Dense(2): the gradient flows back through the
   * reshape */
  d.in_dims[0] = 5;
  d.layers[0] = (layer_desc){L_DENSE, "d1", 2, "tanh", 0};
  d.layers[1] = (layer_desc){L_FLATTEN, "flat", 0, NULL, 0};
  check_net(&d, 501, "dense (batch, 5, 3) -> flatten");
}
END_TEST

START_TEST(
    activation_layer) { /* Dense(4) -> Activation(gelu) -> Dense(3) -> Activation(softmax) + scce */
  net_desc d;
  memset(&d, 0, sizeof d);
  d.in_rank = 1;
  d.in_dims[0] = 3;
  d.n_layers = 4;
  d.declare_input = 1;
  d.layers[0] = (layer_desc){L_DENSE, "d1", 4, "linear", 0};
  d.layers[1] = (layer_desc){L_ACT, "a1", 0, "gelu", 0};
  d.layers[2] = (layer_desc){L_DENSE, "d2", 3, "linear", 0};
  d.layers[3] = (layer_desc){L_ACT, "a2", 0, "softmax", 0};
  d.loss = LOSS_SCCE;
  d.loss_json = "\"sparse_categorical_crossentropy\"";
  d.logits = d.logits_pre_act = 1;
  check_net(&d, 600, "activation layers, softmax + scce");
}
END_TEST

/* Dropout(0) is the identity in training too (Keras): plain gradients. */
START_TEST(dropout_rate0) {
  net_desc d = two_layer("relu", 2, "linear", LOSS_MSE, "\"mse\"");
  d.n_layers = 3;
  d.layers[2] = d.layers[1];
  d.layers[1] = (layer_desc){L_DROPOUT, "drop", 0, NULL, 0.0};
  d.declare_input = 1;
  check_net(&d, 700, "dropout(0.0)");
}
END_TEST

/* Dropout(rate) in training: x = 1, Input(1) -> Dense(n, no bias: w1) ->
 * Dropout -> Dense(1, no bias: w2), mse against y = -10 (below any output).
 * out = sum_i m_i w1_i w2_i and loss = (out - y)^2, so
 *   d loss / d w2_i = 2 (out - y) m_i w1_i,  d loss / d w1_i = 2 (out - y) m_i w2_i.
 * The mask m recovered from the w2 gradient must hold only 0 and 1/(1-rate),
 * give the forward output (the forward pass used the same mask), and give the
 * w1 gradient: the gradient is that of the masked function, i.e. what finite
 * differences would measure with the mask held fixed. */
static void dropout_mask_case(double rate, int n) {
  char json[2048];
  snprintf(
      json, sizeof json,
      "{\"class_name\":\"Sequential\",\"config\":{\"layers\":["
      "{\"class_name\":\"InputLayer\",\"config\":{\"batch_shape\":[null,1]}},"
      "{\"class_name\":\"Dense\",\"config\":{\"name\":\"a\",\"units\":%d,\"use_bias\":false}},"
      "{\"class_name\":\"Dropout\",\"config\":{\"name\":\"drop\",\"rate\":%.17g}},"
      "{\"class_name\":\"Dense\",\"config\":{\"name\":\"b\",\"units\":1,\"use_bias\":false}}]},"
      "\"compile_config\":{\"optimizer\":{\"class_name\":\"SGD\",\"config\":{\"learning_rate\":1.0}"
      "},"
      "\"loss\":\"mse\"}}",
      n, rate);
  nnc_model *m = load(json);
  nnc_status st;
  float *w1 = malloc(sizeof(float) * (size_t)n), *w2 = malloc(sizeof(float) * (size_t)n);
  rng_seed(800);
  for (int i = 0; i < n; i++) w1[i] = (float)urand(0.5, 1.0), w2[i] = (float)urand(0.5, 1.0);
  int64_t s1[2] = {1, n}, s2[2] = {n, 1}, xs[2] = {1, 1};
  nnc_array a1 = farray(w1, 2, s1), a2 = farray(w2, 2, s2);
  float x[1] = {1}, y[1] = {-10};
  nnc_array xa = farray(x, 2, xs), ya = farray(y, 2, xs);
  double scale = 1 / (1 - rate);
  unsigned char *prev = calloc((size_t)n, 1);
  int differs = 0;
  for (int step = 0; step < 3; step++) {
    ck_assert(nnc_model_set_weight(m, "a/kernel", &a1, &st) == NNC_OK);
    ck_assert(nnc_model_set_weight(m, "b/kernel", &a2, &st) == NNC_OK);
    TEST_LOGS(logs);
    ck_assert_msg(nnc_model_train_on_batch(m, &xa, &ya, &logs, &st) == NNC_OK, "%s", st.message);
    double loss = nnc_logs_get(&logs, "loss"), out = y[0] + sqrt(loss), c = 2 * (out - y[0]);
    nnc_array b1, b2;
    ck_assert(nnc_model_get_weight(m, "a/kernel", &b1, &st) == NNC_OK);
    ck_assert(nnc_model_get_weight(m, "b/kernel", &b2, &st) == NNC_OK);
    const float *n1 = b1.data, *n2 = b2.data;
    double masked = 0;
    int kept = 0;
    for (int i = 0; i < n; i++) {
      double g2 = (double)w2[i] - n2[i], g1 = (double)w1[i] - n1[i];
      double mi = g2 / (c * w1[i]);
      int keep = fabs(mi - scale) < 1e-3 * scale;
      ck_assert_msg(keep || fabs(mi) < 1e-3, "rate %g, step %d: mask[%d] = %.6g, not 0 or %.6g",
                    rate, step, i, mi, scale);
      double m_exact = keep ? scale : 0;
      /* the backward pass through the first layer sees the same mask */
      ck_assert_msg(fabs(g1 - c * m_exact * w2[i]) <= 1e-4 * fabs(c * scale * w2[i]),
                    "rate %g, step %d: d loss / d w1[%d] = %.7g, masked function %.7g", rate, step,
                    i, g1, c * m_exact * w2[i]);
      masked += m_exact * w1[i] * w2[i];
      kept += keep;
      if (step > 0 && prev[i] != keep) differs = 1;
      prev[i] = (unsigned char)keep;
    }
    /* the forward output is the masked sum with that mask */
    ck_assert_msg(fabs(masked - out) <= 1e-4 * fabs(out),
                  "rate %g, step %d: forward %.7g, masked sum %.7g", rate, step, out, masked);
    /* about (1 - rate) of the units kept: within 4 standard deviations */
    double sd = sqrt(n * rate * (1 - rate));
    ck_assert_msg(fabs(kept - n * (1 - rate)) <= 4 * sd, "rate %g: kept %d of %d", rate, kept, n);
    nnc_array_free(&b1);
    nnc_array_free(&b2);
  }
  ck_assert_msg(differs, "rate %g: the same mask at three consecutive steps", rate);
  free(prev);
  free(w1);
  free(w2);
  nnc_model_free(m);
}

START_TEST(dropout_same_mask_forward_backward) {
  dropout_mask_case(0.5, 400);
  dropout_mask_case(0.3, 400);
}
END_TEST

int main(void) {
  Suite *s = suite_create("gradcheck");
  TCase *tc = tcase_create("gradients");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, activation_gradients, 0, N_ACTIVATIONS);
  tcase_add_loop_test(tc, loss_gradients, 0, N_LOSS_CASES);
  tcase_add_test(tc, logits_rewrite_saturated);
  tcase_add_test(tc, dense_rank3);
  tcase_add_test(tc, flatten);
  tcase_add_test(tc, activation_layer);
  tcase_add_test(tc, dropout_rate0);
  tcase_add_test(tc, dropout_same_mask_forward_backward);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
