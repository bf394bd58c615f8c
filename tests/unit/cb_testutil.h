/* Helpers for the built-in callback tests: a tiny built model, cb_args
 * written inline, a callback made from its class, and hooks called by hand
 * with hand-written logs (as fit would call them). */
#ifndef NNC_CB_TESTUTIL_H
#define NNC_CB_TESTUTIL_H

#include "runtime/callbacks/callbacks.h"
#include "runtime/model.h"

/* Dense(2 -> 1), SGD(0.1), mse, metrics ["accuracy"]: built, 3 parameters. */
nnc_model *cbt_model(void);

cb_arg cbt_num(const char *key, double v);
cb_arg cbt_bool(const char *key, int v);
cb_arg cbt_str(const char *key, const char *v);
cb_arg cbt_null(const char *key);
cb_arg cbt_json(const char *key, const char *json);

/* The callback of class c from args; fails the test if create fails. */
nnc_callback *cbt_create(const cb_class *c, const cb_arg *args, int n);
/* create's code (and message in st) for arguments that must be refused. */
int cbt_create_fails(const cb_class *c, const cb_arg *args, int n, nnc_status *st);

/* logs holding one entry (name, v); a NULL name: empty logs */
void cbt_logs1(nnc_logs *logs, const char *name, double v);

/* Call a hook if the callback has it; fail the test on an error. */
void cbt_train_begin(nnc_callback *cb, nnc_model *m);
void cbt_train_end(nnc_callback *cb, nnc_model *m);
void cbt_epoch_begin(nnc_callback *cb, nnc_model *m, int epoch, nnc_logs *logs);
void cbt_epoch_end(nnc_callback *cb, nnc_model *m, int epoch, nnc_logs *logs);
/* What nnc_callback_free does (fit owns that function). */
void cbt_free(nnc_callback *cb);
/* The hook's code, for hooks that must fail. */
int cbt_epoch_end_rc(nnc_callback *cb, nnc_model *m, int epoch, nnc_logs *logs, nnc_status *st);

#endif
