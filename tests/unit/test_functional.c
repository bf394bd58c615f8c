/* Functional models as DAGs: spellings, lowering of branches, merges, shared
 * and frozen layers, inference-only calls; gradients against finite
 * differences; a Functional chain against the same Sequential bit for bit. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "compiler/lower/lower.h"
#include "compiler/spec/spec.h"
#include "oracle_case.h"
#include "gradcheck.h"
#include "testutil.h"

/* Copy of s with ' turned into ", in a rotating static buffer. */
#define Q testutil_json

/* Keras 2 / tfjs pieces. */
#define K2_INPUT(name, dim)                                                                        \
  "{'class_name': 'InputLayer', 'name': '" name "', 'config': {'batch_input_shape': [null, " dim   \
  "], 'name': '" name "'}, 'inbound_nodes': []}"
#define K2_LAYER(cls, name, cfg, refs)                                                             \
  "{'class_name': '" cls "', 'name': '" name "', 'config': {'name': '" name "'" cfg                \
  "}, 'inbound_nodes': [" refs "]}"
#define REF(name) "['" name "', 0, 0, {}]"
#define K2_MODEL(layers, ins, outs, compile)                                                       \
  "{'class_name': 'Model', 'keras_version': '2.4.0', 'config': {'name': 'm', 'layers': [" layers   \
  "], 'input_layers': [" ins "], 'output_layers': [" outs "]}" compile "}"
#define SGD1                                                                                       \
  ", 'compile_config': {'optimizer': {'class_name': 'SGD', 'config': {'learning_rate': 1.0}}, "    \
  "'loss': 'mse'}"

/* Keras 3 pieces. */
#define K3_T(src, node, dim)                                                                       \
  "{'class_name': '__keras_tensor__', 'config': {'shape': [null, " dim "], 'dtype': 'float32', "   \
  "'keras_history': ['" src "', " node ", 0]}}"

static nnc_spec parse_ok(const char *json) {
  nnc_spec spec;
  nnc_status st = {0};
  ck_assert_msg(nnc_spec_parse_string(json, "model.json", &spec, &st) == NNC_OK, "%s", st.message);
  return spec;
}

static void parse_error(const char *json, const char *want) {
  nnc_spec spec;
  nnc_status st = {0};
  ck_assert_int_eq(nnc_spec_parse_string(json, "model.json", &spec, &st), NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, want), "'%s' not in: %s", want, st.message);
}

static void lower_ok(const nnc_spec *spec, nnc_lowered *l) {
  nnc_status st = {0};
  ck_assert_msg(lower_model(spec, NULL, l, &st) == NNC_OK, "%s", st.message);
}

static void lower_error(const char *json, const char *want) {
  nnc_spec spec = parse_ok(json);
  nnc_lowered l;
  nnc_status st = {0};
  ck_assert_int_eq(lower_model(&spec, NULL, &l, &st), NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, want), "'%s' not in: %s", want, st.message);
  nnc_spec_free(&spec);
}

static const nnc_layer_info *row(const nnc_program *p, const char *name) {
  for (int i = 0; i < p->n_layers; i++)
    if (strcmp(p->layers[i].name, name) == 0) return &p->layers[i];
  ck_abort_msg("no summary row %s", name);
  return NULL;
}

static int count_op(const nnc_graph *g, nnc_op op) {
  int n = 0;
  for (int i = 0; i < g->n; i++) n += g->nodes[i].op == op;
  return n;
}

/* ---- spellings and structure ---- */

/* Two inputs, a shared Dense, a residual Add, two outputs (Keras 3). */
static const char *keras3_two_heads(void) {
  return Q(
      "{'module': 'keras.src.models.functional', 'class_name': 'Functional', 'config': {"
      "'name': 'two', 'trainable': true, 'layers': ["
      "{'class_name': 'InputLayer', 'name': 'a', 'config': {'batch_shape': [null, 4], "
      "'name': 'a'}, 'inbound_nodes': []},"
      "{'class_name': 'InputLayer', 'name': 'b', 'config': {'batch_shape': [null, 4], "
      "'name': 'b'}, 'inbound_nodes': []},"
      "{'class_name': 'Dense', 'name': 'shared', 'config': {'name': 'shared', 'units': 4}, "
      "'build_config': {'input_shape': [null, 4]}, 'inbound_nodes': ["
      "{'args': [" K3_T(
          "a", "0",
          "4") "], 'kwargs': {}},"
               "{'args': [" K3_T(
                   "b", "0",
                   "4") "], 'kwargs': {'training': false, 'mask': null}}]},"
                        "{'class_name': 'Add', 'name': 'sum', 'config': {'name': 'sum'}, "
                        "'inbound_nodes': ["
                        "{'args': [[" K3_T("shared", "0", "4") ", " K3_T(
                            "shared", "1",
                            "4") ", " K3_T("a", "0",
                                           "4") "]], 'kwargs': {}}]},"
                                                "{'class_name': 'Dense', 'name': 'head_1', "
                                                "'config': {'name': 'head_1', 'units': 2, "
                                                "'trainable': false}, 'inbound_nodes': [{'args': "
                                                "[" K3_T(
                                                    "sum", "0",
                                                    "4") "], "
                                                         "'kwargs': {}}]},"
                                                         "{'class_name': 'Dense', 'name': "
                                                         "'head_2', 'config': {'name': 'head_2', "
                                                         "'units': 1}, "
                                                         "'inbound_nodes': [{'args': [" K3_T(
                                                             "shared", "1",
                                                             "4") "], 'kwargs': {}}]}],"
                                                                  "'input_layers': [['a', 0, 0], "
                                                                  "['b', 0, 0]], "
                                                                  "'output_layers': [['head_2', 0, "
                                                                  "0], ['head_1', 0, 0]]}}");
}

