/* nnc fit / evaluate / predict / train-on-batch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/cli/args.h"
#include "compiler/cli/cli.h"
#include "base/base.h"
#include "runtime/io/io.h"

/* Options every training command shares. */
#define COMMON_OPTS                                                                                \
  {"x", 1, NULL}, {"y", 1, NULL}, {"x-divide", 1, NULL}, {"batch-size", 1, NULL},                  \
      {"seed", 1, NULL}, {"threads", 1, NULL}, {"accumulate", 1, NULL},                            \
      {"compile-config", 1, NULL}, {"check-numerics", 0, NULL}, {                                  \
    "help", 0, NULL                                                                                \
  }

typedef struct session {
  const char *cmd;
  nnc_model *model;
  nnc_array x, y;
  nnc_status st;
  long batch_size;
} session;

static void session_free(session *s) {
  nnc_model_free(s->model);
  nnc_array_free(&s->x);
  nnc_array_free(&s->y);
}

/* Parse the spec, apply --compile-config and --seed, read --x/--y. */
static int session_open(session *s, const char *cmd, const char *spec, const cli_opt *o, int n,
                        int need_y) {
  memset(s, 0, sizeof *s);
  s->cmd = cmd;
  s->batch_size = 32;
  const char *v;
  if ((v = cli_get(o, n, "batch-size")) &&
      cli_int(cmd, "batch-size", v, 1, 1L << 30, &s->batch_size))
    return 2;
  long seed = 0;
  if ((v = cli_get(o, n, "seed")) && cli_int(cmd, "seed", v, 0, 0x7fffffffL, &seed)) return 2;
  const char *xp = cli_get(o, n, "x"), *yp = cli_get(o, n, "y");
  if (!xp || (need_y && !yp)) {
    fprintf(stderr, "nnc %s: %s required\n", cmd, need_y ? "--x and --y are" : "--x is");
    return 2;
  }
  if (nnc_model_load_file(spec, &s->model, &s->st)) return cli_fail(cmd, &s->st);
  const char *cc = cli_get(o, n, "compile-config");
  if (cc) {
    char *text = nnc_read_file(cc, NULL, &s->st);
    int rc = text ? nnc_model_set_compile_config(s->model, text, &s->st) : (int)s->st.code;
    if (rc && text) nnc_fail_prefix(&s->st, "%s", cc); /* the read error names it already */
    free(text);
    if (rc) return cli_fail(cmd, &s->st);
  }
  if (nnc_model_set_seed(s->model, (uint64_t)seed, &s->st)) return cli_fail(cmd, &s->st);
  long threads = 1;
  if ((v = cli_get(o, n, "threads")) && cli_int(cmd, "threads", v, 1, 256, &threads)) return 2;
  if (nnc_model_set_threads(s->model, (int)threads, &s->st)) return cli_fail(cmd, &s->st);
  int f64 = 0;
  if (cli_accumulation(cmd, cli_get(o, n, "accumulate"), &f64)) return 2;
  if (nnc_model_set_accumulation(s->model, f64 ? NNC_ACCUMULATE_F64 : NNC_ACCUMULATE_F32, &s->st))
    return cli_fail(cmd, &s->st);
  if (cli_get(o, n, "check-numerics") && nnc_model_set_check_numerics(s->model, 1, &s->st))
    return cli_fail(cmd, &s->st);
  if (cli_read_array(xp, cli_get(o, n, "x-divide"), &s->x, &s->st)) return cli_fail(cmd, &s->st);
  if (yp && cli_read_array(yp, NULL, &s->y, &s->st)) return cli_fail(cmd, &s->st);
  if (nnc_model_build(s->model, &s->x, yp ? &s->y : NULL, &s->st)) return cli_fail(cmd, &s->st);
  cli_print_warnings(cmd, s->model);
  return 0;
}

static const nnc_status *out_of_memory(nnc_status *st) {
  nnc_fail(st, NNC_ERR_NOMEM, "out of memory for the trace");
  return st;
}

