/* Dense: y = activation(x @ kernel + bias) over the last axis. */
#include "compiler/layers/layer.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  char path[NNC_PATH_MAX];
  int rc;
  spec_path_key(path, cfg_path, "units");
  if ((rc = spec_positive_int(ctx, spec_child(cfg, "units"), path, &out->units))) return rc;
  spec_path_key(path, cfg_path, "activation");
  if ((rc = spec_parse_activation(ctx, spec_child(cfg, "activation"), path, &out->activation)))
    return rc;
  if ((rc = spec_get_bool(ctx, cfg, cfg_path, "use_bias", 1, &out->use_bias))) return rc;
  spec_path_key(path, cfg_path, "kernel_initializer");
  if ((rc = spec_parse_init(ctx, spec_child(cfg, "kernel_initializer"), path, "glorot_uniform",
                            &out->kernel_init)))
    return rc;
  spec_path_key(path, cfg_path, "bias_initializer");
  if ((rc = spec_parse_init(ctx, spec_child(cfg, "bias_initializer"), path, "zeros",
                            &out->bias_init)))
    return rc;
  static const char *const regularizers[] = {"kernel_regularizer", "bias_regularizer",
                                             "activity_regularizer"};
  nnc_spec_regularizer *reg[] = {&out->kernel_regularizer, &out->bias_regularizer,
                                 &out->activity_regularizer};
  for (int i = 0; i < 3; i++) {
    spec_path_key(path, cfg_path, regularizers[i]);
    if ((rc = spec_parse_regularizer(ctx, spec_child(cfg, regularizers[i]), path, reg[i])))
      return rc;
  }
  spec_path_key(path, cfg_path, "kernel_constraint");
  if ((rc = spec_parse_constraint(ctx, spec_child(cfg, "kernel_constraint"), path,
                                  &out->kernel_constraint)))
    return rc;
  spec_path_key(path, cfg_path, "bias_constraint");
  if ((rc = spec_parse_constraint(ctx, spec_child(cfg, "bias_constraint"), path,
                                  &out->bias_constraint)))
    return rc;
  static const char *const unsupported[][2] = {
      {"lora_rank", "LoRA (lora_rank)"},
      {"quantization_config", "quantization"},
  };
  for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++)
    if ((rc = spec_require_null(ctx, cfg, cfg_path, unsupported[i][0], unsupported[i][1])))
      return rc;
  return NNC_OK;
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  nnc_graph *g = &c->l->forward;
  const nnc_spec_layer *layer = c->layer;
  int x = in[0];
  int64_t kd[2] = {shape_last(&g->nodes[x].shape), layer->units};
  int w = layer_param(c, "kernel", shape_make(0, 2, kd), &layer->kernel_init, st);
  if (layer_param_extras(c, w, &layer->kernel_regularizer, &layer->kernel_constraint, st) < 0)
    return -1;
  int in2[2] = {x, w};
  int h = graph_matmul(g, in2[0], in2[1], st);
  layer_label(g, h, layer->name, "matmul");
  if (h >= 0 && layer->use_bias) {
    int b = layer_param(c, "bias", shape_make(0, 1, &layer->units), &layer->bias_init, st);
    if (layer_param_extras(c, b, &layer->bias_regularizer, &layer->bias_constraint, st) < 0)
      return -1;
    h = graph_binary(g, NNC_BIN_ADD, h, b, st);
    layer_label(g, h, layer->name, "bias");
  }
  if (h < 0) return -1;
  return layer_activity_regularizer(c, lower_activation(g, h, layer->activation, layer->name, st),
                                    st);
}

const nnc_layer_class layer_dense = {"Dense", "dense", 1, 1, parse, lower, NULL};
