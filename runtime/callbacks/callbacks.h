/* Built-in callbacks (issue 7): each class is one file
 * runtime/callbacks/<name>.c defining `const cb_class cb_<name>` and one row
 * in callbacks.def. nnc_callback_create / _create_json parse Keras-style text
 * or JSON into arguments and call the class's create. */
#ifndef NNC_CALLBACKS_H
#define NNC_CALLBACKS_H

#include <stdint.h>

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

/* The args (and their strings) live only during create: a class copies
 * what it keeps. Helpers for create (runtime/callbacks/callbacks.c), each
 * NNC_ERR_ARG "<source>: <path>: expected ..." on a bad value: */
int cb_arg_number(const char *source, const cb_arg *a, double *out, nnc_status *st);
int cb_arg_int(const char *source, const cb_arg *a, int64_t *out, nnc_status *st);
int cb_arg_bool(const char *source, const cb_arg *a, int *out, nnc_status *st);
/* a string (a bare word in the text form is one); *out points into the arg */
int cb_arg_string(const char *source, const cb_arg *a, const char **out, nnc_status *st);
/* A heap copy of s (what a class keeps of an argument or of its source);
 * NULL with st set when out of memory. */
char *cb_strdup(const char *s, nnc_status *st);
/* "<source>: <path>: unknown argument of <class> (known: a, b, c)" */
int cb_arg_unknown(const char *source, const char *class_name, const cb_arg *a, const char *known,
                   nnc_status *st);

/* Create a callback of class `class_name` from parsed args (the registry of
 * callbacks.def); an unknown class lists the known ones. */
int cb_create(const char *class_name, const char *source, const char *path, const cb_arg *args,
              int n_args, nnc_callback **out, nnc_status *st);

/* The file a CSVLogger writes (NULL for any other callback): the CLI checks
 * it is none of its inputs before training, as it checks its own outputs. */
const char *cb_csv_logger_file(const nnc_callback *cb);

/* A file a built-in callback writes: the CLI refuses, before training, one
 * that is an input of the run (docs/cli.md "Files"). */
typedef struct cb_written {
  const char *arg;  /* the argument that names it: "filename", "filepath", "backup_dir" */
  const char *path; /* owned by the callback */
  int is_template;  /* ModelCheckpoint's {epoch:02d}, {val_loss:.2f}, ... fields */
} cb_written;
enum { CB_MAX_WRITTEN = 2 }; /* the most files one built-in class writes */
/* The files cb writes, into out[0..CB_MAX_WRITTEN): the count; 0 for a
 * callback that writes none or is not built in. CSVLogger: its filename;
 * ModelCheckpoint: its filepath and, unless save_weights_only, the
 * optimizer file beside it; BackupAndRestore: the backup and its previous
 * copy in backup_dir. (Each class's own accessor is below.) */
int cb_written_files(const nnc_callback *cb, cb_written out[CB_MAX_WRITTEN]);
int cb_model_checkpoint_files(const nnc_callback *cb, cb_written out[CB_MAX_WRITTEN]);
int cb_backup_and_restore_files(const nnc_callback *cb, cb_written out[CB_MAX_WRITTEN]);

/* Parsers (runtime/callbacks/parse.c). Text: "Name(key=value, ...)"; JSON
 * object {"class_name", "config"} (cJSON item; path names it in messages). */
int cb_parse_text(const char *text, const char *source, nnc_callback **out, nnc_status *st);
struct cJSON;
int cb_parse_json_item(const struct cJSON *item, const char *source, const char *path,
                       nnc_callback **out, nnc_status *st);

#endif
