/* The parts Attention and AdditiveAttention share (Keras 3's Attention
 * class: _calculate_score_mask, _apply_scores, call). */
#include <stdlib.h>
#include <string.h>

#include "compiler/layers/dense_attention.h"

int dense_attention_parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path,
                          nnc_spec_layer *out, int dflt_scale, int with_mode) {
  dense_attention_params p = {0};
  char path[NNC_PATH_MAX];
  int rc;
  if ((rc = spec_get_bool(ctx, cfg, cfg_path, "use_scale", dflt_scale, &p.use_scale))) return rc;
  if ((rc = spec_get_number(ctx, cfg, cfg_path, "dropout", 0.0, &p.dropout))) return rc;
  if (!(p.dropout >= 0.0 && p.dropout < 1.0)) {
    spec_path_key(path, cfg_path, "dropout");
    return spec_fail_expected(ctx, path, spec_child(cfg, "dropout"), "a number in [0, 1)");
  }
  const cJSON *mode = spec_child(cfg, "score_mode");
  if (with_mode && !spec_is_absent(mode)) {
    spec_path_key(path, cfg_path, "score_mode");
    if (!cJSON_IsString(mode) ||
        (strcmp(mode->valuestring, "dot") != 0 && strcmp(mode->valuestring, "concat") != 0))
      return spec_fail_expected(ctx, path, mode, "\"dot\" or \"concat\"");
    p.concat = strcmp(mode->valuestring, "concat") == 0;
  }
  int has_seed;
  int64_t seed;
  if ((rc = spec_get_seed(ctx, cfg, cfg_path, "seed", &has_seed, &seed))) return rc;
  out->params = malloc(sizeof p);
  if (!out->params) return nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory");
  *(dense_attention_params *)out->params = p;
  return NNC_OK;
}

int dense_attention_pair_sum(nnc_graph *g, int q, int k, nnc_status *st) {
  int64_t tq = g->nodes[q].shape.dims[1], tv = g->nodes[k].shape.dims[1];
  int qx = graph_repeat_axis(g, q, 2, tv, st), kx = graph_repeat_axis(g, k, 1, tq, st);
  return graph_binary(g, NNC_BIN_ADD, qx, kx, st);
}

/* Mask k of the call: the mask argument's item k (checked against input k,
 * a null item is no mask, as Keras uses an explicit mask as given), else
 * input k's mask. */
static int input_mask(const layer_call *c, int k) {
  return layer_input_mask(c, k);
}

int dense_attention_lower(layer_call *c, const int *in, int n_in, dense_attention_scores scores,
                          nnc_status *st) {
  const dense_attention_params *p = c->layer->params;
  const char *cls = layer_class(c->layer->kind)->class_name;
  nnc_graph *g = &c->l->forward;
  int query = in[0], value = in[1], key = n_in > 2 ? in[2] : in[1];
  if (attn_check_rank3(c, query, "query", st) || attn_check_rank3(c, value, "value", st) ||
      attn_check_rank3(c, key, "key", st))
    return -1;
  const nnc_shape *qs = &g->nodes[query].shape, *vs = &g->nodes[value].shape,
                  *ks = &g->nodes[key].shape;
  if (qs->dims[2] != ks->dims[2] || vs->dims[1] != ks->dims[1])
    return layer_fail(c, st,
                      "expected a query and key of one feature size and a key and value of one "
                      "step count for %s \"%s\", got query features %lld, key [%lld steps, %lld "
                      "features], value steps %lld",
                      cls, c->layer->name, (long long)qs->dims[2], (long long)ks->dims[1],
                      (long long)ks->dims[2], (long long)vs->dims[1]);
  int64_t tq = qs->dims[1];
  int s = scores(c, query, key, st);
  if (s < 0) return -1;
  int mask = attn_value_mask(g, input_mask(c, 1), tq, st);
  if (layer_kwarg_bool(c, "use_causal_mask", 0))
    mask = attn_and(g, mask, attn_causal_mask(g, s, st), st);
  int w = attn_dropout(c, attn_masked_softmax(g, s, mask, st), p->dropout, "scores", st);
  int out = graph_batch_matmul_t(g, w, value, 0, 0, st);
  int qm = input_mask(c, 0);
  if (out >= 0 && qm >= 0) { /* zero at masked query steps */
    int64_t dv = g->nodes[out].shape.dims[2];
    out = graph_binary(g, NNC_BIN_MUL, out, graph_repeat_axis(g, attn_bool(g, qm, st), 2, dv, st),
                       st);
  }
  if (out < 0) return -1;
  layer_label(g, out, c->layer->name, "attention");
  layer_set_output_mask(c, qm);
  if (layer_kwarg_bool(c, "return_attention_scores", 0) && layer_set_extra_output(c, 1, w, st) < 0)
    return -1;
  return out;
}
