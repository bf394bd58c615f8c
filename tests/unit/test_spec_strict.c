/* compiler/spec is strict where Keras is (issue 5, item 9): duplicate JSON
 * keys, "/" in layer and model names, optimizer arguments Keras 3 does not
 * recognize, non-finite hyperparameters, disagreeing input-shape keys and
 * names that are not well-formed UTF-8. And where a reviewer found holes:
 * metric names that collide with History keys, escaped NULs, hyperparameters
 * beyond float32, name limits in bytes, nesting beyond cJSON's limit. Each
 * error is NNC_ERR_SPEC with the file, the JSON path and what was expected.
 * JSON literals use ' for " (Q()). */
#include <check.h>
#include <cjson/cJSON.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/lower/lower.h"
#include "compiler/spec/spec.h"
#include "testutil.h"

/* ---- helpers ---- */

static const char *Q(const char *s) {
  static char bufs[4][8192];
  static int next;
  char *b = bufs[next++ & 3];
  size_t n = strlen(s);
  ck_assert_uint_lt(n, sizeof bufs[0]);
  for (size_t i = 0; i <= n; i++) b[i] = s[i] == '\'' ? '"' : s[i];
  return b;
}

/* A Keras 3 Sequential: InputLayer (4,), then `layers`, with `optimizer`. */
static const char *model(const char *layers, const char *optimizer) {
  static char buf[8192];
  snprintf(buf, sizeof buf,
           "{'class_name': 'Sequential', 'keras_version': '3.5.0', 'config': {'name': 'm', "
           "'layers': [{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 4], "
           "'name': 'in'}}, %s]}, 'compile_config': {'optimizer': %s, 'loss': 'mse'}}",
           layers, optimizer);
  return Q(buf);
}

#define DENSE "{'class_name': 'Dense', 'config': {'name': 'd', 'units': 2}}"

static void parse_ok(const char *json) {
  nnc_spec spec;
  nnc_status st = {0};
  ck_assert_msg(nnc_spec_parse_string(json, "model.json", &spec, &st) == NNC_OK, "parse failed: %s",
                st.message);
  nnc_spec_free(&spec);
}

/* NNC_ERR_SPEC, "model.json: <path>: " and the expectation. */
static void expect_error(const char *json, const char *path, const char *what) {
  nnc_spec spec;
  nnc_status st = {0};
  int rc = nnc_spec_parse_string(json, "model.json", &spec, &st);
  ck_assert_msg(rc == NNC_ERR_SPEC, "expected NNC_ERR_SPEC, got %d (%s) for %.400s", rc, st.message,
                json);
  char prefix[300];
  snprintf(prefix, sizeof prefix, "model.json: %s: ", path);
  ck_assert_msg(strncmp(st.message, prefix, strlen(prefix)) == 0, "'%s' does not start with '%s'",
                st.message, prefix);
  ck_assert_msg(strstr(st.message, what), "'%s' not in: %s", what, st.message);
  ck_assert_ptr_null(spec.layers);
}

/* Errors of the compile config that need the model's outputs come when the
 * model is lowered (for data of 4 features), with the same file and path. */
static void expect_build_error(const char *json, const char *path, const char *what) {
  nnc_spec spec;
  nnc_status st = {0};
  ck_assert_msg(nnc_spec_parse_string(json, "model.json", &spec, &st) == NNC_OK, "%s", st.message);
  nnc_spec_shape in = {1, {4}};
  nnc_data_shapes data = {1, &in, 0, NULL, NULL};
  nnc_lowered l;
  int rc = lower_model(&spec, &data, &l, &st);
  ck_assert_msg(rc == NNC_ERR_SPEC, "expected NNC_ERR_SPEC, got %d (%s)", rc, st.message);
  char prefix[300];
  snprintf(prefix, sizeof prefix, "model.json: %s: ", path);
  ck_assert_msg(strncmp(st.message, prefix, strlen(prefix)) == 0, "'%s' does not start with '%s'",
                st.message, prefix);
  ck_assert_msg(strstr(st.message, what), "'%s' not in: %s", what, st.message);
  nnc_spec_free(&spec);
}

/* ---- duplicate keys ---- */

START_TEST(duplicate_keys_anywhere) {
  /* at the top, in a layer config, inside a list element, in the compile config */
  expect_error(Q("{'class_name': 'Sequential', 'class_name': 'Sequential', 'config': {'layers': "
                 "[" DENSE "]}}"),
               "$.class_name", "expected each key once in an object, got this key twice");
  expect_error(
      model("{'class_name': 'Dense', 'config': {'name': 'd', 'units': 2, 'units': 3}}", "'sgd'"),
      "$.config.layers[1].config.units", "expected each key once");
  expect_error(model(DENSE, "{'class_name': 'SGD', 'config': {'learning_rate': 0.1, "
                            "'momentum': 0.5, 'learning_rate': 0.2}}"),
               "$.compile_config.optimizer.config.learning_rate", "expected each key once");
  /* deep inside a value nnc never reads */
  expect_error(model("{'class_name': 'Dense', 'config': {'name': 'd', 'units': 2}, "
                     "'build_config': {'input_shape': [null, 4], 'x': [{'a': 1, 'a': 2}]}}",
                     "'sgd'"),
               "$.config.layers[1].build_config.x[0].a", "expected each key once");
}
END_TEST

