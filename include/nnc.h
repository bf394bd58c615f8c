/* nnc — a graph-compiling model compiler for Keras model descriptions.
 *
 * Intended usage (see docs/examples/host.c for a complete program):
 *   1. nnc_model_load_file("spec.json", &model, &st)            parse; build now if the
 *                                                               spec has an input shape
 *   2. nnc_model_set_seed(model, seed, &st)                     initial weights, masks, shuffles
 *      nnc_model_load_weights(model, "w.safetensors", &st)      or start from saved weights
 *   3. nnc_model_fit(model, &x, &y, &fit_opts, &history, &st)   Keras 3's fit loop
 *   4. nnc_model_evaluate / nnc_model_predict / nnc_model_train_on_batch
 *   5. nnc_model_save_weights, nnc_history_free, nnc_model_free
 * Every function returns NNC_OK (0) or an error code and fills a nnc_status
 * whose message names the file, the JSON path and what was expected.
 * Nothing in the library prints (except the fit progress bar, when asked)
 * or exits. */
#ifndef NNC_H
#define NNC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

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
typedef enum nnc_dtype { NNC_F32, NNC_F64, NNC_I32, NNC_I64, NNC_U8 } nnc_dtype;

#define NNC_MAX_RANK 8

typedef struct nnc_array {
  nnc_dtype dtype;
  int rank;
  int64_t shape[NNC_MAX_RANK];
  void *data; /* C order; owned by whoever filled the struct */
} nnc_array;

int64_t nnc_array_count(const nnc_array *a); /* number of elements */
size_t nnc_dtype_size(nnc_dtype t);
void nnc_array_free(nnc_array *a); /* frees data filled by an nnc reader */

/* ---- models ---- */
typedef struct nnc_model nnc_model;

/* Parse a spec (Keras 3 config.json, Keras 2 to_json, tfjs model.json).
 * The model is built (shapes inferred, kernels JIT-compiled, weights
 * initialized from the seed) right away when the spec declares its input
 * shape, else on the first call that brings data — as Keras builds lazily. */
int nnc_model_load_file(const char *path, nnc_model **out, nnc_status *st);
int nnc_model_load_string(const char *json, const char *source_name, nnc_model **out,
                          nnc_status *st);
void nnc_model_free(nnc_model *m);

/* Replace the compile config (optimizer, loss, metrics) with a JSON object
 * in Keras's compile_config form. */
int nnc_model_set_compile_config(nnc_model *m, const char *json, nnc_status *st);

/* Seed of initial weights, dropout masks and shuffling (default 0). Set it
 * before the model is built; it also keys every later fit. */
int nnc_model_set_seed(nnc_model *m, uint64_t seed, nnc_status *st);

/* Threads that run each step (default 1). Work is split so that every value
 * is computed by one thread in a fixed order: results are bit-identical for
 * any thread count. */
int nnc_model_set_threads(nnc_model *m, int threads, nnc_status *st);
int nnc_model_threads(const nnc_model *m);

/* How matmuls sum their products. F32 (default): float32 accumulators, as
 * Keras's TensorFlow CPU kernels. F64: float64 accumulators rounded once,
 * slower (2.6x on a 784-512-512-10 MLP here) and insensitive to summation
 * order; see docs/semantics.md ("Accumulation precision"). Recompiles a built
 * model, keeping weights and optimizer state. */
typedef enum nnc_accumulation { NNC_ACCUMULATE_F32, NNC_ACCUMULATE_F64 } nnc_accumulation;
int nnc_model_set_accumulation(nnc_model *m, nnc_accumulation acc, nnc_status *st);

/* Build for inputs shaped like x (per sample: x->shape[1..]) and targets like
 * y (may be NULL). Called implicitly by fit/evaluate/predict. */
int nnc_model_build(nnc_model *m, const nnc_array *x, const nnc_array *y, nnc_status *st);
int nnc_model_is_built(const nnc_model *m);

