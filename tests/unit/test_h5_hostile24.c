/* Damaged HDF5 model files (session 24's breaker).
 *
 * 1. h5_heap_check (runtime/io/h5_heap_check.c) on HDF5 bytes built by hand
 * from the specification's layout: a superblock's sizes of offsets and
 * lengths, a global heap collection of two objects and the free space, and
 * a variable-length descriptor naming one of them. The file as built
 * passes; each one-field damage the breaker found crashing libhdf5 or
 * making it allocate gigabytes is refused, naming the byte.
 * 2. A Keras 3 weights file whose layer variables are not named 0, 1, ...
 * (Keras's load_own_variables reads store["0"], store["1"]): refused by
 * nnc_keras3_weights_read, where it used to sort "5" or "x" in. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "runtime/io/h5_api.h"
#include "runtime/io/h5_heap_check.h"
#include "runtime/io/io.h"
#include "testutil.h"

int nnc_keras3_weights_read(hid_t f, const char *label, const char *config_json,
                            const char *config_label, nnc_tensor_set *out, nnc_status *st);

enum { FILE_LEN = 4096, HEAP_AT = 1024, HEAP_LEN = 256, DESC_AT = 600 };

static void put_le(unsigned char *p, uint64_t v, int n) {
  for (int i = 0; i < n; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* superblock version 0 at byte 0 (offsets and lengths 8 bytes); a heap at
 * HEAP_AT: object 1 "model_config!" (13 bytes, padded to 16), object 2 of 3
 * bytes (padded to 8), then the free space; at DESC_AT a descriptor of
 * object 1 (13 elements). */
static void build(unsigned char *b) {
  memset(b, 0, FILE_LEN);
  memcpy(b, "\x89HDF\r\n\x1a\n", 8);
  b[13] = 8, b[14] = 8;
  unsigned char *h = b + HEAP_AT;
  memcpy(h, "GCOL\x01\0\0\0", 8);
  put_le(h + 8, HEAP_LEN, 8);
  unsigned char *o = h + 16;
  put_le(o, 1, 2), put_le(o + 2, 1, 2), put_le(o + 8, 13, 8);
  memcpy(o + 16, "model_config!", 13);
  o += 16 + 16;
  put_le(o, 2, 2), put_le(o + 2, 1, 2), put_le(o + 8, 3, 8);
  memcpy(o + 16, "abc", 3);
  o += 16 + 8;
  put_le(o, 0, 2), put_le(o + 8, (uint64_t)(h + HEAP_LEN - o), 8); /* free space */
  put_le(b + DESC_AT, 13, 4);
  put_le(b + DESC_AT + 4, HEAP_AT, 8);
  put_le(b + DESC_AT + 12, 1, 4);
}

static void expect_refused(const unsigned char *b, const char *what) {
  nnc_status st;
  memset(&st, 0, sizeof st);
  ck_assert_int_eq(h5_heap_check(b, FILE_LEN, "m.h5", &st), NNC_ERR_DATA);
  ck_assert_msg(strstr(st.message, what) && !strncmp(st.message, "m.h5: ", 6), "%s", st.message);
}

START_TEST(intact_file_passes) {
  static unsigned char b[FILE_LEN];
  build(b);
  nnc_status st;
  ck_assert_int_eq(h5_heap_check(b, FILE_LEN, "m.h5", &st), NNC_OK);
  /* a descriptor shorter than its object (a vlen sequence of wider
   * elements) and one naming no object pass too */
  put_le(b + DESC_AT, 3, 4);
  ck_assert_int_eq(h5_heap_check(b, FILE_LEN, "m.h5", &st), NNC_OK);
  put_le(b + DESC_AT, 99, 4), put_le(b + DESC_AT + 12, 7, 4);
  ck_assert_int_eq(h5_heap_check(b, FILE_LEN, "m.h5", &st), NNC_OK);
  /* no superblock: left to libhdf5 */
  build(b);
  b[0] = 0;
  put_le(b + HEAP_AT + 16 + 8, 1 << 20, 8);
  ck_assert_int_eq(h5_heap_check(b, FILE_LEN, "m.h5", &st), NNC_OK);
}
END_TEST

START_TEST(object_past_its_heap) {
  static unsigned char b[FILE_LEN];
  build(b);
  put_le(b + HEAP_AT + 16 + 8, 1 << 20, 8); /* object 1: 1 MiB */
  expect_refused(b, "object 1 of the global heap at byte 1024 claims 1048576 bytes");
  build(b);
  put_le(b + HEAP_AT + 16 + 8, UINT64_MAX - 3, 8); /* its padding would wrap */
  expect_refused(b, "object 1 of the global heap");
  build(b);
  put_le(b + HEAP_AT + 16 + 32 + 8, 200, 8); /* object 2 runs into the end */
  expect_refused(b, "object 2 of the global heap at byte 1024 claims 200 bytes");
}
END_TEST

