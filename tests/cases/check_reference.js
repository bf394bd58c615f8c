#!/usr/bin/env node
'use strict';
// An independent check of the oracle's expected/ for the Functional cases: a
// float64 plain-JS reading of the Keras 3 model JSON (no tfjs), with its own
// reverse-mode gradients, Keras 3's optimizer formulas and fit loop, run from
// w0/ and compared with expected/history.json, expected/weights_final and the
// predictions. Also checks the structural facts each case is about.
//   node tests/cases/check_reference.js ORACLE_DIR [name ...]   (prints "N passed, N failed")
// Layers understood: InputLayer, Dense (linear/relu/tanh/sigmoid), Dropout called
// with training=False (the identity), Add,
// Subtract, Multiply, Average, Maximum, Minimum (two inputs), Concatenate (last
// axis, any number of inputs; axis 1 of rank-3 tensors), Flatten, Dense on rank 3, Dot (axes 1 on rank-2 inputs, normalize), a nested
// Sequential or Functional of those. Losses: mse, binary_crossentropy (from the logits of a
// sigmoid output, as Keras 3's TF backend), or none on an output. Metrics: mae, mse, accuracy (binary).
// Optimizers: SGD (momentum), Adam, RMSprop.
const fs = require('fs');
const path = require('path');

const oracle = path.resolve(process.argv[2] || '');
if (!fs.existsSync(path.join(oracle, 'npy.js'))) {
  console.error('usage: check_reference.js ORACLE_DIR [name ...]');
  process.exit(2);
}
const { readNpy } = require(path.join(oracle, 'npy.js'));
const HERE = __dirname;
const FUNCTIONAL = ['residual_add', 'two_towers', 'shared_layer', 'nested_frozen', 'dot', 'dot_normalize', 'merge_ops', 'nested_functional', 'dropout_training_false', 'output_without_loss',
  'nested_frozen_keras2', 'shared_layer_keras2', 'concat_time_axis', 'nested_frozen_tfjs', 'shared_layer_tfjs'];
const REL = 1e-4, ABS = 1e-6; // the golden tolerance (float32 oracle vs float64 here)

let passed = 0, failed = 0;
function check(name, ok, detail) {
  if (ok) passed++; else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
}
const close = (a, b) => Math.abs(a - b) <= ABS + REL * Math.abs(b);
const readJson = f => JSON.parse(fs.readFileSync(f, 'utf8'));

