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

#include "compiler/losses/losses.h"
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

/* A string that names a loss but no metric: Keras 3's metrics.get looks
 * strings up among the metric classes only and refuses it, while the
 * function itself (or a Loss object) is a metric (compile_utils.get_metric
 * wraps it in a MeanMetricWrapper). Say how to write that. */
static int refuse_loss_string(const spec_ctx *ctx, const cJSON *str, const char *path,
                              const loss_class *lc) {
  return spec_fail(ctx, path,
                   "expected a metric (" METRIC_STRINGS "), got \"%s\": Keras 3 does not accept "
                   "a loss's name as a metric string (metrics.get knows the metric classes "
                   "only); the loss function itself is a metric: {\"class_name\": "
                   "\"function\", \"config\": \"%s\", \"module\": \"keras.losses\"} "
                   "(compile(metrics=[keras.losses.%s])), or a loss object {\"class_name\": "
                   "\"%s\", \"module\": \"keras.losses\", \"config\": {...}}",
                   str->valuestring, lc->function, lc->function, lc->class_name);
}

/* A metric named by a string keeps that string as its History key. */
static int metric_from_string(const spec_ctx *ctx, const cJSON *str, const char *path,
                              nnc_spec_metric *out) {
  const metric_class *cls = cJSON_IsString(str) ? metric_class_for_string(str->valuestring) : NULL;
  const loss_class *lc = cJSON_IsString(str) ? loss_lookup(str->valuestring) : NULL;
  if (!cls && lc) return refuse_loss_string(ctx, str, path, lc);
  if (!cls) return spec_fail_expected(ctx, path, str, "a metric (" METRIC_STRINGS ")");
  out->kind = cls->kind;
  int rc = parse_config(ctx, cls, NULL, path, out);
  if (rc) return rc;
  return spec_copy_name(ctx, str, path, out->name);
}

/* A loss function as a metric (Keras: MeanMetricWrapper(fn, **kwargs)):
 * the loss `lc` with the function's keyword arguments `kwargs` (an object
 * of Keras's names: delta, from_logits, ...; NULL: the defaults), parsed as
 * the loss class's config, so every default and check is the loss's. The
 * key is the function's name (get_object_name) unless `name` is given. */
static int metric_from_loss_function(const spec_ctx *ctx, const loss_class *lc, const cJSON *kwargs,
                                     const char *kwargs_path, nnc_spec_metric *out) {
  cJSON *obj = cJSON_CreateObject(),
        *cfg = kwargs ? cJSON_Duplicate(kwargs, 1) : cJSON_CreateObject();
  if (!obj || !cfg || !cJSON_AddStringToObject(obj, "class_name", lc->class_name) ||
      !cJSON_AddItemToObject(obj, "config", cfg)) {
    cJSON_Delete(obj);
    cJSON_Delete(cfg);
    return nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory");
  }
  cJSON_DeleteItemFromObject(cfg, "fn"); /* the wrapper's own keys */
  cJSON_DeleteItemFromObject(cfg, "name");
  int rc = NNC_OK;
  if (spec_child(cfg, "reduction")) {
    char key_path[NNC_PATH_MAX];
    spec_path_key(key_path, kwargs_path, "reduction");
    rc = spec_fail(ctx, key_path,
                   "expected an argument of the loss function %s (reduction belongs to the loss "
                   "class, not to the function a metric wraps)",
                   lc->function);
  }
  /* errors name <kwargs_path>.<key>: the synthetic object's "config" path */
  char parent[NNC_PATH_MAX];
  nnc_strlcpy(parent, kwargs_path, sizeof parent);
  char *dot = strrchr(parent, '.');
  if (dot && strcmp(dot, ".config") == 0) *dot = '\0';
  if (!rc) rc = spec_parse_loss(ctx, obj, parent, &out->loss);
  cJSON_Delete(obj);
  if (rc) return rc;
  out->kind = NNC_METRIC_LOSS_FUNCTION;
  nnc_strlcpy(out->loss.name, lc->function, sizeof out->loss.name);
  nnc_strlcpy(out->name, lc->function, sizeof out->name);
  return NNC_OK;
}

/* Keras 3 serializes a Loss object with its module, keras.losses: such a
 * class is the loss even when a metric class has the same name. */
static int is_loss_module(const cJSON *item) {
  const cJSON *module = spec_child(item, "module");
  const char *m = cJSON_IsString(module) ? module->valuestring : "";
  return strncmp(m, "keras.losses", 12) == 0 || strncmp(m, "keras.src.losses", 16) == 0;
}

/* The loss class named exactly class_name (Keras's class lookup is exact). */
static const loss_class *loss_class_named(const char *class_name) {
  const loss_class *lc = class_name ? loss_lookup(class_name) : NULL;
  return lc && strcmp(lc->class_name, class_name) == 0 ? lc : NULL;
}

