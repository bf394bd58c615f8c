/* The recurrence ops RNN and RNN_GRAD (compiler/ops/rnn.c, rnn_grad.c),
 * JIT-compiled alone in a small train graph.
 *
 * xp = reshape(x P0), U = P1, the initial state(s) x P2 (when given), a fixed
 * 0/1 mask (when given); the loss L = sum(C * record[..., states]). A float64
 * reference written here from Keras 3's cell formulas (SimpleRNNCell,
 * LSTMCell, GRUCell) gives the states of every step, which the op's record
 * must match, and, by central differences in float64, dL/dP for every
 * parameter element, which autodiff's gradient (RNN_GRAD, then matmuls) must
 * match. Cases: each cell, GRU with and without reset_after, go_backwards,
 * masked steps, initial states, Keras 2's hard_sigmoid, relu, a fixed
 * recurrent dropout mask (Keras 3's SimpleRNNCell/LSTMCell: h_prev times the
 * mask before the recurrent kernel, the same mask at every step). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/autodiff/autodiff.h"
#include "compiler/codegen/codegen.h"
#include "compiler/graph/graph.h"
#include "compiler/ops/rnn_cell.h"
#include "compiler/passes/passes.h"
#include "nnc.h"
#include "testutil.h"

enum { B = 7, K = 2, T = 4, N = 17, MAXW = 11 * N + 1 };

typedef struct rcase {
  const char *name;
  nnc_rnn_params p;
} rcase;

static void no_barrier(void *ctx) {
  (void)ctx;
}

/* ---- float64 reference ---- */

static double act(int64_t a, double x) {
  switch (a) {
  case NNC_RNN_LINEAR:
    return x;
  case NNC_RNN_HARD_SIGMOID_K2:
    return fmin(1.0, fmax(0.0, 0.2 * x + 0.5));
  case NNC_FN_TANH:
    return tanh(x);
  case NNC_FN_SIGMOID:
    return 1.0 / (1.0 + exp(-x));
  case NNC_FN_RELU:
    return x > 0 ? x : 0;
  case NNC_FN_HARD_SIGMOID: /* Keras 3: relu6(x + 3) / 6 */
    return fmin(6.0, fmax(0.0, x + 3.0)) / 6.0;
  default:
    ck_abort_msg("activation %lld not in the reference", (long long)a);
    return NAN;
  }
}

static double mask_of(int b, int t) {
  return (b + 2 * t) % 3 == 1 ? 0.0 : 1.0; /* some steps masked, the first of row 0 kept */
}

static double rdrop_of(int b, int k) {
  return (b + k) % 3 == 0 ? 0.0 : 1.5; /* a dropout mask of rate 1/3: 0 or 1/(1-rate) */
}

