/* A compile config: optimizer (spec_optimizer.c), loss, loss_weights and
 * metrics, as Keras 3 compile_config, h5 training_config or tfjs
 * trainingConfig write them. nnc models have one output, so per-output lists
 * and dicts are accepted when they hold exactly one entry. */
#include <string.h>

#include "compiler/spec/spec_internal.h"
#include "base/base.h"

/* ---- per-output containers ---- */

static int is_dict(const cJSON *item) {
  return cJSON_IsObject(item) && !spec_child(item, "class_name");
}

/* One-entry dict keyed by the output layer's name -> its value. */
static int unwrap_dict(const spec_ctx *ctx, const cJSON *item, const char *path, const char *what,
                       const char *output_name, const cJSON **elem_out, char *elem_path) {
  int count = cJSON_GetArraySize(item);
  if (count == 0) return spec_fail_expected(ctx, path, item, "%s", what);
  if (count > 1)
    return spec_fail(ctx, path,
                     "not supported yet: %d outputs in a per-output dict, nnc models "
                     "have one output",
                     count);
  const cJSON *entry = item->child;
  spec_path_key(elem_path, path, entry->string ? entry->string : "?");
  if (output_name && (!entry->string || strcmp(entry->string, output_name) != 0))
    return spec_fail(ctx, elem_path, "expected the model's output layer name \"%s\" as the key",
                     output_name);
  *elem_out = entry;
  return NNC_OK;
}

/* One-element list -> its element. */
static int unwrap_list(const spec_ctx *ctx, const cJSON *item, const char *path, const char *what,
                       const cJSON **elem_out, char *elem_path) {
  int count = cJSON_GetArraySize(item);
  if (count == 0) return spec_fail_expected(ctx, path, item, "%s", what);
  if (count > 1)
    return spec_fail(ctx, path,
                     "not supported yet: a list of %d per-output entries, nnc models "
                     "have one output",
                     count);
  spec_path_index(elem_path, path, 0);
  *elem_out = item->child;
  return NNC_OK;
}

/* ---- loss ---- */

static const struct {
  const char *name; /* normalized */
  nnc_loss_kind kind;
} loss_names[] = {
    {"mse", NNC_LOSS_MSE},
    {"meansquarederror", NNC_LOSS_MSE},
    {"mae", NNC_LOSS_MAE},
    {"meanabsoluteerror", NNC_LOSS_MAE},
    {"bce", NNC_LOSS_BCE},
    {"binarycrossentropy", NNC_LOSS_BCE},
    {"categoricalcrossentropy", NNC_LOSS_CCE},
    {"sparsecategoricalcrossentropy", NNC_LOSS_SCCE},
};
#define LOSS_LIST                                                                                  \
  "mse, mae, binary_crossentropy, categorical_crossentropy, "                                      \
  "sparse_categorical_crossentropy or their classes MeanSquaredError, MeanAbsoluteError, "         \
  "BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy"

static int lookup_loss(const char *name, nnc_loss_kind *out) {
  char norm[40];
  if (!spec_normalize(name, norm, sizeof norm)) return 0;
  for (size_t i = 0; i < sizeof loss_names / sizeof loss_names[0]; i++)
    if (strcmp(norm, loss_names[i].name) == 0) {
      *out = loss_names[i].kind;
      return 1;
    }
  return 0;
}

/* Loss-object config keys whose non-default values nnc cannot honour. */
static int check_loss_config(const spec_ctx *ctx, const cJSON *cfg, const char *path) {
  char item_path[NNC_PATH_MAX];
  const cJSON *item = spec_child(cfg, "label_smoothing");
  if (!spec_is_absent(item) && !(cJSON_IsNumber(item) && item->valuedouble == 0)) {
    spec_path_key(item_path, path, "label_smoothing");
    return spec_fail_unsupported(ctx, item_path, item, "label smoothing");
  }
  item = spec_child(cfg, "axis");
  if (!spec_is_absent(item) && !(cJSON_IsNumber(item) && item->valuedouble == -1)) {
    spec_path_key(item_path, path, "axis");
    return spec_fail_unsupported(ctx, item_path, item, "a loss axis other than -1");
  }
  item = spec_child(cfg, "reduction");
  if (!spec_is_absent(item) &&
      !(cJSON_IsString(item) &&
        (strcmp(item->valuestring, "sum_over_batch_size") == 0 ||
         strcmp(item->valuestring, "auto") == 0 || strcmp(item->valuestring, "mean") == 0))) {
    spec_path_key(item_path, path, "reduction");
    return spec_fail_unsupported(ctx, item_path, item,
                                 "a loss reduction other than "
                                 "sum_over_batch_size");
  }
  return spec_require_null(ctx, cfg, path, "ignore_class", "ignore_class");
}

