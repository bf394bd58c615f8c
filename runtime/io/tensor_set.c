/* nnc_tensor_set: an ordered list of named arrays that owns its data (the
 * in-memory form of a safetensors file). */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "runtime/io/io.h"

int nnc_tensor_set_add(nnc_tensor_set *set, const char *name, const nnc_array *a, nnc_status *st) {
  if (!set || !name || !a) return nnc_fail(st, NNC_ERR_ARG, "nnc_tensor_set_add: NULL argument");
  size_t name_len = strlen(name);
  if (name_len == 0 || name_len >= sizeof set->items[0].name)
    return nnc_fail(st, NNC_ERR_ARG, "tensor name '%.64s%s' must be 1..%zu bytes long", name,
                    name_len > 64 ? "..." : "", sizeof set->items[0].name - 1);
  /* Names are keys (safetensors has one entry per name), so find stays unambiguous. */
  if (nnc_tensor_set_find(set, name))
    return nnc_fail(st, NNC_ERR_ARG, "tensor '%s' is already in the set", name);
  int64_t count = nnc_array_count(a);
  size_t elem_size = count >= 0 ? nnc_dtype_size(a->dtype) : 0;
  if (elem_size == 0)
    return nnc_fail(st, NNC_ERR_ARG, "tensor '%s': malformed array (rank, shape or dtype)", name);
  if ((uint64_t)count > SIZE_MAX / elem_size)
    return nnc_fail(st, NNC_ERR_NOMEM, "tensor '%s': too large", name);
  if (count > 0 && !a->data) return nnc_fail(st, NNC_ERR_ARG, "tensor '%s': no data", name);
  size_t data_bytes = (size_t)count * elem_size;

  void *copy = nnc_calloc(data_bytes, 1, st);
  if (!copy) return st ? (int)st->code : NNC_ERR_NOMEM;
  if (data_bytes) memcpy(copy, a->data, data_bytes);
  nnc_named_array *items = nnc_realloc_array(set->items, (size_t)set->n + 1, sizeof *items, st);
  if (!items) {
    free(copy);
    return st ? (int)st->code : NNC_ERR_NOMEM;
  }
  set->items = items;
  nnc_named_array *item = &items[set->n++];
  memset(item, 0, sizeof *item);
  memcpy(item->name, name, name_len + 1);
  item->array = *a;
  item->array.data = copy;
  return NNC_OK;
}

const nnc_array *nnc_tensor_set_find(const nnc_tensor_set *set, const char *name) {
  if (!set || !name) return NULL;
  for (int i = 0; i < set->n; i++)
    if (strcmp(set->items[i].name, name) == 0) return &set->items[i].array;
  return NULL;
}

void nnc_tensor_set_free(nnc_tensor_set *set) {
  if (!set) return;
  for (int i = 0; i < set->n; i++) free(set->items[i].array.data);
  free(set->items);
  set->items = NULL;
  set->n = 0;
}
