/* JSON helpers for compiler/spec: bounded path building, one-line errors
 * "<source>: <path>: expected X, got Y", and typed getters that never trust
 * the type of anything they are handed. */
#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/spec/spec_internal.h"
#include "base/base.h"

/* Bounded append, never cutting a UTF-8 character (path_store elides a path
 * that is too long for NNC_PATH_MAX; this buffer holds any path plus one key). */
static void append(char *dst, size_t size, size_t *len, const char *text) {
  while (*text && *len + 1 < size) dst[(*len)++] = *text++;
  if (*text) /* clipped: drop a trailing partial UTF-8 sequence */
    while (*len > 0 && ((unsigned char)*text & 0xc0) == 0x80) {
      text = &dst[--(*len)];
    }
  dst[*len] = '\0';
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no UTF-16 surrogates, nothing above U+10FFFF) with its code point,
 * or 0 when s does not start one. A NUL ends a sequence: it is no
 * continuation byte. */
static int utf8_sequence(const unsigned char *s, unsigned *cp_out) {
  unsigned c = s[0], cp, min;
  int n;
  if (c < 0x80) {
    *cp_out = c;
    return 1;
  }
  if ((c & 0xe0) == 0xc0)
    n = 1, cp = c & 0x1f, min = 0x80;
  else if ((c & 0xf0) == 0xe0)
    n = 2, cp = c & 0x0f, min = 0x800;
  else if ((c & 0xf8) == 0xf0)
    n = 3, cp = c & 0x07, min = 0x10000;
  else
    return 0;
  for (int i = 1; i <= n; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3fu);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  *cp_out = cp;
  return n + 1;
}

