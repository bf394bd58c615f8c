/* compiler/lower — what Keras knows of a model with None axes (none_axes.c). */
#ifndef NNC_NONE_AXES_H
#define NNC_NONE_AXES_H

#include "compiler/lower/lower.h"

/* For a spec whose declared input shapes have None axes, lowered into prog
 * for data's sizes: fails (NNC_ERR_SPEC, naming the layer) when a weight's
 * shape depends on a None axis, as Keras refuses to build such a layer; marks
 * the summary dimensions that follow a None axis as None (-1). Nothing for a
 * spec without None axes. */
int none_axes_check(const nnc_spec *spec, const nnc_data_shapes *data, nnc_program *prog,
                    nnc_status *st);

#endif