// ---- a tiny tape: 2-D float64 tensors [rows, cols] -------------------------
let tape = [];
// A rank-3 tensor (batch, steps, features) is held as rows = batch·steps, cols = features.
function T(rows, cols, v, steps = 1) { return { rows, cols, steps, v: v || new Float64Array(rows * cols), g: null }; }
function grad(t) { if (!t.g) t.g = new Float64Array(t.v.length); return t.g; }
function matmul(x, w) { // [n,k] x [k,m]
  const y = T(x.rows, w.cols, null, x.steps);
  for (let i = 0; i < x.rows; i++) for (let k = 0; k < x.cols; k++) {
    const a = x.v[i * x.cols + k];
    for (let j = 0; j < w.cols; j++) y.v[i * w.cols + j] += a * w.v[k * w.cols + j];
  }
  tape.push(() => {
    if (!y.g) return;
    const gx = grad(x), gw = grad(w);
    for (let i = 0; i < x.rows; i++) for (let k = 0; k < x.cols; k++) for (let j = 0; j < w.cols; j++) {
      gx[i * x.cols + k] += y.g[i * w.cols + j] * w.v[k * w.cols + j];
      gw[k * w.cols + j] += y.g[i * w.cols + j] * x.v[i * x.cols + k];
    }
  });
  return y;
}
function addBias(x, b) {
  const y = T(x.rows, x.cols, x.v.map((a, i) => a + b.v[i % x.cols]), x.steps);
  tape.push(() => { if (!y.g) return; const gx = grad(x), gb = grad(b); y.g.forEach((g, i) => { gx[i] += g; gb[i % x.cols] += g; }); });
  return y;
}
const ACT = {
  linear: [a => a, () => 1],
  relu: [a => (a > 0 ? a : 0), a => (a > 0 ? 1 : 0)],
  tanh: [Math.tanh, a => 1 - Math.tanh(a) ** 2],
  sigmoid: [a => 1 / (1 + Math.exp(-a)), a => { const s = 1 / (1 + Math.exp(-a)); return s * (1 - s); }],
};
function act(x, name) {
  if (!ACT[name]) throw new Error(`activation ${name}`);
  const [f, df] = ACT[name];
  const y = T(x.rows, x.cols, x.v.map(f), x.steps);
  tape.push(() => { if (!y.g) return; const gx = grad(x); y.g.forEach((g, i) => { gx[i] += g * df(x.v[i]); }); });
  return y;
}
function add(a, b) {
  const y = T(a.rows, a.cols, a.v.map((x, i) => x + b.v[i]), a.steps);
  tape.push(() => { if (!y.g) return; const ga = grad(a), gb = grad(b); y.g.forEach((g, i) => { ga[i] += g; gb[i] += g; }); });
  return y;
}
// Elementwise a (op) b of equal shapes; d(a, b) gives [dy/da, dy/db].
function elementwise(a, b, f, d) {
  const y = T(a.rows, a.cols, a.v.map((x, i) => f(x, b.v[i])), a.steps);
  tape.push(() => {
    if (!y.g) return;
    const ga = grad(a), gb = grad(b);
    y.g.forEach((g, i) => { const [da, db] = d(a.v[i], b.v[i]); ga[i] += g * da; gb[i] += g * db; });
  });
  return y;
}
const MERGE = { // two inputs (the cases have no ties for Maximum/Minimum)
  Subtract: [(x, y) => x - y, () => [1, -1]],
  Multiply: [(x, y) => x * y, (x, y) => [y, x]],
  Average: [(x, y) => (x + y) / 2, () => [0.5, 0.5]],
  Maximum: [Math.max, (x, y) => (x >= y ? [1, 0] : [0, 1])],
  Minimum: [Math.min, (x, y) => (x <= y ? [1, 0] : [0, 1])],
};
function concat(parts) { // along the last axis
  const c = parts.reduce((s, p) => s + p.cols, 0), y = T(parts[0].rows, c, null, parts[0].steps);
  for (let i = 0; i < y.rows; i++) {
    let off = 0;
    for (const p of parts) { for (let j = 0; j < p.cols; j++) y.v[i * c + off + j] = p.v[i * p.cols + j]; off += p.cols; }
  }
  tape.push(() => {
    if (!y.g) return;
    for (let i = 0; i < y.rows; i++) {
      let off = 0;
      for (const p of parts) { const g = grad(p); for (let j = 0; j < p.cols; j++) g[i * p.cols + j] += y.g[i * c + off + j]; off += p.cols; }
    }
  });
  return y;
}
// Rank 3, along axis 1: for each sample, the steps of each part in turn.
function concatSteps(parts) {
  const n = parts[0].rows / parts[0].steps, cols = parts[0].cols;
  const steps = parts.reduce((s, p) => s + p.steps, 0), y = T(n * steps, cols, null, steps);
  const each = (fn) => {
    for (let i = 0; i < n; i++) {
      let at = i * steps;
      for (const p of parts) for (let t = 0; t < p.steps; t++, at++) for (let j = 0; j < cols; j++) fn(p, (i * p.steps + t) * cols + j, at * cols + j);
    }
  };
  each((p, from, to) => { y.v[to] = p.v[from]; });
  tape.push(() => { if (y.g) each((p, from, to) => { grad(p)[from] += y.g[to]; }); });
  return y;
}
// Flatten: the same values, one row per sample.
function flatten(x) {
  const y = T(x.rows / x.steps, x.cols * x.steps, x.v.slice());
  tape.push(() => { if (y.g) { const g = grad(x); y.g.forEach((v, i) => { g[i] += v; }); } });
  return y;
}
function rowDot(a, b) {
  const y = T(a.rows, 1);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) y.v[i] += a.v[i * a.cols + j] * b.v[i * b.cols + j];
  tape.push(() => {
    if (!y.g) return;
    const ga = grad(a), gb = grad(b);
    for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) {
      ga[i * a.cols + j] += y.g[i] * b.v[i * b.cols + j];
      gb[i * b.cols + j] += y.g[i] * a.v[i * a.cols + j];
    }
  });
  return y;
}
// Keras 3 ops.nn.normalize (order 2): x * rsqrt(max(sum(x^2), epsilon^2))
function normalizeRows(x) {
  const y = T(x.rows, x.cols), inv = new Float64Array(x.rows), clamped = [];
  for (let i = 0; i < x.rows; i++) {
    let s = 0;
    for (let j = 0; j < x.cols; j++) s += x.v[i * x.cols + j] ** 2;
    clamped[i] = s < 1e-14;
    inv[i] = 1 / Math.sqrt(Math.max(s, 1e-14));
    for (let j = 0; j < x.cols; j++) y.v[i * x.cols + j] = x.v[i * x.cols + j] * inv[i];
  }
  tape.push(() => {
    if (!y.g) return;
    const gx = grad(x);
    for (let i = 0; i < x.rows; i++) {
      let gy = 0; // d/dx_j of x_k / |x| = delta_jk / |x| - x_j x_k / |x|^3
      for (let j = 0; j < x.cols; j++) gy += y.g[i * x.cols + j] * x.v[i * x.cols + j];
      for (let j = 0; j < x.cols; j++) {
        gx[i * x.cols + j] += y.g[i * x.cols + j] * inv[i] - (clamped[i] ? 0 : x.v[i * x.cols + j] * gy * inv[i] ** 3);
      }
    }
  });
  return y;
}
function backward(loss) {
  loss.g = new Float64Array([1]);
  for (let i = tape.length - 1; i >= 0; i--) tape[i]();
}

