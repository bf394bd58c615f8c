/* NumPy .npz reader and writer: a zip archive of .npy members (APPNOTE.TXT).
 *
 * np.savez stores members, np.savez_compressed deflates them; both open
 * every member with force_zip64, so each local header carries a ZIP64 extra
 * field (id 1: uncompressed and compressed size, 8 bytes each) and, from
 * Python's zipfile, 0xFFFFFFFF in its 32-bit size fields (other writers put
 * the sizes there when they fit: both are read).
 * The reader walks the archive front to back — local header, data, next
 * local header ..., central directory, [ZIP64 end record and locator], end
 * record — so a pipe works as well as a file, and it never reads or
 * allocates past what a header announces. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/base.h"
#include "runtime/io/input.h"
#include "runtime/io/io.h"
#include "runtime/io/npy_map.h"

enum {
  SIG_LOCAL = 0x04034b50,
  SIG_CENTRAL = 0x02014b50,
  SIG_ZIP64_END = 0x06064b50,
  SIG_ZIP64_LOCATOR = 0x07064b50,
  SIG_END = 0x06054b50,
  FLAG_ENCRYPTED = 1 << 0,
  FLAG_DATA_DESCRIPTOR = 1 << 3,
  METHOD_STORED = 0,
  METHOD_DEFLATED = 8,
  EXTRA_ZIP64 = 0x0001,
  ZIP_CHUNK = 1 << 16,       /* compressed bytes fed to zlib at a time */
  FIRST_OUTPUT = 1 << 20,    /* inflated output starts at this size and doubles */
  VERSION_ZIP64 = 45,        /* "version needed" with ZIP64 extra fields */
  MADE_BY_UNIX = 3 << 8,     /* "version made by": the host system, as Python's zipfile */
  DOS_DATE_1980_01_01 = 0x21 /* written members carry a fixed time: same input, same bytes */
};

static const uint32_t U32_MAX_FIELD = 0xffffffffu;

static uint64_t le(const unsigned char *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

/* One member as its local header describes it. */
typedef struct zip_member {
  char name[300]; /* the member's full name, "x.npy" */
  uint16_t flags, method;
  uint32_t crc;
  uint64_t csize, usize;
} zip_member;

/* Exactly n bytes or a "truncated" error naming what was being read. */
static int read_exact(io_input *in, void *dst, size_t n, const char *what, nnc_status *st) {
  size_t got = 0;
  int rc = io_input_read(in, dst, n, &got, st);
  if (rc) return rc;
  if (got < n) return nnc_fail(st, NNC_ERR_DATA, "%s: truncated .npz file (in %s)", in->path, what);
  return NNC_OK;
}

/* A ZIP64 extra field's values replace the 32-bit fields that hold
 * 0xFFFFFFFF, in APPNOTE's order (uncompressed, compressed, offset); the
 * local header always has both sizes (4.5.3). */
static int apply_zip64_extra(io_input *in, const char *member, const unsigned char *extra,
                             size_t len, int local, uint64_t *usize, uint64_t *csize,
                             nnc_status *st) {
  int need_u = *usize == U32_MAX_FIELD, need_c = *csize == U32_MAX_FIELD;
  for (size_t at = 0; at + 4 <= len;) {
    size_t id = (size_t)le(extra + at, 2), size = (size_t)le(extra + at + 2, 2);
    if (at + 4 + size > len) break;
    if (id == EXTRA_ZIP64) {
      const unsigned char *v = extra + at + 4;
      size_t have = size / 8, k = 0;
      if (local && have >= 2) {
        if (need_u) *usize = le(v, 8);
        if (need_c) *csize = le(v + 8, 8);
        return NNC_OK;
      }
      if (need_u && k < have) *usize = le(v + 8 * k++, 8), need_u = 0;
      if (need_c && k < have) *csize = le(v + 8 * k++, 8), need_c = 0;
      if (!need_u && !need_c) return NNC_OK;
    }
    at += 4 + size;
  }
  if (need_u || need_c)
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: member '%s': sizes marked as ZIP64 but no ZIP64 extra field holds them",
                    in->path, member);
  return NNC_OK;
}

