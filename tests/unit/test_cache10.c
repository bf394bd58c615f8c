/* The object cache's key before emission (compiler/codegen/cache_key.h) and
 * the cache's hygiene (obj_cache.h): every byte of a node and every field of
 * a graph's header is in the key; changing one input of a model (a shape, an
 * activation, a parameter, a codegen switch) changes it while a runtime
 * scalar (the learning rate) does not; every NNC_* variable compiler/ reads
 * is classified; the size limit evicts the least recently used entries;
 * symlinks, foreign entries and unsafe directories are misses; readers and
 * writers of one entry in several processes never see a damaged object. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "compiler/codegen/cache_key.h"
#include "compiler/codegen/obj_cache.h"
#include "compiler/compile.h"
#include "compiler/env_check.h"
#include "compiler/spec/spec.h"
#include "base/base.h"
#include "testutil.h"

/* ---- keys of planned graphs ---- */

typedef struct planned {
  nnc_compiled c;
  const nnc_graph *list[NNC_GRAPH_COUNT];
  int n;
} planned;

static void plan(const char *json, planned *p) {
  nnc_spec spec;
  nnc_status st;
  ck_assert_msg(nnc_spec_parse_string(json, "m.json", &spec, &st) == NNC_OK, "%s", st.message);
  nnc_compile_options opts;
  memset(&opts, 0, sizeof opts);
  opts.no_jit = 1;
  ck_assert_msg(nnc_compile_spec(&spec, NULL, &opts, &p->c, &st) == NNC_OK, "%s", st.message);
  nnc_spec_free(&spec);
  p->n = 0;
  for (int i = 0; i < NNC_GRAPH_COUNT; i++)
    if (p->c.has_graph[i]) p->list[p->n++] = &p->c.graphs[i];
}

static obj_key key_of(const planned *p, int accumulate_f64) {
  cache_switches sw = {codegen_vector_width(), accumulate_f64, CG_STRIPS_OWN};
  obj_key k;
  ck_assert_int_eq(cache_key_compute(&k, p->list, p->n, &sw), 0);
  return k;
}

static int same_key(obj_key a, obj_key b) {
  return a.h[0] == b.h[0] && a.h[1] == b.h[1];
}

/* The key of a spec's planned graphs (vector width and switches as set). */
static obj_key key_of_json(const char *json) {
  planned p;
  plan(json, &p);
  obj_key k = key_of(&p, 0);
  nnc_compiled_free(&p.c);
  return k;
}

static const char *model(const char *units, const char *act, const char *extra, const char *lr) {
  static char buf[4][2048];
  static int next;
  char *b = buf[next++ % 4];
  snprintf(b, sizeof buf[0],
           "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 6], 'name': 'in'}},"
           "{'class_name': 'Dense', 'config': {'name': 'd0', 'units': %s, 'activation': '%s'}},"
           "%s{'class_name': 'Dense', 'config': {'name': 'd1', 'units': 3}}]},"
           "'compile_config': {'optimizer': {'class_name': 'Adam', 'config': "
           "{'learning_rate': %s}}, 'loss': 'mean_squared_error'}}",
           units, act, extra, lr);
  return testutil_json(b);
}

/* Flipping any byte of a node, or changing any header field of a graph,
 * changes the key; restoring it gives the key back. A field added to
 * nnc_node is in the key without anyone listing it. */