// ---- the model: a reading of the Keras 3 JSON ------------------------------
function denseCall(params, prefix, cfg, x) {
  const k = params[`${prefix}${cfg.name}/kernel`], b = params[`${prefix}${cfg.name}/bias`];
  const z = addBias(matmul(x, k), b);
  return { z, y: act(z, cfg.activation) };
}
function layerCall(params, prefix, layer, inputs, logits, kwargs = {}) {
  const c = layer.config;
  switch (layer.class_name) {
    case 'Dense': { const r = denseCall(params, prefix, c, inputs[0]); logits.set(r.y, r.z); return r.y; }
    case 'Add': return add(inputs[0], inputs[1]);
    case 'Dropout': // only a call with training=False (the identity) is reproducible
      if (kwargs.training !== false && c.rate > 0) throw new Error(`${c.name}: Dropout in training is random`);
      return inputs[0];
    case 'Concatenate': {
      const rank = inputs[0].steps > 1 ? 3 : 2, axis = c.axis < 0 ? c.axis + rank : c.axis;
      if (axis === rank - 1) return concat(inputs);
      if (rank === 3 && axis === 1) return concatSteps(inputs);
      throw new Error(`Concatenate axis ${c.axis}`);
    }
    case 'Flatten': return flatten(inputs[0]);
    case 'Subtract': case 'Multiply': case 'Average': case 'Maximum': case 'Minimum':
      if (inputs.length !== 2) throw new Error(`${layer.class_name} of ${inputs.length} inputs`);
      return elementwise(inputs[0], inputs[1], ...MERGE[layer.class_name]);
    case 'Dot': {
      if (c.axes !== 1 && !(Array.isArray(c.axes) && c.axes[0] === 1 && c.axes[1] === 1)) throw new Error('Dot axes');
      return c.normalize ? rowDot(normalizeRows(inputs[0]), normalizeRows(inputs[1])) : rowDot(inputs[0], inputs[1]);
    }
    // Keras 3 variable paths: a nested Sequential's layers are named under the
    // model (built in its name scope), a nested Functional's are not.
    case 'Sequential': {
      let x = inputs[0];
      for (const l of c.layers) if (l.class_name !== 'InputLayer') x = layerCall(params, `${prefix}${c.name}/`, l, [x], logits);
      return x;
    }
    case 'Functional': {
      const r = forward(layer, params, inputs, prefix);
      r.logits.forEach((z, y) => logits.set(y, z));
      if (r.outputs.length !== 1) throw new Error('nested Functional with several outputs');
      return r.outputs[0];
    }
    default: throw new Error(`layer ${layer.class_name}`);
  }
}
// Keras tensors in a node's args, in order.
function tensorsIn(x, out = []) {
  if (Array.isArray(x)) x.forEach(e => tensorsIn(e, out));
  else if (x && typeof x === 'object' && x.class_name === '__keras_tensor__') out.push(x.config.keras_history);
  return out;
}
const endpoints = v => (typeof v[0] === 'string' ? [v] : v);
// Forward pass: returns {outputs: [tensor], logits: Map(output tensor -> pre-activation)}.
function forward(model, params, xs, prefix = '') {
  const cfg = model.config, vals = new Map(), logits = new Map();
  endpoints(cfg.input_layers).forEach(([name], i) => {
    const l = cfg.layers.find(e => e.name === name), shape = l.config.batch_shape || l.config.batch_input_shape;
    if (shape.length > 3) throw new Error(`input ${name} of rank ${shape.length}`);
    // a (batch, steps, features) input: one row per step
    vals.set(`${name}:0:0`, shape.length === 3 && xs[i].steps === 1 ? T(xs[i].rows * shape[1], shape[2], xs[i].v, shape[1]) : xs[i]);
  });
  const keras2 = !('module' in model); // tf.keras 2 or tfjs: nodes are lists of [layer, node, tensor, kwargs]
  for (const layer of cfg.layers) {
    if (layer.class_name === 'InputLayer') continue;
    // A nested model's first call is node 1: Keras 3 counts a built-in node for a
    // Functional only, tf.keras 2 and tfjs for a Sequential too (a Functional there).
    const builtIn = layer.class_name === 'Functional' || (keras2 && layer.class_name === 'Sequential') ? 1 : 0;
    layer.inbound_nodes.forEach((node, n) => {
      const refs = Array.isArray(node) ? node.map(e => e.slice(0, 3)) : tensorsIn(node.args);
      const kwargs = Array.isArray(node) ? (node[0] && node[0][3]) || {} : node.kwargs;
      const ins = refs.map(([l, ni, ti]) => {
        const v = vals.get(`${l}:${ni}:${ti}`);
        if (!v) throw new Error(`${layer.name}: input ${l}:${ni}:${ti} not computed yet`);
        return v;
      });
      vals.set(`${layer.name}:${n + builtIn}:0`, layerCall(params, prefix, layer, ins, logits, kwargs));
    });
  }
  return { outputs: endpoints(cfg.output_layers).map(([l, n, t]) => vals.get(`${l}:${n}:${t}`)), logits };
}

