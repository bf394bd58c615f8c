/* compiler/codegen/obj_cache — optimized object files kept between runs.
 *
 * An entry is the machine code LLVM made for one module, keyed by a 128-bit
 * hash of everything that determines it (cache_key.h: computed from the
 * planned graphs before any IR is built). It lives in $XDG_CACHE_HOME/nnc
 * (default ~/.cache/nnc) as <key>.o: a header (magic, key, payload length,
 * payload checksum) and the object.
 *
 * Safety: the directory is created 0700 and must be a real directory of this
 * user that group and others cannot write (else the cache is off); entries
 * are opened without following symlinks; a truncated, corrupt or foreign
 * entry fails the check and is a miss. A write goes to a temporary file
 * (registered for nnc_remove_temp_files_on_signal) renamed into place, so
 * concurrent runs see the old entry, the new one or none. Size: after each
 * store the least recently used entries (by mtime, which a hit refreshes)
 * are removed until the directory holds at most NNC_CACHE_MAX_MB megabytes
 * (default NNC_CACHE_DEFAULT_MB). The cache never makes a compile fail: an
 * unusable directory is a miss that is not stored. */
#ifndef NNC_OBJ_CACHE_H
#define NNC_OBJ_CACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct obj_key {
  uint64_t h[2];
} obj_key;

/* Hashing in pieces: start, add each part, the key is what it holds. */
void obj_key_init(obj_key *k);
void obj_key_add(obj_key *k, const void *data, size_t len);
void obj_key_add_str(obj_key *k, const char *s); /* with its length: "ab","c" != "a","bc" */

/* The cache directory (created if missing) into buf; 0 when usable, -1 when
 * the cache is off (NNC_CACHE=0, nnc_set_compile_cache(0)) or no directory
 * can be made. */
int obj_cache_dir(char *buf, size_t n);

/* The object stored under key (malloc'ed, *len bytes), or NULL: a miss,
 * also when the entry is truncated or fails its checksum. */
void *obj_cache_load(const char *dir, const obj_key *key, size_t *len);

/* Store an object, then evict down to obj_cache_limit(); 0 when written,
 * -1 otherwise (never fatal). */
int obj_cache_store(const char *dir, const obj_key *key, const void *data, size_t len);

#define NNC_CACHE_DEFAULT_MB 256
/* The size limit in bytes: NNC_CACHE_MAX_MB (a whole number of MiB, 0 keeps
 * nothing) or the default. */
int64_t obj_cache_limit(void);

/* Remove the least recently used entries of dir until the rest take at most
 * max_bytes, and temporary files of writers killed over an hour ago. The
 * number of entries removed, or -1 when dir cannot be read. */
int obj_cache_evict(const char *dir, int64_t max_bytes);

#endif
