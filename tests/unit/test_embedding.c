/* Embedding: the GATHER op and its gradient, the weight, the data checks.
 *
 * Truth: Keras 3's Embedding.call is ops.take(embeddings, inputs, axis=0):
 * output[b, i, :] = embeddings[inputs[b, i], :]; its gradient with respect
 * to the table sums the incoming gradient of every position into the row it
 * read (tf.gather's gradient, an IndexedSlices summed by the optimizer).
 * Forward values are compared with tables set by hand; gradients with
 * central differences of the test loss (one SGD step at learning rate 1
 * moves each weight by minus its gradient), on indices that repeat a row
 * four times and leave one row unused. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "runtime/io/io.h"
#include "testutil.h"

#define Q testutil_json

/* InputLayer [null, dims] -> Embedding(rows, width, extra config) -> Flatten [-> Dense(1)]. */
static const char *embedding_model(const char *dims, int rows, int width, const char *extra,
                                   int dense) {
  static char buf[4096];
  snprintf(buf, sizeof buf,
           "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, %s], 'name': 'tokens'}},"
           "{'class_name': 'Embedding', 'config': {'name': 'embedding', 'input_dim': %d, "
           "'output_dim': %d%s}},"
           "{'class_name': 'Flatten', 'config': {'name': 'flatten'}}%s]}, "
           "'compile_config': {'optimizer': {'class_name': 'SGD', 'config': "
           "{'learning_rate': 1.0}}, 'loss': 'mse'}}",
           dims, rows, width, extra,
           dense ? ", {'class_name': 'Dense', 'config': {'name': 'dense', 'units': 1}}" : "");
  return Q(buf);
}

static nnc_model *load(const char *json) {
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, "embedding.json", &m, &st) == NNC_OK, "%s", st.message);
  return m;
}

/* table[r][c] = 10 r + c + 0.5 */
static void set_table(nnc_model *m, int rows, int width) {
  float v[64];
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < width; c++) v[r * width + c] = (float)(10 * r + c) + 0.5f;
  nnc_array t = testutil_f32(v, rows, width);
  nnc_status st;
  ck_assert_msg(nnc_model_set_weight(m, "embedding/embeddings", &t, &st) == NNC_OK, "%s",
                st.message);
}

