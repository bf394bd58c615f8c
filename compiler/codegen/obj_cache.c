/* The on-disk object cache (obj_cache.h). */
#include "compiler/codegen/obj_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static int make_dir(const char *path) {
  return mkdir(path, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

int obj_cache_dir(char *buf, size_t n) {
  const char *env = getenv("NNC_CACHE");
  if (!atomic_load(&cache_enabled) || (env && !strcmp(env, "0"))) return -1;
  const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
  int w;
  if (xdg && xdg[0] == '/') { /* the XDG spec: a relative path is invalid, ignore it */
    if (make_dir(xdg)) return -1;
    w = snprintf(buf, n, "%s/nnc", xdg);
  } else if (home && home[0]) {
    w = snprintf(buf, n, "%s/.cache", home);
    if (w < 0 || (size_t)w >= n || make_dir(buf)) return -1;
    w = snprintf(buf, n, "%s/.cache/nnc", home);
  } else {
    return -1;
  }
  if (w < 0 || (size_t)w >= n || make_dir(buf)) return -1;
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
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  header h;
  void *data = NULL;
  int ok = fread(&h, sizeof h, 1, f) == 1 && !memcmp(h.magic, MAGIC, 8) && h.key[0] == key->h[0] &&
           h.key[1] == key->h[1] && h.len > 0 && h.len < (1ull << 34);
  if (ok) ok = (data = malloc(h.len)) != NULL;
  if (ok) ok = fread(data, 1, h.len, f) == h.len && fgetc(f) == EOF; /* nothing after it */
  if (ok) ok = checksum(data, h.len) == h.sum;
  fclose(f);
  if (!ok) {
    free(data);
    return NULL;
  }
  *len = h.len;
  return data;
}

static int write_all(int fd, const void *data, size_t len) {
  const char *p = data;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

int obj_cache_store(const char *dir, const obj_key *key, const void *data, size_t len) {
  static atomic_uint serial;
  char path[4096], tmp[4200];
  if (entry_path(path, sizeof path, dir, key)) return -1;
  /* a name no other process or thread uses: pid and a per-process serial */
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%u", path, (long)getpid(), atomic_fetch_add(&serial, 1));
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  header h;
  memcpy(h.magic, MAGIC, 8);
  h.key[0] = key->h[0];
  h.key[1] = key->h[1];
  h.len = len;
  h.sum = checksum(data, len);
  int rc = write_all(fd, &h, sizeof h) || write_all(fd, data, len);
  rc |= close(fd) != 0;
  if (!rc) rc = rename(tmp, path) != 0;
  if (rc) unlink(tmp);
  return rc ? -1 : 0;
}
