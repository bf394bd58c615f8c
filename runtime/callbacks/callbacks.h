/* Built-in callbacks (issue 7): each class is one file
 * runtime/callbacks/<name>.c defining `const cb_class cb_<name>` and one row
 * in callbacks.def. nnc_callback_create / _create_json parse Keras-style text
 * or JSON into arguments and call the class's create. */
#ifndef NNC_CALLBACKS_H
#define NNC_CALLBACKS_H

#include "nnc.h"

typedef enum cb_arg_type {
  CB_ARG_NUMBER,
  CB_ARG_BOOL,   /* num is 0 or 1 */
  CB_ARG_STRING, /* str */
  CB_ARG_NULL,   /* None / null */
  CB_ARG_JSON    /* str is the raw JSON text of an object or a list */
} cb_arg_type;

typedef struct cb_arg {
  const char *key;
  cb_arg_type type;
  double num;
  const char *str;
  char path[256]; /* for messages: "$.callbacks[0].config.patience" or "--callback 2: patience" */
} cb_arg;

typedef struct cb_class {
  const char *class_name; /* Keras's: "EarlyStopping" */
  /* Fill *out (its hooks, user state, free) from the arguments; unknown
   * keys and bad values are NNC_ERR_ARG naming source and the arg's path. */
  int (*create)(const char *source, const cb_arg *args, int n_args, nnc_callback *out,
                nnc_status *st);
} cb_class;

#endif
