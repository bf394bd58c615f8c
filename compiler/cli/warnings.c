/* Keras's warnings on stderr, in the form Python's warnings module prints
 * them ("UserWarning: <text>"), prefixed by the command like every CLI line. */
#include <stdio.h>
#include <string.h>

#include "compiler/cli/cli.h"
#include "compiler/compile.h"
#include "nnc.h"

void cli_print_compiled_warnings(const char *cmd, const nnc_compiled *c) {
  for (int i = 0; c && i < c->prog.n_warnings; i++)
    fprintf(stderr, "nnc %s: UserWarning: %s\n", cmd, c->prog.warnings[i]);
}

void cli_print_warnings_from(const char *cmd, const nnc_model *m, int first) {
  for (int i = first; i < nnc_model_warning_count(m); i++)
    fprintf(stderr, "nnc %s: UserWarning: %s\n", cmd, nnc_model_warning(m, i));
}

void cli_print_warnings(const char *cmd, const nnc_model *m) {
  /* Keras warns while tracing a loss; predict computes none */
  if (!strcmp(cmd, "predict")) return;
  cli_print_warnings_from(cmd, m, 0);
}
