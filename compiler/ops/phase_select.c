/* PHASE_SELECT: in[0] in the train graph, in[1] in the inference graphs.
 * Layers whose training behaviour differs (BatchNormalization: batch or
 * moving statistics; the noise layers: noisy or identity) lower both values;
 * pass_specialize keeps one and DCE removes the other. */
#include "compiler/ops/op.h"

static int phase_select_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_shape *a = &g->nodes[n->in[0]].shape, *b = &g->nodes[n->in[1]].shape;
  if (!shape_equal(a, b)) return op_shape_error(g, n, st, "phase_select values differ in shape");
  n->shape = *a;
  return NNC_OK;
}

const nnc_op_def op_phase_select = {.name = "phase_select",
                                    .arity = 2,
                                    .cls = NNC_CLASS_PHASED,
                                    .shape = phase_select_shape,
                                    .grad = grad_lowered_first};
