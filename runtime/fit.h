/* Internals shared by fit (runtime/fit_loop.c), evaluate and the on-batch
 * calls (runtime/evaluate.c): argument checks, running an entry over data,
 * validation data, shuffling, class weights, the callback list. */
#ifndef NNC_FIT_H
#define NNC_FIT_H

#include "nnc.h"
#include "runtime/epoch.h"
#include "runtime/model.h"

/* The arrays of one list (x: one per input; y and sample weights: one per
 * output, where rank 0 means "none"): each well-formed. */
int api_list(int n, const nnc_array *a, const char *fn, const char *what, int is_y, nnc_status *st);
/* fit, evaluate and the on-batch calls need a loss: say so before anything else */
int require_compile(const nnc_model *m, const char *what, nnc_status *st);
int check_batch_size(int batch_size, nnc_status *st);

/* Run entry `which` over d in order, batch_size rows a step, at most
 * max_steps steps (0: all); accumulate into acc (may be NULL). outs: one
 * buffer per model output (predict), else NULL. */
int run_all(nnc_model *m, int which, const model_data *d, int batch_size, int64_t max_steps,
            epoch_acc *acc, float **outs, nnc_status *st);
/* The test entry over d: "loss" and the metrics (and host metrics), names
 * prefixed, appended to logs (unsorted). */
int evaluate_data(nnc_model *m, const model_data *d, int batch_size, int64_t max_steps,
                  const char *prefix, nnc_logs *logs, nnc_status *st);

/* The fit options a host filled: each in the range Keras accepts. */
int fit_check_options(const nnc_fit_options *o, int n_outputs, nnc_status *st);
/* Split off the last fraction as validation data (Keras: before shuffling;
 * sample weights split with x and y). val is a view into all. */
int fit_split_validation(const model_data *all, double fraction, model_data *train, model_data *val,
                         nnc_status *st);
/* validation_data of the options (x_vals/y_vals or x_val/y_val, with
 * sample_weights_val) as prepared data. */
int fit_prepare_validation(nnc_model *m, const nnc_fit_options *o, model_data *val, nnc_status *st);
/* Sample weights as one array per output: sw itself when it has n_outputs
 * arrays; one array (n = 1) for a model of several outputs stands for every
 * output, as Keras's CompileLoss / CompileMetrics repeat a single
 * sample_weight: a heap list of n_outputs copies of its descriptor (the data
 * shared), returned and put in *owned for the caller to free(). NULL when sw
 * is NULL (no weights; *owned NULL) or out of memory (st set). */
const nnc_array *sample_weights_per_output(const nnc_array *sw, int n, int n_outputs,
                                           nnc_array **owned, nnc_status *st);
/* The sample weights fit builds the model for, one per output: output k's
 * training weights, else its validation weights (validation_data), so a
 * table built for data without training weights still reads the
 * validation weights (the training steps are fed weights of 1). *out may
 * be train itself; *owned is the list to free() (or NULL). */
int fit_build_weights(const nnc_array *train, const nnc_fit_options *o, int n_outputs,
                      const nnc_array **out, nnc_array **owned, nnc_status *st);

/* Keras's class_weight_to_sample_weights (trainers/data_adapters/
 * data_adapter_utils.py): the class of a sample is argmax(y) when y has a
 * last axis longer than 1 (one-hot), else round(y) (half to even); a class
 * not listed (index >= n_classes) weighs 1. out gets a float32 (N,) array
 * (free with nnc_array_free). */
int class_weights_to_sample_weights(const nnc_array *y, int n_classes, const double *weights,
                                    nnc_array *out, nnc_status *st);

/* Sample order of one pass over n training samples (Keras's array adapter):
 * NNC_SHUFFLE_ON a permutation of all, NNC_SHUFFLE_BATCH a permutation
 * inside each batch_size chunk (the chunks keep their order); a function of
 * (seed, pass). */
void fit_shuffle(int64_t *idx, int64_t n, int mode, int64_t batch_size, uint64_t seed, int pass);

/* Ask the cache for the rows idx[0 .. rows) of every array of d (a hint: no
 * effect on results). Called for the next batch before a step, so that its
 * scattered rows arrive while the step computes instead of stalling the
 * gather (runtime/step.c: batch_rows). */
void fit_prefetch_rows(const model_data *d, const int64_t *idx, int64_t rows);

/* ---- the callback list of one fit (runtime/callbacks/callbacks.c) ---- */
typedef enum cb_event {
  CB_TRAIN_BEGIN,
  CB_TRAIN_END,
  CB_EPOCH_BEGIN,
  CB_EPOCH_END,
  CB_BATCH_BEGIN,
  CB_BATCH_END
} cb_event;

typedef struct cb_list {
  int n, cap;
  nnc_callback **cb;
  char *owned; /* 1: created by fit (freed with the list) */
} cb_list;

int cb_list_add(cb_list *l, nnc_callback *cb, int owned, nnc_status *st);
/* Every callback's hook for the event, in list order; the first error stops
 * (its message names the callback and the hook). */
int cb_list_run(cb_list *l, cb_event e, nnc_model *m, int index, nnc_logs *logs, nnc_status *st);
int cb_list_has(const cb_list *l, cb_event e); /* some callback has a hook for e */
void cb_list_free(cb_list *l);
/* The spec's "callbacks" (m->desc.callbacks_json) appended to l. */
int cb_list_add_spec(cb_list *l, const nnc_model *m, nnc_status *st);

/* Built-in callbacks fit adds: History into h (runtime/callbacks/history.c)
 * and the progress bar (runtime/callbacks/progbar_logger.c, reads m->fit). */
int cb_history_create(nnc_history *h, nnc_callback **out, nnc_status *st);
int cb_progbar_create(const nnc_model *m, nnc_callback **out,
                      nnc_status *st); /* after m->fit is set */

#endif
