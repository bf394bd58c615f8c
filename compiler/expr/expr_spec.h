/* The spec side of expressions: a loss or a metric written as
 * {"expression": "...", "name": "..."} in a compile config. */
#ifndef NNC_EXPR_SPEC_H
#define NNC_EXPR_SPEC_H

#include "compiler/expr/expr.h"
#include "compiler/spec/spec_internal.h"

/* 1 if item is an object with an "expression" key. */
int expr_spec_is(const cJSON *item);

/* Parse {"expression": text, "name": name} at path: the expression into
 * *out (heap, expr_free), the name (default_name when absent) into name
 * (NNC_NAME_MAX), the name's JSON path into name_path (NNC_PATH_MAX; may be
 * NULL). Other keys are errors. */
int expr_spec_parse(const spec_ctx *ctx, const cJSON *item, const char *path,
                    const char *default_name, nnc_expr **out, char *name, char *name_path);

/* NNC_OK when node id of g is one value per sample ([B] or [B, ...]), as a
 * metric needs; else NNC_ERR_SPEC naming the expression. */
int expr_require_per_sample(const nnc_expr *e, const nnc_graph *g, int id, nnc_status *st);

#endif
