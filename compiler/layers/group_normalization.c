/* GroupNormalization (Keras 3): the channels of `axis` split into `groups`
 * groups of C/groups; per sample and group, (x - mean) / sqrt(var + epsilon)
 * over the group's channels and every other non-batch axis, then * gamma +
 * beta per channel. Lowered as [B, S, G, C/G] -> [B, G, S * C/G], a per-row
 * normalization, and back. The same in training and inference. */
#include <stdlib.h>

#include "compiler/layers/norm_util.h"

typedef struct gn_params {
  int64_t groups;
  norm_axes axis;
  double epsilon;
  norm_affine affine;
} gn_params;

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  gn_params p = {0};
  char path[NNC_PATH_MAX];
  int rc;
  spec_path_key(path, cfg_path, "groups");
  const cJSON *groups = spec_child(cfg, "groups");
  if (spec_is_absent(groups))
    p.groups = 32;
  else if ((rc = spec_positive_int(ctx, groups, path, &p.groups)))
    return rc;
  if ((rc = norm_parse_axes(ctx, cfg, cfg_path, "axis", -1, &p.axis))) return rc;
  if (p.axis.n != 1) {
    spec_path_key(path, cfg_path, "axis");
    return spec_fail_expected(ctx, path, spec_child(cfg, "axis"), "one integer axis");
  }
  if ((rc = spec_get_float32(ctx, cfg, cfg_path, "epsilon", 1e-3, &p.epsilon))) return rc;
  if (!(p.epsilon > 0.0)) {
    spec_path_key(path, cfg_path, "epsilon");
    return spec_fail_expected(ctx, path, spec_child(cfg, "epsilon"), "a positive number");
  }
  if ((rc = norm_parse_affine(ctx, cfg, cfg_path, &p.affine))) return rc;
  out->params = malloc(sizeof p);
  if (!out->params) return nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory");
  *(gn_params *)out->params = p;
  return NNC_OK;
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  const gn_params *p = c->layer->params;
  nnc_graph *g = &c->l->forward;
  nnc_shape xs = g->nodes[in[0]].shape;
  int axis, n_axes;
  if (norm_resolve_axes(c, &p->axis, &xs, &axis, &n_axes, st)) return -1;
  int64_t ch = xs.dims[axis], groups = p->groups;
  if (ch < groups || ch % groups)
    return layer_fail(c, st,
                      "GroupNormalization \"%s\": the %lld channels of axis %d cannot be split "
                      "into %lld groups of the same size (key groups)",
                      c->layer->name, (long long)ch, axis, (long long)groups);
  norm_layout lay;
  int x = norm_to_last(g, in[0], &axis, 1, &lay, st);
  int64_t s = lay.rest, per = ch / groups;
  int64_t split[4] = {-1, s, groups, per}, rows[3] = {-1, groups, s * per};
  int y = graph_reshape(g, x, shape_make(1, 4, split), st);
  static const int swap[4] = {0, 2, 1, 3}; /* [B, S, G, C/G] <-> [B, G, S, C/G] */
  if (s > 1) y = graph_permute(g, y, swap, st);
  y = norm_rows(g, graph_reshape(g, y, shape_make(1, 3, rows), st), p->epsilon, c->layer->name, st);
  int64_t grouped[4] = {-1, groups, s, per};
  if (s > 1) y = graph_permute(g, graph_reshape(g, y, shape_make(1, 4, grouped), st), swap, st);
  y = graph_reshape(g, y, lay.permuted, st);
  y = norm_apply_affine(c, y, &p->affine, shape_make(0, 1, &ch), st);
  return norm_from_last(g, y, &lay, st);
}

const nnc_layer_class layer_group_normalization = {
    "GroupNormalization", "group_normalization", 1, 1, parse, lower, NULL};
