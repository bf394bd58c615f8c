/* RNN: a recurrent layer's whole loop over time as one op (SimpleRNN, LSTM,
 * GRU). in[0] = xp [B, T, G*n], the input projection x W + b of every step
 * (one GEMM outside the loop); in[1] = U [n (+1), G*n], the recurrent kernel
 * (GRU reset_after: its recurrent bias as the last row); in[2] = aux
 * [B, S*n + T]: the initial state(s) when params.rnn.aux has
 * NNC_RNN_AUX_STATE (else zeros), then the mask [T] when it has
 * NNC_RNN_AUX_MASK (else every step kept), then a recurrent dropout mask
 * [n] when it has NNC_RNN_AUX_RDROP (SimpleRNN, LSTM: h_prev times it before
 * U; the record keeps it in row 0's unused pre-activation fields for
 * RNN_GRAD); with none, in[2] is in[0] and unread. Output: the record (rnn_cell.h), everything the
 * backward pass needs. A masked step keeps the previous state (Keras's `where(mask, new, old)`).
 * One thread unit per batch row; a thread runs its rows in register tiles
 * (codegen/emit_rnn.c), each step's h U one GEMM over the tile's rows with U
 * read in place, every element one chain of fused multiply-adds in k order
 * whatever tile it falls in, so the result does not depend on the number of
 * threads. SimpleRNN and LSTM apply the cell in the GEMM's epilogue, on a
 * vector of units of every gate while it is in registers (rnn_gate_tiles);
 * GRU runs the product and the cell as separate passes.
 * Gradient: RNN_GRAD (given Uᵀ, transposed once per call) gives d xp and
 * d(h U) per step and the initial states' gradients; the gradient of U is then ordinary transposed
 * matmuls. Only the state fields of the record (h, c) carry an incoming gradient: the other fields
 * are a cache read by RNN_GRAD alone. */
#include <string.h>

#include "compiler/ops/op.h"
#include "compiler/ops/rnn_cell.h"

static int rnn_shape(nnc_graph *g, nnc_node *n, nnc_status *st) {
  const nnc_rnn_params *p = &n->params.rnn;
  const nnc_shape *xp = &g->nodes[n->in[0]].shape, *u = &g->nodes[n->in[1]].shape;
  if (p->cell < NNC_RNN_SIMPLE || p->cell > NNC_RNN_GRU || p->units < 1 || !rnn_act_known(p->act) ||
      !rnn_act_known(p->rec_act))
    return op_shape_error(g, n, st, "rnn needs a known cell, units >= 1 and known activations");
  int64_t gn = rnn_gates(p) * p->units;
  if (!xp->batched || xp->rank != 3 || xp->dims[2] != gn)
    return op_shape_error(g, n, st, "rnn needs xp [B, T, gates*units]");
  if (u->batched || u->rank != 2 || u->dims[0] != rnn_u_rows(p) || u->dims[1] != gn)
    return op_shape_error(g, n, st, "rnn needs U [units (+1 for a recurrent bias), gates*units]");
  int64_t t = xp->dims[1];
  if ((p->aux & NNC_RNN_AUX_RDROP) && p->cell == NNC_RNN_GRU)
    return op_shape_error(g, n, st, "rnn's recurrent dropout mask is for SimpleRNN and LSTM");
  if (p->aux) {
    const nnc_shape *a = &g->nodes[n->in[2]].shape;
    int64_t want = rnn_aux_width(p, t);
    if (!a->batched || a->rank != 2 || a->dims[1] != want)
      return op_shape_error(g, n, st, "rnn's aux must be [B, initial states + mask]");
  }
  int64_t d[3] = {-1, t + 1, rnn_width(p)};
  n->shape = shape_make(1, 3, d);
  return NNC_OK;
}

/* x[:, s1 : s1 + l1, s2 : s2 + l2]: each slice is a copy, so the one that
 * keeps the smaller share of x goes first (h_prev for U's gradient: 64 of
 * LSTM's 705 record fields before 100 of 101 rows) */
static int slice2(nnc_graph *g, int x, int64_t s1, int64_t l1, int64_t s2, int64_t l2,
                  nnc_status *st) {
  if (x < 0) return -1;
  const nnc_shape *sh = &g->nodes[x].shape;
  if (s2 == 0 && l2 == sh->dims[2]) return graph_slice(g, x, 1, s1, l1, st); /* one copy */
  if (s1 == 0 && l1 == sh->dims[1]) return graph_slice(g, x, 2, s2, l2, st);
  if (l2 * sh->dims[1] < l1 * sh->dims[2])
    return graph_slice(g, graph_slice(g, x, 2, s2, l2, st), 1, s1, l1, st);
  return graph_slice(g, graph_slice(g, x, 1, s1, l1, st), 2, s2, l2, st);
}