/* A Keras 3 serialized function {"class_name": "function", "config": NAME}:
 * a loss function (keras.losses.huber, ...; cosine_similarity is the
 * loss's, negative: Keras 3 has no metric function of that name) or a
 * metric function (keras.metrics.binary_accuracy, ...); key: its name. */
static int metric_from_function(const spec_ctx *ctx, const cJSON *fn, const char *fn_path,
                                nnc_spec_metric *out) {
  const loss_class *lc = cJSON_IsString(fn) ? loss_lookup(fn->valuestring) : NULL;
  if (lc) return metric_from_loss_function(ctx, lc, NULL, fn_path, out);
  return metric_from_string(ctx, fn, fn_path, out);
}

/* MeanMetricWrapper: tf.keras 2 h5 {name, fn: "kld"}; Keras 3 {name, dtype,
 * fn: {"class_name": "function", ...}, and fn's keyword arguments}. */
static int metric_from_wrapper(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                               nnc_spec_metric *out) {
  char fn_path[NNC_PATH_MAX], name_path[NNC_PATH_MAX];
  spec_path_key(fn_path, cfg_path, "fn");
  spec_path_key(name_path, cfg_path, "name");
  const cJSON *fn = spec_child(cfg, "fn"), *name = spec_child(cfg, "name");
  int keras3 =
      cJSON_IsObject(fn) && spec_class_name(fn) && !strcmp(spec_class_name(fn), "function");
  if (keras3) {
    spec_path_key(fn_path, fn_path, "config");
    fn = spec_child(fn, "config");
  }
  if (!cJSON_IsString(fn))
    return spec_fail_expected(ctx, fn_path, fn, "a metric or loss function name");
  const metric_class *cls = metric_class_for_string(fn->valuestring);
  const loss_class *lc = loss_lookup(fn->valuestring);
  int kwargs = 0;
  for (const cJSON *k = cfg ? cfg->child : NULL; k; k = k->next)
    kwargs |= strcmp(k->string, "name") && strcmp(k->string, "dtype") && strcmp(k->string, "fn");
  int rc;
  /* a loss function (Keras 3's function objects are the loss's; tf.keras 2's
   * names the metric function first): its arguments are the loss's options */
  if (lc && (keras3 || kwargs || !cls)) {
    if ((rc = metric_from_loss_function(ctx, lc, cfg, cfg_path, out))) return rc;
  } else if (cls) {
    if (kwargs)
      return spec_fail(ctx, cfg_path,
                       "expected no arguments besides name, dtype and fn for the metric function "
                       "%s (nnc passes MeanMetricWrapper arguments to loss functions only; "
                       "write the metric class with its config instead)",
                       fn->valuestring);
    out->kind = cls->kind;
    if ((rc = parse_config(ctx, cls, NULL, fn_path, out))) return rc; /* the defaults */
  } else {
    return spec_fail_expected(ctx, fn_path, fn,
                              "a metric function (" METRIC_STRINGS ") or a loss function (%s)",
                              loss_names_text());
  }
  if (spec_is_absent(name) && out->kind != NNC_METRIC_LOSS_FUNCTION)
    return spec_copy_name(ctx, fn, fn_path, out->name);
  return spec_is_absent(name) ? NNC_OK : spec_copy_name(ctx, name, name_path, out->name);
}

static int metric_from_class(const spec_ctx *ctx, const cJSON *item, const char *path,
                             nnc_spec_metric *out) {
  char cls_path[NNC_PATH_MAX], cfg_path[NNC_PATH_MAX], name_path[NNC_PATH_MAX];
  spec_path_key(cls_path, path, "class_name");
  spec_path_key(cfg_path, path, "config");
  spec_path_key(name_path, cfg_path, "name");
  const char *cls_name = spec_class_name(item);
  const cJSON *cfg = spec_child(item, "config");
  if (cls_name && strcmp(cls_name, "function") == 0) /* Keras 3 serialized function */
    return metric_from_function(ctx, cfg, cfg_path, out);
  if (!spec_is_absent(cfg) && !cJSON_IsObject(cfg))
    return spec_fail_expected(ctx, cfg_path, cfg, "an object");
  if (!cJSON_IsObject(cfg)) cfg = NULL;
  const cJSON *name = spec_child(cfg, "name");
  if (cls_name && strcmp(cls_name, "MeanMetricWrapper") == 0)
    return metric_from_wrapper(ctx, cfg, cfg_path, out);
  const metric_class *cls = metric_class_named(cls_name);
  const loss_class *lc = loss_class_named(cls_name);
  if (lc && (!cls || is_loss_module(item))) {
    /* a Loss object as a metric: Keras wraps its call (the batch's reduced
     * loss) in a MeanMetricWrapper; key: the loss's name */
    int rc = spec_parse_loss(ctx, item, path, &out->loss);
    if (rc) return rc;
    out->kind = NNC_METRIC_LOSS_FUNCTION;
    out->loss_instance = 1;
    nnc_strlcpy(out->name, out->loss.name, sizeof out->name);
    return NNC_OK;
  }
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
