/* cb_args_bind: a class's declared arguments from the parsed cb_args. */
#include "runtime/callbacks/cb_args.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

int cb_arg_fail(const char *source, const cb_arg *a, nnc_status *st, const char *fmt, ...) {
  char what[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return nnc_fail(st, NNC_ERR_ARG, "%s: %s: %s", source ? source : "<callback>", a->path, what);
}

static const char *type_name(cb_arg_type t) {
  switch (t) {
  case CB_ARG_NUMBER:
    return "a number";
  case CB_ARG_BOOL:
    return "a boolean";
  case CB_ARG_STRING:
    return "a string";
  case CB_ARG_NULL:
    return "null";
  default:
    return "a JSON object or list";
  }
}

static int bind_one(const char *source, const cb_arg *a, const cb_param *p, nnc_status *st) {
  switch (p->kind) {
  case CB_P_NUMBER_OR_NULL:
    if (a->type == CB_ARG_NULL) {
      *(double *)p->dst = NAN;
      return NNC_OK;
    }
    /* fall through */
  case CB_P_NUMBER:
    if (a->type != CB_ARG_NUMBER || !isfinite(a->num))
      return cb_arg_fail(source, a, st, "expected a finite number%s, got %s",
                         p->kind == CB_P_NUMBER_OR_NULL ? " or null" : "", type_name(a->type));
    *(double *)p->dst = a->num;
    return NNC_OK;
  case CB_P_INT:
    if ((a->type != CB_ARG_NUMBER && a->type != CB_ARG_BOOL) || a->num != floor(a->num) ||
        fabs(a->num) > 1e9)
      return a->type == CB_ARG_NUMBER
                 ? cb_arg_fail(source, a, st, "expected an integer, got %g", a->num)
                 : cb_arg_fail(source, a, st, "expected an integer, got %s", type_name(a->type));
    *(int *)p->dst = (int)a->num;
    return NNC_OK;
  case CB_P_BOOL:
    if (a->type != CB_ARG_BOOL && !(a->type == CB_ARG_NUMBER && (a->num == 0 || a->num == 1)))
      return cb_arg_fail(source, a, st, "expected true or false, got %s", type_name(a->type));
    *(int *)p->dst = a->num != 0;
    return NNC_OK;
  case CB_P_STRING: {
    if (a->type != CB_ARG_STRING)
      return cb_arg_fail(source, a, st, "expected a string, got %s", type_name(a->type));
    char *copy = cb_strdup(a->str, st);
    if (!copy) return st->code;
    free(*(char **)p->dst);
    *(char **)p->dst = copy;
    return NNC_OK;
  }
  case CB_P_ARG:
    *(const cb_arg **)p->dst = a;
    return NNC_OK;
  }
  return nnc_fail(st, NNC_ERR_INTERNAL, "cb_args_bind: unknown parameter kind %d", (int)p->kind);
}

int cb_args_bind(const char *source, const char *class_name, const cb_arg *args, int n_args,
                 const cb_param *params, int n_params, nnc_status *st) {
  for (int i = 0; i < n_args; i++) {
    int k = 0;
    while (k < n_params && strcmp(params[k].key, args[i].key)) k++;
    if (k == n_params) {
      char keys[512] = "";
      for (int j = 0; j < n_params; j++) {
        size_t at = strlen(keys);
        snprintf(keys + at, sizeof keys - at, "%s%s", j ? ", " : "", params[j].key);
      }
      return cb_arg_fail(source, &args[i], st, "%s has no argument '%s' (expected one of: %s)",
                         class_name, args[i].key, keys);
    }
    for (int j = 0; j < i; j++)
      if (!strcmp(args[j].key, args[i].key))
        return cb_arg_fail(source, &args[i], st, "'%s' is given twice", args[i].key);
    if (bind_one(source, &args[i], &params[k], st)) return st->code;
  }
  return NNC_OK;
}
