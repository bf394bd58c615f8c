'use strict';
// Session 8 (rnnmask): a Keras mask from Embedding(mask_zero) through
// Bidirectional(LSTM, return_sequences) into Attention and MultiHeadAttention
// self-attention. Needs the oracle of README.md's issue 8 section plus
// oracle-rnnmask.patch (Keras masks in the Attention and MultiHeadAttention
// ports, Bidirectional's forced zero_output_for_mask). Used by make_cases.js.
module.exports = function addRnnMaskMakers(MAKERS, h) {
  const { mulberry32, gauss, saveNpy, POLICY } = h;
  const shapeOf = s => [null, ...s];
  const init = (cls, config) => ({ module: 'keras.initializers', class_name: cls, config, registered_name: null });
  const kt = (layer, shape) => ({ class_name: '__keras_tensor__', config: { shape: shapeOf(shape), dtype: 'float32', keras_history: [layer, 0, 0] } });
  const node = (def, calls) => Object.assign({}, def, { name: def.config.name, inbound_nodes: calls.map(args => ({ args, kwargs: {} })) });
  const layer = (cls, config, inShape) => ({
    module: 'keras.layers', class_name: cls, registered_name: null,
    config: Object.assign({ trainable: true, dtype: POLICY }, config),
    build_config: { input_shape: inShape && shapeOf(inShape) },
  });
  const dense = (name, units, inDim) => layer('Dense', {
    name, units, activation: 'linear', use_bias: true,
    kernel_initializer: init('GlorotUniform', { seed: null }), bias_initializer: init('Zeros', {}),
    kernel_regularizer: null, bias_regularizer: null, activity_regularizer: null, kernel_constraint: null, bias_constraint: null,
  }, [inDim]);

  // tokens (6, right-padded ids) -> Embedding(10, 4, mask_zero) ->
  // Bidirectional(LSTM(3, return_sequences)) h (6 x 6) -> Attention()([h, h])
  // or MultiHeadAttention(1 head, key_dim 2)(h, h) -> Flatten -> Dense(1).
  // One attention layer per case: tfjs's executor disposes an intermediate
  // tensor in inference once as many inputs as it has consumers have read
  // it, so two layers each reading h twice would see it disposed.
  const bidiAttention = (dir, kind, seed) => {
    const r = mulberry32(seed);
    const N = 32, L = 6, V = 10, E = 4, U = 3;
    const x = new Float32Array(N * L), y = new Float32Array(N);
    const weight = Array.from({ length: V }, () => gauss(r));
    for (let i = 0; i < N; i++) {
      const len = 2 + (i % (L - 1)); // 2..6 tokens, every length present
      let a = 0, first = 0;
      for (let t = 0; t < len; t++) {
        const id = 1 + Math.floor(r() * (V - 1));
        x[i * L + t] = id;
        if (t === 0) first = weight[id];
        a = 0.6 * a + weight[id];
      }
      y[i] = Math.tanh(0.5 * a) - 0.3 * first + 0.05 * gauss(r);
    }
    saveNpy(dir, 'x.npy', x, [N, L]);
    saveNpy(dir, 'y.npy', y, [N, 1]);
    const lstm = layer('LSTM', {
      name: 'lstm', units: U, activation: 'tanh', recurrent_activation: 'sigmoid', use_bias: true,
      kernel_initializer: init('GlorotUniform', { seed: null }),
      recurrent_initializer: init('Orthogonal', { gain: 1.0, seed: null }),
      bias_initializer: init('Zeros', {}), unit_forget_bias: true,
      kernel_regularizer: null, recurrent_regularizer: null, bias_regularizer: null, activity_regularizer: null,
      kernel_constraint: null, recurrent_constraint: null, bias_constraint: null,
      dropout: 0.0, recurrent_dropout: 0.0, seed: null,
      // Keras 3's Bidirectional sets zero_output_for_mask = return_sequences
      return_sequences: true, return_state: false, go_backwards: false, stateful: false, unroll: false,
      zero_output_for_mask: true,
    }, [L, E]);
    const H = 2 * U;
    const mha = layer('MultiHeadAttention', {
      name: 'mha', num_heads: 1, key_dim: 2, value_dim: 2, dropout: 0.0, use_bias: true,
      output_shape: null, attention_axes: null, kernel_initializer: init('GlorotUniform', { seed: null }),
      bias_initializer: init('Zeros', {}), kernel_regularizer: null, bias_regularizer: null,
      activity_regularizer: null, kernel_constraint: null, bias_constraint: null, seed: null,
    });
    mha.build_config = { shapes_dict: { query_shape: shapeOf([L, H]), value_shape: shapeOf([L, H]) } };
    const att = layer('Attention', { name: 'att', dropout: 0, seed: null, use_scale: false, score_mode: 'dot' });
    att.build_config = { input_shape: [shapeOf([L, H]), shapeOf([L, H])] };
    const model = {
      module: 'keras.src.models.functional', class_name: 'Functional', registered_name: 'Functional',
      config: {
        name: 'masked_bidi_attention', trainable: true,
        layers: [
          node(layer('InputLayer', { name: 'tokens', batch_shape: shapeOf([L]), sparse: false }), []),
          node(layer('Embedding', {
            name: 'embedding', input_dim: V, output_dim: E,
            embeddings_initializer: init('RandomUniform', { minval: -0.5, maxval: 0.5, seed: null }),
            embeddings_regularizer: null, activity_regularizer: null, embeddings_constraint: null,
            mask_zero: true, lora_rank: null,
          }, [L]), [[kt('tokens', [L])]]),
          node(layer('Bidirectional', { name: 'bidi', merge_mode: 'concat', layer: lstm }, [L, E]), [[kt('embedding', [L, E])]]),
          kind === 'att'
            // Attention()([h, h]): the list is one positional argument
            ? node(att, [[[kt('bidi', [L, H]), kt('bidi', [L, H])]]])
            // mha(h, h): query and value as two positional arguments
            : node(mha, [[kt('bidi', [L, H]), kt('bidi', [L, H])]]),
          node(layer('Flatten', { name: 'flat', data_format: 'channels_last' }, [L, H]), [[kt(kind, [L, H])]]),
          node(dense('out', 1, L * H), [[kt('flat', [L * H])]]),
        ],
        input_layers: [['tokens', 0, 0]], output_layers: [['out', 0, 0]],
      },
    };
    for (const l of model.config.layers) if (l.class_name === 'InputLayer') delete l.build_config;
    return {
      description: `Keras masks through Bidirectional into attention: token ids (${L} per sample, ids 1..${V - 1}, lengths 2..${L} then zeros; float32 holding integers) -> embedding (Embedding(${V}, ${E}, mask_zero)) -> bidi (Bidirectional(LSTM(${U}, return_sequences), concat): ${L} x ${H}; Keras 3 forces zero_output_for_mask, so padded steps are zeros, and passes the mask on) -> ${kind === 'att'
        ? 'att = Attention()([bidi, bidi]) (query and value masks: padded keys get scores - 1e9, padded query rows output zeros)'
        : 'mha = MultiHeadAttention(1 head, key_dim 2)(bidi, bidi) (query_mask & value_mask: scores + (1 - mask) * -1e9, so a padded query row attends uniformly to every step, padded ones included)'} -> flat (Flatten: the mask ends here) -> out (Dense 1). SGD(0.1), mse, mae; validation_split 0.25 of ${N} (24 + 8), batch 8, 3 epochs. Oracle: oracle-rnnmask.patch.`,
      seed, model,
      compile: { optimizer: { class_name: 'SGD', config: { learning_rate: 0.1 } }, loss: 'mse', metrics: ['mae'] },
      fit: { epochs: 3, batch_size: 8, shuffle: false, validation_split: 0.25 },
      data: { x: 'x.npy', y: 'y.npy' }, mode: 'fit', trace: true, golden_predictions: true,
    };
  };
  // Masked steps before the first kept one with an initial state: tokens (6
  // ids, zeros padding the left of odd samples and the right of even ones)
  // and ctx (2) -> h0 = Dense(3, tanh)(ctx), c0 = Dense(3)(ctx); lstm =
  // LSTM(3, return_sequences)(emb, initial_state=[h0, c0]) (left padding:
  // leading masked steps output zeros, Keras 3's TF backend) and back =
  // SimpleRNN(3, go_backwards)(emb, initial_state=[h0]) (right padding is
  // processed first) -> Flatten(lstm), back -> Concatenate -> Dense(1).
  MAKERS.rnnmask_initial_state = dir => {
    const r = mulberry32(1202);
    const N = 32, L = 6, V = 10, E = 3, U = 3, C = 2;
    const x = new Float32Array(N * L), ctx = new Float32Array(N * C), y = new Float32Array(N);
    const weight = Array.from({ length: V }, () => gauss(r));
    for (let i = 0; i < N; i++) {
      const len = 1 + (i % L); // 1..6 tokens
      const at = i % 2 ? L - len : 0; // odd: left padding
      let a = 0;
      for (let t = 0; t < len; t++) {
        const id = 1 + Math.floor(r() * (V - 1));
        x[i * L + at + t] = id;
        a = 0.6 * a + weight[id];
      }
      for (let k = 0; k < C; k++) ctx[i * C + k] = gauss(r);
      y[i] = Math.tanh(0.5 * a) + 0.4 * ctx[i * C] - 0.2 * ctx[i * C + 1] + 0.05 * gauss(r);
    }
    saveNpy(dir, 'x.npy', x, [N, L]);
    saveNpy(dir, 'ctx.npy', ctx, [N, C]);
    saveNpy(dir, 'y.npy', y, [N, 1]);
    const rnnCfg = (name, extra) => Object.assign({
      name, units: U, activation: 'tanh', use_bias: true,
      kernel_initializer: init('GlorotUniform', { seed: null }),
      recurrent_initializer: init('Orthogonal', { gain: 1.0, seed: null }),
      bias_initializer: init('Zeros', {}),
      kernel_regularizer: null, recurrent_regularizer: null, bias_regularizer: null, activity_regularizer: null,
      kernel_constraint: null, recurrent_constraint: null, bias_constraint: null,
      dropout: 0.0, recurrent_dropout: 0.0, seed: null,
      return_sequences: false, return_state: false, go_backwards: false, stateful: false, unroll: false,
      zero_output_for_mask: false,
    }, extra);
    const withState = (def, seq, states) => Object.assign({}, def, {
      name: def.config.name,
      inbound_nodes: [{ args: [seq], kwargs: { initial_state: states } }],
    });
    const d = (name, units, act) => {
      const l = dense(name, units, C);
      l.config.activation = act;
      return l;
    };
    const model = {
      module: 'keras.src.models.functional', class_name: 'Functional', registered_name: 'Functional',
      config: {
        name: 'masked_initial_state', trainable: true,
        layers: [
          node(layer('InputLayer', { name: 'tokens', batch_shape: shapeOf([L]), sparse: false }), []),
          node(layer('InputLayer', { name: 'ctx', batch_shape: shapeOf([C]), sparse: false }), []),
          node(layer('Embedding', {
            name: 'embedding', input_dim: V, output_dim: E,
            embeddings_initializer: init('RandomUniform', { minval: -0.5, maxval: 0.5, seed: null }),
            embeddings_regularizer: null, activity_regularizer: null, embeddings_constraint: null,
            mask_zero: true, lora_rank: null,
          }, [L]), [[kt('tokens', [L])]]),
          node(d('init_h', U, 'tanh'), [[kt('ctx', [C])]]),
          node(d('init_c', U, 'linear'), [[kt('ctx', [C])]]),
          withState(layer('LSTM', rnnCfg('lstm', { recurrent_activation: 'sigmoid', unit_forget_bias: true, return_sequences: true }), [L, E]),
            kt('embedding', [L, E]), [kt('init_h', [U]), kt('init_c', [U])]),
          withState(layer('SimpleRNN', rnnCfg('back', { go_backwards: true }), [L, E]),
            kt('embedding', [L, E]), [kt('init_h', [U])]),
          node(layer('Flatten', { name: 'flat', data_format: 'channels_last' }, [L, U]), [[kt('lstm', [L, U])]]),
          node(layer('Concatenate', { name: 'cat', axis: -1 }), [[[kt('flat', [L * U]), kt('back', [U])]]]),
          node(dense('out', 1, L * U + U), [[kt('cat', [L * U + U])]]),
        ],
        input_layers: [['tokens', 0, 0], ['ctx', 0, 0]], output_layers: [['out', 0, 0]],
      },
    };
    for (const l of model.config.layers) if (l.class_name === 'InputLayer') delete l.build_config;
    return {
      description: `Masked steps with an initial state: tokens (${L} ids 1..${V - 1}, 1..${L} of them; zeros pad the left of odd samples, the right of even ones; float32 holding integers) and ctx (${C}) -> embedding (Embedding(${V}, ${E}, mask_zero)); init_h (Dense(${U}, tanh)) and init_c (Dense(${U})) of ctx; lstm = LSTM(${U}, return_sequences)(embedding, initial_state=[init_h, init_c]); back = SimpleRNN(${U}, go_backwards)(embedding, initial_state=[init_h]) -> flat (Flatten(lstm)) -> cat ([flat, back]) -> out (Dense 1). Keras 3 (TF backend): a masked step outputs the previous step's output, zeros before the first kept step (not the initial state), while the states carry the initial state: the left-padded LSTM outputs zeros at the padding, and the go_backwards SimpleRNN of a right-padded sample (its padding processed first) still outputs its last kept step. Gradients reach init_h/init_c through the states only. Adam(0.01), mse, mae; validation_split 0.25 of ${N} (24 + 8), batch 8, 3 epochs. Oracle: oracle-rnnmask.patch.`,
      seed: 1202, model,
      compile: { optimizer: { class_name: 'Adam', config: { learning_rate: 0.01 } }, loss: 'mse', metrics: ['mae'] },
      fit: { epochs: 3, batch_size: 8, shuffle: false, validation_split: 0.25 },
      data: { x: ['x.npy', 'ctx.npy'], y: 'y.npy' }, mode: 'fit', trace: true, golden_predictions: true,
    };
  };
  // x (5 steps x 2, the last 0..3 steps of a sample all zeros) -> Masking ->
  // LSTM(3, return_sequences) -> TimeDistributed(Dense(1)), a target per
  // step (padded steps' targets too). Keras 3's TimeDistributed has
  // supports_masking = False: the mask ends there and the loss counts every
  // step (a Dense in its place would carry the mask to the loss).
  MAKERS.rnnmask_masking_td_loss = dir => {
    const r = mulberry32(1203);
    const N = 32, T = 5, F = 2, U = 3;
    const x = new Float32Array(N * T * F), y = new Float32Array(N * T);
    for (let i = 0; i < N; i++) {
      const len = T - (i % 4); // 2..5 real steps
      let a = 0;
      for (let t = 0; t < T; t++) {
        if (t < len) for (let f = 0; f < F; f++) x[(i * T + t) * F + f] = gauss(r);
        const s = x.subarray((i * T + t) * F, (i * T + t + 1) * F);
        if (t < len) a = 0.5 * a + s[0] - 0.3 * s[1];
        y[i * T + t] = Math.tanh(a) + 0.05 * gauss(r); // padded steps: the last state's target
      }
    }
    saveNpy(dir, 'x.npy', x, [N, T, F]);
    saveNpy(dir, 'y.npy', y, [N, T, 1]);
    const model = {
      module: 'keras', class_name: 'Sequential', registered_name: null,
      config: {
        name: 'masked_tagger', trainable: true, dtype: POLICY, layers: [
          { module: 'keras.layers', class_name: 'InputLayer', registered_name: null, config: { batch_shape: shapeOf([T, F]), dtype: 'float32', sparse: false, ragged: false, name: 'x', optional: false } },
          layer('Masking', { name: 'masking', mask_value: 0.0 }, [T, F]),
          layer('LSTM', {
            name: 'lstm', units: U, activation: 'tanh', recurrent_activation: 'sigmoid', use_bias: true,
            kernel_initializer: init('GlorotUniform', { seed: null }),
            recurrent_initializer: init('Orthogonal', { gain: 1.0, seed: null }),
            bias_initializer: init('Zeros', {}), unit_forget_bias: true,
            kernel_regularizer: null, recurrent_regularizer: null, bias_regularizer: null, activity_regularizer: null,
            kernel_constraint: null, recurrent_constraint: null, bias_constraint: null,
            dropout: 0.0, recurrent_dropout: 0.0, seed: null,
            return_sequences: true, return_state: false, go_backwards: false, stateful: false, unroll: false,
            zero_output_for_mask: false,
          }, [T, F]),
          layer('TimeDistributed', { name: 'time_distributed', layer: dense('dense', 1, U) }, [T, U]),
        ],
      },
    };
    return {
      description: `Masking -> LSTM -> TimeDistributed(Dense) -> loss: x (${T} steps x ${F}; the last 0..3 steps of a sample are all zeros) -> masking (Masking(0)) -> lstm (LSTM(${U}, return_sequences): a padded step repeats the last real output) -> time_distributed (TimeDistributed(Dense(1))) against a target per step, padded steps included (y (${N}, ${T}, 1)). Keras 3's TimeDistributed sets supports_masking = False, so the mask ends there and mse and mae count every step (a Dense without the wrapper would pass the mask to the loss). Adam(0.01), mse, mae; validation_split 0.25 of ${N} (24 + 8), batch 8, 3 epochs. Oracle: tfjs (its losses ignore masks; oracle-rnn.patch names the weights).`,
      seed: 1203, model,
      compile: { optimizer: { class_name: 'Adam', config: { learning_rate: 0.01 } }, loss: 'mse', metrics: ['mae'] },
      fit: { epochs: 3, batch_size: 8, shuffle: false, validation_split: 0.25 },
      data: { x: 'x.npy', y: 'y.npy' }, mode: 'fit', trace: true,
    };
  };
  MAKERS.rnnmask_bidi_attention = dir => bidiAttention(dir, 'att', 1200);
  MAKERS.rnnmask_bidi_mha = dir => bidiAttention(dir, 'mha', 1201);
};
