/* MultiHeadAttention (Keras 3) on query [B, T, dq], value [B, S, dv] and key
 * [B, S, dk] (key defaults to value):
 *   Q = query @ query/kernel + query/bias    kernel [dq, H, key_dim]
 *   K = key @ key/kernel + key/bias          kernel [dk, H, key_dim]
 *   V = value @ value/kernel + value/bias    kernel [dv, H, value_dim]
 *   per head h: P_h = softmax(Q_h / sqrt(key_dim) K_h^T + mask bias)   [B, T, S]
 *               O_h = dropout(P_h) V_h                                  [B, T, value_dim]
 *   out = concat_h(O_h) @ attention_output/kernel + attention_output/bias
 *         kernel [H, value_dim, E], E = output_shape or dq.
 * The kernels are used as [d, H * size] matrices (the same memory), so each
 * projection is one matmul; the heads are slices of it, one batch matmul
 * pair per head. The mask (query, value and key masks, the causal mask, the
 * attention_mask argument, all ANDed) biases masked scores by -1e9 as
 * Keras's Softmax does. return_attention_scores gives [B, H, T, S], the
 * probabilities before dropout. Only the default attention axes (the step
 * axis of rank-3 inputs) are supported. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/layers/attention_core.h"
#include "compiler/layers/layer_io.h"

typedef struct mha_params {
  int64_t heads, key_dim, value_dim;
  int64_t out_dim; /* output_shape; 0: the query's feature size */
  double dropout;
  int use_bias;
  int has_axes;
  int64_t axis; /* the one attention axis given, as written */
  char axes_path[NNC_PATH_MAX];
  nnc_spec_init kernel_init, bias_init;
  nnc_spec_regularizer kernel_reg, bias_reg;
  nnc_spec_constraint kernel_constraint, bias_constraint;
} mha_params;

static int parse_output_shape(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                              mha_params *p) {
  char path[NNC_PATH_MAX];
  spec_path_key(path, cfg_path, "output_shape");
  const cJSON *os = spec_child(cfg, "output_shape");
  if (spec_is_absent(os)) return NNC_OK;
  if (cJSON_IsArray(os)) {
    if (cJSON_GetArraySize(os) != 1)
      return spec_fail_unsupported(ctx, path, os,
                                   "an output_shape of one size (several output axes are not "
                                   "supported yet)");
    char item[NNC_PATH_MAX];
    spec_path_index(item, path, 0);
    return spec_positive_int(ctx, cJSON_GetArrayItem(os, 0), item, &p->out_dim);
  }
  return spec_positive_int(ctx, os, path, &p->out_dim);
}

