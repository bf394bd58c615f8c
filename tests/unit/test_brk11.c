/* Session 11's attacks on issue 9's features, kept as regression tests:
 * the floating-point mode of the caller must not reach the kernels. The
 * drivers used to or FTZ and DAZ into the caller's MXCSR, keeping its
 * rounding mode and exception masks, so a caller rounding upward after
 * nnc_model_set_threads trained with upward rounding on its own rows and to
 * nearest on the pool's workers (which keep the mode of the thread that
 * created them): results changed with the thread count; and a caller that
 * unmasked FE_INVALID died of SIGFPE in relu(NaN) or inf * 0. Expected values
 * are derived by hand from IEEE float32 (u = 2^-23, one ulp in [1, 2)). */
#define _GNU_SOURCE /* feenableexcept */
#include <check.h>
#include <dirent.h>
#include <fenv.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compiler/codegen/obj_cache.h"
#include "runtime/callbacks/monitor.h"
#include "nnc.h"
#include "testutil.h"

/* y = x @ kernel: 1 input -> 4 units, no bias, linear */
#define SPEC                                                                                       \
  "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m\", \"layers\": ["                   \
  "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 4, \"use_bias\": false, "  \
  "\"activation\": \"%s\", \"batch_input_shape\": [null, 1]}}]}}"

/* 16384 rows x 4 units: 65536 multiply-adds, enough that two threads split
 * the matmul (the worker computes its rows with its own MXCSR) */
enum { ROWS = 16384, UNITS = 4 };

static nnc_model *dense(const char *activation, int threads, float w) {
  char spec[1024];
  snprintf(spec, sizeof spec, SPEC, activation);
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(spec, "brk11", &m, &st) == NNC_OK, "%s", st.message);
  /* the pool is made here, in the default mode (round to nearest, all masked) */
  ck_assert_msg(nnc_model_set_threads(m, threads, &st) == NNC_OK, "%s", st.message);
  float k[UNITS] = {w, w, w, w};
  nnc_array ka = {NNC_F32, 2, {1, UNITS}, k, NULL};
  ck_assert_msg(nnc_model_set_weight(m, "d/kernel", &ka, &st) == NNC_OK, "%s", st.message);
  return m;
}

static void predict(nnc_model *m, const float *x, float *y) {
  nnc_array xa = {NNC_F32, 2, {ROWS, 1}, (void *)x, NULL}, out;
  nnc_status st;
  ck_assert_msg(nnc_model_predict(m, &xa, ROWS, &out, &st) == NNC_OK, "%s", st.message);
  memcpy(y, out.data, sizeof(float) * ROWS * UNITS);
  nnc_array_free(&out);
}

/* x * 1.25 with one rounding (a one-term matmul, with or without FMA):
 *   x = 1 + u:  1.25 + 1.25u -> nearest 1.25 + u,  upward 1.25 + 2u
 *   x = 1 + 3u: 1.25 + 3.75u -> nearest 1.25 + 4u, downward and toward zero 1.25 + 3u
 * so every mode but nearest gets one of the two rows wrong. */
static void check_nearest(int threads, int mode) {
  const float u = 0x1p-23f;
  static float x[ROWS], y[ROWS * UNITS];
  for (int r = 0; r < ROWS; r++) x[r] = r % 2 ? 1.0f + 3 * u : 1.0f + u;
  nnc_model *m = dense("linear", threads, 1.25f);
  ck_assert_int_eq(fesetround(mode), 0);
  predict(m, x, y);
  int after = fegetround();
  fesetround(FE_TONEAREST);
  ck_assert_msg(after == mode, "the caller's rounding mode was not put back");
  for (int r = 0; r < ROWS; r++) {
    float want = r % 2 ? 1.25f + 4 * u : 1.25f + u;
    for (int c = 0; c < UNITS; c++)
      ck_assert_msg(y[r * UNITS + c] == want,
                    "threads %d, caller's mode %d: row %d, unit %d: %a, not %a (round to nearest)",
                    threads, mode, r, c, y[r * UNITS + c], want);
  }
  nnc_model_free(m);
}

START_TEST(kernels_round_to_nearest_in_any_caller_mode) {
  const int modes[] = {FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO};
  for (int t = 1; t <= 2; t++)
    for (int i = 0; i < 4; i++) check_nearest(t, modes[i]);
}
END_TEST

/* A whole fit (Adam, tanh, softmax crossentropy) with the caller rounding
 * upward after the model (and its pool) was made: the weights are those of
 * the same fit in the default mode, bit for bit, on one thread and on two.
 * The host-side arithmetic (loss totals) follows the caller's mode; the
 * kernels do not. */