static int is_control(unsigned cp) {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/* Text for a one-line message: well-formed UTF-8 as is, control characters,
 * bytes that are not UTF-8 and '"' as '?'; at most max_chars characters and
 * never a character cut in two. Returns 1 when s was clipped. */
static int show_text(const char *s, size_t max_chars, char *out, size_t room) {
  const unsigned char *c = (const unsigned char *)s;
  size_t n = 0, chars = 0;
  while (*c && chars < max_chars) {
    unsigned cp;
    int len = utf8_sequence(c, &cp);
    int shown = len > 0 && !is_control(cp) && cp != '"';
    size_t need = shown ? (size_t)len : 1;
    if (n + need + 1 > room) break;
    if (shown)
      memcpy(out + n, c, need);
    else
      out[n] = '?';
    n += need;
    c += len > 0 ? len : 1;
    chars++;
  }
  if (room) out[n] = '\0';
  return *c != '\0';
}

static int is_identifier(const char *key) {
  if (!*key || !(isalpha((unsigned char)*key) || *key == '_')) return 0;
  for (; *key; key++)
    if (!(isalnum((unsigned char)*key) || *key == '_')) return 0;
  return 1;
}

/* dst = the path in full (up to 3 * NNC_PATH_MAX bytes) when it fits, else its
 * head, "...", and its tail: the end of a deep path (a layer nested 30 models
 * down) is the part that locates the error, so it is the part kept. */
#define PATH_HEAD 40
static void path_store(char *dst, const char *full, size_t len) {
  if (len < NNC_PATH_MAX) {
    memcpy(dst, full, len + 1);
    return;
  }
  size_t head = PATH_HEAD;
  while (head > 0 && ((unsigned char)full[head] & 0xc0) == 0x80) head--;
  const char *tail = full + len - (NNC_PATH_MAX - 1 - head - 3);
  while (((unsigned char)*tail & 0xc0) == 0x80) tail++; /* not inside a UTF-8 character */
  memcpy(dst, full, head);
  memcpy(dst + head, "...", 3);
  memcpy(dst + head + 3, tail, strlen(tail) + 1);
}

void spec_path_key(char *dst, const char *parent, const char *key) {
  char buf[3 * NNC_PATH_MAX];
  size_t len = 0;
  buf[0] = '\0';
  append(buf, sizeof buf, &len, parent);
  if (is_identifier(key)) {
    append(buf, sizeof buf, &len, ".");
    append(buf, sizeof buf, &len, key);
  } else {
    /* User-chosen keys (output names) may hold anything: keep them readable. */
    char shown[NNC_PATH_MAX];
    show_text(key, sizeof shown, shown, sizeof shown);
    append(buf, sizeof buf, &len, "[\"");
    append(buf, sizeof buf, &len, shown);
    append(buf, sizeof buf, &len, "\"]");
  }
  path_store(dst, buf, len);
}

void spec_path_index(char *dst, const char *parent, int index) {
  char buf[3 * NNC_PATH_MAX], num[24];
  size_t len = 0;
  buf[0] = '\0';
  append(buf, sizeof buf, &len, parent);
  snprintf(num, sizeof num, "[%d]", index);
  append(buf, sizeof buf, &len, num);
  path_store(dst, buf, len);
}

static int fail_v(const spec_ctx *ctx, const char *path, const char *fmt, va_list ap) {
  char what[768];
  vsnprintf(what, sizeof what, fmt, ap);
  return nnc_fail(ctx->st, NNC_ERR_SPEC, "%s: %s: %s", ctx->source, path, what);
}

int spec_fail(const spec_ctx *ctx, const char *path, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = fail_v(ctx, path, fmt, ap);
  va_end(ap);
  return rc;
}

int spec_fail_expected(const spec_ctx *ctx, const char *path, const cJSON *found,
                       const char *expected_fmt, ...) {
  char expected[1024], got[256]; /* the message (nnc_status, 1024) is the limit */
  va_list ap;
  va_start(ap, expected_fmt);
  vsnprintf(expected, sizeof expected, expected_fmt, ap);
  va_end(ap);
  spec_describe(found, got, sizeof got);
  return spec_fail(ctx, path, "expected %s, got %s", expected, got);
}

int spec_fail_unsupported(const spec_ctx *ctx, const char *path, const cJSON *found,
                          const char *what) {
  char got[256];
  spec_describe(found, got, sizeof got);
  return spec_fail(ctx, path, "%s is not supported yet, got %s", what, got);
}

/* Shortest of %.15g / %.17g that reads back as the same double. */
static void describe_number(double d, char *buf, size_t size) {
  if (!isfinite(d)) {
    snprintf(buf, size, "a number out of range");
    return;
  }
  char shortest[40];
  snprintf(shortest, sizeof shortest, "%.15g", d);
  if (strtod(shortest, NULL) != d) snprintf(shortest, sizeof shortest, "%.17g", d);
  snprintf(buf, size, "%s", shortest);
}

/* Quoted, clipped, with control characters hidden: messages stay one line. */
static void quote_clipped(const char *s, char *buf, size_t size) {
  enum { SHOWN = 48 }; /* characters */
  char text[SHOWN * 4 + 1];
  int clipped = show_text(s, SHOWN, text, sizeof text);
  snprintf(buf, size, "\"%s%s\"", text, clipped ? "..." : "");
}

void spec_describe(const cJSON *item, char *buf, size_t size) {
  if (size == 0) return;
  if (!item) {
    snprintf(buf, size, "nothing (the key is missing)");
  } else if (cJSON_IsNull(item)) {
    snprintf(buf, size, "null");
  } else if (cJSON_IsTrue(item)) {
    snprintf(buf, size, "true");
  } else if (cJSON_IsFalse(item)) {
    snprintf(buf, size, "false");
  } else if (cJSON_IsNumber(item)) {
    describe_number(item->valuedouble, buf, size);
  } else if (cJSON_IsString(item) && item->valuestring) {
    quote_clipped(item->valuestring, buf, size);
  } else if (cJSON_IsArray(item)) {
    int n = cJSON_GetArraySize(item);
    if (n == 0)
      snprintf(buf, size, "an empty list");
    else
      snprintf(buf, size, "a list of %d item%s", n, n == 1 ? "" : "s");
  } else if (cJSON_IsObject(item)) {
    const char *cls = spec_class_name(item);
    char quoted[208] = "";
    if (cls) quote_clipped(cls, quoted, sizeof quoted);
    snprintf(buf, size, "an object%s%s", cls ? " with class_name " : "", quoted);
  } else {
    snprintf(buf, size, "an unreadable value");
  }
}

int spec_normalize(const char *name, char *out, size_t size) {
  size_t n = 0;
  for (; *name; name++) {
    if (*name == '_') continue;
    if (n + 1 >= size) {
      if (size) out[0] = '\0';
      return 0;
    }
    out[n++] = (char)tolower((unsigned char)*name);
  }
  if (size) out[n] = '\0';
  return 1;
}

int spec_is_absent(const cJSON *item) {
  return item == NULL || cJSON_IsNull(item);
}

const cJSON *spec_child(const cJSON *obj, const char *key) {
  if (!cJSON_IsObject(obj)) return NULL;
  return cJSON_GetObjectItemCaseSensitive(obj, key);
}

const char *spec_class_name(const cJSON *obj) {
  const cJSON *cls = spec_child(obj, "class_name");
  return cJSON_IsString(cls) ? cls->valuestring : NULL;
}

int spec_require_object(const spec_ctx *ctx, const cJSON *obj, const char *path, const char *key,
                        const cJSON **out, char *path_out) {
  char child_path[NNC_PATH_MAX];
  spec_path_key(child_path, path, key);
  const cJSON *child = spec_child(obj, key);
  if (!cJSON_IsObject(child)) return spec_fail_expected(ctx, child_path, child, "an object");
  *out = child;
  if (path_out) memcpy(path_out, child_path, sizeof child_path);
  return NNC_OK;
}

int spec_get_bool(const spec_ctx *ctx, const cJSON *obj, const char *path, const char *key,
                  int dflt, int *out) {
  const cJSON *item = spec_child(obj, key);
  if (spec_is_absent(item)) {
    *out = dflt;
    return NNC_OK;
  }
  if (!cJSON_IsBool(item)) {
    char child_path[NNC_PATH_MAX];
    spec_path_key(child_path, path, key);
    return spec_fail_expected(ctx, child_path, item, "true or false");
  }
  *out = cJSON_IsTrue(item) ? 1 : 0;
  return NNC_OK;
}

int spec_number_value(const spec_ctx *ctx, const cJSON *item, const char *path,
                      const char *expected, double *out) {
  if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble))
    return spec_fail_expected(ctx, path, item, "%s", expected);
  *out = item->valuedouble;
  return NNC_OK;
}