START_TEST(every_node_byte_and_header_field_is_in_the_key) {
  planned p;
  plan(model("5", "relu", "", "0.001"), &p);
  obj_key base = key_of(&p, 0);
  ck_assert(same_key(base, key_of(&p, 0)));
  nnc_graph *g = &p.c.graphs[NNC_GRAPH_TRAIN];
  ck_assert_int_gt(g->n, 3);
  int nodes[3] = {0, g->n / 2, g->n - 1};
  for (int k = 0; k < 3; k++) {
    unsigned char *bytes = (unsigned char *)&g->nodes[nodes[k]];
    for (size_t b = 0; b < sizeof(nnc_node); b++) {
      bytes[b] ^= 0x01;
      ck_assert_msg(!same_key(base, key_of(&p, 0)), "node %d byte %zu not in the key", nodes[k], b);
      bytes[b] ^= 0x01;
    }
  }
  ck_assert(same_key(base, key_of(&p, 0)));
  int64_t *fields[] = {&g->fixed_floats, &g->batch_floats_per_row};
  for (int k = 0; k < 2; k++) {
    (*fields[k])++;
    ck_assert_msg(!same_key(base, key_of(&p, 0)), "workspace field %d", k);
    (*fields[k])--;
  }
  int *ints[] = {&g->loss, &g->n_groups};
  for (int k = 0; k < 2; k++) {
    (*ints[k])++;
    ck_assert_msg(!same_key(base, key_of(&p, 0)), "int field %d", k);
    (*ints[k])--;
  }
  g->name[0] = 'T';
  ck_assert(!same_key(base, key_of(&p, 0)));
  g->name[0] = 't';
  g->n--; /* one node fewer */
  ck_assert(!same_key(base, key_of(&p, 0)));
  g->n++;
  ck_assert(!same_key(base, key_of(&p, 1))); /* float64 accumulation */
  p.n--;                                     /* one graph fewer */
  ck_assert(!same_key(base, key_of(&p, 0)));
  p.n++;
  ck_assert(same_key(base, key_of(&p, 0)));
  nnc_compiled_free(&p.c);
}
END_TEST

/* One input of the model changed: another key. The learning rate is a
 * runtime scalar, not code: the same key. */
START_TEST(a_changed_model_input_is_another_key) {
  obj_key base = key_of_json(model("5", "relu", "", "0.001"));
  ck_assert(same_key(base, key_of_json(model("5", "relu", "", "0.001"))));
  ck_assert(same_key(base, key_of_json(model("5", "relu", "", "0.5"))));
  ck_assert(!same_key(base, key_of_json(model("6", "relu", "", "0.001"))));   /* a shape */
  ck_assert(!same_key(base, key_of_json(model("5", "tanh", "", "0.001"))));   /* activation */
  ck_assert(!same_key(base, key_of_json(model("5", "linear", "", "0.001")))); /* removed op */
  const char *drop[2] = {"{'class_name': 'Dropout', 'config': {'name': 'x', 'rate': 0.25}},",
                         "{'class_name': 'Dropout', 'config': {'name': 'x', 'rate': 0.5}},"};
  obj_key d25 = key_of_json(model("5", "relu", drop[0], "0.001"));
  ck_assert(!same_key(base, d25));
  ck_assert(!same_key(d25, key_of_json(model("5", "relu", drop[1], "0.001")))); /* a param */
  const char *leaky[2] = {
      "{'class_name': 'LeakyReLU', 'config': {'name': 'x', 'negative_slope': 0.2}},",
      "{'class_name': 'LeakyReLU', 'config': {'name': 'x', 'negative_slope': 0.3}},"};
  ck_assert(!same_key(key_of_json(model("5", "relu", leaky[0], "0.001")),
                      key_of_json(model("5", "relu", leaky[1], "0.001"))));
}
END_TEST

/* Each code switch keys what its value means: unset, empty and the
 * default's own text are one key, every other value compile accepts another
 * (test_warm20 checks against the objects that the meanings are right). */
START_TEST(every_code_switch_is_in_the_key) {
  const char *json = model("5", "relu", "", "0.001");
  int count = 0;
  while (cache_key_env_code[count]) count++;
  char **saved = calloc((size_t)count, sizeof *saved); /* the caller's values, restored below */
  ck_assert_ptr_nonnull(saved);
  for (int i = 0; cache_key_env_code[i]; i++) {
    const char *v = getenv(cache_key_env_code[i]);
    saved[i] = v ? strdup(v) : NULL;
    unsetenv(cache_key_env_code[i]);
  }
  obj_key base = key_of_json(json);
  int host_width = codegen_vector_width();
  for (int i = 0; cache_key_env_code[i]; i++) {
    const char *name = cache_key_env_code[i];
    const env_var *var = env_vars;
    while (var->name && strcmp(var->name, name)) var++;
    ck_assert_msg(var->name && var->values, "%s: no accepted values in env_check.c", name);
    const cache_switch_meaning *m = cache_key_switch_meanings;
    while (m->name && strcmp(m->name, name)) m++;
    ck_assert_msg(m->name, "%s: no meaning in cache_key.c", name);
    for (const char *const *v = var->values; *v; v++) { /* every value compile accepts */
      setenv(name, *v, 1);
      int same = m->resolved ? atoi(*v) == host_width : m->unset && !strcmp(*v, m->unset);
      ck_assert_msg(same_key(base, key_of_json(json)) == same, "%s=%s: %s key", name, *v,
                    same ? "another" : "the same");
    }
    setenv(name, "", 1);
    ck_assert_msg(same_key(base, key_of_json(json)), "%s=\"\": another key", name);
    unsetenv(name);
  }
  ck_assert(same_key(base, key_of_json(json)));
  for (int i = 0; cache_key_env_code[i]; i++)
    if (saved[i]) {
      setenv(cache_key_env_code[i], saved[i], 1);
      free(saved[i]);
    }
  free(saved);
}
END_TEST

