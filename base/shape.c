/* Shapes with an optional symbolic batch dimension. */
#include "base/shape.h"

#include <stdio.h>
#include <string.h>

nnc_shape shape_make(int batched, int rank, const int64_t *dims) {
  nnc_shape s;
  memset(&s, 0, sizeof s);
  s.rank = rank;
  s.batched = batched;
  for (int i = 0; i < rank; i++) s.dims[i] = dims[i];
  if (batched) s.dims[0] = -1;
  return s;
}

nnc_shape shape_scalar(void) {
  return shape_make(0, 0, NULL);
}

int shape_equal(const nnc_shape *a, const nnc_shape *b) {
  if (a->rank != b->rank || a->batched != b->batched) return 0;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i]) return 0;
  return 1;
}

int64_t shape_inner(const nnc_shape *s) {
  int64_t n = 1;
  for (int i = s->batched ? 1 : 0; i < s->rank; i++) {
    /* saturate: a layer may build a too-large shape before lowering refuses it */
    if (s->dims[i] > 0 && n > INT64_MAX / s->dims[i]) return INT64_MAX;
    n *= s->dims[i];
  }
  return n;
}

int64_t shape_last(const nnc_shape *s) {
  return s->rank == 0 ? 1 : (s->batched && s->rank == 1 ? 1 : s->dims[s->rank - 1]);
}

void shape_format(const nnc_shape *s, char *buf, size_t n) {
  size_t used = (size_t)snprintf(buf, n, "[");
  for (int i = 0; i < s->rank && used < n; i++) {
    if (i == 0 && s->batched)
      used += (size_t)snprintf(buf + used, n - used, "B");
    else
      used += (size_t)snprintf(buf + used, n - used, "%s%lld", i ? "," : "", (long long)s->dims[i]);
  }
  if (used < n) snprintf(buf + used, n - used, "]");
}

void shape_format_keras(const nnc_shape *s, char *buf, size_t n) {
  size_t used = (size_t)snprintf(buf, n, "(");
  for (int i = 0; i < s->rank && used < n; i++) {
    if ((i == 0 && s->batched) || s->dims[i] < 0) /* the batch, or a None axis */
      used += (size_t)snprintf(buf + used, n - used, "%sNone", i ? ", " : "");
    else
      used +=
          (size_t)snprintf(buf + used, n - used, "%s%lld", i ? ", " : "", (long long)s->dims[i]);
  }
  if (used < n) snprintf(buf + used, n - used, s->rank == 1 ? ",)" : ")");
}
