/* compiler/lower — layers to primitive ops.
 *
 * Builds the phase-agnostic forward graph once: inputs, layers, the loss as
 * one composite LOSS node, the batch loss and every metric's batch
 * statistics (STAT effects). Dropout stays an explicit DROPOUT node until
 * passes/specialize makes a train or an inference graph of it. Shapes come
 * from the spec, or from the data when the spec has none (Keras builds
 * lazily the same way); parameter names and initializers do not depend on
 * which, so neither do initial weights. */
#ifndef NNC_LOWER_H
#define NNC_LOWER_H

#include "compiler/graph/graph.h"
#include "compiler/spec/spec.h"

typedef struct nnc_lowered {
  nnc_program prog;
  nnc_graph forward;
  int x, y;   /* INPUT nodes */
  int y_pred; /* the model output (after its activation) */
  int loss;   /* scalar batch loss (-1 without a compile config) */
} nnc_lowered;

/* x_inner / y_inner: per-sample shapes of the data; NULL when unknown (a
 * y_inner of rank 0 means targets shaped (N,)).
 * Without a compile config only the model part is lowered. */
int lower_model(const nnc_spec *spec, const nnc_spec_shape *x_inner, const nnc_spec_shape *y_inner,
                nnc_lowered *out, nnc_status *st);
void lowered_free(nnc_lowered *l);

#endif
