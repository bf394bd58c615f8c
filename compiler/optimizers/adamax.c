/* Adamax (keras/src/optimizers/adamax.py): the infinity norm u, epsilon
 * added to u, only beta_1's bias corrected. */
#include <math.h>
#include <stddef.h>

#include "compiler/optimizers/optimizers.h"

static int update(opt_ctx *c) {
  const nnc_spec_optimizer *o = c->o;
  int g = c->grad;
  int b1p = opt_pow(c, opt_k(c, o->beta_1), opt_t(c));
  int m = opt_slot(c, "momentum", 0.0), u = opt_slot(c, "norm", 0.0);
  int m_new = opt_add(c, m, opt_mul(c, opt_sub(c, g, m), opt_k(c, 1.0 - o->beta_1)));
  int u_new = opt_max(c, opt_mul(c, opt_k(c, o->beta_2), u), opt_fn(c, NNC_FN_ABS, g));
  if (opt_write(c, m, m_new) < 0 || opt_write(c, u, u_new) < 0) return -1;
  /* variable -= lr * m / ((1 - beta_1_power) * (u + epsilon)) */
  return opt_sub(
      c, c->var,
      opt_div(c, opt_mul(c, c->lr, m_new),
              opt_mul(c, opt_sub(c, opt_k(c, 1.0), b1p), opt_add(c, u_new, opt_k(c, o->epsilon)))));
}

static const opt_key keys[] = {
    {"beta_1", "beta1", NULL, OPT_NUMBER, 0.0, 1.0, 0, 0.9, offsetof(nnc_spec_optimizer, beta_1)},
    {"beta_2", "beta2", NULL, OPT_NUMBER, 0.0, 1.0, 0, 0.999, offsetof(nnc_spec_optimizer, beta_2)},
    {"epsilon", NULL, NULL, OPT_NUMBER, 0.0, INFINITY, 0, 1e-7,
     offsetof(nnc_spec_optimizer, epsilon)},
    {NULL, NULL, NULL, OPT_NUMBER, 0, 0, 0, 0, 0}};

const opt_class opt_adamax = {"Adamax", NULL, 0.001, 0.0, keys, NULL, update};
