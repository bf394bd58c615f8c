/* Keras 3's MonitorCallback (keras/src/callbacks/monitor_callback.py): the
 * shared logic of EarlyStopping, ReduceLROnPlateau and ModelCheckpoint —
 * which direction is better, the min_delta margin, and the improvement test.
 * Plus the small services these callbacks share: verbose messages, warnings,
 * the learning rate as Keras's float32 variable holds it. */
#ifndef NNC_CB_MONITOR_H
#define NNC_CB_MONITOR_H

#include "runtime/callbacks/callbacks.h"
#include "runtime/model.h"

typedef enum cb_mode { CB_MODE_AUTO, CB_MODE_MIN, CB_MODE_MAX } cb_mode;

typedef struct cb_monitor {
  char *monitor;    /* the logs key */
  cb_mode mode;     /* as given */
  int op;           /* 0: not set yet; -1: less is better; +1: greater is better */
  double min_delta; /* |min_delta|, negated when op is less (as Keras) */
  int has_best;     /* 0: best is None */
  double best;
  char where[320]; /* "source: path" of the monitor argument (or the source), for messages */
} cb_monitor;

/* mode: "auto", "min" or "max". Keras warns and falls back to auto for
 * another word; nnc refuses it (NNC_ERR_ARG naming source and path). */
int cb_mode_parse(const char *source, const char *path, const char *mode, cb_mode *out,
                  nnc_status *st);

/* After cb_args_bind (its code in rc): monitor defaults to "val_loss", *mode
 * (a bound string or NULL; freed here) is parsed, min_delta becomes
 * |min_delta|. Returns rc or the first error. */
int cb_monitor_finish(cb_monitor *c, int rc, const char *source, const cb_arg *args, int n_args,
                      char **mode, double min_delta, nnc_status *st);

/* Keras's _set_monitor_op, called at the first epoch end: min/max as given;
 * auto: "loss" (after removing "val_") is min; a log key of the model's
 * compiled metrics takes the direction its class has in Keras (the program
 * table's nnc_log_key.direction: AUC named "score" is up, MeanSquaredError
 * named "h" down, whatever the name says); anything else is NNC_ERR_ARG
 * asking for a mode, as Keras's ValueError. Then min_delta takes its sign
 * and a best of None becomes +-inf. */
int cb_monitor_set_op(cb_monitor *c, const nnc_model *m, const char *class_name, nnc_status *st);

/* Keras's _is_improvement(current, reference): reference None is one;
 * otherwise monitor_op(current - min_delta, reference), where ops.less /
 * ops.greater convert the Python floats to float32 tensors first. */
int cb_is_improvement(const cb_monitor *c, double current, int ref_is_none, double reference);

/* The monitored value of logs, or 0 when it is missing. */
int cb_monitor_value(const cb_monitor *c, const nnc_logs *logs, double *out);

/* The keys of logs joined by commas (Keras's "Available metrics are: ..."). */
void cb_logs_keys(const nnc_logs *logs, char *out, size_t room);

/* A verbose message as Keras's io_utils.print_msg: to m->fit.progress (fit's progress FILE)
 * (stdout when NULL), with a newline. */
void cb_print(const nnc_model *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Python's repr of a float ("0.1", "1e-05", "0.0010000000474974513"). */
void cb_float_repr(double v, char *out, size_t room);

/* The learning rate as Keras's float32 optimizer variable holds it. */
double cb_learning_rate_f32(const nnc_model *m);

void cb_monitor_free(cb_monitor *c);

#endif
