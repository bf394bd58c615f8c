/* compiler/codegen/obj_cache — optimized object files kept between runs.
 *
 * An entry is the machine code LLVM made for one module, keyed by a 128-bit
 * hash of everything that determines it: the module's bitcode before
 * optimization, the target (triple, CPU, features), the pipeline, LLVM's and
 * nnc's versions. It lives in $XDG_CACHE_HOME/nnc (default ~/.cache/nnc) as
 * <key>.o: a header (magic, key, payload length, payload checksum) and the
 * object. A truncated or corrupt entry fails the check and is a miss; a
 * write goes to a temporary file renamed into place, so concurrent runs see
 * the old entry, the new one or none. The cache never makes a compile fail:
 * an unusable directory is a miss that is not stored. */
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

/* Store an object; 0 when written, -1 otherwise (never fatal). */
int obj_cache_store(const char *dir, const obj_key *key, const void *data, size_t len);

#endif
