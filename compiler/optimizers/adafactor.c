/* Adafactor (keras/src/optimizers/adafactor.py): second moments factored into
 * a row moment r (the last axis averaged away) and a column moment c (the
 * second-to-last averaged away) for variables of rank 2; a full moment v for
 * rank 0 and 1. Keras's relative_step minimum of the learning rate and
 * 1/sqrt(t) is always applied again as rho_t, so it is applied once here.
 * Variables of rank 3 or more are refused: nnc's reductions of a variable
 * reach its last axis and all rows, not axis -2 alone. */
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

static int update(opt_ctx *c) {
  const nnc_spec_optimizer *o = c->o;
  const nnc_param_info *p = &c->prog->params[c->p];
  if (p->shape.rank > 2)
    return nnc_fail(c->st, NNC_ERR_SPEC,
                    "Adafactor: variable %s has rank %d: only variables of rank 0 to 2 are "
                    "supported yet",
                    p->name, p->shape.rank),
           -1;
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