#define FIT_SPEC                                                                                   \
  "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["                               \
  "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 64], 'name': 'in'}},"             \
  "{'class_name': 'Dense', 'config': {'name': 'h', 'units': 37, 'activation': 'tanh'}},"           \
  "{'class_name': 'Dense', 'config': {'name': 'o', 'units': 3, 'activation': 'softmax'}}]},"       \
  "'compile_config': {'optimizer': 'adam', 'loss': 'sparse_categorical_crossentropy'}}"

enum { FIT_ROWS = 4096, FEATURES = 64 };

static void fit_weights(int threads, int mode, float *kernel) {
  static float x[FIT_ROWS * FEATURES], y[FIT_ROWS];
  uint32_t s = 1;
  for (int i = 0; i < FIT_ROWS * FEATURES; i++) {
    s = s * 1664525u + 1013904223u;
    x[i] = (float)(s >> 8) * 0x1p-24f - 0.5f;
  }
  for (int i = 0; i < FIT_ROWS; i++) y[i] = (float)(i * 7 % 3);
  nnc_model *m = testutil_load(testutil_json(FIT_SPEC));
  nnc_status st;
  ck_assert_msg(nnc_model_set_threads(m, threads, &st) == NNC_OK, "%s", st.message);
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = 2;
  o.batch_size = 512; /* 512 x 64 x 37 multiply-adds: the matmuls split on two threads */
  o.verbose = 0;
  nnc_array xa = {NNC_F32, 2, {FIT_ROWS, FEATURES}, x, NULL},
            ya = {NNC_F32, 1, {FIT_ROWS}, y, NULL};
  fesetround(mode);
  int rc = nnc_model_fit(m, &xa, &ya, &o, NULL, &st);
  fesetround(FE_TONEAREST);
  ck_assert_msg(rc == NNC_OK, "%s", st.message);
  nnc_array w;
  ck_assert_msg(nnc_model_get_weight(m, "h/kernel", &w, &st) == NNC_OK, "%s", st.message);
  memcpy(kernel, w.data, sizeof(float) * FEATURES * 37);
  nnc_array_free(&w);
  nnc_model_free(m);
}

START_TEST(a_fit_in_upward_mode_equals_the_default_on_any_thread_count) {
  static float nearest[FEATURES * 37], up1[FEATURES * 37], up2[FEATURES * 37];
  fit_weights(1, FE_TONEAREST, nearest);
  fit_weights(1, FE_UPWARD, up1);
  fit_weights(2, FE_UPWARD, up2);
  ck_assert_msg(!memcmp(up1, up2, sizeof up1), "one and two threads differ in upward mode");
  ck_assert_msg(!memcmp(nearest, up1, sizeof up1), "upward mode changed the kernels' results");
}
END_TEST

/* A caller that traps on invalid operations, division by zero and overflow
 * (feenableexcept, as numerical code does while debugging) gets the IEEE
 * default results from the kernels, as docs/semantics.md promises (NaN
 * propagates as in TensorFlow), not a SIGFPE; its traps are still enabled
 * afterwards. Rows: inf * 0 = NaN (invalid); relu(NaN) = NaN (max of a NaN
 * raises invalid); 1e30 * 1e30 = inf (overflow); 2 * 1e30 = 2e30. */
START_TEST(a_trapping_caller_gets_ieee_results_not_sigfpe) {
  static float x[ROWS], y[ROWS * UNITS], y2[ROWS * UNITS];
  nnc_model *zero = dense("relu", 1, 0.0f);
  nnc_model *big = dense("linear", 2, 1e30f);
  const int traps = FE_INVALID | FE_DIVBYZERO | FE_OVERFLOW;
  fedisableexcept(FE_ALL_EXCEPT);
  ck_assert_int_ne(feenableexcept(traps), -1);
  for (int r = 0; r < ROWS; r++) x[r] = r % 2 ? INFINITY : NAN;
  predict(zero, x, y);
  int still = fegetexcept();
  for (int r = 0; r < ROWS; r++) x[r] = r % 2 ? 2.0f : 1e30f;
  predict(big, x, y2);
  fedisableexcept(FE_ALL_EXCEPT);
  ck_assert_int_eq(still, traps);
  for (int i = 0; i < ROWS * UNITS; i++) {
    int r = i / UNITS;
    ck_assert_msg(isnan(y[i]), "row %d: relu(%s * 0) gave %g, not NaN", r, r % 2 ? "inf" : "NaN",
                  y[i]);
    ck_assert_msg(r % 2 ? y2[i] == 2e30f : y2[i] == INFINITY, "row %d: %g", r, y2[i]);
  }
  nnc_model_free(zero);
  nnc_model_free(big);
}
END_TEST