/* Every getenv("NAME") in compiler/ and base/: NNC_* names must be in the
 * list of code switches or of those known not to change code, so a new
 * switch cannot be forgotten by the key. */
static int unlisted;
static char unlisted_name[128];

static int listed(const char *name) {
  for (int i = 0; cache_key_env_code[i]; i++)
    if (!strcmp(name, cache_key_env_code[i])) return 1;
  for (int i = 0; cache_key_env_other[i]; i++)
    if (!strcmp(name, cache_key_env_other[i])) return 1;
  return 0;
}

static int scan_file(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)ftw;
  size_t n = strlen(path);
  if (flag != FTW_F || n < 2 || strcmp(path + n - 2, ".c")) return 0;
  size_t len;
  nnc_status st;
  char *text = nnc_read_file_capped(path, 1 << 22, &len, &st);
  ck_assert_msg(text != NULL, "%s", st.message);
  for (const char *p = text; (p = strstr(p, "getenv(\"")); p++) {
    const char *name = p + 8, *end = strchr(name, '"');
    if (!end || end - name >= (long)sizeof unlisted_name) continue;
    char buf[128];
    memcpy(buf, name, (size_t)(end - name));
    buf[end - name] = '\0';
    if (!strncmp(buf, "NNC_", 4) && !listed(buf)) {
      unlisted++;
      snprintf(unlisted_name, sizeof unlisted_name, "%s", buf);
    }
  }
  free(text);
  return 0;
}

START_TEST(every_nnc_variable_of_the_compiler_is_classified) {
  unlisted = 0;
  ck_assert_int_eq(nftw(NNC_SOURCE_DIR "/compiler", scan_file, 16, FTW_PHYS), 0);
  ck_assert_int_eq(nftw(NNC_SOURCE_DIR "/base", scan_file, 16, FTW_PHYS), 0);
  ck_assert_msg(unlisted == 0, "%s is read by the compiler but in neither list of cache_key.c",
                unlisted_name);
}
END_TEST

/* This binary and libLLVM have build-ids: the key is usable. */
START_TEST(build_ids_are_found) {
  unsigned char id[64];
  union {
    int (*fn)(void);
    const void *p;
  } self = {.fn = codegen_vector_width};
  ck_assert_int_ge(cache_key_build_id(self.p, id, sizeof id), 8);
  int stack;
  ck_assert_int_eq(cache_key_build_id(&stack, id, sizeof id), -1); /* not in an object */
}
END_TEST

/* ---- a model's rebuild ---- */

/* A model that declares its input is built at load with labels assumed of
 * sample shape [1]; a fit with labels of shape (N,) rebuilds it, to the
 * same code: with the disk cache off it is linked from the model's memo,
 * not compiled again. Turning check-numerics on changes the graphs: a
 * compile; off again: a compile too (the memo holds the last code only). */
