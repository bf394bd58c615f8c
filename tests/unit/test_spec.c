/* compiler/spec: the oracle's real Keras files, hand-written Keras 2 / Keras
 * <= 2.2 / tfjs equivalents, defaults, and malformed input (every error names
 * its JSON path). JSON literals use ' for " to stay readable (see Q()). */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "compiler/spec/spec.h"
#include "base/base.h"
#include "testutil.h"

#ifndef NNC_ORACLE_DIR
#define NNC_ORACLE_DIR "../shared/oracle"
#endif

/* ---- helpers ---- */

/* Copy of s with ' turned into ", in a rotating static buffer. */
static const char *Q(const char *s) {
  static char bufs[4][32768];
  static int next;
  char *b = bufs[next++ & 3];
  size_t n = strlen(s);
  ck_assert_uint_lt(n, sizeof bufs[0]);
  for (size_t i = 0; i <= n; i++) b[i] = s[i] == '\'' ? '"' : s[i];
  return b;
}

static nnc_spec parse_ok(const char *json) {
  nnc_spec spec;
  nnc_status st = {0};
  int rc = nnc_spec_parse_string(json, "model.json", &spec, &st);
  ck_assert_msg(rc == NNC_OK, "parse failed: %s", st.message);
  ck_assert_int_eq(st.code, NNC_OK);
  return spec;
}

/* Parse must fail with NNC_ERR_SPEC, a "model.json: " prefix and every needle. */
static void expect_error(const char *json, const char *needle1, const char *needle2) {
  nnc_spec spec;
  nnc_status st = {0};
  int rc = nnc_spec_parse_string(json, "model.json", &spec, &st);
  ck_assert_msg(rc == NNC_ERR_SPEC, "expected NNC_ERR_SPEC, got %d (%s) for %.300s", rc, st.message,
                json);
  ck_assert_int_eq(st.code, NNC_ERR_SPEC);
  ck_assert_msg(strncmp(st.message, "model.json: ", 12) == 0, "no source prefix: %s", st.message);
  ck_assert_msg(strchr(st.message, '\n') == NULL, "message is not one line: %s", st.message);
  ck_assert_msg(strstr(st.message, needle1), "'%s' not in: %s", needle1, st.message);
  if (needle2) ck_assert_msg(strstr(st.message, needle2), "'%s' not in: %s", needle2, st.message);
  ck_assert_int_eq(spec.n_layers, 0);
  ck_assert_ptr_null(spec.layers);
  nnc_spec_free(&spec);
}

/* The oracle case's "model" with its "compile" added as "compile_config". */
static char *case_json(const char *case_name) {
  char path[1024];
  snprintf(path, sizeof path, "%s/cases/%s/case.json", NNC_ORACLE_DIR, case_name);
  nnc_status st = {0};
  char *text = nnc_read_file(path, NULL, &st);
  ck_assert_msg(text != NULL, "%s", st.message);
  cJSON *root = cJSON_Parse(text);
  free(text);
  ck_assert_ptr_nonnull(root);
  cJSON *model = cJSON_DetachItemFromObject(root, "model");
  cJSON *compile = cJSON_DetachItemFromObject(root, "compile");
  ck_assert_ptr_nonnull(model);
  if (compile) cJSON_AddItemToObject(model, "compile_config", compile);
  char *printed = cJSON_PrintUnformatted(model);
  cJSON_Delete(model);
  cJSON_Delete(root);
  return printed;
}

static nnc_spec parse_case(const char *case_name) {
  char *json = case_json(case_name);
  nnc_spec spec = parse_ok(json);
  cJSON_free(json);
  return spec;
}

static void assert_shape(const nnc_spec_shape *s, int rank, int64_t d0, int64_t d1) {
  ck_assert_int_eq(s->rank, rank);
  if (rank > 0) ck_assert_int_eq(s->dims[0], d0);
  if (rank > 1) ck_assert_int_eq(s->dims[1], d1);
}

static void assert_glorot_uniform(const nnc_spec_init *i) {
  ck_assert_int_eq(i->kind, NNC_INIT_VARIANCE_SCALING);
  ck_assert_double_eq(i->scale, 1.0);
  ck_assert_int_eq(i->mode, NNC_FAN_AVG);
  ck_assert_int_eq(i->distribution, NNC_DIST_UNIFORM);
  ck_assert_int_eq(i->has_seed, 0);
}

static void assert_dense(const nnc_spec_layer *l, const char *name, int64_t units,
                         nnc_activation act) {
  ck_assert_int_eq(l->kind, NNC_LAYER_DENSE);
  if (name) ck_assert_str_eq(l->name, name);
  ck_assert_int_eq(l->units, units);
  ck_assert_int_eq(l->activation, act);
  ck_assert_int_eq(l->use_bias, 1);
  ck_assert_int_eq(l->bias_init.kind, NNC_INIT_ZEROS);
}

/* Model S of keras-semantics.md §9: Input(1001) -> Dense(64, relu) -> Dropout(0.05)
 * -> Dense(1); Adam(1e-3), mse, ["mae"]. Format-independent checks. */
static void assert_model_s(const nnc_spec *spec) {
  const nnc_spec_layer *real[3];
  int n_real = 0, inputs_with_shape = 0;
  for (int i = 0; i < spec->n_layers; i++) {
    const nnc_spec_layer *l = &spec->layers[i];
    if (l->has_input_shape) {
      ck_assert_int_eq(i, 0);
      assert_shape(&l->input_shape, 1, 1001, 0);
      inputs_with_shape++;
    }
    if (l->kind == NNC_LAYER_INPUT) {
      ck_assert_int_eq(i, 0);
      continue;
    }
    ck_assert_int_lt(n_real, 3);
    real[n_real++] = l;
  }
  ck_assert_int_eq(inputs_with_shape, 1);
  ck_assert_int_eq(n_real, 3);
  assert_dense(real[0], NULL, 64, NNC_ACT_RELU);
  assert_glorot_uniform(&real[0]->kernel_init);
  ck_assert_int_eq(real[1]->kind, NNC_LAYER_DROPOUT);
  ck_assert_double_eq(real[1]->rate, 0.05);
  assert_dense(real[2], NULL, 1, NNC_ACT_LINEAR);
  assert_glorot_uniform(&real[2]->kernel_init);
  ck_assert_int_eq(spec->compile.present, 1);
  ck_assert_int_eq(spec->compile.optimizer.kind, NNC_OPT_ADAM);
  ck_assert_double_eq_tol(spec->compile.optimizer.learning_rate, 1e-3, 1e-15);
  ck_assert_double_eq_tol(spec->compile.optimizer.beta_1, 0.9, 1e-15);
  ck_assert_double_eq_tol(spec->compile.optimizer.beta_2, 0.999, 1e-15);
  ck_assert_double_eq_tol(spec->compile.optimizer.epsilon, 1e-7, 1e-20);
  ck_assert_int_eq(spec->compile.loss_form, NNC_FORM_ONE);
  ck_assert_int_eq(spec->compile.losses[0].loss.kind, NNC_LOSS_MSE);
  ck_assert_int_eq(spec->compile.n_metrics, 1);
  ck_assert_int_eq(spec->compile.metrics[0].kind, NNC_METRIC_MAE);
  ck_assert_str_eq(spec->compile.metrics[0].name, "mae");
}

/* ---- the oracle's real files ---- */

