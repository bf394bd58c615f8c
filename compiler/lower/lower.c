/* Lowering of the model graph: the inputs, then each layer call in
 * topological order through its class's lower hook (compiler/layers), then
 * the outputs, the loss and the metrics. */
#include "compiler/lower/lower.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/layers/layer.h"
#include "compiler/layers/layer_io.h"
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
  free(p->sample_weights);
  free(p->stat_kinds);
  for (int i = 0; i < p->n_metrics; i++) free(p->metrics[i].args);
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
  free(l->output_masks);
  l->output_masks = NULL;
  free(l->sample_weight);
  l->sample_weight = NULL;
  free(l->activity_penalties);
  free(l->weight_penalties);
  l->activity_penalties = l->weight_penalties = NULL;
  l->n_activity_penalties = l->n_weight_penalties = 0;
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

/* A layer built on several tensors declares one shape per input
 * (build_config.input_shape [[null, 8], [null, 8]], or each inbound keras
 * tensor's shape): they must be as many as the call's inputs, and match. */
static int check_declared_inputs(const nnc_spec *spec, const nnc_spec_layer *layer,
                                 const nnc_spec_call *call, const nnc_graph *g, const int *in,
                                 nnc_status *st) {
  if (layer->n_declared_inputs != call->n_args)
    return nnc_fail(st, NNC_ERR_SPEC,
                    "%s: %s: declares %d input shape%s, but \"%s\" is called on %d tensor%s",
                    spec->source, layer->declared_inputs[0].path, layer->n_declared_inputs,
                    layer->n_declared_inputs == 1 ? "" : "s", layer->name, call->n_args,
                    call->n_args == 1 ? "" : "s");
  for (int a = 0; a < call->n_args; a++) {
    const nnc_spec_declared *d = &layer->declared_inputs[a];
    if (!spec_shape_matches(&d->shape, &g->nodes[in[a]].shape))
      return shape_mismatch(spec, d->path, &d->shape, &g->nodes[in[a]].shape, st);
  }
  return NNC_OK;
}

static nnc_shape batched_from(const nnc_spec_shape *inner) {
  int64_t d[NNC_MAX_RANK] = {-1};
  for (int i = 0; i < inner->rank; i++) d[i + 1] = inner->dims[i];
  return shape_make(1, inner->rank + 1, d);
}

/* The shape of input k: declared by its InputLayer (or, in a Sequential
 * without one, by the first layer), else taken from the data. A None axis
 * of the declaration (a sequence length, an image size) takes the data's. */
static int input_shape(const nnc_spec *spec, int k, const nnc_spec_shape *x_inner, nnc_shape *out,
                       nnc_status *st) {
  const nnc_spec_layer *layer = spec_input_declaration(spec, k);
  if (layer) {
    *out = batched_from(&layer->input_shape);
    char want[96];
    shape_format_keras(out, want, sizeof want);
    for (int d = 1; d < out->rank; d++)
      if (out->dims[d] < 0 && (!x_inner || x_inner->rank == 0))
        return nnc_fail(st, NNC_ERR_SPEC,
                        "%s: %s: input \"%s\" %s has a None axis %d: give data, or its size "
                        "(nnc compile --input-shape)",
                        spec->source, layer->path, spec_input_name(spec, k), want, d);
    nnc_shape got = x_inner ? batched_from(x_inner) : *out;
    if (x_inner && x_inner->rank > 0 && !spec_shape_matches(&layer->input_shape, &got)) {
      char have[96];
      shape_format_keras(&got, have, sizeof have);
      return nnc_fail(st, NNC_ERR_DATA,
                      "%s: %s: the model expects inputs of shape %s, the data is %s", spec->source,
                      layer->path, want, have);
    }
    for (int d = 1; d < out->rank; d++) {
      if (out->dims[d] >= 0) continue;
      if (x_inner->dims[d - 1] < 1) /* an empty sequence or image: no step to run */
        return nnc_fail(st, NNC_ERR_DATA,
                        "%s: %s: input \"%s\" %s: the data's size on None axis %d is %lld: "
                        "expected at least 1",
                        spec->source, layer->path, spec_input_name(spec, k), want, d,
                        (long long)x_inner->dims[d - 1]);
      out->dims[d] = x_inner->dims[d - 1];
    }
    return NNC_OK;
  }
  if ((!x_inner || x_inner->rank == 0) && spec->inputs[k].layer >= 0)
    return nnc_fail(st, NNC_ERR_SPEC, "%s: %s: the InputLayer declares no shape", spec->source,
                    spec->layers[spec->inputs[k].layer].path);
  if (!x_inner || x_inner->rank == 0)
    return nnc_fail(st, NNC_ERR_SPEC,
                    "%s: $: the model declares no input shape (no InputLayer, batch_input_shape or "
                    "input_shape); give data to build it (nnc compile: --input-shape)",
                    spec->source);
  *out = batched_from(x_inner);
  return NNC_OK;
}

