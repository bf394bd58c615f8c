/* The on-disk object cache (obj_cache.h). */
#define _XOPEN_SOURCE 700 /* realpath, S_ISVTX */
#include "compiler/codegen/obj_cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "base/temp_file.h"
#include "nnc.h"

static atomic_int cache_enabled = 1;

void nnc_set_compile_cache(int on) {
  atomic_store(&cache_enabled, on != 0);
}

/* Two independent 64-bit hashes over 8-byte words (a 128-bit key: a
 * collision between two modules is not a practical concern). */
static uint64_t rotl(uint64_t x, int r) {
  return (x << r) | (x >> (64 - r));
}

static void mix_word(obj_key *k, uint64_t w) {
  k->h[0] = (k->h[0] ^ w) * 0x100000001b3ull;
  k->h[1] = rotl(k->h[1] + w * 0xc2b2ae3d27d4eb4full, 31) * 0x9e3779b185ebca87ull;
}

void obj_key_init(obj_key *k) {
  k->h[0] = 0xcbf29ce484222325ull;
  k->h[1] = 0x27d4eb2f165667c5ull;
}

void obj_key_add(obj_key *k, const void *data, size_t len) {
  const unsigned char *p = data;
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    mix_word(k, w);
  }
  uint64_t tail = 0;
  memcpy(&tail, p + i, len - i);
  mix_word(k, tail);
  mix_word(k, (uint64_t)len);
}

void obj_key_add_str(obj_key *k, const char *s) {
  obj_key_add(k, s ? s : "", s ? strlen(s) : 0);
}

static uint64_t finish(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  return h ^ (h >> 33);
}

static uint64_t checksum(const void *data, size_t len) {
  obj_key k;
  obj_key_init(&k);
  obj_key_add(&k, data, len);
  return finish(k.h[0]) ^ rotl(finish(k.h[1]), 17);
}

/* A directory we may keep machine code in: created 0700 if missing; an
 * existing one must be a real directory (not a symlink), ours, and not
 * writable by group or others (someone else could plant code in it). */
static int safe_dir(const char *path) {
  if (mkdir(path, 0700) != 0 && errno != EEXIST) return -1;
  struct stat sb;
  if (lstat(path, &sb) != 0 || !S_ISDIR(sb.st_mode) || sb.st_uid != geteuid() ||
      (sb.st_mode & (S_IWGRP | S_IWOTH)))
    return -1;
  return 0;
}

/* Every folder from / down to `resolved` (a path without links) must be one
 * that only root or this user can change: owned by one of them, and not
 * writable by group or others unless sticky (as /tmp, where others cannot
 * rename what is ours). Else another user could rename the cache folder and
 * put a link to theirs in its place between our check and our open, and we
 * would run the machine code they planted (breaker, session 11). */
static int safe_ancestors(const char *resolved) {
  char prefix[4096];
  size_t n = strlen(resolved);
  if (resolved[0] != '/' || n >= sizeof prefix) return -1;
  for (size_t i = 1; i <= n; i++) {
    if (i < n && resolved[i] != '/') continue;
    memcpy(prefix, resolved, i); /* "/" first, then each longer prefix */
    prefix[i] = '\0';
    struct stat sb;
    if (lstat(prefix, &sb) != 0 || !S_ISDIR(sb.st_mode) ||
        (sb.st_uid != 0 && sb.st_uid != geteuid()) ||
        ((sb.st_mode & (S_IWGRP | S_IWOTH)) && !(sb.st_mode & S_ISVTX)))
      return -1;
  }
  return 0;
}

/* A parent such as ~/.cache (created 0700 if missing): `path` with its links
 * resolved into `out`, if every folder on the way is safe_ancestors'. */
static int parent_dir(const char *path, char out[4096]) {
  if (mkdir(path, 0700) != 0 && errno != EEXIST) return -1;
  char *real = realpath(path, NULL);
  int ok = real && strlen(real) < 4096 && !safe_ancestors(real);
  if (ok) strcpy(out, real);
  free(real);
  return ok ? 0 : -1;
}