static int matmul_ta(nnc_graph *g, int a, int b, nnc_status *st) {
  if (a < 0 || b < 0) return -1;
  int in[2] = {a, b};
  return graph_add_attr(g, NNC_OP_MATMUL, 0, in, 2, 1, st);
}

/* The gradient of U (with its bias row) from the recurrent inputs and d(h U)
 * [B, T, G*n] in time order (RNN_GRAD's rows). */
static int u_grad(nnc_grad_ctx *c, const nnc_node *n, int record, int drec) {
  nnc_graph *g = c->g;
  const nnc_rnn_params *p = &n->params.rnn;
  int64_t units = p->units, gn = rnn_gates(p) * units, t = g->nodes[n->in[0]].shape.dims[1];
  int hp = slice2(g, record, 0, t, 0, units, c->st);          /* step s's h_prev, record row s */
  if (p->backwards) hp = graph_reverse_axis(g, hp, 1, c->st); /* step s read time t-1-s */
  if (p->aux & NNC_RNN_AUX_RDROP) { /* U saw h_prev times the mask (kept in row 0) */
    int64_t two[2] = {-1, units};
    int m = graph_reshape(g, slice2(g, record, 0, 1, rnn_z_at(p), units, c->st),
                          shape_make(1, 2, two), c->st);
    hp = graph_binary(g, NNC_BIN_MUL, hp, graph_repeat_axis(g, m, 1, t, c->st), c->st);
  }
  int du;
  if (p->cell == NNC_RNN_GRU && !p->reset_after) { /* the candidate's U multiplies r * h_prev */
    int rh = slice2(g, record, 1, t, 3 * units, units, c->st);
    if (p->backwards) rh = graph_reverse_axis(g, rh, 1, c->st);
    int a = matmul_ta(g, hp, graph_slice(g, drec, 2, 0, 2 * units, c->st), c->st);
    int b = matmul_ta(g, rh, graph_slice(g, drec, 2, 2 * units, units, c->st), c->st);
    du = a < 0 || b < 0 ? -1 : graph_concat(g, a, b, 1, c->st);
  } else {
    du = matmul_ta(g, hp, drec, c->st);
  }
  if (du >= 0 && rnn_u_rows(p) > units) { /* the bias row: the sum of d(h U) over all steps */
    int db = graph_reduce(g, NNC_RED_LEADING, drec, c->st);
    int64_t flat[2] = {1, units * gn}, row[2] = {1, gn}, whole[2] = {units + 1, gn};
    int a = graph_reshape(g, du, shape_make(0, 2, flat), c->st);
    int b = db < 0 ? -1 : graph_reshape(g, db, shape_make(0, 2, row), c->st);
    int ab = a < 0 || b < 0 ? -1 : graph_concat(g, a, b, 1, c->st);
    du = ab < 0 ? -1 : graph_reshape(g, ab, shape_make(0, 2, whole), c->st);
  }
  return du;
}

/* The incoming gradient of the record's state fields [B, T+1, S*n]. The
 * layer's outputs are slices of the record, so their gradient arrives as
 * pads of the whole record: rebuilt as pads of the state fields alone, no
 * zeros are written for the cache fields (anything else: a slice). */
static int states_grad(nnc_graph *g, int dy, int64_t sn, nnc_status *st) {
  if (dy < 0) return -1;
  nnc_node d = g->nodes[dy];
  if (d.op == NNC_OP_PAD && d.params.axis.axis == 1) {
    int x = states_grad(g, d.in[0], sn, st);
    return x < 0 ? -1 : graph_pad(g, x, 1, d.params.axis.start, d.params.axis.len, st);
  }
  if (d.op == NNC_OP_PAD && d.params.axis.axis == 2) {
    int64_t w = g->nodes[d.in[0]].shape.dims[2], at = d.params.axis.start;
    if (at == 0 && w == sn) return d.in[0];
    if (at + w <= sn) return graph_pad(g, d.in[0], 2, at, sn, st);
  }
  return graph_slice(g, dy, 2, 0, sn, st);
}

