/* The two forms of a callback: Keras-style text "Name(key=value, ...)" (the
 * CLI's --callback) and Keras's JSON {"class_name", "config"} (a spec's
 * "callbacks" list, nnc_callback_create_json). Both become cb_args for the
 * class's create. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "runtime/api_check.h"
#include "runtime/callbacks/callbacks.h"
#include "runtime/fit.h"

/* Args with their strings, grown as needed. */
typedef struct arg_set {
  cb_arg *a;
  char **owned; /* strings to free: keys and values */
  int n, cap, n_owned, cap_owned;
} arg_set;

static char *keep(arg_set *s, char *str, nnc_status *st) {
  if (!str) {
    nnc_fail(st, NNC_ERR_NOMEM, "out of memory parsing a callback");
    return NULL;
  }
  if (s->n_owned == s->cap_owned) {
    int cap = s->cap_owned ? 2 * s->cap_owned : 16;
    char **bigger = nnc_realloc_array(s->owned, (size_t)cap, sizeof *bigger, st);
    if (!bigger) {
      free(str);
      return NULL;
    }
    s->owned = bigger;
    s->cap_owned = cap;
  }
  s->owned[s->n_owned++] = str;
  return str;
}

static char *copy_n(const char *p, size_t n) {
  char *c = malloc(n + 1);
  if (!c) return NULL;
  memcpy(c, p, n);
  c[n] = '\0';
  return c;
}

static cb_arg *add_arg(arg_set *s, nnc_status *st) {
  if (s->n == s->cap) {
    int cap = s->cap ? 2 * s->cap : 8;
    cb_arg *bigger = nnc_realloc_array(s->a, (size_t)cap, sizeof *bigger, st);
    if (!bigger) return NULL;
    s->a = bigger;
    s->cap = cap;
  }
  cb_arg *a = &s->a[s->n++];
  memset(a, 0, sizeof *a);
  return a;
}

static void arg_set_free(arg_set *s) {
  for (int i = 0; i < s->n_owned; i++) free(s->owned[i]);
  free(s->owned);
  free(s->a);
  memset(s, 0, sizeof *s);
}

/* ---- text ---- */
typedef struct text_parser {
  const char *text, *p, *source; /* source: "<source>: <text>" */
  nnc_status *st;
} text_parser;

static void skip_space(text_parser *t) {
  while (isspace((unsigned char)*t->p)) t->p++;
}

static int syntax(text_parser *t, const char *what) {
  return nnc_fail(t->st, NNC_ERR_ARG, "%s: column %d: expected %s", t->source,
                  (int)(t->p - t->text) + 1, what);
}

/* 'quoted' or "quoted" with backslash escapes; t->p at the quote */
static char *quoted(text_parser *t) {
  const char *open = t->p;
  char q = *t->p++;
  size_t cap = strlen(t->p) + 1, n = 0;
  char *out = malloc(cap);
  if (!out) return NULL;
  for (; *t->p && *t->p != q; t->p++) {
    char c = *t->p;
    if (c == '\\' && t->p[1]) {
      c = *++t->p;
      c = c == 'n' ? '\n' : c == 't' ? '\t' : c;
    }
    out[n++] = c;
  }
  out[n] = '\0';
  if (*t->p != q) {
    free(out);
    t->p = open; /* the column of the quote left open */
    syntax(t, q == '\'' ? "a closing ' quote for this one" : "a closing \" quote for this one");
    return NULL;
  }
  t->p++;
  return out;
}

/* A balanced {...} or [...] (strings inside respected): the raw JSON text. */
static char *bracketed(text_parser *t) {
  const char *start = t->p;
  int depth = 0;
  char in_string = 0;
  for (; *t->p; t->p++) {
    char c = *t->p;
    if (in_string) {
      if (c == '\\' && t->p[1])
        t->p++;
      else if (c == in_string)
        in_string = 0;
    } else if (c == '"' || c == '\'') {
      in_string = c;
    } else if (c == '{' || c == '[') {
      depth++;
    } else if ((c == '}' || c == ']') && --depth == 0) {
      t->p++;
      return copy_n(start, (size_t)(t->p - start));
    }
  }
  t->p = start;
  syntax(t, "a closing bracket for this { or [");
  return NULL;
}

