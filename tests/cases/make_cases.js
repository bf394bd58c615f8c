#!/usr/bin/env node
'use strict';
// Builds the oracle cases of tests/cases/ (case.json, data .npy, w0/) and runs
// the oracle of ../shared/oracle on each (expected/ = Keras 3 semantics).
// The oracle needs its node_modules, the Functional cases need
// oracle-functional.patch (nested models, their weight names, Keras 3's Dot
// normalize; see README.md) and the training cases (training_makers.js)
// oracle-training.patch on top of it; run it from a patched copy:
//   cp -r ../shared/oracle /tmp/oracle && (cd /tmp/oracle && patch -p1 < $REPO/tests/cases/oracle-functional.patch \
//     && patch -p1 < $REPO/tests/cases/oracle-training.patch && npm ci)
//   node tests/cases/make_cases.js /tmp/oracle [name ...]
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const oracle = path.resolve(process.argv[2] || '');
if (!fs.existsSync(path.join(oracle, 'oracle.js'))) {
  console.error('usage: make_cases.js ORACLE_DIR [name ...]');
  process.exit(2);
}
const { writeNpy } = require(path.join(oracle, 'npy.js'));
const HERE = __dirname;

// mulberry32 and Box-Muller: a fixed, documented data generator
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

function writeWeights(dir, weights) {
  fs.mkdirSync(path.join(dir, 'w0'), { recursive: true });
  const list = weights.map(([name, data, shape]) => {
    const file = `${name.replace(/\//g, '__')}.npy`;
    writeNpy(path.join(dir, 'w0', file), Float32Array.from(data), shape);
    return { name, file, shape };
  });
  fs.writeFileSync(path.join(dir, 'w0', 'weights.json'), JSON.stringify({ weights: list }, null, 1) + '\n');
  return 'w0/weights.json';
}

const MAKERS = {};

// Adam where Keras 3's form and the textbook form part: the kernel's
// gradients are ~1e-6, so sqrt(v) is comparable to epsilon (1e-7) and it
// matters whether epsilon is added to sqrt(v) (Keras: lr_t = lr sqrt(1-b2^t)
// / (1-b1^t); w -= lr_t m / (sqrt(v) + eps)) or to sqrt(v_hat) (textbook,
// i.e. eps sqrt(1-b2^t) in Keras's terms, 31.6x smaller at step 1). The
// final kernels of the two forms differ by 70-500x the golden tolerance.
MAKERS.adam_small_grads = dir => {
  const r = mulberry32(17);
  const N = 8, F = 3, scale = 1e-3;
  const x = new Float32Array(N * F), y = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    for (let f = 0; f < F; f++) x[i * F + f] = gauss(r) * scale;
    y[i] = 0.7 * x[i * F] - 0.4 * x[i * F + 1] + 0.2 * x[i * F + 2] + gauss(r) * scale * 0.5;
  }
  writeNpy(path.join(dir, 'x.npy'), x, [N, F]);
  writeNpy(path.join(dir, 'y.npy'), y, [N, 1]);
  const dense = {
    module: 'keras.layers', class_name: 'Dense', registered_name: null,
    config: { name: 'dense', trainable: true, units: 1, activation: 'linear', use_bias: true },
    build_config: { input_shape: [null, F] },
  };
  return {
    description: 'Adam (lr 0.01, epsilon 1e-7) on inputs and targets of size 1e-3: the kernel gradients are ~1e-6, so sqrt(v) is comparable to epsilon and Keras 3\'s epsilon-hat form differs from the textbook m_hat / (sqrt(v_hat) + eps) by far more than the golden tolerance (in the final kernel; the losses are ~1e-5).',
    seed: 17,
    model: {
      module: 'keras', class_name: 'Sequential', registered_name: null,
      config: {
        name: 'adam_small_grads', trainable: true,
        layers: [
          { module: 'keras.layers', class_name: 'InputLayer', registered_name: null, config: { batch_shape: [null, F], dtype: 'float32', name: 'input_layer' } },
          dense,
        ],
      },
    },
    compile: { optimizer: { class_name: 'Adam', config: { learning_rate: 0.01, epsilon: 1e-7 } }, loss: 'mse', metrics: ['mae'] },
    fit: { epochs: 6, batch_size: 4, shuffle: false },
    data: { x: 'x.npy', y: 'y.npy' },
    mode: 'fit',
    trace: true,
    initial_weights: writeWeights(dir, [['dense/kernel', [0.3, 0.2, -0.5], [F, 1]], ['dense/bias', [0], [1]]]),
  };
};


// ---- Functional cases (issue 6) ---------------------------------------------
// Model JSON in the form Keras 3.16.0's `model.to_json()` writes (keras-team/keras
// 3422977a: serialization_lib.serialize_keras_object, functional.py get_config,
// sequential.py get_config): every object carries module/class_name/config/
// registered_name; built layers carry build_config; InputLayer has `optional`;
// Dense has `quantization_config` (no lora_rank unless set); a nested model, being
// a Model, also carries `compile_config: {}` (Trainer.get_compile_config when not
// compiled). The top-level compile_config is left out: case.json's `compile`
// holds it.
const POLICY = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };
const initializer = (cls, config) => ({ module: 'keras.initializers', class_name: cls, config, registered_name: null });
const shapeOf = s => [null, ...s];

