/* The recurrent layers SimpleRNN, LSTM, GRU (simple_rnn.c, lstm.c, gru.c)
 * and Bidirectional (bidirectional.c) share this: the config of one
 * recurrent layer and its lowering to a projection GEMM and one RNN op. */
#ifndef NNC_LAYERS_RNN_LAYER_H
#define NNC_LAYERS_RNN_LAYER_H

#include "compiler/layers/layer.h"

typedef struct rnn_config {
  char name[NNC_NAME_MAX]; /* the layer's name (Bidirectional: the inner layer's) */
  nnc_rnn_cell cell;
  int64_t units;
  nnc_activation activation, recurrent_activation;
  int keras2_hard_sigmoid; /* Keras 2 / tfjs files: hard_sigmoid is clip(0.2 x + 0.5) */
  int use_bias, unit_forget_bias, reset_after;
  nnc_spec_init kernel_init, recurrent_init, bias_init;
  nnc_spec_regularizer kernel_reg, recurrent_reg, bias_reg, activity_reg;
  nnc_spec_constraint kernel_con, recurrent_con, bias_con;
  int return_sequences, return_state, go_backwards;
  int zero_output_for_mask; /* masked steps output zeros (Bidirectional forces return_sequences) */
  double dropout, recurrent_dropout; /* train phase only; GRU ignores recurrent_dropout (Keras 3) */
  char cell_name[NNC_NAME_MAX];      /* the RNN layer's cell's name; "": the class's default */
} rnn_config;

/* Read a SimpleRNN/LSTM/GRU config object (cfg may be NULL: defaults). */
int rnn_parse_config(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_rnn_cell cell,
                     rnn_config *out);
/* The cell kind of a class name (LSTM, GRU, SimpleRNN), or -1. */
int rnn_cell_of_class(const char *class_name);

/* One recurrent layer on x [B, T, F] with its weights under `scope`
 * ("lstm_cell", "forward_lstm/lstm_cell"), going backwards when `backwards`,
 * initial states init[k] (-1: zeros), mask [B, T] or -1. out[0]: the output
 * (the whole sequence [B, T, n] in processed order, or the last h [B, n]);
 * out[1..]: the final states h (and c). Returns the number of outputs
 * (1 + states), -1 on error. */
int rnn_lower_one(layer_call *c, const rnn_config *p, int x, const char *scope, int backwards,
                  const int *init, int mask, int *out, nnc_status *st);

/* The generic RNN layer's config: one SimpleRNNCell, LSTMCell or GRUCell. */
int rnn_parse_generic(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, rnn_config *out);

/* The lower hook of SimpleRNN, LSTM, GRU and RNN (params: an rnn_config). */
int rnn_layer_lower(layer_call *c, const int *in, int n_in, nnc_status *st);

#endif