static int rnn_grad(nnc_grad_ctx *c, const nnc_node *n0, int id, int dy) {
  nnc_node n = *n0;
  nnc_graph *g = c->g;
  const nnc_rnn_params *p = &n.params.rnn;
  int64_t units = p->units, gn = rnn_gates(p) * units, t = g->nodes[n.in[0]].shape.dims[1];
  int64_t sn = rnn_states(p) * units;
  int after = p->cell == NNC_RNN_GRU && p->reset_after, state = (p->aux & NNC_RNN_AUX_STATE) != 0;
  int perm[2] = {1, 0}; /* RNN_GRAD's per-step products read Uᵀ row by row */
  int in[3] = {id, states_grad(g, dy, sn, c->st), graph_permute(g, n.in[1], perm, c->st)};
  if (in[1] < 0 || in[2] < 0) return -1;
  int d = graph_add_params(g, NNC_OP_RNN_GRAD, 0, in, 3, &n.params, c->st);
  if (d < 0) return -1;
  /* d xp: the output itself unless it has more rows or columns */
  int dxp = state || after ? slice2(g, d, 0, t, 0, gn, c->st) : d;
  if (c->needs[n.in[0]] && grad_accumulate(c, n.in[0], dxp)) return -1;
  if (c->needs[n.in[1]]) {
    int drec = dxp;
    if (after) { /* d(h U): d xp's update and reset blocks, then the candidate's own */
      int ur = slice2(g, d, 0, t, 0, 2 * units, c->st);
      int h = slice2(g, d, 0, t, gn, units, c->st);
      drec = ur < 0 || h < 0 ? -1 : graph_concat(g, ur, h, 2, c->st);
    }
    if (drec < 0 || grad_accumulate(c, n.in[1], u_grad(c, &n, id, drec))) return -1;
  }
  if (state && c->needs[n.in[2]]) {
    int64_t d2[2] = {-1, sn};
    int d0 = graph_reshape(g, slice2(g, d, t, 1, 0, sn, c->st), shape_make(1, 2, d2), c->st);
    if (d0 >= 0 && rnn_aux_width(p, t) > sn)
      d0 = graph_pad(g, d0, 1, 0, rnn_aux_width(p, t), c->st);
    if (d0 < 0 || grad_accumulate(c, n.in[2], d0)) return -1;
  }
  return 0;
}

int rnn_act_known(int64_t act) {
  if (act == NNC_RNN_LINEAR || act == NNC_RNN_HARD_SIGMOID_K2) return 1;
  if (act < 0 || act >= NNC_FN_COUNT) return 0;
  return fn_derivative((nnc_fn)act) != NNC_FN_NONE && act != NNC_FN_CLIP &&
         act != NNC_FN_LEAKY_RELU;
}

LLVMValueRef rnn_act(cg *c, int64_t act, LLVMValueRef x) {
  nnc_params p;
  memset(&p, 0, sizeof p);
  if (act == NNC_RNN_LINEAR) return x;
  if (act == NNC_RNN_HARD_SIGMOID_K2) { /* Keras 2 / tfjs: clip(0.2 x + 0.5, 0, 1) */
    p.clip.lo = 0.0;
    p.clip.hi = 1.0;
    LLVMValueRef y =
        LLVMBuildFAdd(c->b, LLVMBuildFMul(c->b, x, cg_f32(c, 0.2), ""), cg_f32(c, 0.5), "");
    return cg_unary(c, NNC_FN_CLIP, y, &p);
  }
  return cg_unary(c, (nnc_fn)act, x, &p);
}

LLVMValueRef rnn_act_deriv(cg *c, int64_t act, LLVMValueRef x) {
  nnc_params p;
  memset(&p, 0, sizeof p);
  if (act == NNC_RNN_LINEAR) return cg_f32(c, 1.0);
  if (act == NNC_RNN_HARD_SIGMOID_K2) { /* tf.clip_by_value passes the gradient on [0, 1] */
    LLVMValueRef y =
        LLVMBuildFAdd(c->b, LLVMBuildFMul(c->b, x, cg_f32(c, 0.2), ""), cg_f32(c, 0.5), "");
    LLVMValueRef in = LLVMBuildAnd(c->b, LLVMBuildFCmp(c->b, LLVMRealOGE, y, cg_f32(c, 0.0), ""),
                                   LLVMBuildFCmp(c->b, LLVMRealOLE, y, cg_f32(c, 1.0), ""), "");
    return cg_select(c, in, cg_f32(c, 0.2), cg_f32(c, 0.0));
  }
  LLVMValueRef d = cg_unary(c, fn_derivative((nnc_fn)act), x, &p);
  if (act == NNC_FN_HARD_SIGMOID) d = LLVMBuildFDiv(c->b, d, cg_f32(c, 6.0), ""); /* relu6(x+3)/6 */
  return d;
}

