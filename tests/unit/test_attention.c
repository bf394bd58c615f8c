/* Attention layers: MultiHeadAttention, Attention (dot, concat, use_scale)
 * and AdditiveAttention. Forward values against float64 references written
 * here from Keras 3's formulas (several heads, value_dim != key_dim, a
 * separate key, output_shape, the causal mask, an attention_mask, query and
 * value masks); gradients of every weight (and, through a Dense before the
 * layer, of its inputs) against finite differences; bit-identical results
 * for 1, 2 and 3 threads; the weights' Keras 3 names and shapes; refusals.
 *
 * Call arguments (use_causal_mask, attention_mask, return_attention_scores)
 * come from the spec (Keras 2 node kwargs for MultiHeadAttention, Keras 3
 * `kwargs` for Attention/AdditiveAttention), the query and value masks from
 * Masking layers, and the scores from the output reference [name, 0, 1],
 * all through compiler/layers/layer_io.c. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/compile.h"
#include "compiler/graph/graph.h"
#include "compiler/layers/layer.h"
#include "gradcheck.h"
#include "nnc.h"
#include "testutil.h"

#define Q testutil_json

/* ---- models ---- */
#define INPUT(name, shape)                                                                         \
  "{'class_name': 'InputLayer', 'name': '" name "', 'config': {'batch_input_shape': [null, " shape \
  "], 'name': '" name "'}, 'inbound_nodes': []}"
#define LAYER(cls, name, cfg, refs)                                                                \
  "{'class_name': '" cls "', 'name': '" name "', 'config': {'name': '" name "'" cfg                \
  "}, 'inbound_nodes': [[" refs "]]}"
#define REF(name) "['" name "', 0, 0, {}]"
#define MODEL(layers, ins, outs)                                                                   \
  "{'class_name': 'Model', 'keras_version': '2.4.0', 'config': {'name': 'm', 'layers': [" layers   \
  "], 'input_layers': [" ins "], 'output_layers': [" outs "]}, 'compile_config': {'optimizer': "   \
  "{'class_name': 'SGD', 'config': {'learning_rate': 1.0}}, 'loss': 'mse'}}"
#define IO(name) "['" name "', 0, 0]"

static nnc_model *load(const char *json) {
  nnc_model *m;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, "model.json", &m, &st) == NNC_OK, "%s", st.message);
  return m;
}

static nnc_array array(float *data, int rank, const int64_t *shape) {
  nnc_array a = {.dtype = NNC_F32, .rank = rank, .data = data};
  for (int i = 0; i < rank; i++) a.shape[i] = shape[i];
  return a;
}

/* deterministic values in [lo, hi) */
static void fill(float *v, int64_t n, uint64_t seed, double lo, double hi) {
  uint64_t r = seed * 0x9e3779b97f4a7c15ull + 1;
  for (int64_t i = 0; i < n; i++) {
    r = r * 6364136223846793005ull + 1442695040888963407ull;
    v[i] = (float)(lo + (hi - lo) * (double)(r >> 11) / 9007199254740992.0);
  }
}

/* Give every weight of m deterministic values; w[i] gets weight i's copy
 * (the caller frees them). Returns the weight count. */
static int set_weights(nnc_model *m, nnc_array *w, int max) {
  nnc_status st;
  int n = nnc_model_weight_count(m);
  ck_assert_int_le(n, max);
  for (int i = 0; i < n; i++) {
    ck_assert(nnc_model_get_weight(m, nnc_model_weight_name(m, i), &w[i], &st) == NNC_OK);
    fill(w[i].data, nnc_array_count(&w[i]), 100 + (uint64_t)i, -0.8, 0.8);
    ck_assert(nnc_model_set_weight(m, nnc_model_weight_name(m, i), &w[i], &st) == NNC_OK);
  }
  return n;
}

static float *weight_data(nnc_model *m, nnc_array *w, const char *name) {
  for (int i = 0; i < nnc_model_weight_count(m); i++)
    if (strcmp(nnc_model_weight_name(m, i), name) == 0) return w[i].data;
  ck_abort_msg("no weight %s", name);
  return NULL;
}

static void free_weights(nnc_array *w, int n) {
  for (int i = 0; i < n; i++) nnc_array_free(&w[i]);
}

enum { B = 2, MAXT = 5, MAXD = 6, MAXH = 3 };

/* ---- float64 references ---- */

/* softmax over s of row[s] + (mask 0: -1e9), in place */
static void ref_softmax(double *row, const float *mask, int s) {
  double top = -INFINITY, sum = 0;
  for (int j = 0; j < s; j++) {
    if (mask && mask[j] == 0.0f) row[j] += -1e9;
    if (row[j] > top) top = row[j];
  }
  for (int j = 0; j < s; j++) sum += row[j] = exp(row[j] - top);
  for (int j = 0; j < s; j++) row[j] /= sum;
}