static void print_logs(const char *title, const nnc_logs *l) {
  printf("%s", title);
  for (int i = 0; i < l->n; i++) {
    if (isnan(l->values[i])) /* "nan", never C's "-nan" */
      printf("%s%s: nan", i ? " - " : "", l->names[i]);
    else
      printf("%s%s: %.4f", i ? " - " : "", l->names[i], l->values[i]);
  }
  printf("\n");
}

int cli_fit(int argc, char **argv) {
  cli_opt o[] = {COMMON_OPTS,
                 {"x-val", 1, NULL},
                 {"y-val", 1, NULL},
                 {"validation-split", 1, NULL},
                 {"epochs", 1, NULL},
                 {"no-shuffle", 0, NULL},
                 {"weights-in", 1, NULL},
                 {"weights-out", 1, NULL},
                 {"history", 1, NULL},
                 {"verbose", 1, NULL},
                 {"x-test", 1, NULL},
                 {"y-test", 1, NULL}};
  int n = (int)(sizeof o / sizeof o[0]);
  if (argc > 1 && !strcmp(argv[1], "--help")) {
    printf("usage: nnc fit SPEC.json --x X --y Y [--x-val XV --y-val YV | --validation-split F]\n"
           "       [--epochs E] [--batch-size B] [--no-shuffle] [--seed S] [--x-divide D]\n"
           "       [--weights-in W.safetensors] [--weights-out W.safetensors] [--history H.json]\n"
           "       [--verbose 0|1|2] [--x-test XT --y-test YT] [--compile-config C.json]\n"
           "       [--threads N] [--accumulate f32|f64] [--check-numerics]\n");
    return 0;
  }
  const char *spec;
  int parsed = cli_parse(argc, argv, o, n, &spec);
  if (parsed) return parsed;
  nnc_fit_options fo;
  nnc_fit_options_default(&fo);
  const char *v, *divide = cli_get(o, n, "x-divide");
  long lv;
  int rc = 0;
  if ((v = cli_get(o, n, "epochs")))
    rc = cli_int("fit", "epochs", v, 0, 1000000, &lv), fo.epochs = (int)lv;
  if (!rc && (v = cli_get(o, n, "verbose")))
    rc = cli_int("fit", "verbose", v, 0, 2, &lv), fo.verbose = (int)lv;
  if (!rc && (v = cli_get(o, n, "validation-split")))
    rc = cli_double("fit", "validation-split", v, &fo.validation_split);
  if (!rc && !(fo.validation_split >= 0 && fo.validation_split < 1)) {
    fprintf(stderr, "nnc fit: --validation-split: expected a number in [0, 1), got '%s'\n", v);
    rc = 2;
  }
  if (!rc && !!cli_get(o, n, "x-test") != !!cli_get(o, n, "y-test")) {
    fprintf(stderr, "nnc fit: --x-test and --y-test go together\n");
    rc = 2;
  }
  if (rc) return rc;
  session s;
  rc = session_open(&s, "fit", spec, o, n, 1);
  fo.batch_size = (int)s.batch_size;
  nnc_array xv = {0}, yv = {0}, xt = {0}, yt = {0};
  if (!rc && cli_get(o, n, "no-shuffle")) fo.shuffle = 0;
  if (!rc && !!cli_get(o, n, "x-val") != !!cli_get(o, n, "y-val")) {
    fprintf(stderr, "nnc fit: --x-val and --y-val go together\n");
    rc = 2;
  }
  if (!rc && cli_get(o, n, "x-val")) {
    if (cli_read_array(cli_get(o, n, "x-val"), divide, &xv, &s.st) ||
        cli_read_array(cli_get(o, n, "y-val"), NULL, &yv, &s.st) ||
        nnc_model_check_data(s.model, &xv, &yv, &s.st))
      rc = cli_fail("fit", &s.st);
    fo.x_val = &xv;
    fo.y_val = &yv;
  }
  /* the test data is read and checked before training, not after it */
  if (!rc && cli_get(o, n, "x-test") &&
      (cli_read_array(cli_get(o, n, "x-test"), divide, &xt, &s.st) ||
       cli_read_array(cli_get(o, n, "y-test"), NULL, &yt, &s.st) ||
       nnc_model_check_data(s.model, &xt, &yt, &s.st)))
    rc = cli_fail("fit", &s.st);
  if (!rc && (v = cli_get(o, n, "weights-in")) && nnc_model_load_weights(s.model, v, &s.st))
    rc = cli_fail("fit", &s.st);
  nnc_history h = {0};
  if (!rc && nnc_model_fit(s.model, &s.x, &s.y, &fo, &h, &s.st)) {
    rc = cli_fail("fit", &s.st);
    /* --check-numerics stopped training: the model holds the weights from
     * before the failing step, which are worth keeping */
    nnc_status wst;
    if (s.st.code == NNC_ERR_NUMERICS && (v = cli_get(o, n, "weights-out")) &&
        nnc_model_save_weights(s.model, v, &wst))
      cli_fail("fit", &wst);
  }
  if (!rc) { /* both outputs are written even when one fails: the trained weights are not lost */
    nnc_status hst, wst;
    int hrc = (v = cli_get(o, n, "history")) ? nnc_history_write_json(&h, v, &hst) : 0;
    int wrc = (v = cli_get(o, n, "weights-out")) ? nnc_model_save_weights(s.model, v, &wst) : 0;
    if (hrc)
      rc = cli_fail("fit", &hst);
    else if (wrc)
      rc = cli_fail("fit", &wst);
  }
  if (!rc && cli_get(o, n, "x-test")) { /* the final evaluation */
    nnc_logs logs;
    if (nnc_model_evaluate(s.model, &xt, &yt, fo.batch_size, &logs, &s.st))
      rc = cli_fail("fit", &s.st);
    else
      print_logs("Evaluation on the test data: ", &logs);
  }
  nnc_history_free(&h);
  nnc_array_free(&xv);
  nnc_array_free(&yv);
  nnc_array_free(&xt);
  nnc_array_free(&yt);
  session_free(&s);
  return rc;
}