int spec_float32_value(const spec_ctx *ctx, const cJSON *item, const char *path, double *out) {
  /* 1e300 is a finite double but inf as the float32 the kernels compute with */
  if (!cJSON_IsNumber(item) || !(fabs(item->valuedouble) <= FLT_MAX))
    return spec_fail_expected(ctx, path, item, SPEC_FLOAT32_RANGE);
  *out = item->valuedouble;
  return NNC_OK;
}

int spec_get_float32(const spec_ctx *ctx, const cJSON *obj, const char *path, const char *key,
                     double dflt, double *out) {
  const cJSON *item = spec_child(obj, key);
  if (spec_is_absent(item)) {
    *out = dflt;
    return NNC_OK;
  }
  char child_path[NNC_PATH_MAX];
  spec_path_key(child_path, path, key);
  return spec_float32_value(ctx, item, child_path, out);
}

int spec_get_number(const spec_ctx *ctx, const cJSON *obj, const char *path, const char *key,
                    double dflt, double *out) {
  const cJSON *item = spec_child(obj, key);
  if (spec_is_absent(item)) {
    *out = dflt;
    return NNC_OK;
  }
  char child_path[NNC_PATH_MAX];
  spec_path_key(child_path, path, key);
  return spec_number_value(ctx, item, child_path, "a number", out);
}

