/* SimpleRNN, LSTM and GRU: parsing their config and lowering one layer.
 *
 * x [B,T,F] @ kernel [F, G*n] (+ the input bias) is one MATMUL for all steps;
 * the RNN op (compiler/ops/rnn.c) runs the loop over time with the recurrent
 * kernel resident and leaves a record of every step; the layer's outputs are
 * slices of that record. Weights are named as Keras 3's variable paths:
 * "<layer>/<cell>/kernel", "/recurrent_kernel", "/bias" with the cell
 * "simple_rnn_cell", "lstm_cell" or "gru_cell". */
#include "compiler/layers/rnn_layer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "compiler/ops/rnn_cell.h"

int rnn_cell_of_class(const char *class_name) {
  char n[64];
  if (!class_name || !spec_normalize(class_name, n, sizeof n)) return -1;
  if (!strcmp(n, "lstm")) return NNC_RNN_LSTM;
  if (!strcmp(n, "gru")) return NNC_RNN_GRU;
  if (!strcmp(n, "simplernn")) return NNC_RNN_SIMPLE;
  return -1;
}

static int get_reg(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, const char *key,
                   nnc_spec_regularizer *out) {
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, key);
  return spec_parse_regularizer(ctx, spec_child(cfg, key), path, out);
}

static int get_con(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, const char *key,
                   nnc_spec_constraint *out) {
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, key);
  return spec_parse_constraint(ctx, spec_child(cfg, key), path, out);
}

static int get_init(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, const char *key,
                    const char *dflt, nnc_spec_init *out) {
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, key);
  return spec_parse_init(ctx, spec_child(cfg, key), path, dflt, out);
}

/* activations the loop computes itself (rnn_act); softmax and friends are not elementwise */
static int act_code(const rnn_config *p, nnc_activation a) {
  static const int code[NNC_ACT_COUNT] = {
      [NNC_ACT_LINEAR] = NNC_RNN_LINEAR,
      [NNC_ACT_RELU] = NNC_FN_RELU,
      [NNC_ACT_SIGMOID] = NNC_FN_SIGMOID,
      [NNC_ACT_TANH] = NNC_FN_TANH,
      [NNC_ACT_SOFTMAX] = -100,
      [NNC_ACT_ELU] = NNC_FN_ELU,
      [NNC_ACT_SELU] = NNC_FN_SELU,
      [NNC_ACT_SOFTPLUS] = NNC_FN_SOFTPLUS,
      [NNC_ACT_SOFTSIGN] = NNC_FN_SOFTSIGN,
      [NNC_ACT_SWISH] = NNC_FN_SWISH,
      [NNC_ACT_GELU] = NNC_FN_GELU,
      [NNC_ACT_LEAKY_RELU] = -100,
      [NNC_ACT_EXPONENTIAL] = NNC_FN_EXP,
      [NNC_ACT_HARD_SIGMOID] = NNC_FN_HARD_SIGMOID,
      [NNC_ACT_RELU6] = NNC_FN_RELU6,
      [NNC_ACT_HARD_SILU] = NNC_FN_HARD_SILU,
      [NNC_ACT_MISH] = NNC_FN_MISH,
      [NNC_ACT_LOG_SOFTMAX] = -100,
  };
  if (a == NNC_ACT_HARD_SIGMOID && p->keras2_hard_sigmoid) return NNC_RNN_HARD_SIGMOID_K2;
  return code[a];
}

