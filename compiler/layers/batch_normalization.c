/* BatchNormalization (Keras 3): per feature of `axis`, y = x * inv + (beta -
 * mean * inv) with inv = gamma / sqrt(var + epsilon). In the train phase mean
 * and var are the batch's (biased variance over every axis but `axis`) and
 * the moving statistics become moving * momentum + batch * (1 - momentum)
 * (train_assign: the next step sees them); in inference, and for a call with
 * training=False or a frozen layer (Keras 3: `training and self.trainable`),
 * the moving statistics are used. moving_mean and moving_variance are
 * non-trainable weights. */
#include <stdlib.h>

#include "compiler/layers/norm_util.h"

typedef struct bn_params {
  norm_axes axis;
  double momentum, epsilon;
  int center, scale;
  nnc_spec_init beta_init, gamma_init, mean_init, variance_init;
  nnc_spec_regularizer beta_reg, gamma_reg;
  nnc_spec_constraint beta_constraint, gamma_constraint;
} bn_params;

static int parse_inits(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, bn_params *p) {
  static const char *const keys[] = {"beta_initializer", "gamma_initializer",
                                     "moving_mean_initializer", "moving_variance_initializer"};
  static const char *const dflt[] = {"zeros", "ones", "zeros", "ones"};
  nnc_spec_init *out[] = {&p->beta_init, &p->gamma_init, &p->mean_init, &p->variance_init};
  char path[NNC_PATH_MAX];
  for (int i = 0; i < 4; i++) {
    spec_path_key(path, cfg_path, keys[i]);
    int rc = spec_parse_init(ctx, spec_child(cfg, keys[i]), path, dflt[i], out[i]);
    if (rc) return rc;
  }
  spec_path_key(path, cfg_path, "beta_regularizer");
  int rc = spec_parse_regularizer(ctx, spec_child(cfg, "beta_regularizer"), path, &p->beta_reg);
  if (rc) return rc;
  spec_path_key(path, cfg_path, "gamma_regularizer");
  if ((rc = spec_parse_regularizer(ctx, spec_child(cfg, "gamma_regularizer"), path, &p->gamma_reg)))
    return rc;
  spec_path_key(path, cfg_path, "beta_constraint");
  if ((rc = spec_parse_constraint(ctx, spec_child(cfg, "beta_constraint"), path,
                                  &p->beta_constraint)))
    return rc;
  spec_path_key(path, cfg_path, "gamma_constraint");
  return spec_parse_constraint(ctx, spec_child(cfg, "gamma_constraint"), path,
                               &p->gamma_constraint);
}

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  bn_params p = {0};
  int rc;
  if ((rc = norm_parse_axes(ctx, cfg, cfg_path, "axis", -1, &p.axis))) return rc;
  if (p.axis.n != 1) {
    char path[NNC_PATH_MAX];
    spec_path_key(path, cfg_path, "axis");
    return spec_fail_expected(ctx, path, spec_child(cfg, "axis"),
                              "one axis (BatchNormalization over several feature axes is not "
                              "supported yet)");
  }
  if ((rc = spec_get_float32(ctx, cfg, cfg_path, "momentum", 0.99, &p.momentum))) return rc;
  if ((rc = spec_get_float32(ctx, cfg, cfg_path, "epsilon", 1e-3, &p.epsilon))) return rc;
  if (!(p.epsilon > 0.0)) {
    char path[NNC_PATH_MAX];
    spec_path_key(path, cfg_path, "epsilon");
    return spec_fail_expected(ctx, path, spec_child(cfg, "epsilon"), "a positive number");
  }
  if ((rc = spec_get_bool(ctx, cfg, cfg_path, "center", 1, &p.center))) return rc;
  if ((rc = spec_get_bool(ctx, cfg, cfg_path, "scale", 1, &p.scale))) return rc;
  if ((rc = parse_inits(ctx, cfg, cfg_path, &p))) return rc;
  /* synchronized: one device, so the same statistics either way */
  int flag;
  if ((rc = spec_get_bool(ctx, cfg, cfg_path, "synchronized", 0, &flag))) return rc;
  if ((rc = spec_get_bool(ctx, cfg, cfg_path, "renorm", 0, &flag))) return rc;
  if (flag) {
    char path[NNC_PATH_MAX];
    spec_path_key(path, cfg_path, "renorm");
    return spec_fail(ctx, path, "batch renormalization (Keras 2 renorm: true) is not supported");
  }
  static const char *const unsupported[][2] = {
      {"virtual_batch_size", "virtual_batch_size (ghost batch normalization)"},
      {"adjustment", "adjustment"},
      {"renorm_clipping", "renorm_clipping"},
  };
  for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++)
    if ((rc = spec_require_null(ctx, cfg, cfg_path, unsupported[i][0], unsupported[i][1])))
      return rc;
  out->params = malloc(sizeof p);
  if (!out->params) return nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory");
  *(bn_params *)out->params = p;
  return NNC_OK;
}