START_TEST(duplicate_keys_in_compile_config_string) {
  nnc_spec spec = {0};
  nnc_status st = {0};
  spec.compile.optimizer.learning_rate = 42;
  int rc = nnc_spec_parse_compile_string(Q("{'loss': 'mse', 'optimizer': 'sgd', 'loss': 'mae'}"),
                                         "cc.json", &spec, &st);
  ck_assert_int_eq(rc, NNC_ERR_SPEC);
  ck_assert_str_eq(st.message, "cc.json: $.loss: expected each key once in an object, got this "
                               "key twice");
  ck_assert_double_eq(spec.compile.optimizer.learning_rate, 42); /* unchanged */
}
END_TEST

START_TEST(keys_differing_in_case_are_distinct) {
  /* JSON keys are case-sensitive: "backend" and "Backend" are two keys (both ignored)... */
  parse_ok(Q("{'class_name': 'Sequential', 'backend': 'tensorflow', 'Backend': 'jax', 'config': "
             "{'layers': [" DENSE "]}}"));
  /* ...and the same key in two different objects is fine */
  parse_ok(model("{'class_name': 'Dense', 'config': {'name': 'd', 'units': 2}}, {'class_name': "
                 "'Dense', 'config': {'name': 'e', 'units': 2}}",
                 "{'class_name': 'SGD', 'config': {'name': 'x'}}"));
}
END_TEST

/* ---- names ---- */

START_TEST(slash_in_names_refused) {
  expect_error(
      model("{'class_name': 'Dense', 'config': {'name': 'block/dense', 'units': 2}}", "'sgd'"),
      "$.config.layers[1].config.name", "expected a name without \"/\"");
  expect_error(Q("{'class_name': 'Sequential', 'config': {'name': 'a/b', 'layers': [" DENSE "]}}"),
               "$.config.name", "without \"/\"");
  /* an InputLayer, and a Functional layer named at the entry level */
  expect_error(Q("{'class_name': 'Sequential', 'config': {'layers': [{'class_name': 'InputLayer', "
                 "'config': {'batch_shape': [null, 4], 'name': 'in/x'}}, " DENSE "]}}"),
               "$.config.layers[0].config.name", "without \"/\"");
  expect_error(Q("{'class_name': 'Functional', 'config': {'name': 'f', 'layers': [{'name': 'i/n', "
                 "'class_name': 'InputLayer', 'config': {'batch_shape': [null, 4]}, "
                 "'inbound_nodes': []}], 'input_layers': [['i/n', 0, 0]], "
                 "'output_layers': [['i/n', 0, 0]]}}"),
               "$.config.layers[0].name", "without \"/\"");
  /* other characters Keras allows stay allowed */
  parse_ok(
      model("{'class_name': 'Dense', 'config': {'name': 'dense-1.a b:c', 'units': 2}}", "'sgd'"));
}
END_TEST

START_TEST(names_must_be_utf8) {
  static const char *const bad[] = {
      "\xc3\x28",         /* a lead byte without its continuation */
      "\xc0\xaf",         /* overlong "/" */
      "\xe0\x80\xaf",     /* overlong "/" in three bytes */
      "\xed\xa0\x80",     /* a UTF-16 surrogate (U+D800) encoded directly */
      "\xf4\x90\x80\x80", /* above U+10FFFF */
      "\xe2\x82",         /* truncated */
      "\xff",             /* never in UTF-8 */
      "\x80",             /* a lone continuation byte */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char layer[256];
    snprintf(layer, sizeof layer, "{'class_name': 'Dense', 'config': {'name': 'd%s', 'units': 2}}",
             bad[i]);
    expect_error(model(layer, "'sgd'"), "$.config.layers[1].config.name",
                 "expected a name in UTF-8");
  }
  /* a C1 control character (U+0085) is well-formed but a control character */
  expect_error(
      model("{'class_name': 'Dense', 'config': {'name': 'd\xc2\x85', 'units': 2}}", "'sgd'"),
      "$.config.layers[1].config.name", "without control characters");
  /* the model name and metric names are checked too */
  expect_error(Q("{'class_name': 'Sequential', 'config': {'name': 'm\xed\xbf\xbf', 'layers': "
                 "[" DENSE "]}}"),
               "$.config.name", "in UTF-8");
  char metric[512];
  snprintf(metric, sizeof metric, "%s",
           Q("{'class_name': 'Sequential', 'config': {'layers': [{'class_name': 'InputLayer', "
             "'config': {'batch_shape': [null, 4]}}, " DENSE "]}, 'compile_config': {'loss': "
             "'mse', 'metrics': [{'class_name': 'MeanSquaredError', 'config': {'name': "
             "'m\xc0\x80'}}]}}"));
  expect_error(metric, "$.compile_config.metrics[0].config.name", "in UTF-8");
  /* well-formed names of two, three and four bytes, and \u escapes, are accepted */
  parse_ok(model("{'class_name': 'Dense', 'config': {'name': 'caf\xc3\xa9_\xe2\x82\xac_\xf0\x9f\x98"
                 "\x80_\\u00e9', 'units': 2}}",
                 "'sgd'"));
}
END_TEST