int rnn_parse_config(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_rnn_cell cell,
                     rnn_config *out) {
  char path[NNC_PATH_MAX];
  int rc;
  memset(out, 0, sizeof *out);
  out->cell = cell;
  out->keras2_hard_sigmoid = ctx->format != NNC_FORMAT_KERAS3;
  spec_path_key(path, cfg_path, "units");
  if ((rc = spec_positive_int(ctx, spec_child(cfg, "units"), path, &out->units))) return rc;
  spec_path_key(path, cfg_path, "activation");
  const cJSON *a = spec_child(cfg, "activation");
  if (!a)
    out->activation = NNC_ACT_TANH;
  else if ((rc = spec_parse_activation(ctx, a, path, &out->activation)))
    return rc;
  if (act_code(out, out->activation) == -100)
    return spec_fail(ctx, path, "activation %s is not supported in a recurrent cell",
                     nnc_activation_name(out->activation));
  /* tfjs's LSTM and GRU default to hardSigmoid (clip(0.2 x + 0.5)), Keras's to sigmoid */
  out->recurrent_activation =
      ctx->format == NNC_FORMAT_TFJS ? NNC_ACT_HARD_SIGMOID : NNC_ACT_SIGMOID;
  if (cell != NNC_RNN_SIMPLE) {
    spec_path_key(path, cfg_path, "recurrent_activation");
    const cJSON *r = spec_child(cfg, "recurrent_activation");
    if (r && (rc = spec_parse_activation(ctx, r, path, &out->recurrent_activation))) return rc;
    if (act_code(out, out->recurrent_activation) == -100)
      return spec_fail(ctx, path, "recurrent_activation %s is not supported in a recurrent cell",
                       nnc_activation_name(out->recurrent_activation));
  }
  if ((rc = spec_get_bool(ctx, cfg, cfg_path, "use_bias", 1, &out->use_bias)) ||
      (rc = get_init(ctx, cfg, cfg_path, "kernel_initializer", "glorot_uniform",
                     &out->kernel_init)) ||
      (rc = get_init(ctx, cfg, cfg_path, "recurrent_initializer", "orthogonal",
                     &out->recurrent_init)) ||
      (rc = get_init(ctx, cfg, cfg_path, "bias_initializer", "zeros", &out->bias_init)) ||
      (rc = get_reg(ctx, cfg, cfg_path, "kernel_regularizer", &out->kernel_reg)) ||
      (rc = get_reg(ctx, cfg, cfg_path, "recurrent_regularizer", &out->recurrent_reg)) ||
      (rc = get_reg(ctx, cfg, cfg_path, "bias_regularizer", &out->bias_reg)) ||
      (rc = get_reg(ctx, cfg, cfg_path, "activity_regularizer", &out->activity_reg)) ||
      (rc = get_con(ctx, cfg, cfg_path, "kernel_constraint", &out->kernel_con)) ||
      (rc = get_con(ctx, cfg, cfg_path, "recurrent_constraint", &out->recurrent_con)) ||
      (rc = get_con(ctx, cfg, cfg_path, "bias_constraint", &out->bias_con)) ||
      (rc = spec_get_bool(ctx, cfg, cfg_path, "return_sequences", 0, &out->return_sequences)) ||
      (rc = spec_get_bool(ctx, cfg, cfg_path, "return_state", 0, &out->return_state)) ||
      (rc = spec_get_bool(ctx, cfg, cfg_path, "go_backwards", 0, &out->go_backwards)) ||
      (rc = spec_get_bool(ctx, cfg, cfg_path, "zero_output_for_mask", 0,
                          &out->zero_output_for_mask)))
    return rc;
  if (cell == NNC_RNN_LSTM &&
      (rc = spec_get_bool(ctx, cfg, cfg_path, "unit_forget_bias", 1, &out->unit_forget_bias)))
    return rc;
  /* tfjs's GRU has no reset_after and computes the reset-before form */
  if (cell == NNC_RNN_GRU &&
      (rc = spec_get_bool(ctx, cfg, cfg_path, "reset_after", ctx->format != NNC_FORMAT_TFJS,
                          &out->reset_after)))
    return rc;
  int flag;
  static const char *const refused[][2] = {
      {"stateful", "a stateful recurrent layer (state kept across batches) is not supported"},
      {"time_major", "time_major inputs are not supported"},
  };
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
    if ((rc = spec_get_bool(ctx, cfg, cfg_path, refused[i][0], 0, &flag))) return rc;
    if (flag) {
      spec_path_key(path, cfg_path, refused[i][0]);
      return spec_fail(ctx, path, "%s", refused[i][1]);
    }
  }
  if ((rc = spec_get_bool(ctx, cfg, cfg_path, "unroll", 0, &flag))) return rc; /* same values */
  static const char *const rates[] = {"dropout", "recurrent_dropout"};
  double *rate_of[] = {&out->dropout, &out->recurrent_dropout};
  for (size_t i = 0; i < 2; i++) {
    if ((rc = spec_get_number(ctx, cfg, cfg_path, rates[i], 0.0, rate_of[i]))) return rc;
    if (!(*rate_of[i] >= 0.0 && *rate_of[i] <= 1.0)) {
      spec_path_key(path, cfg_path, rates[i]);
      return spec_fail(ctx, path, "%s must be a number in [0, 1]", rates[i]);
    }
  }
  if (cell == NNC_RNN_LSTM && out->use_bias && out->unit_forget_bias &&
      out->bias_init.kind != NNC_INIT_ZEROS) {
    spec_path_key(path, cfg_path, "bias_initializer");
    return spec_fail(ctx, path,
                     "unit_forget_bias with a bias_initializer other than zeros is not supported "
                     "yet (set unit_forget_bias to false or the initializer to zeros)");
  }
  const cJSON *name = spec_child(cfg, "name");
  if (cJSON_IsString(name)) nnc_strlcpy(out->name, name->valuestring, sizeof out->name);
  return NNC_OK;
}

