#!/usr/bin/env node
'use strict';
// An independent float64 check of the issue 7 cases (training_makers.js):
// re-computes every Sequential Dense case with no tfjs and none of the
// oracle's code (k3.js, k3_train.js): its own scalar reverse-mode autodiff, the
// Keras 3 update rules, schedules, losses, reductions, sample/class weights,
// regularizers, constraints, EMA, gradient accumulation and the callbacks,
// written again from keras/src (3.16.0). It compares expected/ (History keys
// loss, val_loss, learning_rate, mae/mse when unweighted, and the final
// weights) at the golden tolerance. Stateful metrics are not recomputed here.
//   node tests/cases/check_training_reference.js ORACLE_DIR [name ...]
const fs = require('fs');
const path = require('path');
const oracle = path.resolve(process.argv[2] || '');
const { readNpy } = require(path.join(oracle, 'npy.js'));
const HERE = __dirname;
const REL = 1e-4, ABS = 1e-6;
// The final weights of a float64 run part from the oracle's float32 run a
// little more than its History does (Adam-type updates divide by sqrt(v), which
// amplifies the rounding of small gradients): up to 1.4e-4 here, so weights are
// compared at 2e-4 relative to |w| + 0.01 (the golden tolerance is 1e-4 of it).
const WREL = 2e-4;

// ---- scalar reverse-mode autodiff ------------------------------------------
class V {
  constructor(v, parents = []) { this.v = v; this.g = 0; this.p = parents; }
}
const c = x => (x instanceof V ? x : new V(x));
const add = (a, b) => { a = c(a); b = c(b); return new V(a.v + b.v, [[a, 1], [b, 1]]); };
const sub = (a, b) => { a = c(a); b = c(b); return new V(a.v - b.v, [[a, 1], [b, -1]]); };
const mul = (a, b) => { a = c(a); b = c(b); return new V(a.v * b.v, [[a, b.v], [b, a.v]]); };
const div = (a, b) => { a = c(a); b = c(b); return new V(a.v / b.v, [[a, 1 / b.v], [b, -a.v / (b.v * b.v)]]); };
const fn1 = (f, d) => a => { a = c(a); return new V(f(a.v), [[a, d(a.v)]]); };
const tanh = fn1(Math.tanh, x => 1 - Math.tanh(x) ** 2);
const exp = fn1(Math.exp, Math.exp);
const log = fn1(Math.log, x => 1 / x);
const sqrt = fn1(Math.sqrt, x => 0.5 / Math.sqrt(x));
const abs = fn1(Math.abs, x => (x > 0 ? 1 : x < 0 ? -1 : 0));
const sigmoid = fn1(x => 1 / (1 + Math.exp(-x)), x => { const s = 1 / (1 + Math.exp(-x)); return s * (1 - s); });
const softplus = fn1(x => Math.log1p(Math.exp(-Math.abs(x))) + Math.max(x, 0), x => 1 / (1 + Math.exp(-x)));
const powc = (a, k) => { a = c(a); return new V(a.v ** k, [[a, k * a.v ** (k - 1)]]); };
const maxc = (a, k) => { a = c(a); return new V(Math.max(a.v, k), [[a, a.v > k ? 1 : 0]]); }; // relu-like at ties
const minc = (a, k) => { a = c(a); return new V(Math.min(a.v, k), [[a, a.v < k ? 1 : 0]]); };
const clip = (a, lo, hi) => minc(maxc(a, lo), hi);
const sum = xs => xs.reduce((s, x) => add(s, x), new V(0));
const mean = xs => div(sum(xs), xs.length);
function backward(out) {
  const order = [], seen = new Set();
  const visit = n => { if (seen.has(n)) return; seen.add(n); for (const [p] of n.p) visit(p); order.push(n); };
  visit(out);
  out.g = 1;
  for (let i = order.length - 1; i >= 0; i--) for (const [p, d] of order[i].p) p.g += order[i].g * d;
}

// ---- model -------------------------------------------------------------------
const ACT = { linear: x => x, tanh, sigmoid, softplus, relu: x => maxc(x, 0) };
function forward(layers, W, x) { // x: array of numbers or of rows (rank 3 input)
  if (Array.isArray(x[0])) return x.map(row => forward(layers, W, row));
  let h = x.map(c);
  for (const l of layers) {
    const k = W[`${l.name}/kernel`], b = W[`${l.name}/bias`];
    const z = [];
    for (let j = 0; j < l.units; j++) {
      let s = b[j];
      for (let i = 0; i < h.length; i++) s = add(s, mul(h[i], k[i * l.units + j]));
      z.push(s);
    }
    h = l.activation === 'softmax' ? softmax(z) : z.map(ACT[l.activation]);
    h.logits = z;
  }
  return h;
}
function softmax(z) {
  const m = Math.max(...z.map(v => v.v));
  const e = z.map(v => exp(sub(v, m)));
  const s = sum(e);
  return e.map(v => div(v, s));
}
const EPS = 1e-7;

