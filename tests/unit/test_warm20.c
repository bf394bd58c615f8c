/* The cache key hashes what a code switch means, not its text
 * (compiler/codegen/cache_key.c): unset, VAR= and the default's own text are
 * one key. Checked here against the code itself: for every code switch,
 * values that share a key must compile to the same objects, byte for byte
 * (and the same IR before optimisation), and a value with another key must
 * change one of them on at least one of the
 * models below (else the first check proves nothing for that switch). A
 * wrong default in cache_key_switch_meanings (say NNC_OPT_UNIFORM's unset
 * taken as "1") shares a key between different code and fails here. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/codegen/cache_key.h"
#include "compiler/compile.h"
#include "compiler/env_check.h"
#include "compiler/spec/spec.h"
#include "base/base.h"
#include "testutil.h"

typedef struct blob {
  void *data;
  size_t len;
  obj_key key;
  char *ir; /* before optimisation: a switch may change it and not the object */
} blob;

/* The machine code of a spec as the memo keeps it (disk cache off), and its
 * IR before optimisation. */
static blob compile_blob(const char *json) {
  nnc_spec spec;
  nnc_status st;
  ck_assert_msg(nnc_spec_parse_string(json, "m.json", &spec, &st) == NNC_OK, "%s", st.message);
  codegen_memo memo;
  memset(&memo, 0, sizeof memo);
  nnc_compile_options opts;
  memset(&opts, 0, sizeof opts);
  opts.no_cache = 1;
  opts.memo = &memo;
  const char *ir = testutil_path(testutil_tmpdir(), "warm20.ll");
  opts.dump_ir_pre = ir;
  nnc_compiled c;
  ck_assert_msg(nnc_compile_spec(&spec, NULL, &opts, &c, &st) == NNC_OK, "%s", st.message);
  nnc_compiled_free(&c);
  nnc_spec_free(&spec);
  ck_assert_msg(memo.has, "no key: no build-id?");
  blob b = {memo.data, memo.len, memo.key, testutil_take_file(ir)};
  ck_assert_ptr_nonnull(b.ir);
  memo.data = NULL;
  codegen_memo_free(&memo);
  return b;
}

static int same_code(const blob *a, const blob *b) {
  return a->len == b->len && !memcmp(a->data, b->data, a->len) && !strcmp(a->ir, b->ir);
}

static void blob_free(blob *b) {
  free(b->data);
  free(b->ir);
}

static int same_key(const blob *a, const blob *b) {
  return a->key.h[0] == b->key.h[0] && a->key.h[1] == b->key.h[1];
}

/* Dense layers of one shape (shared kernels), short rows (the short pack),
 * a dropout after a relu (the inference graphs follow the train graph's
 * plain strip), softmax (the row pipeline), Adam (the small update
 * kernels); and a convolution with an epilogue before a Dense(1) (its
 * one-element bias update: NNC_FUSE_ONE_ELEMENT). */
static const char *model(int which) {
  if (which == 3) { /* 16 Dense(64, relu): a train graph of 64 groups or more, whose drivers
                     * compile apart (NNC_DRIVER_CODEGEN); the first on 600 inputs, split
                     * along K (NNC_KSPLIT) */
    static char json[4096];
    int at = snprintf(json, sizeof json,
                      "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"deep\", "
                      "\"layers\": [{\"class_name\": \"InputLayer\", \"config\": "
                      "{\"batch_shape\": [null, 600], \"name\": \"in\"}}");
    for (int i = 0; i < 16; i++)
      at += snprintf(json + at, sizeof json - (size_t)at,
                     ", {\"class_name\": \"Dense\", \"config\": {\"name\": \"d%d\", "
                     "\"units\": 64, \"activation\": \"relu\"}}",
                     i);
    snprintf(json + at, sizeof json - (size_t)at,
             "]}, \"compile_config\": {\"optimizer\": \"adam\", \"loss\": \"mse\"}}");
    return json;
  }
  if (which != 1)
    return testutil_json(
        "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
        "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 8], 'name': 'in'}},"
        "{'class_name': 'Dense', 'config': {'name': 'd0', 'units': 32, 'activation': 'relu'}},"
        "{'class_name': 'Dropout', 'config': {'name': 'x', 'rate': 0.25}},"
        "{'class_name': 'Dense', 'config': {'name': 'd1', 'units': 32, 'activation': 'relu'}},"
        "{'class_name': 'Dense', 'config': {'name': 'd2', 'units': 4, 'activation': "
        "'softmax'}}]},"
        "'compile_config': {'optimizer': 'adam', 'loss': 'categorical_crossentropy'}}");
  return testutil_json(
      "{'class_name': 'Sequential', 'config': {'name': 'c', 'layers': ["
      "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 6, 6, 1], 'name': 'in'}},"
      "{'class_name': 'Conv2D', 'config': {'name': 'c0', 'filters': 2, 'kernel_size': [3, 3], "
      "'activation': 'relu'}},"
      "{'class_name': 'Flatten', 'config': {'name': 'f'}},"
      "{'class_name': 'Dense', 'config': {'name': 'd', 'units': 1}}]},"
      "'compile_config': {'optimizer': 'sgd', 'loss': 'mean_squared_error'}}");
}
/* the third: the first at width 8 (6-row tiles: NNC_TILE_BORROW); the fourth
 * tried last, for the switches the others do not reach */
