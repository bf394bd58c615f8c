/* BatchNormalization (Keras 3): per feature of `axis`, y = x * inv + (beta -
 * mean * inv) with inv = gamma / sqrt(var + epsilon). In the train phase mean
 * and var are the batch's (biased variance over every axis but `axis`) and
 * the moving statistics become moving * momentum + batch * (1 - momentum)
 * (train_assign: the next step sees them); in inference, and for a call with
 * training=False or a frozen layer (Keras 3: `training and self.trainable`),
 * the moving statistics are used. moving_mean and moving_variance are
 * non-trainable weights. With a mask (supports_masking) the train-phase
 * moments skip the masked steps; the mask passes to the output. */
#include <stdlib.h>

#include "compiler/layers/batch_normalization.h"
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

/* inv = gamma / sqrt(var + epsilon) and shift = beta - mean * inv; mean,
 * var [..., C], gamma and beta [C] (either may be -1: absent) */
static int scale_shift(nnc_graph *g, int mean, int var, int gamma, int beta, double epsilon,
                       int *shift, nnc_status *st) {
  int inv = graph_unary(
      g, NNC_FN_RECIP,
      graph_unary(g, NNC_FN_SQRT,
                  graph_binary(g, NNC_BIN_ADD, var, graph_const(g, epsilon, st), st), st),
      st);
  if (gamma >= 0) inv = graph_binary(g, NNC_BIN_MUL, inv, gamma, st);
  *shift = graph_unary(g, NNC_FN_NEG, graph_binary(g, NNC_BIN_MUL, mean, inv, st), st);
  if (beta >= 0) *shift = graph_binary(g, NNC_BIN_ADD, *shift, beta, st);
  return inv;
}

/* x * inv + (beta - mean * inv), inv = gamma / sqrt(var + epsilon); mean,
 * var, gamma, beta [C] against x [..., C] (gamma, beta may be -1: absent) */
static int normalize(nnc_graph *g, int x, int mean, int var, int gamma, int beta, double epsilon,
                     nnc_status *st) {
  int shift, inv = scale_shift(g, mean, var, gamma, beta, epsilon, &shift, st);
  return graph_binary(g, NNC_BIN_ADD, graph_binary(g, NNC_BIN_MUL, x, inv, st), shift, st);
}

/* The layer's weights for C channels, in Keras's build order. */
typedef struct bn_weights {
  int gamma, beta, moving_mean, moving_var; /* gamma, beta -1 without scale, center */
} bn_weights;

static int make_weights(layer_call *c, int64_t channels, bn_weights *w, nnc_status *st) {
  const bn_params *p = c->layer->params;
  nnc_shape ws = shape_make(0, 1, &channels);
  w->gamma = w->beta = -1;
  if (p->scale) {
    w->gamma = layer_param(c, "gamma", ws, &p->gamma_init, st);
    if (layer_param_extras(c, w->gamma, &p->gamma_reg, &p->gamma_constraint, st) < 0) return -1;
  }
  if (p->center) {
    w->beta = layer_param(c, "beta", ws, &p->beta_init, st);
    if (layer_param_extras(c, w->beta, &p->beta_reg, &p->beta_constraint, st) < 0) return -1;
  }
  int trainable = c->trainable; /* the moving statistics never are */
  c->trainable = 0;
  w->moving_mean = layer_param(c, "moving_mean", ws, &p->mean_init, st);
  w->moving_var = layer_param(c, "moving_variance", ws, &p->variance_init, st);
  c->trainable = trainable;
  return w->moving_mean < 0 || w->moving_var < 0 ? -1 : 0;
}

/* moving * momentum + batch * (1 - momentum), written in the train step */
static int moving_step(nnc_graph *g, int moving, int batch, double momentum, nnc_status *st) {
  return graph_binary(
      g, NNC_BIN_ADD, graph_binary(g, NNC_BIN_MUL, moving, graph_const(g, momentum, st), st),
      graph_binary(g, NNC_BIN_MUL, batch, graph_const(g, 1.0 - momentum, st), st), st);
}

/* Keras 3's _moments with a mask [B, T..] on x [B, T.., C] (any rank: the
 * mask has the input's shape without its last axis): the mean and biased
 * variance over the kept entries only, each divided by (kept entries +
 * 1e-7, backend.epsilon()). */
