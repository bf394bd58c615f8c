/* Files of --x, --y, --x-val, --y-val, --x-test, --y-test matched to the
 * model's inputs or outputs: in order, by NAME=FILE, or by the member names
 * of one .npz file (docs/cli.md, "Several inputs and outputs"). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "compiler/cli/args.h"
#include "compiler/cli/cli_data.h"
#include "runtime/io/io.h"
#include "runtime/io/npy_map.h"

void cli_arrays_free(cli_arrays *arrays) {
  if (!arrays) return;
  for (int i = 0; i < arrays->n; i++) {
    if (arrays->maps && arrays->maps[i].len)
      nnc_unmap(&arrays->maps[i]); /* the array's data lies in it */
    else
      nnc_array_free(&arrays->a[i]);
    if (arrays->labels) free(arrays->labels[i]);
  }
  free(arrays->a);
  free(arrays->labels);
  free(arrays->maps);
  memset(arrays, 0, sizeof *arrays);
}

/* "a, b, c" into buf, for messages. */
static const char *slot_list(int n, const char *const *names, char *buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (int i = 0; i < n && used < size; i++)
    used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", names[i]);
  return buf;
}

static int slot_of(int n, const char *const *names, const char *name) {
  for (int i = 0; i < n; i++)
    if (!strcmp(names[i], name)) return i;
  return -1;
}

/* a divided by `divide` into a new float32 array (a itself is left as it is). */
static int divided(const nnc_array *a, const char *divide, nnc_array *out, nnc_status *st) {
  char *end;
  double by = strtod(divide, &end);
  if (end == divide || *end || by == 0 || !isfinite(by) || (float)by == 0 || !isfinite((float)by))
    return nnc_fail(st, NNC_ERR_ARG, "--x-divide: expected a finite non-zero number, got '%s'",
                    divide);
  if (nnc_array_to_f32(a, out, st)) return st->code;
  float *v = out->data;
  for (int64_t i = 0; i < nnc_array_count(out); i++) v[i] = v[i] / (float)by;
  return NNC_OK;
}

/* Put arr (taking its data, and map: the mapping it lies in, or len 0) into
 * slot s, labelled for messages. Divided arrays are new memory: the mapping
 * goes at once. */
static int fill(cli_arrays *out, int s, nnc_array *arr, nnc_mapping *map, const char *label,
                const char *divide, nnc_status *st) {
  if (arr->rank == 0) /* data has a samples axis; the library would name its own call */
    return nnc_fail(st, NNC_ERR_ARG,
                    "%s: a 0-d array (one value, no axes): expected an array whose first axis is "
                    "the samples",
                    label);
  out->labels[s] = malloc(strlen(label) + 1);
  if (!out->labels[s]) return nnc_fail(st, NNC_ERR_NOMEM, "out of memory");
  strcpy(out->labels[s], label);
  out->a[s] = *arr;
  arr->data = NULL;
  out->maps[s] = *map;
  memset(map, 0, sizeof *map);
  out->a[s].name = out->labels[s]; /* library messages about it name the file */
  if (!divide) return NNC_OK;
  nnc_array f;
  if (divided(&out->a[s], divide, &f, st)) return st->code;
  if (out->maps[s].len)
    nnc_unmap(&out->maps[s]);
  else
    nnc_array_free(&out->a[s]);
  f.name = out->labels[s];
  out->a[s] = f;
  return NNC_OK;
}

/* One data file (nnc_data_read_mapped); the set and mapping are released with release(). */
static void release(nnc_tensor_set *set, nnc_mapping *map) {
  if (map->len && set->n == 1) set->items[0].array.data = NULL; /* lies in the mapping */
  nnc_unmap(map);
  nnc_tensor_set_free(set);
}

