/* The epoch value of a stateful metric from its accumulated statistics, in
 * float32 as Keras's metric variables are (docs/metrics.md). Each rule
 * follows the result() of its Keras class: keras/src/metrics/
 * confusion_metrics.py (AUC, *AtSensitivity/Specificity/Precision/Recall),
 * f_score_metrics.py, iou_metrics.py, regression_metrics.py (RootMeanSquaredError, R2Score) and
 * reduction_metrics.py (Mean). */
#include "runtime/metric_results.h"

#include <math.h>
#include <stdlib.h>

#include "base/base.h"

static float div_no_nan(float a, float b) {
  return b == 0.0f ? 0.0f : a / b;
}

/* The statistics a rule reads must exist: a table written by hand could
 * name any index. */
static int check_block(const nnc_log_key *k, int n_stats, int need, int min_args, nnc_status *st) {
  if (k->first_stat < 0 || k->n_stats != need || k->first_stat + need > n_stats ||
      k->n_args < min_args || (k->n_args > 0 && !k->args))
    return nnc_fail(st, NNC_ERR_ARG,
                    "log key \"%s\": its rule needs %d statistics from first_stat (table has "
                    "%d, key says %d from %d) and %d args (key has %d)",
                    k->name ? k->name : "?", need, n_stats, k->n_stats, k->first_stat, min_args,
                    k->n_args);
  return NNC_OK;
}

/* tp, fp, tn, fn [T][L] from the bucket counts of positives and negatives
 * ([L][K] each, K = T + below; with below, bucket 0 holds the predictions
 * above no threshold): Keras's reversed cumulative sum
 * (metrics_utils._update_confusion_matrix_variables_optimized), fn and tn
 * the totals minus tp and fp. */
static void confusion_from_buckets(const float *pos, const float *neg, int T, int below, int L,
                                   float *tp, float *fp, float *tn, float *fn) {
  int K = T + below;
  for (int l = 0; l < L; l++) {
    const float *pl = pos + (size_t)l * K + below, *nl = neg + (size_t)l * K + below;
    float p = 0.0f, n = 0.0f, p_all = 0.0f, n_all = 0.0f;
    for (int t = -below; t < T; t++) p_all += pl[t], n_all += nl[t];
    for (int t = T - 1; t >= 0; t--) {
      p += pl[t];
      n += nl[t];
      tp[t * L + l] = p, fp[t * L + l] = n;
      fn[t * L + l] = p_all - p, tn[t * L + l] = n_all - n;
    }
  }
}

/* AUC.result(): a Riemann sum over the thresholds, per label, then over
 * labels (multi_label): their mean, or with label weights lw[0..n_lw) (one,
 * or one per label) divide_no_nan(sum(auc * lw), sum(lw)). tp, fp, tn, fn
 * are [T][L]. */
static float auc(const float *tp, const float *fp, const float *tn, const float *fn, int T, int L,
                 int pr, int summation, const double *lw, int n_lw) {
  float total = 0.0f, weights = 0.0f;
  for (int i = 0; i < n_lw; i++) weights += (float)lw[i];
  for (int l = 0; l < L; l++) {
    float sum = 0.0f;
    for (int t = 0; t + 1 < T; t++) {
      int a = t * L + l, b = (t + 1) * L + l;
      float term;
      if (pr && summation == 0) { /* interpolate_pr_auc (Davis & Goadrich) */
        float dtp = tp[a] - tp[b];
        float pa = tp[a] + fp[a], pb = tp[b] + fp[b];
        float dp = pa - pb;
        float slope = div_no_nan(dtp, fmaxf(dp, 0.0f));
        float intercept = tp[b] - slope * pb;
        float ratio = pa > 0.0f && pb > 0.0f ? div_no_nan(pa, fmaxf(pb, 0.0f)) : 1.0f;
        term = div_no_nan(slope * (dtp + intercept * logf(ratio)), fmaxf(tp[b] + fn[b], 0.0f));
      } else {
        float ya, yb, xa, xb;
        float ra = div_no_nan(tp[a], tp[a] + fn[a]), rb = div_no_nan(tp[b], tp[b] + fn[b]);
        if (pr) {
          xa = ra, xb = rb;
          ya = div_no_nan(tp[a], tp[a] + fp[a]), yb = div_no_nan(tp[b], tp[b] + fp[b]);
        } else {
          xa = div_no_nan(fp[a], fp[a] + tn[a]), xb = div_no_nan(fp[b], fp[b] + tn[b]);
          ya = ra, yb = rb;
        }
        float h = summation == 0   ? (ya + yb) / 2.0f
                  : summation == 1 ? fminf(ya, yb)
                                   : fmaxf(ya, yb);
        term = (xa - xb) * h;
      }
      sum += term;
    }
    total += n_lw ? sum * (float)lw[n_lw == 1 ? 0 : l] : sum;
  }
  if (n_lw) return div_no_nan(total, weights);
  return L == 1 ? total : total / (float)L;
}

