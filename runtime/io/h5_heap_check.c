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

/* The superblock's sizes of offsets and lengths and its position, the base
 * address every address in the file counts from (libhdf5 takes the
 * position where it finds the signature when the base address field says
 * otherwise: a user block prepended to a file); 0 when there is no
 * superblock at 0, 512, 1024, ... (not an HDF5 file, left to libhdf5). */
static int superblock(const unsigned char *b, size_t len, int *offsets, int *lengths,
                      uint64_t *base) {
  static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  for (size_t at = 0; at + 16 <= len; at = at ? 2 * at : 512) {
    if (memcmp(b + at, sig, 8)) continue;
    int version = b[at + 8];
    *offsets = version < 2 ? b[at + 13] : b[at + 9];
    *lengths = version < 2 ? b[at + 14] : b[at + 10];
    *base = at;
    return 1;
  }
  return 0;
}

static int size_ok(int n) {
  return n == 2 || n == 4 || n == 8;
}

typedef struct heap_object {
  uint64_t collection; /* its collection's address (from the base address) */
  uint32_t index;
  uint64_t size;
} heap_object;

static int by_place(const void *pa, const void *pb) {
  const heap_object *a = pa, *b = pb;
  if (a->collection != b->collection) return a->collection < b->collection ? -1 : 1;
  return a->index < b->index ? -1 : a->index > b->index;
}

/* Object idx of the collection at addr (objs sorted by by_place), or NULL. */
static const heap_object *find_object(const heap_object *o, size_t n, uint64_t addr, uint64_t idx) {
  if (idx > UINT32_MAX) return NULL;
  heap_object key = {addr, (uint32_t)idx, 0};
  return bsearch(&key, o, n, sizeof *o, by_place);
}

/* The objects of the collection at c (appended to *objs), or a failure
 * when one runs past it or it runs past the file. */
static int walk_collection(const unsigned char *b, size_t len, size_t c, uint64_t base, int lengths,
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
    if (index == 0) { /* the free space: exactly the rest of the collection (libhdf5
                       * steps over it by its size and reads on) */
      if (osize != end - o)
        return nnc_fail(st, NNC_ERR_DATA,
                        "%s: the free space of the global heap at byte %zu claims %llu bytes, "
                        "%zu are left (damaged)",
                        label, c, (unsigned long long)osize, end - o);
      break;
    }
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
    (*objs)[(*n)++] = (heap_object){c - base, index, osize};
    o += obj_head + (size_t)padded;
  }
  return NNC_OK;
}

static uint64_t round8(uint64_t v) {
  return (v + 7) / 8 * 8;
}

/* The string attributes nnc reads with H5Aread (h5_keras2.c): their
 * descriptors are found exactly, from the attribute message around the name
 * (HDF5 specification, "Attribute Message", versions 1 to 3), and each must
 * name an object of a heap the file holds, no shorter than it claims:
 * libhdf5 indexes the heap's object table with the descriptor's index
 * unchecked. A name that is not inside such a message is passed over. */
static const char *const read_attributes[] = {"model_config", "training_config", "layer_names",
                                              "weight_names"};

static int check_attribute(const unsigned char *b, size_t len, size_t q, size_t nsize, int offsets,
                           int lengths, const heap_object *objs, size_t n, uint64_t *budget,
                           const char *label, const char *name, nnc_status *st) {
  size_t head;
  int version;
  if (q >= 9 && b[q - 9] == 3 && read_le(b + q - 7, 2) == nsize)
    head = q - 9, version = 3;
  else if (q >= 8 && (b[q - 8] == 1 || b[q - 8] == 2) && read_le(b + q - 6, 2) == nsize)
    head = q - 8, version = b[q - 8];
  else
    return NNC_OK;
  uint64_t dt_size = read_le(b + head + 4, 2), ds_size = read_le(b + head + 6, 2);
  uint64_t dt = q + (version == 1 ? round8(nsize) : nsize);
  uint64_t ds = dt + (version == 1 ? round8(dt_size) : dt_size);
  uint64_t data = ds + (version == 1 ? round8(ds_size) : ds_size);
  if (data > len || ds + 8 > len || dt + 2 > len) return NNC_OK;
  /* a variable-length string: class 9, type 1 */
  if ((b[dt] & 0x0f) != 9 || (b[dt + 1] & 0x0f) != 1) return NNC_OK;
  int ds_version = b[ds], rank = b[ds + 1];
  uint64_t count = 1, dims = ds + (ds_version == 1 ? 8 : 4);
  if (ds_version == 2 && b[ds + 3] == 2) count = 0; /* a null dataspace */
  if (rank > 32 || dims + (uint64_t)rank * (uint64_t)lengths > len) return NNC_OK;
  uint64_t each = 8 + (uint64_t)offsets, most = (len - data) / each;
  for (int r = 0; r < rank && count; r++) {
    uint64_t d = read_le(b + dims + (uint64_t)r * (uint64_t)lengths, lengths);
    count = d > most || count * d > most ? most + 1 : count * d;
  }
  if (count > most) return NNC_OK; /* not a message whose data the file holds */
  /* messages do not overlap: all their strings fit the file once (a file of
   * many crafted messages each claiming the rest costs no more than that) */
  if (count > *budget)
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: attribute '%s' (byte %zu) claims %llu strings, more than the file holds "
                    "(damaged)",
                    label, name, head, (unsigned long long)count);
  *budget -= count;
  for (uint64_t k = 0; k < count; k++) {
    const unsigned char *d = b + data + k * each;
    uint64_t seq = read_le(d, 4), heap = read_le(d + 4, offsets), idx = read_le(d + 4 + offsets, 4);
    if (!seq) continue; /* an empty string reads no heap */
    const heap_object *o = find_object(objs, n, heap, idx);
    if (!o)
      return nnc_fail(st, NNC_ERR_DATA,
                      "%s: attribute '%s' (byte %zu): string %llu names object %llu of a global "
                      "heap at %llu the file does not hold (damaged)",
                      label, name, head, (unsigned long long)k, (unsigned long long)idx,
                      (unsigned long long)heap);
  }
  return NNC_OK;
}