static int parse_value(text_parser *t, arg_set *s, cb_arg *a) {
  skip_space(t);
  char c = *t->p;
  if (c == '\'' || c == '"') {
    char *v = quoted(t);
    if (!v) return t->st->code ? (int)t->st->code : nnc_fail(t->st, NNC_ERR_NOMEM, "out of memory");
    a->type = CB_ARG_STRING;
    a->str = keep(s, v, t->st);
    return a->str ? NNC_OK : t->st->code;
  }
  if (c == '{' || c == '[') {
    const char *open = t->p;
    char *v = bracketed(t);
    if (!v) return t->st->code ? (int)t->st->code : nnc_fail(t->st, NNC_ERR_NOMEM, "out of memory");
    cJSON *check = cJSON_Parse(v); /* the text must be JSON */
    if (!check) {
      free(v);
      t->p = open;
      return syntax(t, "JSON inside { } or [ ] (double-quoted strings)");
    }
    cJSON_Delete(check);
    a->type = CB_ARG_JSON;
    a->str = keep(s, v, t->st);
    return a->str ? NNC_OK : t->st->code;
  }
  const char *start = t->p;
  while (*t->p && *t->p != ',' && *t->p != ')') t->p++;
  const char *end = t->p;
  while (end > start && isspace((unsigned char)end[-1])) end--;
  if (end == start) return syntax(t, "a value");
  char *word = keep(s, copy_n(start, (size_t)(end - start)), t->st);
  if (!word) return t->st->code;
  char *num_end;
  double num = strtod(word, &num_end);
  if (!strcmp(word, "true") || !strcmp(word, "True") || !strcmp(word, "false") ||
      !strcmp(word, "False")) {
    a->type = CB_ARG_BOOL;
    a->num = word[0] == 't' || word[0] == 'T';
  } else if (!strcmp(word, "None") || !strcmp(word, "null")) {
    a->type = CB_ARG_NULL;
  } else if (num_end != word && *num_end == '\0' && !isalpha((unsigned char)word[0])) {
    a->type = CB_ARG_NUMBER; /* "inf"/"nan" stay words */
    a->num = num;
  } else {
    a->type = CB_ARG_STRING; /* a bare word: monitor=val_loss */
    a->str = word;
  }
  return NNC_OK;
}

/* The __init__ parameters of each built-in class in order, for positional
 * arguments (keras/src/callbacks/<name>.py signatures); NULL-terminated. */
static const char *const *positional_names(const char *class_name) {
  static const char *const early_stopping[] = {"monitor",
                                               "min_delta",
                                               "patience",
                                               "verbose",
                                               "mode",
                                               "baseline",
                                               "restore_best_weights",
                                               "start_from_epoch",
                                               NULL};
  static const char *const reduce_lr[] = {"monitor",   "factor",   "patience", "verbose", "mode",
                                          "min_delta", "cooldown", "min_lr",   NULL};
  static const char *const checkpoint[] = {"filepath",
                                           "monitor",
                                           "verbose",
                                           "save_best_only",
                                           "save_weights_only",
                                           "mode",
                                           "save_freq",
                                           "initial_value_threshold",
                                           NULL};
  static const char *const csv_logger[] = {"filename", "separator", "append", NULL};
  static const char *const backup[] = {"backup_dir", "save_freq", "double_checkpoint",
                                       "delete_checkpoint", NULL};
  static const char *const lr_scheduler[] = {"schedule", "verbose", NULL};
  static const char *const tensorboard[] = {"log_dir",
                                            "histogram_freq",
                                            "write_graph",
                                            "write_images",
                                            "write_steps_per_second",
                                            "update_freq",
                                            "profile_batch",
                                            "embeddings_freq",
                                            "embeddings_metadata",
                                            NULL};
  static const char *const none[] = {NULL};
  static const struct {
    const char *name;
    const char *const *params;
  } rows[] = {{"EarlyStopping", early_stopping}, {"ReduceLROnPlateau", reduce_lr},
              {"ModelCheckpoint", checkpoint},   {"CSVLogger", csv_logger},
              {"BackupAndRestore", backup},      {"LearningRateScheduler", lr_scheduler},
              {"TensorBoard", tensorboard},      {"TerminateOnNaN", none}};
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
    if (!strcmp(rows[i].name, class_name)) return rows[i].params;
  return NULL; /* not a class of nnc: cb_create names it once the text is read */
}

