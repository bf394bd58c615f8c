/* Attention layers: MultiHeadAttention, Attention (dot, concat, use_scale)
 * and AdditiveAttention. Forward values against float64 references written
 * here from Keras 3's formulas (several heads, value_dim != key_dim, a
 * separate key, output_shape, the causal mask, an attention_mask, query and
 * value masks); gradients of every weight (and, through a Dense before the
 * layer, of its inputs) against finite differences; bit-identical results
 * for 1, 2 and 3 threads; the weights' Keras 3 names and shapes; refusals.
 *
 * Call arguments (use_causal_mask, attention_mask) and Keras masks reach a
 * layer through compiler/layers/layer_io.c, a placeholder until the graph
 * work parses them from the spec. This file stands in for it with weak
 * definitions driven by the tests (fake_io below): a mask or attention_mask
 * is read from an extra model input. Once layer_io.c is real its strong
 * definitions win, and these cases must move to spec kwargs. */
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

/* ---- the stand-in for layer_io.c ---- */
static struct {
  int causal;         /* use_causal_mask */
  int attention_mask; /* model input index of the attention_mask, or -1 */
  int mask_input[3];  /* model input index of input k's Keras mask, or -1 */
  int scores;         /* return_attention_scores */
  nnc_shape extra;    /* the shape of the last extra output registered */
  int extra_index;    /* its index, 0: none */
} fake_io = {0, -1, {-1, -1, -1}, 0, {0}, 0};

static void fake_reset(void) {
  fake_io.causal = 0;
  fake_io.attention_mask = -1;
  for (int k = 0; k < 3; k++) fake_io.mask_input[k] = -1;
  fake_io.scores = 0;
  fake_io.extra_index = 0;
}

static int input_node(const layer_call *c, int io) {
  const nnc_graph *g = &c->l->forward;
  if (io < 0) return -1;
  for (int i = 0; i < g->n; i++)
    if (g->nodes[i].op == NNC_OP_INPUT && g->nodes[i].params.index == io) return i;
  return -1;
}

__attribute__((weak)) int layer_input_mask(const layer_call *c, int k) {
  return k < 3 ? input_node(c, fake_io.mask_input[k]) : -1;
}
__attribute__((weak)) void layer_set_output_mask(layer_call *c, int mask) {
  (void)c, (void)mask;
}
__attribute__((weak)) int layer_kwarg_tensor(const layer_call *c, const char *name, int item) {
  if (strcmp(name, "attention_mask") == 0 && item == 0)
    return input_node(c, fake_io.attention_mask);
  return -1;
}
/* records the output's shape (the model itself keeps one output) */
__attribute__((weak)) int layer_set_extra_output(layer_call *c, int index, int node,
                                                 nnc_status *st) {
  (void)st;
  fake_io.extra = c->l->forward.nodes[node].shape;
  fake_io.extra_index = index;
  return 0;
}
__attribute__((weak)) int layer_kwarg_bool(const layer_call *c, const char *name, int dflt) {
  (void)c;
  if (strcmp(name, "return_attention_scores") == 0) return fake_io.scores;
  return strcmp(name, "use_causal_mask") == 0 ? fake_io.causal : dflt;
}

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

