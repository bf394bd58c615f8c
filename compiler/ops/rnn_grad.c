/* RNN_GRAD: backward through time for RNN. in[0] = the record [B, T+1, W],
 * in[1] = its incoming gradient (only the h, c fields are read), in[2] = U.
 * Output [B, T+1, 2*G*n]: row t+1 [0, G*n) the gradient of xp at time t;
 * row s+1 [G*n, 2*G*n) the gradient of step s's recurrent product h U (GRU:
 * of U's output before the reset gate scales it, so U's gradient is
 * h_prevᵀ times it); row 0 [0, S*n) the gradient of the initial state(s).
 * The state gradient is carried in row 0 while the steps run backwards. A
 * masked step passes the state gradient straight through. With a recurrent
 * dropout mask, h_prev's share through U is scaled by it. One unit per batch
 * row, as RNN. */
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
  if (u->batched || u->rank != 2 || u->dims[0] != rnn_u_rows(p) || u->dims[1] != gn)
    return op_shape_error(g, n, st, "rnn_grad needs U [units (+1), gates*units]");
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

/* sum over j < len of U[k, col + j] * buf[v_at + j], in j order */
static LLVMValueRef row_dot(cg *c, LLVMValueRef u, LLVMValueRef k, int64_t gn, int64_t col,
                            LLVMValueRef buf, LLVMValueRef v_at, int64_t len) {
  LLVMValueRef acc = cg_alloca_f32(c, "dot");
  cg_set(c, acc, cg_f32(c, 0.0));
  LLVMValueRef urow = cg_iadd(c, cg_imul(c, k, cg_i64(c, gn)), cg_i64(c, col));
  cg_loop j;
  cg_loop_begin(c, &j, cg_i64(c, 0), cg_i64(c, len), "j");
  cg_set(
      c, acc,
      fadd(c, cg_get(c, acc),
           fmul(c, cg_load(c, u, cg_iadd(c, urow, j.i)), cg_load(c, buf, cg_iadd(c, v_at, j.i)))));
  cg_loop_end(c, &j);
  return cg_get(c, acc);
}

static int rnn_grad_emit(cg *c, const nnc_node *n, LLVMValueRef rec, LLVMValueRef drec,
                         LLVMValueRef out, LLVMValueRef u0, LLVMValueRef u1) {
  const nnc_rnn_params *p = &n->params.rnn;
  LLVMValueRef u = cg_buffer(c, n->in[2]);
  int64_t units = p->units, gn = rnn_gates(p) * units, w = rnn_width(p), ow = 2 * gn;
  int64_t t = c->g->nodes[n->in[0]].shape.dims[1] - 1, m_at = w - 1;
  int gru = p->cell == NNC_RNN_GRU, after = gru && p->reset_after;
  LLVMValueRef zero = cg_f32(c, 0.0), one = cg_f32(c, 1.0);
  cg_loop b;
  cg_loop_begin(c, &b, u0, u1, "sample");
  LLVMValueRef rrow = cg_imul(c, b.i, cg_i64(c, (t + 1) * w));
  LLVMValueRef orow = cg_imul(c, b.i, cg_i64(c, (t + 1) * ow)), carry = orow;
  cg_zero_fill(c, out, orow, cg_i64(c, ow));
  cg_loop i, j;
  cg_loop_begin(c, &i, cg_i64(c, 0), cg_i64(c, t), "step");
  LLVMValueRef s = LLVMBuildSub(c->b, cg_i64(c, t - 1), i.i, "");
  LLVMValueRef time = p->backwards ? i.i : s; /* backwards: step s read time t-1-s */
  LLVMValueRef prev = cg_iadd(c, rrow, cg_imul(c, s, cg_i64(c, w)));
  LLVMValueRef cur = cg_iadd(c, prev, cg_i64(c, w));
  LLVMValueRef dx = cg_iadd(c, orow, cg_imul(c, cg_iadd(c, time, cg_i64(c, 1)), cg_i64(c, ow)));
  LLVMValueRef dr = cg_iadd(
      c, cg_iadd(c, orow, cg_imul(c, cg_iadd(c, s, cg_i64(c, 1)), cg_i64(c, ow))), cg_i64(c, gn));
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
    LLVMValueRef ig = rnn_act(c, p->rec_act, zi), fg = rnn_act(c, p->rec_act, zf);
    LLVMValueRef gg = rnn_act(c, p->act, zg), og = rnn_act(c, p->rec_act, zo);
    LLVMValueRef cp = ld(c, rec, prev, units, j.i);
    LLVMValueRef cn = fadd(c, fmul(c, fg, cp), fmul(c, ig, gg));
    LLVMValueRef dct = fadd(c, dcm, fmul(c, fmul(c, dhm, og), rnn_act_deriv(c, p->act, cn)));
    LLVMValueRef dz[4] = {
        fmul(c, fmul(c, dct, gg), rnn_act_deriv(c, p->rec_act, zi)),
        fmul(c, fmul(c, dct, cp), rnn_act_deriv(c, p->rec_act, zf)),
        fmul(c, fmul(c, dct, ig), rnn_act_deriv(c, p->act, zg)),
        fmul(c, fmul(c, dhm, rnn_act(c, p->act, cn)), rnn_act_deriv(c, p->rec_act, zo))};
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
  if (gru && !after) { /* zh = x_h + (r h_prev) U_h: the reset gate's gradient needs U_h dzh */
    cg_loop_begin(c, &j, cg_i64(c, 0), cg_i64(c, units), "reset");
    LLVMValueRef drh =
        row_dot(c, u, j.i, gn, 2 * units, out, cg_iadd(c, dr, cg_i64(c, 2 * units)), units);
    LLVMValueRef zr = ld(c, rec, cur, 2 * units, j.i);
    LLVMValueRef dzr =
        fmul(c, fmul(c, drh, ld(c, rec, prev, 0, j.i)), rnn_act_deriv(c, p->rec_act, zr));
    st_(c, dzr, out, dx, units, j.i);
    st_(c, dzr, out, dr, units, j.i);
    st_(c, fadd(c, ld(c, out, carry, 0, j.i), fmul(c, drh, rnn_act(c, p->rec_act, zr))), out, carry,
        0, j.i);
    cg_loop_end(c, &j);
  }
  /* h_prev's share through h U: U times d(h U) */
  cg_loop_begin(c, &j, cg_i64(c, 0), cg_i64(c, units), "back");
  LLVMValueRef dot = row_dot(c, u, j.i, gn, 0, out, dr, gru && !after ? 2 * units : gn);
  if (p->aux & NNC_RNN_AUX_RDROP) /* U saw h_prev times the mask (record row 0) */
    dot = fmul(c, dot, ld(c, rec, rrow, rnn_z_at(p), j.i));
  st_(c, fadd(c, ld(c, out, carry, 0, j.i), dot), out, carry, 0, j.i);
  cg_loop_end(c, &j);
  cg_loop_end(c, &i);
  /* the record's row 0 is the initial state itself */
  cg_loop_begin(c, &j, cg_i64(c, 0), cg_i64(c, rnn_states(p) * units), "initial");
  st_(c, fadd(c, ld(c, out, carry, 0, j.i), ld(c, drec, rrow, 0, j.i)), out, carry, 0, j.i);
  cg_loop_end(c, &j);
  cg_loop_end(c, &b);
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
