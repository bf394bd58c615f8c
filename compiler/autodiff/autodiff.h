/* compiler/autodiff — reverse-mode differentiation of a train graph and the
 * optimizer update built on the gradients. */
#ifndef NNC_AUTODIFF_H
#define NNC_AUTODIFF_H

#include "compiler/graph/graph.h"

/* requires: a decomposed train graph with g->loss set. provides: appended
 * gradient nodes; grads[p] = node of d loss / d param p (or -1). grads has
 * prog->n_params entries. */
int autodiff_backward(nnc_graph *g, const nnc_program *prog, int *grads, nnc_status *st);

/* Keras's optimizer.scale_loss (loss_scale_factor; compiler/optimizers/
 * apply.c): g->loss becomes loss x factor, so every gradient is the factor
 * times larger; autodiff_optimizer divides them by it again. Nothing
 * without a factor. */
int autodiff_scale_loss(nnc_graph *g, const nnc_spec_optimizer *opt, nnc_status *st);

/* Appends the optimizer update of Keras 3 (keras-semantics.md §4) for every
 * parameter with a gradient: slot reads, ASSIGN effects, flagged
 * NNC_NODE_UPDATE. Registers the slots in prog. */
int autodiff_optimizer(nnc_graph *g, nnc_program *prog, const nnc_spec_optimizer *opt,
                       const int *grads, nnc_status *st);

#endif
