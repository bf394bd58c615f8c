/* RNN_GRAD: backward through time for RNN. in[0] = the record [B, T+1, W],
 * in[1] = the incoming gradient of its state fields [B, T+1, S*n] (h, c: the
 * other fields are a cache and carry none), in[2] = Uᵀ [G*n, n (+1)] (RNN's
 * gradient transposes U once per call).
 * Output [B, T (+1), rnn_grad_width]: row `time` [0, G*n) the gradient of xp
 * at that time, which for SimpleRNN, LSTM and GRU without reset_after is
 * also the gradient of the recurrent product h U of the step that read that
 * time (GRU: of U's output before the reset gate scales it), so U's gradient
 * is h_prevᵀ (in time order) times the output read in place; GRU reset_after
 * adds the candidate's d(h U) (reset gate times d xp's candidate block) as
 * [G*n, G*n + n). With an initial state (NNC_RNN_AUX_STATE) a last row T
 * holds the initial states' gradient [0, S*n). The rows are [B*T, G*n] in
 * the order the gradients of W and U contract over: no copy in between.
 * The state gradient is carried in the thread's scratch while the steps run backwards
 * (one (S+1) n block per tile row: the states, then scratch for a product
 * that needs an epilogue). A masked step passes the state gradient straight
 * through. With a recurrent dropout mask, h_prev's share through U is scaled
 * by it. One unit per batch row, run in register tiles as RNN: each step's
 * d(h U) Uᵀ is one GEMM over the tile's rows (codegen/emit_rnn.c). */
#include <string.h>

#include "compiler/ops/op.h"
#include "compiler/ops/rnn_cell.h"

static int rnn_grad_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_rnn_params *p = &n->params.rnn;
  const nnc_shape *r = &g->nodes[n->in[0]].shape, *d = &g->nodes[n->in[1]].shape;
  const nnc_shape *u = &g->nodes[n->in[2]].shape;
  int64_t gn = rnn_gates(p) * p->units;
  if (!rnn_act_known(p->act) || !rnn_act_known(p->rec_act) || p->units < 1 || !r->batched ||
      r->rank != 3 || r->dims[2] != rnn_width(p) || !d->batched || d->rank != 3 ||
      d->dims[1] != r->dims[1] || d->dims[2] != rnn_states(p) * p->units)
    return op_shape_error(g, n, st, "rnn_grad needs the record and its states' gradient");
  if (u->batched || u->rank != 2 || u->dims[0] != gn || u->dims[1] != rnn_u_rows(p))
    return op_shape_error(g, n, st, "rnn_grad needs U transposed [gates*units, units (+1)]");
  if (p->units > RNN_GRAD_MAX_UNITS)
    return op_shape_error(g, n, st, "rnn_grad: at most 16384 units");
  int64_t t = r->dims[1] - 1;
  int64_t dims[3] = {-1, t + (p->aux & NNC_RNN_AUX_STATE ? 1 : 0), rnn_grad_width(p)};
  n->shape = shape_make(1, 3, dims);
  return NNC_OK;
}

static LLVMValueRef fmul(cg *c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildFMul(c->b, a, b, "");
}
static LLVMValueRef fadd(cg *c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildFAdd(c->b, a, b, "");
}
static LLVMValueRef fsub(cg *c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildFSub(c->b, a, b, "");
}
static LLVMValueRef at(cg *c, LLVMValueRef base, int64_t off, LLVMValueRef j) {
  return cg_iadd(c, base, cg_iadd(c, cg_i64(c, off), j));
}
static LLVMValueRef ld(cg *c, LLVMValueRef buf, LLVMValueRef base, int64_t off, LLVMValueRef j) {
  return cg_load(c, buf, at(c, base, off, j));
}
static void st_(cg *c, LLVMValueRef v, LLVMValueRef buf, LLVMValueRef base, int64_t off,
                LLVMValueRef j) {
  cg_store(c, v, buf, at(c, base, off, j));
}

typedef struct bwd {
  const nnc_node *n;
  LLVMValueRef rec, drec, out, ut, carry;
} bwd;

/* Each tile row's block of the carry: the state gradient(s), then scratch. */
static int64_t carry_width(const nnc_rnn_params *p) {
  return (rnn_states(p) + 1) * p->units;
}

/* Where row b's backward step i reads and writes (step s = t-1-i): the
 * record's rows, the states' incoming gradient, the output's row. */
typedef struct bpos {
  LLVMValueRef rrow, drow, orow, prev, cur, dcur, dx;
} bpos;

