/* nnc_program.h — the program boundary between a compiler and the runtime.
 *
 * A compiled model is a *program table*: plain C data (no compiler type)
 * that lists what crosses the boundary — the model's inputs, targets and
 * outputs, its variables, statistics, log keys, summary rows, warnings —
 * and the entry points (train, test, predict steps) with the workspace each
 * needs. The runtime (libnnc_runtime) reads only this table. Today the
 * compiler JIT-compiles the steps and fills the table in memory
 * (compiler/driver); an ahead-of-time object exports the same table, and a
 * host may write one by hand (tests/unit/runtime_host.c does).
 *
 * A compiler plugs into a runtime model through a *builder* (nnc_builder):
 * function pointers and a context that describe the model before it is
 * built, build a table for given data shapes, release it, take a new
 * compile config, and free the context.
 *
 * Everything here is read-only for the runtime; strings and arrays belong to
 * whoever made the table and stay valid until it is released. */
#ifndef NNC_PROGRAM_H
#define NNC_PROGRAM_H

#include <stdint.h>

#include "nnc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The public API: the libraries are built with hidden visibility and only
 * these declarations are exported (tests/cli/test_runtime_link.sh). */
#pragma GCC visibility push(default)

/* Raised when a field changes meaning; the runtime refuses other versions. */
#define NNC_PROGRAM_VERSION 4

/* ---- calling convention of a step ----
 * regions[NNC_REGION_PARAMS] all variables (trainable and state), at their offsets
 * regions[NNC_REGION_SLOTS]  optimizer slots, at their offsets
 * regions[NNC_REGION_STATS]  one float per statistic (the step overwrites them)
 * regions[NNC_REGION_FIXED]  workspace of fixed_floats
 * regions[NNC_REGION_BATCH]  workspace of batch_floats_per_row x rows
 *                            (params, slots and both workspaces run fastest
 *                            64-byte aligned, as the runtime allocates them:
 *                            fixed buffers start on 64-byte lines, and two
 *                            threads then never write one line; any
 *                            alignment of a float gives the same results)
 * regions[NNC_REGION_SCRATCH] scratch_floats x nthreads floats, 64-byte aligned
 *                            for speed: thread tid packs matrix operands in
 *                            floats [tid x scratch_floats, (tid + 1) x
 *                            scratch_floats) (NULL when scratch_floats is 0)
 * regions[NNC_REGION_IO + k]                          input k, rows x its row
 * regions[NNC_REGION_IO + n_inputs + j]               target j
 * regions[NNC_REGION_IO + n_inputs + n_targets + k]   output k (predict; also train
 *                                                     and test when outputs_in_train)
 * regions[NNC_REGION_IO + n_inputs + n_targets + n_outputs + j]  sample weights j
 * scalars[0] learning rate, scalars[1] optimizer step (iterations + 1),
 * scalars[2] rows, all as float. Every thread of a step calls it with its
 * tid in [0, nthreads); the step calls barrier(barrier_ctx) between phases
 * (one thread: tid 0, nthreads 1, any barrier). rng keys dropout masks.
 * A barrier_ctx whose first 8 bytes are nnc's pool tag ("nnccpool") is taken
 * for nnc's pool by a step compiled with strip claims (the default since
 * session 18; NNC_STRIP_STEAL=0 compiles none), which then writes its strip
 * claims from byte 64 on: a host's own context must not start so, and a
 * non-NULL one must have 8 readable bytes. */
enum {
  NNC_REGION_PARAMS = 0,
  NNC_REGION_SLOTS = 1,
  NNC_REGION_STATS = 2,
  NNC_REGION_FIXED = 3,
  NNC_REGION_BATCH = 4,
  NNC_REGION_SCRATCH = 5,
  NNC_REGION_IO = 6
};
enum { NNC_SCALAR_LR, NNC_SCALAR_T, NNC_SCALAR_BATCH, NNC_SCALAR_COUNT };

typedef void (*nnc_step_fn)(float **regions, const float *scalars, int64_t rows, uint64_t rng,
                            int64_t tid, int64_t nthreads, void (*barrier)(void *),
                            void *barrier_ctx);