static int parse_loss(const spec_ctx *ctx, const cJSON *item, const char *path,
                      nnc_spec_loss *out) {
  memset(out, 0, sizeof *out);
  if (cJSON_IsString(item)) {
    if (lookup_loss(item->valuestring, &out->kind)) return NNC_OK;
    return spec_fail_expected(ctx, path, item, "a loss (" LOSS_LIST ")");
  }
  if (!cJSON_IsObject(item))
    return spec_fail_expected(ctx, path, item,
                              "a loss name or {\"class_name\": ..., \"config\": {...}}");
  char cls_path[NNC_PATH_MAX], cfg_path[NNC_PATH_MAX];
  spec_path_key(cls_path, path, "class_name");
  spec_path_key(cfg_path, path, "config");
  const char *cls = spec_class_name(item);
  const cJSON *cfg = spec_child(item, "config");
  if (cls && strcmp(cls, "function") == 0) { /* Keras 3 serialized loss function */
    if (cJSON_IsString(cfg) && lookup_loss(cfg->valuestring, &out->kind)) return NNC_OK;
    return spec_fail_expected(ctx, cfg_path, cfg, "a loss function name (" LOSS_LIST ")");
  }
  if (!cls || !lookup_loss(cls, &out->kind))
    return spec_fail_expected(ctx, cls_path, spec_child(item, "class_name"),
                              "a loss class (" LOSS_LIST ")");
  if (!spec_is_absent(cfg) && !cJSON_IsObject(cfg))
    return spec_fail_expected(ctx, cfg_path, cfg, "an object");
  if (!cJSON_IsObject(cfg)) cfg = NULL;
  int rc = spec_get_bool(ctx, cfg, cfg_path, "from_logits", 0, &out->from_logits);
  if (rc) return rc;
  if (out->from_logits && (out->kind == NNC_LOSS_MSE || out->kind == NNC_LOSS_MAE))
    out->from_logits = 0; /* meaningless there; Keras has no such key */
  return check_loss_config(ctx, cfg, cfg_path);
}

static int parse_loss_entry(const spec_ctx *ctx, const cJSON *item, const char *path,
                            const char *output_name, nnc_spec_loss *out) {
  const cJSON *elem = item;
  char elem_path[NNC_PATH_MAX];
  nnc_strlcpy(elem_path, path, sizeof elem_path);
  int rc = NNC_OK;
  if (cJSON_IsArray(item))
    rc = unwrap_list(ctx, item, path, "a loss", &elem, elem_path);
  else if (is_dict(item))
    rc = unwrap_dict(ctx, item, path, "a loss", output_name, &elem, elem_path);
  if (rc) return rc;
  if (spec_is_absent(elem))
    return spec_fail_expected(ctx, elem_path, elem, "a loss (" LOSS_LIST ")");
  return parse_loss(ctx, elem, elem_path, out);
}

static int parse_loss_weights(const spec_ctx *ctx, const cJSON *item, const char *path,
                              const char *output_name, double *out) {
  *out = 1.0;
  if (spec_is_absent(item)) return NNC_OK;
  const cJSON *elem = item;
  char elem_path[NNC_PATH_MAX];
  nnc_strlcpy(elem_path, path, sizeof elem_path);
  int rc = NNC_OK;
  if (cJSON_IsArray(item))
    rc = unwrap_list(ctx, item, path, "a loss weight", &elem, elem_path);
  else if (cJSON_IsObject(item))
    rc = unwrap_dict(ctx, item, path, "a loss weight", output_name, &elem, elem_path);
  if (rc) return rc;
  if (cJSON_IsNull(elem)) return NNC_OK;
  return spec_float32_value(ctx, elem, elem_path, out);
}

/* ---- metrics ---- */

