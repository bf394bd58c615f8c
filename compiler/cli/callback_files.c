/* Files the built-in callbacks write, checked against the run's inputs
 * before training (docs/cli.md "Files"): a CSVLogger, ModelCheckpoint or
 * BackupAndRestore from --callback or from the spec's "callbacks" list must
 * not overwrite the spec or a data, weights or state file the command reads.
 * A ModelCheckpoint filepath with {fields} can name many files: each field
 * matches any text within one path component. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/base.h"
#include "compiler/cli/args.h"
#include "compiler/cli/cli_fit_options.h"
#include "runtime/callbacks/callbacks.h"
#include "runtime/fit.h"

static int is_same(const char *input, const void *path) {
  return cli_same_file(input, path);
}

/* text with fnmatch's special characters escaped, appended to out */
static int put_literal(char *out, size_t n, size_t *used, const char *text, size_t len) {
  for (size_t i = 0; i < len; i++) {
    if (*used + 3 > n) return 0;
    if (strchr("*?[\\", text[i])) out[(*used)++] = '\\';
    out[(*used)++] = text[i];
  }
  out[*used] = '\0';
  return 1;
}

/* A Python format template as an fnmatch pattern: "{{" and "}}" are braces,
 * a {field} is "*". 0 when it does not fit. */
static int put_template(char *out, size_t n, size_t *used, const char *t) {
  while (*t) {
    if ((t[0] == '{' && t[1] == '{') || (t[0] == '}' && t[1] == '}')) {
      if (!put_literal(out, n, used, t, 1)) return 0;
      t += 2;
    } else if (*t == '{') {
      const char *end = strchr(t, '}');
      if (*used + 2 > n) return 0;
      out[(*used)++] = '*';
      out[*used] = '\0';
      t = end ? end + 1 : t + strlen(t);
    } else {
      if (!put_literal(out, n, used, t, 1)) return 0;
      t++;
    }
  }
  return 1;
}

/* The absolute pattern of a template: its folder resolved (links, "..")
 * when the folder has no fields. 0: no existing file can match (the folder
 * does not exist) or the path is too long. */
static int template_pattern(const char *tmpl, char *out, size_t n) {
  char abs[PATH_MAX * 2], cwd[PATH_MAX];
  if (tmpl[0] == '/')
    snprintf(abs, sizeof abs, "%s", tmpl);
  else if (getcwd(cwd, sizeof cwd))
    snprintf(abs, sizeof abs, "%s/%s", cwd, tmpl);
  else
    return 0;
  size_t used = 0;
  out[0] = '\0';
  char *slash = strrchr(abs, '/');
  size_t dir_len = (size_t)(slash - abs);
  if (!memchr(abs, '{', dir_len) && !memchr(abs, '}', dir_len)) {
    char dir[PATH_MAX * 2], real[PATH_MAX];
    snprintf(dir, sizeof dir, "%.*s", dir_len ? (int)dir_len : 1, abs);
    if (!realpath(dir, real)) return 0;
    size_t len = strlen(real);
    if (len == 1) len = 0; /* "/" */
    return put_literal(out, n, &used, real, len) && put_literal(out, n, &used, "/", 1) &&
           put_template(out, n, &used, slash + 1);
  }
  return put_template(out, n, &used, abs);
}

static int matches_pattern(const char *input, const void *pattern) {
  char real[PATH_MAX];
  return realpath(input, real) && fnmatch(pattern, real, FNM_PATHNAME) == 0;
}

static int lands_on(const char *where, const void *target) {
  return !strcmp(where, target);
}

static int pattern_matches(const char *where, const void *pattern) {
  return fnmatch(pattern, where, FNM_PATHNAME) == 0;
}

/* Whether a field's text can be one ModelCheckpoint writes: every field
 * is a number (epoch, batch, a log value), so its text holds a digit, or
 * nan or inf in either case; fill characters may stand around it. */
static int number_text(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++) {
    if (s[i] >= '0' && s[i] <= '9') return 1;
    if (i + 3 <= len && (!strncasecmp(s + i, "nan", 3) || !strncasecmp(s + i, "inf", 3))) return 1;
  }
  return 0;
}

/* Whether file name s is one the name template t can produce (fields as
 * number_text, "{{" and "}}" a brace). memo[i * (ls + 1) + j]: 0 unknown,
 * 1 yes, 2 no, for t + i against s + j. */
static int name_matches(const char *t, size_t i, size_t lt, const char *s, size_t j, size_t ls,
                        unsigned char *memo) {
  unsigned char *m = &memo[i * (ls + 1) + j];
  if (*m) return *m == 1;
  int yes;
  if (i == lt) {
    yes = j == ls;
  } else if ((t[i] == '{' || t[i] == '}') && i + 1 < lt && t[i + 1] == t[i]) {
    yes = j < ls && s[j] == t[i] && name_matches(t, i + 2, lt, s, j + 1, ls, memo);
  } else if (t[i] == '{') {
    const char *end = memchr(t + i, '}', lt - i);
    size_t next = end ? (size_t)(end - t) + 1 : lt;
    yes = 0;
    for (size_t k = j + 1; !yes && k <= ls; k++)
      yes = number_text(s + j, k - j) && name_matches(t, next, lt, s, k, ls, memo);
  } else {
    yes = j < ls && s[j] == t[i] && name_matches(t, i + 1, lt, s, j + 1, ls, memo);
  }
  *m = yes ? 1 : 2;
  return yes;
}

