/* The command's temporary folders (temp_dir.h): fixed slots a signal
 * handler may read at any moment, no malloc. */
#include "compiler/cli/temp_dir.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* compile holds at most two at once (the IR before O3, the viz's IR after) */
#define TEMP_DIR_SLOTS 2

static struct {
  volatile sig_atomic_t live;
  char dir[PATH_MAX], file[PATH_MAX];
} slots[TEMP_DIR_SLOTS];

int cli_temp_dir_template(const char *kind, char *out, size_t n) {
  const char *tmp = getenv("TMPDIR");
  int len = snprintf(out, n, "%s/nnc-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", kind);
  return len < 0 || (size_t)len >= n ? ENAMETOOLONG : 0;
}

const int cli_stop_signals[CLI_STOP_SIGNAL_COUNT] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};

void cli_hold_stop_signals(sigset_t *held, sigset_t *old) {
  sigemptyset(held);
  for (int i = 0; i < CLI_STOP_SIGNAL_COUNT; i++) {
    struct sigaction now;
    if (sigaction(cli_stop_signals[i], NULL, &now) || now.sa_handler != SIG_IGN)
      sigaddset(held, cli_stop_signals[i]);
  }
  sigprocmask(SIG_BLOCK, held, old);
}

int cli_temp_dir_make(const char *kind, const char *file, cli_temp_dir *t) {
  t->slot = -1;
  int e = cli_temp_dir_template(kind, t->dir, sizeof t->dir);
  if (e) return e;
  /* room for the name and for the atomic writer's ".tmp.<pid>.<n>" beside it */
  if (strlen(t->dir) + 1 + strlen(file) + 48 >= sizeof t->file) return ENAMETOOLONG;
  int slot = -1;
  for (int i = 0; i < TEMP_DIR_SLOTS && slot < 0; i++)
    if (!slots[i].live) slot = i;
  if (slot < 0) return EMFILE; /* a caller holding more than the slots: a bug */
  sigset_t held, old;          /* the slot and its folder change together */
  cli_hold_stop_signals(&held, &old);
  if (!mkdtemp(t->dir)) {
    e = errno;
    sigprocmask(SIG_SETMASK, &old, NULL);
    return e;
  }
  snprintf(t->file, sizeof t->file, "%s/%s", t->dir, file);
  memcpy(slots[slot].dir, t->dir, sizeof t->dir);
  memcpy(slots[slot].file, t->file, sizeof t->file);
  slots[slot].live = 1;
  t->slot = slot;
  sigprocmask(SIG_SETMASK, &old, NULL);
  return 0;
}

void cli_temp_dir_remove(cli_temp_dir *t) {
  if (t->slot < 0) return;
  sigset_t held, old;
  cli_hold_stop_signals(&held, &old);
  unlink(t->file);
  rmdir(t->dir);
  slots[t->slot].live = 0;
  t->slot = -1;
  sigprocmask(SIG_SETMASK, &old, NULL);
}

void cli_remove_temp_dirs_on_signal(void) {
  for (int i = 0; i < TEMP_DIR_SLOTS; i++)
    if (slots[i].live) {
      unlink(slots[i].file);
      rmdir(slots[i].dir);
    }
}
