'use strict';
// The issue 8 cases of the recurrent family: LSTM, a Bidirectional GRU
// (reset_after false), an Embedding(mask_zero) -> LSTM on right-padded token
// sequences, and SimpleRNN(return_sequences) -> TimeDistributed(Dense). Used by
// make_cases.js with the oracle of README.md plus oracle-rnn.patch, which names
// the weights as Keras 3 does (`lstm/lstm_cell/kernel`; tfjs says
// `lstm/kernel`). Every config key where tfjs's default differs from Keras 3's
// (recurrent_activation: tfjs hard_sigmoid, Keras 3 sigmoid) is written out.
module.exports = function addRnnMakers(MAKERS, h) {
  const { mulberry32, gauss, gaussArray, saveNpy, k3Input, k3Dense, POLICY } = h;
  const shapeOf = s => [null, ...s];
  const init = (cls, config) => ({ module: 'keras.initializers', class_name: cls, config, registered_name: null });
  const layer = (cls, config, inShape) => ({
    module: 'keras.layers', class_name: cls, registered_name: null,
    config: Object.assign({ trainable: true, dtype: POLICY }, config),
    build_config: { input_shape: shapeOf(inShape) },
  });
  const sequential = (name, layers) => ({
    module: 'keras', class_name: 'Sequential', registered_name: null,
    config: { name, trainable: true, dtype: POLICY, layers },
  });
  // The config Keras 3.16 writes for SimpleRNN / LSTM / GRU (rnn.py RNN.get_config
  // plus the layer's own keys); `extra` holds the class's own keys.
  const rnnConfig = (name, units, extra) => Object.assign({
    name, units, activation: 'tanh', use_bias: true,
    kernel_initializer: init('GlorotUniform', { seed: null }),
    recurrent_initializer: init('Orthogonal', { gain: 1.0, seed: null }),
    bias_initializer: init('Zeros', {}),
    kernel_regularizer: null, recurrent_regularizer: null, bias_regularizer: null, activity_regularizer: null,
    kernel_constraint: null, recurrent_constraint: null, bias_constraint: null,
    dropout: 0.0, recurrent_dropout: 0.0, seed: null,
    return_sequences: false, return_state: false, go_backwards: false, stateful: false, unroll: false,
    zero_output_for_mask: false,
  }, extra);
  const lstm = (name, units, inShape, extra = {}) => layer('LSTM', rnnConfig(name, units, Object.assign({
    // tfjs's default recurrent activation is hard_sigmoid, Keras 3's sigmoid
    recurrent_activation: 'sigmoid', unit_forget_bias: true,
  }, extra)), inShape);
  const fitCase = (c, lr) => Object.assign({
    compile: { optimizer: { class_name: 'Adam', config: { learning_rate: lr } }, loss: 'mse', metrics: ['mae'] },
    fit: { epochs: 3, batch_size: 8, shuffle: false, validation_split: 0.25 },
    data: { x: 'x.npy', y: 'y.npy' }, mode: 'fit', trace: true,
  }, c);

  // x (5 steps x 3) -> LSTM(4) (last output) -> Dense(1).
  MAKERS.rnn_lstm = dir => {
    const r = mulberry32(1000);
    const N = 32, T = 5, F = 3;
    const x = gaussArray(r, N * T * F), y = new Float32Array(N);
    for (let i = 0; i < N; i++) {
      const s = x.subarray(i * T * F, (i + 1) * T * F);
      // depends on the order of the steps: a decaying sum of feature 0 and a late product
      let a = 0;
      for (let t = 0; t < T; t++) a = 0.6 * a + s[t * F];
      y[i] = Math.tanh(0.5 * a) + 0.3 * s[(T - 1) * F + 1] * s[(T - 2) * F + 2] + 0.05 * gauss(r);
    }
    saveNpy(dir, 'x.npy', x, [N, T, F]);
    saveNpy(dir, 'y.npy', y, [N, 1]);
    const model = sequential('lstm_regressor', [
      k3Input('x', [T, F]),
      lstm('lstm', 4, [T, F]),
      k3Dense('out', 1, 'linear', [4]),
    ]);
    return fitCase({
      description: `LSTM: x (${T} steps x ${F}) -> lstm (LSTM(4), sigmoid recurrent activation written out, last output) -> out (Dense 1). Weights lstm/lstm_cell/kernel [3, 16], recurrent_kernel [4, 16], bias [16] (gates i, f, c, o). Adam(0.01), mse, mae; validation_split 0.25 of ${N} (24 + 8), batch 8, 3 epochs.`,
      seed: 1000, model,
    }, 0.01);
  };

  // x (4 steps x 3) -> Bidirectional(GRU(3, reset_after false, return_sequences), concat)
  // -> GlobalAveragePooling1D -> Dense(1).
  MAKERS.rnn_gru_bidirectional = dir => {
    const r = mulberry32(1001);
    const N = 32, T = 4, F = 3;
    const x = gaussArray(r, N * T * F), y = new Float32Array(N);
    for (let i = 0; i < N; i++) {
      const s = x.subarray(i * T * F, (i + 1) * T * F);
      // the first and the last steps both matter: both directions are needed
      y[i] = 0.5 * Math.tanh(s[0] + s[1]) - 0.4 * Math.tanh(s[(T - 1) * F + 2]) + 0.2 * s[F] * s[2 * F + 1] + 0.05 * gauss(r);
    }
    saveNpy(dir, 'x.npy', x, [N, T, F]);
    saveNpy(dir, 'y.npy', y, [N, 1]);
    // tfjs's GRU is Keras 2's default form reset_after false (the reset gate
    // applied to h before the recurrent matmul; bias [3 * units]); Keras 3's
    // default is reset_after true, so the key is written.
    const gru = layer('GRU', rnnConfig('gru', 3, {
      recurrent_activation: 'sigmoid', reset_after: false, return_sequences: true,
    }), [T, F]);
    const bidir = layer('Bidirectional', { name: 'bidirectional', merge_mode: 'concat', layer: gru }, [T, F]);
    const model = sequential('bigru_regressor', [
      k3Input('x', [T, F]),
      bidir,
      layer('GlobalAveragePooling1D', { name: 'gap', data_format: 'channels_last', keepdims: false }, [T, 6]),
      k3Dense('out', 1, 'linear', [6]),
    ]);
    return fitCase({
      description: `Bidirectional GRU: x (${T} steps x ${F}) -> bidirectional (Bidirectional(GRU(3, reset_after false, recurrent_activation sigmoid, return_sequences), merge_mode concat): ${T} steps x 6, the backward half reversed back to input order) -> gap (GlobalAveragePooling1D) -> out (Dense 1). Weights bidirectional/forward_gru/gru_cell/{kernel [3, 9], recurrent_kernel [3, 9], bias [9]} (gates z, r, h) and the same under backward_gru. Adam(0.01), mse, mae; validation_split 0.25 of ${N} (24 + 8), batch 8, 3 epochs.`,
      seed: 1001, model,
    }, 0.01);
  };

  // Token ids (6 per sample, 1..9, then trailing zeros) -> Embedding(10, 3, mask_zero)
  // -> LSTM(4) -> Dense(1): the LSTM skips the padded steps.
  MAKERS.mask_embedding_lstm = dir => {
    const r = mulberry32(1002);
    const N = 32, L = 6, V = 10;
    const x = new Float32Array(N * L), y = new Float32Array(N);
    const weight = Array.from({ length: V }, () => gauss(r));
    for (let i = 0; i < N; i++) {
      const len = 2 + (i % (L - 1)); // 2..6 tokens, every length present
      let a = 0;
      for (let t = 0; t < len; t++) {
        const id = 1 + Math.floor(r() * (V - 1));
        x[i * L + t] = id;
        a = 0.7 * a + weight[id];
      }
      y[i] = Math.tanh(0.5 * a) + 0.05 * gauss(r);
    }
    saveNpy(dir, 'x.npy', x, [N, L]);
    saveNpy(dir, 'y.npy', y, [N, 1]);
    const model = sequential('masked_lstm', [
      k3Input('tokens', [L]),
      layer('Embedding', {
        name: 'embedding', input_dim: V, output_dim: 3,
        embeddings_initializer: init('RandomUniform', { minval: -0.05, maxval: 0.05, seed: null }),
        embeddings_regularizer: null, activity_regularizer: null, embeddings_constraint: null,
        mask_zero: true, lora_rank: null,
      }, [L]),
      lstm('lstm', 4, [L, 3]),
      k3Dense('out', 1, 'linear', [4]),
    ]);
    return fitCase({
      description: `Masking: token ids (${L} per sample, ids 1..${V - 1}, lengths 2..${L} followed by zeros; float32 holding integers) -> embedding (Embedding(${V}, 3, mask_zero true)) -> lstm (LSTM(4), last output) -> out (Dense 1). The LSTM keeps its state over the padded steps (its output is the last unpadded step's); the embedding row 0 is read only at masked steps, so its gradient is exactly zero and it ends equal to w0. Adam(0.02), mse, mae; validation_split 0.25 of ${N} (24 + 8), batch 8, 3 epochs.`,
      seed: 1002, model,
    }, 0.02);
  };

  // x (5 steps x 2) -> SimpleRNN(4, return_sequences) -> TimeDistributed(Dense(1)): a target per step.
  MAKERS.rnn_simple_time_distributed = dir => {
    const r = mulberry32(1003);
    const N = 32, T = 5, F = 2;
    const x = gaussArray(r, N * T * F), y = new Float32Array(N * T);
    for (let i = 0; i < N; i++) {
      let a = 0;
      for (let t = 0; t < T; t++) {
        const s = x.subarray((i * T + t) * F, (i * T + t + 1) * F);
        a = 0.5 * a + s[0] - 0.3 * s[1];
        y[i * T + t] = Math.tanh(a) + 0.05 * gauss(r);
      }
    }
    saveNpy(dir, 'x.npy', x, [N, T, F]);
    saveNpy(dir, 'y.npy', y, [N, T, 1]);
    const dense = k3Dense('dense', 1, 'linear', [4]);
    const model = sequential('simple_rnn_tagger', [
      k3Input('x', [T, F]),
      layer('SimpleRNN', rnnConfig('simple_rnn', 4, { return_sequences: true }), [T, F]),
      layer('TimeDistributed', { name: 'time_distributed', layer: dense }, [T, 4]),
    ]);
    return fitCase({
      description: `SimpleRNN(return_sequences) -> TimeDistributed(Dense): x (${T} steps x ${F}) -> simple_rnn (SimpleRNN(4, tanh), all steps) -> time_distributed (TimeDistributed(Dense(1))): one prediction per step, targets y (${N}, ${T}, 1). Weights simple_rnn/simple_rnn_cell/{kernel [2, 4], recurrent_kernel [4, 4], bias [4]}, time_distributed/dense/{kernel [4, 1], bias [1]}. Adam(0.01), mse, mae (over all steps); validation_split 0.25 of ${N} (24 + 8), batch 8, 3 epochs.`,
      seed: 1003, model,
    }, 0.01);
  };
};
