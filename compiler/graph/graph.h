/* compiler/graph — the IR: an SSA DAG of typed nodes with static shapes,
 * one symbolic batch dimension and a phase on every node.
 *
 * Nodes are appended in a topological order (operands before users) and
 * addressed by index. Passes mark nodes dead or append new ones; `graph_compact`
 * renumbers. A program (nnc_program) holds the model-level tables shared by
 * its graphs: parameters, optimizer slots and statistics. */
#ifndef NNC_GRAPH_H
#define NNC_GRAPH_H

#include <stdint.h>
#include <stdio.h>

#include "base/shape.h"
#include "compiler/spec/spec.h"
#include "nnc.h"
#include "nnc_program.h"

typedef enum nnc_op {
#define OP(id, file) NNC_OP_##id,
#include "compiler/ops/ops.def"
#undef OP
  NNC_OP_COUNT
} nnc_op;

typedef enum nnc_op_class {
  NNC_CLASS_SOURCE,
  NNC_CLASS_ELEMENTWISE,
  NNC_CLASS_ROW,
  NNC_CLASS_REDUCE,
  NNC_CLASS_MATMUL,
  NNC_CLASS_EFFECT,
  NNC_CLASS_COMPOSITE,
  NNC_CLASS_PHASED
} nnc_op_class;

typedef enum nnc_fn {
#define FN(id, name, deriv) NNC_FN_##id,
#include "compiler/graph/unary.def"
#undef FN
  NNC_FN_COUNT,
  NNC_FN_NONE = -1
} nnc_fn;

typedef enum nnc_binary_fn {
  NNC_BIN_ADD,
  NNC_BIN_SUB,
  NNC_BIN_MUL,
  NNC_BIN_DIV,
  NNC_BIN_MAX,
  NNC_BIN_MIN,
  NNC_BIN_GT, /* 1.0 if a > b else 0.0 */
  NNC_BIN_EQ,
  NNC_BIN_NE,
  NNC_BIN_POW,
  NNC_BIN_BCE_LOGITS, /* max(z,0) - z*y + log1p(exp(-|z|)), a = z, b = y */
  NNC_BIN_GE,         /* 1.0 if a >= b else 0.0 (expressions) */
  NNC_BIN_COUNT
} nnc_binary_fn;

typedef enum nnc_reduce_fn { NNC_RED_ALL, NNC_RED_LAST, NNC_RED_LEADING } nnc_reduce_fn;
/* REDUCE_MAX's fn */
typedef enum nnc_extreme_fn { NNC_RED_MAX, NNC_RED_MIN } nnc_extreme_fn;
/* POOL's and POOL_GRAD's fn */
typedef enum nnc_pool_fn { NNC_POOL_MAX, NNC_POOL_AVG } nnc_pool_fn;
/* POOL, POOL_GRAD: per spatial axis k of a channels-last [B, S1.., C] (at
 * most 3 spatial axes): window, stride, and the implicit padding before and
 * after ('same'); entries past the spatial axes are unused (0). */
typedef struct nnc_pool_params {
  int32_t window[3], strides[3], pad_lo[3], pad_hi[3];
} nnc_pool_params;
/* RESIZE's fn: linear interpolation along an axis with half-pixel centers
 * (tf.image.resize bilinear), or its adjoint (the gradient) */
/* (tf.image.resize bilinear), or its adjoint (the gradient); nearest
 * neighbour with half-pixel centers (tf.image.resize 'nearest'), or its adjoint */
