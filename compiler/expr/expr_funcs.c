/* The functions an expression may call, with Keras's names (keras.ops) and
 * parameter names. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "compiler/expr/expr_internal.h"

enum { RED_MEAN, RED_SUM, RED_MAX, RED_MIN };

static const expr_fn table[] = {
    {"mean", FN_REDUCE, 1, {"x"}, "axis, keepdims", RED_MEAN},
    {"sum", FN_REDUCE, 1, {"x"}, "axis, keepdims", RED_SUM},
    {"max", FN_REDUCE, 1, {"x"}, "axis, keepdims", RED_MAX},
    {"min", FN_REDUCE, 1, {"x"}, "axis, keepdims", RED_MIN},
    {"square", FN_UNARY, 1, {"x"}, NULL, NNC_FN_SQUARE},
    {"sqrt", FN_UNARY, 1, {"x"}, NULL, NNC_FN_SQRT},
    {"abs", FN_UNARY, 1, {"x"}, NULL, NNC_FN_ABS},
    {"log", FN_UNARY, 1, {"x"}, NULL, NNC_FN_LOG},
    {"exp", FN_UNARY, 1, {"x"}, NULL, NNC_FN_EXP},
    {"log1p", FN_UNARY, 1, {"x"}, NULL, NNC_FN_LOG1P},
    {"sign", FN_UNARY, 1, {"x"}, NULL, NNC_FN_SIGN},
    {"softplus", FN_UNARY, 1, {"x"}, NULL, NNC_FN_SOFTPLUS},
    {"sigmoid", FN_UNARY, 1, {"x"}, NULL, NNC_FN_SIGMOID},
    {"relu", FN_UNARY, 1, {"x"}, NULL, NNC_FN_RELU},
    {"tanh", FN_UNARY, 1, {"x"}, NULL, NNC_FN_TANH},
    {"maximum", FN_BINARY, 2, {"x1", "x2"}, NULL, NNC_BIN_MAX},
    {"minimum", FN_BINARY, 2, {"x1", "x2"}, NULL, NNC_BIN_MIN},
    {"pow", FN_BINARY, 2, {"x1", "x2"}, NULL, NNC_BIN_POW},
    {"power", FN_BINARY, 2, {"x1", "x2"}, NULL, NNC_BIN_POW},
    {"clip", FN_CLIP, 3, {"x", "x_min", "x_max"}, NULL, 0},
    {"where", FN_WHERE, 3, {"condition", "x1", "x2"}, NULL, 0},
    {"cast", FN_CAST, 2, {"x", "dtype"}, NULL, 0},
    {"epsilon", FN_EPSILON, 0, {NULL}, NULL, 0},
};
enum { N_FNS = (int)(sizeof table / sizeof table[0]) };

int expr_fn_lookup(const char *name) {
  for (int i = 0; i < N_FNS; i++)
    if (strcmp(table[i].name, name) == 0) return i;
  return -1;
}

const expr_fn *expr_fn_row(int row) {
  return &table[row];
}

const char *expr_fn_names(void) {
  return "mean, sum, max, min, square, sqrt, abs, log, exp, log1p, sign, softplus, sigmoid, "
         "relu, tanh, maximum, minimum, pow, power, clip, where, cast, epsilon";
}

/* 1 and *v when n is made of numbers only (Python evaluates it in double). */
int expr_const_value(const expr_node *n, double *v) {
  double a, b;
  switch (n->kind) {
  case EXPR_NUM:
    *v = n->num;
    return 1;
  case EXPR_NEG:
    if (!expr_const_value(n->args[0], &a)) return 0;
    *v = -a;
    return 1;
  case EXPR_CALL:
    if (expr_fn_row(n->fn)->kind != FN_EPSILON || n->n_args || n->n_kw) return 0;
    *v = 1e-7; /* keras.config.epsilon() */
    return 1;
  case EXPR_BIN:
    if (!expr_const_value(n->args[0], &a) || !expr_const_value(n->args[1], &b)) return 0;
    switch (n->op) {
    case EXPR_ADD:
      *v = a + b;
      return 1;
    case EXPR_SUB:
      *v = a - b;
      return 1;
    case EXPR_MUL:
      *v = a * b;
      return 1;
    case EXPR_DIV:
      *v = a / b;
      return 1;
    case EXPR_POW:
      *v = pow(a, b);
      return 1;
    default:
      return 0;
    }
  default:
    return 0;
  }
}