static int masked_moments(nnc_graph *g, int x, int mask, int *var, nnc_status *st) {
  const nnc_shape xs = g->nodes[x].shape;
  int64_t d[NNC_MAX_RANK];
  d[0] = -1;
  for (int i = 1; i + 1 < xs.rank; i++) d[i] = xs.dims[i];
  d[xs.rank - 1] = 1;
  int m = layer_reshape_node(g, mask, shape_make(1, xs.rank, d), st); /* [B, T.., 1] */
  int kept = graph_binary(g, NNC_BIN_ADD, graph_reduce(g, NNC_RED_ALL, m, st),
                          graph_const(g, 1e-7, st), st);
  int mean = graph_binary(
      g, NNC_BIN_DIV, graph_reduce(g, NNC_RED_LEADING, graph_binary(g, NNC_BIN_MUL, x, m, st), st),
      kept, st);
  int dm = graph_binary(g, NNC_BIN_MUL, graph_binary(g, NNC_BIN_SUB, x, mean, st), m, st);
  *var = graph_binary(
      g, NNC_BIN_DIV,
      graph_reduce(g, NNC_RED_LEADING, graph_binary(g, NNC_BIN_MUL, dm, dm, st), st), kept, st);
  return mean;
}

/* The moving statistic `param` as this call reads it in the train step: a
 * layer called again (shared, in a nested model called twice, per step of
 * TimeDistributed) reads what its previous call assigned, as Keras 3 does
 * (a TF variable read after the assign; JAX's StatelessScope). That earlier
 * assign is dropped: this call's, chained on its value, is the one written. */
static int moving_so_far(nnc_graph *g, int param) {
  for (int i = g->n - 1; i >= 0; i--) {
    nnc_node *n = &g->nodes[i];
    if (!n->dead && n->op == NNC_OP_TRAIN_ASSIGN && n->in[0] == param) {
      n->dead = 1;
      return n->in[1];
    }
  }
  return param;
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  const bn_params *p = c->layer->params;
  const char *name = c->layer->name;
  nnc_graph *g = &c->l->forward;
  nnc_shape xs = g->nodes[in[0]].shape;
  int axis, n_axes;
  if (norm_resolve_axes(c, &p->axis, &xs, &axis, &n_axes, st)) return -1;
  /* supports_masking: the mask passes on; in training it restricts the
   * batch moments to the kept steps (Keras 3 _moments) */
  int mask = layer_input_mask(c, 0);
  if (mask >= 0 && g->nodes[mask].shape.rank != xs.rank - 1)
    return layer_fail(c, st,
                      "the mask must have one dimension less than the input (Keras 3 refuses "
                      "it); the input has rank %d, the mask %d",
                      xs.rank, g->nodes[mask].shape.rank);
  if (mask >= 0 && c->training && c->trainable && axis != xs.rank - 1)
    return layer_fail(c, st,
                      "BatchNormalization \"%s\" on a masked input in training normalizes the "
                      "last axis only here (axis %d is not supported yet)",
                      name, axis);
  layer_set_output_mask(c, mask);
  bn_weights w;
  if (make_weights(c, xs.dims[axis], &w, st)) return -1;
  norm_layout lay;
  int x = norm_to_last(g, in[0], &axis, 1, &lay, st);
  int y = normalize(g, x, w.moving_mean, w.moving_var, w.gamma, w.beta, p->epsilon, st);
  layer_label(g, y, name, "inference");
  if (c->training && c->trainable) {
    int mean, var;
    if (mask >= 0) {
      mean = masked_moments(g, x, mask, &var, st);
    } else {
      int count = graph_binary(g, NNC_BIN_MUL, graph_scalar(g, NNC_SCALAR_BATCH, st),
                               graph_const(g, (double)lay.rest, st), st);
      mean = graph_binary(g, NNC_BIN_DIV, graph_reduce(g, NNC_RED_LEADING, x, st), count, st);
      int d = graph_binary(g, NNC_BIN_SUB, x, mean, st);
      var = graph_binary(
          g, NNC_BIN_DIV,
          graph_reduce(g, NNC_RED_LEADING, graph_binary(g, NNC_BIN_MUL, d, d, st), st), count, st);
    }
    layer_label(g, mean, name, "batch_mean");
    layer_label(g, var, name, "batch_variance");
    int train = normalize(g, x, mean, var, w.gamma, w.beta, p->epsilon, st);
    layer_label(g, train, name, "train");
    /* a later call chains its update on the previous call's */
    int m0 = moving_so_far(g, w.moving_mean), v0 = moving_so_far(g, w.moving_var);
    int um = graph_train_assign(g, w.moving_mean, moving_step(g, m0, mean, p->momentum, st), st);
    int uv = graph_train_assign(g, w.moving_var, moving_step(g, v0, var, p->momentum, st), st);
    layer_label(g, um, name, "update moving_mean");
    layer_label(g, uv, name, "update moving_variance");
    if (um < 0 || uv < 0) return -1;
    y = graph_phase_select(g, train, y, st);
    layer_label(g, y, name, "phase");
  }
  return norm_from_last(g, y, &lay, st);
}