int obj_cache_dir(char *buf, size_t n) {
  const char *env = getenv("NNC_CACHE");
  if (!atomic_load(&cache_enabled) || (env && !strcmp(env, "0"))) return -1;
  const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
  char parent[4096];
  if (xdg && xdg[0] == '/') { /* the XDG spec: a relative path is invalid, ignore it */
    if (parent_dir(xdg, parent)) return -1;
  } else if (home && home[0]) {
    int w = snprintf(buf, n, "%s/.cache", home);
    if (w < 0 || (size_t)w >= n || parent_dir(buf, parent)) return -1;
  } else {
    return -1;
  }
  int w = snprintf(buf, n, "%s/nnc", strcmp(parent, "/") ? parent : "");
  if (w < 0 || (size_t)w >= n || safe_dir(buf)) return -1;
  return access(buf, W_OK | X_OK) ? -1 : 0;
}

#define MAGIC "nncobj1\n"

typedef struct header {
  char magic[8];
  uint64_t key[2];
  uint64_t len;
  uint64_t sum;
} header;

static int entry_path(char *buf, size_t n, const char *dir, const obj_key *key) {
  int w = snprintf(buf, n, "%s/%016llx%016llx.o", dir, (unsigned long long)key->h[0],
                   (unsigned long long)key->h[1]);
  return w < 0 || (size_t)w >= n ? -1 : 0;
}

void *obj_cache_load(const char *dir, const obj_key *key, size_t *len) {
  char path[4096];
  if (entry_path(path, sizeof path, dir, key)) return NULL;
  /* a planted symlink is not followed, a FIFO not waited on: a miss */
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return NULL;
  header h;
  void *data = NULL;
  struct stat sb;
  size_t got = 0;
  int ok = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > (off_t)sizeof h &&
           !nnc_read_fd(fd, &h, sizeof h, &got) && got == sizeof h && !memcmp(h.magic, MAGIC, 8) &&
           h.key[0] == key->h[0] && h.key[1] == key->h[1] && h.len > 0 &&
           h.len == (uint64_t)sb.st_size - sizeof h; /* nothing after it */
  if (ok) ok = (data = malloc(h.len)) != NULL;
  if (ok) ok = !nnc_read_fd(fd, data, h.len, &got) && got == h.len;
  if (ok) ok = checksum(data, h.len) == h.sum;
  if (ok) futimens(fd, NULL); /* used now: the last to be evicted (obj_cache_evict) */
  close(fd);
  if (!ok) {
    free(data);
    return NULL;
  }
  *len = h.len;
  return data;
}

int obj_cache_store(const char *dir, const obj_key *key, const void *data, size_t len) {
  static atomic_uint serial;
  char path[4096], tmp[4200];
  if (entry_path(path, sizeof path, dir, key)) return -1;
  /* An entry past the file size limit (ulimit -f) would raise SIGXFSZ, whose
   * default action kills a host that asked for no file at all: not stored. */
  struct rlimit fsize;
  if (getrlimit(RLIMIT_FSIZE, &fsize) == 0 && fsize.rlim_cur != RLIM_INFINITY &&
      (uint64_t)len + sizeof(header) > (uint64_t)fsize.rlim_cur)
    return -1;
  /* a name no other process or thread uses: pid and a per-process serial;
   * a signal handler calling nnc_remove_temp_files_on_signal removes it */
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%u", path, (long)getpid(), atomic_fetch_add(&serial, 1));
  int slot = nnc_temp_file_register(tmp);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    nnc_temp_file_unregister(slot);
    return -1;
  }
  header h;
  memcpy(h.magic, MAGIC, 8);
  h.key[0] = key->h[0];
  h.key[1] = key->h[1];
  h.len = len;
  h.sum = checksum(data, len);
  /* no fsync: an entry a crash damages fails its checksum and is a miss */
  int rc = nnc_write_all(fd, &h, sizeof h) || nnc_write_all(fd, data, len);
  rc |= close(fd) != 0;
  if (!rc) rc = rename(tmp, path) != 0; /* replaces a symlink, never follows it */
  if (rc) unlink(tmp);
  nnc_temp_file_unregister(slot);
  if (rc) return -1;
  obj_cache_evict(dir, obj_cache_limit());
  return 0;
}

