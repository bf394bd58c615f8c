/* Private temporary folders of the nnc command, one file each: mkdtemp
 * under $TMPDIR (else /tmp), never a guessable name another user could have
 * planted a link at. The signal handler of main.c removes the live ones when
 * nnc is killed meanwhile (an IR dump piped into `head` dies of SIGPIPE). */
#ifndef NNC_CLI_TEMP_DIR_H
#define NNC_CLI_TEMP_DIR_H

#include <limits.h>
#include <signal.h>
#include <stddef.h>

typedef struct cli_temp_dir {
  int slot; /* -1: none */
  char dir[PATH_MAX], file[PATH_MAX];
} cli_temp_dir;

/* "$TMPDIR/nnc-KIND-XXXXXX" (a template for mkdtemp) in out; 0, or
 * ENAMETOOLONG when it does not fit in n bytes. */
int cli_temp_dir_template(const char *kind, char *out, size_t n);
/* A new folder nnc-KIND-* and the path of `file` in it (not created); 0 or
 * an errno value (ENAMETOOLONG: $TMPDIR is too long). */
int cli_temp_dir_make(const char *kind, const char *file, cli_temp_dir *t);
/* Remove the file and the folder (no-op for slot -1). */
void cli_temp_dir_remove(cli_temp_dir *t);
/* For a signal handler: remove every live folder and its file.
 * Async-signal-safe. */
void cli_remove_temp_dirs_on_signal(void);

/* The signals that end nnc after its cleanup (main.c's handler): SIGINT,
 * SIGTERM, SIGHUP, SIGPIPE. */
#define CLI_STOP_SIGNAL_COUNT 4
extern const int cli_stop_signals[CLI_STOP_SIGNAL_COUNT];
/* Block those of them nnc does not ignore (one its parent ignored, as under
 * nohup, stays ignored): *held gets them, *old the mask before. */
void cli_hold_stop_signals(sigset_t *held, sigset_t *old);

#endif
