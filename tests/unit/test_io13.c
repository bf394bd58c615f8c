/* Saved-model I/O, session 13 (issue 10 items 1-3, review findings): a
 * Keras save_weights .h5 whose layer_names lists a layer twice is refused
 * naming the file, the attribute and the layer (HDF5's own calls write the
 * duplicate into a file nnc wrote); a .keras archive refuses a config.json
 * problem under config.json's name, not model.weights.h5's; the HDF5 tree
 * of nnc's .keras output (after a fit: optimizer/vars too) has Keras 3's
 * structure — compared object by object with a real Keras 3.10 archive of
 * the same model (../shared/models/saved/k3zip-chatbot-mlp; skipped, saying
 * so, when ../shared is absent). */
#include <check.h>
#include "runtime/io/h5_api.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/base.h"
#include "nnc.h"
#include "compiler/driver/saved_model.h"
#include "runtime/io/io.h"
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

/* ---- the HDF5 structure of a .keras's model.weights.h5 ---- */

typedef struct tree {
  char lines[256][600];
  int n;
} tree;

static void type_text(hid_t t, char *out, size_t cap) {
  H5T_class_t c = H5Tget_class(t);
  snprintf(out, cap, "%s%zu%s",
           c == H5T_FLOAT     ? "float"
           : c == H5T_INTEGER ? "int"
           : c == H5T_STRING  ? "string"
                              : "other",
           c == H5T_STRING ? (size_t)0 : H5Tget_size(t) * 8,
           c == H5T_STRING ? (H5Tis_variable_str(t) > 0 ? "(vlen)" : "(fixed)") : "");
}

/* " @name:string(vlen)" per attribute of the object at loc (names sorted by HDF5). */
static void attrs_text(hid_t obj, char *out, size_t cap) {
  out[0] = 0;
  int n = H5Aget_num_attrs(obj);
  for (int i = 0; i < n; i++) {
    hid_t a = H5Aopen_idx(obj, (unsigned)i), t = H5Aget_type(a);
    char name[64], ty[64];
    H5Aget_name(a, sizeof name, name);
    type_text(t, ty, sizeof ty);
    size_t len = strlen(out);
    snprintf(out + len, cap - len, " @%s:%s", name, ty);
    H5Tclose(t);
    H5Aclose(a);
  }
}

static herr_t visit(hid_t g, const char *name, const H5L_info_t *info, void *data);

static void walk(hid_t f, const char *path, tree *t) {
  hid_t g = H5Gopen2(f, path, H5P_DEFAULT);
  ck_assert_int_ge(g, 0);
  char attrs[200];
  attrs_text(g, attrs, sizeof attrs);
  ck_assert_int_lt(t->n, 256);
  snprintf(t->lines[t->n++], sizeof t->lines[0], "%s/ group%s", path, attrs);
  struct {
    hid_t f;
    const char *path;
    tree *t;
  } ctx = {f, path, t};
  H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, visit, &ctx);
  H5Gclose(g);
}

static herr_t visit(hid_t g, const char *name, const H5L_info_t *info, void *data) {
  (void)info;
  struct {
    hid_t f;
    const char *path;
    tree *t;
  } *ctx = data;
  char full[200];
  snprintf(full, sizeof full, "%s%s%s", ctx->path, strcmp(ctx->path, "/") ? "/" : "", name);
  H5O_info_t oi;
  ck_assert_int_ge(H5Oget_info_by_name(g, name, &oi, H5P_DEFAULT), 0);
  if (oi.type == H5O_TYPE_GROUP) {
    walk(ctx->f, full, ctx->t);
  } else {
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT), t = H5Dget_type(d), sp = H5Dget_space(d);
    char ty[64], attrs[200], dims[80] = "";
    type_text(t, ty, sizeof ty);
    attrs_text(d, attrs, sizeof attrs);
    hsize_t dd[8];
    int rank = H5Sget_simple_extent_dims(sp, dd, NULL);
    for (int k = 0; k < rank; k++)
      snprintf(dims + strlen(dims), sizeof dims - strlen(dims), k ? ",%llu" : "%llu",
               (unsigned long long)dd[k]);
    ck_assert_int_lt(ctx->t->n, 256);
    snprintf(ctx->t->lines[ctx->t->n++], sizeof ctx->t->lines[0], "%s %s [%s]%s", full, ty, dims,
             attrs);
    H5Sclose(sp);
    H5Tclose(t);
    H5Dclose(d);
  }
  return 0;
}

