/* Unit tests for runtime/io/npz.c against archives made by Python's zipfile
 * exactly as numpy's np.savez / np.savez_compressed make them
 * (npz_fixtures.h, from make_npz_fixtures.py): reading stored and deflated
 * members, from a file and from a pipe; the writer's bytes equal Python's;
 * damaged archives are refused with messages naming the file and member. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "base/base.h"
#include "npz_fixtures.h"
#include "runtime/io/io.h"
#include "testutil.h"

static void write_bytes(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  ck_assert_msg(f != NULL, "cannot create %s", path);
  ck_assert_uint_eq(fwrite(data, 1, len, f), len);
  ck_assert_int_eq(fclose(f), 0);
}

static unsigned char *read_bytes(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  size_t cap = 4096, n = 0, got;
  unsigned char *buf = malloc(cap);
  while ((got = fread(buf + n, 1, cap - n, f)) > 0)
    if ((n += got) == cap) buf = realloc(buf, cap *= 2);
  fclose(f);
  *len = n;
  return buf;
}

/* The fixtures' arrays: x float32 [2,3] = 0, 0.5, ..., 2.5; y int64 [2] = 3, -1. */
static void assert_x_and_y(const nnc_tensor_set *set) {
  const nnc_array *x = nnc_tensor_set_find(set, "x"), *y = nnc_tensor_set_find(set, "y");
  ck_assert_ptr_nonnull(x);
  ck_assert_ptr_nonnull(y);
  ck_assert_str_eq(set->items[0].name, "x"); /* archive order */
  ck_assert_str_eq(set->items[1].name, "y");
  ck_assert_int_eq(x->dtype, NNC_F32);
  ck_assert_int_eq(x->rank, 2);
  ck_assert_int_eq(x->shape[0], 2);
  ck_assert_int_eq(x->shape[1], 3);
  for (int i = 0; i < 6; i++) ck_assert_float_eq(((float *)x->data)[i], 0.5f * (float)i);
  ck_assert_int_eq(y->dtype, NNC_I64);
  ck_assert_int_eq(y->rank, 1);
  ck_assert_int_eq(y->shape[0], 2);
  ck_assert_int_eq(((int64_t *)y->data)[0], 3);
  ck_assert_int_eq(((int64_t *)y->data)[1], -1);
}

