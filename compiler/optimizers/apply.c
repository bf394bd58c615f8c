/* The optimizer step as graph nodes: what Keras 3's BaseOptimizer.apply does
 * around each optimizer's update_step (keras/src/optimizers/base_optimizer.py,
 * _backend_apply_gradients), in its order:
 *   0. loss_scale_factor: the train step differentiated loss x factor
 *      (autodiff_scale_loss); the gradients are divided by the factor;
 *   1. gradient accumulation: g = (g + acc) / steps; only every steps-th step
 *      updates (acc := 0), the others only add g to acc;
 *   2. clipping: clipnorm per variable, global_clipnorm, or clipvalue;
 *   3. weight decay: variable -= variable * wd * lr (not excluded variables);
 *   4. the row's update_step;
 *   5. use_ema: average = m * average + (1 - m) * variable, m = 0 on the
 *      first step; every ema_overwrite_frequency-th step variable := average.
 * Keras's optimizer.iterations counts updates (the raw count floor-divided by
 * the accumulation steps): the bias corrections and EMA see that; the
 * learning rate is the runtime's (its schedule sees the raw count, as Keras's
 * _get_current_learning_rate does). A step that does not update computes the
 * update and keeps the old values (opt_select). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "compiler/autodiff/autodiff.h"
#include "compiler/optimizers/optimizers.h"

/* Keras's re.search(pattern, variable.name) with plain names: a substring of
 * the weight's name ("kernel", "bias") */
static int uses_weight_decay(const nnc_spec_optimizer *o, const nnc_param_info *p) {
  if (o->weight_decay == 0.0) return 0;
  for (int i = 0; i < o->n_exclude; i++)
    if (strstr(p->weight, o->exclude_from_weight_decay[i])) return 0;
  return 1;
}

/* a - floor(a / b) * b == 0 for whole numbers a, b as floats */
static int divisible(opt_ctx *c, int a, double b) {
  int q = opt_fn(c, NNC_FN_FLOOR, opt_div(c, a, opt_k(c, b)));
  int back = opt_mul(c, q, opt_k(c, b));
  if (back < 0) return -1;
  return graph_binary(c->g, NNC_BIN_EQ, back, a, c->st);
}

/* sum of squares of every element of x: a scalar */
static int sum_squares(opt_ctx *c, int x) {
  return graph_reduce(c->g, NNC_RED_ALL, opt_fn(c, NNC_FN_SQUARE, x), c->st);
}

/* clipnorm (tf.clip_by_norm): g * c / max(||g||, c) */
static int clip_by_norm(opt_ctx *c, int g) {
  int norm = opt_fn(c, NNC_FN_SQRT, sum_squares(c, g));
  int cn = opt_k(c, c->o->clipnorm);
  return opt_div(c, opt_mul(c, g, cn), opt_max(c, norm, cn));
}

/* global_clipnorm (base_optimizer.clip_by_global_norm): one scale for all */
static int global_scale(opt_ctx *c, const int *grads, int n) {
  int total = -1;
  for (int i = 0; i < n; i++) {
    if (grads[i] < 0) continue;
    int s = sum_squares(c, grads[i]);
    total = total < 0 ? s : opt_add(c, total, s);
    if (total < 0) return -1;
  }
  int norm = opt_fn(c, NNC_FN_SQRT, total), one = opt_k(c, 1.0);
  double cn = c->o->global_clipnorm;
  /* clip_norm * min(1 / norm, 1 / clip_norm) + (norm - norm): NaN for a non-finite norm */
  int scale =
      opt_mul(c, opt_k(c, cn),
              graph_binary(c->g, NNC_BIN_MIN, opt_div(c, one, norm), opt_k(c, 1.0 / cn), c->st));
  return opt_add(c, scale, opt_sub(c, norm, norm));
}

static int assign(opt_ctx *c, int target, int value) {
  if (value < 0) return -1;
  int in[2] = {target, value};
  return graph_add(c->g, NNC_OP_ASSIGN, 0, in, 2, c->st);
}

