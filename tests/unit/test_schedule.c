/* Learning-rate schedules (base/schedule.c) against values derived by hand
 * from Keras 3's formulas (keras/src/optimizers/schedules/
 * learning_rate_schedule.py), at steps chosen on the staircase, cycle,
 * boundary and warmup edges; and a training run whose every step moves a
 * weight by exactly the scheduled rate, without rebuilding. */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/schedule.h"
#include "nnc.h"
#include "testutil.h"

#define Q testutil_json

typedef struct sched_case {
  const char *json; /* single-quoted */
  double step, expected;
} sched_case;

#define EXP(extra)                                                                                 \
  "{'module': 'keras.optimizers.schedules', 'class_name': 'ExponentialDecay', 'config': "          \
  "{'initial_learning_rate': 0.1, 'decay_steps': 10, 'decay_rate': 0.5" extra                      \
  ", 'name': 'ExponentialDecay'}, 'registered_name': null}"
#define INV(extra)                                                                                 \
  "{'class_name': 'InverseTimeDecay', 'config': {'initial_learning_rate': 0.1, 'decay_steps': "    \
  "10, 'decay_rate': 0.5" extra "}}"
#define PIECE(b, v)                                                                                \
  "{'class_name': 'PiecewiseConstantDecay', 'config': {'boundaries': " b ", 'values': " v "}}"
#define POLY(extra)                                                                                \
  "{'class_name': 'PolynomialDecay', 'config': {'initial_learning_rate': 0.1, 'decay_steps': 10, " \
  "'end_learning_rate': 0.01, 'power': 2" extra "}}"
#define COS(extra) "{'class_name': 'CosineDecay', 'config': {'decay_steps': 10" extra "}}"
#define RESTARTS(extra)                                                                            \
  "{'class_name': 'CosineDecayRestarts', 'config': {'initial_learning_rate': 0.1, "                \
  "'first_decay_steps': 10" extra "}}"