// ---- losses (keras/src/losses/losses.py), per sample: returns V or [V per step]
function lossFn(spec) {
  const name = typeof spec === 'string' ? spec : spec.class_name;
  const cfg = typeof spec === 'string' ? {} : spec.config || {};
  const k = name.replace(/_/g, '').toLowerCase();
  const ls = cfg.label_smoothing || 0;
  const perSample = {
    mse: (y, p) => mean(p.map((q, i) => powc(sub(y[i], q), 2))),
    meansquarederror: (y, p) => mean(p.map((q, i) => powc(sub(y[i], q), 2))),
    huber: (y, p) => { const d = cfg.delta ?? 1; return mean(p.map((q, i) => { const a = abs(sub(q, y[i])); return a.v <= d ? mul(0.5, powc(a, 2)) : sub(mul(d, a), 0.5 * d * d); })); },
    logcosh: (y, p) => mean(p.map((q, i) => { const x = sub(q, y[i]); return sub(add(x, softplus(mul(x, -2))), Math.log(2)); })),
    hinge: (y, p) => mean(p.map((q, i) => maxc(sub(1, mul(2 * y[i] - 1, q)), 0))),
    squaredhinge: (y, p) => mean(p.map((q, i) => powc(maxc(sub(1, mul(2 * y[i] - 1, q)), 0), 2))),
    categoricalhinge: (y, p) => {
      const pos = sum(p.map((q, i) => mul(y[i], q)));
      let neg = mul(1 - y[0], p[0]);
      for (let i = 1; i < p.length; i++) { const t = mul(1 - y[i], p[i]); if (t.v > neg.v) neg = t; }
      return maxc(add(sub(neg, pos), 1), 0);
    },
    kldivergence: (y, p) => sum(p.map((q, i) => { const t = Math.min(Math.max(y[i], EPS), 1); return mul(t, log(div(t, clip(q, EPS, 1)))); })),
    poisson: (y, p) => mean(p.map((q, i) => sub(q, mul(y[i], log(add(q, EPS)))))),
    cosinesimilarity: (y, p) => {
      const ny = Math.sqrt(y.reduce((s, v) => s + v * v, 0));
      const np = sqrt(sum(p.map(q => powc(q, 2))));
      return mul(-1, div(sum(p.map((q, i) => mul(y[i] / ny, q))), np));
    },
    mape: (y, p) => mul(100, mean(p.map((q, i) => abs(div(sub(y[i], q), Math.max(Math.abs(y[i]), EPS)))))),
    msle: (y, p) => mean(p.map((q, i) => powc(sub(log(add(maxc(q, EPS), 1)), Math.log(Math.max(y[i], EPS) + 1)), 2))),
    binaryfocalcrossentropy: (y, p) => mean(p.map((q, i) => {
      const z = cfg.from_logits ? q : p.logits[i];
      const prob = sigmoid(z);
      const t = y[i] * (1 - ls) + 0.5 * ls;
      const bce = add(sub(maxc(z, 0), mul(z, t)), log(add(1, exp(mul(-1, abs(z))))));
      const pt = add(mul(t, prob), mul(1 - t, sub(1, prob)));
      let f = mul(powc(sub(1, pt), cfg.gamma ?? 2), bce);
      if (cfg.apply_class_balancing) f = mul(t * (cfg.alpha ?? 0.25) + (1 - t) * (1 - (cfg.alpha ?? 0.25)), f);
      return f;
    })),
    categoricalfocalcrossentropy: (y, p) => {
      const s = sum(p);
      return sum(p.map((q, i) => {
        const t = y[i] * (1 - ls) + ls / p.length;
        const o = clip(div(q, s), EPS, 1 - EPS);
        return mul(mul(mul(powc(sub(1, o), cfg.gamma ?? 2), cfg.alpha ?? 0.25), -t), log(o));
      }));
    },
    binarycrossentropy: (y, p) => mean(p.map((q, i) => {
      const z = p.logits[i], t = y[i] * (1 - ls) + 0.5 * ls;
      return add(sub(maxc(z, 0), mul(z, t)), log(add(1, exp(mul(-1, abs(z))))));
    })),
    sparsecategoricalcrossentropy: (y, p) => {
      if (cfg.ignore_class != null) {
        // ignored targets: no value (and not counted); the others from the
        // clipped probabilities (y_pred * mask is not the softmax op)
        if (y[0] === cfg.ignore_class) return null;
        const lp = p.map(q => log(clip(q, EPS, 1 - EPS)));
        const m = Math.max(...lp.map(v => v.v));
        return sub(add(log(sum(lp.map(v => exp(sub(v, m))))), m), lp[y[0]]);
      }
      const z = p.logits, m = Math.max(...z.map(v => v.v));
      return sub(add(log(sum(z.map(v => exp(sub(v, m))))), m), z[y[0]]);
    },
    categoricalcrossentropy: (y, p) => {
      const z = p.logits, m = Math.max(...z.map(v => v.v));
      const lse = add(log(sum(z.map(v => exp(sub(v, m))))), m);
      return sum(z.map((v, i) => mul(-(y[i] * (1 - ls) + ls / z.length), sub(v, lse))));
    },
  };
  const whole = { // axis None: one value over the batch
    dice: (Y, P) => { const yp = sum(P.map((p, i) => mul(Y[i], p))); return sub(1, div(mul(2, yp), add(Y.reduce((a, b) => a + b, 0), add(sum(P), EPS)))); },
    tversky: (Y, P) => {
      const a = cfg.alpha ?? 0.5, b = cfg.beta ?? 0.5;
      const inter = sum(P.map((p, i) => mul(p, Y[i]))), fp = sum(P.map((p, i) => mul(1 - Y[i], p))), fn = sum(P.map((p, i) => mul(Y[i], sub(1, p))));
      return sub(1, div(inter, add(add(add(inter, mul(fp, a)), mul(fn, b)), EPS)));
    },
  };
  if (whole[k]) return { whole: whole[k], reduction: cfg.reduction };
  if (!perSample[k]) return null;
  return { per: perSample[k], reduction: cfg.reduction };
}

