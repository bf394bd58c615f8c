#include "compiler/cli/args.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/base/base.h"
#include "runtime/io/io.h"

/* Options that name files nnc reads, and files it writes. */
static const char *const input_options[] = {
    "x", "y", "x-val", "y-val", "x-test", "y-test", "weights", "compile-config", "weights-in"};
static const char *const output_options[] = {"weights-out", "history", "out", "trace"};
#define COUNT(a) (int)(sizeof a / sizeof a[0])

/* Outputs are checked before any work, so a typo does not cost a training
 * run and no input is overwritten by a result: an output that is one of the
 * inputs (the same file, by device and inode) or another output is invalid
 * input (2); an output in a missing folder or that is a directory cannot be
 * written (1). --weights-in may be --weights-out: read first, written last. */
static int check_output_paths(const char *cmd, const cli_opt *opts, int n_opts, const char *spec) {
  for (int i = 0; i < COUNT(output_options); i++) {
    const char *out = cli_get(opts, n_opts, output_options[i]);
    if (!out) continue;
    struct stat so;
    if (stat(out, &so) == 0) {
      if (S_ISDIR(so.st_mode)) {
        fprintf(stderr, "nnc %s: %s: cannot write: Is a directory\n", cmd, out);
        return 1;
      }
      if (!S_ISREG(so.st_mode)) continue;     /* devices and FIFOs are written through */
      const char *clash = NULL, *what = NULL; /* the other file, and its option */
      struct stat si;
      if (stat(spec, &si) == 0 && si.st_dev == so.st_dev && si.st_ino == so.st_ino)
        clash = spec, what = "SPEC";
      for (int k = 0; !clash && k < COUNT(input_options); k++) {
        const char *in = cli_get(opts, n_opts, input_options[k]);
        if (in && !(i == 0 && !strcmp(input_options[k], "weights-in")) && stat(in, &si) == 0 &&
            si.st_dev == so.st_dev && si.st_ino == so.st_ino)
          clash = in, what = input_options[k];
      }
      int both_outputs = 0;
      for (int k = 0; !clash && k < COUNT(output_options); k++) {
        const char *other = cli_get(opts, n_opts, output_options[k]);
        if (k != i && other && stat(other, &si) == 0 && si.st_dev == so.st_dev &&
            si.st_ino == so.st_ino)
          clash = other, what = output_options[k], both_outputs = 1;
      }
      if (clash) {
        fprintf(stderr, "nnc %s: --%s %s is the same file as %s%s %s: %s; choose another path\n",
                cmd, output_options[i], out, clash == spec ? "" : "--", what, clash,
                both_outputs ? "one output would overwrite the other"
                             : "writing it would destroy that input");
        return 2;
      }
    } else if (errno == ENOENT) {
      /* a new file: its folder must exist */
      char *copy = strdup(out);
      if (!copy) return 1;
      char *slash = strrchr(copy, '/');
      const char *dir = slash ? (slash == copy ? "/" : (*slash = '\0', copy)) : ".";
      struct stat sd;
      int e = stat(dir, &sd) != 0 ? errno : S_ISDIR(sd.st_mode) ? 0 : ENOTDIR;
      free(copy);
      if (e) {
        fprintf(stderr, "nnc %s: %s: cannot write: %s\n", cmd, out, strerror(e));
        return 1;
      }
    }
  }
  return 0;
}

int cli_parse(int argc, char **argv, cli_opt *opts, int n_opts, const char **spec) {
  const char *cmd = argv[0];
  *spec = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strncmp(a, "--", 2) != 0) {
      if (*spec) {
        fprintf(stderr, "nnc %s: unexpected argument '%s'\n", cmd, a);
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
      return 2;
    }
    if (o->takes_value == 0) {
      if (eq) {
        fprintf(stderr, "nnc %s: --%s takes no value\n", cmd, o->name);
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
      return 2;
    }
  }
  if (!*spec) {
    fprintf(stderr, "nnc %s: missing SPEC.json\n", cmd);
    return 2;
  }
  return check_output_paths(cmd, opts, n_opts, *spec);
}

const char *cli_get(const cli_opt *opts, int n_opts, const char *name) {
  for (int k = 0; k < n_opts; k++)
    if (!strcmp(opts[k].name, name)) return opts[k].value;
  return NULL;
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

int cli_read_array(const char *path, const char *divide, nnc_array *out, nnc_status *st) {
  if (nnc_array_read(path, out, st)) return st->code;
  out->name = path; /* library messages about it name the file */
  if (!divide) return NNC_OK;
  char *end;
  double by = strtod(divide, &end);
  if (end == divide || *end || by == 0 || !isfinite(by) || (float)by == 0 || !isfinite((float)by)) {
    nnc_array_free(out);
    return nnc_fail(st, NNC_ERR_ARG, "--x-divide: expected a finite non-zero number, got '%s'",
                    divide);
  }
  nnc_array f;
  if (nnc_array_to_f32(out, &f, st)) return st->code;
  nnc_array_free(out);
  float *v = f.data;
  for (int64_t i = 0; i < nnc_array_count(&f); i++) v[i] = v[i] / (float)by;
  *out = f;
  return NNC_OK;
}

int cli_accumulation(const char *cmd, const char *text, int *f64) {
  *f64 = 0;
  if (!text || !strcmp(text, "f32")) return 0;
  if (!strcmp(text, "f64")) return *f64 = 1, 0;
  fprintf(stderr, "nnc %s: --accumulate: expected f32 or f64, got '%s'\n", cmd, text);
  return 2;
}
