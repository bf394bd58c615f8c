/* A compile config: optimizer (spec_optimizer.c), loss, loss_weights and
 * metrics, as Keras 3 compile_config, h5 training_config or tfjs
 * trainingConfig write them. Per-output lists and dicts are kept as written
 * (form, entries, dict keys, JSON paths): lowering matches them to the
 * model's outputs (compiler/lower/lower_outputs.c), as Keras's CompileLoss
 * and CompileMetrics do when they are built. */
#include <stdlib.h>
#include <string.h>

#include "compiler/spec/spec_internal.h"
#include "base/base.h"
#include "compiler/expr/expr_spec.h"

/* ---- per-output containers ---- */

static int is_dict(const cJSON *item) {
  return cJSON_IsObject(item) && !spec_child(item, "class_name") && !expr_spec_is(item);
}

static int key_fits(const spec_ctx *ctx, const cJSON *entry, const char *path) {
  if (entry->string && strlen(entry->string) < NNC_NAME_MAX) return NNC_OK;
  return spec_fail(ctx, path, "expected an output name of at most %d bytes as the key",
                   NNC_NAME_MAX - 1);
}

/* Room for one more loss or weight entry. */
static nnc_spec_loss_entry *add_entry(const spec_ctx *ctx, nnc_spec_loss_entry **list, int *n,
                                      const char *path) {
  nnc_spec_loss_entry *grown = nnc_realloc_array(*list, (size_t)*n + 1, sizeof *grown, ctx->st);
  if (!grown) return NULL;
  *list = grown;
  nnc_spec_loss_entry *e = &grown[(*n)++];
  memset(e, 0, sizeof *e);
  nnc_strlcpy(e->path, path, sizeof e->path);
  return e;
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
  if (expr_spec_is(item)) /* compiler/expr */
    return expr_spec_parse(ctx, item, path, "custom_loss", &out->expr, out->name, NULL);
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

/* One loss or null (no loss for that output) at a list position or dict key. */
static int add_loss(const spec_ctx *ctx, const cJSON *item, const char *path, const char *key,
                    nnc_spec_compile *out) {
  nnc_spec_loss_entry *e = add_entry(ctx, &out->losses, &out->n_losses, path);
  if (!e) return ctx->st->code;
  if (key) nnc_strlcpy(e->key, key, sizeof e->key);
  if (cJSON_IsNull(item)) return NNC_OK;
  e->has_loss = 1;
  return parse_loss(ctx, item, path, &e->loss);
}

/* One loss for every output, a list (one per output) or a dict by output
 * name; null entries leave an output untrained. */
static int parse_losses(const spec_ctx *ctx, const cJSON *item, const char *path,
                        nnc_spec_compile *out) {
  char elem_path[NNC_PATH_MAX];
  const cJSON *elem;
  int rc, i = 0;
  if (spec_is_absent(item) ||
      ((cJSON_IsArray(item) || is_dict(item)) && cJSON_GetArraySize(item) == 0))
    return spec_fail_expected(ctx, path, item, "a loss (" LOSS_LIST ")");
  if (cJSON_IsArray(item)) {
    out->loss_form = NNC_FORM_LIST;
    cJSON_ArrayForEach(elem, item) {
      spec_path_index(elem_path, path, i++);
      if ((rc = add_loss(ctx, elem, elem_path, NULL, out))) return rc;
    }
  } else if (is_dict(item)) {
    out->loss_form = NNC_FORM_DICT;
    cJSON_ArrayForEach(elem, item) {
      spec_path_key(elem_path, path, elem->string ? elem->string : "?");
      if ((rc = key_fits(ctx, elem, elem_path)) ||
          (rc = add_loss(ctx, elem, elem_path, elem->string, out)))
        return rc;
    }
  } else {
    out->loss_form = NNC_FORM_ONE;
    return add_loss(ctx, item, path, NULL, out);
  }
  for (i = 0; i < out->n_losses; i++)
    if (out->losses[i].has_loss) return NNC_OK;
  /* Keras: "No loss to compute. Provide a `loss` argument in `compile()`." */
  return spec_fail_expected(ctx, path, item, "at least one loss that is not null");
}

static int add_weight(const spec_ctx *ctx, const cJSON *item, const char *path, const char *key,
                      nnc_spec_compile *out) {
  nnc_spec_loss_entry *e = add_entry(ctx, &out->weights, &out->n_weights, path);
  if (!e) return ctx->st->code;
  if (key) nnc_strlcpy(e->key, key, sizeof e->key);
  e->weight = 1.0;
  if (cJSON_IsNull(item)) return NNC_OK;
  e->has_weight = 1;
  return spec_float32_value(ctx, item, path, &e->weight);
}

/* A float (one output, or one loss for all), a list or a dict by output name. */
static int parse_loss_weights(const spec_ctx *ctx, const cJSON *item, const char *path,
                              nnc_spec_compile *out) {
  char elem_path[NNC_PATH_MAX];
  const cJSON *elem;
  int rc, i = 0;
  if (spec_is_absent(item)) return NNC_OK;
  if (cJSON_IsArray(item)) {
    out->weights_form = NNC_FORM_LIST;
    cJSON_ArrayForEach(elem, item) {
      spec_path_index(elem_path, path, i++);
      if ((rc = add_weight(ctx, elem, elem_path, NULL, out))) return rc;
    }
    return NNC_OK;
  }
  if (cJSON_IsObject(item)) {
    out->weights_form = NNC_FORM_DICT;
    cJSON_ArrayForEach(elem, item) {
      spec_path_key(elem_path, path, elem->string ? elem->string : "?");
      if ((rc = key_fits(ctx, elem, elem_path)) ||
          (rc = add_weight(ctx, elem, elem_path, elem->string, out)))
        return rc;
    }
    return NNC_OK;
  }
  if (!cJSON_IsNumber(item))
    return spec_fail_expected(ctx, path, item,
                              "a float (single output case) or a list or dict (multiple output "
                              "case) of loss weights");
  out->weights_form = NNC_FORM_ONE;
  return add_weight(ctx, item, path, NULL, out);
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

/* The path of a metric's name itself when it was written out. */
static void metric_name_path(const cJSON *item, const char *path, char *name_path) {
  nnc_strlcpy(name_path, path, NNC_PATH_MAX);
  if (cJSON_IsObject(item)) {
    const cJSON *cfg = spec_child(item, "config");
    spec_path_key(name_path, path, "config");
    if (cJSON_IsObject(cfg) && !spec_is_absent(spec_child(cfg, "name")))
      spec_path_key(name_path, name_path, "name");
  }
}

/* Metrics of one output, of one list entry or dict key (`group`). */
static int add_metric(const spec_ctx *ctx, const cJSON *item, const char *path, int group,
                      nnc_spec_compile *out) {
  nnc_spec_metric *grown =
      nnc_realloc_array(out->metrics, (size_t)out->n_metrics + 1, sizeof *grown, ctx->st);
  if (!grown) return ctx->st->code;
  out->metrics = grown;
  nnc_spec_metric *m = &out->metrics[out->n_metrics];
  memset(m, 0, sizeof *m);
  m->threshold = 0.5;
  m->group = group;
  int rc;
  if (expr_spec_is(item)) { /* compiler/expr */
    m->kind = NNC_METRIC_EXPRESSION;
    rc = expr_spec_parse(ctx, item, path, "custom_metric", &m->expr, m->name, m->path);
  } else if (cJSON_IsString(item))
    rc = metric_from_string(ctx, item, path, m);
  else if (cJSON_IsObject(item) && !is_dict(item))
    rc = metric_from_class(ctx, item, path, m);
  else
    rc = spec_fail_expected(ctx, path, item,
                            "a metric name or {\"class_name\": ..., \"config\": {...}}");
  if (rc) return rc;
  if (m->kind != NNC_METRIC_EXPRESSION) metric_name_path(item, path, m->path);
  if (strcmp(m->name, "loss") == 0 || strncmp(m->name, "val_", 4) == 0) {
    expr_free(m->expr); /* not counted: nnc_spec_compile_free would not see it */
    return spec_fail(ctx, m->path,
                     "expected a metric name other than \"loss\" and not starting with \"val_\" "
                     "(the History keys of the loss and of validation), got \"%s\"",
                     m->name);
  }
  out->n_metrics++;
  return NNC_OK;
}

/* One group's metrics: a list (null entries skipped, as Keras skips None),
 * null (none) or one metric. */
static int add_group(const spec_ctx *ctx, const cJSON *item, const char *path, int group,
                     nnc_spec_compile *out) {
  if (cJSON_IsNull(item)) return NNC_OK;
  if (!cJSON_IsArray(item)) return add_metric(ctx, item, path, group, out);
  char elem_path[NNC_PATH_MAX];
  const cJSON *elem;
  int rc, i = 0;
  cJSON_ArrayForEach(elem, item) {
    spec_path_index(elem_path, path, i++);
    if (cJSON_IsNull(elem)) continue;
    if (cJSON_IsArray(elem) || is_dict(elem))
      return spec_fail_expected(ctx, elem_path, elem, "a metric (a list of metrics per output)");
    if ((rc = add_metric(ctx, elem, elem_path, group, out))) return rc;
  }
  return NNC_OK;
}

/* null, one metric, a list (of metrics, or one entry per output), or a dict
 * by output name. */
static int parse_metrics(const spec_ctx *ctx, const cJSON *item, const char *path,
                         nnc_spec_compile *out) {
  char elem_path[NNC_PATH_MAX];
  const cJSON *elem;
  int rc, i = 0;
  if (spec_is_absent(item) ||
      ((cJSON_IsArray(item) || is_dict(item)) && cJSON_GetArraySize(item) == 0))
    return NNC_OK;
  if (cJSON_IsArray(item)) {
    out->metrics_form = NNC_FORM_LIST;
    cJSON_ArrayForEach(elem, item) {
      spec_path_index(elem_path, path, i);
      if (is_dict(elem))
        return spec_fail_expected(ctx, elem_path, elem, "a metric or a list of metrics");
      out->metrics_nested |= cJSON_IsArray(elem);
      if ((rc = add_group(ctx, elem, elem_path, i++, out))) return rc;
    }
    out->n_groups = i;
    return NNC_OK;
  }
  if (is_dict(item)) {
    out->metrics_form = NNC_FORM_DICT;
    out->n_groups = cJSON_GetArraySize(item);
    out->groups = nnc_calloc((size_t)out->n_groups, sizeof *out->groups, ctx->st);
    if (!out->groups) return ctx->st->code;
    cJSON_ArrayForEach(elem, item) {
      spec_path_key(elem_path, path, elem->string ? elem->string : "?");
      if ((rc = key_fits(ctx, elem, elem_path))) return rc;
      nnc_strlcpy(out->groups[i].key, elem->string, sizeof out->groups[i].key);
      nnc_strlcpy(out->groups[i].path, elem_path, sizeof out->groups[i].path);
      if (is_dict(elem)) return spec_fail_expected(ctx, elem_path, elem, "a list of metrics");
      if ((rc = add_group(ctx, elem, elem_path, i++, out))) return rc;
    }
    return NNC_OK;
  }
  out->metrics_form = NNC_FORM_ONE;
  out->n_groups = 1;
  return add_metric(ctx, item, path, 0, out);
}

void nnc_spec_compile_free(nnc_spec_compile *c) {
  if (!c) return;
  for (int i = 0; c->losses && i < c->n_losses; i++) expr_free(c->losses[i].loss.expr);
  for (int i = 0; c->metrics && i < c->n_metrics; i++) expr_free(c->metrics[i].expr);
  free(c->losses);
  free(c->weights);
  free(c->groups);
  free(c->metrics);
  memset(c, 0, sizeof *c);
}

static int parse_compile(const spec_ctx *ctx, const cJSON *cc, const char *path,
                         nnc_spec_compile *out) {
  if (!cJSON_IsObject(cc)) return spec_fail_expected(ctx, path, cc, "a compile config object");
  nnc_strlcpy(out->path, path, sizeof out->path);
  char item_path[NNC_PATH_MAX];
  int rc;

  /* Keras writes "optimizer"; h5 training_config and tfjs write "optimizer_config". */
  const char *opt_key = spec_child(cc, "optimizer") ? "optimizer" : "optimizer_config";
  spec_path_key(item_path, path, opt_key);
  if ((rc = spec_parse_optimizer(ctx, spec_child(cc, opt_key), item_path, &out->optimizer)))
    return rc;

  spec_path_key(item_path, path, "loss");
  if ((rc = parse_losses(ctx, spec_child(cc, "loss"), item_path, out))) return rc;

  spec_path_key(item_path, path, "loss_weights");
  if ((rc = parse_loss_weights(ctx, spec_child(cc, "loss_weights"), item_path, out))) return rc;

  spec_path_key(item_path, path, "metrics");
  if ((rc = parse_metrics(ctx, spec_child(cc, "metrics"), item_path, out))) return rc;

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

int spec_parse_compile(const spec_ctx *ctx, const cJSON *cc, const char *path,
                       nnc_spec_compile *out) {
  memset(out, 0, sizeof *out);
  int rc = parse_compile(ctx, cc, path, out);
  if (rc) nnc_spec_compile_free(out);
  return rc;
}
