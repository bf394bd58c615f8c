/* Optimizer updates as graph nodes, written in the order of operations of
 * Keras 3's update_step (keras/src/optimizers/{sgd,rmsprop,adam}.py) so the
 * float32 results agree. Hyperparameters are constants (rounded to float32
 * as Keras casts them); the learning rate and step are runtime scalars. */
#include <stdlib.h>
#include <string.h>

#include "compiler/autodiff/autodiff.h"
#include "base/base.h"

typedef struct upd {
  nnc_graph *g;
  nnc_program *prog;
  int param; /* node */
  int p;     /* param index */
  nnc_status *st;
} upd;

static int k(upd *u, double v) {
  return graph_const(u->g, v, u->st);
}
static int add(upd *u, int a, int b) {
  return graph_binary(u->g, NNC_BIN_ADD, a, b, u->st);
}
static int sub(upd *u, int a, int b) {
  return graph_binary(u->g, NNC_BIN_SUB, a, b, u->st);
}
static int mul(upd *u, int a, int b) {
  return graph_binary(u->g, NNC_BIN_MUL, a, b, u->st);
}
static int div_(upd *u, int a, int b) {
  return graph_binary(u->g, NNC_BIN_DIV, a, b, u->st);
}

static int slot(upd *u, const char *suffix) {
  nnc_program *prog = u->prog;
  nnc_slot_info *grown =
      nnc_realloc_array(prog->slots, (size_t)prog->n_slots + 1, sizeof *grown, u->st);
  if (!grown) return -1;
  prog->slots = grown;
  nnc_slot_info *s = &prog->slots[prog->n_slots];
  memset(s, 0, sizeof *s);
  const nnc_param_info *p = &prog->params[u->p];
  snprintf(s->name, sizeof s->name, "%s/%s", p->name, suffix);
  s->count = p->count;
  s->offset = prog->slots_floats;
  prog->slots_floats += s->count;
  return graph_source(u->g, NNC_OP_SLOT, prog->n_slots++, p->shape, s->name, u->st);
}

static int assign(upd *u, int target, int value) {
  if (value < 0) return -1;
  int in[2] = {target, value};
  return graph_add(u->g, NNC_OP_ASSIGN, 0, in, 2, u->st);
}

static int sgd(upd *u, const nnc_spec_optimizer *o, int g, int lr) {
  if (o->momentum == 0.0) return assign(u, u->param, sub(u, u->param, mul(u, g, lr)));
  int m = slot(u, "momentum"), mu = k(u, o->momentum);
  int m_new = sub(u, mul(u, m, mu), mul(u, g, lr));
  if (assign(u, m, m_new) < 0) return -1;
  int step = o->nesterov ? sub(u, mul(u, m_new, mu), mul(u, g, lr)) : m_new;
  return assign(u, u->param, add(u, u->param, step));
}

static int rmsprop(upd *u, const nnc_spec_optimizer *o, int g, int lr) {
  int v = slot(u, "velocity"), rho = k(u, o->rho);
  int v_new = add(u, mul(u, rho, v),
                  mul(u, k(u, 1.0 - o->rho), graph_unary(u->g, NNC_FN_SQUARE, g, u->st)));
  if (assign(u, v, v_new) < 0) return -1;
  int denominator;
  if (o->centered) {
    int ag = slot(u, "average_gradient");
    int ag_new = add(u, mul(u, rho, ag), mul(u, k(u, 1.0 - o->rho), g));
    if (assign(u, ag, ag_new) < 0) return -1;
    denominator =
        add(u, sub(u, v_new, graph_unary(u->g, NNC_FN_SQUARE, ag_new, u->st)), k(u, o->epsilon));
  } else {
    denominator = add(u, v_new, k(u, o->epsilon));
  }
  int increment = div_(u, mul(u, lr, g), graph_unary(u->g, NNC_FN_SQRT, denominator, u->st));
  if (o->momentum > 0) {
    int m = slot(u, "momentum");
    int m_new = add(u, mul(u, k(u, o->momentum), m), increment);
    if (assign(u, m, m_new) < 0) return -1;
    increment = m_new;
  }
  return assign(u, u->param, sub(u, u->param, increment));
}