// ---- losses and metrics (per sample values, Keras 3) -------------------------
function lossOf(kind, y, out, logits) {
  const n = y.rows, d = y.cols, l = T(1, 1);
  if (kind === 'mse') {
    let s = 0;
    for (let i = 0; i < n * d; i++) s += (out.v[i] - y.v[i]) ** 2;
    l.v[0] = s / (n * d);
    tape.push(() => { const g = grad(out); for (let i = 0; i < n * d; i++) g[i] += l.g[0] * 2 * (out.v[i] - y.v[i]) / (n * d); });
    return l;
  }
  if (kind === 'bce') {
    const z = logits.get(out);
    if (!z) throw new Error('binary_crossentropy needs a sigmoid output (logits path)');
    let s = 0;
    for (let i = 0; i < n * d; i++) s += Math.max(z.v[i], 0) - z.v[i] * y.v[i] + Math.log1p(Math.exp(-Math.abs(z.v[i])));
    l.v[0] = s / (n * d);
    tape.push(() => { const g = grad(z); for (let i = 0; i < n * d; i++) g[i] += l.g[0] * (1 / (1 + Math.exp(-z.v[i])) - y.v[i]) / (n * d); });
    return l;
  }
  throw new Error(`loss ${kind}`);
}
const LOSS = { mse: 'mse', mean_squared_error: 'mse', binary_crossentropy: 'bce' };
function metricSum(name, y, out) { // sum over samples of each sample's metric value
  let s = 0;
  for (let i = 0; i < y.rows; i++) {
    let m = 0;
    for (let j = 0; j < y.cols; j++) {
      const p = out.v[i * y.cols + j], t = y.v[i * y.cols + j];
      if (name === 'mae') m += Math.abs(p - t);
      else if (name === 'mse') m += (p - t) ** 2;
      else if (name === 'accuracy') m += ((p > 0.5 ? 1 : 0) === t ? 1 : 0);
      else throw new Error(`metric ${name}`);
    }
    s += m / y.cols;
  }
  return s;
}

