/* SGD (keras/src/optimizers/sgd.py): lr folded into the velocity. tfjs's
 * "Momentum" class is SGD with momentum. */
#include <math.h>
#include <stddef.h>

#include "compiler/optimizers/optimizers.h"

static int update(opt_ctx *c) {
  const nnc_spec_optimizer *o = c->o;
  int g = c->grad, lr = c->lr;
  if (o->momentum == 0.0) return opt_sub(c, c->var, opt_mul(c, g, lr));
  int m = opt_slot(c, "momentum", 0.0), mu = opt_k(c, o->momentum);
  /* m = -g * lr + m * momentum */
  int m_new = opt_sub(c, opt_mul(c, m, mu), opt_mul(c, g, lr));
  if (opt_write(c, m, m_new) < 0) return -1;
  /* nesterov: variable += -g * lr + m * momentum (the new m) */
  int step = o->nesterov ? opt_sub(c, opt_mul(c, m_new, mu), opt_mul(c, g, lr)) : m_new;
  return opt_add(c, c->var, step);
}

static const char *const aliases[] = {"momentum", NULL};
static const opt_key keys[] = {
    {"momentum", NULL, NULL, OPT_NUMBER, 0.0, 1.0, 0, 0.0, offsetof(nnc_spec_optimizer, momentum)},
    {"nesterov", "useNesterov", "use_nesterov", OPT_BOOL, 0, 0, 0, 0,
     offsetof(nnc_spec_optimizer, nesterov)},
    {NULL, NULL, NULL, OPT_NUMBER, 0, 0, 0, 0, 0}};

const opt_class opt_sgd = {"SGD", aliases, 0.01, 0.0, keys, NULL, update};
