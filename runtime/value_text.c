/* Exact text of one array element (value_text.h). */
#include "runtime/value_text.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* The shortest %.Ng (N >= 6) that strtod reads back as v. */
static void double_text(double v, char *buf, size_t n) {
  for (int digits = 6; digits <= 17; digits++) {
    snprintf(buf, n, "%.*g", digits, v);
    if (isnan(v) || strtod(buf, NULL) == v) return;
  }
}

/* The shortest %.Ng (N >= min_digits) that strtof reads back as v (at most
 * 9 digits); a whole number up to 2^64 in full. */
static void float_text(float v, int min_digits, char *buf, size_t n) {
  if (v == floorf(v) && fabsf(v) <= 0x1p64f) {
    snprintf(buf, n, "%.0f", (double)v);
    return;
  }
  for (int digits = min_digits; digits <= 9; digits++) {
    snprintf(buf, n, "%.*g", digits, (double)v);
    if (isnan(v) || strtof(buf, NULL) == v) return;
  }
}

void value_text(nnc_dtype dtype, const void *data, int64_t i, float as_f32, char *buf, size_t n) {
  double exact = 0; /* the value, when a double holds it exactly */
  int same = -1;    /* whether as_f32 is the value: -1 compare exact */
  size_t at = (size_t)i;
  switch (dtype) {
  case NNC_F32:
    float_text(((const float *)data)[at], 6, buf, n);
    return; /* the model sees it as it is */
  case NNC_F64:
    exact = ((const double *)data)[at];
    double_text(exact, buf, n);
    break;
  case NNC_I64: {
    long long v = ((const int64_t *)data)[at];
    snprintf(buf, n, "%lld", v);
    same = as_f32 >= -0x1p63f && as_f32 < 0x1p63f && (long long)as_f32 == v;
    break;
  }
  case NNC_U64: {
    unsigned long long v = ((const uint64_t *)data)[at];
    snprintf(buf, n, "%llu", v);
    same = as_f32 >= 0 && as_f32 < 0x1p64f && (unsigned long long)as_f32 == v;
    break;
  }
  case NNC_I32:
    exact = ((const int32_t *)data)[at];
    snprintf(buf, n, "%.0f", exact);
    break;
  case NNC_U32:
    exact = ((const uint32_t *)data)[at];
    snprintf(buf, n, "%.0f", exact);
    break;
  case NNC_I16:
    exact = ((const int16_t *)data)[at];
    snprintf(buf, n, "%.0f", exact);
    break;
  case NNC_U16:
    exact = ((const uint16_t *)data)[at];
    snprintf(buf, n, "%.0f", exact);
    break;
  case NNC_I8:
    exact = ((const int8_t *)data)[at];
    snprintf(buf, n, "%.0f", exact);
    break;
  case NNC_U8:
    exact = ((const uint8_t *)data)[at];
    snprintf(buf, n, "%.0f", exact);
    break;
  default:
    snprintf(buf, n, "?");
    return;
  }
  if (same < 0) same = (double)as_f32 == exact || (isnan(exact) && isnan(as_f32));
  if (same) return;
  char f32[32]; /* all 9 digits: the shortest form could read as the value itself */
  float_text(as_f32, 9, f32, sizeof f32);
  size_t used = 0;
  while (used < n && buf[used]) used++;
  if (used < n) snprintf(buf + used, n - used, " (as float32: %s)", f32);
}