static const sched_case cases[] = {
    /* lr0 * rate^(step / decay_steps), the exponent floored with staircase */
    {EXP(""), 0, 0.1},
    {EXP(""), 20, 0.025},
    {EXP(""), 15, 0.035355339059327376}, /* 0.1 * 0.5^1.5 */
    {EXP(", 'staircase': true"), 15, 0.05},
    {EXP(", 'staircase': true"), 19, 0.05},
    {EXP(", 'staircase': true"), 20, 0.025},
    /* lr0 / (1 + rate * step / decay_steps) */
    {INV(""), 20, 0.05},
    {INV(""), 15, 0.1 / 1.75},
    {INV(", 'staircase': true"), 15, 0.1 / 1.5},
    {INV(", 'staircase': true"), 9, 0.1},
    /* step <= boundaries[0]: values[0]; (b[i], b[i+1]]: values[i+1]; > last: last */
    {PIECE("[10, 20]", "[1.0, 0.5, 0.1]"), 0, 1.0},
    {PIECE("[10, 20]", "[1.0, 0.5, 0.1]"), 10, 1.0},
    {PIECE("[10, 20]", "[1.0, 0.5, 0.1]"), 11, 0.5},
    {PIECE("[10, 20]", "[1.0, 0.5, 0.1]"), 20, 0.5},
    {PIECE("[10, 20]", "[1.0, 0.5, 0.1]"), 21, 0.1},
    /* a float boundary is cast to the step's integer dtype: -0.5 -> 0, so
     * step 0 is still in the first range */
    {PIECE("[-0.5]", "[1.0, 0.5]"), 0, 1.0},
    {PIECE("[-0.5]", "[1.0, 0.5]"), 1, 0.5},
    /* (lr0 - end) * (1 - step / decay_steps)^power + end */
    {POLY(""), 5, 0.09 * 0.25 + 0.01},
    {POLY(""), 10, 0.01},
    {POLY(""), 15, 0.01}, /* no cycle: the step stops at decay_steps */
    /* cycle: decay_steps * ceil(step / decay_steps), 1 at step 0 */
    {POLY(", 'cycle': true"), 0, 0.1},
    {POLY(", 'cycle': true"), 10, 0.01},
    {POLY(", 'cycle': true"), 11, 0.09 * 0.45 * 0.45 + 0.01},
    {POLY(", 'cycle': true"), 15, 0.09 * 0.0625 + 0.01},
    {POLY(", 'cycle': true"), 20, 0.01},
    /* lr0 * ((1 - alpha) * 0.5 * (1 + cos(pi * step / decay_steps)) + alpha) */
    {COS(", 'initial_learning_rate': 0.1, 'alpha': 0.1"), 0, 0.1},
    {COS(", 'initial_learning_rate': 0.1, 'alpha': 0.1"), 5, 0.1 * (0.9 * 0.5 + 0.1)},
    {COS(", 'initial_learning_rate': 0.1, 'alpha': 0.1"), 10, 0.01},
    {COS(", 'initial_learning_rate': 0.1, 'alpha': 0.1"), 30, 0.01},
    /* warmup: linear from lr0 to warmup_target over warmup_steps, then the
     * cosine from warmup_target, the step capped at decay + warmup steps */
    {COS(", 'initial_learning_rate': 0.0, 'warmup_target': 0.1, 'warmup_steps': 4"), 0, 0.0},
    {COS(", 'initial_learning_rate': 0.0, 'warmup_target': 0.1, 'warmup_steps': 4"), 2, 0.05},
    {COS(", 'initial_learning_rate': 0.0, 'warmup_target': 0.1, 'warmup_steps': 4"), 4, 0.1},
    {COS(", 'initial_learning_rate': 0.0, 'warmup_target': 0.1, 'warmup_steps': 4"), 9, 0.05},
    {COS(", 'initial_learning_rate': 0.0, 'warmup_target': 0.1, 'warmup_steps': 4"), 14, 0.0},
    {COS(", 'initial_learning_rate': 0.0, 'warmup_target': 0.1, 'warmup_steps': 4"), 99, 0.0},
    {COS(", 'initial_learning_rate': 0.02, 'warmup_target': 0.1, 'warmup_steps': 4"), 1, 0.04},
    /* restarts: period i lasts first_decay_steps * t_mul^i, peaks at lr0 * m_mul^i */
    {RESTARTS(", 't_mul': 2.0, 'm_mul': 0.5"), 0, 0.1},
    {RESTARTS(", 't_mul': 2.0, 'm_mul': 0.5"), 5, 0.05},
    {RESTARTS(", 't_mul': 2.0, 'm_mul': 0.5"), 10, 0.05},  /* restart 1: 0.1 * 0.5 */
    {RESTARTS(", 't_mul': 2.0, 'm_mul': 0.5"), 20, 0.025}, /* half of the 20-step period */
    {RESTARTS(", 't_mul': 2.0, 'm_mul': 0.5"), 30, 0.025}, /* restart 2: 0.1 * 0.25 */
    {RESTARTS(", 't_mul': 1.0, 'alpha': 0.2"), 15, 0.1 * (0.8 * 0.5 + 0.2)},
    {RESTARTS(", 't_mul': 1.0, 'alpha': 0.2"), 20, 0.1},
    {RESTARTS(""), 10, 0.1}, /* defaults t_mul 2, m_mul 1 */
    {RESTARTS(""), 20, 0.05},
};

static void parse(const char *json, nnc_schedule *s, double **storage) {
  cJSON *item = cJSON_Parse(Q(json));
  ck_assert_ptr_nonnull(item);
  nnc_status st;
  int rc = schedule_from_json(item, "t.json", "$.lr", s, storage, &st);
  cJSON_Delete(item);
  ck_assert_msg(rc == NNC_OK, "%s: %s", json, st.message);
}

START_TEST(schedule_values) {
  const sched_case *c = &cases[_i];
  nnc_schedule s;
  double *storage;
  parse(c->json, &s, &storage);
  double got = schedule_eval(&s, c->step);
  /* float32 arithmetic: a few ulp from the exact value */
  double tol = 4e-7 * fabs(c->expected) + 1e-9;
  ck_assert_msg(fabs(got - c->expected) <= tol, "%s at step %g: got %.9g, expected %.9g", c->json,
                c->step, got, c->expected);
  ck_assert_msg(got == (double)(float)got, "not a float32 value: %.17g", got);
  free(storage);
}
END_TEST

typedef struct bad_case {
  const char *json, *message;
} bad_case;

