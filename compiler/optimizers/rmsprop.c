/* RMSprop (keras/src/optimizers/rmsprop.py): epsilon inside the square root. */
#include <math.h>
#include <stddef.h>

#include "compiler/optimizers/optimizers.h"

static int update(opt_ctx *c) {
  const nnc_spec_optimizer *o = c->o;
  int g = c->grad;
  int v = opt_slot(c, "velocity", 0.0), rho = opt_k(c, o->rho);
  int v_new = opt_add(c, opt_mul(c, rho, v),
                      opt_mul(c, opt_k(c, 1.0 - o->rho), opt_fn(c, NNC_FN_SQUARE, g)));
  if (opt_write(c, v, v_new) < 0) return -1;
  int denominator;
  if (o->centered) {
    int ag = opt_slot(c, "average_gradient", 0.0);
    int ag_new = opt_add(c, opt_mul(c, rho, ag), opt_mul(c, opt_k(c, 1.0 - o->rho), g));
    if (opt_write(c, ag, ag_new) < 0) return -1;
    denominator =
        opt_add(c, opt_sub(c, v_new, opt_fn(c, NNC_FN_SQUARE, ag_new)), opt_k(c, o->epsilon));
  } else {
    denominator = opt_add(c, v_new, opt_k(c, o->epsilon));
  }
  int increment = opt_div(c, opt_mul(c, c->lr, g), opt_fn(c, NNC_FN_SQRT, denominator));
  if (o->momentum > 0) {
    int m = opt_slot(c, "momentum", 0.0);
    int m_new = opt_add(c, opt_mul(c, opt_k(c, o->momentum), m), increment);
    if (opt_write(c, m, m_new) < 0) return -1;
    increment = m_new;
  }
  return opt_sub(c, c->var, increment);
}

/* tfjs names rho "decay" (in Keras "decay" is the legacy learning-rate decay) */
static const opt_key keys[] = {
    {"rho", "decay", NULL, OPT_NUMBER, 0.0, 1.0, 0, 0.9, offsetof(nnc_spec_optimizer, rho)},
    {"momentum", NULL, NULL, OPT_NUMBER, 0.0, 1.0, 0, 0.0, offsetof(nnc_spec_optimizer, momentum)},
    {"epsilon", NULL, NULL, OPT_NUMBER, 0.0, INFINITY, 0, 1e-7,
     offsetof(nnc_spec_optimizer, epsilon)},
    {"centered", NULL, NULL, OPT_BOOL, 0, 0, 0, 0, offsetof(nnc_spec_optimizer, centered)},
    {NULL, NULL, NULL, OPT_NUMBER, 0, 0, 0, 0, 0}};

const opt_class opt_rmsprop = {"RMSprop", NULL, 0.001, 0.0, keys, NULL, update};
