/* Golden tests: nnc reproduces the oracle's Keras 3 numbers (expected/) for
 * every case this release covers, within the tolerance the oracle's README
 * gives: histories and final weights within 1e-4 relative, 1e-6 absolute.
 * The cases are those of ../shared/oracle/cases named below, and every case
 * committed under tests/cases/. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oracle_case.h"
#include "runtime/io/io.h"
#include "testutil.h"

#define REL 1e-4
#define ABS 1e-6

/* expected: history.json as Keras's History writes it. With validation_freq
 * the val_* lists hold only the validated epochs, listed (0-based, absolute
 * epoch numbers) in meta.json's validated_epochs; nnc's History has a row per
 * epoch run, and the rows of the epochs without validation must have no
 * val_* value (NaN). first_epoch: the fit's initial_epoch (row 0). */
static void check_history(const nnc_history *h, cJSON *expected, const cJSON *validated,
                          int first_epoch) {
  cJSON *key;
  int keys = 0;
  cJSON_ArrayForEach(key, expected) {
    keys++;
    int is_val = !strncmp(key->string, "val_", 4) && validated != NULL;
    int e = 0;
    cJSON *v;
    cJSON_ArrayForEach(v, key) {
      int row = is_val ? cJSON_GetArrayItem(validated, e)->valueint - first_epoch : e;
      double got = nnc_history_get(h, key->string, row);
      ck_assert_msg(close_enough(got, v->valuedouble, REL, ABS), "%s[%d]: nnc %.9g, oracle %.9g",
                    key->string, row, got, v->valuedouble);
      e++;
    }
    if (!is_val) {
      ck_assert_int_eq(e, h->n_epochs);
      continue;
    }
    ck_assert_int_eq(e, cJSON_GetArraySize(validated));
    for (int row = 0; row < h->n_epochs; row++) { /* no value in the other epochs */
      int was = 0;
      const cJSON *ep;
      cJSON_ArrayForEach(ep, validated) was |= ep->valueint - first_epoch == row;
      if (!was)
        ck_assert_msg(isnan(nnc_history_get(h, key->string, row)),
                      "%s[%d]: epoch without validation has %.9g", key->string, row,
                      nnc_history_get(h, key->string, row));
    }
  }
  ck_assert_int_eq(keys, h->n_keys); /* the same History keys, no more */
}

/* Accumulation mode of the run: every case is checked with float32 and with
 * float64 matmul accumulators. */
static nnc_accumulation mode = NNC_ACCUMULATE_F32;

static void load_case_from(const char *cases_dir, const char *name, oracle_case *c) {
  oracle_case_load_from(cases_dir, name, c);
  nnc_status st;
  ck_assert_msg(nnc_model_set_accumulation(c->model, mode, &st) == NNC_OK, "%s", st.message);
}

static void load_case(const char *name, oracle_case *c) {
  load_case_from(NNC_ORACLE_DIR "/cases", name, c);
}

static void check_predictions(oracle_case *c);

/* A fit case with "golden_predictions": true also predicts data.x with the
 * final weights (expected/predictions.npy): inference after training, e.g.
 * BatchNormalization's moving statistics, noise layers switched off. */
static void run_fit_case_from(const char *cases_dir, const char *name) {
  oracle_case c;
  load_case_from(cases_dir, name, &c);
  nnc_history h;
  nnc_status st;
  ck_assert_msg(nnc_model_fit_multi(c.model, c.n_x, c.xs, c.n_y, c.ys, &c.fit, &h, &st) == NNC_OK,
                "%s", st.message);
  cJSON *expected = oracle_expected(&c, "history.json");
  cJSON *meta = oracle_expected(&c, "meta.json");
  check_history(&h, expected, cJSON_GetObjectItem(meta, "validated_epochs"), c.fit.initial_epoch);
  cJSON_Delete(meta);
  cJSON_Delete(expected);
  char bundle[1024];
  snprintf(bundle, sizeof bundle, "%s/expected/weights_final/weights.json", c.dir);
  oracle_check_bundle(c.model, bundle, REL, ABS);
  if (cJSON_IsTrue(cJSON_GetObjectItem(c.json, "golden_predictions"))) check_predictions(&c);
  nnc_history_free(&h);
  oracle_case_free(&c);
}

static void run_fit_case(const char *name) {
  run_fit_case_from(NNC_ORACLE_DIR "/cases", name);
}

