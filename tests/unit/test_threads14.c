/* A small step runs on one thread, a large one on the pool (issue 9,
 * session 14). The table's parallel_rows is also the whole-step threshold
 * (compiler/driver/table.c: pool_rows): a step below 2^22 multiply-adds and
 * elements runs on the caller even where one of its groups would split;
 * from 2^22 to 2^24 (sure_rows) the runtime times it both ways (session 22:
 * the band's probes counted with the pool's jobs; fits in the band give the
 * same bits on 1, 2 and 3 threads whichever way each step ran).
 * Counted with the pool's counters, not timed. NNC_SPLIT_SMALL_STEPS=1 gives
 * the tests the per-group rule alone; bad values are refused. Fits above the
 * threshold give the same bits on 1, 2 and 3 threads. The driver skips the
 * barrier before a group that shares no written memory with the groups
 * since the last barrier (group_deps.c): checked on a hand-planned graph,
 * counted on a W4-wide step, and the fits above run with it. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "compiler/codegen/group_deps.h"
#include "runtime/model.h"
#include "runtime/pool.h"
#include "runtime/step_tuner.h"
#include "testutil.h"

/* Input(512) -> Dense(512) -> Dense(1), MSE, SGD */
static nnc_model *wide(int threads) {
  nnc_model *m = testutil_load(testutil_sequential(
      "512",
      "{'class_name': 'Dense', 'config': {'name': 'd0', 'units': 512, 'activation': 'relu'}}, "
      "{'class_name': 'Dense', 'config': {'name': 'd1', 'units': 1}}",
      "{'optimizer': {'class_name': 'SGD', 'config': {'learning_rate': 0.01}}, 'loss': 'mse'}"));
  nnc_status st;
  ck_assert_msg(nnc_model_set_threads(m, threads, &st) == NNC_OK, "%s", st.message);
  return m;
}

/* the pool's jobs for `calls` predicts of one step of `rows` rows */
static long predict_jobs_n(nnc_model *m, int64_t rows, int calls) {
  float *x = calloc((size_t)rows * 512, sizeof *x);
  nnc_array xa = testutil_f32(x, rows, 512), out;
  nnc_status st;
  long before = pool_jobs(m->pool);
  for (int k = 0; k < calls; k++) {
    ck_assert_msg(nnc_model_predict(m, &xa, rows, &out, &st) == NNC_OK, "%s", st.message);
    nnc_array_free(&out);
  }
  free(x);
  return pool_jobs(m->pool) - before;
}

static long predict_jobs(nnc_model *m, int64_t rows) {
  return predict_jobs_n(m, rows, 1);
}

/* The predict step's work per row is 512 x 512 multiply-adds of d0's GEMM
 * plus a few hundred (its bias and relu, d1's 512, d1's bias): the least
 * rows with rows x work >= 2^22 is 16 (15 x 262144 + 15 x 1024 < 2^22), the
 * least with >= 2^24 is 64 (63 x 262144 + 63 x 1024 < 2^24). From 16 rows
 * the step may run on the pool (timed: test_tuner22), from 64 it always
 * does; with the timing off, from 16. */
START_TEST(whole_step_threshold_is_the_boundary) {
  nnc_model *m = wide(2);
  int64_t p = m->t->entries[NNC_ENTRY_PREDICT].parallel_rows;
  int64_t sure = m->t->entries[NNC_ENTRY_PREDICT].sure_rows;
  ck_assert_int_eq(p, 16);
  ck_assert_int_eq(sure, 64);
  ck_assert_int_eq(predict_jobs(m, p - 1), 0);
  ck_assert_int_eq(predict_jobs(m, 1), 0);
  for (int k = 0; k < 3; k++) ck_assert_int_eq(predict_jobs(m, sure), 1);
  nnc_status st;
  ck_assert(nnc_model_set_thread_tuning(m, 0, &st) == NNC_OK);
  for (int k = 0; k < 3; k++) ck_assert_int_eq(predict_jobs(m, p), 1);
  ck_assert_int_eq(predict_jobs(m, p - 1), 0);
  nnc_model_free(m);
}
END_TEST

