/* A compile config: optimizer (spec_optimizer.c), loss, loss_weights and
 * metrics (spec_metric.c), as Keras 3 compile_config, h5 training_config or tfjs
 * trainingConfig write them. Per-output lists and dicts are kept as written
 * (form, entries, dict keys, JSON paths): lowering matches them to the
 * model's outputs (compiler/lower/lower_outputs.c), as Keras's CompileLoss
 * and CompileMetrics do when they are built. */
#include <stdlib.h>
#include <string.h>

#include "compiler/spec/spec_internal.h"
#include "base/base.h"

/* ---- per-output containers ---- */

static int is_dict(const cJSON *item) {
  return cJSON_IsObject(item) && !spec_child(item, "class_name");
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

void nnc_spec_compile_free(nnc_spec_compile *c) {
  if (!c) return;
  free(c->losses);
  free(c->weights);
  spec_metrics_free(c);
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
  if ((rc = spec_parse_metrics(ctx, spec_child(cc, "metrics"), item_path, out))) return rc;

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
