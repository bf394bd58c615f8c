#include "compiler/cli/cli_fit_options.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_class_weights(const char *cmd, const char *text, double **weights) {
  *weights = NULL;
  unsigned char *listed = NULL; /* listed[c]: class c was given, so a repeat is refused */
  int n = 0;
  for (const char *p = text;;) {
    while (isspace((unsigned char)*p)) p++;
    char *end;
    errno = 0;
    long cls = strtol(p, &end, 10);
    const char *at = p;
    if (end == p || errno || cls < 0 || cls >= 1000000) goto bad;
    p = end;
    while (isspace((unsigned char)*p)) p++;
    at = p;
    if (*p++ != ':') goto bad;
    at = p;
    double w = strtod(p, &end);
    if (end == p || !isfinite(w)) goto bad;
    p = end;
    if (cls >= n) { /* classes up to cls: the ones not listed weigh 1, as in Keras */
      double *bigger = realloc(*weights, ((size_t)cls + 1) * sizeof *bigger);
      if (bigger) *weights = bigger;
      unsigned char *more = bigger ? realloc(listed, (size_t)cls + 1) : NULL;
      if (!more) {
        fprintf(stderr, "nnc %s: out of memory\n", cmd);
        free(*weights);
        free(listed);
        *weights = NULL;
        return -1;
      }
      listed = more;
      for (long c = n; c <= cls; c++) bigger[c] = 1.0, listed[c] = 0;
      n = (int)cls + 1;
    }
    if (listed[cls]) { /* a Python dict cannot hold it twice: which weight was meant? */
      fprintf(stderr, "nnc %s: --class-weight: class %ld is given twice in '%s'\n", cmd, cls, text);
      free(*weights);
      free(listed);
      *weights = NULL;
      return -1;
    }
    listed[cls] = 1;
    (*weights)[cls] = w;
    while (isspace((unsigned char)*p)) p++;
    at = p;
    if (*p == '\0') {
      free(listed);
      return n;
    }
    if (*p++ != ',') goto bad;
    continue;
  bad:
    fprintf(stderr,
            "nnc %s: --class-weight: expected CLASS:WEIGHT pairs separated by commas such as "
            "'0:1,1:5' (class an integer in [0, 1000000), weight a finite number), got '%s' (at "
            "column %d)\n",
            cmd, text, (int)(at - text) + 1);
    free(*weights);
    free(listed);
    *weights = NULL;
    return -1;
  }
}

/* --tensorboard DIR: TensorBoard(log_dir=DIR) with Keras's defaults, made
 * from JSON so that any byte of DIR passes as it is. NULL when out of memory. */
static char *tensorboard_json(const char *dir) {
  static const char head[] = "{\"class_name\": \"TensorBoard\", \"config\": {\"log_dir\": \"";
  char *json = malloc(sizeof head + 6 * strlen(dir) + 4);
  if (!json) return NULL;
  char *p = json + (sizeof head - 1);
  memcpy(json, head, sizeof head - 1);
  for (const unsigned char *c = (const unsigned char *)dir; *c; c++)
    if (*c == '"' || *c == '\\')
      p += sprintf(p, "\\%c", *c);
    else if (*c < 0x20)
      p += sprintf(p, "\\u%04x", *c);
    else
      *p++ = (char)*c;
  strcpy(p, "\"}}");
  return json;
}

static int int_option(const char *cmd, const cli_opt *o, int n, const char *name, long lo, long hi,
                      long *out) {
  const char *v = cli_get(o, n, name);
  return v ? cli_int(cmd, name, v, lo, hi, out) : 0;
}

int cli_fit_options(const char *cmd, const cli_opt *o, int n, nnc_fit_options *fo,
                    cli_fit_extras *ex) {
  memset(ex, 0, sizeof *ex);
  long v = 0;
  const char *t;
  if (int_option(cmd, o, n, "validation-freq", 1, 1000000, &v)) return 2;
  if (v) fo->validation_freq = (int)v;
  v = 0;
  if (int_option(cmd, o, n, "steps-per-epoch", 1, 1L << 40, &v)) return 2;
  fo->steps_per_epoch = v;
  v = 0;
  if (int_option(cmd, o, n, "validation-steps", 1, 1L << 40, &v)) return 2;
  fo->validation_steps = v;
  v = 0;
  if (int_option(cmd, o, n, "validation-batch-size", 1, 1L << 30, &v)) return 2;
  fo->validation_batch_size = (int)v;
  if ((t = cli_get(o, n, "shuffle"))) {
    if (!strcmp(t, "true") || !strcmp(t, "True"))
      fo->shuffle = NNC_SHUFFLE_ON;
    else if (!strcmp(t, "false") || !strcmp(t, "False"))
      fo->shuffle = NNC_SHUFFLE_OFF;
    else if (!strcmp(t, "batch"))
      fo->shuffle = NNC_SHUFFLE_BATCH;
    else {
      fprintf(stderr, "nnc %s: --shuffle: expected true, false or batch, got '%s'\n", cmd, t);
      return 2;
    }
  }
  if ((t = cli_get(o, n, "train-metrics"))) {
    if (!strcmp(t, "batches"))
      fo->train_metrics = NNC_TRAIN_METRICS_BATCHES;
    else if (!strcmp(t, "end-of-epoch"))
      fo->train_metrics = NNC_TRAIN_METRICS_END_OF_EPOCH;
    else {
      fprintf(stderr, "nnc %s: --train-metrics: expected batches or end-of-epoch, got '%s'\n", cmd,
              t);
      return 2;
    }
  }
  if ((t = cli_get(o, n, "class-weight"))) {
    int k = cli_class_weights(cmd, t, &ex->class_weights);
    if (k < 0) return 2;
    fo->n_class_weights = k;
    fo->class_weights = ex->class_weights;
  }
  const char *const *texts;
  int n_cb = cli_get_all(o, n, "callback", &texts);
  const char *tb_dir = cli_get(o, n, "tensorboard");
  if (n_cb > 0 || tb_dir) {
    ex->callbacks = calloc((size_t)n_cb + 1, sizeof *ex->callbacks);
    if (!ex->callbacks) {
      fprintf(stderr, "nnc %s: out of memory\n", cmd);
      return 1;
    }
  }
  for (int i = 0; i < n_cb; i++) { /* created now: a bad one fails before any work */
    char source[32];
    snprintf(source, sizeof source, "--callback %d", i + 1);
    nnc_status st;
    if (nnc_callback_create(texts[i], source, &ex->callbacks[i], &st)) {
      fprintf(stderr, "nnc %s: %s\n", cmd, st.message);
      return 2;
    }
    ex->n_callbacks = i + 1;
  }
  if (tb_dir) { /* after the --callback ones, as a callbacks list would hold it */
    nnc_status st;
    char *json = tensorboard_json(tb_dir);
    if (!json) {
      fprintf(stderr, "nnc %s: out of memory\n", cmd);
      return 1;
    }
    int bad = nnc_callback_create_json(json, "--tensorboard", &ex->callbacks[n_cb], &st);
    free(json);
    if (bad) {
      fprintf(stderr, "nnc %s: %s\n", cmd, st.message);
      return 2;
    }
    ex->n_callbacks = n_cb + 1;
  }
  fo->callbacks = ex->callbacks;
  fo->n_callbacks = ex->n_callbacks;
  return 0;
}

void cli_fit_extras_free(cli_fit_extras *ex) {
  for (int i = 0; i < ex->n_callbacks; i++) nnc_callback_free(ex->callbacks[i]);
  free(ex->callbacks);
  free(ex->class_weights);
  memset(ex, 0, sizeof *ex);
}
