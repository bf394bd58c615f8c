/* Compile time stays linear in depth (docs/architecture.md, "Compile time").
 *
 * Wall-clock timing belongs in bench/compile_depth.sh; these tests check the
 * structure that made it superlinear instead. LLVM's O3 and register
 * allocation are superlinear in the size of one function, so the largest
 * function of the emitted module must not grow with the depth of the model:
 * a driver that calls every group of a 256-layer train graph from one
 * function is four times the size of a 64-layer one. CSE's hash table must
 * look at a bounded number of slots per node, and the memory planner's
 * first-fit allocator (arena.c) is checked against a brute-force first fit. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/compile.h"
#include "compiler/passes/arena.h"
#include "compiler/passes/passes.h"
#include "compiler/spec/spec.h"
#include "testutil.h"

/* Sequential: depth Dense(8, relu) layers, Adam + mse: train, test and predict graphs. */
static char *deep_spec(int depth) {
  size_t cap = 256 + (size_t)depth * 128;
  char *json = malloc(cap);
  ck_assert_ptr_nonnull(json);
  size_t n = (size_t)snprintf(json, cap,
                              "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"deep\", "
                              "\"layers\": [{\"class_name\": \"InputLayer\", \"config\": "
                              "{\"batch_shape\": [null, 8], \"name\": \"input_layer\"}}");
  for (int i = 0; i < depth; i++)
    n += (size_t)snprintf(json + n, cap - n,
                          ", {\"class_name\": \"Dense\", \"config\": {\"name\": \"dense_%d\", "
                          "\"units\": 8, \"activation\": \"relu\"}}",
                          i);
  snprintf(json + n, cap - n,
           "]}, \"compile_config\": {\"optimizer\": \"adam\", \"loss\": \"mean_squared_error\"}}");
  return json;
}

typedef struct module_size {
  long lines;    /* of the whole module */
  long largest;  /* instructions and labels of its largest function */
  char name[96]; /* which */
  int functions;
} module_size;

/* Emit the module of a depth-layer model (no O3, no JIT) and measure its text. */
static module_size emitted(int depth) {
  char path[512];
  snprintf(path, sizeof path, "%s/deep_%d.ll", testutil_tmpdir(), depth);
  char *json = deep_spec(depth);
  nnc_spec spec;
  nnc_status st;
  ck_assert_msg(nnc_spec_parse_string(json, "deep.json", &spec, &st) == NNC_OK, "%s", st.message);
  nnc_compile_options opts;
  memset(&opts, 0, sizeof opts);
  opts.emit_only = 1;
  opts.dump_ir_pre = path;
  nnc_compiled c;
  ck_assert_msg(nnc_compile_spec(&spec, NULL, &opts, &c, &st) == NNC_OK, "%s", st.message);
  ck_assert_ptr_null(c.step[NNC_GRAPH_TRAIN]); /* emit only: nothing to run */
  nnc_compiled_free(&c);
  nnc_spec_free(&spec);
  free(json);

  module_size m = {0, 0, "", 0};
  FILE *f = fopen(path, "r");
  ck_assert_ptr_nonnull(f);
  char line[4096], name[96] = "";
  long in_function = -1; /* lines of the function being read, -1 outside */
  while (fgets(line, sizeof line, f)) {
    m.lines++;
    if (!strncmp(line, "define ", 7)) {
      const char *at = strchr(line, '@');
      snprintf(name, sizeof name, "%.*s", at ? (int)strcspn(at + 1, "(") : 0, at ? at + 1 : "");
      in_function = 0;
      m.functions++;
    } else if (in_function >= 0 && line[0] == '}') {
      if (in_function > m.largest) {
        m.largest = in_function;
        snprintf(m.name, sizeof m.name, "%s", name);
      }
      in_function = -1;
    } else if (in_function >= 0 && line[0] != '\n') {
      in_function++;
    }
  }
  fclose(f);
  remove(path);
  return m;
}

START_TEST(largest_function_does_not_grow_with_depth) {
  module_size shallow = emitted(64), deep = emitted(256);
  /* the module itself grows with depth: the test measures real code (the
   * drivers; the layers' kernels are shared, test_kernel_sharing.c) */
  ck_assert_msg(deep.lines > 3 * shallow.lines, "%ld vs %ld lines", deep.lines, shallow.lines);
  /* but no single function does */
  ck_assert_msg(deep.largest <= shallow.largest + shallow.largest / 4,
                "largest function: %s with %ld lines at depth 256, %s with %ld at depth 64",
                deep.name, deep.largest, shallow.name, shallow.largest);
}
END_TEST

