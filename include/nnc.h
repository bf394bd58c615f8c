/* nnc — a graph-compiling model compiler for Keras model descriptions.
 *
 * Intended usage (see docs/examples/host.c for a complete program):
 *   1. nnc_model_load_file("spec.json", &model, &st)            parse; build now if the
 *                                                               spec has an input shape
 *   2. nnc_model_set_seed(model, seed, &st)                     initial weights, masks, shuffles
 *      nnc_model_load_weights(model, "w.safetensors", &st)      or start from saved weights
 *   3. nnc_model_fit(model, &x, &y, &fit_opts, &history, &st)   Keras 3's fit loop
 *   4. nnc_model_evaluate / nnc_model_predict / nnc_model_train_on_batch
 *   5. nnc_model_save_weights, nnc_logs_free, nnc_history_free, nnc_model_free
 * Every function returns NNC_OK (0) or an error code and fills a nnc_status
 * whose message names the file, the JSON path and what was expected.
 * Nothing in the library prints (except the fit progress bar, when asked)
 * or exits.
 *
 * Arguments: every function checks its arguments and returns NNC_ERR_ARG
 * for a bad one (a NULL pointer, a malformed nnc_array) instead of crashing.
 * Pointers may be NULL only where a comment says so; `st` may always be
 * NULL (then only the code is returned). A call that succeeds leaves `st`
 * as NNC_OK with an empty message. Structs the library fills (nnc_logs,
 * nnc_history) are checked for consistent counts when handed back; a host
 * that builds one itself must keep its arrays as large as its counts say. Accessors that return a
 * value instead of a code (nnc_model_threads, nnc_logs_get, ...) say what they return for NULL.
 *
 * Threads: separate models may be used from separate threads at the same
 * time. One model must not be used from two threads at once (not even two
 * read-only calls while a third trains): the library does not lock. The
 * calling thread runs a share of every step; the kernels keep their packed
 * operands in a per-thread scratch the model allocates (the table's
 * scratch_floats, nnc_program.h), not on the stack, so a thread of 512 KiB
 * runs a fit (tests/unit/test_stack18.c). */
#ifndef NNC_H
#define NNC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The public API: the libraries are built with hidden visibility and only
 * these declarations are exported (tests/cli/test_runtime_link.sh). */
#pragma GCC visibility push(default)

/* The release these headers belong to, "MAJOR.MINOR.PATCH". CMakeLists.txt
 * reads these three lines: the project's version, the shared libraries'
 * SONAME (libnnc.so.MAJOR.MINOR while MAJOR is 0), nnc.pc and the CMake package. */
#define NNC_VERSION_MAJOR 0
#define NNC_VERSION_MINOR 12
#define NNC_VERSION_PATCH 0
#define NNC_VERSION_STRING "0.12.0"
/* The version of the library linked at run time, to compare with the
 * headers' NNC_VERSION_STRING (a host built against other headers). */
const char *nnc_version(void);

typedef enum nnc_code {
  NNC_OK = 0,
  NNC_ERR_SPEC = 1,     /* the model description is malformed or unsupported */
  NNC_ERR_DATA = 2,     /* an input array has the wrong shape, type or content */
  NNC_ERR_IO = 3,       /* an input file could not be opened or read */
  NNC_ERR_ARG = 4,      /* a bad argument to an API function or the CLI */
  NNC_ERR_COMPILE = 5,  /* LLVM failed to build or JIT the kernels */
  NNC_ERR_INTERNAL = 6, /* an invariant of nnc broke: a bug, please report */
  NNC_ERR_NOMEM = 7,
  NNC_ERR_WRITE = 8,   /* an output file could not be written (the old file is kept) */
  NNC_ERR_NUMERICS = 9 /* check_numerics found a NaN or infinity; training stopped */
} nnc_code;

typedef struct nnc_status {
  nnc_code code;
  char message[1024];
} nnc_status;

/* ---- arrays: the data a host hands to fit/evaluate/predict ---- */
/* Integer data (class labels, Embedding indices) is converted to float32 for
 * the model, exactly up to 2^24. */
typedef enum nnc_dtype {
  NNC_F32,
  NNC_F64,
  NNC_I32,
  NNC_I64,
  NNC_U8,
  NNC_I8,
  NNC_I16,
  NNC_U16,
  NNC_U32,
  NNC_U64
} nnc_dtype;

#define NNC_MAX_RANK 8