/* Label weights without multi_label (metrics_utils: each element's weight
 * times its label's weight): the per-label bucket counts [L][K] of pos and
 * neg pooled into one curve, into out [2][K]. */
static void pool_labels(const float *pos, const float *neg, int K, int L, const double *lw,
                        float *out) {
  for (int t = 0; t < K; t++) {
    float p = 0.0f, n = 0.0f;
    for (int l = 0; l < L; l++) {
      p += (float)lw[l] * pos[l * K + t];
      n += (float)lw[l] * neg[l * K + t];
    }
    out[t] = p, out[K + t] = n;
  }
}

/* SensitivitySpecificityBase._find_max_under_constraint: the largest
 * dependent value among thresholds whose constrained value >= value; 0 if
 * none. which: 0 SensitivityAtSpecificity, 1 SpecificityAtSensitivity,
 * 2 PrecisionAtRecall, 3 RecallAtPrecision. */
static float at_constraint(const float *tp, const float *fp, const float *tn, const float *fn,
                           int T, int which, float value) {
  float best = 0.0f;
  for (int t = 0; t < T; t++) {
    float sens = div_no_nan(tp[t], tp[t] + fn[t]);
    float spec = div_no_nan(tn[t], tn[t] + fp[t]);
    float prec = div_no_nan(tp[t], tp[t] + fp[t]);
    float c = which == 0 ? spec : which == 1 ? sens : which == 2 ? sens : prec;
    float d = which == 0 ? sens : which == 1 ? spec : which == 2 ? prec : sens;
    if (c >= value && d > best) best = d;
  }
  return best;
}

/* AUC and the *At* rules. AUC's args: T, L, curve, summation, then
 * optionally pooled (1: the L label groups are one curve, weighted by the
 * label weights), below (the buckets start with "above no threshold") and
 * the label weights; *At*: T, which, value, optionally below. */
static int bucket_rule(const nnc_log_key *k, const float *total, int n_stats, double *out,
                       nnc_status *st) {
  int auc_rule = k->result == NNC_LOG_AUC, min_args = auc_rule ? 4 : 3;
  if (k->n_args < min_args || !k->args) return check_block(k, n_stats, -1, min_args, st);
  const double *a = k->args;
  int T = (int)a[0], L = auc_rule ? (int)a[1] : 1, rc;
  int pooled = auc_rule && k->n_args > 4 && a[4] != 0.0;
  int below = auc_rule ? k->n_args > 5 && a[5] != 0.0 : k->n_args > 3 && a[3] != 0.0;
  int n_lw = auc_rule && k->n_args > 6 ? k->n_args - 6 : 0, K = T + below;
  if (T < (auc_rule ? 2 : 1) || L < 1 || (pooled && n_lw != L) || (n_lw > 1 && n_lw != L))
    return check_block(k, n_stats, -1, min_args, st);
  if ((rc = check_block(k, n_stats, 2 * K * L, min_args, st))) return rc;
  size_t n = (size_t)T * (size_t)L;
  float *buf = nnc_calloc(4 * n + 2 * (size_t)K, sizeof *buf, st);
  if (!buf) return st->code;
  float *tp = buf, *fp = buf + n, *tn = buf + 2 * n, *fn = buf + 3 * n;
  const float *s = total + k->first_stat, *neg = s + (size_t)K * (size_t)L;
  if (pooled) {
    float *one = buf + 4 * n;
    pool_labels(s, neg, K, L, a + 6, one); /* pooled: n_lw == L >= 1 */
    s = one, neg = one + K, L = 1, n_lw = 0;
  }
  confusion_from_buckets(s, neg, T, below, L, tp, fp, tn, fn);
  *out = auc_rule ? auc(tp, fp, tn, fn, T, L, (int)a[2], (int)a[3], n_lw ? a + 6 : NULL, n_lw)
                  : at_constraint(tp, fp, tn, fn, T, (int)a[1], (float)a[2]);
  free(buf);
  return NNC_OK;
}

/* FBetaScore.result() (keras/src/metrics/f_score_metrics.py): statistics
 * tp, fp, fn, support [C]; Keras adds epsilon to the denominators. */
static float fbeta(const float *s, int C, float beta, int average, int cls) {
  const float eps = 1e-7f;
  const float *tp = s, *fp = s + C, *fn = s + 2 * C, *support = s + 3 * C;
  float b2 = beta * beta, sum = 0.0f, weighted = 0.0f, support_sum = 0.0f;
  for (int c = 0; c < C; c++) support_sum += support[c];
  for (int c = 0; c < C; c++) {
    float p = tp[c] / (tp[c] + fp[c] + eps), r = tp[c] / (tp[c] + fn[c] + eps);
    float f = p * r / (b2 * p + r + eps) * (1.0f + b2);
    if (average == 3 && c == cls) return f;
    sum += f;
    weighted += f * (support[c] / (support_sum + eps));
  }
  return average == 2 ? weighted : sum / (float)C;
}

