/* safetensors reader and writer.
 *
 * Layout: N as an 8-byte little-endian integer, N bytes of JSON
 *   {"__metadata__": {...}, "name": {"dtype": "F32", "shape": [2, 3],
 *    "data_offsets": [begin, end]}, ...}
 * (padded with spaces), then the data section; offsets are relative to its
 * start and the data is little-endian, C order. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/base/base.h"
#include "runtime/io/bytes.h"
#include "runtime/io/io.h"

/* A sanity bound so a corrupt length cannot make us parse gigabytes of "JSON". */
#define SAFETENSORS_MAX_HEADER ((uint64_t)100 * 1024 * 1024)

/* Integers in the header must survive a round trip through a double. */
#define JSON_MAX_EXACT_INT 9007199254740992.0 /* 2^53 */

static const char metadata_key[] = "__metadata__";

static const struct {
  const char *name;
  nnc_dtype dtype;
} dtype_names[] = {
    {"F32", NNC_F32}, {"F64", NNC_F64}, {"I32", NNC_I32}, {"I64", NNC_I64}, {"U8", NNC_U8},
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

/* One header entry: check it against the data section and add a copy to out. */
static int read_entry(const char *path, const cJSON *entry, const unsigned char *data,
                      uint64_t data_len, nnc_tensor_set *out, nnc_status *st) {
  const char *name = entry->string;
  if (strlen(name) == 0 || strlen(name) >= sizeof out->items[0].name)
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: a tensor name is empty or longer than %zu bytes "
                    "(starts '%.64s')",
                    path, sizeof out->items[0].name - 1, name);
  if (nnc_tensor_set_find(out, name))
    return nnc_fail(st, NNC_ERR_DATA, "%s: tensor '%s' appears twice in the header", path, name);
  if (!cJSON_IsObject(entry))
    return nnc_fail(st, NNC_ERR_DATA, "%s: tensor '%s': header entry is not an object", path, name);

  const cJSON *dtype_json = cJSON_GetObjectItemCaseSensitive(entry, "dtype");
  const cJSON *shape_json = cJSON_GetObjectItemCaseSensitive(entry, "shape");
  const cJSON *offsets_json = cJSON_GetObjectItemCaseSensitive(entry, "data_offsets");
  if (!cJSON_IsString(dtype_json))
    return nnc_fail(st, NNC_ERR_DATA, "%s: tensor '%s': missing string 'dtype'", path, name);
  nnc_array a = {.rank = 0, .data = NULL};
  if (!dtype_from_name(dtype_json->valuestring, &a.dtype))
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: tensor '%s': unsupported dtype '%s' (nnc reads F32 "
                    "F64 I32 I64 U8)",
                    path, name, dtype_json->valuestring);

  if (!cJSON_IsArray(shape_json))
    return nnc_fail(st, NNC_ERR_DATA, "%s: tensor '%s': missing array 'shape'", path, name);
  int rank = cJSON_GetArraySize(shape_json);
  if (rank > NNC_MAX_RANK)
    return nnc_fail(st, NNC_ERR_DATA, "%s: tensor '%s': rank %d exceeds the maximum of %d", path,
                    name, rank, NNC_MAX_RANK);
  a.rank = rank;
  const cJSON *dim;
  int axis = 0;
  cJSON_ArrayForEach(dim, shape_json) {
    if (!json_to_count(dim, &a.shape[axis++]))
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
  if (begin > end || (uint64_t)end > data_len)
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: tensor '%s': data_offsets [%lld, %lld] fall outside "
                    "the %llu-byte data section",
                    path, name, (long long)begin, (long long)end, (unsigned long long)data_len);
  int64_t count = nnc_array_count(&a);
  size_t elem_size = nnc_dtype_size(a.dtype);
  if (count < 0 || (uint64_t)count > (uint64_t)(end - begin) / elem_size ||
      (uint64_t)count * elem_size != (uint64_t)(end - begin))
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: tensor '%s': data_offsets span %lld bytes but the "
                    "shape and dtype need a different size",
                    path, name, (long long)(end - begin));

  a.data = (void *)(data + begin); /* only read: tensor_set_add copies it */
  int rc = nnc_tensor_set_add(out, name, &a, st);
  if (rc) {
    if (st) nnc_fail_prefix(st, "%s", path);
    return rc;
  }
  if (!io_host_is_little_endian() && elem_size > 1)
    io_swap_each_element(out->items[out->n - 1].array.data, (size_t)count, elem_size);
  return NNC_OK;
}

int nnc_safetensors_read(const char *path, nnc_tensor_set *out, nnc_status *st) {
  out->n = 0;
  out->items = NULL;
  size_t len = 0;
  char *file = nnc_read_file(path, &len, st);
  if (!file) return st ? (int)st->code : NNC_ERR_IO;
  const unsigned char *bytes = (const unsigned char *)file;
  cJSON *header = NULL;
  int rc = NNC_OK;

  if (len < 8) {
    rc = nnc_fail(st, NNC_ERR_DATA, "%s: too short for a safetensors file (%zu bytes)", path, len);
    goto done;
  }
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; i--) header_len = (header_len << 8) | bytes[i];
  if (header_len > SAFETENSORS_MAX_HEADER || header_len > len - 8) {
    rc = nnc_fail(st, NNC_ERR_DATA,
                  "%s: safetensors header length %llu is larger than the file "
                  "or the %llu-byte limit",
                  path, (unsigned long long)header_len, (unsigned long long)SAFETENSORS_MAX_HEADER);
    goto done;
  }
  const char *json = file + 8;
  const char *parse_end = NULL;
  header = cJSON_ParseWithLengthOpts(json, (size_t)header_len, &parse_end, 0);
  int trailing_garbage = 0;
  if (header && parse_end)
    for (const char *p = parse_end; p < json + header_len; p++)
      if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') trailing_garbage = 1;
  if (!cJSON_IsObject(header) || trailing_garbage) {
    rc = nnc_fail(st, NNC_ERR_DATA, "%s: the safetensors header is not a JSON object", path);
    goto done;
  }

  const unsigned char *data = bytes + 8 + header_len;
  uint64_t data_len = len - 8 - header_len;
  const cJSON *entry;
  cJSON_ArrayForEach(entry, header) {
    if (strcmp(entry->string, metadata_key) == 0) continue; /* free-form strings; unused */
    rc = read_entry(path, entry, data, data_len, out, st);
    if (rc) break;
  }

done:
  cJSON_Delete(header);
  free(file);
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