/* one sample: out [T, E]; mask [T, S] (NULL: none) */
static void ref_mha(const mha_case *k, const float *q, const float *v, const float *key,
                    const float *const *w, const float *mask, double *out) {
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

/* A model input only the stand-in layer_io reads must still feed an output:
 * a linear Activation passes it through to one. */
#define PASS(name)                                                                                 \
  ", {'class_name': 'Activation', 'name': 'pass_" name "', 'config': {'name': 'pass_" name         \
  "', 'activation': 'linear'}, 'inbound_nodes': [[['" name "', 0, 0, {}]]]}"

/* The spec of an MHA on inputs q [t, dq] (and v [s, dv], k [s, dk] when
 * cross), with an extra input "am" [t, s] when with_mask. */
static const char *mha_spec(const mha_case *k, int cross, int with_mask) {
  static char buf[4096];
  char cfg[256], out_shape[32] = "";
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
           "'inbound_nodes': [[['q', 0, 0, {}], %s]]}%s], 'input_layers': [['q', 0, 0]%s%s], "
           "'output_layers': [['mha', 0, 0]%s]}, 'compile_config': {'optimizer': {'class_name': "
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
           cfg, cross ? "['v', 0, 0, {}], ['k', 0, 0, {}]" : "['q', 0, 0, {}]",
           with_mask ? PASS("am") : "", cross ? ", ['v', 0, 0], ['k', 0, 0]" : "",
           with_mask ? ", ['am', 0, 0]" : "", with_mask ? ", ['pass_am', 0, 0]" : "");
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

/* Predict with deterministic inputs and weights; compare with ref_mha. */
static void check_mha(const mha_case *k, int cross, const float *mask, const float *ref_mask) {
  /* the attention_mask is the last input (the model lowers as it loads) */
  fake_io.attention_mask = mask ? (cross ? 3 : 1) : -1;
  nnc_model *m = load(mha_spec(k, cross, mask != NULL));
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
  int n_out = mask ? 2 : 1;
  ck_assert_msg(nnc_model_predict_multi(m, n_x, x, B, n_out, outs, &st) == NNC_OK, "%s",
                st.message);
  out = outs[0];
  if (n_out > 1) nnc_array_free(&outs[1]);
  ck_assert_int_eq(out.rank, 3);
  ck_assert_int_eq(out.shape[2], k->out_dim);
  for (int b = 0; b < B; b++) {
    double ref[MAXT * MAXD];
    ref_mha(k, q + b * k->t * k->dq, cross ? v + b * k->s * k->dv : q + b * k->t * k->dq,
            cross ? key + b * k->s * k->dk : q + b * k->t * k->dq, wp,
            ref_mask ? ref_mask + b * k->t * k->s : NULL, ref);
    for (int i = 0; i < k->t * k->out_dim; i++) {
      double got = ((float *)out.data)[b * k->t * k->out_dim + i];
      ck_assert_msg(fabs(got - ref[i]) <= 1e-5 + 1e-5 * fabs(ref[i]),
                    "mask %d causal %d: sample %d [%d]: %g vs %g", mask != NULL, fake_io.causal, b,
                    i, got, ref[i]);
    }
  }
  nnc_array_free(&out);
  free_weights(w, nw);
  nnc_model_free(m);
}

START_TEST(mha_self_attention) {
  fake_reset();
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
  check_mha(&k, 0, NULL, NULL);
}
END_TEST

START_TEST(mha_cross_attention) {
  fake_reset();
  /* one head (no slices); query [3, 5], value [4, 4], key [4, 2]; output_shape 3;
   * no biases */
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
  check_mha(&k, 1, NULL, NULL);
}
END_TEST

START_TEST(mha_causal_and_attention_mask) {
  fake_reset();
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
  fake_io.causal = 1; /* use_causal_mask alone */
  check_mha(&k, 0, NULL, causal);
  fake_io.causal = 1; /* both */
  check_mha(&k, 0, am, both);
}
END_TEST

/* ---- Attention and AdditiveAttention forward ---- */

enum { TQ = 3, TV = 4, DQ = 4, DV = 5 };
typedef enum { DOT, CONCAT, ADDITIVE } score_kind;

/* inputs q [TQ, DQ], v [TV, DV], k [TV, DQ], then qm [TQ], vm [TV] */
static const char *dense_spec(const char *cls, const char *cfg) {
  static char buf[4096];
  snprintf(buf, sizeof buf,
           MODEL(INPUT("q", "3, 4") "," INPUT("v", "4, 5") "," INPUT("k", "4, 4") "," INPUT(
                     "qm", "3") "," INPUT("vm", "4") ",%s" PASS("qm") PASS("vm"),
                 IO("q") ", " IO("v") ", " IO("k") ", " IO("qm") ", " IO("vm"),
                 IO("att") ", " IO("pass_qm") ", " IO("pass_vm")),
           "%s");
  char layer[512];
  snprintf(layer, sizeof layer,
           "{'class_name': '%s', 'name': 'att', 'config': {'name': 'att'%s}, 'inbound_nodes': "
           "[[['q', 0, 0, {}], ['v', 0, 0, {}], ['k', 0, 0, {}]]]}",
           cls, cfg);
  char *at = strstr(buf, "%s");
  char rest[4096];
  snprintf(rest, sizeof rest, "%s", at + 2);
  snprintf(at, sizeof buf - (size_t)(at - buf), "%s%s", layer, rest);
  return Q(buf);
}

/* scale: NULL (none), one value (dot, concat) or DQ values (additive) */
static void ref_dense(score_kind kind, const float *q, const float *v, const float *key,
                      const float *scale, const float *concat_w, const float *qm, const float *vm,
                      int causal, double *out) {
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
    for (int j = 0; j < DV; j++) {
      double a = 0;
      for (int s = 0; s < TV; s++) a += row[s] * v[s * DV + j];
      out[t * DV + j] = qm && qm[t] == 0 ? 0.0 : a;
    }
  }
}