/* NNC_SPLIT_SMALL_STEPS=1: the pool from the per-group rule on (one row
 * of d0's GEMM is 262144 >= 32768 multiply-adds: any rows split), and no
 * timed band: every such step on the pool. */
START_TEST(switch_forces_the_pool) {
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1);
  nnc_model *m = wide(2);
  ck_assert_int_eq(m->t->entries[NNC_ENTRY_PREDICT].parallel_rows, 1);
  ck_assert_int_eq(m->t->entries[NNC_ENTRY_PREDICT].sure_rows, 1);
  for (int k = 0; k < 3; k++) ck_assert_int_eq(predict_jobs(m, 2), 1);
  nnc_model_free(m);
  setenv("NNC_SPLIT_SMALL_STEPS", "0", 1); /* 0: the default */
  m = wide(2);
  ck_assert_int_eq(m->t->entries[NNC_ENTRY_PREDICT].parallel_rows, 16);
  ck_assert_int_eq(predict_jobs(m, 2), 0);
  nnc_model_free(m);
}
END_TEST

START_TEST(switch_refuses_bad_values) {
  const char *bad[] = {"2", "yes", "-1", " 1", "10"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    setenv("NNC_SPLIT_SMALL_STEPS", bad[i], 1);
    nnc_status st;
    int rc = testutil_compile(testutil_sequential("4",
                                                  "{'class_name': 'Dense', 'config': "
                                                  "{'name': 'd', 'units': 2}}",
                                                  NULL),
                              NULL, &st);
    ck_assert_int_eq(rc, NNC_ERR_ARG);
    ck_assert_msg(strstr(st.message, "NNC_SPLIT_SMALL_STEPS") != NULL, "%s", st.message);
  }
  unsetenv("NNC_SPLIT_SMALL_STEPS");
}
END_TEST

/* Trains the model on 1, 2 and 3 threads, `batch` rows a step, and
 * compares the weights bit for bit; check(m, threads) after each fit. */