// ---- optimizers (keras/src/optimizers/*.py), float64 --------------------------
function makeOptimizer(spec, names) {
  const cls = spec.class_name, o = spec.config;
  const S = {}; // slots by weight name
  const slot = (n, k, size, v0 = 0) => ((S[n] ||= {})[k] ||= new Float64Array(size).fill(v0));
  const sched = schedule(o.learning_rate);
  const st = { iters: 0, lr: sched ? null : o.learning_rate, uProduct: 1 };
  st.currentLr = () => (sched ? sched(st.iters) : st.lr);
  st.kIters = () => (o.gradient_accumulation_steps ? Math.floor(st.iters / o.gradient_accumulation_steps) : st.iters);
  const update = (n, w, g, lr, shape) => {
    const t = st.kIters() + 1;
    const d = {
      SGD: () => {
        const m = o.momentum || 0;
        if (!m) { for (let i = 0; i < w.length; i++) w[i] -= lr * g[i]; return; }
        const v = slot(n, 'm', w.length);
        for (let i = 0; i < w.length; i++) { v[i] = v[i] * m - g[i] * lr; w[i] += o.nesterov ? v[i] * m - g[i] * lr : v[i]; }
      },
      RMSprop: () => {
        const rho = o.rho ?? 0.9, eps = o.epsilon ?? 1e-7, mom = o.momentum || 0;
        const v = slot(n, 'v', w.length), a = slot(n, 'a', w.length), m = slot(n, 'm', w.length);
        for (let i = 0; i < w.length; i++) {
          v[i] = rho * v[i] + (1 - rho) * g[i] * g[i];
          let den = v[i];
          if (o.centered) { a[i] = rho * a[i] + (1 - rho) * g[i]; den -= a[i] * a[i]; }
          const inc = lr * g[i] / Math.sqrt(den + eps);
          if (mom > 0) { m[i] = mom * m[i] + inc; w[i] -= m[i]; } else w[i] -= inc;
        }
      },
      Adam: () => {
        const b1 = o.beta_1 ?? 0.9, b2 = o.beta_2 ?? 0.999, eps = o.epsilon ?? 1e-7;
        const m = slot(n, 'm', w.length), v = slot(n, 'v', w.length);
        const alpha = lr * Math.sqrt(1 - b2 ** t) / (1 - b1 ** t);
        for (let i = 0; i < w.length; i++) {
          m[i] += (g[i] - m[i]) * (1 - b1); v[i] += (g[i] * g[i] - v[i]) * (1 - b2);
          w[i] -= m[i] * alpha / (Math.sqrt(v[i]) + eps);
        }
      },
      Adagrad: () => {
        const a = slot(n, 'a', w.length, o.initial_accumulator_value ?? 0.1), eps = o.epsilon ?? 1e-7;
        for (let i = 0; i < w.length; i++) { a[i] += g[i] * g[i]; w[i] -= lr * g[i] / Math.sqrt(a[i] + eps); }
      },
      Adadelta: () => {
        const rho = o.rho ?? 0.95, eps = o.epsilon ?? 1e-7, ag = slot(n, 'ag', w.length), ad = slot(n, 'ad', w.length);
        for (let i = 0; i < w.length; i++) {
          ag[i] = rho * ag[i] + (1 - rho) * g[i] * g[i];
          const dv = -Math.sqrt(ad[i] + eps) * g[i] / Math.sqrt(ag[i] + eps);
          ad[i] = rho * ad[i] + (1 - rho) * dv * dv;
          w[i] += lr * dv;
        }
      },
      Adamax: () => {
        const b1 = o.beta_1 ?? 0.9, b2 = o.beta_2 ?? 0.999, eps = o.epsilon ?? 1e-7, m = slot(n, 'm', w.length), u = slot(n, 'u', w.length);
        for (let i = 0; i < w.length; i++) {
          m[i] += (g[i] - m[i]) * (1 - b1); u[i] = Math.max(b2 * u[i], Math.abs(g[i]));
          w[i] -= lr * m[i] / ((1 - b1 ** t) * (u[i] + eps));
        }
      },
      Nadam: () => {
        const b1 = o.beta_1 ?? 0.9, b2 = o.beta_2 ?? 0.999, eps = o.epsilon ?? 1e-7, m = slot(n, 'm', w.length), v = slot(n, 'v', w.length);
        const ut = b1 * (1 - 0.5 * 0.96 ** t), ut1 = b1 * (1 - 0.5 * 0.96 ** (t + 1));
        const up = st.uProduct, up1 = up * ut1;
        for (let i = 0; i < w.length; i++) {
          m[i] += (g[i] - m[i]) * (1 - b1); v[i] += (g[i] * g[i] - v[i]) * (1 - b2);
          const mh = ut1 * m[i] / (1 - up1) + (1 - ut) * g[i] / (1 - up), vh = v[i] / (1 - b2 ** t);
          w[i] -= mh * lr / (Math.sqrt(vh) + eps);
        }
      },
      Ftrl: () => {
        const acc = slot(n, 'acc', w.length, o.initial_accumulator_value ?? 0.1), lin = slot(n, 'lin', w.length);
        const p = o.learning_rate_power ?? -0.5, l1 = o.l1_regularization_strength || 0;
        const l2 = (o.l2_regularization_strength || 0) + (o.beta || 0) / (2 * lr), sh = o.l2_shrinkage_regularization_strength || 0;
        for (let i = 0; i < w.length; i++) {
          const gg = g[i] + 2 * sh * w[i], na = acc[i] + g[i] * g[i];
          lin[i] += gg - (na ** -p - acc[i] ** -p) / lr * w[i];
          const q = na ** -p / lr + 2 * l2;
          w[i] = (Math.min(Math.max(lin[i], -l1), l1) - lin[i]) / q;
          acc[i] = na;
        }
      },
      Lion: () => {
        const b1 = o.beta_1 ?? 0.9, b2 = o.beta_2 ?? 0.99, m = slot(n, 'm', w.length);
        for (let i = 0; i < w.length; i++) { w[i] -= lr * Math.sign(b1 * m[i] + (1 - b1) * g[i]); m[i] = b2 * m[i] + (1 - b2) * g[i]; }
      },
      Adafactor: () => {
        const e1 = o.epsilon_1 ?? 1e-30, e2 = o.epsilon_2 ?? 1e-3, clipT = o.clip_threshold ?? 1, decay = o.beta_2_decay ?? -0.8;
        const lrT = !sched && (o.relative_step ?? true) ? Math.min(lr, 1 / Math.sqrt(t)) : lr;
        const rms = a => Math.sqrt(a.reduce((s, x) => s + x * x, 0) / a.length);
        const rho = Math.min(lrT, 1 / Math.sqrt(t)), alpha = Math.max(e2, rms(w)) * rho, b2 = 1 - t ** decay;
        const v = slot(n, 'v', w.length), r2 = g.map(x => x * x + e1);
        if (shape.length === 2) {
          const [R, C] = shape, r = slot(n, 'r', R), cc = slot(n, 'c', C);
          for (let i = 0; i < R; i++) { let s = 0; for (let j = 0; j < C; j++) s += r2[i * C + j]; r[i] = b2 * r[i] + (1 - b2) * s / C; }
          for (let j = 0; j < C; j++) { let s = 0; for (let i = 0; i < R; i++) s += r2[i * C + j]; cc[j] = b2 * cc[j] + (1 - b2) * s / R; }
          const rm = r.reduce((a, b) => a + b, 0) / R;
          for (let i = 0; i < R; i++) for (let j = 0; j < C; j++) v[i * C + j] = r[i] / rm * cc[j];
        } else for (let i = 0; i < w.length; i++) v[i] = b2 * v[i] + (1 - b2) * r2[i];
        const u = g.map((x, i) => x / Math.sqrt(v[i]));
        const sc = Math.max(1, rms(u) / clipT);
        for (let i = 0; i < w.length; i++) w[i] -= alpha * u[i] / sc;
      },
    };
    (d[cls === 'AdamW' ? 'Adam' : cls] || (() => { throw new Error(cls); }))();
  };
  const wd = cls === 'AdamW' ? o.weight_decay ?? 0.004 : o.weight_decay;
  st.apply = (W, G, shapes, constraints) => {
    const lr = st.currentLr();
    let grads = G;
    const step = () => {
      if (o.clipnorm) grads = Object.fromEntries(Object.entries(grads).map(([n, g]) => { const nn = Math.sqrt(g.reduce((s, x) => s + x * x, 0)); return [n, g.map(x => x * o.clipnorm / Math.max(nn, o.clipnorm))]; }));
      else if (o.global_clipnorm) {
        const nn = Math.sqrt(Object.values(grads).reduce((s, g) => s + g.reduce((a, x) => a + x * x, 0), 0));
        const sc = o.global_clipnorm * Math.min(1 / nn, 1 / o.global_clipnorm);
        grads = Object.fromEntries(Object.entries(grads).map(([n, g]) => [n, g.map(x => x * sc)]));
      } else if (o.clipvalue) grads = Object.fromEntries(Object.entries(grads).map(([n, g]) => [n, g.map(x => Math.min(Math.max(x, -o.clipvalue), o.clipvalue))]));
      if (wd) for (const n of names) for (let i = 0; i < W[n].length; i++) W[n][i] -= W[n][i] * wd * lr;
      if (cls === 'Nadam') st.uProduct *= (o.beta_1 ?? 0.9) * (1 - 0.5 * 0.96 ** (st.kIters() + 1));
      for (const n of names) update(n, W[n], grads[n], lr, shapes[n]);
    };
    const acc = o.gradient_accumulation_steps;
    if (acc) {
      if ((st.iters + 1) % acc === 0) {
        grads = Object.fromEntries(names.map(n => [n, G[n].map((x, i) => (x + slot(n, 'acc_g', G[n].length)[i]) / acc)]));
        step();
        for (const n of names) slot(n, 'acc_g', G[n].length).fill(0);
      } else for (const n of names) { const a = slot(n, 'acc_g', G[n].length); for (let i = 0; i < a.length; i++) a[i] += G[n][i]; }
    } else step();
    if (o.use_ema) {
      const mom = st.kIters() !== 0 ? o.ema_momentum ?? 0.99 : 0;
      for (const n of names) { const a = slot(n, 'avg', W[n].length); for (let i = 0; i < a.length; i++) a[i] = mom * a[i] + (1 - mom) * W[n][i]; }
      if (o.ema_overwrite_frequency && (st.kIters() + 1) % o.ema_overwrite_frequency === 0) st.finalize(W);
    }
    for (const n of names) if (constraints[n]) W[n] = constraints[n](W[n], shapes[n]);
    st.iters++;
  };
  st.finalize = W => { if (o.use_ema) for (const n of names) W[n] = Float64Array.from(slot(n, 'avg', W[n].length)); };
  return st;
}

