/* TF.js layers models in and out (issue 10, item 3; runtime/io/tfjs_*.c).
 *
 * The real model.json files of ../shared/models/saved/tfjs-* (read in place)
 * predict their expected_predict.npy; the graph model and a model with a
 * layer nnc lacks are refused by name; quantized entries (float16, uint8,
 * uint16) written here decode to hand-derived values; broken manifests are
 * refused naming the entry; nnc's writer gives files its reader reads back
 * bit for bit, with the Keras 3 spellings TF.js cannot read rewritten. */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "runtime/io/io.h"
#include "runtime/io/model_file.h"
#include "runtime/io/tfjs.h"
#include "testutil.h"

#ifndef NNC_SOURCE_DIR
#define NNC_SOURCE_DIR "."
#endif
#define SAVED_DIR NNC_SOURCE_DIR "/../shared/models/saved"

/* ---- helpers ---- */

static int have_saved_models(void) {
  struct stat sb;
  if (stat(SAVED_DIR, &sb) == 0) return 1;
  fprintf(stderr, "NOTICE: %s is absent: skipping the real TF.js models\n", SAVED_DIR);
  return 0;
}

static void write_bytes(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  ck_assert_msg(f != NULL, "cannot create %s", path);
  ck_assert_uint_eq(fwrite(data, 1, len, f), len);
  ck_assert_int_eq(fclose(f), 0);
}

static void write_text(const char *path, const char *text) {
  write_bytes(path, text, strlen(text));
}

static long file_size(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

static void free_model_file(nnc_model_file *f) {
  free(f->spec_json);
  nnc_tensor_set_free(&f->weights);
  nnc_tensor_set_free(&f->optimizer);
}

/* A fresh folder under the test's temporary directory. */
static const char *fresh_dir(const char *name) {
  static char dir[4][512];
  static int k;
  char *d = dir[k++ % 4];
  int n = snprintf(d, sizeof dir[0], "%s/%s", testutil_tmpdir(), name);
  ck_assert(n > 0 && (size_t)n < sizeof dir[0]);
  mkdir(d, 0777);
  return d;
}

static const char *join(const char *dir, const char *name) {
  static char buf[4][1024];
  static int k;
  char *b = buf[k++ % 4];
  int n = snprintf(b, sizeof buf[0], "%s/%s", dir, name);
  ck_assert(n > 0 && (size_t)n < sizeof buf[0]);
  return b;
}

/* The model of a model.json read by nnc_tfjs_model_read, with the weights
 * of the file loaded (nnc_model_load_weights: every weight, nothing else). */
static nnc_model *load_tfjs(const char *json_path, nnc_model_file *mf) {
  nnc_status st;
  ck_assert_msg(nnc_tfjs_model_read(json_path, mf, &st) == NNC_OK, "%s: %s", json_path, st.message);
  ck_assert_int_eq(mf->format, NNC_FORMAT_TFJS_LAYERS);
  nnc_model *m = NULL;
  ck_assert_msg(nnc_model_load_string(mf->spec_json, json_path, &m, &st) == NNC_OK, "%s: %s",
                json_path, st.message);
  ck_assert_msg(nnc_model_load_weights(m, json_path, &st) == NNC_OK, "%s: %s", json_path,
                st.message);
  return m;
}

/* ---- the real files ---- */

static const char *const real_models[] = {
    "tfjs-k2-doodle-cnn",       "tfjs-k2-fashion-mlp",     "tfjs-k215-maternal-mlp",
    "tfjs-k3-titanic-mlp",      "tfjs-layers-abalone-mlp", "tfjs-layers-autoencoder-decoder",
    "tfjs-layers-snake-dense1", "tfjs-old-snowday-mlp",    "tfjs-old-tictactoe-2groups"};

START_TEST(test_real_models_predict_expected) {
  if (!have_saved_models()) return;
  const char *name = real_models[_i];
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/%s", SAVED_DIR, name);
  nnc_model_file mf;
  nnc_model *m = load_tfjs(join(dir, "model.json"), &mf);
  /* every tensor of the file is a weight of the model (load_weights checked
   * the converse), so the counts agree */
  ck_assert_int_eq(mf.weights.n, nnc_model_weight_count(m));
  nnc_array x, want, got;
  nnc_status st;
  ck_assert_int_eq(nnc_npy_read(join(dir, "input.npy"), &x, &st), NNC_OK);
  ck_assert_int_eq(nnc_npy_read(join(dir, "expected_predict.npy"), &want, &st), NNC_OK);
  ck_assert_msg(nnc_model_predict(m, &x, 4, &got, &st) == NNC_OK, "%s: %s", name, st.message);
  ck_assert_int_eq(nnc_array_count(&got), nnc_array_count(&want));
  const float *g = got.data, *w = want.data;
  for (int64_t i = 0; i < nnc_array_count(&want); i++)
    ck_assert_msg(fabsf(g[i] - w[i]) <= 1e-5f + 1e-4f * fabsf(w[i]),
                  "%s: output %lld: %.9g, want %.9g", name, (long long)i, g[i], w[i]);
  nnc_array_free(&x);
  nnc_array_free(&want);
  nnc_array_free(&got);
  nnc_model_free(m);
  free_model_file(&mf);
}
END_TEST

START_TEST(test_model_name_prefix_is_dropped) {
  if (!have_saved_models()) return;
  /* converter 4.22 on Keras 3 wrote "sequential/dense/kernel" */
  nnc_model_file mf;
  nnc_status st;
  ck_assert_int_eq(nnc_tfjs_model_read(SAVED_DIR "/tfjs-k3-titanic-mlp/model.json", &mf, &st),
                   NNC_OK);
  ck_assert_int_eq(mf.weights.n, 6);
  ck_assert_str_eq(mf.weights.items[0].name, "dense/kernel");
  ck_assert_str_eq(mf.weights.items[5].name, "dense_2/bias");
  /* the spec keeps no manifest */
  ck_assert_ptr_null(strstr(mf.spec_json, "weightsManifest"));
  free_model_file(&mf);
}
END_TEST

START_TEST(test_graph_model_refused) {
  if (!have_saved_models()) return;
  const char *path = SAVED_DIR "/tfjs-graph-tictactoe-negative/model.json";
  nnc_model_file mf;
  nnc_status st;
  ck_assert_int_eq(nnc_tfjs_model_read(path, &mf, &st), NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, "graph model") && strstr(st.message, "layers models only"), "%s",
                st.message);
  ck_assert_ptr_null(mf.spec_json);
  ck_assert_int_eq(mf.weights.n, 0);
}
END_TEST