/* The entry points, in this order in nnc_program_table.entries. */
enum { NNC_ENTRY_TRAIN, NNC_ENTRY_TEST, NNC_ENTRY_PREDICT, NNC_ENTRY_COUNT };

typedef struct nnc_entry {
  nnc_step_fn fn;               /* NULL: absent (train/test without a compile config) */
  int64_t fixed_floats;         /* size of regions[NNC_REGION_FIXED] it needs */
  int64_t batch_floats_per_row; /* regions[NNC_REGION_BATCH] needs this x rows */
  /* With fewer rows the runtime calls the step on one thread without waking
   * the others: below it either every phase would run on thread 0 alone, or
   * the whole step is too little work to pay for a second thread (the same
   * results either way). 0 (a table that does not say): always run it on
   * every thread. */
  int64_t parallel_rows;
  /* Per thread, a multiple of 16: regions[NNC_REGION_SCRATCH] needs this x
   * nthreads floats. The kernels keep their packed operands there, not on
   * the stack, so a thread running a step needs little stack of its own. */
  int64_t scratch_floats;
  /* From parallel_rows up to this many rows (exclusive) the runtime may run
   * the step either way, on the pool or on the calling thread, whichever it
   * measured faster lately (runtime/step_tuner.h); from here on always on
   * the pool. At most parallel_rows (0 included): no such band. Version 4,
   * last so that a table written with positional initialisers for version 3
   * leaves it 0. */
  int64_t sure_rows;
} nnc_entry;

/* ---- data crossing the boundary ---- */
typedef struct nnc_io_desc {
  const char *name;            /* input layer name; output layer name; target: its output's */
  nnc_dtype dtype;             /* of the rows the step reads or writes: NNC_F32 today */
  int rank;                    /* per sample (the batch axis not counted) */
  int64_t shape[NNC_MAX_RANK]; /* per sample */
  int64_t classes;             /* a target of a sparse categorical loss: labels in [0, classes);
                                  an input feeding an Embedding: indices in [0, classes) */
  int output;                  /* a target: the index of its output; else -1 */
  int has_ignore_class;        /* a sparse target whose loss has ignore_class: that label is */
  int64_t ignore_class;        /* accepted too (Keras masks it out of the loss) */
} nnc_io_desc;

/* ---- variables ---- */
typedef enum nnc_var_kind {
  NNC_VAR_TRAINABLE, /* in regions[PARAMS]; has a gradient and an update */
  NNC_VAR_STATE,     /* in regions[PARAMS]; no gradient (non-trainable weights) */
  NNC_VAR_SLOT /* in regions[SLOTS]; optimizer state, starts at its init (zeros or CONSTANT) */
} nnc_var_kind;

/* How a variable's initial values are drawn (Keras's initializers). */
typedef enum nnc_init_rule {
  NNC_INITIALIZER_ZEROS,
  NNC_INITIALIZER_ONES,
  NNC_INITIALIZER_CONSTANT,         /* value */
  NNC_INITIALIZER_RANDOM_UNIFORM,   /* minval, maxval */
  NNC_INITIALIZER_RANDOM_NORMAL,    /* mean, stddev */
  NNC_INITIALIZER_TRUNCATED_NORMAL, /* mean, stddev; redrawn beyond 2 stddev */
  NNC_INITIALIZER_VARIANCE_SCALING, /* scale, fan, distribution (glorot, he, lecun) */
  NNC_INITIALIZER_ORTHOGONAL,       /* gain: Q of the QR of a normal matrix, sign-fixed */
  NNC_INITIALIZER_IDENTITY,         /* gain on the diagonal of a matrix */
  NNC_INITIALIZER_UNIT_FORGET_BIAS  /* 1 on the second quarter (LSTM's forget gate), else 0 */
} nnc_init_rule;
typedef enum nnc_init_fan { NNC_FAN_MODE_IN, NNC_FAN_MODE_OUT, NNC_FAN_MODE_AVG } nnc_init_fan;
typedef enum nnc_init_distribution {
  NNC_DISTRIBUTION_UNIFORM,
  NNC_DISTRIBUTION_TRUNCATED_NORMAL,
  NNC_DISTRIBUTION_UNTRUNCATED_NORMAL
} nnc_init_distribution;

