/* Pictures (compiler/viz, compiler/graph/dump.c): the History reader, the
 * plot's ticks and SVG, the kernel each fused group runs (checked against a
 * compile with one function per group, NNC_KERNEL_SHARING=0), the roles
 * that colour the DOT and HTML dumps, and what those dumps hold. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "compiler/compile.h"
#include "compiler/spec/spec.h"
#include "compiler/viz/kernels.h"
#include "compiler/viz/model_dump.h"
#include "compiler/viz/plot.h"
#include "testutil.h"

static int count(const char *s, const char *what) {
  int n = 0;
  for (const char *p = s; (p = strstr(p, what)); p += strlen(what)) n++;
  return n;
}

/* text has a line "define ... @name(...": the function's IR. */
static int has_define(const char *text, const char *name) {
  char want[128];
  snprintf(want, sizeof want, "@%s(", name);
  for (const char *p = text; (p = strstr(p, "define ")); p++) {
    const char *eol = strchr(p + 1, '\n'), *at = strstr(p, want);
    if (at && eol && at < eol) return 1;
  }
  return 0;
}

/* ---- ticks (hand-derived) ---- */

START_TEST(ticks_are_one_two_five_steps) {
  double t[16], step;
  int n = viz_nice_ticks(0, 1, 6, t, 16, &step);
  ck_assert_int_eq(n, 6); /* raw step 0.2: 0, 0.2, .. 1 */
  ck_assert(fabs(step - 0.2) < 1e-15);
  for (int i = 0; i < n; i++) ck_assert(fabs(t[i] - 0.2 * i) < 1e-12);
  n = viz_nice_ticks(0.013, 0.087, 6, t, 16, &step); /* raw 0.0148 -> 0.02 */
  ck_assert(fabs(step - 0.02) < 1e-15);
  ck_assert_int_eq(n, 4);
  ck_assert(fabs(t[0] - 0.02) < 1e-12 && fabs(t[3] - 0.08) < 1e-12);
  n = viz_nice_ticks(-3, 7, 6, t, 16, &step); /* raw 2 */
  ck_assert(step == 2 && n == 5 && t[0] == -2 && t[1] == 0 && t[4] == 6);
  n = viz_nice_ticks(1e-30, 3e-30, 6, t, 16, &step); /* raw 4e-31 -> 5e-31 */
  ck_assert(fabs(step / 5e-31 - 1) < 1e-12);
  ck_assert_int_eq(n, 5);
  n = viz_nice_ticks(2e8, 9e8, 5, t, 16, &step); /* raw 1.75e8 -> 2e8 */
  ck_assert(step == 2e8 && n == 4 && t[3] == 8e8);
  ck_assert_int_eq(viz_nice_ticks(1, 1, 6, t, 16, &step), 0);           /* an empty range: none */
  ck_assert_int_eq(viz_nice_ticks(5e-324, 1e-323, 6, t, 16, &step), 0); /* subnormal step */
}
END_TEST

START_TEST(tick_labels_have_the_digits_the_step_needs) {
  char b[64];
  viz_tick_label(0.25, 0.05, b, sizeof b);
  ck_assert_str_eq(b, "0.25");
  viz_tick_label(0.2, 0.2, b, sizeof b);
  ck_assert_str_eq(b, "0.2");
  viz_tick_label(40, 20, b, sizeof b);
  ck_assert_str_eq(b, "40");
  viz_tick_label(0, 0.5, b, sizeof b);
  ck_assert_str_eq(b, "0");
  viz_tick_label(1.5e6, 5e5, b, sizeof b);
  ck_assert_str_eq(b, "1.5e+06");
  viz_tick_label(2e-30, 5e-31, b, sizeof b);
  ck_assert_str_eq(b, "2.0e-30");
}
END_TEST

/* ---- the History reader ---- */

static int parse(const char *text, viz_history *h, nnc_status *st) {
  memset(st, 0, sizeof *st);
  return viz_history_parse(text, strlen(text), "h.json", h, st);
}

