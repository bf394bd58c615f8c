/* IDX reader (the MNIST format), plain or gzipped.
 *
 * Layout: 0x00 0x00 <type> <rank>, then rank big-endian uint32 dimensions,
 * then the data in C order, big-endian for multi-byte types. A gzipped file
 * (magic 1f 8b) is inflated as a stream straight into the array, so only
 * the compressed file and the array are ever in memory. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "runtime/base/base.h"
#include "runtime/io/bytes.h"
#include "runtime/io/io.h"

/* deflate cannot compress better than about 1032:1, so a gzipped file that
 * announces more than this many bytes per compressed byte must be truncated;
 * checking this first avoids allocating gigabytes for a forged header. */
enum { DEFLATE_MAX_RATIO = 1100 };

/* The decoded bytes of the file: either the raw file or a gzip stream. */
typedef struct idx_source {
  const char *path;
  const unsigned char *file;
  size_t file_len;
  size_t pos; /* raw files: next byte to hand out */
  int gzipped;
  int stream_ended; /* gzip: the last member has been fully inflated */
  z_stream zs;
} idx_source;

static int source_open(idx_source *src, const char *path, const unsigned char *file, size_t len,
                       nnc_status *st) {
  memset(src, 0, sizeof *src);
  src->path = path;
  src->file = file;
  src->file_len = len;
  src->gzipped = len >= 2 && file[0] == 0x1f && file[1] == 0x8b;
  if (!src->gzipped) return NNC_OK;
  src->zs.next_in = (Bytef *)file; /* zlib's API is not const-correct; it only reads */
  src->zs.avail_in = 0;
  /* 15 window bits + 16: expect a gzip wrapper rather than a zlib one. */
  if (inflateInit2(&src->zs, 15 + 16) != Z_OK) {
    src->gzipped = 0; /* nothing for source_close to end */
    return nnc_fail(st, NNC_ERR_NOMEM, "%s: cannot initialize zlib", path);
  }
  return NNC_OK;
}

static void source_close(idx_source *src) {
  if (src->gzipped) inflateEnd(&src->zs);
}

/* Up to want bytes into dst; *got < want only at the end of the data. */
static int source_read(idx_source *src, void *dst, size_t want, size_t *got, nnc_status *st) {
  if (!src->gzipped) {
    size_t n = src->file_len - src->pos;
    if (n > want) n = want;
    if (n) memcpy(dst, src->file + src->pos, n);
    src->pos += n;
    *got = n;
    return NNC_OK;
  }
  unsigned char *out = dst;
  size_t done = 0;
  while (done < want && !src->stream_ended) {
    /* avail_in/avail_out are 32-bit: feed and drain in chunks of at most 1 GiB. */
    size_t in_left = src->file_len - (size_t)(src->zs.next_in - src->file);
    if (src->zs.avail_in == 0) src->zs.avail_in = (uInt)(in_left < (1u << 30) ? in_left : 1u << 30);
    size_t out_chunk = want - done < (1u << 30) ? want - done : 1u << 30;
    src->zs.next_out = out + done;
    src->zs.avail_out = (uInt)out_chunk;
    int zr = inflate(&src->zs, Z_NO_FLUSH);
    done += out_chunk - src->zs.avail_out;
    if (zr == Z_STREAM_END) {
      /* gzip allows several members back to back (e.g. `cat a.gz b.gz`). */
      size_t rest = src->file_len - (size_t)(src->zs.next_in - src->file);
      const unsigned char *next = src->zs.next_in;
      if (rest >= 2 && next[0] == 0x1f && next[1] == 0x8b) {
        inflateReset(&src->zs);
        continue;
      }
      if (rest > 0)
        return nnc_fail(st, NNC_ERR_DATA, "%s: %zu unexpected bytes after the gzip stream",
                        src->path, rest);
      src->stream_ended = 1;
    } else if (zr == Z_BUF_ERROR) {
      /* No progress with output space left: the compressed input ran out. */
      return nnc_fail(st, NNC_ERR_DATA, "%s: truncated gzip stream", src->path);
    } else if (zr != Z_OK) {
      return nnc_fail(st, zr == Z_MEM_ERROR ? NNC_ERR_NOMEM : NNC_ERR_DATA,
                      "%s: corrupt gzip data: %s", src->path,
                      src->zs.msg ? src->zs.msg : "inflate failed");
    }
  }
  *got = done;
  return NNC_OK;
}

/* Exactly n bytes, else a "truncated" error naming what was being read. */
static int source_read_exact(idx_source *src, void *dst, size_t n, const char *what,
                             nnc_status *st) {
  size_t got = 0;
  int rc = source_read(src, dst, n, &got, st);
  if (rc) return rc;
  if (got < n)
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: truncated IDX file: %zu bytes expected for %s, only %zu present",
                    src->path, n, what, got);
  return NNC_OK;
}