static void fits_agree(int n, int batch, int shuffle, void (*check)(nnc_model *, int)) {
  enum { IN = 512 };
  float *x = malloc(sizeof(float) * (size_t)n * IN), *y = malloc(sizeof(float) * (size_t)n);
  for (int i = 0; i < n * IN; i++) x[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
  for (int i = 0; i < n; i++) y[i] = (float)(i % 7) / 7.0f;
  nnc_array xa = testutil_f32(x, n, IN), ya = testutil_f32(y, n, 1);
  nnc_array ref[2];
  const char *names[2] = {"d0/kernel", "d1/kernel"};
  for (int threads = 1; threads <= 3; threads++) {
    nnc_model *m = wide(threads);
    nnc_fit_options o;
    nnc_fit_options_default(&o);
    o.epochs = 2, o.batch_size = batch, o.verbose = 0, o.shuffle = shuffle;
    nnc_history h;
    nnc_status st;
    ck_assert_msg(nnc_model_fit(m, &xa, &ya, &o, &h, &st) == NNC_OK, "%s", st.message);
    nnc_history_free(&h);
    check(m, threads);
    for (int k = 0; k < 2; k++) {
      nnc_array w;
      ck_assert(nnc_model_get_weight(m, names[k], &w, &st) == NNC_OK);
      if (threads == 1) {
        ref[k] = w;
        continue;
      }
      size_t bytes = (size_t)w.shape[0] * (size_t)w.shape[1] * sizeof(float);
      ck_assert_msg(!memcmp(w.data, ref[k].data, bytes), "%s differs on %d threads", names[k],
                    threads);
      nnc_array_free(&w);
    }
    nnc_model_free(m);
  }
  nnc_array_free(&ref[0]);
  nnc_array_free(&ref[1]);
  free(x);
  free(y);
}

/* 48-row steps are above sure_rows (training is about 2 x 262144 per row,
 * d0's forward GEMM and weight gradient: the band is 8 to 31 rows), the
 * last step of 4 rows below parallel_rows */
static void above_the_band(nnc_model *m, int threads) {
  const nnc_entry *e = &m->t->entries[NNC_ENTRY_TRAIN];
  ck_assert_int_eq(e->parallel_rows, 8);
  ck_assert_int_eq(e->sure_rows, 32);
  if (threads > 1) ck_assert_int_eq(pool_jobs(m->pool), 4); /* 2 of 3 steps per epoch */
}

/* A fit whose steps of 48 rows always run on the pool and whose last step
 * of 4 rows never does: the same bits on 1, 2 and 3 threads. */
START_TEST(fits_agree_on_1_2_3_threads) {
  fits_agree(100, 48, 0, above_the_band);
}
END_TEST

/* 16-row steps are in the band: the pool runs the first round's probes
 * (test_tuner22), then whichever way was faster */
static void in_the_band(nnc_model *m, int threads) {
  if (threads == 1) return;
  ck_assert_int_ge(m->tuners[NNC_ENTRY_TRAIN].rounds, 1);
  ck_assert_int_ge(pool_jobs(m->pool), STEP_TUNER_BLOCK);
}

/* A fit in the timed band (shuffled, 25 steps an epoch): the same bits on 1,
 * 2 and 3 threads whichever way each step ran. */
START_TEST(band_fits_agree_on_1_2_3_threads) {
  fits_agree(400, 16, 1, in_the_band);
}
END_TEST

/* In the band, the first round's STEP_TUNER_PROBES steps are a block on the
 * pool then a block on this thread, whatever the timings; below the band
 * none runs on the pool, above it all; with tuning off all in the band. */
START_TEST(band_probes_the_pool_then_one_thread) {
  nnc_model *m = wide(2);
  ck_assert_int_eq(predict_jobs_n(m, 15, 4), 0);
  ck_assert_int_eq(predict_jobs_n(m, 64, 4), 4);
  ck_assert_int_eq(m->tuners[NNC_ENTRY_PREDICT].probes, 0); /* neither was timed */
  ck_assert_int_eq(predict_jobs_n(m, 16, STEP_TUNER_BLOCK), STEP_TUNER_BLOCK);
  ck_assert_int_eq(predict_jobs_n(m, 63, STEP_TUNER_BLOCK), 0);
  ck_assert_int_eq(m->tuners[NNC_ENTRY_PREDICT].rounds, 1);
  nnc_status st;
  ck_assert(nnc_model_set_thread_tuning(m, 0, &st) == NNC_OK);
  ck_assert_int_eq(predict_jobs_n(m, 40, STEP_TUNER_PROBES + 8), STEP_TUNER_PROBES + 8);
  ck_assert(nnc_model_set_thread_tuning(m, 1, &st) == NNC_OK); /* a new round */
  ck_assert_int_eq(m->tuners[NNC_ENTRY_PREDICT].rounds, 0);
  ck_assert_int_eq(predict_jobs_n(m, 20, 3), 3);
  ck_assert_int_eq(nnc_model_set_thread_tuning(m, 2, &st), NNC_ERR_ARG);
  /* a choice made for one pool does not carry to another: a new round */
  /* the rest of the round begun above: 13 more on the pool, 16 on this thread */
  ck_assert_int_eq(predict_jobs_n(m, 20, STEP_TUNER_PROBES - 3), STEP_TUNER_BLOCK - 3);
  ck_assert_int_eq(m->tuners[NNC_ENTRY_PREDICT].rounds, 1);
  ck_assert(nnc_model_set_threads(m, 3, &st) == NNC_OK);
  ck_assert_int_eq(m->tuners[NNC_ENTRY_PREDICT].rounds, 0);
  ck_assert_int_eq(predict_jobs_n(m, 20, STEP_TUNER_BLOCK), STEP_TUNER_BLOCK);
  nnc_model_free(m);
}
END_TEST

/* Session 38: the first round's choice is provisional. In a model, the
 * second round's probes start STEP_TUNER_STEPS steps after the first round
 * (a few milliseconds of 16-row steps here, far below STEP_TUNER_SECONDS),
 * and the second round's choice then holds. */
START_TEST(band_second_round_follows_the_first) {
  nnc_model *m = wide(2);
  step_tuner *t = &m->tuners[NNC_ENTRY_PREDICT];
  predict_jobs_n(m, 16, STEP_TUNER_PROBES + STEP_TUNER_STEPS - 1);
  ck_assert_int_eq(t->rounds, 1);
  ck_assert_int_eq(t->probes, STEP_TUNER_PROBES);
  predict_jobs_n(m, 16, 1);
  ck_assert_int_eq(t->probes, 0); /* the second round begins */
  /* its first block runs on the pool whatever the first round chose */
  ck_assert_int_eq(predict_jobs_n(m, 16, STEP_TUNER_BLOCK), STEP_TUNER_BLOCK);
  predict_jobs_n(m, 16, STEP_TUNER_BLOCK + STEP_TUNER_STEPS);
  ck_assert_int_eq(t->rounds, 2);
  if (t->run_steps >= STEP_TUNER_STEPS &&
      nnc_monotonic_seconds() - t->run_start < 0.9 * STEP_TUNER_SECONDS)
    ck_assert_int_eq(t->probes, STEP_TUNER_PROBES); /* held: its second is not over */
  nnc_model_free(m);
}
END_TEST

/* A hand-planned graph: x [B,4] (io 0), W [4,4] (params 0). Groups:
 * 0: x @ W -> batch 0   1: x @ W -> batch 4   2: relu(g0) -> batch 8
 * 3: relu(x) -> batch 0 (the planner reusing g0's storage)
 * 4: W := relu(g2) (assign into the parameter g0 and g1 read)
 * 5: argmax(g1) -> batch 12 (a rows op: never independent) */
static nnc_node node(nnc_op op, int a, int b, int batched, int group, int region, int64_t off) {
  nnc_node n;
  memset(&n, 0, sizeof n);
  n.op = op, n.n_in = (a >= 0) + (b >= 0), n.in[0] = a, n.in[1] = b;
  int64_t dims[2] = {batched ? -1 : 4, 4};
  n.shape = shape_make(batched, 2, dims);
  n.group = group, n.region = region, n.offset = off;
  return n;
}

START_TEST(dependence_by_address) {
  nnc_node nodes[] = {
      node(NNC_OP_INPUT, -1, -1, 1, -1, NNC_REGION_IO, 0),
      node(NNC_OP_PARAM, -1, -1, 0, -1, NNC_REGION_PARAMS, 0),
      node(NNC_OP_MATMUL, 0, 1, 1, 0, NNC_REGION_BATCH, 0),
      node(NNC_OP_MATMUL, 0, 1, 1, 1, NNC_REGION_BATCH, 4),
      node(NNC_OP_UNARY, 2, -1, 1, 2, NNC_REGION_BATCH, 8),
      node(NNC_OP_UNARY, 0, -1, 1, 3, NNC_REGION_BATCH, 0),
      node(NNC_OP_UNARY, 4, -1, 0, 4, -1, 0),
      node(NNC_OP_ASSIGN, 1, 6, 0, 4, -1, 0),
      node(NNC_OP_ARGMAX, 3, -1, 1, 5, NNC_REGION_BATCH, 12),
  };
  nodes[6].shape = nodes[1].shape; /* relu of a [B,4] into W's [4,4]: shapes do not matter here */
  nnc_graph g = {.name = "t", .n = 9, .nodes = nodes, .n_groups = 6};
  ck_assert_int_eq(group_deps_independent(&g, 2, 3), 1); /* both read x, W; disjoint outputs */
  ck_assert_int_eq(group_deps_independent(&g, 3, 2), 1);
  ck_assert_int_eq(group_deps_independent(&g, 2, 4), 0); /* g2 reads g0's output */
  ck_assert_int_eq(group_deps_independent(&g, 3, 4), 1);
  ck_assert_int_eq(group_deps_independent(&g, 2, 5), 0); /* g3 overwrites g0's storage */
  ck_assert_int_eq(group_deps_independent(&g, 4, 5), 0); /* ... which g2 reads */
  ck_assert_int_eq(group_deps_independent(&g, 3, 5), 1);
  ck_assert_int_eq(group_deps_independent(&g, 2, 6), 0); /* g4 writes W, which g0 reads */
  ck_assert_int_eq(group_deps_independent(&g, 5, 6), 1);
  ck_assert_int_eq(group_deps_independent(&g, 3, 8), 0); /* a rows op */
  ck_assert_int_eq(group_deps_independent(&g, 5, 8), 0);
}
END_TEST

/* A W4-wide step (784-512-512-10, RMSprop, batch 128) on two threads
 * crossed 15 barriers before session 14 (main at 742535b); now 9: a
 * layer's input and weight gradients, a bias gradient and the next input
 * gradient, the first layer's weight gradient and its bias's reduction, the
 * optimizer updates of different parameters no longer meet in between.
 * Since session 29, 7: the two relu gradients run on their input
 * gradients' tiles (pass_dense_epilogue), not as groups of their own
 * after a barrier. The same loss bits on 1 and 2 threads. */
START_TEST(w4_wide_step_crosses_fewer_barriers) {
  enum { B = 128, IN = 784 };
  float *x = malloc(sizeof(float) * B * IN), y[B];
  for (int i = 0; i < B * IN; i++) x[i] = (float)((i * 7919) % 1000) / 1000.0f;
  for (int i = 0; i < B; i++) y[i] = (float)(i % 10);
  nnc_array xa = testutil_f32(x, B, IN), ya = testutil_f32(y, B, 1);
  ya.rank = 1;
  double loss[2];
  for (int threads = 1; threads <= 2; threads++) {
    nnc_model *m = testutil_load(testutil_sequential(
        "784",
        "{'class_name': 'Dense', 'config': {'name': 'd0', 'units': 512, 'activation': 'relu'}}, "
        "{'class_name': 'Dense', 'config': {'name': 'd1', 'units': 512, 'activation': 'relu'}}, "
        "{'class_name': 'Dense', 'config': {'name': 'd2', 'units': 10}}",
        "{'optimizer': {'class_name': 'RMSprop', 'config': {'learning_rate': 0.001}}, "
        "'loss': {'class_name': 'SparseCategoricalCrossentropy', 'config': {'from_logits': "
        "true}}}"));
    nnc_status st;
    ck_assert(nnc_model_set_threads(m, threads, &st) == NNC_OK);
    nnc_logs l = {0};
    for (int k = 0; k < 3; k++)
      ck_assert_msg(nnc_model_train_on_batch(m, &xa, &ya, &l, &st) == NNC_OK, "%s", st.message);
    loss[threads - 1] = nnc_logs_get(&l, "loss");
    if (threads == 2) {
      ck_assert_int_eq(pool_jobs(m->pool), 3);
      ck_assert_int_eq(pool_barriers(m->pool), 3 * 7);
    }
    nnc_logs_free(&l);
    nnc_model_free(m);
  }
  ck_assert_msg(loss[0] == loss[1], "%a vs %a", loss[0], loss[1]);
  free(x);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("threads14");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, whole_step_threshold_is_the_boundary);
  tcase_add_test(tc, switch_forces_the_pool);
  tcase_add_test(tc, switch_refuses_bad_values);
  tcase_add_test(tc, fits_agree_on_1_2_3_threads);
  tcase_add_test(tc, band_fits_agree_on_1_2_3_threads);
  tcase_add_test(tc, band_probes_the_pool_then_one_thread);
  tcase_add_test(tc, band_second_round_follows_the_first);
  tcase_add_test(tc, dependence_by_address);
  tcase_add_test(tc, w4_wide_step_crosses_fewer_barriers);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  unsetenv("NNC_SPLIT_SMALL_STEPS"); /* the default rule, whatever the caller's */
  return testutil_run(suite());
}
