/* IDX reader (the MNIST format), plain or gzipped.
 *
 * Layout: 0x00 0x00 <type> <rank>, then rank big-endian uint32 dimensions,
 * then the data in C order, big-endian for multi-byte types. A gzipped file
 * (magic 1f 8b) is inflated as a stream straight into the array, 64 KiB of
 * compressed input at a time, and never past the announced size + 1 byte. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/base.h"
#include "runtime/io/bytes.h"
#include "runtime/io/input.h"
#include "runtime/io/io.h"

/* deflate cannot compress better than about 1032:1, so a gzipped file that
 * announces more than this many bytes per compressed byte must be truncated;
 * checking this first avoids reading gigabytes for a forged header. */
enum { DEFLATE_MAX_RATIO = 1100 };

/* Compressed bytes are fed to zlib in chunks of this size. */
enum { GZIP_CHUNK = 1 << 16 };

/* The decoded bytes of the input: the raw file, or its gzip stream inflated
 * chunk by chunk (so neither the whole compressed file nor more than the
 * announced data plus one byte is ever held). */
typedef struct idx_source {
  const char *path;
  io_input *in;
  int gzipped;
  int input_ended;  /* gzip: the compressed input is exhausted */
  int stream_ended; /* gzip: the last member has been fully inflated */
  unsigned char *chunk;
  z_stream zs;
} idx_source;

static int source_open(idx_source *src, io_input *in, nnc_status *st) {
  memset(src, 0, sizeof *src);
  src->path = in->path;
  src->in = in;
  unsigned char magic[2];
  size_t got = 0;
  int rc = io_input_peek(in, magic, 2, &got, st);
  if (rc) return rc;
  if (!(got == 2 && magic[0] == 0x1f && magic[1] == 0x8b)) return NNC_OK;
  src->chunk = malloc(GZIP_CHUNK);
  if (!src->chunk) return nnc_fail(st, NNC_ERR_NOMEM, "%s: out of memory", src->path);
  src->zs.next_in = src->chunk;
  src->zs.avail_in = 0;
  /* 15 window bits + 16: expect a gzip wrapper rather than a zlib one. */
  if (inflateInit2(&src->zs, 15 + 16) != Z_OK) {
    free(src->chunk);
    src->chunk = NULL;
    return nnc_fail(st, NNC_ERR_NOMEM, "%s: cannot initialize zlib", src->path);
  }
  src->gzipped = 1;
  return NNC_OK;
}

static void source_close(idx_source *src) {
  if (src->gzipped) inflateEnd(&src->zs);
  free(src->chunk);
}

/* Make at least min compressed bytes available (fewer only at the end of the input). */
static int refill(idx_source *src, size_t min, nnc_status *st) {
  if (src->zs.avail_in >= min || src->input_ended) return NNC_OK;
  memmove(src->chunk, src->zs.next_in, src->zs.avail_in);
  src->zs.next_in = src->chunk;
  size_t got = 0;
  int rc = io_input_read(src->in, src->chunk + src->zs.avail_in, GZIP_CHUNK - src->zs.avail_in,
                         &got, st);
  if (rc) return rc;
  if (got == 0) src->input_ended = 1;
  src->zs.avail_in += (uInt)got;
  return NNC_OK;
}

/* After a gzip member: another member, the end, or junk. */
static int after_member(idx_source *src, nnc_status *st) {
  int rc = refill(src, 2, st);
  if (rc) return rc;
  const unsigned char *next = src->zs.next_in;
  size_t rest = src->zs.avail_in;
  /* gzip allows several members back to back (e.g. `cat a.gz b.gz`). */
  if (rest >= 2 && next[0] == 0x1f && next[1] == 0x8b) {
    inflateReset(&src->zs);
    return NNC_OK;
  }
  if (rest > 0)
    return nnc_fail(st, NNC_ERR_DATA, "%s: unexpected bytes after the gzip stream", src->path);
  src->stream_ended = 1;
  return NNC_OK;
}

