/* Saved Keras models as they are (issue 10, items 1-2): every model of
 * ../shared/models/saved/ with a reference prediction (computed in float64
 * by numpy from the file's own weights and cross-checked with TF.js, see its
 * INDEX.md) is loaded by nnc_model_load_file — format told by its first
 * bytes — and predicts input.npy within 1e-5 + 1e-4 |expected|; the models
 * nnc cannot build are refused with the reason named; truncated and
 * damaged files are refused naming the file and the object. Skips only when
 * ../shared is absent. */
#define _GNU_SOURCE /* memmem */
#include <check.h>
#include "runtime/io/h5_api.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/base.h"
#include "nnc.h"
#include "nnc_program.h"
#include "compiler/driver/saved_model.h"
#include "runtime/io/io.h"
#include "runtime/io/model_file.h"
#include "testutil.h"

#define SAVED NNC_SOURCE_DIR "/../shared/models/saved"

static int have_saved(void) {
  struct stat sb;
  if (stat(SAVED, &sb) == 0) return 1;
  fprintf(stderr, "test_h5_12: %s absent: the saved-model checks are skipped\n", SAVED);
  return 0;
}

/* Models with a reference: folder, model file, and (weights-only files)
 * the weights file given to nnc_model_load_weights after the JSON. */
static const struct {
  const char *dir, *model, *weights;
} cases[] = {
    {"k3zip-chatbot-mlp", "model.keras", NULL},
    {"k3zip-electricity-mlp", "model.keras", NULL},
    {"k3zip-obesity-mlp-dropout", "model.keras", NULL},
    {"k3zip-mnist-cnn", "model.keras", NULL},
    {"k3zip-mnist-cnn5x5", "Subhadip_Hensh_MNIST_CNN.keras", NULL},
    {"k3zip-mnist-mlp-flatten", "Digit_Recognition_MLP.keras", NULL},
    {"tfk215zip-nlf-mlp-flatten", "model.keras", NULL},
    {"tfk214zip-hit-song-mlp", "model.keras", NULL},
    {"h5k2-doodle-cnn-full", "model.h5", NULL},
    {"h5k215-digit-mlp-full", "digit_recognizer_ann_model.h5", NULL},
    {"h5k215-digit-mlp-weights", "model_architecture.json", "model_weights.h5"},
    {"h5k2-cartpole-weights", "model_architecture.json", "cartpole-dqn.h5"},
    {"h5k2-wifi-weights", "model_architecture.json", "model_weights.h5"},
    {"h5k3-obesity-mlp-legacy", "model.h5", NULL},
    {"h5k2-tictactoe-full", "UltTic.h5", NULL},
    {"h5k215-maternal-mlp-full", "my_keras_model.h5", NULL},
};

static char *path_of(const char *dir, const char *file) {
  static char buf[4][1024];
  static int k;
  char *p = buf[k++ % 4];
  snprintf(p, 1024, "%s/%s/%s", SAVED, dir, file);
  return p;
}

START_TEST(test_saved_predicts) {
  if (!have_saved()) return;
  const char *dir = cases[_i].dir;
  nnc_status st = {0};
  nnc_model *m = NULL;
  ck_assert_msg(!nnc_model_load_file(path_of(dir, cases[_i].model), &m, &st), "%s: %s", dir,
                st.message);
  nnc_array x, want, got;
  ck_assert_msg(!nnc_npy_read(path_of(dir, "input.npy"), &x, &st), "%s", st.message);
  ck_assert_msg(!nnc_npy_read(path_of(dir, "expected_predict.npy"), &want, &st), "%s", st.message);
  if (!nnc_model_table(m)) ck_assert_msg(!nnc_model_build(m, &x, NULL, &st), "%s", st.message);
  if (cases[_i].weights)
    ck_assert_msg(!nnc_model_load_weights(m, path_of(dir, cases[_i].weights), &st), "%s: %s", dir,
                  st.message);
  ck_assert_msg(!nnc_model_predict(m, &x, 4, &got, &st), "%s: %s", dir, st.message);
  ck_assert_int_eq(got.rank, want.rank);
  int64_t n = nnc_array_count(&want);
  ck_assert_int_eq(nnc_array_count(&got), n);
  const float *g = got.data, *w = want.data;
  double worst = 0;
  for (int64_t i = 0; i < n; i++) {
    double err = fabs((double)g[i] - w[i]), tol = 1e-5 + 1e-4 * fabs((double)w[i]);
    if (err / tol > worst) worst = err / tol;
    ck_assert_msg(err <= tol, "%s: output %lld: got %.9g, expected %.9g", dir, (long long)i, g[i],
                  w[i]);
  }
  fprintf(stderr, "%-28s predicts within %.3f of the tolerance\n", dir, worst);
  nnc_array_free(&x);
  nnc_array_free(&want);
  nnc_array_free(&got);
  nnc_model_free(m);
}
END_TEST