START_TEST(keras3_multi_input_output_shared) {
  nnc_spec spec = parse_ok(keras3_two_heads());
  ck_assert_int_eq(spec.n_inputs, 2);
  ck_assert_int_eq(spec.n_outputs, 2);
  ck_assert_int_eq(spec.n_calls, 5);
  /* the second call of "shared" runs in inference mode */
  int second = -1;
  for (int k = 0; k < spec.n_calls; k++)
    if (strcmp(spec.layers[spec.calls[k].layer].name, "shared") == 0 && spec.calls[k].node == 1)
      second = k;
  ck_assert_int_ge(second, 0);
  ck_assert_int_eq(spec.calls[second].training, 0);
  ck_assert_int_eq(spec.calls[second].args[0], -2); /* model input b */

  nnc_lowered l;
  lower_ok(&spec, &l);
  const nnc_program *p = &l.prog;
  ck_assert_int_eq(p->n_inputs, 2);
  ck_assert_str_eq(p->inputs[0].name, "a");
  ck_assert_str_eq(p->inputs[1].name, "b");
  ck_assert_int_eq(p->n_outputs, 2); /* output_layers order, not config order */
  ck_assert_str_eq(p->outputs[0].name, "head_2");
  ck_assert_str_eq(p->outputs[1].name, "head_1");
  ck_assert_int_eq(p->outputs[0].shape.dims[1], 1);
  ck_assert_int_eq(p->outputs[1].shape.dims[1], 2);
  ck_assert_int_ne(l.output_nodes[0], l.output_nodes[1]);
  /* one set of weights for the shared layer: shared, head_1, head_2 x (kernel, bias) */
  ck_assert_int_eq(p->n_params, 6);
  ck_assert_int_eq(count_op(&l.forward, NNC_OP_PARAM), 6);
  ck_assert_str_eq(p->params[0].name, "shared/kernel");
  /* frozen head_1: params not trainable, counted as non-trainable in its row */
  for (int i = 0; i < p->n_params; i++)
    ck_assert_int_eq(p->params[i].trainable, strcmp(p->params[i].layer, "head_1") != 0);
  ck_assert_int_eq(p->n_layers, 6);         /* one row per layer, the shared one once */
  ck_assert_str_eq(p->layers[0].name, "a"); /* the InputLayers first, as Keras lists them */
  ck_assert_str_eq(p->layers[0].kind, "InputLayer");
  ck_assert_ptr_null(p->layers[0].connected);
  ck_assert_str_eq(p->layers[1].name, "b");
  const nnc_layer_info *r = row(p, "shared");
  ck_assert_int_eq(r->n_params, 20);
  ck_assert_int_eq(r->n_trainable, 20);
  ck_assert_str_eq(r->connected, "a[0][0], b[0][0]");
  r = row(p, "sum");
  ck_assert_str_eq(r->kind, "Add");
  ck_assert_str_eq(r->connected, "shared[0][0], shared[1][0], a[0][0]");
  r = row(p, "head_1");
  ck_assert_int_eq(r->n_params, 10);
  ck_assert_int_eq(r->n_trainable, 0);
  lowered_free(&l);
  nnc_spec_free(&spec);
}
END_TEST

/* The same branching model in Keras 2 and tfjs spelling. */
#define BRANCHES                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                   \
  K2_INPUT("x", "3")                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                               \
  ", " K2_LAYER(                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                   \
      "Dense", "a", ", 'units': 2, 'activation': 'tanh'",                                                                                                                                                                                                                                                                                                                                                                                                                                                                          \
      "[" REF("x") "]") ", " K2_LAYER("Dense", "b", ", 'units': 2, 'activation': 'sigmoid'", "[" REF("x") "]") ", " K2_LAYER("Subtract", "s", "", "[" REF("a") ", " REF("b") "]") ", " K2_LAYER("Multiply", "m", "", "[" REF("a") ", " REF("b") ", " REF("s") "]") ", " K2_LAYER("Maximum",                                                                                                                                                                                                                                        \
                                                                                                                                                                                                                                                                                 "mx",                                                                                                                                                                                                                                             \
                                                                                                                                                                                                                                                                                 "", "[" REF("a") ", " REF("b") "]") ", " K2_LAYER("Minimum",                                                                                                                                                                                      \
                                                                                                                                                                                                                                                                                                                                   "mn", "", "[" REF("a") ", " REF("b") "]") ", " K2_LAYER("Average",                                                                                                                              \
                                                                                                                                                                                                                                                                                                                                                                                           "av", "",                                                                                                                               \
                                                                                                                                                                                                                                                                                                                                                                                           "[" REF("m") ", " REF("mx") ", " REF("mn") "]") ", " K2_LAYER("Add", "sum", "", "[" REF("av") ", " REF("s") "]") ", " K2_LAYER("Dense", \
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                          "out",   \
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                          ", 'units': 1", "[" REF("sum") "]")

