/* runtime — internal state of a model (what nnc_model points to). The
 * runtime knows a model only through its program table and builder
 * (include/nnc_program.h); it includes nothing of the compiler. */
#ifndef NNC_MODEL_H
#define NNC_MODEL_H

#include <stdio.h>

#include "nnc.h"
#include "nnc_program.h"
#include "runtime/step_tuner.h"
#include "runtime/programs.h"

struct nnc_model {
  nnc_builder builder;        /* fn pointers NULL: a fixed table (nnc_model_from_table) */
  nnc_model_description desc; /* from builder.describe */
  const nnc_program_table *t; /* the built program; NULL before */
  uint64_t seed;
  int built;
  /* the per-sample shapes it was built for: one per input, one per output
   * (rank -1: no target known) */
  nnc_sample_shape *in_shapes, *tgt_shapes;
  int *tgt_known; /* per output: its target shape came from data (else the builder's default) */
  /* what t was built for, and the programs built for other data shapes
   * (None axes), kept to be reused: all share params, slots, iterations */
  program_key key;
  model_program *kept;
  int n_kept;
  int kept_max; /* programs kept besides t (least recently used dropped); 0: PROGRAMS_KEPT_MAX */
  int accumulate_f64;    /* nnc_model_set_accumulation */
  int check_numerics;    /* nnc_model_set_check_numerics */
  float *params, *slots; /* t->params_floats, t->slots_floats */
  int64_t iterations;    /* optimizer steps taken (Keras optimizer.iterations) */
  int weights_changed;   /* trained, set or loaded since the seed drew them */
  double learning_rate;
  /* workspace, grown on demand; a step never allocates */
  float *fixed, *batch, *stats;
  int64_t fixed_cap, batch_cap;
  /* regions[NNC_REGION_SCRATCH]: the threads' slices, 64-byte aligned */
  float *scratch;
  int64_t scratch_cap;
  float **gathered; /* one per input and target: shuffled rows */
  int64_t *gathered_cap;
  int n_gathered;
  struct nnc_pool *pool; /* NULL: one thread */
  /* steps in a table's tuned band: pool or one thread by timing, per entry
   * (step_tuner.h); no_thread_tuning: always the pool there */
  step_tuner tuners[NNC_ENTRY_COUNT];
  int no_thread_tuning;
  /* steps on the pool whose threads gathered the next batch in their waits
   * (step.c: idle_gather; tests read it) */
  long gathered_on_pool;
  /* check-numerics mode: the state before the step being checked */
  float *saved_params, *saved_slots;
  int64_t saved_params_cap, saved_slots_cap, saved_iterations;
  /* sample weights the model was built for, one per output (rank -1: none;
   * 0: one per sample; k: per sample shaped dims) */
  nnc_sample_shape *sw_shapes;
  float *ones; /* weights of 1 for a weighted table fed data without weights */
  int64_t ones_cap;
  /* ---- fit state seen by callbacks (docs/fit.md) ---- */
  int stop_training; /* nnc_model_stop_training; fit clears it before on_train_begin */
  int resume_epoch;  /* -1; a callback's on_train_begin may set the epoch fit starts at */
  /* set by a callback's on_train_begin (BackupAndRestore): the History of the
   * epochs before resume_epoch, copied by the History callback into the
   * history fit returns. Owned by the callback that set it. */
  nnc_history *history_prefix;
  struct {
    int epochs, verbose; /* as fit was called */
    int64_t steps;       /* batches per epoch (the progress bar's target) */
    void *progress;      /* FILE * of the progress output */
  } fit;
  char **run_warnings; /* what callbacks warned during fit, after the table's */
  int n_run_warnings;
  /* host metrics (runtime/host_metrics.c) and, when the table has
   * outputs_in_train, the outputs of a train/test batch (one per output) */
  struct host_metric *host_metrics;
  int n_host_metrics;
  float **host_outs;
  int64_t *host_outs_cap;
  int n_host_outs;
  /* ---- the per-call path (runtime/step_bind.c) ---- */
  uint64_t build_gen; /* counts every rebuild, recompile or program switch */
  /* model_reserve was done for rows rows of table reserved_t at build_gen reserved_gen */
  const nnc_program_table *reserved_t;
  uint64_t reserved_gen;
  int64_t reserved_rows;
  struct step_binding *bind; /* the last on-batch call's arrays, or NULL */
};

