'use strict';
// An independent check of the forward pass of the recurrent cases
// (rnn_makers.js): float64 plain JS written from Keras 3's cells
// (keras/src/layers/rnn/{simple_rnn,lstm,gru}.py: LSTM gates i, f, c, o;
// GRU gates z, r, h with reset_after false: hh = tanh(x_h + (r * h) U_h),
// h = z * h_prev + (1 - z) * hh; masked steps keep the previous state and
// output, keras/src/backend/tensorflow/rnn.py), Bidirectional (the backward
// copy runs on the reversed sequence and its outputs are reversed back before
// the concat), GlobalAveragePooling1D and Dense. It recomputes each case's
// predictions from its final weights and compares them with
// expected/predictions.npy (made by tfjs through the oracle).
// Usage: node tests/cases/check_rnn_reference.js ORACLE_DIR
const fs = require('fs');
const path = require('path');
const { readNpy } = require(path.join(process.argv[2], 'npy.js'));
const HERE = __dirname;

const sigmoid = v => 1 / (1 + Math.exp(-v));
function weights(dir) {
  const j = JSON.parse(fs.readFileSync(path.join(dir, 'expected/weights_final/weights.json'), 'utf8'));
  const m = {};
  for (const e of j.weights) m[e.name] = Array.from(readNpy(path.join(dir, 'expected/weights_final', e.file)).data);
  return m;
}
// x·W for W [in, out] row-major
const matvec = (x, W, out, col0, n) => {
  const r = new Array(n).fill(0);
  for (let j = 0; j < n; j++) for (let i = 0; i < x.length; i++) r[j] += x[i] * W[i * out + col0 + j];
  return r;
};
// One recurrent layer over seq (array of step vectors); mask: array of 0/1 or null.
function runRnn(kind, w, prefix, units, seq, mask) {
  const K = w[`${prefix}/kernel`], U = w[`${prefix}/recurrent_kernel`], b = w[`${prefix}/bias`];
  const g = { simple: 1, lstm: 4, gru: 3, gru_reset_after: 3 }[kind], n = units * g;
  let h = new Array(units).fill(0), c = new Array(units).fill(0);
  const outs = [];
  seq.forEach((x, t) => {
    const xk = matvec(x, K, n, 0, n).map((v, j) => v + b[j]);
    let hn, cn = c;
    if (kind === 'simple') {
      const hu = matvec(h, U, n, 0, n);
      hn = xk.map((v, j) => Math.tanh(v + hu[j]));
    } else if (kind === 'lstm') {
      const hu = matvec(h, U, n, 0, n);
      const z = xk.map((v, j) => v + hu[j]);
      const gate = k => z.slice(k * units, (k + 1) * units);
      const i = gate(0).map(sigmoid), f = gate(1).map(sigmoid), cc = gate(2).map(Math.tanh), o = gate(3).map(sigmoid);
      cn = c.map((v, j) => f[j] * v + i[j] * cc[j]);
      hn = cn.map((v, j) => o[j] * Math.tanh(v));
    } else if (kind === 'gru_reset_after') {
      // bias [2, 3u]: row 0 (used in xk) for the input, row 1 for the recurrent part
      const hu = matvec(h, U, n, 0, n).map((v, j) => v + b[n + j]);
      const zg = Array.from({ length: units }, (_, j) => sigmoid(xk[j] + hu[j]));
      const rg = Array.from({ length: units }, (_, j) => sigmoid(xk[units + j] + hu[units + j]));
      const hh = Array.from({ length: units }, (_, j) => Math.tanh(xk[2 * units + j] + rg[j] * hu[2 * units + j]));
      hn = h.map((v, j) => zg[j] * v + (1 - zg[j]) * hh[j]);
    } else {
      const zr = matvec(h, U, n, 0, 2 * units);
      const zg = Array.from({ length: units }, (_, j) => sigmoid(xk[j] + zr[j]));
      const rg = Array.from({ length: units }, (_, j) => sigmoid(xk[units + j] + zr[units + j]));
      const hu = matvec(h.map((v, j) => rg[j] * v), U, n, 2 * units, units);
      const hh = hu.map((v, j) => Math.tanh(xk[2 * units + j] + v));
      hn = h.map((v, j) => zg[j] * v + (1 - zg[j]) * hh[j]);
    }
    if (!mask || mask[t]) { h = hn; c = cn; }
    outs.push(h);
  });
  return outs;
}
const dense = (x, w, name) => matvec(x, w[`${name}/kernel`], w[`${name}/bias`].length, 0, w[`${name}/bias`].length).map((v, j) => v + w[`${name}/bias`][j]);