/* Weights by Keras name ("dense_1/kernel", kernel shape [in, out]). */
int nnc_model_weight_count(const nnc_model *m);
const char *nnc_model_weight_name(const nnc_model *m, int i);
int nnc_model_get_weight(const nnc_model *m, const char *name, nnc_array *out, nnc_status *st);
int nnc_model_set_weight(nnc_model *m, const char *name, const nnc_array *value, nnc_status *st);
int nnc_model_load_weights(nnc_model *m, const char *safetensors_path, nnc_status *st);
int nnc_model_save_weights(const nnc_model *m, const char *safetensors_path, nnc_status *st);

/* ---- training ---- */
#define NNC_MAX_LOGS 32
#define NNC_LOG_NAME 64

/* One set of results: "loss", metric names, "val_" versions; sorted by
 * name as Keras 3 logs are. */
typedef struct nnc_logs {
  int n;
  char names[NNC_MAX_LOGS][NNC_LOG_NAME];
  double values[NNC_MAX_LOGS];
} nnc_logs;

double nnc_logs_get(const nnc_logs *logs, const char *name); /* NaN if absent */

/* Keras's History: history[key][epoch]. */
typedef struct nnc_history {
  int n_keys, n_epochs;
  char (*keys)[NNC_LOG_NAME];
  double *values; /* n_keys x n_epochs, row-major by key */
  int *epochs;    /* the 0-based epoch indices run */
} nnc_history;

double nnc_history_get(const nnc_history *h, const char *key, int epoch);
int nnc_history_write_json(const nnc_history *h, const char *path, nnc_status *st);
void nnc_history_free(nnc_history *h);

typedef struct nnc_fit_options {
  int epochs; /* final epoch index, as Keras: runs initial_epoch..epochs-1 */
  int initial_epoch;
  int batch_size;                 /* default 32 */
  int shuffle;                    /* 1: a new permutation each epoch, from the seed */
  int verbose;                    /* 0 silent, 1 progress bar, 2 one line per epoch */
  double validation_split;        /* the last fraction, taken before shuffling */
  const nnc_array *x_val, *y_val; /* validation_data (wins over validation_split) */
  void *progress;                 /* FILE * for progress output (NULL: stdout) */
} nnc_fit_options;

void nnc_fit_options_default(nnc_fit_options *o);

int nnc_model_fit(nnc_model *m, const nnc_array *x, const nnc_array *y, const nnc_fit_options *opts,
                  nnc_history *history, nnc_status *st);
int nnc_model_evaluate(nnc_model *m, const nnc_array *x, const nnc_array *y, int batch_size,
                       nnc_logs *out, nnc_status *st);
/* out gets a float32 array of shape [N, output dims...]; free with nnc_array_free. */
int nnc_model_predict(nnc_model *m, const nnc_array *x, int batch_size, nnc_array *out,
                      nnc_status *st);
/* One optimizer step on the whole of x, y; logs hold this batch's loss and
 * metrics, computed before the update (Keras resets the metrics first). */
int nnc_model_train_on_batch(nnc_model *m, const nnc_array *x, const nnc_array *y, nnc_logs *out,
                             nnc_status *st);
int nnc_model_test_on_batch(nnc_model *m, const nnc_array *x, const nnc_array *y, nnc_logs *out,
                            nnc_status *st);

/* Optimizer state and hyperparameters at run time. */
int64_t nnc_model_iterations(const nnc_model *m);
double nnc_model_learning_rate(const nnc_model *m);
void nnc_model_set_learning_rate(nnc_model *m, double lr);

/* Warnings Keras would print for this model (from_logits=True on a sigmoid or
 * softmax output), recorded when it is compiled; the library prints nothing.
 * m may be NULL (no warnings); nnc_model_warning returns NULL for an index
 * out of range. The text stays valid until the model is recompiled or freed. */
int nnc_model_warning_count(const nnc_model *m);
const char *nnc_model_warning(const nnc_model *m, int i);

/* Text dumps for people: Keras-style summary. */
int nnc_model_summary(const nnc_model *m, void *file, nnc_status *st);

#ifdef __cplusplus
}
#endif
#endif
