/* The crossentropies as metrics (keras/src/metrics/probabilistic_metrics.py):
 * Mean metrics of the loss function's per-sample value, through the same
 * LOSS node the losses use (so the logits rewrite applies as to a loss). */
#include <stdio.h>

#include "compiler/losses/losses.h"
#include "compiler/metrics/metrics.h"

/* axis: the class axis of CategoricalCrossentropy and
 * SparseCategoricalCrossentropy (compiler/losses/loss_axis.c); Keras's
 * BinaryCrossentropy metric has none (-1 accepted) */
static int parse_axis(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                      nnc_spec_metric *out) {
  const cJSON *item = spec_child(cfg, "axis");
  if (out->kind != NNC_METRIC_BINARY_CROSSENTROPY)
    return loss_parse_axis(ctx, cfg, cfg_path, &out->axis);
  if (spec_is_absent(item) || (cJSON_IsNumber(item) && item->valuedouble == -1)) return NNC_OK;
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, "axis");
  return spec_fail_unsupported(ctx, path, item, "an axis other than -1");
}

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                 nnc_spec_metric *out) {
  char path[NNC_PATH_MAX];
  int rc = spec_get_bool(ctx, cfg, cfg_path, "from_logits", 0, &out->from_logits);
  if (rc) return rc;
  /* SparseCategoricalCrossentropy has no such key (parse_config refused it) */
  if ((rc = spec_get_float32(ctx, cfg, cfg_path, "label_smoothing", 0.0, &out->label_smoothing)))
    return rc;
  if (!(out->label_smoothing >= 0 && out->label_smoothing <= 1)) {
    spec_path_key(path, cfg_path, "label_smoothing");
    return spec_fail_expected(ctx, path, spec_child(cfg, "label_smoothing"),
                              "a label smoothing in [0, 1]");
  }
  if ((rc = parse_axis(ctx, cfg, cfg_path, out))) return rc;
  return spec_require_null(ctx, cfg, cfg_path, "ignore_class", "ignore_class");
}

/* The loss function with the metric's options (the metric classes pass
 * from_logits and label_smoothing to it): compiler/losses smooths the labels
 * as the loss does. */
static int lower(metric_ctx *c) {
  nnc_spec_loss loss = {0};
  loss.kind = c->kind == NNC_METRIC_BINARY_CROSSENTROPY        ? NNC_LOSS_BCE
              : c->kind == NNC_METRIC_CATEGORICAL_CROSSENTROPY ? NNC_LOSS_CCE
                                                               : NNC_LOSS_SCCE;
  loss.from_logits = c->m->from_logits;
  loss.label_smoothing = loss.kind == NNC_LOSS_SCCE ? 0 : c->m->label_smoothing;
  loss.axis = -1;
  int yp = c->yp, y = c->y;
  if (c->m->axis != -1) { /* the logits stay visible to the rewrite, as for the loss */
    char what[NNC_NAME_MAX + 16];
    snprintf(what, sizeof what, "metric \"%s\"", c->key);
    if (loss_move_axis_last(c->g, what, c->m->axis, LOSS_LOGITS_ALL, &yp, &y, c->st))
      return c->st->code;
  }
  return metric_mean(c, loss_per_sample(c->g, &loss, yp, y, c->st), 0);
}

const metric_family metric_family_probabilistic = {parse, lower, 1};
