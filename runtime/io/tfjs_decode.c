/* One TF.js weightsManifest entry from its bytes: float32 as stored, or the
 * quantized encodings the converter writes (--quantize_uint8/_uint16/
 * _float16), decoded as tfjs-core's io_utils decodeWeight does so that nnc
 * sees the very float32 values TF.js would. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "runtime/io/tfjs.h"

/* Integers in a manifest must survive a round trip through a double. */
#define JSON_MAX_EXACT_INT 9007199254740992.0 /* 2^53 */

float tfjs_half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  float f;
  if (exp == 0) { /* zero or subnormal: mant * 2^-24, exact in float32 */
    f = ldexpf((float)mant, -24);
    return sign ? -f : f;
  }
  uint32_t bits = exp == 31 ? sign | 0x7f800000u | (mant << 13) /* inf, NaN (payload kept) */
                            : sign | ((exp + 112) << 23) | (mant << 13);
  memcpy(&f, &bits, sizeof f);
  return f;
}

static uint16_t load_u16le(const unsigned char *p) {
  return (uint16_t)(p[0] | (p[1] << 8));
}

static float load_f32le(const unsigned char *p) {
  uint32_t bits =
      (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

static int read_shape(const cJSON *entry, const char *where, nnc_array *out, nnc_status *st) {
  const cJSON *shape = cJSON_GetObjectItemCaseSensitive(entry, "shape");
  if (!cJSON_IsArray(shape))
    return nnc_fail(st, NNC_ERR_DATA, "%s: expected \"shape\" as a list of sizes", where);
  int rank = cJSON_GetArraySize(shape);
  if (rank > NNC_MAX_RANK)
    return nnc_fail(st, NNC_ERR_DATA, "%s: shape of rank %d: nnc takes weights of rank <= %d",
                    where, rank, NNC_MAX_RANK);
  out->rank = rank;
  int d = 0;
  const cJSON *dim;
  cJSON_ArrayForEach(dim, shape) {
    double v = cJSON_IsNumber(dim) ? dim->valuedouble : -1;
    if (!(v >= 0 && v <= JSON_MAX_EXACT_INT) || v != floor(v))
      return nnc_fail(st, NNC_ERR_DATA, "%s: shape[%d]: expected a size (an integer >= 0)", where,
                      d);
    out->shape[d++] = (int64_t)v;
  }
  return NNC_OK;
}

/* The element count of out's shape, or -1 when it exceeds limit. */
static int64_t count_upto(const nnc_array *a, uint64_t limit) {
  uint64_t n = 1;
  for (int d = 0; d < a->rank; d++) {
    if (a->shape[d] == 0) return 0;
    if ((uint64_t)a->shape[d] > limit / n) return -1;
    n *= (uint64_t)a->shape[d];
  }
  return n <= limit ? (int64_t)n : -1;
}

static int number_key(const cJSON *q, const char *key, const char *where, double *out,
                      nnc_status *st) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(q, key);
  if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
    return nnc_fail(st, NNC_ERR_DATA, "%s: quantization: expected \"%s\" as a finite number", where,
                    key);
  *out = v->valuedouble;
  return NNC_OK;
}

typedef enum { ENC_F32, ENC_U8, ENC_U16, ENC_F16 } encoding;

static int read_encoding(const cJSON *entry, const char *where, encoding *enc, double *scale,
                         double *min, nnc_status *st) {
  const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(entry, "dtype");
  if (!cJSON_IsString(dtype))
    return nnc_fail(st, NNC_ERR_DATA, "%s: expected \"dtype\" as a string", where);
  /* dtype is the ORIGINAL type, also for quantized entries; nnc's weights are float32 */
  if (strcmp(dtype->valuestring, "float32") != 0)
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: dtype \"%.40s\": nnc reads float32 weights only (a layers model's "
                    "weights are float32)",
                    where, dtype->valuestring);
  const cJSON *q = cJSON_GetObjectItemCaseSensitive(entry, "quantization");
  *enc = ENC_F32;
  if (!q || cJSON_IsNull(q)) return NNC_OK;
  const cJSON *qd = cJSON_GetObjectItemCaseSensitive(q, "dtype");
  if (!cJSON_IsObject(q) || !cJSON_IsString(qd))
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: expected \"quantization\" as an object with a \"dtype\" string", where);
  if (!strcmp(qd->valuestring, "float16")) {
    *enc = ENC_F16;
    return NNC_OK;
  }
  if (strcmp(qd->valuestring, "uint8") != 0 && strcmp(qd->valuestring, "uint16") != 0)
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: quantization dtype \"%.40s\": expected \"uint8\", \"uint16\" or "
                    "\"float16\" (as TF.js)",
                    where, qd->valuestring);
  *enc = qd->valuestring[4] == '8' ? ENC_U8 : ENC_U16;
  if (number_key(q, "scale", where, scale, st) || number_key(q, "min", where, min, st))
    return st->code;
  return NNC_OK;
}

static const size_t enc_width[] = {[ENC_F32] = 4, [ENC_U8] = 1, [ENC_U16] = 2, [ENC_F16] = 2};

int tfjs_entry_bytes(const cJSON *entry, const char *where, uint64_t *bytes, nnc_status *st) {
  *bytes = 0;
  if (!cJSON_IsObject(entry)) return nnc_fail(st, NNC_ERR_DATA, "%s: expected an object", where);
  nnc_array shape = {0};
  encoding enc = ENC_F32;
  double scale = 0, min = 0;
  if (read_shape(entry, where, &shape, st) || read_encoding(entry, where, &enc, &scale, &min, st))
    return st->code;
  int64_t n = count_upto(&shape, UINT64_MAX / 8);
  if (n < 0) return nnc_fail(st, NNC_ERR_DATA, "%s: its shape's size overflows", where);
  *bytes = (uint64_t)n * enc_width[enc];
  return NNC_OK;
}

int tfjs_decode_entry(const cJSON *entry, const unsigned char *bytes, size_t avail,
                      const char *where, nnc_array *out, size_t *used, nnc_status *st) {
  memset(out, 0, sizeof *out);
  *used = 0;
  if (!cJSON_IsObject(entry)) return nnc_fail(st, NNC_ERR_DATA, "%s: expected an object", where);
  encoding enc = ENC_F32;
  double scale = 0, min = 0;
  if (read_shape(entry, where, out, st) || read_encoding(entry, where, &enc, &scale, &min, st))
    return st->code;
  size_t w = enc_width[enc];
  int64_t n = count_upto(out, avail / w);
  if (n < 0)
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s: needs more bytes than its group's shards hold after the entries "
                    "before it (%zu left)",
                    where, avail);
  out->dtype = NNC_F32;
  out->data = nnc_calloc((size_t)n + 1, sizeof(float), st);
  if (!out->data) return st->code;
  float *v = out->data;
  for (int64_t i = 0; i < n; i++) {
    const unsigned char *p = bytes + (size_t)i * w;
    switch (enc) {
    case ENC_F32:
      v[i] = load_f32le(p);
      break;
    case ENC_U8:
      v[i] = (float)((double)p[0] * scale + min);
      break;
    case ENC_U16:
      v[i] = (float)((double)load_u16le(p) * scale + min);
      break;
    case ENC_F16:
      v[i] = tfjs_half_to_float(load_u16le(p));
      break;
    }
  }
  *used = (size_t)n * w;
  return NNC_OK;
}