/* One .npz given alone: members by slot name, or "arr_0" for one slot. */
static int match_npz(const char *option, const char *path, nnc_tensor_set *set, int n_slots,
                     const char *const *slot_names, const char *kind, const char *divide,
                     cli_arrays *out, nnc_status *st) {
  char list[1024], label[4096];
  if (set->n == 0) return nnc_fail(st, NNC_ERR_DATA, "%s: the .npz file holds no arrays", path);
  int unnamed = n_slots == 1 && set->n == 1 && !strcmp(set->items[0].name, "arr_0") &&
                slot_of(n_slots, slot_names, "arr_0") < 0;
  for (int i = 0; i < set->n; i++) {
    const char *member = set->items[i].name;
    int s = unnamed ? 0 : slot_of(n_slots, slot_names, member);
    if (s < 0 && set->n == 1 && !strcmp(member, "arr_0"))
      return nnc_fail(st, NNC_ERR_ARG,
                      "--%s %s: one unnamed array (arr_0, as np.savez(f, a) names it) cannot stand "
                      "for the model's %d %ss (%s): save one member per %s, named after it "
                      "(np.savez(f, %s=...))",
                      option, path, n_slots, kind,
                      slot_list(n_slots, slot_names, list, sizeof list), kind, slot_names[0]);
    if (s < 0)
      return nnc_fail(st, NNC_ERR_ARG,
                      "--%s %s: member '%s' is not an %s of the model (%ss: %s); name the members "
                      "after them",
                      option, path, member, kind, kind,
                      slot_list(n_slots, slot_names, list, sizeof list));
    snprintf(label, sizeof label, "%s (member '%s')", path, member);
    nnc_mapping none = {0};
    if (fill(out, s, &set->items[i].array, &none, label, divide, st)) return st->code;
  }
  return NNC_OK;
}

/* Each value's file read into the slot it names or stands at. */
static int match_files(const char *option, const char *const *values, int n_values, int n_slots,
                       const char *const *slot_names, const char *kind, const char *divide,
                       int named, cli_arrays *out, nnc_status *st) {
  char list[1024];
  if (!named && n_values != n_slots)
    return nnc_fail(st, NNC_ERR_ARG,
                    "--%s: the model has %d %s%s (%s): give one file for each, in order, "
                    "or NAME=FILE; got %d",
                    option, n_slots, kind, n_slots == 1 ? "" : "s",
                    slot_list(n_slots, slot_names, list, sizeof list), n_values);
  for (int v = 0; v < n_values; v++) {
    char name[256];
    const char *file = values[v];
    int s = v;
    if (named) {
      cli_named_value(values[v], name, sizeof name, &file);
      if ((s = slot_of(n_slots, slot_names, name)) < 0)
        return nnc_fail(st, NNC_ERR_ARG, "--%s %s: '%s' is not an %s of the model (%ss: %s)",
                        option, values[v], name, kind, kind,
                        slot_list(n_slots, slot_names, list, sizeof list));
      if (out->labels[s])
        return nnc_fail(st, NNC_ERR_ARG, "--%s: %s '%s' is given twice (%s and %s)", option, kind,
                        name, out->labels[s], file);
    }
    nnc_tensor_set set;
    nnc_mapping map;
    int is_npz = 0;
    if (nnc_data_read_mapped(file, &set, &is_npz, &map, st)) return st->code;
    int rc = NNC_OK;
    if (is_npz)
      rc = nnc_fail(st, NNC_ERR_ARG,
                    "--%s %s: %s is a .npz file, which names its arrays itself: give it alone%s",
                    option, values[v], file, named ? ", without NAME=" : " (not with other files)");
    if (!rc) rc = fill(out, s, &set.items[0].array, &map, file, divide, st);
    release(&set, &map);
    if (rc) return rc;
  }
  return NNC_OK;
}

