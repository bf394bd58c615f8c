/* compiler/passes — graph-to-graph transformations, in pipeline order.
 * Each pass keeps the graph verifiable (graph_verify) and says what it
 * requires and provides. */
#ifndef NNC_PASSES_H
#define NNC_PASSES_H

#include "compiler/graph/graph.h"

/* requires: a forward graph. provides: a graph for one phase: DROPOUT becomes
 * x * mask (train) or x (inference, and rate 0). */
int pass_specialize(nnc_graph *g, nnc_phase phase, nnc_status *st);

/* requires: LOSS nodes. provides: every crossentropy after a sigmoid or a
 * softmax reads that activation's input (from_logits), as Keras's TensorFlow
 * backend does; Keras's warning for from_logits=True there goes to prog. */
int pass_logits_rewrite(nnc_graph *g, nnc_program *prog, nnc_status *st);

/* requires: LOSS nodes. provides: their expansion into primitive ops. */
int pass_decompose(nnc_graph *g, nnc_status *st);

/* provides: constant subexpressions folded, x*1, x+0, x/1 removed. */
int pass_fold(nnc_graph *g, nnc_status *st);
/* provides: structurally equal nodes merged (never effects or random masks). */
int pass_cse(nnc_graph *g, nnc_status *st);
/* The same, reporting the hash-table slots it looked at (tests of its work). */
int pass_cse_counted(nnc_graph *g, int64_t *probes, nnc_status *st);
/* provides: only nodes that reach an effect (assign, stat, output) remain. */
int pass_dce(nnc_graph *g, nnc_status *st);

/* requires: a final graph (before the epilogue passes). provides: each
 * product of a wide batch input by a narrow weight split along K into
 * partial products and their PART_SUM (ksplit.c says which, and why). */
int pass_ksplit(nnc_graph *g, nnc_status *st);

/* requires: a final graph (before fuse). provides: the per-channel
 * elementwise nodes after each CONV (bias, inference BatchNormalization,
 * activation) flagged NNC_NODE_TILE and moved right after it, to run on its
 * register tile (conv_epilogue.c says when). */
int pass_conv_epilogue(nnc_graph *g, nnc_status *st);
/* The same for a matmul (a Dense layer's bias and relu, sigmoid or tanh), on
 * the GEMM's register tile (emit_gemm.c); a chain whose group would go on
 * with more elementwise nodes is left to the flat epilogue loop. `follow`:
 * the train graph of the same compile for an inference graph, or NULL (see
 * epilogue_follow_plain). */
int pass_dense_epilogue(nnc_graph *g, const nnc_graph *follow, nnc_status *st);
/* 1 if `train` (NULL: 0) computes matmul node `matmul` of g, the same node of
 * the forward graph, without a tile chain: g then leaves its chain in the
 * flat loop and shares the train graph's strip function (epilogue_follow.c). */
int epilogue_follow_plain(const nnc_graph *train, const nnc_graph *g, int matmul);

/* requires: a train graph after the epilogue passes. provides, with
 * NNC_FUSE_SCHEDULE=1 (else no change): the same nodes in an order that
 * fuses more (schedule.c): the optimizer's step scalars first, each
 * parameter's update (with its gradient's matmul or reduction) after its
 * last dependency, at a group boundary. */
int pass_schedule(nnc_graph *g, nnc_status *st);

/* requires: a final graph. provides: node->group: contiguous runs (in node
 * order) of elementwise nodes over one iteration space; a run right after a
 * matmul, row op or reduction with the same output space becomes its
 * epilogue (bias + activation after x @ W, the update after a gradient). */
int pass_fuse(nnc_graph *g, nnc_status *st);
/* provides: every node in a group of its own (check-numerics mode: each
 * node's output is materialized so the runtime can scan it). */
int pass_fuse_none(nnc_graph *g, nnc_status *st);

/* requires: groups. provides: node->region/offset for every value that
 * lives across groups; workspace reused once a value is dead. */
int pass_plan_memory_for(nnc_graph *g, const nnc_program *prog, nnc_status *st);
/* The same with a buffer of its own for every computed value, never reused
 * (check-numerics mode: every output is still there after the step). */
int pass_plan_memory_all(nnc_graph *g, const nnc_program *prog, nnc_status *st);

#endif