/* x [L, d] @ kernel [d, H*size] + bias [H*size] -> out [L, H*size] */
static void ref_project(const float *x, int l, int d, const float *k, const float *b, int hs,
                        double *out) {
  for (int t = 0; t < l; t++)
    for (int j = 0; j < hs; j++) {
      double a = b ? b[j] : 0.0;
      for (int c = 0; c < d; c++) a += (double)x[t * d + c] * k[c * hs + j];
      out[t * hs + j] = a;
    }
}

typedef struct mha_case {
  int heads, key_dim, value_dim, out_dim, use_bias;
  int t, s, dq, dv, dk;
} mha_case;

/* one sample: out [T, E], probs [H, T, S] (NULL: not wanted); mask [T, S]
 * (NULL: none) */
static void ref_mha(const mha_case *k, const float *q, const float *v, const float *key,
                    const float *const *w, const float *mask, double *out, double *probs) {
  int h = k->heads, kd = k->key_dim, vd = k->value_dim;
  double Qp[MAXT * MAXH * MAXD], Kp[MAXT * MAXH * MAXD], Vp[MAXT * MAXH * MAXD];
  double O[MAXT * MAXH * MAXD];
  ref_project(q, k->t, k->dq, w[0], w[1], h * kd, Qp);
  ref_project(key, k->s, k->dk, w[2], w[3], h * kd, Kp);
  ref_project(v, k->s, k->dv, w[4], w[5], h * vd, Vp);
  for (int hh = 0; hh < h; hh++)
    for (int t = 0; t < k->t; t++) {
      double row[MAXT];
      for (int s = 0; s < k->s; s++) {
        double a = 0;
        for (int i = 0; i < kd; i++)
          a += Qp[t * h * kd + hh * kd + i] / sqrt((double)kd) * Kp[s * h * kd + hh * kd + i];
        row[s] = a;
      }
      ref_softmax(row, mask ? mask + t * k->s : NULL, k->s);
      if (probs)
        for (int s = 0; s < k->s; s++) probs[(hh * k->t + t) * k->s + s] = row[s];
      for (int j = 0; j < vd; j++) {
        double a = 0;
        for (int s = 0; s < k->s; s++) a += row[s] * Vp[s * h * vd + hh * vd + j];
        O[t * h * vd + hh * vd + j] = a;
      }
    }
  for (int t = 0; t < k->t; t++)
    for (int e = 0; e < k->out_dim; e++) {
      double a = w[7] ? w[7][e] : 0.0;
      for (int j = 0; j < h * vd; j++) a += O[t * h * vd + j] * w[6][j * k->out_dim + e];
      out[t * k->out_dim + e] = a;
    }
}

/* ---- MultiHeadAttention forward ---- */

/* The Keras 2 spec of an MHA on inputs q [t, dq] (and v [s, dv], k [s, dk]
 * when cross), with an input "am" [t, s] passed as its attention_mask when
 * with_mask; use_causal_mask and return_attention_scores (the scores are
 * the model's second output, ['mha', 0, 1]) as node kwargs. The output 0
 * passes a linear Activation "out" (nnc names outputs after their layer, so
 * one layer gives one output). */
static const char *mha_spec(const mha_case *k, int cross, int with_mask, int causal, int scores) {
  static char buf[4096];
  char cfg[256], out_shape[32] = "", kwargs[128];
  snprintf(kwargs, sizeof kwargs, "{'use_causal_mask': %s, 'return_attention_scores': %s%s}",
           causal ? "true" : "false", scores ? "true" : "false",
           with_mask ? ", 'attention_mask': ['am', 0, 0]" : "");
  if (k->out_dim != k->dq)
    snprintf(out_shape, sizeof out_shape, ", 'output_shape': %d", k->out_dim);
  snprintf(cfg, sizeof cfg, ", 'num_heads': %d, 'key_dim': %d, 'value_dim': %d, 'use_bias': %s%s",
           k->heads, k->key_dim, k->value_dim, k->use_bias ? "true" : "false", out_shape);
  snprintf(buf, sizeof buf,
           "{'class_name': 'Model', 'keras_version': '2.4.0', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'name': 'q', 'config': {'batch_input_shape': [null, %d, "
           "%d], 'name': 'q'}, 'inbound_nodes': []},"
           "%s%s"
           "{'class_name': 'MultiHeadAttention', 'name': 'mha', 'config': {'name': 'mha'%s}, "
           "'inbound_nodes': [[['q', 0, 0, %s], %s]]}, {'class_name': 'Activation', 'name': 'out', "
           "'config': {'name': 'out', 'activation': 'linear'}, 'inbound_nodes': [[['mha', 0, 0, "
           "{}]]]}], 'input_layers': [['q', 0, 0]%s%s], "
           "'output_layers': [['out', 0, 0]%s]}, 'compile_config': {'optimizer': {'class_name': "
           "'SGD', 'config': {'learning_rate': 1.0}}, 'loss': 'mse'}}",
           k->t, k->dq,
           cross ? "{'class_name': 'InputLayer', 'name': 'v', 'config': {'batch_input_shape': "
                   "[null, 0, 0], 'name': 'v'}, 'inbound_nodes': []},"
                   "{'class_name': 'InputLayer', 'name': 'k', 'config': {'batch_input_shape': "
                   "[null, 0, 0], 'name': 'k'}, 'inbound_nodes': []},"
                 : "",
           with_mask ? "{'class_name': 'InputLayer', 'name': 'am', 'config': {'batch_input_shape': "
                       "[null, 0, 0], 'name': 'am'}, 'inbound_nodes': []},"
                     : "",
           cfg, kwargs, cross ? "['v', 0, 0, {}], ['k', 0, 0, {}]" : "['q', 0, 0, {}]",
           cross ? ", ['v', 0, 0], ['k', 0, 0]" : "", with_mask ? ", ['am', 0, 0]" : "",
           scores ? ", ['mha', 0, 1]" : "");
  /* the placeholders "[null, 0, 0]" of v, k, am get their real sizes */
  char *p;
  int sizes[3][2] = {{k->s, k->dv}, {k->s, k->dk}, {k->t, k->s}};
  for (int i = cross ? 0 : 2; i < 3 && (p = strstr(buf, "[null, 0, 0]")); i++) {
    char rep[32];
    int n = snprintf(rep, sizeof rep, "[null, %d, %d]", sizes[i][0], sizes[i][1]);
    memmove(p + n, p + 12, strlen(p + 12) + 1);
    memcpy(p, rep, (size_t)n);
  }
  return Q(buf);
}