/* Name and extra field after a fixed header; the name is checked for NULs. */
static int read_name_and_extra(io_input *in, size_t name_len, size_t extra_len, char *name,
                               size_t name_cap, unsigned char *extra, nnc_status *st) {
  if (name_len == 0 || name_len >= name_cap)
    return nnc_fail(st, NNC_ERR_DATA, "%s: a member name of %zu bytes (expected 1..%zu)", in->path,
                    name_len, name_cap - 1);
  int rc = read_exact(in, name, name_len, "a member name", st);
  if (rc) return rc;
  name[name_len] = '\0';
  if (strlen(name) != name_len)
    return nnc_fail(st, NNC_ERR_DATA, "%s: member name '%s...' holds a NUL byte", in->path, name);
  return read_exact(in, extra, extra_len, "an extra field", st);
}

static int read_local_header(io_input *in, zip_member *m, nnc_status *st) {
  unsigned char h[26], extra[65536];
  int rc = read_exact(in, h, sizeof h, "a local file header", st);
  if (rc) return rc;
  memset(m, 0, sizeof *m);
  m->flags = (uint16_t)le(h + 2, 2);
  m->method = (uint16_t)le(h + 4, 2);
  m->crc = (uint32_t)le(h + 10, 4);
  m->csize = le(h + 14, 4);
  m->usize = le(h + 18, 4);
  size_t name_len = (size_t)le(h + 22, 2), extra_len = (size_t)le(h + 24, 2);
  rc = read_name_and_extra(in, name_len, extra_len, m->name, sizeof m->name, extra, st);
  if (rc) return rc;
  if (m->flags & FLAG_ENCRYPTED)
    return nnc_fail(st, NNC_ERR_DATA, "%s: member '%s' is encrypted", in->path, m->name);
  if (m->flags & FLAG_DATA_DESCRIPTOR)
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: member '%s' has its sizes after its data (a zip written to a stream); "
                    "save the arrays to a regular file with np.savez",
                    in->path, m->name);
  if (m->method != METHOD_STORED && m->method != METHOD_DEFLATED)
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: member '%s': compression method %u (supported: 0 stored, 8 deflated)",
                    in->path, m->name, m->method);
  return apply_zip64_extra(in, m->name, extra, extra_len, 1, &m->usize, &m->csize, st);
}

/* The member's uncompressed bytes in a malloc'ed buffer of m->usize bytes. */
static unsigned char *read_stored(io_input *in, const zip_member *m, nnc_status *st) {
  if (m->csize != m->usize) {
    nnc_fail(st, NNC_ERR_DATA, "%s: stored member '%s' has %llu bytes compressed but %llu not",
             in->path, m->name, (unsigned long long)m->csize, (unsigned long long)m->usize);
    return NULL;
  }
  int64_t left = io_input_left(in);
  if ((left >= 0 && (uint64_t)left < m->csize) || m->csize > SIZE_MAX) {
    nnc_fail(st, NNC_ERR_DATA, "%s: member '%s' truncated: %llu bytes announced, %lld left",
             in->path, m->name, (unsigned long long)m->csize, (long long)left);
    return NULL;
  }
  size_t got = 0;
  unsigned char *buf = io_input_read_alloc(in, (size_t)m->csize, &got, st);
  if (buf && got < m->csize) {
    free(buf);
    nnc_fail(st, NNC_ERR_DATA, "%s: member '%s' truncated: %llu bytes announced, %zu present",
             in->path, m->name, (unsigned long long)m->csize, got);
    return NULL;
  }
  return buf;
}

/* A .npy header is at most this long (npy.c: magic, version, 4-byte
 * length, 65535 bytes of dict): once this much of a member has inflated,
 * its header says how long the member must be. */
enum { NPY_HEAD_MAX = 12 + 65535 };

