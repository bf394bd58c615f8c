/* Ftrl (keras/src/optimizers/ftrl.py), "Follow The Regularized Leader",
 * with its l1/l2/shrinkage strengths and beta; the accumulator starts at
 * initial_accumulator_value. */
#include <math.h>
#include <stddef.h>

#include "compiler/optimizers/optimizers.h"

static int update(opt_ctx *c) {
  const nnc_spec_optimizer *o = c->o;
  int g = c->grad, var = c->var, lr = c->lr;
  int accum = opt_slot(c, "accumulator", o->initial_accumulator_value);
  int linear = opt_slot(c, "linear", 0.0);
  int neg_power = opt_k(c, -o->learning_rate_power);
  /* l2_reg = l2 + beta / (2.0 * lr) */
  int l2_reg =
      opt_add(c, opt_k(c, o->l2), opt_div(c, opt_k(c, o->beta), opt_mul(c, opt_k(c, 2.0), lr)));
  int grad_to_use = opt_add(c, g, opt_mul(c, opt_k(c, 2 * o->l2_shrinkage), var));
  int new_accum = opt_add(c, accum, opt_fn(c, NNC_FN_SQUARE, g));
  /* linear += grad_to_use - (new_accum^-p - accum^-p) / lr * variable */
  int linear_new = opt_add(c, linear,
                           opt_sub(c, grad_to_use,
                                   opt_mul(c,
                                           opt_div(c,
                                                   opt_sub(c, opt_pow(c, new_accum, neg_power),
                                                           opt_pow(c, accum, neg_power)),
                                                   lr),
                                           var)));
  if (opt_write(c, linear, linear_new) < 0) return -1;
  int quadratic = opt_add(c, opt_div(c, opt_pow(c, new_accum, neg_power), lr),
                          opt_mul(c, opt_k(c, 2.0), l2_reg));
  int clipped = linear_new < 0 ? -1 : graph_clip(c->g, linear_new, -o->l1, o->l1, c->st);
  int var_new = opt_div(c, opt_sub(c, clipped, linear_new), quadratic);
  if (opt_write(c, accum, new_accum) < 0) return -1;
  return var_new;
}

/* Keras refuses learning_rate_power > 0 and negative strengths or accumulator */
static const opt_key keys[] = {
    {"learning_rate_power", NULL, NULL, OPT_NUMBER, -INFINITY, 0.0, 0, -0.5,
     offsetof(nnc_spec_optimizer, learning_rate_power)},
    {"initial_accumulator_value", NULL, NULL, OPT_NUMBER, 0.0, INFINITY, 0, 0.1,
     offsetof(nnc_spec_optimizer, initial_accumulator_value)},
    {"l1_regularization_strength", NULL, NULL, OPT_NUMBER, 0.0, INFINITY, 0, 0.0,
     offsetof(nnc_spec_optimizer, l1)},
    {"l2_regularization_strength", NULL, NULL, OPT_NUMBER, 0.0, INFINITY, 0, 0.0,
     offsetof(nnc_spec_optimizer, l2)},
    {"l2_shrinkage_regularization_strength", NULL, NULL, OPT_NUMBER, 0.0, INFINITY, 0, 0.0,
     offsetof(nnc_spec_optimizer, l2_shrinkage)},
    {"beta", NULL, NULL, OPT_NUMBER, 0.0, INFINITY, 0, 0.0, offsetof(nnc_spec_optimizer, beta)},
    {NULL, NULL, NULL, OPT_NUMBER, 0, 0, 0, 0, 0}};

const opt_class opt_ftrl = {"Ftrl", NULL, 0.001, 0.0, keys, NULL, update};