static void check_dense(const char *cls, const char *cfg, score_kind kind, int n_weights, int masks,
                        int causal) {
  fake_reset();
  fake_io.causal = causal;
  if (masks) fake_io.mask_input[0] = 3, fake_io.mask_input[1] = 4;
  nnc_model *m = load(dense_spec(cls, cfg));
  float q[B * TQ * DQ], v[B * TV * DV], key[B * TV * DQ];
  float qm[B * TQ] = {1, 0, 1, 1, 1, 0}, vm[B * TV] = {1, 1, 0, 1, 1, 0, 1, 0};
  fill(q, B * TQ * DQ, 11, -1, 1);
  fill(v, B * TV * DV, 12, -1, 1);
  fill(key, B * TV * DQ, 13, -1, 1);
  int64_t qs[3] = {B, TQ, DQ}, vs[3] = {B, TV, DV}, ks[3] = {B, TV, DQ}, qms[2] = {B, TQ},
          vms[2] = {B, TV};
  nnc_array x[5] = {array(q, 3, qs), array(v, 3, vs), array(key, 3, ks), array(qm, 2, qms),
                    array(vm, 2, vms)};
  nnc_status st;
  ck_assert_msg(nnc_model_build_multi(m, 5, x, 0, NULL, &st) == NNC_OK, "%s", st.message);
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
  nnc_array outs[3], out;
  ck_assert_msg(nnc_model_predict_multi(m, 5, x, B, 3, outs, &st) == NNC_OK, "%s", st.message);
  out = outs[0];
  nnc_array_free(&outs[1]);
  nnc_array_free(&outs[2]);
  for (int b = 0; b < B; b++) {
    double ref[TQ * DV];
    ref_dense(kind, q + b * TQ * DQ, v + b * TV * DV, key + b * TV * DQ, scale, concat_w,
              masks ? qm + b * TQ : NULL, masks ? vm + b * TV : NULL, causal, ref);
    for (int i = 0; i < TQ * DV; i++) {
      double got = ((float *)out.data)[b * TQ * DV + i];
      ck_assert_msg(fabs(got - ref[i]) <= 1e-5 + 1e-5 * fabs(ref[i]), "%s sample %d [%d]: %g vs %g",
                    cls, b, i, got, ref[i]);
    }
  }
  nnc_array_free(&out);
  free_weights(w, nw);
  nnc_model_free(m);
}

START_TEST(attention_dot) {
  /* query and value masks, causal */
  check_dense("Attention", ", 'use_scale': true", DOT, 1, 1, 1);
}
END_TEST

START_TEST(attention_concat) {
  check_dense("Attention", ", 'score_mode': 'concat', 'use_scale': true", CONCAT, 2, 1, 1);
}
END_TEST

START_TEST(additive_attention) {
  check_dense("AdditiveAttention", "", ADDITIVE, 1, 1, 1);
}
END_TEST

/* ---- gradients ---- */

/* Input(8) -> Reshape(4, 2) -> Dense(3) -> <layer>(d, d) -> Flatten -> Dense(1): the
 * first Dense's gradients flow through the layer's query, key and value. */
static const char *grad_spec(const char *cls, const char *cfg) {
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
           "[[['d', 0, 0, {}], ['d', 0, 0, {}]]]}",
           cls, cfg);
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
  fake_reset();
  fake_io.causal = 1;
  gradcheck_model(grad_spec("MultiHeadAttention", ", 'num_heads': 2, 'key_dim': 2, 'value_dim': 3, "
                                                  "'output_shape': 2"),
                  8, &GRAD);
}
END_TEST