typedef enum nnc_resize_fn {
  NNC_RESIZE_LINEAR,
  NNC_RESIZE_LINEAR_ADJOINT,
  NNC_RESIZE_NEAREST,
  NNC_RESIZE_NEAREST_ADJOINT,
  NNC_RESIZE_TRIANGLE, /* tf.image.resize bilinear with antialias: the widened triangle filter */
  NNC_RESIZE_TRIANGLE_ADJOINT,
  NNC_RESIZE_CUBIC, /* tf.image.resize bicubic: Keys' cubic, a = -0.5, half-pixel centers */
  NNC_RESIZE_CUBIC_ADJOINT
} nnc_resize_fn;
/* IMAGE_AFFINE's fn: the image transform (x, u) -> y or its adjoint (dy, u) -> dx */
typedef enum nnc_affine_fn { NNC_AFFINE_FORWARD, NNC_AFFINE_ADJOINT } nnc_affine_fn;
/* IMAGE_AFFINE (compiler/ops/image_affine.c): how sample b's output pixel
 * (x, y) reads the input, from its uniforms u[b, 0..1] in [0, 1) (a crop: u[0, 0..1]). kind: what
 * the uniforms mean (nnc_affine_kind); lo/hi: the range each maps to; fill:
 * nnc_fill_mode; nearest: 1 nearest, 0 bilinear; tied: zoom's width uses
 * the height's draw. */
typedef enum nnc_affine_kind {
  NNC_AFFINE_ROTATE,    /* u0 -> angle in degrees */
  NNC_AFFINE_TRANSLATE, /* u0 -> height fraction, u1 -> width fraction */
  NNC_AFFINE_ZOOM,      /* u0 -> 1 + height factor, u1 -> 1 + width factor */
  NNC_AFFINE_FLIP,      /* u0 <= 0.5: flip (lo0 != 0: horizontally, hi0 != 0: vertically) */
  NNC_AFFINE_CROP       /* the batch's first u0, u1 -> integer shift floor(u0 lo0), floor(u1 lo1) */
} nnc_affine_kind;
typedef enum nnc_fill_mode {
  NNC_FILL_REFLECT,
  NNC_FILL_WRAP,
  NNC_FILL_CONSTANT,
  NNC_FILL_NEAREST
} nnc_fill_mode;
typedef struct nnc_affine_params {
  int64_t kind, fill, nearest, tied;
  double lo0, hi0, lo1, hi1, fill_value;
} nnc_affine_params;

/* How an operand's elements map onto the output's flat index i. */
typedef enum nnc_bcast {
  NNC_BCAST_FULL,   /* same shape: element i */
  NNC_BCAST_SCALAR, /* one element: element 0 */
  NNC_BCAST_LAST,   /* shape [C] against [..., C]: element i % C */
  NNC_BCAST_ROW     /* shape [..., 1] against [..., C]: element i / C */
} nnc_bcast;

typedef enum nnc_phase { NNC_PHASE_ANY, NNC_PHASE_TRAIN, NNC_PHASE_INFER } nnc_phase;

/* Runtime scalars (NNC_SCALAR_LR, _T, _BATCH) and memory regions
 * (NNC_REGION_PARAMS .. NNC_REGION_IO + k) are the step calling convention of
 * the program boundary, include/nnc_program.h. */

enum {
  NNC_NODE_UPDATE = 1u << 0,  /* part of the optimizer update (scheduled last) */
  NNC_NODE_NO_GRAD = 1u << 1, /* no gradient flows into or through it */
  /* computed on the register tile of the CONV its chain starts from, before
   * the store (compiler/passes/conv_epilogue.c) */
  NNC_NODE_TILE = 1u << 2
};
/* The longest chain of elementwise nodes a conv's tile applies. */
#define NNC_CONV_EPILOGUE_MAX 8

/* An op's parameters: the member that means something depends on the op
 * (and for UNARY on fn). Zero when the op has none. */
/* CONV, CONV_TRANSPOSE, CONV_FILTER (compiler/ops/conv*.c): the geometry of
 * one N-D convolution x [B, s.., Cin] * w [k.., Cin/groups, Cout] -> y [B, o..,
 * Cout], channels last, with o = (s + pad + pad_end - dilation (k - 1) - 1) /
 * stride + 1 per spatial axis. size: the spatial size of what CONV_TRANSPOSE
 * (x's) or CONV_FILTER (the kernel's) computes; unused by CONV. */
