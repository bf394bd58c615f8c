/* Adafactor (keras/src/optimizers/adafactor.py): second moments factored into
 * a row moment r (the last axis averaged away) and a column moment c (the
 * second-to-last averaged away) for variables of rank 2 or more ("always
 * factor the last 2 dimensions"); a full moment v for rank 0 and 1. Keras's
 * relative_step minimum of the learning rate and 1/sqrt(t) is always applied
 * again as rho_t, so it is applied once here. A variable of rank >= 3
 * [..., R, C] is seen as [P, R, C], P the product of the leading axes: its r
 * is [P, R, 1] (Keras's var.shape[:-1]), its c [P, C] (var.shape[:-2] + (C,)),
 * the same elements in the same order as Keras's. */
#include <math.h>
#include <stddef.h>

#include "base/base.h"
#include "compiler/optimizers/optimizers.h"

/* mean of x over all its elements */
static int mean_all(opt_ctx *c, int x, int64_t count) {
  int sum = x < 0 ? -1 : graph_reduce(c->g, NNC_RED_ALL, x, c->st);
  return opt_div(c, sum, opt_k(c, (double)count));
}

/* sqrt(mean(square(x))) */
static int rms(opt_ctx *c, int x, int64_t count) {
  return opt_fn(c, NNC_FN_SQRT, mean_all(c, opt_fn(c, NNC_FN_SQUARE, x), count));
}

static int broadcast(opt_ctx *c, int x, int like) {
  if (x < 0 || like < 0) return -1;
  int in[2] = {x, like};
  return graph_add(c->g, NNC_OP_BROADCAST, 0, in, 2, c->st);
}

/* beta_2_t * m + (1 - beta_2_t) * x */
static int moment(opt_ctx *c, int m, int beta, int one_minus_beta, int x) {
  return opt_add(c, opt_mul(c, beta, m), opt_mul(c, one_minus_beta, x));
}

/* The moments of a variable of rank >= 3 from its regulated squared
 * gradient rgs; *v_out gets v = (r / mean(r, -1))[..., None] * c[..., None, :]
 * shaped like the variable. */
static int factored(opt_ctx *c, int rgs, int beta_2_t, int one_minus, int *v_out) {
  const nnc_param_info *p = &c->prog->params[c->p];
  const nnc_shape *s = &p->shape;
  int64_t rows = s->dims[s->rank - 2], cols = s->dims[s->rank - 1];
  int64_t lead = p->count / (rows * cols);
  int64_t d3[3] = {lead, rows, cols}, dr[3] = {lead, rows, 1}, dc[2] = {lead, cols};
  nnc_shape r_keras = *s, c_keras = *s;
  r_keras.rank--;
  c_keras.rank--;
  c_keras.dims[c_keras.rank - 1] = cols;
  int r = opt_slot_shaped(c, "r", 0.0, r_keras, shape_make(0, 3, dr));
  int cm = opt_slot_shaped(c, "c", 0.0, c_keras, shape_make(0, 2, dc));
  int x = rgs < 0 ? -1 : graph_reshape(c->g, rgs, shape_make(0, 3, d3), c->st);
  int row_mean =
      opt_div(c, x < 0 ? -1 : graph_reduce(c->g, NNC_RED_LAST, x, c->st), opt_k(c, (double)cols));
  int col_mean =
      opt_div(c, x < 0 ? -1 : graph_reduce_axis(c->g, x, 1, c->st), opt_k(c, (double)rows));
  int r_new = moment(c, r, beta_2_t, one_minus, row_mean);
  int c_new = moment(c, cm, beta_2_t, one_minus, col_mean);
  if (opt_write(c, r, r_new) < 0 || opt_write(c, cm, c_new) < 0) return -1;
  /* mean(r, axis=-1) per leading index [P, 1], repeated over the R rows */
  int r_mean = opt_div(c, graph_reduce_axis(c->g, r_new, 1, c->st), opt_k(c, (double)rows));
  int r_norm = opt_div(c, r_new, r_mean < 0 ? -1 : graph_repeat_axis(c->g, r_mean, 1, rows, c->st));
  int c_rows = c_new < 0 ? -1 : graph_repeat_axis(c->g, c_new, 1, rows, c->st);
  int v = opt_mul(c, broadcast(c, r_norm, c_rows), c_rows);
  *v_out = v < 0 ? -1 : graph_reshape(c->g, v, *s, c->st);
  return *v_out < 0 ? -1 : 0;
}

