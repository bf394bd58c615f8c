/* The metrics of a compile config (and weighted_metrics): null, one metric,
 * a list (of metrics, or one entry per output) or a dict by output name, as
 * Keras's CompileMetrics takes them (keras/src/trainers/compile_utils.py).
 * A metric is a string (its History key is that string, as Keras keeps
 * it), a class object {class_name, config} (key: config.name, else the
 * class's default name), a Keras 3 serialized function or a tf.keras 2
 * MeanMetricWrapper. Which classes exist, their string aliases and config
 * keys: compiler/metrics/metrics.def; each family parses its keys. */
#include <stdlib.h>
#include <string.h>

#include "compiler/metrics/metrics.h"
#include "compiler/expr/expr_spec.h"
#include "compiler/spec/spec_internal.h"
#include "base/base.h"

#define METRIC_STRINGS                                                                             \
  "accuracy, acc, a metric class name or its snake_case (binary_accuracy, auc, "                   \
  "root_mean_squared_error, ...), mae, mse, mape, msle, bce, logcosh"

static int key_fits(const spec_ctx *ctx, const cJSON *entry, const char *path) {
  if (entry->string && strlen(entry->string) < NNC_NAME_MAX) return NNC_OK;
  return spec_fail(ctx, path, "expected an output name of at most %d bytes as the key",
                   NNC_NAME_MAX - 1);
}

/* Defaults of every option (a class overrides what it takes). */
static void metric_defaults(nnc_spec_metric *m) {
  m->threshold = 0.5;
  m->class_id = -1;
  m->num_thresholds = 200;
  m->k = 5;
  m->axis = -1;
  m->average = 3;
  m->ignore_class = -1;
  m->beta = 1.0;
}

/* The class's config: only its keys (metrics.def), parsed by its family. */
static int parse_config(const spec_ctx *ctx, const metric_class *cls, const cJSON *cfg,
                        const char *cfg_path, nnc_spec_metric *out) {
  const cJSON *item;
  char path[NNC_PATH_MAX];
  cJSON_ArrayForEach(item, cfg) {
    const char *key = item->string ? item->string : "";
    if (strcmp(key, "name") == 0 || strcmp(key, "dtype") == 0) continue;
    size_t n = strlen(key);
    const char *p = cls->keys;
    int known = 0;
    while (p && *p && !known) {
      const char *end = strchr(p, ',');
      size_t len = end ? (size_t)(end - p) : strlen(p);
      known = len == n && strncmp(p, key, n) == 0;
      p = end ? end + 1 : NULL;
    }
    if (!known) {
      char keys[512] = "name, dtype";
      size_t used = strlen(keys);
      for (const char *c = cls->keys; *c && used + 4 < sizeof keys; c++) {
        if (c == cls->keys || *c == ',') keys[used++] = ',', keys[used++] = ' ';
        if (*c != ',') keys[used++] = *c;
      }
      keys[used] = '\0';
      spec_path_key(path, cfg_path, key);
      return spec_fail(ctx, path, "expected a config key of %s (%s), got an unknown key",
                       cls->class_name, keys);
    }
  }
  return cls->family->parse ? cls->family->parse(ctx, cfg, cfg_path, out) : NNC_OK;
}

/* A metric named by a string keeps that string as its History key. */
static int metric_from_string(const spec_ctx *ctx, const cJSON *str, const char *path,
                              nnc_spec_metric *out) {
  const metric_class *cls = cJSON_IsString(str) ? metric_class_for_string(str->valuestring) : NULL;
  if (!cls) return spec_fail_expected(ctx, path, str, "a metric (" METRIC_STRINGS ")");
  out->kind = cls->kind;
  int rc = parse_config(ctx, cls, NULL, path, out);
  if (rc) return rc;
  return spec_copy_name(ctx, str, path, out->name);
}

