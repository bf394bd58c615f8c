/* nnc_write_file_atomic: how every output file is written.
 *
 * A regular file (or a new path) is replaced atomically: the bytes go to a
 * temporary file in the same folder, which is fsynced and renamed over the
 * target, so a crash or a full disk leaves either the old or the new file.
 * A symlink is followed (chains too) and its target replaced that way; the
 * link stays. Anything else (a device such as /dev/null, a FIFO) is written
 * through: renaming over it would destroy it.
 *
 * A path that names an open descriptor (/dev/stdout, /dev/stderr, /dev/fd/N,
 * /proc/self/fd/N: links in /proc/<our pid>/fd) is written with write(2) to
 * that descriptor, which keeps the shell's append mode and position:
 * resolving it would rename a new file over `>> app.log`, and `>(jq .)`
 * points to "pipe:[N]", which is no path at all. Other links in /proc are
 * opened as they are, not resolved.
 *
 * The temporary file of a write in progress is recorded in a fixed slot a
 * signal handler can read (nnc_remove_temp_files_on_signal). */
/* realpath is XSI. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "base/temp_file.h"

/* ---- temporary files of writes in progress, for signal handlers ---- */

/* Fixed slots claimed with lock-free atomics: no malloc, no locks, so a
 * handler may read them at any moment. More concurrent writes than slots
 * only lose the cleanup-on-signal of the extra ones. */
enum { TEMP_SLOTS = 16, TEMP_PATH_MAX = 4096 };
enum { SLOT_FREE, SLOT_FILLING, SLOT_ACTIVE };
static struct {
  atomic_int state;
  char path[TEMP_PATH_MAX];
} temp_slots[TEMP_SLOTS];

int nnc_temp_file_register(const char *path) {
  size_t n = strlen(path);
  if (n >= TEMP_PATH_MAX) return -1;
  for (int i = 0; i < TEMP_SLOTS; i++) {
    int expected = SLOT_FREE;
    if (atomic_compare_exchange_strong(&temp_slots[i].state, &expected, SLOT_FILLING)) {
      memcpy(temp_slots[i].path, path, n + 1);
      atomic_store(&temp_slots[i].state, SLOT_ACTIVE);
      return i;
    }
  }
  return -1;
}

void nnc_temp_file_unregister(int slot) {
  if (slot >= 0) atomic_store(&temp_slots[slot].state, SLOT_FREE);
}

void nnc_remove_temp_files_on_signal(void) {
  for (int i = 0; i < TEMP_SLOTS; i++)
    if (atomic_load(&temp_slots[i].state) == SLOT_ACTIVE) unlink(temp_slots[i].path);
}

/* ---- helpers ---- */

static int write_failed(const char *path, int err, nnc_status *st) {
  char brief[NNC_PATH_BRIEF + 1];
  return nnc_fail(st, NNC_ERR_WRITE, "%s: cannot write: %s",
                  nnc_path_brief(path, NNC_PATH_BRIEF, brief), strerror(err));
}

int nnc_write_all(int fd, const void *data, size_t len) {
  const unsigned char *p = data;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return EIO;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* The folder part of path ("." when there is none); malloc'ed. */
static char *folder_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return strdup(".");
  size_t n = slash == path ? 1 : (size_t)(slash - path);
  char *dir = malloc(n + 1);
  if (!dir) return NULL;
  memcpy(dir, path, n);
  dir[n] = '\0';
  return dir;
}

/* The contents of the symlink at link (malloc'ed), or NULL with errno set. */
static char *read_link(const char *link) {
  for (size_t cap = 256;; cap *= 2) {
    char *buf = malloc(cap);
    if (!buf) return NULL;
    ssize_t n = readlink(link, buf, cap);
    if (n < 0) {
      free(buf);
      return NULL;
    }
    if ((size_t)n < cap) {
      buf[n] = '\0';
      return buf;
    }
    free(buf);
    if (cap > 1 << 20) {
      errno = ENAMETOOLONG;
      return NULL;
    }
  }
}

/* How a path is written. */
typedef enum { DEST_REPLACE, DEST_THROUGH, DEST_DESCRIPTOR } dest_kind;