/* Build (or rebuild for new data shapes) keeping weights and slots. x: one
 * array per input (NULL: the shapes it has); y: one per output (NULL: the
 * targets it has; an entry of rank 0: none for that output). */
int model_ensure_built_multi(nnc_model *m, int n_x, const nnc_array *x, int n_y, const nnc_array *y,
                             nnc_status *st);
int model_ensure_built(nnc_model *m, const nnc_array *x, const nnc_array *y, nnc_status *st);
/* As model_ensure_built_multi, for sample weights sw (one per output, rank
 * 0: none; NULL: none): rebuilds when data brings weights of a shape the
 * table was not built for. Data without weights keeps a weighted table (it
 * is fed weights of 1, which change nothing). */
int model_ensure_built_weighted(nnc_model *m, int n_x, const nnc_array *x, int n_y,
                                const nnc_array *y, const nnc_array *sw, nnc_status *st);

/* Initial values of every variable from (seed, layer, weight, element). */
int model_init_weights(nnc_model *m, nnc_status *st);

/* What messages call the model: its source file, or "model". */
const char *model_source(const nnc_model *m);

/* Data as the steps read it: the caller's arrays in place, never copied
 * whole nor written: one buffer per input, then one per target of the table
 * (none when no y was given). Float32 rows are handed to the step where
 * they lie (gathered when shuffled); other dtypes are converted one batch at
 * a time into the model's gather buffers (step.c: batch_rows). */
typedef struct model_data {
  int64_t n; /* samples */
  int n_bufs;
  int64_t *row;   /* values per sample */
  const void **v; /* the arrays' data (a validation split: offset into them) */
  nnc_dtype *dt;  /* their element types */
  int has_y;
  /* sample weights, one per model OUTPUT (w NULL: none; NULL: none at all);
   * the step feeds weights of 1 to a weighted table where one is NULL */
  int n_w;
  int64_t *w_row;
  const void **w;
  nnc_dtype *w_dt;
} model_data;

int model_data_prepare_multi(const nnc_model *m, int n_x, const nnc_array *x, int n_y,
                             const nnc_array *y, model_data *d, nnc_status *st);
/* Add sample weights to prepared data: sw holds one array per output (rank
 * 0: none), shaped (N,) or (N, dims...) with dims the output's per-sample
 * shape without its last axes (Keras's per-timestep weights). */
int model_data_add_weights(const nnc_model *m, const nnc_array *sw, model_data *d, nnc_status *st);
/* The checks of prepared data that depend on its values (class labels in
 * range, Embedding indices in range): model_data_prepare_multi runs them,
 * and so does every call that reuses a binding (runtime/step_bind.h). */
int model_data_check_values(const nnc_model *m, const nnc_array *x, const nnc_array *y,
                            const model_data *d, nnc_status *st);
int model_data_prepare(const nnc_model *m, const nnc_array *x, const nnc_array *y, model_data *d,
                       nnc_status *st);
/* A view of rows [first, first + n) of all (the same arrays, offset):
 * fit's validation split. Freed with model_data_free, all kept. */
int model_data_rows(const model_data *all, int64_t first, int64_t n, model_data *out,
                    nnc_status *st);
void model_data_free(model_data *d);

int model_reserve(nnc_model *m, int64_t rows, nnc_status *st);

/* Run entry `which` (NNC_ENTRY_*) on rows [rows) gathered by idx (NULL:
 * contiguous from `first`). outs: one buffer per model output (predict),
 * already offset to this batch. Leaves the batch's statistics in m->stats. */
int model_run_step(nnc_model *m, int which, const model_data *d, const int64_t *idx, int64_t first,
                   int64_t rows, float **outs, nnc_status *st);
/* The next batch of a fit, gathered by a pool worker while the step before
 * runs on the calling thread alone (step.c: run_step; docs/performance.md,
 * "Session 31: a gather worker"). The fit loop owns it for one fit, so
 * nothing gathered outlives the arrays it was read from. */
typedef struct batch_ahead {
  float **buf; /* slot k's buffer b at buf[k * n + b] (two slots) */
  int64_t *cap;
  int n;     /* buffers per slot: inputs, targets, sample weights */
  int ready; /* 1 + the slot holding rows idx[0 .. rows) of `d`; 0: none */
  const model_data *d;
  const int64_t *idx;
  int64_t rows;
  int64_t *idx_copy; /* idx's values when they were gathered */
  int64_t idx_cap;
  int mode; /* NNC_GATHER_AHEAD: 1 always, 0 never, -1 by size (step.c) */
} batch_ahead;