function k3Input(name, shape) {
  return {
    module: 'keras.layers', class_name: 'InputLayer',
    config: { batch_shape: shapeOf(shape), dtype: 'float32', sparse: false, ragged: false, name, optional: false },
    registered_name: null,
  };
}
function k3Dense(name, units, activation, inShape, trainable = true) {
  return {
    module: 'keras.layers', class_name: 'Dense',
    config: {
      name, trainable, dtype: POLICY, units, activation, use_bias: true,
      kernel_initializer: initializer('GlorotUniform', { seed: null }), bias_initializer: initializer('Zeros', {}),
      kernel_regularizer: null, bias_regularizer: null, kernel_constraint: null, bias_constraint: null,
      quantization_config: null,
    },
    registered_name: null, build_config: { input_shape: shapeOf(inShape) },
  };
}
// Merge layers (Add, Concatenate, Dot): config = Layer's {name, trainable, dtype}
// plus the class's own keys; built with the list of input shapes.
function k3Merge(cls, name, extra, inShapes) {
  return {
    module: 'keras.layers', class_name: cls,
    config: Object.assign({ name, trainable: true, dtype: POLICY }, extra),
    registered_name: null, build_config: { input_shape: inShapes.map(shapeOf) },
  };
}
function k3Sequential(name, layers, inShape, trainable = true) {
  return {
    module: 'keras', class_name: 'Sequential',
    config: { name, trainable, dtype: POLICY, layers, build_input_shape: shapeOf(inShape) },
    registered_name: null, build_config: { input_shape: shapeOf(inShape) }, compile_config: {},
  };
}
// A KerasTensor argument: the output `tensor` of node `node` of layer `layer`.
function kt(layer, shape, node = 0, tensor = 0) {
  return { class_name: '__keras_tensor__', config: { shape: shapeOf(shape), dtype: 'float32', keras_history: [layer, node, tensor] } };
}
// One entry of a Functional's `layers`: the layer's serialization, then its name
// and one inbound node per call ({"args": [...], "kwargs": {}}).
function k3Node(def, calls) {
  return Object.assign({}, def, { name: def.config.name, inbound_nodes: calls.map(args => ({ args, kwargs: {} })) });
}
function k3Functional(name, layers, inputs, outputs) {
  return {
    module: 'keras.src.models.functional', class_name: 'Functional',
    config: { name, trainable: true, layers, input_layers: inputs, output_layers: outputs },
    registered_name: 'Functional',
  };
}

// Data: float32 arrays from mulberry32 + Box-Muller.
function gaussArray(r, n) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = gauss(r);
  return a;
}
function saveNpy(dir, file, data, shape) {
  writeNpy(path.join(dir, file), data, shape);
  return file;
}

// Input -> Dense -> Dense -> Add(with the first Dense's output) -> Dense; mse;
// Adam. 50 samples, validation_split 0.2 (40 train, 10 validation), batch 16: the
// training epoch is 16 + 16 + 8.
MAKERS.residual_add = dir => {
  const r = mulberry32(601);
  const N = 50, F = 6, H = 8;
  const x = gaussArray(r, N * F), y = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    const v = x.subarray(i * F, i * F + F);
    y[i] = Math.tanh(v[0] - 0.5 * v[1]) + 0.3 * v[2] * v[3] - 0.2 * v[5] + 0.05 * gauss(r);
  }
  saveNpy(dir, 'x.npy', x, [N, F]);
  saveNpy(dir, 'y.npy', y, [N, 1]);
  const model = k3Functional('residual', [
    k3Node(k3Input('x', [F]), []),
    k3Node(k3Dense('dense_in', H, 'relu', [F]), [[kt('x', [F])]]),
    k3Node(k3Dense('dense_mid', H, 'relu', [H]), [[kt('dense_in', [H])]]),
    k3Node(k3Merge('Add', 'add', {}, [[H], [H]]), [[[kt('dense_mid', [H]), kt('dense_in', [H])]]]),
    k3Node(k3Dense('out', 1, 'linear', [H]), [[kt('add', [H])]]),
  ], ['x', 0, 0], ['out', 0, 0]);
  return {
    description: 'Residual block: x -> dense_in (relu) -> dense_mid (relu) -> add([dense_mid, dense_in]) -> out (linear). The output of dense_in feeds two layers, so its gradient is the sum of two paths. mse, Adam(0.01), metrics mae; validation_split 0.2 of 50 samples; batch 16 leaves a last training batch of 8.',
    seed: 601,
    model,
    compile: { optimizer: { class_name: 'Adam', config: { learning_rate: 0.01 } }, loss: 'mse', metrics: ['mae'] },
    fit: { epochs: 4, batch_size: 16, shuffle: false, validation_split: 0.2 },
    data: { x: 'x.npy', y: 'y.npy' },
    mode: 'fit', trace: true,
  };
};

// Two inputs -> a Dense tower each -> Concatenate -> two outputs: `reg` (linear,
// mse) and `cls` (sigmoid, binary_crossentropy). loss, loss_weights and metrics
// are dicts by output name, written in the opposite order of the outputs.
MAKERS.two_towers = dir => {
  const r = mulberry32(602);
  const FA = 5, FB = 3, H = 8;
  const make = (n, tag) => {
    const a = gaussArray(r, n * FA), b = gaussArray(r, n * FB);
    const reg = new Float32Array(n), cls = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const u = a.subarray(i * FA, i * FA + FA), v = b.subarray(i * FB, i * FB + FB);
      reg[i] = 0.8 * u[0] - 0.5 * u[2] + 0.6 * v[1] + 0.1 * gauss(r);
      cls[i] = u[1] + v[0] - 0.5 * v[2] + 0.3 * gauss(r) > 0 ? 1 : 0;
    }
    saveNpy(dir, `a${tag}.npy`, a, [n, FA]);
    saveNpy(dir, `b${tag}.npy`, b, [n, FB]);
    saveNpy(dir, `reg${tag}.npy`, reg, [n, 1]);
    saveNpy(dir, `cls${tag}.npy`, cls, [n, 1]);
  };
  make(60, '');
  make(20, '_val');
  const model = k3Functional('two_towers', [
    k3Node(k3Input('in_a', [FA]), []),
    k3Node(k3Input('in_b', [FB]), []),
    k3Node(k3Dense('tower_a', H, 'relu', [FA]), [[kt('in_a', [FA])]]),
    k3Node(k3Dense('tower_b', H, 'relu', [FB]), [[kt('in_b', [FB])]]),
    k3Node(k3Merge('Concatenate', 'concat', { axis: -1 }, [[H], [H]]), [[[kt('tower_a', [H]), kt('tower_b', [H])]]]),
    k3Node(k3Dense('reg', 1, 'linear', [2 * H]), [[kt('concat', [2 * H])]]),
    k3Node(k3Dense('cls', 1, 'sigmoid', [2 * H]), [[kt('concat', [2 * H])]]),
  ], [['in_a', 0, 0], ['in_b', 0, 0]], [['reg', 0, 0], ['cls', 0, 0]]);
  return {
    description: "Two inputs (in_a, in_b) -> tower_a / tower_b (Dense relu) -> Concatenate -> outputs reg (linear) and cls (sigmoid). loss {cls: binary_crossentropy, reg: mse}, loss_weights {cls: 0.5, reg: 1.0}, metrics {cls: [accuracy], reg: [mae]} (dicts keyed by output name, in the opposite order of output_layers). Keras 3: loss = 1.0 reg_loss + 0.5 cls_loss; reg_loss/cls_loss are logged unweighted; cls's BCE is computed from the logits (TF backend). SGD(0.05, momentum 0.9); 60 samples, batch 16 (last batch 12); validation data 20 samples.",
    seed: 602,
    model,
    compile: {
      optimizer: { class_name: 'SGD', config: { learning_rate: 0.05, momentum: 0.9 } },
      loss: { cls: 'binary_crossentropy', reg: 'mse' },
      loss_weights: { cls: 0.5, reg: 1.0 },
      metrics: { cls: ['accuracy'], reg: ['mae'] },
    },
    fit: { epochs: 3, batch_size: 16, shuffle: false, validation_data: true },
    data: {
      x: { in_a: 'a.npy', in_b: 'b.npy' }, y: { reg: 'reg.npy', cls: 'cls.npy' },
      x_val: { in_a: 'a_val.npy', in_b: 'b_val.npy' }, y_val: { reg: 'reg_val.npy', cls: 'cls_val.npy' },
    },
    mode: 'fit', trace: true,
  };
};

