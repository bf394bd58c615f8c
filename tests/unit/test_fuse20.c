/* Session 20 (fuse): the schedule pass (compiler/passes/schedule.c).
 *
 * - Where the updates go: in the train graph of Input 19 -> Dense(40,
 *   relu) -> Dense(5) with Adam, every assign to a parameter is in the group
 *   of its gradient's matmul or reduction (the update is that group's
 *   epilogue) and the step scalars (powers of t) are in the first group;
 *   with NNC_FUSE_SCHEDULE=0 neither holds (the graph as the optimizer left
 *   it: the scalars between the last gradient and the updates), which shows
 *   the check can fail.
 * - The same bits: fits of that model with every optimizer and option of
 *   test_tile19's list, the pass on and off, at widths 4/8/16 in rotation
 *   and 1 or 2 threads (small steps split): the same history and weight
 *   bytes. The pass only moves nodes; a wrong move (an assign before a read
 *   of the old value) changes the weights.
 * - NNC_FUSE_ONE_ELEMENT (fuse.c): W2's model, Input 1 -> Dense(1) with SGD,
 *   has one group fewer (the bias update, [1] reading a [] value, joins the
 *   reduction's group) and fits the same bits at widths 4/8/16 on 1 and 2
 *   threads with it on and off (NNC_UPDATE_ON_TILE=1 too: the weight's
 *   update on the 1 x 1 product's tile).
 * tests/ir/schedule_*.ir and fuse_one_element.ir check the order and the
 * groups on hand-made graphs. Planted: the order check and the assign's
 * reads left out of a unit's place -> 19 of the 20 fits differ and
 * schedule_keeps_order.ir fails. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/compile.h"
#include "compiler/driver/timing.h"
#include "compiler/spec/spec.h"
#include "nnc.h"
#include "oracle_case.h"
#include "optimizer_cases.h"
#include "testutil.h"

enum { CASES = OPTIMIZER_CASES };
static const char *const widths[3] = {"4", "8", "16"};
enum { IN = 19, OUT = 5, ROWS = 13 };

static const char *model_json(int i) {
  static char cc[1024];
  snprintf(cc, sizeof cc, "{'optimizer': %s, 'loss': 'mse'}", optimizer_cases[i].optimizer);
  return testutil_sequential(
      "19",
      "{'class_name': 'Dense', 'config': {'name': 'd0', 'units': 40, 'activation': 'relu'}}, "
      "{'class_name': 'Dense', 'config': {'name': 'd1', 'units': 5}}",
      cc);
}

/* The train graph after the passes, with NNC_FUSE_SCHEDULE=sched (emit only). */
static void train_graph(const char *json, const char *sched, nnc_compiled *c) {
  setenv("NNC_FUSE_SCHEDULE", sched, 1);
  nnc_spec spec;
  nnc_status st;
  ck_assert_msg(nnc_spec_parse_string(json, "t.json", &spec, &st) == NNC_OK, "%s", st.message);
  nnc_timing timing;
  memset(&timing, 0, sizeof timing);
  nnc_compile_options opts;
  memset(&opts, 0, sizeof opts);
  opts.timing = &timing, opts.emit_only = 1;
  ck_assert_msg(nnc_compile_spec(&spec, NULL, &opts, c, &st) == NNC_OK, "%s", st.message);
  nnc_spec_free(&spec);
  unsetenv("NNC_FUSE_SCHEDULE");
  ck_assert(c->has_graph[NNC_GRAPH_TRAIN]);
}

/* assigns to a parameter whose group holds no matmul or reduction */
static int lone_updates(const nnc_graph *g) {
  int lone = 0;
  for (int i = 0; i < g->n; i++) {
    const nnc_node *n = &g->nodes[i];
    if (n->dead || n->op != NNC_OP_ASSIGN || g->nodes[n->in[0]].op != NNC_OP_PARAM) continue;
    int anchored = 0;
    for (int j = 0; j < g->n; j++) {
      nnc_op_class k = op_class(g->nodes[j].op);
      anchored |= g->nodes[j].group == n->group && (k == NNC_CLASS_MATMUL || k == NNC_CLASS_REDUCE);
    }
    lone += !anchored;
  }
  return lone;
}

/* powers (the step scalars) outside the first group */
static int late_scalars(const nnc_graph *g) {
  int late = 0;
  for (int i = 0; i < g->n; i++) {
    const nnc_node *n = &g->nodes[i];
    late += !n->dead && n->op == NNC_OP_BINARY && n->fn == NNC_BIN_POW && n->group != 0;
  }
  return late;
}

START_TEST(updates_join_their_gradients) {
  setenv("NNC_CACHE", "0", 1);
  const char *json = model_json(6); /* Adam */
  nnc_compiled on, off;
  train_graph(json, "1", &on);
  train_graph(json, "0", &off);
  const nnc_graph *a = &on.graphs[NNC_GRAPH_TRAIN], *b = &off.graphs[NNC_GRAPH_TRAIN];
  ck_assert_msg(lone_updates(a) == 0, "%d updates in a group of their own", lone_updates(a));
  ck_assert_msg(late_scalars(a) == 0, "%d powers of t after the first group", late_scalars(a));
  ck_assert_msg(lone_updates(b) == 4 && late_scalars(b) == 2,
                "NNC_FUSE_SCHEDULE=0: %d lone updates, %d late powers: the pass ran?",
                lone_updates(b), late_scalars(b));
  ck_assert_msg(a->n_groups + 4 <= b->n_groups, "%d groups, %d without the pass", a->n_groups,
                b->n_groups);
  nnc_compiled_free(&on);
  nnc_compiled_free(&off);
  unsetenv("NNC_CACHE");
}
END_TEST

