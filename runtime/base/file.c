#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/base/base.h"

char *nnc_read_file(const char *path, size_t *len_out, nnc_status *st) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    nnc_fail(st, NNC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    return NULL;
  }
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  while (buf) {
    size_t got = fread(buf + len, 1, cap - len - 1, f);
    len += got;
    if (got == 0) break;
    if (cap - len - 1 == 0) {
      char *bigger = realloc(buf, cap * 2);
      if (!bigger) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = bigger;
      cap *= 2;
    }
  }
  int read_error = ferror(f);
  fclose(f);
  if (!buf) {
    nnc_fail(st, NNC_ERR_NOMEM, "%s: out of memory reading the file", path);
    return NULL;
  }
  if (read_error) {
    free(buf);
    nnc_fail(st, NNC_ERR_IO, "%s: read error", path);
    return NULL;
  }
  buf[len] = '\0';
  if (len_out) *len_out = len;
  return buf;
}

int nnc_write_file_atomic(const char *path, const void *data, size_t len, nnc_status *st) {
  size_t n = strlen(path) + 32;
  char *tmp = malloc(n);
  if (!tmp) return nnc_fail(st, NNC_ERR_NOMEM, "%s: out of memory", path);
  snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  if (!f) {
    int e = errno;
    free(tmp);
    return nnc_fail(st, NNC_ERR_WRITE, "%s: cannot write: %s", path, strerror(e));
  }
  size_t put = len ? fwrite(data, 1, len, f) : 0;
  int bad = put != len;
  bad |= fflush(f) != 0; /* both must run: no short-circuit */
  bad |= fclose(f) != 0;
  if (bad || rename(tmp, path) != 0) {
    int e = errno;
    remove(tmp);
    free(tmp);
    return nnc_fail(st, NNC_ERR_WRITE, "%s: cannot write: %s", path, strerror(e));
  }
  free(tmp);
  return NNC_OK;
}