START_TEST(test_reads_stored_members) {
  const char *path = testutil_path(testutil_tmpdir(), "stored.npz");
  write_bytes(path, npz_stored, sizeof npz_stored);
  nnc_tensor_set set;
  nnc_status st;
  ck_assert_msg(nnc_npz_read(path, &set, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(set.n, 2);
  assert_x_and_y(&set);
  nnc_tensor_set_free(&set);
}
END_TEST

START_TEST(test_reads_deflated_members) {
  const char *path = testutil_path(testutil_tmpdir(), "deflated.npz");
  write_bytes(path, npz_deflated, sizeof npz_deflated);
  nnc_tensor_set set;
  nnc_status st;
  ck_assert_msg(nnc_npz_read(path, &set, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(set.n, 3);
  assert_x_and_y(&set);
  const nnc_array *big = nnc_tensor_set_find(&set, "big");
  ck_assert_ptr_nonnull(big);
  ck_assert_int_eq(big->shape[0], 300);
  ck_assert_int_eq(big->shape[1], 4);
  for (int i = 0; i < 1200; i++) ck_assert_float_eq(((float *)big->data)[i], (float)(i % 4 + 1));
  nnc_tensor_set_free(&set);
}
END_TEST

/* A pipe is read front to back once: no seeking to the central directory. */
START_TEST(test_reads_from_a_pipe) {
  const char *fifo = testutil_path(testutil_tmpdir(), "pipe.npz");
  unlink(fifo);
  ck_assert_int_eq(mkfifo(fifo, 0600), 0);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    FILE *f = fopen(fifo, "wb");
    size_t put = f ? fwrite(npz_deflated, 1, sizeof npz_deflated, f) : 0;
    _exit(f && put == sizeof npz_deflated && fclose(f) == 0 ? 0 : 1);
  }
  nnc_tensor_set set;
  nnc_status st;
  int rc = nnc_npz_read(fifo, &set, &st);
  int status = 0;
  waitpid(pid, &status, 0);
  ck_assert_msg(rc == NNC_OK, "%s", st.message);
  ck_assert_int_eq(set.n, 3);
  assert_x_and_y(&set);
  nnc_tensor_set_free(&set);
}
END_TEST

START_TEST(test_data_read_tells_npz_from_npy) {
  const char *dir = testutil_tmpdir();
  const char *npz = testutil_path(dir, "one.npz");
  write_bytes(npz, npz_arr0, sizeof npz_arr0);
  nnc_tensor_set set;
  nnc_status st;
  int is_npz = -1;
  ck_assert_msg(nnc_data_read(npz, &set, &is_npz, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(is_npz, 1);
  ck_assert_int_eq(set.n, 1);
  ck_assert_str_eq(set.items[0].name, "arr_0"); /* np.savez(f, y): an unnamed array */
  nnc_tensor_set_free(&set);

  const char *npy = testutil_path(dir, "one.npy");
  float v[3] = {1, 2, 3};
  nnc_array a = {.dtype = NNC_F32, .rank = 1, .shape = {3}, .data = v};
  ck_assert_int_eq(nnc_npy_write(npy, &a, &st), NNC_OK);
  ck_assert_msg(nnc_data_read(npy, &set, &is_npz, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(is_npz, 0);
  ck_assert_int_eq(set.n, 1);
  ck_assert_str_eq(set.items[0].name, "");
  ck_assert_mem_eq(set.items[0].array.data, v, sizeof v);
  nnc_tensor_set_free(&set);

  /* the single-array reader says what a .npz is instead of "unknown magic" */
  nnc_array b;
  ck_assert_int_eq(nnc_array_read(npz, &b, &st), NNC_ERR_DATA);
  ck_assert_msg(strstr(st.message, ".npz") && strstr(st.message, npz), "%s", st.message);
}
END_TEST

/* The writer lays out a stored archive byte for byte as numpy (Python's
 * zipfile) does for the same arrays. */
START_TEST(test_write_equals_numpy_bytes) {
  float xv[6] = {0, 0.5f, 1, 1.5f, 2, 2.5f};
  int64_t yv[2] = {3, -1};
  nnc_array x = {.dtype = NNC_F32, .rank = 2, .shape = {2, 3}, .data = xv};
  nnc_array y = {.dtype = NNC_I64, .rank = 1, .shape = {2}, .data = yv};
  nnc_tensor_set set = {0};
  nnc_status st;
  ck_assert_int_eq(nnc_tensor_set_add(&set, "x", &x, &st), NNC_OK);
  ck_assert_int_eq(nnc_tensor_set_add(&set, "y", &y, &st), NNC_OK);
  const char *path = testutil_path(testutil_tmpdir(), "written.npz");
  ck_assert_msg(nnc_npz_write(path, &set, &st) == NNC_OK, "%s", st.message);
  size_t len;
  unsigned char *bytes = read_bytes(path, &len);
  ck_assert_uint_eq(len, sizeof npz_stored);
  for (size_t i = 0; i < len; i++)
    ck_assert_msg(bytes[i] == npz_stored[i], "byte %zu: 0x%02x, numpy wrote 0x%02x", i, bytes[i],
                  npz_stored[i]);
  free(bytes);
  nnc_tensor_set back;
  ck_assert_msg(nnc_npz_read(path, &back, &st) == NNC_OK, "%s", st.message);
  assert_x_and_y(&back);
  nnc_tensor_set_free(&back);
  nnc_tensor_set_free(&set);
}
END_TEST

START_TEST(test_write_refuses_unnamed_and_doubled_arrays) {
  float v = 1;
  nnc_array a = {.dtype = NNC_F32, .rank = 1, .shape = {1}, .data = &v};
  nnc_named_array items[2] = {{.name = "p", .array = a}, {.name = "p", .array = a}};
  nnc_tensor_set set = {2, items};
  nnc_status st;
  const char *path = testutil_path(testutil_tmpdir(), "bad.npz");
  ck_assert_int_eq(nnc_npz_write(path, &set, &st), NNC_ERR_ARG);
  ck_assert_msg(strstr(st.message, "two arrays named 'p'"), "%s", st.message);
  items[1].name[0] = '\0';
  ck_assert_int_eq(nnc_npz_write(path, &set, &st), NNC_ERR_ARG);
  ck_assert_msg(strstr(st.message, "without a name"), "%s", st.message);
  ck_assert_int_ne(access(path, F_OK), 0); /* nothing written */
}
END_TEST

/* Offsets in npz_stored: the local header of x.npy is 30 bytes + 5 of name
 * + 20 of ZIP64 extra, then 152 bytes of .npy (a 128-byte header + 24 of data). */
enum { X_NAME = 30, X_DATA = 30 + 5 + 20, X_NPY = 152 };

static void expect_refused(const unsigned char *bytes, size_t len, const char *file,
                           const char *what) {
  const char *path = testutil_path(testutil_tmpdir(), file);
  write_bytes(path, bytes, len);
  nnc_tensor_set set;
  nnc_status st;
  int rc = nnc_npz_read(path, &set, &st);
  ck_assert_msg(rc == NNC_ERR_DATA, "%s: rc %d (%s)", file, rc, st.message);
  ck_assert_msg(strstr(st.message, path) != NULL, "%s: no path in '%s'", file, st.message);
  ck_assert_msg(strstr(st.message, what) != NULL, "%s: '%s' lacks '%s'", file, st.message, what);
  ck_assert_int_eq(set.n, 0);
  ck_assert_ptr_null(set.items);
}

START_TEST(test_refuses_damaged_archives) {
  unsigned char b[sizeof npz_deflated + 16];
  size_t n = sizeof npz_stored;
  /* sanity of the offsets used below */
  ck_assert_mem_eq(npz_stored + X_NAME, "x.npy", 5);
  ck_assert_mem_eq(npz_stored + X_DATA, "\x93NUMPY", 6);

  memcpy(b, npz_stored, n);
  b[X_DATA + X_NPY - 1] ^= 0x40; /* a data byte of x */
  expect_refused(b, n, "crc.npz", "member 'x.npy' is damaged (CRC-32");

  expect_refused(npz_stored, X_DATA + 50, "cut_in_data.npz", "member 'x.npy' truncated");
  expect_refused(npz_stored, n - 10, "cut_in_end.npz", "truncated .npz file (in the end record)");
  expect_refused(npz_deflated, 200, "cut_deflate.npz", "truncated");

  memcpy(b, npz_stored, n);
  memcpy(b + n, "junk", 4);
  expect_refused(b, n + 4, "trailing.npz", "unexpected bytes after the end of the zip archive");

  memcpy(b, npz_stored, n);
  memcpy(b + X_NAME, "x.txt", 5);
  expect_refused(b, n, "not_npy.npz", "member 'x.txt' is not a .npy file");

  memcpy(b, npz_stored, n);
  {
    /* y.npy's local header starts after x's data */
    size_t y_name = X_DATA + X_NPY + 30;
    ck_assert_mem_eq(b + y_name, "y.npy", 5);
    b[y_name] = 'x';
    expect_refused(b, n, "doubled.npz", "member 'x.npy' appears twice");
  }

  memcpy(b, npz_stored, n);
  b[6] |= 1 << 3; /* general purpose flag bit 3: sizes in a data descriptor */
  expect_refused(b, n, "descriptor.npz", "has its sizes after its data");

  memcpy(b, npz_stored, n);
  b[6] |= 1; /* encrypted */
  expect_refused(b, n, "encrypted.npz", "member 'x.npy' is encrypted");

  memcpy(b, npz_stored, n);
  b[8] = 12; /* bzip2 */
  expect_refused(b, n, "bzip2.npz", "compression method 12");

  /* deflated: x.npy announces one byte less than it inflates to (the ZIP64
   * extra's uncompressed size, 8 bytes at offset 30 + 5 + 4) */
  size_t d = sizeof npz_deflated;
  memcpy(b, npz_deflated, d);
  b[X_NAME + 5 + 4] -= 1;
  expect_refused(b, d, "inflates_past.npz", "inflates past its 151 announced bytes");

  /* a forged size: refused from the file's length, before anything is allocated */
  memcpy(b, npz_stored, n);
  b[X_NAME + 5 + 4 + 5] = 1;  /* uncompressed size + 2^40 */
  b[X_NAME + 5 + 12 + 5] = 1; /* compressed size + 2^40 */
  expect_refused(b, n, "forged.npz",
                 "member 'x.npy' truncated: 1099511627928 bytes announced, 475 left");

  expect_refused((const unsigned char *)"PK\x01\x02 not a zip", 14, "no_zip.npz",
                 "not a .npz file");
}
END_TEST

/* ---- an archive with every ZIP64 record, as zipfile writes one past 4 GiB
 * or 65535 members: sizes and offset only in ZIP64 extra fields, a ZIP64
 * end record and locator, 0xFFFF counts in the end record (built from
 * APPNOTE 4.3.14-4.3.16 and 4.5.3; x.npy taken from the numpy fixture) ---- */

static size_t put_le(unsigned char *p, size_t at, uint64_t v, int n) {
  for (int i = 0; i < n; i++) p[at + (size_t)i] = (unsigned char)(v >> (8 * i));
  return at + (size_t)n;
}

static size_t zip64_archive(unsigned char *b, uint64_t zip64_count) {
  const unsigned char *npy = npz_stored + X_DATA;
  uint64_t crc = (uint64_t)npz_stored[14] | (uint64_t)npz_stored[15] << 8 |
                 (uint64_t)npz_stored[16] << 16 | (uint64_t)npz_stored[17] << 24;
  size_t at = 0;
  at = put_le(b, at, 0x04034b50, 4); /* local header */
  at = put_le(b, at, 45, 2);
  at = put_le(b, at, 0, 2);
  at = put_le(b, at, 0, 2);
  at = put_le(b, at, 0, 2);
  at = put_le(b, at, 0x21, 2);
  at = put_le(b, at, crc, 4);
  at = put_le(b, at, 0xffffffff, 4);
  at = put_le(b, at, 0xffffffff, 4);
  at = put_le(b, at, 5, 2);
  at = put_le(b, at, 20, 2);
  memcpy(b + at, "x.npy", 5), at += 5;
  at = put_le(b, at, 1, 2);
  at = put_le(b, at, 16, 2);
  at = put_le(b, at, X_NPY, 8);
  at = put_le(b, at, X_NPY, 8);
  memcpy(b + at, npy, X_NPY), at += X_NPY;
  size_t dir = at;
  at = put_le(b, at, 0x02014b50, 4); /* central directory */
  at = put_le(b, at, 0x032d, 2);
  at = put_le(b, at, 45, 2);
  at = put_le(b, at, 0, 2);
  at = put_le(b, at, 0, 2);
  at = put_le(b, at, 0, 2);
  at = put_le(b, at, 0x21, 2);
  at = put_le(b, at, crc, 4);
  at = put_le(b, at, 0xffffffff, 4);
  at = put_le(b, at, 0xffffffff, 4);
  at = put_le(b, at, 5, 2);
  at = put_le(b, at, 28, 2);
  for (int i = 0; i < 4; i++) at = put_le(b, at, 0, i == 3 ? 4 : 2); /* comment, disk, int, ext */
  at = put_le(b, at, 0xffffffff, 4);
  memcpy(b + at, "x.npy", 5), at += 5;
  at = put_le(b, at, 1, 2);
  at = put_le(b, at, 24, 2);
  at = put_le(b, at, X_NPY, 8); /* uncompressed, compressed, local header offset */
  at = put_le(b, at, X_NPY, 8);
  at = put_le(b, at, 0, 8);
  size_t end64 = at;
  at = put_le(b, at, 0x06064b50, 4); /* ZIP64 end record */
  at = put_le(b, at, 44, 8);
  at = put_le(b, at, 0x032d, 2);
  at = put_le(b, at, 45, 2);
  at = put_le(b, at, 0, 4);
  at = put_le(b, at, 0, 4);
  at = put_le(b, at, zip64_count, 8);
  at = put_le(b, at, zip64_count, 8);
  at = put_le(b, at, end64 - dir, 8);
  at = put_le(b, at, dir, 8);
  at = put_le(b, at, 0x07064b50, 4); /* ZIP64 end locator */
  at = put_le(b, at, 0, 4);
  at = put_le(b, at, end64, 8);
  at = put_le(b, at, 1, 4);
  at = put_le(b, at, 0x06054b50, 4); /* end record */
  at = put_le(b, at, 0, 2);
  at = put_le(b, at, 0, 2);
  at = put_le(b, at, 0xffff, 2);
  at = put_le(b, at, 0xffff, 2);
  at = put_le(b, at, 0xffffffff, 4);
  at = put_le(b, at, 0xffffffff, 4);
  at = put_le(b, at, 0, 2);
  return at;
}

START_TEST(test_reads_zip64_records) {
  unsigned char b[1024];
  size_t n = zip64_archive(b, 1);
  const char *path = testutil_path(testutil_tmpdir(), "zip64.npz");
  write_bytes(path, b, n);
  nnc_tensor_set set;
  nnc_status st;
  ck_assert_msg(nnc_npz_read(path, &set, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(set.n, 1);
  ck_assert_str_eq(set.items[0].name, "x");
  ck_assert_int_eq(set.items[0].array.shape[1], 3);
  ck_assert_float_eq(((float *)set.items[0].array.data)[5], 2.5f);
  nnc_tensor_set_free(&set);
  n = zip64_archive(b, 2);
  expect_refused(b, n, "zip64_count.npz", "the ZIP64 end record counts 2 members, not 1");
}
END_TEST

/* A member whose .npy is malformed: the .npy reader's message names the
 * archive and the member. */
START_TEST(test_member_npy_errors_name_the_member) {
  unsigned char b[sizeof npz_stored];
  memcpy(b, npz_stored, sizeof b);
  /* 'fortran_order': False -> True; the CRC would catch it, so fix the CRC too */
  unsigned char *npy = b + X_DATA;
  char *f = strstr((char *)npy + 10, "False");
  ck_assert_ptr_nonnull(f);
  memcpy(f, "True,", 5);
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, npy, X_NPY);
  for (int i = 0; i < 4; i++) b[14 + i] = (unsigned char)(crc >> (8 * i));
  /* the central directory keeps the old CRC: the member itself is read first */
  const char *path = testutil_path(testutil_tmpdir(), "fortran.npz");
  write_bytes(path, b, sizeof b);
  nnc_tensor_set set;
  nnc_status st;
  ck_assert_int_eq(nnc_npz_read(path, &set, &st), NNC_ERR_DATA);
  ck_assert_msg(strstr(st.message, "(member 'x.npy')") && strstr(st.message, path), "%s",
                st.message);
}
END_TEST

static Suite *npz_suite(void) {
  Suite *s = suite_create("npz");
  TCase *tc = tcase_create("npz");
  tcase_add_test(tc, test_reads_stored_members);
  tcase_add_test(tc, test_reads_deflated_members);
  tcase_add_test(tc, test_reads_from_a_pipe);
  tcase_add_test(tc, test_data_read_tells_npz_from_npy);
  tcase_add_test(tc, test_write_equals_numpy_bytes);
  tcase_add_test(tc, test_write_refuses_unnamed_and_doubled_arrays);
  tcase_add_test(tc, test_refuses_damaged_archives);
  tcase_add_test(tc, test_member_npy_errors_name_the_member);
  tcase_add_test(tc, test_reads_zip64_records);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return testutil_run(npz_suite());
}