/* null, an int or a list of one int (checked against the rank at lowering) */
static int parse_axes(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, mha_params *p) {
  spec_path_key(p->axes_path, cfg_path, "attention_axes");
  const cJSON *a = spec_child(cfg, "attention_axes");
  if (spec_is_absent(a)) return NNC_OK;
  if (cJSON_IsArray(a) && cJSON_GetArraySize(a) == 1) a = cJSON_GetArrayItem(a, 0);
  /* range first: converting 1e30 to int64 would be undefined */
  if (!cJSON_IsNumber(a) || !(fabs(a->valuedouble) < 2 * NNC_MAX_RANK) ||
      a->valuedouble != floor(a->valuedouble))
    return spec_fail_unsupported(ctx, p->axes_path, spec_child(cfg, "attention_axes"),
                                 "null or the one step axis 1 (attention over several axes is "
                                 "not supported yet)");
  p->has_axes = 1;
  p->axis = (int64_t)a->valuedouble;
  return NNC_OK;
}

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  mha_params p = {.use_bias = 1};
  char path[NNC_PATH_MAX];
  int rc;
  spec_path_key(path, cfg_path, "num_heads");
  if ((rc = spec_positive_int(ctx, spec_child(cfg, "num_heads"), path, &p.heads))) return rc;
  spec_path_key(path, cfg_path, "key_dim");
  if ((rc = spec_positive_int(ctx, spec_child(cfg, "key_dim"), path, &p.key_dim))) return rc;
  p.value_dim = p.key_dim;
  spec_path_key(path, cfg_path, "value_dim");
  const cJSON *vd = spec_child(cfg, "value_dim");
  if (!spec_is_absent(vd) && (rc = spec_positive_int(ctx, vd, path, &p.value_dim))) return rc;
  if ((rc = spec_get_number(ctx, cfg, cfg_path, "dropout", 0.0, &p.dropout))) return rc;
  if (!(p.dropout >= 0.0 && p.dropout < 1.0)) {
    spec_path_key(path, cfg_path, "dropout");
    return spec_fail_expected(ctx, path, spec_child(cfg, "dropout"), "a number in [0, 1)");
  }
  if ((rc = spec_get_bool(ctx, cfg, cfg_path, "use_bias", 1, &p.use_bias))) return rc;
  if ((rc = parse_output_shape(ctx, cfg, cfg_path, &p))) return rc;
  if ((rc = parse_axes(ctx, cfg, cfg_path, &p))) return rc;
  spec_path_key(path, cfg_path, "kernel_initializer");
  if ((rc = spec_parse_init(ctx, spec_child(cfg, "kernel_initializer"), path, "glorot_uniform",
                            &p.kernel_init)))
    return rc;
  spec_path_key(path, cfg_path, "bias_initializer");
  if ((rc = spec_parse_init(ctx, spec_child(cfg, "bias_initializer"), path, "zeros", &p.bias_init)))
    return rc;
  spec_path_key(path, cfg_path, "kernel_regularizer");
  if ((rc =
           spec_parse_regularizer(ctx, spec_child(cfg, "kernel_regularizer"), path, &p.kernel_reg)))
    return rc;
  spec_path_key(path, cfg_path, "bias_regularizer");
  if ((rc = spec_parse_regularizer(ctx, spec_child(cfg, "bias_regularizer"), path, &p.bias_reg)))
    return rc;
  spec_path_key(path, cfg_path, "kernel_constraint");
  if ((rc = spec_parse_constraint(ctx, spec_child(cfg, "kernel_constraint"), path,
                                  &p.kernel_constraint)))
    return rc;
  spec_path_key(path, cfg_path, "bias_constraint");
  if ((rc = spec_parse_constraint(ctx, spec_child(cfg, "bias_constraint"), path,
                                  &p.bias_constraint)))
    return rc;
  /* Keras gives it to each of the four projections: refused until needed */
  if ((rc = spec_require_null(ctx, cfg, cfg_path, "activity_regularizer",
                              "activity_regularizer on MultiHeadAttention")))
    return rc;
  int has_seed;
  int64_t seed;
  if ((rc = spec_get_seed(ctx, cfg, cfg_path, "seed", &has_seed, &seed))) return rc;
  out->params = malloc(sizeof p);
  if (!out->params) return nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory");
  *(mha_params *)out->params = p;
  return NNC_OK;
}

/* A weight of the projection `proj` ("query/kernel"...) with its extras. */
static int weight(layer_call *c, const char *proj, const char *what, nnc_shape shape, int kernel,
                  nnc_status *st) {
  const mha_params *p = c->layer->params;
  char name[NNC_NAME_MAX];
  snprintf(name, sizeof name, "%s/%s", proj, what);
  int w = layer_param(c, name, shape, kernel ? &p->kernel_init : &p->bias_init, st);
  return layer_param_extras(c, w, kernel ? &p->kernel_reg : &p->bias_reg,
                            kernel ? &p->kernel_constraint : &p->bias_constraint, st);
}

/* x [B, L, d] @ kernel [d, H, size] (+ bias [H, size]) -> [B, L, H * size] */
static int project(layer_call *c, int x, const char *proj, int64_t size, nnc_status *st) {
  const mha_params *p = c->layer->params;
  nnc_graph *g = &c->l->forward;
  int64_t d = shape_last(&g->nodes[x].shape), kd[3] = {d, p->heads, size};
  int64_t flat[2] = {d, p->heads * size};
  int w = weight(c, proj, "kernel", shape_make(0, 3, kd), 1, st);
  if (w < 0) return -1;
  int h = graph_matmul(g, x, graph_reshape(g, w, shape_make(0, 2, flat), st), st);
  if (h >= 0 && p->use_bias) {
    int b = weight(c, proj, "bias", shape_make(0, 2, kd + 1), 0, st);
    if (b < 0) return -1;
    h = graph_binary(g, NNC_BIN_ADD, h, graph_reshape(g, b, shape_make(0, 1, flat + 1), st), st);
  }
  layer_label(g, h, c->layer->name, proj);
  return h;
}

