/* Unit tests for runtime/io: .npy, IDX, safetensors, tensor sets, and the
 * atomic-write guarantee of every writer. */
#include <check.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "base/base.h"
#include "runtime/io/io.h"
#include "testutil.h"

#ifndef NNC_SOURCE_DIR
#define NNC_SOURCE_DIR "."
#endif
#ifndef NNC_ORACLE_DIR
#define NNC_ORACLE_DIR NNC_SOURCE_DIR "/../shared/oracle"
#endif

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

static const nnc_dtype all_dtypes[] = {NNC_F32, NNC_F64, NNC_I32, NNC_I64, NNC_U8,
                                       NNC_I8,  NNC_I16, NNC_U16, NNC_U32, NNC_U64};

/* ---- helpers ---- */

static void write_bytes(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  ck_assert_msg(f != NULL, "cannot create %s", path);
  ck_assert_uint_eq(fwrite(data, 1, len, f), len);
  ck_assert_int_eq(fclose(f), 0);
}

static unsigned char *read_bytes(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  size_t cap = 4096, n = 0;
  unsigned char *buf = malloc(cap);
  size_t got;
  while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) buf = realloc(buf, cap *= 2);
  }
  fclose(f);
  *len = n;
  return buf;
}

/* An array whose element i holds a dtype-specific value derived from i and
 * seed, with negative and fractional values where the dtype allows them. */
static nnc_array pattern_array(nnc_dtype dtype, int rank, const int64_t *shape, int seed) {
  nnc_array a = {.dtype = dtype, .rank = rank};
  for (int i = 0; i < rank; i++) a.shape[i] = shape[i];
  int64_t n = nnc_array_count(&a);
  a.data = malloc((size_t)(n ? n : 1) * nnc_dtype_size(dtype));
  for (int64_t i = 0; i < n; i++) {
    switch (dtype) {
    case NNC_F32:
      ((float *)a.data)[i] = (float)(i * 0.25 - 3.5 + seed);
      break;
    case NNC_F64:
      ((double *)a.data)[i] = i * 1e-3 - 1e10 + seed;
      break;
    case NNC_I32:
      ((int32_t *)a.data)[i] = (int32_t)(i * 1000003 - 70000 + seed);
      break;
    case NNC_I64:
      ((int64_t *)a.data)[i] = ((int64_t)1 << 40) * (i - 2) + seed;
      break;
    case NNC_U8:
      ((uint8_t *)a.data)[i] = (uint8_t)(i * 37 + seed);
      break;
    case NNC_I8:
      ((int8_t *)a.data)[i] = (int8_t)(i * 37 - 100 + seed);
      break;
    case NNC_I16:
      ((int16_t *)a.data)[i] = (int16_t)(i * 1009 - 30000 + seed);
      break;
    case NNC_U16:
      ((uint16_t *)a.data)[i] = (uint16_t)(i * 1009 + 60000 + seed);
      break;
    case NNC_U32:
      ((uint32_t *)a.data)[i] = (uint32_t)(i * 1000003 + 4000000000u + seed);
      break;
    case NNC_U64:
      ((uint64_t *)a.data)[i] = ((uint64_t)1 << 63) + ((uint64_t)1 << 40) * (uint64_t)i + seed;
      break;
    }
  }
  return a;
}

static size_t array_bytes(const nnc_array *a) {
  return (size_t)nnc_array_count(a) * nnc_dtype_size(a->dtype);
}

static void assert_arrays_equal(const nnc_array *got, const nnc_array *want) {
  ck_assert_int_eq(got->dtype, want->dtype);
  ck_assert_int_eq(got->rank, want->rank);
  for (int i = 0; i < want->rank; i++) ck_assert_int_eq(got->shape[i], want->shape[i]);
  size_t n = array_bytes(want);
  ck_assert(n == 0 || got->data != NULL);
  if (n) ck_assert_mem_eq(got->data, want->data, n);
}

/* The call failed with code and its message names the file and says what. */
static void assert_failure(int rc, const nnc_status *st, nnc_code code, const char *path,
                           const char *what) {
  ck_assert_int_eq(rc, code);
  ck_assert_int_eq(st->code, code);
  ck_assert_msg(strstr(st->message, path) != NULL, "message lacks the path: %s", st->message);
  ck_assert_msg(strstr(st->message, what) != NULL, "message lacks '%s': %s", what, st->message);
}

/* .npy bytes with the given version and header text (no padding rules). */
static size_t make_npy(unsigned char *buf, int major, const char *dict, const void *data,
                       size_t data_len) {
  static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  size_t dict_len = strlen(dict), prefix = major == 1 ? 10 : 12;
  memcpy(buf, magic, 6);
  buf[6] = (unsigned char)major;
  buf[7] = 0;
  for (size_t i = 0; i < prefix - 8; i++) buf[8 + i] = (unsigned char)(dict_len >> (8 * i));
  memcpy(buf + prefix, dict, dict_len);
  if (data_len) memcpy(buf + prefix + dict_len, data, data_len);
  return prefix + dict_len + data_len;
}

/* Number of leftover temporary files ("<name>.tmp.<pid>") in dir. */
static int count_temp_files(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strstr(e->d_name, ".tmp.")) n++;
  closedir(d);
  return n;
}

static void put_be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

/* Big-endian copy of n elements of elem_size bytes (the host is assumed to be
 * little-endian, like every machine nnc targets; checked in the test). */
static void copy_big_endian(unsigned char *dst, const void *src, size_t n, size_t elem_size) {
  const unsigned char *s = src;
  for (size_t i = 0; i < n; i++)
    for (size_t b = 0; b < elem_size; b++)
      dst[i * elem_size + b] = s[i * elem_size + elem_size - 1 - b];
}

/* An IDX file image for a (host little-endian). */
static unsigned char *make_idx(const nnc_array *a, unsigned type, size_t *len) {
  size_t header = 4 + 4 * (size_t)a->rank, data = array_bytes(a);
  unsigned char *buf = calloc(header + data + 1, 1);
  buf[2] = (unsigned char)type;
  buf[3] = (unsigned char)a->rank;
  for (int i = 0; i < a->rank; i++) put_be32(buf + 4 + 4 * i, (uint32_t)a->shape[i]);
  copy_big_endian(buf + header, a->data, (size_t)nnc_array_count(a), nnc_dtype_size(a->dtype));
  *len = header + data;
  return buf;
}

static void gzip_to_file(const char *path, const void *data, size_t len) {
  gzFile gz = gzopen(path, "wb");
  ck_assert(gz != NULL);
  ck_assert_int_eq(gzwrite(gz, data, (unsigned)len), (int)len);
  ck_assert_int_eq(gzclose(gz), Z_OK);
}

/* The whole decompressed content of a .gz file, decoded independently of nnc. */
static unsigned char *gunzip_file(const char *path, size_t *len) {
  gzFile gz = gzopen(path, "rb");
  ck_assert(gz != NULL);
  size_t cap = 1 << 20, n = 0;
  unsigned char *buf = malloc(cap);
  int got;
  while ((got = gzread(gz, buf + n, (unsigned)(cap - n))) > 0) {
    n += (size_t)got;
    if (n == cap) buf = realloc(buf, cap *= 2);
  }
  ck_assert_int_eq(got, 0);
  gzclose(gz);
  *len = n;
  return buf;
}

static uint32_t get_be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- nnc_array basics ---- */

