/* nnc compile --input-shape: the per-sample shape of each model input, for
 * specs that declare none or declare None axes. Repeatable: one plain
 * D1,D2,... per model input in order, or NAME=D1,D2,... for the inputs that
 * need one (the others keep their declared shapes). */
#include "compiler/cli/input_shapes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

/* At most NNC_MAX_RANK - 1 dimensions: the batch axis comes first. */
static int parse_dims(const char *text, nnc_spec_shape *s) {
  memset(s, 0, sizeof *s);
  const char *p = text;
  while (*p) {
    if (s->rank == NNC_MAX_RANK - 1) return -1;
    char *end;
    errno = 0;
    long v = strtol(p, &end, 10);
    if (end == p || v <= 0 || errno || (*end && *end != ',') || (*end == ',' && !end[1])) return -1;
    s->dims[s->rank++] = v;
    p = *end == ',' ? end + 1 : end;
  }
  return s->rank > 0 ? 0 : -1;
}

/* "a", "b" (the model's input names, for messages). */
static void input_names(const nnc_spec *spec, char *out, size_t size) {
  size_t used = 0;
  out[0] = 0;
  for (int k = 0; k < spec->n_inputs && used < size; k++)
    used += (size_t)snprintf(out + used, size - used, "%s\"%s\"", k ? ", " : "",
                             spec_input_name(spec, k));
}

static int find_input(const nnc_spec *spec, const char *name) {
  for (int k = 0; k < spec->n_inputs; k++)
    if (!strcmp(spec_input_name(spec, k), name)) return k;
  return -1;
}

int cli_input_shapes(const char *cmd, const char *const *values, int n_values, const nnc_spec *spec,
                     nnc_spec_shape **out) {
  *out = NULL;
  if (n_values == 0) return 0;
  int n_inputs = spec->n_inputs > 0 ? spec->n_inputs : 1;
  char names[1024];
  input_names(spec, names, sizeof names);
  /* rank 0: no shape given, the declared one stands */
  nnc_spec_shape *shapes = calloc((size_t)n_inputs, sizeof *shapes);
  if (!shapes) {
    fprintf(stderr, "nnc %s: out of memory\n", cmd);
    return 1;
  }
  int named = 0;
  for (int i = 0; i < n_values; i++) {
    char name[256];
    const char *dims = values[i];
    int is_named = cli_named_value(values[i], name, sizeof name, &dims);
    if (i > 0 && is_named != named) {
      fprintf(stderr,
              "nnc %s: --input-shape: give every shape as NAME=D1,D2,... or none of them, got "
              "'%s' and '%s'\n",
              cmd, values[0], values[i]);
      goto refused;
    }
    named = is_named;
    int k = i;
    if (named && (k = find_input(spec, name)) < 0) {
      fprintf(stderr, "nnc %s: --input-shape: the model has no input \"%s\" (its inputs: %s)\n",
              cmd, name, names);
      goto refused;
    }
    if (named && shapes[k].rank > 0) {
      fprintf(stderr, "nnc %s: --input-shape: input \"%s\" is given twice\n", cmd, name);
      goto refused;
    }
    if (!named && k >= n_inputs) break; /* counted below */
    if (parse_dims(dims, &shapes[k])) {
      fprintf(stderr,
              "nnc %s: --input-shape: expected 1 to %d positive integers like 28,28, got '%s'\n",
              cmd, NNC_MAX_RANK - 1, values[i]);
      goto refused;
    }
  }
  if (!named && n_values != n_inputs) {
    fprintf(stderr,
            "nnc %s: --input-shape: the model has %d inputs (%s): give one --input-shape per "
            "input in that order, or NAME=D1,D2,... for the inputs that need one; got %d\n",
            cmd, n_inputs, names, n_values);
    goto refused;
  }
  *out = shapes;
  return 0;
refused:
  free(shapes);
  return 2;
}