static int adam(upd *u, const nnc_spec_optimizer *o, int g, int lr) {
  nnc_graph *G = u->g;
  int t = graph_source(G, NNC_OP_SCALAR, NNC_SCALAR_T, shape_scalar(), "t", u->st);
  int b1p = graph_binary(G, NNC_BIN_POW, k(u, o->beta_1), t, u->st);
  int b2p = graph_binary(G, NNC_BIN_POW, k(u, o->beta_2), t, u->st);
  int one = k(u, 1.0);
  int alpha =
      div_(u, mul(u, lr, graph_unary(G, NNC_FN_SQRT, sub(u, one, b2p), u->st)), sub(u, one, b1p));
  int m = slot(u, "momentum"), v = slot(u, "velocity");
  int m_new = add(u, m, mul(u, sub(u, g, m), k(u, 1.0 - o->beta_1)));
  int v_new =
      add(u, v, mul(u, sub(u, graph_unary(G, NNC_FN_SQUARE, g, u->st), v), k(u, 1.0 - o->beta_2)));
  if (assign(u, m, m_new) < 0 || assign(u, v, v_new) < 0) return -1;
  int v_used = v_new;
  if (o->amsgrad) {
    int vh = slot(u, "velocity_hat");
    v_used = graph_binary(G, NNC_BIN_MAX, vh, v_new, u->st);
    if (assign(u, vh, v_used) < 0) return -1;
  }
  int step = div_(u, mul(u, m_new, alpha),
                  add(u, graph_unary(G, NNC_FN_SQRT, v_used, u->st), k(u, o->epsilon)));
  return assign(u, u->param, sub(u, u->param, step));
}

int autodiff_optimizer(nnc_graph *g, nnc_program *prog, const nnc_spec_optimizer *opt,
                       const int *grads, nnc_status *st) {
  int *param_node = nnc_calloc((size_t)prog->n_params + 1, sizeof *param_node, st);
  if (!param_node) return st->code;
  int n_forward = g->n;
  for (int p = 0; p < prog->n_params; p++) param_node[p] = -1;
  for (int i = 0; i < n_forward; i++)
    if (g->nodes[i].op == NNC_OP_PARAM && !g->nodes[i].dead)
      param_node[g->nodes[i].params.index] = i;
  for (int p = 0; p < prog->n_params; p++) {
    /* Keras skips variables without gradients, and frozen ones (trainable: false) */
    if (grads[p] < 0 || param_node[p] < 0 || !prog->params[p].trainable) continue;
    int first = g->n;
    upd u = {g, prog, param_node[p], p, st};
    int lr = graph_source(g, NNC_OP_SCALAR, NNC_SCALAR_LR, shape_scalar(), "lr", st);
    int rc = -1;
    if (lr >= 0) {
      switch (opt->kind) {
      case NNC_OPT_SGD:
        rc = sgd(&u, opt, grads[p], lr);
        break;
      case NNC_OPT_RMSPROP:
        rc = rmsprop(&u, opt, grads[p], lr);
        break;
      case NNC_OPT_ADAM:
        rc = adam(&u, opt, grads[p], lr);
        break;
      }
    }
    if (rc < 0) {
      free(param_node);
      return st->code ? (int)st->code : nnc_fail(st, NNC_ERR_INTERNAL, "optimizer update failed");
    }
    for (int i = first; i < g->n; i++) {
      g->nodes[i].flags |= NNC_NODE_UPDATE;
      g->nodes[i].phase = NNC_PHASE_TRAIN;
      if (!g->nodes[i].label[0])
        snprintf(g->nodes[i].label, sizeof g->nodes[i].label, "update %.85s", prog->params[p].name);
    }
  }
  free(param_node);
  return graph_verify(g, "optimizer", st);
}
