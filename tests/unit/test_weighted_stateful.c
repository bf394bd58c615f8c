/* weighted_metrics with sample weights for the stateful metrics whose
 * statistics are not plain counts: AUC (ROC, PR, thresholds lists,
 * label_weights, multi_label), the four *At* metrics, F1/FBeta, R2Score and
 * the IoU family. The models predict their input (Dense set to the
 * identity), so y_pred is the data. Each expected value comes from a small
 * double-precision reference of the Keras 3 formula written here
 * independently of nnc's implementation: confusion counts threshold by
 * threshold (y_pred > t) where nnc counts buckets, plain weighted sums, a
 * confusion matrix by loops. Every case evaluates the whole data (batches of
 * 5: 5 + 3) and each batch alone, checks both against the reference, and
 * checks that the global value differs from the mean of the batch values
 * (the metrics are epoch-global). Weights include zeros. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define N 8
#define BATCH 5

/* Sequential: InputLayer (per-sample shape `shape`), Dense(units) set to the
 * identity, compiled with `loss` and weighted_metrics `wm`. */
static nnc_model *identity_model(const char *shape, int units, const char *loss, const char *wm) {
  static char json[16384];
  snprintf(json, sizeof json,
           "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, %s], 'name': 'in'}},"
           "{'class_name': 'Dense', 'config': {'name': 'd', 'units': %d}}]},"
           "'compile_config': {'optimizer': 'sgd', 'loss': %s, 'weighted_metrics': %s}}",
           shape, units, loss, wm);
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(testutil_json(json), "weighted.json", &m, &st) == NNC_OK,
                "%s", st.message);
  float kernel[64] = {0}, bias[8] = {0};
  for (int i = 0; i < units; i++) kernel[i * units + i] = 1.0f;
  nnc_array k = testutil_f32(kernel, units, units), b = testutil_f32(bias, units, 1);
  b.rank = 1;
  ck_assert_msg(nnc_model_set_weight(m, "d/kernel", &k, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_set_weight(m, "d/bias", &b, &st) == NNC_OK, "%s", st.message);
  return m;
}

/* A case's data: x (= y_pred) [N][xc], y [N][yc], weights [N][wc] (wc 0:
 * shape (N,)). */
typedef struct data {
  const float *x, *y, *w;
  int xc, yc, wc;
} data;

static nnc_array view(const float *p, int64_t from, int64_t to, int cols, int rank) {
  nnc_array a = {0};
  a.dtype = NNC_F32;
  a.rank = rank;
  a.shape[0] = to - from;
  a.shape[1] = cols;
  a.data = (float *)(p + from * (cols ? cols : 1));
  return a;
}

static void run(nnc_model *m, const data *d, int64_t from, int64_t to, nnc_logs *out) {
  nnc_status st;
  nnc_array x = view(d->x, from, to, d->xc, 2), y = view(d->y, from, to, d->yc, 2);
  nnc_array w = view(d->w, from, to, d->wc, d->wc ? 2 : 1);
  ck_assert_msg(nnc_model_evaluate_weighted(m, 1, &x, 1, &y, &w, BATCH, out, &st) == NNC_OK, "%s",
                st.message);
}

/* The reference value of a key over samples [from, to). */
typedef double (*reference)(const char *key, const data *d, int from, int to);

static void check(nnc_model *m, const data *d, reference ref, const char *const *keys, int n_keys) {
  TEST_LOGS(all);
  run(m, d, 0, N, &all);
  double mean[16] = {0};
  for (int from = 0; from < N; from += BATCH) {
    int to = from + BATCH < N ? from + BATCH : N;
    TEST_LOGS(one);
    run(m, d, from, to, &one);
    for (int i = 0; i < n_keys; i++) {
      double got = nnc_logs_get(&one, keys[i]), want = ref(keys[i], d, from, to);
      ck_assert_msg(fabs(got - want) <= 2e-5 * fmax(1.0, fabs(want)),
                    "%s, samples %d..%d: got %.9g, want %.9g", keys[i], from, to, got, want);
      mean[i] += want / 2;
    }
  }
  for (int i = 0; i < n_keys; i++) {
    double got = nnc_logs_get(&all, keys[i]), want = ref(keys[i], d, 0, N);
    ck_assert_msg(fabs(got - want) <= 2e-5 * fmax(1.0, fabs(want)), "%s: got %.9g, want %.9g",
                  keys[i], got, want);
    ck_assert_msg(fabs(want - mean[i]) > 1e-3, "%s: the global value %.9g is the batch mean",
                  keys[i], want);
  }
}

