/* safetensors reader and writer.
 *
 * Layout: N as an 8-byte little-endian integer, N bytes of JSON
 *   {"__metadata__": {...}, "name": {"dtype": "F32", "shape": [2, 3],
 *    "data_offsets": [begin, end]}, ...}
 * (padded with spaces), then the data section; offsets are relative to its
 * start and the data is little-endian, C order. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "runtime/io/bytes.h"
#include "runtime/io/input.h"
#include "runtime/io/io.h"

/* The reference parser's limit (huggingface safetensors, MAX_HEADER_SIZE). */
#define SAFETENSORS_MAX_HEADER ((uint64_t)100000000)

/* Integers in the header must survive a round trip through a double. */
#define JSON_MAX_EXACT_INT 9007199254740992.0 /* 2^53 */

static const char metadata_key[] = "__metadata__";

static const struct {
  const char *name;
  nnc_dtype dtype;
} dtype_names[] = {
    {"F32", NNC_F32}, {"F64", NNC_F64}, {"I32", NNC_I32}, {"I64", NNC_I64}, {"U8", NNC_U8},
    {"I8", NNC_I8},   {"I16", NNC_I16}, {"U16", NNC_U16}, {"U32", NNC_U32}, {"U64", NNC_U64},
};

static int dtype_from_name(const char *name, nnc_dtype *out) {
  for (size_t i = 0; i < sizeof dtype_names / sizeof dtype_names[0]; i++)
    if (strcmp(name, dtype_names[i].name) == 0) {
      *out = dtype_names[i].dtype;
      return 1;
    }
  return 0;
}

static const char *name_from_dtype(nnc_dtype t) {
  for (size_t i = 0; i < sizeof dtype_names / sizeof dtype_names[0]; i++)
    if (dtype_names[i].dtype == t) return dtype_names[i].name;
  return NULL;
}

/* A JSON number that is a non-negative integer small enough to be exact. */
static int json_to_count(const cJSON *item, int64_t *out) {
  if (!cJSON_IsNumber(item)) return 0;
  double v = item->valuedouble;
  if (!(v >= 0 && v <= JSON_MAX_EXACT_INT) || v != floor(v)) return 0;
  *out = (int64_t)v;
  return 1;
}

/* ---- reader ---- */

/* One tensor of the header, checked on its own; data is filled in last. */
typedef struct header_entry {
  const char *name;
  int64_t begin, end;
  nnc_array array;
} header_entry;

/* A header entry: dtype, shape and data_offsets, and their agreement. */
static int parse_entry(const char *path, const cJSON *entry, header_entry *out, nnc_status *st) {
  const char *name = entry->string;
  out->name = name;
  if (strlen(name) == 0 || strlen(name) >= sizeof((nnc_named_array *)0)->name)
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: a tensor name is empty or longer than %zu bytes "
                    "(starts '%.64s')",
                    path, sizeof((nnc_named_array *)0)->name - 1, name);
  if (!cJSON_IsObject(entry))
    return nnc_fail(st, NNC_ERR_DATA, "%s: tensor '%s': header entry is not an object", path, name);

  const cJSON *dtype_json = cJSON_GetObjectItemCaseSensitive(entry, "dtype");
  const cJSON *shape_json = cJSON_GetObjectItemCaseSensitive(entry, "shape");
  const cJSON *offsets_json = cJSON_GetObjectItemCaseSensitive(entry, "data_offsets");
  if (!cJSON_IsString(dtype_json))
    return nnc_fail(st, NNC_ERR_DATA, "%s: tensor '%s': missing string 'dtype'", path, name);
  nnc_array *a = &out->array;
  memset(a, 0, sizeof *a);
  if (!dtype_from_name(dtype_json->valuestring, &a->dtype))
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: tensor '%s': unsupported dtype '%s' (nnc reads F32 "
                    "F64 I8 I16 I32 I64 U8 U16 U32 U64)",
                    path, name, dtype_json->valuestring);

  if (!cJSON_IsArray(shape_json))
    return nnc_fail(st, NNC_ERR_DATA, "%s: tensor '%s': missing array 'shape'", path, name);
  int rank = cJSON_GetArraySize(shape_json);
  if (rank > NNC_MAX_RANK)
    return nnc_fail(st, NNC_ERR_DATA, "%s: tensor '%s': rank %d exceeds the maximum of %d", path,
                    name, rank, NNC_MAX_RANK);
  a->rank = rank;
  const cJSON *dim;
  int axis = 0;
  cJSON_ArrayForEach(dim, shape_json) {
    if (!json_to_count(dim, &a->shape[axis++]))
      return nnc_fail(st, NNC_ERR_DATA,
                      "%s: tensor '%s': 'shape' must hold non-negative "
                      "integers",
                      path, name);
  }

  int64_t begin, end;
  if (!cJSON_IsArray(offsets_json) || cJSON_GetArraySize(offsets_json) != 2 ||
      !json_to_count(cJSON_GetArrayItem(offsets_json, 0), &begin) ||
      !json_to_count(cJSON_GetArrayItem(offsets_json, 1), &end))
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: tensor '%s': 'data_offsets' must be [begin, end] with "
                    "non-negative integers",
                    path, name);
  if (begin > end)
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: tensor '%s': data_offsets [%lld, %lld] end before they begin", path, name,
                    (long long)begin, (long long)end);
  int64_t count = nnc_array_count(a);
  size_t elem_size = nnc_dtype_size(a->dtype);
  if (count < 0 || (uint64_t)count > (uint64_t)(end - begin) / elem_size ||
      (uint64_t)count * elem_size != (uint64_t)(end - begin))
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: tensor '%s': data_offsets span %lld bytes but the "
                    "shape and dtype need a different size",
                    path, name, (long long)(end - begin));
  out->begin = begin;
  out->end = end;
  return NNC_OK;
}

