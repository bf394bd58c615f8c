/* Keras 3 .keras archives (docs/formats.md "## .keras"): a zip of
 * config.json, metadata.json and model.weights.h5. The archive is read
 * whole (a .keras is seekable: a regular file), its members found through
 * the central directory, stored or deflated (zlib), each checked against
 * its CRC-32. The weights file is opened from memory by HDF5's core driver
 * and mapped to the config by h5_keras3.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/base.h"
#include "runtime/io/h5_util.h"
#include "runtime/io/model_file.h"

int nnc_keras3_weights_read(hid_t f, const char *label, const char *config_json,
                            const char *config_label, nnc_tensor_set *out, nnc_status *st);
int nnc_keras3_optimizer_read(hid_t f, const char *label, nnc_tensor_set *out, nnc_status *st);

#define KERAS_ZIP_MAX_BYTES ((size_t)4 << 30)

static uint64_t le(const unsigned char *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

/* The member's bytes (malloc'd, NUL-terminated) or NULL: st says why, or
 * *missing = 1 when there is no such member. */
/* Whether one of the `left` central directory entries from offset p on is
 * named want. */
static int later_member_named(const unsigned char *z, size_t eocd, size_t p, uint64_t left,
                              const char *want) {
  for (; left > 0 && p + 46 <= eocd && le(z + p, 4) == 0x02014b50; left--) {
    size_t nlen = (size_t)le(z + p + 28, 2);
    if (p + 46 + nlen > eocd) return 0;
    if (nlen == strlen(want) && !memcmp(z + p + 46, want, nlen)) return 1;
    p += 46 + nlen + (size_t)le(z + p + 30, 2) + (size_t)le(z + p + 32, 2);
  }
  return 0;
}

static unsigned char *zip_member(const char *path, const unsigned char *z, size_t len,
                                 const char *want, size_t *out_len, int *missing, nnc_status *st) {
  *missing = 0;
  size_t eocd = SIZE_MAX;
  for (size_t i = len >= 22 ? len - 22 : SIZE_MAX; i != SIZE_MAX && len - i <= 22 + 65535; i--) {
    if (le(z + i, 4) == 0x06054b50) {
      eocd = i;
      break;
    }
    if (i == 0) break;
  }
  if (eocd == SIZE_MAX) {
    nnc_fail(st, NNC_ERR_DATA, "%s: no zip end-of-central-directory record (truncated?)", path);
    return NULL;
  }
  uint64_t n = le(z + eocd + 10, 2), dir_size = le(z + eocd + 12, 4), dir = le(z + eocd + 16, 4);
  if (dir == 0xffffffffu || n == 0xffff) {
    nnc_fail(st, NNC_ERR_DATA, "%s: a ZIP64 archive (a .keras is never that large)", path);
    return NULL;
  }
  if (dir + dir_size > eocd) {
    nnc_fail(st, NNC_ERR_DATA, "%s: the zip central directory lies outside the file (truncated?)",
             path);
    return NULL;
  }
  size_t p = (size_t)dir;
  for (uint64_t k = 0; k < n; k++) {
    if (p + 46 > eocd || le(z + p, 4) != 0x02014b50) {
      nnc_fail(st, NNC_ERR_DATA, "%s: zip central directory entry %llu is damaged", path,
               (unsigned long long)k);
      return NULL;
    }
    size_t nlen = (size_t)le(z + p + 28, 2), xlen = (size_t)le(z + p + 30, 2),
           clen = (size_t)le(z + p + 32, 2);
    if (p + 46 + nlen > eocd) break;
    if (nlen == strlen(want) && !memcmp(z + p + 46, want, nlen) &&
        later_member_named(z, eocd, p + 46 + nlen + xlen + clen, n - k - 1, want)) {
      /* Python's zipfile (Keras) takes the last of two, a C reader the first */
      nnc_fail(st, NNC_ERR_DATA, "%s: member %s appears twice", path, want);
      return NULL;
    }
    if (nlen == strlen(want) && !memcmp(z + p + 46, want, nlen)) {
      unsigned method = (unsigned)le(z + p + 10, 2), flags = (unsigned)le(z + p + 8, 2);
      uint32_t crc = (uint32_t)le(z + p + 16, 4);
      uint64_t csize = le(z + p + 20, 4), usize = le(z + p + 24, 4), off = le(z + p + 42, 4);
      if (flags & 1) {
        nnc_fail(st, NNC_ERR_DATA, "%s: member %s is encrypted", path, want);
        return NULL;
      }
      if (off + 30 > len || le(z + off, 4) != 0x04034b50) {
        nnc_fail(st, NNC_ERR_DATA, "%s: member %s: no local header at offset %llu (truncated?)",
                 path, want, (unsigned long long)off);
        return NULL;
      }
      uint64_t data = off + 30 + le(z + off + 26, 2) + le(z + off + 28, 2);
      if (data + csize > len || (method != 0 && method != 8) || (method == 0 && csize != usize)) {
        nnc_fail(st, NNC_ERR_DATA,
                 method != 0 && method != 8
                     ? "%s: member %s: compression method %u (stored and deflated are read)"
                     : "%s: member %s: its data runs past the end of the file (truncated?)",
                 path, want, method);
        return NULL;
      }
      /* weights compress little: a member that inflates past 100x its
       * compressed size (plus 16 MiB) is refused before memory is taken */
      if (usize > csize * 100 + (16u << 20)) {
        nnc_fail(st, NNC_ERR_DATA,
                 "%s: member %s: declares %llu bytes from %llu compressed (over 100x: refused)",
                 path, want, (unsigned long long)usize, (unsigned long long)csize);
        return NULL;
      }
      unsigned char *out = nnc_calloc((size_t)usize + 1, 1, st);
      if (!out) return NULL;
      if (method == 0) {
        memcpy(out, z + data, (size_t)usize);
      } else {
        z_stream s;
        memset(&s, 0, sizeof s);
        int ok = inflateInit2(&s, -MAX_WBITS) == Z_OK;
        s.next_in = (unsigned char *)(z + data);
        s.avail_in = (uInt)csize;
        s.next_out = out;
        s.avail_out = (uInt)usize;
        ok = ok && inflate(&s, Z_FINISH) == Z_STREAM_END && s.total_out == usize;
        inflateEnd(&s);
        if (!ok) {
          free(out);
          nnc_fail(st, NNC_ERR_DATA, "%s: member %s: its deflated data is damaged", path, want);
          return NULL;
        }
      }
      if ((uint32_t)crc32(0L, out, (uInt)usize) != crc) {
        free(out);
        nnc_fail(st, NNC_ERR_DATA, "%s: member %s: CRC-32 mismatch (damaged file)", path, want);
        return NULL;
      }
      *out_len = (size_t)usize;
      return out;
    }
    p += 46 + nlen + xlen + clen;
  }
  *missing = 1;
  nnc_fail(st, NNC_ERR_DATA,
           "%s: no member %s (a .keras archive holds config.json, metadata.json and "
           "model.weights.h5)",
           path, want);
  return NULL;
}

