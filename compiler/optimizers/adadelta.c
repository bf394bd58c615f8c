/* Adadelta (keras/src/optimizers/adadelta.py): rms(x) = sqrt(x + epsilon);
 * the learning rate scales the step (Keras 3's default 0.001). */
#include <math.h>
#include <stddef.h>

#include "compiler/optimizers/optimizers.h"

static int rms(opt_ctx *c, int x) {
  return opt_fn(c, NNC_FN_SQRT, opt_add(c, x, opt_k(c, c->o->epsilon)));
}

static int update(opt_ctx *c) {
  const nnc_spec_optimizer *o = c->o;
  int g = c->grad, rho = opt_k(c, o->rho), one_minus_rho = opt_k(c, 1.0 - o->rho);
  int ag = opt_slot(c, "accumulated_grad", 0.0);
  int ad = opt_slot(c, "accumulated_delta_var", 0.0);
  int ag_new =
      opt_add(c, opt_mul(c, rho, ag), opt_mul(c, one_minus_rho, opt_fn(c, NNC_FN_SQUARE, g)));
  if (opt_write(c, ag, ag_new) < 0) return -1;
  /* delta_var = -(rms(accumulated_delta_var) * g / rms(accumulated_grad)) */
  int delta = opt_fn(c, NNC_FN_NEG, opt_div(c, opt_mul(c, rms(c, ad), g), rms(c, ag_new)));
  int ad_new =
      opt_add(c, opt_mul(c, rho, ad), opt_mul(c, one_minus_rho, opt_fn(c, NNC_FN_SQUARE, delta)));
  if (opt_write(c, ad, ad_new) < 0) return -1;
  return opt_add(c, c->var, opt_mul(c, c->lr, delta));
}

static const opt_key keys[] = {
    {"rho", NULL, NULL, OPT_NUMBER, 0.0, 1.0, 0, 0.95, offsetof(nnc_spec_optimizer, rho)},
    {"epsilon", NULL, NULL, OPT_NUMBER, 0.0, INFINITY, 0, 1e-7,
     offsetof(nnc_spec_optimizer, epsilon)},
    {NULL, NULL, NULL, OPT_NUMBER, 0, 0, 0, 0, 0}};

const opt_class opt_adadelta = {"Adadelta", NULL, 0.001, 0.0, keys, NULL, update};
