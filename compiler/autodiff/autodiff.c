/* Reverse mode: walk the nodes from the loss down, applying each op's
 * gradient rule and summing contributions where a value has several users. */
#include "compiler/autodiff/autodiff.h"

#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "compiler/ops/op.h"

typedef nnc_grad_ctx ad;

int grad_unbroadcast(ad *a, int d, nnc_bcast mode) {
  if (d < 0) return -1;
  switch (mode) {
  case NNC_BCAST_FULL:
    return d;
  case NNC_BCAST_SCALAR:
    return graph_reduce(a->g, NNC_RED_ALL, d, a->st);
  case NNC_BCAST_LAST:
    return graph_reduce(a->g, NNC_RED_LEADING, d, a->st);
  case NNC_BCAST_ROW:
    return graph_reduce(a->g, NNC_RED_LAST, d, a->st);
  }
  return -1;
}

int grad_accumulate(ad *a, int target, int contribution) {
  if (contribution < 0) return -1;
  if (!a->needs[target]) return 0;
  if (a->grad[target] < 0) {
    a->grad[target] = contribution;
  } else {
    a->grad[target] = graph_binary(a->g, NNC_BIN_ADD, a->grad[target], contribution, a->st);
    if (a->grad[target] < 0) return -1;
  }
  return 0;
}

int grad_lowered_first(ad *a, const nnc_node *n, int id, int dy) {
  (void)id, (void)dy;
  return nnc_fail(a->st, NNC_ERR_INTERNAL, "%s must be lowered before autodiff", op_name(n->op)),
         -1;
}

/* each op's gradient rule: compiler/ops/<op>.c */
static int node_grads(ad *a, int id) {
  nnc_node n = a->g->nodes[id]; /* copy: appending may move the array */
  const nnc_op_def *def = op_def(n.op);
  return def->grad ? def->grad(a, &n, id, a->grad[id]) : 0;
}

static int differentiable(const nnc_node *n) {
  if (n->flags & NNC_NODE_NO_GRAD) return 0;
  const nnc_op_def *def = op_def(n->op);
  return def->differentiable ? def->differentiable(n) : !def->no_grad;
}

int autodiff_backward(nnc_graph *g, const nnc_program *prog, int *grads, nnc_status *st) {
  if (g->loss < 0) return nnc_fail(st, NNC_ERR_INTERNAL, "autodiff: the graph has no loss");
  int n_forward = g->n;
  ad a = {g, NULL, NULL, st};
  a.grad = nnc_calloc((size_t)n_forward, sizeof *a.grad, st);
  a.needs = nnc_calloc((size_t)n_forward, 1, st);
  if (!a.grad || !a.needs) goto fail;
  for (int i = 0; i < n_forward; i++) {
    nnc_node *n = &g->nodes[i];
    a.grad[i] = -1;
    if (n->dead || !differentiable(n)) continue;
    if (n->op == NNC_OP_PARAM) a.needs[i] = 1;
    for (int k = 0; k < n->n_in; k++) a.needs[i] |= a.needs[n->in[k]];
  }
  a.grad[g->loss] = graph_const(g, 1.0, st);
  if (a.grad[g->loss] < 0) goto fail;
  for (int i = g->loss; i >= 0; i--) {
    if (a.grad[i] < 0 || !a.needs[i] || g->nodes[i].dead) continue;
    int first_new = g->n;
    if (node_grads(&a, i)) goto fail;
    for (int j = first_new; j < g->n; j++) {
      g->nodes[j].phase = NNC_PHASE_TRAIN;
      if (!g->nodes[j].label[0])
        snprintf(g->nodes[j].label, sizeof g->nodes[j].label, "grad %.85s",
                 g->nodes[i].label[0] ? g->nodes[i].label : op_name(g->nodes[i].op));
    }
  }
  for (int p = 0; p < prog->n_params; p++) grads[p] = -1;
  for (int i = 0; i < n_forward; i++)
    if (g->nodes[i].op == NNC_OP_PARAM && !g->nodes[i].dead)
      grads[g->nodes[i].params.index] = a.grad[i];
  free(a.grad);
  free(a.needs);
  return graph_verify(g, "autodiff", st);
fail:
  free(a.grad);
  free(a.needs);
  if (st->code == NNC_OK) nnc_fail(st, NNC_ERR_INTERNAL, "autodiff failed");
  return st->code;
}