LLVMValueRef rnn_act_deriv_at(cg *c, int64_t act, LLVMValueRef x, LLVMValueRef y) {
  LLVMValueRef one = cg_f32(c, 1.0);
  if (act == NNC_FN_SIGMOID) return LLVMBuildFMul(c->b, y, LLVMBuildFSub(c->b, one, y, ""), "");
  if (act == NNC_FN_TANH) return LLVMBuildFSub(c->b, one, LLVMBuildFMul(c->b, y, y, ""), "");
  return rnn_act_deriv(c, act, x);
}

/* rnn_act on a float or a vector: sigmoid and tanh as vector code, the
 * others lane by lane (the same function either way, so the same bits) */
static LLVMValueRef act_v(cg *c, int64_t act, LLVMValueRef x) {
  LLVMTypeRef t = LLVMTypeOf(x);
  if (LLVMGetTypeKind(t) != LLVMVectorTypeKind) return rnn_act(c, act, x);
  if (act == NNC_FN_SIGMOID) return cg_sigmoid(c, x);
  if (act == NNC_FN_TANH) return cg_tanh(c, x);
  if (act == NNC_RNN_LINEAR) return x;
  LLVMValueRef y = LLVMGetUndef(t);
  for (unsigned k = 0; k < LLVMGetVectorSize(t); k++) {
    LLVMValueRef lane = LLVMConstInt(c->i32, k, 0);
    y = LLVMBuildInsertElement(c->b, y, rnn_act(c, act, LLVMBuildExtractElement(c->b, x, lane, "")),
                               lane, "");
  }
  return y;
}

static LLVMValueRef fmul(cg *c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildFMul(c->b, a, b, "");
}
static LLVMValueRef fadd(cg *c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildFAdd(c->b, a, b, "");
}
static LLVMValueRef at(cg *c, LLVMValueRef base, int64_t off, LLVMValueRef j) {
  return cg_iadd(c, base, cg_iadd(c, cg_i64(c, off), j));
}

typedef struct fwd {
  const nnc_node *n;
  LLVMValueRef xp, u, out, aux;
} fwd;

/* Where row b's step s reads and writes. */
typedef struct pos {
  LLVMValueRef rec, prev, cur, xs, arow, time;
} pos;

static pos pos_of(cg *c, const nnc_rnn_params *p, int64_t t, int64_t aux_w, LLVMValueRef b,
                  LLVMValueRef s) {
  int64_t w = rnn_width(p), gn = rnn_gates(p) * p->units;
  pos q;
  q.rec = cg_imul(c, b, cg_i64(c, (t + 1) * w));
  q.arow = cg_imul(c, b, cg_i64(c, aux_w));
  q.time = s && p->backwards ? LLVMBuildSub(c->b, cg_i64(c, t - 1), s, "") : s;
  q.prev = s ? cg_iadd(c, q.rec, cg_imul(c, s, cg_i64(c, w))) : q.rec;
  q.cur = cg_iadd(c, q.prev, cg_i64(c, w));
  q.xs = s ? cg_iadd(c, cg_imul(c, b, cg_i64(c, t * gn)), cg_imul(c, q.time, cg_i64(c, gn))) : NULL;
  return q;
}

/* One step of SimpleRNN or LSTM for a tile's rows: the positions and keep
 * flags the gate epilogue needs. */
typedef struct fused {
  const nnc_rnn_params *p;
  LLVMValueRef out;
  pos q[CG_TILE_ROWS];
  LLVMValueRef keep[CG_TILE_ROWS];
} fused;

/* The gates of units [j0, j0 + w) for every row of the tile, still in
 * registers: activations, the new c and h, the mask's select, and the
 * record's fields, in one pass. */