START_TEST(heap_past_the_file) {
  static unsigned char b[FILE_LEN];
  build(b);
  put_le(b + HEAP_AT + 8, FILE_LEN, 8);
  expect_refused(b, "the global heap at byte 1024 claims 4096 bytes, past the end of the file");
  build(b);
  put_le(b + HEAP_AT + 8, 4, 8); /* smaller than its own header */
  expect_refused(b, "the global heap at byte 1024 claims 4 bytes");
}
END_TEST

START_TEST(descriptor_longer_than_its_object) {
  static unsigned char b[FILE_LEN];
  build(b);
  put_le(b + DESC_AT, 1u << 30, 4);
  expect_refused(b, "a variable-length value at byte 600 claims 1073741824 elements, its heap "
                    "object holds 13 bytes");
  build(b);
  put_le(b + DESC_AT, 14, 4); /* one byte more than stored */
  expect_refused(b, "claims 14 elements");
}
END_TEST

START_TEST(four_byte_fields) {
  /* superblock version 2 (sizes at bytes 9 and 10): offsets and lengths of
   * 4 bytes; the same heap and descriptor in that layout */
  static unsigned char b[FILE_LEN];
  memset(b, 0, FILE_LEN);
  memcpy(b, "\x89HDF\r\n\x1a\n", 8);
  b[8] = 2, b[9] = 4, b[10] = 4;
  unsigned char *h = b + HEAP_AT;
  memcpy(h, "GCOL\x01\0\0\0", 8);
  put_le(h + 8, 64, 4);
  unsigned char *o = h + 12;
  put_le(o, 1, 2), put_le(o + 8, 5, 4);
  memcpy(o + 12, "hello", 5);
  o += 12 + 8;
  put_le(o + 8, (uint64_t)(h + 64 - o), 4);
  put_le(b + DESC_AT, 5, 4), put_le(b + DESC_AT + 4, HEAP_AT, 4), put_le(b + DESC_AT + 8, 1, 4);
  nnc_status st;
  ck_assert_int_eq(h5_heap_check(b, FILE_LEN, "m.h5", &st), NNC_OK);
  put_le(b + DESC_AT, 6, 4);
  expect_refused(b, "claims 6 elements, its heap object holds 5 bytes");
}
END_TEST

START_TEST(free_space_and_indices) {
  static unsigned char b[FILE_LEN];
  build(b);
  unsigned char *free_obj = b + HEAP_AT + 16 + 32 + 24;
  put_le(free_obj + 8, 0, 8); /* libhdf5 would loop forever over it */
  expect_refused(b, "the free space of the global heap at byte 1024 claims 0 bytes, 184 are left");
  build(b);
  put_le(free_obj + 8, 16, 8); /* and read a forged object after it */
  expect_refused(b, "the free space of the global heap at byte 1024 claims 16 bytes");
  build(b);
  put_le(b + HEAP_AT + 16 + 32, 1, 2); /* object 2 numbered 1 too */
  expect_refused(b, "the global heap at byte 1024 holds object 1 twice");
}
END_TEST

START_TEST(user_block) {
  /* the same file after a 512-byte user block: addresses count from the
   * superblock, so the descriptor still says HEAP_AT */
  static unsigned char b[FILE_LEN], moved[FILE_LEN];
  build(b);
  memset(moved, 0, sizeof moved);
  memcpy(moved + 512, b, FILE_LEN - 512);
  nnc_status st;
  ck_assert_int_eq(h5_heap_check(moved, FILE_LEN, "m.h5", &st), NNC_OK);
  put_le(moved + 512 + DESC_AT, 1u << 30, 4);
  ck_assert_int_eq(h5_heap_check(moved, FILE_LEN, "m.h5", &st), NNC_ERR_DATA);
  ck_assert_msg(strstr(st.message, "at byte 1112 claims 1073741824 elements"), "%s", st.message);
}
END_TEST

/* A version-1 attribute message "model_config" at ATTR_AT: a scalar
 * variable-length string whose descriptor names object idx of the heap. */
enum { ATTR_AT = 2048 };
static void put_attribute(unsigned char *b, uint32_t idx) {
  unsigned char *m = b + ATTR_AT;
  m[0] = 1;
  put_le(m + 2, 13, 2), put_le(m + 4, 16, 2), put_le(m + 6, 8, 2); /* name, type, space sizes */
  memcpy(m + 8, "model_config", 13);
  unsigned char *dt = m + 8 + 16;
  dt[0] = 0x19, dt[1] = 0x01; /* version 1, class 9 (variable-length); a string */
  unsigned char *ds = dt + 16;
  ds[0] = 1, ds[1] = 0; /* version 1, rank 0: a scalar */
  unsigned char *d = ds + 8;
  put_le(d, 13, 4), put_le(d + 4, HEAP_AT, 8), put_le(d + 12, idx, 4);
}

