/* IR in, IR out: every file tests/ir/NAME.ir is one test of one or more passes.
 *
 *   # why the expected graph is right (comments, '#' or ';')
 *   run fold                  passes of the pass table, in order (comma-separated)
 *   phase infer               specialize's phase (default train)
 *   optimizer sgd 0.1 0.9     kind, learning rate, momentum (SGD, for the optimizer pass)
 *   constraint 0 non_neg      a constraint on parameter 0 (non_neg, or max_norm V: axis 0)
 *   env NNC_X=1               an environment variable set while the passes run
 *   graph train (N nodes)     the input graph, as graph_dump_text writes it
 *   ...
 *   expect
 *   graph train (M nodes)     the graph the passes must produce
 *   ...
 *
 * Truth: the expected graphs, written by hand from each pass's documented
 * behaviour (compiler/passes/passes.h, docs/architecture.md). Both graphs
 * are read with graph_parse and compared as dumps, so spacing is free. The
 * program the passes see is made from the input graph: one parameter per
 * PARAM node (its shape, its label as name, offsets in node order), one
 * statistic per STAT node. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "compiler/graph/graph.h"
#include "compiler/passes/pipeline.h"
#include "testutil.h"

#define IR_DIR NNC_SOURCE_DIR "/tests/ir"

static char *dump(const nnc_graph *g) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  graph_dump_text(g, f);
  fclose(f);
  return text;
}

/* The program tables the passes read, from the graph's sources. */
static void make_program(const nnc_graph *g, nnc_program *prog) {
  memset(prog, 0, sizeof *prog);
  nnc_status st;
  for (int i = 0; i < g->n; i++) {
    const nnc_node *n = &g->nodes[i];
    if (n->dead) continue;
    if (n->op == NNC_OP_PARAM && n->params.index >= prog->n_params) {
      int want = (int)n->params.index + 1;
      prog->params = nnc_realloc_array(prog->params, (size_t)want, sizeof *prog->params, &st);
      ck_assert(prog->params != NULL);
      memset(prog->params + prog->n_params, 0,
             (size_t)(want - prog->n_params) * sizeof *prog->params);
      prog->n_params = want;
    }
    if (n->op == NNC_OP_STAT && n->params.index >= prog->n_stats)
      prog->n_stats = (int)n->params.index + 1;
    /* every INPUT counts as a model input (IO slots 0..k), so OUTPUT k is
     * planned at data region n_inputs + k */
    if (n->op == NNC_OP_INPUT && n->params.index >= prog->n_inputs)
      prog->n_inputs = (int)n->params.index + 1;
  }
  int64_t offset = 0;
  for (int i = 0; i < g->n; i++) {
    const nnc_node *n = &g->nodes[i];
    if (n->dead || n->op != NNC_OP_PARAM) continue;
    nnc_param_info *p = &prog->params[n->params.index];
    nnc_strlcpy(p->name, n->label, sizeof p->name);
    p->shape = n->shape;
    p->count = shape_inner(&n->shape);
    p->offset = offset;
    p->trainable = 1;
    offset += p->count;
  }
  prog->params_floats = offset;
}

static const pass_row *find_pass(const char *name) {
  for (int i = 0; i < pass_table_len; i++)
    if (!strcmp(pass_table[i].name, name) && pass_table[i].run) return &pass_table[i];
  return NULL;
}