/* Slots CSE looks at per node of a depth-layer train graph. */
static double cse_probes_per_node(int depth) {
  char *json = deep_spec(depth);
  nnc_spec spec;
  nnc_status st;
  ck_assert_msg(nnc_spec_parse_string(json, "deep.json", &spec, &st) == NNC_OK, "%s", st.message);
  nnc_compile_options opts;
  memset(&opts, 0, sizeof opts);
  opts.no_jit = 1;
  nnc_compiled c;
  ck_assert_msg(nnc_compile_spec(&spec, NULL, &opts, &c, &st) == NNC_OK, "%s", st.message);
  nnc_graph g;
  ck_assert(graph_copy(&g, &c.graphs[NNC_GRAPH_TRAIN], "train", &st) == NNC_OK);
  int64_t probes = 0;
  ck_assert_msg(pass_cse_counted(&g, &probes, &st) == NNC_OK, "%s", st.message);
  double per_node = (double)probes / g.n;
  ck_assert_int_gt(g.n, 40 * depth); /* the graph is deep: about 45 nodes per layer */
  graph_free(&g);
  nnc_compiled_free(&c);
  nnc_spec_free(&spec);
  free(json);
  return per_node;
}

START_TEST(cse_work_per_node_does_not_grow_with_depth) {
  double shallow = cse_probes_per_node(64), deep = cse_probes_per_node(512);
  /* a table at most half full: a couple of slots per node on average */
  ck_assert_msg(deep < 4 && deep < 1.5 * shallow,
                "CSE looked at %.1f slots per node at depth 512, %.1f at depth 64", deep, shallow);
}
END_TEST

/* Brute force: the lowest offset where [offset, offset + size) meets no live buffer. */
typedef struct buf {
  int64_t offset, size;
  int live;
} buf;

static int64_t reference_fit(const buf *b, int n, int64_t size) {
  for (int64_t offset = 0;; offset++) {
    int free_here = 1;
    for (int i = 0; i < n && free_here; i++)
      if (b[i].live && offset < b[i].offset + b[i].size && b[i].offset < offset + size)
        free_here = 0;
    if (free_here) return offset;
  }
}

START_TEST(arena_is_first_fit) {
  enum { N = 2000 };
  static buf bufs[N];
  arena a;
  memset(&a, 0, sizeof a);
  nnc_status st;
  uint64_t r = 12345;
  int n = 0, max_holes = 0;
  for (int step = 0; step < 2 * N; step++) {
    r = r * 6364136223846793005ull + 1442695040888963407ull;
    int live = 0;
    for (int i = 0; i < n; i++) live += bufs[i].live;
    if (n < N && ((r >> 33) % 3 != 0 || live == 0)) { /* place, twice as often as release */
      int64_t size = 1 + (int64_t)((r >> 40) % 16);
      int64_t want = reference_fit(bufs, n, size);
      int64_t got = arena_place(&a, size);
      ck_assert_msg(got == want, "step %d: size %lld placed at %lld, first fit is %lld", step,
                    (long long)size, (long long)got, (long long)want);
      bufs[n++] = (buf){got, size, 1};
    } else { /* release a random live buffer */
      int k = (int)((r >> 20) % (uint64_t)live);
      for (int i = 0; i < n; i++)
        if (bufs[i].live && k-- == 0) {
          ck_assert(arena_release(&a, bufs[i].offset, bufs[i].size, &st) == NNC_OK);
          bufs[i].live = 0;
          break;
        }
    }
    if (a.n_holes > max_holes) max_holes = a.n_holes;
  }
  ck_assert_int_gt(max_holes, 3); /* the sequence did fragment the region */
  arena_free(&a);
}
END_TEST

int main(void) {
  Suite *s = suite_create("compile_depth");
  TCase *tc = tcase_create("scaling");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, largest_function_does_not_grow_with_depth);
  tcase_add_test(tc, cse_work_per_node_does_not_grow_with_depth);
  tcase_add_test(tc, arena_is_first_fit);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