#define NNC_CONV_MAX_SPATIAL 3
typedef struct nnc_conv_params {
  int64_t spatial; /* spatial axes: 1, 2 or 3 */
  int64_t groups;
  int64_t stride[NNC_CONV_MAX_SPATIAL], dilation[NNC_CONV_MAX_SPATIAL];
  int64_t pad[NNC_CONV_MAX_SPATIAL], pad_end[NNC_CONV_MAX_SPATIAL]; /* zeros before, after */
  int64_t size[NNC_CONV_MAX_SPATIAL];
} nnc_conv_params;

/* RNN, RNN_GRAD (compiler/ops/rnn.c, rnn_grad.c): one recurrent layer's loop
 * over time. cell: nnc_rnn_cell; act, rec_act: an nnc_fn, or NNC_RNN_LINEAR,
 * or NNC_RNN_HARD_SIGMOID_K2 (Keras 2's clip(0.2 x + 0.5, 0, 1)); aux: which
 * parts the batched third operand of RNN holds (NNC_RNN_AUX_*). */
typedef enum nnc_rnn_cell { NNC_RNN_SIMPLE, NNC_RNN_LSTM, NNC_RNN_GRU } nnc_rnn_cell;
enum { NNC_RNN_LINEAR = -1, NNC_RNN_HARD_SIGMOID_K2 = -2 };
/* NNC_RNN_AUX_RDROP: a recurrent dropout mask [n] per sample follows in aux
 * (SimpleRNN, LSTM); h_prev is multiplied by it before the recurrent kernel. */
enum { NNC_RNN_AUX_STATE = 1, NNC_RNN_AUX_MASK = 2, NNC_RNN_AUX_RDROP = 4 };
typedef struct nnc_rnn_params {
  int64_t cell, units, backwards, reset_after, act, rec_act, aux;
  int64_t rec_bias; /* GRU reset_after with a bias: U's last row is the recurrent bias */
} nnc_rnn_params;

typedef union nnc_params {
  int64_t index;   /* INPUT: IO index; PARAM, SLOT: table index; STAT: statistic; OUTPUT: output
                      index; SCALAR: nnc_scalar */
  double value;    /* CONST */
  double rate;     /* DROPOUT, DROPOUT_MASK */
  int64_t depth;   /* ONE_HOT */
  int transpose_a; /* MATMUL: a^T @ b over the rows */
  double alpha;    /* UNARY leaky_relu, d_leaky_relu: the slope below 0 */
  struct {
    double lo, hi;
  } clip; /* UNARY clip, d_clip */
  struct {
    int from_logits, squeezed; /* squeezed: Keras's rank fix-up made a new tensor (no logits) */
  } loss;                      /* LOSS */
  /* CONCAT (axis), SLICE (axis, start, len), PAD (axis, start, len: the
   * output's length on the axis), REPEAT_AXIS (axis, len: copies),
   * REDUCE_AXIS (axis). Axes count the batch axis as 0. */
  struct {
    int64_t axis, start, len;
  } axis;
  int64_t perm[NNC_MAX_RANK]; /* PERMUTE: output axis k is input axis perm[k] */
  struct {
    int transpose_a, transpose_b;
    /* MATMUL: > 1: the product split along K into k_parts partial products
     * (passes/ksplit.c), stored part after part (ops/matmul.c) */
    int64_t k_parts;
  } bmm;                /* BATCH_MATMUL; MATMUL's transpose_b (its transpose_a is the same int) */
  nnc_pool_params pool; /* POOL, POOL_GRAD */
  struct {
    int64_t rows;           /* the table's rows (Embedding's input_dim) */
  } gather;                 /* GATHER_GRAD */
  nnc_conv_params conv;     /* CONV, CONV_TRANSPOSE, CONV_FILTER */
  nnc_rnn_params rnn;       /* RNN, RNN_GRAD */
  nnc_affine_params affine; /* IMAGE_AFFINE */
} nnc_params;

