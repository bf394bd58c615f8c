/* Loading a case of ../shared/oracle/cases (or tests/cases) into an nnc model: the spec is
 * the case's model with its compile config, the data its .npy files (with
 * x_transform applied), the initial weights its w0 bundle. */
#ifndef NNC_ORACLE_CASE_H
#define NNC_ORACLE_CASE_H

#include <cjson/cJSON.h>

#include "nnc.h"

#define ORACLE_MAX_IO 8 /* inputs or outputs of a case (more fails the test) */

typedef struct oracle_case {
  char dir[512];
  cJSON *json;
  nnc_model *model;
  /* one array per model input (xs) and per output (ys; rank 0: no target),
   * in the model's order; x, y, x_val, y_val are the first of each (copies of
   * the structs, not owned) for single-input, single-output cases */
  int n_x, n_y, n_x_val, n_y_val;
  nnc_array xs[ORACLE_MAX_IO], ys[ORACLE_MAX_IO], x_vals[ORACLE_MAX_IO], y_vals[ORACLE_MAX_IO];
  nnc_array x, y, x_val, y_val;
  int has_val;
  nnc_fit_options fit;
  int steps; /* train_on_batch mode */
  /* issue 7 fit inputs, pointed to by `fit`: data.sample_weight and
   * data.sample_weight_val (one array per output, rank 0: none), fit.class_weight
   * as a dense array by class index (classes left out weigh 1, as in Keras), and
   * fit.callbacks made by nnc_callback_create_json (heap, n_callbacks of them) */
  nnc_array sample_weights[ORACLE_MAX_IO], sample_weights_val[ORACLE_MAX_IO];
  double *class_weights;
  nnc_callback **callbacks;
  int n_callbacks;
} oracle_case;

/* Fails the current Check test on any error. */
void oracle_case_load(const char *name, oracle_case *c);
/* The same for a case in another folder of cases (e.g. tests/cases). */
void oracle_case_load_from(const char *cases_dir, const char *name, oracle_case *c);
void oracle_case_free(oracle_case *c);

/* expected/<file> parsed (caller deletes). */
cJSON *oracle_expected(const oracle_case *c, const char *file);

/* Set every weight of a bundle (weights.json + .npy files) on the model. */
void oracle_set_bundle(nnc_model *m, const char *bundle_json_path);

/* Assert every weight of the bundle matches the model within rel/abs. */
void oracle_check_bundle(const nnc_model *m, const char *bundle_json_path, double rel,
                         double abs_tol);

/* |got - want| <= abs_tol + rel * |want| */
int close_enough(double got, double want, double rel, double abs_tol);

/* A copy of every weight of a model, to restore or compare. */
#define WSET_MAX 16
typedef struct wset {
  int n;
  char name[WSET_MAX][64];
  nnc_array a[WSET_MAX];
} wset;

void weights_get(const nnc_model *m, wset *w);
void weights_put(nnc_model *m, const wset *w);
void weights_free(wset *w);

/* A fit's history and final weights, to compare two fits bit for bit. */
typedef struct fit_run {
  nnc_history h;
  wset w;
} fit_run;

/* json (loaded as `name`) fitted on x, y for `epochs` in batches of
 * batch_size, silently, into r (the test fails on an error). */
void fit_run_fit(const char *json, const char *name, const nnc_array *x, const nnc_array *y,
                 int epochs, int batch_size, fit_run *r);
/* the same on `threads` threads (0: the model's default) */
void fit_run_fit_threads(const char *json, const char *name, const nnc_array *x, const nnc_array *y,
                         int epochs, int batch_size, int threads, fit_run *r);
/* a and b hold the same history and weights, bit for bit; `what` names the
 * pair in a failure. */
void fit_run_same(const fit_run *a, const fit_run *b, const char *what);
void fit_run_free(fit_run *r);
/* fit(threads, r) at width 16 on 2 threads and at width 8 on 1 (the compile
 * cache off, small steps split wherever a group splits), once with the
 * variables of `set` unset and once with each "NAME=VALUE" of it (NULL-ended)
 * set: the same bits (fit_run_same; `what` names the pair in a failure). */
void fit_run_same_with(void (*fit)(int threads, fit_run *r), const char *const *set,
                       const char *what);

/* n values in [-0.5, 0.5) from a 64-bit LCG started at seed: the fixed
 * inputs of the bit-identity fits. */
void fill_uniform(float *x, int64_t n, uint64_t seed);

/* The spec text (model + "compile_config") for a case (malloc'ed). */
char *oracle_spec_json(const char *name);
char *oracle_spec_json_from(const char *cases_dir, const char *name);

/* Three small models (Dense with dropout and softmax cross-entropy/Adam, a
 * convnet and an LSTM with MSE/RMSprop): the spec of model k, and its fit of
 * two epochs on 13 generated samples in batches of 5 into r. */
enum { SMALL_DENSE, SMALL_CONV, SMALL_LSTM, SMALL_MODELS };
void small_model_spec(int k, char *json, size_t n);
void small_model_fit(int k, fit_run *r);

#endif
