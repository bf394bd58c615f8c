/* The on-disk object cache (compiler/codegen/obj_cache.h, jit.c): a second
 * compile of the same model loads the machine code instead of compiling it
 * (counted: modules compiled, hits, misses), a fit gives the same bits with a
 * cold cache, a warm one and none, a damaged entry is detected and replaced,
 * two processes may fill one directory at once, anything that changes the
 * code (the vector width, the spec) is a miss, and an unusable directory
 * only turns the cache off. Every test uses its own temporary directory. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compiler/codegen/codegen.h"
#include "compiler/codegen/obj_cache.h"
#include "compiler/compile.h"
#include "compiler/spec/spec.h"
#include "oracle_case.h"
#include "testutil.h"

/* 6 inputs, Dense(units, relu), Dense(3); Adam + mse. */
static char *mlp(int units) {
  char *json = malloc(1024);
  ck_assert_ptr_nonnull(json);
  snprintf(json, 1024,
           "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m\", \"layers\": ["
           "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 6], "
           "\"name\": \"in\"}}, {\"class_name\": \"Dense\", \"config\": {\"name\": \"d0\", "
           "\"units\": %d, \"activation\": \"relu\"}}, {\"class_name\": \"Dense\", \"config\": "
           "{\"name\": \"d1\", \"units\": 3}}]}, \"compile_config\": {\"optimizer\": \"adam\", "
           "\"loss\": \"mean_squared_error\"}}",
           units);
  return json;
}

/* A fresh cache directory: XDG_CACHE_HOME=<tmp>, entries in <tmp>/nnc. */
static char home[256], entries[300];