int nnc_keras_zip_read(const char *path, nnc_model_file *out, nnc_status *st) {
  memset(out, 0, sizeof *out);
  out->format = NNC_FORMAT_KERAS_ZIP;
  size_t len, cfg_len, h5_len;
  int missing;
  unsigned char *z = (unsigned char *)nnc_read_file_capped(path, KERAS_ZIP_MAX_BYTES, &len, st);
  if (!z) return st->code;
  unsigned char *cfg = zip_member(path, z, len, "config.json", &cfg_len, &missing, st);
  unsigned char *h5 =
      cfg ? zip_member(path, z, len, "model.weights.h5", &h5_len, &missing, st) : NULL;
  free(z);
  int rc = h5 ? NNC_OK : st->code;
  /* the config is read as a C string: a NUL inside would hide what follows
   * it (Python's json, which Keras uses, refuses such a file) */
  const unsigned char *nul = rc ? NULL : memchr(cfg, '\0', cfg_len);
  if (nul)
    rc = nnc_fail(st, NNC_ERR_DATA, "%s: config.json holds a NUL byte (at %zu of %zu): not JSON",
                  path, (size_t)(nul - cfg), cfg_len);
  if (!rc) {
    char label[1200], cfg_label[1200];
    snprintf(label, sizeof label, "%s: model.weights.h5", path);
    snprintf(cfg_label, sizeof cfg_label, "%s: config.json", path);
    hid_t f = h5u_open_image(h5, h5_len, label, st);
    if (f < 0) rc = st->code;
    if (!rc)
      rc = nnc_keras3_weights_read(f, label, (const char *)cfg, cfg_label, &out->weights, st);
    if (!rc) rc = nnc_keras3_optimizer_read(f, label, &out->optimizer, st);
    h5u_close(f);
  }
  free(h5);
  if (rc) {
    free(cfg);
    nnc_model_file_free(out);
    return rc;
  }
  out->spec_json = (char *)cfg;
  return NNC_OK;
}