/* Predict with deterministic inputs and weights; compare the output (and
 * the attention scores when `scores`) with ref_mha. */
static void check_mha(const mha_case *k, int cross, int causal, const float *mask,
                      const float *ref_mask, int scores) {
  nnc_model *m = load(mha_spec(k, cross, mask != NULL, causal, scores));
  float q[B * MAXT * MAXD], v[B * MAXT * MAXD], key[B * MAXT * MAXD], am[B * MAXT * MAXT];
  fill(q, B * k->t * k->dq, 1, -1, 1);
  fill(v, B * k->s * k->dv, 2, -1, 1);
  fill(key, B * k->s * k->dk, 3, -1, 1);
  for (int b = 0; b < B; b++)
    if (mask) memcpy(am + b * k->t * k->s, mask + b * k->t * k->s, sizeof(float) * k->t * k->s);
  int64_t qs[3] = {B, k->t, k->dq}, vs[3] = {B, k->s, k->dv}, ks[3] = {B, k->s, k->dk},
          ms[3] = {B, k->t, k->s};
  nnc_array x[4];
  int n_x = 0;
  x[n_x++] = array(q, 3, qs);
  if (cross) x[n_x++] = array(v, 3, vs), x[n_x++] = array(key, 3, ks);
  if (mask) x[n_x++] = array(am, 3, ms);
  nnc_status st;
  ck_assert_msg(nnc_model_build_multi(m, n_x, x, 0, NULL, &st) == NNC_OK, "%s", st.message);
  nnc_array w[8];
  int nw = set_weights(m, w, 8);
  ck_assert_int_eq(nw, k->use_bias ? 8 : 4);
  static const char *const names[8] = {"query/kernel",
                                       "query/bias",
                                       "key/kernel",
                                       "key/bias",
                                       "value/kernel",
                                       "value/bias",
                                       "attention_output/kernel",
                                       "attention_output/bias"};
  /* Keras 3's names, order and shapes */
  int64_t dims[8][3] = {{k->dq, k->heads, k->key_dim},        {k->heads, k->key_dim},
                        {k->dk, k->heads, k->key_dim},        {k->heads, k->key_dim},
                        {k->dv, k->heads, k->value_dim},      {k->heads, k->value_dim},
                        {k->heads, k->value_dim, k->out_dim}, {k->out_dim}};
  static const int ranks[8] = {3, 2, 3, 2, 3, 2, 3, 1};
  for (int i = 0, at = 0; i < 8; i++) {
    if (!k->use_bias && i % 2) continue;
    char full[64];
    snprintf(full, sizeof full, "mha/%s", names[i]);
    ck_assert_str_eq(nnc_model_weight_name(m, at), full);
    ck_assert_int_eq(w[at].rank, ranks[i]);
    for (int d = 0; d < ranks[i]; d++) ck_assert_int_eq(w[at].shape[d], dims[i][d]);
    at++;
  }
  const float *wp[8];
  for (int i = 0; i < 8; i++) {
    char full[64];
    snprintf(full, sizeof full, "mha/%s", names[i]);
    wp[i] = k->use_bias || i % 2 == 0 ? weight_data(m, w, full) : NULL;
  }
  nnc_array outs[2], out;
  ck_assert_msg(nnc_model_predict_multi(m, n_x, x, B, scores ? 2 : 1, outs, &st) == NNC_OK, "%s",
                st.message);
  out = outs[0];
  ck_assert_int_eq(out.rank, 3);
  ck_assert_int_eq(out.shape[2], k->out_dim);
  if (scores) { /* Keras 3: [B, heads, T, S] */
    int64_t want[4] = {B, k->heads, k->t, k->s};
    ck_assert_int_eq(outs[1].rank, 4);
    for (int d = 0; d < 4; d++) ck_assert_int_eq(outs[1].shape[d], want[d]);
  }
  int n_p = k->heads * k->t * k->s;
  for (int b = 0; b < B; b++) {
    double ref[MAXT * MAXD], probs[MAXH * MAXT * MAXT];
    ref_mha(k, q + b * k->t * k->dq, cross ? v + b * k->s * k->dv : q + b * k->t * k->dq,
            cross ? key + b * k->s * k->dk : q + b * k->t * k->dq, wp,
            ref_mask ? ref_mask + b * k->t * k->s : NULL, ref, probs);
    for (int i = 0; i < k->t * k->out_dim; i++) {
      double got = ((float *)out.data)[b * k->t * k->out_dim + i];
      ck_assert_msg(fabs(got - ref[i]) <= 1e-5 + 1e-5 * fabs(ref[i]),
                    "mask %d causal %d: sample %d [%d]: %g vs %g", mask != NULL, causal, b, i, got,
                    ref[i]);
    }
    for (int i = 0; scores && i < n_p; i++) {
      double got = ((float *)outs[1].data)[b * n_p + i];
      ck_assert_msg(fabs(got - probs[i]) <= 1e-6 + 1e-5 * probs[i],
                    "scores: sample %d [%d]: %g vs %g", b, i, got, probs[i]);
    }
  }
  nnc_array_free(&out);
  if (scores) nnc_array_free(&outs[1]);
  free_weights(w, nw);
  nnc_model_free(m);
}