// ---- optimizers: keras/src/optimizers/{sgd,adam,rmsprop}.py ----------------
function optimizer(spec) {
  const c = Object.assign({}, spec.config);
  const slots = {};
  let iterations = 0;
  const slot = (name, n) => slots[name] || (slots[name] = { m: new Float64Array(n), v: new Float64Array(n) });
  return {
    step(params, grads, trainable) {
      const lr = c.learning_rate;
      for (const name of trainable) {
        const w = params[name].v, g = grads[name], s = slot(name, w.length);
        for (let i = 0; i < w.length; i++) {
          if (spec.class_name === 'SGD') {
            if (c.momentum) { s.m[i] = s.m[i] * c.momentum - g[i] * lr; w[i] += s.m[i]; } else w[i] -= lr * g[i];
          } else if (spec.class_name === 'Adam') {
            const b1 = c.beta_1 ?? 0.9, b2 = c.beta_2 ?? 0.999, eps = c.epsilon ?? 1e-7, t = iterations + 1;
            const alpha = lr * Math.sqrt(1 - b2 ** t) / (1 - b1 ** t);
            s.m[i] += (g[i] - s.m[i]) * (1 - b1);
            s.v[i] += (g[i] * g[i] - s.v[i]) * (1 - b2);
            w[i] -= alpha * s.m[i] / (Math.sqrt(s.v[i]) + eps);
          } else if (spec.class_name === 'RMSprop') {
            const rho = c.rho ?? 0.9, eps = c.epsilon ?? 1e-7;
            s.v[i] = rho * s.v[i] + (1 - rho) * g[i] * g[i];
            w[i] -= lr * g[i] / Math.sqrt(s.v[i] + eps);
          } else throw new Error(`optimizer ${spec.class_name}`);
        }
      }
      iterations++;
    },
  };
}

// ---- the case ---------------------------------------------------------------
function loadList(dir, spec, names) {
  if (typeof spec === 'string') spec = [spec];
  else if (!Array.isArray(spec)) spec = names.map(n => spec[n]);
  return spec.map(f => { const a = readNpy(path.join(dir, f)); return { shape: a.shape, v: Float64Array.from(a.data) }; });
}
const rowsOf = (a, from, to) => { const d = a.v.length / a.shape[0]; return T(to - from, d, a.v.slice(from * d, to * d)); };
// Trainable weights: a Dense is trainable unless its config (or an enclosing model's) says false.
function weightInfo(model) {
  const out = [];
  const walk = (layers, prefix, frozen) => {
    for (const l of layers) {
      if (l.class_name === 'Sequential') walk(l.config.layers, `${prefix}${l.config.name}/`, frozen || l.config.trainable === false);
      else if (l.class_name === 'Functional') walk(l.config.layers, prefix, frozen || l.config.trainable === false);
      else if (l.class_name === 'Dense') for (const w of ['kernel', 'bias']) out.push({ name: `${prefix}${l.config.name}/${w}`, trainable: !(frozen || l.config.trainable === false) });
    }
  };
  walk(model.config.layers, '', false);
  return out;
}

