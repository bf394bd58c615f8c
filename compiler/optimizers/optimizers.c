/* The row table of optimizers.def: lookup by kind and by name. */
#include <string.h>

#include "compiler/optimizers/optimizers.h"
#include "compiler/spec/spec_internal.h"

static const opt_class *const rows[] = {
#define OPTIMIZER(id, row) [NNC_OPT_##id] = &row,
#include "compiler/optimizers/optimizers.def"
#undef OPTIMIZER
};

const opt_class *optimizer_class(nnc_optimizer_kind kind) {
  return (int)kind >= 0 && kind < NNC_OPT_COUNT ? rows[kind] : NULL;
}

/* "sgd", "SGD", "RMSProp" (tfjs), "Custom>Adam" (tf.keras 2.11+ h5) */
const opt_class *optimizer_lookup(const char *name, nnc_optimizer_kind *kind) {
  if (strncmp(name, "Custom>", 7) == 0) name += 7;
  char norm[32], own[32];
  if (!spec_normalize(name, norm, sizeof norm)) return NULL;
  for (int k = 0; k < NNC_OPT_COUNT; k++) {
    int hit = spec_normalize(rows[k]->class_name, own, sizeof own) && !strcmp(own, norm);
    for (const char *const *a = rows[k]->aliases; !hit && a && *a; a++) hit = !strcmp(*a, norm);
    if (hit) {
      *kind = (nnc_optimizer_kind)k;
      return rows[k];
    }
  }
  return NULL;
}

const char *optimizer_list(void) {
  static char list[256];
  if (!list[0])
    for (int k = 0; k < NNC_OPT_COUNT; k++) {
      if (k) strncat(list, ", ", sizeof list - strlen(list) - 1);
      strncat(list, rows[k]->class_name, sizeof list - strlen(list) - 1);
    }
  return list;
}