static int weight(layer_call *c, const char *scope, const char *what, nnc_shape s,
                  const nnc_spec_init *init, const nnc_spec_regularizer *reg,
                  const nnc_spec_constraint *con, nnc_status *st) {
  char name[2 * NNC_NAME_MAX];
  snprintf(name, sizeof name, "%s/%s", scope, what);
  int w = layer_param(c, name, s, init, st);
  if (w >= 0 && layer_param_extras(c, w, reg, con, st) < 0) return -1;
  return w;
}

/* xp [B, T, G*n] -> its first step's first n columns [B, 1, n] */
static int slice_bt(nnc_graph *g, int xp, int64_t n, nnc_status *st) {
  return graph_slice(g, graph_slice(g, xp, 1, 0, 1, st), 2, 0, n, st);
}

/* [rows, cols] and [cols] as one [rows + 1, cols] matrix (the row last) */
static int append_row(nnc_graph *g, int m, int row, int64_t rows, int64_t cols, nnc_status *st) {
  int64_t flat[2] = {1, rows * cols}, one[2] = {1, cols}, whole[2] = {rows + 1, cols};
  int a = graph_reshape(g, m, shape_make(0, 2, flat), st);
  int b = a < 0 ? -1 : graph_reshape(g, row, shape_make(0, 2, one), st);
  int ab = b < 0 ? -1 : graph_concat(g, a, b, 1, st);
  return ab < 0 ? -1 : graph_reshape(g, ab, shape_make(0, 2, whole), st);
}

/* Keras draws a dropout mask only for 0 < rate < 1 */
static int drops(double rate) {
  return rate > 0.0 && rate < 1.0;
}

/* One stream per layer, call, side (scope) and kind, so masks do not depend
 * on the order the graph is built in. */
static uint64_t drop_key(const layer_call *c, const char *kind, const char *scope) {
  char stream[3 * NNC_NAME_MAX + 64];
  if (c->node == 0)
    snprintf(stream, sizeof stream, "%s/%s/%s", kind, c->layer->name, scope);
  else
    snprintf(stream, sizeof stream, "%s/%s/%s/call%d", kind, c->layer->name, scope, c->node);
  return nnc_stream_key(0, stream);
}

/* x [B, T, F] times one mask [B, F] for every step (Keras's cell draws its
 * dropout mask once per sequence); x itself in inference. */
static int input_dropout(layer_call *c, int x, double rate, const char *scope, nnc_status *st) {
  nnc_graph *g = &c->l->forward;
  nnc_shape xs = g->nodes[x].shape;
  int64_t t = xs.dims[1], two[2] = {-1, xs.dims[2]};
  /* a [B, F] value only gives the mask its shape (the mask reads no element) */
  int first = graph_reshape(g, graph_slice(g, x, 1, 0, 1, st), shape_make(1, 2, two), st);
  int mask = graph_dropout_mask(g, first, rate, drop_key(c, "rnn_dropout", scope), st);
  layer_label(g, mask, c->layer->name, "dropout_mask");
  int spread = graph_repeat_axis(g, mask, 1, t, st); /* [B, F] -> [B, T, F] */
  int y = graph_binary(g, NNC_BIN_MUL, x, spread, st);
  return graph_phase_select(g, y, x, st);
}