static int dtype_from_idx_type(unsigned type, nnc_dtype *out) {
  switch (type) {
  case 0x08:
    *out = NNC_U8;
    return 1;
  case 0x0C:
    *out = NNC_I32;
    return 1;
  case 0x0D:
    *out = NNC_F32;
    return 1;
  case 0x0E:
    *out = NNC_F64;
    return 1;
  default:
    return 0;
  }
}

static const char *idx_type_name(unsigned type) {
  switch (type) {
  case 0x09:
    return "int8";
  case 0x0B:
    return "int16";
  default:
    return "unknown";
  }
}

static int read_with_source(idx_source *src, nnc_array *out, nnc_status *st) {
  const char *path = src->path;
  unsigned char magic[4];
  int rc = source_read_exact(src, magic, sizeof magic, "the magic number", st);
  if (rc) return rc;
  if (magic[0] != 0 || magic[1] != 0)
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: not an IDX file (magic must start with 00 00, found "
                    "%02x %02x)",
                    path, magic[0], magic[1]);
  nnc_dtype dtype;
  if (!dtype_from_idx_type(magic[2], &dtype))
    /* int8 (0x09) has no nnc dtype; widening it silently would surprise, so reject. */
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: unsupported IDX element type 0x%02x (%s); nnc reads "
                    "0x08 u8, 0x0C i32, 0x0D f32, 0x0E f64",
                    path, magic[2], idx_type_name(magic[2]));
  int rank = magic[3];
  if (rank < 1 || rank > NNC_MAX_RANK)
    return nnc_fail(st, NNC_ERR_DATA, "%s: IDX rank %d is outside 1..%d", path, rank, NNC_MAX_RANK);

  unsigned char dims[4 * NNC_MAX_RANK];
  rc = source_read_exact(src, dims, 4 * (size_t)rank, "the dimensions", st);
  if (rc) return rc;
  nnc_array a = {.dtype = dtype, .rank = rank, .data = NULL};
  for (int i = 0; i < rank; i++) {
    const unsigned char *d = dims + 4 * i;
    a.shape[i] =
        (int64_t)((uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3]);
  }
  int64_t count = nnc_array_count(&a);
  size_t elem_size = nnc_dtype_size(dtype);
  if (count < 0 || (uint64_t)count > SIZE_MAX / elem_size)
    return nnc_fail(st, NNC_ERR_DATA, "%s: the element count of the IDX dimensions overflows",
                    path);
  size_t data_bytes = (size_t)count * elem_size;

  size_t header_bytes = 4 + 4 * (size_t)rank;
  if (!src->gzipped && data_bytes != src->file_len - header_bytes)
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: %s IDX file: the dimensions need %zu data bytes, the "
                    "file has %zu",
                    path, data_bytes > src->file_len - header_bytes ? "truncated" : "oversized",
                    data_bytes, src->file_len - header_bytes);
  if (src->gzipped && data_bytes / DEFLATE_MAX_RATIO > src->file_len)
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: truncated IDX file: the dimensions need %zu data "
                    "bytes, more than %zu compressed bytes can hold",
                    path, data_bytes, src->file_len);

  a.data = nnc_calloc(data_bytes, 1, st);
  if (!a.data) return st ? (int)st->code : NNC_ERR_NOMEM;
  rc = source_read_exact(src, a.data, data_bytes, "the data", st);
  if (!rc) {
    unsigned char extra;
    size_t got = 0;
    rc = source_read(src, &extra, 1, &got, st);
    if (!rc && got)
      rc = nnc_fail(st, NNC_ERR_DATA,
                    "%s: oversized IDX file: data continues after the %zu "
                    "bytes the dimensions announce",
                    path, data_bytes);
  }
  if (rc) {
    free(a.data);
    return rc;
  }
  if (io_host_is_little_endian() && elem_size > 1)
    io_swap_each_element(a.data, (size_t)count, elem_size);
  *out = a;
  return NNC_OK;
}

int nnc_idx_read(const char *path, nnc_array *out, nnc_status *st) {
  memset(out, 0, sizeof *out);
  size_t len = 0;
  char *file = nnc_read_file(path, &len, st);
  if (!file) return st ? (int)st->code : NNC_ERR_IO;
  idx_source src;
  int rc = source_open(&src, path, (const unsigned char *)file, len, st);
  if (!rc) rc = read_with_source(&src, out, st);
  source_close(&src);
  free(file);
  return rc;
}
