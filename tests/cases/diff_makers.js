#!/usr/bin/env node
'use strict';
// Differential testing against the oracle: many small RANDOM but valid models
// per layer family (issue 8's options), each written as an oracle case into a
// scratch folder and run through the oracle (Keras 3 semantics). nnc then runs
// the same folder (test_golden with NNC_GOLDEN_DIR, see README.md) and every
// mismatch is a candidate bug -- of nnc, or of the oracle where tfjs differs
// from Keras 3. Nothing here is committed in bulk; the few cases that exposed
// an nnc bug are copied to tests/cases/diff_*.
//   node tests/cases/diff_makers.js ORACLE_DIR OUT_DIR [--families a,b] [--count N] [--seed S]
// The oracle is patched as tests/cases/README.md says (all oracle-*.patch).
// A case the oracle refuses (a port that lacks an option, tfjs errors) is
// listed in OUT_DIR/refused.txt and removed.
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const args = process.argv.slice(2);
const opt = (k, d) => {
  const i = args.indexOf(k);
  return i >= 0 ? args[i + 1] : d;
};
const oracle = path.resolve(args[0] || '');
const out = path.resolve(args[1] || '');
if (!fs.existsSync(path.join(oracle, 'oracle.js')) || !args[1]) {
  console.error('usage: diff_makers.js ORACLE_DIR OUT_DIR [--families a,b] [--count N] [--seed S]');
  process.exit(2);
}
const { writeNpy } = require(path.join(oracle, 'npy.js'));

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function gauss(r) {
  let u = 0;
  while (u === 0) u = r();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}
const pick = (r, a) => a[Math.floor(r() * a.length)];
const int = (r, lo, hi) => lo + Math.floor(r() * (hi - lo + 1));
const coin = (r, p = 0.5) => r() < p;
const count = s => s.reduce((a, b) => a * b, 1);
const shapeOf = s => [null, ...s];

// ---- Keras 3.16 JSON pieces (as make_cases.js / fam_makers.js write them) ----
const POLICY = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };
const init = (cls, config = {}) => ({ module: 'keras.initializers', class_name: cls, config, registered_name: null });
const layer = (cls, config, inShape) => ({
  module: 'keras.layers', class_name: cls, registered_name: null,
  config: Object.assign({ trainable: true, dtype: POLICY }, config),
  build_config: { input_shape: Array.isArray(inShape[0]) ? inShape.map(shapeOf) : shapeOf(inShape) },
});
const input = (name, shape) => ({
  module: 'keras.layers', class_name: 'InputLayer', registered_name: null,
  config: { batch_shape: shapeOf(shape), dtype: 'float32', sparse: false, ragged: false, name, optional: false },
});
const kernelKeys = {
  kernel_initializer: init('GlorotUniform', { seed: null }), bias_initializer: init('Zeros'),
  kernel_regularizer: null, bias_regularizer: null, activity_regularizer: null, kernel_constraint: null, bias_constraint: null,
};
const dense = (name, units, activation, inShape) => layer('Dense', Object.assign({ name, units, activation, use_bias: true, quantization_config: null }, kernelKeys), inShape);
const flatten = (name, inShape) => layer('Flatten', { name, data_format: 'channels_last' }, inShape);
const sequential = (name, inShape, layers) => ({
  module: 'keras', class_name: 'Sequential', registered_name: null,
  config: { name, trainable: true, dtype: POLICY, layers: [input('x', inShape), ...layers] },
  build_config: { input_shape: shapeOf(inShape) },
});
const kt = (name, shape) => ({ class_name: '__keras_tensor__', config: { shape: shapeOf(shape), dtype: 'float32', keras_history: [name, 0, 0] } });
const node = (def, calls) => Object.assign({}, def, { name: def.config.name, inbound_nodes: calls });
const functional = (name, layers, inputs, outputs) => {
  for (const l of layers) if (l.class_name === 'InputLayer') delete l.build_config;
  return { module: 'keras.src.models.functional', class_name: 'Functional', registered_name: 'Functional', config: { name, trainable: true, layers, input_layers: inputs, output_layers: outputs } };
};
// a model ending in Flatten -> Dense(1) after the layers of `body` (which
// returns [layers, output shape])
function head(layers, shape) {
  if (shape.length > 1) {
    layers.push(flatten('flatten', shape));
    shape = [count(shape)];
  }
  layers.push(dense('out', 1, 'linear', shape));
  return layers;
}

// x ~ N(0, 1), y a smooth function of a few entries (fam_makers.js's form)
function data(dir, r, N, shape, xs = 1) {
  const F = count(shape);
  const x = new Float32Array(N * F), y = new Float32Array(N);
  for (let i = 0; i < x.length; i++) x[i] = gauss(r) * xs;
  for (let i = 0; i < N; i++) {
    const v = x.subarray(i * F, i * F + F);
    y[i] = Math.tanh(0.8 * v[0] - 0.6 * v[F >> 1]) + 0.3 * v[F - 1] * v[Math.min(1, F - 1)] + 0.05 * gauss(r);
  }
  writeNpy(path.join(dir, 'x.npy'), x, [N, ...shape]);
  writeNpy(path.join(dir, 'y.npy'), y, [N, 1]);
  return { x: 'x.npy', y: 'y.npy' };
}
const ADAM = { class_name: 'Adam', config: { learning_rate: 0.01 } };
const fitCase = (o) => ({
  description: o.description, seed: o.seed, model: o.model,
  compile: o.compile || { optimizer: ADAM, loss: 'mse', metrics: ['mae'] },
  fit: o.mode && o.mode !== 'fit' ? { batch_size: 4 } : { epochs: 2, batch_size: 4, shuffle: false, validation_split: 0.25 },
  data: o.data, mode: o.mode || 'fit', trace: false,
  golden_predictions: !o.mode || o.mode === 'fit',
});