/* R2Score.result() (keras/src/metrics/regression_metrics.py): statistics
 * sum, squared_sum, residual, count [C] (weighted), num_samples (Keras
 * 3.16: the samples with a non-zero weight in some column). Division by
 * zero is left as Keras leaves it (NaN); only an infinite raw score
 * becomes 0. */
static float r2(const float *s, int C, int aggregation, int regressors, int cls) {
  const float *sum = s, *sq = s + C, *res = s + 2 * C, *count = s + 3 * C;
  float samples = s[4 * C], mean_raw = 0.0f, weighted = 0.0f, weights = 0.0f, pick = 0.0f;
  for (int c = 0; c < C; c++) {
    float mean = sum[c] / count[c];
    float total = sq[c] - sum[c] * mean;
    float raw = 1.0f - res[c] / total;
    if (isinf(raw)) raw = 0.0f;
    mean_raw += raw;
    weighted += total * raw;
    weights += total;
    if (c == cls) pick = raw;
  }
  float r = aggregation == 0 ? mean_raw / (float)C : aggregation == 1 ? weighted / weights : pick;
  /* adjusted R2 unless it would divide by zero or more (Keras warns and falls back) */
  if (regressors != 0 && (float)regressors < samples - 1.0f) {
    float n = samples, p = (float)regressors;
    r = 1.0f - (1.0f - r) * (n - 1.0f) / (n - p - 1.0f);
  }
  return r;
}

/* IoU.result() (keras/src/metrics/iou_metrics.py): confusion [C][C]
 * (rows true); the target classes are targets[0..n). A class whose
 * denominator is not > 1e-9 (absent; negative weights) adds 0. */
static float iou(const float *cm, int C, const double *targets, int n) {
  float sum = 0.0f, valid = 0.0f;
  for (int i = 0; i < n; i++) {
    int c = (int)targets[i];
    if (c < 0 || c >= C) continue;
    float row = 0.0f, col = 0.0f; /* predicted as c; truly c */
    for (int j = 0; j < C; j++) row += cm[j * C + c], col += cm[c * C + j];
    float tp = cm[c * C + c], denom = row + col - tp;
    if (!(denom > 1e-9f)) continue; /* an absent class counts nowhere */
    valid += 1.0f;
    sum += tp / (denom + 1e-7f);
  }
  return sum / (valid + 1e-7f);
}

int metric_result(const nnc_log_key *k, const float *total, int n_stats, double *out,
                  nnc_status *st) {
  const float *s = total + (k->first_stat >= 0 ? k->first_stat : 0);
  int rc;
  switch (k->result) {
  case NNC_LOG_RATIO:
  case NNC_LOG_SQRT_RATIO:
  case NNC_LOG_VALUE:
    if ((rc = check_block(k, n_stats, k->result == NNC_LOG_VALUE ? 1 : 2, 0, st))) return rc;
    *out = k->result == NNC_LOG_VALUE   ? s[0]
           : k->result == NNC_LOG_RATIO ? div_no_nan(s[0], s[1])
                                        : sqrtf(div_no_nan(s[0], s[1]));
    return NNC_OK;
  case NNC_LOG_AUC:
  case NNC_LOG_AT:
    return bucket_rule(k, total, n_stats, out, st);
  case NNC_LOG_FBETA: {
    if (k->n_args < 4 || !k->args || k->args[0] < 1) return check_block(k, n_stats, -1, 4, st);
    int C = (int)k->args[0];
    if ((rc = check_block(k, n_stats, 4 * C, 4, st))) return rc;
    *out = fbeta(s, C, (float)k->args[1], (int)k->args[2], (int)k->args[3]);
    return NNC_OK;
  }
  case NNC_LOG_IOU: {
    if (k->n_args < 2 || !k->args || k->args[0] < 1) return check_block(k, n_stats, -1, 2, st);
    int C = (int)k->args[0];
    if ((rc = check_block(k, n_stats, C * C, 2, st))) return rc;
    *out = iou(s, C, k->args + 1, k->n_args - 1);
    return NNC_OK;
  }
  case NNC_LOG_R2: {
    if (k->n_args < 4 || !k->args || k->args[0] < 1) return check_block(k, n_stats, -1, 4, st);
    int C = (int)k->args[0];
    if ((rc = check_block(k, n_stats, 4 * C + 1, 4, st))) return rc;
    *out = r2(s, C, (int)k->args[1], (int)k->args[2], (int)k->args[3]);
    return NNC_OK;
  }
  default:
    return nnc_fail(st, NNC_ERR_INTERNAL, "log key \"%s\": no result rule %d",
                    k->name ? k->name : "?", (int)k->result);
  }
}