START_TEST(mha_self_attention) {
  mha_case k = {.heads = 2,
                .key_dim = 3,
                .value_dim = 2,
                .out_dim = 6,
                .use_bias = 1,
                .t = 4,
                .s = 4,
                .dq = 6,
                .dv = 6,
                .dk = 6};
  check_mha(&k, 0, 0, NULL, NULL, 0);
}
END_TEST

START_TEST(mha_cross_attention) {
  /* one head (no slices); query [3, 5], value [4, 4], key [4, 2]; output_shape 3;
   * no biases; return_attention_scores: [B, 1, 3, 4] (T != S), in value */
  mha_case k = {.heads = 1,
                .key_dim = 2,
                .value_dim = 3,
                .out_dim = 3,
                .use_bias = 0,
                .t = 3,
                .s = 4,
                .dq = 5,
                .dv = 4,
                .dk = 2};
  check_mha(&k, 1, 0, NULL, NULL, 1); /* with the scores [B, 1, 3, 4] */
}
END_TEST

START_TEST(mha_causal_and_attention_mask) {
  mha_case k = {.heads = 2,
                .key_dim = 3,
                .value_dim = 3,
                .out_dim = 6,
                .use_bias = 1,
                .t = 4,
                .s = 4,
                .dq = 6,
                .dv = 6,
                .dk = 6};
  float causal[B * 16], am[B * 16], both[B * 16];
  for (int b = 0; b < B; b++)
    for (int t = 0; t < 4; t++)
      for (int s = 0; s < 4; s++) {
        int i = b * 16 + t * 4 + s;
        causal[i] = s <= t;
        am[i] = (float)((t + 2 * s + b) % 3 != 0 || s == 0) * (s == 3 ? 2.0f : 1.0f); /* 2: true */
        both[i] = causal[i] * (am[i] != 0);
      }
  check_mha(&k, 0, 1, NULL, causal, 0); /* use_causal_mask alone */
  check_mha(&k, 0, 1, am, both, 1);     /* both, with the attention scores */
}
END_TEST

/* ---- Attention and AdditiveAttention forward ---- */

enum { TQ = 3, TV = 4, DQ = 4, DV = 5 };
typedef enum { DOT, CONCAT, ADDITIVE } score_kind;

/* A Keras 3 tensor argument: output 0 of layer `name`, shape [B, shape]. */
#define T3(name, shape)                                                                            \
  "{'class_name': '__keras_tensor__', 'config': {'shape': [null, " shape                           \
  "], 'keras_history': ['" name "', 0, 0]}}"
#define INPUT3(name, shape)                                                                        \
  "{'class_name': 'InputLayer', 'name': '" name "', 'config': {'batch_shape': [null, " shape       \
  "], 'name': '" name "'}, 'inbound_nodes': []},"
#define MASKING3(name, of, shape)                                                                  \
  "{'class_name': 'Masking', 'name': '" name "', 'config': {'name': '" name "', 'mask_value': "    \
  "0.0}, 'inbound_nodes': [{'args': [" T3(of, shape) "], 'kwargs': {}}]},"