const ACTS = ['linear', 'relu', 'tanh', 'sigmoid', 'elu', 'selu', 'softplus', 'softsign', 'swish', 'relu6', 'hard_sigmoid', 'gelu', 'mish', 'exponential', 'softmax', 'silu', 'leaky_relu', 'log_softmax', 'hard_silu'];

// ---- conv: padding, strides, dilation, groups, channels_first, use_bias, activation ----
const convOut = (n, k, s, d, pad) => {
  const span = (k - 1) * d + 1;
  if (pad === 'valid') return Math.floor((n - span) / s) + 1;
  return Math.ceil(n / s); // same, causal
};
function convLayer(r, rank, inShape, name) {
  const cls = pick(r, rank === 1 ? ['Conv1D', 'Conv1D', 'DepthwiseConv1D', 'SeparableConv1D', 'Conv1DTranspose']
    : rank === 2 ? ['Conv2D', 'Conv2D', 'DepthwiseConv2D', 'SeparableConv2D', 'Conv2DTranspose'] : ['Conv3D', 'Conv3DTranspose']);
  const cf = rank === 2 && cls !== 'SeparableConv2D' && coin(r, 0.25);
  const spatial = cf ? inShape.slice(1) : inShape.slice(0, rank);
  const C = cf ? inShape[0] : inShape[rank];
  const transpose = cls.endsWith('Transpose');
  const port = !transpose && (cls === 'Conv1D' || cls === 'Conv2D') && !cf && coin(r, 0.5); // dilation / groups / causal
  const kernel = spatial.map(n => int(r, 1, Math.min(3, n)));
  let strides = spatial.map(() => (port ? 1 : int(r, 1, transpose ? 3 : 2)));
  const dil = spatial.map(() => (port ? int(r, 1, 2) : 1));
  let padding = pick(r, cls === 'Conv1D' && port ? ['valid', 'same', 'causal'] : ['valid', 'same']);
  for (let i = 0; i < rank; i++) {
    if ((kernel[i] - 1) * dil[i] + 1 > spatial[i]) padding = 'same';
  }
  let groups = 1;
  let filters = int(r, 1, 4);
  if (port && cls !== 'DepthwiseConv1D' && coin(r)) {
    const divs = [1, 2, 3, 4].filter(g => C % g === 0 && g > 1);
    if (divs.length) {
      groups = pick(r, divs);
      filters = groups * int(r, 1, 2);
    }
  }
  const cfg = {
    name, kernel_size: kernel, strides, padding, data_format: cf ? 'channels_first' : 'channels_last',
    dilation_rate: dil, activation: pick(r, ACTS.slice(0, 12)), use_bias: coin(r, 0.75),
  };
  let outSpatial, outC;
  if (transpose) {
    outSpatial = spatial.map((n, i) => (padding === 'valid' ? n * strides[i] + Math.max(kernel[i] - strides[i], 0) : n * strides[i]));
    outC = filters;
    Object.assign(cfg, kernelKeys, { filters, output_padding: null });
  } else {
    outSpatial = spatial.map((n, i) => convOut(n, kernel[i], strides[i], dil[i], padding));
    if (cls.startsWith('Depthwise')) {
      const m = int(r, 1, 2);
      outC = C * m;
      Object.assign(cfg, kernelKeys, { depth_multiplier: m, depthwise_initializer: init('GlorotUniform', { seed: null }), depthwise_regularizer: null, depthwise_constraint: null });
      delete cfg.kernel_initializer; delete cfg.kernel_regularizer; delete cfg.kernel_constraint;
    } else if (cls.startsWith('Separable')) {
      const m = int(r, 1, 2);
      outC = filters;
      Object.assign(cfg, {
        filters, depth_multiplier: m, bias_initializer: init('Zeros'), bias_regularizer: null, bias_constraint: null, activity_regularizer: null,
        depthwise_initializer: init('GlorotUniform', { seed: null }), pointwise_initializer: init('GlorotUniform', { seed: null }),
        depthwise_regularizer: null, pointwise_regularizer: null, depthwise_constraint: null, pointwise_constraint: null,
      });
    } else {
      outC = filters;
      Object.assign(cfg, kernelKeys, { filters, groups });
    }
  }
  if (outSpatial.some(n => n < 1)) return null;
  const outShape = cf ? [outC, ...outSpatial] : [...outSpatial, outC];
  return [layer(cls, cfg, inShape), outShape];
}
function convCase(r, dir, seed) {
  const rank = pick(r, [1, 2, 2, 3]);
  const spatial = Array.from({ length: rank }, () => int(r, rank === 3 ? 3 : 4, rank === 3 ? 4 : 7));
  const inShape = [...spatial, int(r, 1, 4)];
  let shape = inShape;
  const layers = [];
  const n = int(r, 1, 2);
  for (let i = 0; i < n; i++) {
    const l = convLayer(r, rank, shape, `conv_${i}`);
    if (!l) return null;
    layers.push(l[0]);
    shape = l[1];
  }
  if (count(shape) > 400) return null;
  return fitCase({
    description: `differential: ${layers.map(l => l.class_name).join(' -> ')}`, seed,
    model: sequential('diff_conv', inShape, head(layers, shape)),
    data: data(dir, r, 16, inShape),
  });
}

