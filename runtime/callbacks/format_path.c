/* cb_format_path: the subset of Python's format-spec mini-language that
 * checkpoint names use ("w-{epoch:02d}-{val_loss:.2f}.safetensors"). */
#include "runtime/callbacks/format_path.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/callbacks/monitor.h"

typedef struct text {
  char *p;
  size_t n, cap;
} text;

static int put(text *t, const char *s, size_t len) {
  if (t->n + len + 1 > t->cap) {
    size_t cap = (t->n + len + 1) * 2;
    char *p = realloc(t->p, cap);
    if (!p) return -1;
    t->p = p;
    t->cap = cap;
  }
  memcpy(t->p + t->n, s, len);
  t->n += len;
  t->p[t->n] = '\0';
  return 0;
}

typedef struct spec {
  char fill, align, sign, type;
  int zero, width, precision; /* precision -1: none */
} spec;

static int parse_spec(const char *s, spec *f) {
  memset(f, 0, sizeof *f);
  f->fill = ' ';
  f->precision = -1;
  if (s[0] && s[1] && strchr("<>^=", s[1])) {
    f->fill = s[0];
    f->align = s[1];
    s += 2;
  } else if (s[0] && strchr("<>^=", s[0])) {
    f->align = *s++;
  }
  if (*s && strchr("+- ", *s)) f->sign = *s++;
  if (*s == '0') {
    f->zero = 1;
    s++;
  }
  while (*s >= '0' && *s <= '9' && f->width < 10000) f->width = f->width * 10 + (*s++ - '0');
  if (*s == '.') {
    s++;
    if (!(*s >= '0' && *s <= '9')) return -1;
    f->precision = 0;
    while (*s >= '0' && *s <= '9' && f->precision < 100)
      f->precision = f->precision * 10 + (*s++ - '0');
  }
  if (*s && strchr("dfFeEgG%", *s)) f->type = *s++;
  return *s ? -1 : 0;
}

/* The digits of v (no sign) by spec; is_int: an int argument. */
enum { FIELD_ROOM = 512 };

/* The replacement field c = "{name:spec}" (end at its '}') split into its
 * name (copied into field) and format spec (*fmt, inside field; "" when
 * none), the spec parsed into *f. -1 with the reason in why. */
static int split_field(const char *c, const char *end, char field[FIELD_ROOM], const char **fmt,
                       spec *f, char *why, size_t why_room) {
  size_t len = (size_t)(end - c - 1);
  if (len >= FIELD_ROOM) {
    snprintf(why, why_room, "a field of %zu bytes", len);
    return -1;
  }
  memcpy(field, c + 1, len);
  field[len] = '\0';
  char *colon = strchr(field, ':');
  *fmt = "";
  if (colon) {
    *colon = '\0';
    *fmt = colon + 1;
  }
  if (parse_spec(*fmt, f)) {
    snprintf(why, why_room, "field {%s}: format spec '%s' is not one nnc reads", field, *fmt);
    return -1;
  }
  if (f->align && f->fill == '/') { /* the number would make folders of the file name */
    snprintf(why, why_room,
             "field {%s:%s}: '/' as the fill character would split the name into folders", field,
             *fmt);
    return -1;
  }
  return 0;
}

static int digits(double v, int is_int, const spec *f, char *out, size_t room) {
  double a = fabs(v);
  int p = f->precision < 0 ? 6 : f->precision;
  switch (f->type) {
  case 'd':
    if (!is_int) return -1;
    snprintf(out, room, "%.0f", a);
    return 0;
  case 'f':
  case 'F':
    snprintf(out, room, f->type == 'f' ? "%.*f" : "%.*F", p, a);
    return 0;
  case 'e':
  case 'E':
    snprintf(out, room, f->type == 'e' ? "%.*e" : "%.*E", p, a);
    return 0;
  case 'g':
  case 'G':
    snprintf(out, room, f->type == 'g' ? "%.*g" : "%.*G", p ? p : 1, a);
    return 0;
  case '%':
    snprintf(out, room, "%.*f%%", p, a * 100);
    return 0;
  default:
    if (is_int)
      snprintf(out, room, "%.0f", a);
    else if (f->precision >= 0) /* like "g", keeping a ".0" on whole numbers */
      snprintf(out, room, "%.*g", p ? p : 1, a);
    else
      cb_float_repr(a, out, room);
    return 0;
  }
}

