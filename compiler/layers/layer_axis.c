#include "compiler/layers/layer_axis.h"

#include <math.h>

int layer_parse_axis(const spec_ctx *ctx, const cJSON *item, const char *path, int64_t *out) {
  if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble) ||
      item->valuedouble != floor(item->valuedouble) ||
      fabs(item->valuedouble) >= 2.0 * NNC_MAX_RANK)
    return spec_fail_expected(ctx, path, item, "an integer axis (negative: from the last axis)");
  *out = (int64_t)item->valuedouble;
  return NNC_OK;
}

int layer_resolve_axis(const layer_call *c, const char *cfg_path, int64_t axis,
                       const nnc_shape *input, nnc_status *st) {
  int64_t resolved = axis < 0 ? axis + input->rank : axis;
  if (resolved >= 1 && resolved < input->rank) return (int)resolved;
  char shape[64];
  shape_format(input, shape, sizeof shape);
  nnc_fail(st, NNC_ERR_SPEC,
           "%s: %s: expected an axis of the input %s other than the batch axis 0 (1 to %d, or "
           "-1 to -%d) for %s \"%s\", got %lld",
           c->spec->source, cfg_path, shape, input->rank - 1, input->rank - 1,
           layer_class(c->layer->kind)->class_name, c->layer->name, (long long)axis);
  return -1;
}