static void cell_epilogue(cg *c, void *ctx, int rows, LLVMValueRef z[][RNN_MAX_GATES],
                          LLVMValueRef j0) {
  const fused *f = ctx;
  const nnc_rnn_params *p = f->p;
  int64_t n = p->units, zat = rnn_z_at(p);
  LLVMTypeRef t = LLVMTypeOf(z[0][0]);
  LLVMValueRef out = f->out;
  for (int r = 0; r < rows; r++) {
    const pos *q = &f->q[r];
    LLVMValueRef cur = cg_iadd(c, q->cur, j0), prev = cg_iadd(c, q->prev, j0);
    LLVMValueRef hp = rnn_vload(c, t, out, prev), h;
    if (p->cell == NNC_RNN_LSTM) {
      for (int k = 0; k < 4; k++)
        rnn_vstore(c, z[r][k], out, cg_iadd(c, cur, cg_i64(c, zat + k * n)));
      LLVMValueRef g[5] = {act_v(c, p->rec_act, z[r][0]), act_v(c, p->rec_act, z[r][1]),
                           act_v(c, p->act, z[r][2]), act_v(c, p->rec_act, z[r][3]), NULL};
      LLVMValueRef cp = rnn_vload(c, t, out, cg_iadd(c, prev, cg_i64(c, n)));
      LLVMValueRef cnew = fadd(c, fmul(c, g[1], cp), fmul(c, g[0], g[2]));
      g[4] = act_v(c, p->act, cnew);
      h = fmul(c, g[3], g[4]);
      for (int k = 0; k < 5; k++)
        rnn_vstore(c, g[k], out, cg_iadd(c, cur, cg_i64(c, rnn_a_at(p) + k * n)));
      rnn_vstore(c, cg_select(c, f->keep[r], cnew, cp), out, cg_iadd(c, cur, cg_i64(c, n)));
    } else {
      rnn_vstore(c, z[r][0], out, cg_iadd(c, cur, cg_i64(c, zat)));
      h = act_v(c, p->act, z[r][0]);
    }
    rnn_vstore(c, cg_select(c, f->keep[r], h, hp), out, cur);
  }
}

/* Step s of SimpleRNN or LSTM for the tile's rows: h U with the cell fused
 * in (rnn_gate_tiles), the products starting from xp. With a recurrent
 * dropout mask, U multiplies h_prev times it, staged in `staged`. */
static void fused_step(cg *c, const fwd *f, int rows, LLVMValueRef r0, LLVMValueRef s,
                       LLVMValueRef staged) {
  const nnc_rnn_params *p = &f->n->params.rnn;
  int64_t units = p->units, w = rnn_width(p), t = c->g->nodes[f->n->in[0]].shape.dims[1];
  int64_t aux_w = rnn_aux_width(p, t),
          mask_at = p->aux & NNC_RNN_AUX_STATE ? rnn_states(p) * units : 0;
  fused e = {.p = p, .out = f->out};
  LLVMValueRef a[CG_TILE_ROWS], x[CG_TILE_ROWS];
  for (int r = 0; r < rows; r++) {
    pos *q = &e.q[r];
    *q = pos_of(c, p, t, aux_w, cg_iadd(c, r0, cg_i64(c, r)), s);
    LLVMValueRef m = cg_f32(c, 1.0);
    if (p->aux & NNC_RNN_AUX_MASK)
      m = cg_load(c, f->aux, cg_iadd(c, q->arow, cg_iadd(c, cg_i64(c, mask_at), q->time)));
    e.keep[r] = LLVMBuildFCmp(c->b, LLVMRealUNE, m, cg_f32(c, 0.0), "");
    cg_store(c, m, f->out, cg_iadd(c, q->cur, cg_i64(c, w - 1)));
    x[r] = rnn_ptr(c, f->xp, q->xs);
    if (staged) {
      a[r] = rnn_ptr(c, staged, cg_i64(c, r * units));
      cg_loop j;
      cg_loop_begin(c, &j, cg_i64(c, 0), cg_i64(c, units), "drop");
      cg_store(c,
               fmul(c, cg_load(c, f->out, cg_iadd(c, q->prev, j.i)),
                    cg_load(c, f->out, at(c, q->rec, rnn_z_at(p), j.i))),
               a[r], j.i);
      cg_loop_end(c, &j);
    } else {
      a[r] = rnn_ptr(c, f->out, q->prev);
    }
  }
  rnn_gate_tiles(c, rows, a, x, f->u, units, (int)rnn_gates(p), cell_epilogue, &e);
}

/* A tile of `rows` batch rows from r0: the whole loop over time, each step's
 * products h U one register-tiled GEMM over the tile's rows. */
