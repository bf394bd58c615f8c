/* NumPy .npy reader (format versions 1.0, 2.0, 3.0) and writer (1.0).
 *
 * Layout: "\x93NUMPY", major, minor, header length (uint16 LE in 1.0, uint32
 * LE in 2.0/3.0), then a Python dict literal such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (100, 1), }
 * padded with spaces and ended by '\n', then the raw C-order data. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "runtime/io/bytes.h"
#include "runtime/io/input.h"
#include "runtime/io/io.h"
#include "runtime/io/npy_map.h"

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

/* numpy aligns the data so memory-mapped arrays are aligned; we do the same. */
enum { NPY_DATA_ALIGN = 64 };

/* ---- header dict parsing ---- */

typedef struct npy_header {
  char descr[32];
  int fortran_order;
  int rank;
  int64_t shape[NNC_MAX_RANK];
  int seen_descr, seen_fortran, seen_shape;
} npy_header;

typedef struct header_cursor {
  const char *p, *end;
  const char *path;
  nnc_status *st;
} header_cursor;

static void skip_space(header_cursor *c) {
  while (c->p < c->end && isspace((unsigned char)*c->p)) c->p++;
}

/* Consume ch (after optional whitespace); 0 if it is not there. */
static int accept_char(header_cursor *c, char ch) {
  skip_space(c);
  if (c->p < c->end && *c->p == ch) {
    c->p++;
    return 1;
  }
  return 0;
}

static int malformed(header_cursor *c, const char *what) {
  return nnc_fail(c->st, NNC_ERR_DATA, "%s: malformed .npy header: %s", c->path, what);
}

/* A Python string literal in '...' or "..."; dtype strings need no escapes. */
static int parse_string(header_cursor *c, char *out, size_t out_size) {
  skip_space(c);
  if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return malformed(c, "expected a string");
  char quote = *c->p++;
  const char *start = c->p;
  while (c->p < c->end && *c->p != quote) c->p++;
  if (c->p >= c->end) return malformed(c, "unterminated string");
  size_t n = (size_t)(c->p - start);
  c->p++;
  if (n >= out_size) n = out_size - 1; /* long keys/values are rejected by the caller anyway */
  memcpy(out, start, n);
  out[n] = '\0';
  return NNC_OK;
}

static int parse_bool(header_cursor *c, int *out) {
  skip_space(c);
  size_t left = (size_t)(c->end - c->p);
  if (left >= 4 && memcmp(c->p, "True", 4) == 0) {
    c->p += 4;
    *out = 1;
  } else if (left >= 5 && memcmp(c->p, "False", 5) == 0) {
    c->p += 5;
    *out = 0;
  } else {
    return malformed(c, "'fortran_order' is neither True nor False");
  }
  return NNC_OK;
}

/* A tuple of non-negative ints: "()", "(5,)", "(100, 1)"; Python 2 wrote "100L". */
static int parse_shape(header_cursor *c, npy_header *h) {
  if (!accept_char(c, '(')) return malformed(c, "'shape' is not a tuple");
  h->rank = 0;
  for (;;) {
    if (accept_char(c, ')')) return NNC_OK;
    skip_space(c);
    if (c->p >= c->end || !isdigit((unsigned char)*c->p))
      return malformed(c, "'shape' holds something other than non-negative integers");
    /* Python's literal syntax (numpy reads the header with literal_eval) has
     * no leading zeros: "0001" is a syntax error there, so it is here */
    if (*c->p == '0' && c->p + 1 < c->end && isdigit((unsigned char)c->p[1]))
      return malformed(c, "a dimension in 'shape' has a leading zero");
    int64_t dim = 0;
    while (c->p < c->end && isdigit((unsigned char)*c->p)) {
      int digit = *c->p++ - '0';
      if (dim > (INT64_MAX - digit) / 10) return malformed(c, "a dimension in 'shape' overflows");
      dim = dim * 10 + digit;
    }
    if (c->p < c->end && *c->p == 'L') c->p++;
    if (h->rank >= NNC_MAX_RANK)
      return nnc_fail(c->st, NNC_ERR_DATA, "%s: array rank exceeds the maximum of %d", c->path,
                      NNC_MAX_RANK);
    h->shape[h->rank++] = dim;
    if (accept_char(c, ',')) continue;
    if (accept_char(c, ')')) return NNC_OK;
    return malformed(c, "expected ',' or ')' in 'shape'");
  }
}