START_TEST(history_formats) {
  viz_history h;
  nnc_status st;
  /* nnc fit --history: null for non-finite */
  ck_assert_int_eq(parse("{\"loss\": [0.5, null, 0.25], \"val_loss\": [0.6, 0.5, 0.4]}", &h, &st),
                   0);
  ck_assert_int_eq(h.n_series, 2);
  ck_assert_str_eq(h.s[0].name, "loss");
  ck_assert(h.s[0].n == 3 && h.s[0].v[0] == 0.5 && isnan(h.s[0].v[1]) && h.s[0].v[2] == 0.25);
  viz_history_free(&h);
  /* Keras's json.dumps: NaN and Infinity literals, never inside strings */
  ck_assert_int_eq(
      parse("{\"loss\": [NaN, Infinity, -Infinity, 1e-3],\n \"NaN Infinity\": [1]}", &h, &st), 0);
  ck_assert(isnan(h.s[0].v[0]) && isnan(h.s[0].v[1]) && isnan(h.s[0].v[2]));
  ck_assert(h.s[0].v[3] == 1e-3);
  ck_assert_str_eq(h.s[1].name, "NaN Infinity");
  viz_history_free(&h);
  /* the History object's dict: {"history": {...}, "epoch": [...], "params": {...}} */
  ck_assert_int_eq(
      parse("{\"epoch\": [0, 1], \"params\": {\"epochs\": 2}, \"history\": {\"loss\": [2, 1]}}", &h,
            &st),
      0);
  ck_assert(h.n_series == 1 && h.s[0].v[1] == 1);
  viz_history_free(&h);
}
END_TEST

START_TEST(history_errors_name_file_and_path) {
  viz_history h;
  nnc_status st;
  ck_assert_int_eq(parse("{\"loss\": [0.5, \"x\"]}", &h, &st), NNC_ERR_DATA);
  ck_assert_msg(
      strstr(st.message, "h.json: $[\"loss\"][1]: expected a number or null, got a string"), "%s",
      st.message);
  ck_assert_int_eq(parse("{\"loss\": [0.5,\n  ]}", &h, &st), NNC_ERR_DATA);
  ck_assert_msg(strstr(st.message, "h.json:2:3: not valid JSON"), "%s", st.message);
  ck_assert_int_eq(parse("[1, 2]", &h, &st), NNC_ERR_DATA);
  ck_assert_msg(strstr(st.message, "h.json: $: expected a History dict"), "%s", st.message);
  ck_assert_int_eq(parse("{\"loss\": []}", &h, &st), NNC_ERR_DATA);
  ck_assert_msg(strstr(st.message, "expected at least one epoch"), "%s", st.message);
  ck_assert_int_eq(parse("{\"loss\": 3}", &h, &st), NNC_ERR_DATA);
  ck_assert_msg(strstr(st.message, "$[\"loss\"]: expected an array of numbers, got a number"), "%s",
                st.message);
  ck_assert_int_eq(parse("{}", &h, &st), NNC_ERR_DATA);
  ck_assert_int_eq(parse("", &h, &st), NNC_ERR_DATA);
}
END_TEST

/* ---- the SVG ---- */

static char *svg_of(const char *json, const char *metrics, nnc_status *st) {
  viz_history h;
  ck_assert_msg(parse(json, &h, st) == 0, "%s", st->message);
  viz_plot_options o = {"run <1> & \"co\"", metrics};
  char *svg = NULL;
  size_t len = 0;
  int rc = viz_plot_svg(&h, &o, &svg, &len, st);
  viz_history_free(&h);
  if (rc) return NULL;
  ck_assert_uint_eq(strlen(svg), len);
  return svg;
}