int cli_evaluate(int argc, char **argv) {
  cli_opt o[] = {COMMON_OPTS, {"weights", 1, NULL}};
  int n = (int)(sizeof o / sizeof o[0]);
  if (argc > 1 && !strcmp(argv[1], "--help")) {
    printf("usage: nnc evaluate SPEC.json --weights W.safetensors --x X --y Y [--batch-size B] "
           "[--x-divide D]\n");
    return 0;
  }
  const char *spec, *w;
  int parsed = cli_parse(argc, argv, o, n, &spec);
  if (parsed) return parsed;
  session s;
  int rc = session_open(&s, "evaluate", spec, o, n, 1);
  nnc_logs logs;
  if (!rc && (w = cli_get(o, n, "weights")) && nnc_model_load_weights(s.model, w, &s.st))
    rc = cli_fail("evaluate", &s.st);
  if (!rc && nnc_model_evaluate(s.model, &s.x, &s.y, (int)s.batch_size, &logs, &s.st))
    rc = cli_fail("evaluate", &s.st);
  if (!rc) print_logs("", &logs);
  session_free(&s);
  return rc;
}

int cli_predict(int argc, char **argv) {
  cli_opt o[] = {COMMON_OPTS, {"weights", 1, NULL}, {"out", 1, NULL}};
  int n = (int)(sizeof o / sizeof o[0]);
  if (argc > 1 && !strcmp(argv[1], "--help")) {
    printf("usage: nnc predict SPEC.json --weights W.safetensors --x X --out P.npy [--batch-size "
           "B] [--x-divide D]\n");
    return 0;
  }
  const char *spec, *w, *out = NULL;
  int parsed = cli_parse(argc, argv, o, n, &spec);
  if (parsed) return parsed;
  if (!(out = cli_get(o, n, "out"))) {
    fprintf(stderr, "nnc predict: --out is required\n");
    return 2;
  }
  session s;
  int rc = session_open(&s, "predict", spec, o, n, 0);
  nnc_array p = {0};
  if (!rc && (w = cli_get(o, n, "weights")) && nnc_model_load_weights(s.model, w, &s.st))
    rc = cli_fail("predict", &s.st);
  if (!rc && nnc_model_predict(s.model, &s.x, (int)s.batch_size, &p, &s.st))
    rc = cli_fail("predict", &s.st);
  if (!rc && nnc_npy_write(out, &p, &s.st)) rc = cli_fail("predict", &s.st);
  nnc_array_free(&p);
  session_free(&s);
  return rc;
}