START_TEST(dense_attention_gradients) {
  fake_reset();
  fake_io.causal = 1;
  gradcheck_model(grad_spec("Attention", ", 'use_scale': true, 'score_mode': 'concat'"), 8, &GRAD);
  gradcheck_model(grad_spec("AdditiveAttention", ""), 8, &GRAD);
}
END_TEST

/* ---- threads, weights, refusals ---- */

/* Three SGD steps of a model with dropout on the attention probabilities:
 * the weights after them for 1, 2 and 3 threads, bit for bit. */
START_TEST(mha_threads_bit_identical) {
  fake_reset();
  const char *json =
      grad_spec("MultiHeadAttention", ", 'num_heads': 2, 'key_dim': 2, 'dropout': 0.3");
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
  fake_reset();
  expect_refused(grad_spec("MultiHeadAttention", ", 'num_heads': 2, 'key_dim': 2, "
                                                 "'attention_axes': [2]"),
                 "attention_axes");
  expect_refused(grad_spec("MultiHeadAttention", ", 'num_heads': 2, 'key_dim': 2, "
                                                 "'output_shape': [2, 3]"),
                 "output_shape");
  expect_refused(grad_spec("MultiHeadAttention", ", 'key_dim': 2"), "num_heads");
  expect_refused(grad_spec("Attention", ", 'score_mode': 'general'"), "score_mode");
}
END_TEST

/* Lower and compile a spec without the JIT (no LLVM: fast). */
static void lower_only(const char *json) {
  nnc_spec spec;
  nnc_status st;
  ck_assert_msg(nnc_spec_parse_string(json, "m.json", &spec, &st) == NNC_OK, "%s", st.message);
  nnc_compile_options o = {0};
  o.no_jit = 1;
  nnc_compiled c;
  ck_assert_msg(nnc_compile_spec(&spec, NULL, &o, &c, &st) == NNC_OK, "%s", st.message);
  nnc_compiled_free(&c);
  nnc_spec_free(&spec);
}

/* return_attention_scores: MultiHeadAttention registers output 1 of shape
 * [B, heads, T, S], Attention and AdditiveAttention [B, Tq, Tv]. */
START_TEST(attention_scores_output) {
  fake_reset();
  fake_io.scores = 1;
  mha_case k = {.heads = 3,
                .key_dim = 2,
                .value_dim = 2,
                .out_dim = 3,
                .use_bias = 1,
                .t = 3,
                .s = 4,
                .dq = 5,
                .dv = 4,
                .dk = 2};
  lower_only(mha_spec(&k, 1, 0));
  ck_assert_int_eq(fake_io.extra_index, 1);
  int64_t want[4] = {-1, 3, 3, 4};
  ck_assert_int_eq(fake_io.extra.rank, 4);
  for (int d = 0; d < 4; d++) ck_assert_int_eq(fake_io.extra.dims[d], want[d]);
  fake_io.extra_index = 0;
  lower_only(dense_spec("AdditiveAttention", ""));
  ck_assert_int_eq(fake_io.extra_index, 1);
  ck_assert_int_eq(fake_io.extra.rank, 3);
  ck_assert_int_eq(fake_io.extra.dims[1], TQ);
  ck_assert_int_eq(fake_io.extra.dims[2], TV);
}
END_TEST

/* Every graph of a causal MultiHeadAttention with dropout and a causal
 * concat Attention (axis_index, slices, batch matmuls, dropout) dumps,
 * parses back and dumps to the same text. */
START_TEST(graphs_round_trip) {
  fake_reset();
  fake_io.causal = 1;
  const char *specs[2] = {
      grad_spec("MultiHeadAttention", ", 'num_heads': 2, 'key_dim': 2, 'dropout': 0.2"),
      grad_spec("Attention", ", 'score_mode': 'concat', 'dropout': 0.2")};
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
      {"mha_gradients", mha_gradients},
      {"dense_attention_gradients", dense_attention_gradients},
      {"mha_threads_bit_identical", mha_threads_bit_identical},
      {"refusals", refusals},
      {"graphs_round_trip", graphs_round_trip},
      {"attention_scores_output", attention_scores_output},
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
  return testutil_run(suite());
}
