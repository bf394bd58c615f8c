/* A compile config: optimizer (spec_optimizer.c), loss, loss_weights and
 * metrics (spec_metric.c), as Keras 3 compile_config, h5 training_config or tfjs
 * trainingConfig write them. Per-output lists and dicts are kept as written
 * (form, entries, dict keys, JSON paths): lowering matches them to the
 * model's outputs (compiler/lower/lower_outputs.c), as Keras's CompileLoss
 * and CompileMetrics do when they are built. */
#include <stdlib.h>
#include <string.h>

#include "compiler/losses/losses.h"
#include "compiler/spec/spec_internal.h"
#include "base/base.h"
#include "compiler/expr/expr_spec.h"

/* ---- per-output containers ---- */

int spec_is_output_dict(const cJSON *item) {
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

/* ---- loss (one loss: compiler/spec/spec_loss.c) ---- */

/* One loss or null (no loss for that output) at a list position or dict key. */
static int add_loss(const spec_ctx *ctx, const cJSON *item, const char *path, const char *key,
                    nnc_spec_compile *out) {
  nnc_spec_loss_entry *e = add_entry(ctx, &out->losses, &out->n_losses, path);
  if (!e) return ctx->st->code;
  if (key) nnc_strlcpy(e->key, key, sizeof e->key);
  if (cJSON_IsNull(item)) return NNC_OK;
  e->has_loss = 1;
  return spec_parse_loss(ctx, item, path, &e->loss);
}

/* One loss for every output, a list (one per output) or a dict by output
 * name; null entries leave an output untrained. */
static int parse_losses(const spec_ctx *ctx, const cJSON *item, const char *path,
                        nnc_spec_compile *out) {
  char elem_path[NNC_PATH_MAX];
  const cJSON *elem;
  int rc, i = 0;
  if (spec_is_absent(item) ||
      ((cJSON_IsArray(item) || spec_is_output_dict(item)) && cJSON_GetArraySize(item) == 0))
    return spec_fail_expected(ctx, path, item, "a loss (%s)", loss_names_text());
  if (cJSON_IsArray(item)) {
    out->loss_form = NNC_FORM_LIST;
    cJSON_ArrayForEach(elem, item) {
      spec_path_index(elem_path, path, i++);
      if ((rc = add_loss(ctx, elem, elem_path, NULL, out))) return rc;
    }
  } else if (spec_is_output_dict(item)) {
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
  nnc_spec_optimizer_free(&c->optimizer);
  for (int i = 0; c->losses && i < c->n_losses; i++) expr_free(c->losses[i].loss.expr);
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

  /* weighted_metrics: the forms of metrics, weighted by the sample weights */
  spec_path_key(item_path, path, "weighted_metrics");
  if ((rc = spec_parse_weighted_metrics(ctx, spec_child(cc, "weighted_metrics"), item_path, out)))
    return rc;
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
