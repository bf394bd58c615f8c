/* Shared by the recurrence ops (rnn.c, rnn_grad.c) and the recurrent layers:
 * the layout of RNN's record and the cells' activations in LLVM.
 *
 * RNN's output, the record [B, T+1, W], row 0 the initial state, row s+1 what
 * step s (in processed order: time T-1-s with go_backwards) left behind:
 *   SimpleRNN  h [0,n)  a [n,2n)                                   m [2n]
 *   LSTM       h [0,n)  c [n,2n)  zi zf zg zo [2n,6n)  i f g o act(c) [6n,11n)  m [11n]
 *   GRU        h [0,n)  zz zr [n,3n)  rec [3n,4n)  zh [4n,5n)      m [5n]
 * z.. are the gates' pre-activations; LSTM keeps the activated gates and
 * act(c) too, so the backward pass calls no transcendental function for
 * sigmoid and tanh (their derivatives follow from the values); GRU's rec is U_h h + b_rh with
 * reset_after, r * h_prev without; m is the step's mask value (1 kept).
 * With a recurrent dropout mask (NNC_RNN_AUX_RDROP) row 0 holds it in its
 * first pre-activation field [S*n, S*n + n), unused there otherwise. */
#ifndef NNC_OPS_RNN_CELL_H
#define NNC_OPS_RNN_CELL_H

#include "compiler/codegen/cg.h"
#include "compiler/graph/graph.h"

static inline int64_t rnn_gates(const nnc_rnn_params *p) {
  return p->cell == NNC_RNN_LSTM ? 4 : p->cell == NNC_RNN_GRU ? 3 : 1;
}
static inline int64_t rnn_states(const nnc_rnn_params *p) {
  return p->cell == NNC_RNN_LSTM ? 2 : 1;
}
/* U carries the recurrent bias as an extra last row (GRU reset_after with a bias). */
static inline int64_t rnn_u_rows(const nnc_rnn_params *p) {
  return p->units + (p->cell == NNC_RNN_GRU && p->reset_after && p->rec_bias ? 1 : 0);
}
static inline int64_t rnn_width(const nnc_rnn_params *p) {
  int64_t n = p->units;
  return (p->cell == NNC_RNN_LSTM ? 11 * n : p->cell == NNC_RNN_GRU ? 5 * n : 2 * n) + 1;
}
/* The first pre-activation field (right after the states). */
static inline int64_t rnn_z_at(const nnc_rnn_params *p) {
  return rnn_states(p) * p->units;
}

/* LSTM: the activated gates i f g o and act(c) (after the pre-activations). */
static inline int64_t rnn_a_at(const nnc_rnn_params *p) {
  return 6 * p->units;
}

/* RNN_GRAD's output width: d xp [0, G*n), then GRU reset_after's d(h U) of the
 * candidate (the reset gate times d xp's candidate block) [G*n, G*n + n). */
static inline int64_t rnn_grad_width(const nnc_rnn_params *p) {
  return rnn_gates(p) * p->units + (p->cell == NNC_RNN_GRU && p->reset_after ? p->units : 0);
}
/* RNN_GRAD keeps each tile row's state gradient on the stack ((S+1) n floats). */
#define RNN_GRAD_MAX_UNITS 16384

/* The width of RNN's aux operand: initial states, mask [T], recurrent dropout mask [n]. */
static inline int64_t rnn_aux_width(const nnc_rnn_params *p, int64_t t) {
  return (p->aux & NNC_RNN_AUX_STATE ? rnn_states(p) * p->units : 0) +
         (p->aux & NNC_RNN_AUX_MASK ? t : 0) + (p->aux & NNC_RNN_AUX_RDROP ? p->units : 0);
}

/* f(x) and f'(x) of an activation code (nnc_fn, NNC_RNN_LINEAR, NNC_RNN_HARD_SIGMOID_K2). */
LLVMValueRef rnn_act(cg *c, int64_t act, LLVMValueRef x);
LLVMValueRef rnn_act_deriv(cg *c, int64_t act, LLVMValueRef x);
/* 1 when the activation code is one rnn_act emits. */
int rnn_act_known(int64_t act);
/* f'(x) given y = f(x) as well: from y alone for sigmoid and tanh. */
LLVMValueRef rnn_act_deriv_at(cg *c, int64_t act, LLVMValueRef x, LLVMValueRef y);

/* Register-tiled products over a tile of batch rows (codegen/emit_rnn.c). */
/* &base[index] */
LLVMValueRef rnn_ptr(cg *c, LLVMValueRef base, LLVMValueRef index);
/* dst[r][j] += sum over p < len of a[r][p] * b[p ldb + j], for r < rows
 * (<= CG_TILE_ROWS), j < cols; p in order, fused multiply-adds. */
void rnn_tile_gemm(cg *c, int rows, LLVMValueRef *a, LLVMValueRef b, int64_t ldb, int64_t len,
                   LLVMValueRef *dst, int64_t cols);
/* body(rows, first) for row tiles covering [r0, r1): tiles of CG_TILE_ROWS,
 * then 4, 2 and 1 rows. */
void rnn_row_tiles(cg *c, LLVMValueRef r0, LLVMValueRef r1, cg_rows_body body, void *ctx);
/* Loads and stores of a float or a vector of floats at &base[index]. */
LLVMValueRef rnn_vload(cg *c, LLVMTypeRef t, LLVMValueRef base, LLVMValueRef index);
void rnn_vstore(cg *c, LLVMValueRef v, LLVMValueRef base, LLVMValueRef index);
/* A step's gates with their epilogue: for strips of units [j0, j0 + w) (w the
 * vector width, then single units), z[r][k] = x[r][k n + j] + sum over p < n
 * of a[r][p] u[p (gates n) + k n + j], p in order, fused multiply-adds (the
 * chain rnn_tile_gemm computes), held in registers and handed to body, which
 * applies the activations and writes the step's results for those units. */
#define RNN_MAX_GATES 4
typedef void (*rnn_gate_body)(cg *c, void *ctx, int rows, LLVMValueRef z[][RNN_MAX_GATES],
                              LLVMValueRef j0);
void rnn_gate_tiles(cg *c, int rows, LLVMValueRef *a, LLVMValueRef *x, LLVMValueRef u, int64_t n,
                    int gates, rnn_gate_body body, void *ctx);

#endif
