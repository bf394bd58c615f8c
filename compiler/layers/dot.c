/* Dot(axes, normalize=False) of two inputs of rank 2 or 3 (Keras 3's
 * batch_dot): the sum of products along axes[0] of the first input and
 * axes[1] of the second (an int axis is used for both; negative: from the
 * end; the batch axis is refused). The output keeps the first input's other
 * axis, then the second's: [B,d]·[B,d] -> [B,1]; [B,n,k]·[B,k,m] -> [B,n,m].
 * normalize=True L2-normalizes each input along its axis first, as Keras
 * 3's ops.normalize: x * rsqrt(max(sum(x^2), epsilon^2)), epsilon 1e-7. */
#include <stdlib.h>

#include "compiler/layers/layer_axis.h"

#define DOT_EPSILON 1e-7 /* Keras's backend.epsilon() */

typedef struct dot_params {
  int64_t axes[2];
  int normalize;
  char path[NNC_PATH_MAX]; /* of "axes", for messages at lowering */
} dot_params;

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  dot_params p = {.normalize = 0};
  spec_path_key(p.path, cfg_path, "axes");
  const cJSON *axes = spec_child(cfg, "axes");
  int rc;
  if (cJSON_IsArray(axes)) {
    if (cJSON_GetArraySize(axes) != 2)
      return spec_fail_expected(ctx, p.path, axes, "an integer axis or a list of two");
    char item[NNC_PATH_MAX];
    for (int i = 0; i < 2; i++) {
      spec_path_index(item, p.path, i);
      if ((rc = layer_parse_axis(ctx, cJSON_GetArrayItem(axes, i), item, &p.axes[i]))) return rc;
    }
  } else {
    if (!cJSON_IsNumber(axes))
      return spec_fail_expected(ctx, p.path, axes, "an integer axis or a list of two");
    if ((rc = layer_parse_axis(ctx, axes, p.path, &p.axes[0]))) return rc;
    p.axes[1] = p.axes[0];
  }
  if ((rc = spec_get_bool(ctx, cfg, cfg_path, "normalize", 0, &p.normalize))) return rc;
  out->params = malloc(sizeof p);
  if (!out->params) return nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory");
  *(dot_params *)out->params = p;
  return NNC_OK;
}

/* x * rsqrt(max(sum over axis of x^2, epsilon^2)), the norm repeated back along the axis */
static int l2_normalize(nnc_graph *g, int x, int axis, nnc_status *st) {
  int64_t len = g->nodes[x].shape.dims[axis];
  int sum = graph_reduce_axis(g, graph_binary(g, NNC_BIN_MUL, x, x, st), axis, st);
  int floor = graph_const(g, DOT_EPSILON * DOT_EPSILON, st);
  int inv = graph_unary(
      g, NNC_FN_RECIP,
      graph_unary(g, NNC_FN_SQRT, graph_binary(g, NNC_BIN_MAX, sum, floor, st), st), st);
  return graph_binary(g, NNC_BIN_MUL, x, graph_repeat_axis(g, inv, axis, len, st), st);
}

/* [B,d] -> [B,1,d] (first input) or [B,d,1] (second) */
static int as_rank3(nnc_graph *g, int x, int second, nnc_status *st) {
  if (x < 0) return -1;
  int64_t d = g->nodes[x].shape.dims[1];
  int64_t dims[3] = {-1, second ? d : 1, second ? 1 : d};
  return graph_reshape(g, x, shape_make(1, 3, dims), st);
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  const dot_params *p = c->layer->params;
  nnc_graph *g = &c->l->forward;
  nnc_shape s[2] = {g->nodes[in[0]].shape, g->nodes[in[1]].shape};
  int axis[2];
  for (int i = 0; i < 2; i++) {
    if (!s[i].batched || s[i].rank < 2 || s[i].rank > 3) {
      char have[64];
      shape_format(&s[i], have, sizeof have);
      return layer_fail(c, st, "expected inputs of rank 2 or 3 for Dot \"%s\", got %s (input %d)",
                        c->layer->name, have, i);
    }
    if ((axis[i] = layer_resolve_axis(c, p->path, p->axes[i], &s[i], st)) < 0) return -1;
  }
  if (s[0].dims[axis[0]] != s[1].dims[axis[1]]) {
    char a[64], b[64];
    shape_format(&s[0], a, sizeof a);
    shape_format(&s[1], b, sizeof b);
    return layer_fail(c, st,
                      "expected inputs whose dot axes have one size for Dot \"%s\", got %s (axis "
                      "%d) and %s (axis %d)",
                      c->layer->name, a, axis[0], b, axis[1]);
  }
  int x = in[0], y = in[1];
  if (p->normalize) {
    x = l2_normalize(g, x, axis[0], st);
    y = l2_normalize(g, y, axis[1], st);
    if (x < 0 || y < 0) return -1;
  }
  int out;
  if (s[0].rank == 2 && s[1].rank == 2) { /* [B,d]·[B,d] -> [B,1] */
    out = graph_reduce(g, NNC_RED_LAST, graph_binary(g, NNC_BIN_MUL, x, y, st), st);
  } else { /* a batch matmul, rank-2 inputs as [B,1,d] and [B,d,1] */
    if (s[0].rank == 2) x = as_rank3(g, x, 0, st), axis[0] = 2;
    if (s[1].rank == 2) y = as_rank3(g, y, 1, st), axis[1] = 1;
    out = graph_batch_matmul_t(g, x, y, axis[0] == 1, axis[1] == 2, st);
    if (out >= 0 && (s[0].rank == 2 || s[1].rank == 2)) { /* drop the added axis */
      int64_t dims[2] = {-1, s[0].rank == 2 ? g->nodes[out].shape.dims[2]
                                            : g->nodes[out].shape.dims[1]};
      out = graph_reshape(g, out, shape_make(1, 2, dims), st);
    }
  }
  layer_label(g, out, c->layer->name, "dot");
  return out;
}

const nnc_layer_class layer_dot = {"Dot", "dot", 2, 2, parse, lower, NULL};