/* Up to want bytes into dst; *got < want only at the end of the data. */
static int source_read(idx_source *src, void *dst, size_t want, size_t *got, nnc_status *st) {
  if (!src->gzipped) return io_input_read(src->in, dst, want, got, st);
  unsigned char *out = dst;
  size_t done = 0;
  *got = 0;
  while (done < want && !src->stream_ended) {
    int rc = refill(src, 1, st);
    if (rc) return rc;
    /* avail_out is 32-bit: drain in chunks of at most 1 GiB. */
    size_t out_chunk = want - done < (1u << 30) ? want - done : 1u << 30;
    src->zs.next_out = out + done;
    src->zs.avail_out = (uInt)out_chunk;
    int zr = inflate(&src->zs, Z_NO_FLUSH);
    done += out_chunk - src->zs.avail_out;
    if (zr == Z_STREAM_END) {
      rc = after_member(src, st);
      if (rc) return rc;
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

/* The next n data bytes in a malloc'ed *data (*got < n at the end). The
 * buffer grows with what arrives unless a raw regular file has proven n. */
static int read_data(idx_source *src, size_t n, void **data, size_t *got, nnc_status *st) {
  enum { FIRST_CHUNK = 1 << 20 };
  size_t cap = !src->gzipped && io_input_left(src->in) >= 0 ? n : n < FIRST_CHUNK ? n : FIRST_CHUNK;
  unsigned char *buf = malloc(cap ? cap : 1);
  size_t done = 0;
  while (buf) {
    size_t part = 0;
    int rc = source_read(src, buf + done, cap - done, &part, st);
    if (rc) {
      free(buf);
      return rc;
    }
    done += part;
    if (done < cap || cap == n) break;
    cap = cap > n / 2 ? n : cap * 2;
    unsigned char *bigger = realloc(buf, cap);
    if (!bigger) free(buf);
    buf = bigger;
  }
  if (!buf) return nnc_fail(st, NNC_ERR_NOMEM, "%s: out of memory reading %zu bytes", src->path, n);
  *data = buf;
  *got = done;
  return NNC_OK;
}

static int dtype_from_idx_type(unsigned type, nnc_dtype *out) {
  switch (type) {
  case 0x08:
    *out = NNC_U8;
    return 1;
  case 0x09:
    *out = NNC_I8;
    return 1;
  case 0x0B:
    *out = NNC_I16;
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
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: unsupported IDX element type 0x%02x (%s); nnc reads "
                    "0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64",
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

  /* A raw regular file is checked against the dimensions before anything is
   * read, a gzipped one against deflate's best ratio; pipes as data arrives. */
  int64_t left = io_input_left(src->in);
  if (!src->gzipped && left >= 0 && (uint64_t)left != data_bytes)
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: %s IDX file: the dimensions need %zu data bytes, the "
                    "file has %lld",
                    path, data_bytes > (uint64_t)left ? "truncated" : "oversized", data_bytes,
                    (long long)left);
  int64_t file_size = src->in->size;
  if (src->gzipped && file_size >= 0 && data_bytes / DEFLATE_MAX_RATIO > (uint64_t)file_size)
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: truncated IDX file: the dimensions need %zu data "
                    "bytes, more than %lld compressed bytes can hold",
                    path, data_bytes, (long long)file_size);

  size_t got = 0;
  rc = read_data(src, data_bytes, &a.data, &got, st);
  if (rc) return rc;
  if (got < data_bytes)
    rc = nnc_fail(st, NNC_ERR_DATA,
                  "%s: truncated IDX file: %zu bytes expected for the data, only %zu present", path,
                  data_bytes, got);
  if (!rc) {
    /* One byte more than announced (and no more is ever inflated) proves too many. */
    unsigned char extra;
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

int nnc_idx_read_input(io_input *in, nnc_array *out, nnc_status *st) {
  memset(out, 0, sizeof *out);
  idx_source src;
  int rc = source_open(&src, in, st);
  if (!rc) rc = read_with_source(&src, out, st);
  source_close(&src);
  return rc;
}

int nnc_idx_read(const char *path, nnc_array *out, nnc_status *st) {
  memset(out, 0, sizeof *out);
  io_input in;
  int rc = io_input_open(&in, path, st);
  if (rc) return rc;
  rc = nnc_idx_read_input(&in, out, st);
  io_input_close(&in);
  return rc;
}