START_TEST(keras2_and_tfjs_branches) {
  const char *k2 = Q(K2_MODEL(BRANCHES, "['x', 0, 0]", "['out', 0, 0]", ""));
  nnc_spec spec = parse_ok(k2);
  ck_assert_int_eq(spec.format, NNC_FORMAT_KERAS2);
  ck_assert_int_eq(spec.n_calls, 9);
  nnc_lowered l;
  lower_ok(&spec, &l);
  ck_assert_int_eq(l.prog.n_params, 6);
  ck_assert_str_eq(row(&l.prog, "m")->connected, "a[0][0], b[0][0], s[0][0]");
  lowered_free(&l);
  nnc_spec_free(&spec);

  char tfjs[16384];
  snprintf(tfjs, sizeof tfjs, "{\"format\": \"layers-model\", \"modelTopology\": %s}",
           Q("{'class_name': 'Model', 'keras_version': 'tfjs-layers 4.0.0', 'config': {'name': "
             "'m', 'layers': [" BRANCHES "], 'input_layers': [['x', 0, 0]], 'output_layers': "
             "[['out', 0, 0]]}}"));
  spec = parse_ok(tfjs);
  ck_assert_int_eq(spec.format, NNC_FORMAT_TFJS);
  ck_assert_int_eq(spec.n_calls, 9);
  nnc_spec_free(&spec);
}
END_TEST

START_TEST(training_false_and_shared_dropout) {
  /* d is called twice in training mode and once with training=False. */
  nnc_spec spec = parse_ok(Q(K2_MODEL(
      K2_INPUT("x", "3") ", {'class_name': 'Dropout', 'name': 'd', 'config': {'name': 'd', "
                         "'rate': 0.5}, 'inbound_nodes': [[" REF(
                             "x") "], [['d', 0, 0, {}]], "
                                  "[['d', 1, 0, {'training': false}]]]}",
      "['x', 0, 0]", "['d', 2, 0]", "")));
  nnc_lowered l;
  lower_ok(&spec, &l);
  ck_assert_int_eq(count_op(&l.forward, NNC_OP_DROPOUT), 2);
  uint64_t keys[2];
  int n = 0;
  for (int i = 0; i < l.forward.n; i++)
    if (l.forward.nodes[i].op == NNC_OP_DROPOUT) keys[n++] = l.forward.nodes[i].key;
  ck_assert(keys[0] != keys[1]); /* a fresh mask per call */
  ck_assert_str_eq(row(&l.prog, "d")->connected, "x[0][0], d[0][0], d[1][0]");
  lowered_free(&l);
  nnc_spec_free(&spec);
}
END_TEST

START_TEST(reshape_and_identity) {
  nnc_spec spec = parse_ok(
      Q(K2_MODEL(K2_INPUT("x", "6") ", " K2_LAYER(
                     "Reshape", "r", ", 'target_shape': [-1, 2]",
                     "[" REF("x") "]") ", " K2_LAYER("Identity", "i", "", "[" REF("r") "]"),
                 "['x', 0, 0]", "['i', 0, 0]", "")));
  nnc_lowered l;
  lower_ok(&spec, &l);
  const nnc_shape *s = &l.prog.outputs[0].shape;
  ck_assert_int_eq(s->rank, 3);
  ck_assert_int_eq(s->dims[1], 3);
  ck_assert_int_eq(s->dims[2], 2);
  lowered_free(&l);
  nnc_spec_free(&spec);
  lower_error(Q(K2_MODEL(K2_INPUT("x", "6") ", " K2_LAYER("Reshape", "r", ", 'target_shape': [4]",
                                                          "[" REF("x") "]"),
                         "['x', 0, 0]", "['r', 0, 0]", "")),
              "model.json: $.config.layers[1].config.target_shape: expected a target shape with "
              "as many elements as the input [B,6] (6 per sample), got 4");
}
END_TEST

START_TEST(bad_layers) {
  lower_error(Q(K2_MODEL(K2_INPUT("x", "3") ", " K2_INPUT("y", "2") ", " K2_LAYER(
                             "Add", "s", "", "[" REF("x") ", " REF("y") "]"),
                         "['x', 0, 0], ['y', 0, 0]", "['s', 0, 0]", "")),
              "model.json: $.config.layers[2].inbound_nodes[0]: expected inputs of one shape for "
              "Add \"s\" (nnc does not broadcast merge inputs), got [B,3] and [B,2] (input 1)");
  parse_error(Q(K2_MODEL(K2_INPUT("x", "3") ", " K2_LAYER(
                             "Subtract", "s", "", "[" REF("x") ", " REF("x") ", " REF("x") "]"),
                         "['x', 0, 0]", "['s', 0, 0]", "")),
              "model.json: $.config.layers[1].inbound_nodes[0]: expected exactly 2 input tensors "
              "for Subtract \"s\", got 3");
  parse_error(Q(K2_MODEL(K2_INPUT("x", "3") ", " K2_LAYER("Lambda", "f", ", 'function': 'x'",
                                                          "[" REF("x") "]"),
                         "['x', 0, 0]", "['f', 0, 0]", "")),
              "model.json: $.config.layers[1].config.function: a Lambda layer is not supported");
  parse_error(Q("{'class_name': 'Sequential', 'config': {'layers': [{'class_name': 'InputLayer', "
                "'config': {'batch_shape': [null, 3]}}, {'class_name': 'Add', 'config': {}}]}}"),
              "model.json: $.config.layers[1]: expected at least 2 input tensors for Add");
}
END_TEST

/* ---- gradients against central differences ---- */

static nnc_array f32(float *data, int rank, int64_t d0, int64_t d1) {
  nnc_array a = {.dtype = NNC_F32, .rank = rank, .data = data};
  a.shape[0] = d0;
  a.shape[1] = d1;
  return a;
}

