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

/* Per-sample shapes of the data (without the batch axis), when known. */
typedef struct nnc_data_shapes {
  int n_inputs; /* 0: unknown; else one per model input, in order */
  const nnc_spec_shape *inputs;
  int n_targets;                 /* 0: unknown; else one per model OUTPUT, in order */
  const nnc_spec_shape *targets; /* rank -1: no target data for that output */
  /* NULL, or one per model OUTPUT: rank -1 no sample weights for it, 0 one
   * weight per sample, r per-sample weights of that shape (timesteps) */
  const nnc_spec_shape *sample_weights;
} nnc_data_shapes;

typedef struct nnc_lowered {
  nnc_program prog;
  nnc_graph forward;
  int x, y;          /* INPUT nodes (first input, first target) */
  int y_pred;        /* the first model output (after its activation) */
  int *output_nodes; /* the model outputs' nodes, prog.n_outputs of them */
  int loss;          /* scalar batch loss as reported (-1 without a compile config) */
  /* per output: the INPUT node of its sample weights, or -1 (heap,
   * prog.n_outputs of them; NULL without a compile config) */
  int *sample_weight;
  /* regularization losses (lower_regularizers.c), scalar nodes */
  int *activity_penalties, n_activity_penalties;
  int *weight_penalties, n_weight_penalties;
  /* per output: its Keras mask node [B, T] (1 keep, 0 masked), or -1 (heap,
   * prog.n_outputs of them): the loss and metrics of a masked output skip
   * the masked steps (lower_loss.c) */
  int *output_masks;
  /* the spec has a compile config: a train graph will be built from this one
   * (a layer whose train-phase call Keras cannot run refuses it then) */
  int trains;
} nnc_lowered;

/* data: per-sample shapes of the data; NULL when unknown (a target of
 * rank 0 means targets shaped (N,)).
 * Without a compile config only the model part is lowered. */
int lower_model(const nnc_spec *spec, const nnc_data_shapes *data, nnc_lowered *out,
                nnc_status *st);
void lowered_free(nnc_lowered *l);

#endif
