#ifndef NNC_LOWER_INTERNAL_H
#define NNC_LOWER_INTERNAL_H

#include "compiler/lower/lower.h"

int lower_activation(nnc_graph *g, int x, nnc_activation act, const char *layer, nnc_status *st);
int lower_loss_and_metrics(nnc_lowered *l, const nnc_spec *spec, const nnc_data_shapes *data,
                           nnc_status *st);

#endif