/* ---- optimizer arguments ---- */

START_TEST(unknown_optimizer_arguments_refused) {
  expect_error(model(DENSE, "{'class_name': 'Adam', 'config': {'learning_rate': 0.01, 'betta_1': "
                            "0.8}}"),
               "$.compile_config.optimizer.config.betta_1",
               "expected an argument Keras 3's Adam accepts (beta_1, beta_2, epsilon, amsgrad, or "
               "a base optimizer argument");
  /* another optimizer's argument is unknown too */
  expect_error(model(DENSE, "{'class_name': 'SGD', 'config': {'rho': 0.9}}"),
               "$.compile_config.optimizer.config.rho",
               "Keras 3's SGD accepts (momentum, nesterov");
  expect_error(model(DENSE, "{'class_name': 'RMSprop', 'config': {'beta_1': 0.9}}"),
               "$.compile_config.optimizer.config.beta_1", "Keras 3's RMSprop accepts");
  expect_error(model(DENSE, "{'class_name': 'Adam', 'config': {'nesterov': true}}"),
               "$.compile_config.optimizer.config.nesterov", "Keras 3's Adam accepts");
  /* Keras 3 does not recognize the legacy lr */
  expect_error(model(DENSE, "{'class_name': 'SGD', 'config': {'lr': 0.1}}"),
               "$.compile_config.optimizer.config.lr",
               "expected learning_rate: Keras 3 does not recognize the legacy \"lr\"");
  /* every base argument of Keras 3's get_config, at its default, is accepted */
  parse_ok(model(DENSE, "{'class_name': 'RMSprop', 'config': {'name': 'rmsprop', 'learning_rate': "
                        "0.01, 'weight_decay': null, 'clipnorm': null, 'global_clipnorm': null, "
                        "'clipvalue': null, 'use_ema': false, 'ema_momentum': 0.99, "
                        "'ema_overwrite_frequency': null, 'loss_scale_factor': null, "
                        "'gradient_accumulation_steps': null, 'rho': 0.9, 'momentum': 0.0, "
                        "'epsilon': 1e-07, 'centered': false, 'decay': 0}}"));
}
END_TEST

/* Keras 3 raises for gradient_accumulation_steps 1 (or less) and takes 0 as none. */
START_TEST(gradient_accumulation_steps_as_keras) {
  expect_error(model(DENSE, "{'class_name': 'SGD', 'config': {'gradient_accumulation_steps': 1}}"),
               "$.compile_config.optimizer.config.gradient_accumulation_steps",
               "expected null or an integer >= 2, as Keras 3 requires, got 1");
  expect_error(model(DENSE, "{'class_name': 'SGD', 'config': {'gradient_accumulation_steps': "
                            "2.5}}"),
               "$.compile_config.optimizer.config.gradient_accumulation_steps",
               "expected null or an integer >= 2");
  parse_ok(model(DENSE, "{'class_name': 'SGD', 'config': {'gradient_accumulation_steps': 4}}"));
  parse_ok(model(DENSE, "{'class_name': 'SGD', 'config': {'gradient_accumulation_steps': 0}}"));
  parse_ok(model(DENSE, "{'class_name': 'SGD', 'config': {'gradient_accumulation_steps': null}}"));
}
END_TEST

