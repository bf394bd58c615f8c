#ifndef NNC_CLI_H
#define NNC_CLI_H

/* Each command takes argv starting at its own name; returns the exit status:
 * 0 success, 2 invalid input (spec, data, arguments), 1 other failures. */
int cli_compile(int argc, char **argv);
int cli_fit(int argc, char **argv);
int cli_evaluate(int argc, char **argv);
int cli_predict(int argc, char **argv);
int cli_train_on_batch(int argc, char **argv);
int cli_adapt(int argc, char **argv); /* cmd_adapt.c */
int cli_plot(int argc, char **argv);  /* cmd_plot.c */
/* nnc compile -o FILE.o: an ahead-of-time object (cmd_compile_aot.c) */
struct cli_opt;
int cli_compile_aot(const struct cli_opt *o, int n, const char *spec_path);

/* Keras's warnings recorded on a compiled model, one line each on stderr
 * (warnings.c); the second form is for nnc compile, which has no nnc_model. */
struct nnc_model;
struct nnc_compiled;
void cli_print_warnings(const char *cmd, const struct nnc_model *m);
/* Warnings from index first on (those a fit added). */
void cli_print_warnings_from(const char *cmd, const struct nnc_model *m, int first);
void cli_print_compiled_warnings(const char *cmd, const struct nnc_compiled *c);

#endif
