/* Regularization losses (Keras 3 Layer.losses): weight penalties of trainable
 * weights and activity penalties of layer outputs, added to the total loss. */
#ifndef NNC_LOWER_REGULARIZERS_H
#define NNC_LOWER_REGULARIZERS_H

#include "compiler/lower/lower.h"
#include "compiler/spec/spec.h"

/* The scalar penalty r(x) (keras/src/regularizers/regularizers.py); -1 with
 * st set on error (OrthogonalRegularizer on a weight that is not a matrix). */
int regularizer_penalty(nnc_graph *g, const nnc_spec_regularizer *r, int x, const char *source,
                        nnc_status *st);
/* Record r(param) (a trainable weight's regularizer) or r(output) / batch
 * size (an activity regularizer, Layer.__call__) for lower_regularizers.
 * Nothing for NNC_REG_NONE. NNC_OK or an error code. */
int lower_weight_regularizer(nnc_lowered *l, const nnc_spec_regularizer *r, int param,
                             const char *source, nnc_status *st);
int lower_activity_regularizer(nnc_lowered *l, const nnc_spec_regularizer *r, int output,
                               const char *source, nnc_status *st);
/* total + the activity penalties (in call order) + the weight penalties (in
 * weight order), as Trainer.compute_loss sums compile loss and model.losses.
 * Returns the new total node (total itself when there is nothing), -1 on error. */
int lower_regularizers(nnc_lowered *l, int total, nnc_status *st);

#endif
