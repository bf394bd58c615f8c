/* Masks, tensor keyword arguments and several outputs of a layer call: the
 * layer_io functions of layer.h over the struct layer_io the lowering fills
 * (layer_io.h). */
#include "compiler/layers/layer_io.h"

#include <string.h>

#include "base/base.h"

/* The index of kwarg `name` in the call, -1 when the call does not give it;
 * marks it read. */
static int kwarg_index(const layer_call *c, const char *name) {
  const struct layer_io *io = c->io;
  if (!io || !io->call) return -1;
  for (int k = 0; k < io->call->n_kwargs; k++)
    if (strcmp(io->call->kwargs[k].name, name) == 0) {
      io->kwarg_read[k] = 1;
      return k;
    }
  return -1;
}

/* Item k of an explicit mask= as a 0/1 mask of input k: any tensor the
 * graph computes may be passed, and Keras casts it to bool (NaN and 2.5 keep
 * the step, as 1 does). It must have the input's shape without its last
 * axis (one entry per step); else the call is refused (by layer_io_finish,
 * with the item's path) and the input is taken as unmasked. */
static int explicit_mask(const layer_call *c, int m, int k) {
  struct layer_io *io = c->io;
  const nnc_spec_kwarg *kw = &io->call->kwargs[m];
  int node = k < kw->n && !kw->is_scalar ? io->kwarg_nodes[m][k] : -1;
  if (node < 0 || io->deferred.code != NNC_OK) return -1;
  nnc_graph *g = &c->l->forward;
  const nnc_shape *ms = &g->nodes[node].shape;
  if (io->in && k < io->n_in) {
    const nnc_shape *xs = &g->nodes[io->in[k]].shape;
    int fits = ms->batched == xs->batched && ms->rank == xs->rank - 1;
    for (int d = 1; fits && d < ms->rank; d++) fits = ms->dims[d] == xs->dims[d];
    if (!fits) {
      nnc_shape want = *xs;
      want.rank = xs->rank - 1;
      char w[96], have[96];
      shape_format(&want, w, sizeof w);
      shape_format(ms, have, sizeof have);
      nnc_fail(&io->deferred, NNC_ERR_SPEC,
               "%s: %s: expected a mask of shape %s for input %d of %s \"%s\" (its shape without "
               "the last axis: one entry per step), got %s",
               c->spec->source, kw->paths[k], w, k, layer_class(c->layer->kind)->class_name,
               c->layer->name, have);
      return -1;
    }
  }
  return graph_binary(g, NNC_BIN_NE, node, graph_const(g, 0.0, &io->deferred), &io->deferred);
}

int layer_input_mask(const layer_call *c, int k) {
  const struct layer_io *io = c->io;
  if (!io || k < 0) return -1;
  /* an explicit mask= overrides the inputs' own (Keras's Layer.__call__) */
  int m = kwarg_index(c, "mask");
  if (m >= 0) return explicit_mask(c, m, k);
  return k < io->n_in && io->in_masks ? io->in_masks[k] : -1;
}

void layer_set_output_mask(layer_call *c, int mask) {
  if (!c->io) return;
  c->io->out_mask_set = 1;
  c->io->out_mask = mask;
}

int layer_kwarg_tensor(const layer_call *c, const char *name, int item) {
  int k = kwarg_index(c, name);
  if (k < 0 || item < 0) return -1;
  const nnc_spec_kwarg *kw = &c->io->call->kwargs[k];
  return !kw->is_scalar && item < kw->n ? c->io->kwarg_nodes[k][item] : -1;
}

int layer_kwarg_mask(const layer_call *c, const char *name, int item) {
  int k = kwarg_index(c, name);
  if (k < 0 || item < 0 || !c->io->kwarg_masks) return -1;
  const nnc_spec_kwarg *kw = &c->io->call->kwargs[k];
  return !kw->is_scalar && item < kw->n ? c->io->kwarg_masks[k][item] : -1;
}

int layer_kwarg_scalar(const layer_call *c, const char *name, double *value) {
  int k = kwarg_index(c, name);
  if (k < 0 || !c->io->call->kwargs[k].is_scalar) return 0;
  *value = c->io->call->kwargs[k].scalar;
  return 1;
}

int layer_set_extra_output(layer_call *c, int index, int node, nnc_status *st) {
  struct layer_io *io = c->io;
  if (index < 1)
    return nnc_fail(st, NNC_ERR_INTERNAL, "layer \"%s\": extra output index %d (from 1)",
                    c->layer->name, index);
  if (!io)
    return layer_fail(c, st, "layer \"%s\" with a second output (output %d) is not supported here",
                      c->layer->name, index);
  if (index > io->n_extra) {
    int *grown = nnc_realloc_array(io->extra, (size_t)index, sizeof *grown, st);
    if (!grown) return -1;
    for (int k = io->n_extra; k < index; k++) grown[k] = -1;
    io->extra = grown;
    io->n_extra = index;
  }
  io->extra[index - 1] = node;
  return NNC_OK;
}

int layer_io_finish(layer_call *c, int y, int *out_mask, nnc_status *st) {
  struct layer_io *io = c->io;
  const nnc_spec_call *call = io->call;
  *out_mask = io->out_mask;
  if (io->deferred.code == NNC_OK && !io->out_mask_set && layer_default_mask(c, y, out_mask, st))
    return -1;
  if (io->deferred.code != NNC_OK) {
    *st = io->deferred;
    return -1;
  }
  for (int k = 0; call && k < call->n_kwargs; k++) {
    const nnc_spec_kwarg *kw = &call->kwargs[k];
    if (!io->kwarg_read[k] || strcmp(kw->name, "mask") != 0) continue;
    if (kw->is_scalar || kw->n > io->n_in)
      return nnc_fail(st, NNC_ERR_SPEC,
                      "%s: %s: expected a mask tensor per input of %s \"%s\" (%d), got %s",
                      c->spec->source, kw->path, layer_class(c->layer->kind)->class_name,
                      c->layer->name, io->n_in, kw->is_scalar ? "a number or a bool" : "more");
  }
  for (int k = 0; call && k < call->n_kwargs; k++) {
    const nnc_spec_kwarg *kw = &call->kwargs[k];
    if (io->kwarg_read[k]) continue;
    return nnc_fail(st, NNC_ERR_SPEC,
                    "%s: %s: expected no call argument \"%s\" for %s \"%s\" (it does not take "
                    "one; only training: false and mask: null are understood by every layer)",
                    c->spec->source, kw->path, kw->name, layer_class(c->layer->kind)->class_name,
                    c->layer->name);
  }
  return NNC_OK;
}

int layer_kwarg_bool(const layer_call *c, const char *name, int dflt) {
  double v;
  return layer_kwarg_scalar(c, name, &v) ? v != 0 : dflt;
}