START_TEST(seed000_logreg) {
  mode = _i ? NNC_ACCUMULATE_F64 : NNC_ACCUMULATE_F32;
  run_fit_case("seed000_logreg");
}
END_TEST

/* seed001 (RMSprop, 784-64-64-10 on Fashion-MNIST). At step 30 one layer-2
 * pre-activation (sample 39, unit 47) is -1.5e-7 in exact arithmetic, below
 * the rounding error of a float32 sum of 64 products: float32 accumulation
 * (Keras's TensorFlow CPU kernels, nnc's default) turns that ReLU on,
 * float64 partial sums (tfjs's CPU kernels, which made the oracle) keep it
 * off, and the runs part from step 31 on (docs/semantics.md, "Accumulation
 * precision"). So: with float64 accumulation the whole case must match; with
 * float32, the 31 steps before the tie batch by batch and the first epoch. */
START_TEST(seed001_mnist_like_f64) {
  mode = NNC_ACCUMULATE_F64;
  run_fit_case("seed001_mnist_like");
}
END_TEST

START_TEST(seed001_mnist_like_f32_until_the_tie) {
  oracle_case c;
  mode = NNC_ACCUMULATE_F32;
  load_case("seed001_mnist_like", &c);
  cJSON *trace = oracle_expected(&c, "trace.json");
  int64_t first = 0, n = c.x.shape[0], row_floats = nnc_array_count(&c.x) / n;
  int step = 0;
  cJSON *row;
  cJSON_ArrayForEach(row, trace) {
    if (step == 31) break;
    int64_t size = cJSON_GetObjectItem(row, "size")->valueint;
    nnc_array xb = c.x, yb = c.y;
    xb.shape[0] = yb.shape[0] = size;
    xb.data = (float *)c.x.data + first * row_floats;
    yb.data = (char *)c.y.data + first * (int64_t)nnc_dtype_size(c.y.dtype);
    TEST_LOGS(logs);
    nnc_status st;
    ck_assert_msg(nnc_model_train_on_batch(c.model, &xb, &yb, &logs, &st) == NNC_OK, "%s",
                  st.message);
    double want = cJSON_GetObjectItem(row, "loss")->valuedouble;
    ck_assert_msg(close_enough(nnc_logs_get(&logs, "loss"), want, 1e-6, 0),
                  "step %d: nnc %.9g, oracle %.9g", step, nnc_logs_get(&logs, "loss"), want);
    first = (first + size) % n;
    step++;
  }
  ck_assert_int_eq(step, 31);
  cJSON_Delete(trace);
  oracle_case_free(&c);

  load_case("seed001_mnist_like", &c);
  c.fit.epochs = 1;
  nnc_history h;
  nnc_status st;
  ck_assert_msg(nnc_model_fit(c.model, &c.x, &c.y, &c.fit, &h, &st) == NNC_OK, "%s", st.message);
  cJSON *expected = oracle_expected(&c, "history.json"), *key;
  cJSON_ArrayForEach(key, expected) {
    double want = cJSON_GetArrayItem(key, 0)->valuedouble,
           got = nnc_history_get(&h, key->string, 0);
    ck_assert_msg(close_enough(got, want, 1e-5, ABS), "%s[0]: nnc %.9g, oracle %.9g", key->string,
                  got, want);
  }
  cJSON_Delete(expected);
  nnc_history_free(&h);
  oracle_case_free(&c);
}
END_TEST

/* The public acceptance case of issue 7: Adam with EarlyStopping(val_loss,
 * patience 2, restore_best_weights): the History stops where Keras stops and
 * the final weights are those of the best epoch. */
START_TEST(adam_early_stop) {
  mode = _i ? NNC_ACCUMULATE_F64 : NNC_ACCUMULATE_F32;
  run_fit_case("adam_early_stop");
}
END_TEST

START_TEST(seed002_fit_bs1) {
  mode = _i ? NNC_ACCUMULATE_F64 : NNC_ACCUMULATE_F32;
  run_fit_case("seed002_fit_bs1");
}
END_TEST

START_TEST(seed003_seq) {
  mode = _i ? NNC_ACCUMULATE_F64 : NNC_ACCUMULATE_F32;
  run_fit_case("seed003_seq");
}
END_TEST

START_TEST(seed004_mlp_nodrop) {
  mode = _i ? NNC_ACCUMULATE_F64 : NNC_ACCUMULATE_F32;
  run_fit_case("seed004_mlp_nodrop");
}
END_TEST