/* The host side of a fit under the same traps: EarlyStopping,
 * ReduceLROnPlateau and ModelCheckpoint compare the monitored value with the
 * best so far; a NaN val_loss compared with < raised FE_INVALID (SIGFPE for a
 * trapping host). A NaN is never an improvement, and nothing traps. */
START_TEST(a_nan_monitored_value_does_not_trap) {
  cb_monitor lower = {.op = -1}, higher = {.op = 1};
  fedisableexcept(FE_ALL_EXCEPT);
  ck_assert_int_ne(feenableexcept(FE_INVALID), -1);
  int nan_lower = cb_is_improvement(&lower, NAN, 0, 0.5);
  int nan_best = cb_is_improvement(&higher, 0.5, 0, NAN);
  int real = cb_is_improvement(&lower, 0.25, 0, 0.5);
  fedisableexcept(FE_ALL_EXCEPT);
  ck_assert_int_eq(nan_lower, 0);
  ck_assert_int_eq(nan_best, 0);
  ck_assert_int_eq(real, 1);
}
END_TEST

/* ---- the object cache under a file size limit ---- */

/* A host run under `ulimit -f` (RLIMIT_FSIZE) that does not ignore SIGXFSZ
 * (the default) was killed by it inside nnc_model_load_string: the cache
 * wrote a machine-code entry larger than the limit, a file the host never
 * asked for, and left a partial temporary file. The entry is now skipped: the
 * model builds and predicts, and the cache folder holds no file. */
START_TEST(a_file_size_limit_skips_the_cache_entry) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/fsize-cache", testutil_tmpdir());
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    signal(SIGXFSZ, SIG_DFL);
    struct rlimit lim = {1024, 1024}; /* this model's entry is about 3 KB */
    setrlimit(RLIMIT_FSIZE, &lim);
    setenv("XDG_CACHE_HOME", dir, 1);
    unsetenv("NNC_CACHE");
    nnc_set_compile_cache(1);
    char spec[1024];
    snprintf(spec, sizeof spec, SPEC, "linear");
    nnc_model *m = NULL;
    nnc_status st;
    if (nnc_model_load_string(spec, "brk11", &m, &st) != NNC_OK) _exit(3);
    float x[2] = {1, 2};
    nnc_array xa = {NNC_F32, 2, {2, 1}, x, NULL}, out;
    if (nnc_model_predict(m, &xa, 2, &out, &st) != NNC_OK) _exit(4);
    nnc_array_free(&out);
    nnc_model_free(m);
    _exit(0);
  }
  int status = 0;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(!WIFSIGNALED(status), "the host died of signal %d (SIGXFSZ is %d)",
                WIFSIGNALED(status) ? WTERMSIG(status) : 0, SIGXFSZ);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit %d", WEXITSTATUS(status));
  char nnc_dir[4200];
  snprintf(nnc_dir, sizeof nnc_dir, "%s/nnc", dir);
  DIR *d = opendir(nnc_dir);
  ck_assert_msg(d != NULL, "%s: the cache folder was not created", nnc_dir);
  for (struct dirent *e; (e = readdir(d));)
    ck_assert_msg(e->d_name[0] == '.', "%s left in the cache folder", e->d_name);
  closedir(d);
}
END_TEST

/* The cache folder of XDG_CACHE_HOME=xdg, or NULL when the cache is off. */
static const char *cache_dir_for(const char *xdg) {
  static char buf[4096];
  setenv("XDG_CACHE_HOME", xdg, 1);
  unsetenv("NNC_CACHE");
  int rc = obj_cache_dir(buf, sizeof buf);
  unsetenv("XDG_CACHE_HOME");
  return rc ? NULL : buf;
}

/* A folder on the way to the cache that another user may write (not sticky)
 * turns the cache off: that user could rename the cache folder and put a
 * link to theirs in its place between the check of the folder and the open
 * of an entry, and nnc would link the machine code they planted (shown with
 * strace delaying the open: docs/performance.md, "Session 11 (breaker)").
 * A sticky folder (/tmp) is safe, and a link is resolved once. */
