/* runtime/io — the file formats nnc reads and writes: NumPy .npy, IDX
 * (MNIST format, gzipped or not) and safetensors. Every writer goes through
 * nnc_write_file_atomic (temporary file, then rename). Every reader reads its
 * header first and then exactly the bytes the header announces, from a
 * regular file or a pipe; a file that is shorter or longer is refused. */
#ifndef NNC_IO_H
#define NNC_IO_H

#include "nnc.h"

/* .npy version 1.0/2.0/3.0; dtypes <f4 <f8 <i4 <i8 |u1 (and |b1 as u8);
 * C order only (fortran_order True is an error naming the file). */
int nnc_npy_read(const char *path, nnc_array *out, nnc_status *st);
int nnc_npy_write(const char *path, const nnc_array *a, nnc_status *st);
/* The bytes nnc_npy_write would write, in *bytes (malloc'ed; path only names
 * the array in messages). */
int nnc_npy_encode(const char *path, const nnc_array *a, unsigned char **bytes, size_t *len,
                   nnc_status *st);

/* IDX: magic 0x0000 <type> <rank>, big-endian dims; type 0x08 (u8) -> NNC_U8,
 * 0x0C (i32) -> NNC_I32, 0x0D (f32) -> NNC_F32, 0x0E (f64) -> NNC_F64.
 * Gzipped files (by magic bytes 1f 8b) are inflated with zlib. */
int nnc_idx_read(const char *path, nnc_array *out, nnc_status *st);

/* The same on an opened input (runtime/io/input.h), for nnc_array_read. */
struct io_input;
int nnc_npy_read_input(struct io_input *in, nnc_array *out, nnc_status *st);
int nnc_idx_read_input(struct io_input *in, nnc_array *out, nnc_status *st);

/* .npy by its magic, else IDX (gzipped or not); a .npz is refused with a
 * message that says so. */
int nnc_array_read(const char *path, nnc_array *out, nnc_status *st);
int nnc_array_read_input(struct io_input *in, nnc_array *out, nnc_status *st);

/* A copy of a as float32 (any dtype). out->data is malloc'ed. */
int nnc_array_to_f32(const nnc_array *a, nnc_array *out, nnc_status *st);
/* Elements [first, first + n) of data (an array of dtype, a valid dtype) as
 * float32 into dst, each converted exactly as nnc_array_to_f32 converts it:
 * the data path converts one batch at a time with it (runtime/step.c). */
void nnc_convert_to_f32(nnc_dtype dtype, const void *data, int64_t first, int64_t n, float *dst);

typedef struct nnc_named_array {
  char name[256];
  nnc_array array;
} nnc_named_array;

typedef struct nnc_tensor_set {
  int n;
  nnc_named_array *items;
} nnc_tensor_set;

/* safetensors: 8-byte little-endian header length, JSON header
 * {"name": {"dtype": "F32", "shape": [...], "data_offsets": [b, e]}, ...},
 * then the data. Reads F32/F64/I32/I64/U8; writes what the arrays hold.
 * The reader refuses what the reference parser (huggingface safetensors,
 * Metadata::validate) refuses: a header over 100,000,000 bytes or not UTF-8,
 * non-string __metadata__ values, duplicate names, a span that differs from
 * shape x dtype size, and offsets that, sorted, do not tile the data section
 * exactly (overlaps, gaps, trailing bytes). */
int nnc_safetensors_read(const char *path, nnc_tensor_set *out, nnc_status *st);
int nnc_safetensors_write(const char *path, const nnc_tensor_set *set, nnc_status *st);

/* .npz (runtime/io/npz.c): NumPy's zip of .npy members, as np.savez and
 * np.savez_compressed write it; an array's name is its member's name
 * without ".npy". The reader takes stored and deflated members, ZIP64 sizes
 * and offsets, and reads front to back (regular files and pipes): each
 * member's data is bounded by the sizes in its local header and checked
 * against its CRC-32 and the central directory; a member with its sizes in a
 * trailing data descriptor, an encrypted one, a name without ".npy", a
 * doubled name and bytes after the end record are refused, naming the file
 * and the member. The writer stores (no compression) the set's arrays in
 * order, with ZIP64 extra fields as numpy writes them (force_zip64), through
 * nnc_write_file_atomic. */
int nnc_npz_read(const char *path, nnc_tensor_set *out, nnc_status *st);
int nnc_npz_read_input(struct io_input *in, nnc_tensor_set *out, nnc_status *st);
int nnc_npz_write(const char *path, const nnc_tensor_set *set, nnc_status *st);

/* A data file of either kind, told apart by its first bytes: a .npz into
 * *out with *is_npz = 1, or one array (.npy, IDX) as the single item of *out,
 * named "", with *is_npz = 0. */
int nnc_data_read(const char *path, nnc_tensor_set *out, int *is_npz, nnc_status *st);

/* Append a copy of a under name. */
int nnc_tensor_set_add(nnc_tensor_set *set, const char *name, const nnc_array *a, nnc_status *st);
const nnc_array *nnc_tensor_set_find(const nnc_tensor_set *set, const char *name);
void nnc_tensor_set_free(nnc_tensor_set *set);

#endif