static void fresh_cache(void) {
  snprintf(home, sizeof home, "/tmp/nnc_test_cache_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(home));
  snprintf(entries, sizeof entries, "%s/nnc", home);
  setenv("XDG_CACHE_HOME", home, 1);
  unsetenv("NNC_CACHE");
  unsetenv("NNC_VECTOR_WIDTH");
}

static void remove_cache(void) {
  DIR *d = opendir(entries);
  for (struct dirent *e; d && (e = readdir(d));) {
    char p[600];
    snprintf(p, sizeof p, "%s/%s", entries, e->d_name);
    if (e->d_name[0] != '.') unlink(p);
  }
  if (d) closedir(d);
  rmdir(entries);
  rmdir(home);
}

/* The entries in the cache directory; *name gets the last one's path. */
static int entry_count(char *name, size_t n) {
  int count = 0;
  DIR *d = opendir(entries);
  for (struct dirent *e; d && (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    count++;
    if (name) snprintf(name, n, "%s/%s", entries, e->d_name);
  }
  if (d) closedir(d);
  return count;
}

typedef struct counts {
  long compiled, hits, misses;
} counts;

static counts now(void) {
  counts c;
  codegen_counts(&c.compiled, &c.hits, &c.misses);
  return c;
}

/* What happened since `before`. */
static counts since(counts before) {
  counts c = now();
  c.compiled -= before.compiled;
  c.hits -= before.hits;
  c.misses -= before.misses;
  return c;
}

/* Compile the spec to machine code (train, test and predict). */
static int compile_json(const char *json, nnc_status *st) {
  nnc_spec spec;
  if (nnc_spec_parse_string(json, "m.json", &spec, st)) return st->code;
  nnc_compile_options opts;
  memset(&opts, 0, sizeof opts);
  nnc_compiled c;
  int rc = nnc_compile_spec(&spec, NULL, &opts, &c, st);
  if (!rc) {
    ck_assert_ptr_nonnull(c.step[NNC_GRAPH_TRAIN]);
    nnc_compiled_free(&c);
  }
  nnc_spec_free(&spec);
  return rc;
}

static void compile_ok(const char *json) {
  nnc_status st;
  ck_assert_msg(compile_json(json, &st) == NNC_OK, "%s", st.message);
}

static void fit(int units, fit_run *r) {
  char *json = mlp(units);
  enum { N = 20 };
  static float xs[N * 6], ys[N * 3];
  fill_uniform(xs, N * 6, 11);
  for (int i = 0; i < N * 3; i++) ys[i] = xs[(i * 7 + 1) % (N * 6)] * 0.9f - xs[i] * 0.3f;
  nnc_array x = testutil_f32(xs, N, 6), y = testutil_f32(ys, N, 3);
  fit_run_fit(json, "m.json", &x, &y, 3, 6, r); /* a partial last batch */
  free(json);
}

START_TEST(cold_warm_and_no_cache_fit_the_same) {
  fresh_cache();
  fit_run none, cold, warm;
  setenv("NNC_CACHE", "0", 1);
  counts c0 = now();
  fit(5, &none);
  counts d = since(c0);
  ck_assert_msg(d.compiled == 1 && d.hits == 0 && d.misses == 0, "no cache: %ld %ld %ld",
                d.compiled, d.hits, d.misses);
  ck_assert_int_eq(entry_count(NULL, 0), 0);
  unsetenv("NNC_CACHE");
  c0 = now();
  fit(5, &cold);
  d = since(c0);
  ck_assert_msg(d.compiled == 1 && d.hits == 0 && d.misses == 1, "cold: %ld %ld %ld", d.compiled,
                d.hits, d.misses);
  ck_assert_int_eq(entry_count(NULL, 0), 1);
  c0 = now();
  fit(5, &warm);
  d = since(c0);
  ck_assert_msg(d.compiled == 0 && d.hits == 1 && d.misses == 0, "warm: %ld %ld %ld", d.compiled,
                d.hits, d.misses);
  fit_run_same(&none, &cold, "cold cache");
  fit_run_same(&none, &warm, "warm cache");
  /* the API switch turns it off as NNC_CACHE=0 does */
  nnc_set_compile_cache(0);
  c0 = now();
  char *json = mlp(5);
  compile_ok(json);
  free(json);
  d = since(c0);
  nnc_set_compile_cache(1);
  ck_assert_msg(d.compiled == 1 && d.hits == 0, "cache off by the API: %ld %ld", d.compiled,
                d.hits);
  fit_run_free(&none);
  fit_run_free(&cold);
  fit_run_free(&warm);
  remove_cache();
}
END_TEST

/* Damage the one entry with f, then compile: a miss that stores a good entry
 * again (the next compile hits). */
static void damaged_entry_is_replaced(void (*damage)(const char *path)) {
  fresh_cache();
  char *json = mlp(4);
  compile_ok(json);
  char path[600];
  ck_assert_int_eq(entry_count(path, sizeof path), 1);
  damage(path);
  counts c0 = now();
  compile_ok(json);
  counts d = since(c0);
  ck_assert_msg(d.compiled == 1 && d.hits == 0 && d.misses == 1, "damaged: %ld %ld %ld", d.compiled,
                d.hits, d.misses);
  c0 = now();
  compile_ok(json);
  d = since(c0);
  ck_assert_msg(d.compiled == 0 && d.hits == 1, "replaced: %ld %ld", d.compiled, d.hits);
  ck_assert_int_eq(entry_count(NULL, 0), 1);
  free(json);
  remove_cache();
}

static void flip_a_byte(const char *path) {
  FILE *f = fopen(path, "r+b");
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
  long size = ftell(f);
  ck_assert_int_gt(size, 200);
  ck_assert_int_eq(fseek(f, size / 2, SEEK_SET), 0);
  int byte = fgetc(f);
  ck_assert_int_eq(fseek(f, size / 2, SEEK_SET), 0);
  fputc(byte ^ 0x10, f);
  fclose(f);
}

static void cut_in_half(const char *path) {
  struct stat sb;
  ck_assert_int_eq(stat(path, &sb), 0);
  ck_assert_int_eq(truncate(path, sb.st_size / 2), 0);
}

static void replace_with_garbage(const char *path) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  fputs("not an object", f);
  fclose(f);
}

START_TEST(corrupt_entry_is_detected_and_replaced) {
  damaged_entry_is_replaced(flip_a_byte);
}
END_TEST

START_TEST(truncated_entry_is_detected_and_replaced) {
  damaged_entry_is_replaced(cut_in_half);
}
END_TEST

START_TEST(garbage_entry_is_detected_and_replaced) {
  damaged_entry_is_replaced(replace_with_garbage);
}
END_TEST

/* Two processes compile the same model into one empty directory at once:
 * both succeed, one entry is left, and it is good (the next compile hits). */
START_TEST(concurrent_compiles_share_a_directory) {
  fresh_cache();
  char *json = mlp(7);
  pid_t pid[2];
  for (int k = 0; k < 2; k++) {
    pid[k] = fork();
    ck_assert_int_ge(pid[k], 0);
    if (pid[k] == 0) {
      nnc_status st;
      _exit(compile_json(json, &st) == NNC_OK ? 0 : 1);
    }
  }
  for (int k = 0; k < 2; k++) {
    int status = 0;
    ck_assert_int_eq(waitpid(pid[k], &status, 0), pid[k]);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "compile %d failed", k);
  }
  ck_assert_int_eq(entry_count(NULL, 0), 1); /* no temporary file left behind */
  counts c0 = now();
  compile_ok(json);
  counts d = since(c0);
  ck_assert_msg(d.compiled == 0 && d.hits == 1, "after concurrent fills: %ld %ld", d.compiled,
                d.hits);
  free(json);
  remove_cache();
}
END_TEST

