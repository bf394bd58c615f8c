#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

void *nnc_calloc(size_t n, size_t size, nnc_status *st) {
  if (n == 0 || size == 0) n = size = 1;
  void *p = calloc(n, size);
  if (!p) nnc_fail(st, NNC_ERR_NOMEM, "out of memory allocating %zu x %zu bytes", n, size);
  return p;
}

void *nnc_realloc_array(void *p, size_t n, size_t size, nnc_status *st) {
  if (n == 0) n = 1;
  if (size && n > SIZE_MAX / size) {
    nnc_fail(st, NNC_ERR_NOMEM, "allocation of %zu x %zu bytes overflows", n, size);
    return NULL;
  }
  void *q = realloc(p, n * size);
  if (!q) nnc_fail(st, NNC_ERR_NOMEM, "out of memory allocating %zu x %zu bytes", n, size);
  return q;
}

void *nnc_alloc_lines(size_t n, size_t size, nnc_status *st) {
  if (n == 0 || size == 0) n = size = 1;
  if (n > SIZE_MAX / size) {
    nnc_fail(st, NNC_ERR_NOMEM, "allocation of %zu x %zu bytes overflows", n, size);
    return NULL;
  }
  void *p = NULL;
  if (posix_memalign(&p, NNC_LINE, n * size)) {
    nnc_fail(st, NNC_ERR_NOMEM, "out of memory allocating %zu x %zu bytes", n, size);
    return NULL;
  }
  return p;
}

void *nnc_calloc_lines(size_t n, size_t size, nnc_status *st) {
  void *p = nnc_alloc_lines(n, size, st);
  if (p) memset(p, 0, n && size ? n * size : 1);
  return p;
}