/* Raw deflate, fed at most m->csize compressed bytes and producing at most
 * m->usize bytes; memory grows with the output that actually arrives, and
 * stops once the .npy header inside (read as `label`) contradicts usize: a
 * small member that claims gigabytes of zeros behind a header of a few
 * bytes of data is refused before they are inflated. */
static unsigned char *read_deflated(io_input *in, const zip_member *m, const char *label,
                                    nnc_status *st) {
  if (m->usize > SIZE_MAX / 2) {
    nnc_fail(st, NNC_ERR_NOMEM, "%s: member '%s' is too large", in->path, m->name);
    return NULL;
  }
  unsigned char *chunk = malloc(ZIP_CHUNK);
  size_t cap = m->usize < FIRST_OUTPUT ? (size_t)m->usize : FIRST_OUTPUT;
  unsigned char *out = malloc(cap ? cap : 1);
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  int zinit = chunk && out ? inflateInit2(&zs, -15) : Z_MEM_ERROR; /* raw: no zlib wrapper */
  if (zinit != Z_OK) {
    free(chunk);
    free(out);
    nnc_fail(st, NNC_ERR_NOMEM, "%s: out of memory", in->path);
    return NULL;
  }
  uint64_t fed = 0;
  size_t done = 0;
  int rc = NNC_OK, head_checked = 0;
  unsigned char probe; /* output room once usize bytes arrived: anything more is an error */
  for (;;) {
    if (zs.avail_in == 0 && fed < m->csize) {
      size_t want = m->csize - fed < ZIP_CHUNK ? (size_t)(m->csize - fed) : ZIP_CHUNK, got = 0;
      if ((rc = io_input_read(in, chunk, want, &got, st))) break;
      if (got < want) {
        rc = nnc_fail(st, NNC_ERR_DATA, "%s: member '%s' truncated: %llu bytes announced", in->path,
                      m->name, (unsigned long long)m->csize);
        break;
      }
      fed += got;
      zs.next_in = chunk;
      zs.avail_in = (uInt)got;
    }
    int full = done == cap;
    if (full && cap < m->usize) { /* grow toward usize as the output arrives */
      size_t bigger = cap > m->usize / 2 ? (size_t)m->usize : cap * 2;
      unsigned char *grown = realloc(out, bigger);
      if (!grown) {
        rc = nnc_fail(st, NNC_ERR_NOMEM, "%s: out of memory inflating member '%s'", in->path,
                      m->name);
        break;
      }
      out = grown;
      cap = bigger;
      full = 0;
    }
    zs.next_out = full ? &probe : out + done;
    zs.avail_out = full ? 1 : (uInt)(cap - done < 0x40000000u ? cap - done : 0x40000000u);
    size_t room = zs.avail_out, in_before = zs.avail_in;
    int z = inflate(&zs, Z_NO_FLUSH);
    size_t produced = room - zs.avail_out;
    if (full && produced) {
      rc = nnc_fail(st, NNC_ERR_DATA, "%s: member '%s' inflates past its %llu announced bytes",
                    in->path, m->name, (unsigned long long)m->usize);
      break;
    }
    if (!full) done += produced;
    if (!head_checked && done >= NPY_HEAD_MAX && done < m->usize) {
      head_checked = 1;
      uint64_t total = 0;
      if ((rc = npy_size_from_head(out, done, label, &total, st))) break;
      if (total != m->usize) {
        rc = nnc_fail(st, NNC_ERR_DATA,
                      "%s: the .npy header announces %llu bytes, the zip entry %llu", label,
                      (unsigned long long)total, (unsigned long long)m->usize);
        break;
      }
    }
    if (z == Z_STREAM_END) break;
    if (z != Z_OK && z != Z_BUF_ERROR) {
      rc = nnc_fail(st, NNC_ERR_DATA, "%s: member '%s': corrupt deflate data (%s)", in->path,
                    m->name, zs.msg ? zs.msg : "zlib error");
      break;
    }
    if (!produced && zs.avail_in == in_before && fed == m->csize) {
      rc = nnc_fail(st, NNC_ERR_DATA, "%s: member '%s': the deflate stream is cut short", in->path,
                    m->name);
      break;
    }
  }
  if (!rc && (zs.avail_in != 0 || fed != m->csize))
    rc = nnc_fail(st, NNC_ERR_DATA,
                  "%s: member '%s': the deflate stream ends before its %llu compressed bytes",
                  in->path, m->name, (unsigned long long)m->csize);
  if (!rc && done != m->usize)
    rc = nnc_fail(st, NNC_ERR_DATA, "%s: member '%s' inflates to %zu bytes, %llu announced",
                  in->path, m->name, done, (unsigned long long)m->usize);
  inflateEnd(&zs);
  free(chunk);
  if (rc) {
    free(out);
    return NULL;
  }
  return out;
}