void batch_ahead_free(batch_ahead *a);

/* model_run_step (outs NULL) given the next batch's rows next[0 ..
 * next_rows) as well. A step on the calling thread alone, in a model with a
 * pool, has a worker gather them into `ahead` meanwhile (where that gains:
 * step.c, AHEAD_DATA_BYTES); else they are prefetched (fit_prefetch_rows, a
 * hint): on the pool's threads after the batch's copies, each the share it
 * will gather at the next step; on one thread, before the step. This batch
 * is taken from `ahead` if it is there (the bytes the step would copy). */
int model_run_step_ahead(nnc_model *m, int which, const model_data *d, const int64_t *idx,
                         int64_t first, int64_t rows, const int64_t *next, int64_t next_rows,
                         batch_ahead *ahead, nnc_status *st);

/* Check-numerics mode (runtime/check_numerics.c), around each train step:
 * before it, refuse a batch, weight or optimizer slot that is not finite and
 * save the weights, slots and iteration count; after it, scan the table's
 * probes in order and, at the first one that is not finite, restore the
 * saved state and fail with NNC_ERR_NUMERICS naming it. */
int numerics_before_step(nnc_model *m, float *const *data, int64_t rows, const int64_t *idx,
                         int64_t first, nnc_status *st);
int numerics_after_step(nnc_model *m, int64_t rows, nnc_status *st);

/* ---- issue 7 seams (each file owns one job) ---- */
/* The learning rate of the next train step: the schedule at the current
 * iteration count, or the constant rate (runtime/lr.c). */
double model_step_learning_rate(const nnc_model *m);
/* Keras's optimizer.finalize_variable_values at the end of fit: moving
 * averages (use_ema) copied into their variables (runtime/optimizer_state.c). */
int model_finalize_variable_values(nnc_model *m, nnc_status *st);
/* Every optimizer slot at its initial value (the table's init: zeros, or a
 * constant such as Adagrad's 0.1) (runtime/optimizer_state.c). */
void model_init_slots(nnc_model *m);

/* The optimizer's variables in Keras 3's order (BaseOptimizer.variables:
 * "iteration" int64, "learning_rate" float32 unless the rate is a schedule,
 * then per trainable weight its slots, "d_kernel_momentum",
 * "d_kernel_velocity", ...), named as the state file names them
 * (runtime/optimizer_state.c). Fails when the model is not built or has no
 * optimizer. */
struct nnc_tensor_set;
int model_optimizer_variables(const nnc_model *m, struct nnc_tensor_set *out, nnc_status *st);

/* The optimizer's variables set from set (names as above), all or nothing:
 * every variable must be there, of its shape, and nothing else. path names
 * the file in messages. */
int model_set_optimizer_variables(nnc_model *m, const char *path, const struct nnc_tensor_set *set,
                                  nnc_status *st);
/* Host metrics (runtime/host_metrics.c): reset at the start of an epoch or an
 * evaluation; updated after every train/test step with the step's IO regions
 * (inputs, targets, outputs, sample weights, as the step saw them); results
 * appended to logs with a prefix ("" or "val_"). */
void host_metrics_reset(nnc_model *m);
/* Output buffers of `rows` rows for train/test steps (model_reserve); freeing. */
int host_metrics_reserve(nnc_model *m, int64_t rows, nnc_status *st);
void host_metrics_free(nnc_model *m);
/* Recompile a built model for the shapes it has, keeping weights, slots and
 * the iteration count (model.c); nothing when not built. */
int model_rebuild(nnc_model *m, nnc_status *st);
void host_metrics_update(nnc_model *m, float *const *io_regions, int64_t rows);
int host_metrics_results(const nnc_model *m, const char *prefix, nnc_logs *logs, nnc_status *st);

/* Record a warning Keras would print during fit (a callback's monitored key
 * is missing, ...): nnc_model_warning lists it after the compiler's. The same
 * text is kept once, as Python's warnings filter shows it once. */
int model_warn(nnc_model *m, nnc_status *st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Keras 3's summary of a table (runtime/summary.c); NNC_ERR_NOMEM is its only error. */
int model_print_summary(const nnc_program_table *t, FILE *f, nnc_status *st);

/* A new timing round for every entry's step tuner (a new pool or program). */
void model_reset_tuners(nnc_model *m);

#endif