/* Keras 3: inputs q [TQ, DQ], v [TV, DV], k [TV, DQ]; q and v through
 * Masking (an all-zero step is masked), then att = cls([mq, mv, k]) with
 * use_causal_mask and return_attention_scores. The outputs: att's output 0
 * through a linear Activation "out" (nnc names outputs after their layer,
 * so one layer gives one output) and the scores ['att', 0, 1]. */
static const char *dense_spec(const char *cls, const char *cfg, int causal, int scores) {
  static char buf[4096];
  snprintf(
      buf, sizeof buf,
      "{'class_name': 'Functional', 'config': {'name': 'm', 'layers': [" INPUT3("q", "3, 4")
          INPUT3("v", "4, 5") INPUT3("k", "4, 4") MASKING3("mq", "q", "3, 4") MASKING3(
              "mv", "v",
              "4, 5") "{'class_name': '%s', 'name': 'att', 'config': {'name': 'att'%s}, "
                      "'inbound_nodes': "
                      "[{'args': [[" T3("mq", "3, 4") ", " T3("mv", "4, 5") ", " T3(
                          "k", "4, 4") "]], "
                                       "'kwargs': {'use_causal_mask': %s, "
                                       "'return_attention_scores': %s}}]},"
                                       "{'class_name': 'Activation', 'name': 'out', 'config': "
                                       "{'name': 'out', 'activation': "
                                       "'linear'}, 'inbound_nodes': [{'args': [" T3(
                                           "att",
                                           "3, 5") "], 'kwargs': {}}]}], "
                                                   "'input_layers': [['q', 0, 0], ['v', 0, 0], "
                                                   "['k', 0, 0]], 'output_layers': [['out', 0, "
                                                   "0]%s]}, 'compile_config': {'optimizer': "
                                                   "{'class_name': 'SGD', 'config': "
                                                   "{'learning_rate': 1.0}}, 'loss': 'mse'}}",
      cls, cfg, causal ? "true" : "false", scores ? "true" : "false",
      scores ? ", ['att', 0, 1]" : "");
  return Q(buf);
}

/* scale: NULL (none), one value (dot, concat) or DQ values (additive);
 * out [TQ, DV], probs [TQ, TV] */
static void ref_dense(score_kind kind, const float *q, const float *v, const float *key,
                      const float *scale, const float *concat_w, const float *qm, const float *vm,
                      int causal, double *out, double *probs) {
  for (int t = 0; t < TQ; t++) {
    double row[TV];
    float mask[TV];
    for (int s = 0; s < TV; s++) {
      double a = 0;
      for (int d = 0; d < DQ; d++) {
        double qd = q[t * DQ + d], kd = key[s * DQ + d];
        if (kind == DOT)
          a += qd * kd;
        else if (kind == CONCAT)
          a += tanh((scale ? scale[0] : 1.0) * (qd + kd));
        else
          a += (scale ? scale[d] : 1.0) * tanh(qd + kd);
      }
      if (kind == DOT && scale) a *= scale[0];
      if (kind == CONCAT) a *= concat_w[0];
      row[s] = a;
      mask[s] = (float)((vm ? vm[s] != 0 : 1) && (!causal || s <= t));
    }
    ref_softmax(row, mask, TV);
    for (int s = 0; s < TV; s++) probs[t * TV + s] = row[s];
    for (int j = 0; j < DV; j++) {
      double a = 0;
      for (int s = 0; s < TV; s++) a += row[s] * v[s * DV + j];
      out[t * DV + j] = qm && qm[t] == 0 ? 0.0 : a;
    }
  }
}

/* The query and value masks qm, vm reach the layer through Masking: their
 * masked steps are all-zero rows of q and v. */