START_TEST(oracle_all_cases_parse) {
  char dir_path[1024];
  snprintf(dir_path, sizeof dir_path, "%s/cases", NNC_ORACLE_DIR);
  DIR *dir = opendir(dir_path);
  ck_assert_msg(dir != NULL, "cannot open %s", dir_path);
  int n_cases = 0;
  struct dirent *e;
  while ((e = readdir(dir)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char *json = case_json(e->d_name);
    nnc_spec spec;
    nnc_status st = {0};
    int rc = nnc_spec_parse_string(json, "case.json", &spec, &st);
    if (strcmp(e->d_name, "multi_output") == 0 && rc != NNC_OK) {
      /* Two heads: the graph is read; a per-output compile config may not be yet. */
      ck_assert_int_eq(rc, NNC_ERR_SPEC);
      ck_assert_msg(strncmp(st.message, "case.json: $.compile_config.", 28) == 0, "%s", st.message);
    } else {
      ck_assert_msg(rc == NNC_OK, "%s: %s", e->d_name, st.message);
      ck_assert_int_gt(spec.n_layers, 1);
      ck_assert_int_eq(spec.compile.present, 1);
    }
    nnc_spec_free(&spec);
    cJSON_free(json);
    n_cases++;
  }
  closedir(dir);
  ck_assert_int_ge(n_cases, 9);
}
END_TEST

START_TEST(oracle_seed003_seq) {
  nnc_spec spec = parse_case("seed003_seq");
  ck_assert_int_eq(spec.format, NNC_FORMAT_KERAS3);
  ck_assert_int_eq(spec.functional, 0);
  ck_assert_str_eq(spec.name, "seq");
  ck_assert_str_eq(spec.source, "model.json");
  ck_assert_int_eq(spec.n_layers, 3);
  ck_assert_int_eq(spec.layers[0].kind, NNC_LAYER_INPUT);
  ck_assert_str_eq(spec.layers[0].name, "input_layer");
  ck_assert_int_eq(spec.layers[0].has_input_shape, 1);
  assert_shape(&spec.layers[0].input_shape, 2, 60, 10);
  ck_assert_str_eq(spec.layers[0].path, "$.config.layers[0]");
  assert_dense(&spec.layers[1], "dense", 32, NNC_ACT_RELU);
  assert_glorot_uniform(&spec.layers[1].kernel_init);
  ck_assert_int_eq(spec.layers[1].has_input_shape, 0);
  ck_assert_int_eq(spec.layers[1].has_declared_input, 1);
  assert_shape(&spec.layers[1].declared_input, 2, 60, 10);
  ck_assert_str_eq(spec.layers[1].declared_input_path,
                   "$.config.layers[1].build_config.input_shape");
  assert_dense(&spec.layers[2], "dense_1", 1, NNC_ACT_SIGMOID);
  assert_shape(&spec.layers[2].declared_input, 2, 60, 32);

  const nnc_spec_compile *c = &spec.compile;
  ck_assert_int_eq(c->present, 1);
  ck_assert_int_eq(c->optimizer.kind, NNC_OPT_ADAM);
  ck_assert_double_eq_tol(c->optimizer.learning_rate, 0.001, 1e-15);
  ck_assert_int_eq(c->optimizer.amsgrad, 0);
  ck_assert_int_eq(c->losses[0].loss.kind, NNC_LOSS_BCE);
  ck_assert_int_eq(c->losses[0].loss.from_logits, 0);
  ck_assert_int_eq(c->weights_form, NNC_FORM_NONE);
  ck_assert_int_eq(c->n_metrics, 3);
  ck_assert_str_eq(c->metrics[0].name, "accuracy");
  ck_assert_int_eq(c->metrics[0].kind, NNC_METRIC_ACCURACY);
  ck_assert_str_eq(c->metrics[1].name, "precision");
  ck_assert_int_eq(c->metrics[1].kind, NNC_METRIC_PRECISION);
  ck_assert_double_eq(c->metrics[1].threshold, 0.5);
  ck_assert_str_eq(c->metrics[2].name, "recall");
  ck_assert_int_eq(c->metrics[2].kind, NNC_METRIC_RECALL);
  nnc_spec_free(&spec);
}
END_TEST

START_TEST(oracle_seed001_functional_chain) {
  nnc_spec spec = parse_case("seed001_mnist_like");
  ck_assert_int_eq(spec.functional, 1);
  ck_assert_str_eq(spec.name, "functional");
  ck_assert_int_eq(spec.n_layers, 4);
  ck_assert_int_eq(spec.layers[0].kind, NNC_LAYER_INPUT);
  ck_assert_str_eq(spec.layers[0].name, "digits");
  assert_shape(&spec.layers[0].input_shape, 1, 784, 0);
  assert_dense(&spec.layers[1], "dense_1", 64, NNC_ACT_RELU);
  assert_dense(&spec.layers[2], "dense_2", 64, NNC_ACT_RELU);
  assert_dense(&spec.layers[3], "predictions", 10, NNC_ACT_LINEAR);
  ck_assert_int_eq(spec.layers[1].has_declared_input, 1);
  assert_shape(&spec.layers[1].declared_input, 1, 784, 0);
  ck_assert_str_eq(spec.layers[1].declared_input_path,
                   "$.config.layers[1].inbound_nodes[0].args[0].config.shape");
  const nnc_spec_compile *c = &spec.compile;
  ck_assert_int_eq(c->optimizer.kind, NNC_OPT_RMSPROP);
  ck_assert_double_eq_tol(c->optimizer.learning_rate, 0.001, 1e-15);
  ck_assert_double_eq_tol(c->optimizer.rho, 0.9, 1e-15);
  ck_assert_double_eq_tol(c->optimizer.epsilon, 1e-7, 1e-20);
  ck_assert_int_eq(c->optimizer.centered, 0);
  ck_assert_int_eq(c->losses[0].loss.kind, NNC_LOSS_SCCE);
  ck_assert_int_eq(c->losses[0].loss.from_logits, 1);
  ck_assert_int_eq(c->n_metrics, 1);
  ck_assert_int_eq(c->metrics[0].kind, NNC_METRIC_SPARSE_CATEGORICAL_ACCURACY);
  ck_assert_str_eq(c->metrics[0].name, "sparse_categorical_accuracy");
  nnc_spec_free(&spec);
}
END_TEST

START_TEST(oracle_seed004_mlp) {
  nnc_spec spec = parse_case("seed004_mlp");
  ck_assert_int_eq(spec.n_layers, 10);
  static const char *names[] = {"input_layer", "dense",     "dropout", "dense_1",   "dropout_1",
                                "dense_2",     "dropout_2", "dense_3", "dropout_3", "dense_4"};
  for (int i = 0; i < 10; i++) ck_assert_str_eq(spec.layers[i].name, names[i]);
  assert_dense(&spec.layers[9], "dense_4", 1, NNC_ACT_LINEAR);
  for (int i = 2; i < 9; i += 2) {
    ck_assert_int_eq(spec.layers[i].kind, NNC_LAYER_DROPOUT);
    ck_assert_double_eq(spec.layers[i].rate, 0.05);
    ck_assert_int_eq(spec.layers[i].has_seed, 0);
  }
  ck_assert_int_eq(spec.compile.optimizer.kind, NNC_OPT_RMSPROP);
  ck_assert_double_eq_tol(spec.compile.optimizer.learning_rate, 0.0005, 1e-15);
  ck_assert_int_eq(spec.compile.losses[0].loss.kind, NNC_LOSS_MSE);
  ck_assert_int_eq(spec.compile.n_metrics, 2);
  ck_assert_str_eq(spec.compile.metrics[0].name, "mae");
  ck_assert_int_eq(spec.compile.metrics[0].kind, NNC_METRIC_MAE);
  ck_assert_str_eq(spec.compile.metrics[1].name, "mse");
  ck_assert_int_eq(spec.compile.metrics[1].kind, NNC_METRIC_MSE);
  nnc_spec_free(&spec);
}
END_TEST

START_TEST(oracle_keras2_cases) {
  nnc_spec spec = parse_case("seed002_fit_bs1");
  ck_assert_int_eq(spec.format, NNC_FORMAT_KERAS2);
  ck_assert_int_eq(spec.n_layers, 2);
  ck_assert_str_eq(spec.layers[0].name, "dense_input");
  assert_shape(&spec.layers[0].input_shape, 1, 1, 0);
  assert_dense(&spec.layers[1], "dense", 1, NNC_ACT_LINEAR);
  /* The batch_input_shape repeated after an InputLayer is ignored, as Keras
   * ignores it on any but the first layer. */
  ck_assert_int_eq(spec.layers[1].has_input_shape, 0);
  ck_assert_int_eq(spec.layers[1].has_declared_input, 0);
  ck_assert_int_eq(spec.compile.optimizer.kind, NNC_OPT_SGD);
  ck_assert_double_eq_tol(spec.compile.optimizer.learning_rate, 0.01, 1e-15);
  ck_assert_double_eq(spec.compile.optimizer.momentum, 0.0);
  ck_assert_int_eq(spec.compile.optimizer.nesterov, 0);
  ck_assert_int_eq(spec.compile.n_metrics, 0);
  nnc_spec_free(&spec);

  spec = parse_case("seed000_logreg");
  ck_assert_double_eq(spec.compile.optimizer.learning_rate, 2.0);
  ck_assert_int_eq(spec.compile.losses[0].loss.kind, NNC_LOSS_BCE);
  ck_assert_str_eq(spec.compile.metrics[0].name, "accuracy");
  nnc_spec_free(&spec);

  spec = parse_case("adam_early_stop");
  ck_assert_int_eq(spec.compile.optimizer.kind, NNC_OPT_ADAM);
  ck_assert_double_eq_tol(spec.compile.optimizer.learning_rate, 0.005, 1e-15);
  ck_assert_double_eq_tol(spec.compile.optimizer.beta_2, 0.999, 1e-15);
  nnc_spec_free(&spec);
}
END_TEST

START_TEST(parse_file_reads_and_names_source) {
  char path[1024];
  snprintf(path, sizeof path, "%s/s.json", testutil_tmpdir());
  char *json = case_json("seed003_seq");
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  fputs(json, f);
  fclose(f);
  cJSON_free(json);
  nnc_spec spec;
  nnc_status st = {0};
  ck_assert_int_eq(nnc_spec_parse_file(path, &spec, &st), NNC_OK);
  ck_assert_str_eq(spec.source, path);
  ck_assert_int_eq(spec.n_layers, 3);
  nnc_spec_free(&spec);
  ck_assert_int_eq(nnc_spec_parse_file("/nonexistent/model.json", &spec, &st), NNC_ERR_IO);
  ck_assert_ptr_null(spec.layers);
}
END_TEST

/* ---- the same model in every format ---- */

#define DENSE64_K2                                                                                 \
  "{'class_name': 'Dense', 'config': {'name': 'dense', 'trainable': true, 'dtype': 'float32', "    \
  "'units': 64, 'activation': 'relu', 'use_bias': true, "                                          \
  "'kernel_initializer': {'class_name': 'GlorotUniform', 'config': {'seed': null}}, "              \
  "'bias_initializer': {'class_name': 'Zeros', 'config': {}}, 'kernel_regularizer': null, "        \
  "'bias_regularizer': null, 'activity_regularizer': null, 'kernel_constraint': null, "            \
  "'bias_constraint': null}}"

START_TEST(keras3_model_s) {
  nnc_spec spec = parse_ok(Q(
      "{'module': 'keras', 'class_name': 'Sequential', 'registered_name': null, 'config': {"
      "'name': 'sequential', 'trainable': true, 'dtype': {'module': 'keras', 'class_name': "
      "'DTypePolicy', 'config': {'name': 'float32'}, 'registered_name': null}, 'layers': ["
      "{'module': 'keras.layers', 'class_name': 'InputLayer', 'registered_name': null, 'config': "
      "{'batch_shape': [null, 1001], 'dtype': 'float32', 'sparse': false, 'ragged': false, "
      "'name': 'input_layer', 'optional': false}},"
      "{'module': 'keras.layers', 'class_name': 'Dense', 'registered_name': null, "
      "'build_config': {'input_shape': [null, 1001]}, 'config': {'name': 'dense', 'trainable': "
      "true, 'dtype': {'module': 'keras', 'class_name': 'DTypePolicy', 'config': {'name': "
      "'float32'}, 'registered_name': null}, 'units': 64, 'activation': 'relu', 'use_bias': true, "
      "'kernel_initializer': {'module': 'keras.initializers', 'class_name': 'GlorotUniform', "
      "'config': {'seed': null}, 'registered_name': null}, 'bias_initializer': {'module': "
      "'keras.initializers', 'class_name': 'Zeros', 'config': {}, 'registered_name': null}, "
      "'kernel_regularizer': null, 'bias_regularizer': null, 'kernel_constraint': null, "
      "'bias_constraint': null, 'quantization_config': null}},"
      "{'module': 'keras.layers', 'class_name': 'Dropout', 'registered_name': null, 'config': "
      "{'name': 'dropout', 'trainable': true, 'rate': 0.05, 'seed': null, 'noise_shape': null}},"
      "{'module': 'keras.layers', 'class_name': 'Dense', 'registered_name': null, "
      "'build_config': {'input_shape': [null, 64]}, 'config': {'name': 'dense_1', 'units': 1, "
      "'activation': 'linear', 'use_bias': true, 'kernel_initializer': {'module': "
      "'keras.initializers', 'class_name': 'GlorotUniform', 'config': {'seed': null}, "
      "'registered_name': null}, 'bias_initializer': {'module': 'keras.initializers', "
      "'class_name': 'Zeros', 'config': {}, 'registered_name': null}}}], "
      "'build_input_shape': [null, 1001]}, 'build_config': {'input_shape': [null, 1001]}, "
      "'compile_config': {'optimizer': {'module': 'keras.optimizers', 'class_name': 'Adam', "
      "'registered_name': null, 'config': {'name': 'adam', 'learning_rate': 0.001, "
      "'weight_decay': null, 'clipnorm': null, 'global_clipnorm': null, 'clipvalue': null, "
      "'use_ema': false, 'ema_momentum': 0.99, 'ema_overwrite_frequency': null, "
      "'loss_scale_factor': null, 'gradient_accumulation_steps': null, 'beta_1': 0.9, "
      "'beta_2': 0.999, 'epsilon': 1e-07, 'amsgrad': false}}, 'loss': 'mse', 'loss_weights': "
      "null, 'metrics': ['mae'], 'weighted_metrics': null, 'run_eagerly': false, "
      "'steps_per_execution': 1, 'jit_compile': false}}"));
  ck_assert_int_eq(spec.format, NNC_FORMAT_KERAS3);
  assert_model_s(&spec);
  ck_assert_str_eq(spec.layers[3].name, "dense_1");
  nnc_spec_free(&spec);
}
END_TEST

START_TEST(keras2_model_s_with_h5_training_config) {
  nnc_spec spec = parse_ok(
      Q("{'class_name': 'Sequential', 'config': {'name': 'sequential', 'layers': ["
        "{'class_name': 'InputLayer', 'config': {'batch_input_shape': [null, 1001], 'dtype': "
        "'float32', 'sparse': false, 'ragged': false, 'name': 'dense_input'}}," DENSE64_K2 ","
        "{'class_name': 'Dropout', 'config': {'name': 'dropout', 'trainable': true, 'dtype': "
        "'float32', 'rate': 0.05, 'noise_shape': null, 'seed': null}},"
        "{'class_name': 'Dense', 'config': {'name': 'dense_1', 'units': 1, 'activation': 'linear'}}"
        "]}, 'keras_version': '2.12.0', 'backend': 'tensorflow', "
        "'training_config': {'loss': 'mse', 'metrics': [[{'class_name': 'MeanMetricWrapper', "
        "'config': {'name': 'mae', 'dtype': 'float32', 'fn': 'mean_absolute_error'}}]], "
        "'weighted_metrics': null, 'loss_weights': null, 'optimizer_config': {'class_name': "
        "'Custom>Adam', 'config': {'name': 'Adam', 'weight_decay': null, 'clipnorm': null, "
        "'global_clipnorm': null, 'clipvalue': null, 'use_ema': false, 'learning_rate': 0.001, "
        "'beta_1': 0.9, 'beta_2': 0.999, 'epsilon': 1e-07, 'amsgrad': false, "
        "'is_legacy_optimizer': false}}}}"));
  ck_assert_int_eq(spec.format, NNC_FORMAT_KERAS2);
  assert_model_s(&spec);
  ck_assert_str_eq(spec.layers[0].name, "dense_input");
  nnc_spec_free(&spec);
}
END_TEST

START_TEST(keras22_bare_list_variance_scaling) {
  /* Keras <= 2.2.2: config is the bare layer list, no InputLayer, names from _1. */
  nnc_spec spec = parse_ok(
      Q("{'class_name': 'Sequential', 'keras_version': '2.2.2', 'backend': 'tensorflow', "
        "'config': [{'class_name': 'Dense', 'config': {'name': 'dense_1', 'trainable': true, "
        "'batch_input_shape': [null, 1001], 'dtype': 'float32', 'units': 64, 'activation': 'relu', "
        "'use_bias': true, 'kernel_initializer': {'class_name': 'VarianceScaling', 'config': "
        "{'scale': 1.0, 'mode': 'fan_avg', 'distribution': 'uniform', 'seed': null}}, "
        "'bias_initializer': {'class_name': 'Zeros', 'config': {}}, 'kernel_regularizer': null, "
        "'bias_regularizer': null, 'activity_regularizer': null, 'kernel_constraint': null, "
        "'bias_constraint': null}}, {'class_name': 'Dropout', 'config': {'name': 'dropout_1', "
        "'trainable': true, 'rate': 0.05, 'noise_shape': null, 'seed': null}}, "
        "{'class_name': 'Dense', 'config': {'name': 'dense_2', 'units': 1, 'activation': "
        "'linear', 'kernel_initializer': {'class_name': 'VarianceScaling', 'config': {'scale': "
        "1.0, 'mode': 'fan_avg', 'distribution': 'uniform', 'seed': null}}}}], "
        "'compile_config': {'optimizer': {'class_name': 'Adam', 'config': {'lr': 0.001, 'beta_1': "
        "0.9, 'beta_2': 0.999, 'decay': 0.0, 'epsilon': 1e-07, 'amsgrad': false}}, 'loss': "
        "'mean_squared_error', 'metrics': ['mae']}}"));
  ck_assert_int_eq(spec.n_layers, 3);
  ck_assert_str_eq(spec.layers[0].path, "$.config[0]");
  ck_assert_str_eq(spec.layers[0].name, "dense_1");
  ck_assert_int_eq(spec.layers[0].has_input_shape, 1);
  assert_model_s(&spec);
  nnc_spec_free(&spec);
}
END_TEST

START_TEST(tfjs_layers_model_s) {
  nnc_spec spec = parse_ok(
      Q("{'format': 'layers-model', 'generatedBy': 'TensorFlow.js tfjs-layers v4.22.0', "
        "'convertedBy': null, 'modelTopology': {'class_name': 'Sequential', 'config': {'name': "
        "'sequential_1', 'layers': [{'class_name': 'Dense', 'config': {'units': 64, 'activation': "
        "'relu', 'use_bias': true, 'kernel_initializer': {'class_name': 'glorotUniform', 'config': "
        "{'seed': null}}, 'bias_initializer': 'zeros', 'kernel_regularizer': null, "
        "'bias_regularizer': null, 'activity_regularizer': null, 'kernel_constraint': null, "
        "'bias_constraint': null, 'name': 'dense_Dense1', 'trainable': true, 'batch_input_shape': "
        "[null, 1001], 'dtype': 'float32'}}, {'class_name': 'Dropout', 'config': {'rate': 0.05, "
        "'noise_shape': null, 'seed': null, 'name': 'dropout_Dropout1', 'trainable': true}}, "
        "{'class_name': 'Dense', 'config': {'units': 1, 'activation': 'linear', 'use_bias': true, "
        "'kernel_initializer': {'class_name': 'VarianceScaling', 'config': {'scale': 1, 'mode': "
        "'fan_avg', 'distribution': 'uniform', 'seed': null}}, 'bias_initializer': {'class_name': "
        "'Zeros', 'config': {}}, 'name': 'dense_Dense2', 'trainable': true}}]}, 'keras_version': "
        "'tfjs-layers 4.22.0', 'backend': 'tensor_flow.js'}, 'weightsManifest': [], "
        "'trainingConfig': {'loss': 'meanSquaredError', 'metrics': ['mae'], 'optimizer_config': "
        "{'class_name': 'Adam', 'config': {'learningRate': 0.001, 'beta1': 0.9, 'beta2': 0.999, "
        "'epsilon': 1e-7}}}}"));
  ck_assert_int_eq(spec.format, NNC_FORMAT_TFJS);
  ck_assert_str_eq(spec.name, "sequential_1");
  ck_assert_str_eq(spec.layers[0].path, "$.modelTopology.config.layers[0]");
  ck_assert_str_eq(spec.layers[2].name, "dense_Dense2");
  assert_model_s(&spec);
  nnc_spec_free(&spec);
}
END_TEST

START_TEST(tfjs_converter_model_config) {
  nnc_spec spec = parse_ok(
      Q("{'format': 'layers-model', 'generatedBy': 'keras v2.15.0', 'convertedBy': "
        "'TensorFlow.js Converter v4.22.0', 'modelTopology': {'keras_version': '2.15.0', "
        "'backend': 'tensorflow', 'model_config': {'class_name': 'Sequential', 'config': {'name': "
        "'sequential', 'layers': [{'class_name': 'InputLayer', 'config': {'batch_input_shape': "
        "[null, 1001], 'dtype': 'float32', 'name': 'dense_input'}}," DENSE64_K2 ", {'class_name': "
        "'Dropout', 'config': {'name': 'dropout', 'rate': 0.05}}, {'class_name': 'Dense', "
        "'config': {'name': 'dense_1', 'units': 1}}]}}, 'training_config': {'loss': 'mse', "
        "'metrics': ['mae'], 'optimizer_config': {'class_name': 'Adam', 'config': "
        "{'learning_rate': 0.001}}}}, 'weightsManifest': []}"));
  ck_assert_int_eq(spec.format, NNC_FORMAT_TFJS);
  ck_assert_str_eq(spec.layers[1].path, "$.modelTopology.model_config.config.layers[1]");
  assert_model_s(&spec);
  nnc_spec_free(&spec);
}
END_TEST

START_TEST(sequential_without_input_shape) {
  nnc_spec spec = parse_ok(
      Q("{'class_name': 'Sequential', 'config': {'layers': [{'class_name': 'Dense', 'config': "
        "{'units': 8, 'activation': 'tanh'}}, {'class_name': 'Flatten'}, {'class_name': "
        "'Activation', 'config': {'activation': 'softmax'}}, {'class_name': 'Dense', 'config': "
        "{'units': 2}}, {'class_name': 'Dropout', 'config': {'rate': 0, 'seed': 7}}]}}"));
  ck_assert_int_eq(spec.n_layers, 5);
  for (int i = 0; i < spec.n_layers; i++) {
    ck_assert_int_eq(spec.layers[i].has_input_shape, 0);
    ck_assert_int_eq(spec.layers[i].has_declared_input, 0);
  }
  ck_assert_str_eq(spec.name, "sequential");
  /* Keras-style generated names. */
  ck_assert_str_eq(spec.layers[0].name, "dense");
  ck_assert_str_eq(spec.layers[1].name, "flatten");
  ck_assert_str_eq(spec.layers[2].name, "activation");
  ck_assert_int_eq(spec.layers[2].activation, NNC_ACT_SOFTMAX);
  ck_assert_str_eq(spec.layers[3].name, "dense_1");
  ck_assert_int_eq(spec.layers[3].activation, NNC_ACT_LINEAR);
  assert_glorot_uniform(&spec.layers[3].kernel_init);
  ck_assert_int_eq(spec.layers[3].bias_init.kind, NNC_INIT_ZEROS);
  ck_assert_int_eq(spec.layers[4].has_seed, 1);
  ck_assert_int_eq(spec.layers[4].seed, 7);
  ck_assert_int_eq(spec.compile.present, 0);
  nnc_spec_free(&spec);
}
END_TEST

START_TEST(generated_names_avoid_explicit_ones) {
  nnc_spec spec = parse_ok(
      Q("{'class_name': 'Sequential', 'config': {'layers': [{'class_name': 'Dense', 'config': "
        "{'units': 8}}, {'class_name': 'Dense', 'config': {'units': 8, 'name': 'dense'}}, "
        "{'class_name': 'Dense', 'config': {'units': 8}}]}}"));
  ck_assert_str_eq(spec.layers[0].name, "dense_1");
  ck_assert_str_eq(spec.layers[1].name, "dense");
  ck_assert_str_eq(spec.layers[2].name, "dense_2");
  nnc_spec_free(&spec);
}
END_TEST

START_TEST(input_layer_shape_forms) {
  nnc_spec spec = parse_ok(
      Q("{'class_name': 'Sequential', 'config': {'layers': [{'class_name': 'InputLayer', "
        "'config': {'shape': [4, 5, 6]}}, {'class_name': 'Flatten', 'config': {'data_format': "
        "'channels_last'}}, {'class_name': 'Dense', 'config': {'units': 3}}]}}"));
  assert_shape(&spec.layers[0].input_shape, 3, 4, 5);
  ck_assert_int_eq(spec.layers[0].input_shape.dims[2], 6);
  ck_assert_str_eq(spec.layers[0].name, "input_layer");
  ck_assert_int_eq(spec.layers[1].kind, NNC_LAYER_FLATTEN);
  nnc_spec_free(&spec);
  /* A fixed batch size in batch_input_shape is dropped. */
  spec = parse_ok(Q("{'class_name': 'Sequential', 'config': {'layers': [{'class_name': 'Dense', "
                    "'config': {'units': 3, 'batch_input_shape': [32, 7]}}]}}"));
  assert_shape(&spec.layers[0].input_shape, 1, 7, 0);
  nnc_spec_free(&spec);
}
END_TEST

/* ---- Functional ---- */

#define K3_TENSOR(src, dim)                                                                        \
  "{'args': [{'class_name': '__keras_tensor__', 'config': {'shape': [null, " dim "], "             \
  "'dtype': 'float32', 'keras_history': ['" src "', 0, 0]}}], 'kwargs': {}}"

START_TEST(functional_keras3_order_follows_links) {
  /* Listed output first; the chain is x -> h -> out. Flat input/output refs. */
  nnc_spec spec = parse_ok(Q(
      "{'module': 'keras.src.models.functional', 'class_name': 'Functional', 'config': {"
      "'name': 'chain', 'layers': ["
      "{'class_name': 'Dense', 'name': 'out', 'config': {'name': 'out', 'units': 1, "
      "'activation': 'sigmoid'}, 'inbound_nodes': [" K3_TENSOR(
          "h",
          "16") "]},"
                "{'class_name': 'InputLayer', 'name': 'x', 'config': {'batch_shape': [null, 8], "
                "'name': "
                "'x'}, 'inbound_nodes': []},"
                "{'class_name': 'Dense', 'name': 'h', 'config': {'name': 'h', 'units': 16, "
                "'activation': "
                "'relu'}, 'build_config': {'input_shape': [null, 8]}, 'inbound_nodes': [" K3_TENSOR(
                    "x",
                    "8") "]}], 'input_layers': ['x', 0, 0], 'output_layers': ['out', 0, 0]}}"));
  ck_assert_int_eq(spec.functional, 1);
  ck_assert_int_eq(spec.n_layers, 3); /* config order */
  ck_assert_str_eq(spec.layers[1].name, "x");
  ck_assert_str_eq(spec.layers[1].path, "$.config.layers[1]");
  /* the calls follow the links: h, then out */
  ck_assert_int_eq(spec.n_inputs, 1);
  ck_assert_int_eq(spec.inputs[0].layer, 1);
  ck_assert_int_eq(spec.n_calls, 2);
  ck_assert_str_eq(spec.layers[spec.calls[0].layer].name, "h");
  ck_assert_int_eq(spec.calls[0].args[0], -1);
  ck_assert_str_eq(spec.layers[spec.calls[1].layer].name, "out");
  ck_assert_int_eq(spec.calls[1].args[0], 0);
  ck_assert_int_eq(spec.n_outputs, 1);
  ck_assert_int_eq(spec.outputs[0], 1);
  assert_shape(&spec.layers[0].declared_input, 1, 16, 0);
  nnc_spec_free(&spec);
}
END_TEST

START_TEST(functional_keras2_model_class) {
  nnc_spec spec = parse_ok(
      Q("{'class_name': 'Model', 'keras_version': '2.1.6', 'config': {'name': 'm', 'layers': ["
        "{'class_name': 'Dense', 'name': 'b', 'config': {'name': 'b', 'units': 2}, "
        "'inbound_nodes': [[['a', 0, 0, {}]]]},"
        "{'class_name': 'Dense', 'name': 'a', 'config': {'name': 'a', 'units': 3}, "
        "'inbound_nodes': [[['in', 0, 0, {}]]]},"
        "{'class_name': 'InputLayer', 'name': 'in', 'config': {'batch_input_shape': [null, 5], "
        "'name': 'in'}, 'inbound_nodes': []}], "
        "'input_layers': [['in', 0, 0]], 'output_layers': [['b', 0, 0]]}, "
        "'compile_config': {'optimizer': 'rmsprop', 'loss': {'b': 'categorical_crossentropy'}, "
        "'loss_weights': {'b': 2.0}, 'metrics': {'b': ['acc', 'categorical_accuracy']}}}"));
  ck_assert_int_eq(spec.format, NNC_FORMAT_KERAS2);
  ck_assert_int_eq(spec.n_calls, 2);
  ck_assert_str_eq(spec.layers[spec.calls[0].layer].name, "a");
  ck_assert_str_eq(spec.layers[spec.calls[1].layer].name, "b");
  ck_assert_int_eq(spec.compile.loss_form, NNC_FORM_DICT);
  ck_assert_str_eq(spec.compile.losses[0].key, "b");
  ck_assert_int_eq(spec.compile.losses[0].loss.kind, NNC_LOSS_CCE);
  ck_assert_int_eq(spec.compile.weights_form, NNC_FORM_DICT);
  ck_assert_str_eq(spec.compile.weights[0].key, "b");
  ck_assert_double_eq(spec.compile.weights[0].weight, 2.0);
  ck_assert_int_eq(spec.compile.metrics_form, NNC_FORM_DICT);
  ck_assert_str_eq(spec.compile.groups[0].key, "b");
  ck_assert_int_eq(spec.compile.n_metrics, 2);
  ck_assert_str_eq(spec.compile.metrics[0].name, "acc");
  ck_assert_int_eq(spec.compile.metrics[0].kind, NNC_METRIC_ACCURACY);
  ck_assert_int_eq(spec.compile.metrics[1].kind, NNC_METRIC_CATEGORICAL_ACCURACY);
  nnc_spec_free(&spec);
}
END_TEST

#define FUNC_HEAD                                                                                  \
  "{'class_name': 'Functional', 'config': {'layers': [{'class_name': 'InputLayer', 'name': "       \
  "'x', 'config': {'batch_shape': [null, 4], 'name': 'x'}, 'inbound_nodes': []}, "

START_TEST(functional_bad_graphs) {
  /* A branch that leads to no output. */
  expect_error(Q(FUNC_HEAD "{'class_name': 'Dense', 'name': 'h', 'config': {'units': 2}, "
                           "'inbound_nodes': [[['x', 0, 0, {}]]]}, {'class_name': 'Dense', "
                           "'name': 'a', 'config': {'units': 1}, 'inbound_nodes': [[['h', 0, 0, "
                           "{}]]]}, {'class_name': 'Dense', 'name': 'b', 'config': {'units': 1}, "
                           "'inbound_nodes': [[['h', 0, 0, {}]]]}], 'input_layers': [['x', 0, "
                           "0]], 'output_layers': [['a', 0, 0]]}}"),
               "model.json: $.config.layers[3].inbound_nodes[0]: expected every layer call to "
               "lead to a model output, but this call of \"b\" does not",
               NULL);
  /* An input never used. */
  expect_error(Q(FUNC_HEAD "{'class_name': 'InputLayer', 'name': 'y', 'config': {'batch_shape': "
                           "[null, 4]}, 'inbound_nodes': []}], 'input_layers': [['x', 0, 0], "
                           "['y', 0, 0]], 'output_layers': [['x', 0, 0]]}}"),
               "model.json: $.config.input_layers[1]: expected every model input to be used, but "
               "input \"y\" feeds no output",
               NULL);
  /* A node index beyond the layer's calls. */
  expect_error(Q(FUNC_HEAD "{'class_name': 'Dense', 'name': 'd', 'config': {'units': 4}, "
                           "'inbound_nodes': [[['x', 0, 0, {}]]]}], "
                           "'input_layers': [['x', 0, 0]], 'output_layers': [['d', 1, 0]]}}"),
               "model.json: $.config.output_layers[0][1]: expected a node index below 1 (layer "
               "\"d\" is called 1 time), got 1",
               NULL);
  /* A tensor index other than 0 of an InputLayer (a layer's outputs >= 1 are
   * checked when it is lowered: test_layer_io). */
  expect_error(Q(FUNC_HEAD "{'class_name': 'Dense', 'name': 'd', 'config': {'units': 4}, "
                           "'inbound_nodes': [[['x', 0, 2, {}]]]}], "
                           "'input_layers': [['x', 0, 0]], 'output_layers': [['d', 0, 0]]}}"),
               "model.json: $.config.layers[1].inbound_nodes[0][0][2]: expected tensor index 0 "
               "(InputLayer \"x\" has one output), got 2",
               NULL);
  /* Two tensors into a one-input layer. */
  expect_error(Q(FUNC_HEAD "{'class_name': 'Dense', 'name': 'd', 'config': {'units': 4}, "
                           "'inbound_nodes': [[['x', 0, 0, {}], ['x', 0, 0, {}]]]}], "
                           "'input_layers': [['x', 0, 0]], 'output_layers': [['d', 0, 0]]}}"),
               "model.json: $.config.layers[1].inbound_nodes[0]: expected one input tensor for "
               "Dense \"d\", got 2",
               NULL);
  /* An InputLayer that input_layers does not list. */
  expect_error(Q(FUNC_HEAD "{'class_name': 'Dense', 'name': 'd', 'config': {'units': 4}, "
                           "'inbound_nodes': [[['z', 0, 0, {}]]]}, {'class_name': 'InputLayer', "
                           "'name': 'z', 'config': {'batch_shape': [null, 4]}, 'inbound_nodes': "
                           "[]}], 'input_layers': [['x', 0, 0]], 'output_layers': [['d', 0, 0]]}}"),
               "model.json: $.config.layers[1].inbound_nodes[0][0]: expected a model input, got "
               "InputLayer \"z\", which input_layers does not list",
               NULL);
  /* An unknown reference. */
  expect_error(Q(FUNC_HEAD "{'class_name': 'Dense', 'name': 'd', 'config': {'units': 4}, "
                           "'inbound_nodes': [[['nope', 0, 0, {}]]]}], 'input_layers': [['x', 0, "
                           "0]], 'output_layers': [['d', 0, 0]]}}"),
               "$.config.layers[1].inbound_nodes[0][0][0]: expected the name of a layer",
               "got \"nope\"");
  /* A cycle: d -> e -> d. */
  expect_error(Q(FUNC_HEAD "{'class_name': 'Dense', 'name': 'd', 'config': {'units': 4}, "
                           "'inbound_nodes': [[['e', 0, 0, {}]]]}, {'class_name': 'Dense', "
                           "'name': 'e', 'config': {'units': 4}, 'inbound_nodes': [[['d', 0, 0, "
                           "{}]]]}], 'input_layers': [['x', 0, 0]], 'output_layers': [['e', 0, "
                           "0]]}}"),
               "model.json: $.config.layers[1].inbound_nodes[0]: expected the layers to form a "
               "graph without cycles, but \"d\" depends on its own output",
               NULL);
  /* training=True changes semantics; other call arguments too. */
  expect_error(Q(FUNC_HEAD "{'class_name': 'Dropout', 'name': 'd', 'config': {'rate': 0.5}, "
                           "'inbound_nodes': [[['x', 0, 0, {'training': true}]]]}], "
                           "'input_layers': [['x', 0, 0]], 'output_layers': [['d', 0, 0]]}}"),
               "model.json: $.config.layers[1].inbound_nodes[0][0][3].training: a call argument "
               "training other than false or null is not supported yet",
               NULL);
  expect_error(Q(FUNC_HEAD "{'class_name': 'Dropout', 'name': 'd', 'config': {'rate': 0.5}, "
                           "'inbound_nodes': [[['x', 0, 0, {'scale': 'x2'}]]]}], "
                           "'input_layers': [['x', 0, 0]], 'output_layers': [['d', 0, 0]]}}"),
               "model.json: $.config.layers[1].inbound_nodes[0][0][3].scale: a call argument "
               "other than a tensor, a list of tensors, a number or a bool",
               NULL);
}
END_TEST

/* ---- layers, activations, initializers ---- */

#define SEQ1(layer) "{'class_name': 'Sequential', 'config': {'layers': [" layer "]}}"

START_TEST(all_activations) {
  static const struct {
    const char *text;
    nnc_activation act;
  } cases[] = {
      {"linear", NNC_ACT_LINEAR},
      {"relu", NNC_ACT_RELU},
      {"sigmoid", NNC_ACT_SIGMOID},
      {"tanh", NNC_ACT_TANH},
      {"softmax", NNC_ACT_SOFTMAX},
      {"elu", NNC_ACT_ELU},
      {"selu", NNC_ACT_SELU},
      {"softplus", NNC_ACT_SOFTPLUS},
      {"softsign", NNC_ACT_SOFTSIGN},
      {"swish", NNC_ACT_SWISH},
      {"silu", NNC_ACT_SWISH},
      {"gelu", NNC_ACT_GELU},
      {"leaky_relu", NNC_ACT_LEAKY_RELU},
      {"exponential", NNC_ACT_EXPONENTIAL},
      {"hard_sigmoid", NNC_ACT_HARD_SIGMOID},
      {"hardSigmoid", NNC_ACT_HARD_SIGMOID},
  };
  char json[512];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    snprintf(json, sizeof json,
             "{\"class_name\": \"Sequential\", \"config\": {\"layers\": [{\"class_name\": "
             "\"Dense\", \"config\": {\"units\": 2, \"activation\": \"%s\"}}]}}",
             cases[i].text);
    nnc_spec spec = parse_ok(json);
    ck_assert_msg(spec.layers[0].activation == cases[i].act, "%s", cases[i].text);
    nnc_spec_free(&spec);
  }
  for (int a = 0; a < NNC_ACT_COUNT; a++) ck_assert_ptr_nonnull(nnc_activation_name(a));
  ck_assert_str_eq(nnc_activation_name(NNC_ACT_SWISH), "swish");
  ck_assert_str_eq(nnc_activation_name(NNC_ACT_HARD_SIGMOID), "hard_sigmoid");
  /* null and the Keras 3 function object. */
  nnc_spec spec = parse_ok(
      Q(SEQ1("{'class_name': 'Dense', 'config': {'units': 2, 'activation': null}}, {'class_name': "
             "'Activation', 'config': {'activation': {'module': 'keras.activations', 'class_name': "
             "'function', 'config': 'gelu', 'registered_name': 'function'}}}")));
  ck_assert_int_eq(spec.layers[0].activation, NNC_ACT_LINEAR);
  ck_assert_int_eq(spec.layers[1].activation, NNC_ACT_GELU);
  nnc_spec_free(&spec);
}
END_TEST