START_TEST(a_cache_under_a_folder_others_may_write_is_off) {
  char open_dir[4096], inner[4200], sticky[4096], link[4096], want[4300];
  const char *t = testutil_tmpdir();
  snprintf(open_dir, sizeof open_dir, "%s/open", t);
  snprintf(inner, sizeof inner, "%s/inner", open_dir);
  snprintf(sticky, sizeof sticky, "%s/sticky", t);
  snprintf(link, sizeof link, "%s/link", t);
  ck_assert_int_eq(mkdir(open_dir, 0700), 0);
  ck_assert_int_eq(chmod(open_dir, 0777), 0); /* past the umask */
  ck_assert_int_eq(mkdir(inner, 0700), 0);
  ck_assert_int_eq(mkdir(sticky, 0700), 0);
  ck_assert_int_eq(chmod(sticky, 01777), 0);
  ck_assert_int_eq(symlink(sticky, link), 0);
  ck_assert_msg(cache_dir_for(open_dir) == NULL, "a world-writable XDG_CACHE_HOME was used");
  ck_assert_msg(cache_dir_for(inner) == NULL, "a folder under a world-writable one was used");
  const char *d = cache_dir_for(sticky);
  char *real = realpath(sticky, NULL);
  snprintf(want, sizeof want, "%s/nnc", real);
  ck_assert_msg(d && !strcmp(d, want), "a sticky folder: %s, not %s", d ? d : "(off)", want);
  d = cache_dir_for(link);
  ck_assert_msg(d && !strcmp(d, want), "a link to it: %s, not %s", d ? d : "(off)", want);
  free(real);
}
END_TEST

/* Entries whose time of use lies in the future (the clock was set back, or
 * the folder was copied with its times from a machine ahead) counted as the
 * most recently used: under NNC_CACHE_MAX_MB each new entry was the oldest,
 * evicted as soon as it was stored, and every compile missed. They are now
 * the least recently used: the new entry stays and a later load hits. */
START_TEST(entries_dated_in_the_future_do_not_evict_new_ones) {
  char dir[4096], path[4200];
  snprintf(dir, sizeof dir, "%s/future", testutil_tmpdir());
  ck_assert_int_eq(mkdir(dir, 0700), 0);
  /* 4 x 262000 bytes: just under 1 MiB, dated a year ahead */
  static char junk[262000];
  struct timeval ahead[2];
  gettimeofday(&ahead[0], NULL);
  ahead[0].tv_sec += 365 * 24 * 3600;
  ahead[1] = ahead[0];
  for (int i = 0; i < 4; i++) {
    snprintf(path, sizeof path, "%s/%032x.o", dir, i + 1);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(junk, 1, sizeof junk, f), sizeof junk);
    fclose(f);
    ck_assert_int_eq(utimes(path, ahead), 0);
  }
  obj_key key = {{0x0123456789abcdefull, 0xfedcba9876543210ull}};
  static char object[40000];
  memset(object, 0x5a, sizeof object);
  setenv("NNC_CACHE_MAX_MB", "1", 1);
  ck_assert_int_eq(obj_cache_store(dir, &key, object, sizeof object), 0);
  unsetenv("NNC_CACHE_MAX_MB");
  size_t len = 0;
  void *back = obj_cache_load(dir, &key, &len);
  ck_assert_msg(back != NULL, "the new entry was evicted by entries dated in the future");
  ck_assert(len == sizeof object && !memcmp(back, object, len));
  free(back);
  snprintf(path, sizeof path, "%s/%032x.o", dir, 1);
  ck_assert_msg(access(path, F_OK) != 0, "the first future-dated entry was kept");
}
END_TEST

int main(void) {
  /* the thread tests' small models still split wherever a group would
   * (compiler/driver/table.c: pool_rows) */
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1);
  Suite *s = suite_create("brk11");
  TCase *tc = tcase_create("fpenv");
  tcase_add_test(tc, kernels_round_to_nearest_in_any_caller_mode);
  tcase_add_test(tc, a_fit_in_upward_mode_equals_the_default_on_any_thread_count);
  tcase_add_test(tc, a_trapping_caller_gets_ieee_results_not_sigfpe);
  tcase_add_test(tc, a_nan_monitored_value_does_not_trap);
  suite_add_tcase(s, tc);
  TCase *cache = tcase_create("cache");
  tcase_add_test(cache, a_file_size_limit_skips_the_cache_entry);
  tcase_add_test(cache, a_cache_under_a_folder_others_may_write_is_off);
  tcase_add_test(cache, entries_dated_in_the_future_do_not_evict_new_ones);
  suite_add_tcase(s, cache);
  return testutil_run(s);
}