// ---- pooling: pool size, strides, padding, keepdims, data_format ----
function poolCase(r, dir, seed) {
  const rank = pick(r, [1, 2, 2, 3]);
  const cf = rank > 1 && coin(r, 0.25);
  const spatial = Array.from({ length: rank }, () => int(r, 3, rank === 3 ? 4 : 7));
  const C = int(r, 1, 3);
  const inShape = [...spatial, 2];
  const layers = [dense('pixel', C, 'tanh', inShape)];
  let shape = [...spatial, C];
  if (cf) { // channels_first read of the same tensor: the last spatial axis becomes the channels
    shape = shape.slice(); // [d1, .., dk, C] read as channels d1, spatial [d2.., C]
  }
  const global = coin(r, 0.3);
  const kind = pick(r, ['Max', 'Average']);
  const df = cf ? 'channels_first' : 'channels_last';
  const sp = cf ? shape.slice(1) : shape.slice(0, rank);
  const ch = cf ? shape[0] : shape[rank];
  let mode = 'fit';
  if (global) {
    const keepdims = coin(r);
    layers.push(layer(`Global${kind}Pooling${rank}D`, { name: 'gpool', data_format: df, keepdims }, shape));
    shape = keepdims ? (cf ? [ch, ...sp.map(() => 1)] : [...sp.map(() => 1), ch]) : [ch];
  } else {
    const pool = sp.map(n => int(r, 1, Math.min(3, n)));
    const strides = coin(r, 0.3) ? null : sp.map(() => int(r, 1, 3));
    const padding = pick(r, ['valid', 'same']);
    const st = strides || pool;
    const o = sp.map((n, i) => (padding === 'valid' ? Math.floor((n - pool[i]) / st[i]) + 1 : Math.ceil(n / st[i])));
    if (o.some(v => v < 1)) return null;
    // tfjs's AveragePooling gradient is wrong for windows cut by a `same` border
    // (tests/cases/README.md): forward only there
    if (kind === 'Average' && padding === 'same') mode = 'predict';
    layers.push(layer(`${kind}Pooling${rank}D`, { name: 'pool', pool_size: pool, strides, padding, data_format: df }, shape));
    shape = cf ? [ch, ...o] : [...o, ch];
  }
  return fitCase({
    description: `differential: ${layers.map(l => l.class_name).join(' -> ')}`, seed, mode,
    model: sequential('diff_pool', inShape, head(layers, shape)),
    data: data(dir, r, 16, inShape),
  });
}

// ---- normalization: axis, center, scale, momentum, epsilon ----
function normCase(r, dir, seed) {
  const inShape = pick(r, [[5], [3, 4], [3, 3, 2]]);
  const C = int(r, 2, 4);
  let shape = [...inShape.slice(0, -1), C];
  const kind = pick(r, ['BatchNormalization', 'BatchNormalization', 'LayerNormalization', 'GroupNormalization', 'UnitNormalization']);
  // a bias before BatchNormalization (or a group's common shift) is a flat
  // direction: its gradient is rounding noise, so no bias there
  const pre = dense('pre', C, 'linear', inShape);
  if (kind === 'BatchNormalization' || kind === 'GroupNormalization') pre.config.use_bias = false;
  const layers = [pre];
  const axis = coin(r, 0.7) || shape.length === 1 ? -1 : int(r, 1, shape.length);
  const gb = { beta_initializer: init('Zeros'), gamma_initializer: init('Ones'), beta_regularizer: null, gamma_regularizer: null, beta_constraint: null, gamma_constraint: null };
  const center = coin(r, 0.7), scale = coin(r, 0.7);
  const epsilon = pick(r, [0.001, 1e-5, 0.1]);
  if (kind === 'BatchNormalization') {
    layers.push(layer(kind, Object.assign({ name: 'bn', axis, momentum: pick(r, [0.99, 0.9, 0.5]), epsilon, center, scale, synchronized: false,
      moving_mean_initializer: init('Zeros'), moving_variance_initializer: init('Ones') }, gb), shape));
  } else if (kind === 'LayerNormalization') {
    const ax = shape.length > 1 && coin(r, 0.3) ? Array.from({ length: shape.length }, (_, i) => i + 1).slice(int(r, 0, shape.length - 1)) : axis;
    layers.push(layer(kind, Object.assign({ name: 'ln', axis: ax, epsilon, center, scale, rms_scaling: false }, gb), shape));
  } else if (kind === 'GroupNormalization') {
    const groups = pick(r, [1, C].concat(C === 4 ? [2] : []));
    layers.push(layer(kind, Object.assign({ name: 'gn', groups, axis: -1, epsilon, center, scale }, gb), shape));
  } else {
    layers.push(layer(kind, { name: 'un', axis }, shape));
  }
  return fitCase({
    description: `differential: ${kind} ${JSON.stringify(layers[1].config).slice(0, 200)}`, seed,
    model: sequential('diff_norm', inShape, head(layers, shape)),
    // SGD: Adam would turn the rounding noise of the normalizations' flat
    // directions (a common scale of the inputs) into steps of the learning rate
    compile: { optimizer: { class_name: 'SGD', config: { learning_rate: 0.05 } }, loss: 'mse', metrics: ['mae'] },
    data: data(dir, r, 16, inShape, pick(r, [1, 3])),
  });
}