/* Integral and inside int64: +-2^63 is exactly representable as a double. */
static int is_int64(double d) {
  return isfinite(d) && d == floor(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0;
}

int spec_get_seed(const spec_ctx *ctx, const cJSON *obj, const char *path, const char *key,
                  int *has_out, int64_t *out) {
  const cJSON *item = spec_child(obj, key);
  *has_out = 0;
  *out = 0;
  if (spec_is_absent(item)) return NNC_OK;
  if (!cJSON_IsNumber(item) || !is_int64(item->valuedouble)) {
    char child_path[NNC_PATH_MAX];
    spec_path_key(child_path, path, key);
    return spec_fail_expected(ctx, child_path, item, "an integer seed or null");
  }
  *has_out = 1;
  *out = (int64_t)item->valuedouble;
  return NNC_OK;
}

int spec_require_null(const spec_ctx *ctx, const cJSON *obj, const char *path, const char *key,
                      const char *what) {
  const cJSON *item = spec_child(obj, key);
  if (spec_is_absent(item)) return NNC_OK;
  char child_path[NNC_PATH_MAX];
  spec_path_key(child_path, path, key);
  return spec_fail_unsupported(ctx, child_path, item, what);
}

/* 0: well-formed UTF-8 without control characters (C0, DEL, C1);
 * 1: not UTF-8; 2: a control character. */
static int check_name_text(const unsigned char *s) {
  while (*s) {
    unsigned cp;
    int n = utf8_sequence(s, &cp);
    if (n == 0) return 1;
    if (is_control(cp)) return 2;
    s += n;
  }
  return 0;
}

int spec_copy_name(const spec_ctx *ctx, const cJSON *item, const char *path, char *dst) {
  if (!cJSON_IsString(item) || !item->valuestring || !item->valuestring[0])
    return spec_fail_expected(ctx, path, item, "a non-empty name string");
  if (strlen(item->valuestring) >= NNC_NAME_MAX)
    return spec_fail_expected(ctx, path, item, "a name of at most %d bytes in UTF-8",
                              NNC_NAME_MAX - 1);
  /* Names end up in messages, dumps and safetensors headers (which must be
   * UTF-8): keep them printable and well-formed. cJSON checks \u escapes but
   * passes raw bytes through, so overlong and surrogate forms get here. */
  switch (check_name_text((const unsigned char *)item->valuestring)) {
  case 1:
    return spec_fail_expected(ctx, path, item, "a name in UTF-8");
  case 2:
    return spec_fail_expected(ctx, path, item, "a name without control characters");
  }
  nnc_strlcpy(dst, item->valuestring, NNC_NAME_MAX);
  return NNC_OK;
}

int spec_copy_layer_name(const spec_ctx *ctx, const cJSON *item, const char *path, char *dst) {
  int rc = spec_copy_name(ctx, item, path, dst);
  if (rc) return rc;
  /* Keras 3 (ops/operation.py): "Argument `name` must be a string and cannot
   * contain character `/`"; it would also split <layer>/<weight> names. */
  if (strchr(dst, '/')) {
    dst[0] = '\0';
    return spec_fail_expected(ctx, path, item, "a name without \"/\" (Keras 3 refuses it)");
  }
  return NNC_OK;
}

/* ---- duplicate keys ---- */

static int compare_keys(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first key that occurs twice among an object's members, or NULL. */
static const char *repeated_key(const spec_ctx *ctx, const cJSON *obj, int n, int *failed) {
  const char **keys = nnc_calloc((size_t)n, sizeof *keys, ctx->st);
  if (!keys) {
    *failed = 1;
    return NULL;
  }
  int i = 0;
  for (const cJSON *c = obj->child; c; c = c->next) keys[i++] = c->string ? c->string : "";
  qsort(keys, (size_t)n, sizeof *keys, compare_keys);
  const char *dup = NULL;
  for (i = 1; i < n && !dup; i++)
    if (!strcmp(keys[i - 1], keys[i])) dup = keys[i];
  free(keys);
  return dup;
}

int spec_check_unique_keys(const spec_ctx *ctx, const cJSON *item, const char *path) {
  int n = 0;
  for (const cJSON *c = item->child; c; c = c->next) n++;
  if (cJSON_IsObject(item) && n > 1) {
    int failed = 0;
    const char *dup = repeated_key(ctx, item, n, &failed);
    if (failed) return NNC_ERR_NOMEM;
    if (dup) {
      char dup_path[NNC_PATH_MAX];
      spec_path_key(dup_path, path, dup);
      /* cJSON would keep the first, Python's json the last: the intent is unclear */
      return spec_fail(ctx, dup_path, "expected each key once in an object, got this key twice");
    }
  }
  int i = 0;
  for (const cJSON *c = item->child; c; c = c->next, i++) {
    char child_path[NNC_PATH_MAX];
    if (cJSON_IsObject(item))
      spec_path_key(child_path, path, c->string ? c->string : "");
    else
      spec_path_index(child_path, path, i);
    int rc = spec_check_unique_keys(ctx, c, child_path);
    if (rc) return rc;
  }
  return NNC_OK;
}

int spec_positive_int(const spec_ctx *ctx, const cJSON *item, const char *path, int64_t *out) {
  /* Sizes multiply downstream: keep each one well inside 32 bits. */
  if (cJSON_IsNumber(item) && isfinite(item->valuedouble) && item->valuedouble > 2147483647.0)
    return spec_fail_expected(ctx, path, item, "a positive integer no larger than 2147483647");
  if (!cJSON_IsNumber(item) || !is_int64(item->valuedouble) || item->valuedouble < 1)
    return spec_fail_expected(ctx, path, item, "a positive integer");
  *out = (int64_t)item->valuedouble;
  return NNC_OK;
}

int spec_parse_shape(const spec_ctx *ctx, const cJSON *item, const char *path, int has_batch,
                     nnc_spec_shape *out) {
  memset(out, 0, sizeof *out);
  if (!cJSON_IsArray(item))
    return spec_fail_expected(ctx, path, item,
                              has_batch
                                  ? "a shape list with the batch dimension first ([null, 784])"
                                  : "a shape list without the batch dimension ([784])");
  int n = cJSON_GetArraySize(item);
  if (has_batch && n < 1)
    return spec_fail_expected(ctx, path, item, "a shape list with the batch dimension first");
  /* the graph keeps the batch dimension too, within NNC_MAX_RANK */
  if (n - has_batch > NNC_MAX_RANK - 1)
    return spec_fail_expected(ctx, path, item, "a shape of at most %d dimensions besides the batch",
                              NNC_MAX_RANK - 1);
  int i = 0;
  const cJSON *dim;
  cJSON_ArrayForEach(dim, item) {
    char dim_path[NNC_PATH_MAX];
    spec_path_index(dim_path, path, i);
    if (has_batch && i == 0) {
      /* A fixed batch size (Keras 2 batch_input_shape=[32, ...]) is accepted and ignored. */
      if (!cJSON_IsNull(dim) &&
          (!cJSON_IsNumber(dim) || !is_int64(dim->valuedouble) || dim->valuedouble < 0))
        return spec_fail_expected(ctx, dim_path, dim, "null or a batch size");
    } else if (cJSON_IsNull(dim)) {
      /* a None axis (a sequence length, an image size): the data fixes it */
      out->dims[out->rank++] = -1;
    } else {
      if (cJSON_IsNumber(dim) && isfinite(dim->valuedouble) && dim->valuedouble < 1)
        return spec_fail_expected(ctx, dim_path, dim, "a positive integer or null (None)");
      int rc = spec_positive_int(ctx, dim, dim_path, &out->dims[out->rank]);
      if (rc) return rc;
      out->rank++;
    }
    i++;
  }
  return NNC_OK;
}
