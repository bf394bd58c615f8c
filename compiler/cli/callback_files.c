/* Files the built-in callbacks write, checked before training (docs/cli.md
 * "Files"): a CSVLogger, ModelCheckpoint or BackupAndRestore from --callback
 * or from the spec's "callbacks" list must not overwrite the spec or a data,
 * weights or state file the command reads, nor land where one of its
 * outputs does. A ModelCheckpoint filepath with {fields} names many files:
 * every field is a number (the epoch, the batch, a log value), so it
 * stands for text a number formats to, never a '/'. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "compiler/cli/args.h"
#include "compiler/cli/cli_fit_options.h"
#include "runtime/callbacks/callbacks.h"
#include "runtime/fit.h"

/* ---- where a callback's file lands ---- */

/* path as a write to it would land: absolute; its longest existing prefix
 * of folders without fields through realpath (links and ".." as the kernel
 * takes them), the rest by text ("." dropped, ".." the folder before: the
 * callback makes those folders). 0 when it does not fit in n bytes. */
static int resolve_written(const char *path, char *out, size_t n) {
  char abs[PATH_MAX * 2], cwd[PATH_MAX];
  if (path[0] == '/')
    snprintf(abs, sizeof abs, "%s", path);
  else if (getcwd(cwd, sizeof cwd))
    snprintf(abs, sizeof abs, "%s/%s", cwd, path);
  else
    return 0;
  if (strlen(abs) >= PATH_MAX) return 0;
  /* the prefix: folders up to the last '/', while they have no field and exist */
  char real[PATH_MAX] = "/", probe[PATH_MAX];
  const char *rest = abs + 1, *last = strrchr(abs, '/');
  for (const char *c = abs + 1; c <= last;) {
    const char *slash = strchr(c, '/');
    if (memchr(c, '{', (size_t)(slash - c)) || memchr(c, '}', (size_t)(slash - c))) break;
    snprintf(probe, sizeof probe, "%.*s", (int)(slash - abs), abs);
    struct stat sb;
    char r[PATH_MAX];
    if (stat(probe, &sb) || !S_ISDIR(sb.st_mode) || !realpath(probe, r)) break;
    memcpy(real, r, sizeof r);
    rest = c = slash + 1;
  }
  size_t used = strlen(real);
  if (used >= n) return 0;
  memcpy(out, real, used + 1);
  for (const char *c = rest; *c;) { /* the rest, component by component */
    size_t len = strcspn(c, "/");
    if (len == 2 && !strncmp(c, "..", 2)) {
      char *up = strrchr(out, '/');
      used = up == out ? 1 : (size_t)(up - out);
      out[used] = '\0';
    } else if (len && !(len == 1 && c[0] == '.')) {
      if (used + (used > 1) + len >= n) return 0;
      if (used > 1) out[used++] = '/';
      memcpy(out + used, c, len);
      used += len;
      out[used] = '\0';
    }
    c += len + (c[len] == '/');
  }
  return 1;
}

/* ---- the text a field stands for ---- */

/* A number as str.format writes one, no fill: a sign, digits with ',' or
 * '_' groups, a fraction, an exponent, a '%'; or nan or inf. */
static int number_core(const char *s, size_t len) {
  size_t i = 0, digits = 0;
  if (i < len && (s[i] == '+' || s[i] == '-' || s[i] == ' ')) i++;
  if (len - i >= 3 && (!strncasecmp(s + i, "nan", 3) || !strncasecmp(s + i, "inf", 3))) {
    i += 3;
  } else {
    for (; i < len && (isdigit((unsigned char)s[i]) || s[i] == ',' || s[i] == '_'); i++)
      digits += isdigit((unsigned char)s[i]) != 0;
    if (i < len && s[i] == '.')
      for (i++; i < len && isdigit((unsigned char)s[i]); i++) digits++;
    if (!digits) return 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
      size_t e = ++i;
      if (i < len && (s[i] == '+' || s[i] == '-')) e = ++i;
      for (; i < len && isdigit((unsigned char)s[i]); i++) {
      }
      if (i == e) return 0;
    }
  }
  if (i < len && s[i] == '%') i++;
  return i == len;
}

/* The fill character of a field's format spec (the text between '{' and
 * '}'): the one before an alignment, ' ' for an alignment alone or a width,
 * 0 when the field is the number alone. */
static char field_fill(const char *field, size_t len) {
  const char *colon = memchr(field, ':', len);
  if (!colon) return 0;
  const char *s = colon + 1;
  size_t n = len - (size_t)(s - field);
  if (n >= 2 && strchr("<>=^", s[1])) return s[0];
  if (n >= 1 && strchr("<>=^", s[0])) return ' ';
  for (size_t i = 0; i < n && s[i] != '.'; i++)
    if (s[i] >= '1' && s[i] <= '9') return ' '; /* a width: spaces before the number */
  return 0;
}

/* Whether s[0 .. len) is text a field of fill f can be: the number alone,
 * or with f repeated before and/or after it or between its sign and its
 * digits ('=' alignment). Never a '/' (format_path.c refuses it as fill). */