/* One SGD(lr=1) step against central differences at h = 1e-2. */
static void gradcheck(const char *json, int in_dim) {
  gradcheck_opts o = {6, 12345, -0.7, 0.3, 1.7, 3, 0, 2e-3, 2e-2};
  gradcheck_model(json, in_dim, &o);
}

START_TEST(merge_gradients) {
  gradcheck(Q(K2_MODEL(BRANCHES, "['x', 0, 0]", "['out', 0, 0]", SGD1)), 3);
}
END_TEST

START_TEST(shared_layer_gradients) {
  /* x -> d -> d -> out: d's gradient is the sum over its two calls. */
  gradcheck(
      Q(K2_MODEL(K2_INPUT("x", "3") ", {'class_name': 'Dense', 'name': 'd', 'config': "
                                    "{'name': 'd', 'units': 3, 'activation': 'tanh'}, "
                                    "'inbound_nodes': [[" REF(
                                        "x") "], [['d', 0, 0, "
                                             "{}]]]}, " K2_LAYER("Dense", "out", ", 'units': 1",
                                                                 "[['d', 1, 0, {}]]"),
                 "['x', 0, 0]", "['out', 0, 0]", SGD1)),
      3);
}
END_TEST

/* ---- training ---- */

#define ADAM ", 'compile_config': {'optimizer': 'adam', 'loss': 'mse'}"

static nnc_model *load(const char *json) {
  nnc_model *m;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, "model.json", &m, &st) == NNC_OK, "%s", st.message);
  ck_assert(nnc_model_set_seed(m, 42, &st) == NNC_OK);
  return m;
}

enum { ROWS = 40 };
static float train_x[ROWS * 5], train_y[ROWS];

static void fill_data(void) {
  for (int i = 0; i < ROWS * 5; i++) train_x[i] = (float)sin(0.37 * i);
  for (int i = 0; i < ROWS; i++) train_y[i] = (float)cos(0.91 * i);
}

static void fit(nnc_model *m, int epochs) {
  nnc_array x = f32(train_x, 2, ROWS, 5), y = f32(train_y, 2, ROWS, 1);
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = epochs;
  o.batch_size = 8;
  o.shuffle = 1;
  o.verbose = 0;
  nnc_status st;
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, NULL, &st) == NNC_OK, "%s", st.message);
}