static bpos bpos_of(cg *c, const nnc_rnn_params *p, int64_t t, LLVMValueRef b, LLVMValueRef i) {
  int64_t w = rnn_width(p), sn = rnn_states(p) * p->units, ow = rnn_grad_width(p);
  int64_t orows = t + (p->aux & NNC_RNN_AUX_STATE ? 1 : 0);
  bpos q;
  q.rrow = cg_imul(c, b, cg_i64(c, (t + 1) * w));
  q.drow = cg_imul(c, b, cg_i64(c, (t + 1) * sn));
  q.orow = cg_imul(c, b, cg_i64(c, orows * ow));
  if (!i) return q;
  LLVMValueRef s = LLVMBuildSub(c->b, cg_i64(c, t - 1), i, "");
  LLVMValueRef time = p->backwards ? i : s; /* backwards: step s read time t-1-s */
  q.prev = cg_iadd(c, q.rrow, cg_imul(c, s, cg_i64(c, w)));
  q.cur = cg_iadd(c, q.prev, cg_i64(c, w));
  q.dcur = cg_iadd(c, q.drow, cg_imul(c, cg_iadd(c, s, cg_i64(c, 1)), cg_i64(c, sn)));
  q.dx = cg_iadd(c, q.orow, cg_imul(c, time, cg_i64(c, ow)));
  return q;
}

/* Tile row b's carry block (b from r0). */
static LLVMValueRef carry_of(cg *c, const nnc_rnn_params *p, LLVMValueRef b, LLVMValueRef r0) {
  return cg_imul(c, LLVMBuildSub(c->b, b, r0, ""), cg_i64(c, carry_width(p)));
}

/* carry rows (from offset `to`) += the output rows' d(h U) columns
 * [col, col + len) times Uᵀ's rows [urow, urow + len), columns [0, n). */
static void back_gemm(cg *c, const bwd *f, int64_t t, int rows, LLVMValueRef r0, LLVMValueRef i,
                      int64_t col, int64_t urow, int64_t len, int64_t to) {
  const nnc_rnn_params *p = &f->n->params.rnn;
  LLVMValueRef a[CG_TILE_ROWS], dst[CG_TILE_ROWS];
  for (int r = 0; r < rows; r++) {
    bpos q = bpos_of(c, p, t, cg_iadd(c, r0, cg_i64(c, r)), i);
    a[r] = rnn_ptr(c, f->out, cg_iadd(c, q.dx, cg_i64(c, col)));
    dst[r] = rnn_ptr(c, f->carry, cg_i64(c, r * carry_width(p) + to));
  }
  int64_t urows = rnn_u_rows(p);
  rnn_tile_gemm(c, rows, a, rnn_ptr(c, f->ut, cg_i64(c, urow * urows)), urows, len, dst, p->units);
}