/* __metadata__ is a map of strings to strings (or null), as the reference reads it. */
static int check_metadata(const char *path, const cJSON *meta, nnc_status *st) {
  if (cJSON_IsNull(meta)) return NNC_OK;
  int ok = cJSON_IsObject(meta);
  const cJSON *item;
  if (ok) cJSON_ArrayForEach(item, meta) ok &= cJSON_IsString(item);
  return ok ? NNC_OK
            : nnc_fail(st, NNC_ERR_DATA, "%s: '%s' must map names to strings", path, metadata_key);
}

static int by_offsets(const void *pa, const void *pb) {
  const header_entry *a = *(const header_entry *const *)pa, *b = *(const header_entry *const *)pb;
  if (a->begin != b->begin) return a->begin < b->begin ? -1 : 1;
  if (a->end != b->end) return a->end < b->end ? -1 : 1;
  return 0;
}

/* Sorted by offsets, the tensors must tile [0, data_len) with no overlap and
 * no gap (Metadata::validate); *data_len is where the last one ends. */
static int check_tiling(const char *path, header_entry *entries, int n, uint64_t *data_len,
                        nnc_status *st) {
  header_entry **sorted = nnc_calloc(n ? (size_t)n : 1, sizeof *sorted, st);
  if (!sorted) return st ? (int)st->code : NNC_ERR_NOMEM;
  for (int i = 0; i < n; i++) sorted[i] = &entries[i];
  qsort(sorted, (size_t)n, sizeof *sorted, by_offsets);
  int64_t covered = 0;
  int rc = NNC_OK;
  for (int i = 0; i < n && !rc; i++) {
    const header_entry *e = sorted[i];
    if (e->begin < covered)
      rc = nnc_fail(st, NNC_ERR_DATA,
                    "%s: tensor '%s': data_offsets [%lld, %lld] overlap those of tensor '%s'", path,
                    e->name, (long long)e->begin, (long long)e->end, sorted[i - 1]->name);
    else if (e->begin > covered)
      rc = nnc_fail(st, NNC_ERR_DATA,
                    "%s: tensor '%s': data_offsets [%lld, %lld] leave the bytes [%lld, %lld) of "
                    "the data section to no tensor",
                    path, e->name, (long long)e->begin, (long long)e->end, (long long)covered,
                    (long long)e->begin);
    covered = e->end;
  }
  if (!rc) *data_len = (uint64_t)covered;
  free(sorted);
  return rc;
}

