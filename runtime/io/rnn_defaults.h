/* Recurrent-layer defaults that differ between the formats nnc reads and
 * writes (rnn_defaults.c): TF.js reads an absent LSTM/GRU
 * recurrent_activation as hard_sigmoid and an absent GRU reset_after as
 * false, Keras as sigmoid and true; Keras 3's hard_sigmoid is
 * relu6(x + 3) / 6, Keras 2's and TF.js's clip(0.2 x + 0.5, 0, 1). A writer
 * of one format spells out what the model was read with. */
#ifndef NNC_RNN_DEFAULTS_H
#define NNC_RNN_DEFAULTS_H

#include <cjson/cJSON.h>

#include "nnc.h"

typedef enum { SPEC_KERAS2 = 0, SPEC_KERAS3 = 1, SPEC_TFJS = -1 } spec_origin;

/* The format nnc's spec parser reads a text as (spec_parse.c: guess_format):
 * root the parsed text, model the model config inside it. */
spec_origin spec_origin_of(const cJSON *root, const cJSON *model);

/* For writing a TF.js topology from a Keras spec: every LSTM/GRU (and
 * cell, at any depth under model) gets recurrent_activation "sigmoid" when
 * absent; a GRU with reset_after true or absent (TF.js computes only the
 * reset-before form) and, from a Keras 3 spec, any hard_sigmoid activation
 * (no TF.js form) are refused, naming the layer. Every activation is
 * written as TF.js's string for it ("silu" as "swish", a function object
 * as its name); one TF.js lacks, and hard_sigmoid outside recurrent layers
 * (Keras 3's in nnc from every format), are refused. */
int rnn_defaults_for_tfjs(cJSON *model, spec_origin from, nnc_status *st);

/* For writing a Keras config from a TF.js model: every LSTM/GRU (and cell)
 * gets recurrent_activation "hard_sigmoid" and a GRU reset_after false when
 * absent, TF.js's defaults, which nnc read it with. */
void rnn_defaults_from_tfjs(cJSON *model);

#endif
