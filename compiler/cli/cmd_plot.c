/* nnc plot: the training curves of a History JSON as SVG, or PNG through a
 * converter found on the machine (rsvg-convert, else headless Chromium). */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <ftw.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "compiler/cli/args.h"
#include "compiler/cli/cli.h"
#include "compiler/cli/temp_dir.h"
#include "compiler/viz/plot.h"

extern char **environ;

static int ends_with(const char *s, const char *tail) {
  size_t n = strlen(s), m = strlen(tail);
  if (n < m) return 0;
  for (size_t i = 0; i < m; i++)
    if ((s[n - m + i] | 0x20) != tail[i]) return 0;
  return 1;
}

/* The first of names that is an executable file on PATH, into buf. */
static const char *on_path(const char *const *names, char *buf, size_t size) {
  const char *path = getenv("PATH");
  for (; *names; names++)
    for (const char *p = path ? path : ""; *p;) {
      size_t len = strcspn(p, ":");
      if (len && snprintf(buf, size, "%.*s/%s", (int)len, p, *names) < (int)size &&
          access(buf, X_OK) == 0)
        return *names;
      p += len + (p[len] == ':');
    }
  return NULL;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  remove(path);
  return 0;
}

/* Kill what is left of group pgid: a converter's helpers may outlive it and
 * write into its profile. (No wait for the group to be gone: where nobody
 * reaps orphans, their zombies stay in it.) */
static void group_gone(pid_t pgid) {
  kill(-pgid, SIGKILL);
}

/* dir and everything in it; a helper killed a moment ago may still add a
 * file, so a few tries */
static void remove_tree(const char *dir) {
  struct stat sb;
  for (int i = 0; i < 20 && !lstat(dir, &sb); i++) {
    if (i) {
      struct timespec pause = {0, 10 * 1000 * 1000};
      nanosleep(&pause, NULL);
    }
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  }
}

/* The converter, run while the caller holds nnc's terminating signals
 * (hold; old is the mask before): one that comes meanwhile stops the
 * converter and is returned in *sig (-1), for the caller to take once its
 * folder is gone. */
static int run(char *const *argv, const char *dir, const sigset_t *hold, const sigset_t *old,
               int *sig) {
  pid_t pid;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  /* the converter's chatter (Chromium's) is not ours to print */
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setsigmask(&attr, old); /* the converter gets the mask nnc had */
  /* its own process group: stopping it stops the helpers it starts (they
   * would go on writing into its profile) */
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
  /* the converter's own temporary files (Chromium's org.chromium.* folders,
   * left behind when it is stopped) go into dir too */
  size_t n_env = 0;
  while (environ[n_env]) n_env++;
  char **env = malloc((n_env + 2) * sizeof *env), tmpdir[PATH_MAX + 8];
  int rc = env ? 0 : -1;
  if (env) {
    size_t k = 0;
    for (size_t i = 0; i < n_env; i++)
      if (strncmp(environ[i], "TMPDIR=", 7)) env[k++] = environ[i];
    snprintf(tmpdir, sizeof tmpdir, "TMPDIR=%s", dir);
    env[k++] = tmpdir;
    env[k] = NULL;
    rc = posix_spawn(&pid, argv[0], &fa, &attr, argv, env);
    free(env);
  }
  int spawned = !rc;
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  int status = 0;
  *sig = 0;
  while (!rc) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) {
      rc = -1;
      break;
    }
    struct timespec wait = {0, 20 * 1000 * 1000};
    int got = sigtimedwait(hold, NULL, &wait);
    if (got > 0) {
      *sig = got;
      kill(-pid, SIGTERM);
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      rc = -1;
    }
  }
  if (spawned) group_gone(pid);
  if (rc) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The SVG as a PNG at out: the SVG and the PNG in a private folder, the
 * PNG then written to out as any output is (a temporary file, renamed). */
