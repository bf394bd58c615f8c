/* The cached binding of an on-batch call (train_on_batch, test_on_batch):
 * what a call derives from its arrays' headers and the model's program --
 * the build check, the shape checks, the per-buffer row sizes, the sorted
 * log keys -- kept for the next call. A call whose arrays have the dtypes,
 * ranks and shapes of the bound call, on the same program (same table, no
 * build or recompile since), skips the derivation; it only points the data
 * at its arrays and checks what depends on values (class labels, Embedding
 * indices). Any other change (a shape, the batch size, a dtype, a rebuild,
 * sample weights) takes the full path, which binds again. */
#ifndef NNC_STEP_BIND_H
#define NNC_STEP_BIND_H

#include "nnc.h"
#include "runtime/epoch.h"
#include "runtime/model.h"

/* One array's header as the bound call saw it. */
typedef struct bound_array {
  nnc_dtype dtype;
  int rank;
  int64_t shape[NNC_MAX_RANK];
  int empty; /* no elements (or no target): its data may be NULL */
} bound_array;

typedef struct step_binding {
  const nnc_program_table *t;
  uint64_t build_gen; /* m->build_gen when bound */
  int n_x, n_y;
  bound_array *arrays; /* n_x inputs, then n_y targets */
  model_data d;        /* row sizes and dtypes; the data pointers are each call's */
  int values_checked;  /* some buffer's values are checked every call */
  /* the log keys in the order Keras sorts them (no host metrics) */
  int n_keys;
  int *order;                  /* table key index of the k-th sorted key */
  char (*names)[NNC_LOG_NAME]; /* sorted key names */
} step_binding;

/* The binding for arrays x (n_x) and y (n_y) when they match it: their
 * headers equal the bound ones, every array with elements has data, and the
 * model's program is the bound one; else NULL. d points at this call's data. */
step_binding *step_bound(nnc_model *m, int n_x, const nnc_array *x, int n_y, const nnc_array *y);

/* Bind the arrays of a call that just succeeded on the full path and whose
 * build check changed nothing (m->build_gen still gen): takes over d (freed
 * here when binding fails: the call's result stands, the next call takes the
 * full path again). */
void step_bind(nnc_model *m, uint64_t gen, int n_x, const nnc_array *x, int n_y, const nnc_array *y,
               model_data *d);

/* Logs of a bound call: the keys' values from acc in the sorted order,
 * formatted and sorted once at binding time. */
int step_bound_logs(const step_binding *b, const epoch_acc *acc, nnc_logs *out, nnc_status *st);

void step_binding_free(nnc_model *m);

#endif
