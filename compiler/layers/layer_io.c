/* Masks, tensor keyword arguments and several outputs of a layer call.
 *
 * Placeholder implementation: no value carries a mask yet, calls have no
 * tensor keyword arguments, and a second output is refused with a clear
 * message. The lowering (compiler/lower) fills layer_call.io once masks,
 * tensor kwargs and multi-output calls are parsed. */
#include "compiler/layers/layer.h"

int layer_input_mask(const layer_call *c, int k) {
  (void)c, (void)k;
  return -1;
}

void layer_set_output_mask(layer_call *c, int mask) {
  (void)c, (void)mask;
}

int layer_kwarg_tensor(const layer_call *c, const char *name, int item) {
  (void)c, (void)name, (void)item;
  return -1;
}

int layer_set_extra_output(layer_call *c, int index, int node, nnc_status *st) {
  (void)node;
  return layer_fail(c, st, "layer \"%s\" with a second output (output %d) is not supported yet",
                    c->layer->name, index);
}

int layer_kwarg_bool(const layer_call *c, const char *name, int dflt) {
  (void)c, (void)name;
  return dflt;
}
