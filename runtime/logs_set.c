/* nnc_logs_set: a callback adds or replaces one entry of the logs it was
 * handed (Keras's logs["learning_rate"] = ...). The entry goes where sorting
 * keeps the logs sorted by name, as every log the library fills is.
 * Engineer fit defines nnc_logs_set too (runtime/epoch.c on their branch):
 * this one is weak so that theirs wins when both are linked; delete this
 * file once their branch is merged. */
#include <string.h>

#include "base/base.h"
#include "runtime/api_check.h"
#include "runtime/epoch.h"

__attribute__((weak)) int nnc_logs_set(nnc_logs *logs, const char *name, double value,
                                       nnc_status *st) {
  API_STATUS(st);
  static const char fn[] = "nnc_logs_set";
  if (api_nonnull(logs, fn, "logs", st) || api_nonnull(name, fn, "name", st) ||
      logs_check(logs, fn, st))
    return NNC_ERR_ARG;
  size_t len = strlen(name);
  if (len == 0 || len >= NNC_LOG_NAME)
    return nnc_fail(st, NNC_ERR_ARG, "%s: expected a name of 1 to %d bytes, got %zu bytes", fn,
                    NNC_LOG_NAME - 1, len);
  for (int i = 0; i < logs->n; i++)
    if (!strcmp(logs->names[i], name)) {
      logs->values[i] = value;
      return NNC_OK;
    }
  if (logs->n == logs->cap) {
    int cap = logs->cap ? 2 * logs->cap : 16;
    char(*names)[NNC_LOG_NAME] =
        nnc_realloc_array(logs->names, (size_t)cap, sizeof *logs->names, st);
    if (!names) return st->code;
    logs->names = names;
    double *values = nnc_realloc_array(logs->values, (size_t)cap, sizeof *values, st);
    if (!values) return st->code;
    logs->values = values;
    logs->cap = cap;
  }
  memcpy(logs->names[logs->n], name, len + 1);
  logs->values[logs->n++] = value;
  logs_sort(logs);
  return NNC_OK;
}
