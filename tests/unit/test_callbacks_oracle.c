/* The public oracle case adam_early_stop end to end: Adam(0.005) on a
 * regression that overfits, EarlyStopping(monitor=val_loss, patience=2,
 * restore_best_weights=True) built from the case's callback config with
 * nnc_callback_create_json. Keras 3 (expected/): 8 of 40 epochs run
 * (val_loss best at index 5, no improvement at 6 and 7), History of those 8
 * epochs, final weights those of index 5 — within 1e-4 relative. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "oracle_case.h"
#include "testutil.h"

#define REL 1e-4
#define ABS 1e-6

START_TEST(adam_early_stop) {
  oracle_case c;
  oracle_case_load("adam_early_stop", &c);
  cJSON *list = cJSON_GetObjectItem(cJSON_GetObjectItem(c.json, "fit"), "callbacks");
  ck_assert_int_eq(cJSON_GetArraySize(list), 1);
  char *text = cJSON_PrintUnformatted(cJSON_GetArrayItem(list, 0));
  nnc_callback *cb = NULL;
  nnc_status st;
  ck_assert_msg(nnc_callback_create_json(text, "adam_early_stop/case.json", &cb, &st) == NNC_OK,
                "%s", st.message);
  ck_assert_str_eq(cb->name, "EarlyStopping");
  nnc_callback *const cbs[] = {cb};
  c.fit.n_callbacks = 1;
  c.fit.callbacks = cbs;
  c.fit.verbose = 0;
  nnc_history h;
  ck_assert_msg(nnc_model_fit(c.model, &c.x, &c.y, &c.fit, &h, &st) == NNC_OK, "%s", st.message);
  cJSON *meta = oracle_expected(&c, "meta.json");
  int runs = cJSON_GetObjectItem(meta, "epochs_run")->valueint;
  ck_assert_int_eq(runs, 8);
  ck_assert_int_eq(h.n_epochs, runs);
  cJSON *expected = oracle_expected(&c, "history.json"), *key;
  int keys = 0;
  cJSON_ArrayForEach(key, expected) {
    keys++;
    for (int e = 0; e < runs; e++) {
      double want = cJSON_GetArrayItem(key, e)->valuedouble,
             got = nnc_history_get(&h, key->string, e);
      ck_assert_msg(close_enough(got, want, REL, ABS), "%s[%d]: nnc %.9g, Keras %.9g", key->string,
                    e, got, want);
    }
  }
  ck_assert_int_eq(keys, h.n_keys);
  char bundle[1024];
  snprintf(bundle, sizeof bundle, "%s/expected/weights_final/weights.json", c.dir);
  oracle_check_bundle(c.model, bundle, REL, ABS);
  cJSON_Delete(expected);
  cJSON_Delete(meta);
  nnc_history_free(&h);
  nnc_callback_free(cb);
  free(text);
  oracle_case_free(&c);
}
END_TEST

int main(void) {
  Suite *s = suite_create("callbacks_oracle");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, adam_early_stop);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