// One Dense layer called on two inputs (two inbound nodes, one set of weights,
// gradients summed over both calls), then Concatenate -> Dense.
MAKERS.shared_layer = dir => {
  const r = mulberry32(603);
  const N = 45, F = 4, H = 5;
  const left = gaussArray(r, N * F), right = gaussArray(r, N * F), y = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    const u = left.subarray(i * F, i * F + F), v = right.subarray(i * F, i * F + F);
    y[i] = Math.tanh(u[0] + 0.5 * u[1]) - Math.tanh(v[0] + 0.5 * v[1]) + 0.2 * (u[3] - v[2]) + 0.05 * gauss(r);
  }
  saveNpy(dir, 'left.npy', left, [N, F]);
  saveNpy(dir, 'right.npy', right, [N, F]);
  saveNpy(dir, 'y.npy', y, [N, 1]);
  const model = k3Functional('siamese', [
    k3Node(k3Input('left', [F]), []),
    k3Node(k3Input('right', [F]), []),
    k3Node(k3Dense('shared', H, 'tanh', [F]), [[kt('left', [F])], [kt('right', [F])]]),
    k3Node(k3Merge('Concatenate', 'concat', { axis: -1 }, [[H], [H]]), [[[kt('shared', [H], 0), kt('shared', [H], 1)]]]),
    k3Node(k3Dense('out', 1, 'linear', [2 * H]), [[kt('concat', [2 * H])]]),
  ], [['left', 0, 0], ['right', 0, 0]], ['out', 0, 0]);
  return {
    description: "Shared layer: `shared` (Dense 5, tanh) is called on both inputs (inbound nodes 0 and 1; the second call is keras_history ['shared', 1, 0]); concat([shared(left), shared(right)]) -> out. One kernel and one bias, whose gradient is the sum over both calls. mse, SGD(0.1), metrics mse; validation_split 0.2 of 45 samples (36 train, 9 validation); batch 10 (last training batch 6).",
    seed: 603,
    model,
    compile: { optimizer: { class_name: 'SGD', config: { learning_rate: 0.1 } }, loss: 'mse', metrics: ['mse'] },
    fit: { epochs: 4, batch_size: 10, shuffle: false, validation_split: 0.2 },
    data: { x: ['left.npy', 'right.npy'], y: 'y.npy' },
    mode: 'fit', trace: true,
  };
};

// A nested Sequential called on both inputs (a siamese tower): one set of
// weights (tower/tower_dense/*), gradients summed over both calls; its calls
// are nodes 0 and 1 (a nested Sequential's first call is node 0 in Keras 3).
MAKERS.nested_siamese = dir => {
  const r = mulberry32(613);
  const N = 40, F = 4, H = 5;
  const left = gaussArray(r, N * F), right = gaussArray(r, N * F), y = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    const u = left.subarray(i * F, i * F + F), v = right.subarray(i * F, i * F + F);
    y[i] = Math.tanh(u[0] - 0.5 * u[2]) - Math.tanh(v[1] + 0.5 * v[3]) + 0.1 * (u[1] + v[0]) + 0.05 * gauss(r);
  }
  saveNpy(dir, 'left.npy', left, [N, F]);
  saveNpy(dir, 'right.npy', right, [N, F]);
  saveNpy(dir, 'y.npy', y, [N, 1]);
  const tower = k3Sequential('tower', [
    k3Input('tower_in', [F]),
    k3Dense('tower_dense', H, 'tanh', [F]),
  ], [F]);
  const model = k3Functional('siamese_nested', [
    k3Node(k3Input('left', [F]), []),
    k3Node(k3Input('right', [F]), []),
    k3Node(tower, [[kt('left', [F])], [kt('right', [F])]]),
    k3Node(k3Merge('Concatenate', 'concat', { axis: -1 }, [[H], [H]]), [[[kt('tower', [H], 0), kt('tower', [H], 1)]]]),
    k3Node(k3Dense('out', 1, 'linear', [2 * H]), [[kt('concat', [2 * H])]]),
  ], [['left', 0, 0], ['right', 0, 0]], ['out', 0, 0]);
  return {
    description: "Nested model called twice (a siamese tower): the Sequential `tower` (tower_in, tower_dense Dense 5 tanh) is called on both inputs (its nodes 0 and 1); concat([tower(left), tower(right)]) -> out. One set of weights, tower/tower_dense/kernel and /bias, whose gradient is the sum over both calls. mse, Adam(0.02), metrics mae; validation_split 0.25 of 40 samples (30 + 10); batch 8 (last training batch 6); 3 epochs.",
    seed: 613,
    model,
    compile: { optimizer: { class_name: 'Adam', config: { learning_rate: 0.02 } }, loss: 'mse', metrics: ['mae'] },
    fit: { epochs: 3, batch_size: 8, shuffle: false, validation_split: 0.25 },
    data: { x: ['left.npy', 'right.npy'], y: 'y.npy' },
    mode: 'fit', trace: true,
  };
};

