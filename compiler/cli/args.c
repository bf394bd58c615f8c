/* realpath is an X/Open function */
#define _XOPEN_SOURCE 700
#include "compiler/cli/args.h"

#include <errno.h>
#include <unistd.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/base.h"
#include "runtime/io/io.h"

/* Options that name files nnc reads, and files it writes. */
static const char *const input_options[] = {"x",
                                            "y",
                                            "x-val",
                                            "y-val",
                                            "x-test",
                                            "y-test",
                                            "weights",
                                            "compile-config",
                                            "weights-in",
                                            "sample-weight",
                                            "sample-weight-val",
                                            "optimizer-state-in"};
static const char *const output_options[] = {"weights-out",         "history", "out",    "trace",
                                             "optimizer-state-out", "save",    "output", "header"};
#define COUNT(a) (int)(sizeof a / sizeof a[0])

/* Where a write to `path` lands, as a string: dangling symlinks followed to
 * their target, the folder made absolute. Returns 0, or an errno value for a
 * path that cannot be written (ENOENT: no such folder; ENOTDIR; ELOOP; EBADF:
 * a /dev/fd/N whose descriptor is closed). */
static int write_target(const char *path, char *out, size_t n) {
  char cur[PATH_MAX];
  if (snprintf(cur, sizeof cur, "%s", path) >= (int)sizeof cur) return ENAMETOOLONG;
  for (int hops = 0;; hops++) {
    int fd;
    if (sscanf(cur, "/dev/fd/%d", &fd) == 1 || sscanf(cur, "/proc/self/fd/%d", &fd) == 1) {
      if (fcntl(fd, F_GETFD) == -1) return EBADF;
      snprintf(out, n, "%s", cur); /* an open descriptor: written through */
      return 0;
    }
    struct stat sb;
    if (stat(cur, &sb) == 0) {
      if (!S_ISREG(sb.st_mode)) { /* a device, FIFO or pipe: written through, never renamed */
        snprintf(out, n, "%s", cur);
        return 0;
      }
      return realpath(cur, out) ? 0 : errno; /* an existing file: its own name */
    }
    if (errno != ENOENT) return errno; /* ENOTDIR, ELOOP, EACCES ... */
    char link[PATH_MAX];
    ssize_t len = readlink(cur, link, sizeof link - 1);
    if (len < 0) break; /* not a link: a new file */
    if (hops == 40) return ELOOP;
    link[len] = '\0';
    char *slash = strrchr(cur, '/');
    if (link[0] != '/' && slash) { /* relative to the link's folder */
      slash[1] = '\0';
      if (strlen(cur) + strlen(link) >= sizeof cur) return ENAMETOOLONG;
      strcat(cur, link);
    } else {
      snprintf(cur, sizeof cur, "%s", link);
    }
  }
  char *slash = strrchr(cur, '/');
  const char *base = slash ? slash + 1 : cur;
  char dir[PATH_MAX], real[PATH_MAX];
  snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - cur) + (slash == cur) : 1,
           slash ? cur : ".");
  if (!realpath(dir, real)) return errno;
  struct stat sd;
  if (stat(real, &sd) != 0 || !S_ISDIR(sd.st_mode)) return ENOTDIR;
  if (!*base) return EISDIR;
  size_t len = strlen(real), blen = strlen(base);
  if (len + 1 + blen + 1 > n) return ENAMETOOLONG;
  memcpy(out, real, len);
  if (len == 1) len = 0; /* "/" */
  out[len] = '/';
  memcpy(out + len + 1, base, blen + 1);
  return 0;
}

