/* The accuracy family (keras/src/metrics/accuracy_metrics.py): Mean
 * metrics of a per-sample 0/1 value. BinaryAccuracy: y_pred > threshold
 * equals y_true. Categorical: argmax equal. Sparse: the label equals the
 * argmax. TopK (k = 5): the true class is in the top k, with TensorFlow's
 * in_top_k rule for ties: fewer than k classes score strictly higher.
 * Accuracy (the class, not the string "accuracy"): y_true == y_pred. */
#include "compiler/metrics/metrics.h"

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                 nnc_spec_metric *out) {
  int rc, sorted = 0;
  switch (out->kind) {
  case NNC_METRIC_BINARY_ACCURACY:
    return spec_get_float32(ctx, cfg, cfg_path, "threshold", 0.5, &out->threshold);
  case NNC_METRIC_SPARSE_TOP_K_CATEGORICAL_ACCURACY:
    if ((rc = spec_get_bool(ctx, cfg, cfg_path, "from_sorted_ids", 0, &sorted))) return rc;
    if (sorted) {
      char path[NNC_PATH_MAX];
      spec_path_key(path, cfg_path, "from_sorted_ids");
      return spec_fail_unsupported(ctx, path, spec_child(cfg, "from_sorted_ids"),
                                   "from_sorted_ids=true (predictions as sorted class ids)");
    }
    /* fall through */
  case NNC_METRIC_TOP_K_CATEGORICAL_ACCURACY: {
    double k = 5;
    if ((rc = spec_get_number(ctx, cfg, cfg_path, "k", 5, &k))) return rc;
    if (k < 1 || k != (int)k) {
      char path[NNC_PATH_MAX];
      spec_path_key(path, cfg_path, "k");
      return spec_fail_expected(ctx, path, spec_child(cfg, "k"), "an integer k >= 1");
    }
    out->k = (int)k;
    return NNC_OK;
  }
  default:
    return NNC_OK;
  }
}

/* 1 where the true class (one-hot `hot`, shaped like yp) is among the top k. */
static int in_top_k(nnc_graph *g, int yp, int hot, int k, nnc_status *st) {
  int score = graph_reduce(g, NNC_RED_LAST, graph_binary(g, NNC_BIN_MUL, yp, hot, st), st);
  int higher = graph_reduce(g, NNC_RED_LAST, graph_binary(g, NNC_BIN_GT, yp, score, st), st);
  int miss = graph_binary(g, NNC_BIN_GT, higher, graph_const(g, k - 0.5, st), st);
  return graph_binary(g, NNC_BIN_SUB, graph_const(g, 1.0, st), miss, st);
}

static int lower(metric_ctx *c) {
  nnc_graph *g = c->g;
  nnc_status *st = c->st;
  int yp = c->yp, y = c->y, values = -1;
  int64_t classes = shape_last(&g->nodes[yp].shape);
  switch (c->kind) {
  case NNC_METRIC_BINARY_ACCURACY: {
    int pred = graph_binary(g, NNC_BIN_GT, yp, graph_const(g, c->m->threshold, st), st);
    values = graph_binary(g, NNC_BIN_EQ, pred, y, st);
    break;
  }
  case NNC_METRIC_CATEGORICAL_ACCURACY:
    values = graph_binary(g, NNC_BIN_EQ, graph_argmax(g, y, st), graph_argmax(g, yp, st), st);
    break;
  case NNC_METRIC_SPARSE_CATEGORICAL_ACCURACY:
    values = graph_binary(g, NNC_BIN_EQ, y, graph_argmax(g, yp, st), st);
    break;
  case NNC_METRIC_TOP_K_CATEGORICAL_ACCURACY:
    values = in_top_k(g, yp, graph_one_hot(g, graph_argmax(g, y, st), classes, st), c->m->k, st);
    break;
  case NNC_METRIC_SPARSE_TOP_K_CATEGORICAL_ACCURACY:
    values = in_top_k(g, yp, graph_one_hot(g, y, classes, st), c->m->k, st);
    break;
  case NNC_METRIC_ACCURACY_CLASS: /* accuracy_metrics.accuracy: elementwise equality */
    values = graph_binary(g, NNC_BIN_EQ, y, yp, st);
    break;
  default:
    return nnc_fail(st, NNC_ERR_INTERNAL, "accuracy: metric kind %d", (int)c->kind);
  }
  if (values < 0) return st->code;
  return metric_mean(c, values, 0);
}

const metric_family metric_family_accuracy = {parse, lower, 1};
