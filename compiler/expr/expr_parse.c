/* Tokenizer and precedence-climbing parser of loss and metric expressions.
 * Every error names the column (1-based) where the parser stopped. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/expr/expr_internal.h"

/* The deepest nesting accepted: the parser recurses once per level. */
#define EXPR_MAX_DEPTH 200
/* The tallest tree accepted: a chain a+b+c+... is parsed by a loop, not by
 * recursion, but every later pass (validation, lowering, freeing) walks the
 * tree recursively, so its height is bounded as well. */
#define EXPR_MAX_HEIGHT 1000

typedef enum tok_kind { T_END, T_NUM, T_NAME, T_STR, T_OP, T_LPAREN, T_RPAREN, T_COMMA } tok_kind;

typedef struct token {
  tok_kind kind;
  int column;
  const char *start;
  size_t len;
  double num;
} token;

typedef struct parser {
  nnc_expr *e;
  const char *text, *at;
  token tok; /* the current token */
  int depth;
  nnc_status *st;
} parser;

int expr_fail(nnc_status *st, const nnc_expr *e, int column, const char *fmt, ...) {
  char what[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (strlen(e->text) <= 160)
    return nnc_fail(st, NNC_ERR_SPEC, "%s, column %d: %s in \"%s\"", e->where, column, what,
                    e->text);
  return nnc_fail(st, NNC_ERR_SPEC, "%s, column %d: %s", e->where, column, what);
}

/* The current token as text for messages: "')'", "the end". */
static const char *tok_text(const token *t, char *buf, size_t n) {
  if (t->kind == T_END) return "the end of the expression";
  snprintf(buf, n, "'%.*s'", (int)(t->len > 40 ? 40 : t->len), t->start);
  return buf;
}

static int next(parser *p) {
  const char *s = p->at;
  while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
  token *t = &p->tok;
  memset(t, 0, sizeof *t);
  t->start = s;
  t->column = (int)(s - p->text) + 1;
  if (*s == '\0') {
    t->kind = T_END;
  } else if (isdigit((unsigned char)*s) || (*s == '.' && isdigit((unsigned char)s[1]))) {
    char *end;
    t->num = strtod(s, &end);
    if (isalpha((unsigned char)*end) || *end == '_' || !isfinite(t->num))
      return expr_fail(p->st, p->e, t->column, "malformed number '%.*s'",
                       (int)(strcspn(s, " +-*/(),<>=!") > 40 ? 40 : strcspn(s, " +-*/(),<>=!")), s);
    t->kind = T_NUM;
    s = end;
  } else if (isalpha((unsigned char)*s) || *s == '_') {
    while (isalnum((unsigned char)*s) || *s == '_' || *s == '.') s++;
    t->kind = T_NAME;
  } else if (*s == '"' || *s == '\'') {
    const char *close = strchr(s + 1, *s);
    if (!close) return expr_fail(p->st, p->e, t->column, "unterminated string");
    t->kind = T_STR;
    s = close + 1;
  } else if (*s == '(' || *s == ')' || *s == ',') {
    t->kind = *s == '(' ? T_LPAREN : *s == ')' ? T_RPAREN : T_COMMA;
    s++;
  } else if (strncmp(s, "**", 2) == 0 || strncmp(s, "<=", 2) == 0 || strncmp(s, ">=", 2) == 0 ||
             strncmp(s, "==", 2) == 0 || strncmp(s, "!=", 2) == 0) {
    t->kind = T_OP;
    s += 2;
  } else if (strchr("+-*/<>=", *s)) {
    t->kind = T_OP;
    s++;
  } else {
    return expr_fail(p->st, p->e, t->column, "unexpected character '%c'", *s);
  }
  t->len = (size_t)(s - t->start);
  p->at = s;
  return NNC_OK;
}

static int is_op(const token *t, const char *op) {
  return t->kind == T_OP && t->len == strlen(op) && strncmp(t->start, op, t->len) == 0;
}

static expr_node *new_node(parser *p, expr_kind kind, int column) {
  expr_node *n = nnc_calloc(1, sizeof *n, p->st);
  if (n) {
    n->kind = kind;
    n->column = column;
  }
  return n;
}

static void free_node(expr_node *n) {
  if (!n) return;
  for (int i = 0; i < n->n_args; i++) free_node(n->args[i]);
  for (int i = 0; i < n->n_kw; i++) {
    free(n->kw_names[i]);
    free_node(n->kw_values[i]);
  }
  free(n->args);
  free(n->kw_names);
  free(n->kw_columns);
  free(n->kw_values);
  free(n->str);
  free(n);
}

static char *copy_text(parser *p, const char *s, size_t len) {
  char *c = nnc_calloc(len + 1, 1, p->st);
  if (c) memcpy(c, s, len);
  return c;
}

static int add_arg(parser *p, expr_node *call, expr_node *arg) {
  expr_node **grown = nnc_realloc_array(call->args, (size_t)call->n_args + 1, sizeof *grown, p->st);
  if (!grown) return p->st->code;
  call->args = grown;
  call->args[call->n_args++] = arg;
  if (arg && arg->height + 1 > call->height) call->height = arg->height + 1;
  return NNC_OK;
}

static int add_kw(parser *p, expr_node *call, char *name, int column, expr_node *value) {
  size_t n = (size_t)call->n_kw + 1;
  char **names = nnc_realloc_array(call->kw_names, n, sizeof *names, p->st);
  if (names) call->kw_names = names;
  int *cols = names ? nnc_realloc_array(call->kw_columns, n, sizeof *cols, p->st) : NULL;
  if (cols) call->kw_columns = cols;
  expr_node **vals = cols ? nnc_realloc_array(call->kw_values, n, sizeof *vals, p->st) : NULL;
  if (!vals) return p->st->code;
  call->kw_values = vals;
  call->kw_names[call->n_kw] = name;
  call->kw_columns[call->n_kw] = column;
  call->kw_values[call->n_kw++] = value;
  if (value && value->height + 1 > call->height) call->height = value->height + 1;
  return NNC_OK;
}

static expr_node *parse_expr(parser *p);

/* A name that is a variable or a keyword constant. */
static expr_node *parse_name(parser *p, const token *t) {
  static const char *const vars[] = {"y_true", "y_pred", "sample_weight"};
  static const char *const consts[] = {"False", "True", "None", "false", "true"};
  static const int const_values[] = {0, 1, -1, 0, 1};
  for (int i = 0; i < 3; i++)
    if (t->len == strlen(vars[i]) && !strncmp(t->start, vars[i], t->len)) {
      expr_node *n = new_node(p, EXPR_VAR, t->column);
      if (n) n->var = i;
      return n;
    }
  for (int i = 0; i < 5; i++)
    if (t->len == strlen(consts[i]) && !strncmp(t->start, consts[i], t->len)) {
      expr_node *n = new_node(p, EXPR_NAME, t->column);
      if (n) n->var = const_values[i];
      return n;
    }
  expr_fail(p->st, p->e, t->column,
            "unknown name '%.*s' (expected y_true, y_pred, sample_weight, a number or a "
            "function call: %s)",
            (int)(t->len > 40 ? 40 : t->len), t->start, expr_fn_names());
  return NULL;
}

/* name '(' [args] ')' with the name already read; p->tok is '('. */
static expr_node *parse_call(parser *p, const token *name) {
  char fname[48];
  snprintf(fname, sizeof fname, "%.*s", (int)(name->len > 40 ? 40 : name->len), name->start);
  const char *bare = fname;
  /* keras.ops spellings: ops.mean, keras.ops.mean, K.mean */
  const char *prefixes[] = {"keras.ops.", "ops.", "K.", "keras.backend."};
  for (int i = 0; i < 4; i++)
    if (!strncmp(bare, prefixes[i], strlen(prefixes[i]))) bare += strlen(prefixes[i]);
  int row = expr_fn_lookup(bare);
  if (row < 0) {
    expr_fail(p->st, p->e, name->column, "unknown function '%s' (expected one of: %s)", fname,
              expr_fn_names());
    return NULL;
  }
  expr_node *call = new_node(p, EXPR_CALL, name->column);
  if (!call) return NULL;
  call->fn = row;
  call->str = copy_text(p, bare, strlen(bare));
  if (!call->str || next(p)) goto fail;
  char buf[64];
  while (p->tok.kind != T_RPAREN) {
    if (call->n_args + call->n_kw > 0) {
      if (p->tok.kind != T_COMMA) {
        expr_fail(p->st, p->e, p->tok.column, "expected ')' after the arguments of %s(", call->str);
        goto fail;
      }
      if (next(p)) goto fail;
      if (p->tok.kind == T_RPAREN) break; /* a trailing comma, as Python allows */
    }
    token t = p->tok;
    const char *save = p->at;
    if (t.kind == T_NAME) { /* a keyword argument? */
      if (next(p)) goto fail;
      if (is_op(&p->tok, "=")) {
        char *kw = copy_text(p, t.start, t.len);
        if (!kw || next(p)) {
          free(kw);
          goto fail;
        }
        expr_node *v = parse_expr(p);
        if (!v || add_kw(p, call, kw, t.column, v)) {
          free(kw);
          free_node(v);
          goto fail;
        }
        continue;
      }
      p->at = save; /* not a keyword: reread the name as an expression */
      p->tok = t;
    }
    if (call->n_kw > 0) {
      expr_fail(p->st, p->e, t.column,
                "positional argument after a keyword argument in the call of %s(", call->str);
      goto fail;
    }
    if (t.kind == T_END) {
      expr_fail(p->st, p->e, t.column, "expected ')' after the arguments of %s(", call->str);
      goto fail;
    }
    expr_node *arg = parse_expr(p);
    if (!arg || add_arg(p, call, arg)) {
      free_node(arg);
      goto fail;
    }
  }
  (void)buf;
  if (next(p)) goto fail; /* past ')' */
  return call;
fail:
  free_node(call);
  return NULL;
}

static expr_node *parse_primary(parser *p) {
  token t = p->tok;
  char buf[64];
  if (t.kind == T_NUM) {
    expr_node *n = new_node(p, EXPR_NUM, t.column);
    if (n) n->num = t.num;
    if (n && next(p)) {
      free_node(n);
      return NULL;
    }
    return n;
  }
  if (t.kind == T_STR) {
    expr_node *n = new_node(p, EXPR_STR, t.column);
    if (n && !(n->str = copy_text(p, t.start + 1, t.len - 2))) {
      free_node(n);
      return NULL;
    }
    if (n && next(p)) {
      free_node(n);
      return NULL;
    }
    return n;
  }
  if (t.kind == T_LPAREN) {
    if (next(p)) return NULL;
    expr_node *n = parse_expr(p);
    if (!n) return NULL;
    if (p->tok.kind != T_RPAREN) {
      expr_fail(p->st, p->e, p->tok.column, "expected ')' to close the '(' of column %d, got %s",
                t.column, tok_text(&p->tok, buf, sizeof buf));
      free_node(n);
      return NULL;
    }
    if (next(p)) {
      free_node(n);
      return NULL;
    }
    return n;
  }
  if (t.kind == T_NAME) {
    if (next(p)) return NULL;
    if (p->tok.kind == T_LPAREN) return parse_call(p, &t);
    return parse_name(p, &t);
  }
  expr_fail(p->st, p->e, t.column,
            "expected a value (a number, y_true, y_pred, sample_weight, a "
            "call or '('), got %s",
            tok_text(&t, buf, sizeof buf));
  return NULL;
}

static expr_node *binary(parser *p, expr_op op, int column, expr_node *a, expr_node *b) {
  if (!a || !b) {
    free_node(a);
    free_node(b);
    return NULL;
  }
  if ((a->height > b->height ? a->height : b->height) + 1 > EXPR_MAX_HEIGHT) {
    expr_fail(p->st, p->e, column, "more than %d operations chained (split the expression)",
              EXPR_MAX_HEIGHT);
    free_node(a);
    free_node(b);
    return NULL;
  }
  expr_node *n = new_node(p, EXPR_BIN, column);
  if (!n || add_arg(p, n, a) || add_arg(p, n, b)) {
    free_node(n);
    free_node(a);
    free_node(b);
    return NULL;
  }
  n->op = op;
  return n;
}

static expr_node *parse_unary(parser *p);

/* primary ['**' unary]: right-associative, binds tighter than a unary minus
 * on its left (-x**2 is -(x**2)), as in Python. */
static expr_node *parse_power(parser *p) {
  expr_node *base = parse_primary(p);
  if (!base || !is_op(&p->tok, "**")) return base;
  int column = p->tok.column;
  if (++p->depth > EXPR_MAX_DEPTH) { /* a ** b ** c ... recurses once per operator */
    expr_fail(p->st, p->e, column, "nested more than %d levels deep", EXPR_MAX_DEPTH);
    free_node(base);
    return NULL;
  }
  if (next(p)) {
    free_node(base);
    return NULL;
  }
  expr_node *exponent = parse_unary(p);
  p->depth--;
  return binary(p, EXPR_POW, column, base, exponent);
}

static expr_node *parse_unary(parser *p) {
  if (!is_op(&p->tok, "-") && !is_op(&p->tok, "+")) return parse_power(p);
  int neg = is_op(&p->tok, "-"), column = p->tok.column;
  if (++p->depth > EXPR_MAX_DEPTH) {
    expr_fail(p->st, p->e, column, "nested more than %d levels deep", EXPR_MAX_DEPTH);
    return NULL;
  }
  if (next(p)) return NULL;
  expr_node *x = parse_unary(p);
  p->depth--;
  if (!x || !neg) return x;
  expr_node *n = new_node(p, EXPR_NEG, column);
  if (!n || add_arg(p, n, x)) {
    free_node(n);
    free_node(x);
    return NULL;
  }
  return n;
}

/* Binary operators by precedence: 1 comparisons, 2 + -, 3 * /. */
static int binary_op(const token *t, expr_op *op) {
  static const struct {
    const char *text;
    expr_op op;
    int prec;
  } ops[] = {{"<", EXPR_LT, 1},  {"<=", EXPR_LE, 1}, {">", EXPR_GT, 1},  {">=", EXPR_GE, 1},
             {"==", EXPR_EQ, 1}, {"!=", EXPR_NE, 1}, {"+", EXPR_ADD, 2}, {"-", EXPR_SUB, 2},
             {"*", EXPR_MUL, 3}, {"/", EXPR_DIV, 3}};
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    if (is_op(t, ops[i].text)) {
      *op = ops[i].op;
      return ops[i].prec;
    }
  return 0;
}

/* Precedence climbing: operands joined by operators of precedence >= min. */
static expr_node *parse_binary(parser *p, int min) {
  if (++p->depth > EXPR_MAX_DEPTH) {
    expr_fail(p->st, p->e, p->tok.column, "nested more than %d levels deep", EXPR_MAX_DEPTH);
    return NULL;
  }
  expr_node *lhs = parse_unary(p);
  expr_op op;
  int prec;
  while (lhs && (prec = binary_op(&p->tok, &op)) >= min && prec > 0) {
    int column = p->tok.column;
    if (next(p)) {
      free_node(lhs);
      return NULL;
    }
    expr_node *rhs = parse_binary(p, prec + 1);
    lhs = binary(p, op, column, lhs, rhs);
    if (lhs && prec == 1 && binary_op(&p->tok, &op) == 1) { /* Python would chain them */
      expr_fail(p->st, p->e, p->tok.column,
                "comparisons do not chain (a < b < c); combine two comparisons with *");
      free_node(lhs);
      return NULL;
    }
  }
  p->depth--;
  return lhs;
}

static expr_node *parse_expr(parser *p) {
  return parse_binary(p, 1);
}

static char *dup_str(const char *s, nnc_status *st) {
  size_t n = strlen(s);
  char *c = nnc_calloc(n + 1, 1, st);
  if (c) memcpy(c, s, n);
  return c;
}

int expr_parse(const char *text, const char *source, const char *path, nnc_expr **out,
               nnc_status *st) {
  *out = NULL;
  nnc_expr *e = nnc_calloc(1, sizeof *e, st);
  if (!e) return st->code;
  char where[NNC_PATH_MAX * 2 + 32];
  snprintf(where, sizeof where, "%s: %s: %s expression", source ? source : "<expression>",
           path ? path : "$", path && strstr(path, "metric") ? "metric" : "loss");
  e->text = dup_str(text ? text : "", st);
  e->where = dup_str(where, st);
  if (!e->text || !e->where) {
    expr_free(e);
    return st->code;
  }
  parser p = {e, e->text, e->text, {0}, 0, st};
  char buf[64];
  if (next(&p)) {
    expr_free(e);
    return st->code;
  }
  if (p.tok.kind == T_END) {
    expr_fail(st, e, 1, "the expression is empty");
    expr_free(e);
    return st->code;
  }
  e->root = parse_expr(&p);
  if (e->root && p.tok.kind != T_END)
    expr_fail(st, e, p.tok.column, "expected an operator or the end, got %s",
              tok_text(&p.tok, buf, sizeof buf));
  if (!e->root || p.tok.kind != T_END || expr_validate(st, e, e->root)) {
    expr_free(e);
    return st->code;
  }
  *out = e;
  return NNC_OK;
}

static int node_uses_sample_weight(const expr_node *n) {
  if (!n) return 0;
  if (n->kind == EXPR_VAR && n->var == EXPR_SAMPLE_WEIGHT) return 1;
  for (int i = 0; i < n->n_args; i++)
    if (node_uses_sample_weight(n->args[i])) return 1;
  for (int i = 0; i < n->n_kw; i++)
    if (node_uses_sample_weight(n->kw_values[i])) return 1;
  return 0;
}

int expr_uses_sample_weight(const nnc_expr *e) {
  return e && node_uses_sample_weight(e->root);
}

const char *expr_text(const nnc_expr *e) {
  return e ? e->text : "";
}

void expr_free(nnc_expr *e) {
  if (!e) return;
  free_node(e->root);
  free(e->text);
  free(e->where);
  free(e);
}
