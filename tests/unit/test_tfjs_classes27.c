/* Layer classes nnc writes for TF.js (runtime/io/tfjs_classes.c, session
 * 27). TF.js 4.22 looks a class up by its exact name and refuses the
 * model.json ("Unknown layer") otherwise; nnc reads a class ignoring case
 * and '_' and knows classes TF.js lacks. Truth: TF.js's own registry (the
 * oracle's node_modules, read with node: the classes that are layers), and
 * hand-derived spellings.
 * - the writer's spelling for every layer class nnc reads is a class TF.js
 *   registers, and it has one exactly when TF.js has a class of that name
 *   up to case and '_' (an nnc class TF.js lacks is refused, not written);
 *   every TF.js layer class maps to itself (the table misses none);
 * - "conv_2d", "DENSE", "lstm_cell" are written Conv2D, Dense, LSTMCell at
 *   any depth (a nested model, a wrapper, an RNN's cell); a Subtract inside
 *   a nested model is refused, the message naming the layer and the class.
 * The CLI side (TF.js loads what is written): tests/cli/test_tfjs_classes27.sh. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/layers/layer.h"
#include "runtime/io/tfjs.h"

#define MAX_CLASSES 256

static char registry[MAX_CLASSES][64];
static int n_registry = -1; /* -1: not read (no node or no oracle) */

/* TF.js's layer classes, one per line, from the oracle's node_modules. */
static void read_registry(void) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "cd '%s' 2>/dev/null && [ -d node_modules/@tensorflow/tfjs ] && command -v node "
           ">/dev/null && node -e \"const tf = require('./node_modules/@tensorflow/tfjs'); "
           "const m = tf.serialization.SerializationMap.getMap().classNameMap; "
           "for (const k of Object.keys(m)) if (m[k][0].prototype instanceof tf.layers.Layer) "
           "process.stdout.write('@' + k + '\\\\n');\" 2>/dev/null",
           NNC_ORACLE_DIR);
  FILE *p = popen(cmd, "r");
  if (!p) return;
  char line[256];
  int n = 0;
  while (fgets(line, sizeof line, p)) {
    if (line[0] != '@') continue; /* TF.js's own notices */
    line[strcspn(line, "\n")] = '\0';
    ck_assert_int_lt(n, MAX_CLASSES);
    ck_assert_uint_lt(strlen(line + 1), sizeof registry[0]);
    memcpy(registry[n++], line + 1, strlen(line + 1) + 1);
  }
  if (pclose(p) == 0 && n > 0) n_registry = n;
}

static void fold(const char *s, char *out) {
  size_t n = 0;
  for (; *s && n < 63; s++)
    if (*s != '_') out[n++] = (char)(*s >= 'A' && *s <= 'Z' ? *s - 'A' + 'a' : *s);
  out[n] = '\0';
}

/* TF.js's class whose name folds as name's, or NULL */
static const char *registry_match(const char *name) {
  char a[64], b[64];
  fold(name, a);
  for (int i = 0; i < n_registry; i++) {
    fold(registry[i], b);
    if (!strcmp(a, b)) return registry[i];
  }
  return NULL;
}

START_TEST(classes_against_tfjs_registry) {
  read_registry();
  if (n_registry < 0) {
    printf("NOTICE: node or %s/node_modules is absent (npm ci there): the registry checks "
           "are skipped; the spelling checks still run\n",
           NNC_ORACLE_DIR);
    return;
  }
  ck_assert_int_ge(n_registry, 60); /* TF.js 4.22 registers 69 layer classes */
  int written = 0, refused = 0;
  for (int k = 0; k < NNC_LAYER_COUNT; k++) {
    const char *cls = layer_class((nnc_layer_kind)k)->class_name;
    const char *ours = tfjs_layer_class(cls), *theirs = registry_match(cls);
    if (theirs) {
      ck_assert_msg(ours && !strcmp(ours, theirs), "%s: nnc writes %s, TF.js registers %s", cls,
                    ours ? ours : "(refused)", theirs);
      written++;
    } else {
      ck_assert_msg(!ours, "%s: TF.js registers no such layer, nnc would write %s", cls, ours);
      refused++;
    }
  }
  for (int i = 0; i < n_registry; i++) {
    const char *ours = tfjs_layer_class(registry[i]);
    ck_assert_msg(ours && !strcmp(ours, registry[i]), "TF.js's %s: nnc's table has %s", registry[i],
                  ours ? ours : "nothing");
  }
  /* nnc's classes TF.js 4.22 lacks: a count to notice a registry change by */
  printf("tfjs classes: %d of nnc's %d layer classes written, %d refused; TF.js registers %d\n",
         written, NNC_LAYER_COUNT, refused, n_registry);
  ck_assert_int_gt(written, 40);
  ck_assert_int_gt(refused, 0); /* Subtract, DepthwiseConv1D, Lambda, ... */
}
END_TEST

