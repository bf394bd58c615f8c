/* Average: the sum of the inputs (one shape) divided by their count. */
#include "compiler/layers/merge.h"

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  int sum = merge_lower(c, in, n_in, NNC_BIN_ADD, st);
  if (sum < 0 || n_in == 1) return sum;
  nnc_graph *g = &c->l->forward;
  int n = graph_const(g, (double)n_in, st);
  int y = n < 0 ? -1 : graph_binary(g, NNC_BIN_DIV, sum, n, st);
  layer_label(g, y, c->layer->name, "average");
  return y;
}

const nnc_layer_class layer_average = {"Average", "average", 2, -1, merge_parse, lower, NULL};