typedef struct nnc_node {
  nnc_op op;
  int n_in;
  int in[3];
  nnc_bcast bcast[3];
  nnc_shape shape;
  nnc_phase phase;
  int fn; /* nnc_fn, nnc_binary_fn, nnc_reduce_fn or nnc_loss_kind */
  nnc_params params;
  uint64_t key; /* random stream key (dropout) */
  unsigned flags;
  char label[96]; /* where it came from: "dense_1/kernel", "dense/matmul" */
  /* filled by passes */
  int dead;
  int group;  /* fusion group, -1 before fusion */
  int region; /* NNC_REGION_* of its buffer (NNC_REGION_IO + k: data), -1 if none (fused away) */
  int64_t offset; /* in floats (per row for NNC_REGION_BATCH) */
} nnc_node;

/* Buffers one fused group (one kernel) may touch: fusion starts a new group
 * before a run of elementwise nodes needs more, codegen takes no more. */
#define NNC_GROUP_MAX_BUFFERS 64

typedef struct nnc_graph {
  char name[16]; /* "train", "test", "predict" */
  int n, cap;
  nnc_node *nodes;
  int loss;                                   /* the scalar batch loss, or -1 */
  int n_groups;                               /* after fusion */
  int64_t fixed_floats, batch_floats_per_row; /* after planning */
} nnc_graph;

typedef struct nnc_param_info {
  char name[NNC_NAME_MAX * 2]; /* "<layer>/<weight>" */
  char layer[NNC_NAME_MAX];
  char weight[NNC_NAME_MAX]; /* "kernel", "forward_lstm/lstm_cell/kernel" */
  nnc_shape shape;           /* unbatched */
  int64_t count, offset;     /* in floats within NNC_REGION_PARAMS */
  nnc_spec_init init;
  int trainable; /* 0: no gradient, no update (trainable: false on the layer or a model around it)
                  */
  nnc_spec_constraint constraint; /* applied to each update (compiler/autodiff/constraints.c) */
} nnc_param_info;

typedef struct nnc_slot_info {
  char name[NNC_NAME_MAX * 2 + 32]; /* "<param>/momentum", "u_product" */
  int64_t count, offset;
  double init;     /* its value before the first step (0; Adagrad's accumulator 0.1) */
  nnc_shape shape; /* as Keras shapes it (unbatched; rank 0: one value) */
  int average_of;  /* use_ema: the parameter whose moving average it is; else -1 */
} nnc_slot_info;

typedef enum nnc_stat_kind {
  NNC_STAT_LOSS,     /* batch loss L_b: the epoch mean is sum(n_b L_b) / sum(n_b) */
  NNC_STAT_MEAN_SUM, /* sum over the batch of per-sample means: / sum(n_b) */
  NNC_STAT_COUNT_SUM /* confusion counts summed over the epoch */
} nnc_stat_kind;

typedef enum nnc_metric_result {
  NNC_RESULT_MEAN,      /* stat[0] summed over the epoch / samples */
  NNC_RESULT_PRECISION, /* stat[0] = TP, stat[1] = FP */
  NNC_RESULT_RECALL,    /* stat[0] = TP, stat[1] = FN */
  /* the rules of compiler/metrics (nnc_log_result in nnc_program.h says
   * which statistics and args each reads) */
  NNC_RESULT_RATIO,
  NNC_RESULT_SQRT_RATIO,
  NNC_RESULT_VALUE,
  NNC_RESULT_AUC,
  NNC_RESULT_AT,
  NNC_RESULT_FBETA,
  NNC_RESULT_R2,
  NNC_RESULT_IOU
} nnc_metric_result;