/* Every header entry checked, in header order; *n_out of them are tensors. */
static int parse_header(const char *path, const cJSON *header, header_entry **out, int *n_out,
                        nnc_status *st) {
  int n = cJSON_GetArraySize(header), tensors = 0;
  header_entry *entries = nnc_calloc(n ? (size_t)n : 1, sizeof *entries, st);
  if (!entries) return st ? (int)st->code : NNC_ERR_NOMEM;
  int rc = NNC_OK;
  const cJSON *item;
  cJSON_ArrayForEach(item, header) {
    /* JSON leaves duplicate keys to the reader; one per name keeps the intent clear. */
    for (const cJSON *prev = header->child; prev != item && !rc; prev = prev->next)
      if (strcmp(prev->string, item->string) == 0)
        rc = nnc_fail(st, NNC_ERR_DATA, "%s: tensor '%s' appears twice in the header", path,
                      item->string);
    if (!rc && strcmp(item->string, metadata_key) == 0)
      rc = check_metadata(path, item, st); /* free-form strings; unused */
    else if (!rc)
      rc = parse_entry(path, item, &entries[tensors++], st);
    if (rc) break;
  }
  if (rc) {
    free(entries);
    return rc;
  }
  *out = entries;
  *n_out = tensors;
  return NNC_OK;
}

