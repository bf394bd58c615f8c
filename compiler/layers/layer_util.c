/* Helpers shared by the layer files' lower hooks. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "compiler/autodiff/constraints.h"
#include "compiler/layers/layer.h"
#include "compiler/lower/lower_regularizers.h"

int layer_param(layer_call *c, const char *weight, nnc_shape shape, const nnc_spec_init *init,
                nnc_status *st) {
  nnc_program *p = &c->l->prog;
  int k = c->n_params++;
  if (c->node > 0) { /* a later call of a shared layer: its first call made the weight */
    if (k >= c->n_layer_params) {
      nnc_fail(st, NNC_ERR_INTERNAL, "%s: layer \"%s\" asks for more weights on call %d", c->path,
               c->layer->name, c->node);
      return -1;
    }
    int id = (*c->param_node)[c->first_param + k];
    const nnc_shape *have = &c->l->forward.nodes[id].shape;
    if (!shape_equal(have, &shape)) {
      char a[64], b[64];
      shape_format(have, a, sizeof a);
      shape_format(&shape, b, sizeof b);
      return layer_fail(c, st,
                        "layer \"%s\" is called again on an input that needs a %s of shape %s, "
                        "but its first call made it %s (a shared layer has one set of weights)",
                        c->layer->name, weight, b, a);
    }
    return id;
  }
  /* Every count derived from a weight (work per row, buffer sizes) stays inside
   * int64 when the weight holds at most INT32_MAX values, as the outputs do. */
  if (shape_inner(&shape) > INT32_MAX) {
    char want[160];
    shape_format(&shape, want, sizeof want);
    return layer_fail(c, st,
                      "expected at most %d values per weight, but %s of layer \"%s\" would be %s",
                      INT32_MAX, weight, c->layer->name, want);
  }
  /* Keras raises for these at build time (ValueError) */
  if (init->kind == NNC_INIT_ORTHOGONAL && shape.rank < 2)
    return layer_fail(c, st,
                      "the Orthogonal initializer needs a weight of rank 2 or more, but %s of "
                      "layer \"%s\" has rank %d",
                      weight, c->layer->name, shape.rank);
  if (init->kind == NNC_INIT_IDENTITY && shape.rank != 2)
    return layer_fail(c, st,
                      "the Identity initializer needs a matrix (rank 2), but %s of layer \"%s\" "
                      "has rank %d",
                      weight, c->layer->name, shape.rank);
  nnc_param_info *grown = nnc_realloc_array(p->params, (size_t)p->n_params + 1, sizeof *grown, st);
  if (!grown) return -1;
  p->params = grown;
  int *nodes = nnc_realloc_array(*c->param_node, (size_t)p->n_params + 1, sizeof *nodes, st);
  if (!nodes) return -1;
  *c->param_node = nodes;
  nnc_param_info *info = &p->params[p->n_params];
  memset(info, 0, sizeof *info);
  char layer[2 * NNC_NAME_MAX + 2];
  if (c->scope && c->scope[0])
    snprintf(layer, sizeof layer, "%s/%s", c->scope, c->layer->name);
  else
    nnc_strlcpy(layer, c->layer->name, sizeof layer);
  if (strlen(layer) >= sizeof info->layer) {
    layer_fail(c, st, "the scoped layer name %s is longer than %d bytes", layer,
               (int)sizeof info->layer - 1);
    return -1;
  }
  nnc_strlcpy(info->layer, layer, sizeof info->layer);
  if (strlen(weight) >= sizeof info->weight ||
      strlen(info->layer) + 1 + strlen(weight) >= sizeof info->name) {
    layer_fail(c, st, "the weight name %s/%s is longer than %d bytes", info->layer, weight,
               (int)sizeof info->name - 1);
    return -1;
  }
  snprintf(info->name, sizeof info->name, "%s/%s", info->layer, weight);
  for (int j = 0; j < p->n_params; j++) /* weights are saved and loaded by name */
    if (strcmp(p->params[j].name, info->name) == 0) {
      layer_fail(c, st,
                 "two weights are named %s (a nested Functional model's weights carry no model "
                 "prefix, as in Keras 3: rename one of the layers)",
                 info->name);
      return -1;
    }
  nnc_strlcpy(info->weight, weight, sizeof info->weight);
  info->shape = shape;
  info->count = shape_inner(&shape);
  /* each weight starts on a cache line (docs/performance.md, "Session 23") */
  info->offset = nnc_floats_on_lines(p->params_floats);
  info->init = *init;
  info->trainable = c->trainable;
  p->params_floats = info->offset + info->count;
  c->param_floats += info->count;
  if (c->trainable) c->trainable_floats += info->count;
  int index = p->n_params++;
  int id = graph_source(&c->l->forward, NNC_OP_PARAM, index, shape, info->name, st);
  if (id >= 0) nodes[index] = id;
  return id;
}

void layer_label(nnc_graph *g, int id, const char *layer, const char *what) {
  if (id >= 0) snprintf(g->nodes[id].label, sizeof g->nodes[id].label, "%.60s/%.30s", layer, what);
}

int layer_fail(const layer_call *c, nnc_status *st, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  nnc_fail(st, NNC_ERR_SPEC, "%s: %s: %s", c->spec->source, c->path, msg);
  return -1;
}

int layer_reshape_node(nnc_graph *g, int x, nnc_shape to, nnc_status *st) {
  return graph_reshape(g, x, to, st);
}

int layer_param_extras(layer_call *c, int param, const nnc_spec_regularizer *reg,
                       const nnc_spec_constraint *constraint, nnc_status *st) {
  if (param < 0) return -1;
  if (c->node > 0) return param; /* the first call did it */
  nnc_graph *g = &c->l->forward;
  nnc_param_info *info = &c->l->prog.params[g->nodes[param].params.index];
  if (constraint->kind != NNC_CONSTRAINT_NONE) {
    if (constraint_check(constraint, &info->shape, c->spec->source, st)) return -1;
    info->constraint = *constraint;
  }
  if (c->trainable && lower_weight_regularizer(c->l, reg, param, c->spec->source, st)) return -1;
  return param;
}

int layer_activity_regularizer(layer_call *c, int output, nnc_status *st) {
  if (output < 0) return -1;
  if (lower_activity_regularizer(c->l, &c->layer->activity_regularizer, output, c->spec->source,
                                 st))
    return -1;
  return output;
}