/* One log key ("loss", "accuracy", "out_a_loss", ...): the program's list is
 * every key a step reports, in Keras's order, "loss" first. */
typedef struct nnc_metric_info {
  char name[NNC_NAME_MAX];
  nnc_metric_result result;
  int stat[2];
  int first_stat, n_stats; /* a block of statistics (AUC: 4 x thresholds) */
  int n_args;
  double *args; /* the rule's parameters (T, classes, beta, target classes); heap (program_free) */
  nnc_log_direction direction; /* the metric class's Keras _direction (metric_direction) */
} nnc_metric_info;

/* One row of the Keras-style summary. */
typedef struct nnc_layer_info {
  char name[NNC_NAME_MAX];
  char kind[32];
  nnc_shape out_shape;
  int64_t n_params, n_trainable; /* n_trainable <= n_params */
  char *
      connected; /* Functional summary's "Connected to": "dense[0][0], dense_1[0][0]"; NULL: none */
} nnc_layer_info;

/* A model input, a target or a model output: per-sample data that crosses
 * the program boundary. Inputs and outputs are in the model's order
 * (Keras's model.inputs / model.outputs); there is one target per output
 * that has a loss, in output order. */
typedef struct nnc_io_info {
  char name[NNC_NAME_MAX]; /* input layer name; output (layer) name; target: its output's name */
  nnc_shape shape;         /* batched */
  int64_t classes;      /* a target of a sparse categorical loss: labels in [0, classes); an input
                           feeding an Embedding: indices in [0, classes) (its input_dim); else 0 */
  int output;           /* a target: the index of its output; else -1 */
  int has_ignore_class; /* a sparse target: labels equal to ignore_class are valid too */
  int64_t ignore_class;
} nnc_io_info;

/* Warnings Keras would print while tracing (compiler/passes/logits.c). */
#define NNC_MAX_WARNINGS 4
#define NNC_WARNING_MAX 256

typedef struct nnc_program {
  int n_params, n_slots, n_stats, n_metrics, n_layers;
  nnc_param_info *params;
  nnc_slot_info *slots;
  nnc_layer_info *layers;
  nnc_stat_kind *stat_kinds; /* n_stats; heap (program_free) */
  nnc_metric_info *metrics;  /* n_metrics, the log keys in order; heap (program_free) */
  int64_t params_floats, slots_floats;
  /* INPUT node k reads inputs[k] for k < n_inputs, targets[k - n_inputs]
   * after; OUTPUT node k writes outputs[k]. Heap arrays (program_free). */
  int n_inputs, n_targets, n_outputs;
  nnc_io_info *inputs, *targets, *outputs;
  /* Sample weights j (.output: of which output), read by the INPUT node of
   * IO index n_inputs + n_targets + n_outputs + j. Heap (program_free). */
  int n_sample_weights;
  nnc_io_info *sample_weights;
  int n_warnings;
  char warnings[NNC_MAX_WARNINGS][NNC_WARNING_MAX];
} nnc_program;

void program_free(nnc_program *p);
/* Append to one of the program's input, target or output lists. */
int program_add_io(nnc_io_info **list, int *n, const char *name, nnc_shape shape, int64_t classes,
                   int output, nnc_status *st);

/* ---- building ---- */
int graph_init(nnc_graph *g, const char *name, nnc_status *st);
/* With room for cap nodes before the array grows (a rewrite: the old size). */
int graph_init_cap(nnc_graph *g, const char *name, int cap, nnc_status *st);
void graph_free(nnc_graph *g);
int graph_copy(nnc_graph *dst, const nnc_graph *src, const char *name, nnc_status *st);

/* Append a node; shape inferred from the op and operands. Returns its index
 * or -1 with st filled (shape errors name the node's label). */
int graph_add(nnc_graph *g, nnc_op op, int fn, const int *in, int n_in, nnc_status *st);
/* The same with the op's integer parameter set before shape inference
 * (matmul transpose_a, one-hot depth, the index of a stat or an output). */
