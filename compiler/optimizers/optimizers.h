/* compiler/optimizers — Keras 3's optimizers as graph updates.
 *
 * One row per optimizer (optimizers.def, one file each): what its config
 * accepts and the update rule of its update_step. apply.c wraps the rules in
 * what base_optimizer.py does around them, in Keras's order: gradient
 * accumulation, clipping, weight decay, the update, the moving average. */
#ifndef NNC_OPTIMIZERS_H
#define NNC_OPTIMIZERS_H

#include <stddef.h>

#include "compiler/graph/graph.h"

/* ---- the config keys of a row ---- */
typedef enum opt_key_type {
  OPT_NUMBER, /* double field: a number in [lo, hi] (hi INFINITY: the float32 range) */
  OPT_BOOL    /* int field */
} opt_key_type;

typedef struct opt_key {
  const char *name;   /* Keras 3's argument name; NULL ends a list */
  const char *tfjs;   /* tfjs's spelling, accepted in a tfjs file; NULL: none */
  const char *keras2; /* tf.keras 2's other spelling; NULL: none */
  opt_key_type type;
  double lo, hi;
  int lo_open;  /* 1: lo itself is refused, as Keras refuses it */
  double def;   /* Keras 3's default */
  size_t field; /* offsetof(nnc_spec_optimizer, ...) */
} opt_key;

/* ---- building an update ---- */
typedef struct opt_ctx {
  nnc_graph *g;
  nnc_program *prog;
  const nnc_spec_optimizer *o;
  nnc_status *st;
  int p;      /* the parameter (index into prog->params) being updated */
  int var;    /* node: its value update_step starts from (weight decay applied) */
  int grad;   /* node: its gradient (accumulated, clipped) */
  int lr;     /* node: the learning rate of this step */
  int t;      /* node: Keras's local_step = optimizer.iterations + 1 (opt_t makes it); -1 */
  int shared; /* node: a per-step value the row's prepare made (Nadam's u_product); -1 none */
  /* node: 1 on a step that updates (gradient accumulation), -1 when every step does;
   * slot writes keep the old value when it is 0 */
  int is_update;
  int not_update; /* node: 1 - is_update */
} opt_ctx;

typedef struct opt_class {
  const char *class_name;     /* Keras 3's ("SGD") */
  const char *const *aliases; /* other names, normalized (lower case, no '_'): tfjs, Keras 2 */
  double learning_rate;       /* default */
  double weight_decay;        /* default (AdamW's 0.004); 0: None */
  const opt_key *keys;        /* the arguments of its __init__ beyond the base ones */
  /* once per step before the variables' updates (Nadam's u_product); NULL: none.
   * Returns the node stored in ctx->shared, or -1. */
  int (*prepare)(opt_ctx *c);
  /* the variable's new value after update_step; slots written with opt_write */
  int (*update)(opt_ctx *c);
} opt_class;

#define OPTIMIZER(id, row) extern const opt_class row;
#include "compiler/optimizers/optimizers.def"
#undef OPTIMIZER

/* The row of kind; the row named name ("adam", "Custom>Adam", "RMSProp"), or NULL. */
const opt_class *optimizer_class(nnc_optimizer_kind kind);
const opt_class *optimizer_lookup(const char *name, nnc_optimizer_kind *kind);
/* "SGD, RMSprop, Adam, ..." for messages */
const char *optimizer_list(void);

/* ---- graph helpers for update rules (opt_graph.c); -1 operands give -1 ---- */
int opt_k(opt_ctx *c, double v); /* a float32 constant */
int opt_add(opt_ctx *c, int a, int b);
int opt_sub(opt_ctx *c, int a, int b);
int opt_mul(opt_ctx *c, int a, int b);
int opt_div(opt_ctx *c, int a, int b);
int opt_max(opt_ctx *c, int a, int b);
int opt_pow(opt_ctx *c, int a, int b);
int opt_fn(opt_ctx *c, nnc_fn fn, int x);
/* cond ? a : b for cond in {0, 1} (exact for finite a and b) */
int opt_select(opt_ctx *c, int cond, int not_cond, int a, int b);
/* A slot shaped like the parameter, "<param>/<name>", starting at init. */
int opt_slot(opt_ctx *c, const char *name, double init);
/* The same shaped `shape` in the graph and keras_shape in the state file
 * (Adafactor's row and column moments). */
int opt_slot_shaped(opt_ctx *c, const char *name, double init, nnc_shape keras_shape,
                    nnc_shape shape);
/* A slot of one value named name (Nadam's u_product), starting at init. */
int opt_scalar_slot(opt_ctx *c, const char *name, double init);
/* slot := value (only on update steps under gradient accumulation) */
int opt_write(opt_ctx *c, int slot, int value);
/* Keras's local_step (optimizer.iterations + 1) as a float node, made on first use */
int opt_t(opt_ctx *c);
/* 1 - x rounded as float32 arithmetic does it (Keras's `1 - beta` on a cast tensor) */
double opt_one_minus_f32(double x);

#endif