/* The call's operands by parameter: positional, then keywords by name. */
int expr_bind_args(nnc_status *st, const nnc_expr *e, const expr_node *n, const expr_node **args,
                   const expr_node **axis, const expr_node **keepdims) {
  const expr_fn *fn = expr_fn_row(n->fn);
  *axis = *keepdims = NULL;
  for (int i = 0; i < 3; i++) args[i] = NULL;
  if (n->n_args > fn->n_args)
    return expr_fail(st, e, n->args[fn->n_args]->column,
                     "%s( takes %d positional argument%s, got %d", fn->name, fn->n_args,
                     fn->n_args == 1 ? "" : "s", n->n_args);
  for (int i = 0; i < n->n_args; i++) args[i] = n->args[i];
  for (int k = 0; k < n->n_kw; k++) {
    const char *name = n->kw_names[k];
    const expr_node **slot = NULL;
    for (int i = 0; i < fn->n_args; i++)
      if (!strcmp(name, fn->params[i])) slot = &args[i];
    if (fn->keywords && !strcmp(name, "axis")) slot = axis;
    if (fn->keywords && !strcmp(name, "keepdims")) slot = keepdims;
    if (!slot) {
      char expected[96] = "";
      for (int i = 0; i < fn->n_args; i++)
        snprintf(expected + strlen(expected), sizeof expected - strlen(expected), "%s%s",
                 i ? ", " : "", fn->params[i]);
      if (fn->keywords)
        snprintf(expected + strlen(expected), sizeof expected - strlen(expected), ", %s",
                 fn->keywords);
      return expr_fail(st, e, n->kw_columns[k], "%s( has no argument '%s' (expected %s)", fn->name,
                       name, fn->n_args || fn->keywords ? expected : "none");
    }
    if (*slot)
      return expr_fail(st, e, n->kw_columns[k], "%s( got argument '%s' twice", fn->name, name);
    *slot = n->kw_values[k];
  }
  for (int i = 0; i < fn->n_args; i++)
    if (!args[i])
      return expr_fail(st, e, n->column, "%s( needs the argument '%s'", fn->name, fn->params[i]);
  return NNC_OK;
}

int expr_axis_value(nnc_status *st, const nnc_expr *e, const expr_node *v, int64_t *out,
                    int *none) {
  double d;
  *none = v->kind == EXPR_NAME && v->var == -1;
  if (*none) return NNC_OK;
  if (!expr_const_value(v, &d) || d != floor(d) || fabs(d) > 64)
    return expr_fail(st, e, v->column,
                     "axis= expects an integer (-1: the last axis; 0: the batch) or None");
  *out = (int64_t)d;
  return NNC_OK;
}

/* The checks that need no shapes, at parse time: every call's arguments,
 * axis= and keepdims= values, cast's dtype, and names and strings only
 * where they mean something. */
int expr_validate(nnc_status *st, const nnc_expr *e, const expr_node *n) {
  if (n->kind == EXPR_NAME)
    return expr_fail(st, e, n->column,
                     "True, False and None are only keyword values (keepdims=True, axis=None)");
  if (n->kind == EXPR_STR)
    return expr_fail(st, e, n->column, "a string is only the dtype of cast(x, \"float32\")");
  if (n->kind == EXPR_CALL) {
    const expr_node *args[3], *axis, *keepdims;
    int64_t a;
    int none;
    if (expr_bind_args(st, e, n, args, &axis, &keepdims) ||
        (axis && expr_axis_value(st, e, axis, &a, &none)))
      return st->code;
    if (keepdims && (keepdims->kind != EXPR_NAME || keepdims->var < 0))
      return expr_fail(st, e, keepdims->column, "keepdims= expects True or False");
    const expr_fn *fn = expr_fn_row(n->fn);
    if (fn->kind == FN_CAST) {
      if (args[1]->kind != EXPR_STR || strcmp(args[1]->str, "float32") != 0)
        return expr_fail(st, e, args[1]->column,
                         "cast( supports the dtype \"float32\" (comparisons already give 0.0 or "
                         "1.0; every value is float32)");
      return expr_validate(st, e, args[0]);
    }
    for (int i = 0; i < fn->n_args; i++)
      if (expr_validate(st, e, args[i])) return st->code;
    return NNC_OK;
  }
  for (int i = 0; i < n->n_args; i++)
    if (expr_validate(st, e, n->args[i])) return st->code;
  return NNC_OK;
}