static int to_png(const char *svg, size_t len, const char *out, nnc_status *st) {
  static const char *const rsvg[] = {"rsvg-convert", NULL};
  static const char *const browsers[] = {"chromium", "chromium-browser", "google-chrome", NULL};
  char exe[4096];
  const char *which = on_path(rsvg, exe, sizeof exe);
  if (!which) which = on_path(browsers, exe, sizeof exe);
  if (!which)
    return nnc_fail(st, NNC_ERR_ARG,
                    "%s: PNG output needs rsvg-convert or chromium on PATH (neither found); write "
                    ".svg instead",
                    out);
  char dir[PATH_MAX - 64], svg_path[PATH_MAX], png_path[PATH_MAX], profile[PATH_MAX];
  int e = cli_temp_dir_template("plot", dir, sizeof dir);
  if (e) return nnc_fail(st, NNC_ERR_WRITE, "TMPDIR is too long for a temporary folder");
  /* nnc's terminating signals wait while the folder exists: it holds
   * Chromium's profile, a tree no signal handler could remove */
  sigset_t hold, old;
  cli_hold_stop_signals(&hold, &old);
  int sig = 0;
  if (!mkdtemp(dir)) {
    e = errno;
    sigprocmask(SIG_SETMASK, &old, NULL);
    return nnc_fail(st, NNC_ERR_WRITE, "cannot create a temporary folder for the PNG: %s",
                    strerror(e));
  }
  snprintf(svg_path, sizeof svg_path, "%s/plot.svg", dir);
  snprintf(png_path, sizeof png_path, "%s/plot.png", dir);
  snprintf(profile, sizeof profile, "%s/profile", dir);
  int rc = nnc_write_file_atomic(svg_path, svg, len, st);
  if (!rc) {
    int status;
    if (!strcmp(which, "rsvg-convert")) {
      char *argv[] = {exe, "-f", "png", "-o", png_path, svg_path, NULL};
      status = run(argv, dir, &hold, &old, &sig);
    } else { /* the SVG's own size: the root element's width and height */
      int w = 760, h = 600;
      const char *p = strstr(svg, "<svg ");
      if (p)
        sscanf(p,
               "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" "
               "height=\"%d\"",
               &w, &h);
      char size[64], shot[PATH_MAX + 16], data_dir[PATH_MAX + 20], url[PATH_MAX + 8];
      snprintf(size, sizeof size, "--window-size=%d,%d", w, h);
      snprintf(shot, sizeof shot, "--screenshot=%s", png_path);
      snprintf(data_dir, sizeof data_dir, "--user-data-dir=%s", profile);
      snprintf(url, sizeof url, "file://%s", svg_path);
      char *argv[] = {exe,
                      "--headless",
                      "--disable-gpu",
                      "--disable-quic",
                      "--no-first-run",
                      "--disable-background-networking",
                      "--disable-component-update",
                      "--disable-sync",
                      "--hide-scrollbars",
                      data_dir,
                      size,
                      shot,
                      url,
                      geteuid() == 0 ? "--no-sandbox" : NULL,
                      NULL};
      status = run(argv, dir, &hold, &old, &sig);
    }
    size_t png_len = 0;
    nnc_status rst = {0};
    char *png =
        status == 0 ? nnc_read_file_capped(png_path, (size_t)1 << 30, &png_len, &rst) : NULL;
    if (!png)
      rc = nnc_fail(st, NNC_ERR_WRITE, "%s: %s could not make the PNG (exit status %d)", out, which,
                    status);
    else
      rc = nnc_write_file_atomic(out, png, png_len, st);
    free(png);
  }
  remove_tree(dir);                     /* the folder, Chromium's profile in it */
  sigprocmask(SIG_SETMASK, &old, NULL); /* a signal that came meanwhile is taken here */
  if (sig > 0) raise(sig);              /* main.c's handler ends nnc; an ignored one returns */
  return rc;
}

int cli_plot(int argc, char **argv) {
  if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
    printf("usage: nnc plot H.json -o|--out CURVES.svg|CURVES.png [--title TEXT] [--metrics a,b]\n"
           "  draws loss and every metric per epoch (training solid, validation dashed) and the\n"
           "  learning rate when it changed, from the History JSON that nnc fit writes or Keras's\n"
           "  history.history dumped as JSON; .png needs rsvg-convert or chromium\n");
    return 0;
  }
  cli_opt o[] = {{"out", 1, NULL, NULL, 0},
                 {"title", 1, NULL, NULL, 0},
                 {"metrics", 1, NULL, NULL, 0},
                 {"help", 0, NULL, NULL, 0}};
  int n = (int)(sizeof o / sizeof o[0]);
  char **args = malloc(((size_t)argc + 1) * sizeof *args);
  if (!args) {
    fprintf(stderr, "nnc plot: out of memory\n");
    return 1;
  }
  char out_flag[] = "--out";
  for (int i = 0; i < argc; i++) args[i] = !strcmp(argv[i], "-o") ? out_flag : argv[i];
  args[argc] = NULL;
  const char *in;
  int rc = cli_parse(argc, args, o, n, &in);
  free(args);
  if (rc) return rc;
  const char *out = cli_get(o, n, "out");
  int png = out && ends_with(out, ".png");
  if (!out || (!png && !ends_with(out, ".svg"))) {
    fprintf(stderr, "nnc plot: %s\n",
            out ? "-o: expected a file ending in .svg or .png" : "-o CURVES.svg is required");
    cli_free(o, n);
    return 2;
  }
  nnc_status st = {0};
  size_t len = 0, svg_len = 0;
  char *text = nnc_read_file(in, &len, &st), *svg = NULL;
  viz_history h = {0};
  viz_plot_options po = {cli_get(o, n, "title"), cli_get(o, n, "metrics")};
  if (text && !viz_history_parse(text, len, in, &h, &st)) {
    if (viz_plot_svg(&h, &po, &svg, &svg_len, &st))
      nnc_fail_prefix(&st, "%s", in); /* what the file holds cannot be drawn */
    else if (png)
      to_png(svg, svg_len, out, &st);
    else
      nnc_write_file_atomic(out, svg, svg_len, &st);
  }
  rc = st.code ? cli_fail("plot", &st) : 0;
  free(text);
  free(svg);
  viz_history_free(&h);
  cli_free(o, n);
  return rc;
}