const CASES = {
  rnn_lstm: (s, w) => dense(runRnn('lstm', w, 'lstm/lstm_cell', 4, s, null).at(-1), w, 'out'),
  rnn_gru_bidirectional: (s, w) => {
    const f = runRnn('gru', w, 'bidirectional/forward_gru/gru_cell', 3, s, null);
    const bw = runRnn('gru', w, 'bidirectional/backward_gru/gru_cell', 3, s.slice().reverse(), null).reverse();
    const cat = f.map((v, t) => v.concat(bw[t]));
    const avg = cat[0].map((_, j) => cat.reduce((a, v) => a + v[j], 0) / cat.length);
    return dense(avg, w, 'out');
  },
  mask_embedding_lstm: (s, w) => {
    const E = w['embedding/embeddings'];
    const ids = s.map(v => v[0]);
    const seq = ids.map(id => E.slice(id * 3, id * 3 + 3));
    return dense(runRnn('lstm', w, 'lstm/lstm_cell', 4, seq, ids.map(id => (id !== 0 ? 1 : 0))).at(-1), w, 'out');
  },
  // session 7 (fam_makers.js): GRU reset_after true; Bidirectional sum, mul,
  // ave and a go_backwards LSTM under GlobalMaxPooling1D
  rnn_gru_reset_after: (s, w) => {
    const a = runRnn('gru_reset_after', w, 'gru_a/gru_cell', 4, s, null);
    return dense(runRnn('gru_reset_after', w, 'gru_b/gru_cell', 2, a, null).at(-1), w, 'out');
  },
  rnn_merge_modes_backwards: (s, w) => {
    const bi = (kind, name, inner, units, seq, merge) => {
      const f = runRnn(kind, w, `${name}/forward_${inner}`, units, seq, null);
      const bw = runRnn(kind, w, `${name}/backward_${inner}`, units, seq.slice().reverse(), null).reverse();
      return f.map((v, t) => v.map((e, j) => merge(e, bw[t][j])));
    };
    const a = bi('simple', 'bi_sum', 'simple_rnn/simple_rnn_cell', 3, s, (p, q) => p + q);
    const b = bi('gru', 'bi_mul', 'gru/gru_cell', 2, a, (p, q) => p * q);
    const c = bi('lstm', 'bi_ave', 'lstm/lstm_cell', 2, b, (p, q) => (p + q) / 2);
    const back = runRnn('lstm', w, 'back/lstm_cell', 3, c.slice().reverse(), null);
    return dense(back[0].map((_, j) => Math.max(...back.map(v => v[j]))), w, 'out');
  },
  rnn_simple_time_distributed: (s, w) => runRnn('simple', w, 'simple_rnn/simple_rnn_cell', 4, s, null).flatMap(o => dense(o, w, 'time_distributed/dense')),
};

let failed = 0;
for (const [name, fn] of Object.entries(CASES)) {
  const dir = path.join(HERE, name);
  const w = weights(dir);
  const x = readNpy(path.join(dir, 'x.npy'));
  const p = readNpy(path.join(dir, 'expected/predictions.npy')).data;
  const [N, T] = x.shape, F = x.shape.length > 2 ? x.shape[2] : 1;
  const per = p.length / N;
  let worst = 0;
  for (let i = 0; i < N; i++) {
    const s = Array.from({ length: T }, (_, t) => Array.from(x.data.slice((i * T + t) * F, (i * T + t + 1) * F)));
    const ref = fn(s, w);
    for (let k = 0; k < per; k++) worst = Math.max(worst, Math.abs(ref[k] - p[i * per + k]) / (1e-6 / 1e-4 + Math.abs(ref[k])));
  }
  const ok = worst < 1e-4;
  if (!ok) failed++;
  console.log(`${name}: worst relative difference ${worst.toExponential(2)} ${ok ? 'ok' : 'FAIL'}`);
}
process.exit(failed ? 1 : 0);
