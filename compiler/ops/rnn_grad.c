/* RNN_GRAD: backward through time for RNN. in[0] = the record [B, T+1, W],
 * in[1] = its incoming gradient (only the h, c fields are read), in[2] = Uᵀ
 * [G*n, n (+1)] (RNN's gradient transposes U once per call).
 * Output [B, T+1, 2*G*n]: row t+1 [0, G*n) the gradient of xp at time t;
 * row s+1 [G*n, 2*G*n) the gradient of step s's recurrent product h U (GRU:
 * of U's output before the reset gate scales it, so U's gradient is
 * h_prevᵀ times it); row 0 [0, S*n) the gradient of the initial state(s).
 * The state gradient is carried in row 0 while the steps run backwards. A
 * masked step passes the state gradient straight through. With a recurrent
 * dropout mask, h_prev's share through U is scaled by it. One unit per batch
 * row, run in register tiles as RNN: each step's d(h U) Uᵀ is one GEMM over
 * the tile's rows (codegen/emit_rnn.c). Row 0 [S*n, S*n + n) is scratch for
 * a product that needs an epilogue. */
#include <string.h>

#include "compiler/ops/op.h"
#include "compiler/ops/rnn_cell.h"

static int rnn_grad_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_rnn_params *p = &n->params.rnn;
  const nnc_shape *r = &g->nodes[n->in[0]].shape, *d = &g->nodes[n->in[1]].shape;
  const nnc_shape *u = &g->nodes[n->in[2]].shape;
  int64_t gn = rnn_gates(p) * p->units;
  if (!rnn_act_known(p->act) || !rnn_act_known(p->rec_act) || p->units < 1 || !r->batched ||
      r->rank != 3 || r->dims[2] != rnn_width(p) || !shape_equal(r, d))
    return op_shape_error(g, n, st, "rnn_grad needs the record and its gradient");
  if (u->batched || u->rank != 2 || u->dims[0] != gn || u->dims[1] != rnn_u_rows(p))
    return op_shape_error(g, n, st, "rnn_grad needs U transposed [gates*units, units (+1)]");
  int64_t dims[3] = {-1, r->dims[1], 2 * gn};
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
  LLVMValueRef rec, drec, out, ut;
} bwd;

/* Where row b's backward step i reads and writes (step s = t-1-i). */
typedef struct bpos {
  LLVMValueRef rrow, orow, prev, cur, dx, dr;
} bpos;

static bpos bpos_of(cg *c, const nnc_rnn_params *p, int64_t t, LLVMValueRef b, LLVMValueRef i) {
  int64_t w = rnn_width(p), gn = rnn_gates(p) * p->units, ow = 2 * gn;
  bpos q;
  q.rrow = cg_imul(c, b, cg_i64(c, (t + 1) * w));
  q.orow = cg_imul(c, b, cg_i64(c, (t + 1) * ow));
  if (!i) return q;
  LLVMValueRef s = LLVMBuildSub(c->b, cg_i64(c, t - 1), i, "");
  LLVMValueRef time = p->backwards ? i : s; /* backwards: step s read time t-1-s */
  q.prev = cg_iadd(c, q.rrow, cg_imul(c, s, cg_i64(c, w)));
  q.cur = cg_iadd(c, q.prev, cg_i64(c, w));
  q.dx = cg_iadd(c, q.orow, cg_imul(c, cg_iadd(c, time, cg_i64(c, 1)), cg_i64(c, ow)));
  q.dr = cg_iadd(c, cg_iadd(c, q.orow, cg_imul(c, cg_iadd(c, s, cg_i64(c, 1)), cg_i64(c, ow))),
                 cg_i64(c, gn));
  return q;
}

/* dst rows (from offset `to` of row 0, or of the carry) += A rows (d(h U) from
 * column `from`) times Uᵀ's rows [from, from + len), columns [0, n). */
static void back_gemm(cg *c, const bwd *f, int64_t t, int rows, LLVMValueRef r0, LLVMValueRef i,
                      int64_t from, int64_t len, int64_t to) {
  const nnc_rnn_params *p = &f->n->params.rnn;
  LLVMValueRef a[CG_TILE_ROWS], dst[CG_TILE_ROWS];
  for (int r = 0; r < rows; r++) {
    bpos q = bpos_of(c, p, t, cg_iadd(c, r0, cg_i64(c, r)), i);
    a[r] = rnn_ptr(c, f->out, cg_iadd(c, q.dr, cg_i64(c, from)));
    dst[r] = rnn_ptr(c, f->out, cg_iadd(c, q.orow, cg_i64(c, to)));
  }
  int64_t urows = rnn_u_rows(p);
  rnn_tile_gemm(c, rows, a, rnn_ptr(c, f->ut, cg_i64(c, from * urows)), urows, len, dst, p->units);
}