static int metric_from_class(const spec_ctx *ctx, const cJSON *item, const char *path,
                             nnc_spec_metric *out) {
  char cls_path[NNC_PATH_MAX], cfg_path[NNC_PATH_MAX], name_path[NNC_PATH_MAX];
  spec_path_key(cls_path, path, "class_name");
  spec_path_key(cfg_path, path, "config");
  spec_path_key(name_path, cfg_path, "name");
  const char *cls_name = spec_class_name(item);
  const cJSON *cfg = spec_child(item, "config");
  if (cls_name && strcmp(cls_name, "function") == 0) /* Keras 3 serialized metric function */
    return metric_from_string(ctx, cfg, cfg_path, out);
  if (!spec_is_absent(cfg) && !cJSON_IsObject(cfg))
    return spec_fail_expected(ctx, cfg_path, cfg, "an object");
  if (!cJSON_IsObject(cfg)) cfg = NULL;
  const cJSON *name = spec_child(cfg, "name");
  if (cls_name && strcmp(cls_name, "MeanMetricWrapper") == 0) { /* tf.keras 2 h5: {name, fn} */
    char fn_path[NNC_PATH_MAX];
    spec_path_key(fn_path, cfg_path, "fn");
    const cJSON *fn = spec_child(cfg, "fn");
    const metric_class *cls = cJSON_IsString(fn) ? metric_class_for_string(fn->valuestring) : NULL;
    if (!cls) return spec_fail_expected(ctx, fn_path, fn, "a metric function (" METRIC_STRINGS ")");
    out->kind = cls->kind;
    return spec_copy_name(ctx, spec_is_absent(name) ? fn : name,
                          spec_is_absent(name) ? fn_path : name_path, out->name);
  }
  const metric_class *cls = metric_class_named(cls_name);
  if (!cls) {
    char list[1024], what[1100];
    metric_class_list(list, sizeof list);
    snprintf(what, sizeof what, "a metric class (%s)", list);
    return spec_fail_expected(ctx, cls_path, spec_child(item, "class_name"), "%s", what);
  }
  out->kind = cls->kind;
  int rc;
  if (spec_is_absent(name))
    nnc_strlcpy(out->name, cls->default_name, sizeof out->name);
  else if ((rc = spec_copy_name(ctx, name, name_path, out->name)))
    return rc;
  return parse_config(ctx, cls, cfg, cfg_path, out);
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
  nnc_spec_metric *m = &out->metrics[out->n_metrics++]; /* counted now: freed on failure */
  memset(m, 0, sizeof *m);
  metric_defaults(m);
  m->group = group;
  int rc;
  if (expr_spec_is(item)) { /* compiler/expr */
    m->kind = NNC_METRIC_EXPRESSION;
    rc = expr_spec_parse(ctx, item, path, "custom_metric", &m->expr, m->name, m->path);
  } else if (cJSON_IsString(item))
    rc = metric_from_string(ctx, item, path, m);
  else if (cJSON_IsObject(item) && !spec_is_output_dict(item))
    rc = metric_from_class(ctx, item, path, m);
  else
    rc = spec_fail_expected(ctx, path, item,
                            "a metric name or {\"class_name\": ..., \"config\": {...}}");
  if (rc) return rc;
  if (m->kind != NNC_METRIC_EXPRESSION) metric_name_path(item, path, m->path);
  if (strcmp(m->name, "loss") == 0 || strncmp(m->name, "val_", 4) == 0)
    return spec_fail(ctx, m->path,
                     "expected a metric name other than \"loss\" and not starting with \"val_\" "
                     "(the History keys of the loss and of validation), got \"%s\"",
                     m->name);
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
    if (cJSON_IsArray(elem) || spec_is_output_dict(elem))
      return spec_fail_expected(ctx, elem_path, elem, "a metric (a list of metrics per output)");
    if ((rc = add_metric(ctx, elem, elem_path, group, out))) return rc;
  }
  return NNC_OK;
}

int spec_parse_metrics(const spec_ctx *ctx, const cJSON *item, const char *path,
                       nnc_spec_compile *out) {
  char elem_path[NNC_PATH_MAX];
  const cJSON *elem;
  int rc, i = 0;
  if (spec_is_absent(item) ||
      ((cJSON_IsArray(item) || spec_is_output_dict(item)) && cJSON_GetArraySize(item) == 0))
    return NNC_OK;
  if (cJSON_IsArray(item)) {
    out->metrics_form = NNC_FORM_LIST;
    cJSON_ArrayForEach(elem, item) {
      spec_path_index(elem_path, path, i);
      if (spec_is_output_dict(elem))
        return spec_fail_expected(ctx, elem_path, elem, "a metric or a list of metrics");
      out->metrics_nested |= cJSON_IsArray(elem);
      if ((rc = add_group(ctx, elem, elem_path, i++, out))) return rc;
    }
    out->n_groups = i;
    return NNC_OK;
  }
  if (spec_is_output_dict(item)) {
    out->metrics_form = NNC_FORM_DICT;
    out->n_groups = cJSON_GetArraySize(item);
    out->groups = nnc_calloc((size_t)out->n_groups, sizeof *out->groups, ctx->st);
    if (!out->groups) return ctx->st->code;
    cJSON_ArrayForEach(elem, item) {
      spec_path_key(elem_path, path, elem->string ? elem->string : "?");
      if ((rc = key_fits(ctx, elem, elem_path))) return rc;
      nnc_strlcpy(out->groups[i].key, elem->string, sizeof out->groups[i].key);
      nnc_strlcpy(out->groups[i].path, elem_path, sizeof out->groups[i].path);
      if (spec_is_output_dict(elem))
        return spec_fail_expected(ctx, elem_path, elem, "a list of metrics");
      if ((rc = add_group(ctx, elem, elem_path, i++, out))) return rc;
    }
    return NNC_OK;
  }
  out->metrics_form = NNC_FORM_ONE;
  out->n_groups = 1;
  return add_metric(ctx, item, path, 0, out);
}

int spec_parse_weighted_metrics(const spec_ctx *ctx, const cJSON *item, const char *path,
                                nnc_spec_compile *out) {
  nnc_spec_compile *w = nnc_calloc(1, sizeof *w, ctx->st);
  if (!w) return ctx->st->code;
  out->weighted_metrics = w; /* owned now: freed with out on failure */
  int rc = spec_parse_metrics(ctx, item, path, w);
  if (rc) return rc;
  for (int i = 0; i < w->n_metrics; i++) w->metrics[i].weighted = 1;
  if (w->n_metrics == 0) { /* null, [] or {}: none */
    spec_metrics_free(w);
    free(w);
    out->weighted_metrics = NULL;
  }
  return NNC_OK;
}

void spec_metrics_free(nnc_spec_compile *c) {
  if (c->weighted_metrics) spec_metrics_free(c->weighted_metrics);
  free(c->weighted_metrics);
  c->weighted_metrics = NULL;
  for (int i = 0; i < c->n_metrics; i++) {
    free(c->metrics[i].thresholds);
    free(c->metrics[i].target_classes);
    free(c->metrics[i].label_weights);
    expr_free(c->metrics[i].expr);
  }
  free(c->groups);
  free(c->metrics);
  c->groups = NULL;
  c->metrics = NULL;
  c->n_metrics = c->n_groups = 0;
}