/* Per step t of x [B, T, ...] (TimeDistributed, time_distributed.c): Keras 3
 * calls layer.call on each step in order, so in training step t is
 * normalized with its own batch statistics (over B and the step's other
 * axes) and reads the moving statistics step t-1 assigned (a TF variable,
 * or the JAX StatelessScope's current value): T chained updates, the last
 * one is what the variable keeps. The statistics of all steps are computed
 * at once with the steps moved next to the channels, [B, rest.., T*C]; the
 * T updates are chained in step order. */
int batch_normalization_lower_steps(layer_call *c, int x_in, nnc_status *st) {
  const bn_params *p = c->layer->params;
  const char *name = c->layer->name;
  nnc_graph *g = &c->l->forward;
  nnc_shape s = g->nodes[x_in].shape, step = s;
  for (int i = 1; i + 1 < s.rank; i++) step.dims[i] = step.dims[i + 1];
  step.rank--;
  int axis, n_axes;
  if (norm_resolve_axes(c, &p->axis, &step, &axis, &n_axes, st)) return -1;
  int64_t channels = step.dims[axis], steps = s.dims[1];
  bn_weights w;
  if (make_weights(c, channels, &w, st)) return -1;
  int whole_axis = axis + 1; /* the step's axis in x */
  norm_layout lay;
  int x = norm_to_last(g, x_in, &whole_axis, 1, &lay, st);
  int y = normalize(g, x, w.moving_mean, w.moving_var, w.gamma, w.beta, p->epsilon, st);
  y = norm_from_last(g, y, &lay, st);
  layer_label(g, y, name, "inference");
  if (!c->training || !c->trainable) return y;

  int axes[2] = {1, whole_axis};
  norm_layout tl;
  int xt = norm_to_last(g, x_in, axes, 2, &tl, st); /* [B, rest.., T*C] */
  int count = graph_binary(g, NNC_BIN_MUL, graph_scalar(g, NNC_SCALAR_BATCH, st),
                           graph_const(g, (double)tl.rest, st), st);
  int mean = graph_binary(g, NNC_BIN_DIV, graph_reduce(g, NNC_RED_LEADING, xt, st), count, st);
  int d = graph_binary(g, NNC_BIN_SUB, xt, mean, st);
  int var = graph_binary(
      g, NNC_BIN_DIV, graph_reduce(g, NNC_RED_LEADING, graph_binary(g, NNC_BIN_MUL, d, d, st), st),
      count, st);
  layer_label(g, mean, name, "step_means");
  layer_label(g, var, name, "step_variances");
  /* inv and shift per (step, channel): [T, C] against gamma, beta [C] */
  int64_t tc[2] = {steps, channels}, flat = steps * channels, row[2] = {1, steps * channels};
  nnc_shape tc_shape = shape_make(0, 2, tc), flat_shape = shape_make(0, 1, &flat);
  int shift, inv = scale_shift(g, graph_reshape(g, mean, tc_shape, st),
                               graph_reshape(g, var, tc_shape, st), w.gamma, w.beta, p->epsilon,
                               &shift, st);
  if (inv < 0 || shift < 0) return -1;
  inv = graph_reshape(g, inv, flat_shape, st);
  shift = graph_reshape(g, shift, flat_shape, st);
  int train = graph_binary(g, NNC_BIN_ADD, graph_binary(g, NNC_BIN_MUL, xt, inv, st), shift, st);
  train = norm_from_last(g, train, &tl, st);
  layer_label(g, train, name, "train");
  /* the T updates in step order: step t's statistics are entries [t*C, (t+1)*C) */
  int stats[2] = {graph_reshape(g, mean, shape_make(0, 2, row), st),
                  graph_reshape(g, var, shape_make(0, 2, row), st)};
  int moving[2] = {w.moving_mean, w.moving_var};
  nnc_shape cs = shape_make(0, 1, &channels);
  for (int k = 0; k < 2; k++) {
    int v = moving_so_far(g, moving[k]);
    for (int64_t t = 0; t < steps && v >= 0; t++) {
      int at = graph_reshape(g, graph_slice(g, stats[k], 1, t * channels, channels, st), cs, st);
      v = at < 0 ? -1 : moving_step(g, v, at, p->momentum, st);
    }
    int u = v < 0 ? -1 : graph_train_assign(g, moving[k], v, st);
    if (u < 0) return -1;
    layer_label(g, u, name, k ? "update moving_variance" : "update moving_mean");
  }
  y = graph_phase_select(g, train, y, st);
  layer_label(g, y, name, "phase");
  return y;
}

const nnc_layer_class layer_batch_normalization = {
    "BatchNormalization", "batch_normalization", 1, 1, parse, lower, NULL};