typedef struct destination {
  dest_kind kind;
  char *path; /* what to open or replace (malloc'ed); unused for a descriptor */
  int fd;     /* DEST_DESCRIPTOR: our descriptor to write to */
  int exists; /* DEST_REPLACE: a file is there (sb describes it) */
  struct stat sb;
} destination;

/* The number in s (decimal digits only, no sign), or -1. */
static long parse_number(const char *s, const char **end) {
  long v = 0;
  const char *p = s;
  for (; *p >= '0' && *p <= '9' && v < INT_MAX; p++) v = v * 10 + (*p - '0');
  if (p == s || v >= INT_MAX) return -1;
  *end = p;
  return v;
}

/* Where cur sits in /proc, by the real path of its folder (so /dev/fd/N and
 * /proc/self/fd/N are seen as /proc/<pid>/fd/N): 0 outside /proc; 1 in /proc;
 * 2 when cur is /proc/<our pid>/fd/N (or .../task/<tid>/fd/N), *fd = N. */
static int proc_place(const char *cur, int *fd) {
  char *dir = folder_of(cur);
  char *real = dir ? realpath(dir, NULL) : NULL;
  free(dir);
  if (!real) return 0;
  int place = strncmp(real, "/proc/", 6) == 0 ? 1 : 0;
  const char *p = real + 6, *end = NULL;
  long pid = place ? parse_number(p, &end) : -1;
  if (pid >= 0 && strncmp(end, "/task/", 6) == 0 && parse_number(end + 6, &p) >= 0) end = p;
  const char *base = strrchr(cur, '/');
  base = base ? base + 1 : cur;
  long n = -1;
  if (pid == (long)getpid() && strcmp(end, "/fd") == 0 && (n = parse_number(base, &p)) >= 0 &&
      *p == '\0') {
    *fd = (int)n;
    place = 2;
  }
  free(real);
  return place;
}

/* Follow symlinks from path to what is finally written: a descriptor of
 * ours, a link in /proc opened as it is, or a file, which may not exist yet
 * (a dangling link's target is created). 0, or -1 with errno set. */
static int resolve_destination(const char *path, destination *d) {
  memset(d, 0, sizeof *d);
  char *cur = strdup(path);
  for (int hops = 0; cur; hops++) {
    /* Before lstat: /dev/fd/N of a descriptor that is not open is not a new file. */
    int place = proc_place(cur, &d->fd);
    if (place == 2) {
      free(cur);
      d->kind = DEST_DESCRIPTOR;
      return 0;
    }
    if (lstat(cur, &d->sb) != 0) {
      if (errno != ENOENT) break;
      d->kind = DEST_REPLACE;
      d->path = cur;
      return 0;
    }
    if (!S_ISLNK(d->sb.st_mode) || place == 1) {
      /* In /proc a link may name a pipe, a socket or another process's
       * descriptor ("pipe:[N]"): only opening it as it is reaches that. */
      d->kind = S_ISREG(d->sb.st_mode) ? DEST_REPLACE : DEST_THROUGH;
      d->exists = 1;
      d->path = cur;
      return 0;
    }
    if (hops == 40) { /* the kernel's own limit for a chain */
      errno = ELOOP;
      break;
    }
    char *target = read_link(cur);
    if (!target) break;
    char *next = target;
    if (target[0] != '/' && strchr(cur, '/')) { /* relative to the link's folder */
      char *dir = folder_of(cur);
      next = dir ? malloc(strlen(dir) + strlen(target) + 2) : NULL;
      if (next) sprintf(next, "%s/%s", dir, target);
      free(dir);
      free(target);
      if (!next) break;
    }
    free(cur);
    cur = next;
  }
  int e = errno;
  free(cur);
  errno = e;
  return -1;
}

/* ---- the two ways of writing ---- */