static int parse_args(text_parser *t, arg_set *s, const char *class_name) {
  const char *const *params = positional_names(class_name);
  char unknown_key[32]; /* an unknown class keeps its arguments to report the class */
  int n_positional = 0, seen_keyword = 0;
  skip_space(t);
  if (*t->p == ')') return NNC_OK;
  for (;;) {
    skip_space(t);
    if (!*t->p) return syntax(t, "')' to close the arguments");
    const char *key = t->p;
    while (isalnum((unsigned char)*t->p) || *t->p == '_') t->p++;
    size_t key_len = (size_t)(t->p - key);
    skip_space(t);
    if (t->p == key && (*t->p == ',' || *t->p == ')'))
      return syntax(t, "an argument (a value or key=value)");
    if (t->p == key || *t->p != '=') { /* a positional argument: Python's rules */
      t->p = key;
      if (seen_keyword) return syntax(t, "key=value (a positional argument follows a keyword one)");
      const char *name = NULL;
      for (int i = 0; params && params[i]; i++)
        if (i == n_positional) name = params[i];
      if (!params) {
        snprintf(unknown_key, sizeof unknown_key, "positional %d", n_positional + 1);
        name = unknown_key;
      }
      if (!name)
        return nnc_fail(t->st, NNC_ERR_ARG, "%s: column %d: %s takes %d positional argument(s)",
                        t->source, (int)(t->p - t->text) + 1, class_name, n_positional);
      n_positional++;
      key = name;
      key_len = strlen(name);
    } else {
      seen_keyword = 1;
      t->p++;
    }
    cb_arg *a = add_arg(s, t->st);
    if (!a) return t->st->code;
    a->key = keep(s, copy_n(key, key_len), t->st);
    if (!a->key) return t->st->code;
    snprintf(a->path, sizeof a->path, "%s", a->key);
    for (int i = 0; i < s->n - 1; i++)
      if (!strcmp(s->a[i].key, a->key))
        return nnc_fail(t->st, NNC_ERR_ARG, "%s: %s: given twice", t->source, a->key);
    if (parse_value(t, s, a)) return t->st->code;
    skip_space(t);
    if (*t->p == ',') {
      t->p++;
      skip_space(t);
      if (*t->p == ')') return NNC_OK; /* a trailing comma, as Python allows */
      continue;
    }
    if (*t->p == ')') return NNC_OK;
    return syntax(t, "',' or ')' after a value");
  }
}

int cb_parse_text(const char *text, const char *source, nnc_callback **out, nnc_status *st) {
  *out = NULL;
  char where[512];
  snprintf(where, sizeof where, "%s: %s", source, text);
  text_parser t = {text, text, where, st};
  skip_space(&t);
  const char *name = t.p;
  while (isalnum((unsigned char)*t.p) || *t.p == '_' || *t.p == '.') t.p++;
  if (t.p == name) return syntax(&t, "a callback class name such as EarlyStopping(...)");
  char class_name[128];
  const char *dot = name; /* keras.callbacks.EarlyStopping: the last part */
  for (const char *c = name; c < t.p; c++)
    if (*c == '.') dot = c + 1;
  snprintf(class_name, sizeof class_name, "%.*s", (int)(t.p - dot), dot);
  arg_set s = {0};
  skip_space(&t);
  int rc = NNC_OK;
  if (*t.p == '(') {
    t.p++;
    rc = parse_args(&t, &s, class_name);
    if (!rc) t.p++; /* the ')' */
  }
  if (!rc) {
    skip_space(&t);
    if (*t.p) rc = syntax(&t, "the end after the class name and its (arguments)");
  }
  if (!rc) rc = cb_create(class_name, where, "class", s.a, s.n, out, st);
  arg_set_free(&s);
  return rc;
}

