/* runtime/io — .npy data used where it lies: a regular file's array is
 * mapped read-only (mmap, MAP_PRIVATE) instead of read into fresh memory, so
 * a training set costs page cache the kernel can share and drop, not a
 * private copy (docs/architecture.md, "Runtime → Data"). */
#ifndef NNC_NPY_MAP_H
#define NNC_NPY_MAP_H

#include <stddef.h>

#include "nnc.h"
#include "runtime/io/io.h"

struct io_input;

/* A mapping made by nnc_data_read_mapped (len 0: none). */
typedef struct nnc_mapping {
  void *base;
  size_t len;
} nnc_mapping;

/* As nnc_data_read (same checks, same messages), but a .npy in a regular
 * file whose data the host can use as stored (its byte order, aligned for
 * its dtype, at least one element) is mapped: map->len > 0 then and the
 * one array's data points into the mapping; release it with nnc_unmap, never
 * free (set its data to NULL before nnc_tensor_set_free). Anything else (a
 * pipe, a .npz, IDX) is read as nnc_data_read reads it, map->len = 0. The
 * file's size is checked against the header before mapping: a truncated
 * file is an error, never a SIGBUS. The mapping is private and read-only:
 * nothing nnc does writes the file. */
int nnc_data_read_mapped(const char *path, nnc_tensor_set *out, int *is_npz, nnc_mapping *map,
                         nnc_status *st);
void nnc_unmap(nnc_mapping *map);

/* The path of the file whose live mapping holds addr, or NULL. A file that
 * shrinks while mapped (another process truncates it) turns a read of its
 * lost pages into SIGBUS: the CLI's handler names the file with this. Safe
 * in a signal handler (reads fixed slots, no locks). */
const char *nnc_mapped_file_at(const void *addr);

/* The two halves of nnc_npy_read_input (npy.c): the header, validated, into
 * *a (no data) and the byte count of its data (a regular file's size checked
 * against it); then the data, read into malloc'ed memory. */
int npy_read_head(struct io_input *in, nnc_array *a, size_t *data_bytes, nnc_status *st);
int npy_read_data(struct io_input *in, nnc_array *a, size_t data_bytes, nnc_status *st);

/* The size of the whole .npy (header and data) that the header at the
 * start of prefix (n bytes, holding at least the header) announces; the
 * header's errors as npy_read_head words them, label naming the file. For
 * checking a .npz member against its zip entry before inflating it all. */
int npy_size_from_head(const void *prefix, size_t n, const char *label, uint64_t *total,
                       nnc_status *st);

#endif