static void mark(nnc_graph *g, int first, const char *label) {
  for (int i = first; i < g->n; i++) {
    g->nodes[i].flags |= NNC_NODE_UPDATE;
    g->nodes[i].phase = NNC_PHASE_TRAIN;
    if (!g->nodes[i].label[0])
      snprintf(g->nodes[i].label, sizeof g->nodes[i].label, "update %.85s", label);
  }
}

/* The moving average of the variable's new value; returns the value to store. */
static int moving_average(opt_ctx *c, int value) {
  const nnc_spec_optimizer *o = c->o;
  int avg = opt_slot(c, "average", 0.0);
  if (avg < 0) return -1;
  c->prog->slots[c->g->nodes[avg].params.index].average_of = c->p;
  /* momentum = (iterations != 0) * ema_momentum; iterations = t - 1 */
  int iterations = opt_sub(c, opt_t(c), opt_k(c, 1.0));
  int not_first =
      iterations < 0 ? -1 : graph_binary(c->g, NNC_BIN_NE, iterations, opt_k(c, 0.0), c->st);
  int momentum = opt_mul(c, not_first, opt_k(c, o->ema_momentum));
  int avg_new =
      opt_add(c, opt_mul(c, momentum, avg), opt_mul(c, opt_sub(c, opt_k(c, 1.0), momentum), value));
  /* EMA runs every step, also those gradient accumulation does not update */
  int in[2] = {avg, avg_new};
  if (avg_new < 0 || graph_add(c->g, NNC_OP_ASSIGN, 0, in, 2, c->st) < 0) return -1;
  if (!o->ema_overwrite_frequency) return value;
  /* (iterations + 1) % ema_overwrite_frequency == 0: variable := average */
  int overwrite = divisible(c, opt_t(c), (double)o->ema_overwrite_frequency);
  int keep = opt_sub(c, opt_k(c, 1.0), overwrite);
  return opt_select(c, overwrite, keep, avg_new, value);
}

typedef struct step_state {
  int *param_node; /* per parameter: its PARAM node, -1 */
  int *grad;       /* per parameter: the gradient after accumulation and clipping, -1 */
} step_state;

static int updated(const nnc_program *prog, const int *grads, const int *param_node, int p) {
  /* Keras skips variables without gradients, and frozen ones (trainable: false) */
  return grads[p] >= 0 && param_node[p] >= 0 && prog->params[p].trainable;
}

/* the factor as a float32 tensor, as Keras's `loss * factor` and `g / factor` see it */
static double scale_factor(const nnc_spec_optimizer *o) {
  return (double)(float)o->loss_scale_factor;
}

int autodiff_scale_loss(nnc_graph *g, const nnc_spec_optimizer *o, nnc_status *st) {
  if (!o || o->loss_scale_factor == 0 || g->loss < 0) return NNC_OK;
  int scaled = graph_binary(g, NNC_BIN_MUL, g->loss, graph_const(g, scale_factor(o), st), st);
  if (scaled < 0) return st->code;
  g->nodes[scaled].phase = NNC_PHASE_TRAIN;
  snprintf(g->nodes[scaled].label, sizeof g->nodes[scaled].label, "loss x loss_scale_factor");
  g->loss = scaled;
  return NNC_OK;
}