static const bad_case bad[] = {
    {"{'class_name': 'StepDecay', 'config': {}}",
     "t.json: $.lr.class_name: expected a learning-rate schedule class (ExponentialDecay"},
    {EXP(", 'colour': 1"), "t.json: $.lr.config.colour: expected an argument Keras 3's "
                           "ExponentialDecay accepts, got an unknown key"},
    {"{'class_name': 'ExponentialDecay', 'config': {'initial_learning_rate': 0.1, 'decay_steps': "
     "0, 'decay_rate': 0.5}}",
     "t.json: $.lr.config.decay_steps: expected a number > 0, as Keras requires, got 0"},
    {"{'class_name': 'ExponentialDecay', 'config': {'initial_learning_rate': 0.1, 'decay_steps': "
     "1}}",
     "t.json: $.lr.config.decay_rate: expected a number (the schedule has no default for it), got "
     "nothing"},
    {"{'class_name': 'InverseTimeDecay', 'config': {'initial_learning_rate': '0.1', 'decay_steps': "
     "1, 'decay_rate': 1}}",
     "t.json: $.lr.config.initial_learning_rate: expected a number within the float32 range, got "
     "\"0.1\""},
    {PIECE("[10, 20]", "[1.0, 0.5]"),
     "t.json: $.lr.config.values: expected one value more than boundaries (2), got 2 values"},
    {PIECE("[]", "[1.0]"), "t.json: $.lr.config.boundaries: expected at least one boundary"},
    {PIECE("[10, 'x']", "[1.0, 0.5, 0.1]"),
     "t.json: $.lr.config.boundaries[1]: expected a number within the float32 range, got \"x\""},
    {POLY(", 'cycle': 1"), "t.json: $.lr.config.cycle: expected true or false, got 1"},
    {"{'class_name': 'CosineDecay', 'config': {'initial_learning_rate': 0.1, 'decay_steps': 5}, "
     "'shared_object_id': 3}",
     "t.json: $.lr.shared_object_id: expected module, class_name, config or registered_name"},
    {"{'class_name': 'CosineDecay'}", "t.json: $.lr.config: expected an object, got nothing"},
};

START_TEST(schedule_refused) {
  const bad_case *c = &bad[_i];
  cJSON *item = cJSON_Parse(Q(c->json));
  ck_assert_ptr_nonnull(item);
  nnc_schedule s;
  double *storage = (double *)&s; /* must be reset to NULL */
  nnc_status st;
  int rc = schedule_from_json(item, "t.json", "$.lr", &s, &storage, &st);
  cJSON_Delete(item);
  ck_assert_int_eq(rc, NNC_ERR_SPEC);
  ck_assert_ptr_null(storage);
  ck_assert_msg(strncmp(st.message, c->message, strlen(c->message)) == 0, "got: %s\nwanted: %s",
                st.message, c->message);
}
END_TEST

/* ---- a model trained with a schedule ----
 * Dense(1) from zeros on x = 1, y = 1000 with MAE: while the prediction is
 * below the target, d loss / d kernel = -1, so SGD adds exactly the step's
 * learning rate to the kernel. Piecewise values are powers of two: the sums
 * are exact. */
#define MODEL(optimizer)                                                                           \
  "{'class_name': 'Sequential', 'config': {'name': 's', 'layers': [{'class_name': 'InputLayer', "  \
  "'config': {'batch_shape': [null, 1]}}, {'class_name': 'Dense', 'config': {'name': 'd', "        \
  "'units': 1, 'kernel_initializer': 'zeros'}}]}, 'compile_config': {'optimizer': " optimizer      \
  ", 'loss': 'mae'}}"
#define SGD_PIECEWISE                                                                              \
  "{'class_name': 'SGD', 'config': {'learning_rate': {'module': 'keras.optimizers.schedules', "    \
  "'class_name': 'PiecewiseConstantDecay', 'config': {'boundaries': [1, 2], 'values': [0.5, "      \
  "0.25, 0.125], 'name': 'PiecewiseConstant'}, 'registered_name': null}}}"

static float kernel(nnc_model *m) {
  nnc_array a;
  nnc_status st;
  ck_assert_msg(nnc_model_get_weight(m, "d/kernel", &a, &st) == NNC_OK, "%s", st.message);
  float k = ((float *)a.data)[0];
  nnc_array_free(&a);
  return k;
}

static nnc_model *load(const char *json) {
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(Q(json), "s.json", &m, &st) == NNC_OK, "%s", st.message);
  return m;
}

