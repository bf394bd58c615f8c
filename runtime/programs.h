/* runtime — the programs a model keeps for the data shapes it has seen
 * (programs.c). A model with None axes (a sequence length, an image size)
 * is compiled once per distinct shape of its data; every program shares the
 * model's weights, optimizer slots and iteration count, so switching
 * between them is only a pointer swap. */
#ifndef NNC_PROGRAMS_H
#define NNC_PROGRAMS_H

#include "nnc.h"
#include "nnc_program.h"

struct nnc_model;

/* What a program was built for: the build request's shapes and flags.
 * shapes: n_inputs, then n_outputs targets, then n_outputs sample weights. */
typedef struct program_key {
  nnc_sample_shape *shapes;
  int n_shapes;
  int accumulate_f64, check_numerics, outputs_in_train;
} program_key;

/* A kept program and the model state that goes with it (its shapes). */
typedef struct model_program {
  const nnc_program_table *t;
  program_key key;
  nnc_sample_shape *in_shapes, *tgt_shapes, *sw_shapes; /* as the model's, when it was current */
  int *tgt_known;
} model_program;

/* A key for a build request (copies the shapes). */
int program_key_make(const nnc_build_request *req, program_key *out, nnc_status *st);
void program_key_free(program_key *k);

/* The kept program built for req: its index, or -1. With loose_targets,
 * outputs whose target is unknown in req (rank -1) match any target: data
 * without targets (predict) runs on any program for its inputs. */
int programs_find(const struct nnc_model *m, const nnc_build_request *req, int loose_targets);

/* How many programs a model keeps besides its current one (m->kept_max 0):
 * data of ever new shapes (thousands of sequence lengths) would otherwise
 * keep a compiled program each, about half a megabyte for a small LSTM. The
 * least recently used one goes; its shape compiles again when it returns. */
#define PROGRAMS_KEPT_MAX 16

/* Keep the model's current program (m->t, m->key and its shapes) for later
 * and leave the model without one; beyond the limit, the least recently
 * used kept program is released. */
int programs_keep_current(struct nnc_model *m, nnc_status *st);

/* Make kept program i current (keeping the current one). */
int programs_switch(struct nnc_model *m, int i, nnc_status *st);

/* Release every kept program (a new compile config or code generation
 * makes them stale); the current one stays. */
void programs_clear(struct nnc_model *m);

/* 1 when table b reads and writes the same weights and slots as a: the same
 * variables at the same offsets. */
int programs_same_variables(const nnc_program_table *a, const nnc_program_table *b);

#endif
