/* Models with None axes are built for the data's sizes, so what Keras knows
 * symbolically is found by lowering the model part a second time with every
 * None axis twice as long (doubling keeps whatever divisibility the data
 * has, so strided and pooled models still lower): a weight whose shape
 * changes depends on a None axis, which Keras refuses when it builds the
 * layer ("The last dimension of the inputs to a Dense layer should be
 * defined. Found None."); a summary dimension that changes is None. */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/shape.h"
#include "compiler/lower/none_axes.h"

/* The path of the layer named `name`, in spec or a model nested in it. */
static const char *layer_path(const nnc_spec *spec, const char *name) {
  for (int i = 0; i < spec->n_layers; i++) {
    const nnc_spec_layer *l = &spec->layers[i];
    if (!strcmp(l->name, name)) return l->path;
    if (l->kind == NNC_LAYER_MODEL && l->params) {
      const char *p = layer_path(l->params, name);
      if (p) return p;
    }
  }
  return NULL;
}

static void format_unbatched(const nnc_shape *s, char *buf, size_t n) {
  nnc_shape u = *s;
  u.batched = 0;
  shape_format(&u, buf, n);
}

static void format_input(const nnc_spec_shape *s, char *buf, size_t n) {
  nnc_shape b = {0};
  b.rank = s->rank + 1;
  b.batched = 1;
  for (int i = 0; i < s->rank; i++) b.dims[i + 1] = s->dims[i];
  shape_format_keras(&b, buf, n);
}

static int weight_depends(const nnc_spec *spec, const nnc_data_shapes *data,
                          const nnc_data_shapes *probe, const nnc_param_info *a,
                          const nnc_param_info *b, nnc_status *st) {
  /* name the first input with a None axis: the usual (and Keras's) case */
  int k = 0;
  const nnc_spec_layer *decl = NULL;
  for (; k < spec->n_inputs; k++) {
    decl = spec_input_declaration(spec, k);
    int none = 0;
    for (int i = 0; decl && i < decl->input_shape.rank; i++) none |= decl->input_shape.dims[i] < 0;
    if (none) break;
  }
  char declared[96] = "", one[96], other[96], wa[96], wb[96];
  if (decl) format_input(&decl->input_shape, declared, sizeof declared);
  format_input(&data->inputs[k < data->n_inputs ? k : 0], one, sizeof one);
  format_input(&probe->inputs[k < probe->n_inputs ? k : 0], other, sizeof other);
  format_unbatched(&a->shape, wa, sizeof wa);
  format_unbatched(&b->shape, wb, sizeof wb);
  const char *path = layer_path(spec, a->layer);
  return nnc_fail(st, NNC_ERR_SPEC,
                  "%s: %s: layer \"%s\" cannot be built on a None axis: its weight \"%s\" would "
                  "depend on the size of that axis of input \"%s\" %s (%s for inputs %s, %s for "
                  "%s); Keras refuses it too: give that axis a size in the input shape",
                  spec->source, path ? path : "$", a->layer, a->weight,
                  spec_input_name(spec, k < spec->n_inputs ? k : 0), declared, wa, one, wb, other);
}

int none_axes_check(const nnc_spec *spec, const nnc_data_shapes *data, nnc_program *prog,
                    nnc_status *st) {
  if (!spec_has_none_axes(spec) || !data || data->n_inputs < 1) return NNC_OK;
  int n = data->n_inputs;
  nnc_spec_shape *doubled = nnc_calloc((size_t)n + 1, sizeof *doubled, st);
  if (!doubled) return st->code;
  for (int k = 0; k < n; k++) {
    doubled[k] = data->inputs[k];
    const nnc_spec_layer *decl = spec_input_declaration(spec, k);
    if (!decl || decl->input_shape.rank != doubled[k].rank) continue;
    for (int i = 0; i < doubled[k].rank; i++)
      if (decl->input_shape.dims[i] < 0) doubled[k].dims[i] *= 2;
  }
  nnc_data_shapes probe = {n, doubled, 0, NULL, NULL};
  nnc_spec model_only = *spec; /* shallow: lower_model only reads it */
  model_only.compile.present = 0;
  nnc_lowered other;
  nnc_status ignored;
  /* a model the doubled sizes do not fit (a Reshape to a fixed size) tells nothing */
  if (lower_model(&model_only, &probe, &other, &ignored)) {
    free(doubled);
    return NNC_OK;
  }
  int rc = NNC_OK;
  for (int i = 0; i < prog->n_params && i < other.prog.n_params && !rc; i++)
    if (!shape_equal(&prog->params[i].shape, &other.prog.params[i].shape))
      rc = weight_depends(spec, data, &probe, &prog->params[i], &other.prog.params[i], st);
  for (int i = 0; !rc && i < prog->n_layers && i < other.prog.n_layers; i++) {
    nnc_shape *s = &prog->layers[i].out_shape;
    const nnc_shape *t = &other.prog.layers[i].out_shape;
    for (int d = 1; s->rank == t->rank && d < s->rank; d++)
      if (s->dims[d] != t->dims[d]) s->dims[d] = -1;
  }
  lowered_free(&other);
  free(doubled);
  return rc;
}