static int check_read_attributes(const unsigned char *b, size_t len, int offsets, int lengths,
                                 const heap_object *objs, size_t n, const char *label,
                                 nnc_status *st) {
  int rc = NNC_OK;
  uint64_t budget = len / (8 + (uint64_t)offsets);
  for (size_t a = 0; !rc && a < sizeof read_attributes / sizeof *read_attributes; a++) {
    const char *name = read_attributes[a];
    size_t nsize = strlen(name) + 1; /* with its NUL, as the message counts it */
    for (const unsigned char *hit = b; !rc && (size_t)(hit - b) < len &&
                                       (hit = memmem(hit, len - (size_t)(hit - b), name, nsize));
         hit++)
      rc = check_attribute(b, len, (size_t)(hit - b), nsize, offsets, lengths, objs, n, &budget,
                           label, name, st);
  }
  return rc;
}

int h5_heap_check(const void *bytes, size_t len, const char *label, nnc_status *st) {
  const unsigned char *b = bytes;
  int offsets, lengths;
  uint64_t base;
  if (!superblock(b, len, &offsets, &lengths, &base) || !size_ok(offsets) || !size_ok(lengths))
    return NNC_OK;
  heap_object *objs = NULL;
  size_t n = 0, cap = 0;
  int rc = NNC_OK;
  static const unsigned char gcol[8] = {'G', 'C', 'O', 'L', 1, 0, 0, 0};
  /* collections do not overlap: the search goes on after each one */
  for (size_t at = 0; !rc && at < len;) {
    const unsigned char *hit = memmem(b + at, len - at, gcol, 8);
    if (!hit) break;
    size_t c = (size_t)(hit - b);
    at = c + 1;
    if (c + 8 + (size_t)lengths > len || c < base) continue;
    rc = walk_collection(b, len, c, base, lengths, &objs, &n, &cap, label, st);
    if (!rc) at = c + (size_t)read_le(b + c + 8, lengths);
  }
  if (!rc && n) qsort(objs, n, sizeof *objs, by_place);
  for (size_t i = 1; !rc && i < n; i++) /* sorted: an index held twice sits side by side */
    if (objs[i].collection == objs[i - 1].collection && objs[i].index == objs[i - 1].index)
      rc = nnc_fail(st, NNC_ERR_DATA,
                    "%s: the global heap at byte %llu holds object %u twice (damaged)", label,
                    (unsigned long long)(objs[i].collection + base), objs[i].index);
  if (!rc) rc = check_read_attributes(b, len, offsets, lengths, objs, n, label, st);
  if (rc || !n) {
    free(objs);
    return rc;
  }
  /* every descriptor naming an object: its length within the object's size
   * (a string of len bytes, or len elements of one byte or more). One pass
   * over the file: a position whose first two bytes start some collection's
   * address is looked up (a file of many heaps costs no more). */
  uint8_t *starts = nnc_calloc(65536 / 8, 1, st);
  if (!starts) {
    free(objs);
    return st->code;
  }
  for (size_t i = 0; i < n; i++) {
    unsigned k = (unsigned)(objs[i].collection & 0xffff);
    starts[k / 8] |= (uint8_t)(1u << (k % 8));
  }
  for (size_t at = 4; !rc && at + (size_t)offsets + 4 <= len; at++) {
    unsigned k = b[at] | (unsigned)b[at + 1] << 8;
    if (!(starts[k / 8] & (1u << (k % 8)))) continue;
    const heap_object *o =
        find_object(objs, n, read_le(b + at, offsets), read_le(b + at + offsets, 4));
    uint64_t want = read_le(b + at - 4, 4);
    if (o && want > o->size)
      rc = nnc_fail(st, NNC_ERR_DATA,
                    "%s: a variable-length value at byte %zu claims %llu elements, its heap "
                    "object holds %llu bytes (damaged)",
                    label, at - 4, (unsigned long long)want, (unsigned long long)o->size);
  }
  free(starts);
  free(objs);
  return rc;
}
