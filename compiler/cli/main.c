/* nnc — the command-line tool. See docs/cli.md for the contract. */
#include <stdio.h>
#include <string.h>

#include "compiler/cli/cli.h"

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