START_TEST(keras2_legacy_arguments_accepted) {
  /* a Keras 2 file (no keras_version/module) keeps lr, jit_compile and is_legacy_optimizer */
  const char *k2 = Q("{'class_name': 'Sequential', 'config': {'layers': [{'class_name': "
                     "'InputLayer', 'config': {'batch_input_shape': [null, 4]}}, " DENSE "]}, "
                     "'compile_config': {'loss': 'mse', 'optimizer': {'class_name': 'SGD', "
                     "'config': {'lr': 0.1, 'jit_compile': true, 'is_legacy_optimizer': false, "
                     "'momentum': 0.5}}}}");
  nnc_spec spec;
  nnc_status st = {0};
  ck_assert_msg(nnc_spec_parse_string(k2, "model.json", &spec, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(spec.format, NNC_FORMAT_KERAS2);
  ck_assert_double_eq(spec.compile.optimizer.learning_rate, 0.1);
  nnc_spec_free(&spec);
  /* but not lr and learning_rate together: which one was meant? */
  expect_error(Q("{'class_name': 'Sequential', 'config': {'layers': [" DENSE "]}, "
                 "'compile_config': {'loss': 'mse', 'optimizer': {'class_name': 'SGD', "
                 "'config': {'learning_rate': 0.1, 'lr': 0.2}}}}"),
               "$.compile_config.optimizer.config.lr",
               "expected one learning rate, got learning_rate and lr");
  /* and an unknown key is unknown in Keras 2 files too */
  expect_error(Q("{'class_name': 'Sequential', 'config': {'layers': [" DENSE "]}, "
                 "'compile_config': {'loss': 'mse', 'optimizer': {'class_name': 'Adam', "
                 "'config': {'lerning_rate': 0.1}}}}"),
               "$.compile_config.optimizer.config.lerning_rate", "got an unknown key");
}
END_TEST

/* ---- non-finite and out-of-range numbers (1e400 parses as inf) ---- */

START_TEST(infinite_hyperparameters_refused) {
  expect_error(
      model(DENSE, "{'class_name': 'SGD', 'config': {'learning_rate': 1e400}}"),
      "$.compile_config.optimizer.config.learning_rate",
      "expected a finite number >= 0 within the float32 range (at most 3.4e38), got a number "
      "out of range");
  expect_error(model(DENSE, "{'class_name': 'Adam', 'config': {'epsilon': 1e400}}"),
               "$.compile_config.optimizer.config.epsilon", "expected a finite number >= 0");
  expect_error(model(DENSE, "{'class_name': 'RMSprop', 'config': {'epsilon': 1e400}}"),
               "$.compile_config.optimizer.config.epsilon", "expected a finite number >= 0");
  expect_error(model(DENSE, "{'class_name': 'SGD', 'config': {'learning_rate': -0.1}}"),
               "$.compile_config.optimizer.config.learning_rate", "expected a finite number >= 0");
  expect_error(model(DENSE, "{'class_name': 'SGD', 'config': {'momentum': 1e400}}"),
               "$.compile_config.optimizer.config.momentum", "expected a number in [0, 1]");
  expect_error(model(DENSE, "{'class_name': 'Adam', 'config': {'beta_2': -1e400}}"),
               "$.compile_config.optimizer.config.beta_2", "expected a number in [0, 1]");
  expect_error(model("{'class_name': 'Dropout', 'config': {'rate': 1e400}}", "'sgd'"),
               "$.config.layers[1].config.rate", "expected a number in [0, 1]");
  expect_error(model("{'class_name': 'Dense', 'config': {'units': 1e400}}", "'sgd'"),
               "$.config.layers[1].config.units", "expected a positive integer");
  /* initializer parameters must fit the float32 weights */
  expect_error(model("{'class_name': 'Dense', 'config': {'units': 2, 'kernel_initializer': "
                     "{'class_name': 'RandomNormal', 'config': {'stddev': 1e300}}}}",
                     "'sgd'"),
               "$.config.layers[1].config.kernel_initializer.config.stddev",
               "expected a number within the float32 range");
  expect_error(model("{'class_name': 'Dense', 'config': {'units': 2, 'bias_initializer': "
                     "{'class_name': 'Constant', 'config': {'value': -1e39}}}}",
                     "'sgd'"),
               "$.config.layers[1].config.bias_initializer.config.value", "float32 range");
  expect_error(model("{'class_name': 'Dense', 'config': {'units': 2, 'kernel_initializer': "
                     "{'class_name': 'RandomUniform', 'config': {'maxval': 1e400}}}}",
                     "'sgd'"),
               "$.config.layers[1].config.kernel_initializer.config.maxval", "a number");
  const char *lw = Q("{'class_name': 'Sequential', 'config': {'layers': [" DENSE "]}, "
                     "'compile_config': {'loss': 'mse', 'loss_weights': 1e400}}");
  expect_error(lw, "$.compile_config.loss_weights", "expected a number");
}
END_TEST

/* ---- input shapes ---- */

START_TEST(disagreeing_shape_keys_refused) {
  const char *tmpl = "{'class_name': 'Sequential', 'config': {'layers': [{'class_name': "
                     "'InputLayer', 'config': {%s}}, " DENSE "]}}";
  char buf[1024];
  snprintf(buf, sizeof buf, tmpl, "'batch_shape': [null, 4], 'batch_input_shape': [null, 5]");
  expect_error(Q(buf), "$.config.layers[0].config.batch_input_shape",
               "expected the same shape as batch_shape (they disagree), got a list of 2 items");
  snprintf(buf, sizeof buf, tmpl, "'batch_shape': [null, 4], 'batch_input_shape': [null, 4, 1]");
  expect_error(Q(buf), "$.config.layers[0].config.batch_input_shape", "the same shape");
  /* Keras's InputLayer refuses shape and batch_shape together, even when they agree */
  snprintf(buf, sizeof buf, tmpl, "'batch_shape': [null, 4], 'shape': [4]");
  expect_error(Q(buf), "$.config.layers[0].config.shape",
               "expected either batch_shape or shape in an InputLayer, got both");
  snprintf(buf, sizeof buf, tmpl, "'batch_input_shape': [null, 4], 'input_shape': [4]");
  expect_error(Q(buf), "$.config.layers[0].config.input_shape", "got both");
  /* agreeing keys of one kind are fine; the batch dimension is not compared */
  snprintf(buf, sizeof buf, tmpl, "'batch_shape': [null, 4], 'batch_input_shape': [32, 4]");
  parse_ok(Q(buf));
  snprintf(buf, sizeof buf, tmpl, "'shape': [4], 'input_shape': [4]");
  parse_ok(Q(buf));
  /* a Keras 2 first layer with batch_input_shape and input_shape that disagree */
  expect_error(Q("{'class_name': 'Sequential', 'config': {'layers': [{'class_name': 'Dense', "
                 "'config': {'units': 2, 'batch_input_shape': [null, 4], 'input_shape': [3]}}]}}"),
               "$.config.layers[0].config.input_shape", "the same shape as batch_input_shape");
  parse_ok(Q("{'class_name': 'Sequential', 'config': {'layers': [{'class_name': 'Dense', "
             "'config': {'units': 2, 'batch_input_shape': [null, 4], 'input_shape': [4]}}]}}"));
}
END_TEST

/* ---- metric names: the History keys (issue 5, review A) ---- */

/* A Keras 3 Sequential Dense(2) on (4,) with MSE and `metrics`. */
static const char *with_metrics(const char *metrics) {
  static char buf[8192];
  snprintf(buf, sizeof buf,
           "{'class_name': 'Sequential', 'keras_version': '3.5.0', 'config': {'name': 'm', "
           "'layers': [{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 4]}}, " DENSE
           "]}, 'compile_config': {'optimizer': 'sgd', 'loss': 'mse', 'metrics': [%s]}}",
           metrics);
  return Q(buf);
}

START_TEST(metric_names_that_are_log_keys_refused) {
  /* "loss" would replace the loss in the logs, "val_*" a validation key */
  expect_error(with_metrics("{'class_name': 'Precision', 'config': {'name': 'loss'}}"),
               "$.compile_config.metrics[0].config.name",
               "expected a metric name other than \"loss\" and not starting with \"val_\"");
  expect_error(with_metrics("'mse', {'class_name': 'Recall', 'config': {'name': 'val_loss'}}"),
               "$.compile_config.metrics[1].config.name", "got \"val_loss\"");
  expect_error(with_metrics("'accuracy', {'class_name': 'MeanAbsoluteError', 'config': {'name': "
                            "'val_accuracy'}}"),
               "$.compile_config.metrics[1].config.name", "not starting with \"val_\"");
  expect_error(with_metrics("{'class_name': 'MeanMetricWrapper', 'config': {'name': 'val_x', "
                            "'fn': 'mae'}}"),
               "$.compile_config.metrics[0].config.name", "got \"val_x\"");
  /* names that only look alike are fine */
  parse_ok(with_metrics("{'class_name': 'Precision', 'config': {'name': 'losses'}}, "
                        "{'class_name': 'Recall', 'config': {'name': 'value'}}, "
                        "{'class_name': 'MeanSquaredError', 'config': {'name': 'Val_x'}}"));
}
END_TEST

START_TEST(resolved_metric_names_unique) {
  /* the string "mean_squared_error" and the class's default name are one key */
  expect_build_error(with_metrics("'mean_squared_error', {'class_name': 'MeanSquaredError'}"),
                     "$.compile_config.metrics[1].config",
                     "expected unique metric names, got \"mean_squared_error\" twice");
  expect_build_error(with_metrics("'accuracy', 'accuracy'"), "$.compile_config.metrics[1]",
                     "got \"accuracy\" twice");
  expect_build_error(with_metrics("{'class_name': 'Precision'}, {'class_name': 'Recall', 'config': "
                                  "{'name': 'precision'}}"),
                     "$.compile_config.metrics[1].config.name", "got \"precision\" twice");
  /* "accuracy" keeps its string as its key (Keras: BinaryAccuracy(name=\"acc\")...) */
  nnc_spec spec;
  nnc_status st = {0};
  ck_assert_int_eq(
      nnc_spec_parse_string(with_metrics("'acc', 'accuracy', 'mse'"), "model.json", &spec, &st),
      NNC_OK);
  ck_assert_str_eq(spec.compile.metrics[0].name, "acc");
  ck_assert_str_eq(spec.compile.metrics[1].name, "accuracy");
  nnc_spec_free(&spec);
}
END_TEST

/* Two 127-byte names that differ only in their last byte, and one whose
 * 64th byte is inside an "é": each keeps its own History and logs key, with
 * its "val_" copy, in full (the keys were 63 bytes). */
START_TEST(long_metric_names_kept_whole) {
  char a[128], b[128], c[128];
  memset(a, 'm', 126), a[126] = 'a', a[127] = '\0';
  memset(b, 'm', 126), b[126] = 'b', b[127] = '\0';
  memset(c, 'x', 63), c[63] = '\0';
  strcat(c, "\xc3\xa9\xc3\xa9"); /* bytes 63..66 */
  char metrics[1024];
  snprintf(metrics, sizeof metrics,
           "{'class_name': 'MeanSquaredError', 'config': {'name': '%s'}}, {'class_name': "
           "'MeanAbsoluteError', 'config': {'name': '%s'}}, {'class_name': "
           "'MeanAbsoluteError', 'config': {'name': '%s'}}",
           a, b, c);
  nnc_model *m = NULL;
  nnc_status st = {0};
  ck_assert_msg(nnc_model_load_string(with_metrics(metrics), "model.json", &m, &st) == NNC_OK, "%s",
                st.message);
  float xd[8 * 4], yd[8 * 2];
  for (int i = 0; i < 8 * 4; i++) xd[i] = (float)(i % 7) / 7.0f - 0.5f;
  for (int i = 0; i < 8 * 2; i++) yd[i] = (float)(i % 3) - 1.0f;
  nnc_array x = {.dtype = NNC_F32, .rank = 2, .shape = {8, 4}, .data = xd};
  nnc_array y = {.dtype = NNC_F32, .rank = 2, .shape = {8, 2}, .data = yd};
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = 1, o.batch_size = 4, o.verbose = 0, o.validation_split = 0.5;
  nnc_history h = {0};
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &h, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(h.n_keys, 8); /* loss, 3 metrics, and their val_ copies */
  const char *names[] = {a, b, c};
  for (int i = 0; i < 3; i++) {
    char val[160];
    snprintf(val, sizeof val, "val_%s", names[i]);
    ck_assert_msg(!isnan(nnc_history_get(&h, names[i], 0)), "no key %s", names[i]);
    ck_assert_msg(!isnan(nnc_history_get(&h, val, 0)), "no key %s", val);
  }
  /* a and b (mse vs mae of a wide target) must not share a value */
  ck_assert(nnc_history_get(&h, a, 0) != nnc_history_get(&h, b, 0));
  /* the file has the eight keys byte for byte: read back by cJSON */
  const char *path = testutil_path(testutil_tmpdir(), "long_names.json");
  ck_assert_int_eq(nnc_history_write_json(&h, path, &st), NNC_OK);
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  char text[8192];
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = '\0';
  cJSON *root = cJSON_Parse(text);
  ck_assert_ptr_nonnull(root);
  ck_assert_int_eq(cJSON_GetArraySize(root), 8);
  for (int i = 0; i < 3; i++) {
    char val[160];
    snprintf(val, sizeof val, "val_%s", names[i]);
    ck_assert_msg(cJSON_GetObjectItemCaseSensitive(root, names[i]), "file lacks %s", names[i]);
    ck_assert_msg(cJSON_GetObjectItemCaseSensitive(root, val), "file lacks %s", val);
  }
  cJSON_Delete(root);
  nnc_history_free(&h);
  nnc_model_free(m);
}
END_TEST

/* ---- escaped NULs (review B): cJSON would end the C string there ---- */

START_TEST(nul_escapes_refused) {
  const char *nul = "expected a string without \\u0000 (a NUL character would end it there), "
                    "got one at byte ";
  /* "den\u0000se" was accepted as the layer "den" */
  expect_error(
      model("{'class_name': 'Dense', 'config': {'name': 'den\\u0000se', 'units': 2}}", "'sgd'"),
      "$.config.layers[1].config.name", nul);
  /* "Dense\u0000Conv2D" compiled as Dense */
  expect_error(model("{'class_name': 'Dense\\u0000Conv2D', 'config': {'units': 2}}", "'sgd'"),
               "$.config.layers[1].class_name", nul);
  /* an optimizer key "momentum\u0000" was applied as momentum: the key is named as written */
  expect_error(model(DENSE, "{'class_name': 'SGD', 'config': {'momentum\\u0000': 0.5}}"),
               "$.compile_config.optimizer.config[\"momentum\\u0000\"]", nul);
  /* anywhere, even in a value nnc never reads, and with the byte offset (line, column) */
  const char *json = Q("{'class_name': 'Sequential', 'module': '\\u0000',\n'config': {}}");
  expect_error(json, "$.module", "got one at byte 40 (line 1, column 41)");
  json = Q("[{'a': [1, {'b': 2, 'c': ['x', 'y\\u0000']}]}]");
  expect_error(json, "$[0].a[1].c[1]", nul);
  /* an escaped backslash before "u0000" is no NUL; other \\u escapes are fine */
  parse_ok(model("{'class_name': 'Dense', 'config': {'name': 'd\\\\u0000', 'units': 2}}", "'sgd'"));
  parse_ok(
      model("{'class_name': 'Dense', 'config': {'name': 'd\\u00e9\\u0030', 'units': 2}}", "'sgd'"));
}
END_TEST

START_TEST(nul_escapes_refused_in_compile_config) {
  nnc_spec spec = {0};
  nnc_status st = {0};
  spec.compile.optimizer.learning_rate = 42;
  int rc = nnc_spec_parse_compile_string(Q("{'loss': 'mse\\u0000x', 'optimizer': 'sgd'}"),
                                         "cc.json", &spec, &st);
  ck_assert_int_eq(rc, NNC_ERR_SPEC);
  ck_assert_str_eq(st.message, "cc.json: $.loss: expected a string without \\u0000 (a NUL "
                               "character would end it there), got one at byte 13 (line 1, "
                               "column 14)");
  ck_assert_double_eq(spec.compile.optimizer.learning_rate, 42); /* unchanged */
}
END_TEST

/* ---- float32 hyperparameters (review C): finite doubles, inf as float32 ---- */

START_TEST(hyperparameters_beyond_float32_refused) {
  expect_error(model(DENSE, "{'class_name': 'SGD', 'config': {'learning_rate': 1e300}}"),
               "$.compile_config.optimizer.config.learning_rate",
               "expected a finite number >= 0 within the float32 range (at most 3.4e38), got "
               "1e+300");
  const char *lw = Q("{'class_name': 'Sequential', 'config': {'layers': [" DENSE "]}, "
                     "'compile_config': {'loss': 'mse', 'loss_weights': 1e300}}");
  expect_error(lw, "$.compile_config.loss_weights",
               "expected a number within the float32 range (at most 3.4e38 in magnitude), got "
               "1e+300");
  lw = Q("{'class_name': 'Sequential', 'config': {'layers': [" DENSE "]}, "
         "'compile_config': {'loss': 'mse', 'loss_weights': [-3.5e38]}}");
  expect_error(lw, "$.compile_config.loss_weights[0]", "float32 range");
  expect_error(model(DENSE, "{'class_name': 'Adam', 'config': {'epsilon': 1e39}}"),
               "$.compile_config.optimizer.config.epsilon", "within the float32 range");
  expect_error(model(DENSE, "{'class_name': 'RMSprop', 'config': {'epsilon': 1e300}}"),
               "$.compile_config.optimizer.config.epsilon", "within the float32 range");
  expect_error(with_metrics("{'class_name': 'BinaryAccuracy', 'config': {'threshold': 1e300}}"),
               "$.compile_config.metrics[0].config.threshold", "float32 range");
  /* the largest float32 values still fit */
  parse_ok(model(DENSE, "{'class_name': 'Adam', 'config': {'learning_rate': 3.4e38, "
                        "'epsilon': 3.4e38}}"));
  parse_ok(Q("{'class_name': 'Sequential', 'config': {'layers': [" DENSE "]}, "
             "'compile_config': {'loss': 'mse', 'loss_weights': -3.4e38}}"));
}
END_TEST

/* ---- name limits in bytes, UTF-8 shown as is (review D) ---- */

START_TEST(name_limit_counts_bytes) {
  char name[64 * 2 + 1] = "", layer[512];
  for (int i = 0; i < 64; i++) strcat(name, "\xc3\xa9"); /* 64 characters, 128 bytes */
  snprintf(layer, sizeof layer, "{'class_name': 'Dense', 'config': {'name': '%s', 'units': 2}}",
           name);
  /* the value is shown as written, cut after 48 characters, never inside one */
  char shown[256] = "expected a name of at most 127 bytes in UTF-8, got \"";
  for (int i = 0; i < 48; i++) strcat(shown, "\xc3\xa9");
  strcat(shown, "...\"");
  expect_error(model(layer, "'sgd'"), "$.config.layers[1].config.name", shown);
  /* 63 of them (126 bytes) fit */
  name[126] = '\0';
  snprintf(layer, sizeof layer, "{'class_name': 'Dense', 'config': {'name': '%s', 'units': 2}}",
           name);
  parse_ok(model(layer, "'sgd'"));
  /* only bytes that are not UTF-8 and control characters become '?' */
  expect_error(model("{'class_name': 'Dense', 'config': {'name': '\xe2\x82\xac\xff\xc2\x85', "
                     "'units': 2}}",
                     "'sgd'"),
               "$.config.layers[1].config.name", "got \"\xe2\x82\xac??\"");
  /* keys in paths too */
  expect_build_error(Q("{'class_name': 'Sequential', 'config': {'layers': [" DENSE "]}, "
                       "'compile_config': {'loss': {'caf\xc3\xa9': 'mse'}}}"),
                     "$.compile_config.loss[\"caf\xc3\xa9\"]",
                     "expected an output name (\"d\") as the key of a loss dict");
}
END_TEST

/* ---- nesting beyond cJSON's limit (review E) ---- */

static char *nested(int depth, const char *prefix, const char *suffix) {
  size_t n = strlen(prefix) + strlen(suffix) + 2 * (size_t)depth + 1;
  char *s = malloc(n);
  ck_assert_ptr_nonnull(s);
  strcpy(s, prefix);
  size_t k = strlen(s);
  for (int i = 0; i < depth; i++) s[k++] = '[';
  for (int i = 0; i < depth; i++) s[k++] = ']';
  strcpy(s + k, suffix);
  return s;
}

START_TEST(nesting_too_deep_said) {
  nnc_spec spec;
  nnc_status st = {0};
  /* cJSON allows CJSON_NESTING_LIMIT (1000) levels: the object plus 999 arrays parse... */
  char *s = nested(CJSON_NESTING_LIMIT - 1, "{\"a\": ", "}");
  ck_assert_int_eq(nnc_spec_parse_string(s, "model.json", &spec, &st), NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, "expected a model object") || strstr(st.message, "$."), "%s",
                st.message);
  ck_assert_ptr_null(strstr(st.message, "nested too deep"));
  free(s);
  /* ...one more does not: the 1001st opener is at byte 6 + 999 */
  s = nested(CJSON_NESTING_LIMIT, "{\"a\": ", "}");
  ck_assert_int_eq(nnc_spec_parse_string(s, "model.json", &spec, &st), NNC_ERR_SPEC);
  ck_assert_str_eq(st.message, "model.json: invalid JSON near byte 1005 (line 1, column 1006): "
                               "nested too deep, expected at most 1000 levels of arrays and "
                               "objects (the parser's limit, cJSON's CJSON_NESTING_LIMIT)");
  free(s);
  /* brackets inside strings do not count; other errors keep their plain message */
  s = nested(10, "{\"a\": \"[[[[\", \"b\": ", ", }");
  ck_assert_int_eq(nnc_spec_parse_string(s, "model.json", &spec, &st), NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, "invalid JSON near byte") && !strstr(st.message, "nested"), "%s",
                st.message);
  free(s);
}
END_TEST