static int is(const char *key, const char *name) {
  return strcmp(key, name) == 0;
}

/* ---- confusion counts threshold by threshold (metrics_utils, the
 * unoptimized path): an element with weight v adds v to tp at each t with
 * label != 0 and p > t (float32 thresholds), and so on. ---- */

typedef struct counts {
  int T;
  double thr[64], tp[64], fp[64], tn[64], fn[64];
} counts;

static void count_element(counts *c, double p, double label, double v) {
  for (int t = 0; t < c->T; t++) {
    int pred = (float)p > (float)c->thr[t], pos = label != 0;
    c->tp[t] += pos && pred ? v : 0;
    c->fp[t] += !pos && pred ? v : 0;
    c->tn[t] += !pos && !pred ? v : 0;
    c->fn[t] += pos && !pred ? v : 0;
  }
}

/* AUC's thresholds: [-eps, list, 1 + eps]; evenly: the list is i / (T-1). */
static void auc_thresholds(counts *c, int T, const double *list) {
  memset(c, 0, sizeof *c);
  c->T = T;
  c->thr[0] = -1e-7, c->thr[T - 1] = 1 + 1e-7;
  for (int i = 1; i < T - 1; i++) c->thr[i] = list ? list[i - 1] : (double)i / (T - 1);
}

static double ratio(double a, double b) {
  return b == 0 ? 0 : a / b;
}

/* AUC.result() for one label: curve 0 ROC, 1 PR; summation 0
 * interpolation, 1 minoring, 2 majoring. */
static double auc_of(const counts *c, int pr, int summation) {
  double sum = 0;
  for (int t = 0; t + 1 < c->T; t++) {
    int a = t, b = t + 1;
    if (pr && summation == 0) { /* Davis & Goadrich: interpolate tp against p = tp + fp */
      double dtp = c->tp[a] - c->tp[b], pa = c->tp[a] + c->fp[a], pb = c->tp[b] + c->fp[b];
      double slope = ratio(dtp, fmax(pa - pb, 0));
      double intercept = c->tp[b] - slope * pb;
      double log_ratio = pa > 0 && pb > 0 ? log(pa / pb) : 0;
      sum += ratio(slope * (dtp + intercept * log_ratio), c->tp[b] + c->fn[b]);
      continue;
    }
    double ra = ratio(c->tp[a], c->tp[a] + c->fn[a]), rb = ratio(c->tp[b], c->tp[b] + c->fn[b]);
    double xa = pr ? ra : ratio(c->fp[a], c->fp[a] + c->tn[a]);
    double xb = pr ? rb : ratio(c->fp[b], c->fp[b] + c->tn[b]);
    double ya = pr ? ratio(c->tp[a], c->tp[a] + c->fp[a]) : ra;
    double yb = pr ? ratio(c->tp[b], c->tp[b] + c->fp[b]) : rb;
    double h = summation == 0 ? (ya + yb) / 2 : summation == 1 ? fmin(ya, yb) : fmax(ya, yb);
    sum += (xa - xb) * h;
  }
  return sum;
}

/* ---- AUC on a (batch, 1) output ---- */

/* predictions of exactly 0 are above no threshold of the *At* metrics but
 * still count as false negatives and true negatives */
static const float bx[N] = {0.92f, 0.13f, 0.48f, 0.71f, 0.27f, 0.66f, 0.0f, 0.0f};
static const float by[N] = {1, 0, 1, 1, 0, 0, 1, 0};
static const float bw[N] = {2, 1, 0, 0.5f, 3, 1.5f, 1, 2};

static const double uneven[3] = {0.3, 0.4, 0.7};

static double binary_auc_ref(const char *key, const data *d, int from, int to) {
  counts c;
  int pr = 0, summation = 0;
  if (is(key, "auc") || is(key, "pr") || is(key, "pr_min"))
    auc_thresholds(&c, 5, NULL);
  else /* the uneven list, sorted */
    auc_thresholds(&c, 5, uneven);
  if (is(key, "pr") || is(key, "pr_min") || is(key, "pr_list")) pr = 1;
  if (is(key, "pr_min")) summation = 1;
  for (int i = from; i < to; i++) count_element(&c, d->x[i], d->y[i], d->w[i]);
  return auc_of(&c, pr, summation);
}

