/* LayerNormalization (Keras 3): per sample, (x - mean) / sqrt(var + epsilon)
 * over the axes `axis` (biased variance), then * gamma + beta, the weights
 * shaped like those axes. The same in training and inference. */
#include <stdlib.h>

#include "compiler/layers/norm_util.h"

typedef struct ln_params {
  norm_axes axis;
  double epsilon;
  norm_affine affine;
} ln_params;

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  ln_params p = {0};
  int rc;
  if ((rc = norm_parse_axes(ctx, cfg, cfg_path, "axis", -1, &p.axis))) return rc;
  if ((rc = spec_get_float32(ctx, cfg, cfg_path, "epsilon", 1e-3, &p.epsilon))) return rc;
  if (!(p.epsilon > 0.0)) {
    char path[NNC_PATH_MAX];
    spec_path_key(path, cfg_path, "epsilon");
    return spec_fail_expected(ctx, path, spec_child(cfg, "epsilon"), "a positive number");
  }
  if ((rc = norm_parse_affine(ctx, cfg, cfg_path, &p.affine))) return rc;
  int rms;
  if ((rc = spec_get_bool(ctx, cfg, cfg_path, "rms_scaling", 0, &rms))) return rc;
  if (rms) {
    char path[NNC_PATH_MAX];
    spec_path_key(path, cfg_path, "rms_scaling");
    return spec_fail(ctx, path, "LayerNormalization with rms_scaling: true is not supported yet");
  }
  out->params = malloc(sizeof p);
  if (!out->params) return nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory");
  *(ln_params *)out->params = p;
  return NNC_OK;
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  const ln_params *p = c->layer->params;
  nnc_graph *g = &c->l->forward;
  nnc_shape xs = g->nodes[in[0]].shape;
  int axes[NNC_MAX_RANK], n_axes;
  if (norm_resolve_axes(c, &p->axis, &xs, axes, &n_axes, st)) return -1;
  int64_t wd[NNC_MAX_RANK];
  for (int i = 0; i < n_axes; i++) wd[i] = xs.dims[axes[i]];
  norm_layout lay;
  int y =
      norm_rows(g, norm_to_last(g, in[0], axes, n_axes, &lay, st), p->epsilon, c->layer->name, st);
  y = norm_apply_affine(c, y, &p->affine, shape_make(0, n_axes, wd), st);
  return norm_from_last(g, y, &lay, st);
}

const nnc_layer_class layer_layer_normalization = {
    "LayerNormalization", "layer_normalization", 1, 1, parse, lower, NULL};
