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
#include <math.h>
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

/* " @name:string0(vlen)" per attribute of the object at loc (names sorted by HDF5). */
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

/* A model of the config `json` (loaded from a file, as --save needs), x of
 * shape [16, ...shape], y likewise: fitted 1 epoch, saved as .keras, read back
 * by nnc: predictions bit-identical, and model.weights.h5's objects exactly
 * `want` (paths and dataset shapes from Keras 3's saving_lib walk: a
 * model's layers/, a Bidirectional's forward_layer and backward_layer, a
 * TimeDistributed's layer, an RNN's cell; no real Keras 3 file with these
 * layers is in ../shared/models/saved). */
static void nested_round_trip(const char *tag, const char *json, int xr, const int64_t *xs, int yr,
                              const int64_t *ys, const char *const *want) {
  nnc_status st;
  char name[64];
  snprintf(name, sizeof name, "%s.json", tag);
  const char *spec = testutil_path(testutil_tmpdir(), name);
  FILE *fp = fopen(spec, "w");
  ck_assert_ptr_nonnull(fp);
  fputs(testutil_json(json), fp);
  fclose(fp);
  nnc_model *m = NULL;
  ck_assert_msg(!nnc_model_load_file(spec, &m, &st), "%s", st.message);
  nnc_array x = {NNC_F32, xr, {0}, NULL, NULL}, y = {NNC_F32, yr, {0}, NULL, NULL};
  int64_t nx = 1, ny = 1;
  for (int d = 0; d < xr; d++) nx *= (x.shape[d] = xs[d]);
  for (int d = 0; d < yr; d++) ny *= (y.shape[d] = ys[d]);
  x.data = malloc((size_t)nx * 4);
  y.data = malloc((size_t)ny * 4);
  for (int64_t i = 0; i < nx; i++) ((float *)x.data)[i] = sinf(0.37f * (float)i);
  for (int64_t i = 0; i < ny; i++) ((float *)y.data)[i] = 0.5f + 0.4f * cosf(0.11f * (float)i);
  nnc_fit_options fo;
  nnc_fit_options_default(&fo);
  fo.epochs = 1;
  fo.verbose = 0;
  nnc_history h = {0};
  ck_assert_msg(!nnc_model_fit(m, &x, &y, &fo, &h, &st), "%s", st.message);
  nnc_history_free(&h);
  snprintf(name, sizeof name, "%s.keras", tag);
  const char *out = testutil_path(testutil_tmpdir(), name);
  ck_assert_msg(!nnc_model_save_keras(m, out, &st), "%s: %s", tag, st.message);
  nnc_array p1, p2;
  ck_assert_msg(!nnc_model_predict(m, &x, 8, &p1, &st), "%s", st.message);
  nnc_model *back = NULL;
  ck_assert_msg(!nnc_model_load_file(out, &back, &st), "%s", st.message);
  ck_assert_msg(!nnc_model_predict(back, &x, 8, &p2, &st), "%s", st.message);
  int64_t np = 1;
  for (int d = 0; d < p1.rank; d++) np *= p1.shape[d];
  ck_assert_msg(p1.rank == p2.rank && !memcmp(p1.data, p2.data, (size_t)np * 4),
                "%s: the saved model predicts otherwise", tag);
  static tree ours;
  snprintf(name, sizeof name, "%s.h5", tag);
  keras_tree(out, name, &ours);
  int n_want = 0, missing = 0;
  for (; want[n_want]; n_want++)
    if (!has_line(&ours, want[n_want])) {
      fprintf(stderr, "test_io13: %s: Keras has, nnc lacks: %s\n", tag, want[n_want]);
      missing++;
    }
  for (int i = 0; i < ours.n; i++) {
    int found = !strncmp(ours.lines[i], "/optimizer", 10); /* checked above */
    for (int k = 0; k < n_want && !found; k++) found = !strcmp(ours.lines[i], want[k]);
    if (!found) {
      fprintf(stderr, "test_io13: %s: nnc has, Keras lacks: %s\n", tag, ours.lines[i]);
      missing++;
    }
  }
  ck_assert_int_eq(missing, 0);
  nnc_array_free(&p1);
  nnc_array_free(&p2);
  nnc_array_free(&x);
  nnc_array_free(&y);
  nnc_model_free(m);
  nnc_model_free(back);
}