START_TEST(auc_weighs_each_prediction) {
  nnc_model *m = identity_model(
      "1", 1, "'mse'",
      "[{'class_name': 'AUC', 'config': {'num_thresholds': 5}},"
      " {'class_name': 'AUC', 'config': {'name': 'pr', 'num_thresholds': 5, 'curve': 'PR'}},"
      " {'class_name': 'AUC', 'config': {'name': 'pr_min', 'num_thresholds': 5, 'curve': 'PR',"
      "   'summation_method': 'minoring'}},"
      " {'class_name': 'AUC', 'config': {'name': 'roc_list', 'thresholds': [0.7, 0.3, 0.4]}},"
      " {'class_name': 'AUC', 'config': {'name': 'pr_list', 'thresholds': [0.4, 0.7, 0.3],"
      "   'curve': 'PR'}}]");
  data d = {bx, by, bw, 1, 1, 0};
  static const char *const keys[] = {"auc", "pr", "pr_min", "roc_list", "pr_list"};
  check(m, &d, binary_auc_ref, keys, 5);
  nnc_model_free(m);
}
END_TEST

/* An evenly spaced thresholds list takes Keras's bucket path: the same as
 * num_thresholds = len + 2 (here [.25, .5, .75] and 5); a list of one, [.5],
 * is evenly spaced too ([0, .5, 1]). Keras's docstring example: labels
 * 0 0 1 1, predictions 0 .5 .3 .9, num_thresholds 3: 0.75; with
 * sample_weight 1 0 0 1: 1.0. */