// ---- recurrent: SimpleRNN / LSTM / GRU, return_sequences, go_backwards, reset_after,
// Bidirectional merge modes, dropout (predict), Embedding(mask_zero) in front ----
const rnnKeys = {
  kernel_initializer: init('GlorotUniform', { seed: null }), recurrent_initializer: init('Orthogonal', { gain: 1.0, seed: null }),
  bias_initializer: init('Zeros'), kernel_regularizer: null, recurrent_regularizer: null, bias_regularizer: null,
  activity_regularizer: null, kernel_constraint: null, recurrent_constraint: null, bias_constraint: null,
  return_state: false, stateful: false, unroll: false, zero_output_for_mask: false, seed: null,
};
function rnnLayer(r, name, inShape, seqOut, inference) {
  const cls = pick(r, ['SimpleRNN', 'LSTM', 'GRU']);
  const units = int(r, 2, 4);
  const cfg = Object.assign({
    name, units, activation: pick(r, ['tanh', 'tanh', 'relu', 'sigmoid']), use_bias: coin(r, 0.8),
    dropout: inference && coin(r) ? 0.3 : 0.0, recurrent_dropout: inference && coin(r) ? 0.4 : 0.0,
    return_sequences: seqOut, go_backwards: coin(r, 0.3),
  }, rnnKeys);
  if (cls !== 'SimpleRNN') cfg.recurrent_activation = 'sigmoid';
  if (cls === 'LSTM') cfg.unit_forget_bias = true;
  if (cls === 'GRU') cfg.reset_after = coin(r, 0.4);
  const T = inShape[0];
  const l = layer(cls, cfg, inShape);
  if (coin(r, 0.35)) {
    const mode = pick(r, ['concat', 'sum', 'mul', 'ave']);
    const w = mode === 'concat' ? 2 * units : units;
    return [layer('Bidirectional', { name: `bi_${name}`, merge_mode: mode, layer: l }, inShape), seqOut ? [T, w] : [w]];
  }
  return [l, seqOut ? [T, units] : [units]];
}
function rnnCase(r, dir, seed) {
  const T = int(r, 3, 5), F = int(r, 2, 3);
  const inference = coin(r, 0.25);
  const layers = [];
  let shape = [T, F];
  const masking = coin(r, 0.3);
  if (masking) layers.push(layer('Masking', { name: 'masking', mask_value: 0.0 }, shape));
  const n = int(r, 1, 2);
  for (let i = 0; i < n; i++) {
    const seqOut = i < n - 1 || coin(r, 0.4);
    const [l, s] = rnnLayer(r, `rnn_${i}`, shape, seqOut, inference);
    layers.push(l);
    shape = s;
  }
  return fitCase({
    description: `differential: ${layers.map(l => l.class_name + (l.config.return_sequences ? '(seq)' : '') + (l.config.go_backwards ? '(back)' : '') + (l.config.reset_after ? '(reset_after)' : '') + (l.config.layer ? `(${l.config.layer.class_name}, ${l.config.merge_mode})` : '')).join(' -> ')}`, seed,
    mode: inference ? 'predict' : 'fit',
    model: sequential('diff_rnn', [T, F], head(layers, shape)),
    data: (() => {
      const d = data(dir, r, 16, [T, F]);
      if (!masking) return d;
      // trailing and inner all-zero steps for Masking (mask_value 0)
      const { readNpy } = require(path.join(oracle, 'npy.js'));
      const a = readNpy(path.join(dir, d.x));
      const x = Float32Array.from(a.data);
      for (let i = 0; i < 16; i++) for (let t = 0; t < T; t++) if ((t >= T - (i % 3)) || (t === 1 && i % 4 === 0)) x.fill(0, (i * T + t) * F, (i * T + t + 1) * F);
      writeNpy(path.join(dir, d.x), x, a.shape);
      return d;
    })(),
  });
}
function embCase(r, dir, seed) {
  const L = int(r, 4, 6), V = int(r, 6, 10), D = int(r, 2, 3), N = 16;
  const x = new Float32Array(N * L), y = new Float32Array(N);
  const weight = Array.from({ length: V }, () => gauss(r));
  const trailing = coin(r, 0.8);
  for (let i = 0; i < N; i++) {
    const len = 1 + (i % L);
    let a = 0;
    for (let t = 0; t < L; t++) {
      const real = trailing ? t < len : r() < 0.7;
      const id = real ? 1 + Math.floor(r() * (V - 1)) : 0;
      x[i * L + t] = id;
      a = 0.7 * a + (id ? weight[id] : 0);
    }
    y[i] = Math.tanh(0.5 * a) + 0.05 * gauss(r);
  }
  writeNpy(path.join(dir, 'x.npy'), x, [N, L]);
  writeNpy(path.join(dir, 'y.npy'), y, [N, 1]);
  const mask = coin(r, 0.8);
  const layers = [layer('Embedding', {
    name: 'embedding', input_dim: V, output_dim: D, embeddings_initializer: init('RandomUniform', { minval: -0.05, maxval: 0.05, seed: null }),
    embeddings_regularizer: null, activity_regularizer: null, embeddings_constraint: null, mask_zero: mask, lora_rank: null,
  }, [L])];
  let shape = [L, D];
  const seqOut = coin(r, 0.4);
  const [l, s] = rnnLayer(r, 'rnn', shape, seqOut, false);
  layers.push(l);
  shape = s;
  if (seqOut) {
    const p = pick(r, ['GlobalAveragePooling1D', 'GlobalMaxPooling1D', 'rnn']);
    if (p === 'rnn') {
      const [l2, s2] = rnnLayer(r, 'rnn_2', shape, false, false);
      layers.push(l2);
      shape = s2;
    } else {
      layers.push(layer(p, { name: 'gpool', data_format: 'channels_last', keepdims: false }, shape));
      shape = [shape[1]];
    }
  }
  return fitCase({
    description: `differential: Embedding(mask_zero ${mask}) -> ${layers.slice(1).map(q => q.class_name).join(' -> ')}`, seed,
    model: sequential('diff_emb', [L], head(layers, shape)), data: { x: 'x.npy', y: 'y.npy' },
  });
}