int graph_add_attr(nnc_graph *g, nnc_op op, int fn, const int *in, int n_in, int64_t iattr0,
                   nnc_status *st);

/* The same with all parameters given (copies of nodes). */
int graph_add_params(nnc_graph *g, nnc_op op, int fn, const int *in, int n_in,
                     const nnc_params *params, nnc_status *st);

/* Shorthands used by lowering, autodiff and passes. */
int graph_source(nnc_graph *g, nnc_op op, int64_t index, nnc_shape shape, const char *label,
                 nnc_status *st);
int graph_const(nnc_graph *g, double value, nnc_status *st);
int graph_unary(nnc_graph *g, nnc_fn fn, int x, nnc_status *st);
int graph_binary(nnc_graph *g, nnc_binary_fn fn, int a, int b, nnc_status *st);
int graph_reduce(nnc_graph *g, nnc_reduce_fn fn, int x, nnc_status *st);

/* Named builders, so lowering never touches a node's parameters. Each
 * returns the new node or -1; an operand of -1 (an earlier call that failed)
 * returns -1 and keeps that call's message in st. */
/* INPUT node reading IO slot io_index: input k -> k, target j -> n_inputs + j. */
int graph_input(nnc_graph *g, int io_index, nnc_shape shape, const char *label, nnc_status *st);
int graph_scalar(nnc_graph *g, int which, nnc_status *st);    /* NNC_SCALAR_* */
int graph_matmul(nnc_graph *g, int a, int b, nnc_status *st); /* a[..,K] @ b[K,N] */
int graph_softmax(nnc_graph *g, int x, nnc_status *st);       /* over the last axis */
int graph_argmax(nnc_graph *g, int x, nnc_status *st);        /* [..,C] -> [..,1] */
int graph_one_hot(nnc_graph *g, int labels, int64_t depth, nnc_status *st);
int graph_dropout(nnc_graph *g, int x, double rate, uint64_t key, nnc_status *st);
int graph_output(nnc_graph *g, int x, int output_index, nnc_status *st);
/* Normalization and noise layers: a dropout mask (0 or 1/(1-rate)) or a
 * standard normal sample shaped like x, train phase only, no gradient; the
 * value `train` in the train graph and `infer` in the others; the param
 * overwritten by value in the train step (nothing in inference). */
int graph_dropout_mask(nnc_graph *g, int x, double rate, uint64_t key, nnc_status *st);
int graph_normal_noise(nnc_graph *g, int x, uint64_t key, nnc_status *st);
int graph_phase_select(nnc_graph *g, int train, int infer, nnc_status *st);
int graph_train_assign(nnc_graph *g, int param, int value, nnc_status *st);
int graph_stat(nnc_graph *g, int x, int stat_index, nnc_status *st);
/* The same elements in shape `to` (batched like x, the same count per row). */
int graph_reshape(nnc_graph *g, int x, nnc_shape to, nnc_status *st);
int graph_leaky_relu(nnc_graph *g, int x, double alpha, nnc_status *st);
int graph_clip(nnc_graph *g, int x, double lo, double hi, nnc_status *st);
/* LOSS of (prediction, target); squeezed: Keras's rank fix-up (no logits to read). */
int graph_loss(nnc_graph *g, nnc_loss_kind kind, int pred, int target, int from_logits,
               int squeezed, nnc_status *st);

/* Shape ops (Functional layers). Axes count the batch axis as 0; callers
 * resolve negative axes. */