/* The states (h, then c) of every step in processed order: st[b][s+1][..]. */
static void ref_states(const nnc_rnn_params *p, const double *x, const double *w,
                       double st[B][T + 1][2 * N]) {
  int64_t g = rnn_gates(p), gn = g * N, sn = rnn_states(p) * N;
  const double *p0 = w, *u = w + K * T * gn, *p2 = u + rnn_u_rows(p) * gn;
  for (int b = 0; b < B; b++) {
    for (int j = 0; j < sn; j++) {
      double v = 0;
      if (p->aux & NNC_RNN_AUX_STATE)
        for (int k = 0; k < K; k++) v += x[b * K + k] * p2[k * sn + j];
      st[b][0][j] = v;
    }
    for (int s = 0; s < T; s++) {
      int t = p->backwards ? T - 1 - s : s;
      double xp[4 * N], rec[4 * N], *hp = st[b][s], *h = st[b][s + 1];
      for (int j = 0; j < gn; j++) {
        xp[j] = 0;
        for (int k = 0; k < K; k++) xp[j] += x[b * K + k] * p0[k * T * gn + t * gn + j];
        rec[j] = rnn_u_rows(p) > N ? u[N * gn + j] : 0;
        for (int k = 0; k < N; k++)
          rec[j] += hp[k] * (p->aux & NNC_RNN_AUX_RDROP ? rdrop_of(b, k) : 1.0) * u[k * gn + j];
      }
      double m = (p->aux & NNC_RNN_AUX_MASK) ? mask_of(b, t) : 1.0, rh[N];
      if (p->cell == NNC_RNN_GRU && !p->reset_after) /* r * h_prev, for the candidate */
        for (int k = 0; k < N; k++) rh[k] = act(p->rec_act, xp[N + k] + rec[N + k]) * hp[k];
      for (int j = 0; j < N; j++) {
        double hn, cn = 0;
        if (p->cell == NNC_RNN_SIMPLE) {
          hn = act(p->act, xp[j] + rec[j]);
        } else if (p->cell == NNC_RNN_LSTM) {
          double i = act(p->rec_act, xp[j] + rec[j]), f = act(p->rec_act, xp[N + j] + rec[N + j]);
          double gg = act(p->act, xp[2 * N + j] + rec[2 * N + j]);
          double o = act(p->rec_act, xp[3 * N + j] + rec[3 * N + j]);
          cn = f * hp[N + j] + i * gg;
          hn = o * act(p->act, cn);
        } else {
          double z = act(p->rec_act, xp[j] + rec[j]), r = act(p->rec_act, xp[N + j] + rec[N + j]);
          double cand;
          if (p->reset_after) {
            cand = xp[2 * N + j] + r * rec[2 * N + j];
          } else { /* (r * h_prev) U_h */
            cand = xp[2 * N + j];
            for (int k = 0; k < N; k++) cand += rh[k] * u[k * gn + 2 * N + j];
          }
          hn = z * hp[j] + (1 - z) * act(p->act, cand);
        }
        h[j] = m != 0 ? hn : hp[j];
        if (p->cell == NNC_RNN_LSTM) h[N + j] = m != 0 ? cn : hp[N + j];
      }
    }
  }
}

static double ref_loss(const nnc_rnn_params *p, const double *x, const double *w, const float *c) {
  double st[B][T + 1][2 * N];
  ref_states(p, x, w, st);
  int64_t sn = rnn_states(p) * N;
  double l = 0;
  for (int b = 0; b < B; b++)
    for (int s = 0; s <= T; s++)
      for (int j = 0; j < sn; j++) l += c[(b * (T + 1) + s) * sn + j] * st[b][s][j];
  return l;
}

/* ---- the compiled op ---- */

typedef struct rig {
  nnc_graph g;
  nnc_program prog;
  nnc_jit *jit;
  nnc_step_fn fn;
  int64_t n_w, sn, w;
  float x[B * K], c[B * (T + 1) * 2 * N], mask[B * T], rdrop[B * N], record[B * (T + 1) * MAXW];
  float *fixed, *batch, *scratch;
} rig;

static int add_param(rig *r, int64_t rows, int64_t cols, nnc_status *st) {
  int i = r->prog.n_params++;
  nnc_param_info *info = &r->prog.params[i];
  int64_t d[2] = {rows, cols};
  snprintf(info->name, sizeof info->name, "p%d", i);
  info->shape = shape_make(0, 2, d);
  info->count = rows * cols;
  info->offset = r->prog.params_floats;
  info->trainable = 1;
  r->prog.params_floats += info->count;
  return graph_source(&r->g, NNC_OP_PARAM, i, info->shape, info->name, st);
}

