/* Lion (keras/src/optimizers/lion.py): the sign of an interpolation of the
 * momentum and the gradient; beta_1, beta_2 are float32 tensors there, so
 * 1 - beta is float32 arithmetic. sign(0) = 0. */
#include <math.h>
#include <stddef.h>

#include "compiler/optimizers/optimizers.h"

static int update(opt_ctx *c) {
  const nnc_spec_optimizer *o = c->o;
  int g = c->grad;
  int m = opt_slot(c, "momentum", 0.0);
  int b1 = opt_k(c, o->beta_1), b2 = opt_k(c, o->beta_2);
  int direction =
      opt_fn(c, NNC_FN_SIGN,
             opt_add(c, opt_mul(c, m, b1), opt_mul(c, g, opt_k(c, opt_one_minus_f32(o->beta_1)))));
  int var_new = opt_sub(c, c->var, opt_mul(c, c->lr, direction));
  int m_new = opt_add(c, opt_mul(c, m, b2), opt_mul(c, g, opt_k(c, opt_one_minus_f32(o->beta_2))));
  if (opt_write(c, m, m_new) < 0) return -1;
  return var_new;
}

/* Keras: "beta_1 must be in the [0, 1] range", and raises for 0 too */
static const opt_key keys[] = {
    {"beta_1", NULL, NULL, OPT_NUMBER, 0.0, 1.0, 1, 0.9, offsetof(nnc_spec_optimizer, beta_1)},
    {"beta_2", NULL, NULL, OPT_NUMBER, 0.0, 1.0, 0, 0.99, offsetof(nnc_spec_optimizer, beta_2)},
    {NULL, NULL, NULL, OPT_NUMBER, 0, 0, 0, 0, 0}};

const opt_class opt_lion = {"Lion", NULL, 0.001, 0.0, keys, NULL, update};