static void check_dense(const char *cls, const char *cfg, score_kind kind, int n_weights,
                        int causal, int scores) {
  nnc_model *m = load(dense_spec(cls, cfg, causal, scores));
  float q[B * TQ * DQ], v[B * TV * DV], key[B * TV * DQ];
  const float qm[B * TQ] = {1, 0, 1, 1, 1, 0}, vm[B * TV] = {1, 1, 0, 1, 1, 0, 1, 0};
  fill(q, B * TQ * DQ, 11, -1, 1);
  fill(v, B * TV * DV, 12, -1, 1);
  fill(key, B * TV * DQ, 13, -1, 1);
  for (int i = 0; i < B * TQ; i++)
    if (!qm[i]) memset(q + i * DQ, 0, sizeof(float) * DQ);
  for (int i = 0; i < B * TV; i++)
    if (!vm[i]) memset(v + i * DV, 0, sizeof(float) * DV);
  int64_t qs[3] = {B, TQ, DQ}, vs[3] = {B, TV, DV}, ks[3] = {B, TV, DQ};
  nnc_array x[3] = {array(q, 3, qs), array(v, 3, vs), array(key, 3, ks)};
  nnc_status st;
  ck_assert_msg(nnc_model_build_multi(m, 3, x, 0, NULL, &st) == NNC_OK, "%s", st.message);
  nnc_array w[4];
  int nw = set_weights(m, w, 4);
  ck_assert_int_eq(nw, n_weights);
  const float *scale = NULL, *concat_w = NULL;
  for (int i = 0; i < nw; i++) {
    const char *name = nnc_model_weight_name(m, i);
    if (strcmp(name, "att/scale") == 0)
      scale = w[i].data;
    else if (strcmp(name, "att/concat_score_weight") == 0)
      concat_w = w[i].data;
    else
      ck_abort_msg("unexpected weight %s", name);
  }
  nnc_array outs[2], out;
  ck_assert_msg(nnc_model_predict_multi(m, 3, x, B, scores ? 2 : 1, outs, &st) == NNC_OK, "%s",
                st.message);
  out = outs[0];
  if (scores) { /* Keras 3: [B, Tq, Tv] */
    ck_assert_int_eq(outs[1].rank, 3);
    ck_assert_int_eq(outs[1].shape[1], TQ);
    ck_assert_int_eq(outs[1].shape[2], TV);
  }
  for (int b = 0; b < B; b++) {
    double ref[TQ * DV], probs[TQ * TV];
    ref_dense(kind, q + b * TQ * DQ, v + b * TV * DV, key + b * TV * DQ, scale, concat_w,
              qm + b * TQ, vm + b * TV, causal, ref, probs);
    for (int i = 0; i < TQ * DV; i++) {
      double got = ((float *)out.data)[b * TQ * DV + i];
      ck_assert_msg(fabs(got - ref[i]) <= 1e-5 + 1e-5 * fabs(ref[i]), "%s sample %d [%d]: %g vs %g",
                    cls, b, i, got, ref[i]);
    }
    for (int i = 0; scores && i < TQ * TV; i++) {
      double got = ((float *)outs[1].data)[b * TQ * TV + i];
      ck_assert_msg(fabs(got - probs[i]) <= 1e-6 + 1e-5 * probs[i],
                    "%s scores: sample %d [%d]: %g vs %g", cls, b, i, got, probs[i]);
    }
  }
  nnc_array_free(&out);
  if (scores) nnc_array_free(&outs[1]);
  free_weights(w, nw);
  nnc_model_free(m);
}

START_TEST(attention_dot) {
  /* query and value masks, causal */
  check_dense("Attention", ", 'use_scale': true", DOT, 1, 1, 0);
}
END_TEST

START_TEST(attention_concat) {
  check_dense("Attention", ", 'score_mode': 'concat', 'use_scale': true", CONCAT, 2, 1, 0);
}
END_TEST

START_TEST(additive_attention) {
  check_dense("AdditiveAttention", "", ADDITIVE, 1, 1, 1); /* with the scores */
}
END_TEST

/* Keras 3 files pass MultiHeadAttention's value positionally (args [q, v]),
 * which the parser turns into the `value` keyword: the value's mask must
 * still apply (Keras's __call__ fills value_mask from the tensor). A masked
 * value step gets probability exactly 0, and each row still sums to 1. */