/* dump -> parse -> dump gives the same text (the rnn ops' parameters included) */
static void round_trip(const nnc_graph *g) {
  char *text = NULL, *again = NULL;
  size_t len = 0, again_len = 0;
  FILE *f = open_memstream(&text, &len);
  graph_dump_text(g, f);
  fclose(f);
  ck_assert_ptr_nonnull(strstr(text, "rnn_grad"));
  nnc_graph h;
  nnc_status st = {0};
  const char *rest;
  int line = 0;
  ck_assert_msg(graph_parse("rnn", text, &rest, &line, &h, &st) == NNC_OK, "%s", st.message);
  f = open_memstream(&again, &again_len);
  graph_dump_text(&h, f);
  fclose(f);
  ck_assert_msg(again_len == len && !memcmp(again, text, len), "dump -> parse -> dump differs:\n%s",
                again);
  graph_free(&h);
  free(text);
  free(again);
}

static void rig_build(rig *r, const nnc_rnn_params *p) {
  nnc_status st = {0};
  memset(r, 0, sizeof *r);
  nnc_graph *g = &r->g;
  ck_assert(graph_init(g, "train", &st) == NNC_OK);
  int64_t gn = rnn_gates(p) * N;
  r->sn = rnn_states(p) * N;
  r->w = rnn_width(p);
  r->prog.params = calloc(3, sizeof *r->prog.params);
  r->prog.n_inputs = 4;
  int64_t kd[1] = {K}, md[1] = {T}, cd[2] = {T + 1, r->sn}, xd[2] = {T, gn}, sd[1] = {r->sn};
  int64_t bk[2] = {-1, K}, bm[2] = {-1, T}, bc[3] = {-1, T + 1, r->sn}, bx[3] = {-1, T, gn};
  (void)kd, (void)md, (void)cd, (void)xd, (void)sd;
  int x = graph_input(g, 0, shape_make(1, 2, bk), "x", &st);
  int cw = graph_input(g, 1, shape_make(1, 3, bc), "c", &st);
  int mask = graph_input(g, 2, shape_make(1, 2, bm), "mask", &st);
  int64_t bn[2] = {-1, N};
  int rdrop = graph_input(g, 3, shape_make(1, 2, bn), "rdrop", &st);
  int p0 = add_param(r, K, T * gn, &st), u = add_param(r, rnn_u_rows(p), gn, &st);
  int xp = graph_reshape(g, graph_matmul(g, x, p0, &st), shape_make(1, 3, bx), &st);
  int aux = -1;
  int pv[3] = {p0, u, -1};
  if (p->aux & NNC_RNN_AUX_STATE) {
    pv[2] = add_param(r, K, r->sn, &st);
    aux = graph_matmul(g, x, pv[2], &st);
  }
  if (p->aux & NNC_RNN_AUX_MASK) aux = aux < 0 ? mask : graph_concat(g, aux, mask, 1, &st);
  if (p->aux & NNC_RNN_AUX_RDROP) aux = aux < 0 ? rdrop : graph_concat(g, aux, rdrop, 1, &st);
  int rec = graph_rnn(g, xp, u, aux, p, &st);
  ck_assert_msg(rec >= 0, "%s", st.message);
  int y = graph_slice(g, rec, 2, 0, r->sn, &st);
  int loss = graph_reduce(g, NNC_RED_ALL, graph_binary(g, NNC_BIN_MUL, y, cw, &st), &st);
  r->prog.n_stats = 1;
  ck_assert_msg(graph_stat(g, loss, 0, &st) >= 0, "%s", st.message);
  ck_assert_msg(graph_output(g, rec, 0, &st) >= 0, "%s", st.message);
  g->loss = loss;
  int grads[3];
  ck_assert_msg(autodiff_backward(g, &r->prog, grads, &st) == NNC_OK, "%s", st.message);
  for (int i = 0; i < r->prog.n_params; i++) {
    int in[2] = {pv[i], grads[i]};
    ck_assert_int_ge(grads[i], 0);
    ck_assert_msg(graph_add(g, NNC_OP_ASSIGN, 0, in, 2, &st) >= 0, "%s", st.message);
  }
  ck_assert_msg(graph_verify(g, "test", &st) == NNC_OK, "%s", st.message);
  round_trip(g);
  ck_assert(pass_fuse(g, &st) == NNC_OK);
  ck_assert_msg(pass_plan_memory_for(g, &r->prog, &st) == NNC_OK, "%s", st.message);
  const nnc_graph *list[1] = {g};
  nnc_codegen_options opts = {0};
  ck_assert_msg(codegen_compile(list, 1, &r->prog, &opts, &r->jit, &r->fn, &st) == NNC_OK, "%s",
                st.message);
  r->n_w = r->prog.params_floats;
  for (int e = 0; e < B * K; e++) r->x[e] = (float)(0.4 + 0.3 * e - 0.25 * (e % 3));
  for (int e = 0; e < B * (T + 1) * r->sn; e++) r->c[e] = (float)sin(1.3 * e + 0.4);
  for (int b = 0; b < B; b++)
    for (int t = 0; t < T; t++) r->mask[b * T + t] = (float)mask_of(b, t);
  for (int b = 0; b < B; b++)
    for (int k = 0; k < N; k++) r->rdrop[b * N + k] = (float)rdrop_of(b, k);
  r->fixed = calloc((size_t)g->fixed_floats + 1, sizeof(float));
  r->batch = calloc((size_t)(g->batch_floats_per_row * B) + 1, sizeof(float));
  r->scratch = testutil_scratch(r->jit, 0, 1);
}