/* Append a (taking its data) under name; names must be new. */
static int set_take(nnc_tensor_set *set, const char *name, nnc_array *a, nnc_status *st) {
  nnc_named_array *items = nnc_realloc_array(set->items, (size_t)set->n + 1, sizeof *items, st);
  if (!items) return st ? (int)st->code : NNC_ERR_NOMEM;
  set->items = items;
  nnc_named_array *item = &items[set->n++];
  memset(item, 0, sizeof *item);
  nnc_strlcpy(item->name, name, sizeof item->name); /* callers check the length */
  item->array = *a;
  a->data = NULL;
  return NNC_OK;
}

/* One member: data, CRC, the .npy inside; appended to out. */
static int read_member(io_input *in, const zip_member *m, nnc_tensor_set *out, nnc_status *st) {
  size_t len = strlen(m->name);
  if (len < 4 || strcmp(m->name + len - 4, ".npy") != 0)
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: member '%s' is not a .npy file (its name must end in .npy)", in->path,
                    m->name);
  char name[sizeof m->name];
  snprintf(name, sizeof name, "%.*s", (int)(len - 4), m->name);
  if (!*name || len - 4 >= sizeof out->items[0].name)
    return nnc_fail(st, NNC_ERR_DATA, "%s: member '%s': an array name must be 1..%zu bytes",
                    in->path, m->name, sizeof out->items[0].name - 1);
  if (nnc_tensor_set_find(out, name))
    return nnc_fail(st, NNC_ERR_DATA, "%s: member '%s' appears twice", in->path, m->name);
  char label[PATH_MAX + sizeof m->name + 32]; /* for messages only */
  snprintf(label, sizeof label, "%s (member '%s')", in->path, m->name);
  unsigned char *bytes =
      m->method == METHOD_STORED ? read_stored(in, m, st) : read_deflated(in, m, label, st);
  if (!bytes) return st ? (int)st->code : NNC_ERR_DATA;
  int rc = NNC_OK;
  uLong crc = crc32(0L, Z_NULL, 0);
  for (uint64_t at = 0; at < m->usize;) { /* crc32 takes at most uInt bytes at once */
    uInt part = m->usize - at < 0x40000000u ? (uInt)(m->usize - at) : 0x40000000u;
    crc = crc32(crc, bytes + at, part);
    at += part;
  }
  if (crc != m->crc)
    rc = nnc_fail(st, NNC_ERR_DATA, "%s: member '%s' is damaged (CRC-32 %08lx, expected %08x)",
                  in->path, m->name, (unsigned long)crc, m->crc);
  nnc_array a = {0};
  if (!rc) {
    io_input mem;
    io_input_open_memory(&mem, label, bytes, (size_t)m->usize);
    rc = nnc_npy_read_input(&mem, &a, st);
  }
  free(bytes);
  if (!rc) rc = set_take(out, name, &a, st);
  nnc_array_free(&a);
  return rc;
}

/* The central directory must list the members read, in order, with the
 * same CRC and sizes; then the end records and nothing after them. */