/* Per-layer state across its calls. */
typedef struct layer_state {
  int calls;       /* calls lowered so far */
  int first_param; /* program index of its first weight */
  int n_params;
  int row; /* its summary row, -1 before its first call */
  /* a nested model (or TimeDistributed of one): its layers' states, kept
   * across its calls so that every call reuses the first call's weights */
  struct layer_state *inner;
  int n_inner;
} layer_state;

static void layer_states_free(layer_state *s, int n) {
  for (int i = 0; s && i < n; i++) layer_states_free(s[i].inner, s[i].n_inner);
  free(s);
}

/* The lowering of one model: the top-level one, or a nested model inside it. */
typedef struct lowering {
  nnc_lowered *l;
  const nnc_spec *spec;
  const nnc_data_shapes *data;
  int *input_nodes; /* per model input */
  int *input_masks; /* per model input: its mask (a nested model's), -1: none */
  int *call_nodes;  /* per call: its output node */
  int *call_masks;  /* per call: the mask of its output 0, -1: none */
  int **call_extra; /* per call: nodes of its outputs 1.. (-1: not made), or NULL */
  int *n_call_extra;
  int **param_node; /* per program weight: its PARAM node (shared with nested models) */
  layer_state *layers;
  const char *scope;    /* "" at the top; "outer" inside nested model "outer" */
  int trainable;        /* 0 inside a frozen nested model */
  int training;         /* 0 inside a nested model called with training=False */
  int rows;             /* 1: write summary rows (the top level only) */
  int64_t param_floats; /* weights created, for a nested model's row */
  int64_t trainable_floats;
} lowering;

static int value_node(const lowering *w, nnc_spec_value v) {
  return v < 0 ? w->input_nodes[-1 - v] : w->call_nodes[v];
}

/* Output `tensor` of value v, referred to at `path`: -1 with st set when
 * its layer does not make that output. */
static int value_output(const lowering *w, nnc_spec_value v, int tensor, const char *path,
                        nnc_status *st) {
  if (tensor == 0) return value_node(w, v);
  const nnc_spec *spec = w->spec;
  int n = v >= 0 ? w->n_call_extra[v] : 0;
  if (v >= 0 && tensor <= n && w->call_extra[v][tensor - 1] >= 0)
    return w->call_extra[v][tensor - 1];
  const char *name = v >= 0 ? spec->layers[spec->calls[v].layer].name : "?";
  int outputs = 1;
  for (int k = 0; v >= 0 && k < n; k++)
    if (w->call_extra[v][k] >= 0) outputs = k + 2;
  nnc_fail(st, NNC_ERR_SPEC,
           "%s: %s: expected a tensor index below %d (this call of layer \"%s\" has %d "
           "output%s), got output %d",
           spec->source, path ? path : "$", outputs, name, outputs, outputs == 1 ? "" : "s",
           tensor);
  return -1;
}

/* The mask of output `tensor` of value v: only output 0 carries one. */
static int value_mask(const lowering *w, nnc_spec_value v, int tensor) {
  if (tensor != 0) return -1;
  if (v < 0) return w->input_masks ? w->input_masks[-1 - v] : -1;
  return w->call_masks[v];
}

