/* nnc fit / evaluate / predict / train-on-batch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "compiler/cli/args.h"
#include "compiler/cli/cli.h"
#include "compiler/cli/cli_data.h"
#include "compiler/cli/cli_fit_options.h"
#include "compiler/driver/saved_model.h"
#include "base/base.h"
#include "runtime/io/io.h"
#include "runtime/io/tfjs.h"

/* Options every training command shares. */
#define COMMON_OPTS                                                                                \
  {"x", CLI_REPEAT, NULL, NULL, 0}, {"y", CLI_REPEAT, NULL, NULL, 0},                              \
      {"x-divide", 1, NULL, NULL, 0}, {"batch-size", 1, NULL, NULL, 0},                            \
      {"seed", 1, NULL, NULL, 0}, {"threads", 1, NULL, NULL, 0}, {"accumulate", 1, NULL, NULL, 0}, \
      {"thread-tuning", 1, NULL, NULL, 0}, {"compile-config", 1, NULL, NULL, 0},                   \
      {"check-numerics", 0, NULL, NULL, 0}, {                                                      \
    "help", 0, NULL, NULL, 0                                                                       \
  }

typedef struct session {
  const char *cmd;
  nnc_model *model;
  cli_arrays x, y;
  nnc_status st;
  long batch_size;
} session;

static void session_free(session *s) {
  nnc_model_free(s->model);
  cli_arrays_free(&s->x);
  cli_arrays_free(&s->y);
}

/* The files of one data option (--x, --y-val, ...) as one array per model
 * input (READ_INPUTS) or output (READ_OUTPUTS: cli_read_matched), or the
 * sample weights (READ_WEIGHTS: cli_read_weights, one file may stand for
 * every output). Prints the error and returns the exit status. */
enum { READ_INPUTS, READ_OUTPUTS, READ_WEIGHTS };

static int read_data(session *s, const cli_opt *o, int n, const char *option, int what,
                     const char *divide, cli_arrays *out) {
  const char *const *values;
  int n_values = cli_get_all(o, n, option, &values);
  int outputs = what != READ_INPUTS;
  int n_slots = outputs ? cli_model_output_count(s->model) : cli_model_input_count(s->model);
  const char **names = nnc_calloc(n_slots > 0 ? (size_t)n_slots : 1, sizeof *names, &s->st);
  if (!names) return cli_fail(s->cmd, &s->st);
  for (int i = 0; i < n_slots; i++)
    names[i] = outputs ? cli_model_output_name(s->model, i) : cli_model_input_name(s->model, i);
  int rc = what == READ_WEIGHTS /* one file alone may weigh every output */
               ? cli_read_weights(option, values, n_values, n_slots, names, out, &s->st)
               : cli_read_matched(option, values, n_values, n_slots, names,
                                  outputs ? "output" : "input", outputs, divide, out, &s->st);
  free(names);
  return rc ? cli_fail(s->cmd, &s->st) : 0;
}

