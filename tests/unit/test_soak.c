/* Soak: many in-process load / fit / free cycles keep resident memory flat
 * and leak nothing. Each cycle parses a spec string, compiles it with LLVM,
 * trains one epoch on a few samples and frees everything.
 *
 * Resident memory (/proc/self/statm) after a warm-up and at the end must
 * differ by less than 5 MB. Leaks are LeakSanitizer's job: tests/CMakeLists.txt
 * runs this test with detect_leaks=1 (no suppressions needed) in the
 * sanitizer build. NNC_SOAK_CYCLES overrides the number of cycles. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nnc.h"
#include "base/sanitizer.h"
#include "testutil.h"

/* LLVM compiles each model in ~0.18 s (0.34 s under ASan): the release build
 * runs the 1,000 cycles issue 5 asks for (about 3 minutes), the sanitizer
 * build 150 under LeakSanitizer; NNC_SOAK_CYCLES overrides either. */
#if NNC_ASAN
#define DEFAULT_CYCLES 150
#else
#define DEFAULT_CYCLES 1000
#endif
#define WARMUP_CYCLES 50
#define RSS_SLACK (5.0 * 1024 * 1024)

static const char *const spec =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"soak\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 4], \"name\": "
    "\"in\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"o\", \"units\": 3, \"activation\": "
    "\"softmax\"}}]},"
    "\"compile_config\": {\"optimizer\": \"sgd\", \"loss\": \"sparse_categorical_crossentropy\","
    " \"metrics\": [\"accuracy\"]}}";

static float xs[16 * 4];
static int32_t ys[16];

/* Resident set size in bytes, from /proc/self/statm (second field, pages). */
static double resident_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  ck_assert_msg(f != NULL, "cannot open /proc/self/statm");
  long size = 0, resident = 0;
  ck_assert(fscanf(f, "%ld %ld", &size, &resident) == 2);
  fclose(f);
  return (double)resident * (double)sysconf(_SC_PAGESIZE);
}

/* One cycle: load (compiles, the spec has an input shape), fit, free. The
 * trained weights of o/kernel go to `kernel` when it is not NULL. */
static void cycle(int i, float kernel[12]) {
  nnc_array x = {NNC_F32, 2, {16, 4}, xs, NULL};
  nnc_array y = {NNC_I32, 2, {16, 1}, ys, NULL}; /* (N, 1): no rebuild for the rank fix-up */
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(spec, "soak.json", &m, &st) == NNC_OK, "cycle %d: %s", i,
                st.message);
  ck_assert_msg(nnc_model_set_seed(m, (uint64_t)i, &st) == NNC_OK, "%s", st.message);
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.verbose = 0;
  o.batch_size = 4;
  nnc_history h;
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &h, &st) == NNC_OK, "cycle %d: %s", i, st.message);
  ck_assert_int_eq(h.n_epochs, 1);
  nnc_history_free(&h);
  if (kernel) {
    nnc_array w;
    ck_assert_msg(nnc_model_get_weight(m, "o/kernel", &w, &st) == NNC_OK, "%s", st.message);
    ck_assert_int_eq(nnc_array_count(&w), 12);
    memcpy(kernel, w.data, 12 * sizeof(float));
    nnc_array_free(&w);
  }
  nnc_model_free(m);
}

static void fill_data(void) {
  for (int i = 0; i < 64; i++) xs[i] = (float)((i * 7) % 11) / 11.0f;
  for (int i = 0; i < 16; i++) ys[i] = i % 3;
}

START_TEST(load_fit_free_keeps_memory_flat) {
  fill_data();
  int cycles = DEFAULT_CYCLES;
  const char *env = getenv("NNC_SOAK_CYCLES");
  if (env) cycles = atoi(env);
  ck_assert_msg(cycles > WARMUP_CYCLES, "NNC_SOAK_CYCLES must exceed %d", WARMUP_CYCLES);
  /* the warm-up fills LLVM's caches and the allocator's arenas */
  for (int i = 0; i < WARMUP_CYCLES; i++) cycle(i, NULL);
  double before = resident_bytes();
#if NNC_ASAN
  /* ASan's quarantine and shadow memory grow on their own: leaks are LSan's */
  fprintf(stderr, "test_soak: resident-memory bound skipped under AddressSanitizer (LSan checks "
                  "leaks instead)\n");
  for (int i = WARMUP_CYCLES; i < cycles; i++) cycle(i, NULL);
  return;
#endif
  for (int i = WARMUP_CYCLES; i < cycles; i++) cycle(i, NULL);
  double after = resident_bytes();
  fprintf(stderr, "test_soak: %d cycles, resident %.1f MB after %d, %.1f MB at the end\n", cycles,
          before / 1048576, WARMUP_CYCLES, after / 1048576);
  ck_assert_msg(after - before < RSS_SLACK,
                "resident memory grew by %.1f MB over %d cycles (limit 5 MB)",
                (after - before) / 1048576, cycles - WARMUP_CYCLES);
}
END_TEST

/* The documented thread-safety promise: separate models on separate threads
 * are safe. Two threads each run load/fit/free cycles at the same time; every
 * model ends with exactly the weights it gets when trained alone (the same
 * seed gives bit-identical results). */
#define THREAD_CYCLES 6
typedef struct worker {
  int first; /* seeds first .. first + THREAD_CYCLES - 1 */
  float kernels[THREAD_CYCLES][12];
} worker;

static void *work(void *arg) {
  worker *w = arg;
  for (int i = 0; i < THREAD_CYCLES; i++) cycle(w->first + i, w->kernels[i]);
  return NULL;
}

START_TEST(separate_models_on_separate_threads) {
  fill_data();
  worker w[2] = {{.first = 100}, {.first = 200}};
  pthread_t t[2];
  for (int k = 0; k < 2; k++) ck_assert_int_eq(pthread_create(&t[k], NULL, work, &w[k]), 0);
  for (int k = 0; k < 2; k++) ck_assert_int_eq(pthread_join(t[k], NULL), 0);
  for (int k = 0; k < 2; k++)
    for (int i = 0; i < THREAD_CYCLES; i++) {
      float alone[12];
      cycle(w[k].first + i, alone);
      ck_assert_msg(!memcmp(alone, w[k].kernels[i], sizeof alone),
                    "seed %d: the weights trained beside another thread differ from alone",
                    w[k].first + i);
    }
}
END_TEST

int main(void) {
  Suite *s = suite_create("soak");
  TCase *tc = tcase_create("soak");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, load_fit_free_keeps_memory_flat);
  tcase_add_test(tc, separate_models_on_separate_threads);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