function runCase(name) {
  const dir = path.join(HERE, name), C = readJson(path.join(dir, 'case.json')), exp = path.join(dir, 'expected');
  const model = C.model, cfg = model.config;
  const inNames = endpoints(cfg.input_layers).map(e => e[0]), outNames = endpoints(cfg.output_layers).map(e => e[0]);
  const X = loadList(dir, C.data.x, inNames), Y = loadList(dir, C.data.y, outNames);
  const bundle = readJson(path.join(dir, C.initial_weights));
  const params = {};
  for (const w of bundle.weights) {
    const a = readNpy(path.join(dir, path.dirname(C.initial_weights), w.file));
    params[w.name] = T(a.shape[0], a.shape.length > 1 ? a.shape[1] : 1, Float64Array.from(a.data));
  }
  const info = weightInfo(model);
  check(`${name}: w0 names = the weights this reading of the JSON expects (${info.map(w => w.name).join(', ')})`,
    JSON.stringify(info.map(w => w.name).sort()) === JSON.stringify(Object.keys(params).sort()));
  const trainable = info.filter(w => w.trainable).map(w => w.name);
  const per = v => (v == null ? outNames.map(() => null) : Array.isArray(v) ? v : typeof v === 'object' && !v.class_name ? outNames.map(n => v[n]) : outNames.map(() => v));
  const losses = per(C.compile.loss).map(l => (l == null ? null : LOSS[l])); // null: no loss on that output
  // Keras 3 logs <output>_loss only when more than one output has a loss
  const perOutputLoss = losses.filter(l => l).length > 1;
  const neverMoved = new Set(Object.keys(params)); // weights whose gradient was always exactly 0
  const lw = per(C.compile.loss_weights).map(w => w ?? 1);
  const mets = outNames.length === 1 ? [C.compile.metrics || []] : per(C.compile.metrics).map(m => m || []);
  const multi = outNames.length > 1;
  const opt = optimizer(C.compile.optimizer);
  const F = C.fit, bs = F.batch_size;
  let N = X[0].shape[0], XV, YV;
  if (F.validation_split) {
    const at = Math.floor(N * (1 - F.validation_split));
    XV = X.map(a => rowsOf(a, at, N)); YV = Y.map(a => rowsOf(a, at, N)); N = at;
  } else if (F.validation_data) {
    XV = loadList(dir, C.data.x_val, inNames).map(a => rowsOf(a, 0, a.shape[0]));
    YV = loadList(dir, C.data.y_val, outNames).map(a => rowsOf(a, 0, a.shape[0]));
  }
  // One pass over rows [0, n): totals of the loss, per-output losses and metrics.
  const evaluate = (xs, ys, update) => {
    const tot = {}, n = xs[0].rows;
    const put = (k, v) => { tot[k] = (tot[k] || 0) + v; };
    for (let from = 0; from < n; from += bs) {
      const to = Math.min(from + bs, n), b = to - from;
      tape = [];
      const xb = xs.map(a => T(b, a.cols, a.v.slice(from * a.cols, to * a.cols)));
      const yb = ys.map(a => T(b, a.cols, a.v.slice(from * a.cols, to * a.cols)));
      for (const p of Object.values(params)) p.g = null;
      const { outputs, logits } = forward(model, params, xb);
      let total = null;
      outputs.forEach((o, i) => {
        for (const m of mets[i]) put(multi ? `${outNames[i]}_${m}` : m, metricSum(m, yb[i], o));
        if (!losses[i]) return;
        const l = lossOf(losses[i], yb[i], o, logits);
        if (perOutputLoss) put(`${outNames[i]}_loss`, l.v[0] * b);
        const weighted = T(1, 1, new Float64Array([l.v[0] * lw[i]]));
        tape.push(() => { grad(l)[0] += weighted.g[0] * lw[i]; });
        if (total) { const s = T(1, 1, new Float64Array([total.v[0] + weighted.v[0]])); const a = total; tape.push(() => { grad(a)[0] += s.g[0]; grad(weighted)[0] += s.g[0]; }); total = s; } else total = weighted;
      });
      put('loss', total.v[0] * b);
      if (update) {
        backward(total);
        const grads = {};
        for (const k of trainable) grads[k] = params[k].g || new Float64Array(params[k].v.length);
        for (const k of trainable) if (grads[k].some(g => g !== 0)) neverMoved.delete(k);
        opt.step(params, grads, trainable);
      }
    }
    for (const k of Object.keys(tot)) tot[k] /= n;
    return tot;
  };
  const hist = {};
  const log = (k, v) => (hist[k] = hist[k] || []).push(v);
  for (let e = 0; e < F.epochs; e++) {
    const tr = evaluate(X.map(a => rowsOf(a, 0, N)), Y.map(a => rowsOf(a, 0, N)), true);
    for (const [k, v] of Object.entries(tr)) log(k, v);
    if (XV) for (const [k, v] of Object.entries(evaluate(XV, YV, false))) log(`val_${k}`, v);
  }
  // compare with the oracle's expected/
  const H = readJson(path.join(exp, 'history.json'));
  check(`${name}: History keys ${Object.keys(H).sort().join(' ')}`, JSON.stringify(Object.keys(H).sort()) === JSON.stringify(Object.keys(hist).sort()),
    `reference has ${Object.keys(hist).sort().join(' ')}`);
  let worst = 0, where = '';
  for (const [k, vals] of Object.entries(H)) (hist[k] || []).forEach((v, i) => {
    const r = Math.abs(v - vals[i]) / Math.max(Math.abs(vals[i]), 1e-12);
    if (r > worst) { worst = r; where = `${k}[${i}] ${vals[i]} vs ${v}`; }
  });
  const allClose = Object.entries(H).every(([k, vals]) => hist[k] && hist[k].length === vals.length && vals.every((v, i) => close(hist[k][i], v)));
  check(`${name}: history matches the float64 reference`, allClose, `max rel diff ${worst.toExponential(2)} (${where})`);
  const fin = readJson(path.join(exp, 'weights_final', 'weights.json'));
  let wworst = 0, wok = true;
  for (const w of fin.weights) {
    const got = readNpy(path.join(exp, 'weights_final', w.file)).data, ref = params[w.name].v;
    got.forEach((g, i) => { wok = wok && close(ref[i], g); wworst = Math.max(wworst, Math.abs(g - ref[i]) / Math.max(Math.abs(g), 1e-12)); });
  }
  check(`${name}: final weights match the float64 reference`, wok, `max rel diff ${wworst.toExponential(2)}`);
  // predictions of the final weights on data.x (sigmoid applied for the output)
  tape = [];
  const { outputs } = forward(model, params, X.map(a => rowsOf(a, 0, a.shape[0])));
  const meta = readJson(path.join(exp, 'meta.json'));
  let pok = true;
  meta.predictions.files.forEach((f, i) => {
    const got = readNpy(path.join(exp, f)).data;
    // Relative to the output's scale: a prediction near 0 is a difference of
    // larger terms, which carries the weights' own 1e-5-level float32 error.
    const scale = got.reduce((a, g) => a + Math.abs(g), 0) / got.length;
    got.forEach((g, j) => { pok = pok && Math.abs(outputs[i].v[j] - g) <= ABS + REL * Math.max(Math.abs(g), scale); });
  });
  check(`${name}: predictions (${meta.predictions.files.join(', ')}) match the reference forward pass`, pok);
  // frozen weights, and weights no loss reaches: bit for bit the initial ones
  for (const w of info.filter(x => !x.trainable || neverMoved.has(x.name))) {
    const f = bundle.weights.find(b => b.name === w.name).file;
    const same = fs.readFileSync(path.join(dir, path.dirname(C.initial_weights), f)).equals(fs.readFileSync(path.join(exp, 'weights_final', fin.weights.find(b => b.name === w.name).file)));
    check(`${name}: ${w.trainable ? 'never reached by a loss' : 'frozen'} ${w.name} ends equal to w0 byte for byte`, same);
  }
  // several outputs: loss = sum of weight * per-output loss (each epoch, train and validation)
  if (perOutputLoss) {
    for (const pre of ['', 'val_']) {
      const ok = H[`${pre}loss`].every((v, e) => close(outNames.reduce((s, o, i) => s + lw[i] * H[`${pre}${o}_loss`][e], 0), v));
      check(`${name}: ${pre}loss = sum of loss_weights x ${pre}<output>_loss`, ok);
    }
  }
}

const names = process.argv.slice(3).length ? process.argv.slice(3) : FUNCTIONAL;
for (const n of names) {
  try { runCase(n); } catch (e) { check(`${n}: the reference runs`, false, e.message); }
}
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