START_TEST(svg_panels_series_and_gaps) {
  nnc_status st;
  char *svg = svg_of("{\"accuracy\": [0.5, 0.7, 0.8], \"loss\": [1.0, NaN, 0.6], "
                     "\"val_accuracy\": [0.4, 0.6, 0.7], \"val_loss\": [1.1, 0.9, 0.8], "
                     "\"learning_rate\": [0.01, 0.01, 0.001]}",
                     NULL, &st);
  ck_assert_msg(svg, "%s", st.message);
  ck_assert_int_eq(count(svg, "class=\"panel\""), 3); /* loss, accuracy, learning rate */
  /* loss first although the file lists accuracy first */
  ck_assert(strstr(svg, ">loss</text>") < strstr(svg, ">accuracy</text>"));
  ck_assert_ptr_nonnull(strstr(svg, ">val_loss</text>"));
  ck_assert_ptr_nonnull(strstr(svg, ">val_accuracy</text>"));
  ck_assert_int_eq(count(svg, "class=\"xlabel\">epoch</text>"), 3);
  ck_assert_ptr_nonnull(strstr(svg, "run &lt;1&gt; &amp; &quot;co&quot;")); /* the title, escaped */
  ck_assert_int_eq(count(svg, "stroke-dasharray=\"6 4\" d="), 2);           /* validation dashed */
  /* loss has a gap at epoch 2: its path is two pieces (two M) */
  const char *loss_path = strstr(strstr(svg, "id=\"panel-0\""), "<path");
  const char *end = strstr(loss_path, "/>");
  int moves = 0;
  for (const char *p = loss_path; p < end; p++) moves += *p == 'M';
  ck_assert_int_eq(moves, 2);
  ck_assert_ptr_nonnull(strstr(svg, "gaps: NaN or inf"));
  /* the learning rate on a log scale from 1e-3 to 1e-2 */
  ck_assert_ptr_nonnull(strstr(svg, "(log scale)"));
  ck_assert_ptr_nonnull(strstr(svg, ">0.001</text>"));
  ck_assert_ptr_nonnull(strstr(svg, ">0.01</text>"));
  /* the accuracy panel's ticks cover 0.4 .. 0.8 in steps of 0.1 */
  const char *acc = strstr(svg, "id=\"panel-1\"");
  ck_assert_ptr_nonnull(strstr(acc, "class=\"ytick\">0.4</text>"));
  ck_assert_ptr_nonnull(strstr(acc, "class=\"ytick\">0.8</text>"));
  free(svg);
}
END_TEST

START_TEST(svg_one_epoch_constant_and_extremes) {
  nnc_status st;
  char *svg = svg_of("{\"loss\": [2.5]}", NULL, &st);
  ck_assert_msg(svg, "%s", st.message);
  ck_assert_int_eq(count(svg, "<circle"), 1); /* one epoch: a marker, no line to see */
  ck_assert_ptr_nonnull(strstr(svg, "class=\"xtick\">1</text>"));
  ck_assert_ptr_nonnull(strstr(svg, "class=\"ytick\">2.5</text>")); /* a band around 2.5 */
  free(svg);
  svg = svg_of("{\"loss\": [3e-30, 1e-30, 2e-30], \"huge\": [1e300, -1e300]}", NULL, &st);
  ck_assert_msg(svg, "%s", st.message);
  ck_assert_ptr_nonnull(strstr(svg, ">2.0e-30</text>"));
  ck_assert_ptr_nonnull(strstr(svg, ">-5e+299</text>"));
  ck_assert_int_eq(count(svg, "nan"), 0);
  ck_assert_int_eq(count(svg, "inf\""), 0);
  free(svg);
  svg = svg_of("{\"loss\": [null, null]}", NULL, &st); /* nothing finite: said, no crash */
  ck_assert_ptr_nonnull(strstr(svg, "no finite values"));
  free(svg);
  /* subnormal values (a span ticks cannot count in): a band, no NaN coordinates */
  svg = svg_of("{\"loss\": [5e-324, 1e-323]}", NULL, &st);
  ck_assert_msg(svg, "%s", st.message);
  ck_assert_int_eq(count(svg, "nan"), 0);
  ck_assert_int_ge(count(svg, "class=\"ytick\""), 2);
  free(svg);
  /* finite values whose span overflows a double: said as such */
  svg = svg_of("{\"loss\": [1e308, -1e308]}", NULL, &st);
  ck_assert_msg(svg, "%s", st.message);
  ck_assert_ptr_nonnull(strstr(svg, "values too far apart to draw"));
  ck_assert_int_eq(count(svg, "nan"), 0);
  free(svg);
  /* --metrics: a subset in its order; an unknown name lists what there is */
  svg = svg_of("{\"loss\": [1, 2], \"mae\": [3, 4], \"mse\": [5, 6]}", "mse,loss", &st);
  ck_assert_int_eq(count(svg, "class=\"panel\""), 2);
  ck_assert(strstr(svg, ">mse</text>") < strstr(svg, ">loss</text>"));
  free(svg);
  ck_assert_ptr_null(svg_of("{\"loss\": [1, 2]}", "los", &st));
  ck_assert_msg(strstr(st.message, "--metrics: no quantity 'los' in the history (it has: loss)"),
                "%s", st.message);
}
END_TEST