START_TEST(forward_reads_the_rows_of_the_indices) {
  nnc_model *m = load(embedding_model("4", 6, 3, "", 0));
  set_table(m, 6, 3);
  float x[8] = {1, 3, 1, 0, 5, 2, 2, 4};
  nnc_array xa = testutil_f32(x, 2, 4), out;
  nnc_status st;
  ck_assert_msg(nnc_model_predict(m, &xa, 2, &out, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(out.rank, 2);
  ck_assert_int_eq(out.shape[1], 12);
  const float *o = out.data;
  for (int b = 0; b < 2; b++)
    for (int i = 0; i < 4; i++)
      for (int c = 0; c < 3; c++)
        ck_assert_float_eq(o[b * 12 + i * 3 + c], (float)(10 * (int)x[b * 4 + i] + c) + 0.5f);
  nnc_array_free(&out);
  nnc_model_free(m);
}
END_TEST

/* Indices of rank 2 per sample: [B, 2, 2] -> [B, 2, 2, width]. */
START_TEST(forward_on_rank_two_indices) {
  nnc_model *m = load(embedding_model("2, 2", 5, 2, "", 0));
  set_table(m, 5, 2);
  float x[4] = {4, 0, 2, 4};
  nnc_array xa = {.dtype = NNC_F32, .rank = 3, .shape = {1, 2, 2}, .data = x}, out;
  nnc_status st;
  ck_assert_msg(nnc_model_predict(m, &xa, 1, &out, &st) == NNC_OK, "%s", st.message);
  const float want[8] = {40.5f, 41.5f, 0.5f, 1.5f, 20.5f, 21.5f, 40.5f, 41.5f};
  ck_assert_int_eq(nnc_array_count(&out), 8);
  ck_assert_mem_eq(out.data, want, sizeof want);
  nnc_array_free(&out);
  nnc_model_free(m);
}
END_TEST

static double test_loss(nnc_model *m, const nnc_array *x, const nnc_array *y) {
  TEST_LOGS(logs);
  nnc_status st;
  ck_assert_msg(nnc_model_test_on_batch(m, x, y, &logs, &st) == NNC_OK, "%s", st.message);
  return nnc_logs_get(&logs, "loss");
}

/* Row 1 is read four times, row 5 never: its gradient must be exactly 0. */
START_TEST(table_gradient_matches_finite_differences) {
  enum { ROWS = 6, WIDTH = 3, N = 8 };
  nnc_model *m = load(embedding_model("4", ROWS, WIDTH, "", 1));
  float x[N] = {1, 3, 1, 0, 4, 1, 1, 2}, y[2] = {0.75f, -1.25f};
  nnc_array xa = testutil_f32(x, 2, 4), ya = testutil_f32(y, 2, 1);
  nnc_status st;
  ck_assert_msg(nnc_model_build(m, &xa, &ya, &st) == NNC_OK, "%s", st.message);
  float tv[ROWS * WIDTH], kv[12];
  for (int e = 0; e < ROWS * WIDTH; e++) tv[e] = (float)(0.3 * sin(1.7 * e) + 0.05);
  for (int e = 0; e < 12; e++) kv[e] = (float)(0.4 * cos(0.9 * e) - 0.1);
  nnc_array t = testutil_f32(tv, ROWS, WIDTH), k = testutil_f32(kv, 12, 1);
  ck_assert(nnc_model_set_weight(m, "embedding/embeddings", &t, &st) == NNC_OK);
  ck_assert(nnc_model_set_weight(m, "dense/kernel", &k, &st) == NNC_OK);

  double fd[ROWS * WIDTH];
  for (int e = 0; e < ROWS * WIDTH; e++) {
    const double h = 1e-2;
    float keep = tv[e];
    tv[e] = keep + (float)h;
    ck_assert(nnc_model_set_weight(m, "embedding/embeddings", &t, &st) == NNC_OK);
    double up = test_loss(m, &xa, &ya);
    tv[e] = keep - (float)h;
    ck_assert(nnc_model_set_weight(m, "embedding/embeddings", &t, &st) == NNC_OK);
    double down = test_loss(m, &xa, &ya);
    tv[e] = keep;
    fd[e] = (up - down) / ((double)(keep + (float)h) - (double)(keep - (float)h));
  }
  ck_assert(nnc_model_set_weight(m, "embedding/embeddings", &t, &st) == NNC_OK);
  TEST_LOGS(logs);
  ck_assert_msg(nnc_model_train_on_batch(m, &xa, &ya, &logs, &st) == NNC_OK, "%s", st.message);
  nnc_array after;
  ck_assert(nnc_model_get_weight(m, "embedding/embeddings", &after, &st) == NNC_OK);
  const float *a = after.data;
  for (int e = 0; e < ROWS * WIDTH; e++) {
    double g = (double)tv[e] - (double)a[e];
    if (e / WIDTH == 5) {
      ck_assert_msg(g == 0.0, "unused row 5: gradient %g, expected exactly 0", g);
      continue;
    }
    ck_assert_msg(fabs(g - fd[e]) <= 2e-4 + 1e-3 * fabs(fd[e]),
                  "embeddings[%d][%d]: step gradient %.7g, finite difference %.7g", e / WIDTH,
                  e % WIDTH, g, fd[e]);
  }
  /* row 1 (four reads) must carry a gradient: the check above is not vacuous */
  ck_assert(fabs(fd[1 * WIDTH]) > 1e-3);
  nnc_array_free(&after);
  nnc_model_free(m);
}
END_TEST

static void refused(const float *x, const char *want) {
  nnc_model *m = load(embedding_model("4", 6, 3, "", 0));
  float v[8];
  memcpy(v, x, sizeof v);
  nnc_array xa = testutil_f32(v, 2, 4), out;
  nnc_status st;
  ck_assert_int_eq(nnc_model_predict(m, &xa, 2, &out, &st), NNC_ERR_DATA);
  ck_assert_msg(strstr(st.message, want), "'%s' not in: %s", want, st.message);
  ck_assert_msg(strstr(st.message, "x (input 'tokens')"), "no input name in: %s", st.message);
  nnc_model_free(m);
}

START_TEST(out_of_range_indices_are_refused_with_their_position) {
  const float big[8] = {1, 2, 3, 4, 0, 5, 6, 1};
  refused(big, "sample 1, position (2,) holds 6: expected an integer index in [0, 6)");
  const float negative[8] = {-1, 2, 3, 4, 0, 5, 5, 1};
  refused(negative, "sample 0, position (0,) holds -1");
  const float fraction[8] = {1, 2, 3, 4, 0, 5, 5, 1.5f};
  refused(fraction, "sample 1, position (3,) holds 1.5");
}
END_TEST

/* A rank-2 position prints as a pair. */
START_TEST(out_of_range_position_on_rank_two_indices) {
  nnc_model *m = load(embedding_model("2, 2", 5, 2, "", 0));
  float x[8] = {0, 1, 2, 3, 4, 4, 7, 4};
  nnc_array xa = {.dtype = NNC_F32, .rank = 3, .shape = {2, 2, 2}, .data = x}, out;
  nnc_status st;
  ck_assert_int_eq(nnc_model_predict(m, &xa, 2, &out, &st), NNC_ERR_DATA);
  ck_assert_msg(strstr(st.message, "sample 1, position (1, 0) holds 7"), "%s", st.message);
  nnc_model_free(m);
}
END_TEST

/* A .npy of int64 and of uint8, written here byte by byte as numpy lays it
 * out, gives the same predictions as the float indices. */
static void write_npy(const char *path, const char *descr, const void *data, size_t bytes) {
  char header[128];
  int n = snprintf(header, sizeof header,
                   "{'descr': '%s', 'fortran_order': False, 'shape': (2, 4), }", descr);
  while ((10 + n + 1) % 64) header[n++] = ' ';
  header[n++] = '\n';
  FILE *f = fopen(path, "wb");
  ck_assert(f != NULL);
  unsigned char magic[10] = {
      0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(n & 0xff), (unsigned char)(n >> 8)};
  fwrite(magic, 1, 10, f);
  fwrite(header, 1, (size_t)n, f);
  fwrite(data, 1, bytes, f);
  fclose(f);
}

START_TEST(integer_npy_indices) {
  nnc_model *m = load(embedding_model("4", 6, 3, "", 0));
  set_table(m, 6, 3);
  const int64_t i64[8] = {1, 3, 1, 0, 5, 2, 2, 4};
  const uint8_t u8[8] = {1, 3, 1, 0, 5, 2, 2, 4};
  float xf[8] = {1, 3, 1, 0, 5, 2, 2, 4};
  nnc_array xa = testutil_f32(xf, 2, 4), want, got;
  nnc_status st;
  ck_assert_msg(nnc_model_predict(m, &xa, 2, &want, &st) == NNC_OK, "%s", st.message);
  const char *dir = testutil_tmpdir();
  const char *p64 = testutil_path(dir, "i64.npy"), *p8 = testutil_path(dir, "u8.npy");
  write_npy(p64, "<i8", i64, sizeof i64);
  write_npy(p8, "|u1", u8, sizeof u8);
  const char *paths[2] = {p64, p8};
  for (int k = 0; k < 2; k++) {
    nnc_array file;
    ck_assert_msg(nnc_array_read(paths[k], &file, &st) == NNC_OK, "%s", st.message);
    ck_assert_int_eq(file.dtype, k == 0 ? NNC_I64 : NNC_U8);
    ck_assert_msg(nnc_model_predict(m, &file, 2, &got, &st) == NNC_OK, "%s", st.message);
    ck_assert_mem_eq(got.data, want.data, sizeof(float) * 24);
    nnc_array_free(&got);
    nnc_array_free(&file);
  }
  /* an int64 index far beyond the table is refused, not wrapped */
  const int64_t huge[8] = {1, 3, 1, 0, 5, 2, (int64_t)1 << 40, 4};
  write_npy(p64, "<i8", huge, sizeof huge);
  nnc_array file;
  ck_assert(nnc_array_read(p64, &file, &st) == NNC_OK);
  ck_assert_int_eq(nnc_model_predict(m, &file, 2, &got, &st), NNC_ERR_DATA);
  ck_assert_msg(strstr(st.message, "sample 1, position (2,) holds 1099511627776:"), "%s",
                st.message);
  nnc_array_free(&file);
  nnc_array_free(&want);
  nnc_model_free(m);
}
END_TEST

/* Keras 3: embeddings_initializer defaults to "uniform", RandomUniform(-0.05, 0.05). */
START_TEST(weight_name_shape_and_default_initializer) {
  nnc_model *m = load(embedding_model("4", 400, 30, "", 0));
  nnc_status st;
  ck_assert(nnc_model_set_seed(m, 7, &st) == NNC_OK);
  nnc_array w;
  ck_assert_msg(nnc_model_get_weight(m, "embedding/embeddings", &w, &st) == NNC_OK, "%s",
                st.message);
  ck_assert_int_eq(w.rank, 2);
  ck_assert_int_eq(w.shape[0], 400);
  ck_assert_int_eq(w.shape[1], 30);
  const float *v = w.data;
  double sum = 0, sum2 = 0, lo = 1, hi = -1;
  for (int i = 0; i < 12000; i++) {
    sum += v[i];
    sum2 += (double)v[i] * v[i];
    lo = v[i] < lo ? v[i] : lo;
    hi = v[i] > hi ? v[i] : hi;
  }
  double var = sum2 / 12000 - (sum / 12000) * (sum / 12000);
  ck_assert_msg(lo >= -0.05 && hi <= 0.05 && lo < -0.0495 && hi > 0.0495, "range [%g, %g]", lo, hi);
  ck_assert_msg(fabs(var / (0.1 * 0.1 / 12) - 1) < 0.05, "variance %g", var);
  nnc_array_free(&w);
  nnc_model_free(m);
}
END_TEST

/* The table gradient is summed by one thread in index order, the gather
 * split by index: 1, 2 and 3 threads end bit-identical after 5 steps. */
START_TEST(threads_give_identical_tables) {
  float first[18], x[16] = {1, 3, 1, 0, 4, 1, 1, 2, 5, 5, 0, 1, 2, 3, 4, 1},
                   y[4] = {1, -1, 0.5f, 2};
  for (int threads = 1; threads <= 3; threads++) {
    nnc_model *m = load(embedding_model("4", 6, 3, "", 1));
    nnc_status st;
    ck_assert(nnc_model_set_threads(m, threads, &st) == NNC_OK);
    nnc_array xa = testutil_f32(x, 4, 4), ya = testutil_f32(y, 4, 1), w;
    TEST_LOGS(logs);
    for (int step = 0; step < 5; step++)
      ck_assert_msg(nnc_model_train_on_batch(m, &xa, &ya, &logs, &st) == NNC_OK, "%s", st.message);
    ck_assert(nnc_model_get_weight(m, "embedding/embeddings", &w, &st) == NNC_OK);
    if (threads == 1)
      memcpy(first, w.data, sizeof first);
    else
      ck_assert_mem_eq(w.data, first, sizeof first);
    nnc_array_free(&w);
    nnc_model_free(m);
  }
}
END_TEST

static void spec_error(const char *json, const char *want) {
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_int_eq(nnc_model_load_string(json, "embedding.json", &m, &st), NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, want), "'%s' not in: %s", want, st.message);
}

START_TEST(refused_configs_name_the_key) {
  spec_error(embedding_model("4", 6, 3, ", 'sparse': true", 0), "config.sparse");
  spec_error(embedding_model("4", 0, 3, "", 0), "config.input_dim");
  spec_error(embedding_model("4", 6, 3, ", 'embeddings_initializer': 'identityy'", 0),
             "config.embeddings_initializer");
  /* accepted: Keras 2's input_length, mask_zero (test_layer_io tests the mask) */
  nnc_model_free(load(embedding_model("4", 6, 3, ", 'input_length': 4, 'mask_zero': false", 0)));
}
END_TEST

/* Keras 2 writes the index dtype on the Embedding (tf.keras: Embedding(...,
 * dtype="int32") with batch_input_shape) or on the InputLayer; both load,
 * and the integer dtype stays refused on other layers. */
START_TEST(integer_dtypes_on_the_index_path) {
  nnc_model *m = load(Q("{'class_name': 'Sequential', 'config': [{'class_name': 'Embedding', "
                        "'config': {'name': 'embedding_1', 'batch_input_shape': [null, 4], "
                        "'dtype': 'int32', 'input_dim': 6, 'output_dim': 3, 'input_length': 4}}, "
                        "{'class_name': 'Flatten', 'config': {'name': 'f'}}], "
                        "'keras_version': '2.4.0'}"));
  nnc_model_free(m);
  m = load(Q("{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
             "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 4], 'dtype': "
             "{'class_name': 'DTypePolicy', 'config': {'name': 'int64'}}, 'name': 'ids'}},"
             "{'class_name': 'Embedding', 'config': {'name': 'e', 'input_dim': 6, "
             "'output_dim': 3}}]}}"));
  nnc_model_free(m);
  spec_error(Q("{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
               "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 4], 'name': 'x'}},"
               "{'class_name': 'Dense', 'config': {'name': 'd', 'units': 2, 'dtype': "
               "'int32'}}]}}"),
             "config.dtype: a dtype other than float32 is not supported yet");
}
END_TEST

int main(void) {
  /* the thread tests' small models still split wherever a group would
   * (compiler/driver/table.c: pool_rows) */
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1);
  Suite *s = suite_create("embedding");
  TCase *tc = tcase_create("embedding");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, forward_reads_the_rows_of_the_indices);
  tcase_add_test(tc, forward_on_rank_two_indices);
  tcase_add_test(tc, table_gradient_matches_finite_differences);
  tcase_add_test(tc, out_of_range_indices_are_refused_with_their_position);
  tcase_add_test(tc, out_of_range_position_on_rank_two_indices);
  tcase_add_test(tc, integer_npy_indices);
  tcase_add_test(tc, weight_name_shape_and_default_initializer);
  tcase_add_test(tc, refused_configs_name_the_key);
  tcase_add_test(tc, threads_give_identical_tables);
  tcase_add_test(tc, integer_dtypes_on_the_index_path);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