#define CC "'compile_config': {'optimizer': {'class_name': 'Adam', 'config': {}}, 'loss': 'mse'}"
#define F32 " float32 "

START_TEST(test_keras_nested_sequential) {
  static const char *const want[] = {
      "// group",
      "/layers/ group",
      "/layers/input_layer/ group",
      "/layers/input_layer/vars/ group @name:string0(vlen)",
      "/layers/sequential/ group",
      "/layers/sequential/vars/ group @name:string0(vlen)",
      "/layers/sequential/layers/ group",
      "/layers/sequential/layers/dense/ group",
      "/layers/sequential/layers/dense/vars/ group @name:string0(vlen)",
      "/layers/sequential/layers/dense/vars/0 float32 [4,3]",
      "/layers/sequential/layers/dense/vars/1 float32 [3]",
      "/layers/sequential/layers/dense_1/ group",
      "/layers/sequential/layers/dense_1/vars/ group @name:string0(vlen)",
      "/layers/sequential/layers/dense_1/vars/0 float32 [3,3]",
      "/layers/sequential/layers/dense_1/vars/1 float32 [3]",
      "/layers/dense/ group",
      "/layers/dense/vars/ group @name:string0(vlen)",
      "/layers/dense/vars/0 float32 [3,2]",
      "/layers/dense/vars/1 float32 [2]",
      "/vars/ group @name:string0(vlen)",
      NULL};
  const int64_t xs[] = {16, 4}, ys[] = {16, 2};
  nested_round_trip(
      "nested",
      "{'class_name': 'Functional', 'config': {'name': 'outer', 'layers': ["
      "{'class_name': 'InputLayer', 'name': 'in', 'config': {'batch_shape': [null, 4], "
      "'name': 'in'}, 'inbound_nodes': []},"
      "{'class_name': 'Sequential', 'name': 'inner', 'config': {'name': 'inner', 'layers': ["
      "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 4], 'name': 'inner_in'}},"
      "{'class_name': 'Dense', 'config': {'name': 'a', 'units': 3, 'activation': 'tanh'}},"
      "{'class_name': 'Dense', 'config': {'name': 'b', 'units': 3}}]},"
      "'inbound_nodes': [{'args': [{'class_name': '__keras_tensor__', 'config': "
      "{'keras_history': ['in', 0, 0]}}], 'kwargs': {}}]},"
      "{'class_name': 'Dense', 'name': 'out', 'config': {'name': 'out', 'units': 2}, "
      "'inbound_nodes': [{'args': [{'class_name': '__keras_tensor__', 'config': "
      "{'keras_history': ['inner', 0, 0]}}], 'kwargs': {}}]}],"
      "'input_layers': [['in', 0, 0]], 'output_layers': [['out', 0, 0]]}, " CC "}",
      2, xs, 2, ys, want);
}
END_TEST