START_TEST(an_identical_rebuild_reuses_the_model_code) {
  setenv("NNC_CACHE", "0", 1);
  const char *json = testutil_json(
      "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
      "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 6], 'name': 'in'}},"
      "{'class_name': 'Dense', 'config': {'name': 'd', 'units': 4}}]},"
      "'compile_config': {'optimizer': 'adam', 'loss': {'class_name': "
      "'SparseCategoricalCrossentropy', 'config': {'from_logits': true}}, 'metrics': "
      "['accuracy']}}");
  nnc_status st;
  nnc_model *m = NULL;
  long c0, c1, r0 = codegen_reused();
  codegen_counts(&c0, NULL, NULL);
  ck_assert_msg(nnc_model_load_string(json, "m.json", &m, &st) == NNC_OK, "%s", st.message);
  codegen_counts(&c1, NULL, NULL);
  ck_assert_int_eq(c1 - c0, 1);
  float xs[60], ys[10];
  for (int i = 0; i < 60; i++) xs[i] = (float)i / 60.0f;
  for (int i = 0; i < 10; i++) ys[i] = (float)(i % 4);
  nnc_array x = testutil_f32(xs, 10, 6), y = testutil_f32(ys, 10, 1);
  y.rank = 1;
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = 1, o.verbose = 0, o.batch_size = 5;
  nnc_history h;
  memset(&h, 0, sizeof h);
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &h, &st) == NNC_OK, "%s", st.message);
  nnc_history_free(&h);
  codegen_counts(&c1, NULL, NULL);
  ck_assert_msg(c1 - c0 == 1 && codegen_reused() - r0 == 1, "compiled %ld, reused %ld", c1 - c0,
                codegen_reused() - r0);
  ck_assert_int_eq(nnc_model_set_check_numerics(m, 1, &st), NNC_OK);
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &h, &st) == NNC_OK, "%s", st.message);
  nnc_history_free(&h);
  codegen_counts(&c1, NULL, NULL);
  ck_assert_msg(c1 - c0 == 2 && codegen_reused() - r0 == 1, "check-numerics: compiled %ld",
                c1 - c0);
  nnc_model_free(m);
  unsetenv("NNC_CACHE");
}
END_TEST

/* ---- the directory ---- */

static char home[256], entries[300];