/* ---- kernels of a compiled model ---- */

/* 3 identical Dense(8)+ReLU blocks (their kernels are shared), softmax,
 * accuracy, Adam. */
static const char *model_json(void) {
  return testutil_sequential(
      "8",
      "{'class_name': 'Dense', 'config': {'name': 'd0', 'units': 8, 'activation': 'relu'}},"
      "{'class_name': 'Dense', 'config': {'name': 'd1', 'units': 8, 'activation': 'relu'}},"
      "{'class_name': 'Dense', 'config': {'name': 'd2', 'units': 8, 'activation': 'relu'}},"
      "{'class_name': 'Dense', 'config': {'name': 'head', 'units': 4, 'activation': 'softmax'}}",
      "{'optimizer': 'adam', 'loss': 'sparse_categorical_crossentropy', 'metrics': "
      "['accuracy']}");
}

/* The model compiled with the IR before and after O3 written and indexed
 * (pre may be NULL). */
static void compile_with_ir(const char *sharing, nnc_spec *spec, nnc_compiled *c, viz_ir *post,
                            viz_ir *pre) {
  setenv("NNC_KERNEL_SHARING", sharing, 1);
  nnc_status st = {0};
  ck_assert_msg(nnc_spec_parse_string(model_json(), "m.json", spec, &st) == 0, "%s", st.message);
  char path[2][512];
  for (int k = 0; k < 2; k++)
    snprintf(path[k], sizeof path[k], "%s/viz13_%s_%d.ll", testutil_tmpdir(), sharing, k);
  nnc_compile_options opts;
  memset(&opts, 0, sizeof opts);
  opts.dump_ir_post = path[0];
  opts.dump_ir_pre = pre ? path[1] : NULL;
  opts.no_cache = 1;
  ck_assert_msg(nnc_compile_spec(spec, NULL, &opts, c, &st) == 0, "%s", st.message);
  unsetenv("NNC_KERNEL_SHARING");
  for (int k = 0; k < (pre ? 2 : 1); k++) {
    char *text = nnc_read_file(path[k], NULL, &st);
    ck_assert_ptr_nonnull(text);
    ck_assert_int_eq(viz_ir_index(text, k ? pre : post, &st), 0);
    remove(path[k]);
  }
}

/* A function's body (after its define line), with attribute-group numbers
 * (#N, module-specific) removed: malloc'ed. */
static char *body_of(const viz_ir_fn *f) {
  const char *b = memchr(f->text, '\n', f->len);
  size_t n = f->len - (size_t)(b - f->text);
  char *out = malloc(n + 1);
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    /* attribute groups (#3) and metadata (!7, a row op's !llvm.loop) are
     * numbered per module: their numbers are dropped */
    if ((b[i] == '#' || b[i] == '!') && i + 1 < n && b[i + 1] >= '0' && b[i + 1] <= '9') {
      while (i + 1 < n && b[i + 1] >= '0' && b[i + 1] <= '9') i++;
      continue;
    }
    out[o++] = b[i];
  }
  out[o] = '\0';
  return out;
}

/* Which function each group calls, read from the post-O3 IR, against the
 * truth of a compile with one function per group (NNC_KERNEL_SHARING=0):
 * before O3 (where both modules hold the code as emitted), the function a
 * group is said to call has the code of the group's own copy. */