START_TEST(initializer_strings_and_objects) {
  nnc_spec spec = parse_ok(Q(SEQ1(
      "{'class_name': 'Dense', 'config': {'units': 2, 'kernel_initializer': 'he_normal', "
      "'bias_initializer': 'ones'}},"
      "{'class_name': 'Dense', 'config': {'units': 2, 'kernel_initializer': 'lecun_uniform', "
      "'bias_initializer': {'class_name': 'Constant', 'config': {'value': 0.5}}}},"
      "{'class_name': 'Dense', 'config': {'units': 2, 'kernel_initializer': {'class_name': "
      "'RandomUniform', 'config': {'minval': -0.1, 'maxval': 0.2, 'seed': 42}}, "
      "'bias_initializer': {'class_name': 'RandomNormal', 'config': {'seed': null}}}},"
      "{'class_name': 'Dense', 'config': {'units': 2, 'kernel_initializer': {'class_name': "
      "'VarianceScaling', 'config': {'scale': 2.0, 'mode': 'fan_out', 'distribution': "
      "'untruncated_normal'}}, 'bias_initializer': {'class_name': 'TruncatedNormal', 'config': "
      "{'mean': 1.0, 'stddev': 0.5}}}},"
      "{'class_name': 'Dense', 'config': {'units': 2, 'kernel_initializer': {'class_name': "
      "'varianceScaling', 'config': {'distribution': 'normal'}}, 'bias_initializer': "
      "{'class_name': 'heUniform', 'config': {}}}},"
      "{'class_name': 'Dense', 'config': {'units': 2, 'use_bias': false, 'kernel_initializer': "
      "'GlorotNormal', 'bias_initializer': 'random_uniform'}}")));
  const nnc_spec_layer *l = spec.layers;
  ck_assert_int_eq(l[0].kernel_init.kind, NNC_INIT_VARIANCE_SCALING);
  ck_assert_double_eq(l[0].kernel_init.scale, 2.0);
  ck_assert_int_eq(l[0].kernel_init.mode, NNC_FAN_IN);
  ck_assert_int_eq(l[0].kernel_init.distribution, NNC_DIST_TRUNCATED_NORMAL);
  ck_assert_int_eq(l[0].bias_init.kind, NNC_INIT_ONES);
  ck_assert_double_eq(l[1].kernel_init.scale, 1.0);
  ck_assert_int_eq(l[1].kernel_init.mode, NNC_FAN_IN);
  ck_assert_int_eq(l[1].kernel_init.distribution, NNC_DIST_UNIFORM);
  ck_assert_int_eq(l[1].bias_init.kind, NNC_INIT_CONSTANT);
  ck_assert_double_eq(l[1].bias_init.value, 0.5);
  ck_assert_int_eq(l[2].kernel_init.kind, NNC_INIT_RANDOM_UNIFORM);
  ck_assert_double_eq(l[2].kernel_init.minval, -0.1);
  ck_assert_double_eq(l[2].kernel_init.maxval, 0.2);
  ck_assert_int_eq(l[2].kernel_init.has_seed, 1);
  ck_assert_int_eq(l[2].kernel_init.seed, 42);
  ck_assert_int_eq(l[2].bias_init.kind, NNC_INIT_RANDOM_NORMAL);
  ck_assert_double_eq(l[2].bias_init.mean, 0.0);
  ck_assert_double_eq(l[2].bias_init.stddev, 0.05);
  ck_assert_int_eq(l[2].bias_init.has_seed, 0);
  ck_assert_double_eq(l[3].kernel_init.scale, 2.0);
  ck_assert_int_eq(l[3].kernel_init.mode, NNC_FAN_OUT);
  ck_assert_int_eq(l[3].kernel_init.distribution, NNC_DIST_UNTRUNCATED_NORMAL);
  ck_assert_int_eq(l[3].bias_init.kind, NNC_INIT_TRUNCATED_NORMAL);
  ck_assert_double_eq(l[3].bias_init.mean, 1.0);
  ck_assert_double_eq(l[3].bias_init.stddev, 0.5);
  /* VarianceScaling defaults: scale 1, fan_in; "normal" is truncated. */
  ck_assert_double_eq(l[4].kernel_init.scale, 1.0);
  ck_assert_int_eq(l[4].kernel_init.mode, NNC_FAN_IN);
  ck_assert_int_eq(l[4].kernel_init.distribution, NNC_DIST_TRUNCATED_NORMAL);
  ck_assert_double_eq(l[4].bias_init.scale, 2.0);
  ck_assert_int_eq(l[4].bias_init.distribution, NNC_DIST_UNIFORM);
  ck_assert_int_eq(l[5].use_bias, 0);
  ck_assert_int_eq(l[5].kernel_init.mode, NNC_FAN_AVG);
  ck_assert_int_eq(l[5].kernel_init.distribution, NNC_DIST_TRUNCATED_NORMAL);
  ck_assert_int_eq(l[5].bias_init.kind, NNC_INIT_RANDOM_UNIFORM);
  ck_assert_double_eq(l[5].bias_init.minval, -0.05);
  nnc_spec_free(&spec);
}
END_TEST