/* Parse the spec, apply --compile-config, --seed and the model settings. */
static int session_load(session *s, const char *cmd, const char *spec, const cli_opt *o, int n,
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
  int has_y = cli_get(o, n, "y") != NULL;
  if (!cli_get(o, n, "x") || (need_y && !has_y)) {
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
  if ((v = cli_get(o, n, "thread-tuning"))) {
    if (strcmp(v, "on") && strcmp(v, "off")) {
      fprintf(stderr, "nnc %s: --thread-tuning: expected on or off, got '%s'\n", cmd, v);
      return 2;
    }
    if (nnc_model_set_thread_tuning(s->model, !strcmp(v, "on"), &s->st))
      return cli_fail(cmd, &s->st);
  }
  int f64 = 0;
  if (cli_accumulation(cmd, cli_get(o, n, "accumulate"), &f64)) return 2;
  if (nnc_model_set_accumulation(s->model, f64 ? NNC_ACCUMULATE_F64 : NNC_ACCUMULATE_F32, &s->st))
    return cli_fail(cmd, &s->st);
  if (cli_get(o, n, "check-numerics") && nnc_model_set_check_numerics(s->model, 1, &s->st))
    return cli_fail(cmd, &s->st);
  return 0;
}

/* Read --x/--y, build. */
static int session_read(session *s, const cli_opt *o, int n) {
  int has_y = cli_get(o, n, "y") != NULL;
  int rc = read_data(s, o, n, "x", READ_INPUTS, cli_get(o, n, "x-divide"), &s->x);
  if (!rc && has_y) rc = read_data(s, o, n, "y", READ_OUTPUTS, NULL, &s->y);
  if (rc) return rc;
  if (cli_model_build(s->model, &s->x, has_y ? &s->y : NULL, &s->st))
    return cli_fail(s->cmd, &s->st);
  cli_print_warnings(s->cmd, s->model);
  return 0;
}

static int session_open(session *s, const char *cmd, const char *spec, const cli_opt *o, int n,
                        int need_y) {
  int rc = session_load(s, cmd, spec, o, n, need_y);
  return rc ? rc : session_read(s, o, n);
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

/* Both or neither of a pair such as --x-val/--y-val; prints the error. */
static int pair(const char *cmd, const cli_opt *o, int n, const char *a, const char *b) {
  if (!!cli_get(o, n, a) == !!cli_get(o, n, b)) return 0;
  fprintf(stderr, "nnc %s: --%s and --%s go together\n", cmd, a, b);
  return 2;
}

/* --save-tfjs DIR: the trained model as a TF.js layers model (model.json and
 * weight shards, runtime/io/tfjs_write.c), its topology from the config the
 * model was read from (a spec, .keras, .h5 or TF.js model.json). */
static int save_tfjs(const nnc_model *m, const char *dir, nnc_status *st) {
  const char *text = nnc_model_config_text(m);
  if (!text) return nnc_model_check_save_tfjs(m, dir, st); /* says why */
  return nnc_tfjs_model_write(dir, text, m, st);
}

static int removed_by_save(const char *file, const void *dir) {
  return nnc_tfjs_write_removes(dir, file);
}

/* --save and --save-tfjs are checked before training (suffix, config,
 * layers the writer supports): a save that cannot work fails now, not once
 * the training it would keep is done. */
static int check_saves(session *s, const cli_opt *o, int n) {
  const char *v;
  if ((v = cli_get(o, n, "save")) && nnc_model_check_save_keras(s->model, v, &s->st))
    return cli_fail(s->cmd, &s->st);
  if ((v = cli_get(o, n, "save-tfjs")) && nnc_model_check_save_tfjs(s->model, v, &s->st))
    return cli_fail(s->cmd, &s->st);
  const char *option, *input;
  if (v && (input = cli_find_input(o, n, NULL, removed_by_save, v, &option))) {
    fprintf(stderr,
            "nnc %s: --save-tfjs %s would remove %s (a shard its model.json names, replaced by "
            "the new save), which is --%s %s: choose another folder\n",
            s->cmd, v, cli_value_file(input), option, input);
    return 2;
  }
  return 0;
}

static int fit_run(const cli_opt *o, int n, const char *spec) {
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
  if (!rc) rc = pair("fit", o, n, "x-test", "y-test");
  if (!rc) rc = pair("fit", o, n, "x-val", "y-val");
  if (!rc && cli_get(o, n, "no-shuffle") && cli_get(o, n, "shuffle")) {
    fprintf(stderr, "nnc fit: --no-shuffle and --shuffle do not go together\n");
    rc = 2;
  }
  if (!rc && cli_get(o, n, "sample-weight-val") && !cli_get(o, n, "x-val")) {
    fprintf(stderr, "nnc fit: --sample-weight-val needs --x-val and --y-val\n");
    rc = 2;
  }
  if (!rc && cli_get(o, n, "sample-weight") && cli_get(o, n, "class-weight")) {
    fprintf(stderr, "nnc fit: --sample-weight and --class-weight do not go together (as in "
                    "Keras)\n");
    rc = 2;
  }
  if (rc) return rc;
  if (cli_get(o, n, "no-shuffle")) fo.shuffle = NNC_SHUFFLE_OFF;
  cli_fit_extras ex;
  rc = cli_fit_options("fit", o, n, &fo, &ex);
  /* a log or checkpoint written over an input destroys it */
  for (int i = 0; !rc && i < ex.n_callbacks; i++)
    rc = cli_check_callback_files("fit", ex.callbacks[i], "--callback ", o, n, spec);
  if (rc) {
    cli_fit_extras_free(&ex);
    return rc;
  }
  session s;
  rc = session_load(&s, "fit", spec, o, n, 1);
  if (!rc) rc = cli_check_spec_callbacks("fit", s.model, o, n, spec);
  if (!rc) rc = check_saves(&s, o, n);
  if (!rc) rc = session_read(&s, o, n);
  fo.batch_size = (int)s.batch_size;
  cli_arrays xv = {0}, yv = {0}, xt = {0}, yt = {0}, sw = {0}, swv = {0};
  int has_val = cli_get(o, n, "x-val") != NULL, has_test = cli_get(o, n, "x-test") != NULL;
  if (!rc && cli_get(o, n, "sample-weight") &&
      !(rc = read_data(&s, o, n, "sample-weight", READ_WEIGHTS, NULL, &sw))) {
    fo.sample_weights = sw.a;
    fo.n_sample_weights = sw.n;
  }
  if (!rc && cli_get(o, n, "sample-weight-val") &&
      !(rc = read_data(&s, o, n, "sample-weight-val", READ_WEIGHTS, NULL, &swv))) {
    fo.sample_weights_val = swv.a;
    fo.n_sample_weights_val = swv.n;
  }
  if (!rc && has_val && !(rc = read_data(&s, o, n, "x-val", READ_INPUTS, divide, &xv)) &&
      !(rc = read_data(&s, o, n, "y-val", READ_OUTPUTS, NULL, &yv)) &&
      cli_model_check_data(s.model, &xv, &yv, &s.st))
    rc = cli_fail("fit", &s.st);
  /* the test data is read and checked before training, not after it */
  if (!rc && has_test && !(rc = read_data(&s, o, n, "x-test", READ_INPUTS, divide, &xt)) &&
      !(rc = read_data(&s, o, n, "y-test", READ_OUTPUTS, NULL, &yt)) &&
      cli_model_check_data(s.model, &xt, &yt, &s.st))
    rc = cli_fail("fit", &s.st);
  if (!rc && (v = cli_get(o, n, "weights-in")) && nnc_model_load_weights(s.model, v, &s.st))
    rc = cli_fail("fit", &s.st);
  if (!rc && (v = cli_get(o, n, "optimizer-state-in")) &&
      nnc_model_load_optimizer_state(s.model, v, &s.st))
    rc = cli_fail("fit", &s.st);
  nnc_history h = {0};
  /* callbacks warn during fit (a monitored key missing): printed after it */
  int warned = nnc_model_warning_count(s.model);
  int fit_rc = rc ? rc
                  : cli_model_fit(s.model, &s.x, &s.y, has_val ? &xv : NULL, has_val ? &yv : NULL,
                                  &fo, &h, &s.st);
  if (!rc) cli_print_warnings_from("fit", s.model, warned);
  if (!rc && fit_rc) {
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
    if (!wrc && (v = cli_get(o, n, "save"))) wrc = nnc_model_save_keras(s.model, v, &wst);
    if (!wrc && (v = cli_get(o, n, "optimizer-state-out")))
      wrc = nnc_model_save_optimizer_state(s.model, v, &wst);
    if (!wrc && (v = cli_get(o, n, "save-tfjs"))) wrc = save_tfjs(s.model, v, &wst);
    if (hrc)
      rc = cli_fail("fit", &hst);
    else if (wrc)
      rc = cli_fail("fit", &wst);
  }
  if (!rc && has_test) { /* the final evaluation */
    nnc_logs logs = {0};
    if (cli_model_evaluate(s.model, &xt, &yt, NULL, fo.batch_size, &logs, &s.st))
      rc = cli_fail("fit", &s.st);
    else
      print_logs("Evaluation on the test data: ", &logs);
    nnc_logs_free(&logs);
  }
  nnc_history_free(&h);
  cli_arrays_free(&xv);
  cli_arrays_free(&yv);
  cli_arrays_free(&xt);
  cli_arrays_free(&yt);
  cli_arrays_free(&sw);
  cli_arrays_free(&swv);
  session_free(&s);
  cli_fit_extras_free(&ex);
  return rc;
}

int cli_fit(int argc, char **argv) {
  cli_opt o[] = {COMMON_OPTS,
                 {"x-val", CLI_REPEAT, NULL, NULL, 0},
                 {"y-val", CLI_REPEAT, NULL, NULL, 0},
                 {"validation-split", 1, NULL, NULL, 0},
                 {"epochs", 1, NULL, NULL, 0},
                 {"no-shuffle", 0, NULL, NULL, 0},
                 {"weights-in", 1, NULL, NULL, 0},
                 {"weights-out", 1, NULL, NULL, 0},
                 {"save", 1, NULL, NULL, 0},
                 {"optimizer-state-in", 1, NULL, NULL, 0},
                 {"optimizer-state-out", 1, NULL, NULL, 0},
                 {"history", 1, NULL, NULL, 0},
                 {"verbose", 1, NULL, NULL, 0},
                 {"x-test", CLI_REPEAT, NULL, NULL, 0},
                 {"y-test", CLI_REPEAT, NULL, NULL, 0},
                 {"callback", CLI_REPEAT, NULL, NULL, 0},
                 {"tensorboard", 1, NULL, NULL, 0},
                 {"validation-freq", 1, NULL, NULL, 0},
                 {"steps-per-epoch", 1, NULL, NULL, 0},
                 {"validation-steps", 1, NULL, NULL, 0},
                 {"validation-batch-size", 1, NULL, NULL, 0},
                 {"shuffle", 1, NULL, NULL, 0},
                 {"sample-weight", CLI_REPEAT, NULL, NULL, 0},
                 {"sample-weight-val", CLI_REPEAT, NULL, NULL, 0},
                 {"class-weight", 1, NULL, NULL, 0},
                 {"train-metrics", 1, NULL, NULL, 0},
                 {"save-tfjs", 1, NULL, NULL, 0}};
  int n = (int)(sizeof o / sizeof o[0]);
  if (argc > 1 && !strcmp(argv[1], "--help")) {
    printf(
        "usage: nnc fit SPEC.json --x X --y Y [--x-val XV --y-val YV | --validation-split F]\n"
        "       [--epochs E] [--batch-size B] [--no-shuffle | --shuffle true|false|batch]\n"
        "       [--seed S] [--x-divide D]\n"
        "       [--weights-in W.safetensors] [--weights-out W.safetensors] [--history H.json]\n"
        "       [--save TRAINED.keras]\n"
        "       [--optimizer-state-in S.safetensors] [--optimizer-state-out S.safetensors]\n"
        "       [--verbose 0|1|2] [--x-test XT --y-test YT] [--compile-config C.json]\n"
        "       [--threads N] [--thread-tuning on|off] [--accumulate f32|f64] [--check-numerics]\n"
        "       [--callback 'Name(key=value, ...)']... [--validation-freq N]\n"
        "       [--steps-per-epoch N] [--validation-steps N] [--validation-batch-size N]\n"
        "       [--sample-weight SW] [--sample-weight-val SWV] [--class-weight '0:1,1:5']\n"
        "       [--train-metrics batches|end-of-epoch] [--save-tfjs DIR]\n"
        "       [--tensorboard LOG_DIR]\n"
        "data options repeat for several inputs/outputs (in order, or NAME=FILE), or take\n"
        "one .npz whose array names are the input/output names\n");
    return 0;
  }
  const char *spec;
  int rc = cli_parse(argc, argv, o, n, &spec);
  if (!rc) rc = fit_run(o, n, spec);
  cli_free(o, n);
  return rc;
}

/* A common option (COMMON_OPTS) that would change nothing for this
 * command: refused (exit 2) rather than silently ignored. */
static int refuse_unused(const char *cmd, const cli_opt *o, int n, const char *option,
                         const char *why) {
  if (!cli_get(o, n, option)) return 0;
  fprintf(stderr, "nnc %s: --%s %s\n", cmd, option, why);
  return 2;
}

#define NUMERICS_TRAIN_ONLY                                                                        \
  "checks training steps, and this command runs none (fit and train-on-batch take it)"

static int evaluate_run(const cli_opt *o, int n, const char *spec) {
  const char *w;
  if (refuse_unused("evaluate", o, n, "check-numerics", NUMERICS_TRAIN_ONLY)) return 2;
  session s;
  int rc = session_open(&s, "evaluate", spec, o, n, 1);
  nnc_logs logs = {0};
  cli_arrays sw = {0};
  if (!rc && cli_get(o, n, "sample-weight"))
    rc = read_data(&s, o, n, "sample-weight", READ_WEIGHTS, NULL, &sw);
  if (!rc && (w = cli_get(o, n, "weights")) && nnc_model_load_weights(s.model, w, &s.st))
    rc = cli_fail("evaluate", &s.st);
  if (!rc && cli_model_evaluate(s.model, &s.x, &s.y, &sw, (int)s.batch_size, &logs, &s.st))
    rc = cli_fail("evaluate", &s.st);
  if (!rc) print_logs("", &logs);
  nnc_logs_free(&logs);
  cli_arrays_free(&sw);
  session_free(&s);
  return rc;
}

int cli_evaluate(int argc, char **argv) {
  cli_opt o[] = {
      COMMON_OPTS, {"weights", 1, NULL, NULL, 0}, {"sample-weight", CLI_REPEAT, NULL, NULL, 0}};
  int n = (int)(sizeof o / sizeof o[0]);
  if (argc > 1 && !strcmp(argv[1], "--help")) {
    printf("usage: nnc evaluate SPEC.json [--weights W.safetensors] --x X --y Y [--batch-size B] "
           "[--x-divide D]\n"
           "       [--sample-weight SW] [--seed S] [--compile-config C.json] [--accumulate "
           "f32|f64]\n"
           "       [--threads N] [--thread-tuning on|off]\n");
    return 0;
  }
  const char *spec;
  int rc = cli_parse(argc, argv, o, n, &spec);
  if (!rc) rc = evaluate_run(o, n, spec);
  cli_free(o, n);
  return rc;
}

/* s ends with suffix in any case (P.NPZ is an archive, as .H5 is for --weights-out) */
static int has_suffix(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && !strcasecmp(s + n - k, suffix);
}

/* Where predict --out puts each output: DIR/<output>.npy for a folder, one
 * member per output for a .npz path, the file itself for one output. Every
 * path is checked before the model runs; prints the error. */
typedef enum out_kind { OUT_NPY, OUT_DIR, OUT_NPZ } out_kind;

static int plan_outputs(session *s, const cli_opt *o, int n, const char *spec, const char *out,
                        out_kind *kind, char ***paths) {
  struct stat sd;
  int n_out = cli_model_output_count(s->model);
  *paths = NULL;
  *kind = stat(out, &sd) == 0 && S_ISDIR(sd.st_mode) ? OUT_DIR
          : has_suffix(out, ".npz")                  ? OUT_NPZ
                                                     : OUT_NPY;
  if (*kind == OUT_NPY && n_out != 1) {
    fprintf(stderr,
            "nnc predict: --out %s: the model has %d outputs; give a folder (one <output>.npy "
            "each) or a .npz file\n",
            out, n_out);
    return 2;
  }
  /* two outputs of one layer share its name (Keras 3's output_names): a
   * folder or an .npz would hold one of them */
  for (int i = 1; *kind != OUT_NPY && i < n_out; i++)
    for (int j = 0; j < i; j++)
      if (!strcmp(cli_model_output_name(s->model, i), cli_model_output_name(s->model, j))) {
        fprintf(stderr,
                "nnc predict: --out %s: outputs %d and %d are both named '%s' (two outputs of "
                "one layer); files by output name cannot hold both\n",
                out, j, i, cli_model_output_name(s->model, i));
        return 2;
      }
  if (*kind != OUT_DIR) return 0;
  *paths = calloc((size_t)n_out, sizeof **paths);
  if (!*paths) return cli_fail("predict", &(nnc_status){NNC_ERR_NOMEM, "out of memory"});
  for (int i = 0; i < n_out; i++) {
    const char *name = cli_model_output_name(s->model, i);
    if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) {
      fprintf(stderr,
              "nnc predict: --out %s: output '%s' cannot name a file in a folder; give a .npz "
              "file\n",
              out, name);
      return 2;
    }
    size_t len = strlen(out) + strlen(name) + 6;
    if (!((*paths)[i] = malloc(len)))
      return cli_fail("predict", &(nnc_status){NNC_ERR_NOMEM, "out of memory"});
    snprintf((*paths)[i], len, "%s%s%s.npy", out, has_suffix(out, "/") ? "" : "/", name);
    int rc = cli_check_output("predict", "out", (*paths)[i], o, n, spec);
    if (rc) return rc;
  }
  return 0;
}

static int write_outputs(session *s, const char *out, out_kind kind, char **paths,
                         const cli_arrays *p) {
  if (kind == OUT_NPY)
    return nnc_npy_write(out, &p->a[0], &s->st) ? cli_fail("predict", &s->st) : 0;
  if (kind == OUT_DIR) {
    int rc = 0;
    for (int i = 0; i < p->n; i++) /* each file complete or untouched; the first error reported */
      if (nnc_npy_write(paths[i], &p->a[i], &s->st) && !rc) rc = cli_fail("predict", &s->st);
    return rc;
  }
  nnc_tensor_set set = {0};
  int rc = 0;
  for (int i = 0; !rc && i < p->n; i++)
    rc = nnc_tensor_set_add(&set, cli_model_output_name(s->model, i), &p->a[i], &s->st);
  if (!rc) rc = nnc_npz_write(out, &set, &s->st);
  nnc_tensor_set_free(&set);
  return rc ? cli_fail("predict", &s->st) : 0;
}

static int predict_run(const cli_opt *o, int n, const char *spec) {
  const char *w, *out = cli_get(o, n, "out");
  if (!out) {
    fprintf(stderr, "nnc predict: --out is required\n");
    return 2;
  }
  if (refuse_unused("predict", o, n, "check-numerics", NUMERICS_TRAIN_ONLY) ||
      refuse_unused("predict", o, n, "y",
                    "is not read: predict takes inputs only (evaluate takes targets)"))
    return 2;
  session s;
  int rc = session_open(&s, "predict", spec, o, n, 0);
  out_kind kind = OUT_NPY;
  char **paths = NULL;
  if (!rc) rc = plan_outputs(&s, o, n, spec, out, &kind, &paths);
  cli_arrays p = {0};
  if (!rc && (w = cli_get(o, n, "weights")) && nnc_model_load_weights(s.model, w, &s.st))
    rc = cli_fail("predict", &s.st);
  if (!rc && cli_model_predict(s.model, &s.x, (int)s.batch_size, &p, &s.st))
    rc = cli_fail("predict", &s.st);
  if (!rc) rc = write_outputs(&s, out, kind, paths, &p);
  for (int i = 0; paths && i < cli_model_output_count(s.model); i++) free(paths[i]);
  free(paths);
  cli_arrays_free(&p);
  session_free(&s);
  return rc;
}

int cli_predict(int argc, char **argv) {
  cli_opt o[] = {COMMON_OPTS, {"weights", 1, NULL, NULL, 0}, {"out", 1, NULL, NULL, 0}};
  int n = (int)(sizeof o / sizeof o[0]);
  if (argc > 1 && !strcmp(argv[1], "--help")) {
    printf("usage: nnc predict SPEC.json [--weights W.safetensors] --x X --out P.npy|DIR|P.npz\n"
           "       [--batch-size B] [--x-divide D] [--seed S] [--compile-config C.json]\n"
           "       [--accumulate f32|f64] [--threads N] [--thread-tuning on|off]\n");
    return 0;
  }
  const char *spec;
  int rc = cli_parse(argc, argv, o, n, &spec);
  if (!rc) rc = predict_run(o, n, spec);
  cli_free(o, n);
  return rc;
}

static int train_on_batch_run(const cli_opt *o, int n, const char *spec) {
  const char *v;
  long steps = 1;
  if ((v = cli_get(o, n, "steps")) && cli_int("train-on-batch", "steps", v, 0, 100000000, &steps))
    return 2;
  if (refuse_unused("train-on-batch", o, n, "batch-size",
                    "does not apply: train-on-batch takes all of X as one batch"))
    return 2;
  session s;
  int rc = session_open(&s, "train-on-batch", spec, o, n, 1);
  cli_arrays sw = {0};
  if (!rc && cli_get(o, n, "sample-weight"))
    rc = read_data(&s, o, n, "sample-weight", READ_WEIGHTS, NULL, &sw);
  if (!rc && (v = cli_get(o, n, "weights-in")) && nnc_model_load_weights(s.model, v, &s.st))
    rc = cli_fail("train-on-batch", &s.st);
  if (!rc && (v = cli_get(o, n, "optimizer-state-in")) &&
      nnc_model_load_optimizer_state(s.model, v, &s.st))
    rc = cli_fail("train-on-batch", &s.st);
  size_t cap = 4096, used = 0;
  char *trace = rc ? NULL : malloc(cap);
  if (!rc && !trace) rc = cli_fail("train-on-batch", out_of_memory(&s.st));
  if (trace) used += (size_t)snprintf(trace, cap, "[");
  nnc_logs logs = {0}; /* reused by every step */
  for (long i = 0; !rc && i < steps; i++) {
    if (cli_model_train_on_batch(s.model, &s.x, &s.y, &sw, &logs, &s.st)) {
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
    if (!rc && (v = cli_get(o, n, "optimizer-state-out")) &&
        nnc_model_save_optimizer_state(s.model, v, &s.st))
      rc = cli_fail("train-on-batch", &s.st);
  }
  free(trace);
  nnc_logs_free(&logs);
  cli_arrays_free(&sw);
  session_free(&s);
  return rc;
}

int cli_train_on_batch(int argc, char **argv) {
  cli_opt o[] = {COMMON_OPTS,
                 {"steps", 1, NULL, NULL, 0},
                 {"weights-in", 1, NULL, NULL, 0},
                 {"weights-out", 1, NULL, NULL, 0},
                 {"optimizer-state-in", 1, NULL, NULL, 0},
                 {"optimizer-state-out", 1, NULL, NULL, 0},
                 {"trace", 1, NULL, NULL, 0},
                 {"sample-weight", CLI_REPEAT, NULL, NULL, 0}};
  int n = (int)(sizeof o / sizeof o[0]);
  if (argc > 1 && !strcmp(argv[1], "--help")) {
    printf("usage: nnc train-on-batch SPEC.json --x X --y Y --steps N [--weights-in W] "
           "[--weights-out W]\n"
           "       [--optimizer-state-in S] [--optimizer-state-out S] [--trace T.json]\n"
           "       [--x-divide D] [--check-numerics] [--sample-weight SW] [--seed S]\n"
           "       [--compile-config C.json] [--accumulate f32|f64] [--threads N]\n"
           "       [--thread-tuning on|off]\n");
    return 0;
  }
  const char *spec;
  int rc = cli_parse(argc, argv, o, n, &spec);
  if (!rc) rc = train_on_batch_run(o, n, spec);
  cli_free(o, n);
  return rc;
}