/* The call's io: its inputs' masks and its keyword arguments' nodes. */
static int io_init(const lowering *w, const nnc_spec_call *call, struct layer_io *io,
                   nnc_status *st) {
  memset(io, 0, sizeof *io);
  io->call = call;
  io->n_in = call->n_args;
  io->out_mask = -1;
  int *masks = nnc_calloc((size_t)call->n_args + 1, sizeof *masks, st);
  io->kwarg_nodes = nnc_calloc((size_t)call->n_kwargs + 1, sizeof *io->kwarg_nodes, st);
  io->kwarg_masks = nnc_calloc((size_t)call->n_kwargs + 1, sizeof *io->kwarg_masks, st);
  io->kwarg_read = nnc_calloc((size_t)call->n_kwargs + 1, 1, st);
  io->in_masks = masks;
  if (!masks || !io->kwarg_nodes || !io->kwarg_masks || !io->kwarg_read) return st->code;
  for (int a = 0; a < call->n_args; a++)
    masks[a] = value_mask(w, call->args[a], call->arg_tensors ? call->arg_tensors[a] : 0);
  for (int k = 0; k < call->n_kwargs; k++) {
    const nnc_spec_kwarg *kw = &call->kwargs[k];
    io->kwarg_nodes[k] = nnc_calloc((size_t)kw->n + 1, sizeof **io->kwarg_nodes, st);
    io->kwarg_masks[k] = nnc_calloc((size_t)kw->n + 1, sizeof **io->kwarg_masks, st);
    if (!io->kwarg_nodes[k] || !io->kwarg_masks[k]) return st->code;
    for (int i = 0; i < kw->n; i++) {
      int node = -1;
      if (kw->tensors[i] >= 0 &&
          (node = value_output(w, kw->values[i], kw->tensors[i], kw->paths[i], st)) < 0)
        return st->code;
      io->kwarg_nodes[k][i] = node;
      io->kwarg_masks[k][i] =
          kw->tensors[i] >= 0 ? value_mask(w, kw->values[i], kw->tensors[i]) : -1;
    }
  }
  return NNC_OK;
}

static void io_free(struct layer_io *io) {
  for (int k = 0; io->call && io->kwarg_nodes && k < io->call->n_kwargs; k++)
    free(io->kwarg_nodes[k]);
  for (int k = 0; io->call && io->kwarg_masks && k < io->call->n_kwargs; k++)
    free(io->kwarg_masks[k]);
  free(io->kwarg_nodes);
  free(io->kwarg_masks);
  free(io->kwarg_read);
  free((int *)io->in_masks);
  free(io->extra);
}

/* The Keras name of value v's producer, "name[node][0]". */
static void value_ref(const lowering *w, nnc_spec_value v, int tensor, char *buf, size_t size) {
  const nnc_spec *spec = w->spec;
  if (v < 0) {
    int layer = spec->inputs[-1 - v].layer;
    snprintf(buf, size, "%s[0][0]", layer >= 0 ? spec->layers[layer].name : "input_layer");
  } else {
    snprintf(buf, size, "%s[%d][%d]", spec->layers[spec->calls[v].layer].name,
             spec->calls[v].keras_node, tensor);
  }
}

static int append_ref(lowering *w, nnc_layer_info *row, nnc_spec_value v, int tensor,
                      nnc_status *st) {
  char ref[NNC_NAME_MAX + 32];
  value_ref(w, v, tensor, ref, sizeof ref);
  size_t had = row->connected ? strlen(row->connected) : 0, add = strlen(ref) + 2;
  char *grown = realloc(row->connected, had + add + 1);
  if (!grown) return nnc_fail(st, NNC_ERR_NOMEM, "out of memory");
  snprintf(grown + had, add + 1, "%s%s", had ? ", " : "", ref);
  row->connected = grown;
  return NNC_OK;
}