static void fwd_tile(cg *c, void *ctx, int rows, LLVMValueRef r0) {
  const fwd *f = ctx;
  const nnc_rnn_params *p = &f->n->params.rnn;
  LLVMValueRef xp = f->xp, u = f->u, out = f->out, aux = f->aux;
  int64_t units = p->units, gn = rnn_gates(p) * units, w = rnn_width(p);
  int64_t t = c->g->nodes[f->n->in[0]].shape.dims[1], s_n = rnn_states(p) * units;
  int64_t zat = rnn_z_at(p), m_at = w - 1;
  int64_t aux_w = rnn_aux_width(p, t), mask_at = p->aux & NNC_RNN_AUX_STATE ? s_n : 0;
  int64_t rd_at = mask_at + (p->aux & NNC_RNN_AUX_MASK ? t : 0);
  int gru = p->cell == NNC_RNN_GRU, after = gru && p->reset_after;
  int rdrop = (p->aux & NNC_RNN_AUX_RDROP) != 0;
  LLVMValueRef r1 = cg_iadd(c, r0, cg_i64(c, rows));
  cg_loop b, s, j;
  cg_loop_begin(c, &b, r0, r1, "sample");
  pos q = pos_of(c, p, t, aux_w, b.i, NULL);
  cg_zero_fill(c, out, q.rec, cg_i64(c, w));
  if (p->aux & NNC_RNN_AUX_STATE) op_copy(c, aux, q.arow, out, q.rec, cg_i64(c, s_n));
  if (rdrop) /* the mask rests in row 0's first pre-activation field */
    op_copy(c, aux, cg_iadd(c, q.arow, cg_i64(c, rd_at)), out, cg_iadd(c, q.rec, cg_i64(c, zat)),
            cg_i64(c, units));
  cg_loop_end(c, &b);

  if (!gru) { /* SimpleRNN, LSTM: the cell fused into the product's tiles; GRU below */
    LLVMValueRef staged = NULL;
    if (rdrop) staged = cg_scratch(c, CG_TILE_ROWS * units);
    cg_loop_begin(c, &s, cg_i64(c, 0), cg_i64(c, t), "step");
    fused_step(c, f, rows, r0, s.i, staged);
    cg_loop_end(c, &s);
    return;
  }
  cg_loop_begin(c, &s, cg_i64(c, 0), cg_i64(c, t), "step");
  /* GRU: the fields h U accumulates into, zz, zr (and rec with reset_after) */
  int64_t acc_len = !after ? 2 * units : gn;
  cg_loop_begin(c, &b, r0, r1, "init");
  q = pos_of(c, p, t, aux_w, b.i, s.i);
  cg_loop_begin(c, &j, cg_i64(c, 0), cg_i64(c, acc_len), "x");
  LLVMValueRef v = cg_f32(c, 0.0);
  if (!after) {
    v = cg_load(c, xp, cg_iadd(c, q.xs, j.i));
  } else { /* reset_after: x parts of z, r; then every column gets its recurrent bias */
    LLVMValueRef is_x = LLVMBuildICmp(c->b, LLVMIntSLT, j.i, cg_i64(c, 2 * units), "");
    LLVMValueRef jx = cg_select(c, is_x, j.i, cg_i64(c, 0));
    v = cg_select(c, is_x, cg_load(c, xp, cg_iadd(c, q.xs, jx)), cg_f32(c, 0.0));
    if (rnn_u_rows(p) > units) v = fadd(c, v, cg_load(c, u, at(c, cg_i64(c, 0), units * gn, j.i)));
  }
  cg_store(c, v, out, at(c, q.cur, zat, j.i));
  cg_loop_end(c, &j);
  cg_loop_end(c, &b);
  LLVMValueRef a[CG_TILE_ROWS], dst[CG_TILE_ROWS];
  for (int r = 0; r < rows; r++) {
    q = pos_of(c, p, t, aux_w, cg_iadd(c, r0, cg_i64(c, r)), s.i);
    a[r] = rnn_ptr(c, out, q.prev);
    dst[r] = rnn_ptr(c, out, cg_iadd(c, q.cur, cg_i64(c, zat)));
  }
  rnn_tile_gemm(c, rows, a, u, gn, units, dst, acc_len);
  { /* the candidate: zh = x_h + r * rec (reset_after) or x_h + (r h) U_h */
    cg_loop_begin(c, &b, r0, r1, "reset");
    q = pos_of(c, p, t, aux_w, b.i, s.i);
    cg_loop_begin(c, &j, cg_i64(c, 0), cg_i64(c, units), "j");
    LLVMValueRef r = rnn_act(c, p->rec_act, cg_load(c, out, at(c, q.cur, 2 * units, j.i)));
    LLVMValueRef xh = cg_load(c, xp, at(c, q.xs, 2 * units, j.i));
    if (after) {
      cg_store(c, fadd(c, xh, fmul(c, r, cg_load(c, out, at(c, q.cur, 3 * units, j.i)))), out,
               at(c, q.cur, 4 * units, j.i));
    } else {
      cg_store(c, fmul(c, r, cg_load(c, out, cg_iadd(c, q.prev, j.i))), out,
               at(c, q.cur, 3 * units, j.i));
      cg_store(c, xh, out, at(c, q.cur, 4 * units, j.i));
    }
    cg_loop_end(c, &j);
    cg_loop_end(c, &b);
    if (!after) {
      for (int r = 0; r < rows; r++) {
        q = pos_of(c, p, t, aux_w, cg_iadd(c, r0, cg_i64(c, r)), s.i);
        a[r] = rnn_ptr(c, out, cg_iadd(c, q.cur, cg_i64(c, 3 * units)));
        dst[r] = rnn_ptr(c, out, cg_iadd(c, q.cur, cg_i64(c, 4 * units)));
      }
      rnn_tile_gemm(c, rows, a, rnn_ptr(c, u, cg_i64(c, 2 * units)), gn, units, dst, units);
    }
  }
  cg_loop_begin(c, &b, r0, r1, "cell");
  q = pos_of(c, p, t, aux_w, b.i, s.i);
  LLVMValueRef m = cg_f32(c, 1.0);
  if (p->aux & NNC_RNN_AUX_MASK)
    m = cg_load(c, aux, cg_iadd(c, q.arow, cg_iadd(c, cg_i64(c, mask_at), q.time)));
  LLVMValueRef keep = LLVMBuildFCmp(c->b, LLVMRealUNE, m, cg_f32(c, 0.0), "");
  cg_loop_begin(c, &j, cg_i64(c, 0), cg_i64(c, units), "j");
  LLVMValueRef hp = cg_load(c, out, cg_iadd(c, q.prev, j.i));
  LLVMValueRef z = rnn_act(c, p->rec_act, cg_load(c, out, at(c, q.cur, units, j.i)));
  LLVMValueRef hh = rnn_act(c, p->act, cg_load(c, out, at(c, q.cur, 4 * units, j.i)));
  LLVMValueRef h = fadd(c, fmul(c, z, hp), fmul(c, LLVMBuildFSub(c->b, cg_f32(c, 1.0), z, ""), hh));
  cg_store(c, cg_select(c, keep, h, hp), out, cg_iadd(c, q.cur, j.i));
  cg_loop_end(c, &j);
  cg_store(c, m, out, cg_iadd(c, q.cur, cg_i64(c, m_at)));
  cg_loop_end(c, &b);
  cg_loop_end(c, &s);
}

static int rnn_emit(cg *c, const nnc_node *n, LLVMValueRef xp, LLVMValueRef u, LLVMValueRef out,
                    LLVMValueRef u0, LLVMValueRef u1) {
  fwd f = {.n = n, .xp = xp, .u = u, .out = out};
  f.aux = n->params.rnn.aux ? cg_buffer(c, n->in[2]) : NULL;
  rnn_row_tiles(c, u0, u1, fwd_tile, &f);
  return NNC_OK;
}

int graph_rnn(nnc_graph *g, int xp, int u, int aux, const nnc_rnn_params *p, nnc_status *st) {
  if (xp < 0 || u < 0 || (p->aux && aux < 0)) return -1;
  nnc_params params;
  memset(&params, 0, sizeof params);
  params.rnn = *p;
  int in[3] = {xp, u, p->aux ? aux : xp};
  return graph_add_params(g, NNC_OP_RNN, 0, in, 3, &params, st);
}

const nnc_op_def op_rnn = {.name = "rnn",
                           .arity = 3,
                           .cls = NNC_CLASS_ROW,
                           .shape = rnn_shape,
                           .grad = rnn_grad,
                           .emit_anchor = rnn_emit,
                           .anchor_units = op_leading_units};
