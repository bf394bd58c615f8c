/* nnc_model_summary: the Keras-style summary printed from the program
 * table's rows. A Functional model with branches gets the "Connected to"
 * column (as Keras prints it for a non-sequential graph); any other keeps
 * the Sequential look. */
#include <stdio.h>

#include "base/base.h"
#include "base/shape.h"
#include "runtime/api_check.h"
#include "runtime/model.h"

static void row_shape(const nnc_summary_row *r, char *buf, size_t n) {
  nnc_shape s = {0};
  s.rank = r->rank;
  s.batched = r->rank > 0;
  for (int i = 0; i < r->rank; i++) s.dims[i] = r->shape[i];
  shape_format_keras(&s, buf, n);
}

void model_print_summary(const nnc_program_table *t, FILE *f) {
  static const char rule[] = "================================================================";
  int wide = t->functional;
  fprintf(f, "Model: \"%s\"\n", t->model_name ? t->model_name : "");
  if (wide)
    fprintf(f, "%-30s %-20s %12s  %s\n%s================================\n", "Layer (type)",
            "Output Shape", "Param #", "Connected to", rule);
  else
    fprintf(f, "%-30s %-20s %12s\n%s\n", "Layer (type)", "Output Shape", "Param #", rule);
  int64_t total = 0, trainable = 0;
  for (int i = 0; i < t->n_summary_rows; i++) {
    const nnc_summary_row *r = &t->summary[i];
    char name[192], shape[96];
    snprintf(name, sizeof name, "%s (%s)", r->name, r->class_name);
    row_shape(r, shape, sizeof shape);
    if (wide)
      fprintf(f, "%-30s %-20s %12lld  %s\n", name, shape, (long long)r->params,
              r->connected ? r->connected : "-");
    else
      fprintf(f, "%-30s %-20s %12lld\n", name, shape, (long long)r->params);
    total += r->params;
    trainable += r->trainable;
  }
  fprintf(f, "%s%s\nTotal params: %lld (%.2f KB)\n", rule,
          wide ? "================================" : "", (long long)total,
          (double)total * 4 / 1024.0);
  fprintf(f, "Trainable params: %lld\nNon-trainable params: %lld\n", (long long)trainable,
          (long long)(total - trainable));
}

int nnc_model_summary(const nnc_model *m, void *file, nnc_status *st) {
  API_STATUS(st);
  if (api_nonnull(m, "nnc_model_summary", "m", st)) return NNC_ERR_ARG;
  if (!m->built)
    return nnc_fail(st, NNC_ERR_ARG, "%s: the model declares no input shape; give data to build it",
                    model_source(m));
  model_print_summary(m->t, file ? file : stdout);
  return NNC_OK;
}