/* Append this call's inbound tensors to the row's "Connected to" text: the
 * positional ones, then the tensor keyword arguments (Keras's
 * node.input_tensors: mha(query, value) lists both, a GRU's initial_state
 * its state). */
static int add_connected(lowering *w, nnc_layer_info *row, const nnc_spec_call *c, nnc_status *st) {
  for (int a = 0; a < c->n_args; a++)
    if (append_ref(w, row, c->args[a], c->arg_tensors ? c->arg_tensors[a] : 0, st)) return st->code;
  for (int k = 0; k < c->n_kwargs; k++) {
    const nnc_spec_kwarg *kw = &c->kwargs[k];
    for (int i = 0; !kw->is_scalar && i < kw->n; i++)
      if (kw->tensors[i] >= 0 && append_ref(w, row, kw->values[i], kw->tensors[i], st))
        return st->code;
  }
  return NNC_OK;
}

static int add_layer_row(nnc_program *p, const nnc_spec_layer *layer, const char *kind,
                         nnc_shape out, int64_t n_params, int64_t n_trainable, nnc_status *st) {
  nnc_layer_info *grown = nnc_realloc_array(p->layers, (size_t)p->n_layers + 1, sizeof *grown, st);
  if (!grown) return -1;
  p->layers = grown;
  nnc_layer_info *info = &p->layers[p->n_layers];
  memset(info, 0, sizeof *info);
  nnc_strlcpy(info->name, layer->name, sizeof info->name);
  nnc_strlcpy(info->kind, kind, sizeof info->kind);
  info->out_shape = out;
  info->n_params = n_params;
  info->n_trainable = n_trainable;
  return p->n_layers++;
}

/* Values per sample past which a model is refused: every count computed from
 * shapes after that (a layer's weights, a batch's buffers) stays far inside
 * int64, where RepeatVector or a 7-axis input could overflow it. */
#define ROW_VALUES_MAX INT32_MAX

static int row_too_big(const nnc_shape *s) {
  int64_t n = 1;
  for (int i = s->batched ? 1 : 0; i < s->rank; i++) {
    if (s->dims[i] > 0 && n > ROW_VALUES_MAX / s->dims[i]) return 1;
    n *= s->dims[i];
  }
  return 0;
}

static int row_too_big_fail(const nnc_spec *spec, const char *path, const char *what,
                            const char *name, const nnc_shape *s, nnc_status *st) {
  char have[160];
  shape_format(s, have, sizeof have);
  return nnc_fail(st, NNC_ERR_SPEC,
                  "%s: %s: expected at most %d values per sample, but the output of %s \"%s\" "
                  "is %s",
                  spec->source, path, ROW_VALUES_MAX, what, name, have);
}

/* Per call: its output mask and its extra outputs. */
static int calls_alloc(lowering *w, nnc_status *st) {
  size_t n = (size_t)w->spec->n_calls + 1;
  w->call_masks = nnc_calloc(n, sizeof *w->call_masks, st);
  w->call_extra = nnc_calloc(n, sizeof *w->call_extra, st);
  w->n_call_extra = nnc_calloc(n, sizeof *w->n_call_extra, st);
  return w->call_masks && w->call_extra && w->n_call_extra ? NNC_OK : st->code;
}

static void calls_free(lowering *w) {
  for (int k = 0; w->call_extra && k < w->spec->n_calls; k++) free(w->call_extra[k]);
  free(w->call_extra);
  free(w->call_masks);
  free(w->n_call_extra);
}