// ---- attention: MultiHeadAttention, Attention, AdditiveAttention ----
function attnCase(r, dir, seed) {
  const Tq = int(r, 2, 4), Tv = coin(r) ? Tq : int(r, 2, 5), D = int(r, 2, 4), N = 16;
  const kind = pick(r, ['MultiHeadAttention', 'MultiHeadAttention', 'Attention', 'AdditiveAttention']);
  const causal = Tq === Tv && coin(r, 0.3);
  const rr = mulberry32(seed + 7);
  const q = new Float32Array(N * Tq * D).map(() => gauss(rr)), v = new Float32Array(N * Tv * D).map(() => gauss(rr));
  const y = new Float32Array(N);
  for (let i = 0; i < N; i++) y[i] = Math.tanh(q[i * Tq * D] * v[i * Tv * D + 1]) + 0.3 * v[i * Tv * D + D] + 0.05 * gauss(rr);
  writeNpy(path.join(dir, 'q.npy'), q, [N, Tq, D]);
  writeNpy(path.join(dir, 'v.npy'), v, [N, Tv, D]);
  writeNpy(path.join(dir, 'y.npy'), y, [N, 1]);
  const QS = [Tq, D], VS = [Tv, D];
  let att, outShape = QS;
  const kwargs = causal ? { use_causal_mask: true } : {};
  if (kind === 'MultiHeadAttention') {
    const oshape = coin(r, 0.2) ? [int(r, 1, 3)] : null;
    const l = layer(kind, Object.assign({
      name: 'att', num_heads: int(r, 1, 3), key_dim: int(r, 1, 3), value_dim: coin(r) ? null : int(r, 1, 3), dropout: 0.0,
      use_bias: coin(r, 0.7), output_shape: oshape, attention_axes: null, seed: null,
    }, kernelKeys), QS);
    l.build_config = { shapes_dict: { query_shape: shapeOf(QS), value_shape: shapeOf(VS) } };
    if (oshape) outShape = [Tq, oshape[0]];
    att = node(l, [{ args: [kt('query', QS), kt('value', VS)], kwargs }]);
  } else {
    const extra = kind === 'Attention' ? { use_scale: coin(r), score_mode: pick(r, ['dot', 'concat']) } : { use_scale: coin(r) };
    const withKey = coin(r, 0.3);
    const l = layer(kind, Object.assign({ name: 'att', dropout: 0.0, seed: null }, extra), withKey ? [QS, VS, VS] : [QS, VS]);
    att = node(l, [{ args: [withKey ? [kt('query', QS), kt('value', VS), kt('value', VS)] : [kt('query', QS), kt('value', VS)]], kwargs }]);
  }
  const F = count(outShape);
  const model = functional('diff_attn', [
    node(input('query', QS), []), node(input('value', VS), []), att,
    node(flatten('flatten', outShape), [{ args: [kt('att', outShape)], kwargs: {} }]),
    node(dense('out', 1, 'linear', [F]), [{ args: [kt('flatten', [F])], kwargs: {} }]),
  ], [['query', 0, 0], ['value', 0, 0]], [['out', 0, 0]]);
  return fitCase({
    description: `differential: ${kind} ${JSON.stringify(att.config).slice(0, 160)} ${causal ? 'causal' : ''}`, seed, model,
    compile: { optimizer: { class_name: 'SGD', config: { learning_rate: 0.1 } }, loss: 'mse', metrics: ['mae'] },
    data: { x: ['q.npy', 'v.npy'], y: 'y.npy' },
  });
}

