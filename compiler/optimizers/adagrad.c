/* Adagrad (keras/src/optimizers/adagrad.py): the accumulator starts at
 * initial_accumulator_value; epsilon inside the square root. */
#include <math.h>
#include <stddef.h>

#include "compiler/optimizers/optimizers.h"

static int update(opt_ctx *c) {
  const nnc_spec_optimizer *o = c->o;
  int g = c->grad;
  int acc = opt_slot(c, "accumulator", o->initial_accumulator_value);
  int acc_new = opt_add(c, acc, opt_fn(c, NNC_FN_SQUARE, g));
  if (opt_write(c, acc, acc_new) < 0) return -1;
  /* variable -= lr * g / sqrt(accumulator + epsilon) */
  return opt_sub(c, c->var,
                 opt_div(c, opt_mul(c, c->lr, g),
                         opt_fn(c, NNC_FN_SQRT, opt_add(c, acc_new, opt_k(c, o->epsilon)))));
}

static const opt_key keys[] = {{"initial_accumulator_value", "initialAccumulatorValue", NULL,
                                OPT_NUMBER, 0.0, INFINITY, 0, 0.1,
                                offsetof(nnc_spec_optimizer, initial_accumulator_value)},
                               {"epsilon", NULL, NULL, OPT_NUMBER, 0.0, INFINITY, 0, 1e-7,
                                offsetof(nnc_spec_optimizer, epsilon)},
                               {NULL, NULL, NULL, OPT_NUMBER, 0, 0, 0, 0, 0}};

const opt_class opt_adagrad = {"Adagrad", NULL, 0.001, 0.0, keys, NULL, update};