/* The header bytes as text: the reference parser requires UTF-8. */
static int is_utf8(const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n;) {
    unsigned c = p[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > n) return 0;
    uint32_t cp = len == 1 ? c : c & (0x7f >> len);
    for (size_t k = 1; k < len; k++) {
      if ((p[i + k] & 0xc0) != 0x80) return 0;
      cp = cp << 6 | (p[i + k] & 0x3f);
    }
    /* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[len] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return 0;
    i += len;
  }
  return 1;
}

/* What cJSON hides once it has parsed the header, checked on its text (valid
 * JSON by then). The reference parser reads shape and data_offsets as Rust
 * usize, so it refuses 1.0, 1e0, -0, 01 and 4.0000000000000001, all of which
 * cJSON turns into an exact integer double. cJSON also cuts a string at a
 * NUL (escaped or raw), so "w\u0000evil" would load as "w" while the
 * reference sees another name; serde refuses raw control characters too. */
typedef struct text_span {
  const char *p;
  int n;
} text_span;

static int check_header_text(const char *path, const char *json, size_t len, nnc_status *st) {
  if (json_text_has_nul_escape(json, len))
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: a string in the safetensors header holds an escaped NUL (\\u0000)", path);
  /* The last key seen in the top-level object (a tensor) and in an entry (a field). */
  text_span key[3] = {{"", 0}, {"", 0}, {"", 0}}, last = {"", 0};
  int depth = 0;
  for (size_t i = 0; i < len; i++) {
    char c = json[i];
    if (c == '"') {
      size_t start = ++i;
      for (; i < len && json[i] != '"'; i++) {
        if ((unsigned char)json[i] < 0x20)
          return nnc_fail(st, NNC_ERR_DATA,
                          "%s: a string in the safetensors header holds the control character "
                          "0x%02x (JSON requires it escaped)",
                          path, (unsigned)(unsigned char)json[i]);
        if (json[i] == '\\') i++;
      }
      last = (text_span){json + start, (int)(i - start)};
    } else if (c == ':') {
      if (depth == 1 || depth == 2) key[depth] = last;
    } else if (c == '{' || c == '[') {
      depth++;
      if (depth <= 2) key[depth] = (text_span){"", 0}; /* a new object has no key yet */
    } else if (c == '}' || c == ']') {
      depth--;
    } else if (c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9')) {
      size_t start = i;
      int plain = 1;
      while (i + 1 < len && json[i + 1] && strchr("+-.eE0123456789", json[i + 1])) i++;
      for (size_t k = start; k <= i; k++) plain &= json[k] >= '0' && json[k] <= '9';
      if (plain && json[start] == '0' && i > start) plain = 0; /* a leading zero */
      if (!plain) {
        /* Where: "tensor 'w': 'shape'", or less when the number sits higher up. */
        char where[192] = "the header";
        if (depth >= 2 && key[2].n)
          snprintf(where, sizeof where, "tensor '%.*s': '%.*s'", key[1].n, key[1].p, key[2].n,
                   key[2].p);
        else if (depth >= 1 && key[1].n)
          snprintf(where, sizeof where, "tensor '%.*s'", key[1].n, key[1].p);
        return nnc_fail(st, NNC_ERR_DATA,
                        "%s: %s holds the number %.*s; safetensors takes plain non-negative "
                        "integers (no sign, fraction, exponent or leading zero)",
                        path, where, (int)(i - start + 1), json + start);
      }
    }
  }
  return NNC_OK;
}

/* What a file that is not safetensors starts as, for the message: the
 * formats a user may hand nnc's weights options by mistake; NULL if none. */
static const char *known_other_format(const unsigned char p[8]) {
  if (!memcmp(p, "\x93NUMPY", 6)) return "a .npy array";
  if (!memcmp(p, "PK\x03\x04", 4)) return "a zip archive (.npz or .keras)";
  if (!memcmp(p, "\x89HDF\r\n\x1a\n", 8)) return "an HDF5 file";
  if (p[0] == 0x1f && p[1] == 0x8b) return "a gzip file";
  int i = 0;
  while (i < 7 && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r')) i++;
  if (p[i] == '{' || p[i] == '[') return "JSON text (a spec or model.json?)";
  return NULL;
}

/* The JSON header: an object, nothing but whitespace after it. */
static cJSON *read_header(io_input *in, nnc_status *st) {
  const char *path = in->path;
  unsigned char prefix[8];
  size_t got = 0;
  if (io_input_read(in, prefix, 8, &got, st)) return NULL;
  if (got < 8) {
    memset(prefix + got, 0, 8 - got);
    const char *other = got ? known_other_format(prefix) : NULL;
    nnc_fail(st, NNC_ERR_DATA, "%s: too short for a safetensors file (%zu bytes)%s%s", path, got,
             other ? ": it starts as " : "", other ? other : "");
    return NULL;
  }
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; i--) header_len = (header_len << 8) | prefix[i];
  int64_t left = io_input_left(in);
  const char *other = known_other_format(prefix);
  if (other &&
      (header_len > SAFETENSORS_MAX_HEADER || (left >= 0 && header_len > (uint64_t)left))) {
    nnc_fail(st, NNC_ERR_DATA,
             "%s: not a safetensors file: it starts as %s (weights are read from safetensors or "
             "Keras .h5 files)",
             path, other);
    return NULL;
  }
  if (header_len > SAFETENSORS_MAX_HEADER) {
    nnc_fail(st, NNC_ERR_DATA, "%s: safetensors header length %llu is over the limit of %llu bytes",
             path, (unsigned long long)header_len, (unsigned long long)SAFETENSORS_MAX_HEADER);
    return NULL;
  }
  if (left >= 0 && header_len > (uint64_t)left) {
    nnc_fail(st, NNC_ERR_DATA, "%s: safetensors header length %llu is larger than the file", path,
             (unsigned long long)header_len);
    return NULL;
  }
  char *json = io_input_read_alloc(in, (size_t)header_len, &got, st);
  if (!json) return NULL;
  cJSON *header = NULL;
  if (got < header_len)
    nnc_fail(st, NNC_ERR_DATA, "%s: safetensors header length %llu is larger than the file", path,
             (unsigned long long)header_len);
  else if (!is_utf8((const unsigned char *)json, got))
    nnc_fail(st, NNC_ERR_DATA, "%s: the safetensors header is not valid UTF-8", path);
  else {
    const char *parse_end = NULL;
    header = cJSON_ParseWithLengthOpts(json, (size_t)header_len, &parse_end, 0);
    int trailing_garbage = 0;
    if (header && parse_end)
      for (const char *p = parse_end; p < json + header_len; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') trailing_garbage = 1;
    if (!cJSON_IsObject(header) || trailing_garbage) {
      cJSON_Delete(header);
      header = NULL;
      nnc_fail(st, NNC_ERR_DATA, "%s: the safetensors header is not a JSON object", path);
    } else if (check_header_text(path, json, (size_t)header_len, st)) {
      cJSON_Delete(header);
      header = NULL;
    }
  }
  free(json);
  return header;
}

/* The data section: exactly data_len bytes, then the end of the file. */
static unsigned char *read_data(io_input *in, uint64_t data_len, const header_entry *entries, int n,
                                nnc_status *st) {
  const char *path = in->path;
  int64_t left = io_input_left(in);
  uint64_t present = left >= 0 ? (uint64_t)left : 0;
  unsigned char *data = NULL;
  if (left >= 0 && present > data_len) {
    nnc_fail(st, NNC_ERR_DATA,
             "%s: %llu unexpected bytes after the %llu-byte data section (the tensors' "
             "data_offsets must cover it exactly)",
             path, (unsigned long long)(present - data_len), (unsigned long long)data_len);
    return NULL;
  }
  if (left < 0 || present == data_len) {
    if (data_len > SIZE_MAX) {
      nnc_fail(st, NNC_ERR_NOMEM, "%s: the data section does not fit in memory", path);
      return NULL;
    }
    size_t got = 0;
    data = io_input_read_alloc(in, (size_t)data_len, &got, st);
    if (!data) return NULL;
    present = got;
  }
  if (present < data_len) {
    /* Name a tensor that reaches past the end (the last one by offsets). */
    const header_entry *last = NULL;
    for (int i = 0; i < n; i++)
      if (!last || entries[i].end > last->end) last = &entries[i];
    nnc_fail(st, NNC_ERR_DATA,
             "%s: tensor '%s': data_offsets [%lld, %lld] fall outside the %llu-byte data "
             "section",
             path, last->name, (long long)last->begin, (long long)last->end,
             (unsigned long long)present);
    free(data);
    return NULL;
  }
  int at_end = 1;
  if (io_input_at_end(in, &at_end, st)) {
    free(data);
    return NULL;
  }
  if (!at_end) {
    nnc_fail(st, NNC_ERR_DATA,
             "%s: unexpected bytes after the %llu-byte data section (the tensors' data_offsets "
             "must cover it exactly)",
             path, (unsigned long long)data_len);
    free(data);
    return NULL;
  }
  return data;
}

int nnc_safetensors_read(const char *path, nnc_tensor_set *out, nnc_status *st) {
  out->n = 0;
  out->items = NULL;
  io_input in;
  int rc = io_input_open(&in, path, st);
  if (rc) return rc;
  header_entry *entries = NULL;
  unsigned char *data = NULL;
  int n = 0;
  uint64_t data_len = 0;
  cJSON *header = read_header(&in, st);
  if (!header) rc = st ? (int)st->code : NNC_ERR_DATA;
  if (!rc) rc = parse_header(path, header, &entries, &n, st);
  if (!rc) rc = check_tiling(path, entries, n, &data_len, st);
  if (!rc && !(data = read_data(&in, data_len, entries, n, st)))
    rc = st ? (int)st->code : NNC_ERR_DATA;
  for (int i = 0; i < n && !rc; i++) {
    header_entry *e = &entries[i];
    e->array.data = data + e->begin; /* only read: tensor_set_add copies it */
    rc = nnc_tensor_set_add(out, e->name, &e->array, st);
    if (rc && st) nnc_fail_prefix(st, "%s", path);
    size_t elem_size = nnc_dtype_size(e->array.dtype);
    if (!rc && !io_host_is_little_endian() && elem_size > 1)
      io_swap_each_element(out->items[out->n - 1].array.data, (size_t)nnc_array_count(&e->array),
                           elem_size);
  }
  free(data);
  free(entries);
  cJSON_Delete(header);
  io_input_close(&in);
  if (rc) nnc_tensor_set_free(out);
  return rc;
}

/* ---- writer ---- */

/* cJSON reports allocation failure by returning NULL/false at each step. */
static int add_number(cJSON *array, int64_t v) {
  cJSON *n = cJSON_CreateNumber((double)v);
  return n && cJSON_AddItemToArray(array, n);
}

/* The header for set, data offsets assigned in set order; *data_bytes is the
 * total data size. NULL on error (st filled). */
static cJSON *build_header(const char *path, const nnc_tensor_set *set, uint64_t *data_bytes,
                           nnc_status *st) {
  cJSON *root = cJSON_CreateObject();
  cJSON *meta = root ? cJSON_AddObjectToObject(root, metadata_key) : NULL;
  if (!meta || !cJSON_AddStringToObject(meta, "format", "nnc")) goto nomem;
  uint64_t offset = 0;
  for (int i = 0; i < set->n; i++) {
    const nnc_named_array *item = &set->items[i];
    const nnc_array *a = &item->array;
    int64_t count = nnc_array_count(a);
    const char *dtype_name = count >= 0 ? name_from_dtype(a->dtype) : NULL;
    if (!dtype_name) {
      nnc_fail(st, NNC_ERR_ARG, "%s: tensor '%s': malformed array (rank, shape or dtype)", path,
               item->name);
      goto fail;
    }
    if (strcmp(item->name, metadata_key) == 0 || !item->name[0] ||
        cJSON_GetObjectItemCaseSensitive(root, item->name)) {
      nnc_fail(st, NNC_ERR_ARG, "%s: tensor name '%s' is empty, reserved or used twice", path,
               item->name);
      goto fail;
    }
    uint64_t bytes = (uint64_t)count * nnc_dtype_size(a->dtype);
    if ((uint64_t)count > JSON_MAX_EXACT_INT || offset + bytes > JSON_MAX_EXACT_INT) {
      nnc_fail(st, NNC_ERR_ARG, "%s: tensor '%s' is too large for a safetensors file", path,
               item->name);
      goto fail;
    }
    if (bytes && !a->data) {
      nnc_fail(st, NNC_ERR_ARG, "%s: tensor '%s' has no data", path, item->name);
      goto fail;
    }
    cJSON *entry = cJSON_AddObjectToObject(root, item->name);
    if (!entry || !cJSON_AddStringToObject(entry, "dtype", dtype_name)) goto nomem;
    cJSON *shape = cJSON_AddArrayToObject(entry, "shape");
    if (!shape) goto nomem;
    for (int d = 0; d < a->rank; d++) {
      if ((double)a->shape[d] > JSON_MAX_EXACT_INT) {
        nnc_fail(st, NNC_ERR_ARG, "%s: tensor '%s': a dimension is too large for JSON", path,
                 item->name);
        goto fail;
      }
      if (!add_number(shape, a->shape[d])) goto nomem;
    }
    cJSON *offsets = cJSON_AddArrayToObject(entry, "data_offsets");
    if (!offsets || !add_number(offsets, (int64_t)offset) ||
        !add_number(offsets, (int64_t)(offset + bytes)))
      goto nomem;
    offset += bytes;
  }
  *data_bytes = offset;
  return root;

nomem:
  nnc_fail(st, NNC_ERR_NOMEM, "%s: out of memory building the safetensors header", path);
fail:
  cJSON_Delete(root);
  return NULL;
}

int nnc_safetensors_write(const char *path, const nnc_tensor_set *set, nnc_status *st) {
  if (!set || (set->n > 0 && !set->items))
    return nnc_fail(st, NNC_ERR_ARG, "%s: no tensor set to write", path);
  uint64_t data_bytes = 0;
  cJSON *header = build_header(path, set, &data_bytes, st);
  if (!header) return st ? (int)st->code : NNC_ERR_ARG;
  char *json = cJSON_PrintUnformatted(header);
  cJSON_Delete(header);
  if (!json) return nnc_fail(st, NNC_ERR_NOMEM, "%s: out of memory printing the header", path);

  /* Spaces pad the header to a multiple of 8 so the data section starts aligned. */
  size_t json_len = strlen(json);
  size_t header_len = (json_len + 7) / 8 * 8;
  if (data_bytes > SIZE_MAX - 8 - header_len) {
    free(json);
    return nnc_fail(st, NNC_ERR_NOMEM, "%s: tensor set too large to write", path);
  }
  size_t total = 8 + header_len + (size_t)data_bytes;
  unsigned char *buf = nnc_calloc(total, 1, st);
  if (!buf) {
    free(json);
    return st ? (int)st->code : NNC_ERR_NOMEM;
  }
  for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)header_len >> (8 * i));
  memcpy(buf + 8, json, json_len);
  memset(buf + 8 + json_len, ' ', header_len - json_len);
  free(json);

  unsigned char *dst = buf + 8 + header_len;
  for (int i = 0; i < set->n; i++) {
    const nnc_array *a = &set->items[i].array;
    size_t count = (size_t)nnc_array_count(a), elem_size = nnc_dtype_size(a->dtype);
    if (count == 0) continue;
    memcpy(dst, a->data, count * elem_size);
    if (!io_host_is_little_endian() && elem_size > 1) io_swap_each_element(dst, count, elem_size);
    dst += count * elem_size;
  }
  int rc = nnc_write_file_atomic(path, buf, total, st);
  free(buf);
  return rc;
}
