/* compiler/losses — every Keras 3 loss: the class table (names, config keys,
 * defaults) and each loss's per-sample values as graph ops.
 *
 *   losses.c         the row table, lookups, the rank fix-up, loss_per_sample
 *   loss_util.c      shared graph helpers (constants, means, label smoothing)
 *   loss_axis.c      Keras's `axis`: the class axis moved last
 *   crossentropy.c   MSE, MAE, BCE, CCE, SCCE: the composite LOSS node (the
 *                    logits rewrite and pass_decompose read it) + options
 *   regression.c     MAPE, MSLE, Huber, LogCosh
 *   hinge.c          Hinge, SquaredHinge, CategoricalHinge
 *   probabilistic.c  KLDivergence, Poisson, CosineSimilarity
 *   focal.c          BinaryFocalCrossentropy, CategoricalFocalCrossentropy
 *   overlap.c        Dice, Tversky
 *
 * Parsing a loss (string, class object, Keras 3 "function" object) is
 * compiler/spec/spec_loss.c; reduction and sample weights are
 * compiler/lower/lower_loss.c (output_loss). */
#ifndef NNC_LOSSES_H
#define NNC_LOSSES_H

#include "base/base.h"
#include "compiler/graph/graph.h"
#include "compiler/spec/spec.h"
#include "compiler/spec/spec_internal.h"

/* Config keys a class takes besides name, reduction and dtype. */
enum {
  LOSS_OPT_FROM_LOGITS = 1u << 0,
  LOSS_OPT_LABEL_SMOOTHING = 1u << 1,
  LOSS_OPT_AXIS = 1u << 2, /* an int: the class (feature) axis, removed (loss_axis.c) */
  LOSS_OPT_IGNORE_CLASS = 1u << 3,
  LOSS_OPT_DELTA = 1u << 4,
  LOSS_OPT_ALPHA = 1u << 5,
  LOSS_OPT_BETA = 1u << 6,
  LOSS_OPT_GAMMA = 1u << 7,
  LOSS_OPT_CLASS_BALANCING = 1u << 8,
  LOSS_OPT_AXES = 1u << 9 /* None, an int or a list (Dice, Tversky) */
};

/* What a loss gives before the reduction. */
typedef struct loss_values {
  int values; /* per-sample values [B, ...] (a last axis reduced to 1), or a
                 scalar [] for a loss over the whole batch (Dice axis=None) */
  int mask;   /* -1, or 0/1 of the values' shape: SCCE ignore_class (Keras's
                 mask on the loss: masked entries do not count in the mean) */
} loss_values;

typedef int (*loss_lower_fn)(nnc_graph *g, const nnc_spec_loss *loss, int y_pred, int y_true,
                             loss_values *out, nnc_status *st);

typedef struct loss_class {
  nnc_loss_kind kind;
  const char *class_name;   /* Keras 3 class: "Huber" */
  const char *function;     /* its function ("huber"): the string form */
  const char *default_name; /* the class's default instance name: "huber_loss" */
  unsigned options;         /* LOSS_OPT_* */
  double alpha, beta, gamma;
  loss_lower_fn lower;
} loss_class;

/* The row of a kind; a class or function name (any case, '_' ignored, and
 * Keras's aliases mse, mae, bce, kld, mape, msle, logcosh...). NULL: none. */
const loss_class *loss_class_of(nnc_loss_kind kind);
const loss_class *loss_lookup(const char *name);
/* "mse, mae, ..., or the class of one of them, e.g. MeanSquaredError" for messages. */
const char *loss_names_text(void);

/* Keras's loss function before the reduction (LossFunctionWrapper.call):
 * the per-sample values, shape [B, ...] (for the composite kinds a LOSS
 * node). y_true shaped like y_pred (SCCE: [..., 1] class indices). */
int loss_per_sample(nnc_graph *g, const nnc_spec_loss *loss, int y_pred, int y_true,
                    nnc_status *st);
/* The same with the mask, and `squeezed` when Keras's rank fix-up squeezed a
 * trailing 1 off y_pred (so the loss works on the axis before it). */
int loss_lower(nnc_graph *g, const nnc_spec_loss *loss, int y_pred, int y_true, int squeezed,
               loss_values *out, nnc_status *st);

/* A loss: a name string, {"class_name", "config"} or a Keras 3 "function"
 * object (compiler/spec/spec_loss.c). */
int spec_parse_loss(const spec_ctx *ctx, const cJSON *item, const char *path, nnc_spec_loss *out);

/* ---- Keras's `axis` (loss_axis.c) ---- */
/* The "axis" key of cfg, if present, into *out: an integer other than the
 * batch axis 0 (compiler/spec/spec_loss.c; the metrics use it too). */
int loss_parse_axis(const spec_ctx *ctx, const cJSON *cfg, const char *path, int *out);
/* axis (negative from the end) of a batched rank: 0 and *out in [1, rank), else -1 */
int loss_resolve_axis(int axis, int rank, int *out);
/* Which activation under y_pred is applied again after the permute, so that
 * the logits stay visible: none, a sigmoid (binary focal reads its logits),
 * a sigmoid or a softmax (the LOSS node's logits rewrite). */
enum { LOSS_LOGITS_NONE, LOSS_LOGITS_SIGMOID, LOSS_LOGITS_ALL };
/* y_pred and y_true with `axis` moved last (a PERMUTE; nothing when it is
 * the last already). what names the loss or metric in messages. */
int loss_move_axis_last(nnc_graph *g, const char *what, int axis, int logits, int *y_pred,
                        int *y_true, nnc_status *st);

/* ---- helpers shared by the family files (loss_util.c) ---- */
#define LOSS_EPSILON 1e-7 /* Keras's backend.epsilon() */
/* a float32 constant as Keras computes it: the double rounded once */
int loss_const(nnc_graph *g, double v, nnc_status *st);
int loss_sum_last(nnc_graph *g, int x, nnc_status *st);  /* [..., C] -> [..., 1] */
int loss_mean_last(nnc_graph *g, int x, nnc_status *st); /* sum / C (TF's reduce_mean) */
int loss_max_last(nnc_graph *g, int x, nnc_status *st);  /* [..., C] -> [..., 1] */
/* y * (1 - s) + extra, Keras's label smoothing (extra = 0.5 s or s / C) */
int loss_smooth(nnc_graph *g, int y, double s, double extra, nnc_status *st);
/* x ** gamma with a gradient: products for small integer gamma, else exp(gamma log x) */
int loss_pow(nnc_graph *g, int x, double gamma, nnc_status *st);
/* 1 - x */
int loss_one_minus(nnc_graph *g, int x, nnc_status *st);

extern const loss_class loss_mse, loss_mae, loss_bce, loss_cce, loss_scce;
extern const loss_class loss_mape, loss_msle, loss_huber, loss_log_cosh;
extern const loss_class loss_hinge, loss_squared_hinge, loss_categorical_hinge;
extern const loss_class loss_kld, loss_poisson, loss_cosine;
extern const loss_class loss_binary_focal, loss_categorical_focal;
extern const loss_class loss_dice, loss_tversky;

#endif
