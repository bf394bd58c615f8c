/* nnc — the command-line tool. See docs/cli.md for the contract. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "compiler/cli/cli.h"
#include "runtime/base/base.h"

/* Interrupted during a write: remove its temporary file, then die of the
 * signal as if uncaught, so the exit status is the signal's (130, 143). */
static void on_terminating_signal(int sig) {
  nnc_remove_temp_files_on_signal();
  signal(sig, SIG_DFL);
  raise(sig);
}

static void install_signal_handlers(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_terminating_signal;
  sigemptyset(&sa.sa_mask);
  const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    struct sigaction old;
    /* A signal the parent ignores (nohup, `cmd &` in a non-interactive shell) stays ignored. */
    if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
    sigaction(sigs[i], &sa, NULL);
  }
  /* Past `ulimit -f` a write then fails with EFBIG (exit 1, the old file
   * kept, the temporary removed) instead of killing nnc mid-write. */
  signal(SIGXFSZ, SIG_IGN);
}

static void usage(FILE *f) {
  fprintf(f, "usage: nnc <command> SPEC.json [options]\n"
             "commands:\n"
             "  compile          validate, lower, optimize and JIT-compile; --summary, dumps\n"
             "  fit              train on --x/--y with Keras's fit loop\n"
             "  evaluate         loss and metrics of --weights on --x/--y\n"
             "  predict          model outputs of --weights on --x into --out\n"
             "  train-on-batch   N full-batch steps, the loss of each in --trace\n"
             "run 'nnc <command> --help' for its options; docs/cli.md has them all.\n");
}

int main(int argc, char **argv) {
  install_signal_handlers();
  if (argc < 2) { /* errors are one line; the usage is for --help */
    fprintf(stderr, "nnc: missing command (compile, fit, evaluate, predict, train-on-batch; see "
                    "'nnc --help')\n");
    return 2;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    usage(stdout);
    return 0;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "compile")) return cli_compile(argc - 1, argv + 1);
  if (!strcmp(cmd, "fit")) return cli_fit(argc - 1, argv + 1);
  if (!strcmp(cmd, "evaluate")) return cli_evaluate(argc - 1, argv + 1);
  if (!strcmp(cmd, "predict")) return cli_predict(argc - 1, argv + 1);
  if (!strcmp(cmd, "train-on-batch")) return cli_train_on_batch(argc - 1, argv + 1);
  fprintf(
      stderr,
      "nnc: unknown command '%s' (expected compile, fit, evaluate, predict or train-on-batch)\n",
      cmd);
  return 2;
}
