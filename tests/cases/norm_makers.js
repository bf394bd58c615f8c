'use strict';
// The issue 8 normalization cases: BatchNormalization (train phase with batch
// statistics and moving-average updates, inference with the moving
// statistics: validation and predictions) and LayerNormalization. Used by
// make_cases.js. tfjs-layers' BatchNormalization has the defaults of Keras 3
// (momentum 0.99, epsilon 1e-3) and the same biased batch variance; its
// moving update `m - (m - batch) (1 - momentum)` is Keras 3's `m momentum +
// batch (1 - momentum)` up to rounding. The specs still write momentum and
// epsilon explicitly (tf.keras 2 and tfjs configs may differ).
module.exports = function addNormMakers(MAKERS, h) {
  const { mulberry32, gauss, gaussArray, saveNpy, k3Input, k3Dense, POLICY } = h;
  const shapeOf = s => [null, ...s];
  const kinit = (cls) => ({ module: 'keras.initializers', class_name: cls, config: {}, registered_name: null });
  const layer = (cls, config, inShape) => ({
    module: 'keras.layers', class_name: cls, registered_name: null,
    config: Object.assign({ trainable: true, dtype: POLICY }, config),
    build_config: { input_shape: shapeOf(inShape) },
  });
  const batchNorm = (name, axis, momentum, inShape) => layer('BatchNormalization', {
    name, axis, momentum, epsilon: 0.001, center: true, scale: true,
    beta_initializer: kinit('Zeros'), gamma_initializer: kinit('Ones'),
    moving_mean_initializer: kinit('Zeros'), moving_variance_initializer: kinit('Ones'),
    beta_regularizer: null, gamma_regularizer: null, beta_constraint: null, gamma_constraint: null,
    synchronized: false,
  }, inShape);
  const layerNorm = (name, axis, inShape) => layer('LayerNormalization', {
    name, axis, epsilon: 0.001, center: true, scale: true, rms_scaling: false,
    beta_initializer: kinit('Zeros'), gamma_initializer: kinit('Ones'),
    beta_regularizer: null, gamma_regularizer: null, beta_constraint: null, gamma_constraint: null,
  }, inShape);
  const sequential = (name, inShape, layers) => ({
    module: 'keras', class_name: 'Sequential', registered_name: null,
    config: { name, trainable: true, dtype: POLICY, layers: [k3Input('input_layer', inShape), ...layers] },
    build_config: { input_shape: shapeOf(inShape) },
  });
  // inputs with a mean and scale far from 0 and 1, so the statistics matter
  function data(dir, seed, N, shape) {
    const r = mulberry32(seed);
    const F = shape.reduce((a, b) => a * b, 1);
    const x = gaussArray(r, N * F), y = new Float32Array(N);
    for (let i = 0; i < N; i++) {
      const v = x.subarray(i * F, i * F + F);
      for (let f = 0; f < F; f++) v[f] = 2.5 * v[f] + 1.5 + 0.3 * (f % 3);
      y[i] = Math.tanh(0.3 * (v[0] - v[1])) + 0.2 * v[F - 1] + 0.05 * gauss(r);
    }
    saveNpy(dir, 'x.npy', x, [N, ...shape]);
    saveNpy(dir, 'y.npy', y, [N, 1]);
    return { x: 'x.npy', y: 'y.npy' };
  }
  const fitCase = (o) => ({
    description: o.description, seed: o.seed, model: o.model, compile: o.compile,
    fit: Object.assign({ epochs: 3, batch_size: 8, shuffle: false }, o.fit || {}),
    data: o.data, mode: 'fit', trace: true,
    // test_golden also predicts data.x with the final weights (inference with
    // the moving statistics after training: expected/predictions.npy)
    golden_predictions: true,
  });

  // The Dense before a BatchNormalization has no bias (as Keras's guides
  // write it): the batch mean removes it, so its gradient is rounding noise,
  // and Adam, which normalizes a gradient's size away, would turn that noise
  // into steps of the learning rate, different in every implementation.
  const noBias = l => { l.config.use_bias = false; return l; };
  MAKERS.norm_batchnorm = dir => fitCase({
    description: 'BatchNormalization between two Dense layers: x (6) -> hidden (Dense 8 linear, no bias: the batch mean would cancel it) -> bn (BatchNormalization, momentum 0.9, epsilon 1e-3) -> out (Dense 1). Training batches use the batch statistics (biased variance over the batch) and update moving_mean/moving_variance after each step; validation and predictions use the moving statistics. Adam(0.01), mse, mae; 45 samples, validation_split 0.2 (36 + 9), batch 8 (last 4), 3 epochs.',
    seed: 800,
    model: sequential('norm_batchnorm', [6], [noBias(k3Dense('hidden', 8, 'linear', [6])), batchNorm('bn', -1, 0.9, [8]), k3Dense('out', 1, 'linear', [8])]),
    compile: { optimizer: { class_name: 'Adam', config: { learning_rate: 0.01 } }, loss: 'mse', metrics: ['mae'] },
    fit: { validation_split: 0.2 },
    data: data(dir, 800, 45, [6]),
  });

  // (tfjs-layers 4.22 fails on an axis other than the last in training:
  // "Size(96) must match the product of shape 1,3,1"; axis 1 is checked
  // against a float64 reference in tests/unit/test_norm.c instead.)
  MAKERS.norm_batchnorm_rank3 = dir => fitCase({
    description: 'BatchNormalization on the last axis of a rank-3 input (4 steps of 3 channels: statistics over the batch and the 4 steps) -> Flatten -> out (Dense 1). Momentum 0.8 (the default 0.99 would barely move the moving statistics in 12 steps). SGD(0.05), mse, mae; 40 samples, validation_split 0.25 (30 + 10), batch 8 (last 6), 3 epochs.',
    seed: 801,
    model: sequential('norm_batchnorm_rank3', [4, 3], [batchNorm('bn', -1, 0.8, [4, 3]), layer('Flatten', { name: 'flatten', data_format: 'channels_last' }, [4, 3]), k3Dense('out', 1, 'linear', [12])]),
    compile: { optimizer: { class_name: 'SGD', config: { learning_rate: 0.05 } }, loss: 'mse', metrics: ['mae'] },
    fit: { validation_split: 0.25 },
    data: data(dir, 801, 40, [4, 3]),
  });

  MAKERS.norm_layernorm = dir => fitCase({
    description: 'LayerNormalization (axis -1, epsilon 1e-3) between two Dense layers: x (5) -> hidden (Dense 8 linear) -> ln -> out (Dense 1). Per-sample statistics, the same in training and inference. Adam(0.01), mse, mae; 40 samples, validation_split 0.25 (30 + 10), batch 8 (last 6), 3 epochs.',
    seed: 802,
    model: sequential('norm_layernorm', [5], [k3Dense('hidden', 8, 'linear', [5]), layerNorm('ln', -1, [8]), k3Dense('out', 1, 'linear', [8])]),
    compile: { optimizer: { class_name: 'Adam', config: { learning_rate: 0.01 } }, loss: 'mse', metrics: ['mae'] },
    fit: { validation_split: 0.25 },
    data: data(dir, 802, 40, [5]),
  });
};
