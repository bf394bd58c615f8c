/* NNC_PERF_MAP=1 (compiler/codegen/perf_map.c): the JIT's functions named
 * in /tmp/perf-PID.map for `perf report`. Checked against truths the map's
 * code does not compute:
 * - the step functions the JIT looked up for the model (nnc_<graph>_step)
 *   sit at the addresses the map gives their names;
 * - the map names exactly the functions the optimised module defines
 *   (--dump-ir=post), each once, with non-empty ranges that do not overlap;
 * - a compile served by the object cache appends the same names at the new
 *   JIT's addresses;
 * - unset, nothing is written; a map that cannot be written fails the
 *   compile with a message naming the variable and the file, and a link,
 *   a hard link or a fifo planted at its name is refused; other values than 0 and 1 are
 *   refused. */
#define _DEFAULT_SOURCE
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler/codegen/codegen.h"
#include "compiler/codegen/strip_lib.h"
#include "compiler/compile.h"
#include "compiler/env_check.h"
#include "compiler/spec/spec.h"
#include "base/base.h"
#include "testutil.h"

#define MAX_FNS 256

typedef struct map_line {
  uint64_t start, size;
  char name[128];
} map_line;

static const char *model_json(void) {
  return testutil_sequential(
      "6",
      "{'class_name':'Dense','config':{'units':8,'activation':'relu'}},"
      "{'class_name':'Dropout','config':{'rate':0.25}},"
      "{'class_name':'Dense','config':{'units':3,'activation':'softmax'}}",
      "{'optimizer':{'class_name':'Adam','config':{}},'loss':'categorical_crossentropy',"
      "'metrics':['accuracy']}");
}

static const char *map_path(void) {
  static char path[64];
  snprintf(path, sizeof path, "/tmp/perf-%ld.map", (long)getpid());
  return path;
}

/* Lines of the map from line `from` on; fails the test on a malformed one. */
static int read_map(int from, map_line *out, int cap) {
  FILE *f = fopen(map_path(), "r");
  ck_assert_msg(f != NULL, "no %s", map_path());
  char line[256];
  int n = 0, at = 0;
  while (fgets(line, sizeof line, f)) {
    if (at++ < from) continue;
    ck_assert_int_lt(n, cap);
    unsigned long long start, size;
    char tail;
    ck_assert_msg(sscanf(line, "%llx %llx %127s%c", &start, &size, out[n].name, &tail) == 4 &&
                      tail == '\n',
                  "malformed map line '%s'", line);
    out[n].start = start;
    out[n].size = size;
    n++;
  }
  fclose(f);
  return n;
}

static const map_line *find(const map_line *m, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (!strcmp(m[i].name, name)) return &m[i];
  return NULL;
}

static void compile(int no_cache, const char *ir_post, nnc_compiled *c) {
  nnc_spec spec;
  nnc_status st;
  ck_assert_msg(nnc_spec_parse_string(model_json(), "m.json", &spec, &st) == NNC_OK, "%s",
                st.message);
  nnc_compile_options opts;
  memset(&opts, 0, sizeof opts);
  opts.no_cache = no_cache;
  opts.dump_ir_post = ir_post;
  ck_assert_msg(nnc_compile_spec(&spec, NULL, &opts, c, &st) == NNC_OK, "%s", st.message);
  nnc_spec_free(&spec);
}

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
}

/* The model compiled without the cache, freed: the status code. */
static int compile_status(nnc_status *st) {
  nnc_compile_options opts;
  memset(&opts, 0, sizeof opts);
  opts.no_cache = 1;
  return testutil_compile(model_json(), &opts, st);
}