/* ---- compile config ---- */

/* The last config parsed stays reachable here until the next call. */
static nnc_spec compile_last;

static nnc_spec_compile compile_ok(const char *json) {
  nnc_spec_free(&compile_last);
  nnc_status st = {0};
  int rc = nnc_spec_parse_compile_string(json, "compile.json", &compile_last, &st);
  ck_assert_msg(rc == NNC_OK, "%s", st.message);
  ck_assert_int_eq(compile_last.compile.present, 1);
  return compile_last.compile;
}

static void compile_error(const char *json, const char *needle1, const char *needle2) {
  nnc_spec spec = {0};
  nnc_status st = {0};
  spec.compile.optimizer.learning_rate = 42; /* must survive a failed parse */
  int rc = nnc_spec_parse_compile_string(json, "compile.json", &spec, &st);
  ck_assert_msg(rc == NNC_ERR_SPEC, "expected an error, got %d (%s)", rc, st.message);
  ck_assert_msg(strncmp(st.message, "compile.json: ", 14) == 0, "%s", st.message);
  ck_assert_msg(strstr(st.message, needle1), "'%s' not in: %s", needle1, st.message);
  if (needle2) ck_assert_msg(strstr(st.message, needle2), "'%s' not in: %s", needle2, st.message);
  ck_assert_double_eq(spec.compile.optimizer.learning_rate, 42);
}