/* A raw NUL byte in a spec file ended the text for cJSON: what followed it
 * went unread (here, a second model object that makes the file invalid). */
START_TEST(nul_byte_in_spec_file_refused) {
  const char *good = model(DENSE, "'sgd'");
  const char *path = testutil_path(testutil_tmpdir(), "nul_byte.json");
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  fwrite(good, 1, strlen(good), f);
  fwrite("\0{}", 1, 3, f);
  fclose(f);
  nnc_spec spec;
  nnc_status st = {0};
  ck_assert_int_eq(nnc_spec_parse_file(path, &spec, &st), NNC_ERR_SPEC);
  char want[512];
  snprintf(want, sizeof want, "%s: invalid JSON near byte %zu (line 1, column %zu): a NUL byte",
           path, strlen(good), strlen(good) + 1);
  ck_assert_str_eq(st.message, want);
}
END_TEST

/* A path clipped at its 255 bytes ends on a whole character: the message
 * stays UTF-8 (glibc's decoder is the judge). */
START_TEST(clipped_paths_stay_utf8) {
  ck_assert_ptr_nonnull(setlocale(LC_CTYPE, "C.UTF-8"));
  for (int pad = 0; pad < 3; pad++) { /* every alignment of the 2-byte characters */
    char key[512] = "", json[1024];
    for (int i = 0; i < pad; i++) strcat(key, "k");
    for (int i = 0; i < 150; i++) strcat(key, "\xc3\xa9");
    snprintf(json, sizeof json,
             "{'class_name': 'Sequential', 'config': {'layers': [" DENSE "]}, "
             "'compile_config': {'loss': {'%s': 'mse'}}}",
             key);
    nnc_spec spec;
    nnc_status st = {0};
    ck_assert_int_eq(nnc_spec_parse_string(Q(json), "model.json", &spec, &st), NNC_ERR_SPEC);
    ck_assert_msg(strstr(st.message, "model.json: $.compile_config.loss[\"") == st.message, "%s",
                  st.message);
    ck_assert_msg(mbstowcs(NULL, st.message, 0) != (size_t)-1, "not UTF-8: %s", st.message);
  }
  setlocale(LC_CTYPE, "C");
}
END_TEST