typedef struct nnc_initializer {
  nnc_init_rule rule;
  double value, minval, maxval, mean, stddev, scale;
  nnc_init_fan fan;
  nnc_init_distribution distribution;
  int has_seed; /* 1: the same values wherever it is used (seed); 0: a stream per variable */
  int64_t seed;
  double gain; /* ORTHOGONAL, IDENTITY */
} nnc_initializer;

typedef struct nnc_variable {
  const char *name;   /* Keras name: "dense_1/kernel"; slots: "dense_1/kernel/m" */
  const char *layer;  /* "dense_1" (NULL for a slot) */
  const char *weight; /* "kernel" (NULL for a slot) */
  nnc_var_kind kind;
  int rank;
  int64_t shape[NNC_MAX_RANK];
  int64_t offset, count; /* in floats within its region */
  nnc_initializer init;  /* slots: ZEROS, or CONSTANT (Adagrad's accumulator 0.1) */
  /* a slot holding the moving average (use_ema) of the variable of this
   * name; NULL otherwise. At the end of fit the runtime copies it into that
   * variable (Keras's finalize_variable_values). */
  const char *average_of;
} nnc_variable;

/* ---- statistics and log keys ---- */
typedef enum nnc_stat_reduction {
  NNC_REDUCE_LOSS,     /* batch loss L_b: the epoch value is sum(n_b L_b) / sum(n_b) */
  NNC_REDUCE_MEAN_SUM, /* sum over the batch of per-sample values: / sum(n_b) */
  NNC_REDUCE_COUNT_SUM /* counts summed over the epoch (confusion counts) */
} nnc_stat_reduction;

typedef enum nnc_log_result {
  NNC_LOG_MEAN,      /* stat[0]'s epoch value */
  NNC_LOG_PRECISION, /* stat[0] / (stat[0] + stat[1]): TP, FP */
  NNC_LOG_RECALL,    /* stat[0] / (stat[0] + stat[1]): TP, FN */
  /* the stateful metrics (docs/metrics.md); each reads its block of
   * statistics [first_stat, first_stat + n_stats) and its args */
  NNC_LOG_RATIO,      /* stat[0] / stat[1] (a Mean: total, count); 0 when the count is 0 */
  NNC_LOG_SQRT_RATIO, /* sqrt(stat[0] / stat[1]) (RootMeanSquaredError) */
  NNC_LOG_VALUE,      /* stat[0] (TruePositives, ...) */
  /* AUC and the *At* metrics read per-bucket weighted counts of positives
   * then of negatives, [L][T] each (Keras's evenly-spaced-thresholds
   * buckets); tp, fp, tn, fn at threshold t are their sums over buckets >= t */
  NNC_LOG_AUC,   /* args T, L (multi_label labels, else 1), curve (0 ROC, 1 PR), summation */
  NNC_LOG_AT,    /* args T, which (0 SensitivityAtSpecificity, 1 SpecificityAtSensitivity,
                    2 PrecisionAtRecall, 3 RecallAtPrecision), value */
  NNC_LOG_FBETA, /* block tp, fp, fn, support [C] each; args C, beta, average (0 micro,
                   1 macro, 2 weighted, 3 none), the class this key reports (none) */
  NNC_LOG_R2,    /* block sum, squared_sum, residual, count [C] each, then num_samples; args C,
                    class_aggregation (0 uniform, 1 variance weighted, 2 none), num_regressors,
                    the class this key reports (none) */
  NNC_LOG_IOU    /* block confusion [C][C] (rows true, columns predicted); args C, then the
                    target classes */
} nnc_log_result;

/* Keras's `_direction` of the metric behind a log key: what mode="auto"
 * of EarlyStopping, ReduceLROnPlateau and ModelCheckpoint follows
 * (runtime/callbacks/monitor.c). Loss trackers ("loss", "out_a_loss") and
 * metrics Keras gives no direction (TruePositives, custom expressions) are
 * UNKNOWN; a table made without the field reads UNKNOWN. */
