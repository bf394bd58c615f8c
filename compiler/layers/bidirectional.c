/* Bidirectional(layer, merge_mode, backward_layer): a forward and a backward
 * copy of an LSTM, GRU or SimpleRNN on the same sequence (Keras 3's
 * bidirectional.py). The forward copy is named "forward_<name>", the backward
 * one "backward_<name>" with go_backwards flipped, unless backward_layer gives
 * its config; their weights are "<bidirectional>/<forward_lstm>/lstm_cell/...".
 * With return_sequences the backward sequence is turned back into time order
 * and, as Keras forces zero_output_for_mask, masked steps output zeros
 * (rnn_lower_one); without, each side's last output is zeros when no step
 * is kept, even from an initial state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/layers/rnn_layer.h"
#include "compiler/ops/rnn_cell.h"

typedef enum { MERGE_CONCAT, MERGE_SUM, MERGE_MUL, MERGE_AVE, MERGE_NONE } merge_mode;

typedef struct bidi_params {
  rnn_config fwd, bwd;
  merge_mode merge;
} bidi_params;

static const char *const cell_names[] = {"simple_rnn_cell", "lstm_cell", "gru_cell"};
static const char *const class_prefix[] = {"simple_rnn", "lstm", "gru"};

static int parse_inner(const spec_ctx *ctx, const cJSON *obj, const char *path, rnn_config *out) {
  const char *cls = spec_class_name(obj);
  int cell = rnn_cell_of_class(cls);
  if (cell < 0)
    return spec_fail(ctx, path,
                     "Bidirectional wraps an LSTM, GRU or SimpleRNN layer here, got %s%s%s",
                     cls ? "\"" : "", cls ? cls : "no class_name", cls ? "\"" : "");
  char cfg_path[NNC_PATH_MAX];
  spec_path_key(cfg_path, path, "config");
  int rc = rnn_parse_config(ctx, spec_child(obj, "config"), cfg_path, (nnc_rnn_cell)cell, out);
  if (rc) return rc;
  if (out->activity_reg.kind != NNC_REG_NONE)
    return spec_fail(ctx, cfg_path,
                     "activity_regularizer on the layer inside Bidirectional is not supported yet");
  if (!out->name[0]) nnc_strlcpy(out->name, class_prefix[cell], sizeof out->name);
  return NNC_OK;
}

/* "<prefix><name without prefix>" (Keras's utils.removeprefix) */
static void renamed(char *dst, const char *prefix, const char *name) {
  size_t n = strlen(prefix);
  if (!strncmp(name, prefix, n)) name += n;
  /* a name too long for NNC_NAME_MAX keeps its prefix and loses its tail,
   * as every other layer name does at parse time */
  char buf[NNC_NAME_MAX];
  nnc_strlcpy(buf, prefix, sizeof buf);
  size_t used = strlen(buf);
  nnc_strlcpy(buf + used, name, sizeof buf - used);
  nnc_strlcpy(dst, buf, NNC_NAME_MAX);
}

static int parse(const spec_ctx *ctx, const cJSON *cfg, const char *cfg_path, nnc_spec_layer *out) {
  char path[NNC_PATH_MAX];
  bidi_params p;
  memset(&p, 0, sizeof p);
  spec_path_key(path, cfg_path, "layer");
  const cJSON *layer = spec_child(cfg, "layer");
  if (!cJSON_IsObject(layer)) return spec_fail_expected(ctx, path, layer, "a layer object");
  int rc = parse_inner(ctx, layer, path, &p.fwd);
  if (rc) return rc;
  spec_path_key(path, cfg_path, "backward_layer");
  const cJSON *back = spec_child(cfg, "backward_layer");
  if (!spec_is_absent(back)) {
    if (!cJSON_IsObject(back)) return spec_fail_expected(ctx, path, back, "a layer object");
    if ((rc = parse_inner(ctx, back, path, &p.bwd))) return rc;
    if (p.bwd.go_backwards == p.fwd.go_backwards ||
        p.bwd.return_sequences != p.fwd.return_sequences ||
        p.bwd.return_state != p.fwd.return_state)
      return spec_fail(ctx, path,
                       "the backward layer must differ from the forward one in go_backwards and "
                       "agree in return_sequences and return_state");
  } else {
    /* Keras 3 builds the backward copy with go_backwards = True and then
     * refuses equal directions; Keras 2 and tfjs flip the forward's value. */
    if (p.fwd.go_backwards && ctx->format == NNC_FORMAT_KERAS3) {
      spec_path_key(path, cfg_path, "layer");
      return spec_fail(ctx, path,
                       "a forward layer with go_backwards true needs a backward_layer with "
                       "go_backwards false (Keras 3 refuses two backward layers)");
    }
    p.bwd = p.fwd;
    p.bwd.go_backwards = !p.fwd.go_backwards;
    renamed(p.bwd.name, "backward_", p.fwd.name);
  }
  renamed(p.fwd.name, "forward_", p.fwd.name);
  /* Keras 3 forces zero_output_for_mask = return_sequences on both sides */
  p.fwd.zero_output_for_mask = p.fwd.return_sequences;
  p.bwd.zero_output_for_mask = p.bwd.return_sequences;
  spec_path_key(path, cfg_path, "merge_mode");
  const cJSON *m = spec_child(cfg, "merge_mode");
  static const char *const modes[] = {"concat", "sum", "mul", "ave"};
  p.merge = MERGE_CONCAT;
  if (cJSON_IsNull(m)) {
    p.merge = MERGE_NONE;
  } else if (m) {
    int found = -1;
    for (int i = 0; i < 4; i++)
      if (cJSON_IsString(m) && !strcmp(m->valuestring, modes[i])) found = i;
    if (found < 0)
      return spec_fail_expected(ctx, path, m, "one of \"concat\", \"sum\", \"mul\", \"ave\", null");
    p.merge = (merge_mode)found;
  }
  out->params = malloc(sizeof p);
  if (!out->params) return nnc_fail(ctx->st, NNC_ERR_NOMEM, "out of memory");
  *(bidi_params *)out->params = p;
  return NNC_OK;
}

