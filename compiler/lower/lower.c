/* Lowering of the layer chain: Dense, Activation, Dropout, Flatten. */
#include "compiler/lower/lower.h"

#include <stdlib.h>
#include <string.h>

#include "compiler/lower/lower_internal.h"
#include "base/base.h"
#include "base/rng.h"

void program_free(nnc_program *p) {
  free(p->params);
  free(p->slots);
  for (int i = 0; i < p->n_layers; i++) free(p->layers[i].connected);
  free(p->layers);
  free(p->inputs);
  free(p->targets);
  free(p->outputs);
  free(p->stat_kinds);
  free(p->metrics);
  memset(p, 0, sizeof *p);
}

int program_add_io(nnc_io_info **list, int *n, const char *name, nnc_shape shape, int64_t classes,
                   int output, nnc_status *st) {
  nnc_io_info *grown = nnc_realloc_array(*list, (size_t)*n + 1, sizeof *grown, st);
  if (!grown) return st->code;
  *list = grown;
  nnc_io_info *io = &grown[(*n)++];
  memset(io, 0, sizeof *io);
  nnc_strlcpy(io->name, name, sizeof io->name);
  io->shape = shape;
  io->classes = classes;
  io->output = output;
  return NNC_OK;
}

void lowered_free(nnc_lowered *l) {
  program_free(&l->prog);
  graph_free(&l->forward);
  free(l->output_nodes);
  l->output_nodes = NULL;
}

static int add_param(nnc_lowered *l, const nnc_spec_layer *layer, const char *weight,
                     nnc_shape shape, const nnc_spec_init *init, nnc_status *st) {
  nnc_program *p = &l->prog;
  nnc_param_info *grown = nnc_realloc_array(p->params, (size_t)p->n_params + 1, sizeof *grown, st);
  if (!grown) return -1;
  p->params = grown;
  nnc_param_info *info = &p->params[p->n_params];
  memset(info, 0, sizeof *info);
  snprintf(info->name, sizeof info->name, "%s/%s", layer->name, weight);
  nnc_strlcpy(info->layer, layer->name, sizeof info->layer);
  nnc_strlcpy(info->weight, weight, sizeof info->weight);
  info->shape = shape;
  info->count = shape_inner(&shape);
  info->offset = p->params_floats;
  info->init = *init;
  info->trainable = 1;
  p->params_floats += info->count;
  return graph_source(&l->forward, NNC_OP_PARAM, p->n_params++, shape, info->name, st);
}

static int add_layer_info(nnc_program *p, const nnc_spec_layer *layer, const char *kind,
                          nnc_shape out, int64_t n_params, nnc_status *st) {
  nnc_layer_info *grown = nnc_realloc_array(p->layers, (size_t)p->n_layers + 1, sizeof *grown, st);
  if (!grown) return NNC_ERR_NOMEM;
  p->layers = grown;
  nnc_layer_info *info = &p->layers[p->n_layers++];
  nnc_strlcpy(info->name, layer->name, sizeof info->name);
  nnc_strlcpy(info->kind, kind, sizeof info->kind);
  info->out_shape = out;
  info->n_params = info->n_trainable = n_params;
  info->connected = NULL;
  return NNC_OK;
}

static void set_label(nnc_graph *g, int id, const char *layer, const char *what) {
  if (id >= 0) snprintf(g->nodes[id].label, sizeof g->nodes[id].label, "%.60s/%.30s", layer, what);
}

int lower_activation(nnc_graph *g, int x, nnc_activation act, const char *layer, nnc_status *st) {
  static const int unary_of[NNC_ACT_COUNT] = {
      [NNC_ACT_LINEAR] = -1,
      [NNC_ACT_RELU] = NNC_FN_RELU,
      [NNC_ACT_SIGMOID] = NNC_FN_SIGMOID,
      [NNC_ACT_TANH] = NNC_FN_TANH,
      [NNC_ACT_SOFTMAX] = -1,
      [NNC_ACT_ELU] = NNC_FN_ELU,
      [NNC_ACT_SELU] = NNC_FN_SELU,
      [NNC_ACT_SOFTPLUS] = NNC_FN_SOFTPLUS,
      [NNC_ACT_SOFTSIGN] = NNC_FN_SOFTSIGN,
      [NNC_ACT_SWISH] = NNC_FN_SWISH,
      [NNC_ACT_GELU] = NNC_FN_GELU,
      [NNC_ACT_LEAKY_RELU] = NNC_FN_LEAKY_RELU,
      [NNC_ACT_EXPONENTIAL] = NNC_FN_EXP,
      [NNC_ACT_HARD_SIGMOID] = NNC_FN_HARD_SIGMOID,
  };
  int y;
  if (act == NNC_ACT_LINEAR) return x;
  if (act == NNC_ACT_SOFTMAX)
    y = graph_softmax(g, x, st);
  else if (act == NNC_ACT_LEAKY_RELU)
    y = graph_leaky_relu(g, x, 0.2, st);
  else
    y = graph_unary(g, (nnc_fn)unary_of[act], x, st);
  set_label(g, y, layer, nnc_activation_name(act));
  return y;
}

