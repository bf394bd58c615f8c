/* Saved weights are what the safetensors format and Keras say they are, on
 * non-square kernels (5x3 and 3x2, where a transposed layout cannot pass):
 * the file, parsed here byte by byte (8-byte little-endian header length,
 * JSON header, raw little-endian float32 at data_offsets), holds every weight
 * as nnc_model_get_weight returns it, kernel [in, out] in C order; a model
 * that loads the file predicts bit for bit what the saved model predicted;
 * and a float64 forward pass computed here from the file's kernels
 * (relu(x W1 + b1) W2 + b2) agrees with those predictions. */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "testutil.h"

#define IN 5
#define HIDDEN 3
#define OUT 2
#define ROWS 7

static nnc_model *model(uint64_t seed) {
  char spec[1024];
  snprintf(spec, sizeof spec,
           "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m\", \"layers\": ["
           "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, %d], "
           "\"name\": \"in\"}},"
           "{\"class_name\": \"Dense\", \"config\": {\"name\": \"hidden\", \"units\": %d, "
           "\"activation\": \"relu\", \"bias_initializer\": \"random_normal\"}},"
           "{\"class_name\": \"Dense\", \"config\": {\"name\": \"out\", \"units\": %d, "
           "\"bias_initializer\": \"random_normal\"}}]}}",
           IN, HIDDEN, OUT);
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(spec, "saved.json", &m, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_set_seed(m, seed, &st) == NNC_OK, "%s", st.message);
  return m;
}

static float xs[ROWS * IN];
static nnc_array inputs(void) {
  for (int i = 0; i < ROWS * IN; i++) xs[i] = (float)((i * 37) % 17) / 8.0f - 1.0f;
  nnc_array x;
  memset(&x, 0, sizeof x);
  x.dtype = NNC_F32;
  x.rank = 2;
  x.shape[0] = ROWS;
  x.shape[1] = IN;
  x.data = xs;
  return x;
}

/* ---- the file, read without nnc ---- */

typedef struct file_bytes {
  unsigned char *b;
  size_t n;
} file_bytes;

static file_bytes slurp(const char *path) {
  file_bytes f = {0};
  FILE *fp = fopen(path, "rb");
  ck_assert_msg(fp != NULL, "%s: cannot open", path);
  fseek(fp, 0, SEEK_END);
  f.n = (size_t)ftell(fp);
  fseek(fp, 0, SEEK_SET);
  f.b = malloc(f.n + 1);
  ck_assert(fread(f.b, 1, f.n, fp) == f.n);
  fclose(fp);
  return f;
}

static uint64_t le64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