/* Every graph's step at the address the map gives its name. */
static void check_steps(const nnc_compiled *c, const map_line *m, int n) {
  static const char *const names[NNC_GRAPH_COUNT] = {"nnc_train_step", "nnc_test_step",
                                                     "nnc_predict_step"};
  int checked = 0;
  for (int g = 0; g < NNC_GRAPH_COUNT; g++) {
    if (!c->has_graph[g]) continue;
    const map_line *l = find(m, n, names[g]);
    ck_assert_msg(l != NULL, "%s is not in the map", names[g]);
    union {
      nnc_step_fn fn;
      uintptr_t addr;
    } step = {.fn = c->step[g]};
    ck_assert_msg(l->start == step.addr, "%s: map %llx, JIT %llx", names[g],
                  (unsigned long long)l->start, (unsigned long long)step.addr);
    checked++;
  }
  ck_assert_int_eq(checked, 3);
}

START_TEST(map_names_the_jit_functions) {
  setenv("NNC_PERF_MAP", "1", 1);
  unlink(map_path());
  const char *ir_path = testutil_path(testutil_tmpdir(), "post.ll");
  nnc_compiled c;
  compile(1, ir_path, &c);
  static map_line m[MAX_FNS];
  int n = read_map(0, m, MAX_FNS);
  check_steps(&c, m, n);
  /* the names: the optimised module's definitions, each once */
  char *ir = testutil_take_file(ir_path);
  int defined = 0;
  for (char *p = ir; (p = strstr(p, "\ndefine ")); p++) {
    char *at = strchr(p, '@'), *end = at ? strchr(at, '(') : NULL;
    ck_assert_ptr_nonnull(end);
    char name[128];
    ck_assert_int_lt(end - at - 1, (long)sizeof name);
    memcpy(name, at + 1, (size_t)(end - at - 1));
    name[end - at - 1] = 0;
    ck_assert_msg(find(m, n, name) != NULL, "%s is defined but not in the map", name);
    defined++;
  }
  /* and the strip library's (strip_lib.h), linked beside them: the ones
   * the module declares, among the 80 of its width */
  int declared = 0;
  for (char *p = ir; (p = strstr(p, "@nnc_gemm_lib_")); p++) {
    char name[128];
    size_t len = strcspn(p + 1, "(");
    ck_assert_int_lt(len, sizeof name);
    memcpy(name, p + 1, len);
    name[len] = 0;
    ck_assert_msg(find(m, n, name) != NULL, "%s is declared but not in the map", name);
    declared++;
  }
  free(ir);
  int library = 0;
  for (int i = 0; i < n; i++) library += !strncmp(m[i].name, "nnc_gemm_lib_", 13);
  int linked = strip_lib_mode(codegen_vector_width()) == CG_STRIPS_LIBRARY;
  ck_assert_int_eq(library, linked ? 80 : 0);
  ck_assert(linked ? declared > 0 : declared == 0);
  ck_assert_int_eq(n, defined + library);
  for (int i = 0; i < n; i++) {
    ck_assert_msg(m[i].size > 0, "%s: empty", m[i].name);
    for (int j = 0; j < i; j++) {
      ck_assert_msg(strcmp(m[i].name, m[j].name), "%s twice", m[i].name);
      ck_assert_msg(m[i].start + m[i].size <= m[j].start || m[j].start + m[j].size <= m[i].start,
                    "%s and %s overlap", m[i].name, m[j].name);
    }
  }
  nnc_compiled_free(&c);

  /* twice through the cache (a miss fills it, then a hit): each appends
   * the same names at its own JIT's addresses */
  setenv("XDG_CACHE_HOME", testutil_tmpdir(), 1);
  for (int round = 0; round < 2; round++) {
    nnc_compiled again;
    compile(0, NULL, &again);
    static map_line m2[MAX_FNS];
    int n2 = read_map(n * (round + 1), m2, MAX_FNS);
    ck_assert_int_eq(n2, n);
    for (int i = 0; i < n; i++)
      ck_assert_msg(find(m2, n2, m[i].name) != NULL, "%s missing", m[i].name);
    check_steps(&again, m2, n2);
    nnc_compiled_free(&again);
  }
  unlink(map_path());
  unsetenv("NNC_PERF_MAP");
}
END_TEST

