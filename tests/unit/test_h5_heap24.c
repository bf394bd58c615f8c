/* h5_heap_check (runtime/io/h5_heap_check.c) on HDF5 bytes built by hand
 * from the specification's layout: a superblock's sizes of offsets and
 * lengths, a global heap collection of two objects and the free space, and
 * a variable-length descriptor naming one of them. The file as built
 * passes; each one-field damage the breaker of session 24 found crashing
 * libhdf5 or making it allocate gigabytes is refused, naming the byte. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "runtime/io/h5_heap_check.h"
#include "testutil.h"

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

int main(void) {
  Suite *s = suite_create("h5_heap24");
  TCase *tc = tcase_create("heap");
  tcase_add_test(tc, intact_file_passes);
  tcase_add_test(tc, object_past_its_heap);
  tcase_add_test(tc, heap_past_the_file);
  tcase_add_test(tc, descriptor_longer_than_its_object);
  tcase_add_test(tc, four_byte_fields);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