/* Anything that changes the code is another entry: the vector width the
 * kernels are written for, a layer's size. */
START_TEST(other_vector_width_or_spec_is_a_miss) {
  fresh_cache();
  char *json = mlp(8), *other = mlp(9);
  setenv("NNC_VECTOR_WIDTH", "8", 1);
  compile_ok(json);
  setenv("NNC_VECTOR_WIDTH", "4", 1);
  counts c0 = now();
  compile_ok(json);
  counts d = since(c0);
  ck_assert_msg(d.compiled == 1 && d.hits == 0, "width 4 after 8: %ld %ld", d.compiled, d.hits);
  c0 = now();
  compile_ok(other);
  d = since(c0);
  ck_assert_msg(d.compiled == 1 && d.hits == 0, "another spec: %ld %ld", d.compiled, d.hits);
  setenv("NNC_VECTOR_WIDTH", "8", 1);
  c0 = now();
  compile_ok(json);
  d = since(c0);
  ck_assert_msg(d.compiled == 0 && d.hits == 1, "width 8 again: %ld %ld", d.compiled, d.hits);
  ck_assert_int_eq(entry_count(NULL, 0), 3);
  unsetenv("NNC_VECTOR_WIDTH");
  free(json);
  free(other);
  remove_cache();
}
END_TEST

/* XDG_CACHE_HOME names a regular file: no directory can be made there. The
 * compile works, without the cache. */
START_TEST(unusable_directory_falls_back) {
  fresh_cache();
  char file[300];
  snprintf(file, sizeof file, "%s/file", home);
  FILE *f = fopen(file, "w");
  ck_assert_ptr_nonnull(f);
  fclose(f);
  setenv("XDG_CACHE_HOME", file, 1);
  char *json = mlp(3);
  for (int k = 0; k < 2; k++) {
    counts c0 = now();
    compile_ok(json);
    counts d = since(c0);
    ck_assert_msg(d.compiled == 1 && d.hits == 0, "compile %d: %ld %ld", k, d.compiled, d.hits);
  }
  free(json);
  unlink(file);
  remove_cache();
}
END_TEST

/* The key and the entry format, directly: a stored object comes back
 * byte for byte, under its key only. */
START_TEST(store_and_load_round_trip) {
  fresh_cache();
  char dir[512];
  ck_assert_int_eq(obj_cache_dir(dir, sizeof dir), 0);
  obj_key a, b;
  obj_key_init(&a);
  obj_key_add_str(&a, "ab");
  obj_key_add_str(&a, "c");
  obj_key_init(&b);
  obj_key_add_str(&b, "a");
  obj_key_add_str(&b, "bc");
  ck_assert(a.h[0] != b.h[0] || a.h[1] != b.h[1]);
  const char payload[] = "0123456789abcdefghij";
  ck_assert_int_eq(obj_cache_store(dir, &a, payload, sizeof payload), 0);
  size_t len = 0;
  void *got = obj_cache_load(dir, &a, &len);
  ck_assert_ptr_nonnull(got);
  ck_assert_int_eq(len, sizeof payload);
  ck_assert_int_eq(memcmp(got, payload, len), 0);
  free(got);
  ck_assert_ptr_null(obj_cache_load(dir, &b, &len));
  remove_cache();
}
END_TEST

