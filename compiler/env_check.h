/* The NNC_* environment variables the library reads, and the values each
 * accepts. A value outside them is an error from compile (never silently the
 * default): a typo such as NNC_VECTOR_WIDTH=12 must not measure the wrong
 * code. docs/cli.md, "Environment variables", lists them. */
#ifndef NNC_ENV_CHECK_H
#define NNC_ENV_CHECK_H

#include "nnc.h"

typedef struct env_var {
  const char *name;
  const char *const *values; /* the accepted values, NULL-terminated; NULL: a number */
  long long max;             /* values == NULL: a whole number in [0, max] */
  const char *accepted;      /* for the message: what it takes and what unset means */
} env_var;

/* Every NNC_* variable read by compiler/ and base/, NULL-terminated by name. */
extern const env_var env_vars[];

/* NNC_ERR_ARG naming the first variable whose value is not accepted. Unset
 * and empty (VAR=) are accepted everywhere and mean the default. */
int env_check(nnc_status *st);

#endif
