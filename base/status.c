#include <stdio.h>
#include <string.h>

#include "base/base.h"

int nnc_fail(nnc_status *st, nnc_code code, const char *fmt, ...) {
  if (st) {
    va_list ap;
    va_start(ap, fmt);
    st->code = code;
    vsnprintf(st->message, sizeof st->message, fmt, ap);
    va_end(ap);
  }
  return (int)code;
}

int nnc_fail_prefix(nnc_status *st, const char *fmt, ...) {
  if (!st) return NNC_ERR_INTERNAL;
  char prefix[512], old[sizeof st->message];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  memcpy(old, st->message, sizeof old);
  snprintf(st->message, sizeof st->message, "%.400s: %.600s", prefix, old);
  return (int)st->code;
}

void nnc_status_ok(nnc_status *st) {
  if (st) {
    st->code = NNC_OK;
    st->message[0] = '\0';
  }
}

const char *nnc_path_brief(const char *path, size_t max, char buf[NNC_PATH_BRIEF + 1]) {
  size_t n = strlen(path);
  if (max > NNC_PATH_BRIEF) max = NNC_PATH_BRIEF;
  if (max < 8) max = 8;
  if (n <= max) return path;
  int half = (int)(max - 3) / 2;
  snprintf(buf, NNC_PATH_BRIEF + 1, "%.*s...%s", half, path, path + n - half);
  return buf;
}

void nnc_strlcpy(char *dst, const char *src, size_t dst_size) {
  if (dst_size == 0) return;
  size_t n = strlen(src);
  if (n >= dst_size) n = dst_size - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}