static void run_file(const char *name) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", IR_DIR, name);
  nnc_status st;
  size_t len;
  char *text = nnc_read_file(path, &len, &st);
  ck_assert_msg(text != NULL, "%s", st.message);
  char passes[256] = "", env[128] = "";
  nnc_spec_optimizer opt = {.kind = NNC_OPT_SGD,
                            .learning_rate = 0.01,
                            .rho = 0.9,
                            .epsilon = 1e-7,
                            .beta_1 = 0.9,
                            .beta_2 = 0.999};
  nnc_phase phase = NNC_PHASE_TRAIN;
  int constraint_param = -1;
  nnc_spec_constraint constraint = {0};
  const char *p = text;
  int line = 0;
  /* directives up to the first graph */
  while (*p && strncmp(p, "graph ", 6)) {
    size_t n = strcspn(p, "\n");
    char l[256];
    ck_assert_msg(n < sizeof l, "%s:%d: line too long", name, line + 1);
    memcpy(l, p, n);
    l[n] = '\0';
    line++;
    char kind[16];
    if (!strncmp(l, "run ", 4)) {
      nnc_strlcpy(passes, l + 4, sizeof passes);
    } else if (!strncmp(l, "env ", 4) && strchr(l, '=')) {
      nnc_strlcpy(env, l + 4, sizeof env);
    } else if (!strcmp(l, "phase infer")) {
      phase = NNC_PHASE_INFER;
    } else if (sscanf(l, "constraint %d %15s %lf", &constraint_param, kind,
                      &constraint.max_value) >= 2) {
      ck_assert_msg(!strcmp(kind, "non_neg") || !strcmp(kind, "max_norm"), "%s:%d: constraint",
                    name, line);
      constraint.kind = strcmp(kind, "non_neg") ? NNC_CONSTRAINT_MAX_NORM : NNC_CONSTRAINT_NON_NEG;
      constraint.n_axes = 1; /* axis 0 */
    } else if (sscanf(l, "optimizer %15s %lf %lf", kind, &opt.learning_rate, &opt.momentum) == 3) {
      ck_assert_msg(!strcmp(kind, "sgd"), "%s:%d: only sgd", name, line);
    } else {
      ck_assert_msg(l[0] == '\0' || l[0] == '#' || l[0] == ';', "%s:%d: unknown directive '%s'",
                    name, line, l);
    }
    p += n + (p[n] == '\n');
  }
  ck_assert_msg(passes[0], "%s: no 'run' line", name);
  nnc_graph g, want;
  const char *rest;
  ck_assert_msg(graph_parse(name, p, &rest, &line, &g, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(!strncmp(rest, "expect\n", 7), "%s:%d: expected 'expect'", name, line + 1);
  line++;
  ck_assert_msg(graph_parse(name, rest + 7, &rest, &line, &want, &st) == NNC_OK, "%s", st.message);

  nnc_program prog;
  make_program(&g, &prog);
  if (constraint_param >= 0) {
    ck_assert_msg(constraint_param < prog.n_params, "%s: no parameter %d", name, constraint_param);
    prog.params[constraint_param].constraint = constraint;
  }
  int *grads = calloc((size_t)prog.n_params + 1, sizeof *grads);
  pass_ctx c = {&g, &prog, phase, &opt, grads, 0, NULL, &st, 0};
  char *eq = strchr(env, '=');
  if (eq) *eq = '\0', setenv(env, eq + 1, 1);
  for (char *save = NULL, *pass = strtok_r(passes, ",", &save); pass;
       pass = strtok_r(NULL, ",", &save)) {
    const pass_row *row = find_pass(pass);
    ck_assert_msg(row != NULL, "%s: no pass '%s'", name, pass);
    ck_assert_msg(row->run(&c) == NNC_OK, "%s: %s: %s", name, pass, st.message);
  }
  if (eq) unsetenv(env);
  char *got = dump(&g), *expected = dump(&want);
  ck_assert_msg(!strcmp(got, expected), "%s: got\n%s\nexpected\n%s", name, got, expected);
  free(got);
  free(expected);
  free(grads);
  graph_free(&g);
  graph_free(&want);
  program_free(&prog);
  free(text);
}

static char **files;
static int n_files;

START_TEST(ir_file) {
  run_file(files[_i]);
}
END_TEST

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void) {
  DIR *d = opendir(IR_DIR);
  if (!d) {
    fprintf(stderr, "no %s\n", IR_DIR);
    return 1;
  }
  for (struct dirent *e; (e = readdir(d));) {
    size_t len = strlen(e->d_name);
    if (len < 4 || strcmp(e->d_name + len - 3, ".ir")) continue;
    files = realloc(files, (size_t)(n_files + 1) * sizeof *files);
    files[n_files++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(files, (size_t)n_files, sizeof *files, by_name);
  /* every pass of the table has at least one file named after it */
  for (int i = 0; i < pass_table_len; i++) {
    if (!pass_table[i].run) continue;
    int found = 0;
    for (int f = 0; f < n_files; f++)
      found |= !strncmp(files[f], pass_table[i].name, strlen(pass_table[i].name)) &&
               files[f][strlen(pass_table[i].name)] == '_';
    if (!found) {
      fprintf(stderr, "tests/ir: no test for the pass '%s'\n", pass_table[i].name);
      return 1;
    }
  }
  Suite *s = suite_create("ir");
  TCase *tc = tcase_create("ir");
  tcase_add_loop_test(tc, ir_file, 0, n_files);
  suite_add_tcase(s, tc);
  int rc = testutil_run(s);
  for (int i = 0; i < n_files; i++) free(files[i]);
  free(files);
  return rc;
}
