/* nnc — the command-line tool. See docs/cli.md for the contract. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "compiler/cli/cli.h"
#include "compiler/cli/temp_dir.h"
#include "base/base.h"
#include "nnc.h"
#include "runtime/io/npy_map.h"

/* Interrupted during a write: remove its temporary file (and the command's
 * temporary folders), then die of the signal as if uncaught, so the exit
 * status is the signal's (130, 141, 143). */
static void on_terminating_signal(int sig) {
  nnc_remove_temp_files_on_signal();
  cli_remove_temp_dirs_on_signal();
  signal(sig, SIG_DFL);
  raise(sig);
}

static void write_text(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  while (n > 0) {
    ssize_t w = write(STDERR_FILENO, s, n);
    if (w <= 0) return;
    s += w;
    n -= (size_t)w;
  }
}

static struct sigaction previous_bus_action;

/* A mapped .npy that another process truncated (runtime/io/npy_map.h):
 * its lost pages raise SIGBUS on the next read. Say which file and exit 1;
 * any other SIGBUS goes to the handler there was before (the default, or a
 * sanitizer's report) when the faulting access is retried. */
static void on_bus_error(int sig, siginfo_t *info, void *ctx) {
  (void)ctx;
  const char *path = info->si_code > 0 ? nnc_mapped_file_at(info->si_addr) : NULL;
  if (!path) {
    sigaction(sig, &previous_bus_action, NULL);
    if (info->si_code <= 0) raise(sig); /* sent by kill(): no access to retry */
    return;
  }
  nnc_remove_temp_files_on_signal();
  write_text("nnc: ");
  write_text(path);
  write_text(": the file shrank while nnc was reading it (a .npy is mapped, not copied: keep "
             "data files unchanged while nnc runs)\n");
  _exit(1);
}

static void install_signal_handlers(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_terminating_signal;
  sigemptyset(&sa.sa_mask);
  const int *sigs = cli_stop_signals; /* SIGPIPE among them: `nnc ... | head` */
  for (size_t i = 0; i < CLI_STOP_SIGNAL_COUNT; i++) {
    struct sigaction old;
    /* A signal the parent ignores (nohup, `cmd &` in a non-interactive shell) stays ignored. */
    if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
    sigaction(sigs[i], &sa, NULL);
  }
  /* Past `ulimit -f` a write then fails with EFBIG (exit 1, the old file
   * kept, the temporary removed) instead of killing nnc mid-write. */
  signal(SIGXFSZ, SIG_IGN);
  struct sigaction bus;
  memset(&bus, 0, sizeof bus);
  bus.sa_sigaction = on_bus_error;
  bus.sa_flags = SA_SIGINFO;
  sigemptyset(&bus.sa_mask);
  sigaction(SIGBUS, &bus, &previous_bus_action);
}

static void usage(FILE *f) {
  fprintf(f, "usage: nnc <command> SPEC.json [options]\n"
             "commands:\n"
             "  compile          validate, lower, optimize and JIT-compile; --summary, dumps\n"
             "  fit              train on --x/--y with Keras's fit loop\n"
             "  evaluate         loss and metrics of --weights on --x/--y\n"
             "  predict          model outputs of --weights on --x into --out\n"
             "  train-on-batch   N full-batch steps, the loss of each in --trace\n"
             "  adapt            Normalization mean/variance from --x into a copy of the spec\n"
             "  plot             training curves of a History JSON (fit --history) as SVG or PNG\n"
             "  help COMMAND     that command's options (as 'nnc COMMAND --help')\n"
             "run 'nnc <command> --help' for its options; docs/cli.md and 'man nnc' have them "
             "all.\n"
             "'nnc --version' prints the versions of nnc and of the LLVM it was built with.\n");
}

/* nnc's version (include/nnc.h) and LLVM's: the release whose headers and
 * libraries the build found (LLVM 14's C API has no call that tells it at
 * run time), and how the tool links it. Both from CMakeLists.txt. */
static void print_version(void) {
  printf("nnc %s\nLLVM %s (%s)\n", nnc_version(), NNC_LLVM_VERSION, NNC_LLVM_LINKAGE);
}

/* Results printed on stdout are output too: a full disk or a closed stdout
 * is a failed write (exit 1), never a silent success. One line on stderr:
 * none when the command already failed. */
static int finish(const char *cmd, int rc) {
  int flush_failed = fflush(stdout) != 0;
  int e = errno;
  if (!flush_failed && !ferror(stdout)) return rc;
  if (rc == 0)
    fprintf(stderr, "nnc %s: cannot write to standard output%s%s\n", cmd, flush_failed ? ": " : "",
            flush_failed ? strerror(e) : "");
  return rc ? rc : 1;
}

/* "--help" anywhere after the command asks for that command's help. */
static int wants_help(int argc, char **argv) {
  for (int i = 2; i < argc; i++)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return 1;
  return 0;
}

int main(int argc, char **argv) {
  install_signal_handlers();
  if (argc < 2) { /* errors are one line; the usage is for --help */
    fprintf(stderr,
            "nnc: missing command (compile, fit, evaluate, predict, train-on-batch, adapt, plot; "
            "see 'nnc --help')\n");
    return 2;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    usage(stdout);
    return finish("--help", 0);
  }
  if (!strcmp(argv[1], "--version")) {
    print_version();
    return finish("--version", 0);
  }
  /* `nnc help COMMAND` is `nnc COMMAND --help`: the command prints its own
   * usage, so both print one text. `nnc help` alone is `nnc --help`. */
  int help_command = !strcmp(argv[1], "help");
  if (help_command && argc == 2) {
    usage(stdout);
    return finish("help", 0);
  }
  if (help_command && argc > 3) {
    fprintf(stderr, "nnc help: expected one command, got %d arguments (see 'nnc --help')\n",
            argc - 2);
    return 2;
  }
  const char *cmd = help_command ? argv[2] : argv[1];
  char help_flag[] = "--help";
  char *help_argv[] = {argv[0], (char *)cmd, help_flag, NULL};
  if (help_command && !strcmp(cmd, "help")) {
    usage(stdout);
    return finish("help", 0);
  }
  if (help_command || wants_help(argc, argv)) {
    argc = 3;
    argv = help_argv;
  }
  int (*run)(int, char **) = NULL;
  if (!strcmp(cmd, "compile")) run = cli_compile;
  if (!strcmp(cmd, "fit")) run = cli_fit;
  if (!strcmp(cmd, "evaluate")) run = cli_evaluate;
  if (!strcmp(cmd, "predict")) run = cli_predict;
  if (!strcmp(cmd, "train-on-batch")) run = cli_train_on_batch;
  if (!strcmp(cmd, "adapt")) run = cli_adapt;
  if (!strcmp(cmd, "plot")) run = cli_plot;
  if (run) return finish(cmd, run(argc - 1, argv + 1));
  fprintf(stderr,
          "nnc: unknown command '%s' (expected compile, fit, evaluate, predict, train-on-batch, "
          "adapt or plot)\n",
          cmd);
  return 2;
}
