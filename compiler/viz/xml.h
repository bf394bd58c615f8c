/* compiler/viz/xml — text inside SVG and HTML documents. */
#ifndef NNC_VIZ_XML_H
#define NNC_VIZ_XML_H

#include <stddef.h>
#include <stdio.h>

/* s (at most max bytes of it) as XML/HTML character data or attribute
 * value: & < > " escaped, control characters and bytes that are not
 * UTF-8 written as '?'. */
void viz_xml_text(FILE *f, const char *s, size_t max);

#endif