static int number_text(const char *s, size_t len, char f) {
  if (!len || memchr(s, '/', len)) return 0;
  if (number_core(s, len)) return 1;
  if (!f) return 0;
  size_t a = 0, b = len;
  while (a < b && s[a] == f) a++;
  while (b > a && s[b - 1] == f) b--;
  if (a < b && number_core(s + a, b - a)) return 1;
  if (len > 2 && (s[0] == '+' || s[0] == '-' || s[0] == ' ')) { /* '=': sign, fill, digits */
    a = 1;
    while (a < len && s[a] == f) a++;
    char sign_and_digits[64];
    if (a < len && len - a < sizeof sign_and_digits - 1) {
      sign_and_digits[0] = s[0];
      memcpy(sign_and_digits + 1, s + a, len - a);
      if (number_core(sign_and_digits, len - a + 1)) return 1;
    }
  }
  return 0;
}

/* Whether name s (one path component) is one the template component t can
 * produce: its text as it is ("{{" and "}}" one brace), each field as
 * number_text. memo[i * (ls + 1) + j]: 0 unknown, 1 yes, 2 no, for t + i
 * against s + j. */
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
    char fill = field_fill(t + i + 1, next - i - 1 - (end != NULL));
    yes = 0;
    for (size_t k = j + 1; !yes && k <= ls; k++)
      yes = number_text(s + j, k - j, fill) && name_matches(t, next, lt, s, k, ls, memo);
  } else {
    yes = j < ls && s[j] == t[i] && name_matches(t, i + 1, lt, s, j + 1, ls, memo);
  }
  *m = yes ? 1 : 2;
  return yes;
}

static int component_matches(const char *t, size_t lt, const char *s, size_t ls) {
  if (!memchr(t, '{', lt) && !memchr(t, '}', lt)) return lt == ls && !memcmp(t, s, lt);
  unsigned char *memo = calloc((lt + 1) * (ls + 1), 1);
  if (!memo) return 1; /* no room to decide: say it may */
  int yes = name_matches(t, 0, lt, s, 0, ls, memo);
  free(memo);
  return yes;
}

/* Whether the resolved written path t (a template or a plain path) can be
 * the absolute path p: as many components, each matching. */
static int path_matches(const char *t, const char *p) {
  while (*t && *p) {
    size_t lt = strcspn(t, "/"), lp = strcspn(p, "/");
    if (!component_matches(t, lt, p, lp)) return 0;
    t += lt, p += lp;
    if ((*t == '/') != (*p == '/')) return 0;
    t += *t == '/', p += *p == '/';
  }
  return !*t && !*p;
}

/* ---- against the inputs and the outputs ---- */

typedef struct written {
  const cb_written *w;
  char at[PATH_MAX]; /* resolve_written */
} written;

static int input_matches(const char *input, const void *ctx) {
  const written *x = ctx;
  char real[PATH_MAX];
  if (!x->w->is_template && cli_same_file(input, x->w->path)) return 1;
  return realpath(input, real) && path_matches(x->at, real);
}

static int output_matches(const char *where, const void *ctx) {
  return path_matches(((const written *)ctx)->at, where);
}

/* Whether the file would be in the --save-tfjs folder under a name the save
 * writes or removes there (model.json, weights.bin, group*-shard*). */
static int in_tfjs_folder(const written *x, const cli_opt *o, int n) {
  char dir[PATH_MAX];
  if (!cli_save_tfjs_folder(o, n, dir)) return 0;
  const char *slash = strrchr(x->at, '/'), *base = slash + 1;
  size_t dl = strlen(dir) == 1 ? 0 : strlen(dir);
  if ((size_t)(slash - x->at) != dl || strncmp(x->at, dir, dl)) return 0;
  if (!x->w->is_template) return cli_tfjs_save_name(base);
  size_t lb = strlen(base);
  return component_matches(base, lb, "model.json", 10) ||
         component_matches(base, lb, "weights.bin", 11) ||
         (!strncmp(base, "group", 5) && strstr(base, "-shard"));
}

/* One written file against the inputs and the outputs; prints the error
 * (exit 2). Devices and FIFOs (/dev/null) are written through: no clash. */
static int check_written(const char *cmd, const char *label, const cb_written *w, const cli_opt *o,
                         int n, const char *spec) {
  written x = {w, ""};
  struct stat sb;
  if (!resolve_written(w->path, x.at, sizeof x.at)) return 0; /* too long: the write says so */
  int through = !w->is_template && !stat(w->path, &sb) && !S_ISREG(sb.st_mode);
  const char *option,
      *clash = through ? NULL : cli_find_input(o, n, spec, input_matches, &x, &option);
  if (clash) {
    int is_spec = !strcmp(option, "SPEC");
    fprintf(stderr,
            "nnc %s: %s%s %s the same file as %s%s%s%s: writing it would destroy that input; "
            "choose another path\n",
            cmd, label, w->path, w->is_template ? "can name" : "is", is_spec ? "SPEC" : "--",
            is_spec ? "" : option, is_spec ? "" : " ", is_spec ? "" : clash);
    return 2;
  }
  if (!through && (clash = cli_find_output(o, n, output_matches, &x, &option))) {
    fprintf(stderr,
            "nnc %s: %s%s %s where --%s %s writes: one would overwrite the other; choose another "
            "path\n",
            cmd, label, w->path, w->is_template ? "can name a file" : "is the file", option, clash);
    return 2;
  }
  if (!through && in_tfjs_folder(&x, o, n)) {
    fprintf(stderr,
            "nnc %s: %s%s %s in the --save-tfjs folder %s under a name the save writes or removes "
            "(model.json, group*-shard*, weights.bin): choose another path\n",
            cmd, label, w->path, w->is_template ? "can name a file" : "is",
            cli_get(o, n, "save-tfjs"));
    return 2;
  }
  return 0;
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