int main(void) {
  Suite *s = suite_create("spec_strict");
  TCase *tc = tcase_create("strict");
  tcase_add_test(tc, duplicate_keys_anywhere);
  tcase_add_test(tc, duplicate_keys_in_compile_config_string);
  tcase_add_test(tc, keys_differing_in_case_are_distinct);
  tcase_add_test(tc, slash_in_names_refused);
  tcase_add_test(tc, names_must_be_utf8);
  tcase_add_test(tc, unknown_optimizer_arguments_refused);
  tcase_add_test(tc, gradient_accumulation_steps_as_keras);
  tcase_add_test(tc, keras2_legacy_arguments_accepted);
  tcase_add_test(tc, infinite_hyperparameters_refused);
  tcase_add_test(tc, disagreeing_shape_keys_refused);
  tcase_add_test(tc, metric_names_that_are_log_keys_refused);
  tcase_add_test(tc, resolved_metric_names_unique);
  tcase_add_test(tc, long_metric_names_kept_whole);
  tcase_add_test(tc, nul_escapes_refused);
  tcase_add_test(tc, nul_escapes_refused_in_compile_config);
  tcase_add_test(tc, hyperparameters_beyond_float32_refused);
  tcase_add_test(tc, name_limit_counts_bytes);
  tcase_add_test(tc, nesting_too_deep_said);
  tcase_add_test(tc, nul_byte_in_spec_file_refused);
  tcase_add_test(tc, clipped_paths_stay_utf8);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