static void bwd_tile(cg *c, void *ctx, int rows, LLVMValueRef r0) {
  const bwd *f = ctx;
  const nnc_rnn_params *p = &f->n->params.rnn;
  LLVMValueRef rec = f->rec, drec = f->drec, out = f->out, cy = f->carry;
  int64_t units = p->units, gn = rnn_gates(p) * units, sn = rnn_states(p) * units;
  int64_t t = c->g->nodes[f->n->in[0]].shape.dims[1] - 1, m_at = rnn_width(p) - 1;
  int gru = p->cell == NNC_RNN_GRU, after = gru && p->reset_after;
  int rdrop = (p->aux & NNC_RNN_AUX_RDROP) != 0, state = (p->aux & NNC_RNN_AUX_STATE) != 0;
  LLVMValueRef zero = cg_f32(c, 0.0), one = cg_f32(c, 1.0);
  LLVMValueRef r1 = cg_iadd(c, r0, cg_i64(c, rows));
  cg_loop b, i, j, once;
  cg_zero_fill(c, cy, cg_i64(c, 0), cg_i64(c, rows * carry_width(p)));
  cg_loop_begin(c, &i, cg_i64(c, 0), cg_i64(c, t), "step");
  cg_loop_begin(c, &b, r0, r1, "cells");
  bpos q = bpos_of(c, p, t, b.i, i.i);
  LLVMValueRef prev = q.prev, cur = q.cur, dx = q.dx, carry = carry_of(c, p, b.i, r0);
  LLVMValueRef keep =
      LLVMBuildFCmp(c->b, LLVMRealUNE, cg_load(c, rec, cg_iadd(c, cur, cg_i64(c, m_at))), zero, "");
  cg_loop_begin(c, &j, cg_i64(c, 0), cg_i64(c, units), "cell");
  LLVMValueRef dh = fadd(c, ld(c, drec, q.dcur, 0, j.i), ld(c, cy, carry, 0, j.i));
  LLVMValueRef dhm = cg_select(c, keep, dh, zero);
  if (p->cell == NNC_RNN_SIMPLE) {
    LLVMValueRef da = fmul(c, dhm, rnn_act_deriv(c, p->act, ld(c, rec, cur, units, j.i)));
    st_(c, da, out, dx, 0, j.i);
    st_(c, cg_select(c, keep, zero, dh), cy, carry, 0, j.i);
  } else if (p->cell == NNC_RNN_LSTM) {
    LLVMValueRef dc = fadd(c, ld(c, drec, q.dcur, units, j.i), ld(c, cy, carry, units, j.i));
    LLVMValueRef dcm = cg_select(c, keep, dc, zero);
    LLVMValueRef zi = ld(c, rec, cur, 2 * units, j.i), zf = ld(c, rec, cur, 3 * units, j.i);
    LLVMValueRef zg = ld(c, rec, cur, 4 * units, j.i), zo = ld(c, rec, cur, 5 * units, j.i);
    int64_t a_at = rnn_a_at(p); /* the forward pass's i f g o act(c) */
    LLVMValueRef ig = ld(c, rec, cur, a_at, j.i), fg = ld(c, rec, cur, a_at + units, j.i);
    LLVMValueRef gg = ld(c, rec, cur, a_at + 2 * units, j.i);
    LLVMValueRef og = ld(c, rec, cur, a_at + 3 * units, j.i);
    LLVMValueRef tc = ld(c, rec, cur, a_at + 4 * units, j.i);
    LLVMValueRef cp = ld(c, rec, prev, units, j.i);
    LLVMValueRef cn = fadd(c, fmul(c, fg, cp), fmul(c, ig, gg));
    LLVMValueRef dct = fadd(c, dcm, fmul(c, fmul(c, dhm, og), rnn_act_deriv_at(c, p->act, cn, tc)));
    LLVMValueRef dz[4] = {fmul(c, fmul(c, dct, gg), rnn_act_deriv_at(c, p->rec_act, zi, ig)),
                          fmul(c, fmul(c, dct, cp), rnn_act_deriv_at(c, p->rec_act, zf, fg)),
                          fmul(c, fmul(c, dct, ig), rnn_act_deriv_at(c, p->act, zg, gg)),
                          fmul(c, fmul(c, dhm, tc), rnn_act_deriv_at(c, p->rec_act, zo, og))};
    for (int k = 0; k < 4; k++) st_(c, dz[k], out, dx, k * units, j.i);
    st_(c, cg_select(c, keep, zero, dh), cy, carry, 0, j.i);
    st_(c, cg_select(c, keep, fmul(c, dct, fg), dc), cy, carry, units, j.i);
  } else {
    LLVMValueRef zz = ld(c, rec, cur, units, j.i), zh = ld(c, rec, cur, 4 * units, j.i);
    LLVMValueRef z = rnn_act(c, p->rec_act, zz), hh = rnn_act(c, p->act, zh);
    LLVMValueRef hp = ld(c, rec, prev, 0, j.i);
    LLVMValueRef dzz = fmul(c, fmul(c, dhm, fsub(c, hp, hh)), rnn_act_deriv(c, p->rec_act, zz));
    LLVMValueRef dzh = fmul(c, fmul(c, dhm, fsub(c, one, z)), rnn_act_deriv(c, p->act, zh));
    st_(c, dzz, out, dx, 0, j.i);
    st_(c, dzh, out, dx, 2 * units, j.i);
    if (after) {
      LLVMValueRef zr = ld(c, rec, cur, 2 * units, j.i);
      LLVMValueRef dzr =
          fmul(c, fmul(c, dzh, ld(c, rec, cur, 3 * units, j.i)), rnn_act_deriv(c, p->rec_act, zr));
      st_(c, dzr, out, dx, units, j.i);
      st_(c, fmul(c, dzh, rnn_act(c, p->rec_act, zr)), out, dx, gn, j.i);
    }
    st_(c, cg_select(c, keep, fmul(c, dh, z), dh), cy, carry, 0, j.i);
  }
  cg_loop_end(c, &j);
  if (gru && !after) cg_zero_fill(c, cy, cg_iadd(c, carry, cg_i64(c, sn)), cg_i64(c, units));
  cg_loop_end(c, &b);
  if (gru && !after) { /* zh = x_h + (r h_prev) U_h: the reset gate's gradient needs U_h dzh */
    back_gemm(c, f, t, rows, r0, i.i, 2 * units, 2 * units, units, sn);
    cg_loop_begin(c, &b, r0, r1, "reset");
    q = bpos_of(c, p, t, b.i, i.i);
    LLVMValueRef cb = carry_of(c, p, b.i, r0);
    cg_loop_begin(c, &j, cg_i64(c, 0), cg_i64(c, units), "j");
    LLVMValueRef drh = ld(c, cy, cb, sn, j.i);
    LLVMValueRef zr = ld(c, rec, q.cur, 2 * units, j.i);
    LLVMValueRef dzr =
        fmul(c, fmul(c, drh, ld(c, rec, q.prev, 0, j.i)), rnn_act_deriv(c, p->rec_act, zr));
    st_(c, dzr, out, q.dx, units, j.i);
    st_(c, fadd(c, ld(c, cy, cb, 0, j.i), fmul(c, drh, rnn_act(c, p->rec_act, zr))), cy, cb, 0,
        j.i);
    cg_loop_end(c, &j);
    cg_loop_end(c, &b);
  }
  /* h_prev's share through h U: d(h U) Uᵀ (times the dropout mask U saw);
   * the last step's only matters for an initial state's gradient */
  LLVMValueRef more =
      LLVMBuildICmp(c->b, LLVMIntSLT, cg_iadd(c, i.i, cg_i64(c, 1)), cg_i64(c, t), "");
  LLVMValueRef trips = state ? cg_i64(c, 1) : LLVMBuildZExt(c->b, more, c->i64, "");
  cg_loop_begin(c, &once, cg_i64(c, 0), trips, "share");
  if (after) { /* d(h U) is d xp's [0, 2n) and the candidate's [G*n, G*n + n) */
    back_gemm(c, f, t, rows, r0, i.i, 0, 0, 2 * units, 0);
    back_gemm(c, f, t, rows, r0, i.i, gn, 2 * units, units, 0);
  } else if (!rdrop) {
    back_gemm(c, f, t, rows, r0, i.i, 0, 0, gru ? 2 * units : gn, 0);
  } else {
    cg_loop_begin(c, &b, r0, r1, "clear");
    cg_zero_fill(c, cy, cg_iadd(c, carry_of(c, p, b.i, r0), cg_i64(c, sn)), cg_i64(c, units));
    cg_loop_end(c, &b);
    back_gemm(c, f, t, rows, r0, i.i, 0, 0, gn, sn);
    cg_loop_begin(c, &b, r0, r1, "drop");
    q = bpos_of(c, p, t, b.i, NULL);
    LLVMValueRef cb = carry_of(c, p, b.i, r0);
    cg_loop_begin(c, &j, cg_i64(c, 0), cg_i64(c, units), "j");
    LLVMValueRef dot = fmul(c, ld(c, cy, cb, sn, j.i), ld(c, rec, q.rrow, rnn_z_at(p), j.i));
    st_(c, fadd(c, ld(c, cy, cb, 0, j.i), dot), cy, cb, 0, j.i);
    cg_loop_end(c, &j);
    cg_loop_end(c, &b);
  }
  cg_loop_end(c, &once);
  cg_loop_end(c, &i);
  if (!state) return;
  /* the initial states' gradient (the record's row 0 is the initial state itself) */
  cg_loop_begin(c, &b, r0, r1, "initial");
  q = bpos_of(c, p, t, b.i, NULL);
  LLVMValueRef cb = carry_of(c, p, b.i, r0);
  LLVMValueRef row = cg_iadd(c, q.orow, cg_i64(c, t * rnn_grad_width(p)));
  cg_loop_begin(c, &j, cg_i64(c, 0), cg_i64(c, sn), "j");
  st_(c, fadd(c, ld(c, cy, cb, 0, j.i), ld(c, drec, q.drow, 0, j.i)), out, row, 0, j.i);
  cg_loop_end(c, &j);
  cg_zero_fill(c, out, cg_iadd(c, row, cg_i64(c, sn)), cg_i64(c, rnn_grad_width(p) - sn));
  cg_loop_end(c, &b);
}

static int rnn_grad_emit(cg *c, const nnc_node *n, LLVMValueRef rec, LLVMValueRef drec,
                         LLVMValueRef out, LLVMValueRef u0, LLVMValueRef u1) {
  const nnc_rnn_params *p = &n->params.rnn;
  LLVMValueRef carry = cg_scratch(c, CG_TILE_ROWS * carry_width(p));
  bwd f = {
      .n = n, .rec = rec, .drec = drec, .out = out, .ut = cg_buffer(c, n->in[2]), .carry = carry};
  rnn_row_tiles(c, u0, u1, bwd_tile, &f);
  return NNC_OK;
}

const nnc_op_def op_rnn_grad = {.name = "rnn_grad",
                                .arity = 3,
                                .cls = NNC_CLASS_ROW,
                                .shape = rnn_grad_shape,
                                .grad = NULL,
                                .no_grad = 1,
                                .emit_anchor = rnn_grad_emit,
                                .anchor_units = op_leading_units};