/* rank is 1..NNC_MAX_RANK for data (axis 0 is the samples), 0..NNC_MAX_RANK
 * for a weight; every dimension >= 0; data may be NULL only when there are
 * no elements. fit, evaluate, predict and the *_on_batch calls read the
 * data in place, never copied whole and never written (x and y may be one
 * buffer): keep it allocated and unchanged until the call returns, also
 * from callbacks (labels were range-checked once, at the start). */
typedef struct nnc_array {
  nnc_dtype dtype;
  int rank;
  int64_t shape[NNC_MAX_RANK];
  void *data;       /* C order; owned by whoever filled the struct */
  const char *name; /* for messages, e.g. the file it was read from; may be
                       NULL; not owned (nnc_array_free leaves it) */
} nnc_array;

/* Number of elements; -1 for NULL or a malformed shape. */
int64_t nnc_array_count(const nnc_array *a);
size_t nnc_dtype_size(nnc_dtype t); /* 0 for a value that is not an nnc_dtype */
void nnc_array_free(nnc_array *a);  /* frees data filled by an nnc reader; a may be NULL */

/* ---- models ---- */
typedef struct nnc_model nnc_model;

/* Parse a spec (Keras 3 config.json, Keras 2 to_json, tfjs model.json).
 * The model is built (shapes inferred, kernels JIT-compiled, weights
 * initialized from the seed) right away when the spec declares its input
 * shape, else on the first call that brings data — as Keras builds lazily.
 * A declared shape with None axes ([null, null, 8]: a sequence length) is
 * built for the data too: every call may bring another size on those axes;
 * one program is compiled per distinct data shape, on first use, and kept;
 * all share the weights, optimizer slots and iteration count. */
int nnc_model_load_file(const char *path, nnc_model **out, nnc_status *st);
/* source_name names the text in messages; may be NULL ("<string>"). */
int nnc_model_load_string(const char *json, const char *source_name, nnc_model **out,
                          nnc_status *st);
void nnc_model_free(nnc_model *m); /* m may be NULL */

/* Replace the compile config (optimizer, loss, metrics) with a JSON object
 * in Keras's compile_config form. */
int nnc_model_set_compile_config(nnc_model *m, const char *json, nnc_status *st);

/* Seed of initial weights, dropout masks and shuffling (default 0). While the
 * weights are still the initial ones (no training step, no set_weight or
 * load_weights since the model was built), the weights are drawn again from
 * the new seed, as if it had been set first. After that the weights are kept
 * (as Keras's set_random_seed leaves a trained model's weights alone) and the
 * seed keys only the dropout masks and shuffles of later steps. */
int nnc_model_set_seed(nnc_model *m, uint64_t seed, nnc_status *st);

/* Threads that run each step (default 1). Work is split so that every value
 * is computed by one thread in a fixed order: results are bit-identical for
 * any thread count. */
int nnc_model_set_threads(nnc_model *m, int threads, nnc_status *st);
int nnc_model_threads(const nnc_model *m); /* 0 for NULL */

/* With more than one thread, a step of a few million multiply-adds (the
 * table's tuned band, nnc_entry.sure_rows) runs on the threads or on the
 * calling thread alone, whichever the model measured faster lately: on a
 * shared machine the second core's speed for small steps changes over
 * minutes. Results are the same bits either way. on = 0: such steps always
 * run on the threads; 1 (the default): timed. */
int nnc_model_set_thread_tuning(nnc_model *m, int on, nnc_status *st);

/* How matmuls sum their products. F32 (default): float32 accumulators, as
 * Keras's TensorFlow CPU kernels. F64: float64 accumulators rounded once,
 * slower (2.6x on a 784-512-512-10 MLP here) and insensitive to summation
 * order; see docs/semantics.md ("Accumulation precision"). Recompiles a built
 * model, keeping weights and optimizer state. */
typedef enum nnc_accumulation { NNC_ACCUMULATE_F32, NNC_ACCUMULATE_F64 } nnc_accumulation;
int nnc_model_set_accumulation(nnc_model *m, nnc_accumulation acc, nnc_status *st);