static int shape_mismatch(const nnc_spec *spec, const char *path, const nnc_spec_shape *declared,
                          const nnc_shape *actual, nnc_status *st) {
  char got[64], want[64];
  shape_format(actual, got, sizeof got);
  nnc_shape d = {0};
  d.rank = declared->rank + 1;
  d.batched = 1;
  d.dims[0] = -1;
  for (int i = 0; i < declared->rank; i++) d.dims[i + 1] = declared->dims[i];
  shape_format(&d, want, sizeof want);
  return nnc_fail(st, NNC_ERR_SPEC, "%s: %s: declared input shape %s does not match %s",
                  spec->source, path, want, got);
}

static int spec_shape_matches(const nnc_spec_shape *s, const nnc_shape *actual) {
  if (s->rank + 1 != actual->rank) return 0;
  for (int i = 0; i < s->rank; i++)
    if (s->dims[i] >= 0 && s->dims[i] != actual->dims[i + 1]) return 0;
  return 1;
}

static nnc_shape batched_from(const nnc_spec_shape *inner) {
  int64_t d[NNC_MAX_RANK] = {-1};
  for (int i = 0; i < inner->rank; i++) d[i + 1] = inner->dims[i];
  return shape_make(1, inner->rank + 1, d);
}

static int lower_dense(nnc_lowered *l, const nnc_spec_layer *layer, int x, nnc_status *st) {
  nnc_graph *g = &l->forward;
  int64_t in = shape_last(&g->nodes[x].shape);
  int64_t kd[2] = {in, layer->units};
  int w = add_param(l, layer, "kernel", shape_make(0, 2, kd), &layer->kernel_init, st);
  if (w < 0) return -1;
  int in2[2] = {x, w};
  int h = graph_add(g, NNC_OP_MATMUL, 0, in2, 2, st);
  set_label(g, h, layer->name, "matmul");
  if (h >= 0 && layer->use_bias) {
    int b = add_param(l, layer, "bias", shape_make(0, 1, &layer->units), &layer->bias_init, st);
    if (b < 0) return -1;
    h = graph_binary(g, NNC_BIN_ADD, h, b, st);
    set_label(g, h, layer->name, "bias");
  }
  if (h < 0) return -1;
  int64_t n_params = in * layer->units + (layer->use_bias ? layer->units : 0);
  int y = lower_activation(g, h, layer->activation, layer->name, st);
  if (y < 0 || add_layer_info(&l->prog, layer, "Dense", g->nodes[y].shape, n_params, st)) return -1;
  return y;
}

static int lower_layer(nnc_lowered *l, const nnc_spec *spec, const nnc_spec_layer *layer, int x,
                       nnc_status *st) {
  nnc_graph *g = &l->forward;
  const nnc_shape *in_shape = &g->nodes[x].shape;
  if (layer->has_declared_input && !spec_shape_matches(&layer->declared_input, in_shape))
    return shape_mismatch(spec, layer->declared_input_path, &layer->declared_input, in_shape, st),
           -1;
  int y = -1;
  switch (layer->kind) {
  case NNC_LAYER_INPUT:
    return x;
  case NNC_LAYER_DENSE:
    return lower_dense(l, layer, x, st);
  case NNC_LAYER_ACTIVATION:
    y = lower_activation(g, x, layer->activation, layer->name, st);
    if (y >= 0 && add_layer_info(&l->prog, layer, "Activation", g->nodes[y].shape, 0, st))
      return -1;
    return y;
  case NNC_LAYER_DROPOUT: {
    char stream[NNC_NAME_MAX + 16];
    snprintf(stream, sizeof stream, "dropout/%s", layer->name);
    y = graph_dropout(g, x, layer->rate, nnc_stream_key(0, stream), st);
  }
    if (y < 0) return -1;
    set_label(g, y, layer->name, "dropout");
    if (add_layer_info(&l->prog, layer, "Dropout", g->nodes[y].shape, 0, st)) return -1;
    return y;
  case NNC_LAYER_FLATTEN: {
    if (in_shape->rank < 2) {
      nnc_fail(st, NNC_ERR_SPEC, "%s: %s: Flatten needs an input with a batch axis", spec->source,
               layer->path);
      return -1;
    }
    y = graph_add(g, NNC_OP_RESHAPE, 0, &x, 1, st);
    if (y < 0) return -1;
    int64_t d[2] = {-1, shape_inner(in_shape)};
    g->nodes[y].shape = shape_make(1, 2, d);
    set_label(g, y, layer->name, "flatten");
    if (add_layer_info(&l->prog, layer, "Flatten", g->nodes[y].shape, 0, st)) return -1;
    return y;
  }
  }
  nnc_fail(st, NNC_ERR_INTERNAL, "%s: unknown layer kind", layer->path);
  return -1;
}