int cli_same_file(const char *a, const char *b) {
  struct stat sa, sb;
  return stat(a, &sa) == 0 && stat(b, &sb) == 0 && S_ISREG(sa.st_mode) && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

/* Outputs are checked before any work, so a typo does not cost a training
 * run and no input is overwritten by a result (docs/cli.md, "Files"): an
 * output that is one of the inputs (the same file, by device and inode) or
 * that lands where another output lands is invalid input (2); an empty name
 * is too; an output that cannot be written (a missing folder, a directory, a
 * closed /dev/fd/N) is a failed write (1). --weights-in may be --weights-out:
 * it is read before anything is written. --dump-dir's files count as
 * outputs. */
/* The file a data value names: FILE of NAME=FILE, else the value. */
const char *cli_value_file(const char *value) {
  char name[256];
  const char *file;
  return cli_named_value(value, name, sizeof name, &file) ? file : value;
}

/* One output path: an empty name, a path that cannot be written, or one that
 * is an input. *skip = 1 for devices and FIFOs (no same-file rule); where
 * gets the path a write lands on. */
static int check_one(const char *cmd, const char *option, const char *path, char *where,
                     const cli_opt *opts, int n_opts, const char *spec, int *skip) {
  *skip = 0;
  if (!*path) {
    fprintf(stderr, "nnc %s: --%s: expected a file name, got ''\n", cmd, option);
    return 2;
  }
  int e = write_target(path, where, PATH_MAX);
  if (e) {
    fprintf(stderr, "nnc %s: %s: cannot write: %s\n", cmd, path, strerror(e));
    return 1;
  }
  struct stat so;
  int exists = stat(path, &so) == 0;
  if (exists && S_ISDIR(so.st_mode)) {
    fprintf(stderr, "nnc %s: %s: cannot write: %s\n", cmd, path, strerror(EISDIR));
    return 1;
  }
  if (exists && !S_ISREG(so.st_mode)) return *skip = 1, 0; /* devices, FIFOs: written through */
  const char *clash = NULL, *what = NULL;
  if (cli_same_file(path, spec)) clash = spec, what = "SPEC";
  for (int k = 0; !clash && k < COUNT(input_options); k++) {
    const char *const *in;
    int n_in = cli_get_all(opts, n_opts, input_options[k], &in);
    /* a file that is read before it is rewritten */
    int allowed =
        (!strcmp(option, "weights-out") && !strcmp(input_options[k], "weights-in")) ||
        (!strcmp(option, "optimizer-state-out") && !strcmp(input_options[k], "optimizer-state-in"));
    for (int v = 0; !clash && !allowed && v < n_in; v++)
      if (cli_same_file(path, cli_value_file(in[v]))) clash = in[v], what = input_options[k];
  }
  if (clash) {
    fprintf(stderr,
            "nnc %s: --%s %s is the same file as %s%s %s: writing it would destroy that input; "
            "choose another path\n",
            cmd, option, path, clash == spec ? "" : "--", what, clash);
    return 2;
  }
  return 0;
}

/* Whether a file name is one a TF.js save may take or remove in its folder:
 * model.json, or shaped as a shard (runtime/io/tfjs_write.c). */
int cli_tfjs_save_name(const char *base) {
  return !strcmp(base, "model.json") || !strcmp(base, "weights.bin") ||
         (!strncmp(base, "group", 5) && strstr(base, "-shard"));
}

int cli_save_tfjs_folder(const cli_opt *opts, int n_opts, char real[PATH_MAX]) {
  const char *dir = cli_get(opts, n_opts, "save-tfjs");
  struct stat sd;
  return dir && !stat(dir, &sd) && S_ISDIR(sd.st_mode) && realpath(dir, real);
}

int cli_tfjs_save_file(const char *folder, const char *where) {
  const char *slash = strrchr(where, '/');
  size_t len = strlen(folder) == 1 ? 0 : strlen(folder); /* "/" */
  return slash && (size_t)(slash - where) == len && !strncmp(where, folder, len) &&
         cli_tfjs_save_name(slash + 1);
}

/* --save-tfjs DIR against the other outputs (where[0 .. n), resolved): one
 * in DIR under a name the save takes or removes is refused (2). A DIR that
 * does not exist yet holds no other output. */
static int check_tfjs_folder(const char *cmd, const cli_opt *opts, int n_opts,
                             const char *const *name, const char *const *path,
                             char where[][PATH_MAX], int n) {
  char real[PATH_MAX];
  if (!cli_save_tfjs_folder(opts, n_opts, real)) return 0;
  for (int i = 0; i < n; i++)
    if (cli_tfjs_save_file(real, where[i])) {
      fprintf(stderr,
              "nnc %s: --%s %s is in the --save-tfjs folder %s under a name the save writes or "
              "removes (model.json, group*-shard*, weights.bin): choose another path\n",
              cmd, name[i], path[i], cli_get(opts, n_opts, "save-tfjs"));
      return 2;
    }
  return 0;
}

static int check_output_paths(const char *cmd, const cli_opt *opts, int n_opts, const char *spec) {
  enum { N_DUMP = 5, MAX_OUT = 13 }; /* the output options and the dump files */
  _Static_assert(COUNT(output_options) + N_DUMP <= MAX_OUT, "room for every output");
  const char *name[MAX_OUT], *path[MAX_OUT];
  char where[MAX_OUT][PATH_MAX], dump_files[N_DUMP][PATH_MAX];
  int n = 0;
  for (int i = 0; i < COUNT(output_options); i++) {
    struct stat sd;
    path[n] = cli_get(opts, n_opts, output_options[i]);
    /* predict --out DIR: one file per output, checked by predict once it knows their names */
    if (path[n] && !strcmp(output_options[i], "out") && stat(path[n], &sd) == 0 &&
        S_ISDIR(sd.st_mode))
      continue;
    if (path[n]) name[n++] = output_options[i];
  }
  const char *dump_dir = cli_get(opts, n_opts, "dump-dir");
  if (dump_dir) {
    struct stat sd;
    if (stat(dump_dir, &sd) != 0 || !S_ISDIR(sd.st_mode)) {
      fprintf(stderr, "nnc %s: %s: cannot write: %s\n", cmd, dump_dir,
              strerror(errno && !S_ISDIR(sd.st_mode) ? errno : ENOTDIR));
      return 1;
    }
    static const char *const files[N_DUMP] = {"graphs.txt", "graphs.dot", "graphs.html",
                                              "module.pre.ll", "module.post.ll"};
    for (int f = 0; f < N_DUMP; f++) {
      snprintf(dump_files[f], PATH_MAX, "%s/%s", dump_dir, files[f]);
      path[n] = dump_files[f], name[n++] = "dump-dir";
    }
  }
  for (int i = 0; i < n; i++) {
    int skip = 0, rc = check_one(cmd, name[i], path[i], where[i], opts, n_opts, spec, &skip);
    if (rc) return rc;
    if (skip) continue;
    for (int k = 0; k < i; k++)
      if (!strcmp(where[k], where[i]) || cli_same_file(path[k], path[i])) {
        fprintf(stderr,
                "nnc %s: --%s %s and --%s %s are the same file: one output would overwrite the "
                "other; choose another path\n",
                cmd, name[k], path[k], name[i], path[i]);
        return 2;
      }
  }
  return check_tfjs_folder(cmd, opts, n_opts, name, path, where, n);
}

const char *cli_find_input(const cli_opt *opts, int n_opts, const char *spec,
                           int (*match)(const char *file, const void *ctx), const void *ctx,
                           const char **option) {
  if (spec && match(spec, ctx)) return *option = "SPEC", spec;
  for (int k = 0; k < COUNT(input_options); k++) {
    const char *const *in;
    int n_in = cli_get_all(opts, n_opts, input_options[k], &in);
    for (int v = 0; v < n_in; v++)
      if (match(cli_value_file(in[v]), ctx)) return *option = input_options[k], in[v];
  }
  return NULL;
}

int cli_write_target(const char *path, char *out, size_t n) {
  return write_target(path, out, n);
}

const char *cli_find_output(const cli_opt *opts, int n_opts,
                            int (*match)(const char *where, const void *ctx), const void *ctx,
                            const char **option) {
  char where[PATH_MAX], file[PATH_MAX];
  for (int k = 0; k <= COUNT(output_options); k++) {
    const char *name = k < COUNT(output_options) ? output_options[k] : "save-tfjs";
    const char *v = cli_get(opts, n_opts, name);
    if (!v) continue;
    const char *at = v;
    if (k == COUNT(output_options)) { /* the folder's model.json */
      if (snprintf(file, sizeof file, "%s/model.json", v) >= (int)sizeof file) continue;
      at = file;
    }
    struct stat so; /* devices, FIFOs, descriptors: written through, no same-file rule */
    if (!stat(at, &so) && !S_ISREG(so.st_mode)) continue;
    if (!write_target(at, where, sizeof where) && match(where, ctx)) return *option = name, v;
  }
  return NULL;
}

int cli_check_output(const char *cmd, const char *option, const char *path, const cli_opt *opts,
                     int n_opts, const char *spec) {
  char where[PATH_MAX];
  int skip;
  return check_one(cmd, option, path, where, opts, n_opts, spec, &skip);
}

int cli_parse(int argc, char **argv, cli_opt *opts, int n_opts, const char **spec) {
  const char *cmd = argv[0];
  *spec = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strncmp(a, "--", 2) != 0) {
      if (*spec) {
        fprintf(stderr, "nnc %s: unexpected argument '%s'\n", cmd, a);
        cli_free(opts, n_opts);
        return 2;
      }
      *spec = a;
      continue;
    }
    const char *eq = strchr(a + 2, '=');
    size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
    cli_opt *o = NULL;
    for (int k = 0; k < n_opts; k++)
      if (strlen(opts[k].name) == len && !strncmp(opts[k].name, a + 2, len)) o = &opts[k];
    if (!o) {
      fprintf(stderr, "nnc %s: unknown option '%s' (see 'nnc %s --help')\n", cmd, a, cmd);
      cli_free(opts, n_opts);
      return 2;
    }
    /* a second value would silently replace the first: say which was meant */
    const char *before = o->takes_value != CLI_REPEAT && o->takes_value != 0 ? o->value : NULL;
    if (o->takes_value == 0) {
      if (eq) {
        fprintf(stderr, "nnc %s: --%s takes no value\n", cmd, o->name);
        cli_free(opts, n_opts);
        return 2;
      }
      o->value = "";
    } else if (eq) {
      o->value = eq + 1;
    } else if (o->takes_value == 2) {
      o->value = "";
    } else if (i + 1 < argc) {
      o->value = argv[++i];
    } else {
      fprintf(stderr, "nnc %s: --%s needs a value\n", cmd, o->name);
      cli_free(opts, n_opts);
      return 2;
    }
    if (o->takes_value == 2 && eq && !eq[1]) {
      fprintf(stderr, "nnc %s: --%s=: expected a value after '=' (or --%s alone)\n", cmd, o->name,
              o->name);
      cli_free(opts, n_opts);
      return 2;
    }
    if (before) {
      fprintf(stderr, "nnc %s: --%s is given twice ('%s', then '%s'): give it once\n", cmd, o->name,
              before, o->value);
      cli_free(opts, n_opts);
      return 2;
    }
    if (o->takes_value == CLI_REPEAT) {
      const char **more = realloc(o->values, ((size_t)o->n_values + 1) * sizeof *more);
      if (!more) {
        fprintf(stderr, "nnc %s: out of memory\n", cmd);
        cli_free(opts, n_opts);
        return 1;
      }
      o->values = more;
      o->values[o->n_values++] = o->value;
      o->value = o->values[0];
    }
  }
  int rc = *spec ? check_output_paths(cmd, opts, n_opts, *spec) : 2;
  if (!*spec) /* plot reads a History, the others a model */
    fprintf(stderr, "nnc %s: missing %s (see 'nnc %s --help')\n", cmd,
            strcmp(cmd, "plot") ? "SPEC.json" : "H.json", cmd);
  if (rc) cli_free(opts, n_opts);
  return rc;
}

