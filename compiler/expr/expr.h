/* compiler/expr — custom losses and metrics as expressions over y_true,
 * y_pred and sample_weight (docs/expressions.md), parsed with errors that
 * point at the column and lowered into ordinary graph ops, so autodiff
 * differentiates them like any built-in loss.
 *
 *   "mean(square(y_true - y_pred), axis=-1) + 0.01 * mean(abs(y_pred))"
 *
 * Grammar (Python's precedence, lowest first): comparisons (< <= > >= ==
 * !=, not chained), + -, * /, unary -, ** (right-associative), then
 * numbers, names, "strings", calls f(a, b, key=value) and parentheses. */
#ifndef NNC_EXPR_H
#define NNC_EXPR_H

#include "base/base.h"
#include "compiler/graph/graph.h"

typedef struct nnc_expr nnc_expr;

/* Parse text. source and path name the spec and the JSON path in messages
 * ("spec.json: $.compile_config.loss.expression: loss expression, column
 * 17: expected ')' after the arguments of mean("); a path that mentions
 * "metric" makes it a "metric expression". NNC_ERR_SPEC on bad text. */
int expr_parse(const char *text, const char *source, const char *path, nnc_expr **out,
               nnc_status *st);

/* Lower into g. y_true, y_pred: the target and prediction nodes (shaped
 * alike, [B, ...]); sample_weight: a node or -1 (then sample_weight is the
 * constant 1). Returns the value's node: per sample (batched, [B] or
 * [B, ...]) or not batched (a scalar [] or, after a reduction over the batch
 * axis, [d, ...]); callers reduce it (a loss: sum / element count, Keras's
 * sum_over_batch_size; a metric: the mean over samples of each sample's
 * mean, Keras's MeanMetricWrapper). -1 with st filled on a shape error (its
 * message names the column). */
int expr_lower(nnc_graph *g, const nnc_expr *e, int y_true, int y_pred, int sample_weight,
               nnc_status *st);

/* 1 if the expression reads sample_weight (then it weighs itself). */
int expr_uses_sample_weight(const nnc_expr *e);

/* The text as written (for dumps and messages). */
const char *expr_text(const nnc_expr *e);

void expr_free(nnc_expr *e); /* e may be NULL */

#endif
