'use strict';
// The issue 8 attention case: Input (4 steps x 6) -> MultiHeadAttention(2
// heads, key_dim 3) self-attention called as mha(x, x) -> GlobalAveragePooling1D
// -> Dense 1. tfjs-layers has no attention layers: the oracle needs
// oracle-attention.patch (a tfjs port of Keras 3's MultiHeadAttention, see
// README.md). Used by make_cases.js.
module.exports = function addAttentionMakers(MAKERS, h) {
  const { mulberry32, gauss, gaussArray, saveNpy, POLICY } = h;
  const shapeOf = s => [null, ...s];
  const kt = (layer, shape) => ({ class_name: '__keras_tensor__', config: { shape: shapeOf(shape), dtype: 'float32', keras_history: [layer, 0, 0] } });
  const node = (def, calls) => Object.assign({}, def, { name: def.config.name, inbound_nodes: calls.map(args => ({ args, kwargs: {} })) });
  const layer = (cls, config, inShape) => ({
    module: 'keras.layers', class_name: cls, registered_name: null,
    config: Object.assign({ trainable: true, dtype: POLICY }, config),
    build_config: { input_shape: shapeOf(inShape) },
  });
  const init = (cls, config) => ({ module: 'keras.initializers', class_name: cls, config, registered_name: null });

  MAKERS.attention_mha_self = dir => {
    const r = mulberry32(900);
    const N = 32, T = 4, D = 6;
    const x = gaussArray(r, N * T * D), y = new Float32Array(N);
    for (let i = 0; i < N; i++) {
      const s = x.subarray(i * T * D, (i + 1) * T * D);
      // depends on how the steps relate: a product across steps
      y[i] = 0.5 * s[0] * s[D + 1] - 0.3 * s[2 * D + 2] * s[3 * D] + 0.2 * s[5] + 0.05 * gauss(r);
    }
    saveNpy(dir, 'x.npy', x, [N, T, D]);
    saveNpy(dir, 'y.npy', y, [N, 1]);
    const mha = layer('MultiHeadAttention', {
      name: 'mha', num_heads: 2, key_dim: 3, value_dim: 3, dropout: 0.0, use_bias: true,
      output_shape: null, attention_axes: null, kernel_initializer: init('GlorotUniform', { seed: null }),
      bias_initializer: init('Zeros', {}), kernel_regularizer: null, bias_regularizer: null,
      activity_regularizer: null, kernel_constraint: null, bias_constraint: null, seed: null,
    }, [T, D]);
    mha.build_config = { shapes_dict: { query_shape: shapeOf([T, D]), value_shape: shapeOf([T, D]) } };
    const model = {
      module: 'keras.src.models.functional', class_name: 'Functional', registered_name: 'Functional',
      config: {
        name: 'self_attention', trainable: true,
        layers: [
          node(layer('InputLayer', { name: 'x', batch_shape: shapeOf([T, D]), sparse: false }, [T, D]), []),
          // mha(x, x): Keras 3 writes the query and value as two positional args
          node(mha, [[kt('x', [T, D]), kt('x', [T, D])]]),
          node(layer('GlobalAveragePooling1D', { name: 'gap', data_format: 'channels_last', keepdims: false }, [T, D]), [[kt('mha', [T, D])]]),
          node(layer('Dense', {
            name: 'out', units: 1, activation: 'linear', use_bias: true,
            kernel_initializer: init('GlorotUniform', { seed: null }), bias_initializer: init('Zeros', {}),
            kernel_regularizer: null, bias_regularizer: null, activity_regularizer: null, kernel_constraint: null, bias_constraint: null,
          }, [D]), [[kt('gap', [D])]]),
        ],
        input_layers: [['x', 0, 0]], output_layers: [['out', 0, 0]],
      },
    };
    for (const l of model.config.layers) if (l.class_name === 'InputLayer') delete l.build_config;
    return {
      description: 'MultiHeadAttention self-attention: x (4 steps x 6) -> mha = MultiHeadAttention(num_heads 2, key_dim 3)(x, x) (weights query/key/value kernels [6, 2, 3], biases [2, 3], attention_output kernel [2, 3, 6], bias [6]) -> gap (GlobalAveragePooling1D) -> out (Dense 1). SGD(0.1) (not Adam: the key bias has a zero gradient, softmax ignores a constant per query row, and Adam would turn its rounding noise into steps of the learning rate), mse, mae; 32 samples, validation_split 0.25 (24 + 8), batch 8, 3 epochs. Oracle: the tfjs port of oracle-attention.patch.',
      seed: 900, model,
      compile: { optimizer: { class_name: 'SGD', config: { learning_rate: 0.1 } }, loss: 'mse', metrics: ['mae'] },
      fit: { epochs: 3, batch_size: 8, shuffle: false, validation_split: 0.25 },
      data: { x: 'x.npy', y: 'y.npy' }, mode: 'fit', trace: true,
    };
  };
};