static int read_directory(io_input *in, uint32_t sig, const zip_member *members, int n,
                          nnc_status *st) {
  unsigned char h[64], extra[65536];
  char name[300];
  int listed = 0, rc;
  for (; sig == SIG_CENTRAL; listed++) {
    if ((rc = read_exact(in, h, 42, "the central directory", st))) return rc;
    uint64_t csize = le(h + 16, 4), usize = le(h + 20, 4);
    size_t name_len = (size_t)le(h + 24, 2), extra_len = (size_t)le(h + 26, 2),
           comment_len = (size_t)le(h + 28, 2);
    if ((rc = read_name_and_extra(in, name_len, extra_len, name, sizeof name, extra, st)))
      return rc;
    if ((rc = read_exact(in, extra, comment_len, "a member comment", st))) return rc;
    if (listed >= n || strcmp(name, members[listed].name) != 0)
      return nnc_fail(st, NNC_ERR_DATA,
                      "%s: the central directory lists '%s' where the archive holds %s%s%s",
                      in->path, name, listed < n ? "'" : "no more members",
                      listed < n ? members[listed].name : "", listed < n ? "'" : "");
    if ((rc = apply_zip64_extra(in, name, extra, extra_len, 0, &usize, &csize, st))) return rc;
    const zip_member *m = &members[listed];
    if ((uint32_t)le(h + 12, 4) != m->crc || csize != m->csize || usize != m->usize)
      return nnc_fail(st, NNC_ERR_DATA,
                      "%s: member '%s': the central directory and the local header disagree on "
                      "its CRC or sizes",
                      in->path, name);
    unsigned char s[4];
    if ((rc = read_exact(in, s, 4, "the central directory", st))) return rc;
    sig = (uint32_t)le(s, 4);
  }
  if (listed != n)
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: the central directory lists %d members, the archive has %d", in->path,
                    listed, n);
  if (sig == SIG_ZIP64_END) {
    if ((rc = read_exact(in, h, 8, "the ZIP64 end record", st))) return rc;
    uint64_t size = le(h, 8);
    if (size < 44 || size > sizeof extra)
      return nnc_fail(st, NNC_ERR_DATA, "%s: a ZIP64 end record of %llu bytes", in->path,
                      (unsigned long long)size);
    if ((rc = read_exact(in, extra, (size_t)size, "the ZIP64 end record", st))) return rc;
    if (le(extra + 20, 8) != (uint64_t)n)
      return nnc_fail(st, NNC_ERR_DATA, "%s: the ZIP64 end record counts %llu members, not %d",
                      in->path, (unsigned long long)le(extra + 20, 8), n);
    unsigned char s[4];
    if ((rc = read_exact(in, s, 4, "the ZIP64 end locator", st))) return rc;
    if (le(s, 4) != SIG_ZIP64_LOCATOR)
      return nnc_fail(st, NNC_ERR_DATA, "%s: no ZIP64 end locator after the ZIP64 end record",
                      in->path);
    if ((rc = read_exact(in, h, 16, "the ZIP64 end locator", st))) return rc;
    if ((rc = read_exact(in, s, 4, "the end record", st))) return rc;
    sig = (uint32_t)le(s, 4);
  }
  if (sig != SIG_END)
    return nnc_fail(st, NNC_ERR_DATA, "%s: unexpected record %08x where the end record belongs",
                    in->path, sig);
  if ((rc = read_exact(in, h, 18, "the end record", st))) return rc;
  uint64_t total = le(h + 6, 2);
  if (total != (uint64_t)n && total != 0xffff)
    return nnc_fail(st, NNC_ERR_DATA, "%s: the end record counts %llu members, not %d", in->path,
                    (unsigned long long)total, n);
  if ((rc = read_exact(in, extra, (size_t)le(h + 16, 2), "the archive comment", st))) return rc;
  int at_end = 0;
  if ((rc = io_input_at_end(in, &at_end, st))) return rc;
  if (!at_end)
    return nnc_fail(st, NNC_ERR_DATA, "%s: unexpected bytes after the end of the zip archive",
                    in->path);
  return NNC_OK;
}

