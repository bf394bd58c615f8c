/* nnc_array basics (count, element size, free, conversion to float32) and
 * nnc_array_read, which picks the reader from the file's first bytes. */
#include <fenv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "runtime/io/input.h"
#include "runtime/io/io.h"

/* -1 when the array itself is malformed (rank outside 0..NNC_MAX_RANK, a
 * negative dimension, or a product that overflows int64), so callers can
 * validate an array and size it with one call. */
int64_t nnc_array_count(const nnc_array *a) {
  if (!a || a->rank < 0 || a->rank > NNC_MAX_RANK) return -1;
  int64_t count = 1;
  for (int i = 0; i < a->rank; i++) {
    int64_t dim = a->shape[i];
    if (dim < 0) return -1;
    if (dim != 0 && count > INT64_MAX / dim) return -1;
    count *= dim;
  }
  return count;
}

size_t nnc_dtype_size(nnc_dtype t) {
  switch (t) {
  case NNC_F32:
    return 4;
  case NNC_F64:
    return 8;
  case NNC_I32:
    return 4;
  case NNC_I64:
    return 8;
  case NNC_U8:
  case NNC_I8:
    return 1;
  case NNC_I16:
  case NNC_U16:
    return 2;
  case NNC_U32:
    return 4;
  case NNC_U64:
    return 8;
  }
  return 0; /* not a dtype: lets callers reject it */
}

void nnc_array_free(nnc_array *a) {
  if (!a) return;
  free(a->data);
  a->data = NULL;
}

/* Element at + i of type T, read from the bytes with memcpy: a host's array need not be
 * aligned to its dtype (np.frombuffer at an offset); the compiler makes it one load. */
#define CONVERT(T)                                                                                 \
  for (size_t i = 0; i < count; i++) {                                                             \
    T v_;                                                                                          \
    memcpy(&v_, bytes + (at + i) * sizeof(T), sizeof v_);                                          \
    dst[i] = (float)v_;                                                                            \
  }

/* Whether converting dtype to float32 can round (wider mantissas). */
static int rounds(nnc_dtype dtype) {
  return dtype == NNC_F64 || dtype == NNC_I32 || dtype == NNC_I64 || dtype == NNC_U32 ||
         dtype == NNC_U64;
}

static void convert(nnc_dtype dtype, const unsigned char *bytes, size_t at, size_t count,
                    float *dst) {
  switch (dtype) {
  case NNC_F32:
    if (count) memcpy(dst, bytes + at * sizeof(float), count * sizeof(float));
    break;
  case NNC_F64:
    CONVERT(double);
    break;
  case NNC_I32:
    CONVERT(int32_t);
    break;
  case NNC_I64:
    CONVERT(int64_t);
    break;
  case NNC_U8: /* unscaled: pixel 255 stays 255.0f, normalizing is the model's job */
    CONVERT(uint8_t);
    break;
  case NNC_I8:
    CONVERT(int8_t);
    break;
  case NNC_I16:
    CONVERT(int16_t);
    break;
  case NNC_U16:
    CONVERT(uint16_t);
    break;
  case NNC_U32:
    CONVERT(uint32_t);
    break;
  case NNC_U64:
    CONVERT(uint64_t);
    break;
  }
}
#undef CONVERT

/* Rounds to nearest whatever rounding mode the calling thread has set
 * (docs/semantics.md): the same floats whichever thread converts a batch
 * (fit's gather worker, the pool's threads, the caller). */
void nnc_convert_to_f32(nnc_dtype dtype, const void *data, int64_t first, int64_t n, float *dst) {
  size_t at = (size_t)first, count = (size_t)n;
  int mode = rounds(dtype) ? fegetround() : FE_TONEAREST;
  if (mode != FE_TONEAREST) fesetround(FE_TONEAREST);
  convert(dtype, data, at, count, dst);
  if (mode != FE_TONEAREST) fesetround(mode);
}

int nnc_array_to_f32(const nnc_array *a, nnc_array *out, nnc_status *st) {
  int64_t count = nnc_array_count(a);
  if (count < 0 || nnc_dtype_size(a->dtype) == 0)
    return nnc_fail(st, NNC_ERR_ARG, "nnc_array_to_f32: malformed array (rank, shape or dtype)");
  if (count > 0 && !a->data)
    return nnc_fail(st, NNC_ERR_ARG, "nnc_array_to_f32: array has no data");
  if ((uint64_t)count > SIZE_MAX / sizeof(float))
    return nnc_fail(st, NNC_ERR_NOMEM, "nnc_array_to_f32: %lld elements do not fit in memory",
                    (long long)count);
  float *dst = nnc_calloc((size_t)count, sizeof(float), st);
  if (!dst) return st ? (int)st->code : NNC_ERR_NOMEM;
  if (count) nnc_convert_to_f32(a->dtype, a->data, 0, count, dst);
  /* Fill out only now, so out may alias a. */
  nnc_array result = *a;
  result.dtype = NNC_F32;
  result.data = dst;
  *out = result;
  return NNC_OK;
}

int nnc_array_read_input(io_input *in, nnc_array *out, nnc_status *st) {
  static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  memset(out, 0, sizeof *out);
  unsigned char head[6] = {0};
  size_t got = 0;
  int rc = io_input_peek(in, head, sizeof head, &got, st);
  if (rc) return rc;
  if (got == sizeof head && memcmp(head, npy_magic, sizeof npy_magic) == 0)
    return nnc_npy_read_input(in, out, st);
  /* IDX starts with two zero bytes; gzip (of anything, presumably IDX) with 1f 8b. */
  if (got >= 2 && ((head[0] == 0 && head[1] == 0) || (head[0] == 0x1f && head[1] == 0x8b)))
    return nnc_idx_read_input(in, out, st);
  if (got >= 4 && head[0] == 'P' && head[1] == 'K')
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: a .npz (zip) file holds named arrays, not one array: it is read where "
                    "named arrays are expected (the CLI's --x/--y)",
                    in->path);
  return nnc_fail(st, NNC_ERR_DATA, "%s: neither a .npy nor an IDX file (unknown magic bytes)",
                  in->path);
}

int nnc_array_read(const char *path, nnc_array *out, nnc_status *st) {
  memset(out, 0, sizeof *out);
  /* One open, a peek at the magic, then the reader: a pipe can be read once only. */
  io_input in;
  int rc = io_input_open(&in, path, st);
  if (rc) return rc;
  rc = nnc_array_read_input(&in, out, st);
  io_input_close(&in);
  return rc;
}