START_TEST(mha_keras3_value_mask) {
  static char buf[4096];
  snprintf(
      buf, sizeof buf,
      "{'class_name': 'Functional', 'config': {'name': 'm', 'layers': [" INPUT3("q", "3, 4")
          INPUT3("v", "4, 5") MASKING3(
              "mv", "v",
              "4, 5") "{'class_name': 'MultiHeadAttention', 'name': 'mha', 'config': {'name': "
                      "'mha', "
                      "'num_heads': 2, 'key_dim': 3}, 'inbound_nodes': [{'args': [" T3(
                          "q", "3, 4") ", " T3("mv",
                                               "4, 5") "], 'kwargs': "
                                                       "{'return_attention_scores': true}}]},"
                                                       "{'class_name': 'Activation', 'name': "
                                                       "'out', 'config': {'name': 'out', "
                                                       "'activation': 'linear'}, "
                                                       "'inbound_nodes': [{'args': [" T3(
                                                           "mha",
                                                           "3, 4") "], 'kwargs': {}}]}], "
                                                                   "'input_layers': [['q', 0, 0], "
                                                                   "['v', 0, 0]], 'output_layers': "
                                                                   "[['out', 0, 0], "
                                                                   "['mha', 0, 1]]}}");
  nnc_model *m = load(Q(buf));
  float q[B * 3 * 4], v[B * 4 * 5];
  fill(q, B * 3 * 4, 5, -1, 1);
  fill(v, B * 4 * 5, 6, -1, 1);
  const int masked[B][4] = {{0, 0, 1, 0}, {1, 0, 0, 1}}; /* steps zeroed: Masking masks them */
  for (int b = 0; b < B; b++)
    for (int t = 0; t < 4; t++)
      if (masked[b][t])
        for (int d = 0; d < 5; d++) v[(b * 4 + t) * 5 + d] = 0;
  int64_t qs[3] = {B, 3, 4}, vs[3] = {B, 4, 5};
  nnc_array x[2] = {array(q, 3, qs), array(v, 3, vs)}, y[2];
  nnc_status st;
  ck_assert_msg(nnc_model_predict_multi(m, 2, x, B, 2, y, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(nnc_array_count(&y[1]), B * 2 * 3 * 4);
  const float *p = y[1].data;
  for (int b = 0; b < B; b++)
    for (int h = 0; h < 2; h++)
      for (int t = 0; t < 3; t++) {
        double sum = 0;
        for (int s2 = 0; s2 < 4; s2++) {
          float w = p[((b * 2 + h) * 3 + t) * 4 + s2];
          sum += w;
          if (masked[b][s2])
            ck_assert_msg(w == 0.0f, "sample %d head %d row %d: masked step %d has weight %g", b, h,
                          t, s2, w);
          else
            ck_assert_msg(w > 0.0f, "unmasked step %d has weight %g", s2, w);
        }
        ck_assert_msg(fabs(sum - 1) < 1e-6, "row sums to %g", sum);
      }
  nnc_array_free(&y[0]);
  nnc_array_free(&y[1]);
  nnc_model_free(m);
}
END_TEST

/* ---- gradients ---- */

/* Input(8) -> Reshape(4, 2) -> Dense(3) -> <layer>(d, d) -> Flatten -> Dense(1): the
 * first Dense's gradients flow through the layer's query, key and value;
 * causal: use_causal_mask as a Keras 2 node kwarg. */
static const char *grad_spec(const char *cls, const char *cfg, int causal) {
  static char buf[4096];
  snprintf(
      buf, sizeof buf,
      MODEL(
          INPUT("x", "8") "," LAYER("Reshape", "r", ", 'target_shape': [4, 2]", REF("x")) "," LAYER(
              "Dense", "d", ", 'units': 3",
              REF("r")) ",%s," LAYER("Flatten", "f", "",
                                     REF("att")) "," LAYER("Dense", "o", ", 'units': 1", REF("f")),
          IO("x"), IO("o")),
      "%s");
  char layer[512];
  snprintf(layer, sizeof layer,
           "{'class_name': '%s', 'name': 'att', 'config': {'name': 'att'%s}, 'inbound_nodes': "
           "[[['d', 0, 0, {%s}], ['d', 0, 0, {}]]]}",
           cls, cfg, causal ? "'use_causal_mask': true" : "");
  char *at = strstr(buf, "%s"), rest[4096];
  snprintf(rest, sizeof rest, "%s", at + 2);
  snprintf(at, sizeof buf - (size_t)(at - buf), "%s%s", layer, rest);
  return Q(buf);
}

static const gradcheck_opts GRAD = {.rows = 3,
                                    .seed = 7,
                                    .y0 = 0.3,
                                    .dy = 0.2,
                                    .w_freq = 1.3,
                                    .w_shift = 5,
                                    .richardson = 0,
                                    .abs_tol = 2e-4,
                                    .rel_tol = 2e-2};

START_TEST(mha_gradients) {
  gradcheck_model(grad_spec("MultiHeadAttention",
                            ", 'num_heads': 2, 'key_dim': 2, 'value_dim': 3, 'output_shape': 2", 1),
                  8, &GRAD);
}
END_TEST

START_TEST(dense_attention_gradients) {
  gradcheck_model(grad_spec("Attention", ", 'use_scale': true, 'score_mode': 'concat'", 1), 8,
                  &GRAD);
  gradcheck_model(grad_spec("AdditiveAttention", "", 1), 8, &GRAD);
}
END_TEST

/* ---- threads, weights, refusals ---- */

/* Three SGD steps of a model with dropout on the attention probabilities:
 * the weights after them for 1, 2 and 3 threads, bit for bit. */
START_TEST(mha_threads_bit_identical) {
  const char *json =
      grad_spec("MultiHeadAttention", ", 'num_heads': 2, 'key_dim': 2, 'dropout': 0.3", 0);
  float xv[8 * 8], yv[8];
  fill(xv, 8 * 8, 5, -1, 1);
  fill(yv, 8, 6, -1, 1);
  nnc_array x = testutil_f32(xv, 8, 8), y = testutil_f32(yv, 8, 1);
  nnc_array first[16];
  int nw = 0;
  for (int threads = 1; threads <= 3; threads++) {
    nnc_model *m = load(json);
    nnc_status st;
    ck_assert(nnc_model_set_threads(m, threads, &st) == NNC_OK);
    ck_assert_msg(nnc_model_build(m, &x, &y, &st) == NNC_OK, "%s", st.message);
    nnc_array w[16];
    nw = set_weights(m, w, 16);
    free_weights(w, nw);
    for (int step = 0; step < 3; step++) {
      TEST_LOGS(logs);
      ck_assert_msg(nnc_model_train_on_batch(m, &x, &y, &logs, &st) == NNC_OK, "%s", st.message);
    }
    for (int i = 0; i < nw; i++) {
      nnc_array now;
      ck_assert(nnc_model_get_weight(m, nnc_model_weight_name(m, i), &now, &st) == NNC_OK);
      if (threads == 1) {
        first[i] = now;
        continue;
      }
      ck_assert_msg(memcmp(now.data, first[i].data, sizeof(float) * nnc_array_count(&now)) == 0,
                    "%s differs with %d threads", nnc_model_weight_name(m, i), threads);
      nnc_array_free(&now);
    }
    nnc_model_free(m);
  }
  free_weights(first, nw);
}
END_TEST

static void expect_refused(const char *json, const char *needle) {
  nnc_model *m = NULL;
  nnc_status st;
  int rc = nnc_model_load_string(json, "model.json", &m, &st);
  if (rc == NNC_OK) {
    float xv[8 * 2] = {0};
    nnc_array x = testutil_f32(xv, 2, 8);
    rc = nnc_model_build(m, &x, NULL, &st);
    nnc_model_free(m);
  }
  ck_assert_int_eq(rc, NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, needle), "message: %s", st.message);
}

START_TEST(refusals) {
  expect_refused(grad_spec("MultiHeadAttention",
                           ", 'num_heads': 2, 'key_dim': 2, "
                           "'attention_axes': [2]",
                           0),
                 "attention_axes");
  expect_refused(grad_spec("MultiHeadAttention",
                           ", 'num_heads': 2, 'key_dim': 2, "
                           "'output_shape': [2, 3]",
                           0),
                 "output_shape");
  expect_refused(grad_spec("MultiHeadAttention", ", 'key_dim': 2", 0), "num_heads");
  expect_refused(grad_spec("Attention", ", 'score_mode': 'general'", 0), "score_mode");
}
END_TEST

/* Every graph of a causal MultiHeadAttention with dropout and a causal
 * concat Attention (axis_index, slices, batch matmuls, dropout) dumps,
 * parses back and dumps to the same text. */
START_TEST(graphs_round_trip) {
  const char *specs[2] = {
      grad_spec("MultiHeadAttention", ", 'num_heads': 2, 'key_dim': 2, 'dropout': 0.2", 1),
      grad_spec("Attention", ", 'score_mode': 'concat', 'dropout': 0.2", 1)};
  for (int i = 0; i < 2; i++) {
    nnc_spec spec;
    nnc_status st;
    ck_assert_msg(nnc_spec_parse_string(specs[i], "m.json", &spec, &st) == NNC_OK, "%s",
                  st.message);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    nnc_compile_options o = {0};
    o.dump = f;
    o.dump_after = "all";
    o.no_jit = 1;
    nnc_compiled c;
    ck_assert_msg(nnc_compile_spec(&spec, NULL, &o, &c, &st) == NNC_OK, "%s", st.message);
    fclose(f);
    ck_assert_msg(strstr(text, "axis_index"), "no causal mask in the graphs");
    int graphs = 0, line = 0;
    for (const char *p = text; *p;) {
      if (*p == ';' || *p == '\n') {
        const char *nl = strchr(p, '\n');
        p = nl ? nl + 1 : p + strlen(p);
        line++;
        continue;
      }
      nnc_graph g;
      const char *rest;
      ck_assert_msg(graph_parse("m.ir", p, &rest, &line, &g, &st) == NNC_OK, "%s", st.message);
      char *again = NULL;
      size_t again_len = 0;
      FILE *h = open_memstream(&again, &again_len);
      graph_dump_text(&g, h);
      fclose(h);
      ck_assert_msg(again_len == (size_t)(rest - p) && !memcmp(again, p, again_len),
                    "line %d: dump -> parse -> dump differs", line);
      free(again);
      graph_free(&g);
      graphs++;
      p = rest;
    }
    ck_assert_int_gt(graphs, 0);
    free(text);
    nnc_compiled_free(&c);
    nnc_spec_free(&spec);
  }
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("attention");
  /* one case per test: CK_RUN_CASE=<name> runs one */
  const struct {
    const char *name;
    const TTest *test;
  } tests[] = {
      {"mha_self_attention", mha_self_attention},
      {"mha_cross_attention", mha_cross_attention},
      {"mha_causal_and_attention_mask", mha_causal_and_attention_mask},
      {"attention_dot", attention_dot},
      {"attention_concat", attention_concat},
      {"additive_attention", additive_attention},
      {"mha_keras3_value_mask", mha_keras3_value_mask},
      {"mha_gradients", mha_gradients},
      {"dense_attention_gradients", dense_attention_gradients},
      {"mha_threads_bit_identical", mha_threads_bit_identical},
      {"refusals", refusals},
      {"graphs_round_trip", graphs_round_trip},
  };
  for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
    TCase *tc = tcase_create(tests[i].name);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, tests[i].test);
    suite_add_tcase(s, tc);
  }
  return s;
}

int main(void) {
  /* the thread tests' small models still split wherever a group would
   * (compiler/driver/table.c: pool_rows) */
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1);
  return testutil_run(suite());
}
