/* PReLU(alpha_initializer, alpha_regularizer, alpha_constraint, shared_axes):
 * y = relu(x) + (-alpha) * relu(-x) (Keras 3's PReLU.call) with a trainable
 * weight p_re_lu/alpha shaped like one sample, 1 on the shared axes.
 * The weight broadcasts along its last axes only: the axes it keeps (not
 * shared, longer than 1) must follow every shared axis, which covers no
 * sharing and the channels-last convolution case shared_axes=[1, 2];
 * other layouts are refused. */
#include <stdlib.h>
#include <string.h>

#include "compiler/layers/layer.h"

typedef struct prelu_params {
  nnc_spec_init init;
  nnc_spec_regularizer regularizer;
  nnc_spec_constraint constraint;
  int n_shared;
  int64_t shared[NNC_MAX_RANK]; /* axes counting the batch axis as 0, as Keras's config */
  char path[NNC_PATH_MAX];      /* of shared_axes, for errors found at lowering */
} prelu_params;

static int parse_shared(const spec_ctx *ctx, const cJSON *item, prelu_params *p) {
  if (spec_is_absent(item)) return NNC_OK;
  const cJSON *one = item;
  int n = cJSON_IsArray(item) ? cJSON_GetArraySize(item) : 1;
  if (n > NNC_MAX_RANK)
    return spec_fail_expected(ctx, p->path, item, "at most %d axes", NNC_MAX_RANK);
  for (int i = 0; i < n; i++) {
    char path[NNC_PATH_MAX];
    if (cJSON_IsArray(item)) {
      one = cJSON_GetArrayItem(item, i);
      spec_path_index(path, p->path, i);
    } else {
      memcpy(path, p->path, sizeof path);
    }
    /* range first: converting a double beyond int64 to int64 is undefined */
    if (!cJSON_IsNumber(one) || !(one->valuedouble >= 1) || one->valuedouble >= NNC_MAX_RANK ||
        one->valuedouble != (double)(int64_t)one->valuedouble)
      return spec_fail_expected(ctx, path, one,
                                "an axis after the batch axis (a positive integer below %d)",
                                NNC_MAX_RANK);
    p->shared[p->n_shared++] = (int64_t)one->valuedouble;
  }
  return NNC_OK;
}

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  prelu_params p;
  memset(&p, 0, sizeof p);
  char path[NNC_PATH_MAX];
  int rc;
  spec_path_key(path, cfg_path, "alpha_initializer");
  if ((rc = spec_parse_init(ctx, spec_child(cfg, "alpha_initializer"), path, "zeros", &p.init)))
    return rc;
  spec_path_key(path, cfg_path, "alpha_regularizer");
  if ((rc =
           spec_parse_regularizer(ctx, spec_child(cfg, "alpha_regularizer"), path, &p.regularizer)))
    return rc;
  spec_path_key(path, cfg_path, "alpha_constraint");
  if ((rc = spec_parse_constraint(ctx, spec_child(cfg, "alpha_constraint"), path, &p.constraint)))
    return rc;
  spec_path_key(p.path, cfg_path, "shared_axes");
  if ((rc = parse_shared(ctx, spec_child(cfg, "shared_axes"), &p))) return rc;
  out->params = malloc(sizeof p);
  if (!out->params) return nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory");
  *(prelu_params *)out->params = p;
  return NNC_OK;
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  const prelu_params *p = c->layer->params;
  nnc_graph *g = &c->l->forward;
  const nnc_shape *s = &g->nodes[in[0]].shape;
  char have[64];
  shape_format(s, have, sizeof have);
  if (!s->batched || s->rank < 2)
    return layer_fail(c, st, "PReLU \"%s\" needs an input with a batch axis, got %s",
                      c->layer->name, have);
  /* the weight's shape: one sample's, 1 on the shared axes */
  int64_t alpha_dims[NNC_MAX_RANK];
  int shared[NNC_MAX_RANK] = {0};
  for (int i = 0; i < p->n_shared; i++) {
    if (p->shared[i] >= s->rank)
      return layer_fail(c, st,
                        "config.shared_axes holds axis %lld, beyond the input %s of PReLU \"%s\"",
                        (long long)p->shared[i], have, c->layer->name);
    shared[p->shared[i]] = 1;
  }
  int64_t kept = 1, last_shared = 0, first_kept = s->rank;
  for (int a = 1; a < s->rank; a++) {
    alpha_dims[a - 1] = shared[a] ? 1 : s->dims[a];
    if (s->dims[a] == 1) continue;
    if (shared[a])
      last_shared = a;
    else {
      kept *= s->dims[a];
      if (first_kept == s->rank) first_kept = a;
    }
  }
  if (last_shared > first_kept) { /* the key's path, not the call's */
    nnc_fail(st, NNC_ERR_SPEC,
             "%s: %s: PReLU \"%s\" shares axis %lld after the unshared axis %lld of its input "
             "%s; only shared axes before every unshared one are supported yet",
             c->spec->source, p->path, c->layer->name, (long long)last_shared,
             (long long)first_kept, have);
    return -1;
  }
  int alpha = layer_param(c, "alpha", shape_make(0, s->rank - 1, alpha_dims), &p->init, st);
  if (layer_param_extras(c, alpha, &p->regularizer, &p->constraint, st) < 0) return -1;
  /* x as [B, rest, kept] so that alpha, as [kept], broadcasts along the last axis */
  int64_t d3[3] = {-1, shape_inner(s) / kept, kept};
  int x = layer_reshape_node(g, in[0], shape_make(1, 3, d3), st);
  int a = graph_reshape(g, alpha, shape_make(0, 1, &kept), st);
  int pos = graph_unary(g, NNC_FN_RELU, x, st);
  int neg = graph_unary(g, NNC_FN_RELU, graph_unary(g, NNC_FN_NEG, x, st), st);
  int y =
      graph_binary(g, NNC_BIN_ADD, pos,
                   graph_binary(g, NNC_BIN_MUL, graph_unary(g, NNC_FN_NEG, a, st), neg, st), st);
  layer_label(g, y, c->layer->name, "prelu");
  y = layer_reshape_node(g, y, *s, st);
  return y;
}

const nnc_layer_class layer_p_re_lu = {"PReLU", "p_re_lu", 1, 1, parse, lower, NULL};
