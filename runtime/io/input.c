#include "runtime/io/input.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"

/* Buffers for data of unproven length start at this size and double. */
enum { FIRST_CHUNK = 1 << 20 };

int io_input_open(io_input *in, const char *path, nnc_status *st) {
  memset(in, 0, sizeof *in);
  in->path = path;
  in->fd = nnc_open_input(path, &in->size, st);
  return in->fd < 0 ? (st ? (int)st->code : NNC_ERR_IO) : NNC_OK;
}

void io_input_open_memory(io_input *in, const char *path, const void *bytes, size_t n) {
  memset(in, 0, sizeof *in);
  in->path = path;
  in->fd = -1;
  in->size = (int64_t)n;
  in->mem = bytes;
}

/* Up to n bytes from the file, pipe or memory behind in (after its look-ahead). */
static int source_read(io_input *in, void *dst, size_t n, size_t *got) {
  if (!in->mem) return nnc_read_fd(in->fd, dst, n, got);
  size_t left = (size_t)in->size - in->mem_used;
  *got = n < left ? n : left;
  if (*got) memcpy(dst, in->mem + in->mem_used, *got);
  in->mem_used += *got;
  return 0;
}

void io_input_close(io_input *in) {
  if (in->fd >= 0) close(in->fd);
  in->fd = -1;
}

int io_input_read(io_input *in, void *dst, size_t want, size_t *got, nnc_status *st) {
  unsigned char *out = dst;
  size_t from_ahead = in->ahead_len < want ? in->ahead_len : want;
  if (from_ahead) {
    memcpy(out, in->ahead, from_ahead);
    memmove(in->ahead, in->ahead + from_ahead, in->ahead_len - from_ahead);
    in->ahead_len -= from_ahead;
  }
  size_t n = 0;
  if (source_read(in, out + from_ahead, want - from_ahead, &n) != 0)
    return nnc_fail(st, NNC_ERR_IO, "%s: read error: %s", in->path, strerror(errno));
  *got = from_ahead + n;
  in->pos += *got;
  return NNC_OK;
}

int io_input_peek(io_input *in, void *dst, size_t n, size_t *got, nnc_status *st) {
  if (n > sizeof in->ahead) n = sizeof in->ahead;
  if (in->ahead_len < n) {
    size_t more = 0;
    if (source_read(in, in->ahead + in->ahead_len, n - in->ahead_len, &more) != 0)
      return nnc_fail(st, NNC_ERR_IO, "%s: read error: %s", in->path, strerror(errno));
    in->ahead_len += more;
  }
  *got = in->ahead_len < n ? in->ahead_len : n;
  memcpy(dst, in->ahead, *got);
  return NNC_OK;
}

int64_t io_input_left(const io_input *in) {
  if (in->size < 0) return -1;
  return (uint64_t)in->size > in->pos ? in->size - (int64_t)in->pos : 0;
}

void *io_input_read_alloc(io_input *in, size_t n, size_t *got, nnc_status *st) {
  /* A regular file that holds n more bytes proves n: allocate it at once. */
  int64_t left = io_input_left(in);
  size_t cap = left >= 0 && (uint64_t)left >= n ? n : (n < FIRST_CHUNK ? n : FIRST_CHUNK);
  unsigned char *buf = malloc(cap ? cap : 1);
  size_t done = 0;
  while (buf) {
    size_t part = 0;
    if (io_input_read(in, buf + done, cap - done, &part, st)) {
      free(buf);
      return NULL;
    }
    done += part;
    if (done < cap || cap == n) break; /* end of file, or all of it */
    cap = cap > n / 2 ? n : cap * 2;
    unsigned char *bigger = realloc(buf, cap);
    if (!bigger) free(buf);
    buf = bigger;
  }
  if (!buf) {
    nnc_fail(st, NNC_ERR_NOMEM, "%s: out of memory reading %zu bytes", in->path, n);
    return NULL;
  }
  *got = done;
  return buf;
}

int io_input_at_end(io_input *in, int *at_end, nnc_status *st) {
  unsigned char probe;
  size_t got = 0;
  int rc = io_input_peek(in, &probe, 1, &got, st);
  *at_end = got == 0;
  return rc;
}
