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
#define OP(id, name, arity, cls) NNC_OP_##id,
#include "compiler/graph/ops.def"
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
  NNC_BIN_COUNT
} nnc_binary_fn;

typedef enum nnc_reduce_fn { NNC_RED_ALL, NNC_RED_LAST, NNC_RED_LEADING } nnc_reduce_fn;

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
  NNC_NODE_UPDATE = 1u << 0, /* part of the optimizer update (scheduled last) */
  NNC_NODE_NO_GRAD = 1u << 1 /* no gradient flows into or through it */
};

typedef struct nnc_node {
  nnc_op op;
  int n_in;
  int in[3];
  nnc_bcast bcast[3];
  nnc_shape shape;
  nnc_phase phase;
  int fn; /* nnc_fn, nnc_binary_fn, nnc_reduce_fn or nnc_loss_kind */
  double attr[2];
  int64_t iattr[2];
  uint64_t key; /* random stream key (dropout) */
  unsigned flags;
  char label[96]; /* where it came from: "dense_1/kernel", "dense/matmul" */
  /* filled by passes */
  int dead;
  int group;  /* fusion group, -1 before fusion */
  int region; /* NNC_REGION_* of its buffer (NNC_REGION_IO + k: data), -1 if none (fused away) */
  int64_t offset; /* in floats (per row for NNC_REGION_BATCH) */
} nnc_node;

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
  char weight[32];
  nnc_shape shape;       /* unbatched */
  int64_t count, offset; /* in floats within NNC_REGION_PARAMS */
  nnc_spec_init init;
  int trainable; /* 0: no gradient, no update (trainable: false on the layer or a model around it)
                  */
} nnc_param_info;

typedef struct nnc_slot_info {
  char name[NNC_NAME_MAX * 2 + 16]; /* "<param>/m" */
  int64_t count, offset;            /* optimizer slots start at zero (Keras 3) */
} nnc_slot_info;

typedef enum nnc_stat_kind {
  NNC_STAT_LOSS,     /* batch loss L_b: the epoch mean is sum(n_b L_b) / sum(n_b) */
  NNC_STAT_MEAN_SUM, /* sum over the batch of per-sample means: / sum(n_b) */
  NNC_STAT_COUNT_SUM /* confusion counts summed over the epoch */
} nnc_stat_kind;

typedef enum nnc_metric_result {
  NNC_RESULT_MEAN,      /* stat[0] summed over the epoch / samples */
  NNC_RESULT_PRECISION, /* stat[0] = TP, stat[1] = FP */
  NNC_RESULT_RECALL     /* stat[0] = TP, stat[1] = FN */
} nnc_metric_result;

/* One log key ("loss", "accuracy", "out_a_loss", ...): the program's list is
 * every key a step reports, in Keras's order, "loss" first. */
typedef struct nnc_metric_info {
  char name[NNC_NAME_MAX];
  nnc_metric_result result;
  int stat[2];
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
  int64_t classes; /* a target of a sparse categorical loss: labels in [0, classes); else 0 */
  int output;      /* a target: the index of its output; else -1 */
} nnc_io_info;

#define NNC_MAX_STATS 64
/* Warnings Keras would print while tracing (compiler/passes/logits.c). */
#define NNC_MAX_WARNINGS 4
#define NNC_WARNING_MAX 256

typedef struct nnc_program {
  int n_params, n_slots, n_stats, n_metrics, n_layers;
  nnc_param_info *params;
  nnc_slot_info *slots;
  nnc_layer_info *layers;
  nnc_stat_kind stat_kinds[NNC_MAX_STATS];
  nnc_metric_info metrics[NNC_MAX_METRICS];
  int64_t params_floats, slots_floats;
  /* INPUT node k reads inputs[k] for k < n_inputs, targets[k - n_inputs]
   * after; OUTPUT node k writes outputs[k]. Heap arrays (program_free). */
  int n_inputs, n_targets, n_outputs;
  nnc_io_info *inputs, *targets, *outputs;
  int n_warnings;
  char warnings[NNC_MAX_WARNINGS][NNC_WARNING_MAX];
} nnc_program;

void program_free(nnc_program *p);
/* Append to one of the program's input, target or output lists. */
int program_add_io(nnc_io_info **list, int *n, const char *name, nnc_shape shape, int64_t classes,
                   int output, nnc_status *st);

/* ---- building ---- */
int graph_init(nnc_graph *g, const char *name, nnc_status *st);
void graph_free(nnc_graph *g);
int graph_copy(nnc_graph *dst, const nnc_graph *src, const char *name, nnc_status *st);

/* Append a node; shape inferred from the op and operands. Returns its index
 * or -1 with st filled (shape errors name the node's label). */
int graph_add(nnc_graph *g, nnc_op op, int fn, const int *in, int n_in, nnc_status *st);
/* The same with iattr[0] set before shape inference (matmul transpose, one-hot depth). */
int graph_add_attr(nnc_graph *g, nnc_op op, int fn, const int *in, int n_in, int64_t iattr0,
                   nnc_status *st);

/* Shorthands used by lowering, autodiff and passes. */
int graph_source(nnc_graph *g, nnc_op op, int64_t index, nnc_shape shape, const char *label,
                 nnc_status *st);
int graph_const(nnc_graph *g, double value, nnc_status *st);
int graph_unary(nnc_graph *g, nnc_fn fn, int x, nnc_status *st);
int graph_binary(nnc_graph *g, nnc_binary_fn fn, int a, int b, nnc_status *st);
int graph_reduce(nnc_graph *g, nnc_reduce_fn fn, int x, nnc_status *st);

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

#endif