/* Strings as compile(metrics=[...]) accepts them (normalized). */
static const struct {
  const char *name;
  nnc_metric_kind kind;
} metric_strings[] = {
    {"accuracy", NNC_METRIC_ACCURACY},
    {"acc", NNC_METRIC_ACCURACY},
    {"binaryaccuracy", NNC_METRIC_BINARY_ACCURACY},
    {"categoricalaccuracy", NNC_METRIC_CATEGORICAL_ACCURACY},
    {"sparsecategoricalaccuracy", NNC_METRIC_SPARSE_CATEGORICAL_ACCURACY},
    {"mae", NNC_METRIC_MAE},
    {"meanabsoluteerror", NNC_METRIC_MAE},
    {"mse", NNC_METRIC_MSE},
    {"meansquarederror", NNC_METRIC_MSE},
    {"precision", NNC_METRIC_PRECISION},
    {"recall", NNC_METRIC_RECALL},
};
#define METRIC_STRING_LIST                                                                         \
  "accuracy, acc, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy, "            \
  "mae, mse, mean_absolute_error, mean_squared_error, precision, recall"

/* Metric classes with Keras's default instance name. Not "Accuracy": that
 * class is exact equality, unlike the "accuracy" string. */
static const struct {
  const char *class_name;
  nnc_metric_kind kind;
  const char *default_name;
} metric_classes[] = {
    {"BinaryAccuracy", NNC_METRIC_BINARY_ACCURACY, "binary_accuracy"},
    {"CategoricalAccuracy", NNC_METRIC_CATEGORICAL_ACCURACY, "categorical_accuracy"},
    {"SparseCategoricalAccuracy", NNC_METRIC_SPARSE_CATEGORICAL_ACCURACY,
     "sparse_categorical_accuracy"},
    {"MeanAbsoluteError", NNC_METRIC_MAE, "mean_absolute_error"},
    {"MeanSquaredError", NNC_METRIC_MSE, "mean_squared_error"},
    {"Precision", NNC_METRIC_PRECISION, "precision"},
    {"Recall", NNC_METRIC_RECALL, "recall"},
};
#define METRIC_CLASS_LIST                                                                          \
  "BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy, MeanAbsoluteError, "            \
  "MeanSquaredError, Precision, Recall"

static int lookup_metric_string(const char *name, nnc_metric_kind *out) {
  char norm[40];
  if (!spec_normalize(name, norm, sizeof norm)) return 0;
  for (size_t i = 0; i < sizeof metric_strings / sizeof metric_strings[0]; i++)
    if (strcmp(norm, metric_strings[i].name) == 0) {
      *out = metric_strings[i].kind;
      return 1;
    }
  return 0;
}

/* A metric named by a string keeps that string as its History key. */
static int metric_from_string(const spec_ctx *ctx, const cJSON *str, const char *path,
                              nnc_spec_metric *out) {
  if (!cJSON_IsString(str) || !lookup_metric_string(str->valuestring, &out->kind))
    return spec_fail_expected(ctx, path, str, "a metric (" METRIC_STRING_LIST ")");
  return spec_copy_name(ctx, str, path, out->name);
}

/* Precision/Recall "thresholds": null, a number or a one-element list. */
static int parse_thresholds(const spec_ctx *ctx, const cJSON *cfg, const char *path, double *out) {
  const cJSON *item = spec_child(cfg, "thresholds");
  if (spec_is_absent(item)) return NNC_OK;
  char item_path[NNC_PATH_MAX];
  spec_path_key(item_path, path, "thresholds");
  if (cJSON_IsArray(item)) {
    if (cJSON_GetArraySize(item) != 1)
      return spec_fail_unsupported(ctx, item_path, item, "a list of several thresholds");
    item = item->child;
    spec_path_index(item_path, item_path, 0);
  }
  if (!cJSON_IsNumber(item) || !(item->valuedouble >= 0 && item->valuedouble <= 1))
    return spec_fail_expected(ctx, item_path, item, "a threshold in [0, 1]");
  *out = item->valuedouble;
  return NNC_OK;
}