/* A deterministic input of the model's declared shape, rows samples. */
static nnc_array input_for(nnc_model *m, int rows) {
  const nnc_program_table *t = nnc_model_table(m);
  ck_assert_ptr_nonnull(t);
  nnc_array x = {0};
  x.dtype = NNC_F32;
  x.rank = t->inputs[0].rank + 1;
  x.shape[0] = rows;
  int64_t n = rows;
  for (int k = 0; k < t->inputs[0].rank; k++) n *= x.shape[k + 1] = t->inputs[0].shape[k];
  float *v = malloc((size_t)n * sizeof *v);
  ck_assert_ptr_nonnull(v);
  for (int64_t i = 0; i < n; i++) v[i] = (float)((i * 7919) % 200) / 100.0f - 1.0f;
  x.data = v;
  return x;
}

static nnc_array predict_file(const char *path, const char *weights) {
  nnc_status st = {0};
  nnc_model *m = NULL;
  ck_assert_msg(!nnc_model_load_file(path, &m, &st), "%s", st.message);
  if (weights) ck_assert_msg(!nnc_model_load_weights(m, weights, &st), "%s", st.message);
  nnc_array x = input_for(m, 3), y;
  ck_assert_msg(!nnc_model_predict(m, &x, 3, &y, &st), "%s", st.message);
  nnc_array_free(&x);
  nnc_model_free(m);
  int64_t n = nnc_array_count(&y);
  for (int64_t i = 0; i < n; i++) ck_assert(isfinite(((float *)y.data)[i]));
  return y;
}

/* The same weights saved two ways (INDEX.md checked them bit-identical):
 * Keras 3's numbered layers/<auto>/vars/<i> (LSTM under cell/) and the
 * legacy .h5's named weight_names: both mappings must give the same model,
 * so the predictions are bit-identical. */
static const struct {
  const char *a_dir, *a, *b_dir, *b;
} same_weights[] = {
    {"k3zip-crypto-lstm", "model.keras", "h5k3-crypto-lstm-legacy", "model_fixed.h5"},
    {"k3zip-obesity-mlp-dropout", "model.keras", "h5k3-obesity-mlp-legacy", "model.h5"},
};

START_TEST(test_saved_same_weights) {
  if (!have_saved()) return;
  nnc_array a = predict_file(path_of(same_weights[_i].a_dir, same_weights[_i].a), NULL);
  nnc_array b = predict_file(path_of(same_weights[_i].b_dir, same_weights[_i].b), NULL);
  int64_t n = nnc_array_count(&a);
  ck_assert_int_eq(nnc_array_count(&b), n);
  ck_assert_msg(!memcmp(a.data, b.data, (size_t)n * sizeof(float)), "%s and %s differ",
                same_weights[_i].a_dir, same_weights[_i].b_dir);
  nnc_array_free(&a);
  nnc_array_free(&b);
}
END_TEST

/* Models without a reference whose layers nnc builds: they load with all
 * their weights (every weight of the model gets a value of its shape, or
 * loading fails) and predict finite values. */
