/* Which logits the crossentropies read. Keras 3's TensorFlow backend attaches
 * the input of every sigmoid and softmax to its output (_keras_logits), and
 * binary, categorical and sparse categorical crossentropy all use it when it
 * is there, whatever from_logits says (backend/tensorflow/nn.py _get_logits):
 *   LOSS(xent, sigmoid(z) or softmax(z), y) -> LOSS(xent, z, y, from_logits)
 * So BCE after a softmax is the sigmoid crossentropy of the pre-softmax z, and
 * CCE after a sigmoid the softmax crossentropy of the pre-sigmoid z. With
 * from_logits=True Keras also warns (once per message, like Python's default
 * filter); the text names the activation the loss expects, not the one found. */
#include <string.h>

#include "compiler/graph/rewrite.h"
#include "compiler/passes/passes.h"

typedef struct logits_ctx {
  const nnc_graph *src;
  nnc_program *prog;
} logits_ctx;

static void warn(nnc_program *prog, nnc_loss_kind kind) {
  const char *fn = kind == NNC_LOSS_BCE   ? "binary_crossentropy"
                   : kind == NNC_LOSS_CCE ? "categorical_crossentropy"
                                          : "sparse_categorical_crossentropy";
  char text[NNC_WARNING_MAX];
  snprintf(text, sizeof text,
           "\"`%s` received `from_logits=True`, but the `output` argument was produced by a %s "
           "activation and thus does not represent logits. Was this intended?",
           fn, kind == NNC_LOSS_BCE ? "Sigmoid" : "Softmax");
  for (int i = 0; i < prog->n_warnings; i++)
    if (!strcmp(prog->warnings[i], text)) return;
  if (prog->n_warnings < NNC_MAX_WARNINGS)
    memcpy(prog->warnings[prog->n_warnings++], text, sizeof text);
}

static int rewrite_loss(nnc_graph *dst, const nnc_node *node, const int *map, void *ctx,
                        nnc_status *st) {
  const logits_ctx *c = ctx;
  /* Keras squeezed the output (rank fix-up): a new tensor without logits */
  if (node->op != NNC_OP_LOSS || node->params.loss.squeezed) return NNC_REWRITE_COPY;
  if (node->fn != NNC_LOSS_BCE && node->fn != NNC_LOSS_CCE && node->fn != NNC_LOSS_SCCE)
    return NNC_REWRITE_COPY;
  const nnc_node *pred = &c->src->nodes[node->in[0]];
  int sigmoid = pred->op == NNC_OP_UNARY && pred->fn == NNC_FN_SIGMOID;
  if (!sigmoid && pred->op != NNC_OP_SOFTMAX) return NNC_REWRITE_COPY;
  if (node->params.loss.from_logits) warn(c->prog, (nnc_loss_kind)node->fn);
  int id = graph_loss(dst, (nnc_loss_kind)node->fn, map[pred->in[0]], map[node->in[1]], 1, 0, st);
  if (id < 0) return -1;
  snprintf(dst->nodes[id].label, sizeof dst->nodes[id].label, "%s", node->label);
  return id;
}

int pass_logits_rewrite(nnc_graph *g, nnc_program *prog, nnc_status *st) {
  nnc_graph src;
  if (graph_copy(&src, g, g->name, st)) return st->code;
  logits_ctx c = {&src, prog};
  int rc = graph_rewrite(g, rewrite_loss, &c, st);
  graph_free(&src);
  return rc ? rc : graph_verify(g, "logits", st);
}
