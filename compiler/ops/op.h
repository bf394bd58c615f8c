/* compiler/ops — one file per op: its definition (nnc_op_def) with the hooks
 * the rest of the compiler calls through the table in ops.c. */
#ifndef NNC_OP_H
#define NNC_OP_H

#include <llvm-c/Types.h>

#include "base/base.h"
#include "compiler/graph/graph.h"

/* The state of reverse-mode differentiation a gradient rule works in
 * (autodiff.c). grad/needs are indexed by forward node id. */
typedef struct nnc_grad_ctx {
  nnc_graph *g;
  int *grad;   /* incoming gradient of each forward node, or -1 */
  char *needs; /* 1 if a parameter influences the node */
  nnc_status *st;
} nnc_grad_ctx;

typedef struct cg cg; /* the emitter state (codegen/cg.h) */

typedef struct nnc_op_def {
  const char *name;
  int arity;
  nnc_op_class cls;
  /* Set n->shape and n->bcast[] from the operands (bcast[] starts FULL);
   * NULL: the builder sets the shape (sources). */
  int (*shape)(nnc_graph *g, nnc_node *n, nnc_status *st);
  /* Add the operands' gradient contributions given dy, the gradient of node
   * `id` (n is a copy: appending may move the array); 0 or -1 with st set.
   * NULL: nothing flows to the operands. */
  int (*grad)(nnc_grad_ctx *c, const nnc_node *n, int id, int dy);
  /* 0 when no gradient flows into or through this node (NULL: no_grad decides). */
  int (*differentiable)(const nnc_node *n);
  int no_grad; /* 1: argmax, one-hot, masks, effects */
  /* Elementwise ops and effects: the value at flat index i into *v (an effect
   * stores it and leaves *v NULL); operands through cg_operand. */
  int (*emit_element)(cg *c, const nnc_node *n, int id, LLVMValueRef i, LLVMValueRef *v);
  /* Anchors (matmul, row ops, reductions): the output units [u0, u1) into
   * `out` from operand buffers a, b. */
  int (*emit_anchor)(cg *c, const nnc_node *n, LLVMValueRef a, LLVMValueRef b, LLVMValueRef out,
                     LLVMValueRef u0, LLVMValueRef u1);
  /* How an anchor's output splits into units of per_unit elements for the
   * threads; NULL: one unit per row of in[0] (row ops). */
  void (*anchor_units)(cg *c, const nnc_node *n, LLVMValueRef *units, int64_t *per_unit);
} nnc_op_def;

const nnc_op_def *op_def(nnc_op op);

/* ---- helpers for shape rules (ops/shape_rules.c) ---- */
int op_shape_error(const nnc_graph *g, const nnc_node *n, nnc_status *st, const char *what);
int op_is_scalar_like(const nnc_shape *s);
nnc_shape op_with_last(nnc_shape s, int64_t last); /* the last axis replaced (or added) */
int op_broadcast_mode(const nnc_shape *operand, const nnc_shape *out); /* nnc_bcast or -1 */
/* Output `out`; every operand's broadcast mode against it (skip: an operand
 * index that is not broadcast, or -1). */
int op_infer_broadcast(const nnc_graph *g, nnc_node *n, const nnc_shape *out, int skip,
                       nnc_status *st);
int op_same_shape(nnc_graph *g, nnc_node *n, nnc_status *st); /* shape of in[0] */

/* ---- helpers of the shape ops (ops/layout.c) ---- */
/* Product of s->dims[from, to) (from >= 1: never the batch axis). */
int64_t op_span(const nnc_shape *s, int from, int to);
/* 0 if 1 <= axis < limit, else the shape error "<op> <what>". */
int op_check_axis(const nnc_graph *g, const nnc_node *n, int64_t axis, int limit, nnc_status *st);
/* Units of a shape op: one per batch row (batched) or per entry of axis 0. */
void op_leading_units(cg *c, const nnc_node *n, LLVMValueRef *units, int64_t *per_unit);
/* dst[dst_at + i] = src[src_at + i] for i < count (count may be an LLVM value). */
void op_copy(cg *c, LLVMValueRef src, LLVMValueRef src_at, LLVMValueRef dst, LLVMValueRef dst_at,
             LLVMValueRef count);

/* ---- the split product (ops/matmul.c, passes/ksplit.c) ---- */
/* K per part of a product split into `parts` (the last part takes the
 * rest): ceil(K / parts) rounded up to MATMUL_K_GRANULE rows, so that two
 * parts meet where two threads split the weight gradient's K rows into
 * whole register tiles (emit_group.c: 12 rows at width 16, 6 at 8 and 4),
 * and each thread updates the rows of W it multiplied. */
#define MATMUL_K_GRANULE 12
int64_t matmul_k_chunk(int64_t k, int64_t parts);
/* ---- helper of gather and gather_grad (ops/gather.c) ---- */
/* i1: v is an integer in [0, rows); *row gets it as i64 (0 otherwise). */
LLVMValueRef cg_table_row(cg *c, LLVMValueRef v, int64_t rows, LLVMValueRef *row);

/* ---- helpers for gradient rules (autodiff.c) ---- */
int grad_accumulate(nnc_grad_ctx *c, int target, int contribution);
int grad_unbroadcast(nnc_grad_ctx *c, int d, nnc_bcast mode);
int grad_lowered_first(nnc_grad_ctx *c, const nnc_node *n, int id, int dy); /* fails */

#endif