/* concat_h(O_h) [B, T, H * value_dim] @ kernel [H, value_dim, E] (+ bias [E]) */
static int output_projection(layer_call *c, int o, int64_t e, nnc_status *st) {
  const mha_params *p = c->layer->params;
  nnc_graph *g = &c->l->forward;
  int64_t kd[3] = {p->heads, p->value_dim, e}, flat[2] = {p->heads * p->value_dim, e};
  int w = weight(c, "attention_output", "kernel", shape_make(0, 3, kd), 1, st);
  if (w < 0) return -1;
  int h = graph_matmul(g, o, graph_reshape(g, w, shape_make(0, 2, flat), st), st);
  if (h >= 0 && p->use_bias) {
    int b = weight(c, "attention_output", "bias", shape_make(0, 1, &e), 0, st);
    if (b < 0) return -1;
    h = graph_binary(g, NNC_BIN_ADD, h, b, st);
  }
  layer_label(g, h, c->layer->name, "attention_output");
  return h;
}

/* Keras 3's MultiHeadAttention.call has no `mask` parameter (it fills
 * query_mask, value_mask and key_mask from its inputs' own masks), so a call
 * given mask= (even null) fails in Keras with "got an unexpected keyword
 * argument 'mask'": refused here, before layer_input_mask would read it. */
static int refuse_mask_kwarg(const layer_call *c, nnc_status *st) {
  const nnc_spec_call *call = c->io ? c->io->call : NULL;
  for (int k = 0; call && k < call->n_kwargs; k++)
    if (!strcmp(call->kwargs[k].name, "mask"))
      return nnc_fail(st, NNC_ERR_SPEC,
                      "%s: %s: MultiHeadAttention \"%s\" takes no mask call argument (Keras 3's "
                      "MultiHeadAttention.call has none and rejects it; it masks with the query's, "
                      "value's and key's own masks, from an Embedding with mask_zero or a Masking "
                      "layer)",
                      c->spec->source, call->kwargs[k].path, c->layer->name);
  return NNC_OK;
}

/* The [B, T, S] mask of this call (-1: none). */
static int call_mask(layer_call *c, int n_in, int64_t t, int64_t s, nnc_status *st) {
  nnc_graph *g = &c->l->forward;
  int mask = attn_query_mask(g, layer_input_mask(c, 0), s, st);
  /* value and key masks, as Keras's __call__ fills value_mask/key_mask from
   * the tensors however they are passed (Keras 3 files give them as kwargs) */
  int vm = n_in > 1 ? layer_input_mask(c, 1) : layer_kwarg_mask(c, "value", 0);
  int km = n_in > 2 ? layer_input_mask(c, 2) : layer_kwarg_mask(c, "key", 0);
  if (vm >= 0) mask = attn_and(g, mask, attn_value_mask(g, vm, t, st), st);
  if (km >= 0) mask = attn_and(g, mask, attn_value_mask(g, km, t, st), st);
  int am = layer_kwarg_tensor(c, "attention_mask", 0);
  if (am >= 0) {
    const nnc_shape *ms = &g->nodes[am].shape;
    if (!(ms->batched && ms->rank == 3 && ms->dims[1] == t && ms->dims[2] == s)) {
      char have[64];
      shape_format(ms, have, sizeof have);
      return layer_fail(c, st,
                        "expected an attention_mask of shape [batch, %lld, %lld] for "
                        "MultiHeadAttention \"%s\", got %s",
                        (long long)t, (long long)s, c->layer->name, have);
    }
    mask = attn_and(g, mask, attn_bool(g, am, st), st);
  }
  return mask;
}

