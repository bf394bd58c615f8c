/* Escaping for the SVG and HTML outputs (xml.h). */
#include "compiler/viz/xml.h"

/* The length of the UTF-8 sequence at s (room bytes readable) if it is a
 * character XML allows, else 0. */
static size_t utf8_len(const unsigned char *s, size_t room) {
  unsigned c = s[0];
  size_t n = c < 0x80                          ? 1
             : (c & 0xe0) == 0xc0 && c >= 0xc2 ? 2
             : (c & 0xf0) == 0xe0              ? 3
             : (c & 0xf8) == 0xf0 && c <= 0xf4 ? 4
                                               : 0;
  if (n > room) return 0;
  for (size_t k = 1; k < n; k++)
    if ((s[k] & 0xc0) != 0x80) return 0;
  /* overlong forms, UTF-16 surrogates, beyond U+10FFFF, U+FFFE and U+FFFF */
  if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0) || (c == 0xf0 && s[1] < 0x90) ||
      (c == 0xf4 && s[1] >= 0x90) || (c == 0xef && s[1] == 0xbf && s[2] >= 0xbe))
    return 0;
  return n;
}

void viz_xml_text(FILE *f, const char *s, size_t max) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0;
  while (i < max && u[i]) {
    size_t room = 0;
    while (room < 4 && i + room < max && u[i + room]) room++;
    size_t n = utf8_len(u + i, room);
    unsigned c = u[i];
    if (!n || (c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) {
      fputc('?', f);
      i++;
      continue;
    }
    if (c == '&')
      fputs("&amp;", f);
    else if (c == '<')
      fputs("&lt;", f);
    else if (c == '>')
      fputs("&gt;", f);
    else if (c == '"')
      fputs("&quot;", f);
    else
      fwrite(u + i, 1, n, f);
    i += n;
  }
}
