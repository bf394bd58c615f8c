/* The IoU family (keras/src/metrics/iou_metrics.py): IoU, MeanIoU,
 * OneHotIoU, OneHotMeanIoU, BinaryIoU. Each element's true and predicted
 * class (a class id; the argmax of the last axis when not sparse;
 * BinaryIoU: y_pred >= threshold) adds one to a num_classes x num_classes
 * confusion matrix (rows true, columns predicted) — its sample weight when
 * weighted, truncated to an integer unless the metric's dtype is a float
 * (Keras's default dtype is "int") — summed over the epoch.
 * The result (runtime/metric_results.c) is the mean over the target classes
 * of tp / (row + column - tp + 1e-7) over the classes whose denominator
 * is > 1e-9, divided by their number (+ 1e-7). Class ids outside [0, num_classes)
 * count nowhere; an ignore_class element counts nowhere either. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "compiler/metrics/metrics.h"

static int has_targets(nnc_metric_kind k) {
  return k == NNC_METRIC_IOU || k == NNC_METRIC_ONE_HOT_IOU || k == NNC_METRIC_BINARY_IOU;
}

static int parse_targets(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                         nnc_spec_metric *out) {
  char path[NNC_PATH_MAX], elem_path[NNC_PATH_MAX];
  const cJSON *item = spec_child(cfg, "target_class_ids"), *elem;
  spec_path_key(path, cfg_path, "target_class_ids");
  if (out->kind == NNC_METRIC_BINARY_IOU && spec_is_absent(item)) return NNC_OK; /* (0, 1) */
  if (!cJSON_IsArray(item) || cJSON_GetArraySize(item) == 0)
    return spec_fail_expected(ctx, path, item, "a non-empty list of class ids (required)");
  int n = cJSON_GetArraySize(item), i = 0;
  out->target_classes = nnc_calloc((size_t)n, sizeof *out->target_classes, ctx->st);
  if (!out->target_classes) return ctx->st->code;
  cJSON_ArrayForEach(elem, item) {
    spec_path_index(elem_path, path, i);
    if (!cJSON_IsNumber(elem) || elem->valuedouble < 0 || elem->valuedouble >= out->num_classes ||
        elem->valuedouble != (int)elem->valuedouble) {
      char what[96];
      snprintf(what, sizeof what, "a class id in [0, %d) (num_classes)", out->num_classes);
      return spec_fail_expected(ctx, elem_path, elem, "%s", what);
    }
    out->target_classes[i++] = (int)elem->valuedouble;
    out->n_target_classes = i;
  }
  return NNC_OK;
}

/* The metric's dtype (Keras: "int" unless given; a DTypePolicy config's
 * name counts too): with an integer dtype Keras casts the sample weights
 * to it, truncating them. */
static int parse_dtype(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                       nnc_spec_metric *out) {
  char path[NNC_PATH_MAX];
  const cJSON *item = spec_child(cfg, "dtype"), *name = item;
  spec_path_key(path, cfg_path, "dtype");
  if (spec_is_absent(item)) return NNC_OK;
  if (cJSON_IsObject(item)) name = spec_child(spec_child(item, "config"), "name");
  const char *v = cJSON_IsString(name) ? name->valuestring : "";
  static const char *const floats[] = {"float16",  "float32",       "float64",
                                       "bfloat16", "mixed_float16", "mixed_bfloat16"};
  static const char *const ints[] = {"int", "int8", "int16", "int32", "int64"};
  for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++)
    if (strcmp(v, floats[i]) == 0) return out->float_dtype = 1, NNC_OK;
  for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
    if (strcmp(v, ints[i]) == 0) return NNC_OK;
  return spec_fail_expected(ctx, path, item,
                            "null, an integer dtype (\"int32\", ...) or a float dtype "
                            "(\"float32\", ...)");
}

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                 nnc_spec_metric *out) {
  char path[NNC_PATH_MAX];
  int rc = parse_dtype(ctx, cfg, cfg_path, out);
  if (rc) return rc;
  int onehot = out->kind == NNC_METRIC_ONE_HOT_IOU || out->kind == NNC_METRIC_ONE_HOT_MEAN_IOU;
  if (out->kind == NNC_METRIC_BINARY_IOU) {
    out->num_classes = 2;
    out->sparse_y_true = out->sparse_y_pred = 1;
    if ((rc = spec_get_float32(ctx, cfg, cfg_path, "threshold", 0.5, &out->threshold))) return rc;
    return parse_targets(ctx, cfg, cfg_path, out);
  }
  const cJSON *n = spec_child(cfg, "num_classes");
  spec_path_key(path, cfg_path, "num_classes");
  if (!cJSON_IsNumber(n) || n->valuedouble < 1 || n->valuedouble > 4096 ||
      n->valuedouble != (int)n->valuedouble)
    return spec_fail_expected(ctx, path, n, "a number of classes in [1, 4096] (required)");
  out->num_classes = (int)n->valuedouble;
  if ((rc = spec_get_bool(ctx, cfg, cfg_path, "sparse_y_true", !onehot, &out->sparse_y_true)) ||
      (rc = spec_get_bool(ctx, cfg, cfg_path, "sparse_y_pred", !onehot, &out->sparse_y_pred)))
    return rc;
  const cJSON *axis = spec_child(cfg, "axis");
  if (!spec_is_absent(axis) && !(cJSON_IsNumber(axis) && axis->valuedouble == -1)) {
    spec_path_key(path, cfg_path, "axis");
    return spec_fail_unsupported(ctx, path, axis, "an axis other than -1");
  }
  const cJSON *ignore = spec_child(cfg, "ignore_class");
  if (!spec_is_absent(ignore)) {
    spec_path_key(path, cfg_path, "ignore_class");
    /* range first: converting 1e30 to int would be undefined */
    if (!cJSON_IsNumber(ignore) || !(fabs(ignore->valuedouble) <= 16777216) ||
        ignore->valuedouble != floor(ignore->valuedouble))
      return spec_fail_expected(ctx, path, ignore,
                                "an integer class id (at most 2^24 in magnitude) or null");
    out->ignore_class = (int)ignore->valuedouble;
  }
  return has_targets(out->kind) ? parse_targets(ctx, cfg, cfg_path, out) : NNC_OK;
}