/* Check numerics (default off), as tf.debugging.enable_check_numerics: with
 * on != 0, every training step (nnc_model_fit, nnc_model_train_on_batch) is
 * checked, and the first step after which a NaN or infinity appears stops
 * training with NNC_ERR_NUMERICS. The weights, optimizer slots and iteration
 * count are then those from before that step (fit frees the history). The
 * message names the epoch and batch, both 1-based as Keras's progress bar
 * prints them ("Epoch 3/10", "2/8"; train_on_batch: the iteration count
 * before the step), and the first value in topological order that is not
 * finite, whose inputs therefore are:
 *   check_numerics: epoch 2/5, batch 3/8: dense_1/matmul (op matmul, layer
 *   dense_1) produced NaN (12 of 64 values); training stopped, ...
 * or the input x / y (with the sample index), or a weight or optimizer slot
 * already non-finite before the step. Only training steps are checked
 * (evaluate, predict and validation are not). The step runs unfused with a
 * buffer per value plus a copy of the weights and slots, so it is slower;
 * switching recompiles the train step, keeping weights and optimizer state.
 * m must not be NULL (NNC_ERR_ARG). */
int nnc_model_set_check_numerics(nnc_model *m, int on, nnc_status *st);

/* Build for inputs shaped like x (per sample: x->shape[1..]) and targets like
 * y (may be NULL). x may be NULL when the spec declares its input shape
 * without None axes. Called implicitly by fit/evaluate/predict; data of
 * another shape on a None axis switches to (or compiles) that shape's
 * program. */
int nnc_model_build(nnc_model *m, const nnc_array *x, const nnc_array *y, nnc_status *st);
int nnc_model_is_built(const nnc_model *m); /* 0 for NULL */

/* The model's inputs and outputs, in order (Keras's model.inputs /
 * model.outputs), known before the model is built. Counts are 0 and names
 * NULL for NULL or an index out of range. */
int nnc_model_input_count(const nnc_model *m);
const char *nnc_model_input_name(const nnc_model *m, int i);
int nnc_model_output_count(const nnc_model *m);
const char *nnc_model_output_name(const nnc_model *m, int i);

/* Weights by Keras name ("dense_1/kernel", kernel shape [in, out]).
 * weight_count is 0 and weight_name NULL for NULL, an unbuilt model or an
 * index out of range. nnc_model_load_weights reads a safetensors file or a
 * TF.js layers model.json (its weightsManifest and shards, docs/formats.md),
 * told apart by the first bytes; every weight must be there, nothing else. */
int nnc_model_weight_count(const nnc_model *m);
const char *nnc_model_weight_name(const nnc_model *m, int i);
int nnc_model_get_weight(const nnc_model *m, const char *name, nnc_array *out, nnc_status *st);
int nnc_model_set_weight(nnc_model *m, const char *name, const nnc_array *value, nnc_status *st);
/* load: safetensors, or a Keras save_weights / full-model .h5 (told by its
 * first bytes); save: safetensors, or Keras 2's save_weights .h5 when path
 * ends in ".h5" (docs/formats.md). */
int nnc_model_load_weights(nnc_model *m, const char *safetensors_path, nnc_status *st);
int nnc_model_save_weights(const nnc_model *m, const char *safetensors_path, nnc_status *st);

/* ---- training ---- */
/* Room for "val_" + a metric name (at most 127 bytes) + NUL: no log name is cut. */
#define NNC_LOG_NAME 132

/* One set of results: "loss", metric names, "val_" versions; sorted by
 * name as Keras 3 logs are; as many keys as the model reports.
 * Ownership: the library owns the arrays and grows them as needed. Hand
 * the calls that fill logs a zero-initialized struct (`nnc_logs l = {0};`,
 * a valid empty logs) or one a previous call filled (its arrays are
 * reused); release it with nnc_logs_free. An uninitialized struct is not
 * valid. */
typedef struct nnc_logs {
  int n;   /* keys held */
  int cap; /* room in names/values (the library's, do not set) */
  char (*names)[NNC_LOG_NAME];
  double *values;
} nnc_logs;

void nnc_logs_free(nnc_logs *logs); /* frees the arrays, leaves empty logs; logs may be NULL */
double nnc_logs_get(const nnc_logs *logs, const char *name); /* NaN if absent or NULL */

/* Keras's History: history[key][epoch], any number of keys. The library
 * allocates its arrays (fit overwrites the struct it is handed: free a
 * previous history first); release it with nnc_history_free. */
typedef struct nnc_history {
  int n_keys, n_epochs;
  char (*keys)[NNC_LOG_NAME];
  double *values; /* n_keys x n_epochs, row-major by key */
  int *epochs;    /* the 0-based epoch indices run */
} nnc_history;