/* x * inv + (beta - mean * inv), inv = gamma / sqrt(var + epsilon); mean,
 * var, gamma, beta [C] against x [..., C] (gamma, beta may be -1: absent) */
static int normalize(nnc_graph *g, int x, int mean, int var, int gamma, int beta, double epsilon,
                     nnc_status *st) {
  int inv = graph_unary(
      g, NNC_FN_RECIP,
      graph_unary(g, NNC_FN_SQRT,
                  graph_binary(g, NNC_BIN_ADD, var, graph_const(g, epsilon, st), st), st),
      st);
  if (gamma >= 0) inv = graph_binary(g, NNC_BIN_MUL, inv, gamma, st);
  int shift = graph_unary(g, NNC_FN_NEG, graph_binary(g, NNC_BIN_MUL, mean, inv, st), st);
  if (beta >= 0) shift = graph_binary(g, NNC_BIN_ADD, shift, beta, st);
  return graph_binary(g, NNC_BIN_ADD, graph_binary(g, NNC_BIN_MUL, x, inv, st), shift, st);
}

/* moving * momentum + batch * (1 - momentum), written in the train step */
static int moving_update(nnc_graph *g, int moving, int batch, double momentum, nnc_status *st) {
  int v = graph_binary(
      g, NNC_BIN_ADD, graph_binary(g, NNC_BIN_MUL, moving, graph_const(g, momentum, st), st),
      graph_binary(g, NNC_BIN_MUL, batch, graph_const(g, 1.0 - momentum, st), st), st);
  return graph_train_assign(g, moving, v, st);
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  const bn_params *p = c->layer->params;
  const char *name = c->layer->name;
  nnc_graph *g = &c->l->forward;
  nnc_shape xs = g->nodes[in[0]].shape;
  int axis, n_axes;
  if (norm_resolve_axes(c, &p->axis, &xs, &axis, &n_axes, st)) return -1;
  int64_t channels = xs.dims[axis];
  nnc_shape ws = shape_make(0, 1, &channels);
  int gamma = -1, beta = -1;
  if (p->scale) {
    gamma = layer_param(c, "gamma", ws, &p->gamma_init, st);
    if (layer_param_extras(c, gamma, &p->gamma_reg, &p->gamma_constraint, st) < 0) return -1;
  }
  if (p->center) {
    beta = layer_param(c, "beta", ws, &p->beta_init, st);
    if (layer_param_extras(c, beta, &p->beta_reg, &p->beta_constraint, st) < 0) return -1;
  }
  int trainable = c->trainable; /* the moving statistics never are */
  c->trainable = 0;
  int moving_mean = layer_param(c, "moving_mean", ws, &p->mean_init, st);
  int moving_var = layer_param(c, "moving_variance", ws, &p->variance_init, st);
  c->trainable = trainable;
  if (moving_mean < 0 || moving_var < 0) return -1;

  norm_layout lay;
  int x = norm_to_last(g, in[0], &axis, 1, &lay, st);
  int y = normalize(g, x, moving_mean, moving_var, gamma, beta, p->epsilon, st);
  layer_label(g, y, name, "inference");
  if (c->training && c->trainable) {
    /* Keras chains the updates of a layer called twice in one step (the
     * second call reads the first call's moving statistics); not yet here */
    if (c->node > 0)
      return layer_fail(c, st,
                        "BatchNormalization \"%s\" is called more than once in training: a shared "
                        "BatchNormalization is not supported yet (call it with training=False, or "
                        "freeze it)",
                        name);
    int count = graph_binary(g, NNC_BIN_MUL, graph_scalar(g, NNC_SCALAR_BATCH, st),
                             graph_const(g, (double)lay.rest, st), st);
    int mean = graph_binary(g, NNC_BIN_DIV, graph_reduce(g, NNC_RED_LEADING, x, st), count, st);
    int d = graph_binary(g, NNC_BIN_SUB, x, mean, st);
    int var = graph_binary(
        g, NNC_BIN_DIV,
        graph_reduce(g, NNC_RED_LEADING, graph_binary(g, NNC_BIN_MUL, d, d, st), st), count, st);
    layer_label(g, mean, name, "batch_mean");
    layer_label(g, var, name, "batch_variance");
    int train = normalize(g, x, mean, var, gamma, beta, p->epsilon, st);
    layer_label(g, train, name, "train");
    int um = moving_update(g, moving_mean, mean, p->momentum, st);
    int uv = moving_update(g, moving_var, var, p->momentum, st);
    layer_label(g, um, name, "update moving_mean");
    layer_label(g, uv, name, "update moving_variance");
    if (um < 0 || uv < 0) return -1;
    y = graph_phase_select(g, train, y, st);
    layer_label(g, y, name, "phase");
  }
  return norm_from_last(g, y, &lay, st);
}

const nnc_layer_class layer_batch_normalization = {
    "BatchNormalization", "batch_normalization", 1, 1, parse, lower, NULL};