START_TEST(test_array_count_and_sizes) {
  nnc_array a = {.dtype = NNC_F32, .rank = 0};
  ck_assert_int_eq(nnc_array_count(&a), 1); /* a scalar */
  a.rank = 3;
  a.shape[0] = 2, a.shape[1] = 3, a.shape[2] = 4;
  ck_assert_int_eq(nnc_array_count(&a), 24);
  a.shape[1] = 0;
  ck_assert_int_eq(nnc_array_count(&a), 0);
  a.shape[1] = -1;
  ck_assert_int_eq(nnc_array_count(&a), -1);
  a.rank = 2, a.shape[0] = INT64_MAX, a.shape[1] = 2;
  ck_assert_int_eq(nnc_array_count(&a), -1); /* overflow */
  a.rank = NNC_MAX_RANK + 1;
  ck_assert_int_eq(nnc_array_count(&a), -1);
  ck_assert_uint_eq(nnc_dtype_size(NNC_F32), 4);
  ck_assert_uint_eq(nnc_dtype_size(NNC_F64), 8);
  ck_assert_uint_eq(nnc_dtype_size(NNC_I32), 4);
  ck_assert_uint_eq(nnc_dtype_size(NNC_I64), 8);
  ck_assert_uint_eq(nnc_dtype_size(NNC_U8), 1);
  ck_assert_uint_eq(nnc_dtype_size(NNC_I8), 1);
  ck_assert_uint_eq(nnc_dtype_size(NNC_I16), 2);
  ck_assert_uint_eq(nnc_dtype_size(NNC_U16), 2);
  ck_assert_uint_eq(nnc_dtype_size(NNC_U32), 4);
  ck_assert_uint_eq(nnc_dtype_size(NNC_U64), 8);
  nnc_array empty = {0};
  nnc_array_free(&empty); /* NULL data is fine */
  nnc_array_free(NULL);
}
END_TEST

START_TEST(test_array_to_f32_every_dtype) {
  const int64_t shape[1] = {4};
  const uint8_t u8[4] = {0, 1, 128, 255};
  const int32_t i32[4] = {-5, 0, 7, 1 << 20};
  const int64_t i64[4] = {-7, 0, 3, (int64_t)1 << 40};
  const double f64[4] = {1.5, -2.25, 0, 1e30};
  const float f32[4] = {0.5f, -1, 2, 3};
  const int8_t i8[4] = {-128, -1, 0, 127};
  const int16_t i16[4] = {-32768, -1, 0, 32767};
  const uint16_t u16[4] = {0, 1, 256, 65535};
  const uint32_t u32[4] = {0, 7, 16777216, 4294967295u};
  const uint64_t u64[4] = {0, 9, (uint64_t)1 << 40, 18446744073709551615ull};
  struct {
    nnc_dtype dtype;
    const void *data;
    float want[4];
  } cases[] = {
      {NNC_U8, u8, {0, 1, 128, 255}},
      {NNC_I32, i32, {-5, 0, 7, 1048576}},
      {NNC_I64, i64, {-7, 0, 3, 1099511627776.0f}},
      {NNC_F64, f64, {1.5f, -2.25f, 0, 1e30f}},
      {NNC_F32, f32, {0.5f, -1, 2, 3}},
      {NNC_I8, i8, {-128, -1, 0, 127}},
      {NNC_I16, i16, {-32768, -1, 0, 32767}},
      {NNC_U16, u16, {0, 1, 256, 65535}},
      {NNC_U32, u32, {0, 7, 16777216, 4294967296.0f}},
      {NNC_U64, u64, {0, 9, 1099511627776.0f, 18446744073709551616.0f}},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    nnc_array a = {.dtype = cases[c].dtype, .rank = 1, .data = (void *)cases[c].data};
    a.shape[0] = shape[0];
    nnc_array f;
    nnc_status st = {0};
    ck_assert_int_eq(nnc_array_to_f32(&a, &f, &st), NNC_OK);
    ck_assert_int_eq(f.dtype, NNC_F32);
    ck_assert_int_eq(f.rank, 1);
    ck_assert_int_eq(f.shape[0], 4);
    ck_assert_mem_eq(f.data, cases[c].want, sizeof cases[c].want);
    nnc_array_free(&f);
  }
  nnc_array bad = {.dtype = NNC_F32, .rank = -1};
  nnc_array f;
  nnc_status st = {0};
  ck_assert_int_eq(nnc_array_to_f32(&bad, &f, &st), NNC_ERR_ARG);
}
END_TEST

/* ---- .npy ---- */

START_TEST(test_npy_roundtrip_every_dtype_and_rank) {
  static const int64_t shapes[5][4] = {{0}, {5}, {2, 3}, {2, 3, 4}, {1, 2, 3, 2}};
  for (size_t d = 0; d < sizeof all_dtypes / sizeof all_dtypes[0]; d++) {
    for (int rank = 0; rank <= 4; rank++) {
      nnc_array a = pattern_array(all_dtypes[d], rank, shapes[rank], (int)d);
      char name[64];
      snprintf(name, sizeof name, "rt_%zu_%d.npy", d, rank);
      const char *path = testutil_path(testutil_tmpdir(), name);
      nnc_status st = {0};
      ck_assert_msg(nnc_npy_write(path, &a, &st) == NNC_OK, "%s", st.message);

      /* The layout numpy expects: version 1.0, data 64-aligned, header ends in '\n'. */
      size_t len;
      unsigned char *raw = read_bytes(path, &len);
      ck_assert_mem_eq(raw, "\x93NUMPY\x01\x00", 8);
      size_t data_start = 10 + (size_t)(raw[8] | raw[9] << 8);
      ck_assert_uint_eq(data_start % 64, 0);
      ck_assert_uint_eq(raw[data_start - 1], '\n');
      ck_assert_uint_eq(len, data_start + array_bytes(&a));
      const char *shape_text[] = {"'shape': ()", "'shape': (5,)", "'shape': (2, 3)",
                                  "'shape': (2, 3, 4)", "'shape': (1, 2, 3, 2)"};
      char header[256] = {0};
      memcpy(header, raw + 10, data_start - 10 < 255 ? data_start - 10 : 255);
      ck_assert_msg(strstr(header, shape_text[rank]) != NULL, "%s", header);
      free(raw);

      nnc_array b;
      ck_assert_msg(nnc_npy_read(path, &b, &st) == NNC_OK, "%s", st.message);
      assert_arrays_equal(&b, &a);
      nnc_array_free(&b);
      free(a.data);
    }
  }
}
END_TEST