int cli_train_on_batch(int argc, char **argv) {
  cli_opt o[] = {COMMON_OPTS,
                 {"steps", 1, NULL},
                 {"weights-in", 1, NULL},
                 {"weights-out", 1, NULL},
                 {"trace", 1, NULL}};
  int n = (int)(sizeof o / sizeof o[0]);
  if (argc > 1 && !strcmp(argv[1], "--help")) {
    printf("usage: nnc train-on-batch SPEC.json --x X --y Y --steps N [--weights-in W] "
           "[--weights-out W]\n"
           "       [--trace T.json] [--x-divide D] [--check-numerics]\n");
    return 0;
  }
  const char *spec, *v;
  int parsed = cli_parse(argc, argv, o, n, &spec);
  if (parsed) return parsed;
  long steps = 1;
  if ((v = cli_get(o, n, "steps")) && cli_int("train-on-batch", "steps", v, 0, 100000000, &steps))
    return 2;
  session s;
  int rc = session_open(&s, "train-on-batch", spec, o, n, 1);
  if (!rc && (v = cli_get(o, n, "weights-in")) && nnc_model_load_weights(s.model, v, &s.st))
    rc = cli_fail("train-on-batch", &s.st);
  size_t cap = 4096, used = 0;
  char *trace = rc ? NULL : malloc(cap);
  if (!rc && !trace) rc = cli_fail("train-on-batch", out_of_memory(&s.st));
  if (trace) used += (size_t)snprintf(trace, cap, "[");
  for (long i = 0; !rc && i < steps; i++) {
    nnc_logs logs;
    if (nnc_model_train_on_batch(s.model, &s.x, &s.y, &logs, &s.st)) {
      rc = cli_fail("train-on-batch", &s.st);
      break;
    }
    if (cap - used < 128) { /* room for one more line and the closing bracket */
      char *bigger = realloc(trace, cap * 2);
      if (!bigger) {
        rc = cli_fail("train-on-batch", out_of_memory(&s.st));
        break;
      }
      trace = bigger;
      cap *= 2;
    }
    /* JSON has no NaN or Infinity: a non-finite loss is null, as in --history */
    double loss = nnc_logs_get(&logs, "loss");
    if (isfinite(loss))
      used += (size_t)snprintf(trace + used, cap - used, "%s\n{\"step\": %ld, \"loss\": %.9g}",
                               i ? "," : "", i, loss);
    else
      used += (size_t)snprintf(trace + used, cap - used, "%s\n{\"step\": %ld, \"loss\": null}",
                               i ? "," : "", i);
  }
  if (!rc) {
    used += (size_t)snprintf(trace + used, cap - used, "\n]\n");
    if ((v = cli_get(o, n, "trace")) && nnc_write_file_atomic(v, trace, used, &s.st))
      rc = cli_fail("train-on-batch", &s.st);
    if (!rc && (v = cli_get(o, n, "weights-out")) && nnc_model_save_weights(s.model, v, &s.st))
      rc = cli_fail("train-on-batch", &s.st);
  }
  free(trace);
  session_free(&s);
  return rc;
}
