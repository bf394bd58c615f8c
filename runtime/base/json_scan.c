/* Scans of raw JSON text for what a JSON library hides once it has parsed it.
 *
 * cJSON decodes "\u0000" into a NUL byte and then treats the string as a C
 * string, so "a\u0000b" silently becomes "a" while other readers (serde,
 * Python) keep all three characters. A caller refuses such text before
 * parsing it. */
#include "runtime/base/base.h"

int json_text_has_nul_escape(const char *text, size_t len) {
  if (!text) return 0;
  for (size_t i = 0; i < len; i++) {
    if (text[i] != '\\') continue;
    /* An escape is a backslash and the character after it: "\\u0000" is an
     * escaped backslash followed by plain text, not a NUL. */
    if (i + 1 >= len) return 0;
    if (text[i + 1] == 'u' && i + 5 < len && text[i + 2] == '0' && text[i + 3] == '0' &&
        text[i + 4] == '0' && text[i + 5] == '0')
      return 1;
    i++; /* skip the escaped character */
  }
  return 0;
}