/* One step on params: the loss; params receives the gradients. */
static double rig_run(rig *r, float *params) {
  float stats[1] = {0};
  float *regions[NNC_REGION_IO + 5] = {0};
  regions[NNC_REGION_IO + 0] = r->x;
  regions[NNC_REGION_IO + 1] = r->c;
  regions[NNC_REGION_IO + 2] = r->mask;
  regions[NNC_REGION_IO + 3] = r->rdrop;
  regions[NNC_REGION_IO + 4] = r->record; /* output 0 follows the inputs */
  regions[NNC_REGION_PARAMS] = params;
  regions[NNC_REGION_STATS] = stats;
  regions[NNC_REGION_FIXED] = r->fixed;
  regions[NNC_REGION_BATCH] = r->batch;
  regions[NNC_REGION_SCRATCH] = r->scratch;
  float scalars[NNC_SCALAR_COUNT] = {0};
  scalars[NNC_SCALAR_BATCH] = B;
  r->fn(regions, scalars, B, 0, 0, 1, no_barrier, NULL);
  return stats[0];
}

static void rig_free(rig *r) {
  codegen_release(r->jit);
  graph_free(&r->g);
  free(r->prog.params);
  free(r->fixed);
  free(r->batch);
  free(r->scratch);
}

static void check_case(const rcase *rc) {
  const nnc_rnn_params *p = &rc->p;
  rig r;
  rig_build(&r, p);
  int64_t n = r.n_w;
  float *w = malloc(sizeof(float) * (size_t)n), *grad = malloc(sizeof(float) * (size_t)n);
  double *wd = malloc(sizeof(double) * (size_t)n), xd[B * K];
  for (int64_t e = 0; e < n; e++) w[e] = (float)(0.6 * cos(0.7 * (double)e) + 0.05);
  for (int64_t e = 0; e < n; e++) wd[e] = w[e];
  for (int e = 0; e < B * K; e++) xd[e] = r.x[e];
  memcpy(grad, w, sizeof(float) * (size_t)n);
  double loss = rig_run(&r, grad);
  /* forward: the states of every step, and the mask field */
  double st[B][T + 1][2 * N];
  ref_states(p, xd, wd, st);
  for (int b = 0; b < B; b++)
    for (int s = 0; s <= T; s++) {
      const float *row = &r.record[(b * (T + 1) + s) * r.w];
      for (int j = 0; j < r.sn; j++)
        ck_assert_msg(fabs(row[j] - st[b][s][j]) <= 2e-6 + 2e-6 * fabs(st[b][s][j]),
                      "%s: sample %d row %d state %d: %g, expected %g", rc->name, b, s, j, row[j],
                      st[b][s][j]);
      if (s > 0 && (p->aux & NNC_RNN_AUX_MASK)) {
        int t = p->backwards ? T - s : s - 1;
        ck_assert_msg(row[r.w - 1] == (float)mask_of(b, t), "%s: mask field", rc->name);
      }
    }
  double want = ref_loss(p, xd, wd, r.c);
  ck_assert_msg(fabs(loss - want) <= 1e-5 * (1 + fabs(want)), "%s: loss %g, expected %g", rc->name,
                loss, want);
  /* gradient: central differences of the float64 reference */
  int nonzero = 0;
  for (int64_t e = 0; e < n; e++) {
    const double h = 1e-5;
    double keep = wd[e];
    wd[e] = keep + h;
    double lu = ref_loss(p, xd, wd, r.c);
    wd[e] = keep - h;
    double ld = ref_loss(p, xd, wd, r.c);
    wd[e] = keep;
    double fd = (lu - ld) / (2 * h);
    ck_assert_msg(fabs(grad[e] - fd) <= 1e-4 + 1e-4 * fabs(fd),
                  "%s: parameter element %lld: gradient %g, differences %g", rc->name, (long long)e,
                  grad[e], fd);
    nonzero += fabs(fd) > 1e-4;
  }
  ck_assert_int_ge(2 * nonzero, n);
  free(w);
  free(grad);
  free(wd);
  rig_free(&r);
}

