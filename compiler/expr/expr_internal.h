/* The syntax tree shared by the parser (expr_parse.c), the function table
 * (expr_funcs.c) and the lowering (expr_lower.c). */
#ifndef NNC_EXPR_INTERNAL_H
#define NNC_EXPR_INTERNAL_H

#include "compiler/expr/expr.h"

typedef enum expr_kind {
  EXPR_NUM,  /* num */
  EXPR_VAR,  /* var: y_true, y_pred, sample_weight */
  EXPR_NAME, /* True, False, None: keyword values only */
  EXPR_STR,  /* str: "float32" */
  EXPR_NEG,  /* -args[0] */
  EXPR_BIN,  /* args[0] op args[1] */
  EXPR_CALL  /* fn(args..., kw=...) */
} expr_kind;

typedef enum expr_var { EXPR_Y_TRUE, EXPR_Y_PRED, EXPR_SAMPLE_WEIGHT } expr_var;

typedef enum expr_op {
  EXPR_ADD,
  EXPR_SUB,
  EXPR_MUL,
  EXPR_DIV,
  EXPR_POW,
  EXPR_LT,
  EXPR_LE,
  EXPR_GT,
  EXPR_GE,
  EXPR_EQ,
  EXPR_NE
} expr_op;

typedef struct expr_node expr_node;
struct expr_node {
  expr_kind kind;
  int column; /* 1-based, of the node's first character (a binary op: the operator) */
  double num;
  int var;    /* expr_var; EXPR_NAME: 1 True, 0 False, -1 None */
  expr_op op; /* EXPR_BIN */
  char *str;  /* EXPR_STR: the string; EXPR_CALL: the function name */
  int fn;     /* EXPR_CALL: row of the function table */
  int n_args; /* positional operands */
  expr_node **args;
  int n_kw;
  char **kw_names;
  int *kw_columns;
  expr_node **kw_values;
  int height; /* the longest path to a leaf (a leaf: 0), kept below EXPR_MAX_HEIGHT */
};

struct nnc_expr {
  char *text;
  char *where; /* "<source>: <path>: loss expression" */
  expr_node *root;
};

/* ---- functions (expr_funcs.c) ---- */
typedef enum expr_fn_kind {
  FN_REDUCE, /* mean, sum, max, min: (x, axis=None, keepdims=False) */
  FN_UNARY,  /* square, sqrt, ...: (x) */
  FN_BINARY, /* maximum, minimum, pow: (a, b) */
  FN_CLIP,   /* clip(x, lo, hi) */
  FN_WHERE,  /* where(cond, a, b) */
  FN_CAST,   /* cast(x, "float32") */
  FN_EPSILON /* epsilon() */
} expr_fn_kind;

typedef struct expr_fn {
  const char *name;
  expr_fn_kind kind;
  int n_args;            /* positional arguments (exactly; keywords may stand in) */
  const char *params[3]; /* names of the positional parameters */
  const char *keywords;  /* keyword-only parameters, "axis, keepdims" or NULL */
  int code;              /* nnc_fn, nnc_binary_fn, or for REDUCE 0 mean 1 sum 2 max 3 min */
} expr_fn;

int expr_fn_lookup(const char *name); /* row or -1 */
const expr_fn *expr_fn_row(int row);
const char *expr_fn_names(void); /* "mean, sum, ..." for messages */

/* 1 and *v when n is made of numbers only (Python evaluates it in double). */
int expr_const_value(const expr_node *n, double *v);
/* A call's operands by parameter (args[0..n_args)), its axis= and
 * keepdims= values (NULL: absent); else an error at the column. */
int expr_bind_args(nnc_status *st, const nnc_expr *e, const expr_node *n, const expr_node **args,
                   const expr_node **axis, const expr_node **keepdims);
/* axis=: an integer, or None (*none = 1). */
int expr_axis_value(nnc_status *st, const nnc_expr *e, const expr_node *v, int64_t *out, int *none);
/* Shape-free checks of the whole tree (expr_parse runs them). */
int expr_validate(nnc_status *st, const nnc_expr *e, const expr_node *n);

/* Fail with "<where>, column N: <message> in \"<text>\"" (NNC_ERR_SPEC). */
int expr_fail(nnc_status *st, const nnc_expr *e, int column, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