int nnc_npz_read_input(io_input *in, nnc_tensor_set *out, nnc_status *st) {
  memset(out, 0, sizeof *out);
  zip_member *members = NULL;
  int n = 0, rc = NNC_OK;
  uint32_t sig = 0;
  for (;;) {
    unsigned char s[4];
    if ((rc = read_exact(in, s, 4, "a record signature", st))) break;
    sig = (uint32_t)le(s, 4);
    if (sig != SIG_LOCAL) break;
    zip_member *more = nnc_realloc_array(members, (size_t)n + 1, sizeof *members, st);
    if (!more) {
      rc = st ? (int)st->code : NNC_ERR_NOMEM;
      break;
    }
    members = more;
    if ((rc = read_local_header(in, &members[n], st))) break;
    if ((rc = read_member(in, &members[n++], out, st))) break;
  }
  if (!rc && n == 0 && sig != SIG_END)
    rc =
        nnc_fail(st, NNC_ERR_DATA, "%s: not a .npz file (no zip signature at its start)", in->path);
  if (!rc) rc = read_directory(in, sig, members, n, st);
  free(members);
  if (rc) nnc_tensor_set_free(out);
  return rc;
}

int nnc_npz_read(const char *path, nnc_tensor_set *out, nnc_status *st) {
  memset(out, 0, sizeof *out);
  io_input in;
  int rc = io_input_open(&in, path, st);
  if (rc) return rc;
  rc = nnc_npz_read_input(&in, out, st);
  io_input_close(&in);
  return rc;
}

int nnc_data_read(const char *path, nnc_tensor_set *out, int *is_npz, nnc_status *st) {
  memset(out, 0, sizeof *out);
  *is_npz = 0;
  io_input in;
  int rc = io_input_open(&in, path, st);
  if (rc) return rc;
  unsigned char head[4];
  size_t got = 0;
  rc = io_input_peek(&in, head, sizeof head, &got, st);
  if (!rc && got == 4 && head[0] == 'P' && head[1] == 'K' &&
      ((head[2] == 3 && head[3] == 4) || (head[2] == 5 && head[3] == 6))) {
    *is_npz = 1;
    rc = nnc_npz_read_input(&in, out, st);
  } else if (!rc) {
    nnc_array a;
    rc = nnc_array_read_input(&in, &a, st);
    if (!rc) rc = set_take(out, "", &a, st);
    nnc_array_free(&a);
  }
  io_input_close(&in);
  return rc;
}

/* ---- writer ---- */

typedef struct byte_buf {
  unsigned char *p;
  size_t n, cap;
} byte_buf;

static int put(byte_buf *b, const void *src, size_t n, nnc_status *st) {
  if (b->cap - b->n < n) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->n < n) {
      if (cap > SIZE_MAX / 2) return nnc_fail(st, NNC_ERR_NOMEM, "out of memory for the .npz");
      cap *= 2;
    }
    unsigned char *p = realloc(b->p, cap);
    if (!p) return nnc_fail(st, NNC_ERR_NOMEM, "out of memory for the .npz");
    b->p = p;
    b->cap = cap;
  }
  if (n) memcpy(b->p + b->n, src, n);
  b->n += n;
  return NNC_OK;
}

static int put_le(byte_buf *b, uint64_t v, int n, nnc_status *st) {
  unsigned char bytes[8];
  for (int i = 0; i < n; i++) bytes[i] = (unsigned char)(v >> (8 * i));
  return put(b, bytes, (size_t)n, st);
}

/* What the central directory needs of a written member. */
typedef struct written {
  uint32_t crc;
  uint64_t size, offset;
  size_t name_len;
} written;

static uint32_t field32(uint64_t v) {
  return v >= U32_MAX_FIELD ? U32_MAX_FIELD : (uint32_t)v;
}