START_TEST(test_npy_reads_hand_built_headers) {
  const char *dir = testutil_tmpdir();
  unsigned char buf[512];
  nnc_status st = {0};
  nnc_array a;

  /* v1.0, keys in another order, no trailing comma, no padding. */
  const int32_t i32[6] = {1, -2, 3, -4, 5, 2147483647};
  const char *p1 = testutil_path(dir, "v1_order.npy");
  write_bytes(p1, buf,
              make_npy(buf, 1, "{'shape': (2, 3), 'fortran_order': False, 'descr': '<i4'}\n", i32,
                       sizeof i32));
  ck_assert_msg(nnc_npy_read(p1, &a, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(a.dtype, NNC_I32);
  ck_assert_int_eq(a.rank, 2);
  ck_assert_int_eq(a.shape[0], 2);
  ck_assert_int_eq(a.shape[1], 3);
  ck_assert_mem_eq(a.data, i32, sizeof i32);
  nnc_array_free(&a);

  /* v2.0 (4-byte header length), double quotes, 1-D "(3,)". */
  const double f64[3] = {0.5, -1e300, 3};
  const char *p2 = testutil_path(dir, "v2.npy");
  write_bytes(p2, buf,
              make_npy(buf, 2,
                       "{\"descr\": \"<f8\", \"shape\": (3,), \"fortran_order\": False, }"
                       "      \n",
                       f64, sizeof f64));
  ck_assert_msg(nnc_npy_read(p2, &a, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(a.dtype, NNC_F64);
  ck_assert_int_eq(a.rank, 1);
  ck_assert_int_eq(a.shape[0], 3);
  ck_assert_mem_eq(a.data, f64, sizeof f64);
  nnc_array_free(&a);

  /* v3.0, a bool scalar "()" read as u8. */
  const uint8_t one = 1;
  const char *p3 = testutil_path(dir, "v3_bool.npy");
  write_bytes(
      p3, buf,
      make_npy(buf, 3, "{'descr': '|b1', 'fortran_order': False, 'shape': (), }\n", &one, 1));
  ck_assert_msg(nnc_npy_read(p3, &a, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(a.dtype, NNC_U8);
  ck_assert_int_eq(a.rank, 0);
  ck_assert_uint_eq(*(uint8_t *)a.data, 1);
  nnc_array_free(&a);

  /* Odd spacing, '<u1', and Python 2 longs "(2L, 2L)". */
  const uint8_t u8[4] = {9, 8, 7, 255};
  const char *p4 = testutil_path(dir, "spacing.npy");
  write_bytes(p4, buf,
              make_npy(buf, 1, "{ 'fortran_order':False ,'shape' :( 2L , 2L ) ,'descr':'<u1' }", u8,
                       sizeof u8));
  ck_assert_msg(nnc_npy_read(p4, &a, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(a.dtype, NNC_U8);
  ck_assert_int_eq(a.rank, 2);
  ck_assert_int_eq(a.shape[0] * a.shape[1], 4);
  ck_assert_mem_eq(a.data, u8, sizeof u8);
  nnc_array_free(&a);

  /* An empty array: zero elements, no data bytes. */
  const char *p5 = testutil_path(dir, "empty.npy");
  write_bytes(
      p5, buf,
      make_npy(buf, 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (0, 4), }", NULL, 0));
  ck_assert_msg(nnc_npy_read(p5, &a, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(nnc_array_count(&a), 0);
  nnc_array_free(&a);
}
END_TEST

START_TEST(test_npy_rejects_malformed_files) {
  const char *dir = testutil_tmpdir();
  unsigned char buf[512];
  const float f32[4] = {1, 2, 3, 4};
  struct {
    const char *name;
    int major;
    const char *dict;
    size_t data_len;
    const char *what;
  } cases[] = {
      {"fortran.npy", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16,
       "fortran_order"},
      {"truncated.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 16,
       "truncated"},
      {"trailing.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 16,
       "unexpected bytes"},
      {"bigendian.npy", 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }", 16,
       "'>f4'"},
      {"half.npy", 1, "{'descr': '<f2', 'fortran_order': False, 'shape': (8,), }", 16, "'<f2'"},
      {"object.npy", 1, "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", 16, "'|O'"},
      {"rank9.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }",
       4, "rank"},
      {"overflow.npy", 1,
       "{'descr': '<f4', 'fortran_order': False, 'shape': (9223372036854775807, 4), }", 16,
       "overflow"},
      {"bigdim.npy", 1,
       "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", 16,
       "overflow"},
      {"negative.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-4,), }", 16,
       "shape"},
      {"missing_key.npy", 1, "{'descr': '<f4', 'shape': (4,), }", 16, "fortran_order"},
      {"extra_key.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'extra': 1, }",
       16, "'extra'"},
      {"not_dict.npy", 1, "['descr', '<f4']", 16, "dict"},
      /* numpy's literal_eval refuses leading zeros */
      {"leading_zero.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0004,), }", 16,
       "leading zero"},
      {"version4.npy", 4, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", 16,
       "version 4.0"},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    const char *path = testutil_path(dir, cases[c].name);
    write_bytes(path, buf, make_npy(buf, cases[c].major, cases[c].dict, f32, cases[c].data_len));
    nnc_array a;
    nnc_status st = {0};
    int rc = nnc_npy_read(path, &a, &st);
    assert_failure(rc, &st, NNC_ERR_DATA, path, cases[c].what);
    ck_assert_ptr_null(a.data);
  }

  /* Bad magic, a header length past the end of the file, a missing file. */
  nnc_array a;
  nnc_status st = {0};
  const char *bad_magic = testutil_path(dir, "bad_magic.npy");
  size_t n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", f32, 16);
  buf[1] = 'X';
  write_bytes(bad_magic, buf, n);
  assert_failure(nnc_npy_read(bad_magic, &a, &st), &st, NNC_ERR_DATA, bad_magic, "magic");

  const char *short_header = testutil_path(dir, "short_header.npy");
  n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", NULL, 0);
  write_bytes(short_header, buf, n - 10);
  assert_failure(nnc_npy_read(short_header, &a, &st), &st, NNC_ERR_DATA, short_header, "truncated");

  const char *missing = testutil_path(dir, "does_not_exist.npy");
  assert_failure(nnc_npy_read(missing, &a, &st), &st, NNC_ERR_IO, missing, "cannot open");
}
END_TEST

START_TEST(test_npy_write_rejects_malformed_array) {
  const char *path = testutil_path(testutil_tmpdir(), "bad_array.npy");
  nnc_array a = {.dtype = NNC_F32, .rank = 1, .data = NULL};
  a.shape[0] = 3;
  nnc_status st = {0};
  assert_failure(nnc_npy_write(path, &a, &st), &st, NNC_ERR_ARG, path, "no data");
  a.rank = NNC_MAX_RANK + 1;
  assert_failure(nnc_npy_write(path, &a, &st), &st, NNC_ERR_ARG, path, "malformed");
  struct stat sb;
  ck_assert_int_ne(stat(path, &sb), 0); /* nothing was written */
}
END_TEST

START_TEST(test_oracle_npy) {
  const char *path = NNC_ORACLE_DIR "/cases/seed000_logreg/x.npy";
  struct stat sb;
  if (stat(path, &sb) != 0) {
    printf("NOTICE: %s is absent; skipping the oracle .npy test\n", path);
    return;
  }
  nnc_array a;
  nnc_status st = {0};
  ck_assert_msg(nnc_npy_read(path, &a, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(a.dtype, NNC_F32);
  ck_assert_int_eq(a.rank, 2);
  ck_assert_int_eq(a.shape[0], 100);
  ck_assert_int_eq(a.shape[1], 1);
  /* The same file through the magic-byte dispatcher. */
  nnc_array b;
  ck_assert_msg(nnc_array_read(path, &b, &st) == NNC_OK, "%s", st.message);
  assert_arrays_equal(&b, &a);

  /* numpy wrote this file; writing it back must give the very same bytes. */
  const char *copy = testutil_path(testutil_tmpdir(), "oracle_x.npy");
  ck_assert_int_eq(nnc_npy_write(copy, &a, &st), NNC_OK);
  size_t want_len, got_len;
  unsigned char *want = read_bytes(path, &want_len), *got = read_bytes(copy, &got_len);
  ck_assert_uint_eq(got_len, want_len);
  ck_assert_mem_eq(got, want, want_len);
  free(want);
  free(got);
  nnc_array_free(&a);
  nnc_array_free(&b);
}
END_TEST

/* ---- atomic writes ---- */

START_TEST(test_write_into_missing_directory_fails_cleanly) {
  const char *dir = testutil_path(testutil_tmpdir(), "no_such_dir");
  const char *path = testutil_path(dir, "x.npy");
  const int64_t shape[1] = {3};
  nnc_array a = pattern_array(NNC_F32, 1, shape, 0);
  nnc_status st = {0};
  assert_failure(nnc_npy_write(path, &a, &st), &st, NNC_ERR_WRITE, path, "cannot write");

  nnc_tensor_set set = {0};
  ck_assert_int_eq(nnc_tensor_set_add(&set, "w", &a, &st), NNC_OK);
  const char *st_path = testutil_path(dir, "w.safetensors");
  assert_failure(nnc_safetensors_write(st_path, &set, &st), &st, NNC_ERR_WRITE, st_path,
                 "cannot write");

  struct stat sb;
  ck_assert_int_ne(stat(dir, &sb), 0); /* the directory was not created */
  ck_assert_int_eq(count_temp_files(testutil_tmpdir()), 0);
  nnc_tensor_set_free(&set);
  free(a.data);
}
END_TEST

/* A disk that fills up mid-write (simulated with RLIMIT_FSIZE): the old file
 * must survive intact and no temporary file may be left behind. */
START_TEST(test_failed_overwrite_keeps_old_file) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s", testutil_path(testutil_tmpdir(), "overwrite"));
  ck_assert_int_eq(mkdir(dir, 0700), 0);
  const char *npy_path = testutil_path(dir, "keep.npy");
  const char *st_path = testutil_path(dir, "keep.safetensors");
  const int64_t small_shape[1] = {4}, big_shape[2] = {256, 256};
  nnc_array small = pattern_array(NNC_I32, 1, small_shape, 1);
  nnc_array big = pattern_array(NNC_F64, 2, big_shape, 2); /* 512 KiB */
  nnc_status st = {0};
  nnc_tensor_set small_set = {0}, big_set = {0};
  ck_assert_int_eq(nnc_tensor_set_add(&small_set, "small", &small, &st), NNC_OK);
  ck_assert_int_eq(nnc_tensor_set_add(&big_set, "big", &big, &st), NNC_OK);
  ck_assert_int_eq(nnc_npy_write(npy_path, &small, &st), NNC_OK);
  ck_assert_int_eq(nnc_safetensors_write(st_path, &small_set, &st), NNC_OK);
  size_t npy_len, st_len;
  unsigned char *npy_before = read_bytes(npy_path, &npy_len);
  unsigned char *st_before = read_bytes(st_path, &st_len);

  /* With SIGXFSZ ignored, writes past the limit fail with EFBIG like ENOSPC. */
  struct rlimit old_limit, limit;
  ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  limit = old_limit;
  limit.rlim_cur = 64 * 1024;
  void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
  ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &limit), 0);
  nnc_status npy_st = {0}, st_st = {0};
  int npy_rc = nnc_npy_write(npy_path, &big, &npy_st);
  int st_rc = nnc_safetensors_write(st_path, &big_set, &st_st);
  ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  signal(SIGXFSZ, old_handler);

  assert_failure(npy_rc, &npy_st, NNC_ERR_WRITE, npy_path, "cannot write");
  assert_failure(st_rc, &st_st, NNC_ERR_WRITE, st_path, "cannot write");
  size_t len;
  unsigned char *after = read_bytes(npy_path, &len);
  ck_assert_uint_eq(len, npy_len);
  ck_assert_mem_eq(after, npy_before, len);
  free(after);
  after = read_bytes(st_path, &len);
  ck_assert_uint_eq(len, st_len);
  ck_assert_mem_eq(after, st_before, len);
  free(after);
  ck_assert_int_eq(count_temp_files(dir), 0);

  free(npy_before);
  free(st_before);
  free(small.data);
  free(big.data);
  nnc_tensor_set_free(&small_set);
  nnc_tensor_set_free(&big_set);
}
END_TEST

/* ---- IDX ---- */

START_TEST(test_fashion_mnist_labels) {
  const char *path = FASHION_DIR "/t10k-labels-idx1-ubyte.gz";
  struct stat sb;
  if (stat(path, &sb) != 0) {
    printf("NOTICE: %s is absent; skipping the Fashion-MNIST labels test\n", path);
    return;
  }
  size_t raw_len;
  unsigned char *raw = gunzip_file(path, &raw_len);
  /* The header as the IDX spec lays it out: 00 00 08 01, then 10000. */
  ck_assert_uint_eq(raw_len, 8 + 10000);
  ck_assert_mem_eq(raw, "\x00\x00\x08\x01", 4);
  ck_assert_uint_eq(get_be32(raw + 4), 10000);

  nnc_array a;
  nnc_status st = {0};
  ck_assert_msg(nnc_idx_read(path, &a, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(a.dtype, NNC_U8);
  ck_assert_int_eq(a.rank, 1);
  ck_assert_int_eq(a.shape[0], 10000);
  const uint8_t *labels = a.data;
  ck_assert_mem_eq(labels, raw + 8, 10000);
  long sum = 0;
  int per_class[10] = {0};
  for (int i = 0; i < 10000; i++) {
    ck_assert_uint_le(labels[i], 9);
    sum += labels[i];
    per_class[labels[i]]++;
  }
  ck_assert_int_eq(sum, 45000); /* 1000 images per class: 1000 * (0 + ... + 9) */
  for (int c = 0; c < 10; c++) ck_assert_int_eq(per_class[c], 1000);
  /* The first labels of the Fashion-MNIST test set: ankle boot, pullover, trouser, trouser. */
  ck_assert_uint_eq(labels[0], 9);
  ck_assert_uint_eq(labels[1], 2);
  ck_assert_uint_eq(labels[2], 1);
  ck_assert_uint_eq(labels[3], 1);

  nnc_array b;
  ck_assert_msg(nnc_array_read(path, &b, &st) == NNC_OK, "%s", st.message);
  assert_arrays_equal(&b, &a);
  nnc_array_free(&a);
  nnc_array_free(&b);
  free(raw);
}
END_TEST

START_TEST(test_fashion_mnist_images) {
  const char *path = FASHION_DIR "/t10k-images-idx3-ubyte.gz";
  struct stat sb;
  if (stat(path, &sb) != 0) {
    printf("NOTICE: %s is absent; skipping the Fashion-MNIST images test\n", path);
    return;
  }
  size_t raw_len;
  unsigned char *raw = gunzip_file(path, &raw_len);
  ck_assert_mem_eq(raw, "\x00\x00\x08\x03", 4);
  ck_assert_uint_eq(get_be32(raw + 4), 10000);
  ck_assert_uint_eq(get_be32(raw + 8), 28);
  ck_assert_uint_eq(get_be32(raw + 12), 28);
  ck_assert_uint_eq(raw_len, 16 + 10000 * 28 * 28);

  nnc_array a;
  nnc_status st = {0};
  ck_assert_msg(nnc_idx_read(path, &a, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(a.dtype, NNC_U8);
  ck_assert_int_eq(a.rank, 3);
  ck_assert_int_eq(a.shape[0], 10000);
  ck_assert_int_eq(a.shape[1], 28);
  ck_assert_int_eq(a.shape[2], 28);
  ck_assert_mem_eq(a.data, raw + 16, 10000 * 28 * 28);

  nnc_array f;
  ck_assert_int_eq(nnc_array_to_f32(&a, &f, &st), NNC_OK);
  float max = 0;
  for (int64_t i = 0; i < 28 * 28; i++)
    max = ((float *)f.data)[i] > max ? ((float *)f.data)[i] : max;
  ck_assert_float_le(max, 255.0f);
  ck_assert_float_gt(max, 1.0f); /* unscaled pixels */
  nnc_array_free(&f);
  nnc_array_free(&a);
  free(raw);
}
END_TEST

START_TEST(test_idx_plain_every_type) {
  const uint16_t probe = 1;
  ck_assert_msg(*(const uint8_t *)&probe == 1,
                "the test's IDX builder assumes a little-endian host");
  const char *dir = testutil_tmpdir();
  struct {
    nnc_dtype dtype;
    unsigned type;
    int rank;
    int64_t shape[3];
  } cases[] = {
      {NNC_U8, 0x08, 2, {3, 2}}, {NNC_I32, 0x0C, 1, {4}},   {NNC_F32, 0x0D, 3, {2, 3, 2}},
      {NNC_F64, 0x0E, 1, {5}},   {NNC_I8, 0x09, 2, {2, 3}}, {NNC_I16, 0x0B, 1, {6}},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    nnc_array a = pattern_array(cases[c].dtype, cases[c].rank, cases[c].shape, (int)c);
    size_t len;
    unsigned char *bytes = make_idx(&a, cases[c].type, &len);
    char name[64];
    snprintf(name, sizeof name, "plain_%zu.idx", c);
    const char *path = testutil_path(dir, name);
    write_bytes(path, bytes, len);
    nnc_array b;
    nnc_status st = {0};
    ck_assert_msg(nnc_idx_read(path, &b, &st) == NNC_OK, "%s", st.message);
    assert_arrays_equal(&b, &a);
    nnc_array_free(&b);

    /* The same bytes gzipped, and read through the dispatcher. */
    snprintf(name, sizeof name, "plain_%zu.idx.gz", c);
    const char *gz_path = testutil_path(dir, name);
    gzip_to_file(gz_path, bytes, len);
    ck_assert_msg(nnc_array_read(gz_path, &b, &st) == NNC_OK, "%s", st.message);
    assert_arrays_equal(&b, &a);
    nnc_array_free(&b);

    /* Two gzip members back to back (what `cat a.gz b.gz` makes), split mid-header. */
    size_t first_len, second_len;
    gzip_to_file(gz_path, bytes, 5);
    unsigned char *first = read_bytes(gz_path, &first_len);
    gzip_to_file(gz_path, bytes + 5, len - 5);
    unsigned char *second = read_bytes(gz_path, &second_len);
    unsigned char *both = malloc(first_len + second_len);
    memcpy(both, first, first_len);
    memcpy(both + first_len, second, second_len);
    write_bytes(gz_path, both, first_len + second_len);
    ck_assert_msg(nnc_idx_read(gz_path, &b, &st) == NNC_OK, "%s", st.message);
    assert_arrays_equal(&b, &a);
    nnc_array_free(&b);
    free(first);
    free(second);
    free(both);
    free(bytes);
    free(a.data);
  }
}
END_TEST

START_TEST(test_idx_rejects_malformed_files) {
  const char *dir = testutil_tmpdir();
  const int64_t shape[2] = {3, 4};
  nnc_array a = pattern_array(NNC_F32, 2, shape, 0);
  size_t len;
  unsigned char *bytes = make_idx(&a, 0x0D, &len);
  nnc_array b;
  nnc_status st = {0};

  const char *truncated = testutil_path(dir, "truncated.idx");
  write_bytes(truncated, bytes, len - 1);
  assert_failure(nnc_idx_read(truncated, &b, &st), &st, NNC_ERR_DATA, truncated, "truncated");

  const char *oversized = testutil_path(dir, "oversized.idx");
  write_bytes(oversized, bytes, len + 1); /* make_idx allocates one spare zero byte */
  assert_failure(nnc_idx_read(oversized, &b, &st), &st, NNC_ERR_DATA, oversized, "oversized");

  const char *short_dims = testutil_path(dir, "short_dims.idx");
  write_bytes(short_dims, bytes, 6);
  assert_failure(nnc_idx_read(short_dims, &b, &st), &st, NNC_ERR_DATA, short_dims, "truncated");

  const char *gz_truncated = testutil_path(dir, "truncated.idx.gz");
  gzip_to_file(gz_truncated, bytes, len);
  size_t gz_len;
  unsigned char *gz = read_bytes(gz_truncated, &gz_len);
  write_bytes(gz_truncated, gz, gz_len - 12); /* cut into the deflate data */
  assert_failure(nnc_idx_read(gz_truncated, &b, &st), &st, NNC_ERR_DATA, gz_truncated, "truncated");
  const char *gz_junk = testutil_path(dir, "junk.idx.gz");
  unsigned char *junk = malloc(gz_len + 4);
  memcpy(junk, gz, gz_len);
  memcpy(junk + gz_len, "junk", 4);
  write_bytes(gz_junk, junk, gz_len + 4);
  free(junk);
  assert_failure(nnc_idx_read(gz_junk, &b, &st), &st, NNC_ERR_DATA, gz_junk, "after the gzip");
  free(gz);

  /* The header announces 3x4 floats, the gzip stream holds one more. */
  const char *gz_oversized = testutil_path(dir, "oversized.idx.gz");
  gzip_to_file(gz_oversized, bytes, len + 1);
  assert_failure(nnc_idx_read(gz_oversized, &b, &st), &st, NNC_ERR_DATA, gz_oversized, "oversized");

  const char *no_type = testutil_path(dir, "type_0a.idx"); /* 0x0A is no IDX type */
  bytes[2] = 0x0A;
  write_bytes(no_type, bytes, len);
  assert_failure(nnc_idx_read(no_type, &b, &st), &st, NNC_ERR_DATA, no_type, "0x0a");

  const char *bad_magic = testutil_path(dir, "bad_magic.idx");
  bytes[2] = 0x0D;
  bytes[1] = 0x01;
  write_bytes(bad_magic, bytes, len);
  assert_failure(nnc_idx_read(bad_magic, &b, &st), &st, NNC_ERR_DATA, bad_magic, "not an IDX");

  const char *rank0 = testutil_path(dir, "rank0.idx");
  bytes[1] = 0;
  bytes[3] = 0;
  write_bytes(rank0, bytes, 4);
  assert_failure(nnc_idx_read(rank0, &b, &st), &st, NNC_ERR_DATA, rank0, "rank");

  /* A forged header claiming 64 GiB in a tiny gzip file. */
  const char *forged = testutil_path(dir, "forged.idx.gz");
  unsigned char huge[12] = {0, 0, 0x08, 2, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 16};
  gzip_to_file(forged, huge, sizeof huge);
  assert_failure(nnc_idx_read(forged, &b, &st), &st, NNC_ERR_DATA, forged, "truncated");

  const char *garbage = testutil_path(dir, "garbage.bin");
  write_bytes(garbage, "hello world", 11);
  assert_failure(nnc_array_read(garbage, &b, &st), &st, NNC_ERR_DATA, garbage, "neither");

  free(bytes);
  free(a.data);
}
END_TEST

/* ---- safetensors ---- */

START_TEST(test_safetensors_roundtrip) {
  const int64_t s_dense[2] = {2, 3}, s_vec[1] = {4}, s_u8[1] = {5}, s_empty[2] = {0, 3};
  nnc_array arrays[5] = {
      pattern_array(NNC_F32, 2, s_dense, 1), pattern_array(NNC_I64, 1, s_vec, 2),
      pattern_array(NNC_U8, 1, s_u8, 3),     pattern_array(NNC_F64, 0, NULL, 4),
      pattern_array(NNC_I32, 2, s_empty, 5),
  };
  /* Not alphabetical, so the test sees that set order is kept. */
  const char *names[5] = {"dense/kernel", "step", "mask", "lr", "empty"};
  nnc_tensor_set set = {0};
  nnc_status st = {0};
  for (int i = 0; i < 5; i++)
    ck_assert_msg(nnc_tensor_set_add(&set, names[i], &arrays[i], &st) == NNC_OK, "%s", st.message);
  const char *path = testutil_path(testutil_tmpdir(), "set.safetensors");
  ck_assert_msg(nnc_safetensors_write(path, &set, &st) == NNC_OK, "%s", st.message);

  /* The file, byte by byte: header length, padded JSON, contiguous data. */
  size_t len;
  unsigned char *raw = read_bytes(path, &len);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; i--) header_len = header_len << 8 | raw[i];
  ck_assert_uint_eq(header_len % 8, 0);
  cJSON *header = cJSON_ParseWithLength((const char *)raw + 8, (size_t)header_len);
  ck_assert_ptr_nonnull(header);
  const cJSON *entry = header->child;
  ck_assert_str_eq(entry->string, "__metadata__");
  ck_assert_str_eq(cJSON_GetObjectItem(entry, "format")->valuestring, "nnc");
  size_t offset = 0;
  const unsigned char *data = raw + 8 + header_len;
  const char *dtype_names[] = {"F32", "I64", "U8", "F64", "I32"};
  for (int i = 0; i < 5; i++) {
    entry = entry->next;
    ck_assert_ptr_nonnull(entry);
    ck_assert_str_eq(entry->string, names[i]);
    ck_assert_str_eq(cJSON_GetObjectItem(entry, "dtype")->valuestring, dtype_names[i]);
    const cJSON *offsets = cJSON_GetObjectItem(entry, "data_offsets");
    size_t bytes = array_bytes(&arrays[i]);
    ck_assert_uint_eq((size_t)cJSON_GetArrayItem(offsets, 0)->valuedouble, offset);
    ck_assert_uint_eq((size_t)cJSON_GetArrayItem(offsets, 1)->valuedouble, offset + bytes);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(entry, "shape")), arrays[i].rank);
    if (bytes) ck_assert_mem_eq(data + offset, arrays[i].data, bytes);
    offset += bytes;
  }
  ck_assert_ptr_null(entry->next);
  ck_assert_uint_eq(len, 8 + header_len + offset);
  cJSON_Delete(header);

  nnc_tensor_set back;
  ck_assert_msg(nnc_safetensors_read(path, &back, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(back.n, 5);
  for (int i = 0; i < 5; i++) {
    ck_assert_str_eq(back.items[i].name, names[i]);
    assert_arrays_equal(&back.items[i].array, &arrays[i]);
  }

  /* Writing what was read gives the same file. */
  const char *again = testutil_path(testutil_tmpdir(), "set_again.safetensors");
  ck_assert_int_eq(nnc_safetensors_write(again, &back, &st), NNC_OK);
  size_t len2;
  unsigned char *raw2 = read_bytes(again, &len2);
  ck_assert_uint_eq(len2, len);
  ck_assert_mem_eq(raw2, raw, len);

  free(raw);
  free(raw2);
  nnc_tensor_set_free(&back);
  nnc_tensor_set_free(&set);
  for (int i = 0; i < 5; i++) free(arrays[i].data);
}
END_TEST

/* A safetensors image with the given header JSON and data. */
static size_t make_safetensors(unsigned char *buf, const char *json, const void *data,
                               size_t data_len) {
  size_t n = strlen(json);
  for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)n >> (8 * i));
  memcpy(buf + 8, json, n);
  if (data_len) memcpy(buf + 8 + n, data, data_len);
  return 8 + n + data_len;
}

START_TEST(test_safetensors_reads_hand_built_file) {
  /* The way the Python library lays it out: metadata anywhere, data shared. */
  const float f32[3] = {1.5f, -2, 3};
  unsigned char data[12 + 8];
  memcpy(data, f32, 12);
  const int32_t i32[2] = {-1, 77};
  memcpy(data + 12, i32, 8);
  const char *json = "{\"z_last\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[12,20]},"
                     "\"__metadata__\":{\"format\":\"pt\"},"
                     "\"a_first\":{\"dtype\":\"F32\",\"shape\":[3,1],\"data_offsets\":[0,12]}}  ";
  unsigned char buf[512];
  const char *path = testutil_path(testutil_tmpdir(), "hand.safetensors");
  write_bytes(path, buf, make_safetensors(buf, json, data, sizeof data));
  nnc_tensor_set set;
  nnc_status st = {0};
  ck_assert_msg(nnc_safetensors_read(path, &set, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(set.n, 2);
  ck_assert_str_eq(set.items[0].name, "z_last"); /* header order, not sorted */
  ck_assert_str_eq(set.items[1].name, "a_first");
  const nnc_array *a = nnc_tensor_set_find(&set, "a_first");
  ck_assert_ptr_nonnull(a);
  ck_assert_int_eq(a->dtype, NNC_F32);
  ck_assert_int_eq(a->rank, 2);
  ck_assert_int_eq(a->shape[0], 3);
  ck_assert_int_eq(a->shape[1], 1);
  ck_assert_mem_eq(a->data, f32, sizeof f32);
  ck_assert_mem_eq(nnc_tensor_set_find(&set, "z_last")->data, i32, sizeof i32);
  nnc_tensor_set_free(&set);
}
END_TEST

START_TEST(test_safetensors_rejects_malformed_files) {
  const char *dir = testutil_tmpdir();
  const unsigned char data[16] = {0};
  struct {
    const char *name;
    const char *json;
    const char *what;
  } cases[] = {
      {"out_of_bounds", "{\"w\":{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[0,32]}}",
       "outside"},
      {"reversed", "{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", "before"},
      {"size_mismatch", "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}}",
       "span"},
      {"f16", "{\"w\":{\"dtype\":\"F16\",\"shape\":[8],\"data_offsets\":[0,16]}}", "'F16'"},
      {"bad_shape", "{\"w\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,16]}}", "shape"},
      {"fraction", "{\"w\":{\"dtype\":\"U8\",\"shape\":[16],\"data_offsets\":[0.5,16]}}",
       "data_offsets"},
      {"no_dtype", "{\"w\":{\"shape\":[16],\"data_offsets\":[0,16]}}", "dtype"},
      {"rank9", "{\"w\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,16],\"data_offsets\":[0,16]}}",
       "rank"},
      {"duplicate",
       "{\"w\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]},"
       "\"w\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[8,16]}}",
       "twice"},
      {"not_json", "{\"w\": nope}", "JSON"},
      {"trailing", "{} x", "JSON"},
      {"array", "[1, 2]", "JSON"},
  };
  unsigned char buf[512];
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    const char *path = testutil_path(dir, cases[c].name);
    write_bytes(path, buf, make_safetensors(buf, cases[c].json, data, sizeof data));
    nnc_tensor_set set;
    nnc_status st = {0};
    assert_failure(nnc_safetensors_read(path, &set, &st), &st, NNC_ERR_DATA, path, cases[c].what);
    ck_assert_int_eq(set.n, 0);
    ck_assert_ptr_null(set.items);
  }

  /* A header length larger than the file, and a file shorter than 8 bytes. */
  nnc_tensor_set set;
  nnc_status st = {0};
  const char *long_header = testutil_path(dir, "long_header.safetensors");
  size_t n = make_safetensors(buf, "{}", NULL, 0);
  buf[0] = 200;
  write_bytes(long_header, buf, n);
  assert_failure(nnc_safetensors_read(long_header, &set, &st), &st, NNC_ERR_DATA, long_header,
                 "header length");
  const char *tiny = testutil_path(dir, "tiny.safetensors");
  write_bytes(tiny, "abc", 3);
  assert_failure(nnc_safetensors_read(tiny, &set, &st), &st, NNC_ERR_DATA, tiny, "too short");
}
END_TEST

/* What the reference parser (huggingface safetensors, Rust crate:
 * SafeTensors::read_metadata and Metadata::validate) refuses, each file built
 * byte by byte: sorted by offset, the tensors must tile the data section
 * exactly, and the header must be a UTF-8 JSON object of at most 100,000,000
 * bytes whose __metadata__ maps strings to strings. */
START_TEST(test_safetensors_rejects_what_the_reference_rejects) {
  const char *dir = testutil_tmpdir();
  const unsigned char data[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  struct {
    const char *name;
    const char *json;
    size_t data_len;
    const char *what;
  } cases[] = {
      {"overlap",
       "{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]},"
       "\"b\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[4,12]}}",
       12, "overlap those of tensor 'a'"},
      {"same_span",
       "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
       "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}",
       4, "overlap"},
      {"gap",
       "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
       "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[8,12]}}",
       12, "leave the bytes [4, 8)"},
      {"leading_gap", "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]}}", 8,
       "leave the bytes [0, 4)"},
      {"trailing", "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 5,
       "1 unexpected bytes after the 4-byte data section"},
      {"no_tensors_trailing", "{}", 1, "unexpected bytes"},
      {"short_data", "{\"a\":{\"dtype\":\"I32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 15,
       "outside the 15-byte data section"},
      {"meta_number",
       "{\"__metadata__\":{\"format\":\"pt\",\"epoch\":3},"
       "\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}",
       4, "'__metadata__' must map names to strings"},
      {"meta_list", "{\"__metadata__\":[\"pt\"]}", 0, "'__metadata__' must map"},
      {"meta_nested", "{\"__metadata__\":{\"x\":{\"y\":\"z\"}}}", 0, "'__metadata__' must map"},
      {"duplicate_meta", "{\"__metadata__\":{},\"__metadata__\":{}}", 0, "twice"},
      {"not_utf8", "{\"\xff\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4,
       "UTF-8"},
      {"overlong_utf8", "{\"\xc0\xaf\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4,
       "UTF-8"},
      {"span_vs_shape", "{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
       "span 4 bytes"},
  };
  unsigned char buf[512];
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    const char *path = testutil_path(dir, cases[c].name);
    write_bytes(path, buf, make_safetensors(buf, cases[c].json, data, cases[c].data_len));
    nnc_tensor_set set;
    nnc_status st = {0};
    assert_failure(nnc_safetensors_read(path, &set, &st), &st, NNC_ERR_DATA, path, cases[c].what);
    ck_assert_int_eq(set.n, 0);
  }

  /* Accepted as the reference accepts them: null metadata, UTF-8 names, zero-size
   * tensors sharing an offset, and tiling in any header order. */
  const char *ok_json =
      "{\"__metadata__\":null,\"\xc3\xa9t\xc3\xa9\":{\"dtype\":\"U8\",\"shape\":[2],"
      "\"data_offsets\":[2,4]},\"e1\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[2,2]},"
      "\"e0\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[0,0]},"
      "\"first\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}";
  const char *ok_path = testutil_path(dir, "ok.safetensors");
  write_bytes(ok_path, buf, make_safetensors(buf, ok_json, data, 4));
  nnc_tensor_set set;
  nnc_status st = {0};
  ck_assert_msg(nnc_safetensors_read(ok_path, &set, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(set.n, 4);
  ck_assert_mem_eq(nnc_tensor_set_find(&set, "\xc3\xa9t\xc3\xa9")->data, data + 2, 2);
  ck_assert_mem_eq(nnc_tensor_set_find(&set, "first")->data, data, 2);
  nnc_tensor_set_free(&set);

  /* A header length one over the limit, in a (sparse) file long enough to hold
   * it: refused for the limit, before anything is read. */
  const char *over = testutil_path(dir, "over_limit.safetensors");
  uint64_t over_len = 100000001;
  for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(over_len >> (8 * i));
  write_bytes(over, buf, 8);
  ck_assert_int_eq(truncate(over, (off_t)(8 + over_len)), 0);
  assert_failure(nnc_safetensors_read(over, &set, &st), &st, NNC_ERR_DATA, over,
                 "over the limit of 100000000 bytes");
}
END_TEST

/* What cJSON would let through although the reference parser (serde reading
 * usize and String) refuses it: numbers that are not plain non-negative
 * integers, and names holding a NUL, which cJSON cuts at the NUL. Each file is
 * built byte by byte. */
START_TEST(test_safetensors_refuses_what_cjson_hides) {
  const char *dir = testutil_tmpdir();
  const unsigned char data[4] = {1, 2, 3, 4};
  struct {
    const char *name;
    const char *json;
    const char *what;
  } cases[] = {
      {"shape_1.0", "{\"w\":{\"dtype\":\"U8\",\"shape\":[4.0],\"data_offsets\":[0,4]}}",
       "tensor 'w': 'shape' holds the number 4.0"},
      {"shape_exp", "{\"w\":{\"dtype\":\"U8\",\"shape\":[4e0],\"data_offsets\":[0,4]}}",
       "'shape' holds the number 4e0"},
      {"shape_EXP", "{\"w\":{\"dtype\":\"U8\",\"shape\":[4E+0],\"data_offsets\":[0,4]}}",
       "'shape' holds the number 4E+0"},
      {"shape_near",
       "{\"w\":{\"dtype\":\"U8\",\"shape\":[4.0000000000000001],"
       "\"data_offsets\":[0,4]}}",
       "'shape' holds the number 4.0000000000000001"},
      {"offset_exp", "{\"w\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,0.4e1]}}",
       "tensor 'w': 'data_offsets' holds the number 0.4e1"},
      {"offset_minus0", "{\"w\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[-0,4]}}",
       "'data_offsets' holds the number -0"},
      {"offset_leading0", "{\"w\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,04]}}",
       "'data_offsets' holds the number 04"},
      {"offset_00", "{\"w\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[00,4]}}",
       "holds the number 00"},
      {"nul_name", "{\"w\\u0000evil\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}",
       "escaped NUL"},
      {"nul_dtype", "{\"w\":{\"dtype\":\"U8\\u0000x\",\"shape\":[4],\"data_offsets\":[0,4]}}",
       "escaped NUL"},
      {"nul_meta",
       "{\"__metadata__\":{\"k\":\"\\u0000\"},"
       "\"w\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}",
       "escaped NUL"},
      {"nul_after_backslash",
       "{\"w\\\\\\u0000\":{\"dtype\":\"U8\",\"shape\":[4],"
       "\"data_offsets\":[0,4]}}",
       "escaped NUL"},
      {"entry_number", "{\"w\":1.5}", "tensor 'w' holds the number 1.5"},
      {"raw_tab", "{\"w\tx\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}",
       "control character 0x09"},
  };
  unsigned char buf[512];
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    const char *path = testutil_path(dir, cases[c].name);
    write_bytes(path, buf, make_safetensors(buf, cases[c].json, data, sizeof data));
    nnc_tensor_set set;
    nnc_status st = {0};
    assert_failure(nnc_safetensors_read(path, &set, &st), &st, NNC_ERR_DATA, path, cases[c].what);
    ck_assert_int_eq(set.n, 0);
  }

  /* A raw NUL byte inside a name: "w" NUL "x" would load as "w". */
  const char raw[] = "{\"w\0x\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}";
  size_t raw_len = sizeof raw - 1;
  for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)raw_len >> (8 * i));
  memcpy(buf + 8, raw, raw_len);
  memcpy(buf + 8 + raw_len, data, sizeof data);
  const char *raw_path = testutil_path(dir, "raw_nul");
  write_bytes(raw_path, buf, 8 + raw_len + sizeof data);
  nnc_tensor_set set;
  nnc_status st = {0};
  assert_failure(nnc_safetensors_read(raw_path, &set, &st), &st, NNC_ERR_DATA, raw_path,
                 "control character 0x00");

  /* Accepted: 0 and multi-digit integers, an escaped backslash followed by the
   * text "u0000" (the name is w\u0000, 7 bytes) and numbers-looking strings. */
  const char *ok_json =
      "{\"__metadata__\":{\"v\":\"1.0e-01\"},\"w\\\\u0000\":{\"dtype\":\"U8\",\"shape\":[0],"
      "\"data_offsets\":[0,0]},\"x10\":{\"dtype\":\"U8\",\"shape\":[1,4],"
      "\"data_offsets\":[0,4]}}";
  const char *ok_path = testutil_path(dir, "ok_numbers");
  write_bytes(ok_path, buf, make_safetensors(buf, ok_json, data, sizeof data));
  ck_assert_msg(nnc_safetensors_read(ok_path, &set, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(set.n, 2);
  ck_assert_ptr_nonnull(nnc_tensor_set_find(&set, "w\\u0000"));
  ck_assert_mem_eq(nnc_tensor_set_find(&set, "x10")->data, data, 4);
  nnc_tensor_set_free(&set);
}
END_TEST

/* The shared scan (base/json_scan.c) on its own: an escape is a
 * backslash and the next character, so only an odd run of backslashes before
 * "u0000" makes a NUL. */
START_TEST(test_json_text_has_nul_escape) {
  struct {
    const char *text;
    int nul;
  } cases[] = {
      {"\"a\\u0000b\"", 1},
      {"\"\\u0000\"", 1},
      {"\"\\\\u0000\"", 0},
      {"\"\\\\\\u0000\"", 1},
      {"\"\\\\\\\\u0000\"", 0},
      {"\"\\u00001\"", 1},
      {"\"\\u0001\"", 0},
      {"\"\\u000\"", 0},
      {"\"\\U0000\"", 0},
      {"\"\\\"u0000\"", 0},
      {"\"u0000\"", 0},
      {"", 0},
      {"\\", 0},
      {"\"\\u00\"", 0},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
    ck_assert_msg(json_text_has_nul_escape(cases[c].text, strlen(cases[c].text)) == cases[c].nul,
                  "case %zu: %s", c, cases[c].text);
  /* Only len bytes are looked at. */
  ck_assert_int_eq(json_text_has_nul_escape("\\u0000", 5), 0);
  ck_assert_int_eq(json_text_has_nul_escape("\\u0000", 6), 1);
  ck_assert_int_eq(json_text_has_nul_escape(NULL, 0), 0);
}
END_TEST

START_TEST(test_safetensors_write_rejects_bad_sets) {
  const int64_t shape[1] = {2};
  nnc_array a = pattern_array(NNC_F32, 1, shape, 0);
  nnc_named_array items[2] = {{.name = "x", .array = a}, {.name = "x", .array = a}};
  nnc_tensor_set dup = {2, items};
  const char *path = testutil_path(testutil_tmpdir(), "dup.safetensors");
  nnc_status st = {0};
  assert_failure(nnc_safetensors_write(path, &dup, &st), &st, NNC_ERR_ARG, path, "'x'");
  nnc_named_array reserved[1] = {{.name = "__metadata__", .array = a}};
  nnc_tensor_set meta = {1, reserved};
  assert_failure(nnc_safetensors_write(path, &meta, &st), &st, NNC_ERR_ARG, path, "reserved");
  struct stat sb;
  ck_assert_int_ne(stat(path, &sb), 0);

  /* An empty set is a valid file with only the metadata. */
  nnc_tensor_set empty = {0};
  ck_assert_int_eq(nnc_safetensors_write(path, &empty, &st), NNC_OK);
  nnc_tensor_set back;
  ck_assert_int_eq(nnc_safetensors_read(path, &back, &st), NNC_OK);
  ck_assert_int_eq(back.n, 0);
  nnc_tensor_set_free(&back);
  free(a.data);
}
END_TEST

/* ---- tensor sets ---- */

START_TEST(test_tensor_set_add_find_free) {
  const int64_t shape[2] = {2, 2};
  nnc_array a = pattern_array(NNC_I32, 2, shape, 0);
  nnc_tensor_set set = {0};
  nnc_status st = {0};
  ck_assert_int_eq(nnc_tensor_set_add(&set, "first", &a, &st), NNC_OK);
  ((int32_t *)a.data)[0] = 12345; /* the set holds its own copy */
  ck_assert_int_eq(nnc_tensor_set_add(&set, "second", &a, &st), NNC_OK);
  ck_assert_int_eq(set.n, 2);

  const nnc_array *first = nnc_tensor_set_find(&set, "first");
  ck_assert_ptr_nonnull(first);
  ck_assert_ptr_ne(first->data, a.data);
  ck_assert_int_ne(((int32_t *)first->data)[0], 12345);
  ck_assert_int_eq(((int32_t *)nnc_tensor_set_find(&set, "second")->data)[0], 12345);
  ck_assert_int_eq(first->shape[1], 2);
  ck_assert_ptr_null(nnc_tensor_set_find(&set, "third"));

  assert_failure(nnc_tensor_set_add(&set, "first", &a, &st), &st, NNC_ERR_ARG, "first", "already");
  char long_name[300];
  memset(long_name, 'n', sizeof long_name - 1);
  long_name[sizeof long_name - 1] = '\0';
  ck_assert_int_eq(nnc_tensor_set_add(&set, long_name, &a, &st), NNC_ERR_ARG);
  ck_assert_int_eq(nnc_tensor_set_add(&set, "", &a, &st), NNC_ERR_ARG);
  nnc_array bad = a;
  bad.rank = -2;
  ck_assert_int_eq(nnc_tensor_set_add(&set, "bad", &bad, &st), NNC_ERR_ARG);
  ck_assert_int_eq(set.n, 2);

  nnc_tensor_set_free(&set);
  ck_assert_int_eq(set.n, 0);
  ck_assert_ptr_null(set.items);
  nnc_tensor_set_free(&set); /* twice is harmless */
  free(a.data);
}
END_TEST

static Suite *io_suite(void) {
  Suite *s = suite_create("io");
  TCase *tc = tcase_create("io");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_array_count_and_sizes);
  tcase_add_test(tc, test_array_to_f32_every_dtype);
  tcase_add_test(tc, test_npy_roundtrip_every_dtype_and_rank);
  tcase_add_test(tc, test_npy_reads_hand_built_headers);
  tcase_add_test(tc, test_npy_rejects_malformed_files);
  tcase_add_test(tc, test_npy_write_rejects_malformed_array);
  tcase_add_test(tc, test_oracle_npy);
  tcase_add_test(tc, test_write_into_missing_directory_fails_cleanly);
  tcase_add_test(tc, test_failed_overwrite_keeps_old_file);
  tcase_add_test(tc, test_fashion_mnist_labels);
  tcase_add_test(tc, test_fashion_mnist_images);
  tcase_add_test(tc, test_idx_plain_every_type);
  tcase_add_test(tc, test_idx_rejects_malformed_files);
  tcase_add_test(tc, test_safetensors_roundtrip);
  tcase_add_test(tc, test_safetensors_reads_hand_built_file);
  tcase_add_test(tc, test_safetensors_rejects_malformed_files);
  tcase_add_test(tc, test_safetensors_rejects_what_the_reference_rejects);
  tcase_add_test(tc, test_safetensors_refuses_what_cjson_hides);
  tcase_add_test(tc, test_json_text_has_nul_escape);
  tcase_add_test(tc, test_safetensors_write_rejects_bad_sets);
  tcase_add_test(tc, test_tensor_set_add_find_free);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return testutil_run(io_suite());
}