static int build(opt_ctx *c, const opt_class *cls, const int *grads, step_state *s) {
  nnc_graph *g = c->g;
  nnc_program *prog = c->prog;
  const nnc_spec_optimizer *o = c->o;
  int first = g->n;
  c->lr = graph_source(g, NNC_OP_SCALAR, NNC_SCALAR_LR, shape_scalar(), "lr", c->st);
  if (c->lr < 0) return -1;
  c->t = -1;
  double steps = (double)o->gradient_accumulation_steps;
  if (steps) {
    int raw = graph_source(g, NNC_OP_SCALAR, NNC_SCALAR_T, shape_scalar(), "t", c->st);
    /* raw = Keras's _iterations + 1; iterations = floor(_iterations / steps) */
    c->is_update = divisible(c, raw, steps);
    c->not_update = opt_sub(c, opt_k(c, 1.0), c->is_update);
    c->t = opt_add(
        c, opt_fn(c, NNC_FN_FLOOR, opt_div(c, opt_sub(c, raw, opt_k(c, 1.0)), opt_k(c, steps))),
        opt_k(c, 1.0));
    if (c->t < 0) return -1;
  }
  mark(g, first, "optimizer");
  for (int p = 0; p < prog->n_params; p++) {
    if (!updated(prog, grads, s->param_node, p)) continue;
    first = g->n;
    c->p = p;
    s->grad[p] = grads[p];
    if (o->loss_scale_factor != 0) /* "Unscale gradients" */
      s->grad[p] = opt_div(c, s->grad[p], opt_k(c, scale_factor(o)));
    if (steps) {
      int acc = opt_slot(c, "gradient_accumulator", 0.0);
      int sum = opt_add(c, grads[p], acc);
      s->grad[p] = opt_div(c, sum, opt_k(c, steps));
      /* update steps reset it to zeros, the others keep the sum */
      if (assign(c, acc, opt_select(c, c->is_update, c->not_update, opt_k(c, 0.0), sum)) < 0)
        return -1;
    }
    if (o->clipnorm > 0) s->grad[p] = clip_by_norm(c, s->grad[p]);
    if (o->clipvalue > 0)
      s->grad[p] =
          s->grad[p] < 0 ? -1 : graph_clip(g, s->grad[p], -o->clipvalue, o->clipvalue, c->st);
    if (s->grad[p] < 0) return -1;
    mark(g, first, prog->params[p].name);
  }
  if (o->global_clipnorm > 0) {
    first = g->n;
    int scale = global_scale(c, s->grad, prog->n_params);
    for (int p = 0; p < prog->n_params; p++)
      if (s->grad[p] >= 0 && (s->grad[p] = opt_mul(c, s->grad[p], scale)) < 0) return -1;
    mark(g, first, "global_clipnorm");
  }
  c->shared = -1;
  if (cls->prepare) {
    first = g->n;
    if ((c->shared = cls->prepare(c)) < 0) return -1;
    mark(g, first, "optimizer");
  }
  for (int p = 0; p < prog->n_params; p++) {
    if (s->grad[p] < 0) continue;
    first = g->n;
    int var = s->param_node[p];
    c->p = p;
    c->grad = s->grad[p];
    c->var = var;
    if (uses_weight_decay(o, &prog->params[p]))
      c->var = opt_sub(c, var, opt_mul(c, opt_mul(c, var, opt_k(c, o->weight_decay)), c->lr));
    int value = c->var < 0 ? -1 : cls->update(c);
    if (value >= 0 && c->is_update >= 0)
      value = opt_select(c, c->is_update, c->not_update, value, var);
    if (value >= 0 && o->use_ema) value = moving_average(c, value);
    if (assign(c, var, value) < 0) return -1;
    mark(g, first, prog->params[p].name);
  }
  return NNC_OK;
}

int autodiff_optimizer(nnc_graph *g, nnc_program *prog, const nnc_spec_optimizer *opt,
                       const int *grads, nnc_status *st) {
  const opt_class *cls = optimizer_class(opt->kind);
  if (!cls) return nnc_fail(st, NNC_ERR_INTERNAL, "optimizer kind %d has no row", (int)opt->kind);
  step_state s;
  s.param_node = nnc_calloc((size_t)prog->n_params + 1, sizeof *s.param_node, st);
  s.grad = nnc_calloc((size_t)prog->n_params + 1, sizeof *s.grad, st);
  if (!s.param_node || !s.grad) {
    free(s.param_node);
    free(s.grad);
    return st->code;
  }
  for (int p = 0; p < prog->n_params; p++) s.param_node[p] = s.grad[p] = -1;
  int n_forward = g->n;
  for (int i = 0; i < n_forward; i++)
    if (g->nodes[i].op == NNC_OP_PARAM && !g->nodes[i].dead)
      s.param_node[g->nodes[i].params.index] = i;
  opt_ctx c;
  memset(&c, 0, sizeof c);
  c.g = g;
  c.prog = prog;
  c.o = opt;
  c.st = st;
  c.is_update = c.not_update = c.shared = -1;
  int rc = build(&c, cls, grads, &s);
  free(s.param_node);
  free(s.grad);
  if (rc < 0)
    return st->code ? (int)st->code : nnc_fail(st, NNC_ERR_INTERNAL, "optimizer update failed");
  return graph_verify(g, "optimizer", st);
}