START_TEST(spellings) {
  ck_assert_str_eq(tfjs_layer_class("conv_2d"), "Conv2D");
  ck_assert_str_eq(tfjs_layer_class("DENSE"), "Dense");
  ck_assert_str_eq(tfjs_layer_class("lstm_cell"), "LSTMCell");
  ck_assert_str_eq(tfjs_layer_class("Batch_Normalization"), "BatchNormalization");
  ck_assert_ptr_null(tfjs_layer_class("Subtract"));
  ck_assert_ptr_null(tfjs_layer_class("DepthwiseConv1D"));
  ck_assert_ptr_null(tfjs_layer_class("Identity")); /* TF.js's Identity is an initializer */
  ck_assert_ptr_null(tfjs_layer_class(NULL));
}
END_TEST

/* A Sequential of an RNN with an "lstm_cell", a "time_distributed" "dense"
 * and a nested Sequential whose one layer is of class inner_class. */
static const char *spec_of(const char *inner_class) {
  static char buf[4096];
  snprintf(buf, sizeof buf,
           "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m\", \"layers\": ["
           "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 5, 3], "
           "\"name\": \"in\"}},"
           "{\"class_name\": \"RNN\", \"config\": {\"name\": \"r\", \"return_sequences\": true, "
           "\"cell\": {\"class_name\": \"lstm_cell\", \"config\": {\"name\": \"c\", \"units\": "
           "2}}}},"
           "{\"class_name\": \"time_distributed\", \"config\": {\"name\": \"td\", \"layer\": "
           "{\"class_name\": \"dense\", \"config\": {\"name\": \"tdd\", \"units\": 2}}}},"
           "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"inner\", \"layers\": ["
           "{\"class_name\": \"%s\", \"config\": {\"name\": \"x\", \"units\": 1}}]}}]}}",
           inner_class);
  return buf;
}

static const cJSON *layer_at(const cJSON *layers, int i) {
  return cJSON_GetArrayItem(layers, i);
}

static const char *class_of(const cJSON *layer) {
  const cJSON *c = cJSON_GetObjectItemCaseSensitive(layer, "class_name");
  return cJSON_IsString(c) ? c->valuestring : "";
}

static const cJSON *cfg_of(const cJSON *layer) {
  return cJSON_GetObjectItemCaseSensitive(layer, "config");
}

START_TEST(written_at_any_depth) {
  nnc_status st;
  cJSON *topo = tfjs_topology_from_spec(spec_of("DENSE"), "spec.json", &st);
  ck_assert_msg(topo != NULL, "%s", st.message);
  const cJSON *model = cJSON_GetObjectItemCaseSensitive(topo, "model_config");
  const cJSON *layers = cJSON_GetObjectItemCaseSensitive(cfg_of(model), "layers");
  ck_assert_str_eq(class_of(model), "Sequential");
  ck_assert_str_eq(class_of(layer_at(layers, 1)), "RNN");
  ck_assert_str_eq(class_of(cJSON_GetObjectItemCaseSensitive(cfg_of(layer_at(layers, 1)), "cell")),
                   "LSTMCell");
  ck_assert_str_eq(class_of(layer_at(layers, 2)), "TimeDistributed");
  ck_assert_str_eq(class_of(cJSON_GetObjectItemCaseSensitive(cfg_of(layer_at(layers, 2)), "layer")),
                   "Dense");
  const cJSON *inner = cJSON_GetObjectItemCaseSensitive(cfg_of(layer_at(layers, 3)), "layers");
  ck_assert_str_eq(class_of(layer_at(inner, 0)), "Dense");
  cJSON_Delete(topo);

  topo = tfjs_topology_from_spec(spec_of("subtract"), "spec.json", &st);
  ck_assert_ptr_null(topo);
  ck_assert_int_eq(st.code, NNC_ERR_ARG);
  ck_assert_msg(strstr(st.message, "spec.json") && strstr(st.message, "layer 'x'") &&
                    strstr(st.message, "no layer subtract") &&
                    strstr(st.message, "Unknown layer: subtract"),
                "%s", st.message);
}
END_TEST

int main(void) {
  Suite *s = suite_create("tfjs_classes27");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, classes_against_tfjs_registry);
  tcase_add_test(tc, spellings);
  tcase_add_test(tc, written_at_any_depth);
  suite_add_tcase(s, tc);
  SRunner *r = srunner_create(s);
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