START_TEST(each_group_names_the_function_it_calls) {
  nnc_spec spec_one, spec_shared;
  nnc_compiled one, shared;
  viz_ir post_one, pre_one, post_shared, pre_shared;
  compile_with_ir("0", &spec_one, &one, &post_one, &pre_one);
  compile_with_ir("1", &spec_shared, &shared, &post_shared, &pre_shared);
  int shared_groups = 0;
  for (int gi = 0; gi < NNC_GRAPH_COUNT; gi++) {
    const nnc_graph *g1 = &one.graphs[gi], *gs = &shared.graphs[gi];
    ck_assert(one.has_graph[gi] && shared.has_graph[gi]);
    ck_assert_int_eq(g1->n_groups, gs->n_groups);
    size_t size = ((size_t)g1->n_groups + 1) * VIZ_KERNEL_NAME;
    char(*n1)[VIZ_KERNEL_NAME] = calloc(1, size), (*ns)[VIZ_KERNEL_NAME] = calloc(1, size);
    char(*ns_pre)[VIZ_KERNEL_NAME] = calloc(1, size);
    ck_assert_int_eq(viz_kernel_names(g1, &post_one, n1), 1);
    ck_assert_int_eq(viz_kernel_names(gs, &post_shared, ns), 1);
    ck_assert_int_eq(viz_kernel_names(gs, &pre_shared, ns_pre), 1);
    for (int k = 0; k < g1->n_groups; k++) {
      /* one function per group: the group's own "<graph>_g<k>_<op>" */
      char own[VIZ_KERNEL_NAME];
      snprintf(own, sizeof own, "%s_g%d_", g1->name, k);
      ck_assert_msg(!strncmp(n1[k], own, strlen(own)), "%s group %d: %s", g1->name, k, n1[k]);
      /* the calls after O3 name what the calls before O3 name */
      ck_assert_str_eq(ns[k], ns_pre[k]);
      ck_assert_msg(viz_ir_find(&post_shared, ns[k], strlen(ns[k])), "%s not defined", ns[k]);
      const viz_ir_fn *f1 = viz_ir_find(&pre_one, n1[k], strlen(n1[k]));
      const viz_ir_fn *fs = viz_ir_find(&pre_shared, ns[k], strlen(ns[k]));
      ck_assert_msg(f1 && fs, "%s group %d: %s / %s not defined", g1->name, k, n1[k], ns[k]);
      char *b1 = body_of(f1), *bs = body_of(fs);
      ck_assert_msg(!strcmp(b1, bs), "%s group %d: %s differs from %s", g1->name, k, ns[k], n1[k]);
      free(b1);
      free(bs);
      shared_groups += strcmp(n1[k], ns[k]) != 0;
    }
    free(n1);
    free(ns);
    free(ns_pre);
  }
  ck_assert_msg(shared_groups >= 3, "only %d groups call another group's kernel", shared_groups);
  /* without IR: the groups' own names */
  char(*plain)[VIZ_KERNEL_NAME] = calloc((size_t)shared.graphs[1].n_groups + 1, sizeof *plain);
  ck_assert_int_eq(viz_kernel_names(&shared.graphs[1], NULL, plain), 0);
  ck_assert_str_eq(plain[0], "test_g0_matmul");
  free(plain);
  viz_ir *irs[] = {&post_one, &pre_one, &post_shared, &pre_shared};
  for (int k = 0; k < 4; k++) viz_ir_free(irs[k]);
  nnc_compiled_free(&one);
  nnc_compiled_free(&shared);
  nnc_spec_free(&spec_one);
  nnc_spec_free(&spec_shared);
}
END_TEST