// ---- activation and noise layers ----
function actCase(r, dir, seed) {
  const inShape = pick(r, [[5], [3, 4]]);
  const H = int(r, 3, 5);
  let shape = [...inShape.slice(0, -1), H];
  const layers = [dense('pre', H, 'linear', inShape)];
  const kind = pick(r, ['LeakyReLU', 'PReLU', 'ELU', 'ReLU', 'Softmax', 'Activation', 'Activation', 'Noise']);
  let mode = 'fit';
  // tfjs reads only `alpha` (Keras 2's key; Keras 3 takes it over negative_slope)
  if (kind === 'LeakyReLU') {
    const a = pick(r, [0.3, 0.01, 0.2, 1.5]);
    layers.push(layer(kind, Object.assign({ name: 'act', negative_slope: a }, a !== 0.3 ? { alpha: a } : {}), shape));
  }
  else if (kind === 'PReLU') layers.push(layer(kind, { name: 'act', alpha_initializer: init('Zeros'), alpha_regularizer: null, alpha_constraint: null, shared_axes: shape.length > 1 && coin(r) ? [1] : null }, shape));
  else if (kind === 'ELU') layers.push(layer(kind, { name: 'act', alpha: 1.0 }, shape));
  else if (kind === 'ReLU') layers.push(layer(kind, { name: 'act', max_value: coin(r) ? pick(r, [1.0, 6.0, 0.5]) : null, negative_slope: coin(r) ? pick(r, [0.1, 0.3]) : 0.0, threshold: coin(r) ? pick(r, [0.2, -0.3]) : 0.0 }, shape));
  else if (kind === 'Softmax') layers.push(layer(kind, { name: 'act', axis: shape.length > 1 && coin(r) ? 1 : -1 }, shape));
  else if (kind === 'Activation') layers.push(layer(kind, { name: 'act', activation: pick(r, ACTS) }, shape));
  else {
    mode = 'evaluate';
    const n = pick(r, ['GaussianNoise', 'GaussianDropout', 'AlphaDropout', 'Dropout', 'SpatialDropout1D', 'ActivityRegularization']);
    if (n === 'SpatialDropout1D' && shape.length !== 2) return null;
    const cfg = n === 'GaussianNoise' ? { stddev: 0.4, seed: null } : n === 'ActivityRegularization' ? { l1: 0.01, l2: 0.02 } : { rate: 0.3, seed: null };
    if (n === 'AlphaDropout' || n === 'Dropout' || n === 'SpatialDropout1D') cfg.noise_shape = null;
    layers.push(layer(n, Object.assign({ name: 'noise' }, cfg), shape));
  }
  layers.push(dense('post', 3, pick(r, ['linear', 'tanh']), shape));
  shape = [...shape.slice(0, -1), 3];
  return fitCase({
    description: `differential: ${JSON.stringify(layers[1].config).slice(0, 200)}`, seed, mode,
    model: sequential('diff_act', inShape, head(layers, shape)),
    data: data(dir, r, 16, inShape, pick(r, [1, 2])),
  });
}

// ---- optimizers other than Adam/SGD (random hyperparameters) ----
function optCase(r, dir, seed) {
  const lr = pick(r, [0.01, 0.03, 0.1]);
  const o = pick(r, [
    () => ({ class_name: 'RMSprop', config: { learning_rate: lr / 3, rho: pick(r, [0.9, 0.5]), momentum: pick(r, [0, 0.5]), epsilon: pick(r, [1e-7, 1e-3]), centered: coin(r) } }),
    () => ({ class_name: 'Adam', config: { learning_rate: lr, beta_1: pick(r, [0.9, 0.5]), beta_2: pick(r, [0.999, 0.9]), epsilon: pick(r, [1e-7, 1e-3]), amsgrad: coin(r) } }),
    () => ({ class_name: 'AdamW', config: { learning_rate: lr, weight_decay: pick(r, [0.004, 0.1]), amsgrad: coin(r) } }),
    () => ({ class_name: 'SGD', config: { learning_rate: lr, momentum: pick(r, [0.0, 0.9]), nesterov: coin(r) } }),
    () => ({ class_name: 'Adagrad', config: { learning_rate: lr, initial_accumulator_value: pick(r, [0.1, 0.01]), epsilon: pick(r, [1e-7, 1e-3]) } }),
    () => ({ class_name: 'Adadelta', config: { learning_rate: pick(r, [1.0, 0.5]), rho: pick(r, [0.95, 0.8]), epsilon: pick(r, [1e-7, 1e-3]) } }),
    () => ({ class_name: 'Adamax', config: { learning_rate: lr, beta_1: pick(r, [0.9, 0.5]), beta_2: pick(r, [0.999, 0.9]) } }),
    () => ({ class_name: 'Nadam', config: { learning_rate: lr, beta_1: pick(r, [0.9, 0.5]) } }),
    () => ({ class_name: 'Lion', config: { learning_rate: lr / 10, beta_1: pick(r, [0.9, 0.5]), beta_2: pick(r, [0.99, 0.9]) } }),
    () => ({ class_name: 'Ftrl', config: { learning_rate: lr, learning_rate_power: pick(r, [-0.5, -0.3]), l1_regularization_strength: pick(r, [0, 0.01]), l2_regularization_strength: pick(r, [0, 0.01]), l2_shrinkage_regularization_strength: pick(r, [0, 0.01]), beta: pick(r, [0, 0.5]) } }),
    () => ({ class_name: 'Adafactor', config: { learning_rate: lr, beta_2_decay: -0.8, epsilon_1: 1e-30, epsilon_2: 1e-3, clip_threshold: 1.0, relative_step: coin(r) } }),
  ])();
  const extra = pick(r, [{}, {}, { clipnorm: 0.5 }, { clipvalue: 0.1 }, { global_clipnorm: 0.3 }, { weight_decay: 0.01 }]);
  if (o.class_name !== 'AdamW' || !('weight_decay' in extra)) Object.assign(o.config, extra);
  const inShape = [int(r, 3, 5)];
  return fitCase({
    description: `differential: optimizer ${JSON.stringify(o)}`, seed,
    model: sequential('diff_opt', inShape, [dense('hidden', 4, 'tanh', inShape), dense('out', 1, 'linear', [4])]),
    compile: { optimizer: o, loss: 'mse', metrics: ['mae'] },
    data: data(dir, r, 16, inShape),
  });
}