double nnc_history_get(const nnc_history *h, const char *key, int epoch); /* NaN if absent */
/* {"loss": [...], ...}; a NaN or infinite value is written as null. */
int nnc_history_write_json(const nnc_history *h, const char *path, nnc_status *st);
void nnc_history_free(nnc_history *h); /* h may be NULL */

/* ---- callbacks (docs/fit.md "Callbacks") ----
 * A callback is a value: hooks and a user pointer. The built-in callbacks
 * (EarlyStopping, ReduceLROnPlateau, ..., History, ProgbarLogger) are
 * instances made by nnc_callback_create. Every hook may be NULL. `index` is
 * the 0-based epoch for epoch hooks, the 0-based batch of the epoch for
 * batch hooks, 0 for train hooks. `logs` are the logs Keras hands the hook
 * (on_epoch_end: the epoch's results with val_ keys; on_batch_end: the
 * running results; begin hooks: empty logs); a hook may add or change
 * entries with nnc_logs_set, and later callbacks see them. A hook returns
 * NNC_OK, or an error code (fit stops and returns it, after on_train_end is
 * NOT called). To stop training as Keras's model.stop_training = True, call
 * nnc_model_stop_training. */
typedef struct nnc_callback nnc_callback;
typedef int (*nnc_callback_hook)(nnc_callback *cb, nnc_model *m, int index, nnc_logs *logs,
                                 nnc_status *st);
struct nnc_callback {
  const char *name; /* class name, for messages ("EarlyStopping") */
  void *user;
  nnc_callback_hook on_train_begin, on_train_end;
  nnc_callback_hook on_epoch_begin, on_epoch_end;
  nnc_callback_hook on_batch_begin, on_batch_end;
  void (*free)(nnc_callback *cb); /* releases user (nnc_callback_free); may be NULL */
};

/* A built-in callback from Keras-style text, "EarlyStopping(monitor=val_loss,
 * patience=2, restore_best_weights=true)" (Keras argument names; numbers,
 * true/false, None/null, quoted strings), or from JSON {"class_name": ...,
 * "config": {...}} as Keras serializes it. source names the text in
 * messages (may be NULL). *out is heap; release with nnc_callback_free. */
int nnc_callback_create(const char *text, const char *source, nnc_callback **out, nnc_status *st);
int nnc_callback_create_json(const char *json, const char *source, nnc_callback **out,
                             nnc_status *st);
void nnc_callback_free(nnc_callback *cb); /* calls cb->free, frees cb; cb may be NULL */

/* Keras's model.stop_training = True: fit stops after the current batch's
 * hooks (a batch hook) or at the end of the epoch (an epoch hook). */
void nnc_model_stop_training(nnc_model *m);
/* Add or replace one entry of logs (grows its arrays). */
int nnc_logs_set(nnc_logs *logs, const char *name, double value, nnc_status *st);

typedef struct nnc_fit_options {
  int epochs; /* final epoch index, as Keras: runs initial_epoch..epochs-1 */
  int initial_epoch;
  int batch_size;                 /* default 32 */
  int shuffle;                    /* 1: a new permutation each epoch, from the seed */
  int verbose;                    /* 0 silent, 1 progress bar, 2 one line per epoch */
  double validation_split;        /* the last fraction, taken before shuffling */
  const nnc_array *x_val, *y_val; /* validation_data (wins over validation_split) */
  /* validation_data of a model with several inputs/outputs: one array per
   * input and one per output (rank 0: none), as the _multi calls take them;
   * wins over x_val/y_val */
  int n_x_vals, n_y_vals;
  const nnc_array *x_vals, *y_vals;
  void *progress; /* FILE * for progress output (NULL: stdout) */

  /* ---- issue 7 additions (docs/fit.md) ---- */
  /* Callbacks run in this order, after those of the spec's "callbacks" list;
   * History and the progress bar (verbose) are added after them, as Keras's
   * CallbackList does. The host owns them (fit does not free them). */
  int n_callbacks;
  nnc_callback *const *callbacks;
  int validation_freq;       /* validate after every n-th epoch (0: 1) */
  int64_t steps_per_epoch;   /* 0: every batch of the data */
  int64_t validation_steps;  /* 0: every batch of the validation data */
  int validation_batch_size; /* 0: batch_size */
  /* shuffle above: 0 off, 1 on (NNC_SHUFFLE_ON), 2 NNC_SHUFFLE_BATCH */
  /* sample_weight: one array per OUTPUT (rank 0: none), shaped (N,) or
   * (N, timesteps...) for sequence outputs; NULL/0: none. One array
   * (n_sample_weights = 1) for a model of several outputs weighs every
   * output's loss and weighted metrics, as Keras's fit(sample_weight=w). */
  int n_sample_weights;
  const nnc_array *sample_weights;
  /* class_weight: weight of class c is class_weights[c] (n_class_weights
   * classes; a class not listed has weight 1 as in Keras... see docs) */
  int n_class_weights;
  const double *class_weights;
  /* validation sample weights: one per output (rank 0: none), or one for
   * every output (n_sample_weights_val = 1), as sample_weights */
  int n_sample_weights_val;
  const nnc_array *sample_weights_val;
  int train_metrics; /* NNC_TRAIN_METRICS_BATCHES (Keras) or _END_OF_EPOCH */
} nnc_fit_options;