const char *cli_get(const cli_opt *opts, int n_opts, const char *name) {
  for (int k = 0; k < n_opts; k++)
    if (!strcmp(opts[k].name, name)) return opts[k].value;
  return NULL;
}

int cli_get_all(const cli_opt *opts, int n_opts, const char *name, const char *const **values) {
  for (int k = 0; k < n_opts; k++)
    if (!strcmp(opts[k].name, name)) {
      if (opts[k].takes_value == CLI_REPEAT) return *values = opts[k].values, opts[k].n_values;
      *values = &opts[k].value;
      return opts[k].value != NULL;
    }
  *values = NULL;
  return 0;
}

void cli_free(cli_opt *opts, int n_opts) {
  for (int k = 0; k < n_opts; k++) {
    free(opts[k].values);
    opts[k].values = NULL;
    opts[k].n_values = 0;
  }
}

int cli_named_value(const char *value, char *name, size_t name_size, const char **file) {
  const char *eq = strchr(value, '=');
  if (!eq || eq == value || memchr(value, '/', (size_t)(eq - value))) return 0;
  snprintf(name, name_size, "%.*s", (int)(eq - value), value);
  *file = eq + 1;
  return 1;
}

int cli_int(const char *cmd, const char *name, const char *text, long lo, long hi, long *out) {
  char *end;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (errno || *end || end == text || v < lo || v > hi) {
    fprintf(stderr, "nnc %s: --%s: expected an integer in [%ld, %ld], got '%s'\n", cmd, name, lo,
            hi, text);
    return 2;
  }
  *out = v;
  return 0;
}

int cli_double(const char *cmd, const char *name, const char *text, double *out) {
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (errno || *end || end == text) {
    fprintf(stderr, "nnc %s: --%s: expected a number, got '%s'\n", cmd, name, text);
    return 2;
  }
  *out = v;
  return 0;
}

int cli_fail(const char *cmd, const nnc_status *st) {
  fprintf(stderr, "nnc %s: %s\n", cmd, st->message);
  switch (st->code) {
  case NNC_ERR_SPEC:
  case NNC_ERR_DATA:
  case NNC_ERR_ARG:
  case NNC_ERR_IO:
    return 2;
  default:
    return 1;
  }
}

int cli_accumulation(const char *cmd, const char *text, int *f64) {
  *f64 = 0;
  if (!text || !strcmp(text, "f32")) return 0;
  if (!strcmp(text, "f64")) return *f64 = 1, 0;
  fprintf(stderr, "nnc %s: --accumulate: expected f32 or f64, got '%s'\n", cmd, text);
  return 2;
}