static int one_side(layer_call *c, const rnn_config *r, int x, const int *init, int mask, int *out,
                    nnc_status *st) {
  char scope[2 * NNC_NAME_MAX + 32];
  snprintf(scope, sizeof scope, "%s/%s", r->name, cell_names[r->cell]);
  return rnn_lower_one(c, r, x, scope, r->go_backwards, init, mask, out, st);
}

static int lower(layer_call *c, const int *in, int n_in, nnc_status *st) {
  (void)n_in;
  const bidi_params *p = c->layer->params;
  nnc_graph *g = &c->l->forward;
  int s = p->fwd.cell == NNC_RNN_LSTM ? 2 : 1; /* states per direction */
  int initf[2], initb[2];
  for (int k = 0; k < s; k++) {
    initf[k] = layer_kwarg_tensor(c, "initial_state", k);
    initb[k] = layer_kwarg_tensor(c, "initial_state", s + k);
  }
  if (layer_kwarg_tensor(c, "initial_state", 2 * s) >= 0)
    return layer_fail(c, st,
                      "Bidirectional \"%s\" takes %d initial states (the forward layer's, then the "
                      "backward layer's), got more",
                      c->layer->name, 2 * s);
  int mask = layer_input_mask(c, 0);
  int fo[3], bo[3];
  int nf = one_side(c, &p->fwd, in[0], initf, mask, fo, st);
  int nb = nf < 0 ? -1 : one_side(c, &p->bwd, in[0], initb, mask, bo, st);
  if (nb < 0) return -1;
  int y = fo[0], yr = bo[0];
  if (p->fwd.return_sequences) {
    /* the backward sequence is in processed order: back to time order */
    yr = graph_reverse_axis(g, yr, 1, st);
  }
  if (y < 0 || yr < 0) return -1;
  int out = y, next = 1;
  int last = g->nodes[y].shape.rank - 1;
  switch (p->merge) {
  case MERGE_CONCAT:
    out = graph_concat(g, y, yr, last, st);
    break;
  case MERGE_SUM:
    out = graph_binary(g, NNC_BIN_ADD, y, yr, st);
    break;
  case MERGE_MUL:
    out = graph_binary(g, NNC_BIN_MUL, y, yr, st);
    break;
  case MERGE_AVE:
    out = graph_binary(g, NNC_BIN_DIV, graph_binary(g, NNC_BIN_ADD, y, yr, st),
                       graph_const(g, 2.0, st), st);
    break;
  case MERGE_NONE:
    if (layer_set_extra_output(c, next++, yr, st) < 0) return -1;
    break;
  }
  if (out < 0) return -1;
  layer_label(g, out, c->layer->name, "merge");
  if (p->fwd.return_state) {
    for (int k = 1; k < nf; k++)
      if (layer_set_extra_output(c, next++, fo[k], st) < 0) return -1;
    for (int k = 1; k < nb; k++)
      if (layer_set_extra_output(c, next++, bo[k], st) < 0) return -1;
  }
  layer_set_output_mask(c, p->fwd.return_sequences ? mask : -1);
  return out;
}

const nnc_layer_class layer_bidirectional = {"Bidirectional", "bidirectional", 1,   1,
                                             parse,           lower,           NULL};
