/* Reading input files: which kinds of file nnc reads at all, and whole
 * (bounded) JSON files. Writing is in file_write.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"

static const char *kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "a special file";
}

int nnc_open_input(const char *path, int64_t *size_out, nnc_status *st) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    nnc_fail(st, NNC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    return -1;
  }
  struct stat sb;
  if (fstat(fd, &sb) != 0) {
    nnc_fail(st, NNC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    close(fd);
    return -1;
  }
  if (S_ISREG(sb.st_mode)) {
    *size_out = (int64_t)sb.st_size;
    return fd;
  }
  /* A pipe (`<(cat x.npy)`) ends when its writer closes it; /dev/zero never does. */
  if (S_ISFIFO(sb.st_mode)) {
    *size_out = -1;
    return fd;
  }
  nnc_fail(st, NNC_ERR_IO, "%s: not a regular file (%s)", path, kind_of(sb.st_mode));
  close(fd);
  return -1;
}

int nnc_read_fd(int fd, void *dst, size_t want, size_t *got) {
  unsigned char *p = dst;
  size_t done = 0;
  while (done < want) {
    ssize_t n = read(fd, p + done, want - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *got = done;
      return -1;
    }
    if (n == 0) break;
    done += (size_t)n;
  }
  *got = done;
  return 0;
}

static int too_large(const char *path, size_t cap, nnc_status *st) {
  if (cap % ((size_t)1 << 20) == 0)
    return nnc_fail(st, NNC_ERR_IO, "%s: larger than the %zu MiB limit for a JSON file", path,
                    cap >> 20);
  return nnc_fail(st, NNC_ERR_IO, "%s: larger than the %zu-byte limit for a JSON file", path, cap);
}

char *nnc_read_file_capped(const char *path, size_t cap, size_t *len_out, nnc_status *st) {
  int64_t size;
  int fd = nnc_open_input(path, &size, st);
  if (fd < 0) return NULL;
  if (size > (int64_t)cap) {
    close(fd);
    too_large(path, cap, st);
    return NULL;
  }
  /* Read until end of file (the size of a regular file may change meanwhile),
   * but never more than cap + 1 bytes: one more than allowed proves too many. */
  size_t cap_bytes = size >= 0 ? (size_t)size + 1 : 1 << 16, len = 0;
  char *buf = NULL;
  for (;;) {
    if (cap_bytes > cap + 1) cap_bytes = cap + 1;
    char *bigger = realloc(buf, cap_bytes + 1);
    if (!bigger) {
      free(buf);
      close(fd);
      nnc_fail(st, NNC_ERR_NOMEM, "%s: out of memory reading the file", path);
      return NULL;
    }
    buf = bigger;
    size_t got;
    if (nnc_read_fd(fd, buf + len, cap_bytes - len, &got) != 0) {
      int e = errno;
      free(buf);
      close(fd);
      nnc_fail(st, NNC_ERR_IO, "%s: read error: %s", path, strerror(e));
      return NULL;
    }
    len += got;
    if (len < cap_bytes) break; /* end of file */
    if (len > cap) {
      free(buf);
      close(fd);
      too_large(path, cap, st);
      return NULL;
    }
    cap_bytes *= 2;
  }
  close(fd);
  buf[len] = '\0';
  if (len_out) *len_out = len;
  return buf;
}

char *nnc_read_file(const char *path, size_t *len_out, nnc_status *st) {
  return nnc_read_file_capped(path, NNC_MAX_JSON_FILE_BYTES, len_out, st);
}