#define P(cell, back, reset, a, ra, aux)                                                           \
  { cell, N, back, reset, a, ra, aux, 1 }
/* Each corner at least once, in as few cases as cover them (each case is
 * one JIT compile, most of the test's time): every cell; no aux operand at
 * all (LSTM with Keras 2's hard_sigmoid, GRU without a bias); initial states,
 * masks and recurrent dropout masks alone and together; go_backwards with
 * each cell; GRU reset_after with and without its recurrent bias row, and
 * reset_before; relu, tanh, sigmoid and both hard_sigmoids (the cells
 * share one activation code). Masks without recurrent dropout: the GRU
 * cases; with it: SimpleRNN and LSTM; recurrent dropout without a mask: the
 * backwards LSTM. (Session 7 had 16 cases, 11 s of CPU.) */
static const rcase cases[] = {
    {"simple relu backwards masked recurrent dropout",
     P(NNC_RNN_SIMPLE, 1, 0, NNC_FN_RELU, NNC_FN_SIGMOID, 6)},
    {"lstm keras2 hard_sigmoid", P(NNC_RNN_LSTM, 0, 0, NNC_FN_TANH, NNC_RNN_HARD_SIGMOID_K2, 0)},
    {"lstm state mask recurrent dropout", P(NNC_RNN_LSTM, 0, 0, NNC_FN_TANH, NNC_FN_SIGMOID, 7)},
    {"lstm keras3 hard_sigmoid backwards state recurrent dropout",
     P(NNC_RNN_LSTM, 1, 0, NNC_FN_TANH, NNC_FN_HARD_SIGMOID, 5)},
    {"gru reset_after backwards mask state", P(NNC_RNN_GRU, 1, 1, NNC_FN_TANH, NNC_FN_SIGMOID, 3)},
    {"gru reset_after without a bias", {NNC_RNN_GRU, N, 0, 1, NNC_FN_TANH, NNC_FN_SIGMOID, 0, 0}},
    {"gru reset_before backwards mask state", P(NNC_RNN_GRU, 1, 0, NNC_FN_TANH, NNC_FN_SIGMOID, 3)},
};

START_TEST(test_rnn_case) {
  check_case(&cases[_i]);
}
END_TEST

int main(void) {
  Suite *s = suite_create("rnn_op");
  TCase *tc = tcase_create("rnn_op");
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, test_rnn_case, 0, (int)(sizeof cases / sizeof cases[0]));
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
