/* Metrics: one file per family of Keras 3 metric classes, one row per class
 * in metrics.def. A family parses its classes' config keys (spec_metric.c
 * reads the name and refuses unknown keys first) and lowers a metric to
 * batch statistics (STAT effects) plus its log keys and their result rules
 * (nnc_log_result; runtime/metric_results.c computes them at the end of an
 * epoch from the statistics summed over its batches: docs/metrics.md). */
#ifndef NNC_COMPILER_METRICS_H
#define NNC_COMPILER_METRICS_H

#include "compiler/lower/lower.h"
#include "compiler/spec/spec_internal.h"
#include "base/base.h"

/* What a family lowers: metric m of one output. */
typedef struct metric_ctx {
  nnc_lowered *l;
  nnc_graph *g;
  const nnc_spec_metric *m;
  nnc_metric_kind kind; /* m->kind, or what "accuracy" resolved to */
  const char *key;      /* the log key */
  const char *source;   /* the spec's file, for messages */
  int yp, y;            /* the output's prediction and its target */
  int sw;               /* a weighted metric's sample weights ([B, 1] or [B, ...]), or -1 */
  int mask;             /* the output's Keras mask [B, T] (metric_mean weighs by it), or -1 */
  nnc_status *st;
} metric_ctx;

typedef struct metric_family {
  /* the class's own config keys into out (cfg may be NULL: all defaults) */
  int (*parse)(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_metric *out);
  int (*lower)(metric_ctx *c);
  int weighted; /* lower applies c->sw (else a weighted metric with weights is refused) */
} metric_family;

typedef struct metric_class {
  nnc_metric_kind kind;
  const metric_family *family;
  const char *class_name; /* NULL: a string only ("accuracy") */
  const char *default_name;
  const char *aliases; /* normalized, "," separated */
  const char *keys;    /* config keys, "," separated */
} metric_class;

const metric_class *metric_class_of(nnc_metric_kind kind);
const metric_class *metric_class_named(const char *class_name); /* exact class name */
const metric_class *metric_class_for_string(const char *name);  /* compile(metrics=["..."]) */
/* Every class name into buf, for messages: "BinaryAccuracy, ..." (cut to size). */
void metric_class_list(char *buf, size_t size);

/* Lowering helpers (metrics.c). A statistic of `value` (a scalar or an
 * unbatched vector: one statistic per element); returns the first index or
 * -1. */
int metric_stat(metric_ctx *c, int value, nnc_stat_kind kind);
/* Appends the log key `name` with its rule; fill the returned entry's stats
 * and args, then metric_key_done. NULL on failure. */
nnc_metric_info *metric_key(metric_ctx *c, const char *name, nnc_metric_result result);
void metric_key_done(metric_ctx *c);
/* n zeroed args for key k (owned by the program); NULL on failure. */
double *metric_key_args(metric_ctx *c, nnc_metric_info *k, int n);
/* A Mean of per-sample values (Keras's reduce_to_samplewise_values: the
 * mean over the non-batch axes, summed; count = samples): one key. sqrt:
 * RootMeanSquaredError's result. */
int metric_mean(metric_ctx *c, int values, int sqrt_result);
/* x [B, ...] times the sample weights (c->sw, not -1) broadcast as Keras
 * broadcasts them against values: the weights' per-sample elements align
 * with x's leading non-batch axes. Shape [B, W, inner(x) / W] (W the
 * weights' per-sample count); reduce it, do not read its layout. */
int metric_weigh(metric_ctx *c, int x);
/* [B, ..., C] -> [B, ..., 1]: column `index` of the last axis (class_id). */
int metric_column(metric_ctx *c, int x, int64_t index);

int metric_lower(metric_ctx *c); /* through the class's family */

/* Keras 3's `_direction` of the class (keras/src/metrics/): what
 * mode="auto" callbacks follow; metric_key records it on each key. */
nnc_log_direction metric_direction(nnc_metric_kind kind);

#define METRIC(ID, family, ...) extern const metric_family metric_family_##family;
#include "compiler/metrics/metrics.def"
#undef METRIC

#endif
