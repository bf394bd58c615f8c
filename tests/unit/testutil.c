#include "testutil.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler/codegen/codegen.h"
#include "compiler/compile.h"
#include "compiler/graph/graph.h"
#include "compiler/passes/passes.h"
#include "compiler/lower/lower.h"
#include "compiler/driver/timing.h"
#include "compiler/spec/spec.h"
#include "runtime/model.h"

int testutil_run(Suite *s) {
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

const char *testutil_path(const char *dir, const char *rel) {
  static char bufs[8][1024];
  static int next;
  char *b = bufs[next++ & 7];
  snprintf(b, sizeof bufs[0], "%s/%s", dir, rel);
  return b;
}

static void remove_tree(const char *path) {
  struct stat sb;
  if (lstat(path, &sb) != 0) return;
  if (S_ISDIR(sb.st_mode)) {
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      char child[1024];
      snprintf(child, sizeof child, "%s/%s", path, e->d_name);
      remove_tree(child);
    }
    if (d) closedir(d);
    rmdir(path);
  } else {
    unlink(path);
  }
}

static char tmp_dir[256];
static pid_t tmp_owner;

/* Check forks a process per test: each removes the folder it made. */
static void remove_tmpdir(void) {
  if (tmp_dir[0] && tmp_owner == getpid()) remove_tree(tmp_dir);
}

const char *testutil_tmpdir(void) {
  if (!tmp_dir[0] || tmp_owner != getpid()) {
    const char *base = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/nnc_test_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp_dir)) return "/tmp";
    if (!tmp_owner) atexit(remove_tmpdir);
    tmp_owner = getpid();
  }
  return tmp_dir;
}

nnc_array testutil_f32(float *data, int64_t rows, int64_t cols) {
  nnc_array a;
  memset(&a, 0, sizeof a);
  a.dtype = NNC_F32;
  a.rank = 2;
  a.shape[0] = rows;
  a.shape[1] = cols;
  a.data = data;
  return a;
}

const char *testutil_json(const char *s) {
  static char bufs[4][16384];
  static int next;
  char *b = bufs[next++ % 4];
  ck_assert(strlen(s) < sizeof bufs[0]);
  size_t i = 0;
  for (; s[i]; i++) b[i] = s[i] == '\'' ? '"' : s[i];
  b[i] = 0;
  return b;
}

const char *testutil_sequential(const char *shape, const char *layers, const char *cc) {
  static char buf[16384];
  int n = snprintf(buf, sizeof buf,
                   "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': [{'class_name': "
                   "'InputLayer', 'config': {'batch_shape': [null, %s], 'name': 'in'}}, %s]}%s%s}",
                   shape, layers, cc ? ", 'compile_config': " : "", cc ? cc : "");
  ck_assert(n > 0 && (size_t)n < sizeof buf);
  return testutil_json(buf);
}

void testutil_expect_spec_error(const char *json, const char *path, const char *what) {
  nnc_spec spec;
  nnc_status st = {0};
  int rc = nnc_spec_parse_string(json, "model.json", &spec, &st);
  if (rc == NNC_OK) {
    nnc_lowered l;
    rc = lower_model(&spec, NULL, &l, &st);
    if (rc == NNC_OK) lowered_free(&l);
    nnc_spec_free(&spec);
  }
  ck_assert_msg(rc == NNC_ERR_SPEC, "expected NNC_ERR_SPEC, got %d (%s) for %.600s", rc, st.message,
                json);
  char prefix[400];
  snprintf(prefix, sizeof prefix, "model.json: %s: ", path);
  ck_assert_msg(strncmp(st.message, prefix, strlen(prefix)) == 0, "'%s' does not start with '%s'",
                st.message, prefix);
  ck_assert_msg(strstr(st.message, what), "'%s' not in: %s", what, st.message);
}

nnc_model *testutil_load(const char *json) {
  nnc_model *m = NULL;
  nnc_status st = {0};
  ck_assert_msg(nnc_model_load_string(json, "model.json", &m, &st) == NNC_OK, "%s", st.message);
  return m;
}