START_TEST(auc_even_thresholds_list_is_num_thresholds) {
  nnc_model *m = identity_model(
      "1", 1, "'mse'",
      "[{'class_name': 'AUC', 'config': {'num_thresholds': 5}},"
      " {'class_name': 'AUC', 'config': {'name': 'listed', 'thresholds': [0.75, 0.25, 0.5]}},"
      " {'class_name': 'AUC', 'config': {'name': 'one', 'thresholds': [0.5]}}]");
  nnc_status st;
  float x4[4] = {0, 0.5f, 0.3f, 0.9f}, y4[4] = {0, 0, 1, 1}, w4[4] = {1, 0, 0, 1};
  nnc_array x = testutil_f32(x4, 4, 1), y = testutil_f32(y4, 4, 1), w = view(w4, 0, 4, 0, 1);
  TEST_LOGS(unweighted);
  TEST_LOGS(weighted);
  ck_assert_msg(nnc_model_evaluate(m, &x, &y, 4, &unweighted, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_evaluate_weighted(m, 1, &x, 1, &y, &w, 4, &weighted, &st) == NNC_OK, "%s",
                st.message);
  ck_assert_double_eq_tol(nnc_logs_get(&unweighted, "one"), 0.75, 1e-6);
  ck_assert_double_eq_tol(nnc_logs_get(&weighted, "one"), 1.0, 1e-6);
  TEST_LOGS(all);
  data d = {bx, by, bw, 1, 1, 0};
  run(m, &d, 0, N, &all);
  ck_assert_double_eq_tol(nnc_logs_get(&all, "listed"), nnc_logs_get(&all, "auc"), 1e-7);
  ck_assert_double_eq_tol(nnc_logs_get(&all, "auc"), binary_auc_ref("auc", &d, 0, N), 1e-5);
  nnc_model_free(m);
}
END_TEST

/* ---- AUC on (batch, 2) outputs: multi_label and label_weights ---- */

static const float mx[2 * N] = {0.91f, 0.22f, 0.14f, 0.63f, 0.58f, 0.41f, 0.72f, 0.86f,
                                0.33f, 0.17f, 0.46f, 0.69f, 0.27f, 0.52f, 0.04f, 0.38f};
static const float my[2 * N] = {1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1};

static double multi_auc_ref(const char *key, const data *d, int from, int to) {
  const double lw[2] = {0.5, 2.0};
  if (is(key, "pooled")) { /* flattened, each element weighted by its label's weight */
    counts c;
    auc_thresholds(&c, 5, NULL);
    for (int i = from; i < to; i++)
      for (int l = 0; l < 2; l++)
        count_element(&c, d->x[2 * i + l], d->y[2 * i + l], d->w[i] * lw[l]);
    return auc_of(&c, 0, 0);
  }
  double per_label[2];
  for (int l = 0; l < 2; l++) {
    counts c;
    auc_thresholds(&c, 5, NULL);
    for (int i = from; i < to; i++) count_element(&c, d->x[2 * i + l], d->y[2 * i + l], d->w[i]);
    per_label[l] = auc_of(&c, is(key, "multi_pr"), 0);
  }
  if (is(key, "multi_lw")) return (lw[0] * per_label[0] + lw[1] * per_label[1]) / (lw[0] + lw[1]);
  return (per_label[0] + per_label[1]) / 2;
}

START_TEST(auc_label_weights_and_multi_label) {
  nnc_model *m =
      identity_model("2", 2, "'mse'",
                     "[{'class_name': 'AUC', 'config': {'name': 'multi', 'num_thresholds': 5,"
                     "   'multi_label': true}},"
                     " {'class_name': 'AUC', 'config': {'name': 'multi_pr', 'num_thresholds': 5,"
                     "   'multi_label': true, 'num_labels': 2, 'curve': 'PR'}},"
                     " {'class_name': 'AUC', 'config': {'name': 'multi_lw', 'num_thresholds': 5,"
                     "   'multi_label': true, 'label_weights': [0.5, 2.0]}},"
                     " {'class_name': 'AUC', 'config': {'name': 'pooled', 'num_thresholds': 5,"
                     "   'label_weights': [0.5, 2.0]}}]");
  data d = {mx, my, bw, 2, 2, 0};
  static const char *const keys[] = {"multi", "multi_pr", "multi_lw", "pooled"};
  check(m, &d, multi_auc_ref, keys, 4);
  nnc_model_free(m);
}
END_TEST

/* ---- SensitivityAtSpecificity & co: thresholds [0, 1/(T-1), ..., 1]
 * (num_thresholds 1: [0.5]); the largest dependent value among thresholds
 * whose constrained value is >= the given one ---- */

static double at_ref(const char *key, const data *d, int from, int to) {
  counts c;
  memset(&c, 0, sizeof c);
  int one = is(key, "sens_at_spec_1");
  c.T = one ? 1 : 6;
  for (int t = 0; t < c.T; t++) c.thr[t] = one ? 0.5 : (double)t / 5;
  int column = is(key, "prec_at_rec_c1");
  for (int i = from; i < to; i++) {
    if (d->xc == 2)
      count_element(&c, d->x[2 * i + column], d->y[2 * i + column], d->w[i]);
    else
      count_element(&c, d->x[i], d->y[i], d->w[i]);
  }
  double best = 0;
  for (int t = 0; t < c.T; t++) {
    double sens = ratio(c.tp[t], c.tp[t] + c.fn[t]), spec = ratio(c.tn[t], c.tn[t] + c.fp[t]);
    double prec = ratio(c.tp[t], c.tp[t] + c.fp[t]);
    double con, dep;
    if (is(key, "sens_at_spec") || one)
      con = spec, dep = sens;
    else if (is(key, "spec_at_sens"))
      con = sens, dep = spec;
    else if (is(key, "rec_at_prec"))
      con = prec, dep = sens;
    else
      con = sens, dep = prec;
    double value = is(key, "sens_at_spec") ? 0.6 : is(key, "spec_at_sens") ? 0.7 : 0.5;
    if (one) value = 0.4;
    if (con >= (float)value && dep > best) best = dep;
  }
  return best;
}

START_TEST(at_metrics_weigh_each_prediction) {
  nnc_model *m = identity_model(
      "1", 1, "'mse'",
      "[{'class_name': 'SensitivityAtSpecificity', 'config': {'name': 'sens_at_spec',"
      "   'specificity': 0.6, 'num_thresholds': 6}},"
      " {'class_name': 'SpecificityAtSensitivity', 'config': {'name': 'spec_at_sens',"
      "   'sensitivity': 0.7, 'num_thresholds': 6}},"
      " {'class_name': 'PrecisionAtRecall', 'config': {'name': 'prec_at_rec', 'recall': 0.5,"
      "   'num_thresholds': 6}},"
      " {'class_name': 'RecallAtPrecision', 'config': {'name': 'rec_at_prec', 'precision': 0.5,"
      "   'num_thresholds': 6}},"
      " {'class_name': 'SensitivityAtSpecificity', 'config': {'name': 'sens_at_spec_1',"
      "   'specificity': 0.4, 'num_thresholds': 1}}]");
  data d = {bx, by, bw, 1, 1, 0};
  static const char *const keys[] = {"sens_at_spec", "spec_at_sens", "prec_at_rec", "rec_at_prec",
                                     "sens_at_spec_1"};
  check(m, &d, at_ref, keys, 5);
  nnc_model_free(m);
}
END_TEST

/* class_id picks a column; the (batch,) weights still weigh the samples. */
START_TEST(at_metric_class_id_is_weighted) {
  nnc_model *m = identity_model(
      "2", 2, "'mse'",
      "[{'class_name': 'PrecisionAtRecall', 'config': {'name': 'prec_at_rec_c1', 'recall': 0.5,"
      "   'num_thresholds': 6, 'class_id': 1}}]");
  data d = {mx, my, bw, 2, 2, 0};
  static const char *const keys[] = {"prec_at_rec_c1"};
  check(m, &d, at_ref, keys, 1);
  nnc_model_free(m);
}
END_TEST

/* ---- F1Score / FBetaScore on (batch, 3): each element's tp/fp/fn and
 * support times its sample's weight ---- */

static const float fx[3 * N] = {0.2f, 0.6f,  0.7f, 0.2f, 0.6f, 0.6f, 0.6f, 0.8f,
                                0.1f, 0.9f,  0.3f, 0.1f, 0.4f, 0.4f, 0.2f, 0.1f,
                                0.7f, 0.55f, 0.3f, 0.2f, 0.8f, 0.5f, 0.1f, 0.2f};
static const float fy[3 * N] = {1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 0, 0,
                                0, 1, 0, 0, 0, 1, 0, 0, 1, 1, 0, 0};
static const float fw[N] = {1, 2, 0.5f, 0, 3, 1, 2, 1.5f};

static double fbeta_ref(const char *key, const data *d, int from, int to) {
  double tp[3] = {0}, fp[3] = {0}, fn[3] = {0}, support[3] = {0};
  int argmax = is(key, "f1_argmax");
  double beta = is(key, "fbeta_macro") ? 2.0 : 1.0;
  for (int i = from; i < to; i++) {
    const float *p = d->x + 3 * i, *y = d->y + 3 * i;
    float top = fmaxf(p[0], fmaxf(p[1], p[2]));
    for (int c = 0; c < 3; c++) {
      int pred = argmax ? p[c] >= top && fabsf(p[c]) > 1e-9f : p[c] > 0.5f;
      tp[c] += pred * y[c] * d->w[i];
      fp[c] += pred * (1 - y[c]) * d->w[i];
      fn[c] += (1 - pred) * y[c] * d->w[i];
      support[c] += y[c] * d->w[i];
    }
  }
  const double eps = 1e-7;
  if (is(key, "f1_micro")) {
    double t = tp[0] + tp[1] + tp[2], f = fp[0] + fp[1] + fp[2], n = fn[0] + fn[1] + fn[2];
    tp[0] = t, fp[0] = f, fn[0] = n;
  }
  double f[3], b2 = beta * beta, total = support[0] + support[1] + support[2];
  for (int c = 0; c < 3; c++) {
    double p = tp[c] / (tp[c] + fp[c] + eps), r = tp[c] / (tp[c] + fn[c] + eps);
    f[c] = p * r / (b2 * p + r + eps) * (1 + b2);
  }
  if (is(key, "f1_micro")) return f[0];
  if (is(key, "f1[1]")) return f[1];
  if (is(key, "f1_weighted"))
    return (f[0] * support[0] + f[1] * support[1] + f[2] * support[2]) / (total + eps);
  return (f[0] + f[1] + f[2]) / 3;
}

START_TEST(f_scores_weigh_each_sample) {
  nnc_model *m = identity_model(
      "3", 3, "'mse'",
      "[{'class_name': 'F1Score', 'config': {'name': 'f1', 'threshold': 0.5}},"
      " {'class_name': 'F1Score', 'config': {'name': 'f1_micro', 'threshold': 0.5,"
      "   'average': 'micro'}},"
      " {'class_name': 'F1Score', 'config': {'name': 'f1_weighted', 'threshold': 0.5,"
      "   'average': 'weighted'}},"
      " {'class_name': 'F1Score', 'config': {'name': 'f1_argmax', 'average': 'macro'}},"
      " {'class_name': 'FBetaScore', 'config': {'name': 'fbeta_macro', 'beta': 2.0,"
      "   'threshold': 0.5, 'average': 'macro'}}]");
  data d = {fx, fy, fw, 3, 3, 0};
  static const char *const keys[] = {"f1[1]", "f1_micro", "f1_weighted", "f1_argmax",
                                     "fbeta_macro"};
  check(m, &d, fbeta_ref, keys, 5);
  nnc_model_free(m);
}
END_TEST

/* ---- R2Score on (batch, 2): weighted sums per column; num_samples counts
 * the samples with a non-zero weight ---- */

static const float rx[2 * N] = {1.5f, 0.0f, 2.0f, 1.0f, 2.5f, 3.0f, 4.0f, 2.0f,
                                5.5f, 5.0f, 5.0f, 4.0f, 0.5f, 1.5f, 3.5f, 2.5f};
static const float ry[2 * N] = {1.0f, 1.0f, 2.0f, 0.0f, 3.0f, 2.0f, 4.0f, 3.0f,
                                5.0f, 6.0f, 6.0f, 4.0f, 1.0f, 2.0f, 3.0f, 3.5f};
static double r2_ref(const char *key, const data *d, int from, int to) {
  double sum[2] = {0}, sq[2] = {0}, res[2] = {0}, count[2] = {0}, samples = 0;
  for (int i = from; i < to; i++) {
    int nonzero = 0;
    for (int c = 0; c < 2; c++) {
      double w = d->w[i], y = d->y[2 * i + c], p = d->x[2 * i + c];
      sum[c] += w * y, sq[c] += w * y * y, res[c] += w * (y - p) * (y - p), count[c] += w;
      nonzero |= w != 0;
    }
    samples += nonzero;
  }
  double raw[2], tot[2];
  for (int c = 0; c < 2; c++) {
    tot[c] = sq[c] - sum[c] * (sum[c] / count[c]);
    raw[c] = 1 - res[c] / tot[c];
  }
  if (is(key, "r2c[0]")) return raw[0];
  if (is(key, "r2v")) return (tot[0] * raw[0] + tot[1] * raw[1]) / (tot[0] + tot[1]);
  double r = (raw[0] + raw[1]) / 2;
  if (is(key, "r2adj")) { /* p = 2 regressors */
    if (2 < samples - 1) r = 1 - (1 - r) * (samples - 1) / (samples - 2 - 1);
  }
  return r;
}

static const char *const r2_metrics =
    "['r2_score', {'class_name': 'R2Score', 'config': {'name': 'r2v', "
    "'class_aggregation': 'variance_weighted_average'}},"
    " {'class_name': 'R2Score', 'config': {'name': 'r2c', 'class_aggregation': null}},"
    " {'class_name': 'R2Score', 'config': {'name': 'r2adj', 'num_regressors': 2}}]";

START_TEST(r2_score_weighs_each_sample) {
  nnc_model *m = identity_model("2", 2, "'mse'", r2_metrics);
  data d = {rx, ry, bw, 2, 2, 0};
  static const char *const keys[] = {"r2_score", "r2v", "r2c[0]", "r2adj"};
  check(m, &d, r2_ref, keys, 4);
  nnc_model_free(m);
}
END_TEST

/* ---- IoU family: each element adds its weight to the confusion matrix,
 * truncated to an integer with Keras's default dtype "int" ---- */

static const float ix[3 * N] = {0.8f, 0.1f, 0.1f, 0.1f, 0.8f, 0.1f, 0.1f, 0.1f,
                                0.8f, 0.6f, 0.3f, 0.1f, 0.2f, 0.7f, 0.1f, 0.3f,
                                0.3f, 0.4f, 0.1f, 0.2f, 0.7f, 0.5f, 0.4f, 0.1f};
static const float il[N] = {0, 1, 1, 0, 2, 2, 1, 0};          /* predicted 0 1 2 0 1 2 2 0 */
static const float iw[N] = {1.5f, 2, 0.5f, 1, 2.7f, 0, 1, 3}; /* as int: 1 2 0 1 2 0 1 3 */

static double iou_ref(const char *key, const data *d, int from, int to) {
  double cm[3][3] = {{0}};
  int as_int = !is(key, "miou_float"), ignore = is(key, "miou_ignore") ? 2 : -1;
  for (int i = from; i < to; i++) {
    const float *p = d->x + 3 * i;
    int pred = p[1] > p[0] ? 1 : 0;
    if (p[2] > p[pred]) pred = 2;
    int label = (int)d->y[i];
    double w = as_int ? trunc(d->w[i]) : d->w[i];
    if (label != ignore) cm[label][pred] += w;
  }
  int targets[3] = {0, 1, 2}, n = 3;
  if (is(key, "iou12")) targets[0] = 1, targets[1] = 2, n = 2;
  double sum = 0, valid = 0;
  for (int k = 0; k < n; k++) {
    int c = targets[k];
    double row = cm[0][c] + cm[1][c] + cm[2][c], col = cm[c][0] + cm[c][1] + cm[c][2];
    double denom = row + col - cm[c][c];
    if (denom > 1e-9) valid += 1, sum += cm[c][c] / (denom + 1e-7);
  }
  return sum / (valid + 1e-7);
}

START_TEST(iou_weighs_each_element) {
  nnc_model *m = identity_model(
      "3", 3, "'sparse_categorical_crossentropy'",
      "[{'class_name': 'MeanIoU', 'config': {'name': 'miou', 'num_classes': 3,"
      "   'sparse_y_pred': false}},"
      " {'class_name': 'MeanIoU', 'config': {'name': 'miou_float', 'num_classes': 3,"
      "   'sparse_y_pred': false, 'dtype': 'float32'}},"
      " {'class_name': 'MeanIoU', 'config': {'name': 'miou_ignore', 'num_classes': 3,"
      "   'sparse_y_pred': false, 'ignore_class': 2, 'dtype': 'int32'}},"
      " {'class_name': 'IoU', 'config': {'name': 'iou12', 'num_classes': 3,"
      "   'target_class_ids': [1, 2], 'sparse_y_pred': false}}]");
  data d = {ix, il, iw, 3, 1, 0};
  static const char *const keys[] = {"miou", "miou_float", "miou_ignore", "iou12"};
  check(m, &d, iou_ref, keys, 4);
  nnc_model_free(m);
}
END_TEST

/* ---- what Keras refuses, nnc refuses ---- */

static void load_error(const char *metric, const char *want) {
  char json[2048];
  snprintf(json, sizeof json,
           "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 3], 'name': 'in'}},"
           "{'class_name': 'Dense', 'config': {'name': 'd', 'units': 3}}]},"
           "'compile_config': {'optimizer': 'sgd', 'loss': 'mse', 'metrics': [%s]}}",
           metric);
  nnc_model *m = NULL;
  nnc_status st;
  int rc = nnc_model_load_string(testutil_json(json), "bad.json", &m, &st);
  ck_assert_msg(rc == NNC_ERR_SPEC && strstr(st.message, want), "rc %d: %s", rc, st.message);
  nnc_model_free(m);
}

START_TEST(bad_thresholds_label_weights_and_dtype_are_refused) {
  load_error("{'class_name': 'AUC', 'config': {'thresholds': [0.2, 1.5]}}",
             "bad.json: $.compile_config.metrics[0].config.thresholds[1]: expected a threshold "
             "in [0, 1]");
  load_error("{'class_name': 'AUC', 'config': {'thresholds': 0.5}}",
             "$.compile_config.metrics[0].config.thresholds: expected null or a list of");
  load_error("{'class_name': 'AUC', 'config': {'label_weights': []}}",
             "config.label_weights: expected null or a non-empty list of label weights");
  load_error(
      "{'class_name': 'AUC', 'config': {'label_weights': [1, 2]}}",
      "$.compile_config.metrics[0].config.label_weights: 2 weights, but the output has 3 labels");
  load_error("{'class_name': 'MeanIoU', 'config': {'num_classes': 3, 'dtype': 'string'}}",
             "config.dtype: expected null, an integer dtype");
}
END_TEST

int main(void) {
  Suite *s = suite_create("weighted_stateful");
  TCase *tc = tcase_create("weighted");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, auc_weighs_each_prediction);
  tcase_add_test(tc, auc_even_thresholds_list_is_num_thresholds);
  tcase_add_test(tc, auc_label_weights_and_multi_label);
  tcase_add_test(tc, at_metrics_weigh_each_prediction);
  tcase_add_test(tc, at_metric_class_id_is_weighted);
  tcase_add_test(tc, f_scores_weigh_each_sample);
  tcase_add_test(tc, r2_score_weighs_each_sample);
  tcase_add_test(tc, iou_weighs_each_element);
  tcase_add_test(tc, bad_thresholds_label_weights_and_dtype_are_refused);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