static int write_central(byte_buf *b, const char *name, const written *w, nnc_status *st) {
  /* ZIP64 values only for the fields that do not fit (as Python's zipfile) */
  int big_size = w->size >= U32_MAX_FIELD, big_offset = w->offset >= U32_MAX_FIELD;
  size_t extra = (big_size || big_offset) ? 4 + 16 * (size_t)big_size + 8 * (size_t)big_offset : 0;
  int rc = put_le(b, SIG_CENTRAL, 4, st);
  rc = rc ? rc : put_le(b, MADE_BY_UNIX | VERSION_ZIP64, 2, st); /* as the local header */
  rc = rc ? rc : put_le(b, VERSION_ZIP64, 2, st);
  rc = rc ? rc : put_le(b, 0, 2, st); /* flags */
  rc = rc ? rc : put_le(b, METHOD_STORED, 2, st);
  rc = rc ? rc : put_le(b, 0, 2, st); /* time */
  rc = rc ? rc : put_le(b, DOS_DATE_1980_01_01, 2, st);
  rc = rc ? rc : put_le(b, w->crc, 4, st);
  rc = rc ? rc : put_le(b, field32(w->size), 4, st);
  rc = rc ? rc : put_le(b, field32(w->size), 4, st);
  rc = rc ? rc : put_le(b, w->name_len, 2, st);
  rc = rc ? rc : put_le(b, extra, 2, st);
  rc = rc ? rc : put_le(b, 0, 2, st);           /* comment */
  rc = rc ? rc : put_le(b, 0, 2, st);           /* disk */
  rc = rc ? rc : put_le(b, 0, 2, st);           /* internal attributes */
  rc = rc ? rc : put_le(b, 0600u << 16, 4, st); /* rw------- as numpy's members */
  rc = rc ? rc : put_le(b, field32(w->offset), 4, st);
  rc = rc ? rc : put(b, name, w->name_len, st);
  if (!rc && extra) {
    rc = put_le(b, EXTRA_ZIP64, 2, st);
    rc = rc ? rc : put_le(b, extra - 4, 2, st);
    if (!rc && big_size) rc = put_le(b, w->size, 8, st);
    if (!rc && big_size) rc = put_le(b, w->size, 8, st);
    if (!rc && big_offset) rc = put_le(b, w->offset, 8, st);
  }
  return rc;
}

static int write_end(byte_buf *b, uint64_t n, uint64_t dir_offset, uint64_t dir_size,
                     nnc_status *st) {
  int rc = NNC_OK;
  int zip64 = n >= 0xffff || dir_offset >= U32_MAX_FIELD || dir_size >= U32_MAX_FIELD;
  if (zip64) {
    uint64_t at = b->n;
    rc = put_le(b, SIG_ZIP64_END, 4, st);
    rc = rc ? rc : put_le(b, 44, 8, st);
    rc = rc ? rc : put_le(b, VERSION_ZIP64, 2, st);
    rc = rc ? rc : put_le(b, VERSION_ZIP64, 2, st);
    rc = rc ? rc : put_le(b, 0, 4, st);
    rc = rc ? rc : put_le(b, 0, 4, st);
    rc = rc ? rc : put_le(b, n, 8, st);
    rc = rc ? rc : put_le(b, n, 8, st);
    rc = rc ? rc : put_le(b, dir_size, 8, st);
    rc = rc ? rc : put_le(b, dir_offset, 8, st);
    rc = rc ? rc : put_le(b, SIG_ZIP64_LOCATOR, 4, st);
    rc = rc ? rc : put_le(b, 0, 4, st);
    rc = rc ? rc : put_le(b, at, 8, st);
    rc = rc ? rc : put_le(b, 1, 4, st);
  }
  rc = rc ? rc : put_le(b, SIG_END, 4, st);
  rc = rc ? rc : put_le(b, 0, 2, st);
  rc = rc ? rc : put_le(b, 0, 2, st);
  rc = rc ? rc : put_le(b, n >= 0xffff ? 0xffff : n, 2, st);
  rc = rc ? rc : put_le(b, n >= 0xffff ? 0xffff : n, 2, st);
  rc = rc ? rc : put_le(b, field32(dir_size), 4, st);
  rc = rc ? rc : put_le(b, field32(dir_offset), 4, st);
  rc = rc ? rc : put_le(b, 0, 2, st);
  return rc;
}