static int lower_call(lowering *w, int k, nnc_status *st) {
  const nnc_spec *spec = w->spec;
  const nnc_spec_call *call = &spec->calls[k];
  const nnc_spec_layer *layer = &spec->layers[call->layer];
  layer_state *ls = &w->layers[call->layer];
  nnc_graph *g = &w->l->forward;
  int *in = nnc_calloc((size_t)call->n_args + 1, sizeof *in, st);
  if (!in) return st->code;
  for (int a = 0; a < call->n_args; a++) {
    int t = call->arg_tensors ? call->arg_tensors[a] : 0;
    if ((in[a] = value_output(w, call->args[a], t, call->arg_paths ? call->arg_paths[a] : NULL,
                              st)) < 0) {
      free(in);
      return st->code;
    }
  }
  const nnc_shape *in_shape = &g->nodes[in[0]].shape;
  if (call->node == 0 && call->n_args == 1 && layer->has_declared_input &&
      !spec_shape_matches(&layer->declared_input, in_shape)) {
    shape_mismatch(spec, layer->declared_input_path, &layer->declared_input, in_shape, st);
    free(in);
    return st->code;
  }
  if (call->node == 0 && layer->n_declared_inputs > 0 &&
      check_declared_inputs(spec, layer, call, g, in, st)) {
    free(in);
    return st->code;
  }
  const nnc_layer_class *cls = layer_class(layer->kind);
  layer_call c = {.l = w->l,
                  .spec = spec,
                  .layer = layer,
                  .path = call->path,
                  .node = ls->calls,
                  .training = w->training && call->training,
                  .trainable = w->trainable && layer->trainable,
                  .first_param = ls->first_param,
                  .n_layer_params = ls->n_params,
                  .param_node = w->param_node,
                  .scope = w->scope,
                  .state = ls,
                  .lowering = w};
  int first_param = w->l->prog.n_params;
  struct layer_io io;
  c.io = &io;
  int y = io_init(w, call, &io, st) ? -1 : 0, mask = -1;
  io.in = in;
  if (y == 0) y = cls->lower(&c, in, call->n_args, st);
  if (y >= 0 && layer_io_finish(&c, y, &mask, st)) y = -1;
  free(in);
  if (y >= 0) {
    w->call_masks[k] = mask;
    w->call_extra[k] = io.extra;
    w->n_call_extra[k] = io.n_extra;
    io.extra = NULL;
  }
  io_free(&io);
  if (y < 0)
    return st->code != NNC_OK ? (int)st->code : nnc_fail(st, NNC_ERR_INTERNAL, "lowering failed");
  if (row_too_big(&g->nodes[y].shape))
    return row_too_big_fail(spec, call->path, "layer", layer->name, &g->nodes[y].shape, st);
  w->call_nodes[k] = y;
  w->param_floats += c.param_floats;
  w->trainable_floats += c.trainable_floats;
  if (ls->calls++ == 0) {
    ls->first_param = first_param;
    ls->n_params = c.n_params;
    /* a nested model's row shows its own class, as Keras's summary does */
    const char *kind = cls->class_name;
    if (layer->kind == NNC_LAYER_MODEL)
      kind = ((const nnc_spec *)layer->params)->functional ? "Functional" : "Sequential";
    ls->row = !w->rows ? -1
                       : add_layer_row(&w->l->prog, layer, kind, g->nodes[y].shape, c.param_floats,
                                       c.trainable_floats, st);
    if (w->rows && ls->row < 0) return st->code;
  } else if (c.n_params != ls->n_params) {
    return nnc_fail(st, NNC_ERR_INTERNAL, "%s: layer \"%s\" used %d weights, then %d", call->path,
                    layer->name, ls->n_params, c.n_params);
  }
  if (w->rows && spec->functional && add_connected(w, &w->l->prog.layers[ls->row], call, st))
    return st->code;
  return NNC_OK;
}

static int lower_inputs(lowering *w, nnc_status *st) {
  const nnc_spec *spec = w->spec;
  for (int k = 0; k < spec->n_inputs; k++) {
    const nnc_spec_shape *inner = w->data && w->data->n_inputs > k ? &w->data->inputs[k] : NULL;
    nnc_shape xs;
    if (input_shape(spec, k, inner, &xs, st)) return st->code;
    const char *name = spec_input_name(spec, k);
    int layer = spec->inputs[k].layer;
    if (row_too_big(&xs))
      return row_too_big_fail(spec, layer >= 0 ? spec->layers[layer].path : "$", "input", name, &xs,
                              st);
    if (program_add_io(&w->l->prog.inputs, &w->l->prog.n_inputs, name, xs, 0, -1, st))
      return st->code;
    /* the first input keeps the label "x" the dumps have always shown */
    int id = graph_input(&w->l->forward, k, xs, k == 0 ? "x" : name, st);
    if (id < 0) return st->code;
    w->input_nodes[k] = id;
    /* Keras's Functional summary lists the InputLayers (Connected to: -); a
     * Sequential's does not */
    if (spec->functional && layer >= 0 &&
        add_layer_row(&w->l->prog, &spec->layers[layer], "InputLayer", xs, 0, 0, st) < 0)
      return st->code;
  }
  w->l->x = w->input_nodes[0];
  return NNC_OK;
}

