/* compiler/cli/cli_match.c on a model of two inputs "a" and "b": files
 * matched in order, by NAME=FILE and by .npz member names, and the errors of
 * each style. The CLI sources are not in libnnc, so the two files under test
 * are compiled into this test (args.c first: it sets _XOPEN_SOURCE). */
#include "../../compiler/cli/args.c"
#include "../../compiler/cli/cli_match.c"

#include <check.h>

#include "testutil.h"

static const char *const slots[2] = {"a", "b"};

/* A float32 .npy of n values k, k+1, ... at dir/name; its path. */
static const char *npy(const char *name, int n, float k) {
  static char paths[8][512];
  static int next;
  char *path = paths[next++ % 8];
  snprintf(path, 512, "%s", testutil_path(testutil_tmpdir(), name));
  float v[8];
  for (int i = 0; i < n; i++) v[i] = k + (float)i;
  nnc_array a = {.dtype = NNC_F32, .rank = 1, .shape = {n}, .data = v};
  nnc_status st;
  ck_assert_int_eq(nnc_npy_write(path, &a, &st), NNC_OK);
  return path;
}

/* A .npz with members a_name (values from 10) and b_name (from 20). */
static const char *npz(const char *file, const char *a_name, const char *b_name) {
  static char path[512];
  snprintf(path, sizeof path, "%s", testutil_path(testutil_tmpdir(), file));
  float va[2] = {10, 11}, vb[3] = {20, 21, 22};
  nnc_array a = {.dtype = NNC_F32, .rank = 1, .shape = {2}, .data = va};
  nnc_array b = {.dtype = NNC_F32, .rank = 1, .shape = {3}, .data = vb};
  nnc_tensor_set set = {0};
  nnc_status st;
  ck_assert_int_eq(nnc_tensor_set_add(&set, a_name, &a, &st), NNC_OK);
  if (b_name) ck_assert_int_eq(nnc_tensor_set_add(&set, b_name, &b, &st), NNC_OK);
  ck_assert_msg(nnc_npz_write(path, &set, &st) == NNC_OK, "%s", st.message);
  nnc_tensor_set_free(&set);
  return path;
}

static void assert_slot(const cli_arrays *got, int s, int64_t n, float first) {
  ck_assert_int_eq(got->a[s].rank, 1);
  ck_assert_int_eq(got->a[s].shape[0], n);
  ck_assert_int_eq(got->a[s].dtype, NNC_F32);
  ck_assert_float_eq(((float *)got->a[s].data)[0], first);
}

static void expect_error(const char *const *values, int n_values, int allow_missing,
                         const char *what) {
  cli_arrays got;
  nnc_status st;
  int rc =
      cli_read_matched("x", values, n_values, 2, slots, "input", allow_missing, NULL, &got, &st);
  ck_assert_msg(rc == NNC_ERR_ARG, "rc %d: %s", rc, st.message);
  ck_assert_msg(strstr(st.message, what) != NULL, "'%s' lacks '%s'", st.message, what);
  ck_assert_int_eq(got.n, 0);
  ck_assert_ptr_null(got.a);
}

START_TEST(test_positional_in_order) {
  const char *v[2] = {npy("p1.npy", 2, 1), npy("p2.npy", 3, 5)};
  cli_arrays got;
  nnc_status st;
  ck_assert_msg(cli_read_matched("x", v, 2, 2, slots, "input", 0, NULL, &got, &st) == NNC_OK, "%s",
                st.message);
  ck_assert_int_eq(got.n, 2);
  assert_slot(&got, 0, 2, 1);
  assert_slot(&got, 1, 3, 5);
  ck_assert_str_eq(got.a[1].name, v[1]); /* library messages name the file */
  cli_arrays_free(&got);
}
END_TEST

START_TEST(test_by_name_in_any_order) {
  char vb[600], va[600];
  snprintf(vb, sizeof vb, "b=%s", npy("n1.npy", 3, 7));
  snprintf(va, sizeof va, "a=%s", npy("n2.npy", 2, 4));
  const char *v[2] = {vb, va};
  cli_arrays got;
  nnc_status st;
  ck_assert_msg(cli_read_matched("x", v, 2, 2, slots, "input", 0, "2", &got, &st) == NNC_OK, "%s",
                st.message);
  assert_slot(&got, 0, 2, 2.0f); /* 4 / 2: --x-divide applies to every input */
  assert_slot(&got, 1, 3, 3.5f);
  cli_arrays_free(&got);
}
END_TEST