static const struct {
  const char *dir, *model, *weights;
} loads[] = {
    {"k3zip-stock-lstm", "model.keras", NULL},
    {"h5k2-mario-lstm-dotkeras", "model.keras", NULL},
    {"h5k27-bilstm-weights", "rnn_model.json", "rnn_model.h5"},
};

START_TEST(test_saved_loads) {
  if (!have_saved()) return;
  nnc_array y = predict_file(path_of(loads[_i].dir, loads[_i].model),
                             loads[_i].weights ? path_of(loads[_i].dir, loads[_i].weights) : NULL);
  nnc_array_free(&y);
}
END_TEST

/* Files nnc cannot build (or must not): refused, the message naming why. */
static const struct {
  const char *dir, *model, *why;
} refused[] = {
    {"h5k2-carnd-lambda-cnn-full", "model.h5", "function"},
    {"tfk215zip-ecg-transformer-winpaths", "transformer_model.keras", "TFOpLambda"},
    {"tfjs-graph-tictactoe-negative", "model.json", "graph"},
    {"h5k2-anime4k-nested", "new.h5", "TensorFlowOpLayer"},
};

START_TEST(test_saved_refused) {
  if (!have_saved()) return;
  nnc_status st = {0};
  nnc_model *m = NULL;
  int rc = nnc_model_load_file(path_of(refused[_i].dir, refused[_i].model), &m, &st);
  ck_assert_msg(rc != NNC_OK, "%s loaded", refused[_i].dir);
  ck_assert_ptr_null(m);
  ck_assert_msg(strstr(st.message, refused[_i].why), "%s: '%s' lacks '%s'", refused[_i].dir,
                st.message, refused[_i].why);
  ck_assert_msg(strstr(st.message, refused[_i].model), "%s: the message names no file: %s",
                refused[_i].dir, st.message);
}
END_TEST

static unsigned char *slurp(const char *path, size_t *len) {
  nnc_status st = {0};
  unsigned char *b = (unsigned char *)nnc_read_file_capped(path, (size_t)1 << 26, len, &st);
  ck_assert_msg(b != NULL, "%s", st.message);
  return b;
}

static const char *write_tmp(const char *name, const unsigned char *b, size_t len) {
  const char *p = testutil_path(testutil_tmpdir(), name);
  FILE *f = fopen(p, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(b, 1, len, f), len);
  fclose(f);
  return p;
}

static void expect_refused(const char *path, const char *what1, const char *what2) {
  nnc_status st = {0};
  nnc_model *m = NULL;
  ck_assert_msg(nnc_model_load_file(path, &m, &st) != NNC_OK, "%s loaded", path);
  ck_assert_ptr_null(m);
  ck_assert_msg(strstr(st.message, path), "no file named: %s", st.message);
  ck_assert_msg(strstr(st.message, what1), "'%s' lacks '%s'", st.message, what1);
  if (what2) ck_assert_msg(strstr(st.message, what2), "'%s' lacks '%s'", st.message, what2);
}

/* Damaged files: refused, naming the file and the object inside it. */
START_TEST(test_bad_files) {
  if (!have_saved()) return;
  size_t len;
  unsigned char *z = slurp(path_of("k3zip-chatbot-mlp", "model.keras"), &len);
  /* cut in half: the zip's end record is gone */
  expect_refused(write_tmp("half.keras", z, len / 2), "end-of-central-directory", NULL);
  /* one flipped byte in the stored weights: the member's CRC-32 */
  unsigned char *flip = malloc(len);
  ck_assert_ptr_nonnull(flip);
  memcpy(flip, z, len);
  unsigned char *h = memmem(flip, len, "\x89HDF\r\n\x1a\n", 8);
  ck_assert_ptr_nonnull(h);
  h[4000] ^= 0x40;
  expect_refused(write_tmp("flip.keras", flip, len), "model.weights.h5", "CRC-32");
  /* the weights member renamed (local header and central directory) */
  memcpy(flip, z, len);
  for (unsigned char *p = flip; (p = memmem(p, len - (size_t)(p - flip), "model.weights.h5", 16));)
    p[15] = 'X';
  expect_refused(write_tmp("renamed.keras", flip, len), "no member model.weights.h5", NULL);
  free(flip);
  free(z);
  /* a truncated HDF5 file */
  unsigned char *h5 = slurp(path_of("h5k2-tictactoe-full", "UltTic.h5"), &len);
  expect_refused(write_tmp("cut.h5", h5, len / 3), "HDF5", NULL);
  free(h5);
  /* weights of another model: the first dense layer's kernel has another shape */
  nnc_status st = {0};
  nnc_model *m = NULL;
  ck_assert(
      !nnc_model_load_file(path_of("h5k2-cartpole-weights", "model_architecture.json"), &m, &st));
  const char *w = path_of("h5k2-wifi-weights", "model_weights.h5");
  ck_assert(nnc_model_load_weights(m, w, &st) != NNC_OK);
  ck_assert_msg(strstr(st.message, w) && strstr(st.message, "/#"), "%s", st.message);
  nnc_model_free(m);
}
END_TEST

