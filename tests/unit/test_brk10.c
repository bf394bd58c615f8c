/* Session 10's attacks on session 9's features (issue 9), kept as
 * regression tests: Dense GEMMs of odd widths and depths (1 .. 1025) through
 * a whole train step at vector widths 4/8/16 against a float64 reference;
 * thread counts 1/2/3/64 around parallel_rows with a last partial batch,
 * bit for bit, and predict of 1 row as a row of many; in-place data that aliases (x and y one
 * buffer) and comes in every integer dtype; the registry that lets the CLI name a mapped .npy that
 * shrank under it (SIGBUS). */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/io/io.h"
#include "runtime/io/npy_map.h"
#include "runtime/model.h"
#include "oracle_case.h"
#include "testutil.h"

static const char *sgd_mse = "{'optimizer': {'class_name': 'SGD', 'config': {'learning_rate': "
                             "0.05}}, 'loss': 'mse'}";

/* x [M,K] -> Dense(N) linear -> Dense(1) linear, MSE, SGD 0.05. */
static nnc_model *two_dense(int64_t k, int64_t n, const char *width) {
  char shape[32], layers[256];
  snprintf(shape, sizeof shape, "%lld", (long long)k);
  snprintf(layers, sizeof layers,
           "{'class_name': 'Dense', 'config': {'name': 'h', 'units': %lld}},"
           "{'class_name': 'Dense', 'config': {'name': 'o', 'units': 1}}",
           (long long)n);
  setenv("NNC_VECTOR_WIDTH", width, 1);
  nnc_model *m = testutil_load(testutil_sequential(shape, layers, sgd_mse));
  unsetenv("NNC_VECTOR_WIDTH");
  return m;
}