/* [B, inner, 1] class ids of x: its argmax, or x itself as an integer (the
 * ids Keras casts to int: floor for the non-negative ids). */
static int class_ids(nnc_graph *g, int x, int sparse, nnc_status *st) {
  int ids =
      sparse ? graph_unary(g, NNC_FN_NEG,
                           graph_unary(g, NNC_FN_CEIL, graph_unary(g, NNC_FN_NEG, x, st), st), st)
             : graph_argmax(g, x, st);
  if (ids < 0) return -1;
  int64_t d[3] = {-1, shape_inner(&g->nodes[ids].shape), 1};
  return graph_reshape(g, ids, shape_make(1, 3, d), st);
}

/* [B, inner, 1] sample weight of each element of ids [B, inner, 1]:
 * truncated toward zero with an integer dtype (Keras casts them). */
static int element_weights(metric_ctx *c, int ids) {
  nnc_graph *g = c->g;
  nnc_status *st = c->st;
  int in[2] = {graph_const(g, 1.0, st), ids};
  int weighted = metric_weigh(c, graph_add(g, NNC_OP_BROADCAST, 0, in, 2, st));
  if (weighted < 0) return -1;
  int64_t d[3] = {-1, shape_inner(&g->nodes[ids].shape), 1};
  int w = graph_reshape(g, weighted, shape_make(1, 3, d), st);
  if (c->m->float_dtype) return w;
  int whole = graph_unary(g, NNC_FN_FLOOR, graph_unary(g, NNC_FN_ABS, w, st), st);
  return graph_binary(g, NNC_BIN_MUL, graph_unary(g, NNC_FN_SIGN, w, st), whole, st);
}

static int lower(metric_ctx *c) {
  nnc_graph *g = c->g;
  nnc_status *st = c->st;
  const nnc_spec_metric *m = c->m;
  int64_t C = m->num_classes;
  int t = class_ids(g, c->y, m->sparse_y_true, st);
  int p = c->kind == NNC_METRIC_BINARY_IOU
              ? class_ids(g,
                          graph_binary(g, NNC_BIN_SUB, graph_const(g, 1.0, st),
                                       graph_binary(g, NNC_BIN_GT, graph_const(g, m->threshold, st),
                                                    c->yp, st),
                                       st),
                          1, st)
              : class_ids(g, c->yp, m->sparse_y_pred, st);
  if (t < 0 || p < 0) return st->code;
  if (shape_inner(&g->nodes[t].shape) != shape_inner(&g->nodes[p].shape))
    return nnc_fail(st, NNC_ERR_SPEC,
                    "%s: %s: %s compares one true and one predicted class per element, but the "
                    "targets give %lld and the predictions %lld per sample (sparse_y_true, "
                    "sparse_y_pred)",
                    c->source, m->path, metric_class_of(c->kind)->class_name,
                    (long long)shape_inner(&g->nodes[t].shape),
                    (long long)shape_inner(&g->nodes[p].shape));
  int t_hot = graph_one_hot(g, t, C, st), p_hot = graph_one_hot(g, p, C, st);
  if (m->ignore_class >= 0) /* Keras zeroes the element's weight */
    t_hot =
        graph_binary(g, NNC_BIN_MUL, t_hot,
                     graph_binary(g, NNC_BIN_NE, t, graph_const(g, m->ignore_class, st), st), st);
  if (c->sw >= 0) { /* each element adds its weight (confusion_matrix weights) */
    int w = element_weights(c, t);
    if (w < 0) return st->code;
    t_hot = graph_binary(g, NNC_BIN_MUL, t_hot, w, st);
  }
  /* per sample sum over its elements of t_hot^T p_hot: [B, C, C] */
  int cm = graph_batch_matmul_t(g, t_hot, p_hot, 1, 0, st);
  int64_t d[2] = {-1, C * C};
  int total = graph_reduce(g, NNC_RED_LEADING, graph_reshape(g, cm, shape_make(1, 2, d), st), st);
  int first = metric_stat(c, total, NNC_STAT_COUNT_SUM);
  if (first < 0) return st->code;
  nnc_metric_info *k = metric_key(c, c->key, NNC_RESULT_IOU);
  int binary_default = c->kind == NNC_METRIC_BINARY_IOU && !m->n_target_classes;
  int n_targets = has_targets(c->kind) ? (binary_default ? 2 : m->n_target_classes) : (int)C;
  double *args = k ? metric_key_args(c, k, 1 + n_targets) : NULL;
  if (!args) return st->code;
  k->first_stat = k->stat[0] = first;
  k->n_stats = (int)(C * C);
  args[0] = (double)C;
  for (int i = 0; i < n_targets; i++)
    args[1 + i] = has_targets(c->kind) && !binary_default ? m->target_classes[i] : i;
  metric_key_done(c);
  return NNC_OK;
}

const metric_family metric_family_iou = {parse, lower, 1};