/* nnc's .h5 weights out: Keras 2's save_weights layout (checked here with
 * HDF5's own calls, not the reader), and read back the model predicts bit
 * for bit as before. */
START_TEST(test_h5_weights_round_trip) {
  if (!have_saved()) return;
  const char *arch = path_of("h5k2-cartpole-weights", "model_architecture.json");
  nnc_array a = predict_file(arch, path_of("h5k2-cartpole-weights", "cartpole-dqn.h5"));
  nnc_status st = {0};
  nnc_model *m = NULL;
  ck_assert(!nnc_model_load_file(arch, &m, &st));
  ck_assert(!nnc_model_load_weights(m, path_of("h5k2-cartpole-weights", "cartpole-dqn.h5"), &st));
  const char *out = testutil_path(testutil_tmpdir(), "w.h5");
  ck_assert_msg(!nnc_model_save_weights(m, out, &st), "%s", st.message);
  nnc_model_free(m);
  hid_t f = H5Fopen(out, H5F_ACC_RDONLY, H5P_DEFAULT);
  ck_assert(f >= 0);
  hid_t attr = H5Aopen(f, "layer_names", H5P_DEFAULT), type = H5Aget_type(attr);
  ck_assert(H5Tget_class(type) == H5T_STRING && !H5Tis_variable_str(type));
  size_t w = H5Tget_size(type);
  char names[3][64] = {{0}};
  ck_assert_uint_le(w, 64);
  ck_assert(H5Aread(attr, type, names) >= 0);
  ck_assert(!strncmp((char *)names, "dense_1", w) && !strncmp((char *)names + w, "dense_2", w));
  H5Tclose(type);
  H5Aclose(attr);
  hid_t d = H5Dopen2(f, "dense_1/dense_1/kernel:0", H5P_DEFAULT);
  ck_assert(d >= 0);
  hid_t dt = H5Dget_type(d), sp = H5Dget_space(d);
  hsize_t dims[2];
  ck_assert(H5Tequal(dt, H5T_IEEE_F32LE) > 0);
  ck_assert_int_eq(H5Sget_simple_extent_dims(sp, dims, NULL), 2);
  ck_assert(dims[0] == 4 && dims[1] == 24);
  H5Sclose(sp);
  H5Tclose(dt);
  H5Dclose(d);
  H5Fclose(f);
  nnc_array b = predict_file(arch, out);
  ck_assert(!memcmp(a.data, b.data, (size_t)nnc_array_count(&a) * sizeof(float)));
  nnc_array_free(&a);
  nnc_array_free(&b);
}
END_TEST

/* A Keras 2 full-model .h5 written here with HDF5's calls in Keras's layout
 * (model_config, model_weights/<layer>/<layer>/kernel:0 with weight_names
 * fixed-length strings, a Dropout whose weight_names is an empty float64
 * array): loaded, it predicts x K + b computed in float64. */