static int parse_header_dict(header_cursor *c, npy_header *h) {
  memset(h, 0, sizeof *h);
  if (!accept_char(c, '{')) return malformed(c, "the header is not a dict");
  for (;;) {
    if (accept_char(c, '}')) break;
    char key[32];
    int rc = parse_string(c, key, sizeof key);
    if (rc) return rc;
    if (!accept_char(c, ':')) return malformed(c, "expected ':' after a key");
    if (strcmp(key, "descr") == 0) {
      skip_space(c);
      if (c->p < c->end && *c->p == '[')
        return nnc_fail(c->st, NNC_ERR_DATA,
                        "%s: unsupported dtype: structured arrays are not "
                        "supported",
                        c->path);
      rc = parse_string(c, h->descr, sizeof h->descr);
      h->seen_descr = 1;
    } else if (strcmp(key, "fortran_order") == 0) {
      rc = parse_bool(c, &h->fortran_order);
      h->seen_fortran = 1;
    } else if (strcmp(key, "shape") == 0) {
      rc = parse_shape(c, h);
      h->seen_shape = 1;
    } else {
      /* numpy itself rejects headers with other keys. */
      return nnc_fail(c->st, NNC_ERR_DATA, "%s: malformed .npy header: unexpected key '%s'",
                      c->path, key);
    }
    if (rc) return rc;
    if (accept_char(c, ',')) continue;
    if (accept_char(c, '}')) break;
    return malformed(c, "expected ',' or '}' after a value");
  }
  skip_space(c);
  if (c->p != c->end) return malformed(c, "unexpected text after the dict");
  if (!h->seen_descr || !h->seen_fortran || !h->seen_shape)
    return malformed(c, "missing 'descr', 'fortran_order' or 'shape'");
  return NNC_OK;
}

static int dtype_from_descr(const char *descr, nnc_dtype *out) {
  static const struct {
    const char *descr;
    nnc_dtype dtype;
  } known[] = {
      {"<f4", NNC_F32}, {"<f8", NNC_F64}, {"<i4", NNC_I32}, {"<i8", NNC_I64},
      {"|u1", NNC_U8},  {"<u1", NNC_U8},  {"|b1", NNC_U8}, /* bools are 0/1 bytes */
      {"|i1", NNC_I8},  {"<i1", NNC_I8},  {"<i2", NNC_I16}, {"<u2", NNC_U16},
      {"<u4", NNC_U32}, {"<u8", NNC_U64},
  };
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strcmp(descr, known[i].descr) == 0) {
      *out = known[i].dtype;
      return 1;
    }
  return 0;
}

static const char *descr_from_dtype(nnc_dtype t) {
  switch (t) {
  case NNC_F32:
    return "<f4";
  case NNC_F64:
    return "<f8";
  case NNC_I32:
    return "<i4";
  case NNC_I64:
    return "<i8";
  case NNC_U8:
    return "|u1";
  case NNC_I8:
    return "|i1";
  case NNC_I16:
    return "<i2";
  case NNC_U16:
    return "<u2";
  case NNC_U32:
    return "<u4";
  case NNC_U64:
    return "<u8";
  }
  return NULL;
}

/* ---- reader ---- */

/* Version 1.0's limit, applied to 2.0/3.0 too: a header that can describe an
 * array nnc reads is under 200 bytes, and a forged 4 GiB length must not
 * make us allocate it. */
enum { NPY_MAX_HEADER = 65535 };