static double *weight64(nnc_model *m, const char *name, int64_t count) {
  nnc_array a;
  nnc_status st;
  ck_assert_msg(nnc_model_get_weight(m, name, &a, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(nnc_array_count(&a), count);
  double *d = malloc(sizeof(double) * (size_t)count);
  for (int64_t i = 0; i < count; i++) d[i] = ((float *)a.data)[i];
  nnc_array_free(&a);
  return d;
}

/* The model's weights after one SGD step (float64, from its float32
 * weights before it), with each value's magnitude (the sum of |terms|
 * that made it) for the error bound. */
typedef struct net {
  int64_t k, n;
  double *w[4], *mag[4]; /* h/kernel [K,N], h/bias [N], o/kernel [N,1], o/bias [1] */
} net;

static const char *names[4] = {"h/kernel", "h/bias", "o/kernel", "o/bias"};

static int64_t count_of(const net *r, int i) {
  return i == 0 ? r->k * r->n : i == 3 ? 1 : r->n;
}

static void net_read(net *r, nnc_model *m, int64_t k, int64_t n) {
  r->k = k, r->n = n;
  for (int i = 0; i < 4; i++) {
    r->w[i] = weight64(m, names[i], count_of(r, i));
    r->mag[i] = calloc((size_t)count_of(r, i), sizeof(double));
  }
}

static void net_free(net *r) {
  for (int i = 0; i < 4; i++) free(r->w[i]), free(r->mag[i]);
}

/* One SGD step of lr on mean((x W1 + b1) W2 + b2 - y)^2 over M rows. */
static void net_step(net *r, const float *x, const float *y, int64_t M, double lr) {
  int64_t K = r->k, N = r->n;
  double *h = calloc((size_t)(M * N), sizeof *h), *hm = calloc((size_t)(M * N), sizeof *hm);
  double *dh = calloc((size_t)(M * N), sizeof *dh), *dhm = calloc((size_t)(M * N), sizeof *dhm);
  double *d = calloc((size_t)M, sizeof *d), *dm = calloc((size_t)M, sizeof *dm);
  double *g[4], *gm[4];
  for (int i = 0; i < 4; i++) {
    g[i] = calloc((size_t)count_of(r, i), sizeof(double));
    gm[i] = calloc((size_t)count_of(r, i), sizeof(double));
  }
  double *W1 = r->w[0], *b1 = r->w[1], *W2 = r->w[2], *b2 = r->w[3];
  for (int64_t m = 0; m < M; m++) {
    double o = b2[0], om = fabs(b2[0]);
    for (int64_t j = 0; j < N; j++) {
      double s = b1[j], sm = fabs(b1[j]);
      for (int64_t p = 0; p < K; p++) {
        s += (double)x[m * K + p] * W1[p * N + j];
        sm += fabs((double)x[m * K + p] * W1[p * N + j]);
      }
      h[m * N + j] = s, hm[m * N + j] = sm;
      o += s * W2[j], om += sm * fabs(W2[j]);
    }
    d[m] = 2.0 * (o - y[m]) / (double)M; /* dLoss/do */
    dm[m] = 2.0 * (om + fabs(y[m])) / (double)M;
  }
  for (int64_t m = 0; m < M; m++) {
    g[3][0] += d[m], gm[3][0] += dm[m];
    for (int64_t j = 0; j < N; j++) {
      g[2][j] += h[m * N + j] * d[m], gm[2][j] += hm[m * N + j] * dm[m];
      dh[m * N + j] = d[m] * W2[j], dhm[m * N + j] = dm[m] * fabs(W2[j]);
      g[1][j] += dh[m * N + j], gm[1][j] += dhm[m * N + j];
    }
  }
  for (int64_t p = 0; p < K; p++)
    for (int64_t m = 0; m < M; m++)
      for (int64_t j = 0; j < N; j++) {
        g[0][p * N + j] += (double)x[m * K + p] * dh[m * N + j];
        gm[0][p * N + j] += fabs((double)x[m * K + p]) * dhm[m * N + j];
      }
  for (int i = 0; i < 4; i++)
    for (int64_t e = 0; e < count_of(r, i); e++) {
      r->mag[i][e] = fabs(r->w[i][e]) + lr * gm[i][e];
      r->w[i][e] -= lr * g[i][e];
    }
  for (int i = 0; i < 4; i++) free(g[i]), free(gm[i]);
  free(h), free(hm), free(dh), free(dhm), free(d), free(dm);
}

/* The model's weights equal r's within float32 rounding of chains of
 * K + N + M operations on values of r's magnitudes. */
static void net_check(const net *r, nnc_model *m, int64_t M, const char *what) {
  double ops = (double)(r->k + r->n + M + 8);
  for (int i = 0; i < 4; i++) {
    double *got = weight64(m, names[i], count_of(r, i));
    for (int64_t e = 0; e < count_of(r, i); e++) {
      double tol = 2 * ops * FLT_EPSILON * r->mag[i][e] + 1e-30;
      ck_assert_msg(fabs(got[e] - r->w[i][e]) <= tol,
                    "%s K %lld N %lld M %lld: %s[%lld] is %.9g, float64 says %.9g (tolerance %.3g)",
                    what, (long long)r->k, (long long)r->n, (long long)M, names[i], (long long)e,
                    got[e], r->w[i][e], tol);
    }
    free(got);
  }
}

static void fill_data(float *x, float *y, int64_t M, int64_t K, int seed) {
  for (int64_t i = 0; i < M * K; i++) x[i] = (float)sin(0.7 * (double)i + seed);
  for (int64_t m = 0; m < M; m++) y[m] = (float)cos(1.3 * (double)m + seed);
}

/* Train steps of 13 rows (tiles of 12 + a 1-row leftover at width 16,
 * 6 + 6 + 1 at 8) then 1 row, then a prediction of 2 rows; every result
 * against float64. */
static void odd_shape(int64_t K, int64_t N, const char *width) {
  nnc_model *m = two_dense(K, N, width);
  enum { MAX_M = 13 };
  float *x = malloc(sizeof(float) * (size_t)(MAX_M * K)), y[MAX_M];
  net r;
  net_read(&r, m, K, N);
  nnc_status st;
  nnc_logs l = {0};
  const int64_t rows[2] = {13, 1};
  for (int s = 0; s < 2; s++) {
    int64_t M = rows[s];
    fill_data(x, y, M, K, s);
    nnc_array xa = testutil_f32(x, M, K), ya = testutil_f32(y, M, 1);
    ck_assert_msg(nnc_model_train_on_batch(m, &xa, &ya, &l, &st) == NNC_OK, "%s", st.message);
    net_step(&r, x, y, M, 0.05);
    net_check(&r, m, M, width);
  }
  /* predict 2 rows: x W1 + b1 then W2 + b2 */
  fill_data(x, y, 2, K, 7);
  nnc_array xa = testutil_f32(x, 2, K), out;
  ck_assert_msg(nnc_model_predict(m, &xa, 32, &out, &st) == NNC_OK, "%s", st.message);
  for (int64_t i = 0; i < 2; i++) {
    double o = r.w[3][0], mag = fabs(o);
    for (int64_t j = 0; j < N; j++) {
      double h = r.w[1][j], hm = fabs(h);
      for (int64_t p = 0; p < K; p++)
        h += (double)x[i * K + p] * r.w[0][p * N + j], hm += fabs(x[i * K + p] * r.w[0][p * N + j]);
      o += h * r.w[2][j], mag += hm * fabs(r.w[2][j]);
    }
    float got = ((float *)out.data)[i];
    ck_assert_msg(fabs(got - o) <= 2 * (double)(K + N + 4) * FLT_EPSILON * mag,
                  "predict width %s K %lld N %lld row %lld: %.9g, float64 says %.9g", width,
                  (long long)K, (long long)N, (long long)i, got, o);
  }
  nnc_array_free(&out);
  nnc_logs_free(&l);
  net_free(&r);
  free(x);
  nnc_model_free(m);
}

/* (K, N, vector width): depths and widths one off the vector widths and
 * tile sizes (1, 15, 17, 31, 33, 511, 513, 1025) at the AVX-512 width and
 * the AVX2 and SSE widths (each is a compile: sized for ~3 s cold) */
static const struct {
  int64_t k, n;
  const char *width;
} shapes[] = {{1, 1025, "16"}, {1025, 1, "16"}, {513, 511, "16"}, {31, 33, "8"}, {15, 17, "4"}};

START_TEST(odd_dense_shapes_against_float64) {
  odd_shape(shapes[_i].k, shapes[_i].n, shapes[_i].width);
}
END_TEST

/* ---- threads: 1, 2, 3, 64 give the same bits around parallel_rows ---- */

/* 400 inputs into 33 units: 13 200 multiply-adds a row, so the first
 * product splits from 20 rows (2^18, emit_driver.c: MATMUL_SERIAL_WORK) */
enum { TN = 101, TK = 400 };

/* Fit (shuffled, validation split, a last partial batch) with batch sizes
 * parallel_rows - 1, parallel_rows and + 1 on `threads` threads; the
 * weights after it and every history value. */
static void fit_on_threads(nnc_model *m, int threads, float *w, double *hist, int64_t *batches) {
  nnc_status st;
  ck_assert_msg(nnc_model_set_threads(m, threads, &st) == NNC_OK, "%s", st.message);
  int64_t p = m->t->entries[NNC_ENTRY_TRAIN].parallel_rows;
  ck_assert(p > 1 && p < 40); /* the sizes below straddle it */
  static float x[TN * TK], y[TN * 17];
  for (int i = 0; i < TN * TK; i++) x[i] = (float)sin(0.31 * i);
  for (int i = 0; i < TN * 17; i++) y[i] = (float)cos(0.17 * i);
  nnc_array xa = testutil_f32(x, TN, TK), ya = testutil_f32(y, TN, 17);
  for (int b = 0; b < 3; b++) {
    batches[b] = p - 1 + b;
    nnc_fit_options o;
    nnc_fit_options_default(&o);
    o.epochs = 2, o.batch_size = (int)batches[b], o.verbose = 0, o.validation_split = 0.2;
    nnc_history h = {0};
    ck_assert_msg(nnc_model_fit(m, &xa, &ya, &o, &h, &st) == NNC_OK, "%s", st.message);
    ck_assert_int_eq(h.n_keys * h.n_epochs, 4);
    memcpy(hist + 4 * b, h.values, sizeof(double) * 4);
    nnc_history_free(&h);
  }
  nnc_array k;
  ck_assert(nnc_model_get_weight(m, "h/kernel", &k, &st) == NNC_OK);
  memcpy(w, k.data, sizeof(float) * TK * 33);
  nnc_array_free(&k);
  /* predict of one row is row i of a prediction of all (each output is one
   * chain of FMAs whatever the tile or the thread) */
  nnc_array all, one;
  ck_assert(nnc_model_predict(m, &xa, 64, &all, &st) == NNC_OK);
  for (int i = 0; i < TN; i += 10) {
    nnc_array xi = testutil_f32(x + i * TK, 1, TK);
    ck_assert_msg(nnc_model_predict(m, &xi, 64, &one, &st) == NNC_OK, "%s", st.message);
    ck_assert_msg(!memcmp(one.data, (float *)all.data + i * 17, sizeof(float) * 17),
                  "%d threads: row %d alone differs", threads, i);
    nnc_array_free(&one);
  }
  nnc_array_free(&all);
}

/* One model (one compile) for every thread count: each starts from the
 * same initial weights (SGD keeps no other state). */
START_TEST(threads_agree_around_parallel_rows) {
  static float w[4][TK * 33];
  double hist[4][12];
  int64_t batches[4][3];
  const int threads[4] = {1, 2, 3, 64};
  nnc_model *m = testutil_load(testutil_sequential(
      "400",
      "{'class_name': 'Dense', 'config': {'name': 'h', 'units': 33, 'activation': 'relu'}},"
      "{'class_name': 'Dense', 'config': {'name': 'o', 'units': 17}}",
      sgd_mse));
  wset initial;
  weights_get(m, &initial);
  for (int t = 0; t < 4; t++) {
    weights_put(m, &initial);
    fit_on_threads(m, threads[t], w[t], hist[t], batches[t]);
  }
  weights_free(&initial);
  nnc_model_free(m);
  for (int t = 1; t < 4; t++) {
    ck_assert(!memcmp(batches[t], batches[0], sizeof batches[0]));
    ck_assert_msg(!memcmp(w[t], w[0], sizeof w[0]), "%d threads: weights differ from 1 thread",
                  threads[t]);
    ck_assert_msg(!memcmp(hist[t], hist[0], sizeof hist[0]), "%d threads: history differs",
                  threads[t]);
  }
  ck_assert(isfinite(hist[0][0]) && hist[0][0] > 0);
}
END_TEST

/* ---- in-place data ---- */

/* x and y one buffer (an autoencoder's fit(x, x)): the same training as
 * with y a copy, and the buffer is not written. */
START_TEST(x_and_y_one_buffer) {
  enum { N = 30 };
  static float buf[N * 4], copy[N * 4], before[N * 4];
  for (int i = 0; i < N * 4; i++) buf[i] = copy[i] = before[i] = (float)sin(0.9 * i);
  const char *layers = "{'class_name': 'Dense', 'config': {'name': 'o', 'units': 4}}";
  nnc_model *a = testutil_load(testutil_sequential("4", layers, sgd_mse));
  nnc_model *b = testutil_load(testutil_sequential("4", layers, sgd_mse));
  nnc_array x = testutil_f32(buf, N, 4), y2 = testutil_f32(copy, N, 4);
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = 2, o.batch_size = 7, o.verbose = 0, o.validation_split = 0.2;
  nnc_history ha = {0}, hb = {0};
  nnc_status st;
  ck_assert_msg(nnc_model_fit(a, &x, &x, &o, &ha, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_fit(b, &x, &y2, &o, &hb, &st) == NNC_OK, "%s", st.message);
  ck_assert(!memcmp(ha.values, hb.values, sizeof(double) * (size_t)(ha.n_keys * ha.n_epochs)));
  ck_assert(!memcmp(buf, before, sizeof buf));
  nnc_array wa, wb;
  ck_assert(nnc_model_get_weight(a, "o/kernel", &wa, &st) == NNC_OK);
  ck_assert(nnc_model_get_weight(b, "o/kernel", &wb, &st) == NNC_OK);
  ck_assert(!memcmp(wa.data, wb.data, sizeof(float) * 16));
  nnc_array_free(&wa);
  nnc_array_free(&wb);
  nnc_history_free(&ha);
  nnc_history_free(&hb);
  nnc_model_free(a);
  nnc_model_free(b);
}
END_TEST

/* Sparse labels in every integer dtype give the logs of float32 labels
 * bit for bit; a value out of [0, classes) in each is refused and named. */
START_TEST(labels_in_every_dtype) {
  enum { N = 12 };
  nnc_model *m = testutil_load(testutil_sequential(
      "2", "{'class_name': 'Dense', 'config': {'name': 'o', 'units': 3}}",
      "{'optimizer': 'sgd', 'loss': {'class_name': 'SparseCategoricalCrossentropy', 'config': "
      "{'from_logits': true}}, 'metrics': ['accuracy']}"));
  float x[N * 2], yf[N];
  for (int i = 0; i < N * 2; i++) x[i] = (float)cos(i);
  for (int i = 0; i < N; i++) yf[i] = (float)(i * 2 % 3);
  nnc_array xa = testutil_f32(x, N, 2), ya = testutil_f32(yf, N, 1);
  nnc_status st;
  nnc_logs want = {0}, got = {0};
  ck_assert(nnc_model_test_on_batch(m, &xa, &ya, &want, &st) == NNC_OK);
  const nnc_dtype types[] = {NNC_F64, NNC_I8,  NNC_I16, NNC_I32, NNC_I64,
                             NNC_U8,  NNC_U16, NNC_U32, NNC_U64};
  for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
    size_t size = nnc_dtype_size(types[t]);
    unsigned char bytes[N * 8];
    for (int i = 0; i < N; i++) { /* i * 2 % 3 in the dtype, little-endian */
      uint64_t v = (uint64_t)(i * 2 % 3);
      if (types[t] == NNC_F64) {
        double d = (double)v;
        memcpy(&v, &d, 8);
      }
      memcpy(bytes + (size_t)i * size, &v, size);
    }
    nnc_array yt = {types[t], 1, {N}, bytes, NULL};
    ck_assert_msg(nnc_model_test_on_batch(m, &xa, &yt, &got, &st) == NNC_OK, "%s", st.message);
    ck_assert_int_eq(got.n, want.n);
    ck_assert_msg(!memcmp(got.values, want.values, sizeof(double) * (size_t)want.n), "dtype %d",
                  (int)types[t]);
    /* 3 (one past the classes) at sample 5: refused whatever the dtype */
    memset(bytes + 5 * size, 0, size);
    bytes[5 * size] = 3;
    if (types[t] == NNC_F64) {
      double d = 3;
      memcpy(bytes + 5 * size, &d, 8);
    }
    ck_assert_int_eq(nnc_model_train_on_batch(m, &xa, &yt, &got, &st), NNC_ERR_DATA);
    ck_assert_msg(strstr(st.message, "y[5] = 3 is not a class index in [0, 3)"), "%s", st.message);
  }
  nnc_logs_free(&want);
  nnc_logs_free(&got);
  nnc_model_free(m);
}
END_TEST

/* ---- mapped .npy files and the SIGBUS registry ---- */

/* A float32 .npy of n values with format version major (header padded to
 * 64 bytes as numpy does), or `header` as written. */
static const char *write_npy(const char *name, int major, const char *header, int n) {
  const char *path = testutil_path(testutil_tmpdir(), name);
  char dict[256];
  if (!header) {
    snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%d,), }", n);
    header = dict;
  }
  size_t pre = major == 1 ? 10 : 12, len = strlen(header) + 1;
  if (header == dict) len = (pre + len + 63) / 64 * 64 - pre;
  FILE *f = fopen(path, "wb");
  ck_assert(f);
  fwrite("\x93NUMPY", 1, 6, f);
  unsigned char v[6] = {(unsigned char)major,      0, (unsigned char)(len & 255),
                        (unsigned char)(len >> 8), 0, 0};
  fwrite(v, 1, pre - 6, f);
  fputs(header, f);
  for (size_t i = strlen(header) + 1; i < len; i++) fputc(' ', f);
  fputc('\n', f);
  for (int i = 0; i < n; i++) {
    float x = (float)i * 0.5f;
    fwrite(&x, 4, 1, f);
  }
  fclose(f);
  return path;
}