typedef enum nnc_log_direction {
  NNC_LOG_DIRECTION_UNKNOWN = 0,
  NNC_LOG_DIRECTION_UP,  /* higher is better: accuracy, AUC, precision, R2, IoU... */
  NNC_LOG_DIRECTION_DOWN /* lower is better: errors, crossentropies, any loss as a metric */
} nnc_log_direction;

typedef struct nnc_log_key {
  const char *name; /* "loss" (always first), "accuracy", "out_a_loss", ... */
  nnc_log_result result;
  int stat[2]; /* indices into the statistics (stat[1] unused for a mean) */
  /* version 2: the block of statistics and the parameters of the rules
   * after NNC_LOG_RECALL (docs/metrics.md lists each layout) */
  int first_stat, n_stats;
  int n_args;
  const double *args;
  nnc_log_direction direction; /* added in version 2: 0 (UNKNOWN) where not set */
} nnc_log_key;

/* ---- learning-rate schedules (Keras's LearningRateSchedule classes) ----
 * Evaluated by the runtime in float32 at every step from the optimizer's
 * iteration count, as Keras does: no recompilation. */
typedef enum nnc_schedule_kind {
  NNC_SCHEDULE_CONSTANT, /* learning_rate: no schedule */
  NNC_SCHEDULE_EXPONENTIAL_DECAY,
  NNC_SCHEDULE_PIECEWISE_CONSTANT,
  NNC_SCHEDULE_INVERSE_TIME,
  NNC_SCHEDULE_POLYNOMIAL,
  NNC_SCHEDULE_COSINE, /* with warmup */
  NNC_SCHEDULE_COSINE_RESTARTS
} nnc_schedule_kind;

typedef struct nnc_schedule {
  nnc_schedule_kind kind;
  double initial_learning_rate, decay_steps, decay_rate, end_learning_rate, power, alpha;
  double warmup_target, warmup_steps, t_mul, m_mul; /* warmup_target NaN: none */
  int staircase, cycle;
  int n_boundaries;
  const double *boundaries; /* n_boundaries */
  const double *values;     /* n_boundaries + 1 */
} nnc_schedule;

/* ---- summary, numerics probes ---- */
typedef struct nnc_summary_row {
  const char *name, *class_name; /* "dense_1", "Dense" */
  int rank;                      /* of the output, batch axis included */
  int64_t shape[NNC_MAX_RANK];   /* shape[0] is the batch (printed as None) */
  int64_t params, trainable;     /* trainable <= params */
  const char *connected;         /* Functional "Connected to" text; NULL: none */
} nnc_summary_row;

/* A value of the train step the runtime scans for NaN/inf in check-numerics
 * mode, in topological order: the first non-finite one is named. */
typedef struct nnc_probe {
  const char *label; /* "dense_1/matmul", "grad dense_1/relu" */
  const char *op;    /* "matmul", "relu" */
  const char *layer; /* "dense_1"; NULL if none */
  int region;        /* NNC_REGION_FIXED or NNC_REGION_BATCH */
  int64_t offset;    /* in floats (per row for NNC_REGION_BATCH: offset x rows) */
  int64_t count;     /* values (per row when batched) */
  int batched;       /* 1: count x rows values */
} nnc_probe;