enum { NNC_SHUFFLE_OFF = 0, NNC_SHUFFLE_ON = 1, NNC_SHUFFLE_BATCH = 2 };
enum { NNC_TRAIN_METRICS_BATCHES = 0, NNC_TRAIN_METRICS_END_OF_EPOCH = 1 };

void nnc_fit_options_default(nnc_fit_options *o); /* o may be NULL: does nothing */

/* opts may be NULL (the defaults); history may be NULL (not kept). */
int nnc_model_fit(nnc_model *m, const nnc_array *x, const nnc_array *y, const nnc_fit_options *opts,
                  nnc_history *history, nnc_status *st);
int nnc_model_evaluate(nnc_model *m, const nnc_array *x, const nnc_array *y, int batch_size,
                       nnc_logs *out, nnc_status *st);
/* The checks fit and evaluate make on x and y (y may be NULL) — shapes,
 * sample counts, label ranges — without running a step; builds the model
 * for x if it is not built. For checking data up front (before training on
 * other data). */
int nnc_model_check_data(nnc_model *m, const nnc_array *x, const nnc_array *y, nnc_status *st);
/* out gets a float32 array of shape [N, output dims...]; free with nnc_array_free. */
int nnc_model_predict(nnc_model *m, const nnc_array *x, int batch_size, nnc_array *out,
                      nnc_status *st);
/* One optimizer step on the whole of x, y; logs hold this batch's loss and
 * metrics, computed before the update (Keras resets the metrics first). */
int nnc_model_train_on_batch(nnc_model *m, const nnc_array *x, const nnc_array *y, nnc_logs *out,
                             nnc_status *st);
int nnc_model_test_on_batch(nnc_model *m, const nnc_array *x, const nnc_array *y, nnc_logs *out,
                            nnc_status *st);

/* Several inputs and outputs: x holds one array per input (n_x of them, in
 * order) and y one per OUTPUT (n_y of them, in order); an entry of y with
 * rank 0 means "no target for this output". The single-array calls above
 * are these with n_x = n_y = 1. Messages name the wrong input or output.
 * predict_multi fills out[0..n_out) (n_out = the output count), each a
 * float32 array to free with nnc_array_free. */
int nnc_model_build_multi(nnc_model *m, int n_x, const nnc_array *x, int n_y, const nnc_array *y,
                          nnc_status *st);
int nnc_model_fit_multi(nnc_model *m, int n_x, const nnc_array *x, int n_y, const nnc_array *y,
                        const nnc_fit_options *opts, nnc_history *history, nnc_status *st);
int nnc_model_evaluate_multi(nnc_model *m, int n_x, const nnc_array *x, int n_y, const nnc_array *y,
                             int batch_size, nnc_logs *out, nnc_status *st);
int nnc_model_check_data_multi(nnc_model *m, int n_x, const nnc_array *x, int n_y,
                               const nnc_array *y, nnc_status *st);
int nnc_model_predict_multi(nnc_model *m, int n_x, const nnc_array *x, int batch_size, int n_out,
                            nnc_array *out, nnc_status *st);
int nnc_model_train_on_batch_multi(nnc_model *m, int n_x, const nnc_array *x, int n_y,
                                   const nnc_array *y, nnc_logs *out, nnc_status *st);
int nnc_model_test_on_batch_multi(nnc_model *m, int n_x, const nnc_array *x, int n_y,
                                  const nnc_array *y, nnc_logs *out, nnc_status *st);

/* Sample weights (docs/fit.md "Sample and class weights"): sample_weight
 * holds one array per OUTPUT (n_y of them; rank 0: none for that output;
 * NULL: none at all), shaped (N,) or (N, timesteps...). Keras's one
 * sample_weight for every output of a multi-output model is the same array
 * in every entry (its data is converted and kept once). */