// A Sequential model (Dense, Dense) used as a layer of a Functional model, frozen
// (trainable: false), then a trainable Dense head. Keras's trainable setter
// propagates to the sublayers, so the nested Dense configs say trainable: false too.
MAKERS.nested_frozen = dir => {
  const r = mulberry32(604);
  const N = 40, NV = 12, F = 6;
  const make = (n, tag) => {
    const x = gaussArray(r, n * F), y = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const v = x.subarray(i * F, i * F + F);
      y[i] = Math.abs(v[0]) - 0.5 * v[1] + 0.4 * Math.max(v[2], 0) + 0.05 * gauss(r);
    }
    saveNpy(dir, `x${tag}.npy`, x, [n, F]);
    saveNpy(dir, `y${tag}.npy`, y, [n, 1]);
  };
  make(N, '');
  make(NV, '_val');
  const body = k3Sequential('body', [
    k3Input('body_input', [F]),
    k3Dense('body_dense_1', 8, 'relu', [F], false),
    k3Dense('body_dense_2', 4, 'relu', [8], false),
  ], [F], false);
  const model = k3Functional('frozen_body_head', [
    k3Node(k3Input('x', [F]), []),
    k3Node(body, [[kt('x', [F])]]),
    k3Node(k3Dense('head', 1, 'linear', [4]), [[kt('body', [4])]]),
  ], ['x', 0, 0], ['head', 0, 0]);
  return {
    description: 'Nested model: the Sequential `body` (body_dense_1 Dense 8 relu, body_dense_2 Dense 4 relu) is a layer of the Functional model, with trainable: false (on the model and, as Keras writes it, on each of its layers), followed by the trainable Dense `head`. Only head/kernel and head/bias change; the body weights end equal to w0 bit for bit. Weight names: body/body_dense_1/kernel etc. (Keras 3 variable paths). RMSprop(0.01), mse, metrics mae; 40 samples, batch 16 (last batch 8); validation data 12 samples.',
    seed: 604,
    model,
    compile: { optimizer: { class_name: 'RMSprop', config: { learning_rate: 0.01 } }, loss: 'mse', metrics: ['mae'] },
    fit: { epochs: 3, batch_size: 16, shuffle: false, validation_data: true },
    data: { x: 'x.npy', y: 'y.npy', x_val: 'x_val.npy', y_val: 'y_val.npy' },
    mode: 'fit', trace: true,
  };
};