#define MODELS 4

static blob compile_model(int which) {
  if (which == 2) setenv("NNC_VECTOR_WIDTH", "8", 1);
  blob b = compile_blob(model(which));
  if (which == 2) unsetenv("NNC_VECTOR_WIDTH");
  return b;
}

static const env_var *accepted_values(const char *name) {
  const env_var *var = env_vars;
  while (var->name && strcmp(var->name, name)) var++;
  ck_assert_msg(var->name && var->values, "%s: no accepted values in env_check.c", name);
  return var;
}

START_TEST(values_sharing_a_key_make_the_same_code) {
  const char *only = getenv("NNC_WARM20_SWITCH"); /* one switch, for a quicker look */
  for (int i = 0; cache_key_env_code[i]; i++) unsetenv(cache_key_env_code[i]);
  char unexercised[512] = "";
  blob base[MODELS];
  for (int k = 0; k < MODELS; k++) base[k] = compile_model(k);
  for (int i = 0; cache_key_env_code[i]; i++) {
    const char *name = cache_key_env_code[i];
    if (only && strcmp(only, name)) continue;
    const env_var *var = accepted_values(name);
    int changed = 0, shared = 0;
    for (int k = 0; k < MODELS && !changed; k++) {
      if (k == 2 && !strcmp(name, "NNC_VECTOR_WIDTH")) break; /* that model sets it */
      for (int v = -1; var->values[v < 0 ? 0 : v]; v++) {
        const char *value = v < 0 ? "" : var->values[v];
        setenv(name, value, 1);
        blob b = compile_model(k);
        if (same_key(&b, &base[k])) {
          ck_assert_msg(same_code(&b, &base[k]), "%s=%s: the key of unset, other code", name,
                        value);
          shared += v >= 0;
        } else {
          changed += !same_code(&b, &base[k]);
        }
        blob_free(&b);
      }
      unsetenv(name);
    }
    /* a value meaning the default was compiled and compared (the vector
     * width's is the host's), and another value changed the code. A switch
     * of three states (NNC_UPDATE_ON_TILE) has no value sharing unset's key,
     * so no default to get wrong: only the empty value is checked (the
     * models here do not reach the update on the tile; W4-wide's does). */
    const cache_switch_meaning *m = cache_key_switch_meanings;
    while (m->name && strcmp(m->name, name)) m++;
    if (!m->unset && !m->resolved) continue;
    ck_assert_msg(shared >= 1, "%s: no value shares the key of unset", name);
    if (!changed)
      snprintf(unexercised + strlen(unexercised), sizeof unexercised - strlen(unexercised), " %s",
               name);
  }
  for (int k = 0; k < MODELS; k++) blob_free(&base[k]);
  ck_assert_msg(!unexercised[0], "no model here changes with%s: the check proved nothing",
                unexercised);
}
END_TEST

/* The switches known not to change code (cache_key_env_other) really do
 * not, where they are 0 or 1: compiling on one thread is the same object. */
START_TEST(other_switches_make_the_same_code) {
  unsetenv("NNC_CODEGEN_SERIAL");
  blob base = compile_blob(model(0));
  setenv("NNC_CODEGEN_SERIAL", "1", 1);
  blob serial = compile_blob(model(0));
  unsetenv("NNC_CODEGEN_SERIAL");
  ck_assert(same_key(&base, &serial));
  ck_assert(same_code(&base, &serial));
  blob_free(&base);
  blob_free(&serial);
}
END_TEST

int main(void) {
  Suite *s = suite_create("warm20");
  TCase *tc = tcase_create("warm20");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, values_sharing_a_key_make_the_same_code);
  tcase_add_test(tc, other_switches_make_the_same_code);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