int nnc_model_evaluate_weighted(nnc_model *m, int n_x, const nnc_array *x, int n_y,
                                const nnc_array *y, const nnc_array *sample_weight, int batch_size,
                                nnc_logs *out, nnc_status *st);
int nnc_model_train_on_batch_weighted(nnc_model *m, int n_x, const nnc_array *x, int n_y,
                                      const nnc_array *y, const nnc_array *sample_weight,
                                      nnc_logs *out, nnc_status *st);
int nnc_model_test_on_batch_weighted(nnc_model *m, int n_x, const nnc_array *x, int n_y,
                                     const nnc_array *y, const nnc_array *sample_weight,
                                     nnc_logs *out, nnc_status *st);

/* Optimizer state (slots and iterations) under Keras's variable names, in a
 * safetensors file (docs/optimizers.md). Loading needs a built model with
 * the same optimizer. */
int nnc_model_save_optimizer_state(const nnc_model *m, const char *path, nnc_status *st);
int nnc_model_load_optimizer_state(nnc_model *m, const char *path, nnc_status *st);

/* A metric computed by the host (docs/metrics.md "Custom metrics"):
 * update_state sees each batch's targets and predictions of output `output`
 * (float32, rows x per-row values; sample_weight NULL when none), result
 * gives the value logged as `name` (and val_<name>). reset_state runs at
 * the start of every epoch and evaluation. */
typedef struct nnc_metric {
  const char *name;
  int output; /* index of the model output */
  void *user;
  void (*reset_state)(void *user);
  void (*update_state)(void *user, const float *y_true, int64_t true_per_row, const float *y_pred,
                       int64_t pred_per_row, const float *sample_weight, int64_t rows);
  double (*result)(void *user);
} nnc_metric;
int nnc_model_add_metric(nnc_model *m, const nnc_metric *metric, nnc_status *st);

/* Optimizer state and hyperparameters at run time: iterations is -1 and the
 * learning rate NaN for NULL. A learning rate must be in [0, FLT_MAX]; a
 * new one takes effect at the next step without recompiling. */
int64_t nnc_model_iterations(const nnc_model *m);
double nnc_model_learning_rate(const nnc_model *m);
int nnc_model_set_learning_rate(nnc_model *m, double lr, nnc_status *st);

/* Warnings Keras would print for this model (from_logits=True on a sigmoid or
 * softmax output), recorded when it is compiled, followed by those built-in
 * callbacks recorded during fit (a monitored key missing from the logs), each
 * text once; the library prints nothing. m may be NULL (no warnings);
 * nnc_model_warning returns NULL for an index out of range. The text stays
 * valid until the model is recompiled or freed. */
int nnc_model_warning_count(const nnc_model *m);
const char *nnc_model_warning(const nnc_model *m, int i);

/* Text dumps for people: Keras 3's model.summary() table as Keras prints it
 * to a pipe (docs/cli.md, "The summary"); `nnc compile --summary` prints the
 * same. file is a FILE *; NULL: stdout. */
int nnc_model_summary(const nnc_model *m, void *file, nnc_status *st);

/* Keras's Normalization.adapt(x) on a spec: every Normalization layer that
 * takes the model's input directly gets `mean` and `variance` in its config
 * (population mean and variance of x over the axes it does not keep; x's
 * axis 0 is the samples). *out_json (malloc'ed; free()) is the whole spec
 * with them, *n_adapted how many layers were filled. No such layer:
 * NNC_ERR_SPEC. x of another rank than the layer's declared input, or of
 * another size on a kept axis: NNC_ERR_DATA (the message names the layer
 * and the expected shape). source_name names the text in messages; may be
 * NULL. */
int nnc_adapt_normalization(const char *json, const char *source_name, const nnc_array *x,
                            char **out_json, int *n_adapted, nnc_status *st);

/* The on-disk cache of compiled kernels (default on): machine code LLVM made
 * for a model is kept in $XDG_CACHE_HOME/nnc (default ~/.cache/nnc) and
 * reused by later compiles of the same model on the same CPU, which then take
 * milliseconds. on = 0 turns it off for every later compile of this process
 * (as the environment variable NNC_CACHE=0 does). Results never depend on
 * it; an unusable directory is skipped. */
void nnc_set_compile_cache(int on);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