static uint32_t load_le(const unsigned char *p, int nbytes) {
  uint32_t v = 0;
  for (int i = nbytes - 1; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

/* The header dict of in (positioned at the magic) into h. */
static int read_header(io_input *in, npy_header *h, nnc_status *st) {
  const char *path = in->path;
  unsigned char prefix[12];
  size_t got = 0;
  int rc = io_input_read(in, prefix, 10, &got, st);
  if (rc) return rc;
  if (got < 10 || memcmp(prefix, npy_magic, sizeof npy_magic) != 0)
    return nnc_fail(st, NNC_ERR_DATA, "%s: not a .npy file (bad magic bytes)", path);
  int major = prefix[6], minor = prefix[7];
  if ((major != 1 && major != 2 && major != 3) || minor != 0)
    return nnc_fail(st, NNC_ERR_DATA, "%s: unsupported .npy format version %d.%d", path, major,
                    minor);
  if (major > 1) { /* a 4-byte header length */
    rc = io_input_read(in, prefix + 10, 2, &got, st);
    if (rc) return rc;
    if (got < 2) return nnc_fail(st, NNC_ERR_DATA, "%s: truncated .npy header", path);
  }
  size_t header_len = load_le(prefix + 8, major == 1 ? 2 : 4);
  if (header_len > NPY_MAX_HEADER)
    return nnc_fail(st, NNC_ERR_DATA, "%s: malformed .npy header: %zu bytes long, the limit is %d",
                    path, header_len, NPY_MAX_HEADER);
  char *text = malloc(header_len ? header_len : 1);
  if (!text) return nnc_fail(st, NNC_ERR_NOMEM, "%s: out of memory", path);
  rc = io_input_read(in, text, header_len, &got, st);
  if (!rc && got < header_len)
    rc = nnc_fail(st, NNC_ERR_DATA, "%s: truncated .npy header (%zu bytes announced, %zu present)",
                  path, header_len, got);
  if (!rc) {
    header_cursor cursor = {text, text + header_len, path, st};
    rc = parse_header_dict(&cursor, h);
  }
  free(text);
  return rc;
}

/* The header of in, validated, into *out (no data) and the byte count of
 * its data; nothing about what follows the header is checked. */
static int parse_head(io_input *in, nnc_array *out, size_t *data_bytes, nnc_status *st) {
  memset(out, 0, sizeof *out);
  const char *path = in->path;
  npy_header h;
  int rc = read_header(in, &h, st);
  if (rc) return rc;
  nnc_dtype dtype;
  if (!dtype_from_descr(h.descr, &dtype)) {
    if (h.descr[0] == '>')
      return nnc_fail(st, NNC_ERR_DATA,
                      "%s: unsupported dtype '%s' (big-endian); save the array "
                      "as little-endian",
                      path, h.descr);
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: unsupported dtype '%s' (supported: <f4 <f8 |i1 <i2 <i4 <i8 "
                    "|u1 <u2 <u4 <u8 |b1)",
                    path, h.descr);
  }
  if (h.fortran_order)
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: fortran_order True is not supported; save a C-order "
                    "array (np.ascontiguousarray)",
                    path);

  nnc_array a = {.dtype = dtype, .rank = h.rank, .data = NULL};
  memcpy(a.shape, h.shape, sizeof a.shape);
  int64_t count = nnc_array_count(&a);
  size_t elem_size = nnc_dtype_size(dtype);
  if (count < 0 || (uint64_t)count > SIZE_MAX / elem_size)
    return nnc_fail(st, NNC_ERR_DATA, "%s: the element count of the shape overflows", path);
  *data_bytes = (size_t)count * elem_size;
  *out = a;
  return NNC_OK;
}

int npy_size_from_head(const void *prefix, size_t n, const char *label, uint64_t *total,
                       nnc_status *st) {
  io_input mem;
  io_input_open_memory(&mem, label, prefix, n);
  nnc_array a;
  size_t data_bytes;
  int rc = parse_head(&mem, &a, &data_bytes, st);
  if (!rc) *total = mem.pos + data_bytes;
  return rc;
}

int npy_read_head(io_input *in, nnc_array *out, size_t *data_bytes, nnc_status *st) {
  memset(out, 0, sizeof *out);
  const char *path = in->path;
  nnc_array a;
  int rc = parse_head(in, &a, data_bytes, st);
  if (rc) return rc;

  /* A regular file is checked against the header before anything is read;
   * a pipe as it arrives. np.load ignores bytes after the data; nnc refuses
   * them, since such a file is not what np.save wrote. */
  int64_t left = io_input_left(in);
  if (left >= 0 && (uint64_t)left < *data_bytes)
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: data truncated: the shape needs %zu bytes, the file has %lld", path,
                    *data_bytes, (long long)left);
  if (left >= 0 && (uint64_t)left > *data_bytes)
    return nnc_fail(st, NNC_ERR_DATA, "%s: %llu unexpected bytes after the array data", path,
                    (unsigned long long)((uint64_t)left - *data_bytes));
  *out = a;
  return NNC_OK;
}