/* A template whose folder has no fields, against an output: the same
 * folder (resolved) and a name the template can produce. */
typedef struct named_files {
  const char *dir; /* resolved, no trailing slash ("" for "/") */
  const char *name;
} named_files;

static int template_names(const char *where, const void *ctx) {
  const named_files *f = ctx;
  const char *slash = strrchr(where, '/');
  size_t dl = strlen(f->dir);
  if (!slash || (size_t)(slash - where) != dl || strncmp(where, f->dir, dl)) return 0;
  const char *s = slash + 1;
  size_t lt = strlen(f->name), ls = strlen(s);
  unsigned char *memo = calloc((lt + 1) * (ls + 1), 1);
  if (!memo) return 1; /* no room to decide: say it may */
  int yes = name_matches(f->name, 0, lt, s, 0, ls, memo);
  free(memo);
  return yes;
}

/* The outputs a template can name: by name_matches where its folder has no
 * fields, else by its fnmatch pattern (any text for a field). */
static const char *template_output(const char *tmpl, const char *pattern, const cli_opt *o, int n,
                                   const char **option) {
  char abs[PATH_MAX * 2], cwd[PATH_MAX], dir[PATH_MAX * 2], real[PATH_MAX];
  if (tmpl[0] == '/')
    snprintf(abs, sizeof abs, "%s", tmpl);
  else if (getcwd(cwd, sizeof cwd))
    snprintf(abs, sizeof abs, "%s/%s", cwd, tmpl);
  else
    return NULL;
  char *slash = strrchr(abs, '/');
  size_t dir_len = (size_t)(slash - abs);
  if (memchr(abs, '{', dir_len) || memchr(abs, '}', dir_len) || strlen(slash + 1) > 1024)
    return cli_find_output(o, n, pattern_matches, pattern, option);
  snprintf(dir, sizeof dir, "%.*s", dir_len ? (int)dir_len : 1, abs);
  if (!realpath(dir, real)) return NULL;
  if (!strcmp(real, "/")) real[0] = '\0';
  named_files f = {real, slash + 1};
  return cli_find_output(o, n, template_names, &f, option);
}

/* A callback's file against the command's outputs (--history, --weights-out,
 * ...): the same place, or a name its template can take. */
static int check_against_outputs(const char *cmd, const char *label, const cb_written *w,
                                 const char *pattern, const cli_opt *o, int n) {
  char target[PATH_MAX];
  const char *option, *clash = NULL;
  if (!w->is_template)
    clash = cli_write_target(w->path, target, sizeof target)
                ? NULL
                : cli_find_output(o, n, lands_on, target, &option);
  else if (pattern)
    clash = template_output(w->path, pattern, o, n, &option);
  if (!clash) return 0;
  fprintf(stderr,
          "nnc %s: %s%s %s where --%s %s writes: one would overwrite the other; choose another "
          "path\n",
          cmd, label, w->path, w->is_template ? "can name a file" : "is the file", option, clash);
  return 2;
}

/* One written file against the inputs and the outputs; prints the error
 * (exit 2). */
static int check_written(const char *cmd, const char *label, const cb_written *w, const cli_opt *o,
                         int n, const char *spec) {
  const char *option, *clash;
  char pattern[PATH_MAX * 3];
  int has_pattern = w->is_template && template_pattern(w->path, pattern, sizeof pattern);
  if (!w->is_template)
    clash = cli_find_input(o, n, spec, is_same, w->path, &option);
  else
    clash = has_pattern ? cli_find_input(o, n, spec, matches_pattern, pattern, &option) : NULL;
  if (!clash) return check_against_outputs(cmd, label, w, has_pattern ? pattern : NULL, o, n);
  int is_spec = !strcmp(option, "SPEC");
  fprintf(stderr,
          "nnc %s: %s%s %s the same file as %s%s%s%s: writing it would destroy that input; "
          "choose another path\n",
          cmd, label, w->path, w->is_template ? "can name" : "is", is_spec ? "SPEC" : "--",
          is_spec ? "" : option, is_spec ? "" : " ", is_spec ? "" : clash);
  return 2;
}

int cli_check_callback_files(const char *cmd, const nnc_callback *cb, const char *label,
                             const cli_opt *o, int n, const char *spec) {
  cb_written w[CB_MAX_WRITTEN];
  int count = cb_written_files(cb, w);
  for (int i = 0; i < count; i++) {
    int rc = check_written(cmd, label, &w[i], o, n, spec);
    if (rc) return rc;
  }
  return 0;
}

int cli_check_spec_callbacks(const char *cmd, nnc_model *m, const cli_opt *o, int n,
                             const char *spec) {
  cb_list l = {0};
  nnc_status st;
  nnc_status_ok(&st);
  if (cb_list_add_spec(&l, m, &st)) { /* the spec's callbacks fail here as fit would fail */
    cb_list_free(&l);
    return cli_fail(cmd, &st);
  }
  const char *path = m->desc.callbacks_path ? m->desc.callbacks_path : "$.callbacks";
  int rc = 0;
  for (int i = 0; !rc && i < l.n; i++) {
    cb_written w[CB_MAX_WRITTEN];
    int count = cb_written_files(l.cb[i], w);
    for (int k = 0; !rc && k < count; k++) {
      char label[1024];
      snprintf(label, sizeof label, "%s: %s[%d].config.%s: ", model_source(m), path, i, w[k].arg);
      rc = check_written(cmd, label, &w[k], o, n, spec);
    }
  }
  cb_list_free(&l);
  return rc;
}