/* ---- JSON ---- */
int cb_parse_json_item(const cJSON *item, const char *source, const char *path, nnc_callback **out,
                       nnc_status *st) {
  *out = NULL;
  if (!cJSON_IsObject(item))
    return nnc_fail(st, NNC_ERR_ARG,
                    "%s: %s: expected an object {\"class_name\": ..., \"config\": {...}}", source,
                    path);
  const cJSON *name = NULL, *config = NULL, *e;
  cJSON_ArrayForEach(e, item) {
    if (!strcmp(e->string, "class_name"))
      name = e;
    else if (!strcmp(e->string, "config"))
      config = e;
    else if (strcmp(e->string, "module") && strcmp(e->string, "registered_name"))
      return nnc_fail(st, NNC_ERR_ARG,
                      "%s: %s.%s: unknown key (expected class_name, config, module, "
                      "registered_name)",
                      source, path, e->string);
  }
  if (!cJSON_IsString(name))
    return nnc_fail(st, NNC_ERR_ARG,
                    "%s: %s.class_name: expected a string such as \"EarlyStopping\"", source, path);
  if (config && !cJSON_IsObject(config) && !cJSON_IsNull(config))
    return nnc_fail(st, NNC_ERR_ARG, "%s: %s.config: expected an object", source, path);
  arg_set s = {0};
  int rc = NNC_OK;
  const cJSON *fields = cJSON_IsObject(config) ? config : NULL;
  cJSON_ArrayForEach(e, fields) {
    cb_arg *a = add_arg(&s, st);
    if (!a) {
      rc = st->code;
      break;
    }
    a->key = e->string;
    snprintf(a->path, sizeof a->path, "%s.config.%s", path, e->string);
    if (cJSON_IsNumber(e)) {
      a->type = CB_ARG_NUMBER;
      a->num = e->valuedouble;
    } else if (cJSON_IsBool(e)) {
      a->type = CB_ARG_BOOL;
      a->num = cJSON_IsTrue(e);
    } else if (cJSON_IsString(e)) {
      a->type = CB_ARG_STRING;
      a->str = e->valuestring;
    } else if (cJSON_IsNull(e)) {
      a->type = CB_ARG_NULL;
    } else {
      a->type = CB_ARG_JSON;
      a->str = keep(&s, cJSON_PrintUnformatted(e), st);
      if (!a->str) {
        rc = st->code;
        break;
      }
    }
  }
  char cls_path[300];
  snprintf(cls_path, sizeof cls_path, "%s.class_name", path);
  if (!rc) rc = cb_create(name->valuestring, source, cls_path, s.a, s.n, out, st);
  arg_set_free(&s);
  return rc;
}

int nnc_callback_create_json(const char *json, const char *source, nnc_callback **out,
                             nnc_status *st) {
  API_STATUS(st);
  if (api_nonnull(out, "nnc_callback_create_json", "out", st)) return NNC_ERR_ARG;
  *out = NULL;
  if (api_nonnull(json, "nnc_callback_create_json", "json", st)) return NNC_ERR_ARG;
  if (!source) source = "<callback>";
  cJSON *root = cJSON_Parse(json);
  if (!root)
    return nnc_fail(st, NNC_ERR_ARG, "%s: $: not valid JSON (near '%.20s')", source,
                    cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() : json);
  int rc = cb_parse_json_item(root, source, "$", out, st);
  cJSON_Delete(root);
  return rc;
}

int cb_list_add_spec(cb_list *l, const nnc_model *m, nnc_status *st) {
  if (!m->desc.callbacks_json) return NNC_OK;
  const char *path = m->desc.callbacks_path ? m->desc.callbacks_path : "$.callbacks";
  cJSON *root = cJSON_Parse(m->desc.callbacks_json);
  if (!cJSON_IsArray(root)) {
    cJSON_Delete(root);
    return nnc_fail(st, NNC_ERR_SPEC, "%s: %s: expected a list of {\"class_name\", \"config\"}",
                    model_source(m), path);
  }
  int rc = NNC_OK, i = 0;
  const cJSON *item;
  cJSON_ArrayForEach(item, root) {
    char at[300];
    snprintf(at, sizeof at, "%s[%d]", path, i++);
    nnc_callback *cb;
    rc = cb_parse_json_item(item, model_source(m), at, &cb, st);
    if (!rc) rc = cb_list_add(l, cb, 1, st);
    if (rc) break;
  }
  cJSON_Delete(root);
  if (rc == NNC_ERR_ARG) st->code = NNC_ERR_SPEC; /* the spec is what is wrong */
  return rc ? st->code : NNC_OK;
}
