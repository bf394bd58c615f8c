/* Adam (keras/src/optimizers/adam.py): epsilon added to the uncorrected
 * sqrt(v), the bias corrections folded into alpha. */
#include <math.h>
#include <stddef.h>

#include "compiler/optimizers/optimizers.h"

int opt_adam_update(opt_ctx *c); /* AdamW's too (adamw.c) */

int opt_adam_update(opt_ctx *c) {
  const nnc_spec_optimizer *o = c->o;
  int g = c->grad, one = opt_k(c, 1.0);
  int b1p = opt_pow(c, opt_k(c, o->beta_1), opt_t(c));
  int b2p = opt_pow(c, opt_k(c, o->beta_2), opt_t(c));
  /* alpha = lr * sqrt(1 - beta_2_power) / (1 - beta_1_power) */
  int alpha = opt_div(c, opt_mul(c, c->lr, opt_fn(c, NNC_FN_SQRT, opt_sub(c, one, b2p))),
                      opt_sub(c, one, b1p));
  int m = opt_slot(c, "momentum", 0.0), v = opt_slot(c, "velocity", 0.0);
  int m_new = opt_add(c, m, opt_mul(c, opt_sub(c, g, m), opt_k(c, 1.0 - o->beta_1)));
  int v_new = opt_add(
      c, v, opt_mul(c, opt_sub(c, opt_fn(c, NNC_FN_SQUARE, g), v), opt_k(c, 1.0 - o->beta_2)));
  if (opt_write(c, m, m_new) < 0 || opt_write(c, v, v_new) < 0) return -1;
  int v_used = v_new;
  if (o->amsgrad) {
    int vh = opt_slot(c, "velocity_hat", 0.0);
    v_used = opt_max(c, vh, v_new);
    if (opt_write(c, vh, v_used) < 0) return -1;
  }
  int step = opt_div(c, opt_mul(c, m_new, alpha),
                     opt_add(c, opt_fn(c, NNC_FN_SQRT, v_used), opt_k(c, o->epsilon)));
  return opt_sub(c, c->var, step);
}

static const opt_key keys[] = {
    {"beta_1", "beta1", NULL, OPT_NUMBER, 0.0, 1.0, 0, 0.9, offsetof(nnc_spec_optimizer, beta_1)},
    {"beta_2", "beta2", NULL, OPT_NUMBER, 0.0, 1.0, 0, 0.999, offsetof(nnc_spec_optimizer, beta_2)},
    {"epsilon", NULL, NULL, OPT_NUMBER, 0.0, INFINITY, 0, 1e-7,
     offsetof(nnc_spec_optimizer, epsilon)},
    {"amsgrad", NULL, NULL, OPT_BOOL, 0, 0, 0, 0, offsetof(nnc_spec_optimizer, amsgrad)},
    {NULL, NULL, NULL, OPT_NUMBER, 0, 0, 0, 0, 0}};

const opt_class opt_adam = {"Adam", NULL, 0.001, 0.0, keys, NULL, opt_adam_update};