// Two inputs -> Dense each -> Dot(axes=1) -> Dense. `dot` plain, `dot_normalize`
// with normalize=true (cosine similarity); the same data and initial weights.
function dotCase(dir, normalize) {
  const r = mulberry32(605);
  const N = 48, FU = 5, FV = 4, H = 6;
  const u = gaussArray(r, N * FU), v = gaussArray(r, N * FV), y = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    const a = u.subarray(i * FU, i * FU + FU), b = v.subarray(i * FV, i * FV + FV);
    y[i] = (a[0] + 0.5 * a[1]) * (b[0] - 0.5 * b[2]) * 0.5 + 0.2 * a[4] + 0.05 * gauss(r);
  }
  saveNpy(dir, 'u.npy', u, [N, FU]);
  saveNpy(dir, 'v.npy', v, [N, FV]);
  saveNpy(dir, 'y.npy', y, [N, 1]);
  const model = k3Functional(normalize ? 'cosine' : 'bilinear', [
    k3Node(k3Input('u', [FU]), []),
    k3Node(k3Input('v', [FV]), []),
    k3Node(k3Dense('proj_u', H, 'linear', [FU]), [[kt('u', [FU])]]),
    k3Node(k3Dense('proj_v', H, 'linear', [FV]), [[kt('v', [FV])]]),
    k3Node(k3Merge('Dot', 'dot', { axes: 1, normalize }, [[H], [H]]), [[[kt('proj_u', [H]), kt('proj_v', [H])]]]),
    k3Node(k3Dense('out', 1, 'linear', [1]), [[kt('dot', [1])]]),
  ], [['u', 0, 0], ['v', 0, 0]], ['out', 0, 0]);
  return {
    description: `Dot: u -> proj_u (Dense 6), v -> proj_v (Dense 6), dot = Dot(axes=1, normalize=${normalize})([proj_u, proj_v]) of shape (batch, 1)${normalize ? ' = cosine similarity; Keras 3.16 normalizes as x * rsqrt(max(sum(x^2), epsilon^2)), epsilon 1e-7 (ops.nn.normalize)' : ''} -> out (Dense 1). mse, Adam(0.02), metrics mae; validation_split 0.25 of 48 samples (36 train, 12 validation); batch 8 (last training batch 4).`,
    seed: 605,
    model,
    compile: { optimizer: { class_name: 'Adam', config: { learning_rate: 0.02 } }, loss: 'mse', metrics: ['mae'] },
    fit: { epochs: 4, batch_size: 8, shuffle: false, validation_split: 0.25 },
    data: { x: ['u.npy', 'v.npy'], y: 'y.npy' },
    mode: 'fit', trace: true,
  };
}
// The other merge layers: Subtract, Multiply, Average, Maximum, Minimum of the same
// two tensors, joined by one Concatenate of five inputs.
MAKERS.merge_ops = dir => {
  const r = mulberry32(606);
  const N = 42, F = 4, H = 6;
  const p = gaussArray(r, N * F), q = gaussArray(r, N * F), y = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    const a = p.subarray(i * F, i * F + F), b = q.subarray(i * F, i * F + F);
    y[i] = Math.max(a[0], b[0]) - 0.5 * a[1] * b[1] + 0.3 * (a[2] - b[3]) + 0.05 * gauss(r);
  }
  saveNpy(dir, 'p.npy', p, [N, F]);
  saveNpy(dir, 'q.npy', q, [N, F]);
  saveNpy(dir, 'y.npy', y, [N, 1]);
  const pair = [kt('hp', [H]), kt('hq', [H])];
  const merges = [['Subtract', 'sub'], ['Multiply', 'mul'], ['Average', 'avg'], ['Maximum', 'max'], ['Minimum', 'min']];
  const model = k3Functional('merges', [
    k3Node(k3Input('p', [F]), []),
    k3Node(k3Input('q', [F]), []),
    k3Node(k3Dense('hp', H, 'tanh', [F]), [[kt('p', [F])]]),
    k3Node(k3Dense('hq', H, 'tanh', [F]), [[kt('q', [F])]]),
    ...merges.map(([cls, name]) => k3Node(k3Merge(cls, name, {}, [[H], [H]]), [[pair]])),
    k3Node(k3Merge('Concatenate', 'concat', { axis: -1 }, merges.map(() => [H])), [[merges.map(([, name]) => kt(name, [H]))]]),
    k3Node(k3Dense('out', 1, 'linear', [5 * H]), [[kt('concat', [5 * H])]]),
  ], [['p', 0, 0], ['q', 0, 0]], ['out', 0, 0]);
  return {
    description: 'Merge layers: hp = Dense(6, tanh)(p), hq = Dense(6, tanh)(q); sub = hp - hq, mul = hp * hq, avg = (hp + hq) / 2, max, min (elementwise); concat of the five (a Concatenate of 5 inputs, 30 wide) -> out. No ties between hp and hq in the data. mse, RMSprop(0.005), metrics mae; validation_split 0.25 of 42 samples (31 train, 11 validation); batch 8 (last training batch 7); 4 epochs.',
    seed: 606,
    model,
    compile: { optimizer: { class_name: 'RMSprop', config: { learning_rate: 0.005 } }, loss: 'mse', metrics: ['mae'] },
    fit: { epochs: 4, batch_size: 8, shuffle: false, validation_split: 0.25 },
    data: { x: ['p.npy', 'q.npy'], y: 'y.npy' },
    mode: 'fit', trace: true,
  };
};
// A Functional model used as a layer: Keras 3 counts its built-in node, so its
// first call is node 1 (["encoder", 1, 0]), unlike a nested Sequential.
MAKERS.nested_functional = dir => {
  const r = mulberry32(607);
  const N = 40, NV = 10, F = 5;
  const make = (n, tag) => {
    const x = gaussArray(r, n * F), y = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const v = x.subarray(i * F, i * F + F);
      y[i] = Math.sin(v[0]) + 0.5 * v[1] * v[2] - 0.3 * v[4] + 0.05 * gauss(r);
    }
    saveNpy(dir, `x${tag}.npy`, x, [n, F]);
    saveNpy(dir, `y${tag}.npy`, y, [n, 1]);
  };
  make(N, '');
  make(NV, '_val');
  const encoder = Object.assign(k3Functional('encoder', [
    k3Node(k3Input('enc_in', [F]), []),
    k3Node(k3Dense('enc_1', 6, 'relu', [F]), [[kt('enc_in', [F])]]),
    k3Node(k3Dense('enc_2', 3, 'tanh', [6]), [[kt('enc_1', [6])]]),
  ], ['enc_in', 0, 0], ['enc_2', 0, 0]), { compile_config: {} });
  const model = k3Functional('outer', [
    k3Node(k3Input('x', [F]), []),
    k3Node(encoder, [[kt('x', [F])]]),
    k3Node(k3Dense('head', 1, 'linear', [3]), [[kt('encoder', [3], 1)]]),
  ], ['x', 0, 0], ['head', 0, 0]);
  return {
    description: "Nested Functional: the Functional model `encoder` (enc_in -> enc_1 Dense 6 relu -> enc_2 Dense 3 tanh) is a layer of the outer model, followed by `head` (Dense 1). Keras 3 gives a Functional a built-in node, so the call is node 1: head's input is keras_history ['encoder', 1, 0] (a nested Sequential's first call is node 0). Weight names are Keras 3 variable paths: enc_1/kernel (no model prefix: a Functional's layers are built at its construction, outside the model's name scope; a Sequential's are built inside it, see nested_frozen). Trainable. Adam(0.01), mse, metrics mae; 40 samples, batch 16 (last 8); validation data 10 samples; 3 epochs.",
    seed: 607,
    model,
    compile: { optimizer: { class_name: 'Adam', config: { learning_rate: 0.01 } }, loss: 'mse', metrics: ['mae'] },
    fit: { epochs: 3, batch_size: 16, shuffle: false, validation_data: true },
    data: { x: 'x.npy', y: 'y.npy', x_val: 'x_val.npy', y_val: 'y_val.npy' },
    mode: 'fit', trace: true,
  };
};
// A node call argument: Dropout(0.5) called with training=False is the identity
// in every phase, fit included (Keras 3 uses an explicit `training` argument
// over the call context). Exact: no random mask is ever drawn.
MAKERS.dropout_training_false = dir => {
  const r = mulberry32(608);
  const N = 36, F = 6, H = 16;
  const x = gaussArray(r, N * F), y = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    const v = x.subarray(i * F, i * F + F);
    y[i] = Math.max(v[0] + v[1], 0) - 0.4 * v[2] + 0.2 * v[3] * v[4] + 0.05 * gauss(r);
  }
  saveNpy(dir, 'x.npy', x, [N, F]);
  saveNpy(dir, 'y.npy', y, [N, 1]);
  const drop = {
    module: 'keras.layers', class_name: 'Dropout',
    config: { name: 'drop', trainable: true, dtype: POLICY, rate: 0.5, seed: null, noise_shape: null },
    registered_name: null,
  };
  const model = k3Functional('frozen_dropout', [
    k3Node(k3Input('x', [F]), []),
    k3Node(k3Dense('hidden', H, 'relu', [F]), [[kt('x', [F])]]),
    Object.assign(k3Node(drop, []), { inbound_nodes: [{ args: [kt('hidden', [H])], kwargs: { training: false } }] }),
    k3Node(k3Dense('out', 1, 'linear', [H]), [[kt('drop', [H])]]),
  ], ['x', 0, 0], ['out', 0, 0]);
  return {
    description: "Node call argument: x -> hidden (Dense 16 relu) -> Dropout(0.5) called with training=False (inbound node kwargs {\"training\": false}) -> out. Keras 3 honours the explicit argument over fit's training phase, so the dropout is the identity throughout and the case is exact (a dropout that ran in training would zero half of `hidden` and scale the rest by 2). mse, SGD(0.05), metrics mae; validation_split 0.25 of 36 samples (27 train, 9 validation); batch 8 (last training batch 3); 4 epochs.",
    seed: 608,
    model,
    compile: { optimizer: { class_name: 'SGD', config: { learning_rate: 0.05 } }, loss: 'mse', metrics: ['mae'] },
    fit: { epochs: 4, batch_size: 8, shuffle: false, validation_split: 0.25 },
    data: { x: 'x.npy', y: 'y.npy' },
    mode: 'fit', trace: true,
  };
};
// Two outputs, one without a loss (`loss: ["mse", null]`): `aux` is predicted and
// has its metric, but is not trained on; with a single loss, Keras 3 logs no
// `<output>_loss` key.
MAKERS.output_without_loss = dir => {
  const r = mulberry32(609);
  const N = 44, F = 6, H = 8;
  const x = gaussArray(r, N * F), main = new Float32Array(N), aux = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    const v = x.subarray(i * F, i * F + F);
    main[i] = v[0] - 0.5 * Math.abs(v[1]) + 0.3 * v[2] * v[3] + 0.05 * gauss(r);
    aux[i] = v[4] + v[5] + 0.05 * gauss(r);
  }
  saveNpy(dir, 'x.npy', x, [N, F]);
  saveNpy(dir, 'y_main.npy', main, [N, 1]);
  saveNpy(dir, 'y_aux.npy', aux, [N, 1]);
  const model = k3Functional('main_and_aux', [
    k3Node(k3Input('x', [F]), []),
    k3Node(k3Dense('trunk', H, 'relu', [F]), [[kt('x', [F])]]),
    k3Node(k3Dense('main', 1, 'linear', [H]), [[kt('trunk', [H])]]),
    k3Node(k3Dense('aux', 1, 'linear', [H]), [[kt('trunk', [H])]]),
  ], ['x', 0, 0], [['main', 0, 0], ['aux', 0, 0]]);
  return {
    description: "An output without a loss: x -> trunk (Dense 8 relu) -> main (Dense 1) and aux (Dense 1); loss ['mse', null] (Keras 3.16 refuses a loss dict that lacks an output: 'Expected keys ... in loss dict'), metrics [['mae'], ['mae']]. aux is predicted and has aux_mae, but no gradient reaches it: aux/kernel and aux/bias end equal to w0 byte for byte, and trunk trains on main's loss only. With one loss Keras 3 logs no <output>_loss key (CompileLoss adds them only for more than one loss): keys loss, main_mae, aux_mae and val_ versions. Adam(0.01); validation_split 0.25 of 44 (33 train, 11 validation); batch 8 (last training batch 1); 4 epochs.",
    seed: 609,
    model,
    compile: { optimizer: { class_name: 'Adam', config: { learning_rate: 0.01 } }, loss: ['mse', null], metrics: [['mae'], ['mae']] },
    fit: { epochs: 4, batch_size: 8, shuffle: false, validation_split: 0.25 },
    data: { x: 'x.npy', y: ['y_main.npy', 'y_aux.npy'] },
    mode: 'fit', trace: true,
  };
};
// Concatenate on an axis other than the last: two sequences (3 and 2 steps of 4
// features), a Dense per step each, joined along the time axis (axis 1) into 5
// steps, then Flatten -> Dense.
MAKERS.concat_time_axis = dir => {
  const r = mulberry32(610);
  const N = 40, TA = 3, TB = 2, F = 4, H = 6;
  const a = gaussArray(r, N * TA * F), b = gaussArray(r, N * TB * F), y = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    const u = a.subarray(i * TA * F, (i + 1) * TA * F), v = b.subarray(i * TB * F, (i + 1) * TB * F);
    y[i] = 0.5 * u[0] - 0.3 * u[F + 1] + 0.4 * u[2 * F + 2] + 0.6 * v[3] - 0.2 * v[F] * u[1] + 0.05 * gauss(r);
  }
  saveNpy(dir, 'a.npy', a, [N, TA, F]);
  saveNpy(dir, 'b.npy', b, [N, TB, F]);
  saveNpy(dir, 'y.npy', y, [N, 1]);
  const T = TA + TB;
  const flatten = {
    module: 'keras.layers', class_name: 'Flatten',
    config: { name: 'flatten', trainable: true, dtype: POLICY, data_format: 'channels_last' },
    registered_name: null, build_config: { input_shape: shapeOf([T, H]) },
  };
  const model = k3Functional('two_sequences', [
    k3Node(k3Input('seq_a', [TA, F]), []),
    k3Node(k3Input('seq_b', [TB, F]), []),
    k3Node(k3Dense('step_a', H, 'relu', [TA, F]), [[kt('seq_a', [TA, F])]]),
    k3Node(k3Dense('step_b', H, 'relu', [TB, F]), [[kt('seq_b', [TB, F])]]),
    k3Node(k3Merge('Concatenate', 'concat_time', { axis: 1 }, [[TA, H], [TB, H]]), [[[kt('step_a', [TA, H]), kt('step_b', [TB, H])]]]),
    k3Node(flatten, [[kt('concat_time', [T, H])]]),
    k3Node(k3Dense('out', 1, 'linear', [T * H]), [[kt('flatten', [T * H])]]),
  ], [['seq_a', 0, 0], ['seq_b', 0, 0]], ['out', 0, 0]);
  return {
    description: 'Concatenate(axis=1) of rank-3 tensors: seq_a (3 steps x 4) and seq_b (2 steps x 4) -> step_a / step_b (Dense 6 relu, applied to the last axis at each step) -> concat_time (5 steps x 6; sample i is a\'s 3 steps then b\'s 2) -> Flatten (30) -> out. mse, Adam(0.01), metrics mae; validation_split 0.2 of 40 samples (32 train, 8 validation); batch 12 (last training batch 8); 3 epochs.',
    seed: 610,
    model,
    compile: { optimizer: { class_name: 'Adam', config: { learning_rate: 0.01 } }, loss: 'mse', metrics: ['mae'] },
    fit: { epochs: 3, batch_size: 12, shuffle: false, validation_split: 0.2 },
    data: { x: ['a.npy', 'b.npy'], y: 'y.npy' },
    mode: 'fit', trace: true,
  };
};