static int read_matched(const char *option, const char *const *values, int n_values, int n_slots,
                        const char *const *slot_names, const char *kind, int allow_missing,
                        const char *divide, int one_for_all, cli_arrays *out, nnc_status *st) {
  memset(out, 0, sizeof *out);
  if (n_values == 0) return NNC_OK;
  int named = 0;
  for (int v = 0; v < n_values; v++) {
    char name[256];
    const char *file;
    int this_named = cli_named_value(values[v], name, sizeof name, &file);
    if (!this_named) file = values[v];
    if (!*file) /* else the read fails with an empty file name: "nnc fit: : cannot open" */
      return nnc_fail(st, NNC_ERR_ARG, "--%s '%s': expected a file name%s", option, values[v],
                      this_named ? " after '='" : "");
    if (v > 0 && this_named != named)
      return nnc_fail(st, NNC_ERR_ARG,
                      "--%s: give every file as NAME=FILE or none ('%s' and '%s' mix the two)",
                      option, values[0], values[v]);
    named = this_named;
  }
  out->a = nnc_calloc((size_t)n_slots, sizeof *out->a, st);
  out->labels = out->a ? nnc_calloc((size_t)n_slots, sizeof *out->labels, st) : NULL;
  out->maps = out->labels ? nnc_calloc((size_t)n_slots, sizeof *out->maps, st) : NULL;
  if (!out->maps) {
    free(out->a);
    free(out->labels);
    out->a = NULL;
    out->labels = NULL;
    return st->code;
  }
  out->n = n_slots;
  int rc = NNC_OK;
  if (!named && n_values == 1) { /* maybe one .npz */
    nnc_tensor_set set;
    nnc_mapping map;
    int is_npz = 0;
    if (nnc_data_read_mapped(values[0], &set, &is_npz, &map, st)) {
      rc = st->code;
    } else if (is_npz && one_for_all && n_slots > 1 && set.n == 1 &&
               !strcmp(set.items[0].name, "arr_0") && slot_of(n_slots, slot_names, "arr_0") < 0) {
      /* np.savez(f, w): one unnamed array, as one .npy: Keras's one sample_weight
       * for every output (compile_utils repeats sample_weight[0]) */
      char label[4096];
      snprintf(label, sizeof label, "%s (member 'arr_0')", values[0]);
      out->n = 1;
      rc = fill(out, 0, &set.items[0].array, &map, label, divide, st);
    } else if (is_npz) {
      rc = match_npz(option, values[0], &set, n_slots, slot_names, kind, divide, out, st);
    } else if (n_slots == 1) {
      rc = fill(out, 0, &set.items[0].array, &map, values[0], divide, st);
    } else if (one_for_all) { /* Keras: one sample_weight for every output */
      out->n = 1;
      rc = fill(out, 0, &set.items[0].array, &map, values[0], divide, st);
    } else {
      release(&set, &map); /* match_files reads it again, with the others */
      rc = match_files(option, values, n_values, n_slots, slot_names, kind, divide, 0, out, st);
    }
    release(&set, &map);
  } else {
    rc = match_files(option, values, n_values, n_slots, slot_names, kind, divide, named, out, st);
  }
  for (int s = 0; !rc && !allow_missing && s < out->n; s++)
    if (!out->labels[s]) {
      char list[1024];
      rc = nnc_fail(st, NNC_ERR_ARG, "--%s: no array for %s '%s' (%ss: %s)", option, kind,
                    slot_names[s], kind, slot_list(n_slots, slot_names, list, sizeof list));
    }
  if (rc) cli_arrays_free(out);
  return rc;
}

int cli_read_matched(const char *option, const char *const *values, int n_values, int n_slots,
                     const char *const *slot_names, const char *kind, int allow_missing,
                     const char *divide, cli_arrays *out, nnc_status *st) {
  return read_matched(option, values, n_values, n_slots, slot_names, kind, allow_missing, divide, 0,
                      out, st);
}

int cli_read_weights(const char *option, const char *const *values, int n_values, int n_slots,
                     const char *const *slot_names, cli_arrays *out, nnc_status *st) {
  return read_matched(option, values, n_values, n_slots, slot_names, "output", 1, NULL, 1, out, st);
}
