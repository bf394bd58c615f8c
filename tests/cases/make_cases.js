#!/usr/bin/env node
'use strict';
// Builds the oracle cases of tests/cases/ (case.json, data .npy, w0/) and runs
// the oracle of ../shared/oracle on each (expected/ = Keras 3 semantics).
// The oracle needs its node_modules; run it from a copy:
//   cp -r ../shared/oracle /tmp/oracle && (cd /tmp/oracle && npm ci)
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

const names = process.argv.slice(3).length ? process.argv.slice(3) : Object.keys(MAKERS);
for (const name of names) {
  const dir = path.join(HERE, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const c = MAKERS[name](dir);
  fs.writeFileSync(path.join(dir, 'case.json'), JSON.stringify(c, null, 1) + '\n');
  execFileSync(process.execPath, [path.join(oracle, 'oracle.js'), path.join(dir, 'case.json'), path.join(dir, 'expected'), '--semantics', 'keras3'], { stdio: ['ignore', 'inherit', 'inherit'] });
  console.log(`${name}: ok`);
}
