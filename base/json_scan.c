/* Scans of raw JSON text for what a JSON library hides once it has parsed it.
 *
 * cJSON decodes "\u0000" into a NUL byte and then treats the string as a C
 * string, so "a\u0000b" silently becomes "a" while other readers (serde,
 * Python) keep all three characters. A caller refuses such text before
 * parsing it. */
#include "base/base.h"

size_t json_text_find_nul_escape(const char *text, size_t len) {
  if (!text) return SIZE_MAX;
  for (size_t i = 0; i < len; i++) {
    if (text[i] != '\\') continue;
    /* An escape is a backslash and the character after it: "\\u0000" is an
     * escaped backslash followed by plain text, not a NUL. */
    if (i + 1 >= len) return SIZE_MAX;
    if (text[i + 1] == 'u' && i + 5 < len && text[i + 2] == '0' && text[i + 3] == '0' &&
        text[i + 4] == '0' && text[i + 5] == '0')
      return i;
    i++; /* skip the escaped character */
  }
  return SIZE_MAX;
}

int json_text_has_nul_escape(const char *text, size_t len) {
  return json_text_find_nul_escape(text, len) != SIZE_MAX;
}