static void fit_with(const char *json, const char *sched, int threads, fit_run *out) {
  static float xs[ROWS * IN], ys[ROWS * OUT];
  fill_uniform(xs, (int64_t)ROWS * IN, 19);
  fill_uniform(ys, (int64_t)ROWS * OUT, 20);
  nnc_array x = testutil_f32(xs, ROWS, IN), y = testutil_f32(ys, ROWS, OUT);
  setenv("NNC_FUSE_SCHEDULE", sched, 1);
  memset(out, 0, sizeof *out);
  fit_run_fit_threads(json, "t.json", &x, &y, 3, 4, threads, out);
  unsetenv("NNC_FUSE_SCHEDULE");
}

START_TEST(every_optimizer_same_bits) {
  int i = _i;
  setenv("NNC_CACHE", "0", 1);
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1);
  setenv("NNC_VECTOR_WIDTH", widths[i % 3], 1);
  const char *json = model_json(i);
  int threads = 1 + i % 2;
  char what[1400];
  snprintf(what, sizeof what, "width %s, %d threads: %s", widths[i % 3], threads,
           optimizer_cases[i].optimizer);
  fit_run a, b;
  fit_with(json, "1", threads, &a);
  fit_with(json, "0", threads, &b);
  fit_run_same(&a, &b, what);
  fit_run_free(&a);
  fit_run_free(&b);
  unsetenv("NNC_VECTOR_WIDTH");
  unsetenv("NNC_SPLIT_SMALL_STEPS");
  unsetenv("NNC_CACHE");
}
END_TEST

static const char *w2_json(void) {
  return testutil_sequential(
      "1", "{'class_name': 'Dense', 'config': {'name': 'dense', 'units': 1}}",
      "{'optimizer': {'class_name': 'SGD', 'config': {'learning_rate': 0.1}}, 'loss': 'mse'}");
}

static int groups_one_element(const char *on) {
  setenv("NNC_FUSE_ONE_ELEMENT", on, 1);
  nnc_compiled c;
  train_graph(w2_json(), "0", &c);
  unsetenv("NNC_FUSE_ONE_ELEMENT");
  int n = c.graphs[NNC_GRAPH_TRAIN].n_groups;
  nnc_compiled_free(&c);
  return n;
}

START_TEST(one_element_groups) {
  setenv("NNC_CACHE", "0", 1);
  int on = groups_one_element("1"), off = groups_one_element("0");
  ck_assert_msg(on == off - 1, "W2's train graph: %d groups, %d with NNC_FUSE_ONE_ELEMENT=0", on,
                off);
  unsetenv("NNC_CACHE");
}
END_TEST

static void fit_one(const char *on, int threads, fit_run *out) {
  static float xs[ROWS], ys[ROWS];
  fill_uniform(xs, ROWS, 21);
  for (int i = 0; i < ROWS; i++) ys[i] = 0.6f * xs[i] + 0.8f;
  nnc_array x = testutil_f32(xs, ROWS, 1), y = testutil_f32(ys, ROWS, 1);
  setenv("NNC_FUSE_ONE_ELEMENT", on, 1);
  memset(out, 0, sizeof *out);
  fit_run_fit_threads(w2_json(), "t.json", &x, &y, 3, 4, threads, out);
  unsetenv("NNC_FUSE_ONE_ELEMENT");
}

START_TEST(one_element_same_bits) {
  setenv("NNC_CACHE", "0", 1);
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1);
  setenv("NNC_VECTOR_WIDTH", widths[_i % 3], 1);
  if (_i >= 3) setenv("NNC_UPDATE_ON_TILE", "1", 1);
  char what[64];
  snprintf(what, sizeof what, "W2, width %s, %d threads%s", widths[_i % 3], 1 + _i % 2,
           _i >= 3 ? ", update on the tile" : "");
  fit_run a, b;
  fit_one("1", 1 + _i % 2, &a);
  fit_one("0", 1 + _i % 2, &b);
  fit_run_same(&a, &b, what);
  fit_run_free(&a);
  fit_run_free(&b);
  unsetenv("NNC_UPDATE_ON_TILE");
  unsetenv("NNC_VECTOR_WIDTH");
  unsetenv("NNC_SPLIT_SMALL_STEPS");
  unsetenv("NNC_CACHE");
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("fuse20");
  TCase *tc = tcase_create("schedule");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, updates_join_their_gradients);
  tcase_add_loop_test(tc, every_optimizer_same_bits, 0, CASES);
  tcase_add_test(tc, one_element_groups);
  tcase_add_loop_test(tc, one_element_same_bits, 0, 6);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return testutil_run(suite());
}