static int lower_outputs(lowering *w, nnc_status *st) {
  const nnc_spec *spec = w->spec;
  nnc_lowered *l = w->l;
  l->output_nodes = nnc_calloc((size_t)spec->n_outputs, sizeof *l->output_nodes, st);
  l->output_masks = nnc_calloc((size_t)spec->n_outputs, sizeof *l->output_masks, st);
  if (!l->output_nodes || !l->output_masks) return st->code;
  for (int k = 0; k < spec->n_outputs; k++) {
    nnc_spec_value v = spec->outputs[k];
    int t = spec->output_tensors ? spec->output_tensors[k] : 0;
    int node = value_output(w, v, t, spec->output_paths ? spec->output_paths[k] : NULL, st);
    if (node < 0) return st->code;
    const char *name = spec_output_name(spec, k);
    l->output_nodes[k] = node;
    l->output_masks[k] = value_mask(w, v, t);
    if (program_add_io(&l->prog.outputs, &l->prog.n_outputs, name, l->forward.nodes[node].shape, 0,
                       -1, st))
      return st->code;
  }
  l->y_pred = l->output_nodes[0];
  return NNC_OK;
}

int lower_model(const nnc_spec *spec, const nnc_data_shapes *data, nnc_lowered *l, nnc_status *st) {
  memset(l, 0, sizeof *l);
  l->loss = l->y = -1;
  l->trains = spec->compile.present;
  if (graph_init(&l->forward, "forward", st)) return st->code;
  int *param_node = NULL;
  lowering w = {.l = l,
                .spec = spec,
                .data = data,
                .param_node = &param_node,
                .scope = "",
                .trainable = 1,
                .training = 1,
                .rows = 1};
  w.input_nodes = nnc_calloc((size_t)spec->n_inputs + 1, sizeof *w.input_nodes, st);
  w.call_nodes = nnc_calloc((size_t)spec->n_calls + 1, sizeof *w.call_nodes, st);
  w.layers = nnc_calloc((size_t)spec->n_layers + 1, sizeof *w.layers, st);
  int rc = !w.input_nodes || !w.call_nodes || !w.layers || calls_alloc(&w, st) ? st->code : NNC_OK;
  if (!rc && spec->n_inputs == 0)
    rc = nnc_fail(st, NNC_ERR_SPEC, "%s: $: no model input", spec->source);
  if (!rc) rc = lower_inputs(&w, st);
  for (int k = 0; k < spec->n_calls && !rc; k++) rc = lower_call(&w, k, st);
  if (!rc) rc = lower_outputs(&w, st);
  if (!rc && spec->compile.present) rc = lower_loss_and_metrics(l, spec, data, st);
  free(w.input_nodes);
  free(w.call_nodes);
  calls_free(&w);
  free(param_node);
  layer_states_free(w.layers, spec->n_layers);
  if (rc) {
    if (st->code == NNC_OK) nnc_fail(st, NNC_ERR_INTERNAL, "lowering failed");
    lowered_free(l);
    return st->code;
  }
  return NNC_OK;
}

/* The tensor index of a model's first output. */
static int t0(const nnc_spec *sub) {
  return sub->output_tensors ? sub->output_tensors[0] : 0;
}