static void bwd_tile(cg *c, void *ctx, int rows, LLVMValueRef r0) {
  const bwd *f = ctx;
  const nnc_rnn_params *p = &f->n->params.rnn;
  LLVMValueRef rec = f->rec, drec = f->drec, out = f->out;
  int64_t units = p->units, gn = rnn_gates(p) * units, ow = 2 * gn;
  int64_t t = c->g->nodes[f->n->in[0]].shape.dims[1] - 1, m_at = rnn_width(p) - 1;
  int64_t scratch = rnn_states(p) * units;
  int gru = p->cell == NNC_RNN_GRU, after = gru && p->reset_after;
  int rdrop = (p->aux & NNC_RNN_AUX_RDROP) != 0;
  LLVMValueRef zero = cg_f32(c, 0.0), one = cg_f32(c, 1.0);
  LLVMValueRef r1 = cg_iadd(c, r0, cg_i64(c, rows));
  cg_loop b, i, j;
  cg_loop_begin(c, &b, r0, r1, "sample");
  cg_zero_fill(c, out, bpos_of(c, p, t, b.i, NULL).orow, cg_i64(c, ow));
  cg_loop_end(c, &b);
  cg_loop_begin(c, &i, cg_i64(c, 0), cg_i64(c, t), "step");
  cg_loop_begin(c, &b, r0, r1, "cells");
  bpos q = bpos_of(c, p, t, b.i, i.i);
  LLVMValueRef prev = q.prev, cur = q.cur, dx = q.dx, dr = q.dr, carry = q.orow;
  LLVMValueRef keep =
      LLVMBuildFCmp(c->b, LLVMRealUNE, cg_load(c, rec, cg_iadd(c, cur, cg_i64(c, m_at))), zero, "");
  cg_loop_begin(c, &j, cg_i64(c, 0), cg_i64(c, units), "cell");
  LLVMValueRef dh = fadd(c, ld(c, drec, cur, 0, j.i), ld(c, out, carry, 0, j.i));
  LLVMValueRef dhm = cg_select(c, keep, dh, zero);
  if (p->cell == NNC_RNN_SIMPLE) {
    LLVMValueRef da = fmul(c, dhm, rnn_act_deriv(c, p->act, ld(c, rec, cur, units, j.i)));
    st_(c, da, out, dx, 0, j.i);
    st_(c, da, out, dr, 0, j.i);
    st_(c, cg_select(c, keep, zero, dh), out, carry, 0, j.i);
  } else if (p->cell == NNC_RNN_LSTM) {
    LLVMValueRef dc = fadd(c, ld(c, drec, cur, units, j.i), ld(c, out, carry, units, j.i));
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
    for (int k = 0; k < 4; k++) {
      st_(c, dz[k], out, dx, k * units, j.i);
      st_(c, dz[k], out, dr, k * units, j.i);
    }
    st_(c, cg_select(c, keep, zero, dh), out, carry, 0, j.i);
    st_(c, cg_select(c, keep, fmul(c, dct, fg), dc), out, carry, units, j.i);
  } else {
    LLVMValueRef zz = ld(c, rec, cur, units, j.i), zh = ld(c, rec, cur, 4 * units, j.i);
    LLVMValueRef z = rnn_act(c, p->rec_act, zz), hh = rnn_act(c, p->act, zh);
    LLVMValueRef hp = ld(c, rec, prev, 0, j.i);
    LLVMValueRef dzz = fmul(c, fmul(c, dhm, fsub(c, hp, hh)), rnn_act_deriv(c, p->rec_act, zz));
    LLVMValueRef dzh = fmul(c, fmul(c, dhm, fsub(c, one, z)), rnn_act_deriv(c, p->act, zh));
    st_(c, dzz, out, dx, 0, j.i);
    st_(c, dzz, out, dr, 0, j.i);
    st_(c, dzh, out, dx, 2 * units, j.i);
    if (after) {
      LLVMValueRef zr = ld(c, rec, cur, 2 * units, j.i);
      LLVMValueRef dzr =
          fmul(c, fmul(c, dzh, ld(c, rec, cur, 3 * units, j.i)), rnn_act_deriv(c, p->rec_act, zr));
      st_(c, dzr, out, dx, units, j.i);
      st_(c, dzr, out, dr, units, j.i);
      st_(c, fmul(c, dzh, rnn_act(c, p->rec_act, zr)), out, dr, 2 * units, j.i);
    } else {
      st_(c, dzh, out, dr, 2 * units, j.i);
    }
    st_(c, cg_select(c, keep, fmul(c, dh, z), dh), out, carry, 0, j.i);
  }
  cg_loop_end(c, &j);
  if (gru && !after) cg_zero_fill(c, out, cg_iadd(c, carry, cg_i64(c, scratch)), cg_i64(c, units));
  cg_loop_end(c, &b);
  if (gru && !after) { /* zh = x_h + (r h_prev) U_h: the reset gate's gradient needs U_h dzh */
    back_gemm(c, f, t, rows, r0, i.i, 2 * units, units, scratch);
    cg_loop_begin(c, &b, r0, r1, "reset");
    q = bpos_of(c, p, t, b.i, i.i);
    cg_loop_begin(c, &j, cg_i64(c, 0), cg_i64(c, units), "j");
    LLVMValueRef drh = ld(c, out, q.orow, scratch, j.i);
    LLVMValueRef zr = ld(c, rec, q.cur, 2 * units, j.i);
    LLVMValueRef dzr =
        fmul(c, fmul(c, drh, ld(c, rec, q.prev, 0, j.i)), rnn_act_deriv(c, p->rec_act, zr));
    st_(c, dzr, out, q.dx, units, j.i);
    st_(c, dzr, out, q.dr, units, j.i);
    st_(c, fadd(c, ld(c, out, q.orow, 0, j.i), fmul(c, drh, rnn_act(c, p->rec_act, zr))), out,
        q.orow, 0, j.i);
    cg_loop_end(c, &j);
    cg_loop_end(c, &b);
  }
  /* h_prev's share through h U: d(h U) Uᵀ (times the dropout mask U saw) */
  int64_t len = gru && !after ? 2 * units : gn;
  if (!rdrop) {
    back_gemm(c, f, t, rows, r0, i.i, 0, len, 0);
  } else {
    cg_loop_begin(c, &b, r0, r1, "clear");
    cg_zero_fill(c, out, cg_iadd(c, bpos_of(c, p, t, b.i, NULL).orow, cg_i64(c, scratch)),
                 cg_i64(c, units));
    cg_loop_end(c, &b);
    back_gemm(c, f, t, rows, r0, i.i, 0, len, scratch);
    cg_loop_begin(c, &b, r0, r1, "drop");
    q = bpos_of(c, p, t, b.i, NULL);
    cg_loop_begin(c, &j, cg_i64(c, 0), cg_i64(c, units), "j");
    LLVMValueRef dot =
        fmul(c, ld(c, out, q.orow, scratch, j.i), ld(c, rec, q.rrow, rnn_z_at(p), j.i));
    st_(c, fadd(c, ld(c, out, q.orow, 0, j.i), dot), out, q.orow, 0, j.i);
    cg_loop_end(c, &j);
    cg_loop_end(c, &b);
  }
  cg_loop_end(c, &i);
  /* the record's row 0 is the initial state itself */
  cg_loop_begin(c, &b, r0, r1, "initial");
  q = bpos_of(c, p, t, b.i, NULL);
  cg_loop_begin(c, &j, cg_i64(c, 0), cg_i64(c, rnn_states(p) * units), "j");
  st_(c, fadd(c, ld(c, out, q.orow, 0, j.i), ld(c, drec, q.rrow, 0, j.i)), out, q.orow, 0, j.i);
  cg_loop_end(c, &j);
  cg_loop_end(c, &b);
}

static int rnn_grad_emit(cg *c, const nnc_node *n, LLVMValueRef rec, LLVMValueRef drec,
                         LLVMValueRef out, LLVMValueRef u0, LLVMValueRef u1) {
  bwd f = {.n = n, .rec = rec, .drec = drec, .out = out, .ut = cg_buffer(c, n->in[2])};
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