// ---- losses and metrics ----
function lossCase(r, dir, seed) {
  const F = int(r, 3, 5), N = 16, K = 3;
  const kind = pick(r, ['reg', 'bin', 'cat', 'sparse']);
  const x = new Float32Array(N * F).map(() => gauss(r));
  let y, yshape, outAct, units, loss, metrics;
  if (kind === 'reg') {
    y = new Float32Array(N).map((_, i) => Math.abs(Math.tanh(x[i * F] - x[i * F + 1])) + 0.1 + 0.05 * Math.abs(gauss(r)));
    yshape = [N, 1]; units = 1;
    const pos = coin(r, 0.3);
    outAct = pos ? 'softplus' : 'linear';
    loss = pick(r, pos ? ['msle', 'poisson', 'mape', 'mse'] : [
      'mse', 'mae', 'huber', 'log_cosh', 'mape', { class_name: 'Huber', config: { delta: pick(r, [0.1, 2.0]) } },
      { class_name: 'MeanSquaredError', config: { reduction: pick(r, ['sum', 'sum_over_batch_size']) } },
    ]);
    metrics = [pick(r, ['mae', 'mse', 'mape', 'msle', 'logcosh', 'root_mean_squared_error', 'cosine_similarity'])];
  } else if (kind === 'bin') {
    y = new Float32Array(N).map((_, i) => (x[i * F] + 0.5 * x[i * F + 1] > 0 ? 1 : 0));
    yshape = [N, 1]; units = 1;
    const logits = coin(r);
    outAct = logits ? 'linear' : 'sigmoid';
    loss = pick(r, [
      { class_name: 'BinaryCrossentropy', config: { from_logits: logits, label_smoothing: pick(r, [0, 0.1]) } },
      { class_name: 'BinaryFocalCrossentropy', config: { from_logits: logits, gamma: pick(r, [2.0, 1.0]), alpha: pick(r, [0.25, 0.5]), apply_class_balancing: coin(r) } },
      'binary_crossentropy', 'hinge', 'squared_hinge',
    ]);
    if (typeof loss === 'string') outAct = loss.includes('hinge') ? 'tanh' : 'sigmoid';
    metrics = [pick(r, ['accuracy', 'binary_accuracy', 'AUC', 'Precision', 'Recall'])];
  } else {
    y = new Float32Array(kind === 'cat' ? N * K : N);
    for (let i = 0; i < N; i++) {
      const c = x[i * F] > 0.5 ? 0 : x[i * F + 1] > 0 ? 1 : 2;
      if (kind === 'cat') y[i * K + c] = 1; else y[i] = c;
    }
    yshape = kind === 'cat' ? [N, K] : [N, 1]; units = K;
    const logits = coin(r);
    outAct = logits ? 'linear' : 'softmax';
    loss = kind === 'cat' ? pick(r, [
      { class_name: 'CategoricalCrossentropy', config: { from_logits: logits, label_smoothing: pick(r, [0, 0.2]) } },
      { class_name: 'CategoricalFocalCrossentropy', config: { from_logits: logits } }, 'kl_divergence', 'categorical_hinge',
    ]) : { class_name: 'SparseCategoricalCrossentropy', config: { from_logits: logits } };
    if (typeof loss === 'string') outAct = 'softmax';
    metrics = [pick(r, kind === 'cat' ? ['accuracy', 'categorical_accuracy', 'top_k_categorical_accuracy'] : ['accuracy', 'sparse_categorical_accuracy', 'sparse_top_k_categorical_accuracy'])];
  }
  writeNpy(path.join(dir, 'x.npy'), x, [N, F]);
  writeNpy(path.join(dir, 'y.npy'), y, yshape);
  return fitCase({
    description: `differential: loss ${JSON.stringify(loss)}, metrics ${JSON.stringify(metrics)}`, seed,
    model: sequential('diff_loss', [F], [dense('hidden', 4, 'tanh', [F]), dense('out', units, outAct, [4])]),
    compile: { optimizer: ADAM, loss, metrics }, data: { x: 'x.npy', y: 'y.npy' },
  });
}

const FAMILIES = { conv: convCase, pool: poolCase, norm: normCase, rnn: rnnCase, emb: embCase, attn: attnCase, act: actCase, opt: optCase, loss: lossCase };

// w0 from the oracle's seeded initializer (make_cases.js's oracleInitialWeights)
function oracleRun(dir, c) {
  const tmp = path.join(dir, '.w0tmp');
  fs.writeFileSync(path.join(dir, 'case.json'), JSON.stringify(Object.assign({}, c, { mode: 'predict', data: {} })));
  execFileSync(process.execPath, [path.join(oracle, 'oracle.js'), path.join(dir, 'case.json'), tmp, '--no-weights'], { stdio: ['ignore', 'ignore', 'pipe'] });
  fs.renameSync(path.join(tmp, 'weights_initial'), path.join(dir, 'w0'));
  fs.rmSync(tmp, { recursive: true, force: true });
  c.initial_weights = 'w0/weights.json';
  fs.writeFileSync(path.join(dir, 'case.json'), JSON.stringify(c, null, 1) + '\n');
  execFileSync(process.execPath, [path.join(oracle, 'oracle.js'), path.join(dir, 'case.json'), path.join(dir, 'expected'), '--semantics', 'keras3'], { stdio: ['ignore', 'ignore', 'pipe'] });
}