int64_t obj_cache_limit(void) {
  const char *env = getenv("NNC_CACHE_MAX_MB");
  char *end = NULL;
  long long mb = env ? strtoll(env, &end, 10) : -1;
  if (!env || end == env || *end || mb < 0 || mb > (1ll << 30)) mb = NNC_CACHE_DEFAULT_MB;
  return (int64_t)mb << 20;
}

/* An entry's name: 32 hex digits and ".o"; a temporary one has ".tmp." after. */
static int entry_kind(const char *name) {
  for (int i = 0; i < 32; i++)
    if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f'))) return 0;
  if (!strcmp(name + 32, ".o")) return 1;
  return !strncmp(name + 32, ".o.tmp.", 7) ? 2 : 0;
}

typedef struct entry {
  struct timespec used;
  int64_t size;
  char name[64];
} entry;

static int older_first(const void *a, const void *b) {
  const entry *x = a, *y = b;
  if (x->used.tv_sec != y->used.tv_sec) return x->used.tv_sec < y->used.tv_sec ? -1 : 1;
  if (x->used.tv_nsec != y->used.tv_nsec) return x->used.tv_nsec < y->used.tv_nsec ? -1 : 1;
  return strcmp(x->name, y->name);
}

/* A temporary file this old is left over from a killed writer. */
#define STALE_TEMP_SECONDS 3600
/* An entry used this far ahead of our clock was not used at that time. */
#define FUTURE_SLACK_SECONDS 60

int obj_cache_evict(const char *dir, int64_t max_bytes) {
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
  if (!d) {
    if (dfd >= 0) close(dfd);
    return -1;
  }
  entry *list = NULL;
  size_t n = 0, cap = 0;
  int64_t total = 0;
  time_t now = time(NULL);
  for (struct dirent *e; (e = readdir(d));) {
    int kind = strlen(e->d_name) < sizeof list->name ? entry_kind(e->d_name) : 0;
    struct stat sb;
    if (!kind || fstatat(dfd, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) || !S_ISREG(sb.st_mode))
      continue;
    if (kind == 2) {
      if (now - sb.st_mtime > STALE_TEMP_SECONDS) unlinkat(dfd, e->d_name, 0);
      continue;
    }
    if (n == cap) {
      size_t bigger = cap ? cap * 2 : 64;
      entry *grown = realloc(list, bigger * sizeof *list);
      if (!grown) break;
      list = grown;
      cap = bigger;
    }
    list[n].used = sb.st_mtim;
    /* A use in the future is no use: the clock was set back, or the entry was
     * copied with its time from a machine ahead of ours. Counted as the
     * newest, such entries outlived every new one, which was evicted at once
     * and missed at every compile (breaker, session 11): oldest instead. */
    if (sb.st_mtime > now + FUTURE_SLACK_SECONDS) list[n].used = (struct timespec){0, 0};
    list[n].size = (int64_t)sb.st_size;
    strcpy(list[n].name, e->d_name);
    total += list[n].size;
    n++;
  }
  int removed = 0;
  if (total > max_bytes) {
    qsort(list, n, sizeof *list, older_first);
    /* another process may remove the same entry first: that is fine */
    for (size_t i = 0; i < n && total > max_bytes; i++) {
      if (unlinkat(dfd, list[i].name, 0) == 0) removed++;
      total -= list[i].size;
    }
  }
  free(list);
  closedir(d); /* closes dfd */
  return removed;
}