/* The input shape: declared by the spec, else taken from the data. */
static int input_shape(const nnc_spec *spec, const nnc_spec_shape *x_inner, nnc_shape *out,
                       nnc_status *st) {
  for (int i = 0; i < spec->n_layers; i++) {
    const nnc_spec_layer *layer = &spec->layers[i];
    if (!layer->has_input_shape) continue;
    *out = batched_from(&layer->input_shape);
    for (int d = 1; d < out->rank; d++)
      if (out->dims[d] < 0) {
        if (!x_inner || x_inner->rank != layer->input_shape.rank)
          return nnc_fail(st, NNC_ERR_SPEC,
                          "%s: %s: input dimension %d is None; give data to fix it", spec->source,
                          layer->path, d);
        out->dims[d] = x_inner->dims[d - 1];
      }
    if (x_inner && x_inner->rank > 0 && !spec_shape_matches(x_inner, out)) {
      char want[64];
      shape_format(out, want, sizeof want);
      {
        nnc_shape got = batched_from(x_inner);
        char have[64];
        shape_format(&got, have, sizeof have);
        return nnc_fail(st, NNC_ERR_DATA,
                        "%s: %s: the model expects inputs of shape %s, the data is %s",
                        spec->source, layer->path, want, have);
      }
    }
    return NNC_OK;
  }
  if (!x_inner || x_inner->rank == 0)
    return nnc_fail(st, NNC_ERR_SPEC,
                    "%s: $: the model declares no input shape (no InputLayer, batch_input_shape or "
                    "input_shape); give data to build it (nnc compile: --input-shape)",
                    spec->source);
  *out = batched_from(x_inner);
  return NNC_OK;
}

int lower_model(const nnc_spec *spec, const nnc_data_shapes *data, nnc_lowered *l, nnc_status *st) {
  const nnc_spec_shape *x_inner = data && data->n_inputs > 0 ? &data->inputs[0] : NULL;
  memset(l, 0, sizeof *l);
  l->loss = l->y = -1;
  if (graph_init(&l->forward, "forward", st)) return st->code;
  nnc_shape xs;
  if (input_shape(spec, x_inner, &xs, st)) goto fail;
  /* data validation against this shape happens in the runtime */
  const char *in_name = spec->n_layers && spec->layers[0].kind == NNC_LAYER_INPUT
                            ? spec->layers[0].name
                            : "input_layer";
  if (program_add_io(&l->prog.inputs, &l->prog.n_inputs, in_name, xs, 0, -1, st)) goto fail;
  l->x = graph_source(&l->forward, NNC_OP_INPUT, 0, xs, "x", st);
  int h = l->x;
  for (int i = 0; i < spec->n_layers && h >= 0; i++) {
    h = lower_layer(l, spec, &spec->layers[i], h, st);
  }
  if (h < 0) goto fail;
  l->y_pred = h;
  l->output_nodes = nnc_calloc(1, sizeof *l->output_nodes, st);
  if (!l->output_nodes) goto fail;
  l->output_nodes[0] = h;
  const char *out_name = spec->n_layers ? spec->layers[spec->n_layers - 1].name : in_name;
  if (program_add_io(&l->prog.outputs, &l->prog.n_outputs, out_name, l->forward.nodes[h].shape, 0,
                     -1, st))
    goto fail;
  if (spec->compile.present && lower_loss_and_metrics(l, spec, data, st)) goto fail;
  return NNC_OK;
fail:
  if (st->code == NNC_OK) nnc_fail(st, NNC_ERR_INTERNAL, "lowering failed");
  lowered_free(l);
  return st->code;
}
