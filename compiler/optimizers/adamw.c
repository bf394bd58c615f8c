/* AdamW (keras/src/optimizers/adamw.py): Adam with weight_decay 0.004 by
 * default, which the base optimizer applies before the update (apply.c);
 * Keras refuses weight_decay=None for it. */
#include <math.h>
#include <stddef.h>

#include "compiler/optimizers/optimizers.h"

int opt_adam_update(opt_ctx *c);

static const opt_key keys[] = {
    {"beta_1", NULL, NULL, OPT_NUMBER, 0.0, 1.0, 0, 0.9, offsetof(nnc_spec_optimizer, beta_1)},
    {"beta_2", NULL, NULL, OPT_NUMBER, 0.0, 1.0, 0, 0.999, offsetof(nnc_spec_optimizer, beta_2)},
    {"epsilon", NULL, NULL, OPT_NUMBER, 0.0, INFINITY, 0, 1e-7,
     offsetof(nnc_spec_optimizer, epsilon)},
    {"amsgrad", NULL, NULL, OPT_BOOL, 0, 0, 0, 0, offsetof(nnc_spec_optimizer, amsgrad)},
    {NULL, NULL, NULL, OPT_NUMBER, 0, 0, 0, 0, 0}};

const opt_class opt_adamw = {"AdamW", NULL, 0.001, 0.004, keys, NULL, opt_adam_update};