static int update(opt_ctx *c) {
  const nnc_spec_optimizer *o = c->o;
  const nnc_param_info *p = &c->prog->params[c->p];
  int g = c->grad, t = opt_t(c), one = opt_k(c, 1.0);
  int rho_t =
      graph_binary(c->g, NNC_BIN_MIN, c->lr, opt_div(c, one, opt_fn(c, NNC_FN_SQRT, t)), c->st);
  int alpha_t = opt_mul(c, opt_max(c, opt_k(c, o->epsilon_2), rms(c, c->var, p->count)), rho_t);
  int rgs = opt_add(c, opt_fn(c, NNC_FN_SQUARE, g), opt_k(c, o->epsilon_1));
  int beta_2_t = opt_sub(c, one, opt_pow(c, t, opt_k(c, o->beta_2_decay)));
  int one_minus = opt_sub(c, one, beta_2_t);
  int v = opt_slot(c, "velocity", 0.0), v_new;
  if (p->shape.rank == 2) {
    int64_t rows = p->shape.dims[0], cols = p->shape.dims[1];
    int64_t r_dims[2] = {rows, 1};
    nnc_shape r_keras = shape_make(0, 1, &rows), c_keras = shape_make(0, 1, &cols);
    int r = opt_slot_shaped(c, "r", 0.0, r_keras, shape_make(0, 2, r_dims));
    int cm = opt_slot_shaped(c, "c", 0.0, c_keras, c_keras);
    int row_mean = opt_div(c, rgs < 0 ? -1 : graph_reduce(c->g, NNC_RED_LAST, rgs, c->st),
                           opt_k(c, (double)cols));
    int col_mean = opt_div(c, rgs < 0 ? -1 : graph_reduce(c->g, NNC_RED_LEADING, rgs, c->st),
                           opt_k(c, (double)rows));
    int r_new = moment(c, r, beta_2_t, one_minus, row_mean);
    int c_new = moment(c, cm, beta_2_t, one_minus, col_mean);
    if (opt_write(c, r, r_new) < 0 || opt_write(c, cm, c_new) < 0) return -1;
    /* v = expand_dims(r / mean(r), -1) * expand_dims(c, -2) */
    int r_norm = opt_div(c, r_new, mean_all(c, r_new, rows));
    v_new = opt_mul(c, broadcast(c, r_norm, g), broadcast(c, c_new, g));
  } else if (p->shape.rank > 2) {
    if (factored(c, rgs, beta_2_t, one_minus, &v_new)) return -1;
  } else {
    v_new = moment(c, v, beta_2_t, one_minus, rgs);
  }
  if (opt_write(c, v, v_new) < 0) return -1;
  int u_t = opt_div(c, g, opt_fn(c, NNC_FN_SQRT, v_new));
  int u_hat = opt_div(
      c, u_t, opt_max(c, one, opt_div(c, rms(c, u_t, p->count), opt_k(c, o->clip_threshold))));
  return opt_sub(c, c->var, opt_mul(c, alpha_t, u_hat));
}

static const opt_key keys[] = {{"beta_2_decay", NULL, NULL, OPT_NUMBER, -INFINITY, INFINITY, 0,
                                -0.8, offsetof(nnc_spec_optimizer, beta_2_decay)},
                               {"epsilon_1", NULL, NULL, OPT_NUMBER, 0.0, INFINITY, 0, 1e-30,
                                offsetof(nnc_spec_optimizer, epsilon_1)},
                               {"epsilon_2", NULL, NULL, OPT_NUMBER, 0.0, INFINITY, 0, 1e-3,
                                offsetof(nnc_spec_optimizer, epsilon_2)},
                               {"clip_threshold", NULL, NULL, OPT_NUMBER, 0.0, INFINITY, 1, 1.0,
                                offsetof(nnc_spec_optimizer, clip_threshold)},
                               {"relative_step", NULL, NULL, OPT_BOOL, 0, 0, 0, 1,
                                offsetof(nnc_spec_optimizer, relative_step)},
                               {NULL, NULL, NULL, OPT_NUMBER, 0, 0, 0, 0, 0}};

const opt_class opt_adafactor = {"Adafactor", NULL, 0.001, 0.0, keys, NULL, update};