START_TEST(optimizer_string_defaults) {
  nnc_spec_compile c = compile_ok(Q("{'optimizer': 'sgd', 'loss': 'mse'}"));
  ck_assert_int_eq(c.optimizer.kind, NNC_OPT_SGD);
  ck_assert_double_eq_tol(c.optimizer.learning_rate, 0.01, 1e-15);
  ck_assert_double_eq(c.optimizer.momentum, 0);
  ck_assert_int_eq(c.optimizer.nesterov, 0);
  c = compile_ok(Q("{'optimizer': 'RMSprop', 'loss': 'mse'}"));
  ck_assert_int_eq(c.optimizer.kind, NNC_OPT_RMSPROP);
  ck_assert_double_eq_tol(c.optimizer.learning_rate, 0.001, 1e-15);
  ck_assert_double_eq_tol(c.optimizer.rho, 0.9, 1e-15);
  ck_assert_double_eq(c.optimizer.momentum, 0);
  ck_assert_double_eq_tol(c.optimizer.epsilon, 1e-7, 1e-20);
  ck_assert_int_eq(c.optimizer.centered, 0);
  c = compile_ok(Q("{'optimizer': 'ADAM', 'loss': 'mse'}"));
  ck_assert_int_eq(c.optimizer.kind, NNC_OPT_ADAM);
  ck_assert_double_eq_tol(c.optimizer.learning_rate, 0.001, 1e-15);
  ck_assert_double_eq_tol(c.optimizer.beta_1, 0.9, 1e-15);
  ck_assert_double_eq_tol(c.optimizer.beta_2, 0.999, 1e-15);
  ck_assert_double_eq_tol(c.optimizer.epsilon, 1e-7, 1e-20);
  ck_assert_int_eq(c.optimizer.amsgrad, 0);
  /* Missing optimizer: Keras's compile() default. */
  c = compile_ok(Q("{'loss': 'mse'}"));
  ck_assert_int_eq(c.optimizer.kind, NNC_OPT_RMSPROP);
  ck_assert_int_eq(c.weights_form, NNC_FORM_NONE);
  ck_assert_int_eq(c.n_metrics, 0);
}
END_TEST