/* Version 1, 2 and 3 headers are mapped, their arrays registered for the
 * SIGBUS handler while mapped (an address inside names the file, one past
 * the end does not) and no longer after nnc_unmap; a header whose length
 * leaves the data unaligned is read instead (nothing registered). */
START_TEST(mapped_files_are_registered) {
  for (int major = 1; major <= 3; major++) {
    char name[32];
    snprintf(name, sizeof name, "v%d.npy", major);
    const char *path = write_npy(name, major, NULL, 300);
    nnc_tensor_set set;
    nnc_mapping map;
    int is_npz;
    nnc_status st;
    ck_assert_msg(nnc_data_read_mapped(path, &set, &is_npz, &map, &st) == NNC_OK, "%s", st.message);
    ck_assert_msg(map.len > 0, "version %d was not mapped", major);
    const float *v = set.items[0].array.data;
    ck_assert(v[299] == 149.5f && set.items[0].array.shape[0] == 300);
    ck_assert_str_eq(nnc_mapped_file_at(v + 299), path);
    ck_assert_str_eq(nnc_mapped_file_at(map.base), path);
    ck_assert(nnc_mapped_file_at((const char *)map.base + map.len) == NULL);
    set.items[0].array.data = NULL;
    nnc_unmap(&map);
    ck_assert(nnc_mapped_file_at(v + 299) == NULL);
    nnc_tensor_set_free(&set);
  }
  /* 10 + 58 + 1 bytes of header: the data at offset 69, not a multiple of 4 */
  const char *odd =
      write_npy("odd.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)}", 3);
  nnc_tensor_set set;
  nnc_mapping map;
  int is_npz;
  nnc_status st;
  ck_assert_msg(nnc_data_read_mapped(odd, &set, &is_npz, &map, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(map.len, 0);
  ck_assert(((float *)set.items[0].array.data)[2] == 1.0f);
  ck_assert(nnc_mapped_file_at(set.items[0].array.data) == NULL);
  nnc_tensor_set_free(&set);
}
END_TEST

int main(void) {
  /* the thread tests' small models still split wherever a group would
   * (compiler/driver/table.c: pool_rows) */
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1);
  Suite *s = suite_create("brk10");
  TCase *tc = tcase_create("brk10");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, odd_dense_shapes_against_float64, 0,
                      (int)(sizeof shapes / sizeof shapes[0]));
  tcase_add_test(tc, threads_agree_around_parallel_rows);
  tcase_add_test(tc, x_and_y_one_buffer);
  tcase_add_test(tc, labels_in_every_dtype);
  tcase_add_test(tc, mapped_files_are_registered);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
