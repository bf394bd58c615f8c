'use strict';
// The issue 8 convolution cases: small CNNs of Conv1D / Conv2D layers, then
// Flatten and Dense, in the form Keras 3.16's model.to_json() writes (every
// Conv key present, as BaseConv.get_config lists them). Initial weights from
// the oracle's seeded initializer (w0/). Used by make_cases.js; the oracle
// needs no patch beyond oracle-training.patch (tfjs-layers has Conv1D/2D).
module.exports = function addConvMakers(MAKERS, h) {
  const { mulberry32, gaussArray, saveNpy, k3Input, k3Dense, POLICY } = h;
  const shapeOf = s => [null, ...s];
  const init = (cls, config) => ({ module: 'keras.initializers', class_name: cls, config, registered_name: null });

  function k3Conv(rank, name, o, inShape) {
    const tuple = v => (Array.isArray(v) ? v : Array(rank).fill(v));
    return {
      module: 'keras.layers', class_name: `Conv${rank}D`,
      config: {
        name, trainable: true, dtype: POLICY, filters: o.filters, kernel_size: tuple(o.kernel),
        strides: tuple(o.strides || 1), padding: o.padding || 'valid', data_format: 'channels_last',
        dilation_rate: tuple(o.dilation || 1), groups: 1, activation: o.activation || 'linear', use_bias: true,
        kernel_initializer: init('GlorotUniform', { seed: null }), bias_initializer: init('Zeros', {}),
        kernel_regularizer: null, bias_regularizer: null, activity_regularizer: null,
        kernel_constraint: null, bias_constraint: null,
      },
      registered_name: null, build_config: { input_shape: shapeOf(inShape) },
    };
  }
  function k3Flatten(name, inShape) {
    return {
      module: 'keras.layers', class_name: 'Flatten',
      config: { name, trainable: true, dtype: POLICY, data_format: 'channels_last' },
      registered_name: null, build_config: { input_shape: shapeOf(inShape) },
    };
  }
  function sequential(name, inShape, layers) {
    return {
      module: 'keras', class_name: 'Sequential', registered_name: null,
      config: { name, trainable: true, dtype: POLICY, layers: [k3Input('input_layer', inShape), ...layers] },
      build_config: { input_shape: shapeOf(inShape) },
    };
  }

  // Conv2D (same, 3x3, relu) -> Conv2D (valid, 2x2, stride 2, tanh) -> Flatten
  // -> Dense(3, softmax); three classes from the sign pattern of quadrant sums.
  MAKERS.conv2d_cnn = dir => {
    const r = mulberry32(801);
    const N = 24, H = 6, W = 6, C = 2;
    const x = gaussArray(r, N * H * W * C), y = new Float32Array(N);
    for (let i = 0; i < N; i++) {
      let top = 0, left = 0;
      for (let p = 0; p < H; p++) for (let q = 0; q < W; q++) {
        const v = x[((i * H + p) * W + q) * C];
        if (p < H / 2) top += v;
        if (q < W / 2) left += v;
      }
      y[i] = top > 0 ? 0 : left > 0 ? 1 : 2;
    }
    saveNpy(dir, 'x.npy', x, [N, H, W, C]);
    saveNpy(dir, 'y.npy', y, [N, 1]);
    return {
      description: 'A small CNN: Conv2D(4, 3x3, same, relu) -> Conv2D(3, 2x2, strides 2, valid, tanh) -> Flatten (27) -> Dense(3, softmax). Kernels [kh, kw, in, out] named conv2d_a/kernel, conv2d_b/kernel. sparse_categorical_crossentropy, Adam(0.01), accuracy; validation_split 0.25 of 24 (18 + 6), batch 8 (last 2), 3 epochs.',
      seed: 801,
      model: sequential('cnn2d', [H, W, C], [
        k3Conv(2, 'conv2d_a', { filters: 4, kernel: 3, padding: 'same', activation: 'relu' }, [H, W, C]),
        k3Conv(2, 'conv2d_b', { filters: 3, kernel: 2, strides: 2, activation: 'tanh' }, [H, W, 4]),
        k3Flatten('flatten', [3, 3, 3]),
        k3Dense('out', 3, 'softmax', [27]),
      ]),
      compile: { optimizer: { class_name: 'Adam', config: { learning_rate: 0.01 } }, loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] },
      fit: { epochs: 3, batch_size: 8, shuffle: false, validation_split: 0.25 },
      data: { x: 'x.npy', y: 'y.npy' },
      mode: 'fit',
      trace: true,
    };
  };

  // Conv1D (valid, kernel 3, relu) -> Conv1D (same, kernel 3, stride 2) ->
  // Flatten -> Dense(1); a regression on a sequence. tfjs-layers 4.22 has no
  // causal padding ("not implemented yet" in conv1dWithBias) and no gradient
  // of a dilated convolution: both are checked by test_conv (float64
  // reference, finite differences, hand-derived values) instead.
  MAKERS.conv1d_cnn = dir => {
    const r = mulberry32(802);
    const N = 30, L = 10, C = 3;
    const x = gaussArray(r, N * L * C), y = new Float32Array(N);
    for (let i = 0; i < N; i++) {
      let s = 0;
      for (let t = 1; t < L; t++) s += x[(i * L + t) * C] * x[(i * L + t - 1) * C + 1];
      y[i] = Math.tanh(0.3 * s) + 0.2 * x[(i * L + L - 1) * C + 2];
    }
    saveNpy(dir, 'x.npy', x, [N, L, C]);
    saveNpy(dir, 'y.npy', y, [N, 1]);
    return {
      description: 'Conv1D(4, kernel 3, valid, relu) (10 -> 8 steps) -> Conv1D(2, kernel 3, strides 2, same) (8 -> 4 steps: total padding 1, none before, one zero after) -> Flatten (8) -> Dense(1). Kernels [k, in, out]. mse, RMSprop(0.005), mae; validation_split 0.2 of 30 (24 + 6), batch 10 (last 4), 4 epochs.',
      seed: 802,
      model: sequential('cnn1d', [L, C], [
        k3Conv(1, 'conv1d_a', { filters: 4, kernel: 3, activation: 'relu' }, [L, C]),
        k3Conv(1, 'conv1d_b', { filters: 2, kernel: 3, strides: 2, padding: 'same' }, [L - 2, 4]),
        k3Flatten('flatten', [4, 2]),
        k3Dense('out', 1, 'linear', [8]),
      ]),
      compile: { optimizer: { class_name: 'RMSprop', config: { learning_rate: 0.005 } }, loss: 'mse', metrics: ['mae'] },
      fit: { epochs: 4, batch_size: 10, shuffle: false, validation_split: 0.2 },
      data: { x: 'x.npy', y: 'y.npy' },
      mode: 'fit',
      trace: true,
    };
  };
};