START_TEST(optimizer_objects) {
  nnc_spec_compile c = compile_ok(
      Q("{'optimizer': {'class_name': 'SGD', 'config': {'learning_rate': 0.1, 'momentum': 0.9, "
        "'nesterov': true}}, 'loss': 'mse'}"));
  ck_assert_double_eq(c.optimizer.learning_rate, 0.1);
  ck_assert_double_eq(c.optimizer.momentum, 0.9);
  ck_assert_int_eq(c.optimizer.nesterov, 1);
  c = compile_ok(Q("{'optimizer': {'class_name': 'RMSprop', 'config': {'learning_rate': 0.01, "
                   "'rho': 0.8, 'momentum': 0.5, 'epsilon': 1e-6, 'centered': true}}, 'loss': "
                   "'mse'}"));
  ck_assert_double_eq(c.optimizer.rho, 0.8);
  ck_assert_double_eq(c.optimizer.momentum, 0.5);
  ck_assert_double_eq(c.optimizer.epsilon, 1e-6);
  ck_assert_int_eq(c.optimizer.centered, 1);
  c = compile_ok(Q("{'optimizer': {'class_name': 'Adam', 'config': {'beta_1': 0.5, "
                   "'amsgrad': true}}, 'loss': 'mse'}"));
  ck_assert_double_eq(c.optimizer.beta_1, 0.5);
  ck_assert_double_eq_tol(c.optimizer.learning_rate, 0.001, 1e-15);
  ck_assert_int_eq(c.optimizer.amsgrad, 1);
}
END_TEST

START_TEST(optimizer_unsupported_options) {
  compile_error(Q("{'optimizer': {'class_name': 'Adam', 'config': {'clipnorm': 1.0, "
                  "'clipvalue': 0.5}}, 'loss': 'mse'}"),
                "$.optimizer.config.clipvalue: expected one of clipnorm, clipvalue and "
                "global_clipnorm",
                "got clipnorm and clipvalue");
  compile_error(Q("{'optimizer': {'class_name': 'SGD', 'config': {'clipvalue': -0.5}}, 'loss': "
                  "'mse'}"),
                "$.optimizer.config.clipvalue: expected a finite number >= 0", "got -0.5");
  compile_error(Q("{'optimizer': {'class_name': 'SGD', 'config': {'loss_scale_factor': 0}}, "
                  "'loss': 'mse'}"),
                "$.optimizer.config.loss_scale_factor: expected a finite number > 0", "got 0");
  compile_error(Q("{'optimizer': {'class_name': 'AdamW', 'config': {'weight_decay': null}}, "
                  "'loss': 'mse'}"),
                "$.optimizer.config.weight_decay: expected a number: Keras 3's AdamW refuses "
                "weight_decay=None",
                NULL);
  compile_error(Q("{'optimizer': {'class_name': 'Adam', 'config': {'use_ema': true, "
                  "'ema_overwrite_frequency': 1.5}}, 'loss': 'mse'}"),
                "$.optimizer.config.ema_overwrite_frequency: expected null or an integer >= 1",
                "got 1.5");
  compile_error(Q("{'optimizer': {'class_name': 'Adam', 'config': {'learning_rate': "
                  "{'class_name': 'ExponentialDecay', 'config': {}}}}, 'loss': 'mse'}"),
                "$.optimizer.config.learning_rate.config.initial_learning_rate: expected a number",
                NULL);
  compile_error(Q("{'optimizer': 'adabelief', 'loss': 'mse'}"),
                "$.optimizer: expected an optimizer", "got \"adabelief\"");
  compile_error(Q("{'optimizer': {'class_name': 'SGD', 'config': {'momentum': -1}}, 'loss': "
                  "'mse'}"),
                "$.optimizer.config.momentum: expected a number in [0, 1], got -1", NULL);
  compile_error(Q("{'optimizer': {'class_name': 'Lion', 'config': {'beta_1': 0}}, 'loss': "
                  "'mse'}"),
                "$.optimizer.config.beta_1: expected a number in (0, 1], got 0", NULL);
  compile_error(Q("{'optimizer': {'class_name': 'Ftrl', 'config': {'learning_rate_power': 0.5}}, "
                  "'loss': 'mse'}"),
                "$.optimizer.config.learning_rate_power: expected a number <= 0", "got 0.5");
  compile_error(Q("{'optimizer': {'class_name': 'Adagrad', 'config': {'rho': 0.5}}, "
                  "'loss': 'mse'}"),
                "$.optimizer.config.rho: expected an argument Keras 3's Adagrad accepts "
                "(initial_accumulator_value, epsilon, or a base",
                NULL);
}
END_TEST

/* Keras 3's defaults for each optimizer and the base options as written. */
START_TEST(optimizer_options) {
  nnc_spec_compile c = compile_ok(Q("{'optimizer': 'adamw', 'loss': 'mse'}"));
  ck_assert_int_eq(c.optimizer.kind, NNC_OPT_ADAMW);
  ck_assert_double_eq(c.optimizer.weight_decay, 0.004);
  ck_assert_double_eq(c.optimizer.learning_rate, 0.001);
  c = compile_ok(Q("{'optimizer': 'Adadelta', 'loss': 'mse'}"));
  ck_assert_int_eq(c.optimizer.kind, NNC_OPT_ADADELTA);
  ck_assert_double_eq(c.optimizer.rho, 0.95);
  c = compile_ok(Q("{'optimizer': 'adafactor', 'loss': 'mse'}"));
  ck_assert_int_eq(c.optimizer.kind, NNC_OPT_ADAFACTOR);
  ck_assert_double_eq(c.optimizer.beta_2_decay, -0.8);
  ck_assert_double_eq(c.optimizer.epsilon_2, 1e-3);
  c = compile_ok(Q("{'optimizer': 'lion', 'loss': 'mse'}"));
  ck_assert_double_eq(c.optimizer.beta_2, 0.99);
  c = compile_ok(Q("{'optimizer': 'ftrl', 'loss': 'mse'}"));
  ck_assert_double_eq(c.optimizer.learning_rate_power, -0.5);
  ck_assert_double_eq(c.optimizer.initial_accumulator_value, 0.1);
  c = compile_ok(Q("{'optimizer': {'class_name': 'SGD', 'config': {'weight_decay': 0.1, "
                   "'exclude_from_weight_decay': ['bias'], 'global_clipnorm': 2, 'use_ema': true, "
                   "'ema_momentum': 0.5, 'ema_overwrite_frequency': 3, "
                   "'gradient_accumulation_steps': 4}}, 'loss': 'mse'}"));
  ck_assert_double_eq(c.optimizer.weight_decay, 0.1);
  ck_assert_int_eq(c.optimizer.n_exclude, 1);
  ck_assert_str_eq(c.optimizer.exclude_from_weight_decay[0], "bias");
  ck_assert_double_eq(c.optimizer.global_clipnorm, 2);
  ck_assert_int_eq(c.optimizer.use_ema, 1);
  ck_assert_double_eq(c.optimizer.ema_momentum, 0.5);
  ck_assert_int_eq(c.optimizer.ema_overwrite_frequency, 3);
  ck_assert_int_eq(c.optimizer.gradient_accumulation_steps, 4);
}
END_TEST

START_TEST(losses) {
  static const struct {
    const char *loss;
    nnc_loss_kind kind;
  } cases[] = {
      {"'mse'", NNC_LOSS_MSE},
      {"'MSE'", NNC_LOSS_MSE},
      {"'mean_squared_error'", NNC_LOSS_MSE},
      {"'mae'", NNC_LOSS_MAE},
      {"'mean_absolute_error'", NNC_LOSS_MAE},
      {"'bce'", NNC_LOSS_BCE},
      {"'binary_crossentropy'", NNC_LOSS_BCE},
      {"'categorical_crossentropy'", NNC_LOSS_CCE},
      {"'sparse_categorical_crossentropy'", NNC_LOSS_SCCE},
      {"'MeanAbsoluteError'", NNC_LOSS_MAE},
      {"['BinaryCrossentropy']", NNC_LOSS_BCE},
      {"{'class_name': 'MeanSquaredError', 'config': {'reduction': 'sum_over_batch_size'}}",
       NNC_LOSS_MSE},
      {"{'module': 'keras.losses', 'class_name': 'function', 'config': 'mae'}", NNC_LOSS_MAE},
  };
  char json[512];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    snprintf(json, sizeof json, "{'loss': %s}", cases[i].loss);
    nnc_spec_compile c = compile_ok(Q(json));
    ck_assert_int_eq(c.n_losses, 1);
    ck_assert_msg(c.losses[0].loss.kind == cases[i].kind, "%s", cases[i].loss);
    ck_assert_int_eq(c.losses[0].loss.from_logits, 0);
  }
  nnc_spec_compile c = compile_ok(
      Q("{'loss': {'class_name': 'CategoricalCrossentropy', 'config': {'from_logits': true, "
        "'label_smoothing': 0.0, 'axis': -1, 'name': 'cce'}}, 'loss_weights': [0.5]}"));
  ck_assert_int_eq(c.losses[0].loss.kind, NNC_LOSS_CCE);
  ck_assert_int_eq(c.losses[0].loss.from_logits, 1);
  ck_assert_int_eq(c.weights_form, NNC_FORM_LIST);
  ck_assert_double_eq(c.weights[0].weight, 0.5);
  c = compile_ok(Q("{'loss': 'mse', 'loss_weights': 3}"));
  ck_assert_int_eq(c.weights_form, NNC_FORM_ONE);
  ck_assert_double_eq(c.weights[0].weight, 3);

  compile_error(Q("{'loss': 'ctc'}"), "compile.json: $.loss: expected a loss", "got \"ctc\"");
  compile_error(Q("{'loss': {'class_name': 'BinaryCrossentropy', 'config': {'label_smoothing': "
                  "1.5}}}"),
                "$.loss.config.label_smoothing: expected a label smoothing in [0, 1]", NULL);
  compile_error(Q("{'loss': null}"), "$.loss: expected a loss", "got null");
  compile_error(Q("{'optimizer': 'sgd'}"), "$.loss: expected a loss", "got nothing");
}
END_TEST