// learning_rate_schedule.py, float64
function schedule(lr) {
  if (lr == null || typeof lr === 'number') return null;
  const o = lr.config;
  switch (lr.class_name) {
    case 'ExponentialDecay': return s => { let p = s / o.decay_steps; if (o.staircase) p = Math.floor(p); return o.initial_learning_rate * o.decay_rate ** p; };
    case 'InverseTimeDecay': return s => { let p = s / o.decay_steps; if (o.staircase) p = Math.floor(p); return o.initial_learning_rate / (1 + o.decay_rate * p); };
    case 'PiecewiseConstantDecay': return s => { const b = o.boundaries; let i = 0; while (i < b.length && s > b[i]) i++; return o.values[i]; };
    case 'PolynomialDecay': return s => {
      let ds = o.decay_steps;
      if (o.cycle) ds *= s === 0 ? 1 : Math.ceil(s / o.decay_steps); else s = Math.min(s, ds);
      return (o.initial_learning_rate - (o.end_learning_rate ?? 1e-4)) * (1 - s / ds) ** (o.power ?? 1) + (o.end_learning_rate ?? 1e-4);
    };
    case 'CosineDecay': return s => {
      const dec = (t, from) => from * ((1 - (o.alpha || 0)) * 0.5 * (1 + Math.cos(Math.PI * t / o.decay_steps)) + (o.alpha || 0));
      if (o.warmup_target == null) return dec(Math.min(s, o.decay_steps), o.initial_learning_rate);
      const ws = o.warmup_steps || 0; s = Math.min(s, o.decay_steps + ws);
      return s < ws ? (o.warmup_target - o.initial_learning_rate) * s / ws + o.initial_learning_rate : dec(s - ws, o.warmup_target);
    };
    case 'CosineDecayRestarts': return s => {
      let f = s / o.first_decay_steps, i;
      const tm = o.t_mul ?? 2, mm = o.m_mul ?? 1, a = o.alpha || 0;
      if (tm === 1) { i = Math.floor(f); f -= i; } else {
        i = Math.floor(Math.log(1 - f * (1 - tm)) / Math.log(tm));
        f = (f - (1 - tm ** i) / (1 - tm)) / tm ** i;
      }
      return o.initial_learning_rate * ((1 - a) * 0.5 * mm ** i * (1 + Math.cos(Math.PI * f)) + a);
    };
    default: throw new Error(lr.class_name);
  }
}

