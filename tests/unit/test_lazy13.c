/* libhdf5 is loaded at the first HDF5 file, not at start (runtime/io/h5_api.c):
 *  - building, compiling and running a model maps no libhdf5 (/proc/self/maps);
 *  - two threads whose first HDF5 use is the same instant (each saves its
 *    model's weights as .h5 and loads them into a zeroed model) both get back
 *    the hand-set weights bit for bit, and libhdf5 is mapped afterwards;
 *  - nnc_h5_load with NNC_TEST_HDF5_LIBRARY naming no library: a status that
 *    names the file, the library and its package, and no crash.
 * Each test runs in its own forked process (Check), so each starts unloaded. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "runtime/io/h5_api.h"
#include "testutil.h"

/* Whether a mapping of this process is a libhdf5. */
static int hdf5_mapped(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  ck_assert(f != NULL);
  char line[1024];
  int found = 0;
  while (fgets(line, sizeof line, f)) found |= strstr(line, "/libhdf5") != NULL;
  fclose(f);
  return found;
}

static nnc_model *dense_model(void) {
  const char *spec = testutil_json(
      "{'class_name': 'Sequential', 'config': {'name': 'lz', 'layers': ["
      "{'class_name': 'Dense', 'config': {'name': 'd', 'units': 3, 'batch_input_shape': [null, "
      "2]}}]}, 'compile_config': {'optimizer': 'sgd', 'loss': 'mse'}}");
  nnc_model *m = NULL;
  nnc_status st = {0};
  ck_assert_msg(nnc_model_load_string(spec, "lz.json", &m, &st) == NNC_OK, "%s", st.message);
  return m;
}

/* d/kernel [2, 3] and d/bias [3]: values that tell every element apart (seed s). */
static void hand_weights(nnc_model *m, float s) {
  float k[6], b[3];
  for (int i = 0; i < 6; i++) k[i] = s * (float)(i + 1) - 0.375f;
  for (int i = 0; i < 3; i++) b[i] = s == 0 ? 0 : 1.0f / (float)(i + 3) + s;
  nnc_array ka = {NNC_F32, 2, {2, 3}, k, NULL}, ba = {NNC_F32, 1, {3}, b, NULL};
  nnc_status st = {0};
  ck_assert_msg(!nnc_model_set_weight(m, "d/kernel", &ka, &st), "%s", st.message);
  ck_assert_msg(!nnc_model_set_weight(m, "d/bias", &ba, &st), "%s", st.message);
}

static void expect_same_weights(const nnc_model *a, const nnc_model *b) {
  for (int i = 0; i < nnc_model_weight_count(a); i++) {
    const char *name = nnc_model_weight_name(a, i);
    nnc_array x, y;
    nnc_status st = {0};
    ck_assert_msg(!nnc_model_get_weight(a, name, &x, &st), "%s", st.message);
    ck_assert_msg(!nnc_model_get_weight(b, name, &y, &st), "%s", st.message);
    ck_assert_int_eq(nnc_array_count(&x), nnc_array_count(&y));
    ck_assert_msg(!memcmp(x.data, y.data, (size_t)nnc_array_count(&x) * sizeof(float)),
                  "%s differs after the .h5 round trip", name);
    nnc_array_free(&x);
    nnc_array_free(&y);
  }
}

START_TEST(test_no_hdf5_without_h5_file) {
  nnc_model *m = dense_model();
  hand_weights(m, 0.5f);
  float x[4] = {1, 2, 3, 4};
  nnc_array in = {NNC_F32, 2, {2, 2}, x, NULL}, out;
  nnc_status st = {0};
  ck_assert_msg(!nnc_model_predict(m, &in, 2, &out, &st), "%s", st.message);
  const char *path = testutil_path(testutil_tmpdir(), "w.safetensors");
  ck_assert_msg(!nnc_model_save_weights(m, path, &st), "%s", st.message);
  ck_assert_msg(!nnc_model_load_weights(m, path, &st), "%s", st.message);
  nnc_array_free(&out);
  nnc_model_free(m);
  ck_assert_msg(!hdf5_mapped(), "libhdf5 is mapped, but no HDF5 file was used");
}
END_TEST

typedef struct job {
  nnc_model *from, *to;
  const char *path;
  pthread_barrier_t *start;
  nnc_status st;
  int rc;
} job;

static void *round_trip(void *arg) {
  job *j = arg;
  pthread_barrier_wait(j->start);
  j->rc = nnc_model_save_weights(j->from, j->path, &j->st);
  if (!j->rc) j->rc = nnc_model_load_weights(j->to, j->path, &j->st);
  return NULL;
}

START_TEST(test_two_threads_first_load) {
  ck_assert(!hdf5_mapped());
  job jobs[2];
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, 2);
  for (int i = 0; i < 2; i++) {
    memset(&jobs[i], 0, sizeof jobs[i]);
    jobs[i].from = dense_model();
    jobs[i].to = dense_model();
    hand_weights(jobs[i].from, 0.25f + (float)i);
    hand_weights(jobs[i].to, 0);
    jobs[i].path = testutil_path(testutil_tmpdir(), i ? "t1.h5" : "t0.h5");
    jobs[i].start = &start;
  }
  ck_assert(!hdf5_mapped()); /* building two models loaded nothing */
  pthread_t t[2];
  for (int i = 0; i < 2; i++) ck_assert(!pthread_create(&t[i], NULL, round_trip, &jobs[i]));
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  pthread_barrier_destroy(&start);
  for (int i = 0; i < 2; i++) {
    ck_assert_msg(!jobs[i].rc, "thread %d: %s", i, jobs[i].st.message);
    expect_same_weights(jobs[i].from, jobs[i].to);
    nnc_model_free(jobs[i].from);
    nnc_model_free(jobs[i].to);
  }
  ck_assert(hdf5_mapped());
}
END_TEST

START_TEST(test_missing_library) {
  setenv("NNC_TEST_HDF5_LIBRARY", "libnnc-no-such-hdf5.so.0", 1);
  nnc_status st = {0};
  ck_assert_int_eq(nnc_h5_load("my model.h5", &st), NNC_ERR_IO);
  ck_assert_int_eq(st.code, NNC_ERR_IO);
  ck_assert_msg(strstr(st.message, "my model.h5: ") == st.message, "%s", st.message);
  ck_assert_msg(strstr(st.message, "libnnc-no-such-hdf5.so.0"), "%s", st.message);
  ck_assert_msg(strstr(st.message, "HDF5 library"), "%s", st.message);
  /* and through the API: a weights file refused the same way, nothing loaded */
  nnc_model *m = dense_model();
  const char *path = testutil_path(testutil_tmpdir(), "w.h5");
  memset(&st, 0, sizeof st);
  ck_assert_int_eq(nnc_model_save_weights(m, path, &st), NNC_ERR_IO);
  ck_assert_msg(strstr(st.message, path) == st.message, "%s", st.message);
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f == NULL, "%s was written without libhdf5", path);
  nnc_model_free(m);
  ck_assert(!hdf5_mapped());
}
END_TEST

int main(void) {
  Suite *s = suite_create("lazy13");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_no_hdf5_without_h5_file);
  tcase_add_test(tc, test_two_threads_first_load);
  tcase_add_test(tc, test_missing_library);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
