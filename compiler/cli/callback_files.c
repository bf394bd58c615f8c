/* Files the built-in callbacks write, checked before training (docs/cli.md
 * "Files"): a CSVLogger, ModelCheckpoint or BackupAndRestore from --callback
 * or from the spec's "callbacks" list must not overwrite the spec or a data,
 * weights or state file the command reads, nor land where one of its
 * outputs does. A ModelCheckpoint filepath with {fields} names many files:
 * every field is a number (the epoch, the batch, a log value), so it
 * stands for the characters its format spec can write, never a '/'. When
 * in doubt the check refuses: a refused path costs a rename, a missed one
 * a file. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <dirent.h>
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

/* ---- the text a field stands for ---- */

/* The characters field (the text between '{' and '}') can write, as
 * runtime/callbacks/format_path.c formats it: digits; the fill (the one
 * before an alignment, ' ' for a width alone); a sign as the spec asks (and
 * '-' for a float, which may be negative); for a float, '.', an exponent
 * when the type allows one, '%', nan and inf. */
static void field_chars(const char *field, size_t len, unsigned char ok[256]) {
  memset(ok, 0, 256);
  for (int c = '0'; c <= '9'; c++) ok[c] = 1;
  const char *colon = memchr(field, ':', len), *s = colon ? colon + 1 : field + len;
  size_t name_len = (size_t)((colon ? colon : field + len) - field), n = len - (size_t)(s - field);
  int is_int = (name_len == 5 && !strncmp(field, "epoch", 5)) ||
               (name_len == 5 && !strncmp(field, "batch", 5));
  size_t i = 0;
  if (n >= 2 && strchr("<>=^", s[1]))
    ok[(unsigned char)s[0]] = 1, i = 2;
  else if (n >= 1 && strchr("<>=^", s[0]))
    ok[' '] = 1, i = 1;
  if (i < n && strchr("+- ", s[i])) ok[(unsigned char)s[i]] = 1, i++;
  for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
    if (s[i] != '0') ok[' '] = 1; /* a width: spaces unless zero-padded ('0' is a digit) */
  char type = n && strchr("dfFeEgG%", s[n - 1]) ? s[n - 1] : 0;
  if (is_int && (!type || type == 'd')) return;
  ok['-'] = ok['.'] = 1;
  for (const char *c = "nNaAiIfF"; *c; c++) ok[(unsigned char)*c] = 1;
  if (!type || strchr("eEgG", type)) ok['e'] = ok['E'] = ok['+'] = 1;
  if (type == '%') ok['%'] = 1;
}

/* Whether s[0 .. len) can be a field's text: only its characters, never a
 * '/', and a digit or nan or inf somewhere (every number has one). */
static int field_text(const char *s, size_t len, const unsigned char ok[256]) {
  int number = 0;
  for (size_t i = 0; i < len; i++) {
    if (!ok[(unsigned char)s[i]] || s[i] == '/') return 0;
    number |= (s[i] >= '0' && s[i] <= '9') ||
              (i + 3 <= len && (!strncasecmp(s + i, "nan", 3) || !strncasecmp(s + i, "inf", 3)));
  }
  return len > 0 && number;
}

/* Whether name s (one path component) is one the template component t can
 * produce: its text as it is ("{{" and "}}" one brace), each field as
 * field_text. memo[i * (ls + 1) + j]: 0 unknown, 1 yes, 2 no, for t + i
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
    unsigned char ok[256];
    field_chars(t + i + 1, next - i - 1 - (end != NULL), ok);
    yes = 0;
    /* the field's text: a run of its characters (k grows while they last) */
    for (size_t k = j + 1; !yes && k <= ls && ok[(unsigned char)s[k - 1]] && s[k - 1] != '/'; k++)
      yes = field_text(s + j, k - j, ok) && name_matches(t, next, lt, s, k, ls, memo);
  } else {
    yes = j < ls && s[j] == t[i] && name_matches(t, i + 1, lt, s, j + 1, ls, memo);
  }
  *m = yes ? 1 : 2;
  return yes;
}

/* Whether a template component holds a field (a '{' not doubled). */
static int has_field(const char *t, size_t lt) {
  for (size_t i = 0; i < lt; i++)
    if (t[i] == '{' || t[i] == '}') {
      if (i + 1 < lt && t[i + 1] == t[i])
        i++;
      else
        return 1;
    }
  return 0;
}

/* t's text with "{{" and "}}" as one brace (a component without fields). */
static void unescape(const char *t, size_t lt, char *out) {
  size_t k = 0;
  for (size_t i = 0; i < lt; i++) {
    out[k++] = t[i];
    if ((t[i] == '{' || t[i] == '}') && i + 1 < lt && t[i + 1] == t[i]) i++;
  }
  out[k] = '\0';
}

static int component_matches(const char *t, size_t lt, const char *s, size_t ls, int tmpl) {
  if (!tmpl || !has_field(t, lt)) {
    char lit[NAME_MAX * 2 + 2];
    if (!tmpl || lt > NAME_MAX * 2) return lt == ls && !memcmp(t, s, lt);
    unescape(t, lt, lit);
    return strlen(lit) == ls && !memcmp(lit, s, ls);
  }
  unsigned char *memo = calloc((lt + 1) * (ls + 1), 1);
  if (!memo) return 1; /* no room to decide: say it may */
  int yes = name_matches(t, 0, lt, s, 0, ls, memo);
  free(memo);
  return yes;
}

/* Whether the resolved written path t can be the absolute path p: as many
 * components, each matching (tmpl: t's fields are templates). */
