#include "runtime/pyfloat.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void py_float_repr(double v, char *buf, size_t n) {
  if (isnan(v)) {
    snprintf(buf, n, "nan");
    return;
  }
  if (isinf(v)) {
    snprintf(buf, n, v < 0 ? "-inf" : "inf");
    return;
  }
  char e[40];
  for (int p = 1; p <= 17; p++) { /* the shortest round trip, as Python's repr */
    snprintf(e, sizeof e, "%.*e", p - 1, v);
    if (strtod(e, NULL) == v) break;
  }
  /* e is "-d.ddde+XX": take the sign, the digits and the exponent */
  const char *c = e;
  int neg = *c == '-';
  if (neg) c++;
  char digits[24];
  int nd = 0;
  for (; *c && *c != 'e'; c++)
    if (*c != '.' && nd < (int)sizeof digits - 1) digits[nd++] = *c;
  while (nd > 1 && digits[nd - 1] == '0') nd--;
  digits[nd] = '\0';
  int exp = atoi(c + 1);
  size_t u = (size_t)snprintf(buf, n, "%s", neg ? "-" : "");
  if (exp >= -4 && exp < 16) {
    if (exp < 0) {
      u += (size_t)snprintf(buf + u, n - u, "0.");
      for (int i = -1; i > exp && u < n; i--) u += (size_t)snprintf(buf + u, n - u, "0");
      snprintf(buf + u, n - u, "%s", digits);
    } else if (nd <= exp + 1) {
      u += (size_t)snprintf(buf + u, n - u, "%s", digits);
      for (int i = nd; i <= exp && u < n; i++) u += (size_t)snprintf(buf + u, n - u, "0");
      snprintf(buf + u, n - u, ".0");
    } else {
      snprintf(buf + u, n - u, "%.*s.%s", exp + 1, digits, digits + exp + 1);
    }
    return;
  }
  if (nd > 1)
    snprintf(buf + u, n - u, "%c.%se%c%02d", digits[0], digits + 1, exp < 0 ? '-' : '+', abs(exp));
  else
    snprintf(buf + u, n - u, "%ce%c%02d", digits[0], exp < 0 ? '-' : '+', abs(exp));
}
