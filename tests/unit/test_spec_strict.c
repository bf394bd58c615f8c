/* compiler/spec is strict where Keras is (issue 5, item 9): duplicate JSON
 * keys, "/" in layer and model names, optimizer arguments Keras 3 does not
 * recognize, non-finite hyperparameters, disagreeing input-shape keys and
 * names that are not well-formed UTF-8. Each error is NNC_ERR_SPEC with the
 * file, the JSON path and what was expected. JSON literals use ' for " (Q()). */
#include <check.h>
#include <stdio.h>
#include <string.h>

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
  spec.compile.loss_weight = 42;
  int rc = nnc_spec_parse_compile_string(Q("{'loss': 'mse', 'optimizer': 'sgd', 'loss': 'mae'}"),
                                         "cc.json", &spec, &st);
  ck_assert_int_eq(rc, NNC_ERR_SPEC);
  ck_assert_str_eq(st.message, "cc.json: $.loss: expected each key once in an object, got this "
                               "key twice");
  ck_assert_double_eq(spec.compile.loss_weight, 42); /* unchanged */
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
  expect_error(model(DENSE, "{'class_name': 'SGD', 'config': {'gradient_accumulation_steps': 4}}"),
               "$.compile_config.optimizer.config.gradient_accumulation_steps",
               "gradient accumulation is not supported yet, got 4");
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
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
