#include "runtime/api_check.h"

#include <stdint.h>

#include "base/base.h"

int api_nonnull(const void *p, const char *fn, const char *arg, nnc_status *st) {
  return p ? NNC_OK : nnc_fail(st, NNC_ERR_ARG, "%s: %s is NULL", fn, arg);
}

const char *api_array_name(const nnc_array *a, const char *fallback) {
  return a && a->name && a->name[0] ? a->name : fallback;
}

int api_array(const nnc_array *a, const char *fn, const char *arg, int min_rank, nnc_status *st) {
  if (!a) return nnc_fail(st, NNC_ERR_ARG, "%s: %s is NULL", fn, arg);
  const char *name = api_array_name(a, arg);
  if (nnc_dtype_size(a->dtype) == 0)
    return nnc_fail(st, NNC_ERR_ARG, "%s: %s: dtype %d is not an nnc_dtype", fn, name,
                    (int)a->dtype);
  if (a->rank < min_rank || a->rank > NNC_MAX_RANK)
    return nnc_fail(st, NNC_ERR_ARG, "%s: %s: rank %d is outside [%d, %d]", fn, name, a->rank,
                    min_rank, NNC_MAX_RANK);
  for (int i = 0; i < a->rank; i++)
    if (a->shape[i] < 0)
      return nnc_fail(st, NNC_ERR_ARG, "%s: %s: shape[%d] = %lld is negative", fn, name, i,
                      (long long)a->shape[i]);
  int64_t count = nnc_array_count(a);
  if (count < 0 || (uint64_t)count > SIZE_MAX / 8)
    return nnc_fail(st, NNC_ERR_ARG, "%s: %s: the shape's element count overflows", fn, name);
  if (count > 0 && !a->data)
    return nnc_fail(st, NNC_ERR_ARG, "%s: %s: data is NULL for %lld elements", fn, name,
                    (long long)count);
  return NNC_OK;
}
