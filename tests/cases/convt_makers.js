'use strict';
// The issue 8 transposed and separable convolution case: SeparableConv2D ->
// Conv2DTranspose (stride 3 > kernel 2, valid) -> Conv2DTranspose (same) ->
// Flatten -> Dense, in the form Keras 3.16's model.to_json() writes
// (BaseSeparableConv / BaseConvTranspose get_config keys). Initial weights
// from the oracle's seeded initializer (w0/). Used by make_cases.js; no patch
// beyond oracle-training.patch (tfjs-layers has SeparableConv2D and
// Conv2DTranspose, without output_padding or dilation: test_conv_layers
// checks those against its float64 reference and finite differences).
module.exports = function addConvtMakers(MAKERS, h) {
  const { mulberry32, gaussArray, saveNpy, k3Input, k3Dense, POLICY } = h;
  const shapeOf = s => [null, ...s];
  const init = (cls, config) => ({ module: 'keras.initializers', class_name: cls, config, registered_name: null });
  const pair = v => (Array.isArray(v) ? v : [v, v]);
  const weightKeys = names => {
    const c = {};
    for (const n of names) c[`${n}_initializer`] = init('GlorotUniform', { seed: null });
    c.bias_initializer = init('Zeros', {});
    for (const n of [...names, 'bias']) c[`${n}_regularizer`] = null;
    c.activity_regularizer = null;
    for (const n of [...names, 'bias']) c[`${n}_constraint`] = null;
    return c;
  };
  function k3Separable(name, o, inShape) {
    return {
      module: 'keras.layers', class_name: 'SeparableConv2D',
      config: {
        name, trainable: true, dtype: POLICY, depth_multiplier: o.multiplier, filters: o.filters,
        kernel_size: pair(o.kernel), strides: pair(o.strides || 1), padding: o.padding || 'valid',
        data_format: 'channels_last', dilation_rate: [1, 1], activation: o.activation || 'linear', use_bias: true,
        ...weightKeys(['depthwise', 'pointwise']),
      },
      registered_name: null, build_config: { input_shape: shapeOf(inShape) },
    };
  }
  function k3Transpose(name, o, inShape) {
    return {
      module: 'keras.layers', class_name: 'Conv2DTranspose',
      config: {
        name, trainable: true, dtype: POLICY, filters: o.filters, kernel_size: pair(o.kernel),
        strides: pair(o.strides || 1), padding: o.padding || 'valid', data_format: 'channels_last',
        dilation_rate: [1, 1], activation: o.activation || 'linear', use_bias: true,
        ...weightKeys(['kernel']),
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

  // (3, 3, 2) -> SeparableConv2D(3, 3x3, same, multiplier 2, relu) (3, 3, 3)
  // -> Conv2DTranspose(2, 2x2, strides 3, valid, tanh): (3-1) 3 + 2 + (3-2) = 9
  // -> (9, 9, 2) -> Conv2DTranspose(1, 3x3, same) (9, 9, 1) -> Flatten (81)
  // -> Dense(1); a regression on the inputs' pattern.
  MAKERS.convt_separable = dir => {
    const r = mulberry32(811);
    const N = 20, H = 3, W = 3, C = 2;
    const x = gaussArray(r, N * H * W * C), y = new Float32Array(N);
    for (let i = 0; i < N; i++) {
      let s = 0;
      for (let p = 0; p < H * W; p++) s += x[(i * H * W + p) * C] * (p % 2 ? 1 : -1) + 0.5 * x[(i * H * W + p) * C + 1];
      y[i] = Math.tanh(0.4 * s);
    }
    saveNpy(dir, 'x.npy', x, [N, H, W, C]);
    saveNpy(dir, 'y.npy', y, [N, 1]);
    return {
      description: 'SeparableConv2D(3, 3x3, same, depth_multiplier 2, relu) (depthwise_kernel [3,3,2,2], pointwise_kernel [1,1,4,3]) -> Conv2DTranspose(2, 2x2, strides 3 > kernel, valid, tanh) (3 -> 9: gaps of zeros; kernel [2,2,2,3] = [kh, kw, out, in]) -> Conv2DTranspose(1, 3x3, same) -> Flatten (81) -> Dense(1). mse, Adam(0.01), mae; validation_split 0.25 of 20 (15 + 5), batch 6 (last 3), 3 epochs.',
      seed: 811,
      model: {
        module: 'keras', class_name: 'Sequential', registered_name: null,
        config: {
          name: 'convt', trainable: true, dtype: POLICY,
          layers: [
            k3Input('input_layer', [H, W, C]),
            k3Separable('sep', { filters: 3, kernel: 3, padding: 'same', multiplier: 2, activation: 'relu' }, [H, W, C]),
            k3Transpose('up_gaps', { filters: 2, kernel: 2, strides: 3, activation: 'tanh' }, [H, W, 3]),
            k3Transpose('up_same', { filters: 1, kernel: 3, padding: 'same' }, [9, 9, 2]),
            k3Flatten('flatten', [9, 9, 1]),
            k3Dense('out', 1, 'linear', [81]),
          ],
        },
        build_config: { input_shape: shapeOf([H, W, C]) },
      },
      compile: { optimizer: { class_name: 'Adam', config: { learning_rate: 0.01 } }, loss: 'mse', metrics: ['mae'] },
      fit: { epochs: 3, batch_size: 6, shuffle: false, validation_split: 0.25 },
      data: { x: 'x.npy', y: 'y.npy' },
      mode: 'fit',
      trace: true,
    };
  };
};
