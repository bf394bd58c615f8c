/* Binding a built-in callback's arguments (cb_arg, from nnc_callback_create)
 * to typed fields: every key must be one the class declares, with a value of
 * the declared kind; anything else is NNC_ERR_ARG naming the source, the
 * argument's path and what was expected. */
#ifndef NNC_CB_ARGS_H
#define NNC_CB_ARGS_H

#include "runtime/callbacks/callbacks.h"

typedef enum cb_param_kind {
  CB_P_NUMBER,         /* double *: a number */
  CB_P_NUMBER_OR_NULL, /* double *: a number, or null (NaN) */
  CB_P_INT,            /* int *: an integral number (true/false as 1/0) */
  CB_P_BOOL,           /* int *: true/false (or 0/1 as Python takes them) */
  CB_P_STRING,         /* char **: a string, copied (caller frees) */
  CB_P_ARG             /* const cb_arg **: the raw argument, checked by the class */
} cb_param_kind;

typedef struct cb_param {
  const char *key;
  cb_param_kind kind;
  void *dst; /* left as is when the key is absent (the default) */
} cb_param;

int cb_args_bind(const char *source, const char *class_name, const cb_arg *args, int n_args,
                 const cb_param *params, int n_params, nnc_status *st);

/* The message prefix of an argument: "source: path". */
int cb_arg_fail(const char *source, const cb_arg *a, nnc_status *st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
