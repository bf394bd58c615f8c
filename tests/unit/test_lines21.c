/* Buffers on cache lines (compiler/passes/plan.c, base/alloc.c): the
 * kernels split weight-shaped products among threads by column strips of
 * whole 64-byte lines, so a line must never hold two threads' columns.
 * Checked on a model whose first layer's weight gradient (1001 x 64) would
 * otherwise sit at an offset of 4 bytes past a line (W3's, which ran 6.5x
 * slower on two threads than on one: docs/performance.md, "Session 21"):
 * - every fixed-region buffer of every compiled graph starts on a line;
 * - a built and trained model's params, slots, fixed and batch regions do
 *   too, also after the batch region grows for larger batches;
 * - a train step on one and two threads gives the same weights bit for bit
 *   (the layout moves buffers, never changes an operation);
 * - every weight and optimizer slot starts on a line too (session 23): a
 *   Dense(10)'s bias would leave the next layer's kernel 40 bytes off one.
 *   Offsets derived by hand for Input(7) -> Dense(10) -> Dense(32) with Adam;
 *   the padding between them stays zero through training. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/compile.h"
#include "compiler/spec/spec.h"
#include "runtime/model.h"
#include "base/base.h"
#include "testutil.h"

static const char *w3_like(void) {
  return testutil_sequential(
      "1001",
      "{'class_name':'Dense','config':{'name':'d0','units':64,'activation':'relu'}},"
      "{'class_name':'Dropout','config':{'rate':0.05,'seed':3}},"
      "{'class_name':'Dense','config':{'name':'d1','units':3}},"
      "{'class_name':'Dense','config':{'name':'d2','units':1}}",
      "{'optimizer':{'class_name':'RMSprop','config':{'learning_rate':0.0005}},'loss':'mse'}");
}

START_TEST(fixed_buffers_on_lines) {
  nnc_spec spec;
  nnc_status st;
  ck_assert_msg(nnc_spec_parse_string(w3_like(), "m.json", &spec, &st) == NNC_OK, "%s", st.message);
  nnc_compile_options opts;
  memset(&opts, 0, sizeof opts);
  opts.no_jit = 1;
  nnc_compiled c;
  ck_assert_msg(nnc_compile_spec(&spec, NULL, &opts, &c, &st) == NNC_OK, "%s", st.message);
  int fixed = 0;
  for (int g = 0; g < NNC_GRAPH_COUNT; g++) {
    if (!c.has_graph[g]) continue;
    const nnc_graph *gr = &c.graphs[g];
    for (int i = 0; i < gr->n; i++) {
      if (gr->nodes[i].region != NNC_REGION_FIXED) continue;
      fixed++;
      ck_assert_msg(gr->nodes[i].offset % (NNC_LINE / 4) == 0, "graph %d node %%%d at fixed+%lld",
                    g, i, (long long)gr->nodes[i].offset);
    }
  }
  ck_assert_int_gt(fixed, 5); /* the gradients, at least */
  nnc_compiled_free(&c);
  nnc_spec_free(&spec);
}
END_TEST

static void assert_on_line(const void *p, const char *what) {
  ck_assert_msg((uintptr_t)p % NNC_LINE == 0, "%s at %p", what, p);
}

static void train(nnc_model *m, int rows) {
  float *x = calloc((size_t)rows * 1001, sizeof *x), *y = calloc((size_t)rows, sizeof *y);
  for (int i = 0; i < rows * 1001; i++) x[i] = (float)((i * 7919) % 201 - 100) / 100.0f;
  for (int i = 0; i < rows; i++) y[i] = (float)(i % 5) / 4.0f;
  nnc_array xa = testutil_f32(x, rows, 1001), ya = testutil_f32(y, rows, 1);
  nnc_status st;
  TEST_LOGS(logs);
  ck_assert_msg(nnc_model_train_on_batch(m, &xa, &ya, &logs, &st) == NNC_OK, "%s", st.message);
  free(x);
  free(y);
}

START_TEST(regions_on_lines) {
  nnc_model *m = testutil_load(w3_like());
  for (int rows = 3; rows <= 96; rows *= 4) { /* 3, 12, 48: the batch region grows */
    train(m, rows);
    assert_on_line(m->params, "params");
    assert_on_line(m->slots, "slots");
    assert_on_line(m->fixed, "the fixed workspace");
    assert_on_line(m->batch, "the batch workspace");
  }
  nnc_model_free(m);
}
END_TEST

static void weights_after(int threads, float *out, int64_t n) {
  nnc_model *m = testutil_load(w3_like());
  nnc_status st;
  ck_assert_msg(nnc_model_set_threads(m, threads, &st) == NNC_OK, "%s", st.message);
  for (int i = 0; i < 3; i++) train(m, 64);
  ck_assert_int_eq(m->t->params_floats, n);
  memcpy(out, m->params, (size_t)n * sizeof *out);
  nnc_model_free(m);
}