START_TEST(test_keras_bidirectional_lstm) {
  static const char *const want[] = {
      "// group",
      "/layers/ group",
      "/layers/bidirectional/ group",
      "/layers/bidirectional/vars/ group @name:string0(vlen)",
      "/layers/bidirectional/forward_layer/ group",
      "/layers/bidirectional/forward_layer/vars/ group @name:string0(vlen)",
      "/layers/bidirectional/forward_layer/cell/ group",
      "/layers/bidirectional/forward_layer/cell/vars/ group @name:string0(vlen)",
      "/layers/bidirectional/forward_layer/cell/vars/0 float32 [3,12]",
      "/layers/bidirectional/forward_layer/cell/vars/1 float32 [3,12]",
      "/layers/bidirectional/forward_layer/cell/vars/2 float32 [12]",
      "/layers/bidirectional/backward_layer/ group",
      "/layers/bidirectional/backward_layer/vars/ group @name:string0(vlen)",
      "/layers/bidirectional/backward_layer/cell/ group",
      "/layers/bidirectional/backward_layer/cell/vars/ group @name:string0(vlen)",
      "/layers/bidirectional/backward_layer/cell/vars/0 float32 [3,12]",
      "/layers/bidirectional/backward_layer/cell/vars/1 float32 [3,12]",
      "/layers/bidirectional/backward_layer/cell/vars/2 float32 [12]",
      "/layers/dense/ group",
      "/layers/dense/vars/ group @name:string0(vlen)",
      "/layers/dense/vars/0 float32 [6,2]",
      "/layers/dense/vars/1 float32 [2]",
      "/vars/ group @name:string0(vlen)",
      NULL};
  const int64_t xs[] = {16, 5, 3}, ys[] = {16, 2};
  /* an RNN's vars and cell/vars groups as a real Keras 3.10 file has them */
  struct stat sb;
  if (stat(SAVED, &sb) == 0) {
    static tree real;
    keras_tree(SAVED "/k3zip-crypto-lstm/model.keras", "crypto.h5", &real);
    ck_assert(has_line(&real, "/layers/lstm/vars/ group @name:string0(vlen)"));
    ck_assert(has_line(&real, "/layers/lstm/cell/vars/ group @name:string0(vlen)"));
    ck_assert(has_line(&real, "/layers/lstm/cell/ group"));
  } else {
    fprintf(stderr, "test_io13: %s absent: the LSTM cell's layout is not compared\n", SAVED);
  }
  nested_round_trip("bidi",
                    "{'class_name': 'Sequential', 'config': {'name': 'bi', 'layers': ["
                    "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 5, 3], "
                    "'name': 'x'}},"
                    "{'class_name': 'Bidirectional', 'config': {'name': 'bidirectional', "
                    "'merge_mode': 'concat', 'layer': {'class_name': 'LSTM', 'config': "
                    "{'name': 'lstm', 'units': 3}}}},"
                    "{'class_name': 'Dense', 'config': {'name': 'out', 'units': 2}}]}, " CC "}",
                    3, xs, 2, ys, want);
}
END_TEST

START_TEST(test_keras_time_distributed_dense) {
  static const char *const want[] = {
      "// group",
      "/layers/ group",
      "/layers/time_distributed/ group",
      "/layers/time_distributed/vars/ group @name:string0(vlen)",
      "/layers/time_distributed/layer/ group",
      "/layers/time_distributed/layer/vars/ group @name:string0(vlen)",
      "/layers/time_distributed/layer/vars/0 float32 [3,2]",
      "/layers/time_distributed/layer/vars/1 float32 [2]",
      "/vars/ group @name:string0(vlen)",
      NULL};
  const int64_t xs[] = {16, 5, 3}, ys[] = {16, 5, 2};
  nested_round_trip("td",
                    "{'class_name': 'Sequential', 'config': {'name': 'td', 'layers': ["
                    "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 5, 3], "
                    "'name': 'x'}},"
                    "{'class_name': 'TimeDistributed', 'config': {'name': 'time_distributed', "
                    "'layer': {'class_name': 'Dense', 'config': {'name': 'dense', 'units': 2}}}}"
                    "]}, " CC "}",
                    3, xs, 3, ys, want);
}
END_TEST

int main(void) {
  Suite *s = suite_create("io13");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_duplicate_layer_names);
  tcase_add_test(tc, test_duplicate_layer_names_model_file);
  tcase_add_test(tc, test_keras_layout_matches_keras3);
  tcase_add_test(tc, test_keras_nested_sequential);
  tcase_add_test(tc, test_keras_bidirectional_lstm);
  tcase_add_test(tc, test_keras_time_distributed_dense);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