static int format_value(text *t, double v, int is_int, const spec *f) {
  char num[400], sign[2] = "";
  if (digits(v, is_int, f, num, sizeof num)) return -1;
  if (signbit(v) && !isnan(v))
    sign[0] = '-';
  else if (f->sign == '+' || f->sign == ' ')
    sign[0] = f->sign;
  size_t len = strlen(sign) + strlen(num);
  size_t pad = (size_t)f->width > len ? (size_t)f->width - len : 0;
  char align = f->align ? f->align : (f->zero ? '=' : '>');
  char fill = f->align ? f->fill : (f->zero ? '0' : ' ');
  size_t left = align == '<' ? 0 : align == '^' ? pad / 2 : pad;
  size_t right = pad - left;
  if (align == '=') { /* padding between the sign and the digits */
    if (put(t, sign, strlen(sign))) return -2;
    for (size_t i = 0; i < pad; i++)
      if (put(t, &fill, 1)) return -2;
    return put(t, num, strlen(num)) ? -2 : 0;
  }
  for (size_t i = 0; i < left; i++)
    if (put(t, &fill, 1)) return -2;
  if (put(t, sign, strlen(sign)) || put(t, num, strlen(num))) return -2;
  for (size_t i = 0; i < right; i++)
    if (put(t, &fill, 1)) return -2;
  return 0;
}

int cb_format_path(const char *tmpl, int epoch, int batch, const nnc_logs *logs, char **out,
                   char *why, size_t why_room) {
  text t = {0};
  *out = NULL;
  if (put(&t, "", 0)) goto nomem;
  for (const char *c = tmpl; *c;) {
    if ((c[0] == '{' && c[1] == '{') || (c[0] == '}' && c[1] == '}')) {
      if (put(&t, c, 1)) goto nomem;
      c += 2;
      continue;
    }
    if (*c == '}') {
      snprintf(why, why_room, "single '}' in the format string");
      goto fail;
    }
    if (*c != '{') {
      if (put(&t, c++, 1)) goto nomem;
      continue;
    }
    const char *end = strchr(c, '}');
    if (!end) {
      snprintf(why, why_room, "'{' without its '}'");
      goto fail;
    }
    char field[FIELD_ROOM];
    const char *fmt;
    spec f;
    if (split_field(c, end, field, &fmt, &f, why, why_room)) goto fail;
    int is_int = 1, found = 1;
    double v = 0;
    if (!strcmp(field, "epoch"))
      v = epoch;
    else if (!strcmp(field, "batch") && batch >= 0)
      v = batch;
    else {
      is_int = 0;
      found = 0;
      for (int i = 0; logs && i < logs->n; i++)
        if (!strcmp(logs->names[i], field)) {
          v = logs->values[i];
          found = 1;
        }
    }
    if (!found) {
      char keys[1024];
      cb_logs_keys(logs, keys, sizeof keys);
      snprintf(why, why_room, "no field '%s' (there are: epoch%s%s%s)", field,
               batch >= 0 ? ", batch" : "", keys[0] ? ", " : "", keys);
      goto fail;
    }
    int rc = format_value(&t, v, is_int, &f);
    if (rc == -1) {
      snprintf(why, why_room, "field {%s:%s}: unknown format code 'd' for a float", field, fmt);
      goto fail;
    }
    if (rc) goto nomem;
    c = end + 1;
  }
  *out = t.p;
  return 0;
nomem:
  snprintf(why, why_room, "out of memory");
fail:
  free(t.p);
  return -1;
}

int cb_format_check(const char *tmpl, char *why, size_t why_room) {
  for (const char *c = tmpl; *c;) {
    if ((c[0] == '{' && c[1] == '{') || (c[0] == '}' && c[1] == '}')) {
      c += 2;
      continue;
    }
    if (*c == '}') {
      snprintf(why, why_room, "single '}' in the format string");
      return -1;
    }
    if (*c != '{') {
      c++;
      continue;
    }
    const char *end = strchr(c, '}');
    if (!end) {
      snprintf(why, why_room, "'{' without its '}'");
      return -1;
    }
    char field[FIELD_ROOM];
    const char *fmt;
    spec f;
    if (split_field(c, end, field, &fmt, &f, why, why_room)) return -1;
    if (!field[0] || (field[0] >= '0' && field[0] <= '9')) {
      /* str.format(epoch=..., **logs) has no positional argument */
      snprintf(why, why_room, "field {%s}: a positional field (Keras formats by name only)", field);
      return -1;
    }
    if (f.type == 'd' && strcmp(field, "epoch") && strcmp(field, "batch")) {
      snprintf(why, why_room,
               "field {%s:%s}: unknown format code 'd' for a float (log values are floats)", field,
               fmt);
      return -1;
    }
    c = end + 1;
  }
  return 0;
}