/* [B, T, S] -> [B, 1, T, S], to stack the heads' scores */
static int as_head(nnc_graph *g, int x, nnc_status *st) {
  const nnc_shape *s = &g->nodes[x].shape;
  int64_t dims[4] = {-1, 1, s->dims[1], s->dims[2]};
  return graph_reshape(g, x, shape_make(1, 4, dims), st);
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  const mha_params *p = c->layer->params;
  nnc_graph *g = &c->l->forward;
  if (refuse_mask_kwarg(c, st)) return -1;
  int query = in[0];
  int value = n_in > 1 ? in[1] : layer_kwarg_tensor(c, "value", 0);
  int key = n_in > 2 ? in[2] : layer_kwarg_tensor(c, "key", 0);
  if (value < 0)
    return layer_fail(c, st,
                      "expected a value tensor for MultiHeadAttention \"%s\" (a second input or "
                      "the value argument)",
                      c->layer->name);
  if (key < 0) key = value;
  if (attn_check_rank3(c, query, "query", st) || attn_check_rank3(c, value, "value", st) ||
      attn_check_rank3(c, key, "key", st))
    return -1;
  /* attention_axes: only the step axis (axis 1 of the projected rank-4
   * tensors, -2 counted from their last axis but one) */
  if (p->has_axes && !(p->axis == 1 || p->axis == -2)) { /* the key's path, not the call's */
    nnc_fail(st, NNC_ERR_SPEC,
             "%s: %s: expected null or the step axis 1 for MultiHeadAttention \"%s\" on "
             "rank-3 inputs, got %lld (other attention axes are not supported yet)",
             c->spec->source, p->axes_path, c->layer->name, (long long)p->axis);
    return -1;
  }
  int64_t t = g->nodes[query].shape.dims[1], s = g->nodes[value].shape.dims[1];
  if (g->nodes[key].shape.dims[1] != s)
    return layer_fail(c, st,
                      "expected a key with as many steps as the value for MultiHeadAttention "
                      "\"%s\", got %lld and %lld",
                      c->layer->name, (long long)g->nodes[key].shape.dims[1], (long long)s);
  int64_t e = p->out_dim ? p->out_dim : shape_last(&g->nodes[query].shape);
  int want_scores = layer_kwarg_bool(c, "return_attention_scores", 0);
  int causal = layer_kwarg_bool(c, "use_causal_mask", 0);

  int q = project(c, query, "query", p->key_dim, st);
  int k = project(c, key, "key", p->key_dim, st);
  int v = project(c, value, "value", p->value_dim, st);
  if (q < 0 || k < 0 || v < 0) return -1;
  q = graph_binary(g, NNC_BIN_MUL, q, graph_const(g, 1.0 / sqrt((double)p->key_dim), st), st);
  int mask = call_mask(c, n_in, t, s, st);
  if (mask < 0 && st->code) return -1;

  int heads_out = -1, scores_out = -1;
  for (int64_t h = 0; h < p->heads; h++) {
    int qh = p->heads > 1 ? graph_slice(g, q, 2, h * p->key_dim, p->key_dim, st) : q;
    int kh = p->heads > 1 ? graph_slice(g, k, 2, h * p->key_dim, p->key_dim, st) : k;
    int vh = p->heads > 1 ? graph_slice(g, v, 2, h * p->value_dim, p->value_dim, st) : v;
    int scores = graph_batch_matmul_t(g, qh, kh, 0, 1, st);
    if (scores < 0) return -1;
    if (causal && h == 0) mask = attn_and(g, mask, attn_causal_mask(g, scores, st), st);
    int probs = attn_masked_softmax(g, scores, mask, st);
    layer_label(g, probs, c->layer->name, "attention_scores");
    if (want_scores)
      scores_out = scores_out < 0 ? as_head(g, probs, st)
                                  : graph_concat(g, scores_out, as_head(g, probs, st), 1, st);
    char what[48];
    snprintf(what, sizeof what, "head%lld", (long long)h);
    int oh = graph_batch_matmul_t(g, attn_dropout(c, probs, p->dropout, what, st), vh, 0, 0, st);
    heads_out = heads_out < 0 ? oh : graph_concat(g, heads_out, oh, 2, st);
    if (oh < 0 || heads_out < 0) return -1;
  }
  int out = output_projection(c, heads_out, e, st);
  if (out < 0) return -1;
  layer_set_output_mask(c, layer_input_mask(c, 0));
  if (want_scores && layer_set_extra_output(c, 1, scores_out, st) < 0) return -1;
  return out;
}

const nnc_layer_class layer_multi_head_attention = {
    "MultiHeadAttention", "multi_head_attention", 1, 3, parse, lower, NULL};