/* a and b joined along axis >= 1; every other dimension must agree. */
int graph_concat(nnc_graph *g, int a, int b, int axis, nnc_status *st);
/* len entries of x from start along axis >= 1. */
int graph_slice(nnc_graph *g, int x, int axis, int64_t start, int64_t len, nnc_status *st);
/* x placed at start along axis >= 1 of a zero tensor `total` long there (slice's gradient). */
int graph_pad(nnc_graph *g, int x, int axis, int64_t start, int64_t total, nnc_status *st);
/* Output axis k is axis perm[k] of x (perm over all axes; perm[0] == 0 when batched). */
int graph_permute(nnc_graph *g, int x, const int *perm, nnc_status *st);
/* A new axis `axis` >= 1 of n copies of x. */
int graph_repeat_axis(nnc_graph *g, int x, int axis, int64_t n, nnc_status *st);
/* The sum over axis >= 1, which is removed. */
int graph_reduce_axis(nnc_graph *g, int x, int axis, nnc_status *st);
/* a [B,n,k] @ b [B,k,m] (b [B,m,k] with transpose_b) -> [B,n,m] */
int graph_batch_matmul(nnc_graph *g, int a, int b, int transpose_b, nnc_status *st);
/* The same with a read as [B,k,n] when transpose_a (gradients). */
int graph_batch_matmul_t(nnc_graph *g, int a, int b, int transpose_a, int transpose_b,
                         nnc_status *st);

/* Convolutions (compiler/ops/conv*.c; p->size is set from the operands):
 * y = conv(x, w); its input gradient conv_transpose(dy, w) of spatial size
 * `size` (also Conv*Transpose layers); its kernel gradient conv_filter(x, dy)
 * of spatial kernel size `size`. */
/* The output length of one spatial axis (< 1: the kernel does not fit). */
int64_t conv_out_len(int64_t in, int64_t k, int64_t stride, int64_t dil, int64_t pad,
                     int64_t pad_end);
int graph_conv(nnc_graph *g, int x, int w, const nnc_conv_params *p, nnc_status *st);
int graph_conv_transpose(nnc_graph *g, int dy, int w, const nnc_conv_params *p, const int64_t *size,
                         nnc_status *st);
int graph_conv_filter(nnc_graph *g, int x, int dy, const nnc_conv_params *p, const int64_t *size,
                      nnc_status *st);

/* Expressions (compiler/expr): where(cond, a, b), the three broadcasting
 * against the output; the max (is_min: min) over axis >= 1, removed, or
 * over every entry to a scalar when axis is 0. */
int graph_select(nnc_graph *g, int cond, int a, int b, nnc_status *st);
/* Shaped like x: each element's index along `axis` (>= 1), as a float. */
int graph_axis_index(nnc_graph *g, int x, int axis, nnc_status *st);
int graph_reduce_max(nnc_graph *g, int x, int axis, int is_min, nnc_status *st);

/* Pooling (compiler/ops/pool.c): max or average windows over the spatial
 * axes of a channels-last x [B, S1.., C] (1 to 3 spatial axes). The average
 * divides by the count of entries inside the input (Keras's 'same'). */
int graph_pool(nnc_graph *g, int x, nnc_pool_fn fn, const nnc_pool_params *p, nnc_status *st);
/* Resampling along axis >= 1 to `len` entries (compiler/ops/resize.c):
 * linear interpolation with half-pixel centers, or its adjoint back to len. */
int graph_resize(nnc_graph *g, int x, nnc_resize_fn fn, int axis, int64_t len, nnc_status *st);
/* Preprocessing (compiler/ops/uniform_noise.c, image_affine.c): a uniform
 * sample in [0, 1) per element of x's shape (train phase, the dropout
 * generator, stream key); and the per-sample image transform of a
 * channels-last x [B, H, W, C] driven by u [B, 2] (or its adjoint). */
int graph_uniform_noise(nnc_graph *g, int x, uint64_t key, nnc_status *st);
int graph_image_affine(nnc_graph *g, int x, int u, nnc_affine_fn fn, const nnc_affine_params *p,
                       nnc_status *st);
