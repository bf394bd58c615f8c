/* The warnings of a model: the compiler's (the table's), then those that
 * callbacks recorded during fit (model_warn). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "runtime/model.h"

static int table_warnings(const nnc_model *m) {
  return m && m->built ? m->t->n_warnings : 0;
}

int nnc_model_warning_count(const nnc_model *m) {
  return m ? table_warnings(m) + m->n_run_warnings : 0;
}

const char *nnc_model_warning(const nnc_model *m, int i) {
  if (i < 0 || i >= nnc_model_warning_count(m)) return NULL;
  int n_table = table_warnings(m);
  return i < n_table ? m->t->warnings[i] : m->run_warnings[i - n_table];
}

int model_warn(nnc_model *m, nnc_status *st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int len = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (len < 0) return nnc_fail(st, NNC_ERR_INTERNAL, "model_warn: bad format \"%s\"", fmt);
  char *text = nnc_calloc((size_t)len + 1, 1, st);
  if (!text) return st->code;
  va_start(ap, fmt);
  vsnprintf(text, (size_t)len + 1, fmt, ap);
  va_end(ap);
  for (int i = 0; i < m->n_run_warnings; i++)
    if (!strcmp(m->run_warnings[i], text)) {
      free(text);
      return NNC_OK;
    }
  char **grown =
      nnc_realloc_array(m->run_warnings, (size_t)m->n_run_warnings + 1, sizeof *grown, st);
  if (!grown) {
    free(text);
    return st->code;
  }
  m->run_warnings = grown;
  m->run_warnings[m->n_run_warnings++] = text;
  return NNC_OK;
}