START_TEST(overlapping_attribute_messages) {
  /* two "model_config" messages, the second inside the first's data (a
   * rank-1 space of 130 strings each): the first's strings run into the
   * second's header and name no object; refused before libhdf5 reads any
   * (the check also stops once the messages claim more strings than the
   * file's bytes hold, 256 here, so many such messages cost no more than
   * one pass) */
  static unsigned char b[FILE_LEN];
  build(b);
  for (int k = 0; k < 2; k++) {
    unsigned char *m = b + 1400 + 64 * k;
    memset(m, 0, 64);
    m[0] = 1;
    put_le(m + 2, 13, 2), put_le(m + 4, 16, 2), put_le(m + 6, 16, 2);
    memcpy(m + 8, "model_config", 13);
    m[24] = 0x19, m[25] = 0x01;
    m[40] = 1, m[41] = 1; /* version 1, rank 1 */
    put_le(m + 48, 130, 8);
  }
  expect_refused(b, "attribute 'model_config' (byte 1400): string 1 names object");
}
END_TEST

START_TEST(attribute_names_a_missing_object) {
  static unsigned char b[FILE_LEN];
  build(b);
  put_attribute(b, 1);
  nnc_status st;
  ck_assert_int_eq(h5_heap_check(b, FILE_LEN, "m.h5", &st), NNC_OK);
  put_attribute(b, 100000); /* libhdf5 indexed its object table with it: a crash */
  expect_refused(b, "attribute 'model_config' (byte 2048): string 0 names object 100000 of a "
                    "global heap at 1024 the file does not hold");
}
END_TEST

/* layers/dense/vars/{names[0], names[1]} (a [3, 2] kernel, a [2] bias) in a
 * new HDF5 file, read as Dense(2) on 3 inputs */
static int read_vars(const char *a, const char *b, nnc_status *st) {
  ck_assert_int_eq(nnc_h5_load("m.weights.h5", st), NNC_OK);
  const char *path = testutil_path(testutil_tmpdir(), "vars24.h5");
  hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ck_assert_int_ge(f, 0);
  hid_t g1 = H5Gcreate2(f, "layers", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  hid_t g2 = H5Gcreate2(g1, "dense", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  hid_t g3 = H5Gcreate2(g2, "vars", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  static const float k[6] = {1, 2, 3, 4, 5, 6}, bias[2] = {7, 8};
  hsize_t ks[2] = {3, 2}, bs[1] = {2};
  hid_t s1 = H5Screate_simple(2, ks, NULL), s2 = H5Screate_simple(1, bs, NULL);
  hid_t d1 = H5Dcreate2(g3, a, H5T_IEEE_F32LE, s1, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  hid_t d2 = H5Dcreate2(g3, b, H5T_IEEE_F32LE, s2, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(d1, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, k);
  H5Dwrite(d2, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, bias);
  H5Dclose(d1), H5Dclose(d2), H5Sclose(s1), H5Sclose(s2);
  H5Gclose(g3), H5Gclose(g2), H5Gclose(g1), H5Fclose(f);
  f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  ck_assert_int_ge(f, 0);
  const char *cfg = testutil_sequential(
      "3", "{'class_name': 'Dense', 'config': {'name': 'dense', 'units': 2}}", NULL);
  nnc_tensor_set set;
  memset(&set, 0, sizeof set);
  int rc = nnc_keras3_weights_read(f, "m.weights.h5", cfg, "config.json", &set, st);
  if (!rc) ck_assert_int_eq(set.n, 2);
  nnc_tensor_set_free(&set);
  H5Fclose(f);
  return rc;
}

START_TEST(variables_named_by_order) {
  nnc_status st;
  ck_assert_msg(read_vars("0", "1", &st) == NNC_OK, "%s", st.message);
  const char *bad[3][2] = {{"0", "5"}, {"0", "x"}, {"0", "01"}};
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(read_vars(bad[i][0], bad[i][1], &st), NNC_ERR_DATA);
    char want[96];
    snprintf(want, sizeof want, "layers/dense/vars: variables named 0 to 1 expected, got '%s'",
             bad[i][1]);
    ck_assert_msg(strstr(st.message, want), "%s", st.message);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("h5_hostile24");
  TCase *tc = tcase_create("heap");
  tcase_add_test(tc, intact_file_passes);
  tcase_add_test(tc, object_past_its_heap);
  tcase_add_test(tc, heap_past_the_file);
  tcase_add_test(tc, descriptor_longer_than_its_object);
  tcase_add_test(tc, four_byte_fields);
  tcase_add_test(tc, free_space_and_indices);
  tcase_add_test(tc, user_block);
  tcase_add_test(tc, attribute_names_a_missing_object);
  tcase_add_test(tc, overlapping_attribute_messages);
  tcase_add_test(tc, variables_named_by_order);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