START_TEST(roles_and_dumps) {
  nnc_spec spec;
  nnc_compiled c;
  viz_ir ir;
  compile_with_ir("1", &spec, &c, &ir, NULL);
  const nnc_graph *g = &c.graphs[NNC_GRAPH_TRAIN];
  nnc_role *role = calloc((size_t)g->n, sizeof *role);
  graph_node_roles(g, role);
  int seen[NNC_ROLE_COUNT] = {0};
  for (int i = 0; i < g->n; i++) {
    const nnc_node *n = &g->nodes[i];
    if (n->dead) continue;
    seen[role[i]]++;
    if (!strncmp(n->label, "grad ", 5)) ck_assert_int_eq(role[i], NNC_ROLE_BACKWARD);
    if (n->flags & NNC_NODE_UPDATE) ck_assert_int_eq(role[i], NNC_ROLE_UPDATE);
    if (n->op == NNC_OP_STAT || n->op == NNC_OP_ARGMAX) ck_assert_int_eq(role[i], NNC_ROLE_METRICS);
    if (!strcmp(n->label, "d0/matmul")) ck_assert_int_eq(role[i], NNC_ROLE_FORWARD);
    if (i == g->loss) ck_assert_int_eq(role[i], NNC_ROLE_FORWARD);
  }
  for (int r = 0; r < NNC_ROLE_COUNT; r++)
    ck_assert_msg(seen[r] > 0, "no %s node", graph_role_name(r));
  free(role);

  char *text = NULL;
  size_t len = 0;
  nnc_status st = {0};
  FILE *f = open_memstream(&text, &len);
  ck_assert_int_eq(viz_dump_dot(&c, 0, &ir, f, &st), 0);
  fclose(f);
  int groups = 0;
  for (int gi = 0; gi < NNC_GRAPH_COUNT; gi++) groups += c.graphs[gi].n_groups;
  ck_assert_int_eq(count(text, "subgraph cluster_train_g") +
                       count(text, "subgraph cluster_test_g") +
                       count(text, "subgraph cluster_predict_g"),
                   groups);
  ck_assert_int_eq(count(text, "digraph "), 1);
  /* session 14: test's d0 group (bias + relu on the tile, relu' reading the
   * output) is train's kernel now, shared; the loss groups are test's own */
  ck_assert_ptr_nonnull(strstr(text, "label=\"train_g0_matmul\""));
  ck_assert_ptr_nonnull(strstr(text, "label=\"test_g"));
  ck_assert_ptr_nonnull(strstr(text, "legend_backward"));
  ck_assert_ptr_nonnull(strstr(text, "\\nd2/matmul\""));
  free(text);

  f = open_memstream(&text, &len);
  ck_assert_int_eq(viz_dump_html("m", &c, 0, &ir, f, &st), 0);
  fclose(f);
  const char *layers[] = {"d0", "d1", "d2", "head"};
  for (int k = 0; k < 4; k++) {
    char want[64];
    snprintf(want, sizeof want, "<summary><b>%s</b>", layers[k]);
    ck_assert_msg(strstr(text, want), "layer %s missing", layers[k]);
  }
  /* every kernel: a section with its define line */
  for (int gi = 0; gi < NNC_GRAPH_COUNT; gi++) {
    char(*names)[VIZ_KERNEL_NAME] = calloc((size_t)c.graphs[gi].n_groups + 1, sizeof *names);
    viz_kernel_names(&c.graphs[gi], &ir, names);
    for (int k = 0; k < c.graphs[gi].n_groups; k++) {
      char want[200];
      snprintf(want, sizeof want, "id=\"f-%s\"", names[k]);
      ck_assert_msg(strstr(text, want), "no section for %s", names[k]);
      ck_assert_msg(has_define(text, names[k]), "no define of %s", names[k]);
      snprintf(want, sizeof want, "href=\"#f-%s\"", names[k]);
      ck_assert_msg(strstr(text, want), "no op links to %s", names[k]);
    }
    free(names);
  }
  ck_assert_int_eq(count(text, "<script"), 1);
  ck_assert_int_eq(count(text, "http://") + count(text, "https://"), 0); /* nothing loaded */
  free(text);
  viz_ir_free(&ir);
  nnc_compiled_free(&c);
  nnc_spec_free(&spec);
}
END_TEST

int main(void) {
  Suite *s = suite_create("viz13");
  TCase *tc = tcase_create("viz");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, ticks_are_one_two_five_steps);
  tcase_add_test(tc, tick_labels_have_the_digits_the_step_needs);
  tcase_add_test(tc, history_formats);
  tcase_add_test(tc, history_errors_name_file_and_path);
  tcase_add_test(tc, svg_panels_series_and_gaps);
  tcase_add_test(tc, svg_one_epoch_constant_and_extremes);
  tcase_add_test(tc, each_group_names_the_function_it_calls);
  tcase_add_test(tc, roles_and_dumps);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