static int metric_from_class(const spec_ctx *ctx, const cJSON *item, const char *path,
                             nnc_spec_metric *out) {
  char cls_path[NNC_PATH_MAX], cfg_path[NNC_PATH_MAX], name_path[NNC_PATH_MAX];
  spec_path_key(cls_path, path, "class_name");
  spec_path_key(cfg_path, path, "config");
  spec_path_key(name_path, cfg_path, "name");
  const char *cls = spec_class_name(item);
  const cJSON *cfg = spec_child(item, "config");
  if (cls && strcmp(cls, "function") == 0) /* Keras 3 serialized metric function */
    return metric_from_string(ctx, cfg, cfg_path, out);
  if (!spec_is_absent(cfg) && !cJSON_IsObject(cfg))
    return spec_fail_expected(ctx, cfg_path, cfg, "an object");
  if (!cJSON_IsObject(cfg)) cfg = NULL;
  const cJSON *name = spec_child(cfg, "name");
  if (cls && strcmp(cls, "MeanMetricWrapper") == 0) { /* tf.keras 2 h5: {name, fn} */
    char fn_path[NNC_PATH_MAX];
    spec_path_key(fn_path, cfg_path, "fn");
    const cJSON *fn = spec_child(cfg, "fn");
    if (!cJSON_IsString(fn) || !lookup_metric_string(fn->valuestring, &out->kind))
      return spec_fail_expected(ctx, fn_path, fn, "a metric function (" METRIC_STRING_LIST ")");
    return spec_copy_name(ctx, spec_is_absent(name) ? fn : name,
                          spec_is_absent(name) ? fn_path : name_path, out->name);
  }
  size_t k = 0, n_classes = sizeof metric_classes / sizeof metric_classes[0];
  while (cls && k < n_classes && strcmp(cls, metric_classes[k].class_name) != 0) k++;
  if (!cls || k == n_classes)
    return spec_fail_expected(ctx, cls_path, spec_child(item, "class_name"),
                              "a metric class (" METRIC_CLASS_LIST ")");
  out->kind = metric_classes[k].kind;
  int rc;
  if (spec_is_absent(name))
    nnc_strlcpy(out->name, metric_classes[k].default_name, sizeof out->name);
  else if ((rc = spec_copy_name(ctx, name, name_path, out->name)))
    return rc;
  switch (out->kind) {
  case NNC_METRIC_BINARY_ACCURACY:
    return spec_get_float32(ctx, cfg, cfg_path, "threshold", 0.5, &out->threshold);
  case NNC_METRIC_PRECISION:
  case NNC_METRIC_RECALL:
    if ((rc = parse_thresholds(ctx, cfg, cfg_path, &out->threshold)) ||
        (rc = spec_require_null(ctx, cfg, cfg_path, "top_k", "top_k")))
      return rc;
    return spec_require_null(ctx, cfg, cfg_path, "class_id", "class_id");
  default:
    return NNC_OK;
  }
}

/* A metric's name is its History and logs key, next to "loss" and the "val_"
 * copies of every key: a name that equals one of those would overwrite it. */
_Static_assert(NNC_LOG_NAME >= NNC_NAME_MAX + 4, "\"val_\" + any metric name fits a log name");

static int check_metric_name(const spec_ctx *ctx, const cJSON *item, const char *path,
                             const nnc_spec_compile *out, const char *name) {
  /* the path of the name itself when it was written out */
  char name_path[NNC_PATH_MAX];
  nnc_strlcpy(name_path, path, sizeof name_path);
  if (cJSON_IsObject(item)) {
    const cJSON *cfg = spec_child(item, "config");
    spec_path_key(name_path, path, "config");
    if (cJSON_IsObject(cfg) && !spec_is_absent(spec_child(cfg, "name")))
      spec_path_key(name_path, name_path, "name");
  }
  if (strcmp(name, "loss") == 0 || strncmp(name, "val_", 4) == 0)
    return spec_fail(ctx, name_path,
                     "expected a metric name other than \"loss\" and not starting with \"val_\" "
                     "(the History keys of the loss and of validation), got \"%s\"",
                     name);
  for (int i = 0; i < out->n_metrics; i++)
    if (strcmp(out->metrics[i].name, name) == 0)
      return spec_fail(ctx, name_path, "expected unique metric names, got \"%s\" twice", name);
  return NNC_OK;
}