nnc_shape testutil_lowered_output(const char *json) {
  nnc_spec spec;
  nnc_status st = {0};
  ck_assert_msg(nnc_spec_parse_string(json, "model.json", &spec, &st) == NNC_OK, "%s", st.message);
  nnc_lowered l;
  ck_assert_msg(lower_model(&spec, NULL, &l, &st) == NNC_OK, "%s", st.message);
  nnc_shape out = l.prog.outputs[0].shape;
  lowered_free(&l);
  nnc_spec_free(&spec);
  return out;
}

int testutil_compile(const char *json, const nnc_compile_options *opts, nnc_status *st) {
  nnc_spec spec;
  if (nnc_spec_parse_string(json, "m.json", &spec, st)) return st->code;
  nnc_compile_options defaults;
  memset(&defaults, 0, sizeof defaults);
  nnc_compiled c;
  int rc = nnc_compile_spec(&spec, NULL, opts ? opts : &defaults, &c, st);
  if (!rc) nnc_compiled_free(&c);
  nnc_spec_free(&spec);
  return rc;
}

void testutil_emit_counts(const char *json, nnc_timing *timing) {
  memset(timing, 0, sizeof *timing);
  nnc_compile_options opts;
  memset(&opts, 0, sizeof opts);
  opts.timing = timing;
  opts.emit_only = 1;
  nnc_status st;
  ck_assert_msg(testutil_compile(json, &opts, &st) == NNC_OK, "%s", st.message);
}

float *testutil_scratch_floats(int64_t per_thread, int threads) {
  int64_t floats = per_thread * threads;
  if (floats == 0) return NULL;
  void *p = NULL;
  ck_assert_msg(posix_memalign(&p, 64, (size_t)floats * sizeof(float)) == 0,
                "no memory for %lld floats of scratch", (long long)floats);
  return p;
}

float *testutil_scratch(const struct nnc_jit *jit, int graph, int threads) {
  return testutil_scratch_floats(codegen_scratch_floats(jit, graph), threads);
}

float *testutil_table_scratch(const struct nnc_program_table *t, int entry, int threads) {
  return testutil_scratch_floats(t->entries[entry].scratch_floats, threads);
}

static void no_barrier(void *ctx) {
  (void)ctx;
}

void testutil_predict_step(struct nnc_model *m, float *x, float *y, int64_t rows, int tid, int n,
                           void *ctx) {
  float *scratch = testutil_table_scratch(m->t, NNC_ENTRY_PREDICT, n);
  float *regions[NNC_REGION_IO + 2] = {m->params, m->slots, m->stats, m->fixed,
                                       m->batch,  scratch,  x,        y};
  float scalars[NNC_SCALAR_COUNT] = {0, 1, (float)rows};
  m->t->entries[NNC_ENTRY_PREDICT].fn(regions, scalars, rows, 0, tid, n, no_barrier, ctx);
  free(scratch);
}

char *testutil_take_file(const char *path) {
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  ck_assert_ptr_nonnull(s);
  ck_assert_int_eq(fread(s, 1, (size_t)n, f), (size_t)n);
  s[n] = 0;
  fclose(f);
  unlink(path);
  return s;
}

char *testutil_post_ir(const char *json, const char *width) {
  char path[] = "/tmp/nnc_post_ir_XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  close(fd);
  setenv("NNC_VECTOR_WIDTH", width, 1);
  nnc_spec spec;
  nnc_status st;
  ck_assert_msg(nnc_spec_parse_string(json, "m.json", &spec, &st) == NNC_OK, "%s", st.message);
  nnc_compile_options opts;
  memset(&opts, 0, sizeof opts);
  opts.no_cache = 1;
  opts.dump_ir_post = path;
  nnc_compiled c;
  ck_assert_msg(nnc_compile_spec(&spec, NULL, &opts, &c, &st) == NNC_OK, "%s", st.message);
  nnc_compiled_free(&c);
  nnc_spec_free(&spec);
  unsetenv("NNC_VECTOR_WIDTH");
  return testutil_take_file(path);
}

static void testutil_no_barrier(void *ctx) {
  (void)ctx;
}