static void fresh_cache(void) {
  snprintf(home, sizeof home, "/tmp/nnc_test_cache10_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(home));
  snprintf(entries, sizeof entries, "%s/nnc", home);
  setenv("XDG_CACHE_HOME", home, 1);
  unsetenv("NNC_CACHE");
  unsetenv("NNC_CACHE_MAX_MB");
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)ftw;
  return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void remove_cache(void) {
  nftw(home, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static obj_key key_n(int n) {
  obj_key k;
  obj_key_init(&k);
  obj_key_add(&k, &n, sizeof n);
  return k;
}

static void entry_path(char *buf, size_t n, obj_key k) {
  snprintf(buf, n, "%s/%016llx%016llx.o", entries, (unsigned long long)k.h[0],
           (unsigned long long)k.h[1]);
}

/* Entry k's last use set to t seconds after the epoch. */
static void set_used(obj_key k, time_t t) {
  char path[600];
  entry_path(path, sizeof path, k);
  struct timespec ts[2] = {{t, 0}, {t, 0}};
  ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static int store_n(const char *dir, int n, const void *data, size_t len) {
  obj_key k = key_n(n);
  return obj_cache_store(dir, &k, data, len);
}

static int present(const char *dir, obj_key k) {
  size_t len;
  void *d = obj_cache_load(dir, &k, &len);
  free(d);
  return d != NULL;
}

/* Six entries of 1 MiB under a 4 MiB limit: the two used longest ago go;
 * a hit counts as a use (entry 0, the oldest, is loaded and so kept). */
START_TEST(size_limit_evicts_least_recently_used) {
  fresh_cache();
  char dir[512];
  ck_assert_int_eq(obj_cache_dir(dir, sizeof dir), 0);
  size_t mib = 1 << 20;
  char *payload = calloc(1, mib);
  ck_assert_ptr_nonnull(payload);
  for (int i = 0; i < 5; i++) {
    payload[0] = (char)i;
    ck_assert_int_eq(store_n(dir, i, payload, mib - 100), 0);
    set_used(key_n(i), 1000000 + i * 10);
  }
  for (int i = 0; i < 5; i++) ck_assert(present(dir, key_n(i))); /* default: 256 MiB */
  for (int i = 0; i < 5; i++) set_used(key_n(i), 1000000 + i * 10);
  ck_assert(present(dir, key_n(0))); /* a hit: now the most recent */
  setenv("NNC_CACHE_MAX_MB", "4", 1);
  ck_assert_int_eq(obj_cache_limit(), 4 << 20);
  ck_assert_int_eq(store_n(dir, 5, payload, mib - 100), 0);
  int kept[6] = {1, 0, 0, 1, 1, 1};
  for (int i = 0; i < 6; i++)
    ck_assert_msg(present(dir, key_n(i)) == kept[i], "entry %d: kept %d", i, !kept[i]);
  setenv("NNC_CACHE_MAX_MB", "0", 1); /* keeps nothing */
  ck_assert_int_eq(obj_cache_evict(dir, obj_cache_limit()), 4);
  setenv("NNC_CACHE_MAX_MB", "lots", 1); /* not a number: the default (compile rejects it) */
  ck_assert_int_eq(obj_cache_limit(), (int64_t)NNC_CACHE_DEFAULT_MB << 20);
  unsetenv("NNC_CACHE_MAX_MB");
  free(payload);
  remove_cache();
}
END_TEST

/* A temporary file of a writer killed over an hour ago is removed; a young
 * one (a write in progress) and files that are not entries are left. */
START_TEST(stale_temporary_files_are_removed) {
  fresh_cache();
  char dir[512], old[700], young[700], other[700];
  ck_assert_int_eq(obj_cache_dir(dir, sizeof dir), 0);
  obj_key k = key_n(1);
  entry_path(old, sizeof old, k);
  strcat(old, ".tmp.99.0");
  entry_path(young, sizeof young, k);
  strcat(young, ".tmp.99.1");
  snprintf(other, sizeof other, "%s/notes.txt", entries);
  const char *files[3] = {old, young, other};
  for (int i = 0; i < 3; i++) {
    FILE *f = fopen(files[i], "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
  }
  struct timespec ts[2] = {{time(NULL) - 7200, 0}, {time(NULL) - 7200, 0}};
  ck_assert_int_eq(utimensat(AT_FDCWD, old, ts, 0), 0);
  ck_assert_int_eq(utimensat(AT_FDCWD, other, ts, 0), 0);
  ck_assert_int_eq(obj_cache_evict(dir, 0), 0);
  ck_assert_int_ne(access(old, F_OK), 0);
  ck_assert_int_eq(access(young, F_OK), 0);
  ck_assert_int_eq(access(other, F_OK), 0);
  remove_cache();
}
END_TEST

/* A symlink planted at an entry's name is neither followed on load nor
 * written through on store (the link is replaced, its target untouched). */
START_TEST(planted_symlink_is_not_followed) {
  fresh_cache();
  char dir[512], path[600], target[600];
  ck_assert_int_eq(obj_cache_dir(dir, sizeof dir), 0);
  obj_key k = key_n(7);
  const char payload[] = "an object";
  ck_assert_int_eq(obj_cache_store(dir, &k, payload, sizeof payload), 0);
  entry_path(path, sizeof path, k);
  snprintf(target, sizeof target, "%s/elsewhere.o", home);
  ck_assert_int_eq(rename(path, target), 0);
  ck_assert_int_eq(symlink(target, path), 0);
  ck_assert(!present(dir, k)); /* a valid entry behind the link: still a miss */
  ck_assert_int_eq(obj_cache_store(dir, &k, "new", 4), 0);
  struct stat sb;
  ck_assert_int_eq(lstat(path, &sb), 0);
  ck_assert(S_ISREG(sb.st_mode));
  ck_assert_int_eq(stat(target, &sb), 0);
  ck_assert_int_eq(sb.st_size, 40 + sizeof payload); /* header + the old object */
  ck_assert(present(dir, k));
  remove_cache();
}
END_TEST

/* A FIFO at an entry's name is a miss at once (opening it must not wait for
 * a writer: the test's timeout catches a hang), and a store replaces it. */
START_TEST(fifo_entry_is_a_miss_without_waiting) {
  fresh_cache();
  char dir[512], path[600];
  ck_assert_int_eq(obj_cache_dir(dir, sizeof dir), 0);
  entry_path(path, sizeof path, key_n(3));
  ck_assert_int_eq(mkfifo(path, 0600), 0);
  ck_assert(!present(dir, key_n(3)));
  ck_assert_int_eq(obj_cache_evict(dir, 0), 0); /* not an entry: left alone */
  ck_assert_int_eq(store_n(dir, 3, "three", 6), 0);
  ck_assert(present(dir, key_n(3)));
  remove_cache();
}
END_TEST

/* An entry copied under another key's name (a foreign entry) is a miss. */
START_TEST(foreign_entry_is_a_miss) {
  fresh_cache();
  char dir[512], a[600], b[600];
  ck_assert_int_eq(obj_cache_dir(dir, sizeof dir), 0);
  ck_assert_int_eq(store_n(dir, 1, "one", 4), 0);
  entry_path(a, sizeof a, key_n(1));
  entry_path(b, sizeof b, key_n(2));
  ck_assert_int_eq(link(a, b), 0);
  ck_assert(present(dir, key_n(1)));
  ck_assert(!present(dir, key_n(2)));
  remove_cache();
}
END_TEST

/* The directory is made 0700; one that others may write, or a symlink in
 * its place, turns the cache off. */
START_TEST(unsafe_directory_turns_the_cache_off) {
  fresh_cache();
  char dir[512];
  ck_assert_int_eq(obj_cache_dir(dir, sizeof dir), 0);
  struct stat sb;
  ck_assert_int_eq(lstat(entries, &sb), 0);
  ck_assert_int_eq(sb.st_mode & 0777, 0700);
  ck_assert_int_eq(chmod(entries, 0777), 0);
  ck_assert_int_eq(obj_cache_dir(dir, sizeof dir), -1);
  ck_assert_int_eq(chmod(entries, 0700), 0);
  ck_assert_int_eq(obj_cache_dir(dir, sizeof dir), 0);
  char real[600];
  snprintf(real, sizeof real, "%s/real", home);
  ck_assert_int_eq(rename(entries, real), 0);
  ck_assert_int_eq(symlink(real, entries), 0);
  ck_assert_int_eq(obj_cache_dir(dir, sizeof dir), -1);
  unlink(entries);
  remove_cache();
}
END_TEST

/* Two writers replace one entry over and over with objects of different
 * sizes while a reader loads it: every load is a miss or one of the two
 * objects, whole; a third process evicts everything now and then. */
START_TEST(readers_see_whole_entries_while_writers_replace_them) {
  fresh_cache();
  char dir[512];
  ck_assert_int_eq(obj_cache_dir(dir, sizeof dir), 0);
  enum { SIZE_A = 300000, SIZE_B = 170000, ROUNDS = 60 };
  char *a = malloc(SIZE_A), *b = malloc(SIZE_B);
  ck_assert(a && b);
  memset(a, 'a', SIZE_A);
  memset(b, 'b', SIZE_B);
  obj_key k = key_n(42);
  pid_t pid[3];
  for (int w = 0; w < 3; w++) {
    pid[w] = fork();
    ck_assert_int_ge(pid[w], 0);
    if (pid[w] == 0) {
      for (int r = 0; r < ROUNDS; r++) {
        if (w < 2 && obj_cache_store(dir, &k, w ? b : a, w ? SIZE_B : SIZE_A)) _exit(1);
        if (w == 2 && r % 10 == 0 && obj_cache_evict(dir, 0) < 0) _exit(1);
      }
      _exit(0);
    }
  }
  int hits = 0;
  for (int r = 0; r < 4 * ROUNDS; r++) {
    size_t len = 0;
    char *got = obj_cache_load(dir, &k, &len);
    if (!got) continue;
    hits++;
    ck_assert(len == SIZE_A || len == SIZE_B);
    ck_assert_int_eq(memcmp(got, len == SIZE_A ? a : b, len), 0);
    free(got);
  }
  for (int w = 0; w < 3; w++) {
    int status = 0;
    ck_assert_int_eq(waitpid(pid[w], &status, 0), pid[w]);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "process %d failed", w);
  }
  /* no temporary file is left */
  DIR *d = opendir(entries);
  ck_assert_ptr_nonnull(d);
  for (struct dirent *e; (e = readdir(d));)
    ck_assert_msg(!strstr(e->d_name, ".tmp."), "left behind: %s", e->d_name);
  closedir(d);
  (void)hits;
  free(a);
  free(b);
  remove_cache();
}
END_TEST

int main(void) {
  Suite *s = suite_create("cache10");
  TCase *tc = tcase_create("cache10");
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, every_node_byte_and_header_field_is_in_the_key);
  tcase_add_test(tc, a_changed_model_input_is_another_key);
  tcase_add_test(tc, every_code_switch_is_in_the_key);
  tcase_add_test(tc, every_nnc_variable_of_the_compiler_is_classified);
  tcase_add_test(tc, build_ids_are_found);
  tcase_add_test(tc, an_identical_rebuild_reuses_the_model_code);
  tcase_add_test(tc, size_limit_evicts_least_recently_used);
  tcase_add_test(tc, stale_temporary_files_are_removed);
  tcase_add_test(tc, planted_symlink_is_not_followed);
  tcase_add_test(tc, foreign_entry_is_a_miss);
  tcase_add_test(tc, fifo_entry_is_a_miss_without_waiting);
  tcase_add_test(tc, unsafe_directory_turns_the_cache_off);
  tcase_add_test(tc, readers_see_whole_entries_while_writers_replace_them);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