/* Embeddings (compiler/ops/gather.c, gather_grad.c): the rows of table
 * [V, D] at the indices of idx (floats holding integers; an index that is
 * not an integer in [0, V) reads a row of zeros) -> [idx..., D]; and its
 * gradient: dy [idx..., D] summed into the rows named by idx of a [rows, D]
 * zero table. */
int graph_gather(nnc_graph *g, int idx, int table, nnc_status *st);
int graph_gather_grad(nnc_graph *g, int idx, int dy, int64_t rows, nnc_status *st);
/* Recurrent layers (compiler/ops/rnn.c): the loop over time of one layer,
 * xp [B, T, G*n] the input projection of every step, u the recurrent kernel
 * [n (+1: GRU reset_after's recurrent bias), G*n], aux the initial states
 * and mask [B, S*n + T] as p->aux says (ignored when p->aux is 0) -> the
 * record [B, T+1, W] (compiler/ops/rnn_cell.h). */
int graph_rnn(nnc_graph *g, int xp, int u, int aux, const nnc_rnn_params *p, nnc_status *st);
/* x with its entries along axis >= 1 in reverse order (compiler/ops/reverse_axis.c). */
int graph_reverse_axis(nnc_graph *g, int x, int axis, nnc_status *st);

/* Recompute a node's shape and broadcast modes from its operands. */
int graph_infer_shape(nnc_graph *g, int id, nnc_status *st);

const char *op_name(nnc_op op);
nnc_op_class op_class(nnc_op op);
int op_arity(nnc_op op);
const char *fn_name(nnc_fn fn);
nnc_fn fn_derivative(nnc_fn fn);
const char *binary_fn_name(nnc_binary_fn fn);

/* Users of each node, as counts (index by node id). Caller frees. */
int *graph_use_counts(const nnc_graph *g, nnc_status *st);

/* Remove dead nodes, renumber operands and the loss. */
int graph_compact(nnc_graph *g, nnc_status *st);

/* Structural checks: arity, operands precede users, no dead operand, dropout
 * masks only in the train phase. `after` names the pass for the message. */
int graph_verify(const nnc_graph *g, const char *after, nnc_status *st);

/* Dumps: one node per line (id, op, phase, shape, group, buffer) / DOT. */
void graph_dump_text(const nnc_graph *g, FILE *f);
void graph_dump_dot(const nnc_graph *g, FILE *f);
/* The nodes and edges of g in DOT, for a digraph the caller opens: one
 * cluster per fused group labelled kernel[group] (NULL or "": the group's
 * own function name), node ids prefixed with prefix ("train_"). */
void graph_dump_dot_body(const nnc_graph *g, const char (*kernel)[96], const char *prefix, FILE *f);
/* What each node belongs to, for pictures (compiler/graph/dump.c). */
typedef enum nnc_role {
  NNC_ROLE_FORWARD,
  NNC_ROLE_BACKWARD,
  NNC_ROLE_UPDATE,
  NNC_ROLE_METRICS,
  NNC_ROLE_COUNT
} nnc_role;
void graph_node_roles(const nnc_graph *g, nnc_role *role); /* role: g->n entries */
const char *graph_role_name(nnc_role r);
const char *graph_role_colour(nnc_role r, int fill); /* "#rrggbb": fill or line colour */

/* The inverse of graph_dump_text: reads one graph from text (blank and ';'
 * or '#' lines before its header are skipped) into g (initialized here) and
 * stops at the first line that is not a node or "loss" line: *rest points
 * there, *line_no counts lines read (in and out, may be NULL). Gaps in the
 * node numbers become dead nodes, so dump -> parse -> dump is the identity.
 * Shapes and broadcast modes must be what each op's shape rule gives.
 * Errors (NNC_ERR_SPEC) name source:line. fixed/batch workspace sizes are
 * not in the text (0 after parsing). */
int graph_parse(const char *source, const char *text, const char **rest, int *line_no, nnc_graph *g,
                nnc_status *st);

#endif
