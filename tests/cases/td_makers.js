'use strict';
// The TimeDistributed case of issue 8: a video-like classifier
// TimeDistributed(Conv2D) -> TimeDistributed(MaxPooling2D) ->
// TimeDistributed(Flatten) -> LSTM -> Dense, in the form Keras 3 writes it.
// tfjs-layers has TimeDistributed (it loops over the steps as Keras 3 does);
// oracle-rnn.patch names the weights as Keras 3 (time_distributed/conv2d/kernel,
// lstm/lstm_cell/kernel). Used by make_cases.js.
module.exports = function addTdMakers(MAKERS, h) {
  const { mulberry32, gauss, gaussArray, saveNpy, k3Input, k3Dense, POLICY } = h;
  const shapeOf = s => [null, ...s];
  const init = (cls, config) => ({ module: 'keras.initializers', class_name: cls, config, registered_name: null });
  const layer = (cls, config, inShape) => ({
    module: 'keras.layers', class_name: cls, registered_name: null,
    config: Object.assign({ trainable: true, dtype: POLICY }, config),
    build_config: { input_shape: shapeOf(inShape) },
  });
  const td = (name, inner, inShape) => layer('TimeDistributed', { name, layer: inner }, inShape);

  // x (4 frames of 5 x 5 x 1) -> TD(Conv2D(2, 2x2, tanh)) -> TD(MaxPooling2D(2)) ->
  // TD(Flatten) (8 per frame) -> LSTM(3) -> Dense(1).
  MAKERS.td_conv_lstm = dir => {
    const r = mulberry32(1100);
    const N = 24, T = 4, H = 5, W = 5;
    const x = gaussArray(r, N * T * H * W), y = new Float32Array(N);
    for (let i = 0; i < N; i++) {
      // a target that depends on the frames' order: decaying sum of each frame's top-left mean
      let a = 0;
      for (let t = 0; t < T; t++) {
        let s = 0;
        for (let p = 0; p < 2; p++) for (let q = 0; q < 2; q++) s += x[((i * T + t) * H + p) * W + q];
        a = 0.5 * a + s / 4;
      }
      y[i] = Math.tanh(a) + 0.05 * gauss(r);
    }
    saveNpy(dir, 'x.npy', x, [N, T, H, W, 1]);
    saveNpy(dir, 'y.npy', y, [N, 1]);
    const conv = {
      module: 'keras.layers', class_name: 'Conv2D', registered_name: null,
      config: {
        name: 'conv2d', trainable: true, dtype: POLICY, filters: 2, kernel_size: [2, 2], strides: [1, 1],
        padding: 'valid', data_format: 'channels_last', dilation_rate: [1, 1], groups: 1, activation: 'tanh',
        use_bias: true, kernel_initializer: init('GlorotUniform', { seed: null }), bias_initializer: init('Zeros', {}),
        kernel_regularizer: null, bias_regularizer: null, activity_regularizer: null, kernel_constraint: null,
        bias_constraint: null,
      },
      build_config: { input_shape: shapeOf([H, W, 1]) },
    };
    const pool = {
      module: 'keras.layers', class_name: 'MaxPooling2D', registered_name: null,
      config: { name: 'max_pooling2d', trainable: true, dtype: POLICY, pool_size: [2, 2], padding: 'valid', strides: [2, 2], data_format: 'channels_last' },
      build_config: { input_shape: shapeOf([4, 4, 2]) },
    };
    const flatten = {
      module: 'keras.layers', class_name: 'Flatten', registered_name: null,
      config: { name: 'flatten', trainable: true, dtype: POLICY, data_format: 'channels_last' },
      build_config: { input_shape: shapeOf([2, 2, 2]) },
    };
    const lstm = layer('LSTM', {
      name: 'lstm', units: 3, activation: 'tanh', recurrent_activation: 'sigmoid', use_bias: true,
      kernel_initializer: init('GlorotUniform', { seed: null }),
      recurrent_initializer: init('Orthogonal', { gain: 1.0, seed: null }),
      bias_initializer: init('Zeros', {}), unit_forget_bias: true,
      kernel_regularizer: null, recurrent_regularizer: null, bias_regularizer: null, activity_regularizer: null,
      kernel_constraint: null, recurrent_constraint: null, bias_constraint: null,
      dropout: 0.0, recurrent_dropout: 0.0, seed: null,
      return_sequences: false, return_state: false, go_backwards: false, stateful: false, unroll: false,
      zero_output_for_mask: false,
    }, [T, 8]);
    const model = {
      module: 'keras', class_name: 'Sequential', registered_name: null,
      config: {
        name: 'td_conv_lstm', trainable: true, dtype: POLICY, layers: [
          k3Input('x', [T, H, W, 1]),
          td('time_distributed', conv, [T, H, W, 1]),
          td('time_distributed_1', pool, [T, 4, 4, 2]),
          td('time_distributed_2', flatten, [T, 2, 2, 2]),
          lstm,
          k3Dense('out', 1, 'linear', [3]),
        ],
      },
      build_config: { input_shape: shapeOf([T, H, W, 1]) },
    };
    return {
      description: `TimeDistributed(Conv2D) -> TimeDistributed(MaxPooling2D) -> TimeDistributed(Flatten) -> LSTM -> Dense: x (${N}, ${T} frames of ${H}x${W}x1) -> time_distributed (Conv2D(2, 2x2, valid, tanh) per frame: 4x4x2) -> time_distributed_1 (MaxPooling2D(2): 2x2x2) -> time_distributed_2 (Flatten: 8) -> lstm (LSTM(3), last output) -> out (Dense 1). Weights time_distributed/conv2d/{kernel [2, 2, 1, 2], bias [2]}, lstm/lstm_cell/{kernel [8, 12], recurrent_kernel [3, 12], bias [12]}, out/{kernel, bias}. Adam(0.01), mse, mae; validation_split 0.25 of ${N} (18 + 6), batch 6, 3 epochs.`,
      seed: 1100, model,
      compile: { optimizer: { class_name: 'Adam', config: { learning_rate: 0.01 } }, loss: 'mse', metrics: ['mae'] },
      fit: { epochs: 3, batch_size: 6, shuffle: false, validation_split: 0.25 },
      data: { x: 'x.npy', y: 'y.npy' }, mode: 'fit', trace: true,
    };
  };

  // TimeDistributed(BatchNormalization) in training: Keras 3's loop calls the
  // inner layer's call once per step, so each step is normalized with its own
  // batch statistics and the moving statistics take T chained updates in
  // step order. tfjs-layers' TimeDistributed also calls the inner layer per
  // step (K.rnn over the time axis), reading and writing the moving
  // variables eagerly, which is the same chain.
  MAKERS.td_batchnorm = dir => {
    const r = mulberry32(1101);
    const N = 32, T = 3, F = 4;
    const x = gaussArray(r, N * T * F), y = new Float32Array(N);
    for (let i = 0; i < N; i++) {
      let a = 0;
      for (let t = 0; t < T; t++)
        for (let f = 0; f < F; f++) {
          // each step its own mean and scale, so per-step statistics matter
          const k = (i * T + t) * F + f;
          x[k] = (1 + t) * x[k] + 2 * t - 1 + 0.3 * f;
          a += (t === 1 ? 0.4 : 0.1) * x[k] * (f % 2 ? 1 : -1);
        }
      y[i] = Math.tanh(a) + 0.05 * gauss(r);
    }
    saveNpy(dir, 'x.npy', x, [N, T, F]);
    saveNpy(dir, 'y.npy', y, [N, 1]);
    const kinit = cls => init(cls, {});
    const dense = {
      module: 'keras.layers', class_name: 'Dense', registered_name: null,
      config: {
        name: 'proj', trainable: true, dtype: POLICY, units: 3, activation: 'linear', use_bias: false,
        kernel_initializer: init('GlorotUniform', { seed: null }), bias_initializer: kinit('Zeros'),
        kernel_regularizer: null, bias_regularizer: null, activity_regularizer: null, kernel_constraint: null,
        bias_constraint: null,
      },
      build_config: { input_shape: shapeOf([F]) },
    };
    const bn = {
      module: 'keras.layers', class_name: 'BatchNormalization', registered_name: null,
      config: {
        name: 'bn', trainable: true, dtype: POLICY, axis: -1, momentum: 0.8, epsilon: 0.001, center: true,
        scale: true, beta_initializer: kinit('Zeros'), gamma_initializer: kinit('Ones'),
        moving_mean_initializer: kinit('Zeros'), moving_variance_initializer: kinit('Ones'),
        beta_regularizer: null, gamma_regularizer: null, beta_constraint: null, gamma_constraint: null,
        synchronized: false,
      },
      build_config: { input_shape: shapeOf([3]) },
    };
    const model = {
      module: 'keras', class_name: 'Sequential', registered_name: null,
      config: {
        name: 'td_batchnorm', trainable: true, dtype: POLICY, layers: [
          k3Input('x', [T, F]),
          td('td_proj', dense, [T, F]),
          td('td_bn', bn, [T, 3]),
          layer('Flatten', { name: 'flatten', data_format: 'channels_last' }, [T, 3]),
          k3Dense('out', 1, 'linear', [T * 3]),
        ],
      },
      build_config: { input_shape: shapeOf([T, F]) },
    };
    return {
      description: `TimeDistributed(BatchNormalization) in training: x (${N}, ${T} steps of ${F}, each step its own mean and scale) -> td_proj (TimeDistributed(Dense(3, linear, no bias))) -> td_bn (TimeDistributed(BatchNormalization(momentum 0.8, epsilon 1e-3))) -> flatten (9) -> out (Dense 1). In training each step is normalized with its own batch statistics and the moving statistics take ${T} chained updates per batch, in step order (Keras 3's per-step layer.call); validation and predictions use the moving statistics. Weights td_proj/proj/kernel, td_bn/bn/{gamma, beta, moving_mean, moving_variance}, out/{kernel, bias}. SGD(0.05), mse, mae; validation_split 0.25 of ${N} (24 + 8), batch 8, 3 epochs.`,
      seed: 1101, model,
      compile: { optimizer: { class_name: 'SGD', config: { learning_rate: 0.05 } }, loss: 'mse', metrics: ['mae'] },
      fit: { epochs: 3, batch_size: 8, shuffle: false, validation_split: 0.25 },
      data: { x: 'x.npy', y: 'y.npy' }, mode: 'fit', trace: true, golden_predictions: true,
    };
  };
};