int nnc_npz_write(const char *path, const nnc_tensor_set *set, nnc_status *st) {
  if (!set || set->n < 0 || (set->n > 0 && !set->items))
    return nnc_fail(st, NNC_ERR_ARG, "%s: no arrays to write", path);
  byte_buf b = {0};
  written *w = nnc_calloc(set->n ? (size_t)set->n : 1, sizeof *w, st);
  int rc = w ? NNC_OK : NNC_ERR_NOMEM;
  for (int i = 0; !rc && i < set->n; i++) {
    char name[sizeof set->items[0].name + 4];
    snprintf(name, sizeof name, "%s.npy", set->items[i].name);
    for (int k = 0; !rc && k < i; k++)
      if (!strcmp(set->items[k].name, set->items[i].name))
        rc = nnc_fail(st, NNC_ERR_ARG, "%s: two arrays named '%s'", path, set->items[i].name);
    if (!rc && !set->items[i].name[0])
      rc = nnc_fail(st, NNC_ERR_ARG, "%s: an array without a name", path);
    unsigned char *npy = NULL;
    size_t len = 0;
    if (!rc) rc = nnc_npy_encode(path, &set->items[i].array, &npy, &len, st);
    if (rc) break;
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t at = 0; at < len;) {
      uInt part = len - at < 0x40000000u ? (uInt)(len - at) : 0x40000000u;
      crc = crc32(crc, npy + at, part);
      at += part;
    }
    w[i] = (written){.crc = (uint32_t)crc, .size = len, .offset = b.n, .name_len = strlen(name)};
    /* the local header as numpy's force_zip64 writes it (Python's zipfile):
     * version 4.5, 32-bit sizes 0xFFFFFFFF, both sizes in the ZIP64 extra */
    rc = put_le(&b, SIG_LOCAL, 4, st);
    rc = rc ? rc : put_le(&b, VERSION_ZIP64, 2, st);
    rc = rc ? rc : put_le(&b, 0, 2, st);
    rc = rc ? rc : put_le(&b, METHOD_STORED, 2, st);
    rc = rc ? rc : put_le(&b, 0, 2, st);
    rc = rc ? rc : put_le(&b, DOS_DATE_1980_01_01, 2, st);
    rc = rc ? rc : put_le(&b, w[i].crc, 4, st);
    rc = rc ? rc : put_le(&b, U32_MAX_FIELD, 4, st);
    rc = rc ? rc : put_le(&b, U32_MAX_FIELD, 4, st);
    rc = rc ? rc : put_le(&b, w[i].name_len, 2, st);
    rc = rc ? rc : put_le(&b, 20, 2, st);
    rc = rc ? rc : put(&b, name, w[i].name_len, st);
    rc = rc ? rc : put_le(&b, EXTRA_ZIP64, 2, st);
    rc = rc ? rc : put_le(&b, 16, 2, st);
    rc = rc ? rc : put_le(&b, len, 8, st);
    rc = rc ? rc : put_le(&b, len, 8, st);
    rc = rc ? rc : put(&b, npy, len, st);
    free(npy);
  }
  uint64_t dir_offset = b.n;
  for (int i = 0; !rc && i < set->n; i++) {
    char name[sizeof set->items[0].name + 4];
    snprintf(name, sizeof name, "%s.npy", set->items[i].name);
    rc = write_central(&b, name, &w[i], st);
  }
  if (!rc) rc = write_end(&b, (uint64_t)set->n, dir_offset, b.n - dir_offset, st);
  if (!rc) rc = nnc_write_file_atomic(path, b.p, b.n, st);
  free(b.p);
  free(w);
  return rc;
}
