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

int cli_temp_dir_make(const char *kind, const char *file, cli_temp_dir *t) {
  t->slot = -1;
  int e = cli_temp_dir_template(kind, t->dir, sizeof t->dir);
  if (e) return e;
  if (strlen(t->dir) + 1 + strlen(file) >= sizeof t->file) return ENAMETOOLONG;
  int slot = -1;
  for (int i = 0; i < TEMP_DIR_SLOTS && slot < 0; i++)
    if (!slots[i].live) slot = i;
  if (slot < 0) return EMFILE; /* a caller holding more than the slots: a bug */
  if (!mkdtemp(t->dir)) return errno;
  snprintf(t->file, sizeof t->file, "%s/%s", t->dir, file);
  memcpy(slots[slot].dir, t->dir, sizeof t->dir);
  memcpy(slots[slot].file, t->file, sizeof t->file);
  slots[slot].live = 1;
  t->slot = slot;
  return 0;
}

void cli_temp_dir_remove(cli_temp_dir *t) {
  if (t->slot < 0) return;
  slots[t->slot].live = 0;
  unlink(t->file);
  rmdir(t->dir);
  t->slot = -1;
}

void cli_remove_temp_dirs_on_signal(void) {
  for (int i = 0; i < TEMP_DIR_SLOTS; i++)
    if (slots[i].live) {
      unlink(slots[i].file);
      rmdir(slots[i].dir);
    }
}