// the same model as tfjs-layers 4.22 writes it (make_cases.js's tfjsTopology):
// nnc must read that spelling to the same numbers
function tfjsTopology(kerasModel) {
  const code = `
    const tf = require(${JSON.stringify(path.join(oracle, 'node_modules', '@tensorflow', 'tfjs'))});
    require(${JSON.stringify(path.join(oracle, 'oracle.js'))}.replace('oracle.js', 'k3_layers.js'));
    const { normalizeModelJson } = require(${JSON.stringify(path.join(oracle, 'keras_json.js'))});
    console.warn = () => {}; const log = console.log; console.log = () => {};
    tf.setBackend('cpu').then(() => tf.models.modelFromJSON({ modelTopology: normalizeModelJson(${JSON.stringify(kerasModel)}) }))
      .then(m => log(JSON.stringify(m.toJSON(null, false))));`;
  return JSON.parse(execFileSync(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'ignore'] }).toString());
}

// the same Sequential as tf.keras 2.12's to_json() spells it: batch_input_shape,
// dtype strings, no module / registered_name / build_config, time_major and
// implementation on recurrent layers, alpha on LeakyReLU, input_length on Embedding
function keras2Spelling(kerasModel) {
  const m = JSON.parse(JSON.stringify(kerasModel));
  const fix = l => {
    for (const k of ['module', 'registered_name', 'build_config']) delete l[k];
    const cf = l.config;
    if ('dtype' in cf) cf.dtype = 'float32';
    if (l.class_name === 'InputLayer') {
      cf.batch_input_shape = cf.batch_shape;
      delete cf.batch_shape;
      delete cf.optional;
    }
    if (['LSTM', 'GRU', 'SimpleRNN'].includes(l.class_name)) {
      cf.time_major = false;
      if (l.class_name !== 'SimpleRNN') cf.implementation = 2;
      delete cf.seed;
    }
    if (l.class_name === 'LeakyReLU' && 'negative_slope' in cf) {
      cf.alpha = cf.negative_slope;
      delete cf.negative_slope;
    }
    if (l.class_name === 'Dense') delete cf.quantization_config;
    if (l.class_name === 'Embedding') {
      delete cf.lora_rank;
      cf.input_length = null;
    }
    for (const [k, v] of Object.entries(cf)) {
      if (k.endsWith('initializer') && v && v.class_name) {
        delete v.module;
        delete v.registered_name;
      }
    }
    if (cf.layer) fix(cf.layer);
  };
  for (const k of ['module', 'registered_name', 'build_config']) delete m[k];
  delete m.config.dtype;
  m.config.layers.forEach(fix);
  m.keras_version = '2.12.0';
  m.backend = 'tensorflow';
  return m;
}

const families = opt('--families', Object.keys(FAMILIES).join(',')).split(',');
const N = Number(opt('--count', '12'));
const seed0 = Number(opt('--seed', '8000'));
fs.mkdirSync(out, { recursive: true });
const refused = [];
let made = 0;
for (const fam of families) {
  let k = 0;
  for (let tries = 0; k < N && tries < 4 * N; tries++) {
    const seed = seed0 + 1000 * Object.keys(FAMILIES).indexOf(fam) + tries;
    const name = `${fam}_${seed}`;
    const dir = path.join(out, name);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const c = FAMILIES[fam](mulberry32(seed), dir, seed);
    if (!c) { fs.rmSync(dir, { recursive: true, force: true }); continue; }
    try {
      oracleRun(dir, c);
    } catch (e) {
      const why = String(e.stderr || e.message).split('\n').filter(l => /Error|error|refus|not /.test(l))[0] || 'oracle failed';
      refused.push(`${name}\t${c.description}\t${why.trim().slice(0, 300)}`);
      fs.rmSync(dir, { recursive: true, force: true });
      continue;
    }
    k++;
    made++;
    // a twin in tfjs's spelling for the layer families (one in three)
    if (['conv', 'pool', 'norm', 'rnn', 'act'].includes(fam) && seed % 3 === 0) {
      try {
        const t = Object.assign({}, c, { model: tfjsTopology(c.model), description: `${c.description} (tfjs spelling)` });
        const tdir = `${dir}_tfjs`;
        fs.rmSync(tdir, { recursive: true, force: true });
        fs.cpSync(dir, tdir, { recursive: true });
        fs.writeFileSync(path.join(tdir, 'case.json'), JSON.stringify(t, null, 1) + '\n');
      } catch (e) { /* tfjs cannot write every ported layer */ }
    }
    // and one in three in tf.keras 2's spelling
    if (['conv', 'pool', 'norm', 'rnn', 'emb', 'act'].includes(fam) && seed % 3 === 1) {
      const t = Object.assign({}, c, { model: keras2Spelling(c.model), description: `${c.description} (Keras 2 spelling)` });
      fs.cpSync(dir, `${dir}_k2`, { recursive: true });
      fs.writeFileSync(path.join(`${dir}_k2`, 'case.json'), JSON.stringify(t, null, 1) + '\n');
    }
    process.stdout.write(`${name} `);
  }
}
fs.writeFileSync(path.join(out, 'refused.txt'), refused.join('\n') + '\n');
console.log(`\n${made} cases in ${out}; ${refused.length} refused by the oracle (refused.txt)`);