/* The public Functional case: one input, two outputs with their own losses,
 * loss_weights and metrics (Keras 3's loss, <output>_loss, <output>_mae keys). */
START_TEST(multi_output) {
  mode = _i ? NNC_ACCUMULATE_F64 : NNC_ACCUMULATE_F32;
  run_fit_case("multi_output");
}
END_TEST

static void run_train_on_batch_case_from(const char *cases_dir, const char *name) {
  oracle_case c;
  load_case_from(cases_dir, name, &c);
  cJSON *trace = oracle_expected(&c, "train_on_batch.json");
  ck_assert_int_eq(cJSON_GetArraySize(trace), c.steps);
  cJSON *row;
  cJSON_ArrayForEach(row, trace) {
    TEST_LOGS(logs);
    nnc_status st;
    ck_assert_msg(nnc_model_train_on_batch(c.model, &c.x, &c.y, &logs, &st) == NNC_OK, "%s",
                  st.message);
    double want = cJSON_GetObjectItem(row, "loss")->valuedouble;
    int step = cJSON_GetObjectItem(row, "step")->valueint;
    ck_assert_msg(close_enough(nnc_logs_get(&logs, "loss"), want, REL, ABS),
                  "step %d: nnc %.9g, oracle %.9g", step, nnc_logs_get(&logs, "loss"), want);
  }
  cJSON_Delete(trace);
  char bundle[1024];
  snprintf(bundle, sizeof bundle, "%s/expected/weights_final/weights.json", c.dir);
  oracle_check_bundle(c.model, bundle, REL, ABS);
  oracle_case_free(&c);
}

START_TEST(seed002_linreg_train_on_batch) {
  mode = _i ? NNC_ACCUMULATE_F64 : NNC_ACCUMULATE_F32;
  run_train_on_batch_case_from(NNC_ORACLE_DIR "/cases", "seed002_linreg");
}
END_TEST

/* ---- the cases committed in this repository (tests/cases/<name>/, made
 * with the same oracle by tests/cases/make_cases.js) ---- */

/* NNC_GOLDEN_DIR=folder runs the cases of another folder instead (the
 * differential cases of tests/cases/diff_makers.js; README.md there) */
static const char *repo_cases_dir(void) {
  const char *dir = getenv("NNC_GOLDEN_DIR");
  return dir && *dir ? dir : NNC_SOURCE_DIR "/tests/cases";
}
#define REPO_CASES repo_cases_dir()
#define MAX_REPO_CASES 1024
static char repo_cases[MAX_REPO_CASES][256];
static int n_repo_cases;

static int by_name(const void *a, const void *b) {
  return strcmp(a, b);
}

/* name is an item of the comma-separated list */
static int listed(const char *list, const char *name) {
  size_t n = strlen(name);
  for (const char *p = list; (p = strstr(p, name)); p += n)
    if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == 0)) return 1;
  return 0;
}

/* Every folder of tests/cases holding a case.json, sorted by name; with
 * NNC_GOLDEN_CASES=a,b (a developer's shortcut) only those. */
static int find_repo_cases(void) {
  const char *only = getenv("NNC_GOLDEN_CASES");
  if (only) fprintf(stderr, "test_golden: only the cases in NNC_GOLDEN_CASES=%s\n", only);
  DIR *d = opendir(REPO_CASES);
  if (!d) return 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/case.json", REPO_CASES, e->d_name);
    if (e->d_name[0] == '.' || access(path, R_OK) != 0) continue;
    if (only && !listed(only, e->d_name)) continue;
    if (n_repo_cases == MAX_REPO_CASES) { /* never skip a case silently */
      fprintf(stderr, "test_golden: more than %d cases in tests/cases\n", MAX_REPO_CASES);
      exit(1);
    }
    snprintf(repo_cases[n_repo_cases++], sizeof repo_cases[0], "%s", e->d_name);
  }
  closedir(d);
  qsort(repo_cases, (size_t)n_repo_cases, sizeof repo_cases[0], by_name);
  return n_repo_cases;
}

/* Modes "evaluate" and "predict": no training; the model at w0 (for the
 * phase-dependent layers: noise and dropout are the identity, recurrent
 * dropout is off, BatchNormalization uses its moving statistics). evaluate:
 * every key of evaluate.json (Keras's evaluate logs, no more keys);
 * both: predictions.npy at the same tolerance. */
