/* A check of an HDF5 file's global heaps before libhdf5 reads it (see
 * h5_heap_check.h).
 *
 * Variable-length strings (the model_config of a Keras 2 .h5, the
 * layer_names of a weights file) live in global heap collections; an
 * attribute holds a descriptor (length, collection address, object index)
 * per string. libhdf5 1.10 trusts both: an object whose size runs past its
 * collection makes H5Aread copy from outside it (a crash), and a descriptor
 * whose length exceeds its object's size makes it allocate and clear that
 * length (gigabytes from a 32 KB file). Both are one changed field.
 *
 * The file format (HDF5 specification, "Global Heap"): a collection is
 * "GCOL", version 1, three reserved zero bytes and its size (a length);
 * then objects, each a 2-byte index, a 2-byte reference count, 4 reserved
 * bytes, its size (a length) and its data padded to 8 bytes; index 0 is the
 * free space and ends the list. A descriptor is a 4-byte length, the
 * collection's address (an offset) and a 4-byte index. Offsets and lengths
 * have the sizes the superblock gives.
 *
 * Collections are found by their signature anywhere in the bytes, and
 * descriptors by the address of a collection followed by the index of one of
 * its objects; eight specific bytes (or sixteen) arising by chance in
 * weight data is not a concern. Descriptors inside compressed storage are
 * not seen (Keras writes none). */
#define _GNU_SOURCE /* memmem */
#include "runtime/io/h5_heap_check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

static uint64_t read_le(const unsigned char *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

/* The superblock's sizes of offsets and lengths (0 when there is none at
 * 0, 512, 1024, ...: not an HDF5 file, left to libhdf5 to refuse). */
static int field_sizes(const unsigned char *b, size_t len, int *offsets, int *lengths) {
  static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  for (size_t at = 0; at + 16 <= len; at = at ? 2 * at : 512) {
    if (memcmp(b + at, sig, 8)) continue;
    int version = b[at + 8];
    *offsets = version < 2 ? b[at + 13] : b[at + 9];
    *lengths = version < 2 ? b[at + 14] : b[at + 10];
    return 1;
  }
  return 0;
}

static int size_ok(int n) {
  return n == 2 || n == 4 || n == 8;
}

typedef struct heap_object {
  uint64_t collection; /* its collection's address */
  uint32_t index;
  uint64_t size;
} heap_object;

/* Object idx of the collection at addr, or NULL. */
static const heap_object *find_object(const heap_object *o, size_t n, uint64_t addr, uint64_t idx) {
  for (size_t i = 0; i < n; i++)
    if (o[i].collection == addr && o[i].index == idx) return &o[i];
  return NULL;
}

/* The objects of the collection at c (appended to *objs), or a failure
 * when one runs past it or it runs past the file. */
static int walk_collection(const unsigned char *b, size_t len, size_t c, int lengths,
                           heap_object **objs, size_t *n, size_t *cap, const char *label,
                           nnc_status *st) {
  uint64_t size = read_le(b + c + 8, lengths);
  size_t head = 8 + (size_t)lengths, obj_head = 8 + (size_t)lengths;
  if (size < head || size > len - c)
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: the global heap at byte %zu claims %llu bytes, past the end of the file "
                    "(damaged)",
                    label, c, (unsigned long long)size);
  size_t end = c + (size_t)size;
  for (size_t o = c + head; o + obj_head <= end;) {
    uint32_t index = (uint32_t)read_le(b + o, 2);
    uint64_t osize = read_le(b + o + 8, lengths);
    if (index == 0) break; /* the free space: the rest of the collection */
    uint64_t padded = osize > UINT64_MAX - 7 ? UINT64_MAX : (osize + 7) / 8 * 8;
    if (padded > end - o - obj_head)
      return nnc_fail(st, NNC_ERR_DATA,
                      "%s: object %u of the global heap at byte %zu claims %llu bytes, past the "
                      "end of its heap (damaged)",
                      label, index, c, (unsigned long long)osize);
    if (*n == *cap) {
      size_t grown = *cap ? 2 * *cap : 64;
      heap_object *more = nnc_realloc_array(*objs, grown, sizeof *more, st);
      if (!more) return st->code;
      *objs = more, *cap = grown;
    }
    (*objs)[(*n)++] = (heap_object){c, index, osize};
    o += obj_head + (size_t)padded;
  }
  return NNC_OK;
}

int h5_heap_check(const void *bytes, size_t len, const char *label, nnc_status *st) {
  const unsigned char *b = bytes;
  int offsets, lengths;
  if (!field_sizes(b, len, &offsets, &lengths) || !size_ok(offsets) || !size_ok(lengths))
    return NNC_OK;
  heap_object *objs = NULL;
  size_t n = 0, cap = 0;
  int rc = NNC_OK;
  static const unsigned char gcol[8] = {'G', 'C', 'O', 'L', 1, 0, 0, 0};
  for (const unsigned char *hit = b; !rc && (hit = memmem(hit, len - (size_t)(hit - b), gcol, 8));
       hit++)
    if ((size_t)(hit - b) + 8 + (size_t)lengths <= len)
      rc = walk_collection(b, len, (size_t)(hit - b), lengths, &objs, &n, &cap, label, st);
  /* every descriptor naming an object: its length within the object's size
   * (a string of len bytes, or len elements of one byte or more) */
  for (size_t i = 0; !rc && i < n; i++) {
    if (i > 0 && objs[i].collection == objs[i - 1].collection) continue; /* one scan each */
    unsigned char addr[8];
    for (int k = 0; k < offsets; k++) addr[k] = (unsigned char)(objs[i].collection >> (8 * k));
    for (const unsigned char *hit = b + 4;
         !rc && (size_t)(hit - b) < len &&
         (hit = memmem(hit, len - (size_t)(hit - b), addr, (size_t)offsets));
         hit++) {
      if ((size_t)(hit - b) + (size_t)offsets + 4 > len) break;
      const heap_object *o = find_object(objs, n, objs[i].collection, read_le(hit + offsets, 4));
      uint64_t want = read_le(hit - 4, 4);
      if (o && want > o->size)
        rc = nnc_fail(st, NNC_ERR_DATA,
                      "%s: a variable-length value at byte %zu claims %llu elements, its heap "
                      "object holds %llu bytes (damaged)",
                      label, (size_t)(hit - b) - 4, (unsigned long long)want,
                      (unsigned long long)o->size);
    }
  }
  free(objs);
  return rc;
}