// ---- the same models in tf.keras 2.12's `model.to_json()` (legacy format) ----
// keras v2.12.0: functional.py get_config/get_network_config, node.py serialize
// (inbound node = list of [layer, node, tensor, kwargs]), base_layer get_config
// (dtype a string), input_layer get_config (batch_input_shape), sequential.py
// get_config (Model.get_config is {} for a Sequential: no `trainable` key, and no
// build_input_shape once it has an InputLayer). A nested model (Sequential
// included: it is a Functional in Keras 2) starts with a built-in node, so its
// first call is node 1. These cases reuse the data and w0 of their Keras 3 twin,
// so their expected/ must be the same bytes.
const k2Input = (name, shape) => ({ class_name: 'InputLayer', config: { batch_input_shape: shapeOf(shape), dtype: 'float32', sparse: false, ragged: false, name } });
function k2Dense(name, units, activation, trainable = true) {
  return {
    class_name: 'Dense',
    config: {
      name, trainable, dtype: 'float32', units, activation, use_bias: true,
      kernel_initializer: { class_name: 'GlorotUniform', config: { seed: null } }, bias_initializer: { class_name: 'Zeros', config: {} },
      kernel_regularizer: null, bias_regularizer: null, activity_regularizer: null, kernel_constraint: null, bias_constraint: null,
    },
  };
}
const k2Node = (def, calls) => Object.assign({}, def, { name: def.config.name, inbound_nodes: calls.map(inputs => inputs.map(([l, n, t]) => [l, n, t, {}])) });
const k2Functional = (name, layers, inputs, outputs) => ({
  class_name: 'Functional', config: { name, trainable: true, layers, input_layers: inputs, output_layers: outputs }, keras_version: '2.12.0', backend: 'tensorflow',
});
// The twin's case object (its maker writes the data to a scratch folder, dropped).
function twinCase(twin) {
  const scratch = fs.mkdtempSync(path.join(require('os').tmpdir(), 'nnc-case-'));
  try { return MAKERS[twin](scratch); } finally { fs.rmSync(scratch, { recursive: true, force: true }); }
}
// Points a case at its Keras 3 twin's data and w0.
function twinOf(twin, c) {
  const rel = f => `../${twin}/${f}`;
  const map = v => (typeof v === 'string' ? rel(v) : Array.isArray(v) ? v.map(rel) : Object.fromEntries(Object.entries(v).map(([k, f]) => [k, rel(f)])));
  c.data = Object.fromEntries(Object.entries(c.data).map(([k, v]) => [k, map(v)]));
  c.initial_weights = rel('w0/weights.json');
  return c;
}
MAKERS.nested_frozen_keras2 = () => {
  const c = twinCase('nested_frozen');
  const F = 6;
  c.model = k2Functional('frozen_body_head', [
    k2Node(k2Input('x', [F]), []),
    k2Node({ class_name: 'Sequential', config: { name: 'body', layers: [k2Input('body_input', [F]), k2Dense('body_dense_1', 8, 'relu', false), k2Dense('body_dense_2', 4, 'relu', false)] } }, [[['x', 0, 0]]]),
    k2Node(k2Dense('head', 1, 'linear'), [[['body', 1, 0]]]),
  ], [['x', 0, 0]], [['head', 0, 0]]);
  c.description = "nested_frozen in tf.keras 2.12's model.to_json() form: the nested Sequential's config has no trainable key (Keras 2 writes none for a Sequential), only its layers say trainable: false; its call is node 1 (['body', 1, 0, {}]: in Keras 2 a Sequential is a Functional with a built-in node). Same data, w0 and expected numbers as nested_frozen.";
  return twinOf('nested_frozen', c);
};
MAKERS.shared_layer_keras2 = () => {
  const c = twinCase('shared_layer');
  const F = 4, H = 5;
  c.model = k2Functional('siamese', [
    k2Node(k2Input('left', [F]), []),
    k2Node(k2Input('right', [F]), []),
    k2Node(k2Dense('shared', H, 'tanh'), [[['left', 0, 0]], [['right', 0, 0]]]),
    k2Node({ class_name: 'Concatenate', config: { name: 'concat', trainable: true, dtype: 'float32', axis: -1 } }, [[['shared', 0, 0], ['shared', 1, 0]]]),
    k2Node(k2Dense('out', 1, 'linear'), [[['concat', 0, 0]]]),
  ], [['left', 0, 0], ['right', 0, 0]], [['out', 0, 0]]);
  c.description = "shared_layer in tf.keras 2.12's model.to_json() form: inbound nodes as [[['left', 0, 0, {}]], [['right', 0, 0, {}]]] for the shared layer, one node of two inputs [['shared', 0, 0, {}], ['shared', 1, 0, {}]] for the Concatenate. Same data, w0 and expected numbers as shared_layer.";
  return twinOf('shared_layer', c);
};