// constraints.py and regularizers.py, float64 (kernel (in, out): axis 0 = per output unit)
function constraint(spec) {
  if (!spec) return null;
  const o = spec.config || {};
  const colNorms = (w, shape) => {
    if (shape.length === 1) return [Math.sqrt(w.reduce((s, x) => s + x * x, 0))];
    const [R, C] = shape, n = new Array(C).fill(0);
    for (let i = 0; i < R; i++) for (let j = 0; j < C; j++) n[j] += w[i * C + j] ** 2;
    return n.map(Math.sqrt);
  };
  const scale = f => (w, shape) => { const n = colNorms(w, shape), C = shape.length === 1 ? 1 : shape[1]; return w.map((x, i) => x * f(n[shape.length === 1 ? 0 : i % C])); };
  switch (spec.class_name) {
    case 'MaxNorm': return scale(n => Math.min(Math.max(n, 0), o.max_value ?? 2) / (EPS + n));
    case 'UnitNorm': return scale(n => 1 / (EPS + n));
    case 'MinMaxNorm': return scale(n => ((o.rate ?? 1) * Math.min(Math.max(n, o.min_value ?? 0), o.max_value ?? 1) + (1 - (o.rate ?? 1)) * n) / (EPS + n));
    case 'NonNeg': return w => w.map(x => Math.max(x, 0));
    default: throw new Error(spec.class_name);
  }
}
function regularizer(spec) {
  if (!spec) return null;
  const o = spec.config || {};
  const l1 = spec.class_name === 'L1' ? o.l1 ?? 0.01 : spec.class_name === 'L1L2' ? o.l1 || 0 : 0;
  const l2 = spec.class_name === 'L2' ? o.l2 ?? 0.01 : spec.class_name === 'L1L2' ? o.l2 || 0 : 0;
  return xs => add(mul(l1, sum(xs.map(abs))), mul(l2, sum(xs.map(x => powc(x, 2)))));
}

