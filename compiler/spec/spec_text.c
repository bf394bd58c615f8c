/* Scans of the raw JSON text, for what cJSON's tree cannot tell: a string
 * with an escaped NUL (cJSON decodes "den\u0000se" and the C string ends at
 * "den"), the JSON path of such a string, and how deep the arrays and
 * objects are nested where cJSON gave up. */
#include <stdlib.h>
#include <string.h>

#include "compiler/spec/spec_internal.h"
#include "base/base.h"

/* Index of the closing quote of the string whose opening quote is at i
 * (len when unterminated). */
static size_t string_end(const char *text, size_t len, size_t i) {
  for (i++; i < len && text[i] != '"'; i++)
    if (text[i] == '\\') i++; /* the escaped character, whatever it is */
  return i < len ? i : len;
}

void spec_text_position(const char *text, size_t at, size_t *line, size_t *column) {
  *line = 1, *column = 1;
  for (size_t i = 0; i < at && text[i]; i++) {
    if (text[i] == '\n')
      (*line)++, *column = 1;
    else
      (*column)++;
  }
}

int spec_text_depth_at(const char *text, size_t at) {
  int depth = 0;
  size_t len = strlen(text);
  for (size_t i = 0; i < at && i < len; i++) {
    if (text[i] == '"')
      i = string_end(text, len, i);
    else if (text[i] == '[' || text[i] == '{')
      depth++;
    else if ((text[i] == ']' || text[i] == '}') && depth > 0)
      depth--;
  }
  return depth;
}

/* One open array or object of the walk below. */
typedef struct frame {
  int is_object, expect_key, index;
  size_t key_off, key_len; /* the current member's key, as written between its quotes */
} frame;

/* "$" + one step per open frame: its current key or index. */
static void frames_path(const char *text, const frame *f, int n, char *path) {
  nnc_strlcpy(path, "$", NNC_PATH_MAX);
  for (int k = 0; k < n; k++) {
    if (f[k].is_object) {
      char key[NNC_PATH_MAX];
      size_t klen = f[k].key_len < sizeof key - 1 ? f[k].key_len : sizeof key - 1;
      memcpy(key, text + f[k].key_off, klen);
      key[klen] = '\0';
      spec_path_key(path, path, key);
    } else {
      spec_path_index(path, path, f[k].index);
    }
  }
}

int spec_text_path_at(const char *text, size_t at, char *path) {
  size_t len = strlen(text);
  int cap = CJSON_NESTING_LIMIT + 1, n = 0;
  frame *f = malloc((size_t)cap * sizeof *f);
  if (!f) return NNC_ERR_NOMEM;
  nnc_strlcpy(path, "$", NNC_PATH_MAX);
  for (size_t i = 0; i < len; i++) {
    char c = text[i];
    if (c == '"') {
      size_t end = string_end(text, len, i);
      int is_key = n > 0 && f[n - 1].is_object && f[n - 1].expect_key;
      if (is_key) f[n - 1].key_off = i + 1, f[n - 1].key_len = end - i - 1;
      if (at >= i && at <= end) { /* the target: a key is named by its own path */
        frames_path(text, f, n, path);
        break;
      }
      i = end;
    } else if ((c == '[' || c == '{') && n < cap) {
      f[n++] = (frame){.is_object = c == '{', .expect_key = c == '{'};
    } else if ((c == ']' || c == '}') && n > 0) {
      n--;
    } else if (c == ':' && n > 0) {
      f[n - 1].expect_key = 0;
    } else if (c == ',' && n > 0) {
      f[n - 1].expect_key = f[n - 1].is_object;
      f[n - 1].index++;
    }
  }
  free(f);
  return NNC_OK;
}