static int path_matches(const char *t, const char *p, int tmpl) {
  while (*t && *p) {
    size_t lt = strcspn(t, "/"), lp = strcspn(p, "/");
    if (!component_matches(t, lt, p, lp, tmpl)) return 0;
    t += lt, p += lp;
    if ((*t == '/') != (*p == '/')) return 0;
    t += *t == '/', p += *p == '/';
  }
  return !*t && !*p;
}

/* ---- where a callback's file lands ---- */

/* A link among the existing entries of folder dir that the template
 * component t (with a field) can name: nnc cannot tell where a write
 * through it (a folder, or the file itself) lands (1). */
static int field_names_a_link(const char *dir, const char *t, size_t lt) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int link = 0;
  for (struct dirent *e; !link && (e = readdir(d));) {
    char path[PATH_MAX * 2];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    link = !lstat(path, &sb) && S_ISLNK(sb.st_mode) &&
           component_matches(t, lt, e->d_name, strlen(e->d_name), 1);
  }
  closedir(d);
  return link;
}

/* path as a write to it would land, into out (PATH_MAX bytes): absolute,
 * each existing folder through realpath (links and ".." as the kernel
 * takes them, also after a ".." back out of a folder the callback will
 * make), the folders it makes by their text. 0: resolved; 1: too long to
 * tell; 2: a folder template can name an existing link. */
static int resolve_written(const char *path, int tmpl, char *out) {
  char cwd[PATH_MAX], real[PATH_MAX], probe[PATH_MAX * 2];
  if (path[0] == '/')
    snprintf(out, PATH_MAX, "/");
  else if (!getcwd(cwd, sizeof cwd) || !realpath(cwd, out))
    return 1;
  int exists = 1; /* out is an existing folder, resolved */
  const char *last = strrchr(path, '/');
  for (const char *c = path; *c;) {
    size_t len = strcspn(c, "/"), used = strlen(out);
    int is_last = !last || c > last;
    if (len == 2 && !strncmp(c, "..", 2)) {
      char *up = strrchr(out, '/');
      out[up == out ? 1 : (size_t)(up - out)] = '\0';
      if (!exists) { /* back into folders that may exist */
        struct stat sb;
        exists = !stat(out, &sb) && S_ISDIR(sb.st_mode);
      }
    } else if (len && !(len == 1 && c[0] == '.')) {
      int field = tmpl && has_field(c, len);
      if (field && exists && field_names_a_link(out, c, len)) return 2;
      if (used + 1 + len >= PATH_MAX) return 1;
      char name[PATH_MAX]; /* the component's own name: in a template "{{" is one brace */
      if (!field && tmpl)
        unescape(c, len, name);
      else
        snprintf(name, sizeof name, "%.*s", (int)len, c);
      snprintf(probe, sizeof probe, "%s/%s", used > 1 ? out : "", name);
      struct stat sb;
      if (!field && !is_last && exists && !stat(probe, &sb) && S_ISDIR(sb.st_mode) &&
          realpath(probe, real)) {
        snprintf(out, PATH_MAX, "%s", real);
      } else if (!field && is_last && exists && !lstat(probe, &sb) && S_ISLNK(sb.st_mode)) {
        /* the file a link names, as the writers follow it (dangling too) */
        if (cli_write_target(probe, real, sizeof real)) return 1;
        snprintf(out, PATH_MAX, "%s", real);
      } else {
        if (!is_last) exists = 0;
        snprintf(out + used, PATH_MAX - used, "%s%.*s", used > 1 ? "/" : "", (int)len, c);
      }
    }
    c += len + (c[len] == '/');
  }
  return 0;
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
  return realpath(input, real) && path_matches(x->at, real, x->w->is_template);
}

static int output_matches(const char *where, const void *ctx) {
  const written *x = ctx;
  return path_matches(x->at, where, x->w->is_template);
}

/* Whether the file can be in the --save-tfjs folder under a name the save
 * writes or removes there (model.json, weights.bin, group1-shard*). */
static int in_tfjs_folder(const written *x, const cli_opt *o, int n) {
  char dir[PATH_MAX], name[PATH_MAX + 32];
  if (!cli_save_tfjs_folder(o, n, dir)) return 0;
  static const char *const names[] = {"model.json", "weights.bin", "group1-shard1of1.bin",
                                      "group1-shard1of1-1.bin"};
  if (!x->w->is_template) return cli_tfjs_save_file(dir, x->at);
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    snprintf(name, sizeof name, "%s/%s", strlen(dir) == 1 ? "" : dir, names[i]);
    if (path_matches(x->at, name, 1)) return 1;
  }
  return 0;
}

/* One written file against the inputs and the outputs; prints the error
 * (exit 2). Devices and FIFOs (/dev/null) are written through: no clash. */
static int check_written(const char *cmd, const char *label, const cb_written *w, const cli_opt *o,
                         int n, const char *spec) {
  written x = {w, ""};
  struct stat sb;
  int unsure = resolve_written(w->path, w->is_template, x.at);
  if (unsure) {
    char brief[NNC_PATH_BRIEF + 1];
    fprintf(stderr,
            "nnc %s: %s%s: %s, so nnc cannot check it against the command's files; choose "
            "another path\n",
            cmd, label, nnc_path_brief(w->path, NNC_PATH_BRIEF, brief),
            unsure == 1 ? "the path is too long, or a link on it leads nowhere nnc can follow"
                        : "a field in it can name an existing symbolic link");
    return 2;
  }
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
