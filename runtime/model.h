/* runtime — internal state of a model (what nnc_model points to). */
#ifndef NNC_MODEL_H
#define NNC_MODEL_H

#include "compiler/compile.h"
#include "compiler/spec/spec.h"
#include "nnc.h"

struct nnc_model {
  nnc_spec spec;
  uint64_t seed;
  int built;
  nnc_spec_shape x_inner, y_inner; /* the shapes it was compiled for */
  int y_known;                     /* y_inner came from data */
  int accumulate_f64;              /* nnc_model_set_accumulation */
  int check_numerics;              /* nnc_model_set_check_numerics */
  nnc_compiled compiled;
  float *params, *slots; /* prog.params_floats, prog.slots_floats */
  int64_t iterations;    /* optimizer steps taken (Keras optimizer.iterations) */
  int weights_changed;   /* trained, set or loaded since the seed drew them */
  double learning_rate;
  /* workspace, grown on demand; a step never allocates */
  float *fixed, *batch, *stats, *x_batch, *y_batch;
  int64_t fixed_cap, batch_cap, xb_cap, yb_cap;
  struct nnc_pool *pool; /* NULL: one thread */
  /* check-numerics mode: the state before the step being checked */
  float *saved_params, *saved_slots;
  int64_t saved_params_cap, saved_slots_cap, saved_iterations;
};

/* Compile (or recompile for new target shapes) keeping weights and slots. */
int model_ensure_built(nnc_model *m, const nnc_array *x, const nnc_array *y, nnc_status *st);

/* Initial values of every parameter from (seed, layer, weight, element). */
int model_init_weights(nnc_model *m, nnc_status *st);

/* Data as the kernels read it: float32 rows. */
typedef struct model_data {
  int64_t n;            /* samples */
  int64_t x_row, y_row; /* floats per sample */
  float *x, *y;         /* owned copies (float32) */
} model_data;

int model_data_prepare(const nnc_model *m, const nnc_array *x, const nnc_array *y, model_data *d,
                       nnc_status *st);
void model_data_free(model_data *d);

int model_reserve(nnc_model *m, int64_t rows, nnc_status *st);

/* Run one step of graph `which` on rows [rows) gathered by idx (NULL: contiguous
 * from `first`). Leaves the batch's statistics in m->stats. */
int model_run_step(nnc_model *m, int which, const model_data *d, const int64_t *idx, int64_t first,
                   int64_t rows, float *out, nnc_status *st);

/* Check-numerics mode (runtime/check_numerics.c), around each train step:
 * before it, refuse a batch, weight or optimizer slot that is not finite and
 * save the weights, slots and iteration count; after it, scan every node's
 * output in topological order and, at the first one that is not finite,
 * restore the saved state and fail with NNC_ERR_NUMERICS naming it. */
int numerics_before_step(nnc_model *m, const float *x, const float *y, int64_t rows,
                         const int64_t *idx, int64_t first, nnc_status *st);
int numerics_after_step(nnc_model *m, int64_t rows, nnc_status *st);

#endif