/* ---- the table ---- */
typedef struct nnc_program_table {
  int version; /* NNC_PROGRAM_VERSION */
  const char *model_name;
  int functional; /* 1: the graph is not a chain: the summary has "Connected to" */
  int n_inputs, n_targets, n_outputs;
  const nnc_io_desc *inputs, *targets, *outputs;
  int n_variables; /* trainable and state first (weights, in Keras order), then slots */
  const nnc_variable *variables;
  int64_t params_floats, slots_floats; /* sizes of regions[PARAMS], regions[SLOTS] */
  int n_stats;
  const nnc_stat_reduction *stats;
  int n_log_keys;
  const nnc_log_key *log_keys;
  int n_summary_rows;
  const nnc_summary_row *summary;
  int n_warnings; /* what Keras would print (from_logits on a softmax output, ...) */
  const char *const *warnings;
  double learning_rate; /* the optimizer's initial one */
  nnc_entry entries[NNC_ENTRY_COUNT];
  int n_probes; /* check-numerics mode only; else 0 */
  const nnc_probe *probes;
  /* version 2 */
  nnc_schedule schedule;             /* the optimizer's learning rate; CONSTANT: learning_rate */
  int n_sample_weights;              /* one per output trained with sample weights */
  const nnc_io_desc *sample_weights; /* .output: its output; shape: per sample */
  int outputs_in_train;              /* 1: train and test steps also write the outputs */
} nnc_program_table;

/* ---- the builder: how a compiler plugs into a runtime model ---- */

/* A per-sample shape; rank -1: unknown (an input) or none (no target). */
typedef struct nnc_sample_shape {
  int rank;
  int64_t dims[NNC_MAX_RANK];
} nnc_sample_shape;

typedef struct nnc_build_request {
  int n_inputs; /* one per model input, in order */
  const nnc_sample_shape *inputs;
  int n_targets; /* one per model OUTPUT, in order */
  const nnc_sample_shape *targets;
  int accumulate_f64; /* matmul sums in float64 */
  int check_numerics; /* train step unfused, every value kept, probes listed */
  /* version 2: one per model OUTPUT; rank -1: no sample weights for it,
   * 0: one per sample, k: per sample shaped dims (timesteps) */
  const nnc_sample_shape *sample_weights;
  int outputs_in_train; /* train/test steps also write the outputs (host metrics) */
} nnc_build_request;

/* What the runtime can know before building. Pointers stay valid until the
 * next set_compile_config or free. */
typedef struct nnc_model_description {
  const char *source; /* names the model in messages ("spec.json") */
  const char *name;   /* the model's name */
  int n_inputs, n_outputs;
  const char *const *input_names;
  const char *const *output_names;
  int declares_inputs;  /* 1: every input shape is known: building needs no data */
  int has_compile;      /* 1: a compile config (loss, optimizer): train/test exist */
  double learning_rate; /* the compile config's initial one */
  /* version 2: the spec's "callbacks" list as JSON text (NULL: none), and
   * its JSON path for messages ("$.callbacks") */
  const char *callbacks_json;
  const char *callbacks_path;
  /* the optimizer's learning-rate schedule (CONSTANT: none), known before
   * the first build: a schedule makes the learning rate read-only */
  nnc_schedule schedule;
} nnc_model_description;

typedef struct nnc_builder {
  void *ctx;
  int (*describe)(void *ctx, nnc_model_description *out, nnc_status *st);
  /* A table for these data shapes; *out stays valid until release. */
  int (*build)(void *ctx, const nnc_build_request *req, const nnc_program_table **out,
               nnc_status *st);
  void (*release)(void *ctx, const nnc_program_table *table);
  /* Replace the compile config (Keras's compile_config JSON); NULL: unsupported. */
  int (*set_compile_config)(void *ctx, const char *json, nnc_status *st);
  void (*free)(void *ctx); /* NULL: nothing to free */
  /* Called once, after the first build has drawn the initial weights: a
   * saved model's loader sets the file's weights here (a model without
   * declared inputs builds with its first data). NULL: nothing to do. */
  int (*first_built)(void *ctx, nnc_model *m, nnc_status *st);
} nnc_builder;

/* A runtime model driven by a builder; the model owns the builder's context
 * from then on (also on failure). It is built right away when the
 * description says the inputs are declared. */
int nnc_model_from_builder(const nnc_builder *builder, nnc_model **out, nnc_status *st);

/* A runtime model over a fixed table (hand-written or ahead-of-time): it
 * cannot be rebuilt for other shapes. The table must outlive the model. */
int nnc_model_from_table(const nnc_program_table *table, nnc_model **out, nnc_status *st);

/* The model's current table (NULL before it is built). */
const nnc_program_table *nnc_model_table(const nnc_model *m);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
