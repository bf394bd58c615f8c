#ifndef NNC_LOWER_INTERNAL_H
#define NNC_LOWER_INTERNAL_H

#include "compiler/lower/lower.h"

int lower_activation(nnc_graph *g, int x, nnc_activation act, const char *layer, nnc_status *st);
/* log_softmax over the last axis (the activation and the Softmax-like layers). */
int lower_log_softmax(nnc_graph *g, int x, nnc_status *st);
/* What each output gets from the compile config (lower_outputs.c). */
typedef struct lower_output_plan {
  int has_loss;
  nnc_spec_loss loss;
  int has_weight; /* loss_weights gave one (else 1, no multiply) */
  double weight;
  int has_metrics;
} lower_output_plan;

typedef struct lower_metric_ref {
  const nnc_spec_metric *metric;
  int output;
  char key[NNC_NAME_MAX]; /* the log key */
} lower_metric_ref;

typedef struct lower_plan {
  int n_outputs;
  lower_output_plan *outputs;
  int n_loss_keys; /* outputs logging "<output>_loss": 0 unless two or more */
  int n_metrics;   /* in log order: by output, then as written */
  lower_metric_ref *metrics;
} lower_plan;

int lower_plan_outputs(const nnc_spec *spec, const nnc_program *prog, lower_plan *out,
                       nnc_status *st);
void lower_plan_free(lower_plan *p);

int lower_loss_and_metrics(nnc_lowered *l, const nnc_spec *spec, const nnc_data_shapes *data,
                           nnc_status *st);

#endif