static void put_strings(hid_t loc, const char *name, const char *const *s, int n, size_t width) {
  char buf[256] = {0};
  for (int i = 0; i < n; i++) memcpy(buf + (size_t)i * width, s[i], strlen(s[i]));
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, width);
  H5Tset_strpad(t, H5T_STR_NULLPAD);
  hsize_t dims[1] = {(hsize_t)n};
  hid_t sp = H5Screate_simple(1, dims, NULL),
        a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
  ck_assert(H5Awrite(a, t, buf) >= 0);
  H5Aclose(a);
  H5Sclose(sp);
  H5Tclose(t);
}

/* Hostile variants of the hand-written file: the kernel's data kept in
 * another file (external storage), the kernel reached through an external
 * link to another HDF5 file, or a kernel declaring 10^12 values it never
 * stores. */
enum { HAND_PLAIN, HAND_EXTERNAL_STORAGE, HAND_EXTERNAL_LINK, HAND_HUGE };

static const float hand_kernel[3][2] = {{0.5f, -1.25f}, {2.0f, 0.75f}, {-0.375f, 1.5f}},
                   hand_bias[2] = {0.125f, -2.0f};

static const char *write_hand_h5(const char *name, int mode) {
  static const char config[] =
      "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": ["
      "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 2, "
      "\"activation\": \"linear\", \"batch_input_shape\": [null, 3]}}, "
      "{\"class_name\": \"Dropout\", \"config\": {\"name\": \"drop\", \"rate\": 0.5}}]}}";
  const char *path = testutil_path(testutil_tmpdir(), name);
  hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t vt = H5Tcopy(H5T_C_S1);
  H5Tset_size(vt, H5T_VARIABLE);
  hid_t scalar = H5Screate(H5S_SCALAR),
        a = H5Acreate2(f, "model_config", vt, scalar, H5P_DEFAULT, H5P_DEFAULT);
  const char *cfg = config;
  ck_assert(H5Awrite(a, vt, &cfg) >= 0);
  H5Aclose(a);
  hid_t mw = H5Gcreate2(f, "model_weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  const char *layers[] = {"d", "drop"};
  put_strings(mw, "layer_names", layers, 2, 4);
  hid_t g = H5Gcreate2(mw, "d", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  const char *wn[] = {"d/kernel:0", "d/bias:0"};
  put_strings(g, "weight_names", wn, 2, 10);
  hid_t inner = H5Gcreate2(g, "d", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  hsize_t kd[2] = {3, 2}, bd[1] = {2};
  hid_t ks = H5Screate_simple(2, kd, NULL), bs = H5Screate_simple(1, bd, NULL);
  /* bias first: HDF5's order is not the one to use */
  hid_t bset =
      H5Dcreate2(inner, "bias:0", H5T_IEEE_F32LE, bs, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  ck_assert(H5Dwrite(bset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, hand_bias) >= 0);
  H5Dclose(bset);
  if (mode == HAND_EXTERNAL_LINK) {
    /* the kernel lives in other.h5, reached by an external link */
    const char *other = testutil_path(testutil_tmpdir(), "other.h5");
    hid_t of = H5Fcreate(other, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t od = H5Dcreate2(of, "k", H5T_IEEE_F32LE, ks, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert(H5Dwrite(od, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, hand_kernel) >= 0);
    H5Dclose(od);
    H5Fclose(of);
    ck_assert(H5Lcreate_external(other, "k", inner, "kernel:0", H5P_DEFAULT, H5P_DEFAULT) >= 0);
  } else {
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t space = ks;
    if (mode == HAND_EXTERNAL_STORAGE) /* the values are read from secret.bin */
      ck_assert(H5Pset_external(dcpl, testutil_path(testutil_tmpdir(), "secret.bin"), 0,
                                sizeof hand_kernel) >= 0);
    if (mode == HAND_HUGE) { /* chunked, never written: nothing stored */
      hsize_t huge[2] = {1000000, 1000000}, chunk[2] = {64, 64};
      space = H5Screate_simple(2, huge, NULL);
      H5Pset_chunk(dcpl, 2, chunk);
    }
    hid_t kset =
        H5Dcreate2(inner, "kernel:0", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (mode != HAND_HUGE)
      ck_assert(H5Dwrite(kset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, hand_kernel) >= 0);
    else
      H5Sclose(space);
    H5Dclose(kset);
    H5Pclose(dcpl);
  }
  H5Sclose(ks);
  H5Sclose(bs);
  H5Gclose(inner);
  H5Gclose(g);
  hid_t dg = H5Gcreate2(mw, "drop", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  hsize_t zero[1] = {0};
  hid_t es = H5Screate_simple(1, zero, NULL);
  a = H5Acreate2(dg, "weight_names", H5T_IEEE_F64LE, es, H5P_DEFAULT, H5P_DEFAULT);
  H5Aclose(a);
  H5Sclose(es);
  H5Gclose(dg);
  H5Gclose(mw);
  H5Sclose(scalar);
  H5Tclose(vt);
  H5Fclose(f);
  return path;
}

START_TEST(test_h5_written_by_hdf5) {
  const char *path = write_hand_h5("hand.h5", HAND_PLAIN);
  nnc_status st = {0};
  nnc_model *m = NULL;
  ck_assert_msg(!nnc_model_load_file(path, &m, &st), "%s", st.message);
  float xv[2][3] = {{1, -2, 0.5f}, {-0.25f, 3, 4}};
  nnc_array x = testutil_f32(&xv[0][0], 2, 3), y;
  ck_assert_msg(!nnc_model_predict(m, &x, 2, &y, &st), "%s", st.message);
  for (int r = 0; r < 2; r++)
    for (int c = 0; c < 2; c++) {
      double want = hand_bias[c];
      for (int k = 0; k < 3; k++) want += (double)xv[r][k] * hand_kernel[k][c];
      ck_assert_msg(fabs(((float *)y.data)[r * 2 + c] - want) <= 1e-6 * (1 + fabs(want)),
                    "[%d,%d] %g vs %g", r, c, ((float *)y.data)[r * 2 + c], want);
    }
  nnc_array_free(&y);
  nnc_model_free(m);
}
END_TEST

/* Data from outside the file is never read: external storage and external
 * links are refused naming the dataset; a dataset declaring more values
 * than the file stores is refused before memory is taken. */
START_TEST(test_h5_hostile) {
  const char *a = write_hand_h5("ext_storage.h5", HAND_EXTERNAL_STORAGE);
  expect_refused(a, "model_weights/d/d/kernel:0", "outside the file");
  const char *b = write_hand_h5("ext_link.h5", HAND_EXTERNAL_LINK);
  expect_refused(b, "model_weights/d/d/kernel:0", "external link");
  const char *c = write_hand_h5("huge.h5", HAND_HUGE);
  expect_refused(c, "model_weights/d/d/kernel:0", "declares 1000000000000 values");
}
END_TEST

/* The member's bytes of a stored zip, found by its local header. */
static unsigned char *stored_member(const unsigned char *z, size_t len, const char *name,
                                    size_t *out) {
  size_t nl = strlen(name);
  for (size_t i = 0; i + 30 + nl <= len; i++)
    if (!memcmp(z + i, "PK\3\4", 4) && (size_t)(z[i + 26] | z[i + 27] << 8) == nl &&
        !memcmp(z + i + 30, name, nl)) {
      *out = (size_t)z[i + 18] | (size_t)z[i + 19] << 8 | (size_t)z[i + 20] << 16 |
             (size_t)z[i + 21] << 24;
      return (unsigned char *)z + i + 30 + nl + (z[i + 28] | z[i + 29] << 8);
    }
  return NULL;
}

static void expect_f32_dataset(hid_t f, const char *path, int rank, hsize_t d0) {
  hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
  ck_assert_msg(d >= 0, "no dataset %s", path);
  hid_t t = H5Dget_type(d), sp = H5Dget_space(d);
  hsize_t dims[4];
  ck_assert(H5Tequal(t, H5T_IEEE_F32LE) > 0);
  ck_assert_int_eq(H5Sget_simple_extent_dims(sp, dims, NULL), rank);
  ck_assert_uint_eq(dims[0], d0);
  H5Sclose(sp);
  H5Tclose(t);
  H5Dclose(d);
}

/* nnc's .keras: Keras 3's layout, checked with HDF5's calls on the member
 * (not nnc's reader): layers/lstm/vars (name attribute, no datasets),
 * layers/lstm/cell/vars/0..2, layers/lstm_1, layers/dropout/vars,
 * layers/dense/vars/0..1, float32; read back it predicts bit for bit. */
START_TEST(test_keras_out_layout) {
  if (!have_saved()) return;
  const char *src = path_of("k3zip-stock-lstm", "model.keras");
  nnc_status st = {0};
  nnc_model *m = NULL;
  ck_assert(!nnc_model_load_file(src, &m, &st));
  const char *out = testutil_path(testutil_tmpdir(), "out.keras");
  ck_assert_msg(!nnc_model_save_keras(m, out, &st), "%s", st.message);
  nnc_model_free(m);
  size_t len, h5_len;
  unsigned char *z = slurp(out, &len), *h5 = stored_member(z, len, "model.weights.h5", &h5_len);
  ck_assert_ptr_nonnull(h5);
  size_t cfg_len;
  ck_assert_ptr_nonnull(stored_member(z, len, "config.json", &cfg_len));
  const char *copy = write_tmp("weights.h5", h5, h5_len);
  hid_t f = H5Fopen(copy, H5F_ACC_RDONLY, H5P_DEFAULT);
  ck_assert(f >= 0);
  expect_f32_dataset(f, "layers/lstm/cell/vars/0", 2, 6);     /* kernel (6, 400) */
  expect_f32_dataset(f, "layers/lstm/cell/vars/1", 2, 100);   /* recurrent (100, 400) */
  expect_f32_dataset(f, "layers/lstm/cell/vars/2", 1, 400);   /* bias */
  expect_f32_dataset(f, "layers/lstm_1/cell/vars/0", 2, 100); /* (100, 256) */
  expect_f32_dataset(f, "layers/dense/vars/0", 2, 64);
  expect_f32_dataset(f, "layers/dense/vars/1", 1, 1);
  ck_assert(H5Lexists(f, "vars", H5P_DEFAULT) > 0);
  hid_t g = H5Gopen2(f, "layers/dropout", H5P_DEFAULT);
  ck_assert(g >= 0 && H5Lexists(g, "vars", H5P_DEFAULT) > 0);
  H5Gclose(g);
  g = H5Gopen2(f, "layers/lstm/vars", H5P_DEFAULT);
  H5G_info_t info;
  ck_assert(g >= 0 && H5Gget_info(g, &info) >= 0 && info.nlinks == 0);
  ck_assert(H5Aexists(g, "name") > 0);
  H5Gclose(g);
  H5Fclose(f);
  free(z);
  nnc_array a = predict_file(src, NULL), b = predict_file(out, NULL);
  ck_assert(!memcmp(a.data, b.data, (size_t)nnc_array_count(&a) * sizeof(float)));
  nnc_array_free(&a);
  nnc_array_free(&b);
}
END_TEST

int main(void) {
  Suite *s = suite_create("h5_12");
  TCase *tc = tcase_create("saved");
  tcase_set_timeout(tc, 600);
  tcase_add_loop_test(tc, test_saved_predicts, 0, (int)(sizeof cases / sizeof cases[0]));
  tcase_add_loop_test(tc, test_saved_same_weights, 0,
                      (int)(sizeof same_weights / sizeof same_weights[0]));
  tcase_add_loop_test(tc, test_saved_loads, 0, (int)(sizeof loads / sizeof loads[0]));
  tcase_add_loop_test(tc, test_saved_refused, 0, (int)(sizeof refused / sizeof refused[0]));
  tcase_add_test(tc, test_bad_files);
  tcase_add_test(tc, test_h5_weights_round_trip);
  tcase_add_test(tc, test_h5_written_by_hdf5);
  tcase_add_test(tc, test_h5_hostile);
  tcase_add_test(tc, test_keras_out_layout);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
