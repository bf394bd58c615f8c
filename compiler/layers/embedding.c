/* Embedding(input_dim, output_dim): integer indices [B, ...] -> the rows of
 * the weight embedding/embeddings [input_dim, output_dim], [B, ..., output_dim]
 * (a GATHER node). Keras 3's default initializer is RandomUniform(-0.05, 0.05).
 * When the indices come straight from a model input (through reshapes only),
 * the runtime checks the data: every value an integer in [0, input_dim), or
 * an NNC_ERR_DATA error naming the input, the sample and the position.
 * mask_zero=true gives the output the mask indices != 0 (Keras 3's
 * compute_mask), [B, ...] like the indices. */
#include <stdlib.h>

#include "compiler/layers/layer.h"

typedef struct embedding_params {
  int64_t input_dim, output_dim;
  nnc_spec_init init;
  nnc_spec_regularizer regularizer;
  nnc_spec_constraint constraint;
  int mask_zero;
} embedding_params;

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  embedding_params p = {0};
  char path[NNC_PATH_MAX];
  int rc;
  spec_path_key(path, cfg_path, "input_dim");
  if ((rc = spec_positive_int(ctx, spec_child(cfg, "input_dim"), path, &p.input_dim))) return rc;
  if (p.input_dim > 16777216) /* indices travel as float32: integers are exact up to 2^24 */
    return spec_fail_unsupported(ctx, path, spec_child(cfg, "input_dim"),
                                 "an Embedding of more than 2^24 = 16777216 rows");
  spec_path_key(path, cfg_path, "output_dim");
  if ((rc = spec_positive_int(ctx, spec_child(cfg, "output_dim"), path, &p.output_dim))) return rc;
  spec_path_key(path, cfg_path, "embeddings_initializer");
  if ((rc = spec_parse_init(ctx, spec_child(cfg, "embeddings_initializer"), path, "uniform",
                            &p.init)))
    return rc;
  spec_path_key(path, cfg_path, "embeddings_regularizer");
  if ((rc = spec_parse_regularizer(ctx, spec_child(cfg, "embeddings_regularizer"), path,
                                   &p.regularizer)))
    return rc;
  spec_path_key(path, cfg_path, "activity_regularizer");
  if ((rc = spec_parse_regularizer(ctx, spec_child(cfg, "activity_regularizer"), path,
                                   &out->activity_regularizer)))
    return rc;
  spec_path_key(path, cfg_path, "embeddings_constraint");
  if ((rc = spec_parse_constraint(ctx, spec_child(cfg, "embeddings_constraint"), path,
                                  &p.constraint)))
    return rc;
  int mask_zero, sparse;
  if ((rc = spec_get_bool(ctx, cfg, cfg_path, "mask_zero", 0, &mask_zero)) ||
      (rc = spec_get_bool(ctx, cfg, cfg_path, "sparse", 0, &sparse)))
    return rc;
  p.mask_zero = mask_zero;
  if (sparse) {
    spec_path_key(path, cfg_path, "sparse");
    return spec_fail_unsupported(ctx, path, spec_child(cfg, "sparse"),
                                 "Embedding with sparse=true (sparse gradients)");
  }
  /* input_length (Keras 2, tfjs) only restates the input shape: accepted */
  static const char *const unsupported[][2] = {
      {"lora_rank", "LoRA (lora_rank)"},
      {"quantization_config", "quantization"},
      {"weights", "initial weights in the config (weights)"},
  };
  for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++)
    if ((rc = spec_require_null(ctx, cfg, cfg_path, unsupported[i][0], unsupported[i][1])))
      return rc;
  out->params = malloc(sizeof p);
  if (!out->params) return nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory");
  *(embedding_params *)out->params = p;
  return NNC_OK;
}

/* The model input whose values node x carries unchanged (through reshapes),
 * or -1. */
static int model_input_of(const nnc_lowered *l, int x) {
  const nnc_graph *g = &l->forward;
  while (g->nodes[x].op == NNC_OP_RESHAPE) x = g->nodes[x].in[0];
  if (g->nodes[x].op != NNC_OP_INPUT) return -1;
  int64_t k = g->nodes[x].params.index;
  return k >= 0 && k < l->prog.n_inputs ? (int)k : -1;
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  const embedding_params *p = c->layer->params;
  nnc_graph *g = &c->l->forward;
  int64_t d[2] = {p->input_dim, p->output_dim};
  int table = layer_param(c, "embeddings", shape_make(0, 2, d), &p->init, st);
  if (layer_param_extras(c, table, &p->regularizer, &p->constraint, st) < 0) return -1;
  int y = graph_gather(g, in[0], table, st);
  if (y < 0) return -1;
  layer_label(g, y, c->layer->name, "gather");
  int k = model_input_of(c->l, in[0]);
  if (k >= 0) { /* the runtime checks the indices against the smallest table they index */
    nnc_io_info *io = &c->l->prog.inputs[k];
    if (io->classes == 0 || p->input_dim < io->classes) io->classes = p->input_dim;
  }
  if (p->mask_zero) {
    int mask = graph_binary(g, NNC_BIN_NE, in[0], graph_const(g, 0.0, st), st);
    if (mask < 0) return -1;
    layer_label(g, mask, c->layer->name, "mask");
    layer_set_output_mask(c, mask);
  }
  return layer_activity_regularizer(c, y, st);
}

const nnc_layer_class layer_embedding = {"Embedding", "embedding", 1, 1, parse, lower, NULL};