/* Masked steps' outputs, as Keras 3's TF (and torch) backend.rnn: a masked
 * step outputs zeros with zero_output_for_mask, else the previous step's
 * output, and before the first kept step that is zeros (prev_output starts
 * at zeros), not the carried initial state; the states carry the initial
 * state either way. The record's h rows are the carried state, so the
 * output is h times `kept` (zero_output_for_mask) or times "a kept step so
 * far" (only differs from h when an initial state is given). All in
 * processed order: the mask reversed with go_backwards. seq [B, T, n] with
 * return_sequences, else the last output [B, n]. */
static int masked_output(nnc_graph *g, const rnn_config *p, int y, int mask, int backwards,
                         int zero_for_mask, nnc_status *st) {
  const nnc_shape *ms = &g->nodes[mask].shape;
  int64_t t = ms->dims[1], d3[3] = {-1, t, 1}, d2[2] = {-1, 1};
  int m = backwards ? graph_reverse_axis(g, mask, 1, st) : mask;
  int factor;
  if (zero_for_mask) {
    factor = p->return_sequences ? m : graph_slice(g, m, 1, t - 1, 1, st);
  } else { /* seen[s] = (s >= the first kept step), T when none is kept */
    int idx = graph_axis_index(g, m, 1, st);
    int first =
        graph_reduce_max(g, graph_select(g, m, idx, graph_const(g, (double)t, st), st), 1, 1, st);
    first = graph_reshape(g, first, shape_make(1, 2, d2), st);
    factor = p->return_sequences
                 ? graph_binary(g, NNC_BIN_GE, idx, first, st)
                 : graph_binary(g, NNC_BIN_GT, graph_const(g, (double)t, st), first, st);
  }
  if (factor >= 0 && p->return_sequences)
    factor = graph_reshape(g, factor, shape_make(1, 3, d3), st);
  if (factor < 0) return -1;
  g->nodes[factor].flags |= NNC_NODE_NO_GRAD; /* a new node, a function of the mask alone */
  return graph_binary(g, NNC_BIN_MUL, y, factor, st);
}