START_TEST(metrics) {
  nnc_spec_compile c = compile_ok(
      Q("{'loss': 'mse', 'metrics': ['acc', 'mae', 'mean_squared_error', 'binary_accuracy', "
        "'Precision', {'class_name': 'Recall', 'config': {'thresholds': [0.3]}}, {'class_name': "
        "'BinaryAccuracy', 'config': {'name': 'ba', 'threshold': 0.7}}, {'class_name': "
        "'Precision', 'config': "
        "{'name': 'prec', 'thresholds': 0.4}}, {'class_name': 'MeanAbsoluteError'}, "
        "{'class_name': 'CategoricalAccuracy', 'config': {}}]}"));
  ck_assert_int_eq(c.n_metrics, 10);
  static const struct {
    const char *name;
    nnc_metric_kind kind;
    double threshold;
  } want[] = {
      {"acc", NNC_METRIC_ACCURACY, 0.5},
      {"mae", NNC_METRIC_MAE, 0.5},
      {"mean_squared_error", NNC_METRIC_MSE, 0.5},
      {"binary_accuracy", NNC_METRIC_BINARY_ACCURACY, 0.5},
      {"Precision", NNC_METRIC_PRECISION, 0.5},
      {"recall", NNC_METRIC_RECALL, 0.3},
      {"ba", NNC_METRIC_BINARY_ACCURACY, 0.7},
      {"prec", NNC_METRIC_PRECISION, 0.4},
      {"mean_absolute_error", NNC_METRIC_MAE, 0.5},
      {"categorical_accuracy", NNC_METRIC_CATEGORICAL_ACCURACY, 0.5},
  };
  for (int i = 0; i < 10; i++) {
    ck_assert_str_eq(c.metrics[i].name, want[i].name);
    ck_assert_int_eq(c.metrics[i].kind, want[i].kind);
    ck_assert_double_eq(c.metrics[i].threshold, want[i].threshold);
  }
}
END_TEST

START_TEST(metrics_per_output_forms) {
  nnc_spec_compile c = compile_ok(Q("{'loss': 'mse', 'metrics': [['mae', 'mse']]}"));
  ck_assert_int_eq(c.n_metrics, 2);
  ck_assert_str_eq(c.metrics[1].name, "mse");
  c = compile_ok(Q("{'loss': 'mse', 'metrics': {'out': 'mae'}}"));
  ck_assert_int_eq(c.n_metrics, 1);
  c = compile_ok(Q("{'loss': 'mse', 'metrics': null, 'weighted_metrics': []}"));
  ck_assert_int_eq(c.n_metrics, 0);
  compile_error(Q("{'loss': 'mse', 'metrics': ['auroc']}"), "$.metrics[0]: expected a metric",
                "got \"auroc\"");
  compile_error(Q("{'loss': 'mse', 'metrics': [{'class_name': 'Accurracy', 'config': {}}]}"),
                "$.metrics[0].class_name: expected a metric class", NULL);
  compile_error(Q("{'loss': 'mse', 'metrics': [{'class_name': 'Precision', 'config': "
                  "{'thresholds': [0.2, 1.5]}}]}"),
                "$.metrics[0].config.thresholds[1]: expected a threshold in [0, 1]", "got 1.5");
  compile_error(Q("{'loss': 'mse', 'metrics': [{'class_name': 'AUC', 'config': "
                  "{'curve': 'ROCK'}}]}"),
                "$.metrics[0].config.curve: expected \"ROC\" or \"PR\"", NULL);
  compile_error(Q("{'loss': 'mse', 'metrics': [{'class_name': 'AUC', 'config': "
                  "{'num_thresholds': 1}}]}"),
                "$.metrics[0].config.num_thresholds: expected an integer >= 2", NULL);
  compile_error(Q("{'loss': 'mse', 'metrics': [{'class_name': 'AUC', 'config': "
                  "{'num_labels': 3}}]}"),
                "$.metrics[0].config.num_labels: expected null (num_labels needs multi_label=true)",
                NULL);
  compile_error(Q("{'loss': 'mse', 'metrics': [{'class_name': 'Recall', 'config': "
                  "{'treshold': 0.5}}]}"),
                "$.metrics[0].config.treshold: expected a config key of Recall (name, dtype, "
                "thresholds, top_k, class_id), got an unknown key",
                NULL);
  compile_error(Q("{'loss': 'mse', 'metrics': [{'class_name': 'PrecisionAtRecall', 'config': "
                  "{}}]}"),
                "$.metrics[0].config.recall: expected a recall in [0, 1] (required)", NULL);
  compile_error(Q("{'loss': 'mse', 'metrics': [{'class_name': 'TopKCategoricalAccuracy', "
                  "'config': {'k': 0}}]}"),
                "$.metrics[0].config.k: expected an integer k >= 1", NULL);
  compile_error(Q("{'loss': 'mse', 'metrics': [{'class_name': 'F1Score', 'config': "
                  "{'average': 'samples'}}]}"),
                "$.metrics[0].config.average: expected null, \"micro\", \"macro\" or "
                "\"weighted\"",
                NULL);
  compile_error(Q("{'loss': 'mse', 'metrics': [{'class_name': 'F1Score', 'config': "
                  "{'beta': 2}}]}"),
                "$.metrics[0].config.beta: expected a config key of F1Score (name, dtype, "
                "average, threshold)",
                NULL);
  compile_error(Q("{'loss': 'mse', 'metrics': [{'class_name': 'IoU', 'config': "
                  "{'num_classes': 3}}]}"),
                "$.metrics[0].config.target_class_ids: expected a non-empty list of class ids "
                "(required)",
                NULL);
  compile_error(Q("{'loss': 'mse', 'metrics': [{'class_name': 'IoU', 'config': "
                  "{'num_classes': 3, 'target_class_ids': [3]}}]}"),
                "$.metrics[0].config.target_class_ids[0]: expected a class id in [0, 3)", NULL);
  compile_error(Q("{'loss': 'mse', 'metrics': [{'class_name': 'R2Score', 'config': "
                  "{'class_aggregation': 'median'}}]}"),
                "$.metrics[0].config.class_aggregation: expected null, \"uniform_average\" or "
                "\"variance_weighted_average\"",
                NULL);
  compile_error(Q("{'loss': 'mse', 'weighted_metrics': ['mae', 'nope']}"), "$.weighted_metrics[1]",
                NULL);
}
END_TEST

START_TEST(compile_string_replaces_and_checks_output_name) {
  nnc_spec spec = parse_case("seed003_seq");
  nnc_status st = {0};
  ck_assert_int_eq(
      nnc_spec_parse_compile_string(Q("{'optimizer': 'sgd', 'loss': {'dense_1': 'mse'}, 'metrics': "
                                      "{'dense_1': ['mae']}}"),
                                    "flags", &spec, &st),
      NNC_OK);
  ck_assert_int_eq(spec.compile.optimizer.kind, NNC_OPT_SGD);
  ck_assert_int_eq(spec.compile.losses[0].loss.kind, NNC_LOSS_MSE);
  ck_assert_str_eq(spec.compile.losses[0].key, "dense_1");
  ck_assert_int_eq(spec.compile.n_metrics, 1);
  /* a key that names no output is refused when the model is built
   * (test_multi_output.c); a malformed config leaves the old one */
  ck_assert_int_eq(
      nnc_spec_parse_compile_string(Q("{'loss': {'other': 'ctc'}}"), "flags", &spec, &st),
      NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, "flags: $.loss.other: expected a loss"), "%s", st.message);
  ck_assert_int_eq(spec.compile.optimizer.kind, NNC_OPT_SGD); /* unchanged */
  ck_assert_str_eq(spec.compile.losses[0].key, "dense_1");
  ck_assert_int_eq(spec.n_layers, 3);
  nnc_spec_free(&spec);
}
END_TEST

/* ---- malformed specs ---- */

START_TEST(bad_json) {
  nnc_spec spec;
  nnc_status st = {0};
  ck_assert_int_eq(nnc_spec_parse_string("{\"class_name\": \"Sequential\",\n  \"config\": [,]}",
                                         "model.json", &spec, &st),
                   NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, "model.json: invalid JSON near byte 42 (line 2, column 14)"),
                "%s", st.message);
  expect_error("", "model.json: invalid JSON near byte 0", NULL);
  expect_error("{} trailing", "invalid JSON", NULL);
  expect_error("[1, 2]", "model.json: $: expected a model object, got a list of 2 items", NULL);
}
END_TEST

START_TEST(bad_layers) {
#define L2(x) Q(SEQ1("{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 3]}}, " x))
  /* the class list (over 60) is not spelled out; a near miss is named */
  expect_error(L2("{'class_name': 'Dense', 'config': {'units': 4}}, {'class_name': 'NoSuchLayer', "
                  "'config': {}}"),
               "model.json: $.config.layers[2].class_name: expected a supported layer class "
               "(docs/layers.md lists all ",
               "), got \"NoSuchLayer\"");
  expect_error(L2("{'class_name': 'Dense', 'config': {'units': 4}}, {'class_name': "
                  "'BatchNormalisation', 'config': {}}"),
               "expected a supported layer class (did you mean \"BatchNormalization\"? "
               "docs/layers.md lists all ",
               "), got \"BatchNormalisation\"");
  expect_error(L2("{'class_name': 'Dense', 'config': {'units': 4}}, {'class_name': 'Dense', "
                  "'config': {'units': -3}}"),
               "model.json: $.config.layers[2].config.units: expected a positive integer, got -3",
               NULL);
  expect_error(L2("{'class_name': 'Dense', 'config': {'units': 2.5}}"),
               "$.config.layers[1].config.units: expected a positive integer, got 2.5", NULL);
  expect_error(L2("{'class_name': 'Dense', 'config': {'units': '64'}}"),
               "$.config.layers[1].config.units: expected a positive integer, got \"64\"", NULL);
  expect_error(L2("{'class_name': 'Dense', 'config': {'units': 1e300}}"),
               "$.config.layers[1].config.units: expected a positive integer no larger", NULL);
  expect_error(L2("{'class_name': 'Dense', 'config': {'units': 1e999}}"),
               "$.config.layers[1].config.units: expected a positive integer, got a number out "
               "of range",
               NULL);
  expect_error(L2("{'class_name': 'Dense', 'config': {}}"),
               "$.config.layers[1].config.units: expected a positive integer, got nothing", NULL);
  expect_error(L2("{'class_name': 'Dense', 'config': {'units': 4}}, {'class_name': 'Dropout', "
                  "'config': {'rate': 1.5}}"),
               "model.json: $.config.layers[2].config.rate: expected a number in [0, 1], got 1.5",
               NULL);
  expect_error(L2("{'class_name': 'Dropout', 'config': {'rate': 0.1, 'noise_shape': [null, 1]}}"),
               "$.config.layers[1].config.noise_shape: noise_shape is not supported yet", NULL);
  expect_error(L2("{'class_name': 'Dense', 'config': {'units': 4, 'activation': 'celu'}}"),
               "model.json: $.config.layers[1].config.activation: expected an activation name",
               "got \"celu\"");
  expect_error(L2("{'class_name': 'Dense', 'config': 'oops'}"),
               "model.json: $.config.layers[1].config: expected an object, got \"oops\"", NULL);
  expect_error(L2("'Dense'"), "$.config.layers[1]: expected a layer object", "got \"Dense\"");
  expect_error(L2("{'class_name': 'Dense', 'config': {'units': 4, 'kernel_regularizer': "
                  "{'class_name': 'L2', 'config': {'l2': -0.01}}}}"),
               "$.config.layers[1].config.kernel_regularizer.config.l2: expected a non-negative "
               "number",
               NULL);
  expect_error(L2("{'class_name': 'Dense', 'config': {'units': 4, 'bias_constraint': 'Positive'}}"),
               "$.config.layers[1].config.bias_constraint", "expected a constraint");
  expect_error(L2("{'class_name': 'Dense', 'config': {'units': 4, 'kernel_initializer': "
                  "'stft'}}"),
               "$.config.layers[1].config.kernel_initializer: expected an initializer",
               "got \"stft\"");
  expect_error(L2("{'class_name': 'Dense', 'config': {'units': 4, 'kernel_initializer': "
                  "{'class_name': 'VarianceScaling', 'config': {'mode': 'fan_sum'}}}}"),
               "$.config.layers[1].config.kernel_initializer.config.mode: expected", NULL);
  expect_error(L2("{'class_name': 'Dense', 'config': {'units': 4, 'use_bias': 'yes'}}"),
               "$.config.layers[1].config.use_bias: expected true or false, got \"yes\"", NULL);
  expect_error(L2("{'class_name': 'Dense', 'config': {'units': 4, 'trainable': 'no'}}"),
               "$.config.layers[1].config.trainable: expected true or false, got \"no\"", NULL);
  expect_error(L2("{'class_name': 'Dense', 'config': {'units': 4, 'dtype': 'float64'}}"),
               "$.config.layers[1].config.dtype: a dtype other than float32 is not supported",
               NULL);
  expect_error(L2("{'class_name': 'Flatten', 'config': {'data_format': 'channels_middle'}}"),
               "$.config.layers[1].config.data_format: expected \"channels_last\", "
               "\"channels_first\" or null",
               NULL);
  expect_error(L2("{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 3]}}"),
               "$.config.layers[1].class_name: expected an InputLayer only as the first layer",
               NULL);
  expect_error(L2("{'class_name': 'Dense', 'config': {'units': 4, 'name': 'd'}}, {'class_name': "
                  "'Dense', 'config': {'units': 4, 'name': 'd'}}"),
               "$.config.layers[2]: expected a unique layer name, got \"d\" again (also at "
               "$.config.layers[1])",
               NULL);
  /* null is a None axis (test_none_axes); 0 is no size at all */
  expect_error(Q(SEQ1("{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 0]}}")),
               "$.config.layers[0].config.batch_shape[1]: expected a positive integer or null "
               "(None), got 0",
               NULL);
  expect_error(Q(SEQ1("{'class_name': 'InputLayer', 'config': {}}")),
               "$.config.layers[0].config: expected an InputLayer config with batch_shape", NULL);
  expect_error(Q(SEQ1("{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 1, 1, 1, "
                      "1, 1, 1, 1, 1, 1]}}")),
               "$.config.layers[0].config.batch_shape: expected a shape of at most 7", NULL);
  expect_error(Q("{'class_name': 'Sequential', 'config': {'layers': []}}"),
               "$.config.layers: expected a non-empty list of layers, got an empty list", NULL);
  expect_error(Q("{'class_name': 'Graph', 'config': {}}"),
               "$.class_name: expected \"Sequential\" or \"Functional\"", NULL);
  expect_error(Q("{'format': 'graph-model', 'modelTopology': {}}"),
               "$.format: a TensorFlow.js graph model", NULL);
  expect_error(Q("{'format': 'layers-model', 'modelTopology': 'x'}"),
               "$.modelTopology: expected an object, got \"x\"", NULL);
#undef L2
}
END_TEST