static int add_metric(const spec_ctx *ctx, const cJSON *item, const char *path,
                      nnc_spec_compile *out) {
  if (out->n_metrics == NNC_MAX_METRICS)
    return spec_fail_unsupported(ctx, path, item, "more than 16 metrics");
  nnc_spec_metric *m = &out->metrics[out->n_metrics];
  memset(m, 0, sizeof *m);
  m->threshold = 0.5;
  int rc;
  if (cJSON_IsString(item))
    rc = metric_from_string(ctx, item, path, m);
  else if (cJSON_IsObject(item))
    rc = metric_from_class(ctx, item, path, m);
  else
    rc = spec_fail_expected(ctx, path, item,
                            "a metric name or {\"class_name\": ..., \"config\": {...}}");
  if (rc) return rc;
  if ((rc = check_metric_name(ctx, item, path, out, m->name))) return rc;
  out->n_metrics++;
  return NNC_OK;
}

/* null, one metric, a list of metrics, [[...]] or {"output": [...]} for one output. */
static int parse_metrics(const spec_ctx *ctx, const cJSON *item, const char *path,
                         const char *output_name, nnc_spec_compile *out) {
  char elem_path[NNC_PATH_MAX];
  int rc;
  if (is_dict(item)) {
    if (cJSON_GetArraySize(item) == 0) return NNC_OK;
    if ((rc = unwrap_dict(ctx, item, path, "metrics", output_name, &item, elem_path))) return rc;
    if (is_dict(item)) return spec_fail_expected(ctx, elem_path, item, "a list of metrics");
    return parse_metrics(ctx, item, elem_path, NULL, out);
  }
  if (spec_is_absent(item)) return NNC_OK;
  if (!cJSON_IsArray(item)) return add_metric(ctx, item, path, out);
  const cJSON *elem;
  int per_output = 0, i = 0;
  cJSON_ArrayForEach(elem, item) per_output |= cJSON_IsArray(elem) || is_dict(elem);
  if (per_output) { /* [["mae"]]: one list per output */
    if ((rc = unwrap_list(ctx, item, path, "metrics", &item, elem_path))) return rc;
    if (cJSON_IsArray(item) || spec_is_absent(item)) {
      cJSON_ArrayForEach(elem, item) {
        char metric_path[NNC_PATH_MAX];
        spec_path_index(metric_path, elem_path, i++);
        if ((rc = add_metric(ctx, elem, metric_path, out))) return rc;
      }
      return NNC_OK;
    }
    return spec_fail_expected(ctx, elem_path, item, "a list of metrics");
  }
  cJSON_ArrayForEach(elem, item) {
    spec_path_index(elem_path, path, i++);
    if ((rc = add_metric(ctx, elem, elem_path, out))) return rc;
  }
  return NNC_OK;
}

int spec_parse_compile(const spec_ctx *ctx, const cJSON *cc, const char *path,
                       const char *output_name, nnc_spec_compile *out) {
  memset(out, 0, sizeof *out);
  if (!cJSON_IsObject(cc)) return spec_fail_expected(ctx, path, cc, "a compile config object");
  char item_path[NNC_PATH_MAX];
  int rc;

  /* Keras writes "optimizer"; h5 training_config and tfjs write "optimizer_config". */
  const char *opt_key = spec_child(cc, "optimizer") ? "optimizer" : "optimizer_config";
  spec_path_key(item_path, path, opt_key);
  if ((rc = spec_parse_optimizer(ctx, spec_child(cc, opt_key), item_path, &out->optimizer)))
    return rc;

  spec_path_key(item_path, path, "loss");
  if ((rc = parse_loss_entry(ctx, spec_child(cc, "loss"), item_path, output_name, &out->loss)))
    return rc;

  spec_path_key(item_path, path, "loss_weights");
  if ((rc = parse_loss_weights(ctx, spec_child(cc, "loss_weights"), item_path, output_name,
                               &out->loss_weight)))
    return rc;

  spec_path_key(item_path, path, "metrics");
  if ((rc = parse_metrics(ctx, spec_child(cc, "metrics"), item_path, output_name, out))) return rc;

  /* Weighted metrics need sample weights in their names and sums: not yet. */
  const cJSON *weighted = spec_child(cc, "weighted_metrics");
  int no_weighted =
      spec_is_absent(weighted) ||
      ((cJSON_IsArray(weighted) || cJSON_IsObject(weighted)) && cJSON_GetArraySize(weighted) == 0);
  if (!no_weighted) {
    spec_path_key(item_path, path, "weighted_metrics");
    return spec_fail_unsupported(ctx, item_path, weighted, "weighted_metrics");
  }
  out->present = 1;
  return NNC_OK;
}