START_TEST(same_weights_on_two_threads) {
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1); /* the step really splits */
  nnc_model *probe = testutil_load(w3_like());
  int64_t n = probe->t->params_floats;
  nnc_model_free(probe);
  float *one = malloc((size_t)n * sizeof *one), *two = malloc((size_t)n * sizeof *two);
  weights_after(1, one, n);
  weights_after(2, two, n);
  ck_assert_msg(!memcmp(one, two, (size_t)n * sizeof *one), "weights differ on two threads");
  free(one);
  free(two);
  unsetenv("NNC_SPLIT_SMALL_STEPS");
}
END_TEST

static const char *odd_sizes(void) {
  return testutil_sequential(
      "7",
      "{'class_name':'Dense','config':{'name':'a','units':10,'activation':'relu'}},"
      "{'class_name':'Dense','config':{'name':'b','units':32}}",
      "{'optimizer':{'class_name':'Adam','config':{'learning_rate':0.01}},'loss':'mse'}");
}

START_TEST(weights_and_slots_on_lines) {
  nnc_spec spec;
  nnc_status st;
  ck_assert_msg(nnc_spec_parse_string(odd_sizes(), "m.json", &spec, &st) == NNC_OK, "%s",
                st.message);
  nnc_compile_options opts;
  memset(&opts, 0, sizeof opts);
  opts.no_jit = 1;
  nnc_compiled c;
  ck_assert_msg(nnc_compile_spec(&spec, NULL, &opts, &c, &st) == NNC_OK, "%s", st.message);
  /* a/kernel 7x10 = 70 floats at 0; a/bias 10 at 80 (70 up to a line of
   * 16); b/kernel 10x32 = 320 at 96; b/bias 32 at 416; 448 in all */
  const char *names[] = {"a/kernel", "a/bias", "b/kernel", "b/bias"};
  const int64_t offsets[] = {0, 80, 96, 416}, counts[] = {70, 10, 320, 32};
  ck_assert_int_eq(c.prog.n_params, 4);
  for (int i = 0; i < 4; i++) {
    ck_assert_str_eq(c.prog.params[i].name, names[i]);
    ck_assert_int_eq(c.prog.params[i].count, counts[i]);
    ck_assert_int_eq(c.prog.params[i].offset, offsets[i]);
  }
  ck_assert_int_eq(c.prog.params_floats, 448);
  /* Adam: two slots per weight (m, v) in the weights' order, plus its
   * iteration count; each on a line, none overlapping the one before */
  ck_assert_int_ge(c.prog.n_slots, 8);
  int64_t end = 0;
  for (int i = 0; i < c.prog.n_slots; i++) {
    const nnc_slot_info *s = &c.prog.slots[i];
    ck_assert_msg(s->offset % (NNC_LINE / 4) == 0, "%s at %lld", s->name, (long long)s->offset);
    ck_assert_msg(s->offset >= end, "%s overlaps the slot before", s->name);
    ck_assert_msg(s->offset - end < NNC_LINE / 4, "%s leaves a gap of a line", s->name);
    end = s->offset + s->count;
  }
  ck_assert_int_eq(c.prog.slots_floats, end);
  nnc_compiled_free(&c);
  nnc_spec_free(&spec);

  nnc_model *m = testutil_load(odd_sizes());
  float x[4 * 7], y[4 * 32];
  for (int i = 0; i < 4 * 7; i++) x[i] = (float)(i % 9) / 4.0f - 1.0f;
  for (int i = 0; i < 4 * 32; i++) y[i] = (float)(i % 5) / 5.0f;
  nnc_array xa = testutil_f32(x, 4, 7), ya = testutil_f32(y, 4, 32);
  TEST_LOGS(logs);
  for (int k = 0; k < 3; k++)
    ck_assert_msg(nnc_model_train_on_batch(m, &xa, &ya, &logs, &st) == NNC_OK, "%s", st.message);
  int moved = 0;
  for (int64_t e = 0; e < 448; e++) {
    int pad = (e >= 70 && e < 80) || (e >= 90 && e < 96);
    int bias = (e >= 80 && e < 90) || e >= 416; /* zeros at the start */
    if (pad) ck_assert_msg(m->params[e] == 0.0f, "padding float %lld written", (long long)e);
    moved += bias && m->params[e] != 0.0f;
  }
  ck_assert_int_gt(moved, 30); /* the biases at their offsets were trained */
  nnc_model_free(m);
}
END_TEST

int main(void) {
  Suite *s = suite_create("lines21");
  TCase *tc = tcase_create("lines21");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, fixed_buffers_on_lines);
  tcase_add_test(tc, regions_on_lines);
  tcase_add_test(tc, same_weights_on_two_threads);
  tcase_add_test(tc, weights_and_slots_on_lines);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
