/* What a layer call's io (layer.h's layer_io functions) holds: filled by the
 * lowering (compiler/lower/lower.c) before the lower hook runs, read back
 * after it. Only lower.c and layer_io.c look inside. */
#ifndef NNC_LAYERS_LAYER_IO_H
#define NNC_LAYERS_LAYER_IO_H

#include "compiler/layers/layer.h"

struct layer_io {
  const nnc_spec_call *call;
  int n_in;
  const int *in;       /* the call's input nodes: an explicit mask= is checked against them */
  const int *in_masks; /* per positional input: its mask node, -1: none */
  int **kwarg_nodes;   /* per call kwarg: the node of each tensor item, -1: a null item */
  int **kwarg_masks;   /* per call kwarg: the mask of each tensor item, -1: none */
  char *kwarg_read;    /* per call kwarg: 1 once the layer asked for it */
  int out_mask_set;    /* layer_set_output_mask was called */
  int out_mask;
  int n_extra; /* outputs 1..n_extra, registered by layer_set_extra_output */
  int *extra;  /* heap: node of output k at extra[k - 1], -1: not registered */
  /* the first error met by a function without a status (layer_input_mask):
   * layer_io_finish returns it */
  nnc_status deferred;
};

/* After the lower hook: the mask of the call's output (the layer's choice,
 * else Keras's default for its class: layer_mask.c), -1: none; and a
 * refusal of any keyword argument the layer did not read. -1 on error (st). */
int layer_io_finish(layer_call *c, int y, int *out_mask, nnc_status *st);

/* Masks by class (layer_mask.c): what a call's output mask is when the
 * layer does not set it, and the 0/1 float mask node helpers. */
int layer_default_mask(layer_call *c, int y, int *out_mask, nnc_status *st);

#endif