int npy_read_data(io_input *in, nnc_array *a, size_t data_bytes, nnc_status *st) {
  const char *path = in->path;
  int64_t count = nnc_array_count(a);
  size_t elem_size = nnc_dtype_size(a->dtype);
  int rc = NNC_OK;
  size_t got = 0;
  void *data = io_input_read_alloc(in, data_bytes, &got, st);
  if (!data) return st ? (int)st->code : NNC_ERR_NOMEM;
  int at_end = 1;
  if (got < data_bytes)
    rc = nnc_fail(st, NNC_ERR_DATA,
                  "%s: data truncated: the shape needs %zu bytes, the file has %zu", path,
                  data_bytes, got);
  else if (!(rc = io_input_at_end(in, &at_end, st)) && !at_end)
    rc = nnc_fail(st, NNC_ERR_DATA, "%s: unexpected bytes after the %zu bytes of array data", path,
                  data_bytes);
  if (rc) {
    free(data);
    return rc;
  }
  if (!io_host_is_little_endian() && elem_size > 1)
    io_swap_each_element(data, (size_t)count, elem_size);
  a->data = data;
  return NNC_OK;
}

int nnc_npy_read_input(io_input *in, nnc_array *out, nnc_status *st) {
  size_t data_bytes;
  nnc_array a;
  int rc = npy_read_head(in, &a, &data_bytes, st);
  if (!rc) rc = npy_read_data(in, &a, data_bytes, st);
  *out = rc ? (nnc_array){0} : a;
  return rc;
}

int nnc_npy_read(const char *path, nnc_array *out, nnc_status *st) {
  memset(out, 0, sizeof *out);
  io_input in;
  int rc = io_input_open(&in, path, st);
  if (rc) return rc;
  rc = nnc_npy_read_input(&in, out, st);
  io_input_close(&in);
  return rc;
}

/* ---- writer ---- */

int nnc_npy_encode(const char *path, const nnc_array *a, unsigned char **bytes, size_t *len,
                   nnc_status *st) {
  *bytes = NULL;
  *len = 0;
  int64_t count = nnc_array_count(a);
  const char *descr = count >= 0 ? descr_from_dtype(a->dtype) : NULL;
  if (!descr) return nnc_fail(st, NNC_ERR_ARG, "%s: cannot write a malformed array", path);
  size_t elem_size = nnc_dtype_size(a->dtype);
  if ((uint64_t)count > (SIZE_MAX - 4096) / elem_size)
    return nnc_fail(st, NNC_ERR_NOMEM, "%s: array too large to write", path);
  if (count > 0 && !a->data) return nnc_fail(st, NNC_ERR_ARG, "%s: array has no data", path);
  size_t data_bytes = (size_t)count * elem_size;

  /* The dict as numpy writes it; rank <= 8 keeps it far below 1.0's 64 KiB limit. */
  char dict[512];
  int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
  for (int i = 0; i < a->rank; i++)
    n += snprintf(dict + n, sizeof dict - (size_t)n, "%s%lld", i ? ", " : "",
                  (long long)a->shape[i]);
  n += snprintf(dict + n, sizeof dict - (size_t)n, "%s), }", a->rank == 1 ? "," : "");

  /* Magic(6) + version(2) + length(2) + dict + spaces + '\n', a multiple of 64. */
  size_t unpadded = 10 + (size_t)n + 1;
  size_t header_total = (unpadded + NPY_DATA_ALIGN - 1) / NPY_DATA_ALIGN * NPY_DATA_ALIGN;
  size_t header_len = header_total - 10;

  unsigned char *buf = nnc_calloc(header_total + data_bytes, 1, st);
  if (!buf) return st ? (int)st->code : NNC_ERR_NOMEM;
  memcpy(buf, npy_magic, sizeof npy_magic);
  buf[6] = 1;
  buf[7] = 0;
  buf[8] = (unsigned char)(header_len & 0xff);
  buf[9] = (unsigned char)(header_len >> 8);
  memcpy(buf + 10, dict, (size_t)n);
  memset(buf + 10 + n, ' ', header_len - (size_t)n - 1);
  buf[header_total - 1] = '\n';
  if (data_bytes) memcpy(buf + header_total, a->data, data_bytes);
  if (!io_host_is_little_endian() && elem_size > 1)
    io_swap_each_element(buf + header_total, (size_t)count, elem_size);

  *bytes = buf;
  *len = header_total + data_bytes;
  return NNC_OK;
}

int nnc_npy_write(const char *path, const nnc_array *a, nnc_status *st) {
  unsigned char *buf;
  size_t len;
  int rc = nnc_npy_encode(path, a, &buf, &len, st);
  if (rc) return rc;
  rc = nnc_write_file_atomic(path, buf, len, st);
  free(buf);
  return rc;
}
