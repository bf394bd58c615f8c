/* Helpers for the built-in callback tests (cb_testutil.h). */
#include "cb_testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

nnc_model *cbt_model(void) {
  const char *spec =
      testutil_json("{'class_name': 'Sequential', 'config': {'name': 'cbt', 'layers': ["
                    "{'class_name': 'Dense', 'config': {'name': 'd', 'units': 1, "
                    "'activation': 'sigmoid', 'batch_input_shape': [null, 2]}}]},"
                    " 'compile_config': {'optimizer': {'class_name': 'SGD', 'config': "
                    "{'learning_rate': 0.1}}, 'loss': 'mse', 'metrics': ['accuracy']}}");
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(spec, "cbt.json", &m, &st) == NNC_OK, "%s", st.message);
  ck_assert(nnc_model_is_built(m));
  /* d/kernel (2 floats) at 0, d/bias at 16: each weight starts on a line */
  ck_assert_int_eq(m->t->params_floats, 17);
  m->resume_epoch = -1;
  return m;
}

static cb_arg arg(const char *key, cb_arg_type type, double num, const char *str) {
  cb_arg a;
  memset(&a, 0, sizeof a);
  a.key = key;
  a.type = type;
  a.num = num;
  a.str = str;
  snprintf(a.path, sizeof a.path, "$.callbacks[0].config.%s", key);
  return a;
}
cb_arg cbt_num(const char *key, double v) {
  return arg(key, CB_ARG_NUMBER, v, NULL);
}
cb_arg cbt_bool(const char *key, int v) {
  return arg(key, CB_ARG_BOOL, v, NULL);
}
cb_arg cbt_str(const char *key, const char *v) {
  return arg(key, CB_ARG_STRING, 0, v);
}
cb_arg cbt_null(const char *key) {
  return arg(key, CB_ARG_NULL, 0, NULL);
}
cb_arg cbt_json(const char *key, const char *json) {
  return arg(key, CB_ARG_JSON, 0, json);
}

nnc_callback *cbt_create(const cb_class *c, const cb_arg *args, int n) {
  nnc_callback *cb = calloc(1, sizeof *cb);
  nnc_status st;
  ck_assert_ptr_nonnull(cb);
  ck_assert_msg(c->create("test.json", args, n, cb, &st) == NNC_OK, "%s", st.message);
  ck_assert_str_eq(cb->name, c->class_name);
  return cb;
}

int cbt_create_fails(const cb_class *c, const cb_arg *args, int n, nnc_status *st) {
  nnc_callback cb;
  memset(&cb, 0, sizeof cb);
  int rc = c->create("test.json", args, n, &cb, st);
  ck_assert_msg(rc != NNC_OK, "create accepted the arguments");
  ck_assert_ptr_null(cb.user); /* a failed create releases what it made */
  return rc;
}

void cbt_logs1(nnc_logs *logs, const char *name, double v) {
  nnc_status st;
  logs->n = 0;
  if (name) ck_assert_msg(nnc_logs_set(logs, name, v, &st) == NNC_OK, "%s", st.message);
}

static void call(nnc_callback_hook h, nnc_callback *cb, nnc_model *m, int index, nnc_logs *logs) {
  nnc_status st;
  nnc_logs empty = {0};
  if (h) ck_assert_msg(h(cb, m, index, logs ? logs : &empty, &st) == NNC_OK, "%s", st.message);
  nnc_logs_free(&empty);
}
void cbt_train_begin(nnc_callback *cb, nnc_model *m) {
  m->stop_training = 0;
  call(cb->on_train_begin, cb, m, 0, NULL);
}
void cbt_train_end(nnc_callback *cb, nnc_model *m) {
  call(cb->on_train_end, cb, m, 0, NULL);
}
void cbt_epoch_begin(nnc_callback *cb, nnc_model *m, int epoch, nnc_logs *logs) {
  call(cb->on_epoch_begin, cb, m, epoch, logs);
}
void cbt_epoch_end(nnc_callback *cb, nnc_model *m, int epoch, nnc_logs *logs) {
  call(cb->on_epoch_end, cb, m, epoch, logs);
}
int cbt_epoch_end_rc(nnc_callback *cb, nnc_model *m, int epoch, nnc_logs *logs, nnc_status *st) {
  return cb->on_epoch_end(cb, m, epoch, logs, st);
}

void cbt_free(nnc_callback *cb) {
  if (cb && cb->free) cb->free(cb);
  free(cb);
}