static float le_f32(const unsigned char *p) {
  uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

typedef struct saved_tensor {
  int rank;
  int64_t shape[2];
  float *v; /* malloc'ed, C order as stored */
} saved_tensor;

/* The tensor `name` of a parsed file: its header entry and its bytes. */
static saved_tensor read_tensor(const file_bytes *f, const char *name) {
  ck_assert_uint_ge(f->n, 8);
  uint64_t header_len = le64(f->b);
  ck_assert_uint_le(8 + header_len, f->n);
  cJSON *h = cJSON_ParseWithLength((const char *)f->b + 8, (size_t)header_len);
  ck_assert_msg(h != NULL, "the header is not JSON");
  cJSON *e = cJSON_GetObjectItemCaseSensitive(h, name);
  ck_assert_msg(cJSON_IsObject(e), "no tensor %s in the header", name);
  ck_assert_str_eq(cJSON_GetObjectItem(e, "dtype")->valuestring, "F32");
  saved_tensor t = {0};
  cJSON *shape = cJSON_GetObjectItem(e, "shape"), *offsets = cJSON_GetObjectItem(e, "data_offsets");
  t.rank = cJSON_GetArraySize(shape);
  ck_assert(t.rank >= 1 && t.rank <= 2);
  int64_t count = 1;
  for (int i = 0; i < t.rank; i++)
    count *= t.shape[i] = (int64_t)cJSON_GetArrayItem(shape, i)->valuedouble;
  uint64_t begin = (uint64_t)cJSON_GetArrayItem(offsets, 0)->valuedouble,
           end = (uint64_t)cJSON_GetArrayItem(offsets, 1)->valuedouble;
  ck_assert_uint_eq(end - begin, 4 * (uint64_t)count);
  ck_assert_uint_le(8 + header_len + end, f->n);
  const unsigned char *data = f->b + 8 + header_len + begin;
  t.v = malloc(sizeof(float) * (size_t)count);
  for (int64_t i = 0; i < count; i++) t.v[i] = le_f32(data + 4 * i);
  cJSON_Delete(h);
  return t;
}

START_TEST(saved_bytes_are_the_weights_in_keras_layout) {
  nnc_model *m = model(31);
  const char *path = testutil_path(testutil_tmpdir(), "w.safetensors");
  nnc_status st;
  ck_assert_msg(nnc_model_save_weights(m, path, &st) == NNC_OK, "%s", st.message);
  file_bytes f = slurp(path);
  static const struct {
    const char *name;
    int rank;
    int64_t d0, d1;
  } want[] = {{"hidden/kernel", 2, IN, HIDDEN},
              {"hidden/bias", 1, HIDDEN, 0},
              {"out/kernel", 2, HIDDEN, OUT},
              {"out/bias", 1, OUT, 0}};
  ck_assert_int_eq(nnc_model_weight_count(m), 4);
  for (int w = 0; w < 4; w++) {
    saved_tensor t = read_tensor(&f, want[w].name);
    ck_assert_int_eq(t.rank, want[w].rank);
    ck_assert_int_eq(t.shape[0], want[w].d0);
    if (t.rank == 2) ck_assert_int_eq(t.shape[1], want[w].d1);
    nnc_array a;
    ck_assert_msg(nnc_model_get_weight(m, want[w].name, &a, &st) == NNC_OK, "%s", st.message);
    ck_assert_int_eq(a.rank, t.rank);
    for (int i = 0; i < t.rank; i++) ck_assert_int_eq(a.shape[i], t.shape[i]);
    const float *got = a.data;
    for (int64_t i = 0; i < nnc_array_count(&a); i++)
      ck_assert_msg(memcmp(&got[i], &t.v[i], sizeof(float)) == 0,
                    "%s[%lld] (row %lld, column %lld): the model holds %.9g, the file %.9g",
                    want[w].name, (long long)i, (long long)(t.rank == 2 ? i / t.shape[1] : i),
                    (long long)(t.rank == 2 ? i % t.shape[1] : 0), (double)got[i], (double)t.v[i]);
    nnc_array_free(&a);
    free(t.v);
  }
  free(f.b);
  nnc_model_free(m);
}
END_TEST

START_TEST(loaded_weights_predict_what_was_saved) {
  nnc_array x = inputs();
  nnc_model *saved = model(31), *loaded = model(77);
  nnc_status st;
  const char *path = testutil_path(testutil_tmpdir(), "w.safetensors");
  nnc_array before, after, other;
  ck_assert_msg(nnc_model_predict(saved, &x, 4, &before, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_save_weights(saved, path, &st) == NNC_OK, "%s", st.message);
  /* another seed predicts otherwise: the comparison below can fail */
  ck_assert(nnc_model_predict(loaded, &x, 4, &other, &st) == NNC_OK);
  ck_assert(memcmp(before.data, other.data, sizeof(float) * ROWS * OUT) != 0);
  ck_assert_msg(nnc_model_load_weights(loaded, path, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_predict(loaded, &x, 4, &after, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(after.shape[0], ROWS);
  ck_assert_int_eq(after.shape[1], OUT);
  const float *p = before.data, *q = after.data;
  for (int i = 0; i < ROWS * OUT; i++)
    ck_assert_msg(memcmp(&p[i], &q[i], sizeof(float)) == 0,
                  "prediction %d: %.9g before saving, %.9g after loading", i, (double)p[i],
                  (double)q[i]);

  /* the file's kernels read as [in, out]: x W + b in float64 */
  file_bytes f = slurp(path);
  saved_tensor w1 = read_tensor(&f, "hidden/kernel"), b1 = read_tensor(&f, "hidden/bias"),
               w2 = read_tensor(&f, "out/kernel"), b2 = read_tensor(&f, "out/bias");
  for (int r = 0; r < ROWS; r++) {
    double h[HIDDEN];
    for (int j = 0; j < HIDDEN; j++) {
      double s = b1.v[j];
      for (int i = 0; i < IN; i++) s += (double)xs[r * IN + i] * w1.v[i * HIDDEN + j];
      h[j] = s > 0 ? s : 0;
    }
    for (int k = 0; k < OUT; k++) {
      double s = b2.v[k];
      for (int j = 0; j < HIDDEN; j++) s += h[j] * w2.v[j * OUT + k];
      ck_assert_msg(fabs(p[r * OUT + k] - s) <= 1e-6 + 1e-5 * fabs(s),
                    "row %d output %d: nnc %.9g, float64 from the file's kernels %.9g", r, k,
                    (double)p[r * OUT + k], s);
    }
  }
  free(w1.v);
  free(b1.v);
  free(w2.v);
  free(b2.v);
  free(f.b);
  nnc_array_free(&before);
  nnc_array_free(&after);
  nnc_array_free(&other);
  nnc_model_free(saved);
  nnc_model_free(loaded);
}
END_TEST

int main(void) {
  Suite *s = suite_create("saved_weights");
  TCase *tc = tcase_create("safetensors");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, saved_bytes_are_the_weights_in_keras_layout);
  tcase_add_test(tc, loaded_weights_predict_what_was_saved);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