static int same_weight(nnc_model *a, nnc_model *b, const char *name) {
  nnc_array wa, wb;
  nnc_status st;
  ck_assert_msg(nnc_model_get_weight(a, name, &wa, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_get_weight(b, name, &wb, &st) == NNC_OK, "%s", st.message);
  int64_t n = nnc_array_count(&wa);
  int same = n == nnc_array_count(&wb) && memcmp(wa.data, wb.data, (size_t)n * 4) == 0;
  nnc_array_free(&wa);
  nnc_array_free(&wb);
  return same;
}

START_TEST(functional_equals_sequential) {
  fill_data();
  nnc_model *seq = load(
      Q("{'class_name': 'Sequential', 'config': {'name': 's', 'layers': [{'class_name': "
        "'InputLayer', 'config': {'name': 'x', 'batch_shape': [null, 5]}}, {'class_name': 'Dense', "
        "'config': {'name': 'd1', 'units': 8, 'activation': 'relu'}}, {'class_name': 'Dropout', "
        "'config': {'name': 'dr', 'rate': 0.3}}, {'class_name': 'Dense', 'config': {'name': 'd2', "
        "'units': 1}}]}" ADAM "}"));
  nnc_model *fun = load(Q(K2_MODEL(
      K2_INPUT("x", "5") ", " K2_LAYER(
          "Dense", "d1", ", 'units': 8, 'activation': 'relu'",
          "[" REF("x") "]") ", " K2_LAYER("Dropout", "dr", ", 'rate': 0.3",
                                          "[" REF("d1") "]") ", " K2_LAYER("Dense", "d2",
                                                                           ", 'units': 1",
                                                                           "[" REF("dr") "]"),
      "['x', 0, 0]", "['d2', 0, 0]", ADAM)));
  nnc_model *before = load(Q(K2_MODEL(
      K2_INPUT("x", "5") ", " K2_LAYER(
          "Dense", "d1", ", 'units': 8, 'activation': 'relu'",
          "[" REF("x") "]") ", " K2_LAYER("Dropout", "dr", ", 'rate': 0.3",
                                          "[" REF("d1") "]") ", " K2_LAYER("Dense", "d2",
                                                                           ", 'units': 1",
                                                                           "[" REF("dr") "]"),
      "['x', 0, 0]", "['d2', 0, 0]", ADAM)));
  fit(seq, 3);
  fit(fun, 3);
  const char *names[] = {"d1/kernel", "d1/bias", "d2/kernel", "d2/bias"};
  for (int i = 0; i < 4; i++) {
    ck_assert_msg(same_weight(seq, fun, names[i]), "%s differs", names[i]);
    ck_assert_msg(!same_weight(fun, before, names[i]) || i == 1, "%s did not train", names[i]);
  }
  nnc_array x = f32(train_x, 2, ROWS, 5), pa, pb;
  nnc_status st;
  ck_assert(nnc_model_predict(seq, &x, 16, &pa, &st) == NNC_OK);
  ck_assert(nnc_model_predict(fun, &x, 16, &pb, &st) == NNC_OK);
  ck_assert_int_eq(nnc_array_count(&pa), ROWS);
  ck_assert(memcmp(pa.data, pb.data, ROWS * 4) == 0);
  nnc_array_free(&pa);
  nnc_array_free(&pb);
  nnc_model_free(seq);
  nnc_model_free(fun);
  nnc_model_free(before);
}
END_TEST

START_TEST(frozen_layer_keeps_weights) {
  fill_data();
  const char *json = Q(K2_MODEL(
      K2_INPUT("x", "5") ", " K2_LAYER(
          "Dense", "frozen", ", 'units': 4, 'activation': 'tanh', 'trainable': false",
          "[" REF(
              "x") "]") ", " K2_LAYER("Dense", "d", ", 'units': 4, 'activation': 'tanh'",
                                      "[" REF(
                                          "x") "]") ", " K2_LAYER("Add", "s", "",
                                                                  "[" REF("frozen") ", " REF(
                                                                      "d") "]") ", " K2_LAYER("Dens"
                                                                                              "e",
                                                                                              "out",
                                                                                              ", "
                                                                                              "'uni"
                                                                                              "ts':"
                                                                                              " 1",
                                                                                              "[" REF(
                                                                                                  "s") "]"),
      "['x', 0, 0]", "['out', 0, 0]", ADAM));
  nnc_model *m = load(json), *m0 = load(json);
  fit(m, 2);
  ck_assert(same_weight(m, m0, "frozen/kernel"));
  ck_assert(same_weight(m, m0, "frozen/bias"));
  ck_assert(!same_weight(m, m0, "d/kernel"));
  ck_assert(!same_weight(m, m0, "out/kernel"));
  nnc_model_free(m);
  nnc_model_free(m0);
}
END_TEST

/* ---- nested models ---- */

/* x(5) -> tower (a Sequential of d1, d2; frozen when told) -> out (Keras 3). */
static const char *nested_json(const char *tower_trainable) {
  static char buf[8192];
  char tmpl[8192];
  snprintf(
      tmpl, sizeof tmpl, "%s%s%s",
      "{'module': 'keras.src.models.functional', 'class_name': 'Functional', 'config': {"
      "'name': 'outer', 'layers': ["
      "{'class_name': 'InputLayer', 'name': 'x', 'config': {'batch_shape': [null, 5], "
      "'name': 'x'}, 'inbound_nodes': []},"
      "{'module': 'keras', 'class_name': 'Sequential', 'name': 'tower', 'config': {'name': "
      "'tower', 'trainable': ",
      tower_trainable,
      ", 'layers': [{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 5], "
      "'name': 'tin'}}, {'class_name': 'Dense', 'config': {'name': 'd1', 'units': 4, "
      "'activation': 'tanh'}}, {'class_name': 'Dense', 'config': {'name': 'd2', 'units': "
      "4}}]}, 'build_config': {'input_shape': [null, 5]}, 'inbound_nodes': [{'args': "
      "[" K3_T("x", "0",
               "5") "], 'kwargs': {}}]},"
                    "{'class_name': 'Dense', 'name': 'out', 'config': {'name': 'out', 'units': 1}, "
                    "'inbound_nodes': [{'args': [" K3_T(
                        "tower", "0",
                        "4") "], 'kwargs': {}}]}],"
                             "'input_layers': [['x', 0, 0]], 'output_layers': [['out', 0, 0]]}" ADAM
                             "}");
  snprintf(buf, sizeof buf, "%s", Q(tmpl));
  return buf;
}

START_TEST(nested_model_structure) {
  nnc_spec spec = parse_ok(nested_json("false"));
  nnc_lowered l;
  lower_ok(&spec, &l);
  const nnc_program *p = &l.prog;
  ck_assert_int_eq(p->n_params, 6);
  ck_assert_str_eq(p->params[0].name, "tower/d1/kernel");
  ck_assert_str_eq(p->params[0].layer, "tower/d1");
  ck_assert_str_eq(p->params[3].name, "tower/d2/bias");
  ck_assert_str_eq(p->params[4].name, "out/kernel");
  for (int i = 0; i < 6; i++) ck_assert_int_eq(p->params[i].trainable, i >= 4);
  ck_assert_int_eq(p->n_layers, 3); /* x, tower (one row), out */
  const nnc_layer_info *r = row(p, "tower");
  ck_assert_str_eq(r->kind, "Sequential");
  ck_assert_int_eq(r->n_params, 5 * 4 + 4 + 4 * 4 + 4);
  ck_assert_int_eq(r->n_trainable, 0);
  ck_assert_int_eq(r->out_shape.dims[1], 4);
  ck_assert_str_eq(r->connected, "x[0][0]");
  lowered_free(&l);
  nnc_spec_free(&spec);

  spec = parse_ok(nested_json("true"));
  lower_ok(&spec, &l);
  ck_assert_int_eq(row(&l.prog, "tower")->n_trainable, 44);
  lowered_free(&l);
  nnc_spec_free(&spec);

  /* an inner error keeps its full path */
  parse_error(Q(K2_MODEL(K2_INPUT("x", "3") ", {'class_name': 'Sequential', 'name': 't', "
                                            "'config': {'name': 't', 'layers': [{'class_name': "
                                            "'Dense', 'config': {'units': -1}}]}, "
                                            "'inbound_nodes': [[" REF("x") "]]}",
                         "['x', 0, 0]", "['t', 0, 0]", "")),
              "model.json: $.config.layers[1].config.layers[0].config.units: expected a positive "
              "integer, got -1");
  /* called twice: one set of weights, one summary row listing both calls
   * (test_nested_shared checks the values) */
  spec = parse_ok(Q(K2_MODEL(K2_INPUT("x", "3") ", {'class_name': 'Sequential', 'name': 't', "
                                                "'config': {'name': 't', 'layers': [{'class_name': "
                                                "'Dense', 'config': {'units': 3}}]}, "
                                                "'inbound_nodes': [[" REF("x") "], [['t', 0, 0, "
                                                                               "{}]]]}",
                             "['x', 0, 0]", "['t', 1, 0]", "")));
  lower_ok(&spec, &l);
  ck_assert_int_eq(l.prog.n_params, 2);
  ck_assert_int_eq(row(&l.prog, "t")->n_params, 3 * 3 + 3);
  ck_assert_str_eq(row(&l.prog, "t")->connected, "x[0][0], t[0][0]");
  lowered_free(&l);
  nnc_spec_free(&spec);
}
END_TEST

START_TEST(nested_frozen_model_keeps_weights) {
  fill_data();
  const char *json = nested_json("false");
  nnc_model *m = load(json), *m0 = load(json);
  fit(m, 2);
  ck_assert(same_weight(m, m0, "tower/d1/kernel"));
  ck_assert(same_weight(m, m0, "tower/d2/kernel"));
  ck_assert(same_weight(m, m0, "tower/d2/bias"));
  ck_assert(!same_weight(m, m0, "out/kernel"));
  nnc_model_free(m);
  nnc_model_free(m0);
  /* the same model unfrozen trains the tower too */
  json = nested_json("true");
  m = load(json);
  m0 = load(json);
  fit(m, 2);
  ck_assert(!same_weight(m, m0, "tower/d1/kernel"));
  nnc_model_free(m);
  nnc_model_free(m0);
}
END_TEST

/* ---- node numbering of nested models, merge layers' declared shapes ---- */

/* Keras 3: outer(x(5) -> enc (a nested model) -> out), enc referenced at
 * node `node`; enc is a Functional (enc_in -> e1) or a Sequential (e1). */
static const char *k3_nested(int functional, int node) {
  static char buf[8192];
  char tmpl[8192], ref[16];
  snprintf(ref, sizeof ref, "%d", node);
  const char *inner =
      functional
          ? "{'class_name': 'Functional', 'name': 'enc', 'config': {'name': 'enc', 'layers': ["
            "{'class_name': 'InputLayer', 'name': 'enc_in', 'config': {'batch_shape': [null, 5], "
            "'name': 'enc_in'}, 'inbound_nodes': []},"
            "{'class_name': 'Dense', 'name': 'e1', 'config': {'name': 'e1', 'units': 3}, "
            "'inbound_nodes': [{'args': [" K3_T(
                "enc_in", "0",
                "5") "], 'kwargs': {}}]}],"
                     "'input_layers': ['enc_in', 0, 0], 'output_layers': ['e1', 0, 0]},"
          : "{'class_name': 'Sequential', 'name': 'enc', 'config': {'name': 'enc', 'layers': ["
            "{'class_name': 'Dense', 'config': {'name': 'e1', 'units': 3}}]},";
  snprintf(
      tmpl, sizeof tmpl,
      "{'class_name': 'Functional', 'config': {'name': 'outer', 'layers': ["
      "{'class_name': 'InputLayer', 'name': 'x', 'config': {'batch_shape': [null, 5], "
      "'name': 'x'}, 'inbound_nodes': []},"
      "%s 'inbound_nodes': [{'args': [" K3_T(
          "x", "0",
          "5") "], 'kwargs': {}}]},"
               "{'class_name': 'Dense', 'name': 'out', 'config': {'name': 'out', 'units': 1}, "
               "'inbound_nodes': [{'args': [{'class_name': '__keras_tensor__', 'config': {'shape': "
               "[null, 3], 'keras_history': ['enc', %s, 0]}}], 'kwargs': {}}]}],"
               "'input_layers': [['x', 0, 0]], 'output_layers': [['out', 0, 0]]}}",
      inner, ref);
  snprintf(buf, sizeof buf, "%s", Q(tmpl));
  return buf;
}

/* tf.keras 2 / tfjs: x(5) -> enc (a Sequential with `seq_input`, or a
 * Functional) -> out, enc referenced at node `node`. */
static const char *k2_nested(const char *kind, int node) {
  static char buf[8192];
  char tmpl[8192];
  const char *inner = "";
  if (!strcmp(kind, "input_layer"))
    inner = "{'class_name': 'Sequential', 'name': 'enc', 'config': {'name': 'enc', 'layers': ["
            "{'class_name': 'InputLayer', 'config': {'batch_input_shape': [null, 5], 'name': "
            "'enc_in'}}, {'class_name': 'Dense', 'config': {'name': 'e1', 'units': 3}}]}";
  else if (!strcmp(kind, "first_layer_shape"))
    inner = "{'class_name': 'Sequential', 'name': 'enc', 'config': {'name': 'enc', 'layers': ["
            "{'class_name': 'Dense', 'config': {'name': 'e1', 'units': 3, "
            "'batch_input_shape': [null, 5]}}]}";
  else if (!strcmp(kind, "build_input_shape"))
    inner = "{'class_name': 'Sequential', 'name': 'enc', 'config': {'name': 'enc', 'layers': ["
            "{'class_name': 'Dense', 'config': {'name': 'e1', 'units': 3}}], "
            "'build_input_shape': [null, 5]}";
  else if (!strcmp(kind, "no_input"))
    inner = "{'class_name': 'Sequential', 'name': 'enc', 'config': {'name': 'enc', 'layers': ["
            "{'class_name': 'Dense', 'config': {'name': 'e1', 'units': 3}}]}";
  else
    inner = "{'class_name': 'Functional', 'name': 'enc', 'config': {'name': 'enc', 'layers': ["
            "{'class_name': 'InputLayer', 'name': 'enc_in', 'config': {'batch_input_shape': "
            "[null, 5], 'name': 'enc_in'}, 'inbound_nodes': []},"
            "{'class_name': 'Dense', 'name': 'e1', 'config': {'name': 'e1', 'units': 3}, "
            "'inbound_nodes': [[['enc_in', 0, 0, {}]]]}],"
            "'input_layers': [['enc_in', 0, 0]], 'output_layers': [['e1', 0, 0]]}";
  snprintf(tmpl, sizeof tmpl,
           "{'class_name': 'Functional', 'keras_version': '2.12.0', 'config': {'name': 'outer', "
           "'layers': [" K2_INPUT("x", "5") ", %s, 'inbound_nodes': [[" REF(
               "x") "]]},"
                    "{'class_name': 'Dense', 'name': 'out', 'config': {'name': 'out', 'units': 1}, "
                    "'inbound_nodes': [[['enc', %d, 0, {}]]]}],"
                    "'input_layers': [['x', 0, 0]], 'output_layers': [['out', 0, 0]]}}",
           inner, node);
  snprintf(buf, sizeof buf, "%s", Q(tmpl));
  return buf;
}

static void lowers_with_weight(const char *json, const char *weight) {
  nnc_spec spec = parse_ok(json);
  nnc_lowered l;
  lower_ok(&spec, &l);
  int found = 0;
  for (int i = 0; i < l.prog.n_params; i++) found |= !strcmp(l.prog.params[i].name, weight);
  ck_assert_msg(found, "no weight %s", weight);
  lowered_free(&l);
  nnc_spec_free(&spec);
}

START_TEST(nested_node_numbering) {
  const char *path = "model.json: $.config.layers[2].inbound_nodes[0].args[0].config."
                     "keras_history[1]: ";
  char want[512];
  /* Keras 3: a nested Functional's first call is node 1, with its weights
   * named without the model's prefix; a Sequential's is node 0 */
  lowers_with_weight(k3_nested(1, 1), "e1/kernel");
  lowers_with_weight(k3_nested(0, 0), "enc/e1/kernel");
  /* so a nested Functional's layer may not share a weight name with an outer one */
  {
    char json[8192], *at;
    snprintf(json, sizeof json, "%s", k3_nested(1, 1));
    while ((at = strstr(json, "\"e1\""))) { /* rename e1 -> "out" (same length + 1) */
      memmove(at + 5, at + 4, strlen(at + 4) + 1);
      memcpy(at, "\"out\"", 5);
    }
    lower_error(json, "model.json: $.config.layers[2].inbound_nodes[0]: two "
                      "weights are named out/kernel");
  }
  /* the summary's "Connected to" names the call as the file does, as Keras's does */
  for (int functional = 0; functional < 2; functional++) {
    nnc_spec spec = parse_ok(k3_nested(functional, functional));
    nnc_lowered l;
    lower_ok(&spec, &l);
    ck_assert_str_eq(row(&l.prog, "out")->connected, functional ? "enc[1][0]" : "enc[0][0]");
    lowered_free(&l);
    nnc_spec_free(&spec);
  }
  snprintf(want, sizeof want,
           "%sexpected a node index from 1 (node 0 of nested model \"enc\" is its built-in node, "
           "not a call), got 0",
           path);
  parse_error(k3_nested(1, 0), want);
  snprintf(want, sizeof want,
           "%sexpected a node index below 2 (layer \"enc\" is called 1 time, as nodes from 1: "
           "node 0 is the model's built-in node), got 2",
           path);
  parse_error(k3_nested(1, 2), want);
  snprintf(want, sizeof want,
           "%sexpected a node index below 1 (layer \"enc\" is called 1 time), got 1", path);
  parse_error(k3_nested(0, 1), want);

  /* tf.keras 2 / tfjs: every nested model with its own input counts from 1 */
  const char *from_one[] = {"input_layer", "first_layer_shape", "build_input_shape", "functional"};
  for (int i = 0; i < 4; i++) {
    nnc_spec spec = parse_ok(k2_nested(from_one[i], 1));
    nnc_spec_free(&spec);
    parse_error(k2_nested(from_one[i], 0),
                "model.json: $.config.layers[2].inbound_nodes[0][0][1]: expected a node index "
                "from 1 (node 0 of nested model \"enc\" is its built-in node, not a call), got 0");
  }
  lowers_with_weight(k2_nested("functional", 1), "e1/kernel");
  lowers_with_weight(k2_nested("input_layer", 1), "enc/e1/kernel");
  /* a Sequential without an input has no built-in node */
  nnc_spec spec = parse_ok(k2_nested("no_input", 0));
  nnc_spec_free(&spec);
  parse_error(k2_nested("no_input", 1), "expected a node index below 1 (layer \"enc\" is called 1 "
                                        "time), got 1");
}
END_TEST

/* Keras 3 Add of two inputs whose build_config declares `shapes`, and whose
 * inbound tensors are given with or without their shapes. */
static const char *k3_add(const char *shapes, int tensor_shapes) {
  static char buf[8192];
  char tmpl[8192];
  const char *ta = tensor_shapes ? K3_T("a", "0", "4")
                                 : "{'class_name': '__keras_tensor__', "
                                   "'config': {'keras_history': ['a', 0, 0]}}";
  const char *tb = tensor_shapes ? K3_T("b", "0", "4")
                                 : "{'class_name': '__keras_tensor__', "
                                   "'config': {'keras_history': ['b', 0, 0]}}";
  snprintf(tmpl, sizeof tmpl,
           "{'class_name': 'Functional', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'name': 'a', 'config': {'batch_shape': [null, 4], "
           "'name': 'a'}, 'inbound_nodes': []},"
           "{'class_name': 'InputLayer', 'name': 'b', 'config': {'batch_shape': [null, 4], "
           "'name': 'b'}, 'inbound_nodes': []},"
           "{'class_name': 'Add', 'name': 'add', 'config': {'name': 'add'}, 'build_config': "
           "{'input_shape': %s}, 'inbound_nodes': [{'args': [[%s, %s]], 'kwargs': {}}]}],"
           "'input_layers': [['a', 0, 0], ['b', 0, 0]], 'output_layers': [['add', 0, 0]]}}",
           shapes, ta, tb);
  snprintf(buf, sizeof buf, "%s", Q(tmpl));
  return buf;
}

START_TEST(merge_declared_shapes) {
  nnc_spec spec = parse_ok(k3_add("[[null, 4], [null, 4]]", 0));
  ck_assert_int_eq(spec.layers[2].n_declared_inputs, 2);
  ck_assert_str_eq(spec.layers[2].declared_inputs[1].path,
                   "$.config.layers[2].build_config.input_shape[1]");
  nnc_lowered l;
  lower_ok(&spec, &l);
  lowered_free(&l);
  nnc_spec_free(&spec);
  /* the keras tensors' shapes take over from build_config */
  spec = parse_ok(k3_add("[[null, 4], [null, 4]]", 1));
  ck_assert_int_eq(spec.layers[2].n_declared_inputs, 2);
  ck_assert_str_eq(spec.layers[2].declared_inputs[0].path,
                   "$.config.layers[2].inbound_nodes[0].args[0][0].config.shape");
  nnc_spec_free(&spec);
  lower_error(k3_add("[[null, 4], [null, 5]]", 0),
              "model.json: $.config.layers[2].build_config.input_shape[1]: declared input shape "
              "[B,5] does not match [B,4]");
  lower_error(k3_add("[[null, 4], [null, 4], [null, 4]]", 0),
              "model.json: $.config.layers[2].build_config.input_shape[0]: declares 3 input "
              "shapes, but \"add\" is called on 2 tensors");
  parse_error(k3_add("[[null, 4], [null, 0]]", 0),
              "model.json: $.config.layers[2].build_config.input_shape[1][1]: expected a positive "
              "integer");
}
END_TEST

/* ---- facts of the oracle cases of tests/cases that a tolerance would hide ---- */

#define REPO_CASES NNC_SOURCE_DIR "/tests/cases"

/* Fit case `name` (as test_golden does); weights `kept` must end equal to
 * w0 bit for bit, `moved` must differ from it. */
static void case_keeps_weights(const char *name, const char *const *kept, int n_kept,
                               const char *moved) {
  oracle_case c, c0;
  oracle_case_load_from(REPO_CASES, name, &c);
  oracle_case_load_from(REPO_CASES, name, &c0);
  nnc_history h;
  nnc_status st;
  ck_assert_msg(nnc_model_fit_multi(c.model, c.n_x, c.xs, c.n_y, c.ys, &c.fit, &h, &st) == NNC_OK,
                "%s: %s", name, st.message);
  for (int i = 0; i < n_kept; i++)
    ck_assert_msg(same_weight(c.model, c0.model, kept[i]), "%s: %s changed", name, kept[i]);
  ck_assert_msg(!same_weight(c.model, c0.model, moved), "%s: %s did not train", name, moved);
  nnc_history_free(&h);
  oracle_case_free(&c);
  oracle_case_free(&c0);
}

START_TEST(oracle_frozen_and_unreached_weights) {
  const char *body[] = {"body/body_dense_1/kernel", "body/body_dense_1/bias",
                        "body/body_dense_2/kernel", "body/body_dense_2/bias"};
  case_keeps_weights("nested_frozen", body, 4, "head/kernel");
  case_keeps_weights("nested_frozen_keras2", body, 4, "head/kernel");
  case_keeps_weights("nested_frozen_tfjs", body, 4, "head/kernel");
  const char *aux[] = {"aux/kernel", "aux/bias"};
  case_keeps_weights("output_without_loss", aux, 2, "trunk/kernel");
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("functional");
  TCase *graph = tcase_create("graph");
  tcase_add_test(graph, keras3_multi_input_output_shared);
  tcase_add_test(graph, keras2_and_tfjs_branches);
  tcase_add_test(graph, training_false_and_shared_dropout);
  tcase_add_test(graph, reshape_and_identity);
  tcase_add_test(graph, bad_layers);
  tcase_add_test(graph, nested_model_structure);
  tcase_add_test(graph, nested_node_numbering);
  tcase_add_test(graph, merge_declared_shapes);
  suite_add_tcase(s, graph);
  TCase *train = tcase_create("train");
  tcase_set_timeout(train, 120);
  tcase_add_test(train, merge_gradients);
  tcase_add_test(train, shared_layer_gradients);
  tcase_add_test(train, functional_equals_sequential);
  tcase_add_test(train, frozen_layer_keeps_weights);
  tcase_add_test(train, nested_frozen_model_keeps_weights);
  tcase_add_test(train, oracle_frozen_and_unreached_weights);
  suite_add_tcase(s, train);
  return s;
}

int main(void) {
  return testutil_run(suite());
}