START_TEST(test_sorted_manifest_and_unsupported_layer) {
  if (!have_saved_models()) return;
  /* entries sorted by name, not in layer order: read by name, all 123 */
  const char *path = SAVED_DIR "/tfjs-k2-anime4k-prelu-sorted/model.json";
  nnc_model_file mf;
  nnc_status st;
  ck_assert_msg(nnc_tfjs_model_read(path, &mf, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(mf.weights.n, 123);
  ck_assert_str_eq(mf.weights.items[0].name, "batch_normalization_7/gamma");
  const nnc_array *a = nnc_tensor_set_find(&mf.weights, "batch_normalization_7/moving_variance");
  ck_assert_ptr_nonnull(a);
  ck_assert_int_eq(a->rank, 1);
  ck_assert_int_eq(a->shape[0], 32);
  /* its TensorFlowOpLayer is no Keras layer: refused by name */
  nnc_model *m = NULL;
  ck_assert_int_eq(nnc_model_load_string(mf.spec_json, path, &m, &st), NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, "TensorFlowOpLayer"), "%s", st.message);
  free_model_file(&mf);
}
END_TEST

/* ---- float16 ---- */

/* binary16 by its definition, in double: (-1)^s 2^(e-15) (1 + m/1024), or
 * 2^-14 m/1024 for e = 0 */
static double half_reference(unsigned h) {
  int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
  double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(1024 + m, e - 25);
  return s ? -v : v;
}

START_TEST(test_half_to_float_every_value) {
  for (unsigned h = 0; h < 65536; h++) {
    float f = tfjs_half_to_float((uint16_t)h);
    double want = half_reference(h);
    if (isnan(want)) {
      ck_assert_msg(isnan(f), "0x%04x", h);
      continue;
    }
    ck_assert_msg((double)f == want && !signbit(f) == !signbit(want), "0x%04x: %.9g, want %.9g", h,
                  f, want);
  }
}
END_TEST

/* ---- quantized entries and unusual layouts, written here ---- */

/* Dense(2 -> 3) then Dense(3 -> 1), linear. */
static const char quant_topology[] =
    "{'class_name': 'Sequential', 'config': {'name': 'q', 'layers': ["
    "{'class_name': 'Dense', 'config': {'name': 'a', 'units': 3, 'batch_input_shape': [null, 2]}},"
    "{'class_name': 'Dense', 'config': {'name': 'b', 'units': 1}}]}}";

/* Group 1 (two extension-less shards, the kernel cut across them): a/kernel
 * float16, a/bias uint8. Group 2 ("./sub/g2.bin"): b's bias first (float32),
 * then b/kernel uint16 with the affine keys and original_dtype. */
static void write_quantized_model(const char *dir) {
  /* a/kernel [2, 3]: 1, -2, 0.5 / 2^-24, 65504, 0.333251953125 */
  const uint16_t kernel[6] = {0x3C00, 0xC000, 0x3800, 0x0001, 0x7BFF, 0x3555};
  unsigned char g1[12 + 3];
  for (int i = 0; i < 6; i++) {
    g1[2 * i] = (unsigned char)(kernel[i] & 0xff);
    g1[2 * i + 1] = (unsigned char)(kernel[i] >> 8);
  }
  g1[12] = 0, g1[13] = 4, g1[14] = 255; /* a/bias q: -1 + 0.25 q = -1, 0, 62.75 */
  write_bytes(join(dir, "g1-a"), g1, 5);
  write_bytes(join(dir, "g1-b"), g1 + 5, sizeof g1 - 5);
  mkdir(join(dir, "sub"), 0777);
  float bias = 0.125f;
  unsigned char g2[4 + 6];
  memcpy(g2, &bias, 4);
  const uint16_t q[3] = {2, 6, 1}; /* b/kernel: -3 + 0.5 q = -2, 0, -2.5 */
  for (int i = 0; i < 3; i++) {
    g2[4 + 2 * i] = (unsigned char)(q[i] & 0xff);
    g2[4 + 2 * i + 1] = (unsigned char)(q[i] >> 8);
  }
  write_bytes(join(dir, "sub/g2.bin"), g2, sizeof g2);
  char json[4096];
  snprintf(json, sizeof json,
           "{\"modelTopology\": {\"keras_version\": \"2.1.6\", \"model_config\": %s},"
           "\"weightsManifest\": ["
           "{\"paths\": [\"g1-a\", \"g1-b\"], \"weights\": ["
           "{\"name\": \"a/kernel\", \"shape\": [2, 3], \"dtype\": \"float32\","
           " \"quantization\": {\"dtype\": \"float16\", \"original_dtype\": \"float32\"}},"
           "{\"name\": \"a/bias\", \"shape\": [3], \"dtype\": \"float32\","
           " \"quantization\": {\"scale\": 0.25, \"min\": -1, \"dtype\": \"uint8\"}}]},"
           "{\"paths\": [\"./sub/g2.bin\"], \"weights\": ["
           "{\"name\": \"b/bias\", \"shape\": [1], \"dtype\": \"float32\"},"
           "{\"name\": \"b/kernel\", \"shape\": [3, 1], \"dtype\": \"float32\","
           " \"quantization\": {\"dtype\": \"uint16\", \"min\": -3.0, \"scale\": 0.5,"
           " \"original_dtype\": \"float32\"}}]}]}",
           testutil_json(quant_topology));
  write_text(join(dir, "model.json"), json);
}

static void expect_values(const nnc_tensor_set *set, const char *name, const float *want, int n) {
  const nnc_array *a = nnc_tensor_set_find(set, name);
  ck_assert_msg(a != NULL, "no tensor %s", name);
  ck_assert_int_eq(a->dtype, NNC_F32);
  ck_assert_int_eq(nnc_array_count(a), n);
  for (int i = 0; i < n; i++)
    ck_assert_msg(((const float *)a->data)[i] == want[i], "%s[%d]: %.9g, want %.9g", name, i,
                  ((const float *)a->data)[i], want[i]);
}

START_TEST(test_quantized_entries_decode_to_hand_values) {
  const char *dir = fresh_dir("quant");
  write_quantized_model(dir);
  nnc_model_file mf;
  nnc_model *m = load_tfjs(join(dir, "model.json"), &mf);
  const float ak[6] = {1, -2, 0.5f, 0x1p-24f, 65504, 0.333251953125f};
  const float ab[3] = {-1, 0, 62.75f}, bk[3] = {-2, 0, -2.5f}, bb[1] = {0.125f};
  expect_values(&mf.weights, "a/kernel", ak, 6);
  expect_values(&mf.weights, "a/bias", ab, 3);
  expect_values(&mf.weights, "b/kernel", bk, 3);
  expect_values(&mf.weights, "b/bias", bb, 1);
  /* and the model computes with them: x [1, 2] */
  float xv[2] = {1, 2};
  nnc_array x = testutil_f32(xv, 1, 2), y;
  nnc_status st;
  ck_assert_msg(nnc_model_predict(m, &x, 1, &y, &st) == NNC_OK, "%s", st.message);
  double h[3];
  for (int j = 0; j < 3; j++) h[j] = 1.0 * ak[j] + 2.0 * ak[3 + j] + ab[j];
  double want = h[0] * bk[0] + h[1] * bk[1] + h[2] * bk[2] + bb[0];
  float got = ((float *)y.data)[0];
  ck_assert_msg(fabs(got - want) <= 1e-6 * fabs(want), "%.9g, want %.9g", got, want);
  nnc_array_free(&y);
  nnc_model_free(m);
  free_model_file(&mf);
}
END_TEST

/* model.json of dir with `from` replaced by `to` (once). */
static void edit_manifest(const char *dir, const char *from, const char *to) {
  size_t len;
  nnc_status st;
  char *text = nnc_read_file(join(dir, "model.json"), &len, &st);
  ck_assert_ptr_nonnull(text);
  char *at = strstr(text, from);
  ck_assert_msg(at != NULL, "no %s in model.json", from);
  char out[8192];
  snprintf(out, sizeof out, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
  write_text(join(dir, "model.json"), out);
  free(text);
}

static void expect_read_error(const char *dir, const char *what1, const char *what2) {
  nnc_model_file mf;
  nnc_status st;
  ck_assert_int_ne(nnc_tfjs_model_read(join(dir, "model.json"), &mf, &st), NNC_OK);
  ck_assert_msg(strstr(st.message, what1) && (!what2 || strstr(st.message, what2)),
                "message '%s' lacks '%s' / '%s'", st.message, what1, what2 ? what2 : "");
  ck_assert_ptr_null(mf.spec_json);
  ck_assert_int_eq(mf.weights.n, 0);
}

START_TEST(test_broken_manifests_refused) {
  const char *dir = fresh_dir("broken");
  /* a shard one byte short: the last entry of group 2 lacks it */
  write_quantized_model(dir);
  unsigned char g2[10];
  FILE *f = fopen(join(dir, "sub/g2.bin"), "rb");
  ck_assert_uint_eq(fread(g2, 1, sizeof g2, f), sizeof g2);
  fclose(f);
  write_bytes(join(dir, "sub/g2.bin"), g2, 9);
  /* refused from the shards' sizes, before any is read (session 13) */
  expect_read_error(dir, "$.weightsManifest[1]", "shards hold 9 bytes, its entries take 10");
  /* one byte too many: the shards are not this manifest's */
  write_bytes(join(dir, "sub/g2.bin"), g2, 10);
  FILE *a = fopen(join(dir, "sub/g2.bin"), "ab");
  fputc(0, a);
  fclose(a);
  expect_read_error(dir, "$.weightsManifest[1]", "hold 11 bytes, its entries take 10");
  /* a missing shard is named */
  write_quantized_model(dir);
  unlink(join(dir, "g1-b"));
  expect_read_error(dir, "g1-b", "$.weightsManifest[0]");
  write_quantized_model(dir);
  edit_manifest(dir, "\"g1-a\"", "\"/etc/passwd\"");
  expect_read_error(dir, "expected a file name relative to model.json", NULL);
  write_quantized_model(dir);
  edit_manifest(dir, "\"uint8\"", "\"int4\"");
  expect_read_error(dir, "$.weightsManifest[0].weights[1]", "quantization dtype \"int4\"");
  write_quantized_model(dir);
  edit_manifest(dir, "\"scale\": 0.25, ", "");
  expect_read_error(dir, "$.weightsManifest[0].weights[1]", "\"scale\"");
  write_quantized_model(dir);
  edit_manifest(dir, "\"shape\": [1], \"dtype\": \"float32\"",
                "\"shape\": [1], \"dtype\": \"int32\"");
  expect_read_error(dir, "$.weightsManifest[1].weights[0]", "float32 weights only");
  write_quantized_model(dir);
  edit_manifest(dir, "[2, 3]", "[2, -3]");
  expect_read_error(dir, "$.weightsManifest[0].weights[0]", "shape[1]");
  /* two entries of one name */
  write_quantized_model(dir);
  edit_manifest(dir, "\"b/bias\"", "\"a/bias\"");
  expect_read_error(dir, "already in the set", "$.weightsManifest[1].weights[0]");
}
END_TEST

/* ---- the writer ---- */

static unsigned char *slurp(const char *path, size_t *len) {
  nnc_status st;
  char *t = nnc_read_file_capped(path, (size_t)1 << 30, len, &st);
  ck_assert_msg(t != NULL, "%s: %s", path, st.message);
  return (unsigned char *)t;
}

static void expect_same_weights(const nnc_model *m, const nnc_tensor_set *set) {
  ck_assert_int_eq(set->n, nnc_model_weight_count(m));
  for (int i = 0; i < set->n; i++) {
    nnc_array a;
    nnc_status st;
    const char *name = nnc_model_weight_name(m, i);
    ck_assert_int_eq(nnc_model_get_weight(m, name, &a, &st), NNC_OK);
    const nnc_array *b = nnc_tensor_set_find(set, name);
    ck_assert_msg(b != NULL, "no tensor %s", name);
    ck_assert_int_eq(a.rank, b->rank);
    for (int d = 0; d < a.rank; d++) ck_assert_int_eq(a.shape[d], b->shape[d]);
    ck_assert_msg(!memcmp(a.data, b->data, (size_t)nnc_array_count(&a) * 4), "%s differs", name);
    nnc_array_free(&a);
  }
}

START_TEST(test_writer_shards_and_round_trip) {
  /* 1100 x 1000 kernel: 4.4 MB of weights, two shards */
  const char *spec = testutil_sequential(
      "1100",
      "{'class_name': 'Dense', 'config': {'name': 'big', 'units': 1000, 'kernel_initializer': "
      "'zeros'}},"
      "{'class_name': 'Dense', 'config': {'name': 'head', 'units': 2, 'activation': 'softmax'}}",
      "{'optimizer': 'adam', 'loss': 'categorical_crossentropy'}");
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(spec, "spec.json", &m, &st) == NNC_OK, "%s", st.message);
  /* a kernel of distinct values, set (not drawn: drawing 1.1M values is slow under ASan) */
  float *kv = malloc(1100 * 1000 * sizeof *kv);
  ck_assert_ptr_nonnull(kv);
  for (uint32_t i = 0; i < 1100 * 1000; i++)
    kv[i] = (float)(i * 2654435761u >> 8) * 0x1p-24f - 0.5f;
  nnc_array k = {.dtype = NNC_F32, .rank = 2, .shape = {1100, 1000}, .data = kv};
  ck_assert_int_eq(nnc_model_set_weight(m, "big/kernel", &k, &st), NNC_OK);
  free(kv);
  char dir[512]; /* created by the writer */
  snprintf(dir, sizeof dir, "%s/written", testutil_tmpdir());
  ck_assert_msg(nnc_tfjs_model_write(dir, spec, m, &st) == NNC_OK, "%s", st.message);
  size_t total = (1100 * 1000 + 1000 + 1000 * 2 + 2) * 4;
  ck_assert_int_eq(file_size(join(dir, "group1-shard1of2.bin")), (long)TFJS_SHARD_BYTES);
  ck_assert_int_eq(file_size(join(dir, "group1-shard2of2.bin")), (long)(total - TFJS_SHARD_BYTES));
  size_t len;
  unsigned char *text = slurp(join(dir, "model.json"), &len);
  cJSON *root = cJSON_Parse((char *)text);
  ck_assert_ptr_nonnull(root);
  ck_assert_str_eq(cJSON_GetObjectItem(root, "format")->valuestring, "layers-model");
  ck_assert(cJSON_IsString(cJSON_GetObjectItem(root, "generatedBy")));
  ck_assert(cJSON_IsString(cJSON_GetObjectItem(root, "convertedBy")));
  cJSON *paths = cJSON_GetObjectItem(
      cJSON_GetArrayItem(cJSON_GetObjectItem(root, "weightsManifest"), 0), "paths");
  ck_assert_int_eq(cJSON_GetArraySize(paths), 2);
  ck_assert_str_eq(cJSON_GetArrayItem(paths, 0)->valuestring, "group1-shard1of2.bin");
  /* the Keras 3 spellings TF.js refuses are gone */
  ck_assert_ptr_null(strstr((char *)text, "\"module\""));
  ck_assert_ptr_null(strstr((char *)text, "batch_shape"));
  ck_assert_ptr_nonnull(strstr((char *)text, "\"batch_input_shape\":[null,1100]"));
  cJSON_Delete(root);
  free(text);
  /* read back: every weight bit for bit, and the same predictions */
  nnc_model_file mf;
  nnc_model *back = load_tfjs(join(dir, "model.json"), &mf);
  expect_same_weights(m, &mf.weights);
  float xv[2 * 1100];
  for (int i = 0; i < 2 * 1100; i++) xv[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
  nnc_array x = testutil_f32(xv, 2, 1100), p1, p2;
  ck_assert_int_eq(nnc_model_predict(m, &x, 2, &p1, &st), NNC_OK);
  ck_assert_int_eq(nnc_model_predict(back, &x, 2, &p2, &st), NNC_OK);
  ck_assert(!memcmp(p1.data, p2.data, 4 * 4));
  nnc_array_free(&p1);
  nnc_array_free(&p2);
  nnc_model_free(back);
  nnc_model_free(m);
  free_model_file(&mf);
}
END_TEST

/* A Keras 3 Functional config: {args, kwargs} nodes, a single-triple
 * input_layers, DTypePolicy objects, a DepthwiseConv2D. */
static const char keras3_functional[] =
    "{'module': 'keras.src.models.functional', 'class_name': 'Functional', 'config': {"
    "'name': 'f', 'trainable': true, 'layers': ["
    "{'module': 'keras.layers', 'class_name': 'InputLayer', 'config': {'batch_shape': [null, 6, 6, "
    "2], 'dtype': 'float32', 'sparse': false, 'name': 'img'}, 'registered_name': null, 'name': "
    "'img', 'inbound_nodes': []},"
    "{'module': 'keras.layers', 'class_name': 'DepthwiseConv2D', 'config': {'name': 'dw', "
    "'dtype': {'module': 'keras', 'class_name': 'DTypePolicy', 'config': {'name': 'float32'}, "
    "'registered_name': null}, 'kernel_size': [3, 3], 'depth_multiplier': 2}, 'registered_name': "
    "null, 'build_config': {'input_shape': [null, 6, 6, 2]}, 'name': 'dw', 'inbound_nodes': "
    "[{'args': [{'class_name': '__keras_tensor__', 'config': {'shape': [null, 6, 6, 2], 'dtype': "
    "'float32', 'keras_history': ['img', 0, 0]}}], 'kwargs': {}}]},"
    "{'module': 'keras.layers', 'class_name': 'Flatten', 'config': {'name': 'fl'}, "
    "'registered_name': null, 'name': 'fl', 'inbound_nodes': [{'args': [{'class_name': "
    "'__keras_tensor__', 'config': {'shape': [null, 4, 4, 4], 'dtype': 'float32', "
    "'keras_history': ['dw', 0, 0]}}], 'kwargs': {}}]},"
    "{'module': 'keras.layers', 'class_name': 'Dense', 'config': {'name': 'p', 'units': 3}, "
    "'registered_name': null, 'name': 'p', 'inbound_nodes': [{'args': [{'class_name': "
    "'__keras_tensor__', 'config': {'shape': [null, 64], 'dtype': 'float32', 'keras_history': "
    "['fl', 0, 0]}}], 'kwargs': {}}]},"
    "{'module': 'keras.layers', 'class_name': 'Dense', 'config': {'name': 'q', 'units': 3}, "
    "'registered_name': null, 'name': 'q', 'inbound_nodes': [{'args': [{'class_name': "
    "'__keras_tensor__', 'config': {'shape': [null, 64], 'dtype': 'float32', 'keras_history': "
    "['fl', 0, 0]}}], 'kwargs': {}}]},"
    "{'module': 'keras.layers', 'class_name': 'Concatenate', 'config': {'name': 'cat', 'axis': "
    "-1}, 'registered_name': null, 'name': 'cat', 'inbound_nodes': [{'args': [[{'class_name': "
    "'__keras_tensor__', 'config': {'shape': [null, 3], 'dtype': 'float32', 'keras_history': "
    "['p', 0, 0]}}, {'class_name': '__keras_tensor__', 'config': {'shape': [null, 3], 'dtype': "
    "'float32', 'keras_history': ['q', 0, 0]}}]], 'kwargs': {}}]}],"
    "'input_layers': ['img', 0, 0], 'output_layers': ['cat', 0, 0]}}";

START_TEST(test_writer_keras3_functional) {
  const char *spec = testutil_json(keras3_functional);
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(spec, "f.json", &m, &st) == NNC_OK, "%s", st.message);
  const char *dir = fresh_dir("functional");
  ck_assert_msg(nnc_tfjs_model_write(dir, spec, m, &st) == NNC_OK, "%s", st.message);
  size_t len;
  unsigned char *text = slurp(join(dir, "model.json"), &len);
  /* tf.keras 2 node lists, endpoint lists, dtype strings; TF.js's kernel name */
  ck_assert_ptr_nonnull(
      strstr((char *)text, "\"inbound_nodes\":[[[\"p\",0,0,{}],[\"q\",0,0,{}]]]"));
  ck_assert_ptr_nonnull(strstr((char *)text, "\"input_layers\":[[\"img\",0,0]]"));
  ck_assert_ptr_nonnull(strstr((char *)text, "\"dtype\":\"float32\",\"kernel_size\""));
  ck_assert_ptr_nonnull(strstr((char *)text, "\"name\":\"dw/depthwise_kernel\""));
  ck_assert_ptr_null(strstr((char *)text, "__keras_tensor__"));
  ck_assert_ptr_null(strstr((char *)text, "registered_name"));
  free(text);
  nnc_model_file mf;
  nnc_model *back = load_tfjs(join(dir, "model.json"), &mf);
  float xv[72];
  for (int i = 0; i < 72; i++) xv[i] = (float)((i * 13) % 17) / 8.0f - 1.0f;
  nnc_array x = {.dtype = NNC_F32, .rank = 4, .shape = {1, 6, 6, 2}, .data = xv}, p1, p2;
  ck_assert_int_eq(nnc_model_predict(m, &x, 1, &p1, &st), NNC_OK);
  ck_assert_int_eq(nnc_model_predict(back, &x, 1, &p2, &st), NNC_OK);
  ck_assert_int_eq(nnc_array_count(&p2), 6);
  ck_assert(!memcmp(p1.data, p2.data, 6 * 4));
  nnc_array_free(&p1);
  nnc_array_free(&p2);
  nnc_model_free(back);
  nnc_model_free(m);
  free_model_file(&mf);
}
END_TEST

START_TEST(test_writer_refuses) {
  nnc_status st;
  const char *spec = testutil_sequential(
      "4", "{'class_name': 'Dense', 'config': {'name': 'd', 'units': 1}}", NULL);
  nnc_model *m = NULL;
  ck_assert_int_eq(nnc_model_load_string(spec, "s.json", &m, &st), NNC_OK);
  /* a regular file where the folder should be */
  char file[512];
  snprintf(file, sizeof file, "%s/plain", testutil_tmpdir());
  write_text(file, "x");
  ck_assert_int_eq(nnc_tfjs_model_write(file, spec, m, &st), NNC_ERR_WRITE);
  ck_assert_msg(strstr(st.message, "not a folder"), "%s", st.message);
  ck_assert_int_eq(nnc_tfjs_model_write(fresh_dir("w2"), "{\"class_name\": \"Dense\"}", m, &st),
                   NNC_ERR_SPEC);
  nnc_model_free(m);
}
END_TEST

static Suite *tfjs_suite(void) {
  Suite *s = suite_create("tfjs12");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, test_real_models_predict_expected, 0,
                      (int)(sizeof real_models / sizeof real_models[0]));
  tcase_add_test(tc, test_model_name_prefix_is_dropped);
  tcase_add_test(tc, test_graph_model_refused);
  tcase_add_test(tc, test_sorted_manifest_and_unsupported_layer);
  tcase_add_test(tc, test_half_to_float_every_value);
  tcase_add_test(tc, test_quantized_entries_decode_to_hand_values);
  tcase_add_test(tc, test_broken_manifests_refused);
  tcase_add_test(tc, test_writer_shards_and_round_trip);
  tcase_add_test(tc, test_writer_keras3_functional);
  tcase_add_test(tc, test_writer_refuses);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return testutil_run(tfjs_suite());
}