// ---- the same models as TensorFlow.js writes them (tfjs-layers 4.22.0) --------
// `model.toJSON(null, false)` of the model tfjs built from the Keras 3 JSON: the
// modelTopology of a tfjs model.json (Keras 2 style nodes, a nested model's first
// call is node 1, VarianceScaling for glorot_uniform, keras_version "tfjs-layers
// 4.22.0"). Same data, w0 and expected numbers as the Keras 3 twin.
function tfjsTopology(kerasModel) {
  const code = `
    const tf = require(${JSON.stringify(path.join(oracle, 'node_modules', '@tensorflow', 'tfjs'))});
    const { normalizeModelJson } = require(${JSON.stringify(path.join(oracle, 'keras_json.js'))});
    console.warn = () => {}; const log = console.log; console.log = () => {};
    tf.setBackend('cpu').then(() => tf.models.modelFromJSON({ modelTopology: normalizeModelJson(${JSON.stringify(kerasModel)}) }))
      .then(m => log(JSON.stringify(m.toJSON(null, false))));`;
  return JSON.parse(execFileSync(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] }).toString());
}
MAKERS.nested_frozen_tfjs = () => {
  const c = twinCase('nested_frozen');
  c.model = tfjsTopology(c.model);
  c.description = "nested_frozen as TensorFlow.js 4.22 writes it (model.toJSON(): the modelTopology of a model.json): class_name Functional, keras_version 'tfjs-layers 4.22.0', the nested Sequential's call is node 1 ([['body', 1, 0, {}]]), its config has no trainable key (only its layers say trainable: false), kernels are VarianceScaling(fan_avg, uniform) = glorot_uniform. Same data, w0 and expected numbers as nested_frozen.";
  return twinOf('nested_frozen', c);
};
MAKERS.shared_layer_tfjs = () => {
  const c = twinCase('shared_layer');
  c.model = tfjsTopology(c.model);
  c.description = "shared_layer as TensorFlow.js 4.22 writes it (model.toJSON()): Keras 2 style nodes, the shared layer with two nodes, the Concatenate with one node of two inputs. Same data, w0 and expected numbers as shared_layer.";
  return twinOf('shared_layer', c);
};