int rnn_lower_one(layer_call *c, const rnn_config *p, int x, const char *scope, int backwards,
                  const int *init, int mask, int *out, nnc_status *st) {
  nnc_graph *g = &c->l->forward;
  const nnc_shape *xs = &g->nodes[x].shape;
  if (!xs->batched || xs->rank != 3) {
    char have[64];
    shape_format(xs, have, sizeof have);
    return layer_fail(c, st, "expected a sequence [B, T, features] for %s \"%s\", got %s",
                      layer_class(c->layer->kind)->class_name, c->layer->name, have);
  }
  nnc_rnn_params rp = {.cell = p->cell,
                       .units = p->units,
                       .backwards = backwards,
                       .reset_after = p->cell == NNC_RNN_GRU && p->reset_after,
                       .act = act_code(p, p->activation),
                       .rec_act = act_code(p, p->recurrent_activation)};
  int64_t n = p->units, gn = rnn_gates(&rp) * n, t = xs->dims[1], f = xs->dims[2];
  int64_t kd[2] = {f, gn}, ud[2] = {n, gn};
  if (c->training && drops(p->dropout) && (x = input_dropout(c, x, p->dropout, scope, st)) < 0)
    return -1;
  int w = weight(c, scope, "kernel", shape_make(0, 2, kd), &p->kernel_init, &p->kernel_reg,
                 &p->kernel_con, st);
  int u = weight(c, scope, "recurrent_kernel", shape_make(0, 2, ud), &p->recurrent_init,
                 &p->recurrent_reg, &p->recurrent_con, st);
  if (w < 0 || u < 0) return -1;
  int xp = graph_matmul(g, x, w, st);
  if (p->use_bias) {
    nnc_spec_init bi = p->bias_init;
    if (p->cell == NNC_RNN_LSTM && p->unit_forget_bias) bi.kind = NNC_INIT_UNIT_FORGET_BIAS;
    int64_t two[2] = {2, gn};
    nnc_shape bs = rp.reset_after ? shape_make(0, 2, two) : shape_make(0, 1, &gn);
    int b = weight(c, scope, "bias", bs, &bi, &p->bias_reg, &p->bias_con, st);
    if (b < 0) return -1;
    int bin = b;
    if (rp.reset_after) { /* Keras's bias[0] is the input bias, bias[1] the recurrent one */
      int64_t flat[2] = {1, 2 * gn};
      int bf = graph_reshape(g, b, shape_make(0, 2, flat), st);
      bin = graph_reshape(g, graph_slice(g, bf, 1, 0, gn, st), shape_make(0, 1, &gn), st);
      int brec = graph_reshape(g, graph_slice(g, bf, 1, gn, gn, st), shape_make(0, 1, &gn), st);
      u = brec < 0 ? -1 : append_row(g, u, brec, n, gn, st);
      rp.rec_bias = 1;
    }
    xp = graph_binary(g, NNC_BIN_ADD, xp, bin, st);
  }
  if (xp < 0 || u < 0) return -1;
  layer_label(g, xp, c->layer->name, "projection");
  int aux = -1;
  int64_t sn = rnn_states(&rp);
  if (init && init[0] >= 0) {
    rp.aux |= NNC_RNN_AUX_STATE;
    for (int k = 0; k < sn; k++) {
      int s = init[k];
      if (s < 0)
        return layer_fail(c, st, "%s \"%s\" needs %lld initial states, got fewer",
                          layer_class(c->layer->kind)->class_name, c->layer->name, (long long)sn);
      const nnc_shape *ss = &g->nodes[s].shape;
      if (!ss->batched || ss->rank != 2 || ss->dims[1] != n)
        return layer_fail(c, st, "initial state %d of \"%s\" must be [B, %lld]", k, c->layer->name,
                          (long long)n);
      aux = aux < 0 ? s : graph_concat(g, aux, s, 1, st);
    }
  }
  if (mask >= 0) {
    rp.aux |= NNC_RNN_AUX_MASK;
    aux = aux < 0 ? mask : graph_concat(g, aux, mask, 1, st);
  }
  int rec = graph_rnn(g, xp, u, aux, &rp, st);
  /* Keras 3's GRUCell (implementation 2, the only one its config can ask
   * for) never applies recurrent_dropout; SimpleRNN and LSTM drop h_prev
   * before the recurrent kernel with one mask [B, n] for every step. */
  if (rec >= 0 && c->training && drops(p->recurrent_dropout) && p->cell != NNC_RNN_GRU) {
    int64_t two[2] = {-1, n};
    int shape_of = graph_reshape(g, slice_bt(g, xp, n, st), shape_make(1, 2, two), st);
    int rmask = graph_dropout_mask(g, shape_of, p->recurrent_dropout,
                                   drop_key(c, "rnn_recurrent_dropout", scope), st);
    layer_label(g, rmask, c->layer->name, "recurrent_dropout_mask");
    nnc_rnn_params rd = rp;
    rd.aux |= NNC_RNN_AUX_RDROP;
    int aux_d = aux < 0 ? rmask : graph_concat(g, aux, rmask, 1, st);
    int rec_d = graph_rnn(g, xp, u, aux_d, &rd, st);
    rec = graph_phase_select(g, rec_d, rec, st);
  }
  if (rec < 0) return -1;
  layer_label(g, rec, c->layer->name, "rnn");
  int64_t last[2] = {-1, n};
  for (int k = 0; k < sn; k++) { /* the final states: the record's last row */
    int s = graph_slice(g, graph_slice(g, rec, 1, t, 1, st), 2, k * n, n, st);
    out[1 + k] = graph_reshape(g, s, shape_make(1, 2, last), st);
    if (out[1 + k] < 0) return -1;
  }
  out[0] =
      p->return_sequences ? graph_slice(g, graph_slice(g, rec, 1, 1, t, st), 2, 0, n, st) : out[1];
  if (out[0] >= 0 && mask >= 0 && (p->zero_output_for_mask || (rp.aux & NNC_RNN_AUX_STATE)))
    out[0] = masked_output(g, p, out[0], mask, backwards, p->zero_output_for_mask, st);
  return out[0] < 0 ? -1 : (int)(1 + sn);
}