/* A fit of json on N samples of x_per floats, targets of y_per floats. */
static void fit_json(const char *json, int64_t *xshape, int xrank, int y_per, fit_run *r) {
  int64_t x_per = 1;
  for (int i = 1; i < xrank; i++) x_per *= xshape[i];
  int n = (int)xshape[0];
  float *xs = malloc(sizeof(float) * (size_t)(n * x_per)),
        *ys = malloc(sizeof(float) * (size_t)(n * y_per));
  fill_uniform(xs, n * x_per, 5);
  for (int i = 0; i < n * y_per; i++) ys[i] = xs[(i * 7 + 1) % (n * x_per)] * 0.8f;
  nnc_array x = testutil_f32(xs, n, (int)x_per), y = testutil_f32(ys, n, y_per);
  x.rank = xrank;
  for (int i = 0; i < xrank; i++) x.shape[i] = xshape[i];
  fit_run_fit(json, "k.json", &x, &y, 2, 5, r);
  free(xs);
  free(ys);
}

/* The drivers are compiled without optimisation (jit.c): dense, conv and
 * LSTM fits are bit-identical to every function through O3
 * (NNC_OPT_UNIFORM=1), and drivers were left unoptimised (counted). */
START_TEST(per_kind_pipeline_matches_uniform_o3) {
  setenv("NNC_CACHE", "0", 1);
  const char *head = "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"k\", \"layers\": [";
  const char *tail = "]}, \"compile_config\": {\"optimizer\": \"adam\", \"loss\": \"mse\"}}";
  const char *layers[3] = {
      "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 6], \"name\": \"i\"}},"
      "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 7, \"activation\": "
      "\"tanh\"}}, {\"class_name\": \"Dense\", \"config\": {\"name\": \"o\", \"units\": 2}}",
      "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 6, 6, 2], \"name\": "
      "\"i\"}}, {\"class_name\": \"Conv2D\", \"config\": {\"name\": \"c\", \"filters\": 3, "
      "\"kernel_size\": [3, 3], \"activation\": \"relu\"}}, {\"class_name\": \"Flatten\", "
      "\"config\": {\"name\": \"f\"}}, {\"class_name\": \"Dense\", \"config\": {\"name\": \"o\", "
      "\"units\": 2}}",
      "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 4, 3], \"name\": "
      "\"i\"}}, {\"class_name\": \"LSTM\", \"config\": {\"name\": \"l\", \"units\": 5}}, "
      "{\"class_name\": \"Dense\", \"config\": {\"name\": \"o\", \"units\": 2}}"};
  int64_t shapes[3][4] = {{12, 6}, {12, 6, 6, 2}, {12, 4, 3}};
  int ranks[3] = {2, 4, 3};
  for (int k = 0; k < 3; k++) {
    char json[2048];
    snprintf(json, sizeof json, "%s%s%s", head, layers[k], tail);
    /* drivers left unoptimised: counted */
    nnc_timing timing;
    memset(&timing, 0, sizeof timing);
    nnc_compile_options opts;
    memset(&opts, 0, sizeof opts);
    opts.timing = &timing;
    nnc_status st;
    ck_assert_msg(testutil_compile(json, &opts, &st) == NNC_OK, "%s", st.message);
    ck_assert_msg(timing.kernels_light >= 3, "model %d: %ld drivers unoptimised", k,
                  timing.kernels_light);
    ck_assert_msg(timing.kernels_shared > 0, "model %d: no kernel shared", k);
    fit_run light, full;
    fit_json(json, shapes[k], ranks[k], 2, &light);
    setenv("NNC_OPT_UNIFORM", "1", 1);
    fit_json(json, shapes[k], ranks[k], 2, &full);
    unsetenv("NNC_OPT_UNIFORM");
    fit_run_same(&light, &full, layers[k]);
    fit_run_free(&light);
    fit_run_free(&full);
  }
  unsetenv("NNC_CACHE");
}
END_TEST

int main(void) {
  Suite *s = suite_create("cache");
  TCase *tc = tcase_create("cache");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, cold_warm_and_no_cache_fit_the_same);
  tcase_add_test(tc, corrupt_entry_is_detected_and_replaced);
  tcase_add_test(tc, truncated_entry_is_detected_and_replaced);
  tcase_add_test(tc, garbage_entry_is_detected_and_replaced);
  tcase_add_test(tc, concurrent_compiles_share_a_directory);
  tcase_add_test(tc, other_vector_width_or_spec_is_a_miss);
  tcase_add_test(tc, unusable_directory_falls_back);
  tcase_add_test(tc, store_and_load_round_trip);
  tcase_add_test(tc, per_kind_pipeline_matches_uniform_o3);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