MAKERS.dot = dir => dotCase(dir, false);
MAKERS.dot_normalize = dir => dotCase(dir, true);

// w0/ from the oracle's own seeded initializer (glorot_uniform kernels from
// mulberry32 seeded by (seed, weight name), zero biases): a predict run without
// data writes weights_initial/, which becomes w0/.
function oracleInitialWeights(dir, c) {
  const tmp = path.join(dir, '.w0tmp');
  fs.writeFileSync(path.join(dir, 'case.json'), JSON.stringify(Object.assign({}, c, { mode: 'predict', data: {} })));
  execFileSync(process.execPath, [path.join(oracle, 'oracle.js'), path.join(dir, 'case.json'), tmp, '--no-weights'], { stdio: ['ignore', 'inherit', 'inherit'] });
  fs.renameSync(path.join(tmp, 'weights_initial'), path.join(dir, 'w0'));
  fs.rmSync(tmp, { recursive: true, force: true });
  return 'w0/weights.json';
}

// ---- issue 7: training behaviours (tests/cases/training_makers.js) ----------------
require('./training_makers.js')(MAKERS, {
  mulberry32, gauss, gaussArray, saveNpy, k3Input, k3Dense, POLICY, writeNpy, readNpy: require(path.join(oracle, 'npy.js')).readNpy,
});

// ---- issue 8: pooling and resampling (tests/cases/pooling_makers.js) ----------------
require('./pooling_makers.js')(MAKERS, { mulberry32, gauss, gaussArray, saveNpy, k3Input, k3Dense, POLICY });
// ---- issue 8: normalization layers (tests/cases/norm_makers.js) ----------------
require('./norm_makers.js')(MAKERS, { mulberry32, gauss, gaussArray, saveNpy, k3Input, k3Dense, POLICY });
// ---- issue 8: Embedding and activation layers (tests/cases/emb_makers.js) ----------
require('./emb_makers.js')(MAKERS, { mulberry32, gauss, gaussArray, saveNpy, k3Input, k3Dense, POLICY });
// ---- issue 8: convolutions (tests/cases/conv_makers.js) ------------------------
require('./conv_makers.js')(MAKERS, { mulberry32, gaussArray, saveNpy, k3Input, k3Dense, POLICY });
// ---- issue 8: transposed and separable convolutions (tests/cases/convt_makers.js) ----
require('./convt_makers.js')(MAKERS, { mulberry32, gaussArray, saveNpy, k3Input, k3Dense, POLICY });
// ---- issue 8: attention (tests/cases/attn_makers.js; oracle-attention.patch) ----
require('./attn_makers.js')(MAKERS, { mulberry32, gauss, gaussArray, saveNpy, POLICY });
// ---- issue 8: recurrent layers and masks (tests/cases/rnn_makers.js; oracle-rnn.patch) ----
require('./rnn_makers.js')(MAKERS, { mulberry32, gauss, gaussArray, saveNpy, k3Input, k3Dense, POLICY });
// ---- issue 8: the families and options the cases above leave out, evaluate /
// predict cases for phase-dependent layers (tests/cases/fam_makers.js; oracle-layers.patch) ----
require('./fam_makers.js')(MAKERS, {
  mulberry32, gauss, gaussArray, saveNpy, k3Input, k3Dense, POLICY, readNpy: require(path.join(oracle, 'npy.js')).readNpy,
});
// ---- issue 8: preprocessing layers (tests/cases/prep_makers.js; oracle-prep.patch) ----
require('./prep_makers.js')(MAKERS, { mulberry32, gauss, gaussArray, saveNpy, k3Input, k3Dense, POLICY });
// ---- issue 8: TimeDistributed around Conv2D / pooling / Flatten (tests/cases/td_makers.js; oracle-rnn.patch) ----
require('./td_makers.js')(MAKERS, { mulberry32, gauss, gaussArray, saveNpy, k3Input, k3Dense, POLICY });
// ---- issue 8: masks through Bidirectional into attention (tests/cases/rnnmask_makers.js; oracle-rnnmask.patch) ----
require('./rnnmask_makers.js')(MAKERS, { mulberry32, gauss, saveNpy, POLICY });

const names = process.argv.slice(3).length ? process.argv.slice(3) : Object.keys(MAKERS);
for (const name of names) {
  const dir = path.join(HERE, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const c = MAKERS[name](dir);
  if (!c.initial_weights) c.initial_weights = oracleInitialWeights(dir, c);
  fs.writeFileSync(path.join(dir, 'case.json'), JSON.stringify(c, null, 1) + '\n');
  execFileSync(process.execPath, [path.join(oracle, 'oracle.js'), path.join(dir, 'case.json'), path.join(dir, 'expected'), '--semantics', 'keras3'], { stdio: ['ignore', 'inherit', 'inherit'] });
  console.log(`${name}: ok`);
}