START_TEST(long_names_rejected) {
  char name[300];
  memset(name, 'n', sizeof name - 1);
  name[sizeof name - 1] = '\0';
  char json[1024];
  snprintf(json, sizeof json,
           "{\"class_name\": \"Sequential\", \"config\": {\"layers\": [{\"class_name\": "
           "\"Dense\", \"config\": {\"units\": 1, \"name\": \"%s\"}}]}}",
           name);
  expect_error(
      json, "$.config.layers[0].config.name: expected a name of at most 127 bytes in UTF-8", NULL);
  /* 127 characters fit exactly. */
  name[NNC_NAME_MAX - 1] = '\0';
  snprintf(json, sizeof json,
           "{\"class_name\": \"Sequential\", \"config\": {\"layers\": [{\"class_name\": "
           "\"Dense\", \"config\": {\"units\": 1, \"name\": \"%s\"}}]}}",
           name);
  nnc_spec spec = parse_ok(json);
  ck_assert_str_eq(spec.layers[0].name, name);
  nnc_spec_free(&spec);
  /* Names appear in one-line messages: no control characters. */
  expect_error(Q(SEQ1("{'class_name': 'Dense', 'config': {'units': 1, 'name': 'a\\nb'}}")),
               "$.config.layers[0].config.name: expected a name without control characters, got "
               "\"a?b\"",
               NULL);
}
END_TEST

START_TEST(deep_nesting_and_truncation_never_crash) {
  enum { DEPTH = 100000 };
  char *deep = malloc(2 * DEPTH + 64);
  ck_assert_ptr_nonnull(deep);
  size_t n = 0;
  n += (size_t)sprintf(deep, "{\"class_name\": \"Sequential\", \"config\": ");
  for (int i = 0; i < DEPTH; i++) deep[n++] = '[';
  for (int i = 0; i < DEPTH; i++) deep[n++] = ']';
  deep[n++] = '}';
  deep[n] = '\0';
  expect_error(deep, "model.json: ", NULL);
  free(deep);

  /* Every prefix of a real spec is an error, never a crash. */
  char *json = case_json("seed001_mnist_like");
  size_t len = strlen(json);
  for (size_t cut = 0; cut < len; cut += 7) {
    char saved = json[cut];
    json[cut] = '\0';
    expect_error(json, "invalid JSON", NULL);
    json[cut] = saved;
  }
  cJSON_free(json);
}
END_TEST

/* Replace every value of a real spec, one at a time, with values of the wrong
 * type: parsing must either succeed or fail with a one-line NNC_ERR_SPEC. */
static int mutate_all(cJSON *root, cJSON *node, int *n_parsed) {
  static const char *const replacements[] = {
      "null", "true", "-1", "0", "1e308", "\"x\"", "[]", "{}", "[[null]]", "{\"class_name\": 1}"};
  for (cJSON *child = node->child; child; child = child->next) {
    for (size_t r = 0; r < sizeof replacements / sizeof replacements[0]; r++) {
      cJSON *replacement = cJSON_Parse(replacements[r]);
      cJSON *original = cJSON_Duplicate(child, 1);
      ck_assert_ptr_nonnull(replacement);
      ck_assert_ptr_nonnull(original);
      cJSON_ReplaceItemViaPointer(node, child, replacement);
      char *json = cJSON_PrintUnformatted(root);
      nnc_spec spec;
      nnc_status st = {0};
      int rc = nnc_spec_parse_string(json, "m.json", &spec, &st);
      ck_assert_msg(rc == NNC_OK || rc == NNC_ERR_SPEC, "rc %d: %s", rc, st.message);
      if (rc) {
        ck_assert_msg(strncmp(st.message, "m.json: ", 8) == 0, "%s", st.message);
        ck_assert_ptr_null(strchr(st.message, '\n'));
      }
      nnc_spec_free(&spec);
      cJSON_free(json);
      (*n_parsed)++;
      cJSON_ReplaceItemViaPointer(node, replacement, original);
      child = original;
    }
    mutate_all(root, child, n_parsed);
  }
  return 0;
}

START_TEST(wrong_types_everywhere_never_crash) {
  static const char *const cases[] = {"seed001_mnist_like", "seed003_seq", "seed002_fit_bs1"};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *json = case_json(cases[i]);
    cJSON *root = cJSON_Parse(json);
    cJSON_free(json);
    int n_parsed = 0;
    mutate_all(root, root, &n_parsed);
    ck_assert_int_gt(n_parsed, 100);
    cJSON_Delete(root);
  }
}
END_TEST

START_TEST(null_arguments) {
  nnc_spec spec;
  nnc_status st = {0};
  ck_assert_int_eq(nnc_spec_parse_string(NULL, "x", &spec, &st), NNC_ERR_ARG);
  ck_assert_int_eq(nnc_spec_parse_string("{}", "x", NULL, &st), NNC_ERR_ARG);
  ck_assert_int_eq(nnc_spec_parse_compile_string(NULL, "x", &spec, &st), NNC_ERR_ARG);
  ck_assert_int_eq(nnc_spec_parse_string("{}", NULL, &spec, NULL), NNC_ERR_SPEC);
  nnc_spec_free(NULL);
  nnc_spec_free(&spec);
}
END_TEST

static Suite *spec_suite(void) {
  Suite *s = suite_create("spec");
  TCase *oracle = tcase_create("oracle");
  tcase_add_test(oracle, oracle_all_cases_parse);
  tcase_add_test(oracle, oracle_seed003_seq);
  tcase_add_test(oracle, oracle_seed001_functional_chain);
  tcase_add_test(oracle, oracle_seed004_mlp);
  tcase_add_test(oracle, oracle_keras2_cases);
  tcase_add_test(oracle, parse_file_reads_and_names_source);
  suite_add_tcase(s, oracle);

  TCase *formats = tcase_create("formats");
  tcase_add_test(formats, keras3_model_s);
  tcase_add_test(formats, keras2_model_s_with_h5_training_config);
  tcase_add_test(formats, keras22_bare_list_variance_scaling);
  tcase_add_test(formats, tfjs_layers_model_s);
  tcase_add_test(formats, tfjs_converter_model_config);
  tcase_add_test(formats, sequential_without_input_shape);
  tcase_add_test(formats, generated_names_avoid_explicit_ones);
  tcase_add_test(formats, input_layer_shape_forms);
  suite_add_tcase(s, formats);

  TCase *functional = tcase_create("functional");
  tcase_add_test(functional, functional_keras3_order_follows_links);
  tcase_add_test(functional, functional_keras2_model_class);
  tcase_add_test(functional, functional_bad_graphs);
  suite_add_tcase(s, functional);

  TCase *layers = tcase_create("layers");
  tcase_add_test(layers, all_activations);
  tcase_add_test(layers, initializer_strings_and_objects);
  suite_add_tcase(s, layers);

  TCase *compile = tcase_create("compile");
  tcase_add_test(compile, optimizer_string_defaults);
  tcase_add_test(compile, optimizer_objects);
  tcase_add_test(compile, optimizer_unsupported_options);
  tcase_add_test(compile, optimizer_options);
  tcase_add_test(compile, losses);
  tcase_add_test(compile, metrics);
  tcase_add_test(compile, metrics_per_output_forms);
  tcase_add_test(compile, compile_string_replaces_and_checks_output_name);
  suite_add_tcase(s, compile);

  TCase *errors = tcase_create("errors");
  tcase_set_timeout(errors, 120);
  tcase_add_test(errors, bad_json);
  tcase_add_test(errors, bad_layers);
  tcase_add_test(errors, long_names_rejected);
  tcase_add_test(errors, deep_nesting_and_truncation_never_crash);
  tcase_add_test(errors, wrong_types_everywhere_never_crash);
  tcase_add_test(errors, null_arguments);
  suite_add_tcase(s, errors);
  return s;
}

int main(void) {
  return testutil_run(spec_suite());
}