// ---- one case ------------------------------------------------------------------
function runCase(name) {
  const dir = path.join(HERE, name);
  const C = JSON.parse(fs.readFileSync(path.join(dir, 'case.json'), 'utf8'));
  if (C.model.class_name !== 'Sequential') return null;
  const layers = C.model.config.layers.filter(l => l.class_name === 'Dense').map(l => l.config);
  const lf = lossFn(C.compile.loss);
  if (!lf) return null;
  const F = C.fit, D = C.data;
  const arr = f => { const a = readNpy(path.join(dir, f)); return { d: Array.from(a.data, Number), s: a.shape }; };
  const rows = a => { const n = a.s[0], w = a.d.length / n; return Array.from({ length: n }, (_, i) => a.d.slice(i * w, (i + 1) * w)); };
  const rows3 = a => (a.s.length === 3 ? rows(a).map(r => Array.from({ length: a.s[1] }, (_, t) => r.slice(t * a.s[2], (t + 1) * a.s[2]))) : rows(a));
  let X = rows3(arr(D.x)), Y = rows(arr(D.y));
  let SW = D.sample_weight ? rows(arr(D.sample_weight)) : null;
  let XV = D.x_val ? rows3(arr(D.x_val)) : null, YV = D.y_val ? rows(arr(D.y_val)) : null;
  let SWV = D.sample_weight_val ? rows(arr(D.sample_weight_val)) : null;
  if (F.class_weight) SW = Y.map(y => [F.class_weight[String(y.length > 1 ? y.indexOf(Math.max(...y)) : Math.round(y[0]))] ?? 1]);
  if (F.validation_split && !F.validation_data) {
    const at = Math.floor(X.length * (1 - F.validation_split));
    XV = X.slice(at); YV = Y.slice(at); X = X.slice(0, at); Y = Y.slice(0, at);
    if (SW && !F.class_weight) SWV = SW.slice(at);
    if (SW) SW = SW.slice(0, at);
  }
  const w0 = JSON.parse(fs.readFileSync(path.join(dir, 'w0', 'weights.json'), 'utf8')).weights;
  let W = {}, shapes = {};
  for (const e of w0) { const a = readNpy(path.join(dir, 'w0', e.file)); W[e.name] = Float64Array.from(a.data); shapes[e.name] = e.shape; }
  const names = w0.map(e => e.name);
  const opt = makeOptimizer(typeof C.compile.optimizer === 'string' ? { class_name: C.compile.optimizer, config: {} } : C.compile.optimizer, names);
  const cons = {}, regs = [];
  for (const l of layers) {
    if (l.kernel_constraint) cons[`${l.name}/kernel`] = constraint(l.kernel_constraint);
    if (l.bias_constraint) cons[`${l.name}/bias`] = constraint(l.bias_constraint);
    if (l.kernel_regularizer) regs.push([`${l.name}/kernel`, regularizer(l.kernel_regularizer)]);
    if (l.bias_regularizer) regs.push([`${l.name}/bias`, regularizer(l.bias_regularizer)]);
  }
  const outLayer = layers[layers.length - 1];
  const actReg = regularizer(outLayer.activity_regularizer);
  const metrics = (C.compile.metrics || []).filter(m => m === 'mae' || m === 'mse');
  const wmetrics = (C.compile.weighted_metrics || []).filter(m => m === 'mae' || m === 'mse');
  const metricV = (m, y, p) => (m === 'mae' ? p.reduce((s, q, i) => s + Math.abs(y[i] - q), 0) : p.reduce((s, q, i) => s + (y[i] - q) ** 2, 0)) / p.length;

  // the loss of a batch (V) and metric sums
  const batchLoss = (Wv, xs, ys, sws) => {
    const P = xs.map(x => forward(layers, Wv, x));
    const red = lf.reduction ?? 'sum_over_batch_size';
    let loss;
    if (lf.whole) loss = lf.whole(ys.map(y => y[0]), P.map(p => p[0]));
    else {
      // per sample (or per step for rank-3 outputs), times its weight
      const vals = [], ws = [];
      P.forEach((p, i) => {
        if (Array.isArray(p[0])) p.forEach((pt, t) => { vals.push(lf.per([ys[i][t]], pt)); ws.push(sws ? sws[i][t] : 1); });
        else { const v = lf.per(ys[i], p); if (v) { vals.push(v); ws.push(sws ? sws[i][0] : 1); } }
      });
      // (a batch whose every target is ignored has loss 0: divide_no_nan)
      const s = sum(vals.map((v, i) => mul(v, ws[i])));
      loss = !vals.length ? new V(0) : red === 'sum' ? s : red === 'mean_with_sample_weight' && sws ? div(s, ws.reduce((a, b) => a + b, 0)) : div(s, vals.length);
    }
    for (const [n, r] of regs) loss = add(loss, r(Array.from(Wv[n])));
    if (actReg) loss = add(loss, div(actReg(P.flat(2)), xs.length));
    return { loss, P };
  };
  const toV = () => Object.fromEntries(names.map(n => [n, Array.from(W[n], x => new V(x))]));
  const hist = {};
  const push = (k, v) => (hist[k] ||= []).push(v);
  const bs = F.batch_size ?? 32;
  const batches = (n, b) => { const out = []; for (let i = 0; i < n; i += b) out.push([i, Math.min(n, i + b)]); return out; };
  // callbacks
  const cbs = (F.callbacks || []).map(cb => Object.assign({ cls: cb.class_name }, cb.config));
  const state = cbs.map(() => ({ best: null, wait: 0, cooldown: 0, bestW: null }));
  let stop = false;
  const monitorLess = cb => (cb.mode === 'max' ? false : true); // loss/mae monitors: min in auto mode
  const improved = (cb, cur, ref, minDelta) => { if (ref == null) return true; const md = monitorLess(cb) ? -Math.abs(minDelta) : Math.abs(minDelta); return monitorLess(cb) ? cur - md < ref : cur - md > ref; };
  const epochs = F.epochs ?? 1, first = F.initial_epoch ?? 0;
  for (let ep = first; ep < epochs && !stop; ep++) {
    cbs.forEach(cb => { if (cb.cls === 'LearningRateScheduler') opt.lr = schedule(cb.schedule)(ep); });
    let tot = 0, cnt = 0;
    const ms = Object.fromEntries(metrics.concat(wmetrics.map(m => `w:${m}`)).map(m => [m, [0, 0]]));
    for (const [a, b] of batches(X.length, bs)) {
      const Wv = toV();
      const { loss, P } = batchLoss(Wv, X.slice(a, b), Y.slice(a, b), SW && SW.slice(a, b));
      backward(loss);
      tot += loss.v * (b - a); cnt += b - a;
      P.forEach((p, i) => {
        if (Array.isArray(p[0])) return; // sequence outputs: metrics not recomputed
        const y = Y[a + i], pv = p.map(q => q.v);
        for (const m of metrics) { ms[m][0] += metricV(m, y, pv); ms[m][1] += 1; }
        for (const m of wmetrics) { const w = SW ? SW[a + i][0] : 1; ms[`w:${m}`][0] += w * metricV(m, y, pv); ms[`w:${m}`][1] += w; }
      });
      const G = Object.fromEntries(names.map(n => [n, Float64Array.from(Wv[n], v => v.g)]));
      opt.apply(W, G, shapes, cons);
    }
    const logs = { loss: tot / cnt };
    for (const m of metrics) if (ms[m][1]) logs[m] = ms[m][0] / ms[m][1];
    for (const m of wmetrics) if (ms[`w:${m}`][1]) logs[m] = ms[`w:${m}`][0] / ms[`w:${m}`][1];
    if (XV && (ep + 1) % (F.validation_freq ?? 1) === 0) {
      let vt = 0, vn = 0;
      const vm = {};
      for (const [a, b] of batches(XV.length, F.validation_batch_size ?? bs)) {
        const Wv = toV();
        const { loss, P } = batchLoss(Wv, XV.slice(a, b), YV.slice(a, b), SWV && SWV.slice(a, b));
        vt += loss.v * (b - a); vn += b - a;
        P.forEach((p, i) => {
          if (Array.isArray(p[0])) return;
          const y = YV[a + i], pv = p.map(q => q.v);
          for (const m of metrics) { (vm[m] ||= [0, 0]); vm[m][0] += metricV(m, y, pv); vm[m][1] += 1; }
          for (const m of wmetrics) { const w = SWV ? SWV[a + i][0] : 1; (vm[`w:${m}`] ||= [0, 0]); vm[`w:${m}`][0] += w * metricV(m, y, pv); vm[`w:${m}`][1] += w; }
        });
      }
      logs.val_loss = vt / vn;
      for (const m of metrics) if (vm[m]) logs[`val_${m}`] = vm[m][0] / vm[m][1];
      for (const m of wmetrics) if (vm[`w:${m}`]) logs[`val_${m}`] = vm[`w:${m}`][0] / vm[`w:${m}`][1];
    }
    cbs.forEach((cb, k) => {
      const s = state[k];
      if (cb.cls === 'LearningRateScheduler') { logs.learning_rate = opt.currentLr(); return; }
      if (cb.cls === 'ReduceLROnPlateau') {
        logs.learning_rate = opt.currentLr();
        const cur = logs[cb.monitor ?? 'val_loss'];
        if (s.cooldown > 0) { s.cooldown--; s.wait = 0; }
        if (improved(cb, cur, s.best, cb.min_delta ?? 1e-4)) { s.best = cur; s.wait = 0; }
        else if (!(s.cooldown > 0) && ++s.wait >= (cb.patience ?? 10) && opt.lr > (cb.min_lr ?? 0)) {
          opt.lr = Math.max(opt.lr * (cb.factor ?? 0.1), cb.min_lr ?? 0); s.cooldown = cb.cooldown ?? 0; s.wait = 0;
        }
        return;
      }
      if (cb.cls === 'EarlyStopping') {
        const cur = logs[cb.monitor ?? 'val_loss'];
        if (cur == null || ep < (cb.start_from_epoch ?? 0)) return;
        if (cb.restore_best_weights && s.bestW == null) s.bestW = Object.fromEntries(names.map(n => [n, Float64Array.from(W[n])]));
        s.wait++;
        if (improved(cb, cur, s.best, cb.min_delta ?? 0)) {
          s.best = cur;
          if (cb.restore_best_weights) s.bestW = Object.fromEntries(names.map(n => [n, Float64Array.from(W[n])]));
          if (cb.baseline == null || improved(cb, cur, cb.baseline, cb.min_delta ?? 0)) s.wait = 0;
          return;
        }
        if (s.wait >= (cb.patience ?? 0) && ep > 0) stop = true;
        return;
      }
      throw new Error(cb.cls);
    });
    for (const [k, v] of Object.entries(logs)) push(k, v);
  }
  opt.finalize(W);
  cbs.forEach((cb, k) => { if (cb.cls === 'EarlyStopping' && cb.restore_best_weights && state[k].bestW) W = state[k].bestW; });
  return { hist, W };
}

