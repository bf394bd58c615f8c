/* Nadam (keras/src/optimizers/nadam.py): Dozat's momentum schedule
 * u_t = beta_1 * (1 - 0.5 * 0.96^t) and the running product u_product (one
 * value for the whole model, starting at 1), updated once per step before the
 * variables. beta_1, beta_2 are float32 tensors there: 1 - beta_1 is float32. */
#include <math.h>
#include <stddef.h>

#include "compiler/optimizers/optimizers.h"

/* beta_1 * (1 - 0.5 * 0.96^step) */
static int u_at(opt_ctx *c, int step) {
  return opt_mul(
      c, opt_k(c, c->o->beta_1),
      opt_sub(c, opt_k(c, 1.0), opt_mul(c, opt_k(c, 0.5), opt_pow(c, opt_k(c, 0.96), step))));
}

/* u_product = u_product * beta_1 * (1 - 0.5 * 0.96^(iterations + 1)) */
static int prepare(opt_ctx *c) {
  int u = opt_scalar_slot(c, "u_product", 1.0);
  int factor =
      opt_sub(c, opt_k(c, 1.0), opt_mul(c, opt_k(c, 0.5), opt_pow(c, opt_k(c, 0.96), opt_t(c))));
  int u_new = opt_mul(c, opt_mul(c, u, opt_k(c, c->o->beta_1)), factor);
  if (opt_write(c, u, u_new) < 0) return -1;
  return u_new;
}

static int update(opt_ctx *c) {
  const nnc_spec_optimizer *o = c->o;
  int g = c->grad, one = opt_k(c, 1.0);
  int u_t = u_at(c, opt_t(c)), u_t_1 = u_at(c, opt_add(c, opt_t(c), one));
  int u_product_t = c->shared, u_product_t_1 = opt_mul(c, u_product_t, u_t_1);
  int b2p = opt_pow(c, opt_k(c, o->beta_2), opt_t(c));
  int m = opt_slot(c, "momentum", 0.0), v = opt_slot(c, "velocity", 0.0);
  int m_new = opt_add(c, m, opt_mul(c, opt_sub(c, g, m), opt_k(c, opt_one_minus_f32(o->beta_1))));
  int v_new = opt_add(c, v,
                      opt_mul(c, opt_sub(c, opt_fn(c, NNC_FN_SQUARE, g), v),
                              opt_k(c, opt_one_minus_f32(o->beta_2))));
  if (opt_write(c, m, m_new) < 0 || opt_write(c, v, v_new) < 0) return -1;
  /* m_hat = u_t_1 * m / (1 - u_product_t_1) + (1 - u_t) * g / (1 - u_product_t) */
  int m_hat =
      opt_add(c, opt_div(c, opt_mul(c, u_t_1, m_new), opt_sub(c, one, u_product_t_1)),
              opt_div(c, opt_mul(c, opt_sub(c, one, u_t), g), opt_sub(c, one, u_product_t)));
  int v_hat = opt_div(c, v_new, opt_sub(c, one, b2p));
  return opt_sub(c, c->var,
                 opt_div(c, opt_mul(c, m_hat, c->lr),
                         opt_add(c, opt_fn(c, NNC_FN_SQRT, v_hat), opt_k(c, o->epsilon))));
}

static const opt_key keys[] = {
    {"beta_1", NULL, NULL, OPT_NUMBER, 0.0, 1.0, 0, 0.9, offsetof(nnc_spec_optimizer, beta_1)},
    {"beta_2", NULL, NULL, OPT_NUMBER, 0.0, 1.0, 0, 0.999, offsetof(nnc_spec_optimizer, beta_2)},
    {"epsilon", NULL, NULL, OPT_NUMBER, 0.0, INFINITY, 0, 1e-7,
     offsetof(nnc_spec_optimizer, epsilon)},
    {NULL, NULL, NULL, OPT_NUMBER, 0, 0, 0, 0, 0}};

const opt_class opt_nadam = {"Nadam", NULL, 0.001, 0.0, keys, prepare, update};
