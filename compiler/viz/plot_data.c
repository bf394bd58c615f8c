/* Reading a History JSON file for `nnc plot`: nnc's own (nulls for
 * non-finite values) and Keras's json.dumps(history.history) (NaN and
 * Infinity literals, which JSON proper has not: read as null first). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "compiler/viz/plot.h"

/* The text with NaN, Infinity and -Infinity outside strings replaced by
 * null (which every consumer here reads as a gap). Lines are kept, so
 * line:column of an error stays right up to the replaced words' width. */
static char *nulls_for_literals(const char *text, size_t len) {
  char *out = malloc(len + len / 3 + 8);
  if (!out) return NULL;
  size_t o = 0;
  int in_string = 0;
  for (size_t i = 0; i < len;) {
    char c = text[i];
    if (in_string) {
      out[o++] = c;
      if (c == '\\' && i + 1 < len)
        out[o++] = text[++i];
      else if (c == '"')
        in_string = 0;
      i++;
      continue;
    }
    if (c == '"') in_string = 1;
    static const char *const words[] = {"-Infinity", "Infinity", "NaN"};
    int replaced = 0;
    for (int w = 0; w < 3 && !replaced; w++) {
      size_t n = strlen(words[w]);
      if (len - i >= n && !memcmp(text + i, words[w], n)) {
        memcpy(out + o, "null", 4);
        o += 4;
        i += n;
        replaced = 1;
      }
    }
    if (!replaced) out[o++] = text[i++];
  }
  out[o] = '\0';
  return out;
}

static void where(const char *text, const char *at, int *line, int *col) {
  *line = 1;
  *col = 1;
  for (const char *p = text; p < at && *p; p++) {
    if (*p == '\n') {
      (*line)++;
      *col = 1;
    } else {
      (*col)++;
    }
  }
}

static const char *type_name(const cJSON *v) {
  if (cJSON_IsString(v)) return "a string";
  if (cJSON_IsNumber(v)) return "a number";
  if (cJSON_IsBool(v)) return "a boolean";
  if (cJSON_IsNull(v)) return "null";
  if (cJSON_IsArray(v)) return "an array";
  return "an object";
}

void viz_history_free(viz_history *h) {
  for (int i = 0; i < h->n_series; i++) {
    free(h->s[i].name);
    free(h->s[i].v);
  }
  free(h->s);
  memset(h, 0, sizeof *h);
}

static int read_series(const cJSON *arr, const char *source, const char *prefix, viz_series *s,
                       nnc_status *st) {
  const char *key = arr->string;
  if (!cJSON_IsArray(arr))
    return nnc_fail(st, NNC_ERR_DATA, "%s: %s[\"%.64s\"]: expected an array of numbers, got %s",
                    source, prefix, key, type_name(arr));
  int n = cJSON_GetArraySize(arr);
  if (n == 0)
    return nnc_fail(st, NNC_ERR_DATA, "%s: %s[\"%.64s\"]: expected at least one epoch, got []",
                    source, prefix, key);
  s->name = malloc(strlen(key) + 1);
  s->v = malloc((size_t)n * sizeof *s->v);
  if (!s->name || !s->v) return nnc_fail(st, NNC_ERR_NOMEM, "out of memory reading %s", source);
  strcpy(s->name, key);
  s->n = n;
  int e = 0;
  for (const cJSON *v = arr->child; v; v = v->next, e++) {
    if (cJSON_IsNull(v)) {
      s->v[e] = NAN;
    } else if (cJSON_IsNumber(v)) {
      s->v[e] = isfinite(v->valuedouble) ? v->valuedouble : NAN;
    } else {
      return nnc_fail(st, NNC_ERR_DATA, "%s: %s[\"%.64s\"][%d]: expected a number or null, got %s",
                      source, prefix, key, e, type_name(v));
    }
  }
  return NNC_OK;
}

int viz_history_parse(const char *text, size_t len, const char *source, viz_history *h,
                      nnc_status *st) {
  memset(h, 0, sizeof *h);
  char *clean = nulls_for_literals(text, len);
  if (!clean) return nnc_fail(st, NNC_ERR_NOMEM, "out of memory reading %s", source);
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithOpts(clean, &end, 1);
  if (!root) {
    int line, col;
    const char *at = end ? end : cJSON_GetErrorPtr();
    where(clean, at ? at : clean, &line, &col);
    free(clean);
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s:%d:%d: not valid JSON (expected a History dict such as {\"loss\": [0.5, "
                    "0.4]})",
                    source, line, col);
  }
  free(clean);
  int rc = NNC_OK;
  const cJSON *dict = root;
  const char *prefix = "$";
  const cJSON *inner =
      cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "history") : NULL;
  if (cJSON_IsObject(inner)) { /* a dump of the History object: {"history": {...}, "epoch": ...} */
    dict = inner;
    prefix = "$[\"history\"]";
  }
  if (!cJSON_IsObject(dict)) {
    rc = nnc_fail(st, NNC_ERR_DATA, "%s: $: expected a History dict {\"loss\": [...], ...}, got %s",
                  source, type_name(dict));
    goto done;
  }
  int n = cJSON_GetArraySize(dict);
  if (n == 0) {
    rc = nnc_fail(st, NNC_ERR_DATA, "%s: %s: expected at least one key such as \"loss\", got {}",
                  source, prefix);
    goto done;
  }
  h->s = calloc((size_t)n, sizeof *h->s);
  if (!h->s) {
    rc = nnc_fail(st, NNC_ERR_NOMEM, "out of memory reading %s", source);
    goto done;
  }
  for (const cJSON *v = dict->child; v && !rc; v = v->next) {
    rc = read_series(v, source, prefix, &h->s[h->n_series], st);
    h->n_series++;
  }
done:
  cJSON_Delete(root);
  if (rc) viz_history_free(h);
  return rc;
}
