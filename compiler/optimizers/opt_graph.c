/* Graph helpers for the update rules: arithmetic on nodes, slots and the
 * slot writes that gradient accumulation makes conditional. */
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "compiler/optimizers/optimizers.h"

int opt_k(opt_ctx *c, double v) {
  return graph_const(c->g, v, c->st);
}
static int bin(opt_ctx *c, nnc_binary_fn fn, int a, int b) {
  if (a < 0 || b < 0) return -1;
  return graph_binary(c->g, fn, a, b, c->st);
}
int opt_add(opt_ctx *c, int a, int b) {
  return bin(c, NNC_BIN_ADD, a, b);
}
int opt_sub(opt_ctx *c, int a, int b) {
  return bin(c, NNC_BIN_SUB, a, b);
}
int opt_mul(opt_ctx *c, int a, int b) {
  return bin(c, NNC_BIN_MUL, a, b);
}
int opt_div(opt_ctx *c, int a, int b) {
  return bin(c, NNC_BIN_DIV, a, b);
}
int opt_max(opt_ctx *c, int a, int b) {
  return bin(c, NNC_BIN_MAX, a, b);
}
int opt_pow(opt_ctx *c, int a, int b) {
  return bin(c, NNC_BIN_POW, a, b);
}
int opt_fn(opt_ctx *c, nnc_fn fn, int x) {
  if (x < 0) return -1;
  return graph_unary(c->g, fn, x, c->st);
}

/* cond * a + (1 - cond) * b: with cond 1 that is a + 0, with cond 0 it is 0 + b */
int opt_select(opt_ctx *c, int cond, int not_cond, int a, int b) {
  return opt_add(c, opt_mul(c, cond, a), opt_mul(c, not_cond, b));
}

/* keras_shape: as the state file shows it; shape: the node's (the same count) */
static int add_slot(opt_ctx *c, const char *name, int64_t count, nnc_shape keras_shape, double init,
                    nnc_shape shape) {
  nnc_program *prog = c->prog;
  nnc_slot_info *grown =
      nnc_realloc_array(prog->slots, (size_t)prog->n_slots + 1, sizeof *grown, c->st);
  if (!grown) return -1;
  prog->slots = grown;
  nnc_slot_info *s = &prog->slots[prog->n_slots];
  memset(s, 0, sizeof *s);
  if ((size_t)snprintf(s->name, sizeof s->name, "%s", name) >= sizeof s->name)
    return nnc_fail(c->st, NNC_ERR_SPEC, "optimizer slot name too long: %s", name), -1;
  s->count = count;
  s->offset = nnc_floats_on_lines(prog->slots_floats); /* on a line, as the weights */
  s->init = init;
  s->shape = keras_shape;
  s->average_of = -1;
  prog->slots_floats = s->offset + count;
  return graph_source(c->g, NNC_OP_SLOT, prog->n_slots++, shape, s->name, c->st);
}

int opt_slot_shaped(opt_ctx *c, const char *name, double init, nnc_shape keras_shape,
                    nnc_shape shape) {
  const nnc_param_info *p = &c->prog->params[c->p];
  char full[sizeof c->prog->slots[0].name + 1];
  if ((size_t)snprintf(full, sizeof full, "%s/%s", p->name, name) >= sizeof full)
    return nnc_fail(c->st, NNC_ERR_SPEC, "optimizer slot name too long: %s/%s", p->name, name), -1;
  return add_slot(c, full, shape_inner(&shape), keras_shape, init, shape);
}

int opt_slot(opt_ctx *c, const char *name, double init) {
  const nnc_param_info *p = &c->prog->params[c->p];
  return opt_slot_shaped(c, name, init, p->shape, p->shape);
}

int opt_scalar_slot(opt_ctx *c, const char *name, double init) {
  return add_slot(c, name, 1, shape_scalar(), init, shape_scalar());
}

int opt_write(opt_ctx *c, int slot, int value) {
  if (slot < 0 || value < 0) return -1;
  if (c->is_update >= 0) value = opt_select(c, c->is_update, c->not_update, value, slot);
  if (value < 0) return -1;
  int in[2] = {slot, value};
  return graph_add(c->g, NNC_OP_ASSIGN, 0, in, 2, c->st);
}

double opt_one_minus_f32(double x) {
  volatile float one = 1.0f, xf = (float)x; /* float32 arithmetic, not folded in double */
  return (double)(one - xf);
}

/* without gradient accumulation the runtime's step scalar is local_step */
int opt_t(opt_ctx *c) {
  if (c->t < 0) c->t = graph_source(c->g, NNC_OP_SCALAR, NNC_SCALAR_T, shape_scalar(), "t", c->st);
  return c->t;
}