START_TEST(test_npz_by_member_names) {
  const char *v[1] = {npz("ba.npz", "b", "a")}; /* member order differs from the model's */
  cli_arrays got;
  nnc_status st;
  ck_assert_msg(cli_read_matched("x", v, 1, 2, slots, "input", 0, NULL, &got, &st) == NNC_OK, "%s",
                st.message);
  assert_slot(&got, 0, 3, 20); /* member "a" holds the 3 values from 20 */
  assert_slot(&got, 1, 2, 10);
  ck_assert_msg(strstr(got.a[0].name, "(member 'a')"), "%s", got.a[0].name);
  cli_arrays_free(&got);
}
END_TEST

START_TEST(test_missing_slots) {
  char va[600];
  snprintf(va, sizeof va, "a=%s", npy("m1.npy", 2, 1));
  const char *v[1] = {va};
  expect_error(v, 1, 0, "--x: no array for input 'b' (inputs: a, b)");
  cli_arrays got;
  nnc_status st; /* targets: an output without a file has no target (rank 0) */
  ck_assert_int_eq(cli_read_matched("y", v, 1, 2, slots, "output", 1, NULL, &got, &st), NNC_OK);
  assert_slot(&got, 0, 2, 1);
  ck_assert_int_eq(got.a[1].rank, 0);
  ck_assert_ptr_null(got.a[1].data);
  cli_arrays_free(&got);
  const char *w[1] = {npz("only_a.npz", "a", NULL)};
  expect_error(w, 1, 0, "no array for input 'b'");
}
END_TEST

START_TEST(test_errors) {
  const char *one[1] = {npy("e1.npy", 2, 1)};
  expect_error(one, 1, 0, "--x: the model has 2 inputs (a, b): give one file for each");
  char named[600], other[600];
  snprintf(named, sizeof named, "a=%s", one[0]);
  const char *mixed[2] = {named, one[0]};
  expect_error(mixed, 2, 0, "give every file as NAME=FILE or none");
  snprintf(other, sizeof other, "c=%s", one[0]);
  const char *unknown[1] = {other};
  expect_error(unknown, 1, 0, "'c' is not an input of the model (inputs: a, b)");
  const char *twice[2] = {named, named};
  expect_error(twice, 2, 0, "--x: input 'a' is given twice");
  const char *arr0[1] = {npz("arr0.npz", "arr_0", NULL)}; /* arr_0 stands for one input only */
  expect_error(arr0, 1, 0,
               "one unnamed array (arr_0, as np.savez(f, a) names it) cannot stand for the model's "
               "2 inputs (a, b)");
  const char *with_npz[2] = {npz("ab.npz", "a", "b"), one[0]};
  expect_error(
      with_npz, 2, 0,
      "is a .npz file, which names its arrays itself: give it alone (not with other files)");
  char npz_named[600];
  snprintf(npz_named, sizeof npz_named, "a=%s", with_npz[0]);
  const char *named_npz[2] = {npz_named, named};
  expect_error(named_npz, 2, 0,
               "is a .npz file, which names its arrays itself: give it alone, without NAME=");
  /* an empty file name: "--x 'a=': expected a file name", not "nnc fit: : cannot open" */
  const char *no_file[2] = {"a=", named};
  expect_error(no_file, 2, 0, "--x 'a=': expected a file name after '='");
  const char *empty[2] = {"", one[0]};
  expect_error(empty, 2, 0, "--x '': expected a file name");
}
END_TEST

static Suite *match_suite(void) {
  Suite *s = suite_create("cli_match");
  TCase *tc = tcase_create("cli_match");
  tcase_add_test(tc, test_positional_in_order);
  tcase_add_test(tc, test_by_name_in_any_order);
  tcase_add_test(tc, test_npz_by_member_names);
  tcase_add_test(tc, test_missing_slots);
  tcase_add_test(tc, test_errors);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return testutil_run(match_suite());
}
