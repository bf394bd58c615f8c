/* The warnings the compiler recorded for a model (the table's warnings). */
#include "runtime/model.h"

int nnc_model_warning_count(const nnc_model *m) {
  return m && m->built ? m->t->n_warnings : 0;
}

const char *nnc_model_warning(const nnc_model *m, int i) {
  if (i < 0 || i >= nnc_model_warning_count(m)) return NULL;
  return m->t->warnings[i];
}
