'use strict';
// The issue 8 cases of the embedding and activation-layer family: Embedding ->
// Flatten -> Dense, and a stack of activation layers (LeakyReLU, PReLU, ELU,
// ReLU(max_value), Softmax) between Dense layers. Used by make_cases.js with the
// oracle of README.md (no patch of its own). Spellings where tfjs reads a
// different key than Keras 3 writes are made explicit (README.md, issue 8).
module.exports = function addEmbeddingMakers(MAKERS, h) {
  const { mulberry32, gauss, gaussArray, saveNpy, k3Input, k3Dense, POLICY } = h;
  const shapeOf = s => [null, ...s];
  const layer = (cls, config, inShape) => ({
    module: 'keras.layers', class_name: cls,
    config: Object.assign({ trainable: true, dtype: POLICY }, config),
    registered_name: null, build_config: { input_shape: shapeOf(inShape) },
  });
  const initializer = (cls, config) => ({ module: 'keras.initializers', class_name: cls, config, registered_name: null });
  const sequential = (name, layers) => ({
    module: 'keras', class_name: 'Sequential', registered_name: null,
    config: { name, trainable: true, dtype: POLICY, layers },
  });

  // Token ids (N, L) in [0, V) as float32 (the oracle's .npy reader takes
  // float32; nnc reads integer files too, test_embedding), y a function of
  // which tokens occur.
  MAKERS.embedding_flatten_dense = dir => {
    const r = mulberry32(801);
    const N = 40, L = 6, V = 15, D = 4;
    const x = new Float32Array(N * L), y = new Float32Array(N);
    const weight = Array.from({ length: V }, () => gauss(r));
    for (let i = 0; i < N; i++) {
      let s = 0;
      for (let t = 0; t < L; t++) {
        const id = Math.floor(r() * V);
        x[i * L + t] = id;
        s += weight[id] * (t % 2 ? 0.5 : 1);
      }
      y[i] = Math.tanh(s / 3) + 0.05 * gauss(r);
    }
    saveNpy(dir, 'x.npy', x, [N, L]);
    saveNpy(dir, 'y.npy', y, [N, 1]);
    const model = sequential('token_regressor', [
      k3Input('tokens', [L]),
      layer('Embedding', {
        name: 'embedding', input_dim: V, output_dim: D,
        embeddings_initializer: initializer('RandomUniform', { minval: -0.05, maxval: 0.05, seed: null }),
        embeddings_regularizer: null, activity_regularizer: null, embeddings_constraint: null,
        mask_zero: false, lora_rank: null,
      }, [L]),
      layer('Flatten', { name: 'flatten', data_format: 'channels_last' }, [L, D]),
      k3Dense('out', 1, 'linear', [L * D]),
    ]);
    return {
      description: `Embedding(${V}, ${D}) on ${L} token ids per sample (float32 holding integers, every id used by several samples and several times in some) -> Flatten (${L * D}) -> Dense(1). The table's gradient sums the rows read several times. Adam(0.02), mse, mae; validation_split 0.25 of ${N} (30 + 10), batch 8 (last 6), 4 epochs.`,
      seed: 801,
      model,
      compile: { optimizer: { class_name: 'Adam', config: { learning_rate: 0.02 } }, loss: 'mse', metrics: ['mae'] },
      fit: { epochs: 4, batch_size: 8, shuffle: false, validation_split: 0.25 },
      data: { x: 'x.npy', y: 'y.npy' },
      mode: 'fit',
      trace: true,
    };
  };

  // x (N, 5) -> Dense 8 -> LeakyReLU(0.1) -> Dense 6 -> Reshape (2, 3) -> PReLU(shared_axes [1])
  // -> Flatten -> Dense 6 -> ELU -> Dense 5 -> ReLU(max_value 0.8) -> Dense 4 -> Softmax -> Dense 1.
  MAKERS.activation_layers = dir => {
    const r = mulberry32(802);
    const N = 36, F = 5;
    const x = gaussArray(r, N * F), y = new Float32Array(N);
    for (let i = 0; i < N; i++) {
      const v = x.subarray(i * F, i * F + F);
      y[i] = Math.tanh(v[0] - 0.5 * v[1]) + 0.3 * Math.abs(v[2]) - 0.2 * v[3] * v[4] + 0.05 * gauss(r);
    }
    saveNpy(dir, 'x.npy', x, [N, F]);
    saveNpy(dir, 'y.npy', y, [N, 1]);
    const model = sequential('activation_stack', [
      k3Input('input_layer', [F]),
      k3Dense('d1', 8, 'linear', [F]),
      // Keras 3 writes negative_slope; tfjs reads alpha (Keras 3 also accepts alpha)
      layer('LeakyReLU', { name: 'leaky', alpha: 0.1 }, [8]),
      k3Dense('d2', 6, 'linear', [8]),
      layer('Reshape', { name: 'to_grid', target_shape: [2, 3] }, [6]),
      layer('PReLU', {
        name: 'p_re_lu', alpha_initializer: initializer('Zeros', {}), alpha_regularizer: null,
        alpha_constraint: null, shared_axes: [1],
      }, [2, 3]),
      layer('Flatten', { name: 'flatten', data_format: 'channels_last' }, [2, 3]),
      k3Dense('d3', 6, 'linear', [6]),
      // tfjs's ELU supports only alpha = 1
      layer('ELU', { name: 'elu', alpha: 1.0 }, [6]),
      k3Dense('d4', 5, 'linear', [6]),
      // tfjs's ReLU has max_value only
      layer('ReLU', { name: 're_lu', max_value: 0.8, negative_slope: 0.0, threshold: 0.0 }, [5]),
      k3Dense('d5', 4, 'linear', [5]),
      layer('Softmax', { name: 'softmax', axis: -1 }, [4]),
      k3Dense('out', 1, 'linear', [4]),
    ]);
    return {
      description: 'Activation layers between Dense layers: LeakyReLU(alpha 0.1), PReLU(shared_axes [1]) on a (2, 3) grid (alpha [1, 3], zeros at first, trained), ELU, ReLU(max_value 0.8), Softmax on a hidden layer; mse on a final linear Dense. Adam(0.01), mae; validation_split 0.25 of 36 (27 + 9), batch 8 (last 3), 5 epochs.',
      seed: 802,
      model,
      compile: { optimizer: { class_name: 'Adam', config: { learning_rate: 0.01 } }, loss: 'mse', metrics: ['mae'] },
      fit: { epochs: 5, batch_size: 8, shuffle: false, validation_split: 0.25 },
      data: { x: 'x.npy', y: 'y.npy' },
      mode: 'fit',
      trace: true,
    };
  };
};