/* Devices, FIFOs: write into the existing node. */
static int write_through(const char *path, const char *target, const void *data, size_t len,
                         nnc_status *st) {
  /* O_TRUNC matters only for a regular file reached through a /proc link
   * (another process's descriptor): it then gets exactly these bytes, as a
   * shell's `>` would; devices and FIFOs ignore it. */
  int fd = open(target, O_WRONLY | O_TRUNC | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return write_failed(path, errno, st);
  int err = nnc_write_all(fd, data, len);
  if (close(fd) != 0 && !err) err = errno;
  return err ? write_failed(path, err, st) : NNC_OK;
}

/* The temporary name for target: "TARGET.tmp.<pid>.<n>" in the same folder.
 * When that last component would pass NAME_MAX (a valid 250-byte name
 * would), the name part is cut short (at a UTF-8 character boundary) so it
 * fits; pid and serial keep it unique. */
static void temp_name(char *tmp, size_t size, const char *target, long pid, unsigned serial) {
  char suffix[48];
  int suffix_len = snprintf(suffix, sizeof suffix, ".tmp.%ld.%u", pid, serial);
  const char *slash = strrchr(target, '/');
  size_t base_at = slash ? (size_t)(slash - target) + 1 : 0;
  size_t keep = strlen(target) - base_at;
  if (keep + (size_t)suffix_len > NAME_MAX) {
    keep = NAME_MAX - (size_t)suffix_len;
    while (keep > 0 && ((unsigned char)target[base_at + keep] & 0xc0) == 0x80) keep--;
  }
  snprintf(tmp, size, "%.*s%s", (int)(base_at + keep), target, suffix);
}

/* Regular files and new paths: temporary file, fsync, rename, fsync the folder. */
static int write_replacing(const char *path, const char *target, const struct stat *old,
                           const void *data, size_t len, nnc_status *st) {
  static atomic_uint serial;
  size_t n = strlen(target) + 48;
  char *tmp = malloc(n);
  if (!tmp) return nnc_fail(st, NNC_ERR_NOMEM, "%s: out of memory", path);
  /* pid + serial makes the name unique among live writers; O_EXCL and a new
   * serial step over a stale file left by a killed process with our pid. */
  int fd = -1, slot = -1, err = 0;
  for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
    temp_name(tmp, n, target, (long)getpid(), atomic_fetch_add(&serial, 1));
    slot = nnc_temp_file_register(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY | O_CLOEXEC, 0666);
    err = fd < 0 ? errno : 0;
    if (fd < 0) nnc_temp_file_unregister(slot);
    if (fd < 0 && err != EEXIST) break;
  }
  if (fd < 0) {
    free(tmp);
    return write_failed(path, err, st);
  }
  /* Keep the permissions of the file being replaced (the umask applies to new files). */
  if (old) (void)fchmod(fd, old->st_mode & 0777);
  err = nnc_write_all(fd, data, len);
  if (!err && fsync(fd) != 0) err = errno;
  if (close(fd) != 0 && !err) err = errno;
  if (!err && rename(tmp, target) != 0) err = errno;
  if (err) unlink(tmp);
  nnc_temp_file_unregister(slot);
  free(tmp);
  if (err) return write_failed(path, err, st);

  /* Make the rename itself durable. Some file systems cannot fsync a folder;
   * the new file is complete either way, so that is not an error. */
  char *dir = folder_of(target);
  int dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  if (dfd >= 0) {
    (void)fsync(dfd);
    close(dfd);
  }
  free(dir);
  return NNC_OK;
}

/* A descriptor of ours (/dev/stdout, /dev/fd/N): written where it stands,
 * never closed (the caller owns it). */
static int write_descriptor(const char *path, int fd, const void *data, size_t len,
                            nnc_status *st) {
  int err = nnc_write_all(fd, data, len);
  return err ? write_failed(path, err, st) : NNC_OK;
}

int nnc_write_file_atomic(const char *path, const void *data, size_t len, nnc_status *st) {
  if (!path || (len > 0 && !data))
    return nnc_fail(st, NNC_ERR_ARG, "nnc_write_file_atomic: NULL argument");
  destination d;
  if (resolve_destination(path, &d) != 0) return write_failed(path, errno, st);
  int rc;
  if (d.kind == DEST_DESCRIPTOR)
    rc = write_descriptor(path, d.fd, data, len, st);
  else if (d.kind == DEST_THROUGH)
    rc = write_through(path, d.path, data, len, st);
  else
    rc = write_replacing(path, d.path, d.exists ? &d.sb : NULL, data, len, st);
  free(d.path);
  return rc;
}