float *testutil_run_graph(struct nnc_graph *g, int n_inputs, int n_targets, float *const *io,
                          int n_io, int64_t rows, int threads, int keep, int64_t *keep_offset) {
  nnc_status st = {0};
  nnc_program prog;
  memset(&prog, 0, sizeof prog);
  ck_assert_msg(pass_fuse(g, &st) == NNC_OK, "%s", st.message);
  prog.n_inputs = n_inputs;
  prog.n_targets = n_targets;
  ck_assert_msg(pass_plan_memory_for(g, &prog, &st) == NNC_OK, "%s", st.message);
  const nnc_graph *list[1] = {g};
  nnc_codegen_options opts = {0};
  nnc_jit *jit = NULL;
  nnc_step_fn fn = NULL;
  ck_assert_msg(codegen_compile(list, 1, &prog, &opts, &jit, &fn, &st) == NNC_OK, "%s", st.message);
  float *fixed = calloc((size_t)g->fixed_floats + 1, sizeof(float));
  float *batch = calloc((size_t)(g->batch_floats_per_row * rows) + 1, sizeof(float));
  float **regions = calloc((size_t)(NNC_REGION_IO + n_io) + 1, sizeof *regions);
  ck_assert(fixed && batch && regions);
  for (int k = 0; k < n_io; k++) regions[NNC_REGION_IO + k] = io[k];
  regions[NNC_REGION_FIXED] = fixed;
  regions[NNC_REGION_BATCH] = batch;
  float scalars[NNC_SCALAR_COUNT] = {0};
  for (int t = 0; t < threads; t++)
    fn(regions, scalars, rows, 0, t, threads, testutil_no_barrier, NULL);
  if (keep >= 0) {
    ck_assert_int_eq(g->nodes[keep].region, NNC_REGION_FIXED);
    *keep_offset = g->nodes[keep].offset;
  }
  free(batch);
  free(regions);
  codegen_release(jit);
  graph_free(g);
  return fixed;
}

void testutil_compile_memo(const char *json, codegen_memo *m, nnc_timing *timing) {
  nnc_spec spec;
  nnc_status st;
  ck_assert_msg(nnc_spec_parse_string(json, "m.json", &spec, &st) == NNC_OK, "%s", st.message);
  nnc_compile_options opts;
  memset(&opts, 0, sizeof opts);
  opts.timing = timing;
  opts.no_cache = 1;
  codegen_memo_free(m);
  opts.memo = m;
  nnc_compiled c;
  ck_assert_msg(nnc_compile_spec(&spec, NULL, &opts, &c, &st) == NNC_OK, "%s", st.message);
  nnc_compiled_free(&c);
  nnc_spec_free(&spec);
  ck_assert_msg(m->has && m->len > 16, "no objects kept");
}

uint64_t testutil_memo_objects(const codegen_memo *m) {
  uint64_t n;
  memcpy(&n, (const char *)m->data + 8, sizeof n);
  return n;
}

typedef struct step_call {
  testutil_step fn;
  float **regions;
  const float *scalars;
  int64_t rows, tid, threads;
  pthread_barrier_t *barrier;
} step_call;

static void wait_barrier(void *ctx) {
  pthread_barrier_wait(ctx);
}

static void *step_call_run(void *arg) {
  step_call *c = arg;
  c->fn(c->regions, c->scalars, c->rows, 0, c->tid, c->threads, wait_barrier, c->barrier);
  return NULL;
}

void testutil_step_threads(testutil_step fn, float **regions, const float *scalars, int64_t rows,
                           int threads) {
  enum { MAX = 64 };
  ck_assert(threads >= 1 && threads <= MAX);
  pthread_barrier_t barrier;
  pthread_barrier_init(&barrier, NULL, (unsigned)threads);
  step_call c[MAX];
  pthread_t t[MAX];
  for (int i = 0; i < threads; i++) {
    c[i] = (step_call){fn, regions, scalars, rows, i, threads, &barrier};
    if (i) ck_assert_int_eq(pthread_create(&t[i], NULL, step_call_run, &c[i]), 0);
  }
  step_call_run(&c[0]);
  for (int i = 1; i < threads; i++) pthread_join(t[i], NULL);
  pthread_barrier_destroy(&barrier);
}