/* model.weights.h5 of the (stored or deflated) .keras at path, walked. */
static void keras_tree(const char *path, const char *tmpname, tree *t) {
  char cmd[2048];
  const char *out = testutil_path(testutil_tmpdir(), tmpname);
  snprintf(cmd, sizeof cmd,
           "python3 -c \"import zipfile,sys; "
           "open(sys.argv[2],'wb').write(zipfile.ZipFile(sys.argv[1]).read('model.weights.h5'))\" "
           "'%s' '%s'",
           path, out);
  ck_assert_int_eq(system(cmd), 0);
  hid_t f = H5Fopen(out, H5F_ACC_RDONLY, H5P_DEFAULT);
  ck_assert_int_ge(f, 0);
  t->n = 0;
  walk(f, "/", t);
  H5Fclose(f);
}

static int has_line(const tree *t, const char *line) {
  for (int i = 0; i < t->n; i++)
    if (!strcmp(t->lines[i], line)) return 1;
  return 0;
}

#define SAVED NNC_SOURCE_DIR "/../shared/models/saved"

START_TEST(test_keras_layout_matches_keras3) {
  struct stat sb;
  if (stat(SAVED, &sb) != 0) {
    fprintf(stderr, "test_io13: %s absent: the layout comparison is skipped\n", SAVED);
    return;
  }
  const char *src = SAVED "/k3zip-chatbot-mlp/model.keras";
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(!nnc_model_load_file(src, &m, &st), "%s", st.message);
  nnc_array x, y;
  ck_assert_msg(!nnc_array_read(SAVED "/k3zip-chatbot-mlp/input.npy", &x, &st), "%s", st.message);
  ck_assert_msg(!nnc_array_read(SAVED "/k3zip-chatbot-mlp/expected_predict.npy", &y, &st), "%s",
                st.message);
  nnc_fit_options fo;
  nnc_fit_options_default(&fo);
  fo.epochs = 1;
  fo.verbose = 0;
  nnc_history h = {0};
  ck_assert_msg(!nnc_model_fit(m, &x, &y, &fo, &h, &st), "%s", st.message);
  nnc_history_free(&h);
  const char *out = testutil_path(testutil_tmpdir(), "nnc.keras");
  ck_assert_msg(!nnc_model_save_keras(m, out, &st), "%s", st.message);
  nnc_model_free(m);
  nnc_array_free(&x);
  nnc_array_free(&y);
  static tree keras, ours;
  keras_tree(src, "keras.h5", &keras);
  keras_tree(out, "nnc.h5", &ours);
  /* every object of Keras's file, with its type, shape and attribute names,
   * is in nnc's, and nnc's has no other (Keras 3.10's metrics/ state, which
   * nnc does not keep, is the one exception: listed in docs/formats.md) */
  int missing = 0, extra = 0;
  for (int i = 0; i < keras.n; i++)
    if (strncmp(keras.lines[i], "/metrics", 8) && !has_line(&ours, keras.lines[i])) {
      fprintf(stderr, "test_io13: Keras has, nnc lacks: %s\n", keras.lines[i]);
      missing++;
    }
  for (int i = 0; i < ours.n; i++)
    if (!has_line(&keras, ours.lines[i])) {
      fprintf(stderr, "test_io13: nnc has, Keras lacks: %s\n", ours.lines[i]);
      extra++;
    }
  ck_assert_int_eq(missing, 0);
  ck_assert_int_eq(extra, 0);
  ck_assert(has_line(&ours, "/optimizer/vars/0 int64 []"));
}
END_TEST

int main(void) {
  Suite *s = suite_create("io13");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_duplicate_layer_names);
  tcase_add_test(tc, test_duplicate_layer_names_model_file);
  tcase_add_test(tc, test_keras_layout_matches_keras3);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