int rnn_layer_lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  const rnn_config *p = c->layer->params;
  static const char *const cells[] = {"simple_rnn_cell", "lstm_cell", "gru_cell"};
  int init[2] = {layer_kwarg_tensor(c, "initial_state", 0),
                 layer_kwarg_tensor(c, "initial_state", 1)};
  int states = p->cell == NNC_RNN_LSTM ? 2 : 1; /* Keras: one per cell.state_size entry */
  if (layer_kwarg_tensor(c, "initial_state", states) >= 0)
    return layer_fail(c, st, "%s \"%s\" takes %d initial state%s (%s), got more",
                      layer_class(c->layer->kind)->class_name, c->layer->name, states,
                      states == 1 ? "" : "s", states == 1 ? "h" : "h and c");
  int mask = layer_input_mask(c, 0);
  int out[3];
  const char *cell = p->cell_name[0] ? p->cell_name : cells[p->cell];
  int n_out = rnn_lower_one(c, p, in[0], cell, p->go_backwards, init, mask, out, st);
  if (n_out < 0) return -1;
  layer_set_output_mask(c, p->return_sequences ? mask : -1);
  if (p->return_state)
    for (int k = 1; k < n_out; k++)
      if (layer_set_extra_output(c, k, out[k], st) < 0) return -1;
  return layer_activity_regularizer(c, out[0], st);
}

/* RNN(cell): Keras 3's generic layer around one cell object; its keys
 * (return_sequences, ...) are the layer's, the rest the cell's. */
int rnn_parse_generic(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                      rnn_config *out) {
  char path[NNC_PATH_MAX], cell_path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, "cell");
  const cJSON *cell = spec_child(cfg, "cell");
  const char *cls = spec_class_name(cell);
  char n[64];
  int kind = -1;
  if (cls && spec_normalize(cls, n, sizeof n)) {
    if (!strcmp(n, "lstmcell")) kind = NNC_RNN_LSTM;
    if (!strcmp(n, "grucell")) kind = NNC_RNN_GRU;
    if (!strcmp(n, "simplernncell")) kind = NNC_RNN_SIMPLE;
  }
  if (kind < 0)
    return spec_fail(ctx, path,
                     "the RNN layer is supported with one SimpleRNNCell, LSTMCell or GRUCell, got "
                     "%s (a list of cells or StackedRNNCells is not supported yet)",
                     cls ? cls : "no cell class");
  spec_path_key(cell_path, path, "config");
  const cJSON *cc = spec_child(cell, "config");
  int rc = rnn_parse_config(ctx, cc, cell_path, (nnc_rnn_cell)kind, out);
  if (rc) return rc;
  static const char *const defaults[] = {"simple_rnn_cell", "lstm_cell", "gru_cell"};
  const cJSON *name = spec_child(cc, "name");
  nnc_strlcpy(out->cell_name, cJSON_IsString(name) ? name->valuestring : defaults[kind],
              sizeof out->cell_name);
  int flag;
  if ((rc = spec_get_bool(ctx, cfg, cfg_path, "return_sequences", 0, &out->return_sequences)) ||
      (rc = spec_get_bool(ctx, cfg, cfg_path, "return_state", 0, &out->return_state)) ||
      (rc = spec_get_bool(ctx, cfg, cfg_path, "go_backwards", 0, &out->go_backwards)) ||
      (rc = spec_get_bool(ctx, cfg, cfg_path, "unroll", 0, &flag)) ||
      (rc = spec_get_bool(ctx, cfg, cfg_path, "stateful", 0, &flag)))
    return rc;
  if (flag) {
    spec_path_key(path, cfg_path, "stateful");
    return spec_fail(ctx, path,
                     "a stateful recurrent layer (state kept across batches) is not supported");
  }
  spec_path_key(path, cfg_path, "activity_regularizer"); /* the layer's, not the cell's */
  if ((rc = spec_parse_regularizer(ctx, spec_child(cfg, "activity_regularizer"), path,
                                   &out->activity_reg)))
    return rc;
  return spec_get_bool(ctx, cfg, cfg_path, "zero_output_for_mask", 0, &out->zero_output_for_mask);
}