START_TEST(train_on_batch_follows_schedule) {
  nnc_model *m = load(MODEL(SGD_PIECEWISE));
  float xs[4] = {1, 1, 1, 1}, ys[4] = {1000, 1000, 1000, 1000};
  nnc_array x = testutil_f32(xs, 4, 1), y = testutil_f32(ys, 4, 1);
  nnc_status st;
  TEST_LOGS(logs);
  /* lr(step) for steps 0..4: step <= 1 -> 0.5, (1, 2] -> 0.25, > 2 -> 0.125 */
  const double lr[5] = {0.5, 0.5, 0.25, 0.125, 0.125};
  const float after[5] = {0.5f, 1.0f, 1.25f, 1.375f, 1.5f};
  ck_assert_int_eq(nnc_model_build(m, &x, &y, &st), NNC_OK);
  const nnc_program_table *table = nnc_model_table(m);
  for (int i = 0; i < 5; i++) {
    ck_assert_double_eq(nnc_model_learning_rate(m), lr[i]);
    ck_assert_msg(nnc_model_train_on_batch(m, &x, &y, &logs, &st) == NNC_OK, "%s", st.message);
    ck_assert_msg(kernel(m) == after[i], "step %d: kernel %.9g, expected %.9g", i, kernel(m),
                  after[i]);
  }
  ck_assert_ptr_eq(nnc_model_table(m), table); /* never rebuilt */
  /* Keras: a schedule is not settable */
  ck_assert_int_eq(nnc_model_set_learning_rate(m, 0.01, &st), NNC_ERR_ARG);
  ck_assert_msg(strstr(st.message, "PiecewiseConstantDecay schedule: it cannot be set"), "%s",
                st.message);
  ck_assert_double_eq(nnc_model_learning_rate(m), 0.125);
  nnc_model_free(m);
}
END_TEST

START_TEST(fit_follows_schedule) {
  /* ExponentialDecay(1.0, decay_steps 1, rate 0.5): 1, 0.5, 0.25, 0.125 */
  nnc_model *m = load(
      MODEL("{'class_name': 'SGD', 'config': {'learning_rate': {'class_name': 'ExponentialDecay', "
            "'config': {'initial_learning_rate': 1.0, 'decay_steps': 1, 'decay_rate': 0.5}}}}"));
  float xs[4] = {1, 1, 1, 1}, ys[4] = {1000, 1000, 1000, 1000};
  nnc_array x = testutil_f32(xs, 4, 1), y = testutil_f32(ys, 4, 1);
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = 2;
  o.batch_size = 2;
  o.verbose = 0;
  nnc_status st;
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, NULL, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(nnc_model_iterations(m), 4);
  ck_assert_float_eq(kernel(m), 1.875f);
  ck_assert_double_eq(nnc_model_learning_rate(m), 0.0625); /* the next step's */
  nnc_model_free(m);
}
END_TEST

START_TEST(spec_schedule_errors_name_the_path) {
  nnc_model *m = NULL;
  nnc_status st;
  int rc = nnc_model_load_string(
      Q(MODEL("{'class_name': 'SGD', 'config': {'learning_rate': {'class_name': "
              "'ExponentialDecay', 'config': {'initial_learning_rate': 1.0, 'decay_steps': -1, "
              "'decay_rate': 0.5}}}}")),
      "s.json", &m, &st);
  ck_assert_int_eq(rc, NNC_ERR_SPEC);
  ck_assert_str_eq(st.message, "s.json: $.compile_config.optimizer.config.learning_rate.config."
                               "decay_steps: expected a number > 0, as Keras requires, got -1");
}
END_TEST

START_TEST(constant_rate_still_settable) {
  nnc_model *m = load(MODEL("{'class_name': 'SGD', 'config': {'learning_rate': 0.5}}"));
  nnc_status st;
  ck_assert_double_eq(nnc_model_learning_rate(m), 0.5);
  ck_assert_int_eq(nnc_model_set_learning_rate(m, 0.25, &st), NNC_OK);
  ck_assert_double_eq(nnc_model_learning_rate(m), 0.25);
  nnc_model_free(m);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("schedule");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, schedule_values, 0, (int)(sizeof cases / sizeof cases[0]));
  tcase_add_loop_test(tc, schedule_refused, 0, (int)(sizeof bad / sizeof bad[0]));
  tcase_add_test(tc, train_on_batch_follows_schedule);
  tcase_add_test(tc, fit_follows_schedule);
  tcase_add_test(tc, spec_schedule_errors_name_the_path);
  tcase_add_test(tc, constant_rate_still_settable);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return testutil_run(suite());
}