START_TEST(unset_writes_nothing) {
  unsetenv("NNC_PERF_MAP");
  unlink(map_path());
  nnc_compiled c;
  compile(1, NULL, &c);
  nnc_compiled_free(&c);
  ck_assert_int_ne(access(map_path(), F_OK), 0);
  setenv("NNC_PERF_MAP", "0", 1);
  compile(1, NULL, &c);
  nnc_compiled_free(&c);
  ck_assert_int_ne(access(map_path(), F_OK), 0);
  unsetenv("NNC_PERF_MAP");
}
END_TEST

START_TEST(unwritable_map_is_an_error) {
  setenv("NNC_PERF_MAP", "1", 1);
  unlink(map_path());
  ck_assert_int_eq(mkdir(map_path(), 0700), 0); /* a directory where the file goes */
  nnc_status st;
  int rc = compile_status(&st);
  rmdir(map_path());
  unsetenv("NNC_PERF_MAP");
  ck_assert_int_eq(rc, NNC_ERR_WRITE);
  ck_assert_msg(strstr(st.message, "NNC_PERF_MAP") && strstr(st.message, map_path()), "message: %s",
                st.message);
}
END_TEST

/* /tmp/perf-PID.map is a predictable name in a shared folder: a link
 * planted there is not followed (the file it names stays as it was). */
START_TEST(planted_link_not_followed) {
  setenv("NNC_PERF_MAP", "1", 1);
  unlink(map_path());
  const char *victim = testutil_path(testutil_tmpdir(), "victim.txt");
  write_text(victim, "precious\n");
  ck_assert_int_eq(symlink(victim, map_path()), 0);
  nnc_status st;
  int rc = compile_status(&st);
  unlink(map_path());
  unsetenv("NNC_PERF_MAP");
  ck_assert_int_eq(rc, NNC_ERR_WRITE);
  ck_assert_msg(strstr(st.message, map_path()), "message: %s", st.message);
  char *text = testutil_take_file(victim);
  ck_assert_str_eq(text, "precious\n");
  free(text);
}
END_TEST

/* A fifo at the name (no reader: the open would wait for one for good)
 * and a hard link to another file are refused too. */
START_TEST(fifo_and_hard_link_refused) {
  setenv("NNC_PERF_MAP", "1", 1);
  unlink(map_path());
  ck_assert_int_eq(mkfifo(map_path(), 0600), 0);
  nnc_status st;
  int rc = compile_status(&st);
  unlink(map_path());
  ck_assert_int_eq(rc, NNC_ERR_WRITE);
  const char *other = testutil_path(testutil_tmpdir(), "other.txt");
  write_text(other, "kept\n");
  ck_assert_int_eq(link(other, map_path()), 0);
  rc = compile_status(&st);
  unlink(map_path());
  unsetenv("NNC_PERF_MAP");
  ck_assert_int_eq(rc, NNC_ERR_WRITE);
  ck_assert_msg(strstr(st.message, "one link"), "message: %s", st.message);
  char *text = testutil_take_file(other);
  ck_assert_str_eq(text, "kept\n");
  free(text);
}
END_TEST

START_TEST(other_values_refused) {
  nnc_status st;
  setenv("NNC_PERF_MAP", "2", 1);
  ck_assert_int_eq(env_check(&st), NNC_ERR_ARG);
  ck_assert_msg(strstr(st.message, "NNC_PERF_MAP"), "message: %s", st.message);
  setenv("NNC_PERF_MAP", "1", 1);
  ck_assert_int_eq(env_check(&st), NNC_OK);
  unsetenv("NNC_PERF_MAP");
}
END_TEST

int main(void) {
  Suite *s = suite_create("perf_map21");
  TCase *tc = tcase_create("perf_map21");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, map_names_the_jit_functions);
  tcase_add_test(tc, unset_writes_nothing);
  tcase_add_test(tc, unwritable_map_is_an_error);
  tcase_add_test(tc, planted_link_not_followed);
  tcase_add_test(tc, fifo_and_hard_link_refused);
  tcase_add_test(tc, other_values_refused);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