// ---- compare ---------------------------------------------------------------------
const close = (a, b) => Math.abs(a - b) <= ABS + REL * Math.abs(b);
const M = {};
require('./training_makers.js')(M, { mulberry32: () => 0 });
const names = process.argv.slice(3).length ? process.argv.slice(3) : Object.keys(M);
let passed = 0, failed = 0, skipped = [];
for (const name of names) {
  const r = runCase(name);
  if (!r) { skipped.push(name); continue; }
  const exp = JSON.parse(fs.readFileSync(path.join(HERE, name, 'expected', 'history.json'), 'utf8'));
  const bad = [];
  for (const [k, v] of Object.entries(r.hist)) {
    if (!(k in exp)) { bad.push(`${k}: not in expected`); continue; }
    if (exp[k].length !== v.length) { bad.push(`${k}: ${v.length} epochs, expected ${exp[k].length}`); continue; }
    v.forEach((x, e) => { if (!close(x, exp[k][e])) bad.push(`${k}[${e}]: reference ${x.toPrecision(9)}, oracle ${exp[k][e].toPrecision(9)}`); });
  }
  for (const k of ['loss', 'val_loss', 'learning_rate']) if (k in exp && !(k in r.hist)) bad.push(`${k}: missing in the reference`);
  const wj = JSON.parse(fs.readFileSync(path.join(HERE, name, 'expected', 'weights_final', 'weights.json'), 'utf8')).weights;
  let worst = 0;
  for (const e of wj) {
    const a = readNpy(path.join(HERE, name, 'expected', 'weights_final', e.file)).data;
    a.forEach((x, i) => { const d = Math.abs(r.W[e.name][i] - x) / (ABS / REL + Math.abs(x)); if (d > worst) worst = d; });
  }
  if (worst > WREL) bad.push(`final weights: largest difference ${worst.toExponential(2)} (relative to |w| + 0.01)`);
  if (bad.length) { failed++; console.log(`FAIL ${name}\n  ${bad.slice(0, 6).join('\n  ')}`); }
  else { passed++; console.log(`ok   ${name} (weights within ${worst.toExponential(1)})`); }
}
console.log(`${passed} passed, ${failed} failed; not recomputed (stateful metrics or losses not in the reference): ${skipped.join(' ') || 'none'}`);
process.exit(failed ? 1 : 0);
