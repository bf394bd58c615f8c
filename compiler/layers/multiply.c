/* Multiply: elementwise over any number of inputs of one shape. */
#include "compiler/layers/merge.h"

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  return merge_lower(c, in, n_in, NNC_BIN_MUL, st);
}

const nnc_layer_class layer_multiply = {"Multiply", "multiply", 2, -1, merge_parse, lower, NULL};