int lower_nested_model(layer_call *c, const nnc_spec *sub, const int *in, int n_in,
                       nnc_status *st) {
  lowering *outer = c->lowering;
  if (n_in != sub->n_inputs)
    return layer_fail(c, st, "expected %d input tensor%s for nested model \"%s\", got %d",
                      sub->n_inputs, sub->n_inputs == 1 ? "" : "s", c->layer->name, n_in);
  if (sub->n_outputs != 1)
    return layer_fail(c, st, "a nested model with %d outputs is not supported yet", sub->n_outputs);
  /* Weight names follow Keras 3's variable paths: a nested Sequential builds
   * its layers in Sequential.build, inside its name scope ("body/dense/kernel");
   * a nested Functional built them when it was constructed, outside every
   * scope ("dense/kernel", whatever holds it). */
  char scope[2 * NNC_NAME_MAX + 2] = "";
  if (!sub->functional)
    snprintf(scope, sizeof scope, "%s%s%s", c->scope, c->scope[0] ? "/" : "", c->layer->name);
  /* one set of inner layer states per nested model, across its calls (a
   * siamese tower, TimeDistributed's steps): later calls reuse the weights */
  layer_state *ls = c->state;
  if (!ls)
    return layer_fail(c, st, "nested model \"%s\" lowered without its call state", c->layer->name);
  if (!ls->inner) {
    ls->inner = nnc_calloc((size_t)sub->n_layers + 1, sizeof *ls->inner, st);
    if (!ls->inner) return -1;
    ls->n_inner = sub->n_layers;
  }
  lowering w = {.l = outer->l,
                .spec = sub,
                .param_node = outer->param_node,
                .scope = scope,
                .trainable = c->trainable,
                .training = c->training};
  const nnc_graph *g = &outer->l->forward;
  for (int k = 0; k < n_in; k++) { /* the nested InputLayer's shape must fit */
    int layer = sub->inputs[k].layer;
    if (layer < 0 && sub->n_layers > 0) layer = 0; /* Sequential: the first layer's */
    const nnc_spec_layer *decl = layer >= 0 ? &sub->layers[layer] : NULL;
    if (decl && decl->has_input_shape &&
        !spec_shape_matches(&decl->input_shape, &g->nodes[in[k]].shape)) {
      char have[64];
      shape_format(&g->nodes[in[k]].shape, have, sizeof have);
      return layer_fail(c, st,
                        "nested model \"%s\" expects input %d shaped as declared at %s, got %s",
                        c->layer->name, k, decl->path, have);
    }
  }
  w.input_nodes = nnc_calloc((size_t)n_in + 1, sizeof *w.input_nodes, st);
  w.call_nodes = nnc_calloc((size_t)sub->n_calls + 1, sizeof *w.call_nodes, st);
  w.layers = ls->inner;
  w.input_masks = nnc_calloc((size_t)n_in + 1, sizeof *w.input_masks, st);
  int rc = !w.input_nodes || !w.call_nodes || !w.layers || !w.input_masks || calls_alloc(&w, st)
               ? st->code
               : NNC_OK,
      y = -1;
  /* the outer call's masks flow in, the inner output's flows out (Keras's
   * Functional runs its graph with the masks of its inputs) */
  for (int k = 0; k < n_in && !rc; k++) w.input_nodes[k] = in[k];
  for (int k = 0; k < n_in && !rc; k++) w.input_masks[k] = layer_input_mask(c, k);
  for (int k = 0; k < sub->n_calls && !rc; k++) rc = lower_call(&w, k, st);
  if (!rc) {
    int t = sub->output_tensors ? sub->output_tensors[0] : 0;
    y = value_output(&w, sub->outputs[0], t, sub->output_paths ? sub->output_paths[0] : NULL, st);
    if (y < 0) rc = st->code;
  }
  if (!rc) {
    layer_set_output_mask(c, value_mask(&w, sub->outputs[0], t0(sub)));
    c->param_floats += w.param_floats;
    c->trainable_floats += w.trainable_floats;
  }
  free(w.input_nodes);
  free(w.input_masks);
  free(w.call_nodes);
  calls_free(&w);
  return rc ? -1 : y;
}