static void check_predictions(oracle_case *c) {
  char path[1024];
  snprintf(path, sizeof path, "%s/expected/predictions.npy", c->dir);
  nnc_array want, got;
  nnc_status st;
  ck_assert_msg(nnc_npy_read(path, &want, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_predict_multi(c->model, c->n_x, c->xs, c->fit.batch_size, 1, &got, &st) ==
                    NNC_OK,
                "%s", st.message);
  ck_assert_int_eq(got.rank, want.rank);
  for (int d = 0; d < got.rank; d++) ck_assert_int_eq(got.shape[d], want.shape[d]);
  const float *g = got.data, *w = want.data;
  for (int64_t i = 0; i < nnc_array_count(&got); i++)
    ck_assert_msg(close_enough(g[i], w[i], REL, ABS), "%s: prediction %lld: nnc %.9g, oracle %.9g",
                  c->dir, (long long)i, g[i], w[i]);
  nnc_array_free(&got);
  nnc_array_free(&want);
}

static void run_inference_case_from(const char *cases_dir, const char *name, int evaluate) {
  oracle_case c;
  load_case_from(cases_dir, name, &c);
  if (evaluate) {
    cJSON *expected = oracle_expected(&c, "evaluate.json"), *key;
    TEST_LOGS(logs);
    nnc_status st;
    ck_assert_msg(nnc_model_evaluate_multi(c.model, c.n_x, c.xs, c.n_y, c.ys, c.fit.batch_size,
                                           &logs, &st) == NNC_OK,
                  "%s", st.message);
    int keys = 0;
    cJSON_ArrayForEach(key, expected) {
      double got = nnc_logs_get(&logs, key->string);
      ck_assert_msg(close_enough(got, key->valuedouble, REL, ABS), "%s: nnc %.9g, oracle %.9g",
                    key->string, got, key->valuedouble);
      keys++;
    }
    ck_assert_int_eq(keys, logs.n);
    cJSON_Delete(expected);
  }
  check_predictions(&c);
  oracle_case_free(&c);
}

/* loop index: case i in float32 (2i) and float64 (2i + 1) accumulation */
START_TEST(repo_case) {
  const char *name = repo_cases[_i / 2];
  mode = _i % 2 ? NNC_ACCUMULATE_F64 : NNC_ACCUMULATE_F32;
  char path[1024];
  snprintf(path, sizeof path, "%s/%s/case.json", REPO_CASES, name);
  oracle_case probe;
  load_case_from(REPO_CASES, name, &probe);
  cJSON *m = cJSON_GetObjectItem(probe.json, "mode");
  int on_batch = cJSON_IsString(m) && !strcmp(m->valuestring, "train_on_batch");
  int evaluate = cJSON_IsString(m) && !strcmp(m->valuestring, "evaluate");
  int predict = cJSON_IsString(m) && !strcmp(m->valuestring, "predict");
  ck_assert_msg(!cJSON_IsString(m) || on_batch || evaluate || predict ||
                    !strcmp(m->valuestring, "fit"),
                "%s: mode %s is not run by test_golden", path, m->valuestring);
  oracle_case_free(&probe);
  fprintf(stderr, "test_golden: tests/cases/%s (%s accumulation)\n", name, _i % 2 ? "f64" : "f32");
  if (on_batch)
    run_train_on_batch_case_from(REPO_CASES, name);
  else if (evaluate || predict)
    run_inference_case_from(REPO_CASES, name, evaluate);
  else
    run_fit_case_from(REPO_CASES, name);
}
END_TEST

/* Optimizer state: a fit of epoch 0, its weights and optimizer state saved,
 * a fresh model loading both and fitting epochs 1-2 (initial_epoch 1) ends
 * where the oracle's uninterrupted fit ends (Keras's second fit continues
 * the optimizer's iterations and slots). The cases keep state that a
 * restart without it would lose: Nadam's u_product, Ftrl's accumulators,
 * Adafactor's factored moments, gradient accumulators mid-way, a schedule's
 * step count. */
static const char *resume_cases[] = {"opt_nadam", "opt_ftrl", "opt_adafactor",
                                     "opt_adam_grad_accum", "sched_cosine_restarts"};

static void check_history_rows(const nnc_history *h, cJSON *expected, int first) {
  for (int row = 0; row < h->n_epochs; row++) {
    cJSON *key;
    cJSON_ArrayForEach(key, expected) {
      double want = cJSON_GetArrayItem(key, first + row)->valuedouble;
      double got = nnc_history_get(h, key->string, row);
      ck_assert_msg(close_enough(got, want, REL, ABS), "%s[%d]: nnc %.9g, oracle %.9g", key->string,
                    first + row, got, want);
    }
  }
  ck_assert_int_eq(h->n_keys, cJSON_GetArraySize(expected));
}

START_TEST(resumed_fit) {
  const char *name = resume_cases[_i / 2];
  mode = _i % 2 ? NNC_ACCUMULATE_F64 : NNC_ACCUMULATE_F32;
  char weights[512], state[512];
  snprintf(weights, sizeof weights, "%s/golden_resume_%s_%d.safetensors", NNC_BINARY_DIR, name, _i);
  snprintf(state, sizeof state, "%s/golden_resume_%s_%d.opt.safetensors", NNC_BINARY_DIR, name, _i);
  oracle_case c;
  load_case_from(REPO_CASES, name, &c);
  ck_assert_int_eq(c.fit.epochs, 3);
  cJSON *expected = oracle_expected(&c, "history.json");
  nnc_history h;
  nnc_status st;
  c.fit.epochs = 1;
  ck_assert_msg(nnc_model_fit_multi(c.model, c.n_x, c.xs, c.n_y, c.ys, &c.fit, &h, &st) == NNC_OK,
                "%s", st.message);
  check_history_rows(&h, expected, 0);
  nnc_history_free(&h);
  ck_assert_msg(nnc_model_save_weights(c.model, weights, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_save_optimizer_state(c.model, state, &st) == NNC_OK, "%s", st.message);
  oracle_case_free(&c);

  load_case_from(REPO_CASES, name, &c); /* a fresh model, at w0 */
  ck_assert_msg(nnc_model_load_weights(c.model, weights, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_load_optimizer_state(c.model, state, &st) == NNC_OK, "%s", st.message);
  c.fit.initial_epoch = 1;
  ck_assert_msg(nnc_model_fit_multi(c.model, c.n_x, c.xs, c.n_y, c.ys, &c.fit, &h, &st) == NNC_OK,
                "%s", st.message);
  ck_assert_int_eq(h.n_epochs, 2);
  check_history_rows(&h, expected, 1);
  char bundle[1024];
  snprintf(bundle, sizeof bundle, "%s/expected/weights_final/weights.json", c.dir);
  oracle_check_bundle(c.model, bundle, REL, ABS);
  nnc_history_free(&h);
  cJSON_Delete(expected);
  oracle_case_free(&c);
  remove(weights);
  remove(state);
}
END_TEST

int main(void) {
  Suite *s = suite_create("golden");
  TCase *tc = tcase_create("oracle");
  tcase_set_timeout(tc, 300);
  /* loop index 0: float32 accumulation, 1: float64 */
  tcase_add_loop_test(tc, seed000_logreg, 0, 2);
  tcase_add_loop_test(tc, seed002_linreg_train_on_batch, 0, 2);
  tcase_add_loop_test(tc, seed002_fit_bs1, 0, 2);
  tcase_add_loop_test(tc, seed003_seq, 0, 2);
  tcase_add_loop_test(tc, seed004_mlp_nodrop, 0, 2);
  tcase_add_loop_test(tc, multi_output, 0, 2);
  tcase_add_loop_test(tc, adam_early_stop, 0, 2);
  tcase_add_test(tc, seed001_mnist_like_f64);
  tcase_add_test(tc, seed001_mnist_like_f32_until_the_tie);
  suite_add_tcase(s, tc);
  /* a missing tests/cases would silently drop these cases: refuse it */
  if (find_repo_cases() == 0) {
    fprintf(stderr, "test_golden: no case found under %s\n", REPO_CASES);
    return 1;
  }
  TCase *repo = tcase_create("repo_cases");
  tcase_set_timeout(repo, 300);
  tcase_add_loop_test(repo, repo_case, 0, 2 * n_repo_cases);
  if (!getenv("NNC_GOLDEN_DIR")) /* its cases are in tests/cases */
    tcase_add_loop_test(repo, resumed_fit, 0,
                        (int)(2 * sizeof resume_cases / sizeof resume_cases[0]));
  suite_add_tcase(s, repo);
  return testutil_run(s);
}
