/* Weight constraints (Keras 3 keras/src/constraints/constraints.py), applied
 * as BaseOptimizer.apply does: after the update, the variable is assigned
 * constraint(variable). */
#ifndef NNC_CONSTRAINTS_H
#define NNC_CONSTRAINTS_H

#include "compiler/graph/graph.h"

/* The norm's axes of c fit a weight of this shape (checked when the layer is
 * lowered): NNC_ERR_SPEC naming c->path otherwise. */
int constraint_check(const nnc_spec_constraint *c, const nnc_shape *weight, const char *source,
                     nnc_status *st);

/* requires: the optimizer pass ran. provides: every ASSIGN to a parameter
 * with a constraint assigns constraint(value) instead (a new ASSIGN at the
 * end; the old one dead), the new nodes flagged NNC_NODE_UPDATE. */
int autodiff_constraints(nnc_graph *g, const nnc_program *prog, nnc_status *st);

#endif
